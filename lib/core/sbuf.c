/* sbuf.c - growable byte buffer with JSON helpers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

void fwi_sbuf_free(fwi_sbuf *b)
{
    fwi_free(b->data);
    memset(b, 0, sizeof *b);
}

static int reserve(fwi_sbuf *b, size_t n)
{
    if (b->failed)
        return -1;
    if (n > SIZE_MAX - b->len - 1) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *d = fwi_realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void fwi_sbuf_put(fwi_sbuf *b, const void *s, size_t n)
{
    if (reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void fwi_sbuf_puts(fwi_sbuf *b, const char *s) { fwi_sbuf_put(b, s, strlen(s)); }

void fwi_sbuf_putc(fwi_sbuf *b, char c) { fwi_sbuf_put(b, &c, 1); }

void fwi_sbuf_printf(fwi_sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        fwi_sbuf_put(b, tmp, (size_t)n);
        return;
    }
    if (reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

size_t fwi_utf8_valid_len(const uint8_t *s, size_t n)
{
    if (n == 0)
        return 0;
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t min;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void fwi_sbuf_json_str(fwi_sbuf *b, const char *str, size_t n)
{
    const uint8_t *s = (const uint8_t *)str;
    fwi_sbuf_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            fwi_sbuf_put(b, esc, 2);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fwi_sbuf_puts(b, "\\n"); break;
            case '\r': fwi_sbuf_puts(b, "\\r"); break;
            case '\t': fwi_sbuf_puts(b, "\\t"); break;
            case '\b': fwi_sbuf_puts(b, "\\b"); break;
            case '\f': fwi_sbuf_puts(b, "\\f"); break;
            default: fwi_sbuf_printf(b, "\\u%04x", c); break;
            }
            i++;
        } else if (c < 0x80) {
            fwi_sbuf_putc(b, (char)c);
            i++;
        } else {
            size_t len = fwi_utf8_valid_len(s + i, n - i);
            if (len) {
                fwi_sbuf_put(b, s + i, len);
                i += len;
            } else {
                fwi_sbuf_puts(b, "\xEF\xBF\xBD");
                i++;
            }
        }
    }
    fwi_sbuf_putc(b, '"');
}

/* printf and strtod follow the C locale's decimal point, which a host
 * program may have changed: JSON always wants '.'. */
static void c_locale_point(char *s)
{
    for (; *s; s++)
        if (*s == ',')
            *s = '.';
}

void fwi_sbuf_json_f64(fwi_sbuf *b, double v)
{
    if (!isfinite(v)) {
        fwi_sbuf_puts(b, "null");
        return;
    }
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    c_locale_point(tmp);
    fwi_sbuf_puts(b, tmp);
}

void fwi_sbuf_json_f32(fwi_sbuf *b, float v)
{
    if (!isfinite(v)) {
        fwi_sbuf_puts(b, "null");
        return;
    }
    char tmp[40];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, (double)v);
        if (strtof(tmp, NULL) == v)
            break;
    }
    c_locale_point(tmp);
    fwi_sbuf_puts(b, tmp);
}
