/* chain.c - sampler chains: ordered stages, presets, sampling. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/sbuf.h"
#include "model/model.h"
#include "sampler.h"

#define SAMPLER_MAGIC 0x50534621u

struct fw_sampler {
    uint32_t magic;
    fw_stage **stages;
    int32_t n, cap;
    fw_token_data *buf;
    size_t buf_cap;
    int has_params;
    fw_sampler_params eff;  /* effective parameters (model defaults resolved) */
    char errmsg[FWI_ERRMSG_CAP];
};

fw_status fwi_stage_prompt(fw_stage *stage, const fw_token *t, size_t n);
fw_status fwi_stage_reserve(fw_stage *stage, int32_t n_vocab);

static int ok(const fw_sampler *s) { return s && s->magic == SAMPLER_MAGIC; }

static fw_status s_fail(fw_sampler *s, fw_status st)
{
    /* refile the thread's last message under the sampler */
    snprintf(s->errmsg, sizeof s->errmsg, "%s", fw_last_error());
    fwi_error_set_handle(s);
    return st;
}

FW_API const char *fw_sampler_errmsg(const fw_sampler *s)
{
    return ok(s) ? s->errmsg : "";
}

FW_API fw_status fw_sampler_chain_new(fw_sampler **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    fw_sampler *s = fwi_calloc(1, sizeof *s);
    if (!s)
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    s->magic = SAMPLER_MAGIC;
    *out = s;
    return FW_OK;
}

FW_API fw_status fw_sampler_chain_add(fw_sampler *s, fw_stage *stage)
{
    if (!ok(s) || !stage || stage->magic != FWI_STAGE_MAGIC) {
        fw_stage_free(stage);
        return fwi_fail(NULL, FW_E_INVALID_ARG, "%s is NULL or freed",
                        !ok(s) ? "chain" : "stage");
    }
    if (s->n == s->cap) {
        int32_t cap = s->cap ? 2 * s->cap : 8;
        fw_stage **p = fwi_realloc(s->stages, (size_t)cap * sizeof *p);
        if (!p) {
            fw_stage_free(stage);
            return fwi_fail(s, FW_E_NOMEM, "out of memory");
        }
        s->stages = p;
        s->cap = cap;
    }
    s->stages[s->n++] = stage;
    return FW_OK;
}

FW_API int32_t fw_sampler_n_stages(const fw_sampler *s) { return ok(s) ? s->n : 0; }

FW_API const char *fw_sampler_stage_name(const fw_sampler *s, int32_t i)
{
    return ok(s) && i >= 0 && i < s->n ? s->stages[i]->iface.name : NULL;
}

FW_API void fw_sampler_free(fw_sampler *s)
{
    if (!ok(s))
        return;
    for (int32_t i = 0; i < s->n; i++)
        fw_stage_free(s->stages[i]);
    fwi_free(s->stages);
    fwi_free(s->buf);
    s->magic = 0;
    fwi_free(s);
}

static void reseed(fw_stage *st, uint64_t seed, uint64_t stream)
{
    if (!st->builtin_random)
        return;
    /* the built-in random stages keep (rng, seed) first in their state */
    struct { fwi_rng rng; uint64_t seed; } *r = st->state;
    r->seed = seed ^ (stream * 0x9e3779b97f4a7c15ull);
    fwi_rng_seed(&r->rng, seed, stream);
}

FW_API fw_status fw_sampler_clone(const fw_sampler *s, int32_t do_reseed,
                                  uint64_t seed, uint64_t stream, fw_sampler **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    if (!ok(s))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "sampler is NULL or freed");
    fw_sampler *c;
    fw_status st = fw_sampler_chain_new(&c);
    if (st != FW_OK)
        return st;
    c->has_params = s->has_params;
    c->eff = s->eff;
    for (int32_t i = 0; i < s->n; i++) {
        const fw_stage *src = s->stages[i];
        void *state = src->state;
        if (src->iface.clone) {
            state = src->iface.clone(src->state);
            if (!state) {
                fw_sampler_free(c);
                return fwi_fail(NULL, FW_E_NOMEM, "out of memory cloning stage %s",
                                src->iface.name);
            }
        }
        fw_stage *d = fwi_calloc(1, sizeof *d);
        if (!d) {
            if (src->iface.clone && src->iface.free)
                src->iface.free(state);
            fw_sampler_free(c);
            return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
        }
        *d = *src;
        d->state = state;
        if (!src->iface.clone)
            d->iface.free = NULL; /* shared state: the original frees it */
        if (do_reseed)
            reseed(d, seed, stream);
        if ((st = fw_sampler_chain_add(c, d)) != FW_OK) {
            fw_sampler_free(c);
            return st;
        }
    }
    if (do_reseed) {
        c->eff.seed = seed;
        c->eff.has_seed = 1;
    }
    *out = c;
    return FW_OK;
}

