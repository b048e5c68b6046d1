// Package fwinfer is a cgo binding to libfwinfer, the C11 LLM inference
// library.
//
// Everything goes to the library by name: requests as Fireworks/OpenAI
// completions and chat-completions JSON bodies, model and context
// parameters as JSON objects (LoadModelWith, NewContextWith); responses and
// streaming events come back as JSON.  No C struct layout is mirrored, so a
// newer libfwinfer whose structs grew keeps working with this package.
//
// Building needs the header and the library; point cgo at a build tree:
//
//	CGO_CFLAGS=-I$REPO/include CGO_LDFLAGS=-L$REPO/build/lib \
//	LD_LIBRARY_PATH=$REPO/build/lib go test
package fwinfer

/*
#cgo LDFLAGS: -lfwinfer
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <fwinfer.h>

// Defined in callback.go (exported from Go); the event is opaque there and
// read with fw_event_to_json.
extern int32_t fwinferGoEvent(fw_event *event, uintptr_t handle);

static int32_t fwinfer_event_shim(const fw_event *event, void *user_data)
{
	return fwinferGoEvent((fw_event *)event, (uintptr_t)user_data);
}

// fw_generate_json with the Go callback when handle is not 0 (a
// runtime/cgo.Handle, carried through user_data as an integer).
static fw_status fwinfer_generate_json(fw_context *ctx, const char *body,
	size_t body_len, const char *overrides, size_t overrides_len,
	uintptr_t handle, fw_result **out)
{
	return fw_generate_json(ctx, body, body_len, overrides, overrides_len,
		handle ? fwinfer_event_shim : NULL, (void *)handle, out);
}

*/
import "C"

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"unsafe"
)

// Status codes (fwinfer.h FW_E_*).
const (
	OK                = 0
	ErrInvalidArg     = -1
	ErrNoMem          = -2
	ErrIO             = -3
	ErrFormat         = -4
	ErrUnsupported    = -5
	ErrNotFound       = -6
	ErrType           = -7
	ErrBufferTooSmall = -8
	ErrCancelled      = -9
	ErrAborted        = -10
	ErrRange          = -11
	ErrContextFull    = -12
	ErrNumeric        = -13
	ErrState          = -14
	ErrInternal       = -15
)

// APIMajor is the ABI major version this package was written for.
const APIMajor = 0

// Error is a failed libfwinfer call: its status code (one of the Err*
// constants), the library's name for it and its message saying what was
// wrong and where.
type Error struct {
	Status  int
	Name    string
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Name
	}
	return e.Message + " (" + e.Name + ")"
}

func newError(st C.fw_status, msg string) *Error {
	return &Error{Status: int(st), Name: StatusString(int(st)), Message: msg}
}

// call runs f, which makes one libfwinfer call, on a locked OS thread so
// that fw_last_error (per thread) reads that call's message.
func call(f func() C.fw_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if st := f(); st != C.FW_OK {
		return newError(st, C.GoString(C.fw_last_error()))
	}
	return nil
}

// readText follows the library's buffer convention (buf, cap, &n_needed).
func readText(f func(buf *C.char, cap C.size_t, n *C.size_t) C.fw_status) ([]byte, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	size := C.size_t(256)
	for {
		buf := (*C.char)(C.malloc(size))
		var n C.size_t
		st := f(buf, size, &n)
		if st == C.FW_OK {
			b := C.GoBytes(unsafe.Pointer(buf), C.int(n))
			C.free(unsafe.Pointer(buf))
			return b, nil
		}
		C.free(unsafe.Pointer(buf))
		if st != C.FW_E_BUFFER_TOO_SMALL || n < size {
			return nil, newError(st, C.GoString(C.fw_last_error()))
		}
		size = n + 1
	}
}

// VersionNumber is the linked library's version as
// MAJOR*10000 + MINOR*100 + PATCH.
func VersionNumber() uint32 { return uint32(C.fw_version_number()) }

