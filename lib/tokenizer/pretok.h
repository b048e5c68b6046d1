/* Regex pre-tokenizers of byte-level BPE vocabularies, keyed by the GGUF
 * `tokenizer.ggml.pre` name, reproducing llama.cpp's unicode_regex_split():
 *
 *   pieces = [whole text]
 *   for each regex R of the pre-tokenizer, in order:
 *       for each piece P: run R over P alone (P is the whole subject: ^, $,
 *       lookaheads and \b see P's bounds), finditer-style, left to right;
 *       emit the unmatched span before each match, then the match; after
 *       the last match emit the unmatched rest of P
 *   empty pieces are dropped (llama.cpp keeps them, but they produce no
 *   tokens).
 *
 * Matching follows Python's `regex` module on the same pattern strings,
 * which are those llama.cpp uses (src/llama-vocab.cpp). Non-ASCII literal
 * characters of llama.cpp's patterns are written here as \uXXXX escapes. */
#ifndef FWI_TOKENIZER_PRETOK_H
#define FWI_TOKENIZER_PRETOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "regex.h"

/* Static description of one pre-tokenizer. */
struct fwi_pretok_def {
    const char *id;               /* canonical name */
    const char *const *regexes;   /* applied in order */
    size_t n_regexes;
    bool byte_encode;             /* pieces get the GPT-2 byte mapping (false: raw UTF-8) */
};

/* Look a `tokenizer.ggml.pre` name up (aliases included, exact match).
 * Returns NULL for unknown names. */
const struct fwi_pretok_def *fwi_pretok_find(const char *name);

/* Enumerate all accepted names: returns the i-th name, NULL past the end. */
const char *fwi_pretok_name_at(size_t i);

struct fwi_pretok; /* compiled pre-tokenizer: immutable, shareable */

/* Compile def's regexes. *out is owned by the caller (fwi_pretok_free). On
 * failure errbuf (may be NULL) receives a message. */
enum fwi_regex_status fwi_pretok_create(const struct fwi_pretok_def *def, struct fwi_pretok **out,
                                        char *errbuf, size_t errbuf_size);

void fwi_pretok_free(struct fwi_pretok *pt);

const struct fwi_pretok_def *fwi_pretok_def_of(const struct fwi_pretok *pt);

/* Split cps[0..n) into pieces. On FWI_REGEX_OK, *ends is a new array owned
 * by the caller (release with free()) of *n_pieces strictly increasing code
 * point offsets: piece i is [i ? ends[i-1] : 0, ends[i]); the last entry is
 * n (no pieces when n == 0; *ends may then be NULL). Errors:
 * FWI_REGEX_ERR_NOMEM, FWI_REGEX_ERR_ARG. */
enum fwi_regex_status fwi_pretok_split(const struct fwi_pretok *pt, const uint32_t *cps, size_t n,
                                       size_t **ends, size_t *n_pieces);

#endif /* FWI_TOKENIZER_PRETOK_H */
