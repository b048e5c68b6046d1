/*
 * test_cancel.c - fw_context_cancel from another thread, during prompt
 * evaluation and during generation: the call returns FW_E_CANCELLED after
 * at most one more layer than the one running when the cancel came (the
 * context's layer counter proves it, not a timer), and the context stays
 * usable: the cancelled call left no trace, the next call gives the
 * results of a fresh context.  Also run under ThreadSanitizer in CI.
 */
#include "common/testutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "fwinfer.h"

static fw_model *model;

static int setup(void **state)
{
    (void)state;
    if (!tu_data_dir())
        return 0;
    return fw_model_load(tu_data_path("models/stories260K.gguf"), NULL, &model) == FW_OK ? 0
                                                                                       : -1;
}

static int teardown(void **state)
{
    (void)state;
    fw_model_free(model);
    return 0;
}

typedef struct watcher {
    fw_context *ctx;
    uint64_t at;        /* cancel once the counter reaches this */
    uint64_t after;     /* the counter read right after fw_context_cancel */
    atomic_int go, done, stop; /* stop: the call returned (never hang) */
} watcher;

static void *watch(void *arg)
{
    watcher *w = arg;
    while (!atomic_load(&w->go))
        sched_yield();
    while (fw_context_layers_done(w->ctx) < w->at)
        if (atomic_load(&w->stop))
            return NULL;
    fw_context_cancel(w->ctx);
    w->after = fw_context_layers_done(w->ctx);
    atomic_store(&w->done, 1);
    return NULL;
}

static fw_context *ctx_new(int n_batch)
{
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_threads = 2;
    cp.n_ctx = 512;
    cp.n_batch = (uint32_t)n_batch;
    cp.n_seq_max = 2;
    fw_context *c = NULL;
    if (fw_context_new(model, &cp, &c) != FW_OK)
        fail_msg("%s", fw_last_error());
    return c;
}

/* layers per forward pass */
static uint64_t n_layer(void)
{
    int64_t v = 0;
    if (fw_model_meta_get_i64(model, "llama.block_count", &v) != FW_OK)
        fail_msg("%s", fw_last_error());
    return (uint64_t)v;
}

static void test_cancel_prompt(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    enum { N = 400 };
    fw_token prompt[N];
    for (int i = 0; i < N; i++)
        prompt[i] = 1 + (fw_token)((i * 37) % 500);
    /* batches of 4: 100 passes, n_layer layers each */
    fw_context *c = ctx_new(4), *fresh = ctx_new(4);
    assert_int_equal(fw_context_eval(c, 0, 0, prompt, 8, 0), FW_OK);
    for (int round = 0; round < 5; round++) {
        watcher w = {c, fw_context_layers_done(c) + 7 + 13 * (uint64_t)round, 0, 0, 0, 0};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, watch, &w), 0);
        atomic_store(&w.go, 1);
        fw_status st = fw_context_eval(c, 0, 8, prompt + 8, N - 8, 0);
        uint64_t end = fw_context_layers_done(c);
        atomic_store(&w.stop, 1);
        pthread_join(th, NULL);
        assert_int_equal(st, FW_E_CANCELLED);
        assert_non_null(strstr(fw_context_errmsg(c), "cancel"));
        /* the layer running when the cancel came, and at most one more */
        assert_true(end <= w.after + 2);
        assert_true(end < w.at + (uint64_t)(N / 4) * n_layer());
        /* nothing of the cancelled call stays */
        assert_int_equal(fw_context_seq_len(c, 0), 8);
    }
    /* usable: the same logits as a fresh context */
    assert_int_equal(fw_context_eval(c, 0, 8, prompt + 8, 24, 0), FW_OK);
    assert_int_equal(fw_context_eval(fresh, 0, 0, prompt, 32, 0), FW_OK);
    assert_memory_equal(fw_context_logits(c, -1), fw_context_logits(fresh, -1),
                        (size_t)fw_model_n_vocab(model) * sizeof(float));
    fw_context_free(c);
    fw_context_free(fresh);
}

static void test_cancel_generation(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    const char *body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":300,"
                       "\"ignore_eos\":true,\"temperature\":0.8,\"seed\":5,\"n\":2}";
    fw_context *c = ctx_new(64), *fresh = ctx_new(64);
    for (int round = 0; round < 3; round++) {
        /* a few dozen generation steps in */
        watcher w = {c, fw_context_layers_done(c) + 40 * n_layer() + (uint64_t)round, 0, 0, 0, 0};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, watch, &w), 0);
        atomic_store(&w.go, 1);
        fw_result *r = NULL;
        fw_status st = fw_generate_json(c, body, strlen(body), NULL, 0, NULL, NULL, &r);
        uint64_t end = fw_context_layers_done(c);
        atomic_store(&w.stop, 1);
        pthread_join(th, NULL);
        assert_int_equal(st, FW_E_CANCELLED);
        assert_null(r);
        assert_true(end <= w.after + 2);
    }
    /* usable: the next request gives what a fresh context gives */
    fw_result *a = NULL, *b = NULL;
    const char *small = "{\"prompt\":\"Once upon a time\",\"max_tokens\":40,\"seed\":9,"
                        "\"temperature\":0.7,\"n\":2}";
    assert_int_equal(fw_generate_json(c, small, strlen(small), NULL, 0, NULL, NULL, &a), FW_OK);
    assert_int_equal(fw_generate_json(fresh, small, strlen(small), NULL, 0, NULL, NULL, &b),
                     FW_OK);
    for (int i = 0; i < 2; i++) {
        char ta[2048], tb[2048];
        size_t na, nb;
        assert_int_equal(fw_result_text(a, i, ta, sizeof ta, &na), FW_OK);
        assert_int_equal(fw_result_text(b, i, tb, sizeof tb, &nb), FW_OK);
        assert_string_equal(ta, tb);
    }
    fw_result_free(a);
    fw_result_free(b);
    fw_context_free(c);
    fw_context_free(fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_prompt),
        cmocka_unit_test(test_cancel_generation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
