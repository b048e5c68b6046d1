/* gen.h - generation results (internal). */
#ifndef FWI_GEN_H
#define FWI_GEN_H

#include <stdint.h>

#include "core/core.h"
#include "core/sbuf.h"

#define FWI_MAX_TOP 20
#define FWI_RESULT_MAGIC 0x52574621u

/* One token of a choice (echoed prompt tokens first, then generated). */
typedef struct fwi_tokrec {
    fw_token id;
    int32_t prompt;        /* an echoed prompt token */
    float logprob;         /* raw; NaN: null (first prompt token) */
    float sampling_lp;     /* NaN for prompt tokens */
    int32_t text_offset;   /* characters into the choice's text */
    int32_t n_top;         /* -1: null */
    fw_token top_ids[FWI_MAX_TOP];
    float top_lp[FWI_MAX_TOP];
} fwi_tokrec;

typedef struct fwi_choice {
    fwi_sbuf text;         /* echo + generated text, cut at a stop string */
    fwi_sbuf raw;          /* generated text with special tokens as text */
    fwi_tokrec *recs;
    size_t n_recs, cap_recs;
    size_t n_echo;         /* recs[0..n_echo) are prompt tokens */
    int32_t n_generated;
    const char *finish;
    fw_token *gen_ids;     /* built on demand by fw_result_tokens */
} fwi_choice;

struct fw_result {
    uint32_t magic;
    const fw_model *model; /* must outlive the result */
    int32_t n_vocab;
    int32_t n_choices;
    fwi_choice *choices;
    fw_token *prompt;
    size_t n_prompt;
    char *prompt_text;     /* NULL for a token prompt */
    int prompt_is_tokens;
    size_t echo_from;
    int32_t prompt_evaluated;
    int logprobs, top_n, echo, raw_output;
    char *sampling_json;
    uint64_t seed;
    int64_t created;
};

/* The model of a context (NULL for a bad handle). */
const fw_model *fwi_context_model(const fw_context *ctx);
/* The seed a preset-built sampler runs with. */
uint64_t fwi_sampler_seed(const fw_sampler *s);
void fwi_sampler_effective(const fw_sampler *s, fwi_sbuf *b);

#endif