FW_API fw_status fw_sampler_set_prompt(fw_sampler *s, const fw_token *t, size_t n)
{
    if (!ok(s))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "sampler is NULL or freed");
    if (!t && n)
        return fwi_fail(s, FW_E_INVALID_ARG, "tokens is NULL but n is %zu", n);
    for (size_t i = 0; i < n; i++)
        if (t[i] < 0)
            return fwi_fail(s, FW_E_RANGE, "prompt token %d at index %zu is negative",
                            (int)t[i], i);
    for (int32_t i = 0; i < s->n; i++) {
        fw_status st = fwi_stage_prompt(s->stages[i], t, n);
        if (st != FW_OK)
            return s_fail(s, st);
    }
    return FW_OK;
}

FW_API void fw_sampler_accept(fw_sampler *s, fw_token token)
{
    if (!ok(s))
        return;
    for (int32_t i = 0; i < s->n; i++)
        if (s->stages[i]->iface.accept)
            s->stages[i]->iface.accept(s->stages[i]->state, token);
}

FW_API void fw_sampler_reset(fw_sampler *s)
{
    if (!ok(s))
        return;
    for (int32_t i = 0; i < s->n; i++)
        if (s->stages[i]->iface.reset)
            s->stages[i]->iface.reset(s->stages[i]->state);
}

/* checked: the caller already rejected NaN and all -inf logits */
static fw_status run(fw_sampler *s, fw_candidates *c, int checked)
{
    c->selected = -1;
    /* reject NaN and an all-banned input before any stage runs; the
     * built-in stages compute p when they need it, a caller's own stage
     * may read it on entry */
    int custom = 0;
    for (int32_t i = 0; i < s->n; i++)
        custom |= s->stages[i]->custom;
    fw_status st = custom ? fwi_cands_softmax(c) : checked ? FW_OK : fwi_cands_check(c);
    for (int32_t i = 0; st == FW_OK && i < s->n && c->selected < 0; i++) {
        st = s->stages[i]->iface.apply(s->stages[i]->state, c);
        if (st == FW_OK && c->n == 0)
            st = fwi_fail(s, FW_E_INTERNAL, "stage %s left no candidates",
                          s->stages[i]->iface.name);
        if (st == FW_OK && (c->selected >= (int32_t)c->n))
            st = fwi_fail(s, FW_E_INTERNAL, "stage %s selected out of range",
                          s->stages[i]->iface.name);
    }
    if (st == FW_OK && c->selected < 0)
        st = fwi_cands_softmax(c);
    return st;
}

FW_API fw_status fw_sampler_apply(fw_sampler *s, fw_candidates *c)
{
    if (!ok(s))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "sampler is NULL or freed");
    if (!c || (!c->data && c->n))
        return fwi_fail(s, FW_E_INVALID_ARG, "cands %s", c ? "->data is NULL" : "is NULL");
    for (size_t i = 0; i < c->n; i++)
        if (c->data[i].id < 0)
            return fwi_fail(s, FW_E_RANGE, "candidate %zu has token id %d", i,
                            (int)c->data[i].id);
    fw_status st = run(s, c, 0);
    return st == FW_OK ? st : s_fail(s, st);
}

FW_API fw_status fw_sampler_sample(fw_sampler *s, const float *logits,
                                   int32_t n_vocab, fw_token *out,
                                   float *sampling_logprob)
{
    if (!ok(s))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "sampler is NULL or freed");
    if (!logits || n_vocab <= 0 || !out)
        return fwi_fail(s, FW_E_INVALID_ARG, "%s",
                        !logits ? "logits is NULL"
                        : !out  ? "out is NULL"
                                : "n_vocab must be > 0");
    for (int32_t i = 0; i < s->n; i++) {
        fw_status st = fwi_stage_reserve(s->stages[i], n_vocab);
        if (st != FW_OK)
            return s_fail(s, st);
    }
    if ((size_t)n_vocab > s->buf_cap) {
        fw_token_data *b = fwi_realloc(s->buf, (size_t)n_vocab * sizeof *b);
        if (!b)
            return fwi_fail(s, FW_E_NOMEM, "out of memory");
        s->buf = b;
        s->buf_cap = (size_t)n_vocab;
    }
    /* the candidates, and the checks of the input on the way */
    float max = -INFINITY;
    int nan = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        const float l = logits[i];
        s->buf[i] = (fw_token_data){i, l, 0.0f};
        nan |= l != l;
        max = l > max ? l : max;
    }
    fw_candidates c = {s->buf, (size_t)n_vocab, -1, 0};
    fw_status st = run(s, &c, !nan && max > -INFINITY);
    if (st != FW_OK)
        return s_fail(s, st);
    if (c.selected < 0)
        return s_fail(s, fwi_fail(s, FW_E_STATE,
                                  "no stage of the chain selects a token (add "
                                  "greedy, dist or mirostat)"));
    *out = c.data[c.selected].id;
    if (sampling_logprob)
        *sampling_logprob = c.data[c.selected].p > 0 ? logf(c.data[c.selected].p)
                                                     : -INFINITY;
    fw_sampler_accept(s, *out);
    return FW_OK;
}

