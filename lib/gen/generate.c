/*
 * generate.c - one request: evaluate the prompt once, continue n choices
 * from copies of its KV state, each with its own seeded sampler; logprobs,
 * echo, stop strings across token boundaries, streaming events.  The
 * entry points fw_generate (text or ids) and fw_generate_chat (messages,
 * rendered by prompt.c) both come to fwi_generate.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "chat/chat.h"
#include "core/sbuf.h"
#include "gen.h"

FW_API void fw_request_init(fw_request *r)
{
    if (!r)
        return;
    memset(r, 0, sizeof *r);
    r->struct_size = sizeof *r;
    r->max_tokens = 2048;
    r->n = 1;
    r->echo_last = -1;
}

/* ---- records ---- */

static int rec_push(fwi_choice *c, const fwi_tokrec *r)
{
    if (c->n_recs == c->cap_recs) {
        size_t cap = c->cap_recs ? 2 * c->cap_recs : 64;
        fwi_tokrec *p = fwi_realloc(c->recs, cap * sizeof *p);
        if (!p)
            return -1;
        c->recs = p;
        c->cap_recs = cap;
    }
    c->recs[c->n_recs++] = *r;
    return 0;
}

/* Log-softmax statistics of raw logits: the log-sum-exp, and the top n
 * tokens by logit (ties: lower id). */
static double log_sum_exp(const float *l, int32_t n)
{
    float m = -INFINITY;
    for (int32_t i = 0; i < n; i++)
        if (l[i] > m)
            m = l[i];
    double s = 0;
    for (int32_t i = 0; i < n; i++)
        s += exp((double)l[i] - m);
    return m + log(s);
}

static void top_n(const float *l, int32_t n_vocab, int n, fw_token *ids)
{
    int k = 0;
    for (int32_t t = 0; t < n_vocab; t++) {
        if (k < n) {
            int j = k++;
            while (j > 0 && l[ids[j - 1]] < l[t])
                ids[j] = ids[j - 1], j--;
            ids[j] = t;
        } else if (l[t] > l[ids[n - 1]]) {
            int j = n - 1;
            while (j > 0 && l[ids[j - 1]] < l[t])
                ids[j] = ids[j - 1], j--;
            ids[j] = t;
        }
    }
}

/* Fill a record's logprob and alternatives from raw logits. */
static void rec_logprobs(fw_result *r, fwi_tokrec *rec, const float *l)
{
    double lse = log_sum_exp(l, r->n_vocab);
    rec->logprob = (float)(l[rec->id] - lse);
    rec->n_top = r->top_n;
    for (int i = 0; i < r->top_n; i++)
        rec->top_lp[i] = (float)(l[rec->top_ids[i]] - lse);
}

/* ---- text and stop strings ---- */

/* Longest suffix of s[0..n) that is a proper prefix of a stop string. */
static size_t stop_prefix_tail(const fw_request *rq, const char *s, size_t n)
{
    size_t best = 0;
    for (uint32_t k = 0; k < rq->n_stop; k++) {
        size_t sl = strlen(rq->stop[k]);
        size_t maxl = sl - 1 < n ? sl - 1 : n;
        for (size_t l = maxl; l > best; l--)
            if (!memcmp(s + n - l, rq->stop[k], l)) {
                best = l;
                break;
            }
    }
    return best;
}

/* First occurrence of any stop string in s[from..n): its start, or -1. */
static long find_stop(const fw_request *rq, const char *s, size_t n, size_t from)
{
    long best = -1;
    for (uint32_t k = 0; k < rq->n_stop; k++) {
        size_t sl = strlen(rq->stop[k]);
        for (size_t i = from; i + sl <= n; i++)
            if (!memcmp(s + i, rq->stop[k], sl)) {
                if (best < 0 || (long)i < best)
                    best = (long)i;
                break;
            }
    }
    return best;
}

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* ---- the request ---- */

