//! Safe Rust bindings to libfwinfer, with no dependencies.
//!
//! Everything goes to the library by name: requests as the JSON request
//! bodies of the Fireworks/OpenAI completions and chat-completions APIs,
//! model and context parameters as JSON objects; responses and streaming
//! events come back as JSON.  No C struct layout is mirrored, so a newer
//! libfwinfer with grown structs keeps working with this crate.
//!
//! ```no_run
//! use fwinfer::{Json, Model};
//! let model = Model::load("stories260K.gguf")?;
//! let mut ctx = model.new_context()?;
//! let fields = Json::object().with("max_tokens", 16).with("temperature", 0);
//! let resp = ctx.generate("Once upon a time", &fields)?;
//! println!("{}", resp.text().unwrap_or(""));
//!
//! // Context parameters by name ("n_ctx", "n_batch", "n_threads",
//! // "n_seq_max", "kv_budget_bytes", "isa"), as a Json object or JSON text.
//! let mut ctx = model.new_context_with(r#"{"n_ctx": 256, "n_threads": 2, "n_seq_max": 4}"#)?;
//! let resp = ctx.generate("Once", r#"{"n": 4, "max_tokens": 8}"#)?;
//! assert_eq!(resp.n_choices(), 4);
//! # Ok::<(), fwinfer::Error>(())
//! ```

use std::any::Any;
use std::borrow::Cow;
use std::ffi::{CStr, CString};
use std::fmt;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_void};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::ptr::{self, NonNull};

mod json;
pub mod sys;

pub use json::{Json, ParseError};

/// A token id.
pub type Token = i32;

// ---------------------------------------------------------------------------
// Errors

/// A failed libfwinfer call: its status code (`FW_E_*`, negative) and the
/// library's message saying what was wrong and where.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    status: i32,
    message: String,
}

impl Error {
    /// An error with the given status and message.
    pub fn new(status: i32, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
        }
    }

    /// The error of the call that just failed on this thread with `status`.
    fn last(status: i32) -> Error {
        let msg = unsafe { cstr_lossy(sys::fw_last_error()) };
        Error::new(status, msg)
    }

    /// The status code, one of the `sys::FW_E_*` constants.
    pub fn status(&self) -> i32 {
        self.status
    }

    /// The status code as the library names it, e.g.
    /// "FW_E_FORMAT: malformed input".
    pub fn status_name(&self) -> String {
        status_str(self.status)
    }

    /// The library's message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(&self.status_name())
        } else {
            write!(f, "{} ({})", self.message, self.status_name())
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("status", &self.status)
            .field("name", &self.status_name())
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn check(status: i32) -> Result<()> {
    if status == sys::FW_OK {
        Ok(())
    } else {
        Err(Error::last(status))
    }
}

unsafe fn cstr_lossy(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

fn cstring(what: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| {
        Error::new(
            sys::FW_E_INVALID_ARG,
            format!("{} contains a NUL byte", what),
        )
    })
}

/// Call a function following the library's buffer convention
/// (buf, cap, &n_needed) until the text fits.
fn read_text<F>(mut f: F) -> Result<Vec<u8>>
where
    F: FnMut(*mut c_char, usize, *mut usize) -> i32,
{
    let mut buf: Vec<u8> = vec![0; 256];
    loop {
        let mut n: usize = 0;
        let st = f(buf.as_mut_ptr() as *mut c_char, buf.len(), &mut n);
        if st == sys::FW_OK {
            buf.truncate(n);
            return Ok(buf);
        }
        if st != sys::FW_E_BUFFER_TOO_SMALL || n < buf.len() {
            return Err(Error::last(st));
        }
        buf = vec![0; n + 1];
    }
}

// ---------------------------------------------------------------------------
// Version and status names

/// The version of the linked library as MAJOR*10000 + MINOR*100 + PATCH.
pub fn version_number() -> u32 {
    unsafe { sys::fw_version_number() }
}

/// The version of the linked library as text, e.g. "0.1.0".
pub fn version_string() -> &'static str {
    // The string is static in the library.
    unsafe { CStr::from_ptr(sys::fw_version_string()) }
        .to_str()
        .unwrap_or("")
}

/// Whether the linked library has the ABI major version these bindings
/// were written for.
pub fn version_compatible() -> bool {
    version_number() / 10000 == sys::FW_VERSION_MAJOR
}

