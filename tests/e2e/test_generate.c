/*
 * test_generate.c - the generation API end to end on stories260K: greedy
 * reproduces llama.cpp's 48 ids and text; seeds and threads; n choices
 * share one prompt evaluation; ignore_eos; max_tokens and the context
 * limit; echo with logprobs; stop strings across tokens (also streamed);
 * logit_bias; raw_output; JSON requests and their errors.
 */
#include "common/testutil.h"

#include <math.h>

#include "fwinfer.h"

static char *ref_text;
static double ref_ids[64];
static fw_model *model;

static int setup(void **state)
{
    (void)state;
    if (!tu_data_dir())
        return 0;
    ref_text = tu_read_file(tu_data_path("reference/stories260K_once_upon_a_time.json"), NULL);
    if (!ref_text || tu_json_numbers(ref_text, "generated_ids", ref_ids, 64) != 48)
        return -1;
    return fw_model_load(tu_data_path("models/stories260K.gguf"), NULL, &model) == FW_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fw_model_free(model);
    free(ref_text);
    return 0;
}

static fw_context *ctx_new(int threads, int n_seq, int n_ctx)
{
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_threads = (uint32_t)threads;
    cp.n_seq_max = (uint32_t)n_seq;
    cp.n_ctx = (uint32_t)n_ctx;
    fw_context *c;
    if (fw_context_new(model, &cp, &c) != FW_OK)
        fail_msg("%s", fw_last_error());
    return c;
}

static fw_result *gen_json(fw_context *c, const char *body)
{
    fw_result *r = NULL;
    fw_status st = fw_generate_json(c, body, strlen(body), NULL, 0, NULL, NULL, &r);
    if (st != FW_OK)
        fail_msg("%s: %s", body, fw_last_error());
    return r;
}

static char *text_of(const fw_result *r, int i)
{
    size_t n;
    fw_result_text(r, i, NULL, 0, &n);
    char *t = malloc(n + 1);
    assert_int_equal(fw_result_text(r, i, t, n + 1, &n), FW_OK);
    return t;
}

static void test_greedy_reference(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    fw_context *c = ctx_new(1, 1, 256);
    fw_result *r = gen_json(c, "{\"prompt\":\"Once upon a time\",\"temperature\":0,"
                               "\"max_tokens\":48,\"ignore_eos\":true}");
    size_t n;
    const fw_token *t = fw_result_tokens(r, 0, &n);
    assert_int_equal(n, 48);
    for (size_t i = 0; i < 48; i++)
        assert_int_equal(t[i], (fw_token)ref_ids[i]);
    /* the text as llama.cpp detokenizes it */
    const char *want = strstr(ref_text, "\"generated_text\":");
    assert_non_null(want);
    want = strchr(want + strlen("\"generated_text\":"), '"');
    assert_non_null(want);
    want++;
    char *got = text_of(r, 0);
    assert_int_equal(strncmp(got, want, strlen(got)), 0);
    assert_int_equal(want[strlen(got)], '"');
    assert_string_equal(fw_result_finish_reason(r, 0), "length");
    free(got);
    fw_result_free(r);
    fw_context_free(c);
}

static void test_seed_threads_and_choices(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    const char *body = "{\"prompt\":\"Once upon a time\",\"temperature\":1.0,"
                       "\"seed\":1234,\"max_tokens\":40,\"n\":4,\"ignore_eos\":true}";
    fw_context *c1 = ctx_new(1, 4, 256), *c2 = ctx_new(2, 4, 256);
    fw_result *a = gen_json(c1, body), *b = gen_json(c2, body);
    int32_t prompt, completion, evaluated;
    assert_int_equal(fw_result_usage(a, &prompt, &completion, &evaluated), FW_OK);
    assert_int_equal(prompt, 5);
    assert_int_equal(evaluated, 5); /* the prompt once, whatever n is */
    assert_int_equal(completion, 160);
    assert_int_equal(fw_result_n_choices(a), 4);
    assert_true(fw_result_seed(a) == 1234);
    char *t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = text_of(a, i);
        char *tb = text_of(b, i);
        assert_string_equal(t[i], tb); /* same seed, 1 or 2 threads */
        free(tb);
    }
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            assert_string_not_equal(t[i], t[j]); /* different choices */
    for (int i = 0; i < 4; i++)
        free(t[i]);
    fw_result_free(a);
    fw_result_free(b);
    /* n larger than the context's sequences: a clear error */
    assert_int_equal(fw_generate_json(c1, "{\"prompt\":\"a\",\"n\":5}", 20, NULL, 0,
                                      NULL, NULL, &a), FW_E_RANGE);
    assert_non_null(strstr(fw_last_error(), "n_seq_max"));
    fw_context_free(c1);
    fw_context_free(c2);
}