typedef struct gen_state {
    fw_context *ctx;
    const fw_model *model;
    const fw_request *rq;
    fw_result *r;
    fw_event_fn cb;
    void *ud;
    int stopped; /* the callback asked to stop */
} gen_state;

static int emit(gen_state *g, int32_t choice, const fwi_tokrec *rec,
                const char *text, size_t len, const char *finish)
{
    if (!g->cb || g->stopped)
        return 0;
    char small[1];
    fw_event ev;
    memset(&ev, 0, sizeof ev);
    ev.struct_size = sizeof ev;
    ev.choice = choice;
    ev.token = rec ? rec->id : -1;
    ev.text = len ? text : (small[0] = 0, small);
    ev.text_len = len;
    /* NUL-terminate the delta for C callers */
    char *copy = NULL;
    if (len) {
        copy = fwi_strndup(text, len);
        if (copy)
            ev.text = copy;
    }
    if (rec && g->r->logprobs) {
        ev.logprob = rec->logprob;
        ev.sampling_logprob = rec->sampling_lp;
        ev.n_top = rec->n_top;
        ev.top_ids = rec->top_ids;
        ev.top_logprobs = rec->top_lp;
    }
    ev.finish_reason = finish;
    int32_t stop = g->cb(&ev, g->ud);
    fwi_free(copy);
    if (stop)
        g->stopped = 1;
    return stop != 0;
}

/* A choice being generated: its sampler, detokeniser and text so far.
 * The choices of a request advance together, one token per step, and the
 * tokens they sampled are evaluated as one batch (fw_context_eval_batch):
 * the weights are read once per step for all of them. */
typedef struct gen_run {
    int32_t ci;             /* choice index = sequence */
    fw_sampler *smp;
    fw_detok_stream *ds;
    fwi_sbuf gen;           /* generated text so far (before the cut) */
    size_t emitted, searched;
    int32_t pos;            /* where the next token goes */
    int32_t step;           /* tokens sampled and evaluated */
    int active;             /* still generating */
    fw_token next;          /* sampled, to evaluate before the next step */
    const float *logits;    /* of the last evaluated token */
} gen_run;

/* Sample one token of choice u from u->logits and account for it: text,
 * records, stop strings, events.  Leaves u->active set (and u->next) when
 * the choice goes on. */
