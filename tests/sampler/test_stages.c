/*
 * test_stages.c - every sampler stage through the public candidates API,
 * with hand-computed expectations and the edge cases of docs/SAMPLING.md;
 * parameter validation by name; presets; statistical checks of the
 * sampled frequencies (chi-square) and of Mirostat v2's control.
 */
#include "common/testutil.h"

#include <math.h>

#include "fwinfer.h"

/* Fill candidates 0..n-1 with logits. */
static fw_candidates cands(fw_token_data *d, const float *logits, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (fw_token_data){(fw_token)i, logits[i], 0};
    return (fw_candidates){d, n, -1, 0};
}

static int has(const fw_candidates *c, fw_token id)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->data[i].id == id)
            return 1;
    return 0;
}

static float logit_of(const fw_candidates *c, fw_token id)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->data[i].id == id)
            return c->data[i].logit;
    return NAN;
}

static void apply1(fw_stage *s, fw_candidates *c)
{
    fw_status st = fw_stage_apply(s, c);
    if (st != FW_OK)
        fail_msg("%s: %s", fw_stage_name(s), fw_last_error());
    fw_stage_free(s);
}

static void test_logit_bias(void **state)
{
    (void)state;
    fw_token_data d[3];
    fw_candidates c = cands(d, (float[]){1, 2, 3}, 3);
    fw_logit_bias b[] = {{2, -100}, {0, 0.5f}, {2, -50}}; /* last for 2 wins */
    fw_stage *s;
    assert_int_equal(fw_stage_logit_bias(b, 3, &s), FW_OK);
    apply1(s, &c);
    assert_true(logit_of(&c, 0) == 1.5f);
    assert_true(logit_of(&c, 1) == 2.0f);
    assert_true(logit_of(&c, 2) == -47.0f);
    fw_logit_bias bad = {1, 101};
    assert_int_equal(fw_stage_logit_bias(&bad, 1, &s), FW_E_RANGE);
    assert_non_null(strstr(fw_last_error(), "logit_bias"));
}

static void test_repetition_penalty(void **state)
{
    (void)state;
    fw_sampler *ch;
    assert_int_equal(fw_sampler_chain_new(&ch), FW_OK);
    fw_stage *s;
    assert_int_equal(fw_stage_repetition_penalty(2.0f, &s), FW_OK);
    assert_int_equal(fw_sampler_chain_add(ch, s), FW_OK);
    fw_token prompt[] = {0, 0, 0};
    assert_int_equal(fw_sampler_set_prompt(ch, prompt, 3), FW_OK);
    fw_sampler_accept(ch, 1);
    fw_sampler_accept(ch, 1);
    fw_token_data d[4];
    fw_candidates c = cands(d, (float[]){2, -1, 3, 4}, 4);
    assert_int_equal(fw_sampler_apply(ch, &c), FW_OK);
    /* once per distinct token: 2/2, -1*2; untouched 3 and 4 */
    assert_true(logit_of(&c, 0) == 1.0f);
    assert_true(logit_of(&c, 1) == -2.0f);
    assert_true(logit_of(&c, 2) == 3.0f);
    assert_true(logit_of(&c, 3) == 4.0f);
    fw_sampler_reset(ch);
    c = cands(d, (float[]){2, -1, 3, 4}, 4);
    assert_int_equal(fw_sampler_apply(ch, &c), FW_OK);
    assert_true(logit_of(&c, 0) == 2.0f);
    fw_sampler_free(ch);
    assert_int_equal(fw_stage_repetition_penalty(0.0f, &s), FW_E_RANGE);
    assert_int_equal(fw_stage_repetition_penalty(2.5f, &s), FW_E_RANGE);
}

