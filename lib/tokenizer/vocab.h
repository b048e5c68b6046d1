/*
 * vocab.h - a tokenizer vocabulary read from GGUF metadata
 * (tokenizer.ggml.*) or from a tiktoken rank file, and the tokenizers and
 * detokenizer that run on it.
 *
 * Token texts point into the model file (or into the vocabulary's own
 * storage for tiktoken files); nothing here changes after loading, so a
 * vocabulary is shared by any number of threads.
 */
#ifndef FWI_VOCAB_H
#define FWI_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "core/strmap.h"
#include "fwinfer.h"
#include "gguf/gguf.h"

struct fwi_pretok;

typedef enum fwi_vocab_type {
    FWI_VOCAB_NONE = 0,
    FWI_VOCAB_SPM = 1, /* SentencePiece BPE, scores (tokenizer.ggml.model "llama") */
    FWI_VOCAB_BPE = 2, /* byte-level BPE, merges or ranks ("gpt2", tiktoken) */
} fwi_vocab_type;

typedef struct fwi_token_info {
    const char *text; /* not NUL-terminated */
    uint32_t len;
    uint32_t attr; /* FW_TOKEN_ATTR_* */
    float score;
} fwi_token_info;

typedef struct fwi_vocab {
    fwi_vocab_type type;
    int32_t n_tokens;
    fwi_token_info *tokens;
    fwi_strmap text_to_id;  /* token text -> id (last duplicate wins) */
    fwi_strmap merge_rank;  /* "left right" -> rank (GGUF merges) */
    int rank_by_token;      /* tiktoken: rank(left,right) = id of left+right */
    struct fwi_pretok *pretok;
    int ignore_merges;      /* whole pre-token lookup first (Llama 3) */

    /* special ids, -1 when absent */
    int32_t bos, eos, eot, eom, unk, pad, sep, nl;
    int32_t *eog;           /* end-of-generation set */
    int32_t n_eog;
    int add_bos, add_eos, add_space_prefix, clean_spaces;

    int32_t *special;       /* control/user-defined/unknown ids, longest first */
    int32_t n_special;
    /* Distinct byte lengths of the special tokens starting with byte b:
     * special_lens[special_len_start[b] .. special_len_start[b + 1]). */
    uint32_t special_len_start[257];
    uint32_t *special_lens;
    int32_t byte_tokens[256]; /* SPM: id of <0xNN>, or -1 */

    char *pre_name;         /* tokenizer.ggml.pre or "default" */
    char *owned_text;       /* tiktoken: storage of the token texts */
} fwi_vocab;

/* Build from GGUF metadata.  Returns FW_OK with *out NULL when the file has
 * no tokenizer.  Errors name the key and the numbers involved. */
fw_status fwi_vocab_from_gguf(const fwi_gguf *g, const void *handle,
                              fwi_vocab **out);

/* Build from a tiktoken rank file (base64 bytes, space, rank per line) and a
 * pre-tokenizer name. */
fw_status fwi_vocab_from_tiktoken(const char *data, size_t size,
                                  const char *pre, const void *handle,
                                  fwi_vocab **out);

void fwi_vocab_free(fwi_vocab *v);

/* The id of token text s[0..n), or -1. */
int32_t fwi_vocab_find(const fwi_vocab *v, const char *s, size_t n);

/* Tokenize; `emit` receives each token.  Returns FW_OK or FW_E_NOMEM. */
typedef struct fwi_tok_out {
    int32_t *ids;
    size_t n, cap; /* grows; caller frees ids */
    int failed;
} fwi_tok_out;

fw_status fwi_tokenize(const fwi_vocab *v, const char *text, size_t len,
                       int add_special, int parse_special, fwi_tok_out *out,
                       const void *handle);

/* The text of one token as the detokenizer renders it (appended to sb).
 * `lstrip`: drop one leading space; `special`: render control tokens. */
struct fwi_sbuf;
void fwi_token_piece(const fwi_vocab *v, int32_t id, int lstrip, int special,
                     struct fwi_sbuf *sb);

#endif
