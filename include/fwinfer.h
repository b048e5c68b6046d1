/*
 * fwinfer.h - the public API of libfwinfer.
 *
 * libfwinfer is an embeddable LLM inference library: it loads GGUF model
 * files, runs the transformer on the CPU and samples tokens.  This header is
 * the whole public API and its documentation.
 *
 * Conventions, valid for every function unless its comment says otherwise:
 *
 *  - Every function whose name does not say it returns something else returns
 *    an fw_status: FW_OK (0) on success, a fixed negative FW_E_* code on
 *    failure.  Codes are never renumbered or reused.
 *  - Objects are opaque and created through out-parameters.  On failure the
 *    out-parameter is set to NULL.  Destructors (fw_*_free) accept NULL.
 *  - Parameter structs start with `struct_size`, are filled with defaults by
 *    their *_init function and passed by pointer.  They only grow at the end;
 *    the library reads only the first `struct_size` bytes, so a program built
 *    against an older header keeps working with a newer library.
 *  - Strings passed in are UTF-8 and either NUL-terminated (`const char *`) or
 *    given with an explicit length.  Text comes back in caller buffers
 *    (buf, cap, &n_needed): *n_needed receives the length of the full text in
 *    bytes without the terminating NUL; if cap > n_needed the text and a NUL
 *    are written, otherwise FW_E_BUFFER_TOO_SMALL is returned and, if cap > 0,
 *    a truncated NUL-terminated prefix is written.
 *  - Error messages: when a call fails, a message saying what was wrong and
 *    where is stored (a) in the calling thread's last-error slot, read with
 *    fw_last_error(), and (b) when the call has a handle, in that handle,
 *    read with fw_model_errmsg() and friends.
 *  - Misuse: a NULL handle, or a handle already freed (detected by a magic
 *    number that free clears, as long as the memory was not reused: use
 *    after free stays a bug), gives FW_E_INVALID_ARG naming the handle
 *    ("context is NULL or freed") from functions returning fw_status; the
 *    others return their empty value (0, -1 for an index or id, "" for a
 *    message or name, NULL for a pointer) and destructors do nothing.  A
 *    NULL pointer where data or an out-parameter is required, a NULL
 *    buffer with cap > 0, or unknown flag bits give FW_E_INVALID_ARG; a
 *    token id outside 0 .. n_vocab-1, a sequence id outside
 *    0 .. n_seq_max-1, a position out of order and other values outside
 *    their documented range give FW_E_RANGE; an index past the end (a
 *    choice, a metadata key, a tensor) gives FW_E_NOT_FOUND.  The message
 *    names the argument and the value.
 *  - The library never prints, never calls exit() or abort().  Diagnostics go
 *    to a log callback, which is silent by default.
 *
 * Threads: an fw_model is immutable after loading and may be used from any
 * number of threads at once.  Every function taking only an fw_model (or no
 * handle) is thread-safe.
 *
 * This header needs only <stdint.h> and <stddef.h>, and compiles as C11 and
 * as C++.
 */
#ifndef FWINFER_H
#define FWINFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Export macro                                                              */
/* ------------------------------------------------------------------------ */

#if defined(_WIN32) && defined(FW_BUILDING_DLL)
#define FW_API __declspec(dllexport)
#elif defined(_WIN32) && !defined(FW_STATIC)
#define FW_API __declspec(dllimport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define FW_API __attribute__((visibility("default")))
#else
#define FW_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */
/* ------------------------------------------------------------------------ */

/* The API version.  The build reads these three lines for the library's
 * version and soname (libfwinfer.so.MAJOR), so they are the single source of
 * truth.  MAJOR changes only on an incompatible ABI change. */
#define FW_VERSION_MAJOR 0
#define FW_VERSION_MINOR 1
#define FW_VERSION_PATCH 0

#define FW_VERSION_NUMBER \
    (FW_VERSION_MAJOR * 10000 + FW_VERSION_MINOR * 100 + FW_VERSION_PATCH)

/* The version of the library actually linked, as MAJOR*10000 + MINOR*100 +
 * PATCH.  Compare with FW_VERSION_NUMBER to detect a header/library mismatch.
 * Thread-safe. */
FW_API uint32_t fw_version_number(void);

/* The version of the linked library as static text, e.g. "0.1.0".  Never
 * NULL; the string is owned by the library and lives forever.  Thread-safe. */
FW_API const char *fw_version_string(void);

/* ------------------------------------------------------------------------ */
/* Status codes                                                              */
/* ------------------------------------------------------------------------ */

typedef int32_t fw_status;

#define FW_OK 0
#define FW_E_INVALID_ARG -1      /* a NULL pointer, bad size or bad flag */
#define FW_E_NOMEM -2            /* memory allocation failed */
#define FW_E_IO -3               /* a file could not be opened, read, written */
#define FW_E_FORMAT -4           /* the input is malformed (file, JSON, ...) */
#define FW_E_UNSUPPORTED -5      /* valid input this build cannot handle */
#define FW_E_NOT_FOUND -6        /* no such key, tensor, name or index */
#define FW_E_TYPE -7             /* the value exists but has another type */
#define FW_E_BUFFER_TOO_SMALL -8 /* the caller buffer is too small */
#define FW_E_CANCELLED -9        /* cancelled by fw_*_cancel */
#define FW_E_ABORTED -10         /* a callback asked to stop */
#define FW_E_RANGE -11           /* a parameter value is out of range */
#define FW_E_CONTEXT_FULL -12    /* the context has no room left */
#define FW_E_NUMERIC -13         /* NaN or infinity where a number was due */
#define FW_E_STATE -14           /* call not valid in the object's state */
#define FW_E_INTERNAL -15        /* a bug in libfwinfer: please report it */

/* The name of a status code as static text, e.g. "FW_E_FORMAT: malformed
 * input".  Unknown codes give "unknown status".  Never NULL.  Thread-safe. */
FW_API const char *fw_status_str(fw_status status);

/* The message of the last failed call made by the calling thread, or "" if
 * none failed yet.  The string is owned by the library and stays valid until
 * the calling thread's next failing libfwinfer call (or until the thread
 * exits).  Successful calls do not clear it.  Thread-safe (per thread). */
FW_API const char *fw_last_error(void);

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

#define FW_LOG_ERROR 0
#define FW_LOG_WARN 1
#define FW_LOG_INFO 2
#define FW_LOG_DEBUG 3

/* A log callback: `level` is one of FW_LOG_*, `message` is a complete,
 * NUL-terminated line without a trailing newline, valid only during the call.
 * It is called on the thread that made the library call. */
typedef void (*fw_log_fn)(int32_t level, const char *message, void *user_data);

/* ------------------------------------------------------------------------ */
/* Memory allocation                                                         */
/* ------------------------------------------------------------------------ */

/* The functions every heap allocation of the library goes through (as
 * zstd's customMem or SQLite's SQLITE_CONFIG_MALLOC).  `user_data` is
 * passed to each.  malloc_fn, realloc_fn and free_fn are required;
 * calloc_fn is optional (NULL: malloc_fn, then zeroing).  The library
 * never asks for 0 bytes and never frees NULL; realloc_fn is called with
 * ptr NULL to allocate.  Memory must be aligned as malloc's
 * (alignof(max_align_t)).  A function returns NULL to fail; the library
 * call then fails with FW_E_NOMEM and releases what it had allocated.
 * The functions may be called from any thread that calls the library and
 * from the context's worker threads, concurrently, so they must be
 * thread-safe.  Model weights are memory-mapped or, without mmap, read
 * into a buffer from malloc_fn; threads' stacks are not allocated
 * through it. */
typedef struct fw_allocator {
    uint32_t struct_size; /* sizeof(fw_allocator) */
    uint32_t reserved;    /* 0 */
    void *(*malloc_fn)(size_t size, void *user_data);
    void *(*calloc_fn)(size_t n, size_t size, void *user_data);
    void *(*realloc_fn)(void *ptr, size_t size, void *user_data);
    void (*free_fn)(void *ptr, void *user_data);
    void *user_data;
} fw_allocator;

/* Install `allocator` (copied) for all later allocations of the library;
 * NULL restores the default (the C library's malloc, calloc, realloc,
 * free).  Call it before any other libfwinfer call or when no object of
 * the library is alive: it fails with FW_E_STATE, changing nothing, while
 * any block allocated through the current allocator is alive (a model,
 * context, sampler, stage, result or detokenizer stream not yet freed), so
 * memory is always freed by the allocator that allocated it.
 * FW_E_INVALID_ARG for a struct_size smaller than sizeof(fw_allocator) or
 * a required function missing.  Not thread-safe: no other libfwinfer call
 * may run in any thread during it. */
