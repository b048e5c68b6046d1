/*
 * gguf.c - GGUF v2/v3 parser with strict validation.
 *
 * Layout (little-endian): "GGUF", u32 version, u64 n_tensors, u64 n_kv,
 * n_kv x {string key, u32 type, value}, n_tensors x {string name, u32 n_dims,
 * u64 ne[n_dims], u32 type, u64 offset}, padding to the alignment, then the
 * data section.  A string is {u64 length, bytes}; an array value is
 * {u32 element type, u64 count, elements}.
 *
 * Every read is checked against the bytes left in the image, and every count
 * is checked against what those bytes could hold before anything is
 * allocated or looped over, so no input can read out of bounds, allocate
 * more than a small multiple of its own size, or loop for long.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "gguf.h"

#define MAX_NAME_LEN 65535u

typedef struct cursor {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
    const void *handle;
} cursor;

static uint64_t left(const cursor *c) { return c->size - c->pos; }

/* Make room for element `i` of a growable array (capacity doubles), so that
 * memory follows what was actually parsed, not a count the file claims. */
static int grow_for(void **arr, size_t *cap, size_t i, size_t elsize)
{
    if (i < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / elsize)
        return -1;
    void *p = fwi_realloc(*arr, ncap * elsize);
    if (!p)
        return -1;
    memset((char *)p + *cap * elsize, 0, (ncap - *cap) * elsize);
    *arr = p;
    *cap = ncap;
    return 0;
}

size_t fwi_gguf_scalar_size(int32_t t)
{
    switch (t) {
    case FW_META_UINT8: case FW_META_INT8: case FW_META_BOOL: return 1;
    case FW_META_UINT16: case FW_META_INT16: return 2;
    case FW_META_UINT32: case FW_META_INT32: case FW_META_FLOAT32: return 4;
    case FW_META_UINT64: case FW_META_INT64: case FW_META_FLOAT64: return 8;
    default: return 0;
    }
}

int fwi_gguf_scalar_is_int(int32_t t)
{
    return fwi_gguf_scalar_size(t) && t != FW_META_FLOAT32 &&
           t != FW_META_FLOAT64;
}

int64_t fwi_gguf_scalar_i64(int32_t t, const uint8_t *p, int *overflow)
{
    *overflow = 0;
    switch (t) {
    case FW_META_UINT8: case FW_META_BOOL: return p[0];
    case FW_META_INT8: return (int8_t)p[0];
    case FW_META_UINT16: return fwi_rd16(p);
    case FW_META_INT16: return (int16_t)fwi_rd16(p);
    case FW_META_UINT32: return fwi_rd32(p);
    case FW_META_INT32: return (int32_t)fwi_rd32(p);
    case FW_META_INT64: return (int64_t)fwi_rd64(p);
    case FW_META_UINT64: {
        uint64_t v = fwi_rd64(p);
        if (v > INT64_MAX) {
            *overflow = 1;
            return INT64_MAX;
        }
        return (int64_t)v;
    }
    default: return 0;
    }
}

double fwi_gguf_scalar_f64(int32_t t, const uint8_t *p)
{
    if (t == FW_META_FLOAT32) {
        uint32_t u = fwi_rd32(p);
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    if (t == FW_META_FLOAT64) {
        uint64_t u = fwi_rd64(p);
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    if (t == FW_META_UINT64)
        return (double)fwi_rd64(p);
    int ovf;
    return (double)fwi_gguf_scalar_i64(t, p, &ovf);
}

/* Read a GGUF string header at the cursor: length and a pointer to the
 * bytes.  `what` names the string in messages. */
static fw_status read_str(cursor *c, const char *what, const uint8_t **s,
                          uint64_t *len)
{
    uint64_t at = c->pos;
    if (left(c) < 8)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "offset %" PRIu64 ": %s: file ends inside the string "
                        "length (%" PRIu64 " bytes left, 8 needed)",
                        at, what, left(c));
    *len = fwi_rd64(c->base + c->pos);
    c->pos += 8;
    if (*len > left(c))
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "offset %" PRIu64 ": %s: string length %" PRIu64
                        " exceeds the %" PRIu64 " bytes left in the file",
                        at, what, *len, left(c));
    *s = c->base + c->pos;
    c->pos += *len;
    return FW_OK;
}

