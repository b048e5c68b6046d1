/* gen.h - generation results (internal). */
#ifndef FWI_GEN_H
#define FWI_GEN_H

#include <stdint.h>

#include "core/core.h"
#include "core/json.h"
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

/* A piece of a chat prompt (raw_output.prompt_fragments): a token the
 * template forced (a BOS the tokenizer added, a control or user-defined
 * token's text in the rendered prompt) or a run of plain text. */
typedef struct fwi_frag {
    fw_token token;        /* -1: the text prompt_text[off, off + len) */
    size_t off, len;
} fwi_frag;

/* The prompt of a request: text, token ids, or a rendered chat prompt. */
typedef struct fwi_prompt {
    const char *text;          /* text, when tokens is NULL */
    size_t text_len;
    const fw_token *tokens;    /* ids used as given, or NULL */
    size_t n_tokens;
    const char *chat_template; /* text is a rendered chat prompt: "model",
                                  "override" or "chatml" (static); NULL for
                                  a plain text or token prompt */
} fwi_prompt;

/* The tokens generation evaluates for a text or chat prompt (not for token
 * ids).  Plain text: the model's BOS (and EOS) added, special tokens
 * parsed.  Chat: special tokens parsed, BOS added only if the model adds it
 * and the text does not start with the BOS token's text, no EOS; *frags
 * (may be NULL) receives the fragments.  Errors are recorded on `h`. */
fw_status fwi_prompt_tokenize(const fw_model *m, const void *h, const fwi_prompt *p,
                              fw_token **ids, size_t *n_ids, fwi_frag **frags,
                              size_t *n_frags);

struct fw_result {
    uint32_t magic;
    const fw_model *model; /* must outlive the result */
    int32_t n_vocab;
    int32_t n_choices;
    fwi_choice *choices;
    fw_token *prompt;
    size_t n_prompt;
    char *prompt_text;     /* NULL for a token prompt */
    size_t prompt_text_len;
    int prompt_is_tokens;
    const char *chat_template; /* chat requests: "model", "override",
                                  "chatml"; NULL otherwise */
    fwi_frag *frags;       /* chat requests: the prompt fragments */
    size_t n_frags;
    size_t echo_from;
    int32_t prompt_evaluated;
    int logprobs, top_n, echo, raw_output;
    char *sampling_json;
    uint64_t seed;
    int64_t created;
};

/* Generate for a prepared prompt (fw_generate, fw_generate_json,
 * fw_generate_chat). */
fw_status fwi_generate(fw_context *ctx, const fwi_prompt *p,
                       const fw_sampler_params *sampling,
                       const fw_request *request, fw_event_fn on_event,
                       void *user_data, fw_result **out);

/* Render a chat prompt for generation: messages as a parsed JSON array
 * (`messages`) or a C array (`msgs`, used when messages is NULL), with
 * `tmpl`, else the model's tokenizer.chat_template, else ChatML.  `vars`
 * (may be NULL) is a JSON object of extra template variables.  The text is
 * appended to `out`; *kind receives "override", "model" or "chatml".
 * Errors are recorded on `h` (a message naming the message index or the
 * template's own error). */
fw_status fwi_chat_prompt(const fw_model *m, const void *h, const fwi_json *messages,
                          const fw_chat_message *msgs, size_t n_msgs, const char *tmpl,
                          const fwi_json *vars, int add_generation_prompt, fwi_sbuf *out,
                          const char **kind);

/* On failure (st != FW_OK), copy the thread's last error into the
 * context's fw_context_errmsg slot (the generation entry points call it on
 * the way out); returns st. */
fw_status fwi_context_record(fw_context *ctx, fw_status st);
/* The model of a context (NULL for a bad handle). */
const fw_model *fwi_context_model(const fw_context *ctx);
/* The seed a preset-built sampler runs with. */
uint64_t fwi_sampler_seed(const fw_sampler *s);
void fwi_sampler_effective(const fw_sampler *s, fwi_sbuf *b);

#endif
