/* gguf_writer.c - build GGUF images in memory (tests, fuzz seeds, benches). */
#include "gguf_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
    int failed;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (d)
        memcpy(b->p + b->len, d, n);
    else
        memset(b->p + b->len, 0, n);
    b->len += n;
}

static void put_u32(buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    put(b, x, 4);
}

static void put_u64(buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_str(buf *b, const char *s, size_t n)
{
    put_u64(b, n);
    put(b, s, n);
}

struct gw {
    uint32_t version, alignment;
    uint64_t n_kv, n_tensors;
    buf kv, ti, data;
    size_t data_offset;
};

gw *gw_new(uint32_t version, uint32_t alignment)
{
    gw *w = calloc(1, sizeof *w);
    if (w) {
        w->version = version;
        w->alignment = alignment ? alignment : 32;
    }
    return w;
}

void gw_free(gw *w)
{
    if (!w)
        return;
    free(w->kv.p);
    free(w->ti.p);
    free(w->data.p);
    free(w);
}

/* Offsets are relative to the image start: the header is 24 bytes. */
static size_t kv_begin(gw *w, const char *key, uint32_t type)
{
    size_t at = 24 + w->kv.len;
    put_str(&w->kv, key, strlen(key));
    put_u32(&w->kv, type);
    w->n_kv++;
    return at;
}

size_t gw_kv_raw(gw *w, const char *key, uint32_t type, const void *value,
                 size_t len)
{
    size_t at = kv_begin(w, key, type);
    put(&w->kv, value, len);
    return at;
}

#define SCALAR(fn, ctype, id)                                          \
    size_t fn(gw *w, const char *key, ctype v)                         \
    {                                                                  \
        return gw_kv_raw(w, key, id, &v, sizeof v);                    \
    }
/* (x86-64 and aarch64 Linux are little-endian, as GGUF is.) */
SCALAR(gw_kv_u8, uint8_t, 0)
SCALAR(gw_kv_i8, int8_t, 1)
SCALAR(gw_kv_u16, uint16_t, 2)
SCALAR(gw_kv_i16, int16_t, 3)
SCALAR(gw_kv_u32, uint32_t, 4)
SCALAR(gw_kv_i32, int32_t, 5)
SCALAR(gw_kv_f32, float, 6)
SCALAR(gw_kv_u64, uint64_t, 10)
SCALAR(gw_kv_i64, int64_t, 11)
SCALAR(gw_kv_f64, double, 12)

size_t gw_kv_bool(gw *w, const char *key, int v)
{
    uint8_t b = v ? 1 : 0;
    return gw_kv_raw(w, key, 7, &b, 1);
}

size_t gw_kv_strn(gw *w, const char *key, const char *v, size_t len)
{
    size_t at = kv_begin(w, key, 8);
    put_str(&w->kv, v, len);
    return at;
}

size_t gw_kv_str(gw *w, const char *key, const char *v)
{
    return gw_kv_strn(w, key, v, strlen(v));
}

static size_t scalar_size(uint32_t t)
{
    static const size_t sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < 13 ? sz[t] : 0;
}

size_t gw_kv_arr(gw *w, const char *key, uint32_t elem_type, uint64_t n,
                 const void *data)
{
    size_t at = kv_begin(w, key, 9);
    put_u32(&w->kv, elem_type);
    put_u64(&w->kv, n);
    put(&w->kv, data, (size_t)n * scalar_size(elem_type));
    return at;
}

size_t gw_kv_arr_str(gw *w, const char *key, uint64_t n,
                     const char *const *strs)
{
    size_t at = kv_begin(w, key, 9);
    put_u32(&w->kv, 8);
    put_u64(&w->kv, n);
    for (uint64_t i = 0; i < n; i++)
        put_str(&w->kv, strs[i], strlen(strs[i]));
    return at;
}

int gw_type_block(uint32_t type, uint32_t *elems, uint32_t *bytes)
{
    static const uint16_t tab[][2] = {
        [0] = {1, 4},     [1] = {1, 2},     [2] = {32, 18},   [3] = {32, 20},
        [6] = {32, 22},   [7] = {32, 24},   [8] = {32, 34},   [9] = {32, 36},
        [10] = {256, 84}, [11] = {256, 110}, [12] = {256, 144},
        [13] = {256, 176}, [14] = {256, 210}, [15] = {256, 292},
        [24] = {1, 1},    [25] = {1, 2},    [26] = {1, 4},    [27] = {1, 8},
        [28] = {1, 8},    [30] = {1, 2},
    };
    if (type >= sizeof tab / sizeof tab[0] || !tab[type][0])
        return 0;
    *elems = tab[type][0];
    *bytes = tab[type][1];
    return 1;
}

size_t gw_tensor_raw(gw *w, const char *name, uint32_t type, uint32_t n_dims,
                     const int64_t *ne, const void *data, uint64_t n_bytes,
                     uint64_t offset)
{
    /* Metadata comes before tensor infos, and all of it is added first. */
    size_t at = 24 + w->kv.len + w->ti.len;
    put_str(&w->ti, name, strlen(name));
    put_u32(&w->ti, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        put_u64(&w->ti, (uint64_t)ne[d]);
    put_u32(&w->ti, type);
    if (offset == UINT64_MAX) {
        size_t pad = (w->alignment - w->data.len % w->alignment) % w->alignment;
        put(&w->data, NULL, pad);
        offset = w->data.len;
        put(&w->data, data, (size_t)n_bytes);
    }
    put_u64(&w->ti, offset);
    w->n_tensors++;
    return at;
}

size_t gw_tensor(gw *w, const char *name, uint32_t type, uint32_t n_dims,
                 const int64_t *ne, const void *data)
{
    uint32_t be = 1, bb = 4;
    gw_type_block(type, &be, &bb);
    uint64_t n = 1;
    for (uint32_t d = 0; d < n_dims; d++)
        n *= (uint64_t)ne[d];
    return gw_tensor_raw(w, name, type, n_dims, ne, data, n / be * bb,
                         UINT64_MAX);
}

size_t gw_data_offset(const gw *w) { return w->data_offset; }

uint8_t *gw_finish(gw *w, size_t *size)
{
    buf out = {0};
    put(&out, "GGUF", 4);
    put_u32(&out, w->version);
    put_u64(&out, w->n_tensors);
    put_u64(&out, w->n_kv);
    put(&out, w->kv.p, w->kv.len);
    put(&out, w->ti.p, w->ti.len);
    size_t pad = (w->alignment - out.len % w->alignment) % w->alignment;
    if (w->n_tensors)
        put(&out, NULL, pad);
    w->data_offset = out.len;
    put(&out, w->data.p, w->data.len);
    int failed = out.failed || w->kv.failed || w->ti.failed || w->data.failed;
    free(w->kv.p);
    free(w->ti.p);
    free(w->data.p);
    memset(&w->kv, 0, sizeof w->kv);
    memset(&w->ti, 0, sizeof w->ti);
    memset(&w->data, 0, sizeof w->data);
    if (failed) {
        free(out.p);
        return NULL;
    }
    *size = out.len;
    return out.p;
}

int gw_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, size, f);
    int rc = fclose(f);
    return n == size && rc == 0 ? 0 : -1;
}