static fw_status run_step(gen_state *g, gen_run *u)
{
    fw_result *r = g->r;
    const fw_request *rq = g->rq;
    const int32_t ci = u->ci, step = u->step;
    fwi_choice *c = &r->choices[ci];
    const int32_t n_vocab = r->n_vocab;
    const uint32_t n_ctx = fw_context_n_ctx(g->ctx);
    const float *logits = u->logits;
    u->active = 0;
    if (step >= rq->max_tokens || g->stopped || (uint32_t)u->pos >= n_ctx)
        return FW_OK; /* "length" (the context is full), or stopped */
    /* (a NaN logit fails the sampler's input check: FW_E_NUMERIC naming
     * the token, prefixed below with the choice and step) */
    fwi_tokrec rec;
    memset(&rec, 0, sizeof rec);
    fw_status st = fw_sampler_sample(u->smp, logits, n_vocab, &rec.id, &rec.sampling_lp);
    if (st != FW_OK) {
        char msg[FWI_ERRMSG_CAP];
        snprintf(msg, sizeof msg, "%s", fw_last_error());
        return fwi_fail(g->ctx, st, "choice %d, step %d: %s", (int)ci, (int)step, msg);
    }
    if (r->logprobs) {
        top_n(logits, n_vocab, r->top_n, rec.top_ids);
        rec_logprobs(r, &rec, logits);
    }
    int eog = fw_vocab_is_eog(g->model, rec.id);
    /* the token's text */
    char piece[256];
    size_t need = 0;
    fw_status ps = fw_detok_stream_push(u->ds, rec.id, piece, sizeof piece, &need);
    char *big = NULL;
    const char *delta = piece;
    if (ps == FW_E_BUFFER_TOO_SMALL) {
        big = fwi_malloc(need + 1);
        if (!big || fw_detok_stream_push(u->ds, rec.id, big, need + 1, &need) != FW_OK) {
            fwi_free(big);
            return fwi_fail(g->ctx, FW_E_NOMEM, "out of memory");
        }
        delta = big;
    } else if (ps != FW_OK) {
        return ps;
    }
    fwi_sbuf *gen = &u->gen;
    rec.text_offset = (int32_t)utf8_chars(gen->data ? gen->data : "", gen->len);
    fwi_sbuf_put(gen, delta, need);
    fwi_free(big);
    /* raw completion: special tokens as text */
    size_t rn = 0;
    ps = fw_token_to_piece(g->model, rec.id, FW_DETOK_UNPARSE_SPECIAL, piece, sizeof piece,
                           &rn);
    if (ps == FW_OK)
        fwi_sbuf_put(&c->raw, piece, rn);
    else if (ps == FW_E_NOMEM)
        c->raw.failed = 1;
    if (rec_push(c, &rec) || gen->failed)
        return fwi_fail(g->ctx, FW_E_NOMEM, "out of memory");
    c->n_generated++;
    /* stop strings, across token boundaries */
    long at = -1;
    if (rq->n_stop) {
        size_t maxlen = 0;
        for (uint32_t k = 0; k < rq->n_stop; k++)
            if (strlen(rq->stop[k]) > maxlen)
                maxlen = strlen(rq->stop[k]);
        size_t from = u->searched + 1 > maxlen ? u->searched + 1 - maxlen : 0;
        at = find_stop(rq, gen->data, gen->len, from);
        u->searched = gen->len;
    }
    if (at >= 0) {
        gen->len = (size_t)at;
        c->finish = "stop";
        emit(g, ci, &rec, gen->data + u->emitted,
             gen->len > u->emitted ? gen->len - u->emitted : 0, NULL);
        u->emitted = gen->len;
        return FW_OK;
    }
    size_t safe = gen->len - (rq->n_stop ? stop_prefix_tail(rq, gen->data, gen->len) : 0);
    if (safe < u->emitted)
        safe = u->emitted;
    emit(g, ci, &rec, gen->data + u->emitted, safe - u->emitted, NULL);
    u->emitted = safe;
    if (eog && !rq->ignore_eos) {
        c->finish = "stop";
        return FW_OK;
    }
    if (step + 1 >= rq->max_tokens || (uint32_t)u->pos + 1 > n_ctx)
        return FW_OK;
    u->next = rec.id;
    u->active = 1;
    return FW_OK;
}

/* The end of choice u: the detokeniser's tail, the last event, the text. */
static fw_status run_finish(gen_state *g, gen_run *u)
{
    const fw_request *rq = g->rq;
    fwi_choice *c = &g->r->choices[u->ci];
    fwi_sbuf *gen = &u->gen;
    if (g->stopped)
        c->finish = "stop";
    /* the tail: bytes of an incomplete character, held stop prefixes */
    char tail[64];
    size_t tn = 0;
    if (strcmp(c->finish, "stop") != 0 || !rq->n_stop ||
        find_stop(rq, gen->data ? gen->data : "", gen->len, 0) < 0) {
        fw_status fs = fw_detok_stream_flush(u->ds, tail, sizeof tail, &tn);
        if (fs == FW_OK && tn)
            fwi_sbuf_put(gen, tail, tn);
        else if (fs == FW_E_NOMEM)
            gen->failed = 1;
    }
    emit(g, u->ci, NULL, gen->data ? gen->data + u->emitted : "",
         gen->len > u->emitted ? gen->len - u->emitted : 0, c->finish);
    fwi_sbuf_put(&c->text, gen->data ? gen->data : "", gen->len);
    if (c->text.failed || c->raw.failed || gen->failed)
        return fwi_fail(g->ctx, FW_E_NOMEM, "out of memory");
    return FW_OK;
}

/* Generate every choice of runs[0..n): a step samples a token for each
 * active choice, then their tokens are evaluated together. */
