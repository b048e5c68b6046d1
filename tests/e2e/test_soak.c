/*
 * test_soak.c - a long run with constant memory: one stories260K model and
 * three contexts serve many requests (completions through fw_generate_json
 * and fw_generate, chat through "messages" and fw_generate_chat) with varied
 * sampling parameters, n > 1 choices, stop strings, logprobs, echo,
 * streaming callbacks, results rendered to JSON, state save/load, and
 * contexts and samplers created and freed along the way, until at least
 * SOAK_TOKENS tokens were generated.  After a warm-up the process's
 * resident memory (VmRSS and RssAnon from /proc/self/status) may not grow
 * by more than SOAK_MAX_GROWTH_KIB: a leak of even a few bytes per token or
 * per request would exceed it.
 *
 * Normal builds only (tests/meson.build): sanitizers and valgrind change
 * the memory picture and the speed.  About 10-20 s on one core.
 * Linux only (skipped where /proc/self/status is missing).
 */
#define _POSIX_C_SOURCE 200809L
#include "common/testutil.h"

#include <math.h>
#include <time.h>

#include "fwinfer.h"

#define SOAK_TOKENS 100000
#define SOAK_WARMUP_TOKENS 10000
#define SOAK_MAX_GROWTH_KIB 3072

static fw_model *model;

static int setup(void **state)
{
    (void)state;
    if (!tu_data_dir())
        return 0;
    return fw_model_load(tu_data_path("models/stories260K.gguf"), NULL, &model) == FW_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fw_model_free(model);
    return 0;
}

/* A field of /proc/self/status in KiB, -1 if missing. */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    size_t n = strlen(field);
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return v;
}

static fw_context *ctx_new(int threads, int n_seq, int n_ctx)
{
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_threads = (uint32_t)threads;
    cp.n_seq_max = (uint32_t)n_seq;
    cp.n_ctx = (uint32_t)n_ctx;
    fw_context *c = NULL;
    if (fw_context_new(model, &cp, &c) != FW_OK)
        fail_msg("%s", fw_last_error());
    return c;
}

typedef struct stream_state {
    long events;
    size_t bytes;
    int stop_after; /* > 0: the callback stops generation after this many */
} stream_state;

static int32_t on_event(const fw_event *ev, void *ud)
{
    stream_state *s = ud;
    s->events++;
    s->bytes += ev->text_len;
    if (s->events % 7 == 0) {
        char buf[512];
        size_t n;
        fw_status st = fw_event_to_json(ev, buf, sizeof buf, &n);
        if (st != FW_OK && st != FW_E_BUFFER_TOO_SMALL)
            return 1;
    }
    return s->stop_after > 0 && s->events >= s->stop_after;
}

static const char *const prompts[] = {
    "Once upon a time", "The little dog", "Lily and Tom went to the park.",
    "One day, a bird", "", "Mom said", "The sun was",
};
#define N_PROMPTS (sizeof prompts / sizeof prompts[0])

/* Everything a result offers, so that those paths run in the loop too. */
static int32_t consume(fw_result *r)
{
    int32_t prompt = 0, completion = 0, evaluated = 0;
    assert_int_equal(fw_result_usage(r, &prompt, &completion, &evaluated), FW_OK);
    int32_t nc = fw_result_n_choices(r);
    assert_true(nc >= 1);
    for (int32_t i = 0; i < nc; i++) {
        char text[8192];
        size_t n;
        fw_status st = fw_result_text(r, i, text, sizeof text, &n);
        assert_true(st == FW_OK || st == FW_E_BUFFER_TOO_SMALL);
        assert_non_null(fw_result_finish_reason(r, i));
        size_t nt = 0;
        const fw_token *t = fw_result_tokens(r, i, &nt);
        assert_true(nt == 0 || t != NULL);
    }
    size_t need = 0;
    fw_status st = fw_result_to_json(r, "stories260K", NULL, 0, &need);
    assert_int_equal(st, FW_E_BUFFER_TOO_SMALL);
    char *json = malloc(need + 1);
    assert_non_null(json);
    assert_int_equal(fw_result_to_json(r, "stories260K", json, need + 1, &need), FW_OK);
    free(json);
    fw_result_free(r);
    return completion;
}

