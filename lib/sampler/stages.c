/*
 * stages.c - the built-in sampler stages.  Each is a state struct plus the
 * callbacks of fw_stage_iface; the rules are those of docs/SAMPLING.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

fw_status fwi_stage_make(const fw_stage_iface *iface, void *state,
                         int builtin_random, fw_stage **out)
{
    fw_stage *s = fwi_calloc(1, sizeof *s);
    if (!s) {
        if (iface->free)
            iface->free(state);
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    }
    s->magic = FWI_STAGE_MAGIC;
    s->iface = *iface;
    s->state = state;
    s->builtin_random = builtin_random;
    *out = s;
    return FW_OK;
}

static void *clone_bytes(const void *p, size_t n)
{
    void *q = fwi_malloc(n);
    if (q)
        memcpy(q, p, n);
    return q;
}

static fw_status range_check(const char *name, double v, double lo, double hi,
                             int lo_open)
{
    if (isnan(v) || v < lo || v > hi || (lo_open && v == lo))
        return fwi_fail(NULL, FW_E_RANGE, "%s = %g is out of range %c%g, %g]",
                        name, v, lo_open ? '(' : '[', lo, hi);
    return FW_OK;
}

/* ---- temperature ---- */

typedef struct { float t; } temp_state;

static fw_status temp_apply(void *st, fw_candidates *c)
{
    float t = ((temp_state *)st)->t;
    if (t <= 0.0f) { /* temperature 0 is greedy */
        size_t best = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->data[i].logit > c->data[best].logit ||
                (c->data[i].logit == c->data[best].logit &&
                 c->data[i].id < c->data[best].id))
                best = i;
        c->data[0] = c->data[best];
        c->data[0].p = 1.0f;
        c->n = 1;
        c->selected = 0;
        return FW_OK;
    }
    for (size_t i = 0; i < c->n; i++)
        c->data[i].logit /= t;
    return FW_OK;
}

static void *temp_clone(const void *st) { return clone_bytes(st, sizeof(temp_state)); }

FW_API fw_status fw_stage_temperature(float temperature, fw_stage **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    fw_status st = range_check("temperature", temperature, 0, 2, 0);
    if (st != FW_OK)
        return st;
    temp_state *s = fwi_malloc(sizeof *s);
    if (!s)
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    s->t = temperature;
    static const fw_stage_iface iface = {sizeof(fw_stage_iface), "temperature",
                                         temp_apply, NULL, NULL, temp_clone,
                                         fwi_free};
    return fwi_stage_make(&iface, s, 0, out);
}

/* ---- greedy ---- */

static fw_status greedy_apply(void *st, fw_candidates *c)
{
    temp_state zero = {0.0f};
    (void)st;
    return temp_apply(&zero, c);
}

FW_API fw_status fw_stage_greedy(fw_stage **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    static const fw_stage_iface iface = {sizeof(fw_stage_iface), "greedy",
                                         greedy_apply, NULL, NULL, NULL, NULL};
    return fwi_stage_make(&iface, NULL, 0, out);
}

/* ---- logit bias ---- */

typedef struct {
    uint32_t n;
    fw_logit_bias b[]; /* sorted by token */
} bias_state;

static int cmp_bias(const void *a, const void *b)
{
    const fw_logit_bias *x = a, *y = b;
    return (x->token > y->token) - (x->token < y->token);
}

static fw_status bias_apply(void *st, fw_candidates *c)
{
    const bias_state *s = st;
    for (size_t i = 0; i < c->n; i++) {
        fw_logit_bias key = {c->data[i].id, 0};
        const fw_logit_bias *hit = bsearch(&key, s->b, s->n, sizeof *s->b, cmp_bias);
        if (hit)
            c->data[i].logit += hit->bias;
    }
    return FW_OK;
}

static void *bias_clone(const void *st)
{
    const bias_state *s = st;
    return clone_bytes(s, sizeof *s + s->n * sizeof *s->b);
}