FW_API fw_status fw_set_allocator(const fw_allocator *allocator);

/* ------------------------------------------------------------------------ */
/* Opaque handles                                                            */
/* ------------------------------------------------------------------------ */

/* A loaded model: immutable after fw_model_load returns; share it freely. */
typedef struct fw_model fw_model;
/* An evaluation context (KV cache, scratch, threads): one thread at a time. */
typedef struct fw_context fw_context;
/* A sampler chain with its state: one thread at a time. */
typedef struct fw_sampler fw_sampler;

/* A token id: 0 .. n_vocab - 1. */
typedef int32_t fw_token;

/* ------------------------------------------------------------------------ */
/* Tensor types                                                              */
/* ------------------------------------------------------------------------ */

/* ggml tensor type ids as stored in GGUF files.  Every id ggml ever defined
 * is known by name (fw_type_name), including ones removed from ggml; whether
 * a type can be computed is a separate question (see the model loader). */
#define FW_TYPE_F32 0
#define FW_TYPE_F16 1
#define FW_TYPE_Q4_0 2
#define FW_TYPE_Q4_1 3
#define FW_TYPE_Q5_0 6
#define FW_TYPE_Q5_1 7
#define FW_TYPE_Q8_0 8
#define FW_TYPE_Q8_1 9
#define FW_TYPE_Q2_K 10
#define FW_TYPE_Q3_K 11
#define FW_TYPE_Q4_K 12
#define FW_TYPE_Q5_K 13
#define FW_TYPE_Q6_K 14
#define FW_TYPE_Q8_K 15
#define FW_TYPE_IQ2_XXS 16
#define FW_TYPE_IQ2_XS 17
#define FW_TYPE_IQ3_XXS 18
#define FW_TYPE_IQ1_S 19
#define FW_TYPE_IQ4_NL 20
#define FW_TYPE_IQ3_S 21
#define FW_TYPE_IQ2_S 22
#define FW_TYPE_IQ4_XS 23
#define FW_TYPE_I8 24
#define FW_TYPE_I16 25
#define FW_TYPE_I32 26
#define FW_TYPE_I64 27
#define FW_TYPE_F64 28
#define FW_TYPE_IQ1_M 29
#define FW_TYPE_BF16 30
#define FW_TYPE_TQ1_0 34
#define FW_TYPE_TQ2_0 35
#define FW_TYPE_MXFP4 39

/* The name of a tensor type id ("Q4_0", "BF16", ...), or NULL if no ggml
 * version ever defined the id.  Ids removed from ggml (e.g. 4, "Q4_2") still
 * have their name.  Thread-safe. */
FW_API const char *fw_type_name(int32_t type);

/* Elements per block and bytes per block of a tensor type (1 and 4 for F32,
 * 32 and 18 for Q4_0).  Returns FW_E_UNSUPPORTED for removed ids and
 * FW_E_NOT_FOUND for unknown ones.  Either out-pointer may be NULL.
 * Thread-safe. */
FW_API fw_status fw_type_block_info(int32_t type, int64_t *block_elems,
                                    int64_t *block_bytes);

/* ------------------------------------------------------------------------ */
/* Metadata value types                                                      */
/* ------------------------------------------------------------------------ */

/* GGUF metadata value types (the ids used in the file). */
#define FW_META_UINT8 0
#define FW_META_INT8 1
#define FW_META_UINT16 2
#define FW_META_INT16 3
#define FW_META_UINT32 4
#define FW_META_INT32 5
#define FW_META_FLOAT32 6
#define FW_META_BOOL 7
#define FW_META_STRING 8
#define FW_META_ARRAY 9
#define FW_META_UINT64 10
#define FW_META_INT64 11
#define FW_META_FLOAT64 12

/* The name of a metadata value type ("uint32", "string", "array", ...), or
 * NULL for an unknown id.  Thread-safe. */
FW_API const char *fw_meta_type_name(int32_t type);

/* ------------------------------------------------------------------------ */
/* Model loading                                                             */
/* ------------------------------------------------------------------------ */

/* Load progress: called with a value in [0, 1] that never decreases, the
 * last call with 1.0 on success.  Return non-zero to abort the load, which
 * then fails with FW_E_ABORTED.  Called on the loading thread. */
typedef int32_t (*fw_progress_fn)(float progress, void *user_data);

typedef struct fw_model_params {
    uint32_t struct_size;     /* sizeof(fw_model_params), set by _init */
    uint32_t use_mmap;        /* 1 (default): map the file; if mapping fails
                                 the file is read into memory instead.
                                 0: always read it into memory. */
    fw_progress_fn progress;  /* optional, default NULL */
    void *progress_user_data;
    fw_log_fn log;            /* optional, default NULL (silent) */
    void *log_user_data;
    int32_t log_level;        /* highest FW_LOG_* level passed to `log`;
                                 default FW_LOG_WARN */
    uint32_t metadata_only;   /* 0 (default): the weights must be usable
                                 (known architecture, supported tensor
                                 types, right shapes) or loading fails.
                                 1: only validate the file and read its
                                 metadata, tensor table and tokenizer (for
                                 inspection tools); no context can be
                                 created from such a model. */
    const char *generation_config; /* path of the model's
                                 generation_config.json (sampling defaults,
                                 extra end tokens); NULL (default): use
                                 generation_config.json next to the model
                                 file if there is one; "": none.  A file
                                 that is given or found but malformed fails
                                 the load. */
} fw_model_params;

/* Fill `params` with the defaults.  `params` must not be NULL.
 * Thread-safe. */
FW_API void fw_model_params_init(fw_model_params *params);

/* Load a GGUF model file (GGUF versions 2 and 3, little-endian).
 *
 * The file is memory-mapped read-only (weights are never copied) unless
 * params->use_mmap is 0 or mapping fails.  Everything in it is validated:
 * header, metadata, tensor table, offsets and sizes; a malformed file fails
 * with FW_E_FORMAT and a message naming the key or tensor and the numbers
 * involved; a valid file using something this build cannot handle fails with
 * FW_E_UNSUPPORTED.  `params` may be NULL for the defaults.
 *
 * On success *out_model owns the mapping; free it with fw_model_free.  On
 * failure *out_model is NULL and fw_last_error() says why.
 *
 * The file while the model is alive: replacing it (rename over it) or
 * deleting it (unlink) is safe, the model keeps the old contents.  Do not
 * truncate or rewrite a file in place while a model loaded from it with
 * mmap is alive: the weights are mapped, and reading a page the file no
 * longer has raises SIGBUS in the process (a library cannot prevent that
 * without copying the weights; use_mmap 0 reads them into memory instead).
 * A file already truncated when it is loaded fails with FW_E_FORMAT naming
 * the tensor and the offsets.
 * Thread-safe: any number of models may be loaded concurrently. */
FW_API fw_status fw_model_load(const char *path, const fw_model_params *params,
                               fw_model **out_model);

/* As fw_model_load, with the parameters given by name as a JSON object
 * (NUL-terminated text; NULL or "" for the defaults), for bindings that
 * should not mirror fw_model_params: "use_mmap" and "metadata_only"
 * (true/false), "generation_config" (a path, "" for none).  An unknown
 * field, a wrong type or malformed JSON fails with FW_E_INVALID_ARG or
 * FW_E_FORMAT naming it.  Thread-safe. */
FW_API fw_status fw_model_load_json(const char *path, const char *params_json,
                                    fw_model **out_model);

/* As fw_model_load, from a GGUF image in memory.  Nothing is copied: the
 * buffer must stay valid and unchanged until fw_model_free returns.  The
 * buffer should be aligned to at least 32 bytes for fast weight access
 * (any alignment works). */
FW_API fw_status fw_model_load_from_memory(const void *data, size_t size,
                                           const fw_model_params *params,
                                           fw_model **out_model);

/* Size queries of a model with weights (0 for a metadata-only or
 * tokenizer-only model).  Thread-safe. */
FW_API int32_t fw_model_n_vocab(const fw_model *model);     /* logits per token */
FW_API int32_t fw_model_n_embd(const fw_model *model);
FW_API int32_t fw_model_n_layer(const fw_model *model);
FW_API int32_t fw_model_n_ctx_train(const fw_model *model);