// VersionString is the linked library's version as text, e.g. "0.1.0".
func VersionString() string { return C.GoString(C.fw_version_string()) }

// VersionCompatible says whether the linked library has the ABI major
// version this package was written for.
func VersionCompatible() bool { return VersionNumber()/10000 == APIMajor }

// StatusString is the library's name of a status code, e.g.
// "FW_E_IO: ...".
func StatusString(status int) string { return C.GoString(C.fw_status_str(C.fw_status(status))) }

// Model is a loaded model.  It may be used from any number of goroutines
// at once; Close it when done (after closing its contexts).
type Model struct {
	mu   sync.RWMutex // Close against concurrent use
	p    *C.fw_model
	name string
	nctx int // open contexts (guarded by mu)
}

// LoadModel loads a GGUF model file with the library's default parameters.
func LoadModel(path string) (*Model, error) { return LoadModelWith(path, nil) }

// LoadModelWith loads a GGUF model file with parameters by name
// (fw_model_load_json): "use_mmap" (bool), "generation_config" (a path, ""
// for none), ...; nil for the defaults.  A parameter the library does not
// know fails with ErrInvalidArg naming it.
func LoadModelWith(path string, opts map[string]any) (*Model, error) {
	params, err := paramsText("model parameters", opts)
	if err != nil {
		return nil, err
	}
	if params != nil {
		defer C.free(unsafe.Pointer(params))
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var p *C.fw_model
	if err := call(func() C.fw_status { return C.fw_model_load_json(cpath, params, &p) }); err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	m := &Model{p: p, name: name}
	runtime.SetFinalizer(m, (*Model).Close)
	return m, nil
}

// Close frees the model.  Every context of the model must be closed
// first: while one is open Close fails with ErrState.  Close is idempotent.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nctx > 0 {
		return &Error{Status: ErrState, Name: StatusString(ErrState),
			Message: fmt.Sprintf("model %s still has %d open context(s)", m.name, m.nctx)}
	}
	if m.p != nil {
		C.fw_model_free(m.p)
		m.p = nil
		runtime.SetFinalizer(m, nil)
	}
	return nil
}

// use returns the handle under a read lock; the caller calls done().
func (m *Model) use() (*C.fw_model, func(), error) {
	m.mu.RLock()
	if m.p == nil {
		m.mu.RUnlock()
		return nil, nil, &Error{Status: ErrState, Name: StatusString(ErrState), Message: "model is closed"}
	}
	return m.p, m.mu.RUnlock, nil
}

// Name is the name used as "model" in responses: the file name without its
// extension.
func (m *Model) Name() string { return m.name }

// Arch is the architecture name (general.architecture), e.g. "llama".
func (m *Model) Arch() string {
	p, done, err := m.use()
	if err != nil {
		return ""
	}
	defer done()
	return C.GoString(C.fw_model_arch(p))
}

// NVocab is the vocabulary size.
func (m *Model) NVocab() int {
	p, done, err := m.use()
	if err != nil {
		return 0
	}
	defer done()
	return int(C.fw_model_n_vocab(p))
}

// NCtxTrain is the context length the model was trained with.
func (m *Model) NCtxTrain() int {
	p, done, err := m.use()
	if err != nil {
		return 0
	}
	defer done()
	return int(C.fw_model_n_ctx_train(p))
}

// Tokenize splits text into token ids.  addSpecial adds BOS/EOS as the
// model says; parseSpecial turns control-token text (e.g. "</s>") into
// tokens.
func (m *Model) Tokenize(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	p, done, err := m.use()
	if err != nil {
		return nil, err
	}
	defer done()
	var flags C.uint32_t
	if addSpecial {
		flags |= C.FW_TOKENIZE_ADD_SPECIAL
	}
	if parseSpecial {
		flags |= C.FW_TOKENIZE_PARSE_SPECIAL
	}
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	toks := make([]int32, len(text)+8)
	for {
		var n C.size_t
		err := call(func() C.fw_status {
			st := C.fw_tokenize(p, ctext, C.size_t(len(text)), flags,
				(*C.fw_token)(unsafe.Pointer(&toks[0])), C.size_t(len(toks)), &n)
			if st == C.FW_E_BUFFER_TOO_SMALL && int(n) > len(toks) {
				return C.FW_OK // grow below
			}
			return st
		})
		if err != nil {
			return nil, err
		}
		if int(n) <= len(toks) {
			return toks[:n], nil
		}
		toks = make([]int32, n)
	}
}

