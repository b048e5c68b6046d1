/*
 * text.h - growable text buffers and the little JSON fwinfer-server needs
 * besides the library: writing strings, and finding a top-level member of
 * a request body (the server's own fields: model, stream, ...).  Requests
 * are parsed and validated by the library (fw_generate_json); nothing here
 * interprets a sampling field.
 */
#ifndef FWS_TEXT_H
#define FWS_TEXT_H

#include <stddef.h>

typedef struct sbuf {
    char *p;     /* NUL-terminated when not NULL */
    size_t n, cap;
    int failed;  /* an allocation failed: the content is incomplete */
} sbuf;

void sb_put(sbuf *b, const void *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A JSON string literal of s[0..n): control characters, quotes and
 * backslashes escaped; bytes that are not valid UTF-8 become U+FFFD. */
void sb_json_str(sbuf *b, const char *s, size_t n);
/* A float as JSON: %.9g, NaN and infinities as null. */
void sb_json_num(sbuf *b, double v);
void sb_free(sbuf *b);

/* Find the member `key` of the JSON object text[0..len) (top level only).
 * Returns 1 and the raw value text in *val, *val_len; 0 if the object has
 * no such member; -1 if the text is not a well-formed object as far as the
 * scan can tell (the library gives the precise message). */
int json_member(const char *text, size_t len, const char *key, const char **val,
                size_t *val_len);

/* Decode a JSON string literal (with its quotes) into out[0..cap) as UTF-8,
 * NUL-terminated.  Returns the decoded length, or -1 if the value is not a
 * string or does not fit. */
long json_str_decode(const char *val, size_t n, char *out, size_t cap);

/* 1 if the raw value is the literal `true`. */
int json_is_true(const char *val, size_t n);

#endif