/// The library's name for a status code, e.g. "FW_E_IO: ...".
pub fn status_str(status: i32) -> String {
    unsafe { cstr_lossy(sys::fw_status_str(status)) }
}

// ---------------------------------------------------------------------------
// Model

/// A loaded model.  Immutable once loaded; may be shared between threads.
pub struct Model {
    ptr: NonNull<sys::fw_model>,
    name: String,
}

// fwinfer.h: "an fw_model is immutable after loading and may be used from
// any number of threads at once".
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

impl Model {
    /// Load a GGUF model file with the library's default parameters.
    pub fn load<P: AsRef<Path>>(path: P) -> Result<Model> {
        Model::load_with(path, &Json::Null)
    }

    /// Load a GGUF model file with parameters by name (`fw_model_load_json`):
    /// a [`Json`] object or JSON text with "use_mmap" (bool),
    /// "generation_config" (a path, "" for none), ...; `Json::Null` or `""`
    /// for the defaults.  A parameter the library does not know fails with
    /// `FW_E_INVALID_ARG` naming it.
    pub fn load_with<P: AsRef<Path>, F: Fields + ?Sized>(path: P, params: &F) -> Result<Model> {
        let params = params_text(params.to_object("model parameters")?)?;
        let path = path.as_ref();
        let text = path.to_str().ok_or_else(|| {
            Error::new(
                sys::FW_E_INVALID_ARG,
                format!("model path is not UTF-8: {}", path.display()),
            )
        })?;
        let c = cstring("model path", text)?;
        let mut out: *mut sys::fw_model = ptr::null_mut();
        check(unsafe { sys::fw_model_load_json(c.as_ptr(), opt_ptr(&params), &mut out) })?;
        let ptr = NonNull::new(out)
            .ok_or_else(|| Error::new(sys::FW_E_INTERNAL, "fw_model_load_json gave no model"))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Model { ptr, name })
    }

    /// The name used as "model" in responses: the file name without
    /// its extension.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw handle, for calls this crate does not wrap.  Valid while
    /// `self` lives.
    pub fn as_ptr(&self) -> *const sys::fw_model {
        self.ptr.as_ptr()
    }

    /// The architecture name (general.architecture), e.g. "llama".
    pub fn arch(&self) -> String {
        unsafe { cstr_lossy(sys::fw_model_arch(self.as_ptr())) }
    }

    pub fn n_vocab(&self) -> i32 {
        unsafe { sys::fw_model_n_vocab(self.as_ptr()) }
    }

    pub fn n_ctx_train(&self) -> i32 {
        unsafe { sys::fw_model_n_ctx_train(self.as_ptr()) }
    }

    /// The BOS token id, if the model has one.
    pub fn bos(&self) -> Option<Token> {
        let t = unsafe { sys::fw_vocab_special(self.as_ptr(), sys::FW_SPECIAL_BOS) };
        if t >= 0 {
            Some(t)
        } else {
            None
        }
    }

    /// The EOS token id, if the model has one.
    pub fn eos(&self) -> Option<Token> {
        let t = unsafe { sys::fw_vocab_special(self.as_ptr(), sys::FW_SPECIAL_EOS) };
        if t >= 0 {
            Some(t)
        } else {
            None
        }
    }

    /// Tokenize `text`.  `add_special`: add BOS/EOS as the model says;
    /// `parse_special`: control-token text (e.g. "</s>") becomes tokens.
    pub fn tokenize(
        &self,
        text: &str,
        add_special: bool,
        parse_special: bool,
    ) -> Result<Vec<Token>> {
        let mut flags = 0;
        if add_special {
            flags |= sys::FW_TOKENIZE_ADD_SPECIAL;
        }
        if parse_special {
            flags |= sys::FW_TOKENIZE_PARSE_SPECIAL;
        }
        let mut toks: Vec<Token> = vec![0; text.len() + 8];
        loop {
            let mut n: usize = 0;
            let st = unsafe {
                sys::fw_tokenize(
                    self.as_ptr(),
                    text.as_ptr() as *const c_char,
                    text.len(),
                    flags,
                    toks.as_mut_ptr(),
                    toks.len(),
                    &mut n,
                )
            };
            if st == sys::FW_OK {
                toks.truncate(n);
                return Ok(toks);
            }
            if st != sys::FW_E_BUFFER_TOO_SMALL || n <= toks.len() {
                return Err(Error::last(st));
            }
            toks = vec![0; n];
        }
    }

    /// The bytes of `tokens` as text (a byte token may leave an incomplete
    /// UTF-8 sequence).  `remove_special` drops the model's own BOS/EOS.
    pub fn detokenize_bytes(&self, tokens: &[Token], remove_special: bool) -> Result<Vec<u8>> {
        let flags = if remove_special {
            sys::FW_DETOK_REMOVE_SPECIAL
        } else {
            0
        };
        read_text(|buf, cap, n| unsafe {
            sys::fw_detokenize(
                self.as_ptr(),
                tokens.as_ptr(),
                tokens.len(),
                flags,
                buf,
                cap,
                n,
            )
        })
    }

    /// `tokens` as text; invalid UTF-8 becomes U+FFFD.
    pub fn detokenize(&self, tokens: &[Token], remove_special: bool) -> Result<String> {
        let b = self.detokenize_bytes(tokens, remove_special)?;
        Ok(String::from_utf8(b)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// The text one token shows in generated output, as bytes.
    pub fn token_to_piece(&self, token: Token) -> Result<Vec<u8>> {
        read_text(|buf, cap, n| unsafe {
            sys::fw_token_to_piece(self.as_ptr(), token, 0, buf, cap, n)
        })
    }

    /// A new evaluation context with the library's defaults (the model's
    /// trained context length within the default KV budget, one thread per
    /// online CPU, one sequence).
    pub fn new_context(&self) -> Result<Context<'_>> {
        Context::new(self)
    }

    /// A new evaluation context with parameters by name: see
    /// [`Context::new_with`].
    pub fn new_context_with<F: Fields + ?Sized>(&self, params: &F) -> Result<Context<'_>> {
        Context::new_with(self, params)
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        unsafe { sys::fw_model_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model").field("name", &self.name).finish()
    }
}