FW_API fw_status fw_stage_logit_bias(const fw_logit_bias *bias, uint32_t n,
                                     fw_stage **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    if (!bias && n)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "bias is NULL but n is %u",
                        (unsigned)n);
    for (uint32_t i = 0; i < n; i++) {
        if (bias[i].token < 0)
            return fwi_fail(NULL, FW_E_RANGE, "logit_bias: token id %d is negative",
                            (int)bias[i].token);
        if (isnan(bias[i].bias) || bias[i].bias < -100 || bias[i].bias > 100)
            return fwi_fail(NULL, FW_E_RANGE,
                            "logit_bias: bias %g for token %d is out of range "
                            "[-100, 100]",
                            (double)bias[i].bias, (int)bias[i].token);
    }
    bias_state *s = fwi_malloc(sizeof *s + n * sizeof *s->b);
    if (!s)
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    s->n = n;
    if (n)
        memcpy(s->b, bias, n * sizeof *bias);
    qsort(s->b, n, sizeof *s->b, cmp_bias);
    /* a repeated token: the last value given wins (as a JSON object would) */
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (k && s->b[k - 1].token == s->b[i].token)
            k--;
        s->b[k++] = s->b[i];
    }
    s->n = k;
    static const fw_stage_iface iface = {sizeof(fw_stage_iface), "logit_bias",
                                         bias_apply, NULL, NULL, bias_clone,
                                         fwi_free};
    return fwi_stage_make(&iface, s, 0, out);
}

/* ---- token counts, for the penalties ---- */

typedef struct counts {
    int32_t *n;      /* count per token id */
    size_t cap;
    fw_token *seen;  /* the ids with a count, in order of arrival */
    size_t n_seen, cap_seen;
} counts;

static int counts_add(counts *c, fw_token t, int32_t by)
{
    if (t < 0)
        return 0;
    if ((size_t)t >= c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (cap <= (size_t)t)
            cap *= 2;
        int32_t *p = fwi_realloc(c->n, cap * sizeof *p);
        if (!p)
            return -1;
        memset(p + c->cap, 0, (cap - c->cap) * sizeof *p);
        c->n = p;
        c->cap = cap;
    }
    if (c->n[t] == 0 && by != 0) {
        if (c->n_seen == c->cap_seen) {
            size_t cap = c->cap_seen ? 2 * c->cap_seen : 64;
            fw_token *p = fwi_realloc(c->seen, cap * sizeof *p);
            if (!p)
                return -1;
            c->seen = p;
            c->cap_seen = cap;
        }
        c->seen[c->n_seen++] = t;
    }
    c->n[t] += by;
    return 0;
}

/* room for n distinct ids in the list, so that adding never allocates */
static int counts_reserve_seen(counts *c, int32_t n)
{
    if (c->cap_seen >= (size_t)n)
        return 0;
    fw_token *p = fwi_realloc(c->seen, (size_t)n * sizeof *p);
    if (!p)
        return -1;
    c->seen = p;
    c->cap_seen = (size_t)n;
    return 0;
}

static int32_t counts_get(const counts *c, fw_token t)
{
    return t >= 0 && (size_t)t < c->cap ? c->n[t] : 0;
}

static void counts_clear(counts *c)
{
    for (size_t i = 0; i < c->n_seen; i++)
        c->n[c->seen[i]] = 0;
    c->n_seen = 0;
}

static void counts_free(counts *c)
{
    fwi_free(c->n);
    fwi_free(c->seen);
}

static int counts_copy(counts *dst, const counts *src)
{
    memset(dst, 0, sizeof *dst);
    if (!src->cap)
        return 0;
    dst->n = clone_bytes(src->n, src->cap * sizeof *src->n);
    /* the same capacity: a reserved list stays reserved in the clone */
    dst->seen = src->cap_seen ? fwi_malloc_array(src->cap_seen, sizeof *src->seen) : NULL;
    if (!dst->n || (src->cap_seen && !dst->seen)) {
        counts_free(dst);
        memset(dst, 0, sizeof *dst);
        return -1;
    }
    if (src->n_seen)
        memcpy(dst->seen, src->seen, src->n_seen * sizeof *src->seen);
    dst->cap = src->cap;
    dst->n_seen = src->n_seen;
    dst->cap_seen = src->cap_seen;
    return 0;
}

