/*
 * request_json.c - a Fireworks/OpenAI request body (JSON), completions
 * ("prompt") or chat completions ("messages"), into sampling parameters,
 * request fields and a prompt, then generation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "gen.h"

typedef struct req {
    fw_sampler_params sp;
    fw_request rq;
    const char *text;
    size_t text_len;
    fw_token *tokens;
    size_t n_tokens;
    int has_prompt;
    const fwi_json *messages;     /* chat: the "messages" array */
    const char *chat_template;    /* chat: a template overriding the model's */
    int32_t add_generation_prompt;
    const fwi_json *template_vars; /* chat: "chat_template_kwargs" */
    const char *chat_field;       /* a chat-only field that was given */
    const char **stop;
    fw_logit_bias *bias;
    int top_logprobs_set, logprobs_int;
} req;

static fw_status bad_type(const void *h, const char *key, const char *want)
{
    return fwi_fail(h, FW_E_TYPE, "request field '%s' must be %s", key, want);
}

static fw_status get_int(const void *h, const char *key, const fwi_json *v, int64_t *out)
{
    if (fwi_json_type_of(v) != FWI_JSON_NUMBER || !fwi_json_num_int(v, out))
        return bad_type(h, key, "an integer");
    return FW_OK;
}

static fw_status get_bool(const void *h, const char *key, const fwi_json *v, int32_t *out)
{
    fwi_json_type t = fwi_json_type_of(v);
    if (t != FWI_JSON_TRUE && t != FWI_JSON_FALSE)
        return bad_type(h, key, "true or false");
    *out = t == FWI_JSON_TRUE;
    return FW_OK;
}

static fw_status int_field(const void *h, const char *key, const fwi_json *v,
                           int64_t lo, int64_t hi, int32_t *out)
{
    int64_t x;
    fw_status st = get_int(h, key, v, &x);
    if (st != FW_OK)
        return st;
    if (x < lo || x > hi)
        return hi == INT32_MAX
                   ? fwi_fail(h, FW_E_RANGE, "%s = %lld is out of range (>= %lld)", key,
                              (long long)x, (long long)lo)
                   : fwi_fail(h, FW_E_RANGE, "%s = %lld is out of range [%lld, %lld]",
                              key, (long long)x, (long long)lo, (long long)hi);
    *out = (int32_t)x;
    return FW_OK;
}