// ---------------------------------------------------------------------------
// Chat messages

/// One chat message.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: &str) -> Message {
        Message {
            role: role.to_string(),
            content: content.to_string(),
        }
    }
    pub fn system(content: &str) -> Message {
        Message::new("system", content)
    }
    pub fn user(content: &str) -> Message {
        Message::new("user", content)
    }
    pub fn assistant(content: &str) -> Message {
        Message::new("assistant", content)
    }
}

impl From<&Message> for Json {
    fn from(m: &Message) -> Json {
        Json::object()
            .with("role", m.role.as_str())
            .with("content", m.content.as_str())
    }
}

// ---------------------------------------------------------------------------
// Streaming events

/// One streaming event: a token of one choice and the text it completes.
/// It is read from the JSON the library makes of it (`fw_event_to_json`);
/// everything borrows from the callback's frame.
#[derive(Debug)]
pub struct Event<'a> {
    /// The choice (0 .. n-1) this event belongs to.
    pub choice: i32,
    /// The token, or None on a choice's last event when it carries none.
    pub token: Option<Token>,
    /// The text delta (UTF-8-safe; stop strings are held back until they
    /// cannot match).
    pub text: Cow<'a, str>,
    /// Raw log-probability of the token (NaN without a token).
    pub logprob: f32,
    /// Log-probability in the sampler's final distribution (NaN without a
    /// token).
    pub sampling_logprob: f32,
    /// The top_logprobs alternatives (token ids and log-probabilities),
    /// empty unless requested.
    pub top_ids: &'a [Token],
    pub top_logprobs: &'a [f32],
    /// "stop" or "length" on a choice's last event, else None.
    pub finish_reason: Option<&'a str>,
    /// The event as the library wrote it: {"choice", "token", "text",
    /// "logprob", "sampling_logprob", "top_logprobs": [{"token",
    /// "logprob"}], "finish_reason"} (and whatever a newer library adds).
    pub json: &'a Json,
}

/// A JSON number as an f32 (parsed directly, so the library's shortest
/// float32 text reads back exactly); NaN for null or anything else.
fn json_f32(v: Option<&Json>) -> f32 {
    match v {
        Some(Json::Number(n)) => n.parse().unwrap_or(f32::NAN),
        _ => f32::NAN,
    }
}

fn json_i32(v: Option<&Json>) -> Option<i32> {
    v.and_then(Json::as_i64).and_then(|x| i32::try_from(x).ok())
}

/// The parts of an event's JSON that [`Event`] borrows as slices.
struct EventTop {
    ids: Vec<Token>,
    logprobs: Vec<f32>,
}

