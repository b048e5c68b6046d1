/*
 * test_stories.c - the forward pass on stories260K against llama.cpp's
 * reference (../shared/data/reference/stories260K_once_upon_a_time.json):
 * first-step logits within 1e-2 absolute and the 48 greedy ids, at every
 * kernel level this CPU has, with 1 and 2 threads; logits identical across
 * thread counts; sequences, truncation, copy, context overflow, cancel.
 */
#define _DEFAULT_SOURCE 1
#include "common/testutil.h"

#include <unistd.h>

#include <math.h>

#include "fwinfer.h"

static char *ref_text;
static double ref_logits[512], ref_ids[64], prompt_ids[8];
static int n_ref_ids, n_prompt;

static int setup(void **state)
{
    (void)state;
    if (!tu_data_dir())
        return 0;
    ref_text = tu_read_file(tu_data_path("reference/stories260K_once_upon_a_time.json"), NULL);
    if (!ref_text)
        return -1;
    if (tu_json_numbers(ref_text, "raw_logits", ref_logits, 512) != 512)
        return -1;
    n_ref_ids = tu_json_numbers(ref_text, "generated_ids", ref_ids, 64);
    n_prompt = tu_json_numbers(ref_text, "prompt_ids", prompt_ids, 8);
    return n_ref_ids == 48 && n_prompt == 5 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(ref_text);
    return 0;
}

static fw_model *load_model(void)
{
    fw_model *m;
    if (fw_model_load(tu_data_path("models/stories260K.gguf"), NULL, &m) != FW_OK)
        fail_msg("%s", fw_last_error());
    return m;
}

static fw_context *new_ctx(fw_model *m, const char *isa, int threads, int n_seq)
{
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.isa = isa;
    cp.n_threads = (uint32_t)threads;
    cp.n_ctx = 256;
    cp.n_seq_max = (uint32_t)n_seq;
    fw_context *c;
    if (fw_context_new(m, &cp, &c) != FW_OK)
        fail_msg("%s", fw_last_error());
    return c;
}

static int argmax(const float *l, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > l[best])
            best = i;
    return best;
}

static void run_reference(const char *isa, int threads, float *first_logits)
{
    fw_model *m = load_model();
    fw_context *c = new_ctx(m, isa, threads, 1);
    assert_int_equal(fw_model_n_vocab(m), 512);
    fw_token prompt[5];
    for (int i = 0; i < 5; i++)
        prompt[i] = (fw_token)prompt_ids[i];
    assert_int_equal(fw_context_eval(c, 0, 0, prompt, 5, 0), FW_OK);
    const float *l = fw_context_logits(c, -1);
    assert_non_null(l);
    double maxdiff = 0;
    for (int i = 0; i < 512; i++) {
        double d = fabs(l[i] - ref_logits[i]);
        if (d > maxdiff)
            maxdiff = d;
    }
    print_message("%s, %d thread(s): max |logit - llama.cpp| = %.2e\n",
                  fw_context_isa(c), threads, maxdiff);
    /* the bound is 1e-2; with ggml's attention numerics we are at
     * float rounding (~4e-6) */
    assert_true(maxdiff < 1e-4);
    memcpy(first_logits, l, 512 * sizeof *l);
    int pos = 5;
    for (int i = 0; i < 48; i++) {
        fw_token t = argmax(fw_context_logits(c, -1), 512);
        if (t != (fw_token)ref_ids[i])
            fail_msg("%s/%d threads: step %d: got %d, want %d", isa, threads, i,
                     (int)t, (int)ref_ids[i]);
        assert_int_equal(fw_context_eval(c, 0, pos++, &t, 1, 0), FW_OK);
    }
    fw_context_free(c);
    fw_model_free(m);
}

static void test_reference_every_isa(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    const char *levels[] = {"scalar", "avx2", "avx512", "neon", "dotprod"};
    for (size_t k = 0; k < sizeof levels / sizeof *levels; k++) {
        if (!fw_isa_valid(levels[k]))
            continue;
        float l1[512], l2[512];
        run_reference(levels[k], 1, l1);
        run_reference(levels[k], 2, l2);
        /* results do not depend on the thread count */
        assert_memory_equal(l1, l2, sizeof l1);
        if (!strcmp(levels[k], fw_isa_best()))
            break;
    }
}