static void test_frequency_presence(void **state)
{
    (void)state;
    fw_sampler *ch;
    fw_stage *s;
    assert_int_equal(fw_sampler_chain_new(&ch), FW_OK);
    assert_int_equal(fw_stage_frequency_presence(0.5f, 1.0f, &s), FW_OK);
    assert_int_equal(fw_sampler_chain_add(ch, s), FW_OK);
    fw_token prompt[] = {0}; /* the prompt does not count */
    fw_sampler_set_prompt(ch, prompt, 1);
    fw_sampler_accept(ch, 1);
    fw_sampler_accept(ch, 1);
    fw_sampler_accept(ch, 2);
    fw_token_data d[3];
    fw_candidates c = cands(d, (float[]){0, 0, 0}, 3);
    assert_int_equal(fw_sampler_apply(ch, &c), FW_OK);
    assert_true(logit_of(&c, 0) == 0.0f);
    assert_true(logit_of(&c, 1) == -2.0f);  /* 2*0.5 + 1 */
    assert_true(logit_of(&c, 2) == -1.5f);  /* 1*0.5 + 1 */
    fw_sampler_free(ch);
    assert_int_equal(fw_stage_frequency_presence(2.5f, 0, &s), FW_E_RANGE);
    assert_non_null(strstr(fw_last_error(), "frequency_penalty"));
}

static void test_temperature_and_greedy(void **state)
{
    (void)state;
    fw_token_data d[4];
    fw_candidates c = cands(d, (float[]){1, 4, -2, 0}, 4);
    fw_stage *s;
    assert_int_equal(fw_stage_temperature(2.0f, &s), FW_OK);
    apply1(s, &c);
    assert_true(logit_of(&c, 1) == 2.0f && logit_of(&c, 2) == -1.0f);
    /* greedy: ties go to the lowest id */
    c = cands(d, (float[]){0, 5, 1, 5}, 4);
    d[1].id = 7;
    d[3].id = 3;
    assert_int_equal(fw_stage_greedy(&s), FW_OK);
    apply1(s, &c);
    assert_int_equal(c.selected, 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.data[0].id, 3);
    assert_true(c.data[0].p == 1.0f);
    assert_int_equal(fw_stage_temperature(2.01f, &s), FW_E_RANGE);
}

static void test_top_k(void **state)
{
    (void)state;
    fw_token_data d[5];
    fw_candidates c = cands(d, (float[]){1, 2, 2, 2, 0}, 5);
    fw_stage *s;
    assert_int_equal(fw_stage_top_k(2, &s), FW_OK);
    apply1(s, &c);
    assert_int_equal(c.n, 2);
    assert_true(has(&c, 1) && has(&c, 2)); /* tie at the boundary: lower ids */
    assert_true(fabsf(c.data[0].p - 0.5f) < 1e-6f);
    c = cands(d, (float[]){1, 2, 3}, 3);
    assert_int_equal(fw_stage_top_k(10, &s), FW_OK); /* k > n: clamped */
    apply1(s, &c);
    assert_int_equal(c.n, 3);
    c = cands(d, (float[]){1, 2, 3}, 3);
    assert_int_equal(fw_stage_top_k(-1, &s), FW_OK); /* -1: off */
    apply1(s, &c);
    assert_int_equal(c.n, 3);
    assert_int_equal(fw_stage_top_k(-2, &s), FW_E_RANGE);
}