/* n choices step together: their tokens are evaluated as one batch, so a
 * request of 4 choices passes the layers as often as one of 1 choice; and
 * choice 0 is the 1-choice result (the same seed stream). */
static void test_choices_batched(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    const char *b1 = "{\"prompt\":\"Once upon a time\",\"temperature\":0.9,\"seed\":7,"
                     "\"max_tokens\":24,\"ignore_eos\":true}";
    const char *b4 = "{\"prompt\":\"Once upon a time\",\"temperature\":0.9,\"seed\":7,"
                     "\"max_tokens\":24,\"ignore_eos\":true,\"n\":4}";
    fw_context *c = ctx_new(2, 4, 256);
    uint64_t l0 = fw_context_layers_done(c);
    fw_result *one = gen_json(c, b1);
    uint64_t l1 = fw_context_layers_done(c);
    fw_result *four = gen_json(c, b4);
    uint64_t l2 = fw_context_layers_done(c);
    assert_true(l1 - l0 > 0);
    assert_true(l2 - l1 == l1 - l0); /* one pass per step, not per choice */
    char *t1 = text_of(one, 0), *t4 = text_of(four, 0);
    assert_string_equal(t1, t4);
    free(t1);
    free(t4);
    int32_t completion = 0;
    assert_int_equal(fw_result_usage(four, NULL, &completion, NULL), FW_OK);
    assert_int_equal(completion, 4 * 24);
    fw_result_free(one);
    fw_result_free(four);
    fw_context_free(c);
}

/* fw_context_eval_batch: tokens of several sequences at their positions in
 * one pass give bit-identical logits to evaluating each alone; positions
 * out of order are refused and leave the sequences as they were. */
static void test_eval_batch(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    fw_context *a = ctx_new(2, 3, 64), *b = ctx_new(1, 3, 64);
    const fw_token pa[] = {1, 403, 407, 261}, pb[] = {1, 300, 301};
    assert_int_equal(fw_context_eval(a, 0, 0, pa, 4, 0), FW_OK);
    assert_int_equal(fw_context_eval(a, 1, 0, pb, 3, 0), FW_OK);
    /* seq 0 one more token, seq 1 two more, seq 2 from scratch */
    const fw_token tok[] = {350, 360, 361, 1, 290};
    const int32_t seq[] = {0, 1, 1, 2, 2}, pos[] = {4, 3, 4, 0, 1};
    assert_int_equal(fw_context_eval_batch(a, tok, seq, pos, 5, 0), FW_OK);
    const int32_t nv = fw_model_n_vocab(model);
    /* the same one sequence at a time in another context */
    const fw_token sa[] = {1, 403, 407, 261, 350}, sb[] = {1, 300, 301, 360, 361},
                   sc[] = {1, 290};
    const struct { const fw_token *t; size_t n; int row; } want[] = {
        {sa, 5, 0}, {sb, 4, 1}, {sb, 5, 2}, {sc, 1, 3}, {sc, 2, 4}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(fw_context_eval(b, 0, 0, want[i].t, want[i].n, 0), FW_OK);
        const float *x = fw_context_logits(a, want[i].row), *y = fw_context_logits(b, -1);
        assert_non_null(x);
        assert_memory_equal(x, y, (size_t)nv * sizeof(float));
    }
    assert_int_equal(fw_context_seq_len(a, 0), 5);
    assert_int_equal(fw_context_seq_len(a, 1), 5);
    assert_int_equal(fw_context_seq_len(a, 2), 2);
    assert_null(fw_context_logits(a, 5));
    /* errors: a gap, a repeat, a sequence out of range, NULL arrays */
    const int32_t gap[] = {5, 7}, rep[] = {5, 5}, s01[] = {0, 0}, bad[] = {0, 3};
    assert_int_equal(fw_context_eval_batch(a, tok, s01, gap, 2, 0), FW_E_RANGE);
    assert_non_null(strstr(fw_context_errmsg(a), "out of order"));
    assert_int_equal(fw_context_eval_batch(a, tok, s01, rep, 2, 0), FW_E_RANGE);
    assert_int_equal(fw_context_eval_batch(a, tok, bad, rep, 2, 0), FW_E_RANGE);
    assert_int_equal(fw_context_eval_batch(a, tok, NULL, rep, 2, 0), FW_E_INVALID_ARG);
    assert_int_equal(fw_context_seq_len(a, 0), 5);
    /* the context is full at n_ctx */
    const int32_t full[] = {64};
    assert_int_equal(fw_context_eval_batch(a, tok, s01, full, 1, 0), FW_E_RANGE);
    fw_context_free(a);
    fw_context_free(b);
}