// Detokenize renders tokens as text (as llama.cpp's detokenizer).
// removeSpecial drops the model's own BOS/EOS.  Bytes of an incomplete UTF-8
// sequence are returned as they are.
func (m *Model) Detokenize(tokens []int32, removeSpecial bool) (string, error) {
	p, done, err := m.use()
	if err != nil {
		return "", err
	}
	defer done()
	var flags C.uint32_t
	if removeSpecial {
		flags |= C.FW_DETOK_REMOVE_SPECIAL
	}
	var tp *C.fw_token
	if len(tokens) > 0 {
		tp = (*C.fw_token)(unsafe.Pointer(&tokens[0]))
	}
	b, err := readText(func(buf *C.char, cap C.size_t, n *C.size_t) C.fw_status {
		return C.fw_detokenize(p, tp, C.size_t(len(tokens)), flags, buf, cap, n)
	})
	runtime.KeepAlive(tokens)
	return string(b), err
}

// paramsText is opts as the NUL-terminated JSON text (C memory; the caller
// frees it) the library takes; nil for nil opts (the defaults).
func paramsText(what string, opts map[string]any) (*C.char, error) {
	if opts == nil {
		return nil, nil
	}
	b, err := json.Marshal(opts)
	if err != nil {
		return nil, fmt.Errorf("fwinfer: encoding the %s: %w", what, err)
	}
	return C.CString(string(b)), nil
}

// newCContext makes a context of the model handle p with opts (by name).
func newCContext(p *C.fw_model, opts map[string]any) (*C.fw_context, error) {
	params, err := paramsText("context parameters", opts)
	if err != nil {
		return nil, err
	}
	if params != nil {
		defer C.free(unsafe.Pointer(params))
	}
	var c *C.fw_context
	if err := call(func() C.fw_status { return C.fw_context_new_json(p, params, &c) }); err != nil {
		return nil, err
	}
	return c, nil
}

// NewContext creates an evaluation context with the library's defaults
// (the model's trained context within the default KV budget, one thread
// per online CPU, one sequence).  A context is used by one goroutine at a
// time (calls on it are serialised); Close it before its model.
func (m *Model) NewContext() (*Context, error) { return m.NewContextWith(nil) }

// NewContextWith creates an evaluation context with parameters by name
// (fw_context_new_json): "n_ctx", "n_batch", "n_threads", "n_seq_max"
// (integers, 0 = the default), "kv_budget_bytes" (integer), "isa" (string);
// nil for the defaults.  A parameter the library does not know fails with
// ErrInvalidArg naming it, a value out of range with ErrRange.
//
// A request for more choices ("n") than the context has sequences
// (n_seq_max, default 1) makes the context anew with n_seq_max = n (same
// parameters otherwise); set "n_seq_max" here to avoid that.
func (m *Model) NewContextWith(opts map[string]any) (*Context, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.p == nil {
		return nil, &Error{Status: ErrState, Name: StatusString(ErrState), Message: "model is closed"}
	}
	var own map[string]any // a copy: the caller may change opts later
	if opts != nil {
		own = make(map[string]any, len(opts))
		for k, v := range opts {
			own[k] = v
		}
	}
	c, err := newCContext(m.p, own)
	if err != nil {
		return nil, err
	}
	m.nctx++
	ctx := &Context{p: c, model: m, opts: own}
	runtime.SetFinalizer(ctx, (*Context).Close)
	return ctx, nil
}