static fw_status run_choices(gen_state *g, gen_run *runs, int32_t n)
{
    fw_token *tok = fwi_malloc_array((size_t)n, sizeof *tok);
    int32_t *seq = fwi_malloc_array((size_t)n, sizeof *seq);
    int32_t *pos = fwi_malloc_array((size_t)n, sizeof *pos);
    fw_status st = tok && seq && pos ? FW_OK : fwi_fail(g->ctx, FW_E_NOMEM, "out of memory");
    for (int32_t i = 0; i < n; i++)
        runs[i].active = 1;
    while (st == FW_OK) {
        size_t m = 0;
        for (int32_t i = 0; st == FW_OK && i < n; i++) {
            gen_run *u = &runs[i];
            if (!u->active)
                continue;
            st = run_step(g, u);
            if (st == FW_OK && u->active) {
                tok[m] = u->next;
                seq[m] = u->ci;
                pos[m] = u->pos;
                m++;
            }
        }
        if (st != FW_OK || m == 0)
            break;
        st = fw_context_eval_batch(g->ctx, tok, seq, pos, m, 0);
        for (int32_t i = 0, j = 0; st == FW_OK && i < n; i++) {
            gen_run *u = &runs[i];
            if (!u->active)
                continue;
            u->logits = fw_context_logits(g->ctx, j++);
            u->pos++;
            u->step++;
        }
    }
    for (int32_t i = 0; st == FW_OK && i < n; i++)
        st = run_finish(g, &runs[i]);
    fwi_free(tok);
    fwi_free(seq);
    fwi_free(pos);
    return st;
}

static fw_status check_request(const fw_request *rq, const void *h)
{
    if (rq->max_tokens < 0)
        return fwi_fail(h, FW_E_RANGE, "max_tokens = %d is out of range (>= 0)",
                        (int)rq->max_tokens);
    if (rq->n < 1 || rq->n > 128)
        return fwi_fail(h, FW_E_RANGE, "n = %d is out of range [1, 128]", (int)rq->n);
    if (rq->logprobs < 0 || rq->logprobs > 1)
        return fwi_fail(h, FW_E_RANGE, "logprobs = %d must be 0 or 1 (the number "
                        "of alternatives is top_logprobs)", (int)rq->logprobs);
    if (rq->top_logprobs < 0 || rq->top_logprobs > FWI_MAX_TOP)
        return fwi_fail(h, FW_E_RANGE, "top_logprobs = %d is out of range [0, %d]",
                        (int)rq->top_logprobs, FWI_MAX_TOP);
    if (rq->echo_last < -1)
        return fwi_fail(h, FW_E_RANGE, "echo_last = %d is out of range (>= 0)",
                        (int)rq->echo_last);
    if (rq->n_stop && !rq->stop)
        return fwi_fail(h, FW_E_INVALID_ARG, "stop is NULL but n_stop is %u",
                        (unsigned)rq->n_stop);
    for (uint32_t i = 0; i < rq->n_stop; i++)
        if (!rq->stop[i] || !rq->stop[i][0])
            return fwi_fail(h, FW_E_RANGE, "stop[%u] is an empty string", (unsigned)i);
    return FW_OK;
}

