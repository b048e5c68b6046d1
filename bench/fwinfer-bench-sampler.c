/*
 * fwinfer-bench-sampler - the cost of one sampling step of the canonical
 * chain on a large vocabulary, one JSON line per configuration.
 *
 *   fwinfer-bench-sampler [-v N_VOCAB] [-s STEPS] [-r REPS]
 *
 * Logits: N_VOCAB (default 152064, Qwen2's) pseudo-random values shaped
 * like a language model's (a few tokens far above a broad Gaussian bulk),
 * new ones every step.  Chains (fw_sampler_chain_preset "fireworks"):
 *   "full": logit_bias, repetition/frequency/presence penalties over a
 *           512-token history, temperature 0.8, min_p 0.05, top_k 40,
 *           top_p 0.9, typical_p 0.95, then the draw;
 *   "no_top_k": the same without top_k (top_p must find the nucleus in
 *           the whole vocabulary);
 *   "top_p": temperature 0.8 and top_p 0.9 alone (the nucleus is found
 *           by selection among all tokens, not by sorting them);
 *   "temperature": temperature 1 alone (softmax over every token).
 * Reported: milliseconds per step (median of REPS runs of STEPS steps,
 * one thread), logits generation excluded.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fwinfer.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;
static double uniform(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static void make_logits(float *l, int n)
{
    for (int i = 0; i < n; i += 2) {
        double r = sqrt(-2 * log(uniform())), a = 6.283185307179586 * uniform();
        l[i] = (float)(2.0 * r * cos(a));
        if (i + 1 < n)
            l[i + 1] = (float)(2.0 * r * sin(a));
    }
    for (int k = 0; k < 8; k++) /* a few likely tokens */
        l[(int)(uniform() * n)] = (float)(12.0 + 4.0 * uniform());
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int n_vocab = 152064, steps = 200, reps = 5;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "-v") && v) n_vocab = atoi(v), i++;
        else if (!strcmp(argv[i], "-s") && v) steps = atoi(v), i++;
        else if (!strcmp(argv[i], "-r") && v) reps = atoi(v), i++;
        else {
            fprintf(stderr, "usage: %s [-v N_VOCAB] [-s STEPS] [-r REPS]\n", argv[0]);
            return 2;
        }
    }
    if (n_vocab < 100 || steps < 1 || reps < 1 || reps > 99) {
        fprintf(stderr, "%s: -v >= 100, -s >= 1, -r in [1, 99]\n", argv[0]);
        return 2;
    }
    float *logits = malloc(sizeof(float) * (size_t)n_vocab * 16);
    fw_token *hist = malloc(sizeof(fw_token) * 512);
    for (int i = 0; i < 512; i++)
        hist[i] = (fw_token)(uniform() * n_vocab);
    static const char *names[] = {"full", "no_top_k", "top_p", "temperature"};
    for (int cfg = 0; cfg < 4; cfg++) {
        fw_sampler_params p;
        fw_sampler_params_init(&p);
        fw_sampler_params_set_u64(&p, "seed", 42);
        if (cfg < 2) {
            fw_sampler_params_set_f(&p, "temperature", 0.8);
            fw_sampler_params_set_f(&p, "repetition_penalty", 1.1);
            fw_sampler_params_set_f(&p, "frequency_penalty", 0.2);
            fw_sampler_params_set_f(&p, "presence_penalty", 0.2);
            fw_sampler_params_set_f(&p, "min_p", 0.05);
            fw_sampler_params_set_f(&p, "top_p", 0.9);
            fw_sampler_params_set_f(&p, "typical_p", 0.95);
            if (cfg == 0)
                fw_sampler_params_set_i(&p, "top_k", 40);
        } else if (cfg == 2) {
            fw_sampler_params_set_f(&p, "temperature", 0.8);
            fw_sampler_params_set_f(&p, "top_p", 0.9);
        } else {
            fw_sampler_params_set_f(&p, "temperature", 1.0);
        }
        fw_sampler *s = NULL;
        if (fw_sampler_chain_preset("fireworks", NULL, &p, &s) != FW_OK) {
            fprintf(stderr, "%s\n", fw_last_error());
            return 1;
        }
        fw_sampler_set_prompt(s, hist, 512);
        for (int k = 0; k < 16; k++)
            make_logits(logits + (size_t)k * (size_t)n_vocab, n_vocab);
        double ms[99];
        for (int r = 0; r < reps; r++) {
            double t = 0;
            for (int i = 0; i < steps; i++) {
                const float *l = logits + (size_t)(i % 16) * (size_t)n_vocab;
                fw_token tok;
                double a = now_s();
                if (fw_sampler_sample(s, l, n_vocab, &tok, NULL) != FW_OK) {
                    fprintf(stderr, "%s\n", fw_last_error());
                    return 1;
                }
                t += now_s() - a;
            }
            ms[r] = 1e3 * t / steps;
        }
        qsort(ms, (size_t)reps, sizeof ms[0], cmp_d);
        printf("{\"driver\":\"fwinfer-bench-sampler\",\"chain\":\"%s\",\"n_vocab\":%d,"
               "\"stages\":%d,\"steps\":%d,\"reps\":%d,\"ms_per_step\":%.4f}\n",
               names[cfg], n_vocab, (int)fw_sampler_n_stages(s), steps, reps, ms[reps / 2]);
        fw_sampler_free(s);
    }
    free(logits);
    free(hist);
    return 0;
}