static fw_status field(req *q, const void *h, const char *key, const fwi_json *v)
{
    fwi_json_type t = fwi_json_type_of(v);
    if (!strcmp(key, "model") || !strcmp(key, "stream") || !strcmp(key, "user"))
        return FW_OK;
    if (t == FWI_JSON_NULL && strcmp(key, "prompt") != 0)
        return FW_OK; /* null: the default */
    if (!strcmp(key, "prompt")) {
        fwi_free(q->tokens);
        q->tokens = NULL;
        q->text = NULL;
        if (t == FWI_JSON_STRING) {
            q->text = fwi_json_str(v, &q->text_len);
        } else if (t == FWI_JSON_ARRAY) {
            size_t n = fwi_json_len(v);
            if (n == 0)
                return fwi_fail(h, FW_E_INVALID_ARG, "request field 'prompt' is an empty array");
            q->tokens = fwi_malloc_array(n, sizeof *q->tokens);
            if (!q->tokens)
                return fwi_fail(h, FW_E_NOMEM, "out of memory");
            for (size_t i = 0; i < n; i++) {
                int64_t id;
                const fwi_json *e = fwi_json_at(v, i);
                if (fwi_json_type_of(e) == FWI_JSON_STRING)
                    return fwi_fail(h, FW_E_UNSUPPORTED,
                                    "request field 'prompt': a list of strings "
                                    "(a batch) is not supported; send one request "
                                    "per prompt");
                if (get_int(h, "prompt", e, &id) != FW_OK)
                    return fwi_fail(h, FW_E_TYPE,
                                    "request field 'prompt' must be a string or an "
                                    "array of token ids (element %zu is not)", i);
                if (id < 0 || id > INT32_MAX)
                    return fwi_fail(h, FW_E_RANGE,
                                    "request field 'prompt': token id %lld (element "
                                    "%zu) is out of range",
                                    (long long)id, i);
                q->tokens[i] = (fw_token)id;
            }
            q->n_tokens = n;
        } else {
            return bad_type(h, key, "a string or an array of token ids");
        }
        q->has_prompt = 1;
        return FW_OK;
    }
    if (!strcmp(key, "messages")) {
        if (t != FWI_JSON_ARRAY)
            return bad_type(h, key, "an array of message objects");
        q->messages = v;
        return FW_OK;
    }
    if (!strcmp(key, "chat_template")) {
        size_t len;
        if (t != FWI_JSON_STRING)
            return bad_type(h, key, "a string (a Jinja2 template)");
        q->chat_template = fwi_json_str(v, &len);
        if (strlen(q->chat_template) != len)
            return fwi_fail(h, FW_E_INVALID_ARG, "request field 'chat_template' contains a "
                            "NUL character");
        q->chat_field = "chat_template";
        return FW_OK;
    }
    if (!strcmp(key, "add_generation_prompt")) {
        q->chat_field = "add_generation_prompt";
        return get_bool(h, key, v, &q->add_generation_prompt);
    }
    if (!strcmp(key, "chat_template_kwargs")) {
        if (t != FWI_JSON_OBJECT)
            return bad_type(h, key, "an object of template variables");
        q->template_vars = v;
        q->chat_field = "chat_template_kwargs";
        return FW_OK;
    }
    if (!strcmp(key, "max_tokens"))
        return int_field(h, key, v, 0, INT32_MAX, &q->rq.max_tokens);
    if (!strcmp(key, "n"))
        return int_field(h, key, v, 1, 128, &q->rq.n);
    if (!strcmp(key, "top_logprobs")) {
        q->top_logprobs_set = 1;
        return int_field(h, key, v, 0, FWI_MAX_TOP, &q->rq.top_logprobs);
    }
    if (!strcmp(key, "logprobs")) {
        if (t == FWI_JSON_TRUE || t == FWI_JSON_FALSE) {
            q->rq.logprobs = t == FWI_JSON_TRUE;
            return FW_OK;
        }
        int32_t nl;
        fw_status st = int_field(h, key, v, 0, FWI_MAX_TOP, &nl);
        if (st == FW_E_TYPE)
            return bad_type(h, key, "true, false or an integer 0..20");
        if (st != FW_OK)
            return st;
        q->rq.logprobs = 1;
        q->logprobs_int = nl + 1; /* N alternatives (legacy form) */
        return FW_OK;
    }
    if (!strcmp(key, "echo"))
        return get_bool(h, key, v, &q->rq.echo);
    if (!strcmp(key, "raw_output"))
        return get_bool(h, key, v, &q->rq.raw_output);
    if (!strcmp(key, "ignore_eos"))
        return get_bool(h, key, v, &q->rq.ignore_eos);
    if (!strcmp(key, "echo_last"))
        return int_field(h, key, v, 0, INT32_MAX, &q->rq.echo_last);
    if (!strcmp(key, "stop")) {
        size_t n = t == FWI_JSON_ARRAY ? fwi_json_len(v) : 1;
        if (t != FWI_JSON_ARRAY && t != FWI_JSON_STRING)
            return bad_type(h, key, "a string or an array of strings");
        fwi_free(q->stop);
        q->stop = fwi_calloc(n ? n : 1, sizeof *q->stop);
        if (!q->stop)
            return fwi_fail(h, FW_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            const fwi_json *e = t == FWI_JSON_ARRAY ? fwi_json_at(v, i) : v;
            size_t len;
            if (fwi_json_type_of(e) != FWI_JSON_STRING)
                return bad_type(h, key, "a string or an array of strings");
            const char *s = fwi_json_str(e, &len);
            if (len == 0)
                return fwi_fail(h, FW_E_RANGE, "stop[%zu] is an empty string", i);
            if (strlen(s) != len)
                return fwi_fail(h, FW_E_RANGE, "stop[%zu] contains a NUL character", i);
            q->stop[i] = s;
        }
        q->rq.stop = q->stop;
        q->rq.n_stop = (uint32_t)n;
        return FW_OK;
    }
    if (!strcmp(key, "seed")) {
        int64_t x;
        if (get_int(h, key, v, &x) != FW_OK) {
            /* a number above int64: take the text if it is a plain integer */
            size_t len;
            const char *txt = t == FWI_JSON_NUMBER ? fwi_json_num_text(v, &len) : NULL;
            char *end;
            unsigned long long u = txt && txt[0] != '-' ? strtoull(txt, &end, 10) : 0;
            if (!txt || txt[0] == '-' || end != txt + len)
                return bad_type(h, key, "an integer 0 .. 2^64-1");
            return fw_sampler_params_set_u64(&q->sp, "seed", (uint64_t)u);
        }
        return fw_sampler_params_set_i(&q->sp, "seed", x);
    }
    if (!strcmp(key, "logit_bias")) {
        if (t != FWI_JSON_OBJECT)
            return bad_type(h, key, "an object of token id: bias");
        size_t n = fwi_json_len(v);
        fwi_free(q->bias);
        q->bias = fwi_calloc(n ? n : 1, sizeof *q->bias);
        if (!q->bias)
            return fwi_fail(h, FW_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            size_t kl;
            const char *k = fwi_json_key_at(v, i, &kl);
            char *end;
            long id = strtol(k, &end, 10);
            if (kl == 0 || end != k + kl || id < 0 || id > INT32_MAX)
                return fwi_fail(h, FW_E_RANGE, "logit_bias: key '%s' is not a token id", k);
            const fwi_json *b = fwi_json_at(v, i);
            if (fwi_json_type_of(b) != FWI_JSON_NUMBER)
                return fwi_fail(h, FW_E_TYPE, "logit_bias: the bias of token %ld must be a number", id);
            double bias = fwi_json_num(b);
            if (!(bias >= -100 && bias <= 100))
                return fwi_fail(h, FW_E_RANGE,
                                "logit_bias: bias %g for token %ld is out of range "
                                "[-100, 100]", bias, id);
            q->bias[i] = (fw_logit_bias){(fw_token)id, (float)bias};
        }
        q->sp.logit_bias = q->bias;
        q->sp.n_logit_bias = (uint32_t)n;
        return FW_OK;
    }
    /* the sampling fields, by their API names */
    int32_t ptype;
    if (fw_sampler_params_info(key, &ptype, NULL, NULL, NULL, NULL) == FW_OK) {
        if (t != FWI_JSON_NUMBER)
            return bad_type(h, key, "a number");
        int64_t x;
        if (ptype == FW_PARAM_INT) {
            if (!fwi_json_num_int(v, &x))
                return bad_type(h, key, "an integer");
            return fw_sampler_params_set_i(&q->sp, key, x);
        }
        return fw_sampler_params_set_f(&q->sp, key, fwi_json_num(v));
    }
    return fwi_fail(h, FW_E_INVALID_ARG, "unknown request field '%s'", key);
}