// Context is an evaluation context (KV cache, scratch, worker threads).
type Context struct {
	mu    sync.Mutex
	p     *C.fw_context
	model *Model         // keeps the model alive (finalizers run contexts first)
	opts  map[string]any // the parameters it was made with
}

// reserveChoices makes the context anew with n_seq_max = n if it has fewer
// sequences (call with c.mu held and c.p open).
func (c *Context) reserveChoices(n int) error {
	if n <= int(C.fw_context_n_seq_max(c.p)) {
		return nil
	}
	mp, done, err := c.model.use()
	if err != nil {
		return err
	}
	defer done()
	opts := make(map[string]any, len(c.opts)+1)
	for k, v := range c.opts {
		opts[k] = v
	}
	opts["n_seq_max"] = n
	p, err := newCContext(mp, opts)
	if err != nil {
		return err
	}
	C.fw_context_free(c.p)
	c.p = p
	return nil
}

// Close frees the context.  Close is idempotent.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p != nil {
		C.fw_context_free(c.p)
		c.p = nil
		runtime.SetFinalizer(c, nil)
		c.model.mu.Lock()
		c.model.nctx--
		c.model.mu.Unlock()
	}
	return nil
}

// NCtx is the number of positions per sequence.
func (c *Context) NCtx() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p == nil {
		return 0
	}
	return int(C.fw_context_n_ctx(c.p))
}

// NSeqMax is the number of sequences: the most choices a request gets
// without the context being made anew.
func (c *Context) NSeqMax() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p == nil {
		return 0
	}
	return int(C.fw_context_n_seq_max(c.p))
}

// NThreads is the number of threads the context computes with.
func (c *Context) NThreads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p == nil {
		return 0
	}
	return int(C.fw_context_n_threads(c.p))
}

// ISA is the kernel level the context uses, e.g. "avx2".
func (c *Context) ISA() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p == nil {
		return ""
	}
	return C.GoString(C.fw_context_isa(c.p))
}

// Model is the context's model.
func (c *Context) Model() *Model { return c.model }

// Event is one streaming event: a token of one choice and the text it
// completes, read from the JSON the library makes of it (fw_event_to_json).
// It stays valid after the callback returns.
type Event struct {
	Choice          int
	Token           int32 // -1 on a choice's last event when it has no token
	Text            string
	Logprob         float32   // NaN without a token
	SamplingLogprob float32   // NaN without a token
	TopIDs          []int32   // top_logprobs alternatives, if requested
	TopLogprobs     []float32 //
	FinishReason    string    // "stop" or "length" on a choice's last event
	// JSON is the event as the library wrote it: {"choice", "token",
	// "text", "logprob", "sampling_logprob", "top_logprobs": [{"token",
	// "logprob"}], "finish_reason"} (and whatever a newer library adds).
	JSON string
}

// EventFunc receives streaming events; return false to stop generation
// (the choice then ends with finish_reason "stop").
type EventFunc func(Event) bool

type streamState struct {
	fn       EventFunc
	panicVal interface{}
	panicked bool
	err      error  // an event that could not be read (generation stops)
	buf      []byte // fw_event_to_json's buffer, reused
}

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Generate completes prompt.  fields holds request fields by their API
// names ("max_tokens", "temperature", "stop", "n", "seed", ...: the
// Fireworks/OpenAI completions fields) and may be nil.  The result is the
// decoded response object ("text_completion").
func (c *Context) Generate(prompt string, fields map[string]any) (map[string]any, error) {
	return c.GenerateStream(prompt, fields, nil)
}

// GenerateStream is Generate calling fn for every event as tokens are
// generated (fn may be nil).  A panic in fn stops generation and is
// re-raised when the library call has returned.
func (c *Context) GenerateStream(prompt string, fields map[string]any, fn EventFunc) (map[string]any, error) {
	body, err := requestBody("prompt", prompt, fields)
	if err != nil {
		return nil, err
	}
	return c.run(body, nil, fn)
}