static fw_status read_u32(cursor *c, const char *what, uint32_t *v)
{
    if (left(c) < 4)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "offset %" PRIu64 ": %s: file ends (%" PRIu64
                        " bytes left, 4 needed)",
                        c->pos, what, left(c));
    *v = fwi_rd32(c->base + c->pos);
    c->pos += 4;
    return FW_OK;
}

static fw_status read_u64(cursor *c, const char *what, uint64_t *v)
{
    if (left(c) < 8)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "offset %" PRIu64 ": %s: file ends (%" PRIu64
                        " bytes left, 8 needed)",
                        c->pos, what, left(c));
    *v = fwi_rd64(c->base + c->pos);
    c->pos += 8;
    return FW_OK;
}

/* Copy a key or tensor name: no NUL bytes inside, bounded length. */
static fw_status copy_name(cursor *c, const uint8_t *s, uint64_t len,
                           uint64_t at, const char *what, char **out)
{
    if (len > MAX_NAME_LEN)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "offset %" PRIu64 ": %s: length %" PRIu64
                        " exceeds the limit of %u bytes",
                        at, what, len, MAX_NAME_LEN);
    if (memchr(s, 0, (size_t)len))
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "offset %" PRIu64 ": %s contains a NUL byte", at, what);
    *out = fwi_strndup((const char *)s, (size_t)len);
    if (!*out)
        return fwi_fail(c->handle, FW_E_NOMEM, "out of memory copying %s", what);
    return FW_OK;
}

/* Validate (and skip) a value of `type` at the cursor.  Arrays are walked
 * recursively up to FWI_GGUF_MAX_ARRAY_DEPTH.  For a top-level array the
 * caller passes `kv` to receive element type, count and string offsets. */
static fw_status read_value(cursor *c, int32_t type, int depth, const char *key,
                            fwi_gguf_kv *kv)
{
    size_t sz = fwi_gguf_scalar_size(type);
    if (sz) {
        if (left(c) < sz)
            return fwi_fail(c->handle, FW_E_FORMAT,
                            "offset %" PRIu64 ": key '%s': file ends inside a "
                            "%s value (%" PRIu64 " bytes left, %zu needed)",
                            c->pos, key, fw_meta_type_name(type), left(c), sz);
        if (type == FW_META_BOOL && c->base[c->pos] > 1)
            return fwi_fail(c->handle, FW_E_FORMAT,
                            "offset %" PRIu64 ": key '%s': bool value %u is "
                            "neither 0 nor 1",
                            c->pos, key, (unsigned)c->base[c->pos]);
        c->pos += sz;
        return FW_OK;
    }
    if (type == FW_META_STRING) {
        const uint8_t *s;
        uint64_t len;
        return read_str(c, key, &s, &len);
    }
    if (type != FW_META_ARRAY)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "offset %" PRIu64 ": key '%s': unknown value type %d",
                        c->pos, key, (int)type);
    if (depth >= FWI_GGUF_MAX_ARRAY_DEPTH)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "offset %" PRIu64 ": key '%s': arrays nested deeper "
                        "than %d levels",
                        c->pos, key, FWI_GGUF_MAX_ARRAY_DEPTH);
    uint64_t at = c->pos;
    uint32_t et;
    uint64_t n;
    fw_status st = read_u32(c, key, &et);
    if (st == FW_OK)
        st = read_u64(c, key, &n);
    if (st != FW_OK)
        return st;
    if (et > FW_META_FLOAT64)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "offset %" PRIu64 ": key '%s': unknown array element "
                        "type %" PRIu32,
                        at, key, et);
    /* Smallest encoding of one element: scalars their size, strings 8 bytes
     * (the length), arrays 12 bytes (type + count). */
    uint64_t min_elem = fwi_gguf_scalar_size((int32_t)et);
    if (!min_elem)
        min_elem = et == FW_META_STRING ? 8 : 12;
    if (n > left(c) / min_elem)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "offset %" PRIu64 ": key '%s': array of %" PRIu64
                        " %s elements cannot fit in the %" PRIu64
                        " bytes left in the file",
                        at, key, n, fw_meta_type_name((int32_t)et), left(c));
    uint64_t start = c->pos;
    uint64_t *offs = NULL;
    if (kv && et == FW_META_STRING) {
        offs = fwi_malloc_array((size_t)n, sizeof *offs);
        if (!offs)
            return fwi_fail(c->handle, FW_E_NOMEM,
                            "key '%s': out of memory indexing %" PRIu64
                            " strings",
                            key, n);
    }
    if (fwi_gguf_scalar_size((int32_t)et)) {
        if (et == FW_META_BOOL) {
            for (uint64_t i = 0; i < n; i++)
                if (c->base[c->pos + i] > 1)
                    return fwi_fail(c->handle, FW_E_FORMAT,
                                    "offset %" PRIu64 ": key '%s': element "
                                    "%" PRIu64 ": bool value %u is neither 0 "
                                    "nor 1",
                                    c->pos + i, key, i,
                                    (unsigned)c->base[c->pos + i]);
        }
        c->pos += n * min_elem;
    } else {
        for (uint64_t i = 0; i < n; i++) {
            if (offs)
                offs[i] = c->pos - start;
            st = read_value(c, (int32_t)et, depth + 1, key, NULL);
            if (st != FW_OK) {
                fwi_free(offs);
                return st;
            }
        }
    }
    if (kv) {
        kv->elem_type = (int32_t)et;
        kv->n = n;
        kv->data = c->base + start;
        kv->size = c->pos - start;
        kv->str_offs = offs;
    }
    return FW_OK;
}