static fw_status parse_obj(const char *text, size_t len, const void *h, const char *what,
                           fwi_json **out)
{
    fw_status st = fwi_json_parse(text, len, h, out);
    if (st != FW_OK) {
        char msg[FWI_ERRMSG_CAP];
        snprintf(msg, sizeof msg, "%s", fw_last_error());
        return fwi_fail(h, st, "%s: %s", what, msg);
    }
    if (fwi_json_type_of(*out) != FWI_JSON_OBJECT)
        return fwi_fail(h, FW_E_FORMAT, "%s is not a JSON object", what);
    return FW_OK;
}

/* Parse body and overrides into q (the DOMs, which q points into, are
 * returned for the caller to free), and check the prompt fields. */
static fw_status parse_request(req *q, const void *h, const char *body, size_t body_len,
                               const char *overrides, size_t overrides_len, fwi_json **jb,
                               fwi_json **jo)
{
    memset(q, 0, sizeof *q);
    fw_sampler_params_init(&q->sp);
    fw_request_init(&q->rq);
    q->add_generation_prompt = 1;
    *jb = *jo = NULL;
    if (!body)
        return fwi_fail(h, FW_E_INVALID_ARG, "request body is NULL");
    fw_status st = parse_obj(body, body_len, h, "request body", jb);
    if (st == FW_OK && overrides)
        st = parse_obj(overrides, overrides_len, h, "request overrides", jo);
    /* body fields not overridden, then the overrides */
    for (size_t i = 0; st == FW_OK && i < fwi_json_len(*jb); i++) {
        const char *k = fwi_json_key_at(*jb, i, NULL);
        if (*jo && fwi_json_get(*jo, k))
            continue;
        st = field(q, h, k, fwi_json_at(*jb, i));
    }
    for (size_t i = 0; st == FW_OK && *jo && i < fwi_json_len(*jo); i++)
        st = field(q, h, fwi_json_key_at(*jo, i, NULL), fwi_json_at(*jo, i));
    if (st != FW_OK)
        return st;
    if (q->has_prompt && q->messages)
        return fwi_fail(h, FW_E_INVALID_ARG, "request fields 'prompt' and 'messages' are "
                        "both given: a completions request has a 'prompt', a chat "
                        "request 'messages'");
    if (!q->has_prompt && !q->messages)
        return fwi_fail(h, FW_E_INVALID_ARG, "request field 'prompt' (completions) or "
                        "'messages' (chat) is required");
    if (q->has_prompt && q->chat_field)
        return fwi_fail(h, FW_E_INVALID_ARG, "request field '%s' is for chat requests "
                        "('messages'), not for a 'prompt'", q->chat_field);
    if (q->logprobs_int && !q->top_logprobs_set)
        q->rq.top_logprobs = q->logprobs_int - 1;
    return FW_OK;
}