static void test_lengths(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    fw_context *c = ctx_new(1, 1, 256);
    fw_result *r = gen_json(c, "{\"prompt\":\"Once upon a time\",\"max_tokens\":100,"
                               "\"ignore_eos\":true,\"seed\":3}");
    size_t n;
    fw_result_tokens(r, 0, &n);
    assert_int_equal(n, 100);
    assert_string_equal(fw_result_finish_reason(r, 0), "length");
    fw_result_free(r);
    fw_context_free(c);
    /* max_tokens unset (2048): the context (64) runs out first: "length" */
    c = ctx_new(1, 1, 64);
    r = gen_json(c, "{\"prompt\":\"Once upon a time\",\"ignore_eos\":true,\"seed\":3}");
    fw_result_tokens(r, 0, &n);
    assert_int_equal(n, 64 - 5);
    assert_string_equal(fw_result_finish_reason(r, 0), "length");
    fw_result_free(r);
    /* max_tokens 0 with echo: the prompt alone */
    r = gen_json(c, "{\"prompt\":\"Once upon a time\",\"max_tokens\":0,\"echo\":true}");
    fw_result_tokens(r, 0, &n);
    assert_int_equal(n, 0);
    char *t = text_of(r, 0);
    assert_string_equal(t, " Once upon a time");
    free(t);
    fw_result_free(r);
    fw_context_free(c);
}

static void test_echo_logprobs_raw(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    fw_context *c = ctx_new(1, 1, 256);
    fw_result *r = gen_json(c, "{\"prompt\":\"Once upon a time\",\"max_tokens\":3,"
                               "\"temperature\":0,\"echo\":true,\"logprobs\":2,"
                               "\"raw_output\":true}");
    size_t n;
    fw_result_to_json(r, "m", NULL, 0, &n);
    char *j = malloc(n + 1);
    assert_int_equal(fw_result_to_json(r, "m", j, n + 1, &n), FW_OK);
    /* prompt tokens first in the logprob arrays, the first one null */
    assert_non_null(strstr(j, "\"token_logprobs\":[null,"));
    assert_non_null(strstr(j, "\"top_logprobs\":[null,{"));
    assert_non_null(strstr(j, "\"token_ids\":[1,403,407,261,378,432,383,286]"));
    assert_non_null(strstr(j, "\"prompt_token_ids\":[1,403,407,261,378]"));
    assert_non_null(strstr(j, "\"completion_token_ids\":[432,383,286]"));
    assert_non_null(strstr(j, "\"prompt_tokens_evaluated\":5"));
    assert_non_null(strstr(j, "\"text\":\" Once upon a time, there was\""));
    /* greedy: the sampling logprob of each token is 0 */
    assert_non_null(strstr(j, "\"sampling_logprobs\":[null,null,null,null,null,0,0,0]"));
    free(j);
    float lp, slp;
    assert_int_equal(fw_result_logprob(r, 0, 0, &lp, &slp), FW_OK);
    assert_true(lp < 0 && lp > -1 && slp == 0.0f);
    fw_result_free(r);
    fw_context_free(c);
}

