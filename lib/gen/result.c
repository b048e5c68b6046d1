/* result.c - generation results: accessors and the OpenAI JSON (completions
 * for text and token prompts, chat completions for chat requests). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "gen.h"

static int rok(const fw_result *r) { return r && r->magic == FWI_RESULT_MAGIC; }

static const fwi_choice *choice(const fw_result *r, int32_t i)
{
    return rok(r) && i >= 0 && i < r->n_choices ? &r->choices[i] : NULL;
}

FW_API void fw_result_free(fw_result *r)
{
    if (!rok(r))
        return;
    for (int32_t i = 0; r->choices && i < r->n_choices; i++) {
        fwi_sbuf_free(&r->choices[i].text);
        fwi_sbuf_free(&r->choices[i].raw);
        fwi_free(r->choices[i].recs);
        fwi_free(r->choices[i].gen_ids);
    }
    fwi_free(r->choices);
    fwi_free(r->prompt);
    fwi_free(r->prompt_text);
    fwi_free(r->frags);
    fwi_free(r->sampling_json);
    r->magic = 0;
    fwi_free(r);
}

FW_API int32_t fw_result_n_choices(const fw_result *r) { return rok(r) ? r->n_choices : 0; }

FW_API fw_status fw_result_text(const fw_result *r, int32_t i, char *buf, size_t cap,
                                size_t *n_needed)
{
    if (!rok(r))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "result is NULL or freed");
    const fwi_choice *c = choice(r, i);
    if (!c)
        return fwi_fail(NULL, FW_E_NOT_FOUND, "no choice %d", (int)i);
    return fwi_out_text(r, c->text.data ? c->text.data : "", c->text.len, buf, cap,
                        n_needed);
}

FW_API const char *fw_result_finish_reason(const fw_result *r, int32_t i)
{
    const fwi_choice *c = choice(r, i);
    return c ? c->finish : NULL;
}

FW_API const fw_token *fw_result_tokens(const fw_result *r, int32_t i, size_t *n)
{
    fwi_choice *c = (fwi_choice *)choice(r, i);
    if (n)
        *n = 0;
    if (!c) {
        fwi_fail(NULL, FW_E_NOT_FOUND, "fw_result_tokens: no choice %d", (int)i);
        return NULL;
    }
    if (!c->gen_ids) {
        c->gen_ids = fwi_malloc_array(c->n_recs ? c->n_recs : 1, sizeof *c->gen_ids);
        if (!c->gen_ids) {
            fwi_fail(r, FW_E_NOMEM, "fw_result_tokens: out of memory");
            return NULL;
        }
        for (size_t k = c->n_echo; k < c->n_recs; k++)
            c->gen_ids[k - c->n_echo] = c->recs[k].id;
    }
    if (n)
        *n = c->n_recs - c->n_echo;
    return c->gen_ids;
}

FW_API fw_status fw_result_logprob(const fw_result *r, int32_t i, size_t j,
                                   float *logprob, float *sampling_logprob)
{
    if (!rok(r))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "result is NULL or freed");
    const fwi_choice *c = choice(r, i);
    if (!c || j >= c->n_recs - c->n_echo)
        return fwi_fail(NULL, FW_E_NOT_FOUND, "no token %zu in choice %d", j, (int)i);
    const fwi_tokrec *t = &c->recs[c->n_echo + j];
    if (logprob)
        *logprob = t->logprob;
    if (sampling_logprob)
        *sampling_logprob = t->sampling_lp;
    return FW_OK;
}

FW_API fw_status fw_result_usage(const fw_result *r, int32_t *prompt,
                                 int32_t *completion, int32_t *evaluated)
{
    if (!rok(r))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "result is NULL or freed");
    int32_t comp = 0;
    for (int32_t i = 0; i < r->n_choices; i++)
        comp += r->choices[i].n_generated;
    if (prompt)
        *prompt = (int32_t)r->n_prompt;
    if (completion)
        *completion = comp;
    if (evaluated)
        *evaluated = r->prompt_evaluated;
    return FW_OK;
}

FW_API uint64_t fw_result_seed(const fw_result *r) { return rok(r) ? r->seed : 0; }

FW_API fw_status fw_result_prompt_text(const fw_result *r, char *buf, size_t cap,
                                       size_t *n_needed)
{
    if (n_needed)
        *n_needed = 0;
    if (!rok(r))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "result is NULL or freed");
    if (!r->prompt_text)
        return fwi_fail(r, FW_E_NOT_FOUND, "the prompt was given as token ids: it has no text");
    return fwi_out_text(r, r->prompt_text, r->prompt_text_len, buf, cap, n_needed);
}

FW_API const char *fw_result_chat_template(const fw_result *r)
{
    return rok(r) ? r->chat_template : NULL;
}

/* ---- JSON ---- */

static void num_or_null(fwi_sbuf *b, float v)
{
    if (isnan(v))
        fwi_sbuf_puts(b, "null");
    else
        fwi_sbuf_json_f32(b, v);
}

/* The piece of a token as the logprobs "tokens" list shows it (special
 * tokens by their text). */
