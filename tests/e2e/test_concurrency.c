/*
 * test_concurrency.c - one model shared by 4 contexts generating on 4
 * threads at once gives exactly the results of the same requests run one
 * after another (the model is immutable after loading; each context owns
 * its KV cache, scratch and thread pool). Also run under ThreadSanitizer
 * in CI.
 */
#include "common/testutil.h"

#include <pthread.h>

#include "fwinfer.h"

#define N_JOBS 4

static fw_model *model;

typedef struct job {
    int seed;
    char text[4096];
    fw_status st;
} job;

static void run_job(job *j)
{
    fw_context *c = NULL;
    j->st = fw_context_new_json(model, "{\"n_threads\":2,\"n_ctx\":128,\"n_seq_max\":2}", &c);
    if (j->st != FW_OK)
        return;
    char body[256];
    snprintf(body, sizeof body,
             "{\"prompt\":\"Once upon a time\",\"max_tokens\":24,\"temperature\":0.9,"
             "\"top_p\":0.95,\"n\":2,\"seed\":%d}", j->seed);
    fw_result *r = NULL;
    j->st = fw_generate_json(c, body, strlen(body), NULL, 0, NULL, NULL, &r);
    if (j->st == FW_OK) {
        size_t n, off = 0;
        for (int i = 0; i < 2 && j->st == FW_OK; i++) {
            j->st = fw_result_text(r, i, j->text + off, sizeof j->text - off, &n);
            off += n;
        }
    }
    fw_result_free(r);
    fw_context_free(c);
}

static void *thread_main(void *arg)
{
    run_job(arg);
    return NULL;
}

static void test_four_contexts_four_threads(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    job seq[N_JOBS], par[N_JOBS];
    for (int i = 0; i < N_JOBS; i++) {
        memset(&seq[i], 0, sizeof seq[i]);
        seq[i].seed = 100 + i;
        run_job(&seq[i]);
        assert_int_equal(seq[i].st, FW_OK);
        assert_true(strlen(seq[i].text) > 16);
        par[i] = seq[i];
        memset(par[i].text, 0, sizeof par[i].text);
    }
    /* different seeds: the jobs really differ */
    assert_string_not_equal(seq[0].text, seq[1].text);
    pthread_t th[N_JOBS];
    for (int i = 0; i < N_JOBS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &par[i]), 0);
    for (int i = 0; i < N_JOBS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < N_JOBS; i++) {
        assert_int_equal(par[i].st, FW_OK);
        assert_string_equal(par[i].text, seq[i].text);
    }
}

int main(void)
{
    if (tu_data_dir() &&
        fw_model_load(tu_data_path("models/stories260K.gguf"), NULL, &model) != FW_OK) {
        fprintf(stderr, "%s\n", fw_last_error());
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_four_contexts_four_threads),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fw_model_free(model);
    return rc;
}