/* ---- presets ---- */

/* The effective value of a model-default field: request, model, neutral. */
static void resolve(const fw_model *m, fw_sampler_params *p)
{
    fwi_sampling_defaults d;
    fwi_model_sampling_defaults(m, &d);
    if (isnan(p->temperature))
        p->temperature = d.has[FWI_DEF_TEMPERATURE] ? (float)d.value[FWI_DEF_TEMPERATURE] : 1.0f;
    if (p->top_k == FW_TOP_K_UNSET)
        p->top_k = d.has[FWI_DEF_TOP_K] ? (int32_t)d.value[FWI_DEF_TOP_K] : 0;
    if (isnan(p->top_p))
        p->top_p = d.has[FWI_DEF_TOP_P] ? (float)d.value[FWI_DEF_TOP_P] : 1.0f;
    if (isnan(p->min_p))
        p->min_p = d.has[FWI_DEF_MIN_P] ? (float)d.value[FWI_DEF_MIN_P] : 0.0f;
    if (isnan(p->typical_p))
        p->typical_p = d.has[FWI_DEF_TYPICAL_P] ? (float)d.value[FWI_DEF_TYPICAL_P] : 1.0f;
    if (!p->has_seed) {
        /* a random seed, reported in the effective parameters */
        struct timespec ts;
        timespec_get(&ts, TIME_UTC);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                     (uint64_t)(uintptr_t)p;
        fwi_rng r;
        fwi_rng_seed(&r, x, 0);
        p->seed = fwi_rng_next(&r) >> 1; /* fits int64 for JSON consumers */
        p->has_seed = 1;
    }
}

/* Make a stage with `call` (which writes g) and append it, if all is well
 * so far. */
#define ADD(call)                                                       \
    do {                                                                \
        if (st == FW_OK) {                                              \
            fw_stage *g = NULL;                                         \
            st = (call);                                                \
            if (st == FW_OK)                                            \
                st = fw_sampler_chain_add(s, g);                        \
        }                                                               \
    } while (0)