void fwi_gguf_free(fwi_gguf *g)
{
    if (!g)
        return;
    for (int64_t i = 0; g->kv && i < g->n_kv; i++) {
        fwi_free((char *)g->kv[i].key);
        fwi_free(g->kv[i].str_offs);
    }
    for (int64_t i = 0; g->tensors && i < g->n_tensors; i++)
        fwi_free((char *)g->tensors[i].name);
    fwi_free(g->kv);
    fwi_free(g->tensors);
    fwi_strmap_free(&g->kv_map);
    fwi_strmap_free(&g->tensor_map);
    memset(g, 0, sizeof *g);
}

static fw_status parse_header(fwi_gguf *g, cursor *c, uint64_t *n_tensors,
                              uint64_t *n_kv)
{
    if (c->size < 4 || memcmp(c->base, "GGUF", 4) != 0) {
        if (c->size >= 4 && memcmp(c->base, "FUGG", 4) == 0)
            return fwi_fail(c->handle, FW_E_UNSUPPORTED,
                            "big-endian GGUF files are not supported");
        char shown[4 * 4 + 1] = "";
        for (uint64_t i = 0; i < 4 && i < c->size; i++) {
            uint8_t ch = c->base[i];
            char tmp[5];
            snprintf(tmp, sizeof tmp, ch >= 32 && ch < 127 ? "%c" : "\\x%02x",
                     ch);
            strcat(shown, tmp);
        }
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "not a GGUF file: the first bytes are \"%s\" "
                        "(%" PRIu64 " bytes in all), not \"GGUF\"",
                        shown, c->size);
    }
    c->pos = 4;
    uint32_t version;
    fw_status st = read_u32(c, "GGUF version", &version);
    if (st != FW_OK)
        return st;
    if (version == 0x02000000u || version == 0x03000000u)
        return fwi_fail(c->handle, FW_E_UNSUPPORTED,
                        "big-endian GGUF files are not supported (version "
                        "field reads 0x%08" PRIx32 ")",
                        version);
    if (version == 1)
        return fwi_fail(c->handle, FW_E_UNSUPPORTED,
                        "GGUF version 1 is not supported (only 2 and 3)");
    if (version != 2 && version != 3)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "unknown GGUF version %" PRIu32 " (only 2 and 3 exist)",
                        version);
    g->version = version;
    st = read_u64(c, "tensor count", n_tensors);
    if (st == FW_OK)
        st = read_u64(c, "metadata key count", n_kv);
    if (st != FW_OK)
        return st;
    /* Smallest possible entries: a key/value is 8 (key length) + 4 (type) +
     * 1 (a u8 value) bytes; a tensor info is 8 + 4 + 8 + 4 + 8 bytes. */
    if (*n_kv > left(c) / 13)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "metadata key count %" PRIu64 " cannot fit in the "
                        "%" PRIu64 " bytes after the header",
                        *n_kv, left(c));
    if (*n_tensors > left(c) / 32)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "tensor count %" PRIu64 " cannot fit in the %" PRIu64
                        " bytes after the header",
                        *n_tensors, left(c));
    return FW_OK;
}