typedef struct stream_log {
    char text[4096];
    size_t len;
    int events, finals;
    int stop_after;
} stream_log;

static int32_t on_event(const fw_event *ev, void *ud)
{
    stream_log *s = ud;
    memcpy(s->text + s->len, ev->text, ev->text_len);
    s->len += ev->text_len;
    s->text[s->len] = 0;
    s->events++;
    if (ev->finish_reason)
        s->finals++;
    return s->stop_after && s->events >= s->stop_after;
}

static void test_stop_strings_and_streaming(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    fw_context *c = ctx_new(1, 1, 256);
    /* greedy text: ", there was a little girl named Lily." - "le gi" spans
     * the tokens " little" and " girl" */
    const char *body = "{\"prompt\":\"Once upon a time\",\"temperature\":0,"
                       "\"max_tokens\":30,\"stop\":[\"le gi\",\"zzz\"]}";
    stream_log log = {0};
    fw_result *r = NULL;
    assert_int_equal(fw_generate_json(c, body, strlen(body), NULL, 0, on_event, &log, &r),
                     FW_OK);
    char *t = text_of(r, 0);
    assert_string_equal(t, ", there was a litt");
    assert_string_equal(fw_result_finish_reason(r, 0), "stop");
    /* the stream delivered exactly the final text, never the stop string */
    assert_string_equal(log.text, t);
    assert_int_equal(log.finals, 1);
    free(t);
    fw_result_free(r);
    /* returning non-zero from the callback stops */
    memset(&log, 0, sizeof log);
    log.stop_after = 3;
    body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":30,\"seed\":1}";
    assert_int_equal(fw_generate_json(c, body, strlen(body), NULL, 0, on_event, &log, &r),
                     FW_OK);
    size_t n;
    fw_result_tokens(r, 0, &n);
    assert_int_equal(n, 3);
    assert_string_equal(fw_result_finish_reason(r, 0), "stop");
    fw_result_free(r);
    fw_context_free(c);
}

static void test_logit_bias_changes_choice(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    fw_context *c = ctx_new(1, 1, 256);
    fw_result *r = gen_json(c, "{\"prompt\":\"Once upon a time\",\"temperature\":0,"
                               "\"max_tokens\":1,\"logit_bias\":{\"432\":-100}}");
    size_t n;
    const fw_token *t = fw_result_tokens(r, 0, &n);
    assert_int_equal(n, 1);
    assert_int_not_equal(t[0], 432);
    fw_result_free(r);
    /* token ids as the prompt, used as given (no BOS added) */
    r = gen_json(c, "{\"prompt\":[1,403,407,261,378],\"temperature\":0,\"max_tokens\":1,"
                    "\"raw_output\":true}");
    t = fw_result_tokens(r, 0, &n);
    assert_int_equal(t[0], 432);
    fw_result_free(r);
    fw_context_free(c);
}