/* Where token t is among the candidates when they are still the whole
 * vocabulary in id order (the first stages of a chain see that), else
 * -1: the caller then scans. */
static inline long cand_at(const fw_candidates *c, fw_token t)
{
    return (size_t)t < c->n && c->data[t].id == t ? (long)t : -1;
}

/* Whether every token of `list` is found by cand_at. */
static int cands_indexed(const fw_candidates *c, const counts *list)
{
    for (size_t i = 0; i < list->n_seen; i++)
        if (cand_at(c, list->seen[i]) < 0)
            return 0;
    return 1;
}

/* ---- repetition penalty (CTRL rule, prompt + generated, once per token) ---- */

typedef struct {
    float theta;
    counts prompt, gen;
} rep_state;

static void rep_one(const rep_state *s, fw_token_data *d)
{
    float z = d->logit;
    d->logit = z > 0 ? z / s->theta : z * s->theta;
}

static fw_status rep_apply(void *st, fw_candidates *c)
{
    rep_state *s = st;
    if (cands_indexed(c, &s->prompt) && cands_indexed(c, &s->gen)) {
        /* only the tokens seen: each once (the prompt's, then the
         * generated ones not in the prompt) */
        for (size_t i = 0; i < s->prompt.n_seen; i++)
            rep_one(s, &c->data[s->prompt.seen[i]]);
        for (size_t i = 0; i < s->gen.n_seen; i++)
            if (!counts_get(&s->prompt, s->gen.seen[i]))
                rep_one(s, &c->data[s->gen.seen[i]]);
        return FW_OK;
    }
    for (size_t i = 0; i < c->n; i++) {
        fw_token t = c->data[i].id;
        if (counts_get(&s->prompt, t) || counts_get(&s->gen, t)) {
            float z = c->data[i].logit;
            c->data[i].logit = z > 0 ? z / s->theta : z * s->theta;
        }
    }
    return FW_OK;
}

static void rep_accept(void *st, fw_token t) { counts_add(&((rep_state *)st)->gen, t, 1); }

static void rep_reset(void *st)
{
    rep_state *s = st;
    counts_clear(&s->gen);
    counts_clear(&s->prompt);
}

static void rep_free(void *st)
{
    rep_state *s = st;
    counts_free(&s->prompt);
    counts_free(&s->gen);
    fwi_free(s);
}

static void *rep_clone(const void *st)
{
    const rep_state *s = st;
    rep_state *d = fwi_malloc(sizeof *d);
    if (!d)
        return NULL;
    d->theta = s->theta;
    if (counts_copy(&d->prompt, &s->prompt) || counts_copy(&d->gen, &s->gen)) {
        counts_free(&d->prompt);
        fwi_free(d);
        return NULL;
    }
    return d;
}

fw_status fwi_stage_prompt(fw_stage *stage, const fw_token *t, size_t n);
fw_status fwi_stage_reserve(fw_stage *stage, int32_t n_vocab);

FW_API fw_status fw_stage_repetition_penalty(float penalty, fw_stage **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    fw_status st = range_check("repetition_penalty", penalty, 0, 2, 1);
    if (st != FW_OK)
        return st;
    rep_state *s = fwi_calloc(1, sizeof *s);
    if (!s)
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    s->theta = penalty;
    static const fw_stage_iface iface = {sizeof(fw_stage_iface),
                                         "repetition_penalty", rep_apply,
                                         rep_accept, rep_reset, rep_clone,
                                         rep_free};
    return fwi_stage_make(&iface, s, 0, out);
}

/* ---- frequency / presence (OpenAI rule, generated tokens only) ---- */

typedef struct {
    float freq, pres;
    counts gen;
} fp_state;

static fw_status fp_apply(void *st, fw_candidates *c)
{
    fp_state *s = st;
    if (cands_indexed(c, &s->gen)) {
        for (size_t i = 0; i < s->gen.n_seen; i++) {
            const fw_token t = s->gen.seen[i];
            c->data[t].logit -= (float)s->gen.n[t] * s->freq + s->pres;
        }
        return FW_OK;
    }
    for (size_t i = 0; i < c->n; i++) {
        int32_t k = counts_get(&s->gen, c->data[i].id);
        if (k)
            c->data[i].logit -= (float)k * s->freq + s->pres;
    }
    return FW_OK;
}

