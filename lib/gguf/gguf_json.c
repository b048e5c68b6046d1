/* gguf_json.c - render GGUF metadata values as JSON. */
#include <inttypes.h>

#include "core/sbuf.h"
#include "gguf.h"

static void scalar_json(fwi_sbuf *b, int32_t t, const uint8_t *p)
{
    switch (t) {
    case FW_META_BOOL: fwi_sbuf_puts(b, p[0] ? "true" : "false"); break;
    case FW_META_FLOAT32: fwi_sbuf_json_f32(b, (float)fwi_gguf_scalar_f64(t, p)); break;
    case FW_META_FLOAT64: fwi_sbuf_json_f64(b, fwi_gguf_scalar_f64(t, p)); break;
    case FW_META_UINT64: fwi_sbuf_printf(b, "%" PRIu64, fwi_rd64(p)); break;
    default: {
        int ovf;
        fwi_sbuf_printf(b, "%" PRId64, fwi_gguf_scalar_i64(t, p, &ovf));
    }
    }
}

/* Render the elements of an array whose data starts at p (b == NULL: only
 * measure); returns the number of bytes the elements occupy (the file was
 * validated at load). */
static uint64_t array_json(fwi_sbuf *b, int32_t et, uint64_t n,
                           const uint8_t *p, int64_t max_elems)
{
    const uint8_t *start = p;
    size_t sz = fwi_gguf_scalar_size(et);
    if (!b) {
        if (sz)
            return n * sz;
        for (uint64_t i = 0; i < n; i++) {
            if (et == FW_META_STRING)
                p += 8 + fwi_rd64(p);
            else
                p += 12 + array_json(NULL, (int32_t)fwi_rd32(p),
                                     fwi_rd64(p + 4), p + 12, -1);
        }
        return (uint64_t)(p - start);
    }
    fwi_sbuf_putc(b, '[');
    for (uint64_t i = 0; i < n; i++) {
        int show = max_elems < 0 || i < (uint64_t)max_elems;
        if (show && i)
            fwi_sbuf_putc(b, ',');
        if (sz) {
            if (show)
                scalar_json(b, et, p);
            p += sz;
        } else if (et == FW_META_STRING) {
            uint64_t len = fwi_rd64(p);
            if (show)
                fwi_sbuf_json_str(b, (const char *)p + 8, (size_t)len);
            p += 8 + len;
        } else { /* nested array */
            int32_t inner = (int32_t)fwi_rd32(p);
            uint64_t m = fwi_rd64(p + 4);
            p += 12 + array_json(show ? b : NULL, inner, m, p + 12, max_elems);
        }
        if (b->failed)
            break;
    }
    if (max_elems >= 0 && n > (uint64_t)max_elems)
        fwi_sbuf_printf(b, "%s\"...(%" PRIu64 " more)\"", max_elems ? "," : "",
                        n - (uint64_t)max_elems);
    fwi_sbuf_putc(b, ']');
    return (uint64_t)(p - start);
}

void fwi_gguf_value_json(fwi_sbuf *b, int32_t type, int32_t elem_type,
                         uint64_t n, const uint8_t *data,
                         const uint64_t *str_offs, int64_t max_elems)
{
    (void)str_offs;
    if (type == FW_META_STRING)
        fwi_sbuf_json_str(b, (const char *)data, (size_t)n);
    else if (type == FW_META_ARRAY)
        array_json(b, elem_type, n, data, max_elems);
    else
        scalar_json(b, type, data);
}