/* order of the reference: logit descending, ties by lower id */
static int by_logit_desc(const void *a, const void *b)
{
    const fw_token_data *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* top_k and top_p select instead of sorting everything: on large random
 * vocabularies with many ties their survivors, in order, are exactly
 * those of a full sort (ties at the boundary to the lower id). */
static void test_top_k_top_p_selection(void **state)
{
    (void)state;
    enum { N = 5000 };
    fw_token_data *d = malloc(N * sizeof *d), *ref = malloc(N * sizeof *ref);
    float *l = malloc(N * sizeof *l);
    uint32_t x = 12345;
    for (int round = 0; round < 24; round++) {
        const int n = round < 12 ? N : 100 + round * 37;
        for (int i = 0; i < n; i++) {
            x = x * 1664525u + 1013904223u;
            /* few distinct values in half the rounds: many ties */
            l[i] = round % 2 ? (float)((x >> 8) % 7) : (float)(x >> 8) / 16777216.0f * 8;
        }
        const int32_t ks[] = {1, 2, 40, 63, 64, 65, 1000, n - 1};
        for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
            fw_candidates c = cands(d, l, (size_t)n);
            fw_stage *s;
            assert_int_equal(fw_stage_top_k(ks[j], &s), FW_OK);
            apply1(s, &c); /* frees s */
            for (int i = 0; i < n; i++)
                ref[i] = (fw_token_data){(fw_token)i, l[i], 0};
            qsort(ref, (size_t)n, sizeof *ref, by_logit_desc);
            assert_int_equal(c.n, ks[j] < n ? ks[j] : n);
            for (size_t i = 0; ks[j] < n && i < c.n; i++)
                assert_int_equal(c.data[i].id, ref[i].id);
        }
        const float ps[] = {0.01f, 0.3f, 0.9f, 0.999f};
        for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++) {
            fw_candidates c = cands(d, l, (size_t)n);
            fw_stage *s;
            assert_int_equal(fw_stage_top_p(ps[j], &s), FW_OK);
            apply1(s, &c); /* frees s */
            /* reference: softmax in double, sorted, the shortest prefix
             * reaching p (within float rounding of the mass) */
            for (int i = 0; i < n; i++)
                ref[i] = (fw_token_data){(fw_token)i, l[i], 0};
            qsort(ref, (size_t)n, sizeof *ref, by_logit_desc);
            double z = 0;
            for (int i = 0; i < n; i++)
                z += exp((double)ref[i].logit - ref[0].logit);
            double run = 0;
            size_t want = (size_t)n;
            for (int i = 0; i < n; i++) {
                run += exp((double)ref[i].logit - ref[0].logit) / z;
                if (run >= ps[j] - 1e-5) {
                    want = (size_t)i + 1;
                    break;
                }
            }
            assert_true(c.n >= want && c.n <= want + 64);
            for (size_t i = 0; i < c.n; i++)
                assert_int_equal(c.data[i].id, ref[i].id);
        }
    }
    free(d);
    free(ref);
    free(l);
}

static void test_top_p(void **state)
{
    (void)state;
    fw_token_data d[4];
    fw_stage *s;
    /* four equal tokens: p = 0.25 each (exact); running sums 0.25, 0.5:
     * top_p 0.5 keeps exactly two (the comparison is >=) */
    fw_candidates c = cands(d, (float[]){0, 0, 0, 0}, 4);
    assert_int_equal(fw_stage_top_p(0.5f, &s), FW_OK);
    apply1(s, &c);
    assert_int_equal(c.n, 2);
    assert_true(has(&c, 0) && has(&c, 1));
    assert_true(c.data[0].p == 0.5f);
    c = cands(d, (float[]){0, 0, 0, 0}, 4);
    assert_int_equal(fw_stage_top_p(0.51f, &s), FW_OK);
    apply1(s, &c);
    assert_int_equal(c.n, 3);
    c = cands(d, (float[]){0, 3, 1, 2}, 4);
    assert_int_equal(fw_stage_top_p(0.0f, &s), FW_OK); /* 0 keeps one */
    apply1(s, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.data[0].id, 1);
    assert_int_equal(fw_stage_top_p(1.5f, &s), FW_E_RANGE);
    assert_non_null(strstr(fw_last_error(), "top_p"));
}

static void test_min_p(void **state)
{
    (void)state;
    fw_token_data d[3];
    fw_stage *s;
    /* relative to the max: p1/p0 = e^-1 = 0.368, p2/p0 = e^-2 = 0.135 */
    fw_candidates c = cands(d, (float[]){0, -1, -2}, 3);
    assert_int_equal(fw_stage_min_p(0.36f, &s), FW_OK);
    apply1(s, &c);
    assert_int_equal(c.n, 2);
    assert_true(has(&c, 0) && has(&c, 1));
    c = cands(d, (float[]){0, -1, -2}, 3);
    assert_int_equal(fw_stage_min_p(0.37f, &s), FW_OK);
    apply1(s, &c);
    assert_int_equal(c.n, 1);
    c = cands(d, (float[]){0, 0, -2}, 3);
    assert_int_equal(fw_stage_min_p(1.0f, &s), FW_OK); /* ties with the max stay */
    apply1(s, &c);
    assert_int_equal(c.n, 2);
}

