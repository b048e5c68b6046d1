/* detok.h - tokens to text. */
#ifndef FWI_DETOK_H
#define FWI_DETOK_H

#include "core/sbuf.h"
#include "vocab.h"

/* Append the text of tokens[0..n) (FW_DETOK_* flags) to sb. */
void fwi_detokenize(const fwi_vocab *v, const int32_t *tokens, size_t n,
                    uint32_t flags, fwi_sbuf *sb);

/* Length of the longest prefix of s[0..n) that does not end inside an
 * incomplete UTF-8 sequence (an incomplete tail of at most 3 bytes is held
 * back; anything else, valid or not, is passed through). */
size_t fwi_utf8_complete_prefix(const char *s, size_t n);

#endif