/* The prompt of a parsed request; a chat request is rendered into *chat. */
static fw_status request_prompt(const req *q, const fw_model *m, const void *h,
                                fwi_sbuf *chat, fwi_prompt *p)
{
    memset(p, 0, sizeof *p);
    if (!q->messages) {
        p->text = q->tokens ? NULL : q->text;
        p->text_len = q->tokens ? 0 : q->text_len;
        p->tokens = q->tokens;
        p->n_tokens = q->n_tokens;
        return FW_OK;
    }
    const char *kind = NULL;
    fw_status st = fwi_chat_prompt(m, h, q->messages, NULL, 0, q->chat_template,
                                   q->template_vars, q->add_generation_prompt, chat, &kind);
    if (st != FW_OK)
        return st;
    p->text = chat->data ? chat->data : "";
    p->text_len = chat->len;
    p->chat_template = kind;
    return FW_OK;
}

static void req_free(req *q, fwi_json *jb, fwi_json *jo)
{
    fwi_free(q->tokens);
    fwi_free(q->stop);
    fwi_free(q->bias);
    fwi_json_free(jb);
    fwi_json_free(jo);
}

static fw_status generate_json(fw_context *ctx, const char *body, size_t body_len,
                               const char *overrides, size_t overrides_len,
                               fw_event_fn on_event, void *user_data, fw_result **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out_result is NULL");
    *out = NULL;
    const fw_model *m = fwi_context_model(ctx);
    if (!m)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "context is NULL or freed");
    fwi_json *jb, *jo;
    req q;
    fwi_sbuf chat = {0};
    fwi_prompt p;
    fw_status st = parse_request(&q, ctx, body, body_len, overrides, overrides_len, &jb, &jo);
    if (st == FW_OK)
        st = request_prompt(&q, m, ctx, &chat, &p);
    if (st == FW_OK)
        st = fwi_generate(ctx, &p, &q.sp, &q.rq, on_event, user_data, out);
    fwi_sbuf_free(&chat);
    req_free(&q, jb, jo);
    return st;
}