impl EventTop {
    fn of(v: &Json) -> Result<EventTop> {
        let mut top = EventTop {
            ids: Vec::new(),
            logprobs: Vec::new(),
        };
        if let Some(items) = v.get("top_logprobs").and_then(Json::as_array) {
            for t in items {
                top.ids
                    .push(json_i32(t.get("token")).ok_or_else(|| bad_event(v))?);
                top.logprobs.push(json_f32(t.get("logprob")));
            }
        }
        Ok(top)
    }
}

fn bad_event(v: &Json) -> Error {
    Error::new(
        sys::FW_E_INTERNAL,
        format!("unexpected streaming event JSON: {}", v),
    )
}

impl<'a> Event<'a> {
    /// The event of `v`, fw_event_to_json's object.
    fn from_json(v: &'a Json, top: &'a EventTop) -> Result<Event<'a>> {
        let choice = json_i32(v.get("choice")).ok_or_else(|| bad_event(v))?;
        let token = json_i32(v.get("token")).ok_or_else(|| bad_event(v))?;
        let text = match v.get("text") {
            Some(Json::String(t)) => Cow::Borrowed(t.as_str()),
            None => Cow::Borrowed(""),
            Some(_) => return Err(bad_event(v)),
        };
        Ok(Event {
            choice,
            token: if token >= 0 { Some(token) } else { None },
            text,
            logprob: json_f32(v.get("logprob")),
            sampling_logprob: json_f32(v.get("sampling_logprob")),
            top_ids: &top.ids,
            top_logprobs: &top.logprobs,
            finish_reason: v.get("finish_reason").and_then(Json::as_str),
            json: v,
        })
    }
}

/// The event behind the callback's opaque pointer, as parsed JSON.
unsafe fn event_json(ev: *const sys::fw_event) -> Result<Json> {
    let bytes = read_text(|buf, cap, n| sys::fw_event_to_json(ev, buf, cap, n))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::new(sys::FW_E_INTERNAL, "streaming event JSON is not UTF-8"))?;
    Json::parse(&text)
        .map_err(|e| Error::new(sys::FW_E_INTERNAL, format!("streaming event JSON: {}", e)))
}

struct StreamState<F> {
    callback: F,
    panic: Option<Box<dyn Any + Send + 'static>>,
    /// An event that could not be read; generation stops and the call
    /// returns it.
    error: Option<Error>,
}

