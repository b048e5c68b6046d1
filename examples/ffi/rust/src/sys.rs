//! Raw declarations of the libfwinfer functions this crate uses, written by
//! hand from include/fwinfer.h.
//!
//! Parameter structs (fw_model_params, fw_context_params, ...) are never
//! mirrored: the functions that take one get NULL (the library's defaults),
//! and everything else travels by name (JSON request bodies).  So a newer
//! library whose structs grew at the end works with this crate unchanged.
//!
//! The one struct read here is fw_event, which the library hands to the
//! streaming callback.  Its layout is mirrored as a read-only *prefix*: the
//! header promises that structs only grow at the end and that the first
//! field, `struct_size`, is the size the library filled in, and the wrapper
//! reads no field that lies beyond that size.

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

/// The known prefix of `fw_event` (see the module comment).
#[repr(C)]
pub struct fw_event {
    pub struct_size: u32,
    pub choice: i32,
    pub token: fw_token,
    pub n_top: i32,
    pub text: *const c_char,
    pub text_len: usize,
    pub logprob: f32,
    pub sampling_logprob: f32,
    pub top_ids: *const fw_token,
    pub top_logprobs: *const f32,
    pub finish_reason: *const c_char,
}

pub type fw_event_fn =
    Option<unsafe extern "C" fn(event: *const fw_event, user_data: *mut c_void) -> i32>;

extern "C" {
    pub fn fw_version_number() -> u32;
    pub fn fw_version_string() -> *const c_char;
    pub fn fw_status_str(status: fw_status) -> *const c_char;
    pub fn fw_last_error() -> *const c_char;

    // `params` is `const fw_model_params *`; always NULL here.
    pub fn fw_model_load(
        path: *const c_char,
        params: *const c_void,
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

    // `params` is `const fw_context_params *`; always NULL here.
    pub fn fw_context_new(
        model: *const fw_model,
        params: *const c_void,
        out_ctx: *mut *mut fw_context,
    ) -> fw_status;
    pub fn fw_context_free(ctx: *mut fw_context);
    pub fn fw_context_n_ctx(ctx: *const fw_context) -> u32;
    pub fn fw_context_n_threads(ctx: *const fw_context) -> u32;

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