/* Free a model and unmap its file.  Accepts NULL.  Every context and sampler
 * created from the model must be freed first.  Not thread-safe with any
 * other use of the same model. */
FW_API void fw_model_free(fw_model *model);

/* The message of the last failed call on this model, or "" if none.  Valid
 * until the next failing call on the same model or fw_model_free.  Because a
 * model is shared between threads, prefer fw_last_error() in multi-threaded
 * programs: this slot holds whichever thread's failure came last. */
FW_API const char *fw_model_errmsg(const fw_model *model);

/* ------------------------------------------------------------------------ */
/* Model information                                                         */
/* ------------------------------------------------------------------------ */

/* general.architecture ("llama", ...), or "" if the file has none.  Owned by
 * the model, valid until fw_model_free.  Thread-safe. */
FW_API const char *fw_model_arch(const fw_model *model);

/* The GGUF version of the file (2 or 3), its data alignment (general.alignment,
 * default 32) and the file offset where the tensor data section starts.
 * Thread-safe. */
FW_API uint32_t fw_model_gguf_version(const fw_model *model);
FW_API uint32_t fw_model_alignment(const fw_model *model);
FW_API uint64_t fw_model_data_offset(const fw_model *model);

/* ------------------------------------------------------------------------ */
/* Metadata                                                                  */
/* ------------------------------------------------------------------------ */

/* Number of metadata keys, in file order.  Thread-safe. */
FW_API int64_t fw_model_meta_count(const fw_model *model);

/* The key of metadata entry `index` (0 <= index < count), NUL-terminated,
 * owned by the model and valid until fw_model_free; NULL if out of range.
 * Thread-safe. */
FW_API const char *fw_model_meta_key(const fw_model *model, int64_t index);

/* The index of `key`, or -1 if absent.  Thread-safe. */
FW_API int64_t fw_model_meta_find(const fw_model *model, const char *key);

/* The value type (FW_META_*) of `key`, and for arrays the element type and
 * element count.  Out-pointers may be NULL.  FW_E_NOT_FOUND if absent.
 * For non-arrays *elem_type is -1 and *n_elems is 0.  Thread-safe. */
FW_API fw_status fw_model_meta_type(const fw_model *model, const char *key,
                                    int32_t *type, int32_t *elem_type,
                                    uint64_t *n_elems);

/* Typed getters.  Integers: any integer or bool value (FW_E_RANGE if a uint64
 * does not fit in int64).  Floats: float32, float64 or any integer.  Bool:
 * bool only.  A value of another type gives FW_E_TYPE, an absent key
 * FW_E_NOT_FOUND; the out value is then left unchanged.  Thread-safe. */
FW_API fw_status fw_model_meta_get_i64(const fw_model *model, const char *key,
                                       int64_t *out);
FW_API fw_status fw_model_meta_get_f64(const fw_model *model, const char *key,
                                       double *out);
FW_API fw_status fw_model_meta_get_bool(const fw_model *model, const char *key,
                                        int32_t *out);
/* A string value, copied into the caller buffer (see the buffer convention
 * at the top).  GGUF strings may contain NUL bytes: *n_needed is the true
 * length. */
FW_API fw_status fw_model_meta_get_str(const fw_model *model, const char *key,
                                       char *buf, size_t cap,
                                       size_t *n_needed);

/* Element `index` of an array value, with the same conversions as the
 * scalar getters.  FW_E_NOT_FOUND if the key is absent or index is out of
 * range, FW_E_TYPE if the value is not an array of a suitable element type.
 * O(1) for arrays of scalars and of strings.  Thread-safe. */
FW_API fw_status fw_model_meta_arr_i64(const fw_model *model, const char *key,
                                       uint64_t index, int64_t *out);
FW_API fw_status fw_model_meta_arr_f64(const fw_model *model, const char *key,
                                       uint64_t index, double *out);
FW_API fw_status fw_model_meta_arr_str(const fw_model *model, const char *key,
                                       uint64_t index, char *buf, size_t cap,
                                       size_t *n_needed);

/* Any metadata value (nested arrays included) rendered as compact JSON into
 * the caller buffer: numbers, true/false, strings escaped per RFC 8259
 * (invalid UTF-8 bytes become U+FFFD), arrays as JSON arrays.  If
 * max_array_elems >= 0, arrays longer than that are cut and end with the
 * string "...(N more)" (for human display); -1 renders everything.
 * Thread-safe. */
FW_API fw_status fw_model_meta_to_json(const fw_model *model, const char *key,
                                       int64_t max_array_elems, char *buf,
                                       size_t cap, size_t *n_needed);

/* ------------------------------------------------------------------------ */
/* Tensors                                                                   */
/* ------------------------------------------------------------------------ */

#define FW_MAX_DIMS 4

/* Number of tensors, in file order.  Thread-safe. */
FW_API int64_t fw_model_tensor_count(const fw_model *model);

/* The index of the tensor named `name`, or -1.  Thread-safe. */
FW_API int64_t fw_model_tensor_find(const fw_model *model, const char *name);

/* Name of tensor `index`, NUL-terminated, owned by the model; NULL if index
 * is out of range.  Thread-safe. */
FW_API const char *fw_model_tensor_name(const fw_model *model, int64_t index);

/* Type (FW_TYPE_*), number of dimensions (1..4), shape in GGUF order
 * (dims[0] is the fastest-varying, as ggml's ne[0]; unused entries are 1),
 * data offset relative to the data section, and size in bytes of tensor
 * `index`.  Out-pointers may be NULL; `dims` must have FW_MAX_DIMS entries.
 * FW_E_NOT_FOUND if index is out of range.  Thread-safe. */
FW_API fw_status fw_model_tensor_info(const fw_model *model, int64_t index,
                                      int32_t *type, int32_t *n_dims,
                                      int64_t dims[FW_MAX_DIMS],
                                      uint64_t *offset, uint64_t *n_bytes);

/* ------------------------------------------------------------------------ */
/* CPU features                                                              */
/* ------------------------------------------------------------------------ */

/* The best kernel level this CPU supports: "scalar", "avx2", "avx512",
 * "avx512vnni" (x86-64); "scalar", "neon", "dotprod" (aarch64).  Static
 * text.  Thread-safe. */
FW_API const char *fw_isa_best(void);

/* 1 if `name` is a kernel level of this build's architecture (whether or
 * not this CPU has it), else 0.  Thread-safe. */
FW_API int32_t fw_isa_valid(const char *name);

/* ------------------------------------------------------------------------ */
/* Contexts: evaluation                                                      */
/* ------------------------------------------------------------------------ */

typedef struct fw_context_params {
    uint32_t struct_size;      /* sizeof(fw_context_params), set by _init */
    uint32_t n_ctx;            /* positions per sequence; 0 (default): the
                                  model's trained context, capped so that
                                  one sequence's KV cache fits
                                  kv_budget_bytes */
    uint32_t n_batch;          /* tokens per forward pass; longer inputs are
                                  split; 0 (default): 512 */
    uint32_t n_threads;        /* 0 (default): the number of online CPUs */
    uint32_t n_seq_max;        /* sequences 0 .. n_seq_max-1; 0: 1.  A
                                  sequence's KV cache is allocated on first
                                  use. */
    uint32_t reserved0;
    uint64_t kv_budget_bytes;  /* see n_ctx; 0 (default): 512 MiB */
    const char *isa;           /* highest kernel level to use ("scalar",
                                  "avx2", ...); NULL (default): the
                                  environment variable FWINFER_ISA if set,
                                  else the best the CPU has.  A level above
                                  the CPU's is capped to the CPU's. */
} fw_context_params;

/* Fill `params` with the defaults.  Thread-safe. */
FW_API void fw_context_params_init(fw_context_params *params);

/* Create a context for `model` (which must outlive it): the KV cache, the
 * scratch buffers and a pool of n_threads - 1 worker threads.  `params`
 * may be NULL for the defaults.  FW_E_UNSUPPORTED for a metadata-only or
 * tokenizer-only model; FW_E_RANGE for an out-of-range parameter; an
 * unknown isa name is FW_E_INVALID_ARG.  A context belongs to one thread at
 * a time (except fw_context_cancel).  Free it with fw_context_free. */
FW_API fw_status fw_context_new(const fw_model *model,
                                const fw_context_params *params,
                                fw_context **out_ctx);

