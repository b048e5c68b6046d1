/* sbuf.h - a growable byte buffer with JSON helpers.  After an allocation
 * failure the buffer is marked failed and further appends are ignored, so a
 * caller checks once at the end. */
#ifndef FWI_SBUF_H
#define FWI_SBUF_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

typedef struct fwi_sbuf {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} fwi_sbuf;

void fwi_sbuf_free(fwi_sbuf *b);
void fwi_sbuf_put(fwi_sbuf *b, const void *s, size_t n);
void fwi_sbuf_puts(fwi_sbuf *b, const char *s);
void fwi_sbuf_putc(fwi_sbuf *b, char c);
void fwi_sbuf_printf(fwi_sbuf *b, const char *fmt, ...) FWI_PRINTF(2, 3);
/* A JSON string literal (with quotes); invalid UTF-8 bytes become U+FFFD. */
void fwi_sbuf_json_str(fwi_sbuf *b, const char *s, size_t n);
/* A JSON number for a double: shortest text that reads back to the same
 * value; NaN and infinities (not valid JSON) become null. */
void fwi_sbuf_json_f64(fwi_sbuf *b, double v);
/* The same for a float: the shortest text that reads back to the same float
 * (1e-05, not 9.99999974737875e-06). */
void fwi_sbuf_json_f32(fwi_sbuf *b, float v);

/* Length of the valid UTF-8 sequence starting at s[0] (1..4), or 0 if the
 * bytes there are not valid UTF-8. */
size_t fwi_utf8_valid_len(const uint8_t *s, size_t n);

#endif
