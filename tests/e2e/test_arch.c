/*
 * test_arch.c - the architectures beyond Llama 2, on small synthetic models
 * (written in memory by the project's GGUF writer, with the tensors and
 * keys of llama.cpp's converter): Llama 3.1 rope scaling (rope_freqs plus
 * linear scaling), qwen2 (Q/K/V biases, NEOX rope), qwen3 (per-head Q/K
 * norms, head_dim != n_embd / n_head), phi3 (fused QKV and gate/up, LongRoPE
 * factors and attention factor), gemma2 (GELU gate, embedding scale, post
 * norms, attention and final soft-capping, sliding-window layers) and
 * gemma3 (Q/K norms, sliding window with its own rope base). Each in F32
 * and a quantised type:
 *  - the scalar logits match llama.cpp's (tests/e2e/data/ref_arch_*.json,
 *    made by tools/gen_arch_reference.py) within 1e-3 relative
 *    (max |diff| / max |ref|; the issue asks 1e-2), and so does every
 *    kernel level of this CPU, against llama.cpp and against scalar.
 *    Measured on x86-64: quantised weights 1e-7 (the same arithmetic as
 *    llama.cpp up to float summation order), F32 up to ~1e-4: f32 dot
 *    products sum in another order than ggml's, and where the result is
 *    rounded to f16 (the query, the KV cache, the flash-attention
 *    accumulator) a last-bit difference becomes an f16 ulp (5e-4) now and
 *    then. These models amplify that more than the llama ones (Q prescale
 *    before the f16 rounding, post-norms that renormalise the attention
 *    branch); per-head Q/K norms make attention peaked and amplify it much
 *    more, which is why the synthetic Q/K norm weights are ~0.25, not ~1
 *    (with ~1 the model is chaotic: our own AVX2 and scalar logits differ
 *    by 1e-2 on Q8_0, and so do llama.cpp's from either);
 *  - 1 and 2 threads give identical logits, and a token-by-token decode
 *    the one-batch prompt (the sliding window in both paths).
 * Also: a file missing a tensor its architecture needs, a file of an
 * unknown architecture and a tensor of a type without kernels (IQ4_NL) are
 * refused with a message naming them.
 */
#include "common/testutil.h"

#include <math.h>

#include "fwinfer.h"
#include "gguf_llama.h"

#ifndef FW_TEST_SRC
#error "FW_TEST_SRC must name the tests folder"
#endif

#define N_VOCAB 600
#define N_CTX 1024 /* > phi3's original context 512: the long factors, as
                      in llama.cpp's context of >= 640 */

typedef struct acase {
    const char *name; /* ref_arch_<name>.json */
    const char *arch;
    uint32_t type;
    int head_dim, n_swa, swa_pattern, rope_freqs, tied, n_ctx, n_ctx_orig;
    float rope_scale, rope_base, attn_softcap, final_softcap;
    double tol; /* relative, against llama.cpp and between kernel levels */
} acase;

/* keep in step with CASES of tools/gen_arch_reference.py */
static const acase cases[] = {
    {"llama_rope_F32", "llama", 0, 0, 0, 0, 1, 0, 0, 0, 2, 500000, 0, 0, 1e-3},
    {"llama_rope_Q4_0", "llama", 2, 0, 0, 0, 1, 0, 0, 0, 2, 500000, 0, 0, 1e-3},
    {"qwen2_F32", "qwen2", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1e-3},
    {"qwen2_Q8_0", "qwen2", 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1e-3},
    {"qwen3_F32", "qwen3", 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1e-3},
    {"qwen3_Q8_0", "qwen3", 8, 64, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1e-3},
    {"phi3_F32", "phi3", 0, 0, 0, 0, 0, 0, 4096, 512, 0, 0, 0, 0, 1e-3},
    {"phi3_Q8_0", "phi3", 8, 0, 0, 0, 0, 0, 4096, 512, 0, 0, 0, 0, 1e-3},
    {"gemma2_F32", "gemma2", 0, 64, 4, 0, 0, 1, 0, 0, 0, 0, 1, 2, 1e-3},
    {"gemma2_Q8_0", "gemma2", 8, 64, 4, 0, 0, 1, 0, 0, 0, 0, 1, 2, 1e-3},
    {"gemma3_F32", "gemma3", 0, 64, 4, 2, 0, 1, 0, 0, 0, 1000000, 0, 0, 1e-3},
    {"gemma3_Q8_0", "gemma3", 8, 64, 4, 2, 0, 1, 0, 0, 0, 1000000, 0, 0, 1e-3},
};

static void spec_of(const acase *c, gw_llama_spec *s)
{
    gw_llama_spec_init(s);
    s->arch = c->arch;
    s->type = c->type;
    s->head_dim = c->head_dim;
    s->n_swa = c->n_swa;
    s->swa_pattern = c->swa_pattern;
    s->rope_freqs = c->rope_freqs;
    s->tied = c->tied;
    if (c->n_ctx)
        s->n_ctx = c->n_ctx;
    s->n_ctx_orig = c->n_ctx_orig;
    s->rope_scale = c->rope_scale;
    if (c->rope_base > 0)
        s->rope_freq_base = c->rope_base;
    s->attn_softcap = c->attn_softcap;
    s->final_softcap = c->final_softcap;
}

