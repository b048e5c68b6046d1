/*
 * test_synthetic.c - small synthetic llama models of every weight type
 * (written in memory by the project's GGUF writer):
 *  - the logits of every kernel level this CPU has match the scalar
 *    reference within 1e-5 relative (max |diff| / max |scalar logit|);
 *  - the logits match llama.cpp's on the same file
 *    (tests/e2e/data/ref_TYPE.json, made by tools/gen_reference_logits.py):
 *    within 1e-5 relative for F32, Q8_0, Q4_0 and the K-quants Q4_K, Q5_K,
 *    Q6_K (n_embd 256, n_ff 512) and a Q4_K + Q6_K mix (the same arithmetic up to
 *    float summation order), and within 2e-3 (F16) and 1e-2 (BF16), where
 *    llama.cpp rounds the activations to F16/BF16 and we keep them in f32;
 *    Q4_1, Q5_0, Q5_1 and Q3_K (K shape) within 1e-5 (ggml's x86 dot
 *    arithmetic: bit-identical), Q2_K within 1e-2 (see its table entry);
 *  - the prompt tokenizes to the ids llama.cpp used.
 * Also: a model whose weights have an unsupported type or a wrong shape is
 * refused with a message naming the tensor.
 */
#include "common/testutil.h"

#include <math.h>

#include "fwinfer.h"
#include "gguf_llama.h"

#ifndef FW_TEST_SRC
#error "FW_TEST_SRC must name the tests folder"
#endif

typedef struct tcase {
    const char *name;
    uint32_t type;
    double tol; /* relative, against llama.cpp */
    int n_embd, n_ff;  /* 0: the tiny preset's (128, 256) */
    int out_type;      /* output.weight type, 0: `type` */
} tcase;

/* K-quants vs llama.cpp: the same Q8_K activation bytes (ggml's x86
 * quantize_row_q8_K), exact integer super-block sums; only the f32
 * summation order differs (observed 3e-7 .. 7e-7 relative) */
#define KQ_TOL 1e-5
#define LEGACY_TOL 1e-5

static const tcase cases[] = {
    {"F32", 0, 1e-5, 0, 0, 0}, {"F16", 1, 2e-3, 0, 0, 0}, {"BF16", 30, 1e-2, 0, 0, 0},
    {"Q8_0", 8, 1e-5, 0, 0, 0}, {"Q4_0", 2, 1e-5, 0, 0, 0},
    /* K-quants: n_embd 256 / n_ff 512 so that every matrix (rows of 256 or
     * 512) really is a K-quant (checked below); Q4_K_M-like mix: Q4_K with
     * a Q6_K output matrix */
    {"Q4_K", 12, KQ_TOL, 256, 512, 0}, {"Q5_K", 13, KQ_TOL, 256, 512, 0},
    {"Q6_K", 14, KQ_TOL, 256, 512, 0}, {"Q4_K_M", 12, KQ_TOL, 256, 512, 14},
    /* legacy types (tiny preset): the Q8_1 / Q8_0 activation bytes of
     * ggml's x86 quantisers and its x86 dot arithmetic (8 f32 lane
     * accumulators, fma, its horizontal sum): bit-identical logits on x86
     * (0.0 in full precision; ~3e-7 against the 7 digits of the JSON) */
    {"Q4_1", 3, LEGACY_TOL, 0, 0, 0}, {"Q5_0", 6, LEGACY_TOL, 0, 0, 0},
    {"Q5_1", 7, LEGACY_TOL, 0, 0, 0},
    /* Q2_K / Q3_K (K shape): ggml's x86 AVX2 dot arithmetic, bit-identical
     * with llama.cpp's AVX2 ("haswell") CPU build. On AVX-512 CPUs (where
     * the references were made) llama.cpp repacks Q2_K matrices and uses
     * another f32 order, which can flip a Q8_K rounding: 2e-7 measured
     * here, up to 1.3e-2 on other seeds, hence the 1e-2 bound; Q3_K has
     * no such kernel (1e-7 measured) */
    {"Q2_K", 10, 1e-2, 256, 512, 0}, {"Q3_K", 11, LEGACY_TOL, 256, 512, 0},
};

/* the GGML type of tensor `name` in a GGUF image written by gw_llama_build
 * (2-D: name, n_dims, 2 dims, then the type) */
static uint32_t tensor_type(const uint8_t *img, size_t size, const char *name)
{
    const size_t nl = strlen(name);
    for (size_t i = 0; i + nl + 24 < size; i++) {
        if (!memcmp(img + i, name, nl)) {
            uint32_t t;
            memcpy(&t, img + i + nl + 4 + 16, 4);
            return t;
        }
    }
    return UINT32_MAX;
}

static fw_model *build(const tcase *tc, uint8_t **img)
{
    gw_llama_spec s;
    gw_llama_spec_init(&s);
    s.type = tc->type;
    if (tc->n_embd)
        s.n_embd = tc->n_embd, s.n_ff = tc->n_ff;
    s.output_type = tc->out_type ? tc->out_type : -1;
    size_t size;
    *img = gw_llama_build(&s, &size);
    assert_non_null(*img);
    if (tc->type >= 10 && tc->type <= 14) { /* really K-quants, no fallback */
        assert_int_equal(tensor_type(*img, size, "blk.0.attn_q.weight"), tc->type);
        assert_int_equal(tensor_type(*img, size, "blk.1.ffn_down.weight"), tc->type);
        assert_int_equal(tensor_type(*img, size, "token_embd.weight"), tc->type);
        assert_int_equal(tensor_type(*img, size, "output.weight"),
                         tc->out_type > 0 ? (uint32_t)tc->out_type : tc->type);
    }
    fw_model *m;
    if (fw_model_load_from_memory(*img, size, NULL, &m) != FW_OK)
        fail_msg("%s", fw_last_error());
    return m;
}

