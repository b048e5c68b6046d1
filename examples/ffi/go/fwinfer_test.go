package fwinfer

// End-to-end tests on the shared test model stories260K.gguf.  The data
// directory is $FWINFER_TEST_DATA, by default ../../../../shared/data
// relative to this package.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func dataDir() string {
	if d := os.Getenv("FWINFER_TEST_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "..", "shared", "data")
}

func modelPath() string { return filepath.Join(dataDir(), "models", "stories260K.gguf") }

func load(t *testing.T) *Model {
	t.Helper()
	m, err := LoadModel(modelPath())
	if err != nil {
		t.Fatalf("loading %s: %v", modelPath(), err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("closing the model: %v", err)
		}
	})
	return m
}

func newContext(t *testing.T, m *Model) *Context {
	t.Helper()
	c, err := m.NewContext()
	if err != nil {
		t.Fatalf("NewContext: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// golden is the llama2.c greedy continuation of "Once upon a time" (see
// shared/data/MANIFEST.md).
const golden = ", there was a little girl named Lily. She loved to play outside in the park. " +
	"One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily"

func greedy(maxTokens int) map[string]any {
	return map[string]any{"max_tokens": maxTokens, "temperature": 0}
}

// get follows a path of keys and indices through a decoded response.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func text(resp map[string]any) string {
	if s, ok := get(resp, "choices", 0, "text").(string); ok {
		return s
	}
	s, _ := get(resp, "choices", 0, "message", "content").(string)
	return s
}

func num(resp map[string]any, path ...any) int {
	f, _ := get(resp, path...).(float64)
	return int(f)
}

func TestVersion(t *testing.T) {
	n := VersionNumber()
	want := fmt.Sprintf("%d.%d.%d", n/10000, n/100%100, n%100)
	if s := VersionString(); s != want {
		t.Errorf("VersionString() = %q, VersionNumber() = %d", s, n)
	}
	if !VersionCompatible() {
		t.Errorf("library %s has another ABI major than %d", VersionString(), APIMajor)
	}
	if s := StatusString(ErrIO); !strings.HasPrefix(s, "FW_E_IO") {
		t.Errorf("StatusString(ErrIO) = %q", s)
	}
}

func TestLoadErrorNamesThePath(t *testing.T) {
	missing := filepath.Join(dataDir(), "models", "no-such-model.gguf")
	m, err := LoadModel(missing)
	if err == nil {
		m.Close()
		t.Fatal("loading a missing file succeeded")
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %T is not *fwinfer.Error", err)
	}
	if fe.Status != ErrIO || !strings.HasPrefix(fe.Name, "FW_E_IO") {
		t.Errorf("status %d (%s), want ErrIO", fe.Status, fe.Name)
	}
	if !strings.Contains(fe.Message, missing) {
		t.Errorf("message does not name the path: %v", err)
	}
}

func TestModelInfo(t *testing.T) {
	m := load(t)
	if m.Name() != "stories260K" || m.Arch() != "llama" || m.NVocab() != 512 || m.NCtxTrain() != 2048 {
		t.Errorf("name %q arch %q n_vocab %d n_ctx_train %d", m.Name(), m.Arch(), m.NVocab(), m.NCtxTrain())
	}
}

func TestTokenizeDetokenizeRoundTrip(t *testing.T) {
	m := load(t)
	toks, err := m.Tokenize("Once upon a time", true, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{1, 403, 407, 261, 378}; !reflect.DeepEqual(toks, want) {
		t.Fatalf("tokens %v, want %v", toks, want)
	}
	// As llama.cpp: after a leading BOS the SPM space prefix is kept.
	if s, err := m.Detokenize(toks, true); err != nil || strings.TrimLeft(s, " ") != "Once upon a time" {
		t.Errorf("Detokenize = %q, %v", s, err)
	}
	noBOS, _ := m.Tokenize("Once upon a time", false, false)
	if s, err := m.Detokenize(noBOS, false); err != nil || s != "Once upon a time" {
		t.Errorf("Detokenize = %q, %v", s, err)
	}
	long := strings.Repeat("Lily and Ben played in the park. ", 40)
	toks, err = m.Tokenize(long, false, false)
	if err != nil || len(toks) < 100 {
		t.Fatalf("%d tokens, %v", len(toks), err)
	}
	if s, err := m.Detokenize(toks, false); err != nil || s != long {
		t.Errorf("long round trip: %q, %v", s, err)
	}
	if s, err := m.Detokenize(nil, false); err != nil || s != "" {
		t.Errorf("Detokenize(nil) = %q, %v", s, err)
	}
}

func TestGreedyIsDeterministic(t *testing.T) {
	m := load(t)
	c := newContext(t, m)
	if c.NCtx() <= 0 {
		t.Errorf("NCtx() = %d", c.NCtx())
	}
	a, err := c.Generate("Once upon a time", greedy(20))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Generate("Once upon a time", greedy(20))
	if err != nil {
		t.Fatal(err)
	}
	if text(a) != text(b) {
		t.Errorf("two greedy runs differ: %q vs %q", text(a), text(b))
	}
	if !strings.HasPrefix(golden, text(a)) {
		t.Errorf("%q is not a prefix of the golden text", text(a))
	}
	if a["object"] != "text_completion" || a["model"] != "stories260K" {
		t.Errorf("object %v model %v", a["object"], a["model"])
	}
	if get(a, "choices", 0, "finish_reason") != "length" || num(a, "usage", "completion_tokens") != 20 ||
		num(a, "usage", "prompt_tokens") != 5 {
		t.Errorf("finish_reason %v usage %v", get(a, "choices", 0, "finish_reason"), a["usage"])
	}
	short, err := c.Generate("Once upon a time", greedy(3))
	if err != nil || num(short, "usage", "completion_tokens") != 3 || !strings.HasPrefix(text(a), text(short)) {
		t.Errorf("max_tokens 3: %v %v", short, err)
	}
	full, err := c.Generate("Once upon a time", greedy(60))
	if err != nil || text(full) != golden {
		t.Errorf("60 tokens: %q, %v", text(full), err)
	}
}

func TestRawJSONAndModelName(t *testing.T) {
	m := load(t)
	c := newContext(t, m)
	out, err := c.GenerateJSON([]byte(`{"prompt": "Once upon a time", "max_tokens": 9, "model": "my-name"}`),
		[]byte(`{"max_tokens": 4, "temperature": 0}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	var resp map[string]any
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if resp["model"] != "my-name" || num(resp, "usage", "completion_tokens") != 4 {
		t.Errorf("response %s", out)
	}
	plain, err := c.Generate("Once upon a time", greedy(4))
	if err != nil || text(plain) != text(resp) {
		t.Errorf("%q vs %q (%v)", text(plain), text(resp), err)
	}
}

func TestRequestErrorsNameTheField(t *testing.T) {
	m := load(t)
	c := newContext(t, m)
	_, err := c.Generate("hi", map[string]any{"temperature": 7})
	var fe *Error
	if !errors.As(err, &fe) || fe.Status != ErrRange || !strings.Contains(fe.Message, "temperature") {
		t.Errorf("temperature 7: %v", err)
	}
	_, err = c.Generate("hi", map[string]any{"no_such_field": 1})
	if err == nil || !strings.Contains(err.Error(), "no_such_field") {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := c.Generate("hi", greedy(2)); err != nil {
		t.Errorf("the context is unusable after errors: %v", err)
	}
}

func TestStreamingDeltasConcatenate(t *testing.T) {
	m := load(t)
	c := newContext(t, m)
	var sb strings.Builder
	var toks []int32
	finish := ""
	resp, err := c.GenerateStream("Once upon a time", greedy(24), func(ev Event) bool {
		if ev.Choice != 0 {
			t.Errorf("choice %d", ev.Choice)
		}
		sb.WriteString(ev.Text)
		if ev.Token >= 0 {
			toks = append(toks, ev.Token)
		}
		if ev.FinishReason != "" {
			finish = ev.FinishReason
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if sb.String() != text(resp) {
		t.Errorf("deltas %q, text %q", sb.String(), text(resp))
	}
	if finish != "length" || len(toks) != 24 {
		t.Errorf("finish %q, %d tokens", finish, len(toks))
	}
	plain, err := c.Generate("Once upon a time", greedy(24))
	if err != nil || text(plain) != text(resp) {
		t.Errorf("streamed %q, plain %q (%v)", text(resp), text(plain), err)
	}
}

func TestStreamingCanStopEarly(t *testing.T) {
	m := load(t)
	c := newContext(t, m)
	n := 0
	resp, err := c.GenerateStream("Once upon a time", greedy(30), func(Event) bool {
		n++
		return n < 5
	})
	if err != nil {
		t.Fatal(err)
	}
	if get(resp, "choices", 0, "finish_reason") != "stop" || num(resp, "usage", "completion_tokens") > 5 {
		t.Errorf("finish %v usage %v", get(resp, "choices", 0, "finish_reason"), resp["usage"])
	}
}

func TestPanicInCallbackIsReraised(t *testing.T) {
	m := load(t)
	c := newContext(t, m)
	func() {
		defer func() {
			if r := recover(); r != "boom from the callback" {
				t.Errorf("recovered %v", r)
			}
		}()
		c.GenerateStream("Once upon a time", greedy(10), func(Event) bool { panic("boom from the callback") })
		t.Error("no panic")
	}()
	resp, err := c.Generate("Once upon a time", greedy(3))
	if err != nil || num(resp, "usage", "completion_tokens") != 3 {
		t.Errorf("after the panic: %v %v", resp, err)
	}
}

func TestConcurrentContexts(t *testing.T) {
	m := load(t)
	var wg sync.WaitGroup
	texts := make([]string, 3)
	errs := make([]error, 3)
	for i := range texts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := m.NewContext()
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			resp, err := c.Generate("Once upon a time", greedy(6))
			texts[i], errs[i] = text(resp), err
		}(i)
	}
	wg.Wait()
	for i := range texts {
		if errs[i] != nil || texts[i] != texts[0] {
			t.Errorf("goroutine %d: %q %v", i, texts[i], errs[i])
		}
	}
}

func TestCloseOrder(t *testing.T) {
	m, err := LoadModel(modelPath())
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	var fe *Error
	if err := m.Close(); !errors.As(err, &fe) || fe.Status != ErrState {
		t.Errorf("closing a model with an open context: %v", err)
	}
	c.Close()
	c.Close()
	if _, err := c.Generate("hi", nil); err == nil {
		t.Error("Generate on a closed context succeeded")
	}
	if err := m.Close(); err != nil {
		t.Error(err)
	}
	if _, err := m.Tokenize("hi", false, false); err == nil {
		t.Error("Tokenize on a closed model succeeded")
	}
}

// TestChat needs chat-completions support in fw_generate_json ("messages"
// in the body, the "chat.completion" shape from fw_result_to_json).
func TestChat(t *testing.T) {
	m := load(t)
	c := newContext(t, m)
	msgs := []Message{
		{Role: "system", Content: "You tell short stories."},
		{Role: "user", Content: "Tell me about Lily."},
	}
	a, err := c.Chat(msgs, greedy(12))
	if err != nil {
		t.Fatalf("chat request: %v", err)
	}
	if a["object"] != "chat.completion" || get(a, "choices", 0, "message", "role") != "assistant" {
		t.Fatalf("response %v", a)
	}
	content, ok := get(a, "choices", 0, "message", "content").(string)
	if !ok || get(a, "choices", 0, "finish_reason") == nil {
		t.Fatalf("response %v", a)
	}
	b, err := c.Chat(msgs, greedy(12))
	if err != nil || text(b) != content {
		t.Errorf("second greedy chat: %q (%v), first %q", text(b), err, content)
	}
	var sb strings.Builder
	s, err := c.ChatStream(msgs, greedy(12), func(ev Event) bool {
		sb.WriteString(ev.Text)
		return true
	})
	if err != nil || text(s) != sb.String() || text(s) != content {
		t.Errorf("streamed chat %q, deltas %q, plain %q (%v)", text(s), sb.String(), content, err)
	}
}

// The chat-only request fields ("chat_template", ...) are plain fields.
func TestChatFieldsTravelByName(t *testing.T) {
	m := load(t)
	c := newContext(t, m)
	msgs := []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi!"}}
	r, err := c.Chat(msgs, map[string]any{
		"chat_template": "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}",
		"echo":          true,
		"max_tokens":    0,
	})
	if err != nil || text(r) != "[system] Be brief.\n[user] Hi!\n" {
		t.Errorf("echoed prompt %q, %v", text(r), err)
	}
	_, err = c.Generate("Once", map[string]any{"chat_template": "x"})
	if err == nil || !strings.Contains(err.Error(), "chat_template") {
		t.Errorf("chat_template with a prompt: %v", err)
	}
}

// Model and context parameters go by name; "n": 2 gives two choices, with
// n_seq_max given or made to fit.
func TestParametersByNameAndSeveralChoices(t *testing.T) {
	m, err := LoadModelWith(modelPath(), map[string]any{"use_mmap": false, "generation_config": ""})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c, err := m.NewContextWith(map[string]any{"n_seq_max": 2, "n_ctx": 96, "n_threads": 1, "isa": "scalar"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.NSeqMax() != 2 || c.NCtx() != 96 || c.NThreads() != 1 || c.ISA() != "scalar" {
		t.Errorf("n_seq_max %d n_ctx %d n_threads %d isa %q", c.NSeqMax(), c.NCtx(), c.NThreads(), c.ISA())
	}
	two := map[string]any{"n": 2, "max_tokens": 4, "seed": 1, "logprobs": true, "top_logprobs": 2}
	r, err := c.Generate("Once upon a time", two)
	if err != nil {
		t.Fatal(err)
	}
	if choices, _ := r["choices"].([]any); len(choices) != 2 {
		t.Fatalf("%d choices: %v", len(choices), r)
	}

	// Streaming: events of both choices, with the response's logprobs.
	texts := make([]string, 2)
	logprobs := make([][]float32, 2)
	s, err := c.GenerateStream("Once upon a time", two, func(ev Event) bool {
		texts[ev.Choice] += ev.Text
		if ev.Token >= 0 {
			logprobs[ev.Choice] = append(logprobs[ev.Choice], ev.Logprob)
			if len(ev.TopIDs) != 2 || len(ev.TopLogprobs) != 2 || !(ev.SamplingLogprob <= 0) {
				t.Errorf("event %+v", ev)
			}
			var raw map[string]any
			if json.Unmarshal([]byte(ev.JSON), &raw) != nil || raw["choice"] != float64(ev.Choice) {
				t.Errorf("event JSON %s", ev.JSON)
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if got, _ := get(s, "choices", i, "text").(string); got != texts[i] || got != get(r, "choices", i, "text") {
			t.Errorf("choice %d: streamed %q, deltas %q, plain %q", i, got, texts[i], get(r, "choices", i, "text"))
		}
		want, _ := get(s, "choices", i, "logprobs", "token_logprobs").([]any)
		if len(want) != len(logprobs[i]) {
			t.Fatalf("choice %d: %d event logprobs, %d in the response", i, len(logprobs[i]), len(want))
		}
		for k, w := range want {
			if float32(w.(float64)) != logprobs[i][k] {
				t.Errorf("choice %d token %d: event logprob %v, response %v", i, k, logprobs[i][k], w)
			}
		}
	}

	// A context with one sequence is made anew for n = 2.
	one := newContext(t, m)
	if one.NSeqMax() != 1 {
		t.Errorf("default NSeqMax() = %d", one.NSeqMax())
	}
	r1, err := one.Generate("Once upon a time", two)
	if err != nil {
		t.Fatal(err)
	}
	if choices, _ := r1["choices"].([]any); len(choices) != 2 || one.NSeqMax() != 2 ||
		get(r1, "choices", 1, "text") != get(r, "choices", 1, "text") {
		t.Errorf("n = 2 on a one-sequence context: %v (n_seq_max %d)", r1, one.NSeqMax())
	}
	out, err := one.GenerateJSON([]byte(`{"prompt": "Once", "max_tokens": 2}`), []byte(`{"n": 3}`), nil)
	if err != nil || one.NSeqMax() != 3 || !strings.Contains(string(out), `"index":2`) {
		t.Errorf("n = 3 in the overrides: %s, %v (n_seq_max %d)", out, err, one.NSeqMax())
	}

	// Parameters the library does not know are named.
	var fe *Error
	if _, err := m.NewContextWith(map[string]any{"n_seqs": 2}); !errors.As(err, &fe) ||
		fe.Status != ErrInvalidArg || !strings.Contains(fe.Message, `"n_seqs"`) {
		t.Errorf("unknown context parameter: %v", err)
	}
	if _, err := m.NewContextWith(map[string]any{"n_ctx": -1}); !errors.As(err, &fe) ||
		fe.Status != ErrRange || !strings.Contains(fe.Message, "n_ctx") {
		t.Errorf("n_ctx -1: %v", err)
	}
	if _, err := LoadModelWith(modelPath(), map[string]any{"use_map": true}); !errors.As(err, &fe) ||
		fe.Status != ErrInvalidArg || !strings.Contains(fe.Message, `"use_map"`) {
		t.Errorf("unknown model parameter: %v", err)
	}
}

// TestEverySamplingField sends one request with every field of
// docs/SAMPLING.md section 1.  Mirostat is on, so top_k/top_p/min_p/typical_p
// are accepted and reported but not applied.  Token 432 (",") is what the
// model samples right after the prompt without the bias; 13 is "\n".
func TestEverySamplingField(t *testing.T) {
	m := load(t)
	c := newContext(t, m)
	floats := map[string]float64{
		"temperature": 0.9, "top_p": 0.95, "min_p": 0.02, "typical_p": 0.97,
		"frequency_penalty": 0.1, "presence_penalty": 0.1, "repetition_penalty": 1.1,
		"mirostat_target": 5.0, "mirostat_lr": 0.1,
	}
	fields := map[string]any{
		"top_k": 40, "logit_bias": map[string]any{"13": -100, "432": -100.0},
		"max_tokens": 8, "n": 2, "logprobs": 2, "top_logprobs": 2,
		"echo": true, "echo_last": 2, "raw_output": true, "ignore_eos": true,
		"stop": []string{"zzz"}, "seed": uint64(11), "user": "u", "model": "stories-test",
	}
	for k, v := range floats {
		fields[k] = v
	}
	toks, err := m.Tokenize("Once upon a time", true, false)
	if err != nil {
		t.Fatal(err)
	}
	promptIDs := make([]float64, len(toks))
	for i, x := range toks {
		promptIDs[i] = float64(x)
	}
	r, err := c.Generate("Once upon a time", fields)
	if err != nil {
		t.Fatal(err)
	}
	if r["model"] != "stories-test" {
		t.Errorf("model %v", r["model"])
	}
	if choices, _ := r["choices"].([]any); len(choices) != 2 {
		t.Fatalf("%d choices: %v", len(choices), r)
	}
	if get(r, "sampling", "seed") != float64(11) || get(r, "sampling", "top_k") != float64(40) {
		t.Errorf("sampling %v", r["sampling"])
	}
	for k, v := range floats {
		if got, ok := get(r, "sampling", k).(float64); !ok || math.Abs(got-v) > 1e-6 {
			t.Errorf("sampling.%s = %v, sent %v", k, get(r, "sampling", k), v)
		}
	}
	if num(r, "usage", "prompt_tokens") != len(toks) || num(r, "usage", "completion_tokens") != 16 {
		t.Errorf("usage %v", r["usage"])
	}
	floatsAt := func(path ...any) []float64 {
		a, _ := get(r, path...).([]any)
		out := make([]float64, len(a))
		for i, x := range a {
			f, ok := x.(float64)
			if !ok {
				f = math.NaN()
			}
			out[i] = f
		}
		return out
	}
	for i := 0; i < 2; i++ {
		if get(r, "choices", i, "finish_reason") != "length" {
			t.Errorf("choice %d: finish_reason %v", i, get(r, "choices", i, "finish_reason"))
		}
		text, _ := get(r, "choices", i, "text").(string)
		if !strings.HasPrefix(text, " a time") { // echo_last 2
			t.Errorf("choice %d: text %q", i, text)
		}
		ids := floatsAt("choices", i, "logprobs", "token_ids")
		if len(ids) != 2+8 || !reflect.DeepEqual(ids[:2], promptIDs[len(promptIDs)-2:]) {
			t.Fatalf("choice %d: token ids %v", i, ids)
		}
		gen := ids[2:]
		for _, id := range gen {
			if id == 13 || id == 432 {
				t.Errorf("choice %d: biased token %v generated: %v", i, id, gen)
			}
		}
		lps := floatsAt("choices", i, "logprobs", "token_logprobs")
		if len(lps) != 10 {
			t.Errorf("choice %d: %d logprobs", i, len(lps))
		}
		for _, x := range lps {
			if !(x <= 0) || math.IsInf(x, 0) {
				t.Errorf("choice %d: logprob %v", i, x)
			}
		}
		tops, _ := get(r, "choices", i, "logprobs", "top_logprobs").([]any)
		if len(tops) != 10 {
			t.Errorf("choice %d: %d top_logprobs", i, len(tops))
		}
		for _, tp := range tops {
			if o, _ := tp.(map[string]any); len(o) != 2 {
				t.Errorf("choice %d: top_logprobs entry %v", i, tp)
			}
		}
		// raw_output: the prompt ids evaluated and the completion's ids.
		if got := floatsAt("choices", i, "raw_output", "prompt_token_ids"); !reflect.DeepEqual(got, promptIDs) {
			t.Errorf("choice %d: prompt_token_ids %v, want %v", i, got, promptIDs)
		}
		if got := floatsAt("choices", i, "raw_output", "completion_token_ids"); !reflect.DeepEqual(got, gen) {
			t.Errorf("choice %d: completion_token_ids %v, want %v", i, got, gen)
		}
		if completion, _ := get(r, "choices", i, "raw_output", "completion").(string); text != " a time"+completion {
			t.Errorf("choice %d: text %q, completion %q", i, text, completion)
		}
	}
	if get(r, "choices", 0, "text") == get(r, "choices", 1, "text") {
		t.Errorf("both choices %q: each should have its own RNG", text(r))
	}
	again, err := c.Generate("Once upon a time", fields)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if get(again, "choices", i, "text") != get(r, "choices", i, "text") {
			t.Errorf("choice %d: %q then %q with the same seed", i,
				get(r, "choices", i, "text"), get(again, "choices", i, "text"))
		}
	}
}