/* As fw_context_new, with the parameters given by name as a JSON object
 * (NUL-terminated text; NULL or "" for the defaults), for bindings that
 * should not mirror fw_context_params: "n_ctx", "n_batch", "n_threads",
 * "n_seq_max" (integers, 0 = default), "kv_budget_bytes" (integer),
 * "isa" (string).  An unknown field or a wrong type fails with
 * FW_E_INVALID_ARG naming it; a value out of range with FW_E_RANGE.
 * Threads: as fw_context_new. */
FW_API fw_status fw_context_new_json(const fw_model *model, const char *params_json,
                                     fw_context **out_ctx);

/* Free a context and join its threads.  Accepts NULL. */
FW_API void fw_context_free(fw_context *ctx);

/* The message of the last failed call on this context ("" if none),
 * including the generation calls (fw_generate, fw_generate_json,
 * fw_generate_chat), valid until the next call on it. */
FW_API const char *fw_context_errmsg(const fw_context *ctx);

/* The context's positions per sequence, sequence count, thread count and
 * kernel level name (static text). */
FW_API uint32_t fw_context_n_ctx(const fw_context *ctx);
FW_API uint32_t fw_context_n_seq_max(const fw_context *ctx);
FW_API uint32_t fw_context_n_threads(const fw_context *ctx);
FW_API const char *fw_context_isa(const fw_context *ctx);

#define FW_EVAL_ALL_LOGITS 1u /* keep the logits of every token, not only
                                 the last one */

/* Evaluate tokens[0..n) of sequence `seq` at positions pos .. pos+n-1.
 * `pos` must not exceed the sequence's length (FW_E_RANGE otherwise); a
 * smaller pos first truncates the sequence to pos.  Inputs longer than
 * n_batch are evaluated in several passes.  Afterwards fw_context_logits
 * gives the logits of the last token (every token with FW_EVAL_ALL_LOGITS).
 * Errors: FW_E_CONTEXT_FULL if pos + n > n_ctx (nothing is evaluated),
 * FW_E_RANGE for a token outside the vocabulary, FW_E_CANCELLED if
 * fw_context_cancel was called (the sequence keeps what it had before this
 * call), FW_E_NUMERIC if the model produced NaN or infinite logits. */
FW_API fw_status fw_context_eval(fw_context *ctx, int32_t seq, int32_t pos,
                                 const fw_token *tokens, size_t n,
                                 uint32_t flags);

/* Evaluate a batch of tokens of several sequences in one pass over the
 * weights: token i belongs to sequence seqs[i] at position pos[i].  This
 * is how many sequences decode together (n choices, or a server's
 * requests sharing a context): the weights are read once per pass, not once
 * per sequence.  Per sequence, its tokens must come in batch order at
 * consecutive positions, the first at most the sequence's length (a
 * smaller one first truncates it, as in fw_context_eval); FW_E_RANGE
 * otherwise, naming the token.  Each token attends to its own sequence
 * only.  The logits of every token are kept: fw_context_logits(ctx, i) is
 * token i's.  Results are bit-identical to evaluating each sequence alone.
 * flags: 0 or FW_EVAL_ALL_LOGITS (the same here).  Errors as
 * fw_context_eval (FW_E_CONTEXT_FULL if a position reaches n_ctx; on
 * failure every sequence keeps what it had before this call, after the
 * truncation).  The same thread rules as fw_context_eval. */
FW_API fw_status fw_context_eval_batch(fw_context *ctx, const fw_token *tokens,
                                       const int32_t *seqs, const int32_t *pos,
                                       size_t n, uint32_t flags);

/* The n_vocab logits of token i of the last successful fw_context_eval
 * or fw_context_eval_batch (negative i counts from the end: -1 is the last token), or NULL if they
 * were not kept.  Owned by the context; valid until its next eval or free. */
FW_API const float *fw_context_logits(const fw_context *ctx, int32_t i);

/* Sequence management: the number of evaluated positions of `seq` (0 for
 * a NULL or freed context or a sequence id out of range); drop everything
 * from position `len` on (0 <= len <= the sequence's length); empty it;
 * copy src's cache over dst (how n choices share one prompt evaluation).
 * A sequence id outside 0 .. n_seq_max-1 or a len out of range is
 * FW_E_RANGE naming it; a NULL or freed context FW_E_INVALID_ARG. */
FW_API int32_t fw_context_seq_len(const fw_context *ctx, int32_t seq);
FW_API fw_status fw_context_seq_truncate(fw_context *ctx, int32_t seq,
                                         int32_t len);
FW_API fw_status fw_context_seq_clear(fw_context *ctx, int32_t seq);
FW_API fw_status fw_context_seq_copy(fw_context *ctx, int32_t src,
                                     int32_t dst);

/* Ask a running fw_context_eval to stop at the next layer boundary; it then
 * returns FW_E_CANCELLED.  The request is consumed by that return (a call
 * while nothing runs cancels the next eval).  The only function that may be
 * called on a context from another thread. */
FW_API void fw_context_cancel(fw_context *ctx);

/* Number of layer boundaries evaluation has passed in this context since it
 * was created (a progress counter; tests use it to check how fast a cancel
 * takes effect, the CLI to draw a progress bar while a long prompt is
 * evaluated).  Like fw_context_cancel it may be called from another thread
 * while the context is in use (an atomic read), never after
 * fw_context_free. */
FW_API uint64_t fw_context_layers_done(const fw_context *ctx);

/* Context state: the KV caches of all sequences and the logits of the last
 * evaluated token, as a versioned binary image ("FWST", format version,
 * a fingerprint of the model, then the sequences).  Loading checks that the
 * image was saved for the same model and fits this context (n_ctx,
 * n_seq_max); on any error the context is left as it was.
 *
 * fw_context_state_size gives the bytes fw_context_state_save writes now;
 * save writes into buf[0..cap) and reports the size in *n_written (may be
 * NULL) (FW_E_BUFFER_TOO_SMALL if cap is smaller, FW_E_INVALID_ARG if buf
 * is NULL and cap is not 0).  The _file variants write and
 * read a file; a file that cannot be created (a missing directory) or a
 * write error (a full disk) is FW_E_IO naming the file and the system's
 * reason, and a partial regular file is removed (a device such as
 * /dev/full is left alone). */
FW_API fw_status fw_context_state_size(const fw_context *ctx, size_t *size);
FW_API fw_status fw_context_state_save(fw_context *ctx, void *buf, size_t cap,
                                       size_t *n_written);
FW_API fw_status fw_context_state_load(fw_context *ctx, const void *buf,
                                       size_t size);
FW_API fw_status fw_context_state_save_file(fw_context *ctx, const char *path);
FW_API fw_status fw_context_state_load_file(fw_context *ctx, const char *path);

/* ------------------------------------------------------------------------ */
/* Tokens and text                                                           */
/* ------------------------------------------------------------------------ */

/* Token attributes (bits), from tokenizer.ggml.token_type. */
#define FW_TOKEN_ATTR_NORMAL 1u
#define FW_TOKEN_ATTR_UNKNOWN 2u
#define FW_TOKEN_ATTR_CONTROL 4u
#define FW_TOKEN_ATTR_USER_DEFINED 8u
#define FW_TOKEN_ATTR_UNUSED 16u
#define FW_TOKEN_ATTR_BYTE 32u
#define FW_TOKEN_ATTR_LSTRIP 64u   /* eats whitespace before it when parsed */
#define FW_TOKEN_ATTR_RSTRIP 128u  /* eats whitespace after it when parsed */

/* Special tokens, for fw_vocab_special(). */
#define FW_SPECIAL_BOS 0
#define FW_SPECIAL_EOS 1
#define FW_SPECIAL_EOT 2
#define FW_SPECIAL_EOM 3
#define FW_SPECIAL_UNK 4
#define FW_SPECIAL_PAD 5
#define FW_SPECIAL_SEP 6
#define FW_SPECIAL_NL 7

/* Load only a tokenizer from a tiktoken rank file (one "base64(bytes) rank"
 * per line, as OpenAI's and Meta's tokenizer.model files) with the named
 * byte-level BPE pre-tokenizer ("llama-bpe", "qwen2", ... as in GGUF
 * tokenizer.ggml.pre).  The result is a model without tensors: the
 * tokenizer calls work on it, nothing else does.  Such a file has no special
 * tokens.  Ownership and threads as fw_model_load. */
FW_API fw_status fw_model_load_tiktoken(const char *path, const char *pre,
                                        const fw_model_params *params,
                                        fw_model **out_model);

