/*
 * fwinfer-bench - prompt and decode speed of one model, one JSON line.
 *
 *   fwinfer-bench -m MODEL.gguf [-t THREADS] [-p PROMPT_TOKENS]
 *                 [-n GEN_TOKENS] [-r REPS] [--isa LEVEL] [--json]
 *                 [--choices N]
 *
 * prefill = the P-token prompt (BOS + pseudo-random ids, the same sequence
 * as ../shared/peer/llama_peer.c) in one batch; decode = G single-token
 * steps, greedy.  Each figure is the median of REPS repetitions after a
 * warm-up.  Also: load time, peak anonymous memory (weights are mapped, so
 * this is KV cache + scratch + code), kernel level, and the time to the
 * first token: from the start of loading to the logits of the warm-up's
 * prompt (min(P, 16) tokens, the weights touched for the first time).
 *
 * --choices N: instead, the throughput of a request for N choices of G
 * tokens each (fw_generate_json, "n": N, a 16-token prompt, temperature 1,
 * ignore_eos) against the same request for 1 choice, alternating, the
 * median of REPS each: generated tokens per second of each and their ratio.
 */
#define _POSIX_C_SOURCE 200809L
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

/* RssAnon of this process in MiB (Linux), 0 if unknown. */
static double rss_anon_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    double v = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "RssAnon:", 8)) {
            v = strtod(line + 8, NULL) / 1024.0;
            break;
        }
    fclose(f);
    return v;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static fw_token argmax(const float *l, int n)
{
    fw_token b = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > l[b])
            b = i;
    return b;
}

/* Seconds for one request of n choices of g tokens (prompt: 16 ids). */
static double gen_time(fw_context *c, const fw_token *prompt, int n, int g, int *ok)
{
    char body[1024];
    int k = snprintf(body, sizeof body, "{\"prompt\":[");
    for (int i = 0; i < 16; i++)
        k += snprintf(body + k, sizeof body - (size_t)k, "%s%d", i ? "," : "", (int)prompt[i]);
    snprintf(body + k, sizeof body - (size_t)k,
             "],\"n\":%d,\"max_tokens\":%d,\"ignore_eos\":true,\"temperature\":1,"
             "\"seed\":1}", n, g);
    fw_result *r = NULL;
    double a = now_s();
    fw_status st = fw_generate_json(c, body, strlen(body), NULL, 0, NULL, NULL, &r);
    double t = now_s() - a;
    int32_t completion = 0;
    if (st != FW_OK || fw_result_usage(r, NULL, &completion, NULL) != FW_OK ||
        completion != n * g)
        *ok = 0;
    fw_result_free(r);
    return t;
}