static void test_typical_p(void **state)
{
    (void)state;
    fw_token_data d[3];
    fw_stage *s;
    /* p = 0.7, 0.2, 0.1: H = 0.8018; |-ln p - H| = 0.445, 0.808, 1.501 */
    fw_candidates c = cands(d, (float[]){logf(0.7f), logf(0.2f), logf(0.1f)}, 3);
    assert_int_equal(fw_stage_typical_p(0.8f, &s), FW_OK);
    apply1(s, &c);
    assert_int_equal(c.n, 2);
    assert_true(has(&c, 0) && has(&c, 1));
    c = cands(d, (float[]){logf(0.7f), logf(0.2f), logf(0.1f)}, 3);
    assert_int_equal(fw_stage_typical_p(0.69f, &s), FW_OK);
    apply1(s, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.data[0].id, 0);
    /* p = 0.5, 0.25, 0.25: every key equals |ln 2 - H|: all are tied with
     * the first, so all stay even at typical_p 0 */
    c = cands(d, (float[]){logf(2), 0, 0}, 3);
    assert_int_equal(fw_stage_typical_p(0.0f, &s), FW_OK);
    apply1(s, &c);
    assert_int_equal(c.n, 3);
}

static void test_edge_cases(void **state)
{
    (void)state;
    fw_token_data d[3];
    fw_stage *s;
    fw_candidates c = cands(d, (float[]){-INFINITY, -INFINITY, -INFINITY}, 3);
    assert_int_equal(fw_stage_dist(1, &s), FW_OK);
    assert_int_equal(fw_stage_apply(s, &c), FW_E_RANGE);
    assert_non_null(strstr(fw_last_error(), "banned"));
    c = cands(d, (float[]){0, NAN, 1}, 3);
    assert_int_equal(fw_stage_apply(s, &c), FW_E_NUMERIC);
    /* -inf has probability exactly 0, and is never drawn */
    for (int i = 0; i < 200; i++) {
        c = cands(d, (float[]){-INFINITY, 0, -INFINITY}, 3);
        assert_int_equal(fw_stage_apply(s, &c), FW_OK);
        assert_int_equal(c.data[c.selected].id, 1);
        assert_true(d[0].p == 0.0f || d[0].id == 1);
    }
    fw_stage_free(s);
}

/* chi-square of observed counts against expected probabilities; the
 * threshold is the 0.1% upper quantile for the degrees of freedom. */
static void chi_square(const int *obs, const double *p, int k, int n, double crit)
{
    double x2 = 0;
    for (int i = 0; i < k; i++) {
        double e = p[i] * n;
        x2 += (obs[i] - e) * (obs[i] - e) / e;
    }
    print_message("chi-square %.2f (df %d, 0.1%% critical %.2f)\n", x2, k - 1, crit);
    assert_true(x2 < crit);
}