/* Number of tokens in the vocabulary, 0 if the model has no usable
 * tokenizer.  Thread-safe. */
FW_API int32_t fw_vocab_n_tokens(const fw_model *model);

/* The tokenizer kind: "spm" (SentencePiece), "bpe" (byte-level BPE), or
 * "none"; static text.  Thread-safe. */
FW_API const char *fw_vocab_type(const fw_model *model);

/* The id of a special token (FW_SPECIAL_*), or -1 if the model has none.
 * Thread-safe. */
FW_API fw_token fw_vocab_special(const fw_model *model, int32_t which);

/* Whether the model adds BOS / EOS when FW_TOKENIZE_ADD_SPECIAL is given
 * (tokenizer.ggml.add_bos_token / add_eos_token, else llama.cpp's per-model
 * defaults).  Thread-safe. */
FW_API int32_t fw_vocab_adds_bos(const fw_model *model);
FW_API int32_t fw_vocab_adds_eos(const fw_model *model);

/* 1 if `token` ends generation (EOS, EOT, EOM and the end-of-turn tokens
 * the vocabulary names), else 0.  Thread-safe. */
FW_API int32_t fw_vocab_is_eog(const fw_model *model, fw_token token);

/* The attributes (FW_TOKEN_ATTR_*) of `token`, 0 if out of range.
 * Thread-safe. */
FW_API uint32_t fw_vocab_token_attr(const fw_model *model, fw_token token);

/* The raw vocabulary text of `token` (e.g. "\xe2\x96\x81the" for SPM,
 * "\xc4\xa0the" for byte-level BPE), into a caller buffer.
 * FW_E_NOT_FOUND if out of range.  Thread-safe. */
FW_API fw_status fw_vocab_token_text(const fw_model *model, fw_token token,
                                     char *buf, size_t cap, size_t *n_needed);

/* The id of a raw vocabulary text, or -1.  Thread-safe. */
FW_API fw_token fw_vocab_find(const fw_model *model, const char *text,
                              size_t len);

#define FW_TOKENIZE_ADD_SPECIAL 1u   /* add BOS/EOS as the model says */
#define FW_TOKENIZE_PARSE_SPECIAL 2u /* control-token text becomes tokens */

/* Tokenize text[0..len) (UTF-8; invalid bytes are tokenized as U+FFFD, as
 * llama.cpp does) into tokens[0..cap).  *n_tokens receives the number of
 * tokens of the full result; if it exceeds cap, the first cap tokens are
 * written and FW_E_BUFFER_TOO_SMALL is returned (call again with a larger
 * buffer).  `tokens` may be NULL when cap is 0.  User-defined tokens are
 * matched in the text whatever the flags, as llama.cpp does.
 * FW_E_UNSUPPORTED if the model's tokenizer kind is not implemented.
 * Thread-safe. */
FW_API fw_status fw_tokenize(const fw_model *model, const char *text,
                             size_t len, uint32_t flags, fw_token *tokens,
                             size_t cap, size_t *n_tokens);

#define FW_DETOK_REMOVE_SPECIAL 1u  /* drop the BOS/EOS the model adds, and
                                       keep the space after a leading BOS */
#define FW_DETOK_UNPARSE_SPECIAL 2u /* render control tokens as their text */
#define FW_DETOK_NO_CLEANUP 4u      /* skip the " ." -> "." space clean-up
                                       some vocabularies ask for */
/* (fw_token_to_piece, fw_detokenize and fw_detok_stream_new: other flag
 * bits are FW_E_INVALID_ARG; a token outside 0 .. n_vocab-1 is FW_E_RANGE
 * naming it.) */

/* The text of one token as generated text shows it (SPM "\xe2\x96\x81" becomes
 * a space, byte tokens their byte, byte-level BPE decoded), into a caller
 * buffer.  Control tokens give "" unless flags has FW_DETOK_UNPARSE_SPECIAL.
 * A piece may be an incomplete UTF-8 sequence (a byte token).
 * Thread-safe. */
FW_API fw_status fw_token_to_piece(const fw_model *model, fw_token token,
                                   uint32_t flags, char *buf, size_t cap,
                                   size_t *n_needed);

/* The text of tokens[0..n) into a caller buffer, as llama.cpp's
 * llama_detokenize renders it: the leading space SPM adds is removed, and
 * with FW_DETOK_REMOVE_SPECIAL the model's own BOS/EOS are dropped.
 * Thread-safe. */
FW_API fw_status fw_detokenize(const fw_model *model, const fw_token *tokens,
                               size_t n, uint32_t flags, char *buf, size_t cap,
                               size_t *n_needed);

/* Incremental detokenizer for streaming: push tokens one at a time, get
 * only complete UTF-8 characters back; bytes of an incomplete character are
 * held until it completes.  One stream belongs to one thread at a time; the
 * model must outlive it. */
typedef struct fw_detok_stream fw_detok_stream;

/* flags: FW_DETOK_UNPARSE_SPECIAL; `first` non-zero drops the leading
 * space of the first piece (the SPM prefix), as fw_detokenize does. */
FW_API fw_status fw_detok_stream_new(const fw_model *model, uint32_t flags,
                                     int32_t strip_leading_space,
                                     fw_detok_stream **out);
FW_API void fw_detok_stream_free(fw_detok_stream *stream);

/* Push `token`; the text it completes is written to the caller buffer
 * (possibly ""; see the buffer convention).  On FW_E_BUFFER_TOO_SMALL
 * nothing is consumed: call again with a buffer of *n_needed + 1 bytes. */
FW_API fw_status fw_detok_stream_push(fw_detok_stream *stream, fw_token token,
                                      char *buf, size_t cap, size_t *n_needed);

/* End of the stream: the held bytes of an incomplete character, if any,
 * come out as U+FFFD (one per byte), and the stream starts afresh. */
FW_API fw_status fw_detok_stream_flush(fw_detok_stream *stream, char *buf,
                                       size_t cap, size_t *n_needed);

/* ------------------------------------------------------------------------ */
/* Sampling                                                                  */
/* ------------------------------------------------------------------------ */

/* Sampling parameters, named as the Fireworks/OpenAI request fields (see
 * docs/SAMPLING.md for ranges and semantics).  Fields with a model default
 * start "unset" (floats NaN, top_k FW_TOP_K_UNSET); fw_sampler_new then
 * takes the model's generation_config.json, GGUF general.sampling.*, or the
 * neutral value, in that order.  C callers may set the fields directly; FFI
 * callers use fw_sampler_params_set_f / _set_i by name. */
#define FW_TOP_K_UNSET INT32_MIN

typedef struct fw_logit_bias {
    fw_token token;
    float bias; /* -100 .. 100 */
} fw_logit_bias;

typedef struct fw_sampler_params {
    uint32_t struct_size;         /* set by _init */
    uint32_t has_seed;            /* 0: a random seed is drawn (and reported) */
    uint64_t seed;
    float temperature;            /* 0..2; 0 = greedy; NaN = unset */
    int32_t top_k;                /* >= -1; 0 or -1 = off; FW_TOP_K_UNSET */
    float top_p;                  /* 0..1; NaN = unset */
    float min_p;                  /* 0..1; NaN = unset */
    float typical_p;              /* 0..1; NaN = unset */
    float frequency_penalty;      /* -2..2, default 0 */
    float presence_penalty;       /* -2..2, default 0 */
    float repetition_penalty;     /* (0, 2], default 1 */
    float mirostat_target;        /* > 0 turns Mirostat v2 on; NaN = off */
    float mirostat_lr;            /* > 0, default 0.1 */
    uint32_t n_logit_bias;
    const fw_logit_bias *logit_bias; /* caller's array, copied by
                                        fw_sampler_new */
} fw_sampler_params;

/* Fill with the defaults (every model-default field unset).  Thread-safe. */
FW_API void fw_sampler_params_init(fw_sampler_params *params);

/* Set a field by its API name ("temperature", "top_k", "top_p", "min_p",
 * "typical_p", "frequency_penalty", "presence_penalty",
 * "repetition_penalty", "mirostat_target", "mirostat_lr", "seed").  The
 * value is checked against the field's range: FW_E_RANGE with a message
 * naming the field, the value and the range; FW_E_NOT_FOUND for an unknown
 * name; FW_E_TYPE for an integer field set with a fractional value.
 * _set_i accepts integers for any numeric field; "seed" takes _set_i
 * (0 .. 2^63-1) or _set_u64.  Thread-safe (per params struct). */