static int bench_choices(fw_model *m, fw_context *c, const char *path, fw_token *prompt,
                         int threads, int G, int R, int n, double load_s)
{
    double *one = malloc(sizeof(double) * (size_t)R), *many = malloc(sizeof(double) * (size_t)R);
    int ok = 1;
    gen_time(c, prompt, n, 4, &ok); /* warm-up */
    for (int r = 0; r < R && ok; r++) {
        one[r] = G / gen_time(c, prompt, 1, G, &ok);
        many[r] = (double)n * G / gen_time(c, prompt, n, G, &ok);
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (ok) {
        double a = median(one, R), b = median(many, R);
        printf("{\"model\":\"%s\",\"driver\":\"fwinfer-bench\",\"threads\":%d,"
               "\"gen\":%d,\"reps\":%d,\"load_s\":%.3f,\"choices\":%d,"
               "\"single_tok_s\":%.2f,\"choices_tok_s\":%.2f,\"ratio\":%.2f,"
               "\"isa\":\"%s\"}\n",
               base, threads, G, R, load_s, n, a, b, b / a, fw_context_isa(c));
    } else {
        fprintf(stderr, "generation failed: %s\n", fw_last_error());
    }
    free(one), free(many), free(prompt);
    fw_context_free(c);
    fw_model_free(m);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *isa = NULL;
    int threads = 1, P = 128, G = 64, R = 3, json = 0, choices = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-m") && v) path = v, i++;
        else if (!strcmp(a, "-t") && v) threads = atoi(v), i++;
        else if (!strcmp(a, "-p") && v) P = atoi(v), i++;
        else if (!strcmp(a, "-n") && v) G = atoi(v), i++;
        else if (!strcmp(a, "-r") && v) R = atoi(v), i++;
        else if (!strcmp(a, "--isa") && v) isa = v, i++;
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--choices") && v) choices = atoi(v), i++;
        else {
            fprintf(stderr, "usage: %s -m MODEL [-t T] [-p P] [-n G] [-r R] [--isa L] [--json] "
                    "[--choices N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!path || threads < 1 || P < 1 || G < 1 || R < 1) {
        fprintf(stderr, "%s: -m MODEL required; -t, -p, -n, -r must be >= 1\n", argv[0]);
        return 2;
    }
    double t0 = now_s();
    fw_model *m;
    if (fw_model_load(path, NULL, &m) != FW_OK) {
        fprintf(stderr, "%s\n", fw_last_error());
        return 1;
    }
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_threads = (uint32_t)threads;
    cp.n_ctx = (uint32_t)(P + G + 16);
    cp.n_batch = (uint32_t)P;
    cp.isa = isa;
    if (choices > 0) {
        cp.n_seq_max = (uint32_t)choices;
        cp.n_ctx = (uint32_t)(16 + G + 16);
        cp.n_batch = 64;
    }
    fw_context *c;
    if (fw_context_new(m, &cp, &c) != FW_OK) {
        fprintf(stderr, "%s\n", fw_last_error());
        fw_model_free(m);
        return 1;
    }
    double load_s = now_s() - t0;
    int n_vocab = fw_model_n_vocab(m);
    fw_token *prompt = malloc(sizeof *prompt * (size_t)P);
    uint32_t s = 12345;
    fw_token bos = fw_vocab_special(m, FW_SPECIAL_BOS);
    prompt[0] = bos >= 0 ? bos : 1;
    for (int i = 1; i < P; i++) {
        s = s * 1103515245u + 12345u;
        prompt[i] = 3 + (fw_token)(s % (uint32_t)(n_vocab - 3));
    }
    if (choices > 0)
        return bench_choices(m, c, path, prompt, threads, G, R, choices, load_s);
    double *pre = malloc(sizeof(double) * (size_t)R), *dec = malloc(sizeof(double) * (size_t)R);
    double peak = 0, ttft = 0;
    for (int r = -1; r < R; r++) {
        int p = r < 0 ? (P < 16 ? P : 16) : P, g = r < 0 ? 4 : G;
        double a = now_s();
        if (fw_context_eval(c, 0, 0, prompt, (size_t)p, 0) != FW_OK)
            goto fail;
        double b = now_s();
        if (r < 0)
            ttft = b - t0;
        fw_token tok = argmax(fw_context_logits(c, -1), n_vocab);
        for (int i = 0; i < g; i++) {
            if (fw_context_eval(c, 0, p + i, &tok, 1, 0) != FW_OK)
                goto fail;
            tok = argmax(fw_context_logits(c, -1), n_vocab);
        }
        double e = now_s();
        if (r >= 0) {
            pre[r] = p / (b - a);
            dec[r] = g / (e - b);
        }
        double rss = rss_anon_mib();
        if (rss > peak)
            peak = rss;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    double mp = median(pre, R), md = median(dec, R);
    if (json)
        printf("{\"model\":\"%s\",\"driver\":\"fwinfer-bench\",\"threads\":%d,\"prompt\":%d,"
               "\"gen\":%d,\"reps\":%d,\"load_s\":%.3f,\"prefill_tok_s\":%.2f,"
               "\"decode_tok_s\":%.2f,\"ttft_s\":%.3f,\"rss_anon_mib\":%.1f,"
               "\"isa\":\"%s\"}\n",
               base, threads, P, G, R, load_s, mp, md, ttft, peak, fw_context_isa(c));
    else
        printf("%s: %d threads, %s: prefill %.1f tok/s (P=%d), decode %.1f tok/s (G=%d), "
               "load %.3f s, peak anon %.1f MiB\n",
               base, threads, fw_context_isa(c), mp, P, md, G, load_s, peak);
    free(pre), free(dec), free(prompt);
    fw_context_free(c);
    fw_model_free(m);
    return 0;
fail:
    fprintf(stderr, "%s\n", fw_last_error());
    return 1;
}