fw_status fwi_generate(fw_context *ctx, const fwi_prompt *p,
                       const fw_sampler_params *sampling, const fw_request *request,
                       fw_event_fn on_event, void *user_data, fw_result **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out_result is NULL");
    *out = NULL;
    const fw_model *model = fwi_context_model(ctx);
    if (!model)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "context is NULL or freed");
    fw_request rq;
    fw_request_init(&rq);
    fw_status st = fwi_params_copy(&rq, sizeof rq, request, "fw_request", ctx);
    if (st == FW_OK)
        st = check_request(&rq, ctx);
    if (st != FW_OK)
        return st;
    if ((uint32_t)rq.n > fw_context_n_seq_max(ctx))
        return fwi_fail(ctx, FW_E_RANGE,
                        "n = %d choices need a context with n_seq_max >= %d (it "
                        "has %u)",
                        (int)rq.n, (int)rq.n, fw_context_n_seq_max(ctx));
    const int32_t n_vocab = fw_model_n_vocab(model);
    fw_sampler *base = NULL;
    st = fw_sampler_new(model, sampling, &base);
    if (st != FW_OK)
        return st;

    fw_result *r = fwi_calloc(1, sizeof *r);
    if (!r) {
        fw_sampler_free(base);
        return fwi_fail(ctx, FW_E_NOMEM, "out of memory");
    }
    r->magic = FWI_RESULT_MAGIC;
    r->model = model;
    r->n_vocab = n_vocab;
    r->logprobs = rq.logprobs;
    r->top_n = rq.top_logprobs;
    r->echo = rq.echo;
    r->raw_output = rq.raw_output;
    r->created = (int64_t)time(NULL);
    r->n_choices = rq.n;
    r->choices = fwi_calloc((size_t)rq.n, sizeof *r->choices);
    fwi_sbuf eff = {0};
    fwi_sampler_effective(base, &eff);
    r->sampling_json = eff.data;
    r->seed = fwi_sampler_seed(base);
    if (!r->choices || eff.failed) {
        st = fwi_fail(ctx, FW_E_NOMEM, "out of memory");
        goto done;
    }

    /* the prompt */
    if (p->tokens) {
        r->prompt = fwi_malloc_array(p->n_tokens ? p->n_tokens : 1, sizeof *r->prompt);
        if (!r->prompt) {
            st = fwi_fail(ctx, FW_E_NOMEM, "out of memory");
            goto done;
        }
        memcpy(r->prompt, p->tokens, p->n_tokens * sizeof *p->tokens);
        r->n_prompt = p->n_tokens;
        r->prompt_is_tokens = 1;
    } else {
        if (!p->text && p->text_len) {
            st = fwi_fail(ctx, FW_E_INVALID_ARG, "prompt text is NULL");
            goto done;
        }
        r->prompt_text = fwi_strndup(p->text ? p->text : "", p->text_len);
        r->prompt_text_len = p->text_len;
        r->chat_template = p->chat_template;
        st = r->prompt_text ? fwi_prompt_tokenize(model, ctx, p, &r->prompt, &r->n_prompt,
                                                  &r->frags, &r->n_frags)
                            : fwi_fail(ctx, FW_E_NOMEM, "out of memory");
        if (st != FW_OK)
            goto done;
    }
    if (r->n_prompt == 0) {
        st = fwi_fail(ctx, FW_E_INVALID_ARG, "the prompt has no tokens");
        goto done;
    }
    for (size_t i = 0; i < r->n_prompt; i++)
        if (r->prompt[i] < 0 || r->prompt[i] >= n_vocab) {
            st = fwi_fail(ctx, FW_E_RANGE, "prompt token %d at index %zu is out of "
                          "range [0, %d)", (int)r->prompt[i], i, (int)n_vocab);
            goto done;
        }
    if (r->n_prompt >= fw_context_n_ctx(ctx)) {
        st = fwi_fail(ctx, FW_E_CONTEXT_FULL,
                      "the prompt has %zu tokens; the context holds %u",
                      r->n_prompt, fw_context_n_ctx(ctx));
        goto done;
    }
    fw_sampler_set_prompt(base, r->prompt, r->n_prompt);

    /* evaluate the prompt once */
    int want_prompt_lp = rq.echo && rq.logprobs;
    st = fw_context_eval(ctx, 0, 0, r->prompt, r->n_prompt,
                         want_prompt_lp ? FW_EVAL_ALL_LOGITS : 0);
    if (st != FW_OK)
        goto done;
    r->prompt_evaluated = (int32_t)r->n_prompt;
    float *first = fwi_malloc_array((size_t)n_vocab, sizeof(float));
    if (!first) {
        st = fwi_fail(ctx, FW_E_NOMEM, "out of memory");
        goto done;
    }
    memcpy(first, fw_context_logits(ctx, -1), (size_t)n_vocab * sizeof(float));

    /* echo: the prompt (or its last echo_last tokens) first */
    size_t echo_from = 0;
    if (rq.echo && rq.echo_last >= 0 && (size_t)rq.echo_last < r->n_prompt)
        echo_from = r->n_prompt - (size_t)rq.echo_last;
    r->echo_from = echo_from;
    fwi_sbuf echo_text = {0};
    fwi_tokrec *echo_recs = NULL;
    size_t n_echo = rq.echo ? r->n_prompt - echo_from : 0;
    if (n_echo) {
        echo_recs = fwi_calloc(n_echo, sizeof *echo_recs);
        if (!echo_recs)
            st = fwi_fail(ctx, FW_E_NOMEM, "out of memory");
        for (size_t j = 0; st == FW_OK && j < n_echo; j++) {
            size_t i = echo_from + j;
            fwi_tokrec *e = &echo_recs[j];
            e->id = r->prompt[i];
            e->prompt = 1;
            e->sampling_lp = NAN;
            e->text_offset = (int32_t)utf8_chars(echo_text.data ? echo_text.data : "",
                                                 echo_text.len);
            if (rq.logprobs && i > 0) {
                const float *l = fw_context_logits(ctx, (int32_t)i - 1);
                top_n(l, n_vocab, r->top_n, e->top_ids);
                rec_logprobs(r, e, l);
            } else {
                e->logprob = NAN; /* nothing conditions the first token */
                e->n_top = -1;
            }
            char piece[256];
            size_t pn;
            fw_status ps = fw_token_to_piece(model, e->id, 0, piece, sizeof piece, &pn);
            if (ps == FW_OK)
                fwi_sbuf_put(&echo_text, piece, pn);
            else if (ps == FW_E_NOMEM)
                st = fwi_fail(ctx, FW_E_NOMEM, "out of memory");
        }
    }
    if (st == FW_OK && n_echo && echo_from == 0 && r->chat_template) {
        /* a chat prompt echoes as rendered, not as its tokens' pieces */
        echo_text.len = 0;
        fwi_sbuf_put(&echo_text, r->prompt_text, r->prompt_text_len);
    }
    if (st == FW_OK && echo_text.failed)
        st = fwi_fail(ctx, FW_E_NOMEM, "out of memory");
    /* choices: copies of the prompt's cache, own seeded samplers */
    for (int32_t i = 1; st == FW_OK && i < rq.n; i++)
        st = fw_context_seq_copy(ctx, 0, i);
    gen_state g = {ctx, model, &rq, r, on_event, user_data, 0};
    gen_run *runs = st == FW_OK ? fwi_calloc((size_t)rq.n, sizeof *runs) : NULL;
    if (st == FW_OK && !runs)
        st = fwi_fail(ctx, FW_E_NOMEM, "out of memory");
    for (int32_t i = 0; st == FW_OK && i < rq.n; i++) {
        fwi_choice *c = &r->choices[i];
        gen_run *u = &runs[i];
        fwi_sbuf_put(&c->text, echo_text.data ? echo_text.data : "", echo_text.len);
        for (size_t j = 0; j < n_echo && st == FW_OK; j++)
            if (rec_push(c, &echo_recs[j]))
                st = fwi_fail(ctx, FW_E_NOMEM, "out of memory");
        c->n_echo = n_echo;
        c->finish = "length";
        u->ci = i;
        u->pos = (int32_t)r->n_prompt;
        u->logits = first;
        if (st == FW_OK)
            st = fw_sampler_clone(base, 1, r->seed, (uint64_t)i, &u->smp);
        if (st == FW_OK)
            st = fw_detok_stream_new(model, 0, 0, &u->ds);
    }
    if (st == FW_OK)
        st = run_choices(&g, runs, rq.n);
    /* echoed text is part of the offsets of the generated tokens */
    size_t shift = utf8_chars(echo_text.data ? echo_text.data : "", echo_text.len);
    for (int32_t i = 0; runs && i < rq.n; i++) {
        fwi_choice *c = &r->choices[i];
        for (size_t k = c->n_echo; st == FW_OK && k < c->n_recs; k++)
            c->recs[k].text_offset += (int32_t)shift;
        fw_sampler_free(runs[i].smp);
        fw_detok_stream_free(runs[i].ds);
        fwi_sbuf_free(&runs[i].gen);
    }
    fwi_free(runs);
    fwi_sbuf_free(&echo_text);
    fwi_free(echo_recs);
    fwi_free(first);