static void test_statistics(void **state)
{
    (void)state;
    /* dist alone: frequencies follow softmax(logits) */
    const float lg[4] = {logf(0.1f), logf(0.2f), logf(0.3f), logf(0.4f)};
    fw_sampler *ch;
    fw_stage *s;
    assert_int_equal(fw_sampler_chain_new(&ch), FW_OK);
    assert_int_equal(fw_stage_dist(42, &s), FW_OK);
    fw_sampler_chain_add(ch, s);
    int obs[5] = {0};
    const int N = 20000;
    for (int i = 0; i < N; i++) {
        fw_token t;
        assert_int_equal(fw_sampler_sample(ch, lg, 4, &t, NULL), FW_OK);
        obs[t]++;
    }
    chi_square(obs, (double[]){0.1, 0.2, 0.3, 0.4}, 4, N, 16.27);
    fw_sampler_free(ch);
    /* after top_k 3 and temperature 0.5: renormalised over the survivors */
    const float lg5[5] = {0, logf(2), logf(3), logf(4), logf(5)};
    fw_sampler_params p;
    fw_sampler_params_init(&p);
    p.top_k = 3;
    p.temperature = 0.5f;
    p.has_seed = 1;
    p.seed = 7;
    assert_int_equal(fw_sampler_new(NULL, &p, &ch), FW_OK);
    memset(obs, 0, sizeof obs);
    for (int i = 0; i < N; i++) {
        fw_token t;
        float lp;
        assert_int_equal(fw_sampler_sample(ch, lg5, 5, &t, &lp), FW_OK);
        assert_true(t >= 2);
        obs[t]++;
    }
    /* p ∝ (3,4,5)^2 = 9, 16, 25 */
    int o3[3] = {obs[2], obs[3], obs[4]};
    chi_square(o3, (double[]){9 / 50.0, 16 / 50.0, 25 / 50.0}, 3, N, 13.82);
    fw_sampler_free(ch);
}

/* For each filtering stage: sample through [stage, dist] and compare the
 * frequencies with the stage's own renormalised survivors (candidates API). */
static void test_statistics_each_stage(void **state)
{
    (void)state;
    enum { V = 6 };
    const float lg[V] = {0.1f, 1.3f, -0.4f, 0.9f, 1.1f, -1.0f};
    for (int kind = 0; kind < 4; kind++) {
        fw_stage *a, *b;
        fw_status st = kind == 0   ? fw_stage_min_p(0.3f, &a)
                       : kind == 1 ? fw_stage_top_p(0.8f, &a)
                       : kind == 2 ? fw_stage_typical_p(0.7f, &a)
                                   : fw_stage_top_k(4, &a);
        assert_int_equal(st, FW_OK);
        st = kind == 0   ? fw_stage_min_p(0.3f, &b)
             : kind == 1 ? fw_stage_top_p(0.8f, &b)
             : kind == 2 ? fw_stage_typical_p(0.7f, &b)
                         : fw_stage_top_k(4, &b);
        assert_int_equal(st, FW_OK);
        fw_token_data d[V];
        fw_candidates c = cands(d, lg, V);
        assert_int_equal(fw_stage_apply(a, &c), FW_OK);
        double expect[V] = {0};
        for (size_t i = 0; i < c.n; i++)
            expect[c.data[i].id] = c.data[i].p;
        fw_stage_free(a);
        fw_sampler *ch;
        fw_stage *dist;
        assert_int_equal(fw_sampler_chain_new(&ch), FW_OK);
        fw_sampler_chain_add(ch, b);
        assert_int_equal(fw_stage_dist(100 + (uint64_t)kind, &dist), FW_OK);
        fw_sampler_chain_add(ch, dist);
        int obs[V] = {0};
        const int N = 20000;
        for (int i = 0; i < N; i++) {
            fw_token t;
            assert_int_equal(fw_sampler_sample(ch, lg, V, &t, NULL), FW_OK);
            assert_true(expect[t] > 0); /* never a filtered token */
            obs[t]++;
        }
        int ko[V];
        double kp[V];
        int k = 0;
        for (int t = 0; t < V; t++)
            if (expect[t] > 0)
                ko[k] = obs[t], kp[k++] = expect[t];
        /* 0.1% critical values of chi-square, df = k - 1 */
        static const double crit[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52};
        print_message("%s: %d survivors; ", fw_sampler_stage_name(ch, 0), k);
        if (k > 1)
            chi_square(ko, kp, k, N, crit[k - 1]);
        else
            print_message("one token\n");
        fw_sampler_free(ch);
    }
}

