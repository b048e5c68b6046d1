//! Raw declarations of the libfwinfer functions this crate uses, written by
//! hand from include/fwinfer.h.
//!
//! No C struct layout is mirrored: model and context parameters go by name
//! as JSON objects (`fw_model_load_json`, `fw_context_new_json`), requests as
//! JSON bodies (`fw_generate_json`), and results and streaming events come
//! back as JSON (`fw_result_to_json`, `fw_event_to_json`).  The event the
//! streaming callback receives is an opaque type like the handles.  So a
//! newer library whose structs grew works with this crate unchanged.

#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_void};

pub type fw_status = i32;
pub type fw_token = i32;

pub const FW_OK: fw_status = 0;
pub const FW_E_INVALID_ARG: fw_status = -1;
pub const FW_E_NOMEM: fw_status = -2;
pub const FW_E_IO: fw_status = -3;
pub const FW_E_FORMAT: fw_status = -4;
pub const FW_E_UNSUPPORTED: fw_status = -5;
pub const FW_E_NOT_FOUND: fw_status = -6;
pub const FW_E_TYPE: fw_status = -7;
pub const FW_E_BUFFER_TOO_SMALL: fw_status = -8;
pub const FW_E_CANCELLED: fw_status = -9;
pub const FW_E_ABORTED: fw_status = -10;
pub const FW_E_RANGE: fw_status = -11;
pub const FW_E_CONTEXT_FULL: fw_status = -12;
pub const FW_E_NUMERIC: fw_status = -13;
pub const FW_E_STATE: fw_status = -14;
pub const FW_E_INTERNAL: fw_status = -15;

pub const FW_TOKENIZE_ADD_SPECIAL: u32 = 1;
pub const FW_TOKENIZE_PARSE_SPECIAL: u32 = 2;

pub const FW_DETOK_REMOVE_SPECIAL: u32 = 1;
pub const FW_DETOK_UNPARSE_SPECIAL: u32 = 2;
pub const FW_DETOK_NO_CLEANUP: u32 = 4;

pub const FW_SPECIAL_BOS: i32 = 0;
pub const FW_SPECIAL_EOS: i32 = 1;

/// The API major version these declarations were written for.  The ABI is
/// compatible across minor and patch versions of the same major.
pub const FW_VERSION_MAJOR: u32 = 0;

/// Opaque handles.
#[repr(C)]
pub struct fw_model {
    _private: [u8; 0],
}
#[repr(C)]
pub struct fw_context {
    _private: [u8; 0],
}
#[repr(C)]
pub struct fw_result {
    _private: [u8; 0],
}

/// A streaming event, opaque: valid during the callback only, read with
/// `fw_event_to_json`.
#[repr(C)]
pub struct fw_event {
    _private: [u8; 0],
}

pub type fw_event_fn =
    Option<unsafe extern "C" fn(event: *const fw_event, user_data: *mut c_void) -> i32>;

extern "C" {
    pub fn fw_version_number() -> u32;
    pub fn fw_version_string() -> *const c_char;
    pub fn fw_status_str(status: fw_status) -> *const c_char;
    pub fn fw_last_error() -> *const c_char;

    /// `params_json`: a JSON object of model parameters by name
    /// ("use_mmap", "metadata_only", "generation_config"); NULL or "" for
    /// the defaults.
    pub fn fw_model_load_json(
        path: *const c_char,
        params_json: *const c_char,
        out_model: *mut *mut fw_model,
    ) -> fw_status;
    pub fn fw_model_free(model: *mut fw_model);
    pub fn fw_model_n_vocab(model: *const fw_model) -> i32;
    pub fn fw_model_n_ctx_train(model: *const fw_model) -> i32;
    pub fn fw_model_arch(model: *const fw_model) -> *const c_char;

    pub fn fw_vocab_special(model: *const fw_model, which: i32) -> fw_token;
    pub fn fw_tokenize(
        model: *const fw_model,
        text: *const c_char,
        len: usize,
        flags: u32,
        tokens: *mut fw_token,
        cap: usize,
        n_tokens: *mut usize,
    ) -> fw_status;
    pub fn fw_detokenize(
        model: *const fw_model,
        tokens: *const fw_token,
        n: usize,
        flags: u32,
        buf: *mut c_char,
        cap: usize,
        n_needed: *mut usize,
    ) -> fw_status;
    pub fn fw_token_to_piece(
        model: *const fw_model,
        token: fw_token,
        flags: u32,
        buf: *mut c_char,
        cap: usize,
        n_needed: *mut usize,
    ) -> fw_status;

    /// `params_json`: a JSON object of context parameters by name
    /// ("n_ctx", "n_batch", "n_threads", "n_seq_max", "kv_budget_bytes",
    /// "isa"); NULL or "" for the defaults.
    pub fn fw_context_new_json(
        model: *const fw_model,
        params_json: *const c_char,
        out_ctx: *mut *mut fw_context,
    ) -> fw_status;
    pub fn fw_context_free(ctx: *mut fw_context);
    pub fn fw_context_n_ctx(ctx: *const fw_context) -> u32;
    pub fn fw_context_n_seq_max(ctx: *const fw_context) -> u32;
    pub fn fw_context_n_threads(ctx: *const fw_context) -> u32;
    pub fn fw_context_isa(ctx: *const fw_context) -> *const c_char;

    pub fn fw_event_to_json(
        event: *const fw_event,
        buf: *mut c_char,
        cap: usize,
        n_needed: *mut usize,
    ) -> fw_status;

    pub fn fw_generate_json(
        ctx: *mut fw_context,
        body: *const c_char,
        body_len: usize,
        overrides: *const c_char,
        overrides_len: usize,
        on_event: fw_event_fn,
        user_data: *mut c_void,
        out_result: *mut *mut fw_result,
    ) -> fw_status;
    pub fn fw_result_free(result: *mut fw_result);
    pub fn fw_result_n_choices(result: *const fw_result) -> i32;
    pub fn fw_result_text(
        result: *const fw_result,
        choice: i32,
        buf: *mut c_char,
        cap: usize,
        n_needed: *mut usize,
    ) -> fw_status;
    pub fn fw_result_to_json(
        result: *const fw_result,
        model_name: *const c_char,
        buf: *mut c_char,
        cap: usize,
        n_needed: *mut usize,
    ) -> fw_status;
}