static uint8_t *build_img(const acase *c, size_t *size)
{
    gw_llama_spec s;
    spec_of(c, &s);
    uint8_t *img = gw_llama_build(&s, size);
    assert_non_null(img);
    return img;
}

static fw_context *new_ctx(fw_model *m, const char *isa, int threads, int n_ctx)
{
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.isa = isa;
    cp.n_threads = (uint32_t)threads;
    cp.n_ctx = (uint32_t)n_ctx;
    fw_context *c;
    if (fw_context_new(m, &cp, &c) != FW_OK)
        fail_msg("%s", fw_last_error());
    return c;
}

/* logits of the last prompt token, the prompt in one batch (or token by
 * token when `stepwise`) */
static void logits_for(fw_model *m, const char *isa, int threads, int n_ctx,
                       const fw_token *p, size_t n, int stepwise, float *out)
{
    fw_context *c = new_ctx(m, isa, threads, n_ctx);
    if (stepwise) {
        for (size_t i = 0; i < n; i++)
            assert_int_equal(fw_context_eval(c, 0, (int32_t)i, p + i, 1, 0), FW_OK);
    } else {
        assert_int_equal(fw_context_eval(c, 0, 0, p, n, 0), FW_OK);
    }
    memcpy(out, fw_context_logits(c, -1), N_VOCAB * sizeof *out);
    fw_context_free(c);
}

static double rel_diff_f(const float *a, const float *b, int n)
{
    double b64[N_VOCAB];
    for (int i = 0; i < n; i++)
        b64[i] = b[i];
    return tu_rel_diff(a, b64, n);
}

static void test_vs_llamacpp(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const acase *tc = &cases[k];
        char path[512];
        snprintf(path, sizeof path, "%s/e2e/data/ref_arch_%s.json", FW_TEST_SRC, tc->name);
        char *ref = tu_read_file(path, NULL);
        assert_non_null(ref);
        static double ref_logits[N_VOCAB], ref_ids[64];
        assert_int_equal(tu_json_numbers(ref, "logits", ref_logits, N_VOCAB), N_VOCAB);
        int n_ids = tu_json_numbers(ref, "prompt_ids", ref_ids, 64);
        const char *prompt = "hello world, this is a test";
        size_t size;
        uint8_t *img = build_img(tc, &size);
        fw_model *m;
        if (fw_model_load_from_memory(img, size, NULL, &m) != FW_OK)
            fail_msg("%s: %s", tc->name, fw_last_error());
        assert_string_equal(fw_model_arch(m), tc->arch);
        fw_token p[64];
        size_t n;
        assert_int_equal(fw_tokenize(m, prompt, strlen(prompt), FW_TOKENIZE_ADD_SPECIAL,
                                     p, 64, &n), FW_OK);
        assert_int_equal((int)n, n_ids);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(p[i], (fw_token)ref_ids[i]);

        static float scalar[N_VOCAB], other[N_VOCAB];
        logits_for(m, "scalar", 1, N_CTX, p, n, 0, scalar);
        double d_ref = tu_rel_diff(scalar, ref_logits, N_VOCAB);
        const double tol = tc->tol;
        print_message("%-16s scalar vs llama.cpp: %.2e relative\n", tc->name, d_ref);
        if (!(d_ref < tol)) { /* report every case, then fail */
            print_error("%s: scalar vs llama.cpp %.2e > %.0e\n", tc->name, d_ref, tol);
            bad++;
        }

        /* threads: bit-identical */
        logits_for(m, "scalar", 2, N_CTX, p, n, 0, other);
        assert_memory_equal(scalar, other, sizeof scalar);
        /* token by token (the decode path, sliding window and all) */
        logits_for(m, "scalar", 2, N_CTX, p, n, 1, other);
        double d_step = rel_diff_f(other, scalar, N_VOCAB);
        if (d_step > 1e-6)
            fail_msg("%s: stepwise vs batch %.2e", tc->name, d_step);

        const char *levels[] = {"avx2", "avx512", "neon", "dotprod"};
        for (size_t l = 0; l < sizeof levels / sizeof *levels; l++) {
            if (!fw_isa_valid(levels[l]))
                continue;
            static float simd[N_VOCAB], simd1[N_VOCAB];
            logits_for(m, levels[l], 2, N_CTX, p, n, 0, simd);
            logits_for(m, levels[l], 1, N_CTX, p, n, 0, simd1);
            assert_memory_equal(simd, simd1, sizeof simd);
            double d = rel_diff_f(simd, scalar, N_VOCAB);
            double dr = tu_rel_diff(simd, ref_logits, N_VOCAB);
            print_message("%-16s %s vs scalar: %.2e, vs llama.cpp: %.2e\n", tc->name,
                          levels[l], d, dr);
            if (!(d < tol) || !(dr < tol)) {
                print_error("%s: %s vs scalar %.2e, vs llama.cpp %.2e\n", tc->name,
                            levels[l], d, dr);
                bad++;
            }
            if (!strcmp(levels[l], fw_isa_best()))
                break;
        }
        if (!strcmp(tc->arch, "phi3")) {
            /* within the original context: the short factors, other logits */
            logits_for(m, "scalar", 1, 256, p, n, 0, other);
            assert_true(rel_diff_f(other, scalar, N_VOCAB) > 1e-3);
        }
        fw_model_free(m);
        free(img);
        free(ref);
    }
    assert_int_equal(bad, 0);
}