/* One completions request through JSON, parameters varied by i. */
static int32_t request_json(fw_context *c, int n_seq, unsigned i)
{
    static const char *const samplers[] = {
        "\"temperature\":0",
        "\"temperature\":0.8,\"top_p\":0.9",
        "\"temperature\":1.0,\"top_k\":40,\"min_p\":0.05",
        "\"temperature\":1.2,\"typical_p\":0.8,\"repetition_penalty\":1.1",
        "\"temperature\":0.7,\"frequency_penalty\":0.5,\"presence_penalty\":0.3",
        "\"temperature\":1.0,\"mirostat_target\":5.0,\"mirostat_lr\":0.1",
        "\"temperature\":0.9,\"logit_bias\":{\"13\":-100,\"29\":5}",
    };
    static const char *const extras[] = {
        "",
        ",\"stop\":[\".\"]",
        ",\"stop\":[\"\\n\",\" the \"],\"logprobs\":2",
        ",\"echo\":true,\"logprobs\":1",
        ",\"raw_output\":true",
        ",\"ignore_eos\":true",
    };
    int n = 1 + (int)(i % (unsigned)n_seq);
    int max_tokens = 40 + (int)(i * 37 % 160);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"prompt\":\"%s\",\"max_tokens\":%d,\"n\":%d,\"seed\":%u,%s%s}",
             prompts[i % N_PROMPTS], max_tokens, n, i,
             samplers[i % (sizeof samplers / sizeof samplers[0])],
             extras[(i / 3) % (sizeof extras / sizeof extras[0])]);
    stream_state ss = { 0, 0, i % 11 == 5 ? 30 : 0 };
    fw_result *r = NULL;
    fw_status st = fw_generate_json(c, body, strlen(body), NULL, 0,
                                    i % 2 ? on_event : NULL, &ss, &r);
    if (st != FW_OK)
        fail_msg("%s: %s", body, fw_last_error());
    return consume(r);
}

/* A chat request through JSON ("messages"). */
static int32_t request_chat_json(fw_context *c, unsigned i)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"messages\":[{\"role\":\"system\",\"content\":\"You tell stories.\"},"
             "{\"role\":\"user\",\"content\":\"%s\"}],\"max_tokens\":%d,"
             "\"temperature\":0.9,\"top_p\":0.95,\"seed\":%u%s}",
             prompts[i % N_PROMPTS], 60 + (int)(i % 90), i,
             i % 2 ? ",\"stop\":[\"<|im_end|>\"],\"logprobs\":true,\"top_logprobs\":2" : "");
    fw_result *r = NULL;
    if (fw_generate_json(c, body, strlen(body), NULL, 0, NULL, NULL, &r) != FW_OK)
        fail_msg("%s: %s", body, fw_last_error());
    assert_non_null(fw_result_chat_template(r));
    return consume(r);
}

/* The struct API: fw_generate with parameters set by name, and
 * fw_generate_chat. */
static int32_t request_structs(fw_context *c, int n_seq, unsigned i)
{
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    assert_int_equal(fw_sampler_params_set_f(&sp, "temperature", 0.5 + (i % 8) * 0.1), FW_OK);
    assert_int_equal(fw_sampler_params_set_f(&sp, "top_p", 0.85), FW_OK);
    assert_int_equal(fw_sampler_params_set_i(&sp, "top_k", 20 + (int64_t)(i % 30)), FW_OK);
    assert_int_equal(fw_sampler_params_set_u64(&sp, "seed", 1000u + i), FW_OK);
    fw_logit_bias bias[2] = { { 13, -2.0f }, { 100 + (fw_token)(i % 50), 1.5f } };
    sp.logit_bias = bias;
    sp.n_logit_bias = 2;
    fw_request rq;
    fw_request_init(&rq);
    rq.max_tokens = 50 + (int32_t)(i % 120);
    rq.n = 1 + (int32_t)(i % (unsigned)n_seq);
    const char *stops[] = { "!", "\"" };
    rq.stop = stops;
    rq.n_stop = i % 3 ? 2 : 0;
    rq.logprobs = (int32_t)(i % 2);
    rq.top_logprobs = (int32_t)(i % 4);
    stream_state ss = { 0, 0, 0 };
    fw_result *r = NULL;
    if (i % 4 == 0) {
        fw_chat_message m[2] = { { "user", prompts[i % N_PROMPTS] },
                                 { "assistant", "Sure." } };
        fw_chat_params cp;
        fw_chat_params_init(&cp);
        cp.add_generation_prompt = 1;
        if (fw_generate_chat(c, m, 1 + (i / 4) % 2, &cp, &sp, &rq, on_event, &ss, &r) != FW_OK)
            fail_msg("fw_generate_chat: %s", fw_last_error());
    } else {
        const char *p = prompts[(i + 3) % N_PROMPTS];
        if (fw_generate(c, p, strlen(p), NULL, 0, &sp, &rq, on_event, &ss, &r) != FW_OK)
            fail_msg("fw_generate: %s", fw_last_error());
    }
    return consume(r);
}