done:
    fw_sampler_free(base);
    if (st != FW_OK) {
        fw_result_free(r);
        return st;
    }
    *out = r;
    return FW_OK;
}

FW_API fw_status fw_generate(fw_context *ctx, const char *text, size_t text_len,
                             const fw_token *tokens, size_t n_tokens,
                             const fw_sampler_params *sampling,
                             const fw_request *request, fw_event_fn on_event,
                             void *user_data, fw_result **out)
{
    fwi_prompt p = {text, text_len, tokens, n_tokens, NULL};
    return fwi_context_record(ctx, fwi_generate(ctx, &p, sampling, request, on_event,
                                                user_data, out));
}

FW_API void fw_chat_params_init(fw_chat_params *params)
{
    if (!params)
        return;
    memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->add_generation_prompt = 1;
}

static fw_status generate_chat(fw_context *ctx, const fw_chat_message *msgs,
                               size_t n_msgs, const fw_chat_params *chat,
                               const fw_sampler_params *sampling,
                               const fw_request *request, fw_event_fn on_event,
                               void *user_data, fw_result **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out_result is NULL");
    *out = NULL;
    const fw_model *model = fwi_context_model(ctx);
    if (!model)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "context is NULL or freed");
    fw_chat_params cp;
    fw_chat_params_init(&cp);
    fw_status st = fwi_params_copy(&cp, sizeof cp, chat, "fw_chat_params", ctx);
    if (st != FW_OK)
        return st;
    if (n_msgs == 0)
        return fwi_fail(ctx, FW_E_INVALID_ARG, "a chat request needs at least one message");
    st = fwi_chat_check_msgs(ctx, msgs, n_msgs);
    if (st != FW_OK)
        return st;
    fwi_json *vars = NULL;
    if (cp.template_vars_json) {
        st = fwi_json_parse(cp.template_vars_json, strlen(cp.template_vars_json), ctx, &vars);
        if (st != FW_OK) {
            char msg[FWI_ERRMSG_CAP];
            snprintf(msg, sizeof msg, "%s", fw_last_error());
            return fwi_fail(ctx, st, "template_vars_json: %s", msg);
        }
        if (fwi_json_type_of(vars) != FWI_JSON_OBJECT) {
            fwi_json_free(vars);
            return fwi_fail(ctx, FW_E_FORMAT, "template_vars_json is not a JSON object");
        }
    }
    fwi_sbuf text = {0};
    const char *kind = NULL;
    st = fwi_chat_prompt(model, ctx, NULL, msgs, n_msgs, cp.chat_template, vars,
                         cp.add_generation_prompt != 0, &text, &kind);
    if (st == FW_OK) {
        fwi_prompt p = {text.data ? text.data : "", text.len, NULL, 0, kind};
        st = fwi_generate(ctx, &p, sampling, request, on_event, user_data, out);
    }
    fwi_sbuf_free(&text);
    fwi_json_free(vars);
    return st;
}

FW_API fw_status fw_generate_chat(fw_context *ctx, const fw_chat_message *msgs,
                                  size_t n_msgs, const fw_chat_params *chat,
                                  const fw_sampler_params *sampling,
                                  const fw_request *request, fw_event_fn on_event,
                                  void *user_data, fw_result **out)
{
    return fwi_context_record(ctx, generate_chat(ctx, msgs, n_msgs, chat, sampling, request,
                                                 on_event, user_data, out));
}