static void test_json_errors(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    fw_context *c = ctx_new(1, 1, 256);
    struct { const char *body; fw_status st; const char *sub; } bad[] = {
        {"{\"prompt\":\"a\",\"temperature\":3}", FW_E_RANGE, "temperature"},
        {"{\"prompt\":\"a\",\"top_k\":-2}", FW_E_RANGE, "top_k"},
        {"{\"prompt\":\"a\",\"top_k\":1.5}", FW_E_TYPE, "top_k"},
        {"{\"prompt\":\"a\",\"top_p\":1.5}", FW_E_RANGE, "top_p"},
        {"{\"prompt\":\"a\",\"min_p\":-0.1}", FW_E_RANGE, "min_p"},
        {"{\"prompt\":\"a\",\"typical_p\":2}", FW_E_RANGE, "typical_p"},
        {"{\"prompt\":\"a\",\"frequency_penalty\":-3}", FW_E_RANGE, "frequency_penalty"},
        {"{\"prompt\":\"a\",\"presence_penalty\":2.5}", FW_E_RANGE, "presence_penalty"},
        {"{\"prompt\":\"a\",\"repetition_penalty\":0}", FW_E_RANGE, "repetition_penalty"},
        {"{\"prompt\":\"a\",\"logit_bias\":{\"999\":1}}", FW_E_RANGE, "999"},
        {"{\"prompt\":\"a\",\"logit_bias\":{\"5\":101}}", FW_E_RANGE, "logit_bias"},
        {"{\"prompt\":\"a\",\"mirostat_target\":0}", FW_E_RANGE, "mirostat_target"},
        {"{\"prompt\":\"a\",\"mirostat_lr\":-1}", FW_E_RANGE, "mirostat_lr"},
        {"{\"prompt\":\"a\",\"max_tokens\":-1}", FW_E_RANGE, "max_tokens"},
        {"{\"prompt\":\"a\",\"n\":0}", FW_E_RANGE, "n"},
        {"{\"prompt\":\"a\",\"n\":129}", FW_E_RANGE, "n"},
        {"{\"prompt\":\"a\",\"logprobs\":21}", FW_E_RANGE, "logprobs"},
        {"{\"prompt\":\"a\",\"top_logprobs\":21}", FW_E_RANGE, "top_logprobs"},
        {"{\"prompt\":\"a\",\"echo_last\":-1}", FW_E_RANGE, "echo_last"},
        {"{\"prompt\":\"a\",\"stop\":[\"\"]}", FW_E_RANGE, "stop"},
        {"{\"prompt\":\"a\",\"seed\":-1}", FW_E_RANGE, "seed"},
        {"{\"prompt\":\"a\",\"bogus\":1}", FW_E_INVALID_ARG, "bogus"},
        {"{\"prompt\":\"a\",\"echo\":1}", FW_E_TYPE, "echo"},
        {"{\"temperature\":1}", FW_E_INVALID_ARG, "prompt"},
        {"{\"prompt\":\"a\",", FW_E_FORMAT, "request body"},
        {"{\"prompt\":[1,99999]}", FW_E_RANGE, "99999"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fw_result *r = (fw_result *)1;
        fw_status st = fw_generate_json(c, bad[i].body, strlen(bad[i].body), NULL, 0,
                                        NULL, NULL, &r);
        if (st != bad[i].st || !strstr(fw_last_error(), bad[i].sub))
            fail_msg("%s: status %d, message '%s'", bad[i].body, (int)st, fw_last_error());
        /* the context's own error slot says the same */
        assert_string_equal(fw_context_errmsg(c), fw_last_error());
        assert_null(r);
    }
    /* overrides replace body fields */
    fw_result *r;
    const char *body = "{\"prompt\":\"Once upon a time\",\"temperature\":3}";
    const char *ov = "{\"temperature\":0,\"max_tokens\":1}";
    assert_int_equal(fw_generate_json(c, body, strlen(body), ov, strlen(ov), NULL, NULL, &r),
                     FW_OK);
    size_t n;
    const fw_token *t = fw_result_tokens(r, 0, &n);
    assert_int_equal(t[0], 432);
    fw_result_free(r);
    fw_context_free(c);
}

/* collects fw_event_to_json of every event */
static int32_t event_json_cb(const fw_event *ev, void *user)
{
    char **acc = user;
    size_t need;
    assert_int_equal(fw_event_to_json(ev, NULL, 0, &need), FW_E_BUFFER_TOO_SMALL);
    char *js = malloc(need + 1);
    assert_non_null(js);
    assert_int_equal(fw_event_to_json(ev, js, need + 1, &need), FW_OK);
    size_t old = *acc ? strlen(*acc) : 0;
    *acc = realloc(*acc, old + need + 2);
    assert_non_null(*acc);
    memcpy(*acc + old, js, need);
    (*acc)[old + need] = '\n';
    (*acc)[old + need + 1] = 0;
    free(js);
    return 0;
}

/* parameters by name (bindings): model and context from JSON, n choices
 * need n_seq_max, events as JSON */
static void test_params_by_name(void **state)
{
    (void)state;
    fw_model *m;
    const char *path = tu_data_path("models/stories260K.gguf");
    assert_int_equal(fw_model_load_json(path, "{\"use_mmap\":false,\"generation_config\":\"\"}", &m),
                     FW_OK);
    fw_model *bad = (fw_model *)1;
    assert_int_equal(fw_model_load_json(path, "{\"use_map\":true}", &bad), FW_E_INVALID_ARG);
    assert_null(bad);
    assert_non_null(strstr(fw_last_error(), "\"use_map\""));
    assert_int_equal(fw_model_load_json(path, "{\"use_mmap\":1}", &bad), FW_E_INVALID_ARG);
    assert_non_null(strstr(fw_last_error(), "use_mmap"));
    assert_int_equal(fw_model_load_json(path, "[1]", &bad), FW_E_INVALID_ARG);
    assert_int_equal(fw_model_load_json(path, "{", &bad), FW_E_FORMAT);

    fw_context *c;
    assert_int_equal(fw_context_new_json(m, "{\"n_seq_max\":-1}", &c), FW_E_RANGE);
    assert_non_null(strstr(fw_last_error(), "n_seq_max"));
    assert_int_equal(fw_context_new_json(m, "{\"n_ctx\":\"64\"}", &c), FW_E_INVALID_ARG);
    assert_int_equal(fw_context_new_json(m, "{\"isa\":\"nope\"}", &c), FW_E_INVALID_ARG);
    assert_int_equal(fw_context_new_json(m, "{\"n_threads\":2,\"n_seq_max\":3,\"n_ctx\":96,"
                                            "\"isa\":\"scalar\"}", &c), FW_OK);
    assert_int_equal(fw_context_n_seq_max(c), 3);
    assert_int_equal(fw_context_n_ctx(c), 96);
    assert_int_equal(fw_context_n_threads(c), 2);
    assert_string_equal(fw_context_isa(c), "scalar");

    const char *body = "{\"prompt\":\"Once upon a time\",\"n\":3,\"max_tokens\":4,"
                       "\"temperature\":1,\"seed\":7,\"logprobs\":true,\"top_logprobs\":2}";
    char *events = NULL;
    fw_result *r;
    assert_int_equal(fw_generate_json(c, body, strlen(body), NULL, 0, event_json_cb, &events, &r),
                     FW_OK);
    assert_int_equal(fw_result_n_choices(r), 3);
    assert_non_null(events);
    /* every event line is an object with the fields; the last of each
     * choice carries its finish reason */
    assert_non_null(strstr(events, "{\"choice\":2,\"token\":"));
    assert_non_null(strstr(events, "\"top_logprobs\":[{\"token\":"));
    assert_non_null(strstr(events, "\"finish_reason\":\"length\"}"));
    size_t n_tok;
    const fw_token *t0 = fw_result_tokens(r, 0, &n_tok);
    char first[64];
    snprintf(first, sizeof first, "{\"choice\":0,\"token\":%d,", (int)t0[0]);
    assert_true(strncmp(events, first, strlen(first)) == 0);
    free(events);
    fw_result_free(r);
    fw_context_free(c);
    fw_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_reference),
        cmocka_unit_test(test_seed_threads_and_choices),
        cmocka_unit_test(test_choices_batched),
        cmocka_unit_test(test_eval_batch),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_echo_logprobs_raw),
        cmocka_unit_test(test_stop_strings_and_streaming),
        cmocka_unit_test(test_logit_bias_changes_choice),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_params_by_name),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
