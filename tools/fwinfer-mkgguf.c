/*
 * fwinfer-mkgguf - write a synthetic llama-family GGUF model (random weights).
 *
 *   fwinfer-mkgguf OUT.gguf [--preset tiny|smol|tinyllama] [--type T]
 *       [--embd-type T] [--output-type T] [--tied] [--seed N]
 *       [--dim N] [--layers N] [--heads N] [--kv-heads N] [--ffn N]
 *       [--vocab N] [--ctx N]
 *       [--arch llama|qwen2|qwen3|phi3|gemma2|gemma3] [--head-dim N]
 *       [--swa N] [--swa-pattern N] [--rope-scale F] [--rope-freqs]
 *       [--ctx-orig N] [--attn-softcap F] [--final-softcap F] [--rope-base F]
 * T: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K
 *    (K-quant rows not a multiple of 256 fall back to Q4_0 / Q8_0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_llama.h"

static int type_id(const char *s)
{
    static const struct { const char *name; int id; } t[] = {
        {"F32", 0}, {"F16", 1}, {"BF16", 30}, {"Q8_0", 8}, {"Q4_0", 2},
        {"Q4_K", 12}, {"Q5_K", 13}, {"Q6_K", 14},
        {"Q4_1", 3}, {"Q5_0", 6}, {"Q5_1", 7}, {"Q2_K", 10}, {"Q3_K", 11}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].name))
            return t[i].id;
    return -1;
}

int main(int argc, char **argv)
{
    gw_llama_spec s;
    gw_llama_spec_init(&s);
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int used = 1;
        if (!strcmp(a, "--preset") && v) {
            if (gw_llama_preset(&s, v)) {
                fprintf(stderr, "unknown preset %s\n", v);
                return 2;
            }
        } else if ((!strcmp(a, "--type") || !strcmp(a, "--embd-type") ||
                    !strcmp(a, "--output-type")) && v) {
            int t = type_id(v);
            if (t < 0) {
                fprintf(stderr, "unknown type %s\n", v);
                return 2;
            }
            if (!strcmp(a, "--type"))
                s.type = (uint32_t)t;
            else if (!strcmp(a, "--embd-type"))
                s.embd_type = t;
            else
                s.output_type = t;
        } else if (!strcmp(a, "--seed") && v) {
            s.seed = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--dim") && v) {
            s.n_embd = atoi(v);
        } else if (!strcmp(a, "--layers") && v) {
            s.n_layer = atoi(v);
        } else if (!strcmp(a, "--heads") && v) {
            s.n_head = atoi(v);
        } else if (!strcmp(a, "--kv-heads") && v) {
            s.n_head_kv = atoi(v);
        } else if (!strcmp(a, "--ffn") && v) {
            s.n_ff = atoi(v);
        } else if (!strcmp(a, "--vocab") && v) {
            s.n_vocab = atoi(v);
        } else if (!strcmp(a, "--ctx") && v) {
            s.n_ctx = atoi(v);
        } else if (!strcmp(a, "--arch") && v) {
            s.arch = v;
        } else if (!strcmp(a, "--head-dim") && v) {
            s.head_dim = atoi(v);
        } else if (!strcmp(a, "--swa") && v) {
            s.n_swa = atoi(v);
        } else if (!strcmp(a, "--swa-pattern") && v) {
            s.swa_pattern = atoi(v);
        } else if (!strcmp(a, "--rope-scale") && v) {
            s.rope_scale = (float)atof(v);
        } else if (!strcmp(a, "--ctx-orig") && v) {
            s.n_ctx_orig = atoi(v);
        } else if (!strcmp(a, "--attn-softcap") && v) {
            s.attn_softcap = (float)atof(v);
        } else if (!strcmp(a, "--final-softcap") && v) {
            s.final_softcap = (float)atof(v);
        } else if (!strcmp(a, "--rope-base") && v) {
            s.rope_freq_base = (float)atof(v);
        } else {
            used = 0;
            if (!strcmp(a, "--tied"))
                s.tied = 1;
            else if (!strcmp(a, "--rope-freqs"))
                s.rope_freqs = 1;
            else if (a[0] != '-' && !out)
                out = a;
            else {
                fprintf(stderr, "unknown or incomplete option %s\n", a);
                return 2;
            }
        }
        i += used;
    }
    if (!out) {
        fprintf(stderr, "usage: %s OUT.gguf [--preset P] [--type T] ...\n", argv[0]);
        return 2;
    }
    if (gw_llama_write(&s, out)) {
        fprintf(stderr, "%s: cannot build or write %s (check the shapes)\n", argv[0], out);
        return 1;
    }
    return 0;
}