FW_API fw_status fw_sampler_params_set_f(fw_sampler_params *params,
                                         const char *name, double value);
FW_API fw_status fw_sampler_params_set_i(fw_sampler_params *params,
                                         const char *name, int64_t value);
FW_API fw_status fw_sampler_params_set_u64(fw_sampler_params *params,
                                           const char *name, uint64_t value);

#define FW_PARAM_FLOAT 1
#define FW_PARAM_INT 2
#define FW_PARAM_UINT64 3

/* A field's type (FW_PARAM_*), valid range [min, max] (min_open: the
 * minimum itself is excluded, as for repetition_penalty > 0) and neutral
 * value.  Out-pointers may be NULL.  FW_E_NOT_FOUND for an unknown name.
 * Thread-safe. */
FW_API fw_status fw_sampler_params_info(const char *name, int32_t *type,
                                        double *min, double *max,
                                        int32_t *min_open, double *neutral);

/* Check every field (and the logit biases against n_vocab, if > 0): the
 * first invalid one gives FW_E_RANGE naming it.  Thread-safe. */
FW_API fw_status fw_sampler_params_validate(const fw_sampler_params *params,
                                            int32_t n_vocab);

/* A candidate token for the candidates API: the caller fills id and logit;
 * stages update logit and p (the probability among the survivors). */
typedef struct fw_token_data {
    fw_token id;
    float logit;
    float p;
} fw_token_data;

typedef struct fw_candidates {
    fw_token_data *data; /* caller's array; stages reorder and shrink it */
    size_t n;            /* number of live candidates */
    int32_t selected;    /* index chosen by a selecting stage, or -1 */
    int32_t reserved;
} fw_candidates;

/* One stage of a sampler chain.  Built-in stages are made by the
 * fw_stage_* constructors below; a caller's own stage by fw_stage_custom
 * with this interface (all callbacks optional except apply):
 *   apply:  change logits, drop candidates (never all), or set selected
 *   accept: told the token finally chosen
 *   reset:  forget what accept taught it
 *   clone:  a copy of state for a cloned sampler (NULL: share `state`)
 *   free:   release state when the stage is freed */
typedef struct fw_stage_iface {
    uint32_t struct_size;
    const char *name;
    fw_status (*apply)(void *state, fw_candidates *cands);
    void (*accept)(void *state, fw_token token);
    void (*reset)(void *state);
    void *(*clone)(const void *state);
    void (*free)(void *state);
} fw_stage_iface;

typedef struct fw_stage fw_stage;

/* Stage constructors.  Each returns FW_E_RANGE for an out-of-range value
 * (with the message naming it) and writes the new stage to *out; the
 * caller owns it until it is added to a chain, which then owns it. */
FW_API fw_status fw_stage_logit_bias(const fw_logit_bias *bias, uint32_t n,
                                     fw_stage **out);
FW_API fw_status fw_stage_repetition_penalty(float penalty, fw_stage **out);
FW_API fw_status fw_stage_frequency_presence(float frequency, float presence,
                                             fw_stage **out);
FW_API fw_status fw_stage_temperature(float temperature, fw_stage **out);
FW_API fw_status fw_stage_greedy(fw_stage **out);
FW_API fw_status fw_stage_top_k(int32_t k, fw_stage **out);
FW_API fw_status fw_stage_top_p(float p, fw_stage **out);
FW_API fw_status fw_stage_min_p(float p, fw_stage **out);
FW_API fw_status fw_stage_typical_p(float p, fw_stage **out);
FW_API fw_status fw_stage_mirostat_v2(float target, float lr, uint64_t seed,
                                      fw_stage **out);
/* n_vocab <= 0: the number of candidates of each call */
FW_API fw_status fw_stage_mirostat_v1(float target, float lr, int32_t n_vocab,
                                      uint64_t seed, fw_stage **out);
/* random selection: inverse CDF over the survivors in token-id order */
FW_API fw_status fw_stage_dist(uint64_t seed, fw_stage **out);
FW_API fw_status fw_stage_custom(const fw_stage_iface *iface, void *state,
                                 fw_stage **out);
/* Free a stage not added to a chain.  Accepts NULL. */
FW_API void fw_stage_free(fw_stage *stage);
/* The stage's name ("top_k", ...), static or owned by the stage. */
FW_API const char *fw_stage_name(const fw_stage *stage);
/* Apply one stage alone to candidates (for tests and callers with their own
 * model); probabilities of the survivors are filled in. */
FW_API fw_status fw_stage_apply(fw_stage *stage, fw_candidates *cands);

/* An empty chain.  Free with fw_sampler_free. */
FW_API fw_status fw_sampler_chain_new(fw_sampler **out);
/* Append a stage; the chain takes ownership (also on failure). */
FW_API fw_status fw_sampler_chain_add(fw_sampler *chain, fw_stage *stage);
/* Number of stages, and the name of stage i. */
FW_API int32_t fw_sampler_n_stages(const fw_sampler *sampler);
FW_API const char *fw_sampler_stage_name(const fw_sampler *sampler, int32_t i);

/* A chain for `params` with the model's defaults resolved (model may be
 * NULL: neutral defaults), in a named order: "fireworks" (the canonical
 * order of docs/SAMPLING.md: logit_bias, repetition_penalty,
 * frequency/presence, then greedy if temperature is 0, else temperature,
 * then Mirostat v2 or min_p, top_k, top_p, typical_p, dist) or "llama.cpp"
 * (logit_bias, penalties, top_k, typical_p, top_p, min_p, temperature,
 * dist).  Neutral stages are left out. */
FW_API fw_status fw_sampler_chain_preset(const char *preset,
                                         const fw_model *model,
                                         const fw_sampler_params *params,
                                         fw_sampler **out);
/* fw_sampler_chain_preset("fireworks", ...). */
FW_API fw_status fw_sampler_new(const fw_model *model,
                                const fw_sampler_params *params,
                                fw_sampler **out);

/* Free a sampler and its stages.  Accepts NULL. */
FW_API void fw_sampler_free(fw_sampler *sampler);
/* A deep copy (stages cloned); with reseed non-zero, every random stage is
 * reseeded from (seed, stream) as choice `stream` of a request is. */
FW_API fw_status fw_sampler_clone(const fw_sampler *sampler, int32_t reseed,
                                  uint64_t seed, uint64_t stream,
                                  fw_sampler **out);
/* The message of the last failed call on this sampler. */
FW_API const char *fw_sampler_errmsg(const fw_sampler *sampler);

/* The tokens the repetition penalty also counts (the prompt). */
FW_API fw_status fw_sampler_set_prompt(fw_sampler *sampler,
                                       const fw_token *tokens, size_t n);
/* Tell the stages the chosen token (fw_sampler_sample does this). */
FW_API void fw_sampler_accept(fw_sampler *sampler, fw_token token);
/* Forget the prompt and accepted tokens; Mirostat restarts. */
FW_API void fw_sampler_reset(fw_sampler *sampler);

/* Run every stage on caller candidates; stops before nothing: a selecting
 * stage leaves its choice in cands->selected.  Survivors get their
 * probabilities.  Errors: FW_E_RANGE if every candidate is banned (all
 * logits -inf), FW_E_NUMERIC for a NaN logit. */
FW_API fw_status fw_sampler_apply(fw_sampler *sampler, fw_candidates *cands);

/* Sample a token from n_vocab logits: run the chain, select, accept.
 * *sampling_logprob (may be NULL) receives the log-probability of the
 * chosen token in the final distribution.  Errors as fw_sampler_apply, and
 * FW_E_STATE if no stage selected a token. */
FW_API fw_status fw_sampler_sample(fw_sampler *sampler, const float *logits,
                                   int32_t n_vocab, fw_token *out,
                                   float *sampling_logprob);

/* The parameters the sampler runs with (model defaults resolved, the seed
 * used) as compact JSON into a caller buffer. */
FW_API fw_status fw_sampler_effective_json(const fw_sampler *sampler,
                                           char *buf, size_t cap,
                                           size_t *n_needed);

/* The model's sampling defaults as compact JSON, like Fireworks'
 * fireworks-sampling-options header: keys in the order temperature, top_k,
 * top_p, min_p, typical_p, only those the model sets, numbers as the
 * configuration wrote them ("{}" if none).  Thread-safe. */
FW_API fw_status fw_model_sampling_defaults_json(const fw_model *model,
                                                 char *buf, size_t cap,
                                                 size_t *n_needed);