static void fp_accept(void *st, fw_token t) { counts_add(&((fp_state *)st)->gen, t, 1); }

static void fp_reset(void *st)
{
    fp_state *s = st;
    counts_clear(&s->gen);
}

static void fp_free(void *st)
{
    counts_free(&((fp_state *)st)->gen);
    fwi_free(st);
}

static void *fp_clone(const void *st)
{
    const fp_state *s = st;
    fp_state *d = fwi_malloc(sizeof *d);
    if (!d)
        return NULL;
    *d = *s;
    if (counts_copy(&d->gen, &s->gen)) {
        fwi_free(d);
        return NULL;
    }
    return d;
}

FW_API fw_status fw_stage_frequency_presence(float frequency, float presence,
                                             fw_stage **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    fw_status st = range_check("frequency_penalty", frequency, -2, 2, 0);
    if (st == FW_OK)
        st = range_check("presence_penalty", presence, -2, 2, 0);
    if (st != FW_OK)
        return st;
    fp_state *s = fwi_calloc(1, sizeof *s);
    if (!s)
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    s->freq = frequency;
    s->pres = presence;
    static const fw_stage_iface iface = {sizeof(fw_stage_iface),
                                         "frequency_presence", fp_apply,
                                         fp_accept, fp_reset, fp_clone, fp_free};
    return fwi_stage_make(&iface, s, 0, out);
}

/* ---- top_k ---- */

typedef struct { int32_t k; } k_state;

static fw_status topk_apply(void *st, fw_candidates *c)
{
    int32_t k = ((k_state *)st)->k;
    if (k <= 0 || (size_t)k >= c->n)
        return FW_OK;
    fwi_cands_top(c, (size_t)k); /* ties at the boundary go to the lower id */
    fwi_cands_keep(c, (size_t)k);
    return FW_OK;
}

static void *k_clone(const void *st) { return clone_bytes(st, sizeof(k_state)); }

FW_API fw_status fw_stage_top_k(int32_t k, fw_stage **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    if (k < -1)
        return fwi_fail(NULL, FW_E_RANGE, "top_k = %d is out of range (>= -1)",
                        (int)k);
    k_state *s = fwi_malloc(sizeof *s);
    if (!s)
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    s->k = k;
    static const fw_stage_iface iface = {sizeof(fw_stage_iface), "top_k",
                                         topk_apply, NULL, NULL, k_clone, fwi_free};
    return fwi_stage_make(&iface, s, 0, out);
}

/* ---- top_p ---- */

typedef struct { float p; } p_state;

static void *p_clone(const void *st) { return clone_bytes(st, sizeof(p_state)); }

static fw_status topp_apply(void *st, fw_candidates *c)
{
    float p = ((p_state *)st)->p;
    if (p >= 1.0f)
        return FW_OK;
    fw_status s = fwi_cands_softmax(c);
    if (s != FW_OK)
        return s;
    /* the nucleus is usually small: select the top 64, 512, ... until
     * their mass reaches p, sorting only those */
    size_t keep = c->n;
    for (size_t k = 64;; k *= 8) {
        const size_t m = k < c->n ? k : c->n;
        fwi_cands_top(c, m);
        double run = 0;
        size_t i = 0;
        for (; i < m; i++) {
            run += c->data[i].p;
            if (run >= p)
                break;
        }
        if (i < m) {
            keep = i + 1;
            break;
        }
        if (m == c->n)
            break;
    }
    fwi_cands_keep(c, keep);
    return FW_OK;
}

static fw_status make_p(const char *name, float p,
                        fw_status (*apply)(void *, fw_candidates *), fw_stage **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    fw_status st = range_check(name, p, 0, 1, 0);
    if (st != FW_OK)
        return st;
    p_state *s = fwi_malloc(sizeof *s);
    if (!s)
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    s->p = p;
    fw_stage_iface iface = {sizeof(fw_stage_iface), name, apply, NULL, NULL,
                            p_clone, fwi_free};
    return fwi_stage_make(&iface, s, 0, out);
}