static void test_batch_equals_steps(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    fw_model *m = load_model();
    fw_context *c = new_ctx(m, NULL, 2, 3);
    fw_token p[5] = {1, 403, 407, 261, 378};
    /* all logits of a batch == logits of one token at a time */
    assert_int_equal(fw_context_eval(c, 0, 0, p, 5, FW_EVAL_ALL_LOGITS), FW_OK);
    float all[5][512];
    for (int i = 0; i < 5; i++)
        memcpy(all[i], fw_context_logits(c, i), sizeof all[i]);
    assert_null(fw_context_logits(c, 5));
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fw_context_eval(c, 1, i, &p[i], 1, 0), FW_OK);
        const float *l = fw_context_logits(c, -1);
        for (int j = 0; j < 512; j++)
            assert_true(fabsf(l[j] - all[i][j]) < 1e-4f);
    }
    assert_int_equal(fw_context_seq_len(c, 1), 5);
    /* copy a sequence: continuing it gives the same logits as the source */
    assert_int_equal(fw_context_seq_copy(c, 0, 2), FW_OK);
    assert_int_equal(fw_context_seq_len(c, 2), 5);
    fw_token t = 432;
    assert_int_equal(fw_context_eval(c, 0, 5, &t, 1, 0), FW_OK);
    float a[512];
    memcpy(a, fw_context_logits(c, -1), sizeof a);
    assert_int_equal(fw_context_eval(c, 2, 5, &t, 1, 0), FW_OK);
    assert_memory_equal(a, fw_context_logits(c, -1), sizeof a);
    /* re-evaluating at an earlier position truncates */
    assert_int_equal(fw_context_eval(c, 2, 5, &t, 1, 0), FW_OK);
    assert_memory_equal(a, fw_context_logits(c, -1), sizeof a);
    assert_int_equal(fw_context_seq_len(c, 2), 6);
    assert_int_equal(fw_context_seq_truncate(c, 2, 3), FW_OK);
    assert_int_equal(fw_context_seq_len(c, 2), 3);
    assert_int_equal(fw_context_seq_truncate(c, 2, 4), FW_E_RANGE);
    assert_int_equal(fw_context_seq_clear(c, 2), FW_OK);
    assert_int_equal(fw_context_seq_len(c, 2), 0);
    /* misuse */
    assert_int_equal(fw_context_eval(c, 0, 9, &t, 1, 0), FW_E_RANGE);
    assert_non_null(strstr(fw_context_errmsg(c), "out of order"));
    assert_int_equal(fw_context_eval(c, 3, 0, &t, 1, 0), FW_E_RANGE);
    fw_token bad = 512;
    assert_int_equal(fw_context_eval(c, 0, 0, &bad, 1, 0), FW_E_RANGE);
    assert_int_equal(fw_context_eval(c, 0, 0, NULL, 1, 0), FW_E_INVALID_ARG);
    assert_int_equal(fw_context_eval(c, 0, 0, &t, 0, 0), FW_E_INVALID_ARG);
    assert_null(fw_context_logits(c, -1));
    fw_context_free(c);
    fw_model_free(m);
}

static void test_context_full_and_cancel(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    fw_model *m = load_model();
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_ctx = 8;
    cp.n_threads = 1;
    fw_context *c;
    assert_int_equal(fw_context_new(m, &cp, &c), FW_OK);
    assert_int_equal(fw_context_n_ctx(c), 8);
    fw_token p[9] = {1, 403, 407, 261, 378, 432, 383, 286, 261};
    assert_int_equal(fw_context_eval(c, 0, 0, p, 9, 0), FW_E_CONTEXT_FULL);
    assert_non_null(strstr(fw_context_errmsg(c), "n_ctx 8"));
    assert_int_equal(fw_context_eval(c, 0, 0, p, 8, 0), FW_OK);
    assert_int_equal(fw_context_eval(c, 0, 8, p, 1, 0), FW_E_CONTEXT_FULL);
    /* a cancel requested before an eval stops it at the first layer */
    assert_int_equal(fw_context_seq_truncate(c, 0, 4), FW_OK);
    uint64_t before = fw_context_layers_done(c);
    fw_context_cancel(c);
    assert_int_equal(fw_context_eval(c, 0, 4, p + 4, 1, 0), FW_E_CANCELLED);
    assert_int_equal(fw_context_layers_done(c), before);
    assert_int_equal(fw_context_seq_len(c, 0), 4);
    /* and the context is usable afterwards */
    assert_int_equal(fw_context_eval(c, 0, 4, p + 4, 1, 0), FW_OK);
    assert_int_equal(fw_context_layers_done(c), before + 5);
    fw_context_free(c);
    /* bad parameters */
    cp.isa = "nope";
    assert_int_equal(fw_context_new(m, &cp, &c), FW_E_INVALID_ARG);
    assert_non_null(strstr(fw_last_error(), "nope"));
    cp.isa = NULL;
    cp.n_threads = 100000;
    assert_int_equal(fw_context_new(m, &cp, &c), FW_E_RANGE);
    fw_model_free(m);
    /* a metadata-only model cannot make a context */
    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.metadata_only = 1;
    assert_int_equal(fw_model_load(tu_data_path("models/stories260K.gguf"), &mp, &m), FW_OK);
    assert_int_equal(fw_context_new(m, NULL, &c), FW_E_UNSUPPORTED);
    fw_model_free(m);
}