/* ------------------------------------------------------------------------ */
/* Generation: one call does what an API request does                      */
/* ------------------------------------------------------------------------ */

/* The request fields besides sampling (docs/SAMPLING.md section 5). */
typedef struct fw_request {
    uint32_t struct_size;   /* set by _init */
    int32_t max_tokens;     /* >= 0, default 2048 */
    int32_t n;              /* choices, 1 .. 128, default 1 */
    int32_t logprobs;       /* 0 (default) or 1: return logprobs */
    int32_t top_logprobs;   /* alternatives per token, 0 .. 20 */
    int32_t echo;           /* the text starts with the prompt */
    int32_t echo_last;      /* -1 (default): whole prompt; N: last N tokens */
    int32_t raw_output;     /* return raw_output (prompt ids, fragments, ...) */
    int32_t ignore_eos;     /* end tokens do not stop generation */
    uint32_t n_stop;
    const char *const *stop; /* n_stop non-empty NUL-terminated strings,
                                the caller's (read during the call) */
} fw_request;

FW_API void fw_request_init(fw_request *request);

/* One streaming event: a token of one choice, with the text it completes
 * (UTF-8-safe, stop strings held back until they cannot match), its
 * logprobs when asked for, and on the last event of a choice its finish
 * reason ("stop" or "length"; token is -1 when the last event carries no
 * token).  Everything is valid during the callback only. */
typedef struct fw_event {
    uint32_t struct_size;
    int32_t choice;
    fw_token token;
    int32_t n_top;              /* top_logprobs alternatives */
    const char *text;           /* delta, NUL-terminated */
    size_t text_len;
    float logprob;              /* raw log-probability of token */
    float sampling_logprob;     /* in the sampler's final distribution */
    const fw_token *top_ids;
    const float *top_logprobs;
    const char *finish_reason;  /* NULL except on a choice's last event */
} fw_event;

/* The event as a JSON object, for bindings that should not read the
 * struct: {"choice", "token" (-1: none), "text", "logprob" and
 * "sampling_logprob" (when there is a token), "top_logprobs":
 * [{"token", "logprob"}] (when asked for), "finish_reason" (null or
 * "stop"/"length")}.  Buffer convention as everywhere (cap 0 to learn the
 * size); call it during the callback only.  Thread-safe. */
FW_API fw_status fw_event_to_json(const fw_event *event, char *buf, size_t cap,
                                  size_t *n_needed);

/* Return non-zero to stop: the current choice ends with finish_reason
 * "stop" and no further choices are generated. */
typedef int32_t (*fw_event_fn)(const fw_event *event, void *user_data);

typedef struct fw_result fw_result;

/* Generate: the prompt is text (tokenized with the model's BOS and
 * special-token parsing) or, when `tokens` is not NULL, token ids used as
 * given.  The prompt is evaluated once (sequence 0) and each of the n
 * choices continues from a copy (sequences 0 .. n-1: the context needs
 * n_seq_max >= n).  `sampling` and `request` may be NULL for defaults;
 * `on_event` may be NULL.  *out_result receives the result (free with
 * fw_result_free) also when generation stopped early; it is NULL on error.
 * Errors name the field or step: FW_E_RANGE for invalid parameters,
 * FW_E_CONTEXT_FULL when the prompt does not fit, FW_E_NUMERIC for NaN
 * logits (naming the step), FW_E_CANCELLED after fw_context_cancel.  The
 * context's sequences 0 .. n-1 are overwritten.  One thread at a time per
 * context. */
FW_API fw_status fw_generate(fw_context *ctx, const char *text, size_t text_len,
                             const fw_token *tokens, size_t n_tokens,
                             const fw_sampler_params *sampling,
                             const fw_request *request, fw_event_fn on_event,
                             void *user_data, fw_result **out_result);

/* Generate from a Fireworks/OpenAI request body (JSON), either
 *  - a completions request: "prompt" (a string, or an array of token ids
 *    used as given), or
 *  - a chat-completions request: "messages" (a non-empty array of objects,
 *    each with a string "role", a "content" and any other fields the
 *    template reads, e.g. "tool_calls"), rendered as fw_generate_chat
 *    does, with the optional fields "chat_template" (a Jinja2 template
 *    string used instead of the model's), "add_generation_prompt" (bool,
 *    default true) and "chat_template_kwargs" (an object of extra template
 *    variables, e.g. {"enable_thinking": false});
 * plus the sampling and request fields of docs/SAMPLING.md.  "prompt" and
 * "messages" together are an error naming both; the chat-only fields with
 * a "prompt" are an error naming the field.  "model", "stream" and "user"
 * are accepted and otherwise ignored; any other field is an error naming
 * it.  `overrides` (may be NULL) is a JSON object whose members replace
 * those of `body` (how command-line flags override a request file).  A
 * template that fails (raise_exception included) fails the request with
 * the template's error and message (see "Chat templates").  Otherwise as
 * fw_generate. */
FW_API fw_status fw_generate_json(fw_context *ctx, const char *body,
                                  size_t body_len, const char *overrides,
                                  size_t overrides_len, fw_event_fn on_event,
                                  void *user_data, fw_result **out_result);

/* The prompt a request would evaluate, without evaluating it (a dry run of
 * fw_generate_json: same body, same overrides, same errors for the prompt
 * fields; the sampling fields are parsed and checked by name), as compact
 * JSON into a caller buffer: {"prompt": the text (a chat request: the
 * rendered prompt) or null for token ids, "prompt_token_ids": [...],
 * "prompt_fragments": [...] (as raw_output shows them), "chat_template":
 * "model", "override", "chatml" or null}.  Use it to count a prompt's
 * tokens or show a rendered chat prompt.  Thread-safe. */
FW_API fw_status fw_request_prompt_json(const fw_model *model, const char *body,
                                        size_t body_len, const char *overrides,
                                        size_t overrides_len, char *buf,
                                        size_t cap, size_t *n_needed);

/* Results.  A result belongs to the caller of the call that produced it
 * (free it with fw_result_free); it refers to the model, which must outlive
 * it, not to the context.  One thread at a time per result
 * (fw_result_tokens fills a cache). */
FW_API void fw_result_free(fw_result *result);
FW_API int32_t fw_result_n_choices(const fw_result *result);
/* The text of choice i (with the prompt first when echo: for a chat
 * request the rendered prompt exactly, for a text prompt its tokens'
 * pieces). */
FW_API fw_status fw_result_text(const fw_result *result, int32_t choice,
                                char *buf, size_t cap, size_t *n_needed);
/* "stop" or "length"; NULL for a bad index. */
FW_API const char *fw_result_finish_reason(const fw_result *result,
                                           int32_t choice);
/* The generated token ids of choice i: pointer valid until
 * fw_result_free, count in *n.  NULL (and *n 0) for a bad handle or index,
 * or when the array (made on the first call) cannot be allocated;
 * fw_last_error() then says which. */
FW_API const fw_token *fw_result_tokens(const fw_result *result,
                                        int32_t choice, size_t *n);
/* Raw logprob and sampling logprob of generated token j of choice i. */
FW_API fw_status fw_result_logprob(const fw_result *result, int32_t choice,
                                   size_t j, float *logprob,
                                   float *sampling_logprob);
/* Usage: prompt tokens, completion tokens (all choices), prompt tokens the
 * model evaluated. */
FW_API fw_status fw_result_usage(const fw_result *result, int32_t *prompt,
                                 int32_t *completion, int32_t *evaluated);
/* The seed the request ran with. */
FW_API uint64_t fw_result_seed(const fw_result *result);

/* The prompt text the request tokenized, into a caller buffer: a text
 * prompt as given; for a chat request the rendered prompt (without the
 * BOS token the tokenizer added, if it added one).  FW_E_NOT_FOUND when
 * the prompt was token ids. */
FW_API fw_status fw_result_prompt_text(const fw_result *result, char *buf,
                                       size_t cap, size_t *n_needed);

/* For a chat request, which template rendered the messages: "override"
 * (the request's chat_template), "model" (the model's
 * tokenizer.chat_template) or "chatml" (the model has none: the ChatML
 * fallback).  NULL for a completions request or a bad handle.  Static
 * text. */
FW_API const char *fw_result_chat_template(const fw_result *result);