FW_API fw_status fw_stage_top_p(float p, fw_stage **out)
{
    return make_p("top_p", p, topp_apply, out);
}

/* ---- min_p (relative to the most probable token) ---- */

/* p[t] < m * max(p)  <=>  e^(l[t] - max l) < m  <=>  l[t] - max l < ln m:
 * decided on the logits (as llama.cpp does), with no softmax over the
 * whole vocabulary; ties with the max always stay. */
static fw_status minp_apply(void *st, fw_candidates *c)
{
    float m = ((p_state *)st)->p;
    if (m <= 0.0f)
        return FW_OK;
    float max = -INFINITY;
    for (size_t i = 0; i < c->n; i++)
        max = c->data[i].logit > max ? c->data[i].logit : max;
    size_t k = 0;
    if (max == INFINITY) { /* the +inf logits share all the mass */
        for (size_t i = 0; i < c->n; i++)
            if (c->data[i].logit == INFINITY)
                c->data[k++] = c->data[i];
    } else {
        const float thr = logf(m);
        for (size_t i = 0; i < c->n; i++)
            if (!(c->data[i].logit - max < thr))
                c->data[k++] = c->data[i];
    }
    c->n = k ? k : 1; /* cannot happen: the max survives */
    return FW_OK;
}

FW_API fw_status fw_stage_min_p(float p, fw_stage **out)
{
    return make_p("min_p", p, minp_apply, out);
}

/* ---- typical_p (HF rule) ---- */

typedef struct {
    float key;
    size_t idx;
    fw_token id;
} typ_key;

