/* tokenize_impl.h - internals shared by the tokenizer files. */
#ifndef FWI_TOKENIZE_IMPL_H
#define FWI_TOKENIZE_IMPL_H

#include "core/core.h"
#include "vocab.h"

static inline void fwi_tok_push(fwi_tok_out *o, int32_t id)
{
    if (o->failed)
        return;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 64;
        int32_t *p = fwi_realloc(o->ids, cap * sizeof *p);
        if (!p) {
            o->failed = 1;
            return;
        }
        o->ids = p;
        o->cap = cap;
    }
    o->ids[o->n++] = id;
}

/* SPM on text whose spaces are already U+2581. */
fw_status fwi_spm_tokenize(const fwi_vocab *v, const char *text, size_t len,
                           fwi_tok_out *out);
/* Byte-level BPE on raw UTF-8 text (pre-tokenizer, mapping, merges). */
fw_status fwi_bpe_tokenize(const fwi_vocab *v, const char *text, size_t len,
                           fwi_tok_out *out);

#endif