/* The result as an OpenAI response object, into a caller buffer.
 *
 * Completions (a text or token prompt): id "cmpl-...", object
 * "text_completion", created, model (`model_name`), choices (index, text,
 * finish_reason, logprobs in the legacy shape plus token_ids and
 * sampling_logprobs, raw_output when asked), usage (with
 * prompt_tokens_evaluated), and "sampling" (the effective parameters).
 *
 * Chat completions (fw_generate_chat, or "messages" in fw_generate_json):
 * id "chatcmpl-...", object "chat.completion", and choices[i] has
 * message {"role": "assistant", "content": the text} (with echo the
 * rendered prompt first, exactly; so echo with max_tokens 0 gives the
 * rendered prompt), finish_reason, and logprobs in the chat shape:
 * {"content": [{token, logprob, bytes, top_logprobs: [{token, logprob,
 * bytes}], token_id, sampling_logprob}]} (echoed prompt tokens first, the
 * first one's logprob null) or null.  usage and sampling as above.
 *
 * raw_output (when asked): prompt_token_ids (what was evaluated),
 * prompt_fragments (a text prompt: [the text]; token ids: the ids; a chat
 * prompt: the rendered prompt cut at the control and user-defined tokens
 * the template wrote, each given as its id, the text between as strings,
 * after the id of the BOS the tokenizer added, if any), completion (the
 * raw text, special tokens as text), completion_token_ids,
 * completion_logprobs (legacy shape) when asked, and for a chat request
 * "chat_template" (as fw_result_chat_template). */
FW_API fw_status fw_result_to_json(const fw_result *result,
                                   const char *model_name, char *buf,
                                   size_t cap, size_t *n_needed);

/* ------------------------------------------------------------------------ */
/* Chat templates                                                            */
/* ------------------------------------------------------------------------ */

/* Chat templates are rendered by the library's own engine for the subset of
 * Jinja2 that real templates use, configured as HF transformers'
 * apply_chat_template (trim_blocks, lstrip_blocks, loopcontrols, HF's
 * {% generation %} block; tojson keeps key order and non-ASCII text;
 * raise_exception; strftime_now, whose "now" is the local time, or the
 * date FWINFER_FIXED_DATE=YYYY-MM-DD when that environment variable is
 * set).  For the supported subset the output is byte-identical
 * to HF's.  The template sees: messages, add_generation_prompt, tools and
 * documents (none unless given in extra variables), bos_token and
 * eos_token (by default the text of the model's BOS/EOS tokens, when there
 * is a model and it has them), and any extra variables.
 *
 * Errors (message with the template line:column):
 *   FW_E_FORMAT       the template is malformed (unclosed tag, bad syntax)
 *   FW_E_UNSUPPORTED  a construct, filter, test or method outside the subset
 *                     (the message names it)
 *   FW_E_INVALID_ARG  the template called raise_exception: fw_last_error()
 *                     ends with "raised: " and the template's own message
 *                     (e.g. Gemma's "System role not supported"); also
 *                     NULL/invalid arguments, invalid UTF-8, a malformed
 *                     FWINFER_FIXED_DATE
 *   FW_E_TYPE         a type error while rendering (e.g. "a" + 1, an
 *                     attribute of an undefined value)
 *   FW_E_RANGE        a limit was hit: brackets/blocks nested deeper than
 *                     128, macro calls deeper than 64, more than 20 million
 *                     evaluation steps, 1 GiB of working memory or 256 MiB
 *                     of output (a malformed or hostile template fails, it
 *                     never crashes or runs unbounded)
 *   FW_E_NOT_FOUND    tmpl is NULL and the model has no
 *                     tokenizer.chat_template
 * Rendering never modifies the model; all these functions are thread-safe. */

/* One chat message.  `content` may be NULL (the template sees none).  More
 * fields (tool calls, ...) are passed with fw_chat_apply_template_json. */
typedef struct fw_chat_message {
    const char *role;    /* "system", "user", "assistant", "tool", ... */
    const char *content; /* UTF-8, NUL-terminated, or NULL */
} fw_chat_message;

/* Render `msgs[0..n_msgs)` with the template `tmpl` (NUL-terminated
 * Jinja2 text), or, when tmpl is NULL, with the model's
 * tokenizer.chat_template.  `model` may be NULL when tmpl is given (then
 * bos_token and eos_token are undefined unless passed through the JSON
 * variant).  add_generation_prompt is passed to the template as a bool.
 * The text comes back in the caller buffer (buf, cap, &n_needed) per the
 * buffer convention; call with cap 0 to learn the size.  Each call renders
 * anew. */
FW_API fw_status fw_chat_apply_template(const fw_model *model,
                                        const char *tmpl,
                                        const fw_chat_message *msgs,
                                        size_t n_msgs,
                                        int32_t add_generation_prompt,
                                        char *buf, size_t cap,
                                        size_t *n_needed);

/* As fw_chat_apply_template, with the messages given as a JSON array of
 * objects (NUL-terminated text), each with "role" and "content" and any
 * other fields the template reads (e.g. "tool_calls"), and `vars_json`, a
 * JSON object of extra template variables or NULL: e.g.
 * {"tools": [...], "enable_thinking": false, "bos_token": "<s>"}.  Extra
 * variables override the defaults (bos_token, eos_token, tools, ...) but
 * not messages and add_generation_prompt.  JSON numbers without fraction
 * or exponent become integers, others floats; object keys keep their
 * order.  Malformed JSON gives FW_E_FORMAT naming "messages" or "vars". */
FW_API fw_status fw_chat_apply_template_json(const fw_model *model,
                                             const char *tmpl,
                                             const char *messages_json,
                                             const char *vars_json,
                                             int32_t add_generation_prompt,
                                             char *buf, size_t cap,
                                             size_t *n_needed);

/* ------------------------------------------------------------------------ */
/* Chat requests: generation from messages                                   */
/* ------------------------------------------------------------------------ */

/* How a chat request renders its messages (fw_generate_chat). */
typedef struct fw_chat_params {
    uint32_t struct_size;          /* sizeof(fw_chat_params), set by _init */
    int32_t add_generation_prompt; /* 1 (default): end with the assistant's
                                      turn header; 0: leave it out */
    const char *chat_template;     /* NULL (default): the model's
                                      tokenizer.chat_template, or ChatML if
                                      the model has none; else a Jinja2
                                      template (NUL-terminated UTF-8) used
                                      instead.  The caller's, read during
                                      the call. */
    const char *template_vars_json; /* NULL (default) or a JSON object of
                                      extra template variables (OpenAI's
                                      chat_template_kwargs, e.g.
                                      {"enable_thinking": false}), as for
                                      fw_chat_apply_template_json */
} fw_chat_params;

/* Fill `params` with the defaults.  Thread-safe. */
FW_API void fw_chat_params_init(fw_chat_params *params);

/* Generate an assistant reply to msgs[0 .. n_msgs) (at least one message;
 * roles non-NULL, role and content valid UTF-8; content NULL is none).
 *
 * The messages are rendered with chat->chat_template, else the model's
 * tokenizer.chat_template, else ChatML as llama.cpp writes it
 * ("<|im_start|>ROLE\nCONTENT<|im_end|>\n" per message, then
 * "<|im_start|>assistant\n" as the generation prompt).  The rendered text
 * is tokenized with special-token parsing on (so "<|im_start|>" is one
 * token where the vocabulary has it) and without the model's EOS; the
 * model's BOS is put first only if the model adds one and the text does
 * not already start with the BOS token's text (a template that writes
 * {{ bos_token }} does not get two).  fw_result_prompt_text gives the
 * rendered text, fw_result_chat_template which template was used, and
 * fw_result_to_json the chat-completions shape.
 *
 * `chat`, `sampling` and `request` may be NULL for the defaults; the rest
 * is as fw_generate (sequences, events, ownership of *out_result).
 * Errors: FW_E_INVALID_ARG naming the message for a bad message; the
 * template's own errors as in "Chat templates" (a raise_exception is
 * FW_E_INVALID_ARG whose message ends with the template's text);
 * FW_E_FORMAT for malformed template_vars_json; then as fw_generate.  One
 * thread at a time per context. */
FW_API fw_status fw_generate_chat(fw_context *ctx, const fw_chat_message *msgs,
                                  size_t n_msgs, const fw_chat_params *chat,
                                  const fw_sampler_params *sampling,
                                  const fw_request *request,
                                  fw_event_fn on_event, void *user_data,
                                  fw_result **out_result);

#ifdef __cplusplus
}
#endif

#endif /* FWINFER_H */