static fw_status parse_kvs(fwi_gguf *g, cursor *c, uint64_t n_kv)
{
    size_t cap = 0;
    if (fwi_strmap_init(&g->kv_map, n_kv < 64 ? (size_t)n_kv : 64))
        return fwi_fail(c->handle, FW_E_NOMEM, "out of memory");
    for (uint64_t i = 0; i < n_kv; i++) {
        if (grow_for((void **)&g->kv, &cap, (size_t)i, sizeof *g->kv))
            return fwi_fail(c->handle, FW_E_NOMEM,
                            "out of memory for %" PRIu64 " metadata keys", n_kv);
        fwi_gguf_kv *kv = &g->kv[i];
        uint64_t at = c->pos;
        char what[64];
        snprintf(what, sizeof what, "key #%" PRIu64, i);
        const uint8_t *s;
        uint64_t len;
        fw_status st = read_str(c, what, &s, &len);
        if (st == FW_OK)
            st = copy_name(c, s, len, at, what, (char **)&kv->key);
        if (st != FW_OK)
            return st;
        g->n_kv = (int64_t)i + 1; /* kv[i].key is owned from here on */
        kv->elem_type = -1;
        int64_t prev;
        int r = fwi_strmap_put(&g->kv_map, kv->key, (size_t)len, (int64_t)i,
                               &prev);
        if (r < 0)
            return fwi_fail(c->handle, FW_E_NOMEM, "out of memory");
        if (r == 0)
            return fwi_fail(c->handle, FW_E_FORMAT,
                            "offset %" PRIu64 ": duplicate metadata key '%s' "
                            "(entries #%" PRId64 " and #%" PRIu64 ")",
                            at, kv->key, prev, i);
        uint32_t type;
        st = read_u32(c, kv->key, &type);
        if (st != FW_OK)
            return st;
        if (type > FW_META_FLOAT64)
            return fwi_fail(c->handle, FW_E_FORMAT,
                            "offset %" PRIu64 ": key '%s': unknown value type "
                            "%" PRIu32,
                            c->pos - 4, kv->key, type);
        kv->type = (int32_t)type;
        uint64_t vstart = c->pos;
        st = read_value(c, kv->type, 0, kv->key, kv);
        if (st != FW_OK)
            return st;
        if (kv->type != FW_META_ARRAY) {
            kv->data = c->base + vstart;
            kv->size = c->pos - vstart;
            if (kv->type == FW_META_STRING) {
                kv->n = kv->size - 8;
                kv->data += 8;
                kv->size -= 8;
            }
        }
    }
    return FW_OK;
}

static fw_status read_alignment(fwi_gguf *g, cursor *c)
{
    g->alignment = FWI_GGUF_DEFAULT_ALIGNMENT;
    const fwi_gguf_kv *kv = fwi_gguf_find_kv(g, "general.alignment");
    if (!kv)
        return FW_OK;
    if (kv->type != FW_META_UINT32)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "key 'general.alignment' has type %s, expected uint32",
                        fw_meta_type_name(kv->type));
    uint32_t a = fwi_rd32(kv->data);
    if (a == 0 || (a & (a - 1)) != 0)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "general.alignment = %" PRIu32
                        " is not a power of two",
                        a);
    g->alignment = a;
    return FW_OK;
}