/// The C callback: reads the event (as JSON) and calls the closure,
/// catching panics (which must not unwind into C); a panic stops generation
/// and is resumed once the library call has returned.
unsafe extern "C" fn trampoline<F>(ev: *const sys::fw_event, user_data: *mut c_void) -> i32
where
    F: FnMut(&Event<'_>) -> bool,
{
    let state = &mut *(user_data as *mut StreamState<F>);
    if state.panic.is_some() || state.error.is_some() || ev.is_null() {
        return 1;
    }
    let callback = &mut state.callback;
    match panic::catch_unwind(AssertUnwindSafe(|| -> Result<bool> {
        let value = event_json(ev)?;
        let top = EventTop::of(&value)?;
        let event = Event::from_json(&value, &top)?;
        Ok(callback(&event))
    })) {
        Ok(Ok(true)) => 0,
        Ok(Ok(false)) => 1,
        Ok(Err(e)) => {
            state.error = Some(e);
            1
        }
        Err(p) => {
            state.panic = Some(p);
            1
        }
    }
}

// ---------------------------------------------------------------------------
// Responses

/// A generation response: the OpenAI-shaped JSON text the library made
/// (object "text_completion" or "chat.completion") and its parsed value.
#[derive(Clone, Debug)]
pub struct Response {
    json: String,
    value: Json,
}

impl Response {
    /// The response JSON text, as the library wrote it.
    pub fn json(&self) -> &str {
        &self.json
    }
    pub fn into_json(self) -> String {
        self.json
    }
    /// The parsed response.
    pub fn value(&self) -> &Json {
        &self.value
    }
    /// A value by dotted path, e.g. "usage.completion_tokens".
    pub fn get(&self, path: &str) -> Option<&Json> {
        self.value.pointer(path)
    }
    /// The number of choices.
    pub fn n_choices(&self) -> usize {
        self.get("choices")
            .and_then(Json::as_array)
            .map_or(0, |a| a.len())
    }
    /// The text of choice `i`: "text" of a completion, "message.content"
    /// of a chat completion.
    pub fn choice_text(&self, i: usize) -> Option<&str> {
        let c = self.get("choices")?.at(i)?;
        c.get("text")
            .or_else(|| c.pointer("message.content"))
            .and_then(Json::as_str)
    }
    /// The text of the first choice.
    pub fn text(&self) -> Option<&str> {
        self.choice_text(0)
    }
    /// The finish reason of the first choice ("stop" or "length").
    pub fn finish_reason(&self) -> Option<&str> {
        self.get("choices.0.finish_reason").and_then(Json::as_str)
    }
}

struct ResultGuard(*mut sys::fw_result);

impl Drop for ResultGuard {
    fn drop(&mut self) {
        unsafe { sys::fw_result_free(self.0) }
    }
}

// ---------------------------------------------------------------------------
// Context

/// An evaluation context (KV cache, scratch, worker threads) of a model.
/// One thread at a time: it is `Send` but not `Sync`.
pub struct Context<'m> {
    ptr: NonNull<sys::fw_context>,
    model: &'m Model,
    /// The parameters it was made with (an object, or Null for none), for
    /// making it anew with more sequences.
    params: Json,
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

// A context belongs to one thread at a time, which `&mut self` on every
// generating method enforces.
unsafe impl<'m> Send for Context<'m> {}

impl<'m> Context<'m> {
    /// A context with the library's default parameters.
    pub fn new(model: &'m Model) -> Result<Context<'m>> {
        Context::new_with(model, &Json::Null)
    }

    /// A context with parameters by name (`fw_context_new_json`): a [`Json`]
    /// object or JSON text with "n_ctx", "n_batch", "n_threads",
    /// "n_seq_max" (integers, 0 = the default), "kv_budget_bytes" (integer),
    /// "isa" (string); `Json::Null` or `""` for the defaults.  A parameter
    /// the library does not know fails with `FW_E_INVALID_ARG` naming it, a
    /// value out of range with `FW_E_RANGE`.
    ///
    /// A request for more choices ("n") than the context has sequences
    /// (`n_seq_max`, default 1) makes the context anew with `n_seq_max` = n
    /// (same parameters otherwise); set "n_seq_max" here to avoid that.
    pub fn new_with<F: Fields + ?Sized>(model: &'m Model, params: &F) -> Result<Context<'m>> {
        let params = params.to_object("context parameters")?;
        let ptr = new_context_ptr(model, &params)?;
        Ok(Context {
            ptr,
            model,
            params,
            _not_sync: PhantomData,
        })
    }

    /// Make room for `n` choices: a new context with `n_seq_max` = n if
    /// this one has fewer sequences.
    fn reserve_choices(&mut self, n: u32) -> Result<()> {
        if n <= self.n_seq_max() {
            return Ok(());
        }
        let mut params = match &self.params {
            Json::Null => Json::object(),
            p => p.clone(),
        };
        params.set("n_seq_max", n);
        let ptr = new_context_ptr(self.model, &params)?;
        unsafe { sys::fw_context_free(self.ptr.as_ptr()) };
        self.ptr = ptr;
        Ok(())
    }

    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// Positions per sequence.
    pub fn n_ctx(&self) -> u32 {
        unsafe { sys::fw_context_n_ctx(self.ptr.as_ptr()) }
    }

    /// Sequences: the most choices a request gets without the context
    /// being made anew.
    pub fn n_seq_max(&self) -> u32 {
        unsafe { sys::fw_context_n_seq_max(self.ptr.as_ptr()) }
    }

    /// Worker threads.
    pub fn n_threads(&self) -> u32 {
        unsafe { sys::fw_context_n_threads(self.ptr.as_ptr()) }
    }

    /// The kernel level in use, e.g. "avx2".
    pub fn isa(&self) -> String {
        unsafe { cstr_lossy(sys::fw_context_isa(self.ptr.as_ptr())) }
    }

    /// The raw handle, for calls this crate does not wrap.  A request for
    /// more choices than [`Context::n_seq_max`] replaces it (see
    /// [`Context::new_with`]).
    pub fn as_ptr(&mut self) -> *mut sys::fw_context {
        self.ptr.as_ptr()
    }

    /// Run a request body (a completions body with "prompt" or a chat body
    /// with "messages") with optional `overrides` (a JSON object whose
    /// members replace the body's) and return the response.
    pub fn generate_json(&mut self, body: &str, overrides: Option<&str>) -> Result<Response> {
        self.run(body, overrides, None::<fn(&Event<'_>) -> bool>)
    }

    /// As [`Context::generate_json`], calling `on_event` for every token as
    /// it is generated; `on_event` returns `true` to go on, `false` to stop
    /// (the choice then ends with finish_reason "stop").  A panic in
    /// `on_event` stops generation and is resumed when the call returns.
    pub fn generate_json_stream<F>(
        &mut self,
        body: &str,
        overrides: Option<&str>,
        on_event: F,
    ) -> Result<Response>
    where
        F: FnMut(&Event<'_>) -> bool,
    {
        self.run(body, overrides, Some(on_event))
    }

    /// Complete `prompt`.  `fields` holds the request fields
    /// ("max_tokens", "temperature", "stop", "n", "seed", ...: the
    /// Fireworks/OpenAI completions fields) as a [`Json`] object (or
    /// `Json::Null` for none) or as JSON text.
    pub fn generate<F: Fields + ?Sized>(&mut self, prompt: &str, fields: &F) -> Result<Response> {
        let body = request_body("prompt", prompt.into(), fields)?;
        self.generate_json(&body, None)
    }

    /// [`Context::generate`] with streaming (see
    /// [`Context::generate_json_stream`]).
    pub fn generate_stream<F>(
        &mut self,
        prompt: &str,
        fields: &Json,
        on_event: F,
    ) -> Result<Response>
    where
        F: FnMut(&Event<'_>) -> bool,
    {
        let body = request_body("prompt", prompt.into(), fields)?;
        self.generate_json_stream(&body, None, on_event)
    }

    /// A chat completion of `messages` (rendered with the model's chat
    /// template); the response has the "chat.completion" shape.
    pub fn chat<F: Fields + ?Sized>(
        &mut self,
        messages: &[Message],
        fields: &F,
    ) -> Result<Response> {
        let body = request_body("messages", messages_json(messages), fields)?;
        self.generate_json(&body, None)
    }

    /// [`Context::chat`] with streaming.
    pub fn chat_stream<F>(
        &mut self,
        messages: &[Message],
        fields: &Json,
        on_event: F,
    ) -> Result<Response>
    where
        F: FnMut(&Event<'_>) -> bool,
    {
        let body = request_body("messages", messages_json(messages), fields)?;
        self.generate_json_stream(&body, None, on_event)
    }

    fn run<F>(
        &mut self,
        body: &str,
        overrides: Option<&str>,
        on_event: Option<F>,
    ) -> Result<Response>
    where
        F: FnMut(&Event<'_>) -> bool,
    {
        let (model_name, n) = request_info(body, overrides);
        if let Some(n) = n {
            self.reserve_choices(n)?;
        }
        let model_name = model_name.unwrap_or_else(|| self.model.name.clone());
        let model_name = CString::new(model_name.replace('\0', "")).unwrap_or_default();
        let (ov_ptr, ov_len) = match overrides {
            Some(o) => (o.as_ptr() as *const c_char, o.len()),
            None => (ptr::null(), 0),
        };
        let mut state = on_event.map(|callback| StreamState {
            callback,
            panic: None,
            error: None,
        });
        let (cb, ud): (sys::fw_event_fn, *mut c_void) = match state.as_mut() {
            Some(s) => (
                Some(trampoline::<F>),
                s as *mut StreamState<F> as *mut c_void,
            ),
            None => (None, ptr::null_mut()),
        };
        let mut out: *mut sys::fw_result = ptr::null_mut();
        let st = unsafe {
            sys::fw_generate_json(
                self.ptr.as_ptr(),
                body.as_ptr() as *const c_char,
                body.len(),
                ov_ptr,
                ov_len,
                cb,
                ud,
                &mut out,
            )
        };
        let err = if st != sys::FW_OK {
            Some(Error::last(st))
        } else {
            None
        };
        let guard = ResultGuard(out);
        if let Some(s) = state {
            if let Some(p) = s.panic {
                drop(guard);
                panic::resume_unwind(p);
            }
            if let Some(e) = s.error {
                return Err(e);
            }
        }
        if let Some(e) = err {
            return Err(e);
        }
        if guard.0.is_null() {
            return Err(Error::new(
                sys::FW_E_INTERNAL,
                "fw_generate_json gave no result",
            ));
        }
        let bytes = read_text(|buf, cap, n| unsafe {
            sys::fw_result_to_json(guard.0, model_name.as_ptr(), buf, cap, n)
        })?;
        let json = String::from_utf8(bytes)
            .map_err(|_| Error::new(sys::FW_E_INTERNAL, "response JSON is not UTF-8"))?;
        let value = Json::parse(&json)
            .map_err(|e| Error::new(sys::FW_E_INTERNAL, format!("response JSON: {}", e)))?;
        Ok(Response { json, value })
    }
}

impl<'m> Drop for Context<'m> {
    fn drop(&mut self) {
        unsafe { sys::fw_context_free(self.ptr.as_ptr()) }
    }
}

impl<'m> fmt::Debug for Context<'m> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("model", &self.model.name)
            .field("n_ctx", &self.n_ctx())
            .finish()
    }
}

/// Request fields or parameters by name: a [`Json`] object (or `Json::Null`
/// for none), or JSON text of an object (`r#"{"max_tokens": 8}"#`; `""`
/// for none).
pub trait Fields {
    fn to_fields(&self) -> Result<Json>;

    /// As `to_fields`, with `what` naming the object in errors.
    #[doc(hidden)]
    fn to_object(&self, what: &str) -> Result<Json> {
        let _ = what;
        self.to_fields()
    }
}

impl Fields for Json {
    fn to_fields(&self) -> Result<Json> {
        Ok(self.clone())
    }
}

impl Fields for str {
    fn to_fields(&self) -> Result<Json> {
        parse_object_text("request fields", self)
    }

    /// Text with nothing but white space is no parameters (`Json::Null`).
    fn to_object(&self, what: &str) -> Result<Json> {
        if self.trim().is_empty() {
            return Ok(Json::Null);
        }
        parse_object_text(what, self)
    }
}

fn parse_object_text(what: &str, text: &str) -> Result<Json> {
    Json::parse(text).map_err(|e| Error::new(sys::FW_E_FORMAT, format!("{}: {}", what, e)))
}

impl Fields for String {
    fn to_fields(&self) -> Result<Json> {
        self.as_str().to_fields()
    }

    fn to_object(&self, what: &str) -> Result<Json> {
        self.as_str().to_object(what)
    }
}

/// Parameters (an object, or Null for the defaults) as the NUL-terminated
/// JSON text the library takes; None for Null.
fn params_text(params: Json) -> Result<Option<CString>> {
    match params {
        Json::Null => Ok(None),
        p => cstring("parameters", &p.to_string()).map(Some),
    }
}

fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |c| c.as_ptr())
}

fn new_context_ptr(model: &Model, params: &Json) -> Result<NonNull<sys::fw_context>> {
    let text = params_text(params.clone())?;
    let mut out: *mut sys::fw_context = ptr::null_mut();
    check(unsafe { sys::fw_context_new_json(model.as_ptr(), opt_ptr(&text), &mut out) })?;
    NonNull::new(out)
        .ok_or_else(|| Error::new(sys::FW_E_INTERNAL, "fw_context_new_json gave no context"))
}

fn messages_json(messages: &[Message]) -> Json {
    Json::Array(messages.iter().map(Json::from).collect())
}

/// {key: value, ...fields}: the fields' members after the prompt or
/// messages (a field of the same name replaces it).
fn request_body<F: Fields + ?Sized>(key: &str, value: Json, fields: &F) -> Result<String> {
    let fields = fields.to_fields()?;
    let mut body = Json::object().with(key, value);
    match &fields {
        Json::Null => {}
        Json::Object(members) => {
            for (k, v) in members {
                body.set(k, v.clone());
            }
        }
        _ => {
            return Err(Error::new(
                sys::FW_E_INVALID_ARG,
                "request fields must be a JSON object",
            ))
        }
    }
    Ok(body.to_string())
}

/// The "model" member of the request, if it names one, and "n" if it is a
/// valid choice count (overrides first; the library reports bad values).
fn request_info(body: &str, overrides: Option<&str>) -> (Option<String>, Option<u32>) {
    let parsed: Vec<Json> = overrides
        .into_iter()
        .chain(std::iter::once(body))
        .filter_map(|t| Json::parse(t).ok())
        .collect();
    let name = parsed
        .iter()
        .find_map(|v| v.get("model").and_then(Json::as_str).map(str::to_string));
    let n = parsed
        .iter()
        .find_map(|v| v.get("n"))
        .and_then(Json::as_u64)
        .filter(|n| (1..=128).contains(n))
        .map(|n| n as u32);
    (name, n)
}