static int cmp_typ(const void *a, const void *b)
{
    const typ_key *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static fw_status typical_apply(void *st, fw_candidates *c)
{
    float tp = ((p_state *)st)->p;
    if (tp >= 1.0f)
        return FW_OK;
    fw_status s = fwi_cands_softmax(c);
    if (s != FW_OK)
        return s;
    double h = 0; /* entropy; 0 * log 0 = 0 */
    for (size_t i = 0; i < c->n; i++) {
        double p = c->data[i].p;
        if (p > 0)
            h -= p * log(p);
    }
    typ_key *keys = fwi_malloc_array(c->n, sizeof *keys);
    fw_token_data *tmp = fwi_malloc_array(c->n, sizeof *tmp);
    if (!keys || !tmp) {
        fwi_free(keys);
        fwi_free(tmp);
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->n; i++) {
        double p = c->data[i].p;
        keys[i].key = p > 0 ? (float)fabs(-log(p) - h) : INFINITY;
        keys[i].idx = i;
        keys[i].id = c->data[i].id;
    }
    qsort(keys, c->n, sizeof *keys, cmp_typ);
    double run = 0;
    size_t keep = c->n;
    for (size_t i = 0; i < c->n; i++) {
        run += c->data[keys[i].idx].p;
        if (run >= tp) {
            keep = i + 1;
            while (keep < c->n && keys[keep].key == keys[i].key)
                keep++; /* tokens tied on the sort key stay */
            break;
        }
    }
    if (keep < 1)
        keep = 1;
    for (size_t i = 0; i < keep; i++)
        tmp[i] = c->data[keys[i].idx];
    memcpy(c->data, tmp, keep * sizeof *tmp);
    c->n = keep;
    fwi_free(keys);
    fwi_free(tmp);
    return FW_OK;
}

FW_API fw_status fw_stage_typical_p(float p, fw_stage **out)
{
    return make_p("typical_p", p, typical_apply, out);
}

/* ---- dist: random selection ---- */

typedef struct {
    fwi_rng rng; /* first: reseedable */
    uint64_t seed;
} dist_state;

static fw_status dist_apply(void *st, fw_candidates *c)
{
    dist_state *s = st;
    fw_status e = fwi_cands_softmax(c);
    if (e != FW_OK)
        return e;
    c->selected = fwi_cands_pick(c, fwi_rng_uniform(&s->rng));
    return FW_OK;
}

static void dist_reset(void *st)
{
    dist_state *s = st;
    fwi_rng_seed(&s->rng, s->seed, 0);
}

static void *dist_clone(const void *st) { return clone_bytes(st, sizeof(dist_state)); }

FW_API fw_status fw_stage_dist(uint64_t seed, fw_stage **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    dist_state *s = fwi_malloc(sizeof *s);
    if (!s)
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    s->seed = seed;
    fwi_rng_seed(&s->rng, seed, 0);
    static const fw_stage_iface iface = {sizeof(fw_stage_iface), "dist",
                                         dist_apply, NULL, dist_reset,
                                         dist_clone, fwi_free};
    return fwi_stage_make(&iface, s, 1, out);
}

/* ---- Mirostat v2 and v1 ---- */

typedef struct {
    fwi_rng rng; /* first: reseedable */
    uint64_t seed;
    float tau, eta, mu;
    int32_t version, n_vocab;
    fw_token last;   /* token selected by the last apply */
    float last_p;    /* its renormalised probability */
} miro_state;

static fw_status miro_apply(void *st, fw_candidates *c)
{
    miro_state *s = st;
    fw_status e = fwi_cands_softmax(c);
    if (e != FW_OK)
        return e;
    fwi_cands_sort_desc(c);
    if (s->version == 2) {
        size_t keep = 0;
        while (keep < c->n && !(-log2f(c->data[keep].p) > s->mu))
            keep++;
        fwi_cands_keep(c, keep);
    } else {
        /* Algorithm 1 of the Mirostat paper: estimate the Zipf exponent
         * from the top m = 100 probabilities, then top-k with the k that
         * gives the target surprise. */
        size_t m = c->n < 100 ? c->n : 100;
        double sum_tb = 0, sum_tt = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            if (c->data[i + 1].p <= 0)
                break;
            double t = log((double)(i + 2) / (double)(i + 1));
            double b = log((double)c->data[i].p / (double)c->data[i + 1].p);
            sum_tb += t * b;
            sum_tt += t * t;
        }
        double s_hat = sum_tt > 0 ? sum_tb / sum_tt : 1.0;
        double eps = s_hat - 1;
        double n = (double)(s->n_vocab > 0 ? s->n_vocab : (int32_t)c->n);
        double k = fabs(eps) < 1e-9
                       ? (double)c->n
                       : pow((eps * pow(2.0, s->mu)) / (1 - pow(n, -eps)), 1 / s_hat);
        size_t ki = !(k >= 1) ? 1 : k > (double)c->n ? c->n : (size_t)(k + 0.5);
        fwi_cands_keep(c, ki);
    }
    e = fwi_cands_softmax(c);
    if (e != FW_OK)
        return e;
    c->selected = fwi_cands_pick(c, fwi_rng_uniform(&s->rng));
    s->last = c->data[c->selected].id;
    s->last_p = c->data[c->selected].p;
    return FW_OK;
}

static void miro_accept(void *st, fw_token t)
{
    miro_state *s = st;
    if (t != s->last || !(s->last_p > 0))
        return;
    float surprise = -log2f(s->last_p);
    s->mu -= s->eta * (surprise - s->tau);
    s->last = -1;
}

static void miro_reset(void *st)
{
    miro_state *s = st;
    s->mu = 2 * s->tau;
    s->last = -1;
    fwi_rng_seed(&s->rng, s->seed, 0);
}

static void *miro_clone(const void *st) { return clone_bytes(st, sizeof(miro_state)); }

static fw_status make_miro(int version, float target, float lr, int32_t n_vocab,
                           uint64_t seed, fw_stage **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    if (isnan(target) || !(target > 0) || isinf(target))
        return fwi_fail(NULL, FW_E_RANGE,
                        "mirostat_target = %g is out of range (> 0)", (double)target);
    if (isnan(lr) || !(lr > 0) || isinf(lr))
        return fwi_fail(NULL, FW_E_RANGE, "mirostat_lr = %g is out of range (> 0)",
                        (double)lr);
    miro_state *s = fwi_calloc(1, sizeof *s);
    if (!s)
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    s->seed = seed;
    s->tau = target;
    s->eta = lr;
    s->version = version;
    s->n_vocab = n_vocab;
    miro_reset(s);
    static const fw_stage_iface v2 = {sizeof(fw_stage_iface), "mirostat_v2",
                                      miro_apply, miro_accept, miro_reset,
                                      miro_clone, fwi_free};
    static const fw_stage_iface v1 = {sizeof(fw_stage_iface), "mirostat_v1",
                                      miro_apply, miro_accept, miro_reset,
                                      miro_clone, fwi_free};
    return fwi_stage_make(version == 2 ? &v2 : &v1, s, 1, out);
}

