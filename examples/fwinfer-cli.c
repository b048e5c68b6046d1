/*
 * fwinfer-cli - generate text from a prompt (first cut: greedy decoding).
 *
 *   fwinfer-cli -m MODEL.gguf -p PROMPT [-n N | --max-tokens N] [-t THREADS]
 *               [--isa LEVEL] [--ctx N]
 *
 * Prints the prompt and the continuation to stdout as the tokens come.
 * Generation stops after N tokens (default 64), at an end-of-generation
 * token, or when the context is full.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwinfer.h"

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s -m MODEL.gguf -p PROMPT [-n N] [-t THREADS] [--isa LEVEL] "
            "[--ctx N]\n",
            argv0);
    return 2;
}

static int die(const char *what)
{
    fprintf(stderr, "fwinfer-cli: %s: %s\n", what, fw_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *prompt = NULL, *isa = NULL;
    long n_gen = 64, threads = 0, n_ctx = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && has)
            model_path = argv[++i];
        else if ((!strcmp(a, "-p") || !strcmp(a, "--prompt")) && has)
            prompt = argv[++i];
        else if ((!strcmp(a, "-n") || !strcmp(a, "--max-tokens")) && has)
            n_gen = strtol(argv[++i], NULL, 10);
        else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && has)
            threads = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--isa") && has)
            isa = argv[++i];
        else if (!strcmp(a, "--ctx") && has)
            n_ctx = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(argv[0]);
            return 0;
        } else {
            fprintf(stderr, "%s: unknown or incomplete option %s\n", argv[0], a);
            return usage(argv[0]);
        }
    }
    if (!model_path || !prompt)
        return usage(argv[0]);
    if (n_gen < 0 || threads < 0 || n_ctx < 0) {
        fprintf(stderr, "%s: -n, -t and --ctx must not be negative\n", argv[0]);
        return 2;
    }

    fw_model *m;
    if (fw_model_load(model_path, NULL, &m) != FW_OK)
        return die("loading the model");
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_threads = (uint32_t)threads;
    cp.n_ctx = (uint32_t)n_ctx;
    cp.isa = isa;
    fw_context *c;
    if (fw_context_new(m, &cp, &c) != FW_OK) {
        fw_model_free(m);
        return die("creating the context");
    }
    int rc = 1;
    size_t n = 0;
    fw_token *toks = NULL;
    fw_detok_stream *ds = NULL;
    fw_status st = fw_tokenize(m, prompt, strlen(prompt),
                               FW_TOKENIZE_ADD_SPECIAL | FW_TOKENIZE_PARSE_SPECIAL,
                               NULL, 0, &n);
    toks = malloc((n + 1) * sizeof *toks);
    if (!toks || (st != FW_OK && st != FW_E_BUFFER_TOO_SMALL) ||
        fw_tokenize(m, prompt, strlen(prompt),
                    FW_TOKENIZE_ADD_SPECIAL | FW_TOKENIZE_PARSE_SPECIAL, toks, n,
                    &n) != FW_OK) {
        die("tokenizing the prompt");
        goto done;
    }
    if (n == 0) {
        fprintf(stderr, "fwinfer-cli: the prompt has no tokens\n");
        goto done;
    }
    /* the prompt as the model sees it, then the continuation */
    if (fw_detok_stream_new(m, 0, 1, &ds) != FW_OK) {
        die("detokenizer");
        goto done;
    }
    char piece[512];
    size_t need;
    for (size_t i = 0; i < n; i++)
        if (fw_detok_stream_push(ds, toks[i], piece, sizeof piece, &need) == FW_OK)
            fputs(piece, stdout);
    fflush(stdout);
    if (fw_context_eval(c, 0, 0, toks, n, 0) != FW_OK) {
        die("evaluating the prompt");
        goto done;
    }
    int32_t pos = (int32_t)n, n_vocab = fw_model_n_vocab(m);
    for (long g = 0; g < n_gen && (uint32_t)pos < fw_context_n_ctx(c); g++) {
        const float *l = fw_context_logits(c, -1);
        fw_token best = 0;
        for (fw_token t = 1; t < n_vocab; t++)
            if (l[t] > l[best])
                best = t;
        if (fw_vocab_is_eog(m, best))
            break;
        if (fw_detok_stream_push(ds, best, piece, sizeof piece, &need) == FW_OK)
            fputs(piece, stdout);
        fflush(stdout);
        if (fw_context_eval(c, 0, pos++, &best, 1, 0) != FW_OK) {
            die("evaluating");
            goto done;
        }
    }
    if (fw_detok_stream_flush(ds, piece, sizeof piece, &need) == FW_OK)
        fputs(piece, stdout);
    putchar('\n');
    rc = 0;
done:
    fw_detok_stream_free(ds);
    free(toks);
    fw_context_free(c);
    fw_model_free(m);
    return rc;
}