static void logits_for(fw_model *m, const char *isa, int threads,
                       const fw_token *p, size_t n, float *out)
{
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.isa = isa;
    cp.n_threads = (uint32_t)threads;
    cp.n_ctx = 64;
    fw_context *c;
    assert_int_equal(fw_context_new(m, &cp, &c), FW_OK);
    assert_int_equal(fw_context_eval(c, 0, 0, p, n, 0), FW_OK);
    memcpy(out, fw_context_logits(c, -1), (size_t)fw_model_n_vocab(m) * sizeof *out);
    fw_context_free(c);
}

static void test_types(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const tcase *tc = &cases[k];
        char path[512];
        snprintf(path, sizeof path, "%s/e2e/data/ref_%s.json", FW_TEST_SRC, tc->name);
        char *ref = tu_read_file(path, NULL);
        assert_non_null(ref);
        static double ref_logits[600], ref_ids[64];
        assert_int_equal(tu_json_numbers(ref, "logits", ref_logits, 600), 600);
        int n_ids = tu_json_numbers(ref, "prompt_ids", ref_ids, 64);
        const char *prompt = "hello world, this is a test";
        uint8_t *img;
        fw_model *m = build(tc, &img);
        fw_token p[64];
        size_t n;
        assert_int_equal(fw_tokenize(m, prompt, strlen(prompt), FW_TOKENIZE_ADD_SPECIAL,
                                     p, 64, &n), FW_OK);
        assert_int_equal((int)n, n_ids);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(p[i], (fw_token)ref_ids[i]);

        static float scalar[600], simd[600];
        logits_for(m, "scalar", 1, p, n, scalar);
        double d_ref = tu_rel_diff(scalar, ref_logits, 600);
        print_message("%-5s scalar vs llama.cpp: %.2e relative\n", tc->name, d_ref);
        assert_true(d_ref < tc->tol);
        const char *levels[] = {"avx2", "avx512", "neon", "dotprod"};
        for (size_t l = 0; l < sizeof levels / sizeof *levels; l++) {
            if (!fw_isa_valid(levels[l]))
                continue;
            logits_for(m, levels[l], 2, p, n, simd);
            double s64[600];
            for (int i = 0; i < 600; i++)
                s64[i] = scalar[i];
            double d = tu_rel_diff(simd, s64, 600);
            double dr = tu_rel_diff(simd, ref_logits, 600);
            print_message("%-5s %s vs scalar: %.2e, vs llama.cpp: %.2e\n", tc->name,
                          levels[l], d, dr);
            /* summation order only, but an f16 rounding of the KV cache
             * (or of a BF16 conversion) that flips moves the logits by up
             * to ~4e-5 relative: seen on BF16 prompts of 6 and 9 tokens at
             * the AVX2 level, and on this prompt with the AVX-512 F16/BF16
             * order; an error in a kernel shows up orders above that */
            assert_true(d < 1e-4);
            assert_true(dr < tc->tol);
            if (!strcmp(levels[l], fw_isa_best()))
                break;
        }
        fw_model_free(m);
        free(img);
        free(ref);
    }
}

static void test_refused_weights(void **state)
{
    (void)state;
    /* a tensor type the kernels lack: Q8_0 with a 2-row ffn made Q8_1 */
    gw_llama_spec s;
    gw_llama_spec_init(&s);
    s.n_layer = 1;
    size_t size;
    uint8_t *img = gw_llama_build(&s, &size);
    assert_non_null(img);
    /* rename blk.0.attn_q.weight's type: find the tensor info by name */
    const char *name = "blk.0.attn_q.weight";
    uint8_t *p = NULL;
    for (size_t i = 0; i + strlen(name) < size; i++)
        if (!memcmp(img + i, name, strlen(name))) {
            p = img + i + strlen(name);
            break;
        }
    assert_non_null(p);
    /* n_dims (4) + 2 dims (16) then the type: F32 (0) -> I32 (26), same size */
    uint32_t t = 26;
    memcpy(p + 4 + 16, &t, 4);
    fw_model *m;
    assert_int_equal(fw_model_load_from_memory(img, size, NULL, &m), FW_E_UNSUPPORTED);
    assert_non_null(strstr(fw_last_error(), "blk.0.attn_q.weight"));
    assert_non_null(strstr(fw_last_error(), "I32"));
    /* a wrong shape: attn_q with 129 columns would not parse; use dims swap */
    t = 0;
    memcpy(p + 4 + 16, &t, 4);
    int64_t d0 = 128, d1 = 128;
    memcpy(p + 4, &d0, 8);
    memcpy(p + 12, &d1, 8);
    assert_int_equal(fw_model_load_from_memory(img, size, NULL, &m), FW_OK);
    fw_model_free(m);
    d0 = 64, d1 = 256; /* same element count, wrong shape */
    memcpy(p + 4, &d0, 8);
    memcpy(p + 12, &d1, 8);
    assert_int_equal(fw_model_load_from_memory(img, size, NULL, &m), FW_E_FORMAT);
    assert_non_null(strstr(fw_last_error(), "blk.0.attn_q.weight"));
    assert_non_null(strstr(fw_last_error(), "expected [128, 128]"));
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_refused_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