FW_API fw_status fw_stage_mirostat_v2(float target, float lr, uint64_t seed,
                                      fw_stage **out)
{
    return make_miro(2, target, lr, 0, seed, out);
}

FW_API fw_status fw_stage_mirostat_v1(float target, float lr, int32_t n_vocab,
                                      uint64_t seed, fw_stage **out)
{
    return make_miro(1, target, lr, n_vocab, seed, out);
}

/* ---- custom stages and the generic entry points ---- */

FW_API fw_status fw_stage_custom(const fw_stage_iface *iface, void *state,
                                 fw_stage **out)
{
    if (out)
        *out = NULL;
    if (!out || !iface || !iface->apply)
        return fwi_fail(NULL, FW_E_INVALID_ARG,
                        "custom stage: %s is NULL (iface, iface->apply and out "
                        "are required)",
                        !out ? "out" : !iface ? "iface" : "iface->apply");
    fw_stage_iface copy;
    memset(&copy, 0, sizeof copy);
    size_t n = iface->struct_size < sizeof copy ? iface->struct_size : sizeof copy;
    if (n < offsetof(fw_stage_iface, apply) + sizeof(void *))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "custom stage: struct_size %u too small",
                        (unsigned)iface->struct_size);
    memcpy(&copy, iface, n);
    if (!copy.name)
        copy.name = "custom";
    fw_stage *s = fwi_calloc(1, sizeof *s);
    if (!s)
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    s->magic = FWI_STAGE_MAGIC;
    s->iface = copy;
    s->state = state;
    s->custom = 1;
    *out = s;
    return FW_OK;
}

FW_API void fw_stage_free(fw_stage *stage)
{
    if (!stage || stage->magic != FWI_STAGE_MAGIC)
        return;
    if (stage->iface.free)
        stage->iface.free(stage->state);
    stage->magic = 0;
    fwi_free(stage);
}

FW_API const char *fw_stage_name(const fw_stage *stage)
{
    return stage && stage->magic == FWI_STAGE_MAGIC ? stage->iface.name : "";
}

FW_API fw_status fw_stage_apply(fw_stage *stage, fw_candidates *c)
{
    if (!stage || stage->magic != FWI_STAGE_MAGIC)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "stage is NULL or freed");
    if (!c || (!c->data && c->n))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "cands %s",
                        c ? "->data is NULL" : "is NULL");
    c->selected = -1;
    fw_status st = fwi_cands_softmax(c); /* also rejects NaN / all -inf */
    if (st == FW_OK)
        st = stage->iface.apply(stage->state, c);
    if (st == FW_OK && c->selected < 0)
        st = fwi_cands_softmax(c);
    return st;
}

/* Feed prompt tokens to the repetition penalty (the only stage that counts
 * them).  FW_E_NOMEM if its counters cannot grow. */
fw_status fwi_stage_prompt(fw_stage *stage, const fw_token *t, size_t n)
{
    if (stage->iface.apply != rep_apply)
        return FW_OK;
    rep_state *s = stage->state;
    for (size_t i = 0; i < n; i++)
        if (counts_add(&s->prompt, t[i], 1))
            return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    return FW_OK;
}

/* Make room in the counters of the penalty stages for the ids below
 * n_vocab, so that accepting a token (which cannot fail) never allocates. */
fw_status fwi_stage_reserve(fw_stage *stage, int32_t n_vocab)
{
    counts *c = NULL;
    if (stage->iface.apply == rep_apply)
        c = &((rep_state *)stage->state)->gen;
    else if (stage->iface.apply == fp_apply)
        c = &((fp_state *)stage->state)->gen;
    if (c && n_vocab > 0 && (counts_add(c, n_vocab - 1, 0) || counts_reserve_seen(c, n_vocab)))
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    return FW_OK;
}