/* the first occurrence of string s in the image */
static uint8_t *find_in(uint8_t *img, size_t size, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= size; i++)
        if (!memcmp(img + i, s, n))
            return img + i;
    return NULL;
}

static void test_missing_tensor(void **state)
{
    (void)state;
    static const struct {
        size_t k;           /* index in cases */
        const char *tensor; /* renamed away */
    } t[] = {
        {4, "blk.0.attn_q_norm.weight"},    /* qwen3 */
        {6, "blk.1.attn_qkv.weight"},       /* phi3 (then attn_q is missing) */
        {8, "blk.0.post_ffw_norm.weight"},  /* gemma2 */
        {10, "blk.1.attn_k_norm.weight"},   /* gemma3 */
        {6, "blk.0.ffn_up.weight"},         /* phi3's fused gate+up */
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        size_t size;
        uint8_t *img = build_img(&cases[t[i].k], &size);
        uint8_t *p = find_in(img, size, t[i].tensor);
        assert_non_null(p);
        p[0] = 'X'; /* "Xlk.0..." */
        fw_model *m;
        assert_int_equal(fw_model_load_from_memory(img, size, NULL, &m), FW_E_FORMAT);
        const char *want = t[i].tensor;
        if (strstr(want, "attn_qkv"))
            want = "blk.1.attn_q.weight";
        print_message("%s: %s\n", cases[t[i].k].arch, fw_last_error());
        assert_non_null(strstr(fw_last_error(), want));
        assert_non_null(strstr(fw_last_error(), "missing"));
        free(img);
    }
}

static void test_unknown_arch(void **state)
{
    (void)state;
    size_t size;
    uint8_t *img = build_img(&cases[2], &size); /* qwen2 */
    uint8_t *p = find_in(img, size, "qwen2");   /* general.architecture's value */
    assert_non_null(p);
    p[4] = '9';
    fw_model *m;
    assert_int_equal(fw_model_load_from_memory(img, size, NULL, &m), FW_E_UNSUPPORTED);
    print_message("%s\n", fw_last_error());
    assert_non_null(strstr(fw_last_error(), "'qwen9'"));
    free(img);
}

static void test_unsupported_type(void **state)
{
    (void)state;
    /* IQ4_NL (ggml type 20) has Q4_0's block size (32 weights in 18
     * bytes): retyping a Q4_0 tensor keeps the file well-formed, and the
     * load fails naming the tensor and its type */
    size_t size;
    uint8_t *img = build_img(&cases[1], &size); /* llama, Q4_0 */
    const char *name = "blk.1.ffn_down.weight";
    uint8_t *p = find_in(img, size, name);      /* in the tensor infos */
    assert_non_null(p);
    p += strlen(name);
    uint32_t n_dims, type;
    memcpy(&n_dims, p, 4);
    assert_int_equal(n_dims, 2);
    p += 4 + 8 * n_dims;
    memcpy(&type, p, 4);
    assert_int_equal(type, 2); /* Q4_0 */
    type = 20;
    memcpy(p, &type, 4);
    fw_model *m;
    assert_int_equal(fw_model_load_from_memory(img, size, NULL, &m), FW_E_UNSUPPORTED);
    print_message("%s\n", fw_last_error());
    assert_non_null(strstr(fw_last_error(), name));
    assert_non_null(strstr(fw_last_error(), "IQ4_NL"));
    free(img);
}

static void test_rope_scaling_refused(void **state)
{
    (void)state;
    /* a rope scaling type we do not run (YaRN and others) names itself */
    size_t size;
    uint8_t *img = build_img(&cases[0], &size); /* llama, linear scaling */
    uint8_t *p = find_in(img, size, "linear");
    assert_non_null(p);
    memcpy(p, "bogus1", 6);
    fw_model *m;
    assert_int_equal(fw_model_load_from_memory(img, size, NULL, &m), FW_E_UNSUPPORTED);
    print_message("%s\n", fw_last_error());
    assert_non_null(strstr(fw_last_error(), "llama.rope.scaling.type 'bogus1'"));
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vs_llamacpp),
        cmocka_unit_test(test_missing_tensor),
        cmocka_unit_test(test_unknown_arch),
        cmocka_unit_test(test_unsupported_type),
        cmocka_unit_test(test_rope_scaling_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
