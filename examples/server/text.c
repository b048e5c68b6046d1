/* text.c - see text.h. */
#include "text.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_put(sbuf *b, const void *s, size_t n)
{
    if (b->failed)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

void sb_printf(sbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        sb_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_put(b, big, (size_t)n);
    free(big);
}

void sb_free(sbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void sb_json_str(sbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    sb_put(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            sb_put(b, esc, 2);
            i++;
        } else if (c == '\n') {
            sb_put(b, "\\n", 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_put(b, esc, 6);
            i++;
        } else {
            size_t len = utf8_len(u + i, n - i);
            if (len == 0) {
                sb_put(b, "\\ufffd", 6);
                i++;
            } else {
                sb_put(b, u + i, len);
                i += len;
            }
        }
    }
    sb_put(b, "\"", 1);
}

void sb_json_num(sbuf *b, double v)
{
    if (isnan(v) || isinf(v))
        sb_puts(b, "null");
    else
        sb_printf(b, "%.9g", v);
}

/* ---- scanning ---- */

static size_t skip_ws(const char *t, size_t len, size_t i)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* Past the string literal starting at t[i] == '"', or 0 if unterminated. */
static size_t skip_str(const char *t, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (t[i] == '\\')
            i++;
        else if (t[i] == '"')
            return i + 1;
        else if ((unsigned char)t[i] < 0x20)
            return 0;
    }
    return 0;
}

/* Past the value starting at t[i], or 0 if malformed.  Containers are
 * skipped by counting brackets outside strings (no recursion: any depth). */
static size_t skip_value(const char *t, size_t len, size_t i)
{
    if (i >= len)
        return 0;
    if (t[i] == '"')
        return skip_str(t, len, i);
    if (t[i] == '{' || t[i] == '[') {
        size_t depth = 0;
        while (i < len) {
            char c = t[i];
            if (c == '"') {
                i = skip_str(t, len, i);
                if (!i)
                    return 0;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return i + 1;
            }
            i++;
        }
        return 0;
    }
    size_t s = i;
    while (i < len && (t[i] == '-' || t[i] == '+' || t[i] == '.' ||
                       (t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'z') ||
                       (t[i] >= 'A' && t[i] <= 'Z')))
        i++;
    return i > s ? i : 0;
}

int json_member(const char *t, size_t len, const char *key, const char **val,
                size_t *val_len)
{
    size_t klen = strlen(key);
    size_t i = skip_ws(t, len, 0);
    if (i >= len || t[i] != '{')
        return -1;
    i = skip_ws(t, len, i + 1);
    if (i < len && t[i] == '}')
        return skip_ws(t, len, i + 1) == len ? 0 : -1;
    int found = 0;
    for (;;) {
        if (i >= len || t[i] != '"')
            return -1;
        size_t ke = skip_str(t, len, i);
        if (!ke)
            return -1;
        int match = ke - i - 2 == klen && !memcmp(t + i + 1, key, klen);
        i = skip_ws(t, len, ke);
        if (i >= len || t[i] != ':')
            return -1;
        i = skip_ws(t, len, i + 1);
        size_t ve = skip_value(t, len, i);
        if (!ve)
            return -1;
        if (match) { /* the last one wins, as in the library */
            *val = t + i;
            *val_len = ve - i;
            found = 1;
        }
        i = skip_ws(t, len, ve);
        if (i < len && t[i] == ',') {
            i = skip_ws(t, len, i + 1);
            continue;
        }
        if (i < len && t[i] == '}')
            return skip_ws(t, len, i + 1) == len ? found : -1;
        return -1;
    }
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

long json_str_decode(const char *v, size_t n, char *out, size_t cap)
{
    if (n < 2 || v[0] != '"' || v[n - 1] != '"' || cap == 0)
        return -1;
    size_t o = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        char tmp[4];
        size_t tn = 1;
        tmp[0] = v[i];
        if (v[i] == '\\') {
            if (i + 2 >= n)
                return -1;
            char e = v[++i];
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            const char *at = strchr(from, e);
            if (e && at) {
                tmp[0] = to[at - from];
            } else if (e == 'u') {
                uint32_t cp;
                if (i + 4 >= n || hex4(v + i + 1, &cp))
                    return -1;
                i += 4;
                if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < n && v[i + 1] == '\\' &&
                    v[i + 2] == 'u') {
                    uint32_t lo;
                    if (!hex4(v + i + 3, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        i += 6;
                    }
                }
                if (cp >= 0xd800 && cp <= 0xdfff)
                    cp = 0xfffd;
                if (cp < 0x80) {
                    tmp[0] = (char)cp;
                } else if (cp < 0x800) {
                    tmp[0] = (char)(0xc0 | cp >> 6), tmp[1] = (char)(0x80 | (cp & 0x3f));
                    tn = 2;
                } else if (cp < 0x10000) {
                    tmp[0] = (char)(0xe0 | cp >> 12);
                    tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    tmp[2] = (char)(0x80 | (cp & 0x3f));
                    tn = 3;
                } else {
                    tmp[0] = (char)(0xf0 | cp >> 18);
                    tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                    tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    tmp[3] = (char)(0x80 | (cp & 0x3f));
                    tn = 4;
                }
            } else {
                return -1;
            }
        }
        if (o + tn >= cap)
            return -1;
        memcpy(out + o, tmp, tn);
        o += tn;
    }
    out[o] = 0;
    return (long)o;
}

int json_is_true(const char *val, size_t n) { return n == 4 && !memcmp(val, "true", 4); }