// Chat runs a chat completion of messages (rendered with the model's chat
// template); the result has the "chat.completion" shape.
func (c *Context) Chat(messages []Message, fields map[string]any) (map[string]any, error) {
	return c.ChatStream(messages, fields, nil)
}

// ChatStream is Chat with streaming, as GenerateStream.
func (c *Context) ChatStream(messages []Message, fields map[string]any, fn EventFunc) (map[string]any, error) {
	if messages == nil {
		messages = []Message{}
	}
	body, err := requestBody("messages", messages, fields)
	if err != nil {
		return nil, err
	}
	return c.run(body, nil, fn)
}

// GenerateJSON runs a raw request body (completions with "prompt", or chat
// with "messages"), with overrides (a JSON object whose members replace the
// body's; may be nil), and returns the response JSON text.
func (c *Context) GenerateJSON(body, overrides []byte, fn EventFunc) ([]byte, error) {
	return c.runRaw(body, overrides, fn)
}

func (c *Context) run(body, overrides []byte, fn EventFunc) (map[string]any, error) {
	out, err := c.runRaw(body, overrides, fn)
	if err != nil {
		return nil, err
	}
	var resp map[string]any
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("fwinfer: decoding the response: %w", err)
	}
	return resp, nil
}

func (c *Context) runRaw(body, overrides []byte, fn EventFunc) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p == nil {
		return nil, &Error{Status: ErrState, Name: StatusString(ErrState), Message: "context is closed"}
	}
	name, n := requestInfo(body, overrides, c.model.name)
	if n > 1 {
		if err := c.reserveChoices(n); err != nil {
			return nil, err
		}
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	cbody := C.CBytes(body)
	defer C.free(cbody)
	var cov unsafe.Pointer
	if overrides != nil {
		cov = C.CBytes(overrides)
		defer C.free(cov)
	}

	var state *streamState
	var handle C.uintptr_t
	if fn != nil {
		state = &streamState{fn: fn}
		h := cgo.NewHandle(state)
		defer h.Delete()
		handle = C.uintptr_t(h)
	}

	var res *C.fw_result
	err := call(func() C.fw_status {
		return C.fwinfer_generate_json(c.p, (*C.char)(cbody), C.size_t(len(body)),
			(*C.char)(cov), C.size_t(len(overrides)), handle, &res)
	})
	defer C.fw_result_free(res)
	if state != nil && state.panicked {
		panic(state.panicVal)
	}
	if state != nil && state.err != nil {
		return nil, state.err
	}
	if err != nil {
		return nil, err
	}
	return readText(func(buf *C.char, cap C.size_t, n *C.size_t) C.fw_status {
		return C.fw_result_to_json(res, cname, buf, cap, n)
	})
}

// requestBody is {key: value, ...fields}.
func requestBody(key string, value any, fields map[string]any) ([]byte, error) {
	body := make(map[string]any, len(fields)+1)
	body[key] = value
	for k, v := range fields {
		body[k] = v
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("fwinfer: encoding the request: %w", err)
	}
	return b, nil
}

// requestInfo is the request's "model" (overrides first), else def, and its
// "n" when that is a valid choice count (else 0: the library reports it).
func requestInfo(body, overrides []byte, def string) (string, int) {
	name, n, nameSet, nSet := def, 0, false, false
	for _, b := range [][]byte{overrides, body} {
		var v struct {
			Model *string          `json:"model"`
			N     *json.RawMessage `json:"n"`
		}
		if b == nil || json.Unmarshal(b, &v) != nil {
			continue
		}
		if v.Model != nil && !nameSet {
			name, nameSet = strings.ReplaceAll(*v.Model, "\x00", ""), true
		}
		if v.N != nil && !nSet {
			nSet = true
			var k int
			if json.Unmarshal(*v.N, &k) == nil && k >= 1 && k <= 128 {
				n = k
			}
		}
	}
	return name, n
}