/* A sampler over the raw logits, cloned, reset, freed. */
static void sampler_roundtrip(fw_context *c, unsigned i)
{
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    sp.temperature = 0.8f;
    sp.has_seed = 1;
    sp.seed = i;
    fw_sampler *s = NULL, *s2 = NULL;
    assert_int_equal(fw_sampler_new(model, &sp, &s), FW_OK);
    assert_int_equal(fw_sampler_clone(s, 1, i + 7, 0, &s2), FW_OK);
    fw_token t = fw_vocab_special(model, FW_SPECIAL_BOS);
    assert_int_equal(fw_context_seq_clear(c, 0), FW_OK);
    for (int32_t pos = 0; pos < 16; pos++) {
        assert_int_equal(fw_context_eval(c, 0, pos, &t, 1, 0), FW_OK);
        assert_int_equal(fw_sampler_sample(s, fw_context_logits(c, 0), fw_model_n_vocab(model),
                                           &t, NULL), FW_OK);
        fw_sampler_accept(s2, t);
    }
    fw_sampler_reset(s);
    fw_sampler_free(s2);
    fw_sampler_free(s);
}

static void state_roundtrip(fw_context *c)
{
    size_t size = 0;
    assert_int_equal(fw_context_state_size(c, &size), FW_OK);
    void *buf = malloc(size ? size : 1);
    assert_non_null(buf);
    size_t written = 0;
    assert_int_equal(fw_context_state_save(c, buf, size, &written), FW_OK);
    assert_int_equal(fw_context_state_load(c, buf, written), FW_OK);
    free(buf);
}

static void test_soak(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    if (status_kib("VmRSS") < 0) {
        print_message("SKIPPED: no VmRSS in /proc/self/status\n");
        skip();
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fw_context *big = ctx_new(1, 4, 512);   /* n up to 4 */
    fw_context *small = ctx_new(1, 1, 256); /* one choice */
    long tokens = 0, requests = 0;
    long rss_warm = -1, anon_warm = -1, rss_max = 0;
    const int trace = getenv("FW_SOAK_TRACE") != NULL; /* RSS every 10k tokens */
    long last_trace = 0;
    for (unsigned i = 0; tokens < SOAK_TOKENS; i++) {
        switch (i % 5) {
        case 0:
        case 1:
            tokens += request_json(big, 4, i);
            break;
        case 2:
            tokens += request_json(small, 1, i);
            break;
        case 3:
            tokens += request_structs(big, 4, i);
            break;
        default:
            tokens += request_chat_json(i % 2 ? big : small, i);
            break;
        }
        requests++;
        if (i % 50 == 17)
            sampler_roundtrip(small, i);
        if (i % 40 == 9)
            state_roundtrip(big);
        if (i % 100 == 99) {
            /* a third context, created and freed along the way */
            fw_context *tmp = ctx_new(1, 2, 128);
            tokens += request_json(tmp, 2, i);
            fw_context_free(tmp);
        }
        if (rss_warm < 0 && tokens >= SOAK_WARMUP_TOKENS) {
            rss_warm = status_kib("VmRSS");
            anon_warm = status_kib("RssAnon");
        }
        if (trace && tokens / 10000 != last_trace) {
            last_trace = tokens / 10000;
            print_message("soak: %ld tokens, %ld requests: VmRSS %ld KiB, RssAnon %ld KiB\n",
                          tokens, requests, status_kib("VmRSS"), status_kib("RssAnon"));
        }
        if (rss_warm >= 0) {
            long rss = status_kib("VmRSS");
            if (rss > rss_max)
                rss_max = rss;
        }
    }
    long rss_end = status_kib("VmRSS"), anon_end = status_kib("RssAnon");
    fw_context_free(small);
    fw_context_free(big);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    print_message("soak: %ld tokens in %ld requests, %.1f s (%.0f tokens/s); "
                  "VmRSS after %d-token warm-up %ld KiB, at the end %ld KiB "
                  "(growth %+ld KiB, peak %ld KiB); RssAnon %ld -> %ld KiB\n",
                  tokens, requests, secs, (double)tokens / secs, SOAK_WARMUP_TOKENS,
                  rss_warm, rss_end, rss_end - rss_warm, rss_max, anon_warm, anon_end);
    assert_true(tokens >= SOAK_TOKENS);
    assert_true(rss_max - rss_warm < SOAK_MAX_GROWTH_KIB);
    if (anon_warm >= 0 && anon_end >= 0)
        assert_true(anon_end - anon_warm < SOAK_MAX_GROWTH_KIB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_soak),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