static void greedy(fw_context *c, int pos, int n, fw_token *out)
{
    for (int i = 0; i < n; i++) {
        fw_token t = argmax(fw_context_logits(c, -1), 512);
        out[i] = t;
        assert_int_equal(fw_context_eval(c, 0, pos++, &t, 1, 0), FW_OK);
    }
}

static void test_state_save_load(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    fw_model *m = load_model();
    fw_context *a = new_ctx(m, NULL, 1, 2);
    fw_token p[5] = {1, 403, 407, 261, 378};
    assert_int_equal(fw_context_eval(a, 0, 0, p, 5, 0), FW_OK);
    assert_int_equal(fw_context_eval(a, 1, 0, p, 3, 0), FW_OK);
    assert_int_equal(fw_context_eval(a, 0, 5, &(fw_token){432}, 1, 0), FW_OK);
    size_t need;
    assert_int_equal(fw_context_state_size(a, &need), FW_OK);
    char *buf = malloc(need);
    size_t got;
    assert_int_equal(fw_context_state_save(a, buf, need - 1, &got), FW_E_BUFFER_TOO_SMALL);
    assert_int_equal(fw_context_state_save(a, buf, need, &got), FW_OK);
    assert_int_equal(got, need);
    fw_token want[6], again[6];
    greedy(a, 6, 6, want);

    /* into a fresh context: the same continuation */
    fw_context *b = new_ctx(m, NULL, 2, 2);
    assert_int_equal(fw_context_state_load(b, buf, got), FW_OK);
    assert_int_equal(fw_context_seq_len(b, 0), 6);
    assert_int_equal(fw_context_seq_len(b, 1), 3);
    greedy(b, 6, 6, again);
    assert_memory_equal(want, again, sizeof want);

    /* bad images change nothing */
    assert_int_equal(fw_context_state_load(b, buf, got - 1), FW_E_FORMAT);
    assert_int_equal(fw_context_state_load(b, buf, 10), FW_E_FORMAT);
    buf[0] = 'X';
    assert_int_equal(fw_context_state_load(b, buf, got), FW_E_FORMAT);
    buf[0] = 'F';
    buf[8] ^= 1; /* fingerprint */
    assert_int_equal(fw_context_state_load(b, buf, got), FW_E_FORMAT);
    assert_non_null(strstr(fw_context_errmsg(b), "another model"));
    buf[8] ^= 1;
    assert_int_equal(fw_context_seq_len(b, 0), 12);
    fw_context *one = new_ctx(m, NULL, 1, 1); /* too few sequences */
    assert_int_equal(fw_context_state_load(one, buf, got), FW_E_RANGE);
    fw_context_free(one);

    /* files, and a full disk */
    char path[] = "/tmp/fwinfer-state-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(fw_context_state_load(b, buf, got), FW_OK);
    assert_int_equal(fw_context_state_save_file(b, path), FW_OK);
    fw_context_free(a);
    a = new_ctx(m, NULL, 1, 2);
    assert_int_equal(fw_context_state_load_file(a, path), FW_OK);
    greedy(a, 6, 6, again);
    assert_memory_equal(want, again, sizeof want);
    unlink(path);
    assert_int_equal(fw_context_state_load_file(a, path), FW_E_IO);
    if (access("/dev/full", W_OK) == 0) {
        assert_int_equal(fw_context_state_save_file(a, "/dev/full"), FW_E_IO);
        assert_non_null(strstr(fw_context_errmsg(a), "/dev/full"));
    }
    free(buf);
    fw_context_free(a);
    fw_context_free(b);
    fw_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_every_isa),
        cmocka_unit_test(test_batch_equals_steps),
        cmocka_unit_test(test_context_full_and_cancel),
        cmocka_unit_test(test_state_save_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