static fw_status parse_tensor_info(fwi_gguf *g, cursor *c, uint64_t i,
                                   size_t *cap)
{
    if (grow_for((void **)&g->tensors, cap, (size_t)i, sizeof *g->tensors))
        return fwi_fail(c->handle, FW_E_NOMEM, "out of memory for tensor #%"
                        PRIu64, i);
    fwi_gguf_tensor *t = &g->tensors[i];
    uint64_t at = c->pos;
    char what[64];
    snprintf(what, sizeof what, "tensor #%" PRIu64 " name", i);
    const uint8_t *s;
    uint64_t len;
    fw_status st = read_str(c, what, &s, &len);
    if (st == FW_OK)
        st = copy_name(c, s, len, at, what, (char **)&t->name);
    if (st != FW_OK)
        return st;
    g->n_tensors = (int64_t)i + 1;
    int64_t prev;
    int r = fwi_strmap_put(&g->tensor_map, t->name, (size_t)len, (int64_t)i,
                           &prev);
    if (r < 0)
        return fwi_fail(c->handle, FW_E_NOMEM, "out of memory");
    if (r == 0)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "offset %" PRIu64 ": duplicate tensor name '%s' "
                        "(tensors #%" PRId64 " and #%" PRIu64 ")",
                        at, t->name, prev, i);
    uint32_t n_dims;
    st = read_u32(c, t->name, &n_dims);
    if (st != FW_OK)
        return st;
    if (n_dims < 1 || n_dims > FW_MAX_DIMS)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "offset %" PRIu64 ": tensor '%s': %" PRIu32
                        " dimensions (must be 1 to %d)",
                        c->pos - 4, t->name, n_dims, FW_MAX_DIMS);
    t->n_dims = (int32_t)n_dims;
    uint64_t n_elems = 1;
    for (int d = 0; d < FW_MAX_DIMS; d++) {
        uint64_t ne = 1;
        if ((uint32_t)d < n_dims) {
            st = read_u64(c, t->name, &ne);
            if (st != FW_OK)
                return st;
            if (ne > INT64_MAX)
                return fwi_fail(c->handle, FW_E_FORMAT,
                                "tensor '%s': dimension %d is %" PRIu64
                                ", beyond the int64 range",
                                t->name, d, ne);
        }
        t->ne[d] = (int64_t)ne;
        if (ne && n_elems > (uint64_t)INT64_MAX / ne)
            return fwi_fail(c->handle, FW_E_FORMAT,
                            "tensor '%s': element count overflows int64 "
                            "(dimensions %" PRId64 " x %" PRId64 " x %" PRId64
                            " x ...)",
                            t->name, t->ne[0], d > 0 ? t->ne[1] : 1,
                            d > 1 ? t->ne[2] : 1);
        n_elems *= ne;
    }
    uint32_t type;
    st = read_u32(c, t->name, &type);
    if (st == FW_OK)
        st = read_u64(c, t->name, &t->offset);
    if (st != FW_OK)
        return st;
    const fwi_type_info *ti = fwi_type_info_get((int32_t)type);
    if (!ti || type > INT32_MAX)
        return fwi_fail(c->handle, FW_E_UNSUPPORTED,
                        "tensor '%s': unknown tensor type id %" PRIu32,
                        t->name, type);
    if (!ti->block_elems)
        return fwi_fail(c->handle, FW_E_UNSUPPORTED,
                        "tensor '%s': type %" PRIu32 " (%s) was removed from "
                        "ggml and is not supported",
                        t->name, type, ti->name);
    t->type = (int32_t)type;
    if (t->ne[0] % ti->block_elems != 0)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "tensor '%s': row length %" PRId64 " is not a multiple "
                        "of the %s block size %d",
                        t->name, t->ne[0], ti->name, (int)ti->block_elems);
    uint64_t blocks = n_elems / (uint64_t)ti->block_elems;
    if (blocks > UINT64_MAX / (uint64_t)ti->block_bytes)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "tensor '%s': byte size overflows", t->name);
    t->n_bytes = blocks * (uint64_t)ti->block_bytes;
    if (t->offset % g->alignment != 0)
        return fwi_fail(c->handle, FW_E_FORMAT,
                        "tensor '%s': data offset %" PRIu64 " is not a "
                        "multiple of the alignment %" PRIu32,
                        t->name, t->offset, g->alignment);
    return FW_OK;
}