FW_API fw_status fw_generate_json(fw_context *ctx, const char *body, size_t body_len,
                                  const char *overrides, size_t overrides_len,
                                  fw_event_fn on_event, void *user_data,
                                  fw_result **out)
{
    return fwi_context_record(ctx, generate_json(ctx, body, body_len, overrides,
                                                 overrides_len, on_event, user_data, out));
}

FW_API fw_status fw_request_prompt_json(const fw_model *model, const char *body,
                                        size_t body_len, const char *overrides,
                                        size_t overrides_len, char *buf, size_t cap,
                                        size_t *n_needed)
{
    if (n_needed)
        *n_needed = 0;
    if (!fw_vocab_n_tokens(model))
        return fwi_fail(model, FW_E_INVALID_ARG, "model is NULL or has no tokenizer");
    fwi_json *jb, *jo;
    req q;
    fwi_sbuf chat = {0}, b = {0};
    fwi_prompt p;
    fw_token *ids = NULL;
    fwi_frag *frags = NULL;
    size_t n_ids = 0, n_frags = 0;
    fw_status st = parse_request(&q, model, body, body_len, overrides, overrides_len, &jb, &jo);
    if (st == FW_OK)
        st = request_prompt(&q, model, model, &chat, &p);
    if (st == FW_OK && !p.tokens)
        st = fwi_prompt_tokenize(model, model, &p, &ids, &n_ids, &frags, &n_frags);
    if (st == FW_OK) {
        const fw_token *t = p.tokens ? p.tokens : ids;
        size_t n = p.tokens ? p.n_tokens : n_ids;
        fwi_sbuf_puts(&b, "{\"prompt\":");
        if (p.tokens)
            fwi_sbuf_puts(&b, "null");
        else
            fwi_sbuf_json_str(&b, p.text ? p.text : "", p.text_len);
        fwi_sbuf_puts(&b, ",\"prompt_token_ids\":[");
        for (size_t k = 0; k < n; k++)
            fwi_sbuf_printf(&b, "%s%d", k ? "," : "", (int)t[k]);
        fwi_sbuf_puts(&b, "],\"prompt_fragments\":[");
        if (p.tokens) {
            for (size_t k = 0; k < n; k++)
                fwi_sbuf_printf(&b, "%s%d", k ? "," : "", (int)t[k]);
        } else if (p.chat_template) {
            for (size_t k = 0; k < n_frags; k++) {
                if (k)
                    fwi_sbuf_putc(&b, ',');
                if (frags[k].token >= 0)
                    fwi_sbuf_printf(&b, "%d", (int)frags[k].token);
                else
                    fwi_sbuf_json_str(&b, p.text + frags[k].off, frags[k].len);
            }
        } else {
            fwi_sbuf_json_str(&b, p.text ? p.text : "", p.text_len);
        }
        fwi_sbuf_puts(&b, "],\"chat_template\":");
        if (p.chat_template)
            fwi_sbuf_json_str(&b, p.chat_template, strlen(p.chat_template));
        else
            fwi_sbuf_puts(&b, "null");
        fwi_sbuf_putc(&b, '}');
        st = b.failed ? fwi_fail(model, FW_E_NOMEM, "out of memory")
                      : fwi_out_text(model, b.data, b.len, buf, cap, n_needed);
    }
    fwi_free(ids);
    fwi_free(frags);
    fwi_sbuf_free(&b);
    fwi_sbuf_free(&chat);
    req_free(&q, jb, jo);
    return st;
}
