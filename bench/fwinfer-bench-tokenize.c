/*
 * fwinfer-bench-tokenize: tokenizer throughput of libfwinfer.
 *
 *   fwinfer-bench-tokenize (-m VOCAB.gguf | --tiktoken FILE --pre NAME)
 *                          --file TEXT [-r REPS] [--json] [--ids]
 *
 * Loads the vocabulary, reads TEXT as raw bytes and tokenizes the whole file
 * in one fw_tokenize call (no add_special, no parse_special: the llama.cpp
 * test-vector convention) REPS times (default 5) after one untimed warm-up.
 * Prints the median throughput in MB/s (1 MB = 10^6 bytes, as llama_peer
 * reports it) and the token count; --json prints one JSON line instead:
 *   {"vocab":..., "bytes":N, "tokens":N, "mb_s":X, "reps":R}
 * --ids (with --json) adds "ids":[...], the tokens of the last run.
 * Links the public API (fwinfer.h) only.
 */
#define _POSIX_C_SOURCE 199309L

#include <errno.h>
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fwinfer-bench-tokenize (-m VOCAB.gguf | --tiktoken FILE --pre NAME)\n"
            "                              --file TEXT [-r REPS] [--json] [--ids]\n"
            "Tokenizes TEXT (raw bytes, no BOS/EOS, special-token text not parsed)\n"
            "REPS times (default 5) after one warm-up; prints the median MB/s (10^6 B/s).\n");
}

/* Reads a whole file; returns NULL (and prints why) on failure. */
static char *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1u << 20, len = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap) {
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (nb == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (buf == NULL || ferror(f)) {
        fprintf(stderr, "cannot read %s\n", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *out_len = len;
    return buf;
}

/* One fw_tokenize call, growing *toks when the result does not fit. */
static fw_status tokenize_all(const fw_model *model, const char *text, size_t len,
                              fw_token **toks, size_t *cap, size_t *n)
{
    fw_status st = fw_tokenize(model, text, len, 0, *toks, *cap, n);
    if (st == FW_E_BUFFER_TOO_SMALL) {
        fw_token *nt = realloc(*toks, (*n + 16) * sizeof **toks);
        if (nt == NULL) {
            return FW_E_NOMEM;
        }
        *toks = nt;
        *cap = *n + 16;
        st = fw_tokenize(model, text, len, 0, *toks, *cap, n);
    }
    return st;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c < 0x20) {
            printf("\\u%04x", c);
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    const char *gguf = NULL, *tiktoken = NULL, *pre = NULL, *file = NULL;
    int reps = 5, json = 0, ids = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "-m") && has_val) {
            gguf = argv[++i];
        } else if (!strcmp(a, "--tiktoken") && has_val) {
            tiktoken = argv[++i];
        } else if (!strcmp(a, "--pre") && has_val) {
            pre = argv[++i];
        } else if (!strcmp(a, "--file") && has_val) {
            file = argv[++i];
        } else if (!strcmp(a, "-r") && has_val) {
            reps = atoi(argv[++i]);
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--ids")) {
            ids = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "unknown or incomplete argument: %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (file == NULL || (gguf == NULL) == (tiktoken == NULL) || (tiktoken != NULL && pre == NULL)
        || reps < 1) {
        usage(stderr);
        return 2;
    }

    fw_model *model = NULL;
    fw_status st = gguf != NULL ? fw_model_load(gguf, NULL, &model)
                                : fw_model_load_tiktoken(tiktoken, pre, NULL, &model);
    if (st != FW_OK) {
        fprintf(stderr, "cannot load %s: %s: %s\n", gguf != NULL ? gguf : tiktoken,
                fw_status_str(st), fw_last_error());
        return 1;
    }
    size_t len = 0;
    char *text = read_file(file, &len);
    if (text == NULL) {
        fw_model_free(model);
        return 1;
    }

    size_t cap = len + 16, n = 0;
    fw_token *toks = malloc(cap * sizeof *toks);
    double *runs = malloc((size_t)reps * sizeof *runs);
    if (toks == NULL || runs == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    int rc = 0;
    st = tokenize_all(model, text, len, &toks, &cap, &n); /* warm-up */
    for (int r = 0; st == FW_OK && r < reps; r++) {
        double t0 = now_s();
        st = fw_tokenize(model, text, len, 0, toks, cap, &n);
        runs[r] = now_s() - t0;
    }
    if (st != FW_OK) {
        fprintf(stderr, "fw_tokenize failed: %s: %s\n", fw_status_str(st), fw_last_error());
        rc = 1;
    } else {
        double sec = median(runs, reps);
        double mb_s = sec > 0 ? (double)len / sec / 1e6 : 0.0;
        const char *name = gguf != NULL ? gguf : tiktoken;
        if (json) {
            printf("{\"vocab\":");
            json_str(name);
            printf(",\"vocab_type\":\"%s\",\"bytes\":%zu,\"tokens\":%zu,\"mb_s\":%.2f,"
                   "\"seconds\":%.6f,\"reps\":%d",
                   fw_vocab_type(model), len, n, mb_s, sec, reps);
            if (ids) {
                printf(",\"ids\":[");
                for (size_t i = 0; i < n; i++) {
                    printf(i ? ",%d" : "%d", (int)toks[i]);
                }
                putchar(']');
            }
            printf("}\n");
        } else {
            printf("%s (%s): %zu bytes -> %zu tokens, median %.2f MB/s (%.3f ms, %d reps)\n", name,
                   fw_vocab_type(model), len, n, mb_s, sec * 1e3, reps);
        }
    }
    free(runs);
    free(toks);
    free(text);
    fw_model_free(model);
    return rc;
}