static int cmp_by_offset(const void *a, const void *b)
{
    const fwi_gguf_tensor *x = *(const fwi_gguf_tensor *const *)a;
    const fwi_gguf_tensor *y = *(const fwi_gguf_tensor *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static fw_status check_data(fwi_gguf *g, cursor *c)
{
    uint64_t data_size = g->data_offset <= c->size ? c->size - g->data_offset : 0;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        fwi_gguf_tensor *t = &g->tensors[i];
        if (t->offset > data_size || t->n_bytes > data_size - t->offset)
            return fwi_fail(c->handle, FW_E_FORMAT,
                            "tensor '%s': data at offset %" PRIu64 " + %" PRIu64
                            " bytes runs past the end of the data section "
                            "(%" PRIu64 " bytes from file offset %" PRIu64
                            ", file size %" PRIu64 ")",
                            t->name, t->offset, t->n_bytes, data_size,
                            g->data_offset, c->size);
        t->data = c->base + g->data_offset + t->offset;
    }
    if (g->n_tensors < 2)
        return FW_OK;
    fwi_gguf_tensor **order =
        fwi_malloc_array((size_t)g->n_tensors, sizeof *order);
    if (!order)
        return fwi_fail(c->handle, FW_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < g->n_tensors; i++)
        order[i] = &g->tensors[i];
    qsort(order, (size_t)g->n_tensors, sizeof *order, cmp_by_offset);
    fw_status st = FW_OK;
    const fwi_gguf_tensor *prev = NULL;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const fwi_gguf_tensor *t = order[i];
        if (t->n_bytes == 0)
            continue;
        if (prev && prev->offset + prev->n_bytes > t->offset) {
            st = fwi_fail(c->handle, FW_E_FORMAT,
                          "tensors '%s' (offset %" PRIu64 ", %" PRIu64
                          " bytes) and '%s' (offset %" PRIu64 ") overlap",
                          prev->name, prev->offset, prev->n_bytes, t->name,
                          t->offset);
            break;
        }
        prev = t;
    }
    fwi_free(order);
    return st;
}

fw_status fwi_gguf_parse(fwi_gguf *g, const void *data, uint64_t size,
                         const void *handle)
{
    memset(g, 0, sizeof *g);
    cursor c = {data, size, 0, handle};
    g->base = data;
    g->size = size;
    uint64_t n_tensors, n_kv;
    fw_status st = parse_header(g, &c, &n_tensors, &n_kv);
    if (st == FW_OK)
        st = parse_kvs(g, &c, n_kv);
    if (st == FW_OK)
        st = read_alignment(g, &c);
    if (st == FW_OK &&
        fwi_strmap_init(&g->tensor_map,
                        n_tensors < 64 ? (size_t)n_tensors : 64))
        st = fwi_fail(handle, FW_E_NOMEM, "out of memory");
    size_t tcap = 0;
    for (uint64_t i = 0; st == FW_OK && i < n_tensors; i++)
        st = parse_tensor_info(g, &c, i, &tcap);
    if (st == FW_OK) {
        uint64_t a = g->alignment;
        if (c.pos > UINT64_MAX - (a - 1))
            st = fwi_fail(handle, FW_E_FORMAT, "data offset overflows");
        else
            g->data_offset = (c.pos + a - 1) / a * a;
    }
    if (st == FW_OK && n_tensors > 0 && g->data_offset > size)
        st = fwi_fail(handle, FW_E_FORMAT,
                      "the data section would start at offset %" PRIu64
                      ", beyond the end of the file (size %" PRIu64 ")",
                      g->data_offset, size);
    if (st == FW_OK)
        st = check_data(g, &c);
    if (st != FW_OK)
        fwi_gguf_free(g);
    return st;
}

const fwi_gguf_kv *fwi_gguf_find_kv(const fwi_gguf *g, const char *key)
{
    int64_t i = fwi_strmap_get(&g->kv_map, key, strlen(key));
    return i < 0 ? NULL : &g->kv[i];
}

const fwi_gguf_tensor *fwi_gguf_find_tensor(const fwi_gguf *g,
                                            const char *name)
{
    int64_t i = fwi_strmap_get(&g->tensor_map, name, strlen(name));
    return i < 0 ? NULL : &g->tensors[i];
}