FW_API fw_status fw_sampler_chain_preset(const char *preset, const fw_model *model,
                                         const fw_sampler_params *params,
                                         fw_sampler **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    if (!preset)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "preset is NULL");
    if (strcmp(preset, "fireworks") && strcmp(preset, "llama.cpp"))
        return fwi_fail(NULL, FW_E_NOT_FOUND,
                        "unknown sampler preset '%s' (known: fireworks, llama.cpp)",
                        preset);
    if (model && !fwi_model_ok(model))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "model is freed");
    fw_sampler_params p;
    fw_sampler_params_init(&p);
    fw_status st = fwi_params_copy(&p, sizeof p, params, "fw_sampler_params", NULL);
    if (st != FW_OK)
        return st;
    int32_t n_vocab = model ? fw_model_n_vocab(model) : 0;
    if (!n_vocab && model)
        n_vocab = fw_vocab_n_tokens(model);
    if ((st = fw_sampler_params_validate(&p, n_vocab)) != FW_OK)
        return st;
    resolve(model, &p);
    fw_sampler *s;
    if ((st = fw_sampler_chain_new(&s)) != FW_OK)
        return st;
    s->has_params = 1;
    s->eff = p;
    s->eff.logit_bias = NULL; /* not owned past this call */
    if (p.n_logit_bias)
        ADD(fw_stage_logit_bias(p.logit_bias, p.n_logit_bias, &g));
    if (st == FW_OK && p.repetition_penalty != 1.0f)
        ADD(fw_stage_repetition_penalty(p.repetition_penalty, &g));
    if (st == FW_OK && (p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f))
        ADD(fw_stage_frequency_presence(p.frequency_penalty,
                                                p.presence_penalty, &g));
    int fireworks = !strcmp(preset, "fireworks");
    if (st == FW_OK && p.temperature == 0.0f) {
        ADD(fw_stage_greedy(&g));
    } else if (st == FW_OK && fireworks) {
        if (p.temperature != 1.0f)
            ADD(fw_stage_temperature(p.temperature, &g));
        if (st == FW_OK && !isnan(p.mirostat_target)) {
            ADD(fw_stage_mirostat_v2(p.mirostat_target, p.mirostat_lr,
                                             p.seed, &g));
        } else if (st == FW_OK) {
            if (p.min_p > 0.0f)
                ADD(fw_stage_min_p(p.min_p, &g));
            if (st == FW_OK && p.top_k > 0)
                ADD(fw_stage_top_k(p.top_k, &g));
            if (st == FW_OK && p.top_p < 1.0f)
                ADD(fw_stage_top_p(p.top_p, &g));
            if (st == FW_OK && p.typical_p < 1.0f)
                ADD(fw_stage_typical_p(p.typical_p, &g));
            if (st == FW_OK)
                ADD(fw_stage_dist(p.seed, &g));
        }
    } else if (st == FW_OK) { /* llama.cpp order: temperature last */
        if (p.top_k > 0)
            ADD(fw_stage_top_k(p.top_k, &g));
        if (st == FW_OK && p.typical_p < 1.0f)
            ADD(fw_stage_typical_p(p.typical_p, &g));
        if (st == FW_OK && p.top_p < 1.0f)
            ADD(fw_stage_top_p(p.top_p, &g));
        if (st == FW_OK && p.min_p > 0.0f)
            ADD(fw_stage_min_p(p.min_p, &g));
        if (st == FW_OK && p.temperature != 1.0f)
            ADD(fw_stage_temperature(p.temperature, &g));
        if (st == FW_OK && !isnan(p.mirostat_target))
            ADD(fw_stage_mirostat_v2(p.mirostat_target, p.mirostat_lr,
                                             p.seed, &g));
        else if (st == FW_OK)
            ADD(fw_stage_dist(p.seed, &g));
    }
    if (st != FW_OK) {
        fw_sampler_free(s);
        return st;
    }
    *out = s;
    return FW_OK;
}

FW_API fw_status fw_sampler_new(const fw_model *model, const fw_sampler_params *params,
                                fw_sampler **out)
{
    return fw_sampler_chain_preset("fireworks", model, params, out);
}

void fwi_sampler_effective(const fw_sampler *s, fwi_sbuf *b)
{
    const fw_sampler_params *p = &s->eff;
    fwi_sbuf_puts(b, "{\"temperature\":");
    fwi_sbuf_json_f32(b, p->temperature);
    fwi_sbuf_printf(b, ",\"top_k\":%d,\"top_p\":", (int)p->top_k);
    fwi_sbuf_json_f32(b, p->top_p);
    fwi_sbuf_puts(b, ",\"min_p\":");
    fwi_sbuf_json_f32(b, p->min_p);
    fwi_sbuf_puts(b, ",\"typical_p\":");
    fwi_sbuf_json_f32(b, p->typical_p);
    fwi_sbuf_puts(b, ",\"frequency_penalty\":");
    fwi_sbuf_json_f32(b, p->frequency_penalty);
    fwi_sbuf_puts(b, ",\"presence_penalty\":");
    fwi_sbuf_json_f32(b, p->presence_penalty);
    fwi_sbuf_puts(b, ",\"repetition_penalty\":");
    fwi_sbuf_json_f32(b, p->repetition_penalty);
    fwi_sbuf_puts(b, ",\"mirostat_target\":");
    fwi_sbuf_json_f32(b, p->mirostat_target); /* NaN (off) renders null */
    fwi_sbuf_puts(b, ",\"mirostat_lr\":");
    fwi_sbuf_json_f32(b, p->mirostat_lr);
    fwi_sbuf_printf(b, ",\"seed\":%llu}", (unsigned long long)p->seed);
}

FW_API fw_status fw_sampler_effective_json(const fw_sampler *s, char *buf,
                                           size_t cap, size_t *n_needed)
{
    if (!ok(s))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "sampler is NULL or freed");
    if (!s->has_params)
        return fwi_fail(s, FW_E_STATE, "a hand-built chain has no parameter set");
    fwi_sbuf b = {0};
    fwi_sampler_effective(s, &b);
    fw_status st = b.failed ? fwi_fail(s, FW_E_NOMEM, "out of memory")
                            : fwi_out_text(s, b.data, b.len, buf, cap, n_needed);
    fwi_sbuf_free(&b);
    return st;
}

uint64_t fwi_sampler_seed(const fw_sampler *s);
uint64_t fwi_sampler_seed(const fw_sampler *s)
{
    return ok(s) ? s->eff.seed : 0;
}