static void test_mirostat_v2_control(void **state)
{
    (void)state;
    /* a stream of Zipf-like distributions over 1000 tokens, exponent
     * varying per step; target 3 bits */
    enum { V = 1000, STEPS = 500 };
    static float lg[V];
    fw_sampler_params p;
    fw_sampler_params_init(&p);
    p.mirostat_target = 3.0f;
    p.mirostat_lr = 0.1f;
    p.has_seed = 1;
    p.seed = 11;
    fw_sampler *ch;
    assert_int_equal(fw_sampler_new(NULL, &p, &ch), FW_OK);
    assert_string_equal(fw_sampler_stage_name(ch, fw_sampler_n_stages(ch) - 1), "mirostat_v2");
    uint64_t r = 99;
    double sum = 0;
    int counted = 0;
    for (int step = 0; step < STEPS; step++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        double s = 0.8 + (double)(r >> 40) / (double)(1ull << 24) * 0.6;
        for (int i = 0; i < V; i++) {
            int rank = (int)((i * 7919u + (unsigned)step * 31u) % V) + 1;
            lg[i] = (float)(-s * log((double)rank));
        }
        fw_token t;
        float lp;
        assert_int_equal(fw_sampler_sample(ch, lg, V, &t, &lp), FW_OK);
        if (step >= 100) {
            sum += -lp / log(2.0);
            counted++;
        }
    }
    double avg = sum / counted;
    print_message("mirostat v2: average surprise %.3f bits (target 3)\n", avg);
    assert_true(fabs(avg - 3.0) < 0.5);
    fw_sampler_free(ch);
}

static void test_mirostat_v1(void **state)
{
    (void)state;
    /* the paper's Algorithm 1 on the same kind of stream: it selects, and
     * its feedback keeps the surprise near the target */
    enum { V = 1000, STEPS = 500 };
    static float lg[V];
    fw_stage *st;
    assert_int_equal(fw_stage_mirostat_v1(4.0f, 0.1f, V, 5, &st), FW_OK);
    assert_string_equal(fw_stage_name(st), "mirostat_v1");
    fw_sampler *ch;
    assert_int_equal(fw_sampler_chain_new(&ch), FW_OK);
    fw_sampler_chain_add(ch, st);
    double sum = 0;
    int counted = 0;
    for (int step = 0; step < STEPS; step++) {
        for (int i = 0; i < V; i++)
            lg[i] = (float)(-1.1 * log((double)((i * 7919u + (unsigned)step) % V + 1)));
        fw_token t;
        float lp;
        assert_int_equal(fw_sampler_sample(ch, lg, V, &t, &lp), FW_OK);
        assert_true(t >= 0 && t < V);
        if (step >= 100) {
            sum += -lp / log(2.0);
            counted++;
        }
    }
    print_message("mirostat v1: average surprise %.3f bits (target 4)\n", sum / counted);
    assert_true(fabs(sum / counted - 4.0) < 1.0);
    fw_sampler_free(ch);
    assert_int_equal(fw_stage_mirostat_v1(0.0f, 0.1f, V, 5, &st), FW_E_RANGE);
}

