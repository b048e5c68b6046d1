/*
 * json.h - a strict JSON parser (RFC 8259) into a read-only DOM, for the
 * library's own use (tokenizer.json, config files, ...).
 *
 * Strictness: exactly one value, surrounded by optional RFC whitespace
 * (space, tab, LF, CR); no comments, trailing commas, single quotes, NaN or
 * Infinity, leading zeros, leading '+', or byte order mark; control
 * characters (< 0x20) in strings must be escaped; the text must be valid
 * UTF-8 (no overlong forms, no encoded surrogates, nothing above U+10FFFF);
 * \u escapes are decoded to UTF-8, surrogate pairs combined, lone surrogates
 * rejected; duplicate keys in one object are an error (naming the key);
 * containers nest at most FWI_JSON_MAX_DEPTH deep.
 *
 * Errors are FW_E_FORMAT with a message "offset O (line L, column C): ...",
 * O a 0-based byte offset, L and C 1-based (lines end at LF; C counts bytes
 * from the start of the line), e.g.
 *   offset 17 (line 2, column 5): expected ':' after object key, found '1'
 * When a syntax error and a duplicate key are in the same object, the
 * syntax error is reported (duplicates are checked when the object closes).
 *
 * Numbers keep their source text; their double value is computed at parse
 * time by this file's own correctly rounded decimal-to-binary conversion
 * (round to nearest, ties to even: what strtod gives in the C locale),
 * independent of the C locale and of the libc.  Out-of-range magnitudes
 * become +-HUGE_VAL or (+-)0 as with strtod; the text stays exact.
 *
 * Memory: a parse allocates its DOM in a few large chunks (an arena) plus a
 * temporary work stack; fwi_json_free releases it all.  A document is
 * immutable after parsing and may be read from any number of threads.
 */
#ifndef FWI_JSON_H
#define FWI_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "fwinfer.h"

#define FWI_JSON_MAX_DEPTH 128

typedef enum fwi_json_type {
    FWI_JSON_NULL,
    FWI_JSON_FALSE,
    FWI_JSON_TRUE,
    FWI_JSON_NUMBER,
    FWI_JSON_STRING,
    FWI_JSON_ARRAY,
    FWI_JSON_OBJECT
} fwi_json_type;

typedef struct fwi_json fwi_json; /* a value node */

/* Parse text[0..len).  On success *out is the root (free it with
 * fwi_json_free).  Errors: FW_E_FORMAT (message as above), FW_E_NOMEM,
 * FW_E_INVALID_ARG (out NULL, or text NULL with len > 0), FW_E_UNSUPPORTED
 * (len >= 2^55); *out is then NULL.
 * Never reads past len; text need not be NUL-terminated.  The DOM does not
 * refer to text: it may be freed after the call. */
fw_status fwi_json_parse(const char *text, size_t len, const void *handle,
                         fwi_json **out);

/* Free a document: `root` must be what fwi_json_parse returned (not an inner
 * node).  NULL is ignored. */
void fwi_json_free(fwi_json *root);

/* The accessors accept NULL and nodes of any type, returning a neutral value
 * (0, NULL, FWI_JSON_NULL) when the node is NULL or of another type, so
 * lookups can be chained: fwi_json_get(fwi_json_get(root, "a"), "b"). */
fwi_json_type fwi_json_type_of(const fwi_json *v);

/* Array/object element count, string byte length; 0 for other types. */
size_t fwi_json_len(const fwi_json *v);

/* Array element or object value i (source order); NULL if out of range. */
const fwi_json *fwi_json_at(const fwi_json *v, size_t i);

/* Object key i (decoded, NUL-terminated; *len, if len is not NULL, gets its
 * byte length, as keys may contain U+0000). */
const char *fwi_json_key_at(const fwi_json *v, size_t i, size_t *len);

/* The member of an object with this key (NULL if absent).  Keys are unique
 * (duplicates fail the parse).  O(log n) for large objects. */
const fwi_json *fwi_json_get(const fwi_json *obj, const char *key);
const fwi_json *fwi_json_get_n(const fwi_json *obj, const char *key,
                               size_t key_len);

/* A string's decoded bytes, NUL-terminated (may contain U+0000: use *len). */
const char *fwi_json_str(const fwi_json *v, size_t *len);

/* A number's value (see above); 0.0 for non-numbers. */
double fwi_json_num(const fwi_json *v);

/* A number's source text, exactly as written ("0.6", "1e-5", "-0"),
 * NUL-terminated; NULL for non-numbers. */
const char *fwi_json_num_text(const fwi_json *v, size_t *len);

/* 1 if the number is an integer literal (no fraction, no exponent) whose
 * value fits int64_t, *i (if not NULL) then receiving it; else 0 and *i is
 * left unchanged.  "-0" gives 1 and 0; "1.0" and "1e2" give 0. */
int fwi_json_num_int(const fwi_json *v, int64_t *i);

#endif /* FWI_JSON_H */
