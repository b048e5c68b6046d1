/*
 * gguf.h - GGUF reader: bounds-checked views into a file image.
 *
 * Nothing is copied out of the image except metadata keys and tensor names
 * (NUL-terminated copies) and an offset index for string arrays.  Every
 * pointer below points into the image and is valid while it is.
 */
#ifndef FWI_GGUF_H
#define FWI_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/strmap.h"
#include "fwinfer.h"

#define FWI_GGUF_DEFAULT_ALIGNMENT 32
#define FWI_GGUF_MAX_ARRAY_DEPTH 8

/* One metadata entry. */
typedef struct fwi_gguf_kv {
    const char *key;      /* NUL-terminated copy */
    int32_t type;         /* FW_META_* */
    int32_t elem_type;    /* arrays: element type; otherwise -1 */
    uint64_t n;           /* arrays: element count; strings: byte length */
    const uint8_t *data;  /* value bytes (arrays: first element) */
    uint64_t size;        /* bytes of the value (arrays: of all elements) */
    uint64_t *str_offs;   /* string arrays: offset of element i from data */
} fwi_gguf_kv;

typedef struct fwi_gguf_tensor {
    const char *name; /* NUL-terminated copy */
    int32_t type;     /* FW_TYPE_* */
    int32_t n_dims;
    int64_t ne[FW_MAX_DIMS]; /* unused dims are 1 */
    uint64_t offset;         /* relative to the data section */
    uint64_t n_bytes;
    const uint8_t *data;     /* base + data_offset + offset */
} fwi_gguf_tensor;

typedef struct fwi_gguf {
    const uint8_t *base;
    uint64_t size;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    int64_t n_kv;
    fwi_gguf_kv *kv;
    int64_t n_tensors;
    fwi_gguf_tensor *tensors;
    fwi_strmap kv_map;
    fwi_strmap tensor_map;
} fwi_gguf;

/* Parse and validate a GGUF image.  On failure returns the status and the
 * calling thread's last error says what was wrong and where; `g` is then
 * left empty (safe to free).  `handle` is the handle errors are filed under. */
fw_status fwi_gguf_parse(fwi_gguf *g, const void *data, uint64_t size,
                         const void *handle);
void fwi_gguf_free(fwi_gguf *g);

const fwi_gguf_kv *fwi_gguf_find_kv(const fwi_gguf *g, const char *key);
const fwi_gguf_tensor *fwi_gguf_find_tensor(const fwi_gguf *g,
                                            const char *name);

/* Size in bytes of one scalar value of meta type `t`, or 0 for string/array
 * or unknown types. */
size_t fwi_gguf_scalar_size(int32_t t);

/* Decode a scalar at p of meta type t. */
int fwi_gguf_scalar_is_int(int32_t t);
int64_t fwi_gguf_scalar_i64(int32_t t, const uint8_t *p, int *overflow);
double fwi_gguf_scalar_f64(int32_t t, const uint8_t *p);

/* Render a value (t, data, n) as JSON (see fw_model_meta_to_json). */
struct fwi_sbuf;
void fwi_gguf_value_json(struct fwi_sbuf *b, int32_t type, int32_t elem_type,
                         uint64_t n, const uint8_t *data,
                         const uint64_t *str_offs, int64_t max_elems);

/* Tensor type table. */
typedef struct fwi_type_info {
    const char *name;
    int32_t block_elems; /* 0 for ids removed from ggml */
    int32_t block_bytes;
} fwi_type_info;

/* NULL for ids ggml never defined. */
const fwi_type_info *fwi_type_info_get(int32_t type);

#endif