static void test_params_by_name(void **state)
{
    (void)state;
    fw_sampler_params p;
    fw_sampler_params_init(&p);
    assert_true(isnan(p.temperature));
    assert_int_equal(p.top_k, FW_TOP_K_UNSET);
    assert_int_equal(fw_sampler_params_set_f(&p, "top_p", 0.9), FW_OK);
    assert_true(p.top_p == 0.9f);
    assert_int_equal(fw_sampler_params_set_i(&p, "top_k", 40), FW_OK);
    assert_int_equal(p.top_k, 40);
    assert_int_equal(fw_sampler_params_set_i(&p, "seed", 123), FW_OK);
    assert_true(p.has_seed && p.seed == 123);
    assert_int_equal(fw_sampler_params_set_u64(&p, "seed", UINT64_MAX), FW_OK);
    assert_true(p.seed == UINT64_MAX);
    assert_int_equal(fw_sampler_params_set_f(&p, "top_k", 1.5), FW_E_TYPE);
    assert_int_equal(fw_sampler_params_set_f(&p, "nope", 1), FW_E_NOT_FOUND);
    /* every range of the table */
    struct { const char *name; double bad; } bad[] = {
        {"temperature", -0.1}, {"temperature", 2.1}, {"temperature", NAN},
        {"temperature", INFINITY}, {"top_k", -2}, {"top_p", -0.01}, {"top_p", 1.01},
        {"min_p", -1}, {"min_p", 2}, {"typical_p", -0.5}, {"typical_p", 1.5},
        {"frequency_penalty", -2.01}, {"frequency_penalty", 2.01},
        {"presence_penalty", -3}, {"presence_penalty", 3},
        {"repetition_penalty", 0}, {"repetition_penalty", -1},
        {"repetition_penalty", 2.5}, {"mirostat_target", 0},
        {"mirostat_target", -1}, {"mirostat_lr", 0}, {"mirostat_lr", -0.1},
        {"seed", -1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fw_status st = fw_sampler_params_set_f(&p, bad[i].name, bad[i].bad);
        if (st != FW_E_RANGE)
            fail_msg("%s = %g: status %d", bad[i].name, bad[i].bad, (int)st);
        assert_non_null(strstr(fw_last_error(), bad[i].name));
        assert_non_null(strstr(fw_last_error(), "range"));
    }
    int32_t type, open;
    double lo, hi, neutral;
    assert_int_equal(fw_sampler_params_info("repetition_penalty", &type, &lo, &hi,
                                            &open, &neutral), FW_OK);
    assert_int_equal(type, FW_PARAM_FLOAT);
    assert_true(lo == 0 && hi == 2 && open == 1 && neutral == 1);
    assert_int_equal(fw_sampler_params_info("top_k", &type, NULL, NULL, NULL, NULL), FW_OK);
    assert_int_equal(type, FW_PARAM_INT);
    /* struct validation, logit bias against the vocabulary */
    fw_sampler_params q;
    fw_sampler_params_init(&q);
    fw_logit_bias lb = {600, 5};
    q.logit_bias = &lb;
    q.n_logit_bias = 1;
    assert_int_equal(fw_sampler_params_validate(&q, 512), FW_E_RANGE);
    assert_non_null(strstr(fw_last_error(), "600"));
    q.repetition_penalty = 0;
    q.n_logit_bias = 0;
    assert_int_equal(fw_sampler_params_validate(&q, 512), FW_E_RANGE);
    assert_non_null(strstr(fw_last_error(), "repetition_penalty"));
    fw_sampler *s;
    assert_int_equal(fw_sampler_new(NULL, &q, &s), FW_E_RANGE);
}

static void names(fw_sampler *s, const char *want)
{
    char got[256] = "";
    for (int32_t i = 0; i < fw_sampler_n_stages(s); i++) {
        strcat(got, i ? "," : "");
        strcat(got, fw_sampler_stage_name(s, i));
    }
    assert_string_equal(got, want);
}

static void test_presets(void **state)
{
    (void)state;
    fw_sampler_params p;
    fw_sampler_params_init(&p);
    fw_logit_bias lb = {1, 2};
    p.logit_bias = &lb;
    p.n_logit_bias = 1;
    p.repetition_penalty = 1.1f;
    p.presence_penalty = 0.5f;
    p.temperature = 0.7f;
    p.top_k = 40;
    p.top_p = 0.9f;
    p.min_p = 0.05f;
    p.typical_p = 0.95f;
    fw_sampler *s;
    assert_int_equal(fw_sampler_new(NULL, &p, &s), FW_OK);
    names(s, "logit_bias,repetition_penalty,frequency_presence,temperature,min_p,top_k,top_p,typical_p,dist");
    fw_sampler_free(s);
    assert_int_equal(fw_sampler_chain_preset("llama.cpp", NULL, &p, &s), FW_OK);
    names(s, "logit_bias,repetition_penalty,frequency_presence,top_k,typical_p,top_p,min_p,temperature,dist");
    fw_sampler_free(s);
    p.temperature = 0;
    assert_int_equal(fw_sampler_new(NULL, &p, &s), FW_OK);
    names(s, "logit_bias,repetition_penalty,frequency_presence,greedy");
    fw_sampler_free(s);
    p.temperature = 1;
    p.mirostat_target = 5;
    assert_int_equal(fw_sampler_new(NULL, &p, &s), FW_OK);
    names(s, "logit_bias,repetition_penalty,frequency_presence,mirostat_v2");
    fw_sampler_free(s);
    /* neutral values add no stage; the seed is drawn and reported */
    fw_sampler_params_init(&p);
    assert_int_equal(fw_sampler_new(NULL, &p, &s), FW_OK);
    names(s, "dist");
    char json[512];
    size_t n;
    assert_int_equal(fw_sampler_effective_json(s, json, sizeof json, &n), FW_OK);
    assert_non_null(strstr(json, "\"temperature\":1,\"top_k\":0,\"top_p\":1"));
    assert_non_null(strstr(json, "\"seed\":"));
    fw_sampler_free(s);
    assert_int_equal(fw_sampler_chain_preset("nope", NULL, &p, &s), FW_E_NOT_FOUND);
}

static fw_status ban_zero(void *st, fw_candidates *c)
{
    (*(int *)st)++;
    for (size_t i = 0; i < c->n; i++)
        if (c->data[i].id == 0)
            c->data[i].logit = -INFINITY;
    return FW_OK;
}

static void test_custom_stage_and_clone(void **state)
{
    (void)state;
    int calls = 0;
    fw_stage_iface iface = {sizeof iface, "ban_zero", ban_zero, NULL, NULL, NULL, NULL};
    fw_sampler *s;
    fw_stage *st;
    assert_int_equal(fw_sampler_chain_new(&s), FW_OK);
    assert_int_equal(fw_stage_custom(&iface, &calls, &st), FW_OK);
    fw_sampler_chain_add(s, st);
    assert_int_equal(fw_stage_dist(5, &st), FW_OK);
    fw_sampler_chain_add(s, st);
    const float lg[3] = {10, 0, 0};
    for (int i = 0; i < 100; i++) {
        fw_token t;
        assert_int_equal(fw_sampler_sample(s, lg, 3, &t, NULL), FW_OK);
        assert_int_not_equal(t, 0);
    }
    assert_int_equal(calls, 100);
    /* clones reseeded with the same (seed, stream) draw the same tokens;
     * other streams differ */
    fw_sampler *a, *b, *c;
    assert_int_equal(fw_sampler_clone(s, 1, 77, 0, &a), FW_OK);
    assert_int_equal(fw_sampler_clone(s, 1, 77, 0, &b), FW_OK);
    assert_int_equal(fw_sampler_clone(s, 1, 77, 1, &c), FW_OK);
    const float flat[8] = {0};
    int diff = 0;
    for (int i = 0; i < 64; i++) {
        fw_token ta, tb, tc;
        fw_sampler_sample(a, flat, 8, &ta, NULL);
        fw_sampler_sample(b, flat, 8, &tb, NULL);
        fw_sampler_sample(c, flat, 8, &tc, NULL);
        assert_int_equal(ta, tb);
        diff += ta != tc;
    }
    assert_true(diff > 0);
    fw_sampler_free(a);
    fw_sampler_free(b);
    fw_sampler_free(c);
    fw_sampler_free(s);
    /* a chain without a selecting stage cannot sample */
    assert_int_equal(fw_sampler_chain_new(&s), FW_OK);
    fw_token t;
    assert_int_equal(fw_sampler_sample(s, lg, 3, &t, NULL), FW_E_STATE);
    fw_sampler_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logit_bias),
        cmocka_unit_test(test_repetition_penalty),
        cmocka_unit_test(test_frequency_presence),
        cmocka_unit_test(test_temperature_and_greedy),
        cmocka_unit_test(test_top_k),
        cmocka_unit_test(test_top_k_top_p_selection),
        cmocka_unit_test(test_top_p),
        cmocka_unit_test(test_min_p),
        cmocka_unit_test(test_typical_p),
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_statistics),
        cmocka_unit_test(test_statistics_each_stage),
        cmocka_unit_test(test_mirostat_v2_control),
        cmocka_unit_test(test_mirostat_v1),
        cmocka_unit_test(test_params_by_name),
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_custom_stage_and_clone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
