/*
 * gguf_writer.h - build GGUF images in memory, for tests, fuzz seeds and
 * benchmarks.  Not part of the library.
 *
 * Use: gw_new, then the metadata (gw_kv_*), then the tensors (gw_tensor*),
 * then gw_finish.  Each gw_kv_* / gw_tensor* call returns the byte offset of
 * its record in the image, so tests can corrupt exactly the field they want.
 * The writer checks nothing: duplicate keys, bad types and impossible shapes
 * are written as asked (that is what the malformed-file tests need).
 * Allocation failure makes gw_finish return NULL.
 */
#ifndef FW_GGUF_WRITER_H
#define FW_GGUF_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw gw;

gw *gw_new(uint32_t version, uint32_t alignment);
void gw_free(gw *w);

/* Metadata.  `type` ids are GGUF's (FW_META_*). */
size_t gw_kv_u8(gw *w, const char *key, uint8_t v);
size_t gw_kv_i8(gw *w, const char *key, int8_t v);
size_t gw_kv_u16(gw *w, const char *key, uint16_t v);
size_t gw_kv_i16(gw *w, const char *key, int16_t v);
size_t gw_kv_u32(gw *w, const char *key, uint32_t v);
size_t gw_kv_i32(gw *w, const char *key, int32_t v);
size_t gw_kv_u64(gw *w, const char *key, uint64_t v);
size_t gw_kv_i64(gw *w, const char *key, int64_t v);
size_t gw_kv_f32(gw *w, const char *key, float v);
size_t gw_kv_f64(gw *w, const char *key, double v);
size_t gw_kv_bool(gw *w, const char *key, int v);
size_t gw_kv_str(gw *w, const char *key, const char *v);
size_t gw_kv_strn(gw *w, const char *key, const char *v, size_t len);
/* An array of n scalars of `elem_type` packed in `data` (little-endian). */
size_t gw_kv_arr(gw *w, const char *key, uint32_t elem_type, uint64_t n,
                 const void *data);
size_t gw_kv_arr_str(gw *w, const char *key, uint64_t n,
                     const char *const *strs);
/* Raw value bytes after the type field (for nested arrays and oddities). */
size_t gw_kv_raw(gw *w, const char *key, uint32_t type, const void *value,
                 size_t len);

/* A tensor whose byte size follows from its type and shape (data may be
 * NULL: zeros).  Its data offset is the running, aligned offset. */
size_t gw_tensor(gw *w, const char *name, uint32_t type, uint32_t n_dims,
                 const int64_t *ne, const void *data);
/* A tensor with an explicit byte size and, if offset != UINT64_MAX, an
 * explicit data offset (the data then is not written). */
size_t gw_tensor_raw(gw *w, const char *name, uint32_t type, uint32_t n_dims,
                     const int64_t *ne, const void *data, uint64_t n_bytes,
                     uint64_t offset);

/* The finished image (owned by the caller: free()); NULL on allocation
 * failure.  The writer is left empty. */
uint8_t *gw_finish(gw *w, size_t *size);
/* Byte offset where the data section will start (valid after finish). */
size_t gw_data_offset(const gw *w);

/* Write the image to a file; 0 on success. */
int gw_write_file(const char *path, const uint8_t *data, size_t size);

/* Elements per block and bytes per block of a ggml type (0 if unknown). */
int gw_type_block(uint32_t type, uint32_t *elems, uint32_t *bytes);

#endif