static void piece(const fw_model *m, fw_token t, fwi_sbuf *b)
{
    char buf[256];
    size_t n;
    fw_status st = fw_token_to_piece(m, t, FW_DETOK_UNPARSE_SPECIAL, buf, sizeof buf, &n);
    if (st == FW_OK)
        fwi_sbuf_json_str(b, buf, n);
    else
        fwi_sbuf_puts(b, "\"\"");
    if (st == FW_E_NOMEM)
        b->failed = 1;
}

static void logprobs_json(const fw_result *r, const fw_model *m, const fwi_tokrec *recs,
                          size_t n, fwi_sbuf *b)
{
    fwi_sbuf_puts(b, "{\"tokens\":[");
    for (size_t k = 0; k < n; k++) {
        if (k)
            fwi_sbuf_putc(b, ',');
        piece(m, recs[k].id, b);
    }
    fwi_sbuf_puts(b, "],\"token_logprobs\":[");
    for (size_t k = 0; k < n; k++) {
        if (k)
            fwi_sbuf_putc(b, ',');
        num_or_null(b, recs[k].logprob);
    }
    fwi_sbuf_puts(b, "],\"top_logprobs\":[");
    for (size_t k = 0; k < n; k++) {
        if (k)
            fwi_sbuf_putc(b, ',');
        if (recs[k].n_top < 0) {
            fwi_sbuf_puts(b, "null");
            continue;
        }
        fwi_sbuf_putc(b, '{');
        for (int j = 0; j < recs[k].n_top; j++) {
            if (j)
                fwi_sbuf_putc(b, ',');
            piece(m, recs[k].top_ids[j], b);
            fwi_sbuf_putc(b, ':');
            num_or_null(b, recs[k].top_lp[j]);
        }
        fwi_sbuf_putc(b, '}');
    }
    fwi_sbuf_puts(b, "],\"text_offset\":[");
    for (size_t k = 0; k < n; k++)
        fwi_sbuf_printf(b, "%s%d", k ? "," : "", (int)recs[k].text_offset);
    fwi_sbuf_puts(b, "],\"token_ids\":[");
    for (size_t k = 0; k < n; k++)
        fwi_sbuf_printf(b, "%s%d", k ? "," : "", (int)recs[k].id);
    fwi_sbuf_puts(b, "],\"sampling_logprobs\":[");
    for (size_t k = 0; k < n; k++) {
        if (k)
            fwi_sbuf_putc(b, ',');
        num_or_null(b, recs[k].sampling_lp);
    }
    fwi_sbuf_puts(b, "]}");
    (void)r;
}

/* A token's text and bytes as the chat logprobs show them: "token" (the
 * piece, special tokens by their text, invalid UTF-8 as U+FFFD), "bytes"
 * (the piece's bytes), "logprob". */
static void chat_token(const fw_model *m, fw_token t, float lp, fwi_sbuf *b)
{
    char buf[256];
    size_t n = 0;
    fw_status st = fw_token_to_piece(m, t, FW_DETOK_UNPARSE_SPECIAL, buf, sizeof buf, &n);
    if (st != FW_OK)
        n = 0;
    if (st == FW_E_NOMEM)
        b->failed = 1;
    fwi_sbuf_puts(b, "\"token\":");
    fwi_sbuf_json_str(b, buf, n);
    fwi_sbuf_puts(b, ",\"logprob\":");
    num_or_null(b, lp);
    fwi_sbuf_puts(b, ",\"bytes\":[");
    for (size_t k = 0; k < n; k++)
        fwi_sbuf_printf(b, "%s%u", k ? "," : "", (unsigned)(unsigned char)buf[k]);
    fwi_sbuf_putc(b, ']');
}

/* Logprobs in the chat-completions shape: {"content": [{token, logprob,
 * bytes, top_logprobs: [{token, logprob, bytes}], token_id,
 * sampling_logprob}]}; echoed prompt tokens first, the first with a null
 * logprob. */
static void chat_logprobs_json(const fw_model *m, const fwi_tokrec *recs, size_t n,
                               fwi_sbuf *b)
{
    fwi_sbuf_puts(b, "{\"content\":[");
    for (size_t k = 0; k < n; k++) {
        const fwi_tokrec *t = &recs[k];
        fwi_sbuf_puts(b, k ? ",{" : "{");
        chat_token(m, t->id, t->logprob, b);
        fwi_sbuf_puts(b, ",\"top_logprobs\":[");
        for (int j = 0; j < t->n_top; j++) {
            fwi_sbuf_puts(b, j ? ",{" : "{");
            chat_token(m, t->top_ids[j], t->top_lp[j], b);
            fwi_sbuf_putc(b, '}');
        }
        fwi_sbuf_printf(b, "],\"token_id\":%d,\"sampling_logprob\":", (int)t->id);
        num_or_null(b, t->sampling_lp);
        fwi_sbuf_putc(b, '}');
    }
    fwi_sbuf_puts(b, "]}");
}

static void raw_output_json(const fw_result *r, const fw_model *m, const fwi_choice *c,
                            fwi_sbuf *b)
{
    fwi_sbuf_puts(b, ",\"raw_output\":{\"prompt_token_ids\":[");
    for (size_t k = 0; k < r->n_prompt; k++)
        fwi_sbuf_printf(b, "%s%d", k ? "," : "", (int)r->prompt[k]);
    fwi_sbuf_puts(b, "],\"prompt_fragments\":[");
    if (r->prompt_is_tokens) {
        for (size_t k = 0; k < r->n_prompt; k++)
            fwi_sbuf_printf(b, "%s%d", k ? "," : "", (int)r->prompt[k]);
    } else if (r->chat_template) {
        for (size_t k = 0; k < r->n_frags; k++) {
            const fwi_frag *f = &r->frags[k];
            if (k)
                fwi_sbuf_putc(b, ',');
            if (f->token >= 0)
                fwi_sbuf_printf(b, "%d", (int)f->token);
            else
                fwi_sbuf_json_str(b, r->prompt_text + f->off, f->len);
        }
    } else {
        fwi_sbuf_json_str(b, r->prompt_text, r->prompt_text_len);
    }
    fwi_sbuf_puts(b, "],\"completion\":");
    fwi_sbuf_json_str(b, c->raw.data ? c->raw.data : "", c->raw.len);
    fwi_sbuf_puts(b, ",\"completion_token_ids\":[");
    for (size_t k = c->n_echo; k < c->n_recs; k++)
        fwi_sbuf_printf(b, "%s%d", k > c->n_echo ? "," : "", (int)c->recs[k].id);
    fwi_sbuf_putc(b, ']');
    if (r->logprobs) {
        fwi_sbuf_puts(b, ",\"completion_logprobs\":");
        logprobs_json(r, m, c->recs + c->n_echo, c->n_recs - c->n_echo, b);
    }
    if (r->chat_template) {
        fwi_sbuf_puts(b, ",\"chat_template\":");
        fwi_sbuf_json_str(b, r->chat_template, strlen(r->chat_template));
    }
    fwi_sbuf_putc(b, '}');
}

fw_status fwi_result_json(const fw_result *r, const fw_model *m, const char *model_name,
                          fwi_sbuf *b);

fw_status fwi_result_json(const fw_result *r, const fw_model *m, const char *model_name,
                          fwi_sbuf *b)
{
    uint64_t id = r->seed * 0x9e3779b97f4a7c15ull ^ (uint64_t)r->created;
    int chat = r->chat_template != NULL;
    fwi_sbuf_printf(b, "{\"id\":\"%s-%016" PRIx64 "\",\"object\":\"%s\","
                       "\"created\":%" PRId64 ",\"model\":",
                    chat ? "chatcmpl" : "cmpl", id, chat ? "chat.completion" : "text_completion",
                    r->created);
    fwi_sbuf_json_str(b, model_name ? model_name : "", model_name ? strlen(model_name) : 0);
    fwi_sbuf_puts(b, ",\"choices\":[");
    int32_t comp = 0;
    for (int32_t i = 0; i < r->n_choices; i++) {
        const fwi_choice *c = &r->choices[i];
        comp += c->n_generated;
        fwi_sbuf_printf(b, "%s{\"index\":%d,", i ? "," : "", (int)i);
        fwi_sbuf_puts(b, chat ? "\"message\":{\"role\":\"assistant\",\"content\":" : "\"text\":");
        fwi_sbuf_json_str(b, c->text.data ? c->text.data : "", c->text.len);
        fwi_sbuf_puts(b, chat ? "},\"finish_reason\":" : ",\"finish_reason\":");
        fwi_sbuf_json_str(b, c->finish, strlen(c->finish));
        fwi_sbuf_puts(b, ",\"logprobs\":");
        if (!r->logprobs)
            fwi_sbuf_puts(b, "null");
        else if (chat)
            chat_logprobs_json(m, c->recs, c->n_recs, b);
        else
            logprobs_json(r, m, c->recs, c->n_recs, b);
        if (r->raw_output)
            raw_output_json(r, m, c, b);
        fwi_sbuf_putc(b, '}');
    }
    fwi_sbuf_printf(b, "],\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,"
                       "\"total_tokens\":%d,\"prompt_tokens_evaluated\":%d},"
                       "\"sampling\":%s}",
                    (int)r->n_prompt, (int)comp, (int)r->n_prompt + (int)comp,
                    (int)r->prompt_evaluated, r->sampling_json ? r->sampling_json : "{}");
    return b->failed ? fwi_fail(NULL, FW_E_NOMEM, "out of memory") : FW_OK;
}

FW_API fw_status fw_result_to_json(const fw_result *r, const char *model_name,
                                   char *buf, size_t cap, size_t *n_needed)
{
    if (!rok(r))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "result is NULL or freed");
    fwi_sbuf b = {0};
    fw_status st = fwi_result_json(r, r->model, model_name, &b);
    if (st == FW_OK)
        st = fwi_out_text(r, b.data, b.len, buf, cap, n_needed);
    fwi_sbuf_free(&b);
    return st;
}
