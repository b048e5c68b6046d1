/*
 * test_alloc_fail.c - every allocation failure is an FW_E_NOMEM, leaks
 * nothing and leaves the library usable.
 *
 * A counting allocator installed with fw_set_allocator fails the N-th
 * allocation of a scenario, for every N from 1 to the number of
 * allocations the scenario makes (a stride in the middle of very long
 * scenarios, see run_scenario).  Each run must return FW_E_NOMEM with a
 * message (or FW_OK with exactly the output of the run without failures,
 * when the library could do without that allocation), must leave as many
 * live blocks as before (nothing leaked; the allocator counts blocks and
 * bytes, so this holds without LeakSanitizer), and the same scenario run
 * again without failures must succeed.  The number of failure points of
 * each scenario is printed.
 *
 * Scenarios: model load (mmap and read), context creation, generation
 * (n=2, logprobs, stop strings, a chat request), tokenizer calls on a BPE
 * and an SPM vocabulary (and loading the BPE one), chat template
 * rendering, sampler creation by name and from JSON request fields, state
 * save/restore to a buffer and a file.  Also fw_set_allocator's own
 * contract (FW_E_STATE while blocks are alive, argument checks).
 */
#define _DEFAULT_SOURCE 1
#include "common/testutil.h"

#include <stdatomic.h>
#include <unistd.h>

#include "fwinfer.h"

/* ------------------------------------------------------------------------ */
/* The counting allocator                                                    */
/* ------------------------------------------------------------------------ */

#define HDR 16 /* keeps malloc's 16-byte alignment */
#define HDR_MAGIC 0x414c4c4fu

static atomic_long n_calls;    /* allocation calls since arm() */
static atomic_long fail_at;    /* 1-based call to fail; 0 = none */
static atomic_int fired;       /* the failure was injected */
static atomic_long live_blocks, live_bytes;

static int should_fail(void)
{
    long n = atomic_fetch_add(&n_calls, 1) + 1;
    if (n == atomic_load(&fail_at)) {
        atomic_store(&fired, 1);
        return 1;
    }
    return 0;
}

static void *hdr_init(unsigned char *raw, size_t size)
{
    ((size_t *)raw)[0] = size;
    ((size_t *)raw)[1] = HDR_MAGIC;
    atomic_fetch_add(&live_blocks, 1);
    atomic_fetch_add(&live_bytes, (long)size);
    return raw + HDR;
}

static unsigned char *hdr_of(void *p)
{
    unsigned char *raw = (unsigned char *)p - HDR;
    if (((size_t *)raw)[1] != HDR_MAGIC)
        fail_msg("a block not from the counting allocator was passed to it");
    return raw;
}

static void *t_malloc(size_t size, void *ud)
{
    assert_ptr_equal(ud, &live_blocks);
    assert_true(size > 0);
    if (should_fail())
        return NULL;
    unsigned char *raw = malloc(HDR + size);
    return raw ? hdr_init(raw, size) : NULL;
}

static void *t_calloc(size_t n, size_t size, void *ud)
{
    assert_ptr_equal(ud, &live_blocks);
    assert_true(n > 0 && size > 0);
    if (should_fail())
        return NULL;
    unsigned char *raw = calloc(1, HDR + n * size);
    return raw ? hdr_init(raw, n * size) : NULL;
}

static void *t_realloc(void *p, size_t size, void *ud)
{
    assert_ptr_equal(ud, &live_blocks);
    assert_true(size > 0);
    if (should_fail())
        return NULL;
    if (!p) {
        unsigned char *raw = malloc(HDR + size);
        return raw ? hdr_init(raw, size) : NULL;
    }
    unsigned char *raw = hdr_of(p);
    size_t old = ((size_t *)raw)[0];
    unsigned char *nr = realloc(raw, HDR + size);
    if (!nr)
        return NULL;
    ((size_t *)nr)[0] = size;
    atomic_fetch_add(&live_bytes, (long)size - (long)old);
    return nr + HDR;
}

static void t_free(void *p, void *ud)
{
    assert_ptr_equal(ud, &live_blocks);
    assert_non_null(p);
    unsigned char *raw = hdr_of(p);
    atomic_fetch_sub(&live_blocks, 1);
    atomic_fetch_sub(&live_bytes, (long)((size_t *)raw)[0]);
    ((size_t *)raw)[1] = 0;
    free(raw);
}

static void arm(long n)
{
    atomic_store(&n_calls, 0);
    atomic_store(&fired, 0);
    atomic_store(&fail_at, n);
}

static const fw_allocator counting = {
    sizeof(fw_allocator), 0, t_malloc, t_calloc, t_realloc, t_free, &live_blocks,
};

/* ------------------------------------------------------------------------ */
/* Scenario driver                                                           */
/* ------------------------------------------------------------------------ */

/* A scenario does its work, checks its output against the reference it
 * recorded on the first (failure-free) run when `recording` is 0, frees
 * everything it created, and returns the first failing status. */
static int recording;
static long cur_n; /* the allocation being failed */

/* Scenarios with more failure points than this are run with a stride in
 * the middle (every N of the first and last EDGE are always run). */
#define FULL_LIMIT 3000
#define EDGE 200

static long run_scenario(const char *name, fw_status (*fn)(void))
{
    /* A first run records the reference output and lets the objects the
     * scenario uses (a context's sequences, ...) allocate what they
     * allocate on first use; the second counts the allocations. */
    recording = 1;
    arm(0);
    fw_status st = fn();
    if (st != FW_OK)
        fail_msg("%s without failures: %s", name, fw_last_error());
    recording = 0;
    long blocks0 = atomic_load(&live_blocks), bytes0 = atomic_load(&live_bytes);
    st = fn();
    if (st != FW_OK)
        fail_msg("%s without failures (2nd run): %s", name, fw_last_error());
    long total = atomic_load(&n_calls);
    assert_int_equal(atomic_load(&live_blocks), blocks0);
    assert_int_equal(atomic_load(&live_bytes), bytes0);
    assert_true(total > 0);

    long stride = total > FULL_LIMIT ? (total - 2 * EDGE) / (FULL_LIMIT - 2 * EDGE) + 1 : 1;
    long runs = 0, absorbed = 0;
    for (long n = 1; n <= total; n++) {
        if (stride > 1 && n > EDGE && n <= total - EDGE && (n - EDGE) % stride != 0)
            continue;
        runs++;
        cur_n = n;
        arm(n);
        st = fn();
        int hit = atomic_load(&fired);
        arm(0);
        if (!hit) {
            /* fewer allocations this time than in the first run */
            if (st != FW_OK)
                fail_msg("%s: run %ld made fewer allocations and failed: %s", name, n,
                         fw_last_error());
        } else if (st == FW_OK) {
            /* the library did without the allocation: fn checked that the
             * output is still right, but so far every allocation is needed,
             * so this is a failure swallowed (report it) */
            absorbed++;
            fail_msg("%s: allocation %ld of %ld failed, yet the call returned FW_OK", name,
                     n, total);
        } else if (st != FW_E_NOMEM) {
            fail_msg("%s: allocation %ld of %ld failed: status %d (%s), not FW_E_NOMEM: %s",
                     name, n, total, (int)st, fw_status_str(st), fw_last_error());
        } else if (fw_last_error()[0] == '\0') {
            fail_msg("%s: allocation %ld of %ld: FW_E_NOMEM without a message", name, n,
                     total);
        }
        if (atomic_load(&live_blocks) != blocks0 || atomic_load(&live_bytes) != bytes0)
            fail_msg("%s: allocation %ld of %ld failed: %ld blocks / %ld bytes leaked", name,
                     n, total, atomic_load(&live_blocks) - blocks0,
                     atomic_load(&live_bytes) - bytes0);
        st = fn();
        if (st != FW_OK)
            fail_msg("%s: after failing allocation %ld, a run without failures failed: %s",
                     name, n, fw_last_error());
    }
    print_message("%-28s %6ld allocation failure points, %ld runs%s, %ld absorbed\n", name,
                  total, runs, stride > 1 ? " (strided)" : "", absorbed);
    return total;
}

#define CHECK(x)                                                             \
    do {                                                                     \
        fw_status st_ = (x);                                                 \
        if (st_ != FW_OK)                                                    \
            return st_;                                                      \
    } while (0)

/* Compare with (or record) a reference byte string. */
static fw_status same(char **ref, size_t *ref_len, const void *p, size_t n)
{
    if (recording) {
        free(*ref);
        *ref = malloc(n + 1);
        assert_non_null(*ref);
        memcpy(*ref, p, n);
        (*ref)[n] = '\0';
        *ref_len = n;
        return FW_OK;
    }
    if (n != *ref_len || memcmp(p, *ref, n) != 0)
        fail_msg("failing allocation %ld: FW_OK with an output different from the "
                 "failure-free run:\n%.*s\nexpected:\n%.*s", cur_n, (int)n,
                 (const char *)p, (int)*ref_len, *ref);
    return FW_OK;
}

/* ------------------------------------------------------------------------ */
/* Scenarios                                                                 */
/* ------------------------------------------------------------------------ */

static fw_model *model; /* stories260K, for the scenarios after loading */
static fw_context *gen_ctx;

static fw_status sc_load_common(uint32_t use_mmap)
{
    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.use_mmap = use_mmap;
    fw_model *m = (fw_model *)1;
    fw_status st = fw_model_load(tu_data_path("models/stories260K.gguf"), &mp, &m);
    if (st != FW_OK) {
        assert_null(m);
        return st;
    }
    int32_t nv = fw_model_n_vocab(m);
    char arch[32];
    size_t n;
    st = fw_model_meta_get_str(m, "general.architecture", arch, sizeof arch, &n);
    fw_model_free(m);
    CHECK(st);
    assert_int_equal(nv, 512);
    assert_string_equal(arch, "llama");
    return FW_OK;
}

static fw_status sc_load_mmap(void) { return sc_load_common(1); }
static fw_status sc_load_read(void) { return sc_load_common(0); }

static fw_status sc_load_json(void)
{
    fw_model *m = (fw_model *)1;
    fw_status st = fw_model_load_json(tu_data_path("models/stories260K.gguf"),
                                      "{\"use_mmap\":true,\"generation_config\":\"\"}", &m);
    if (st != FW_OK)
        assert_null(m);
    fw_model_free(m);
    return st;
}

static fw_status sc_context(void)
{
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_ctx = 64;
    cp.n_threads = 2;
    cp.n_seq_max = 2;
    fw_context *c = (fw_context *)1;
    fw_status st = fw_context_new(model, &cp, &c);
    if (st != FW_OK) {
        assert_null(c);
        return st;
    }
    fw_token t[2] = {1, 403};
    st = fw_context_eval(c, 1, 0, t, 2, 0);
    fw_context_free(c);
    return st;
}

static fw_status sc_context_json(void)
{
    fw_context *c = (fw_context *)1;
    fw_status st = fw_context_new_json(model, "{\"n_ctx\":32,\"n_threads\":1}", &c);
    if (st != FW_OK)
        assert_null(c);
    fw_context_free(c);
    return st;
}

/* The text, tokens and logprobs of every choice, for comparison. */
static fw_status result_digest(const fw_result *r, char **out, size_t *out_len)
{
    size_t cap = 1 << 16, len = 0;
    char *d = malloc(cap);
    assert_non_null(d);
    int32_t nc = fw_result_n_choices(r);
    for (int32_t i = 0; i < nc; i++) {
        size_t n;
        fw_status st = fw_result_text(r, i, d + len, cap - len, &n);
        if (st != FW_OK) {
            free(d);
            return st;
        }
        len += n;
        size_t nt;
        const fw_token *t = fw_result_tokens(r, i, &nt);
        if (!t) {
            free(d);
            return FW_E_NOMEM; /* the token cache could not be filled */
        }
        len += (size_t)snprintf(d + len, cap - len, "|%zu|%s|", nt,
                                fw_result_finish_reason(r, i));
        for (size_t j = 0; j < nt; j++) {
            float lp, slp;
            st = fw_result_logprob(r, i, j, &lp, &slp);
            if (st != FW_OK) {
                free(d);
                return st;
            }
            len += (size_t)snprintf(d + len, cap - len, "%d:%.6g:%.6g,", (int)t[j], lp, slp);
        }
        assert_true(len < cap - 1024);
    }
    *out = d;
    *out_len = len;
    return FW_OK;
}

static char *ref_gen[2];
static size_t ref_gen_len[2];

static fw_status gen_body(int which, const char *body)
{
    fw_result *r = (fw_result *)1;
    fw_status st = fw_generate_json(gen_ctx, body, strlen(body), NULL, 0, NULL, NULL, &r);
    if (st != FW_OK) {
        assert_null(r);
        return st;
    }
    char *d;
    size_t n;
    st = result_digest(r, &d, &n);
    if (st == FW_OK) {
        char js[8192];
        size_t nj;
        st = fw_result_to_json(r, "stories", js, sizeof js, &nj);
        if (st == FW_OK)
            st = same(&ref_gen[which], &ref_gen_len[which], d, n);
        free(d);
    }
    fw_result_free(r);
    return st;
}

static fw_status sc_generate(void)
{
    return gen_body(0, "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"n\":2,"
                       "\"seed\":7,\"temperature\":0.8,\"logprobs\":2,"
                       "\"stop\":[\"xyzzy\",\" the\"],\"echo\":true}");
}

static fw_status sc_generate_chat(void)
{
    return gen_body(1, "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                       "{\"role\":\"user\",\"content\":\"Tell a story\"}],"
                       "\"max_tokens\":8,\"n\":2,\"seed\":3,\"top_logprobs\":2,"
                       "\"logprobs\":true,\"stop\":\"Lily\"}");
}

/* Tokenizers. */
static fw_model *vocab_bpe, *vocab_spm;
static char *ref_tok[2];
static size_t ref_tok_len[2];
static const char tok_text[] =
    "Hello world! It's 2026-12-04, and   naïve café owners said: \"don't\" "
    "résumé 12345 \xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80 "
    "<s> </s> <|endoftext|>\n\tTabs\r\nand   spaces  .\xff";

static fw_status tok_scenario(fw_model *v, int which)
{
    fw_token toks[512];
    size_t nt;
    CHECK(fw_tokenize(v, tok_text, sizeof tok_text - 1,
                      FW_TOKENIZE_ADD_SPECIAL | FW_TOKENIZE_PARSE_SPECIAL, toks, 512, &nt));
    char out[4096];
    size_t n, len = 0;
    CHECK(fw_detokenize(v, toks, nt, FW_DETOK_UNPARSE_SPECIAL, out, sizeof out, &n));
    len = n;
    char piece[64];
    for (size_t i = 0; i < nt; i++)
        CHECK(fw_token_to_piece(v, toks[i], 0, piece, sizeof piece, &n));
    fw_detok_stream *ds = (fw_detok_stream *)1;
    fw_status st = fw_detok_stream_new(v, 0, 1, &ds);
    if (st != FW_OK) {
        assert_null(ds);
        return st;
    }
    for (size_t i = 0; i < nt && st == FW_OK; i++) {
        st = fw_detok_stream_push(ds, toks[i], out + len, sizeof out - len, &n);
        len += st == FW_OK ? n : 0;
    }
    if (st == FW_OK) {
        st = fw_detok_stream_flush(ds, out + len, sizeof out - len, &n);
        len += st == FW_OK ? n : 0;
    }
    fw_detok_stream_free(ds);
    CHECK(st);
    memcpy(out + len, toks, nt * sizeof *toks);
    len += nt * sizeof *toks;
    return same(&ref_tok[which], &ref_tok_len[which], out, len);
}

static fw_status sc_tok_bpe(void) { return tok_scenario(vocab_bpe, 0); }
static fw_status sc_tok_spm(void) { return tok_scenario(vocab_spm, 1); }

static fw_status sc_load_bpe_vocab(void)
{
    fw_model *m = (fw_model *)1;
    fw_status st = fw_model_load(tu_data_path("vocab/ggml-vocab-gpt-2.gguf"), NULL, &m);
    if (st != FW_OK) {
        assert_null(m);
        return st;
    }
    fw_token t[8];
    size_t nt;
    st = fw_tokenize(m, "Hello world", 11, 0, t, 8, &nt);
    fw_model_free(m);
    return st;
}

static fw_status sc_load_spm_vocab(void)
{
    fw_model *m = (fw_model *)1;
    fw_status st = fw_model_load(tu_data_path("vocab/ggml-vocab-llama-spm.gguf"), NULL, &m);
    if (st != FW_OK) {
        assert_null(m);
        return st;
    }
    fw_token t[8];
    size_t nt;
    st = fw_tokenize(m, "Hello world", 11, FW_TOKENIZE_ADD_SPECIAL, t, 8, &nt);
    fw_model_free(m);
    return st;
}

static fw_status sc_load_tiktoken(void)
{
    fw_model *m = (fw_model *)1;
    fw_status st = fw_model_load_tiktoken(tu_data_path("vocab/qwen.tiktoken"), "qwen2", NULL, &m);
    if (st != FW_OK) {
        assert_null(m);
        return st;
    }
    fw_token t[8];
    size_t nt;
    st = fw_tokenize(m, "Hello world", 11, 0, t, 8, &nt);
    fw_model_free(m);
    return st;
}

/* Chat templates. */
static char *tmpl_text;
static char *ref_chat;
static size_t ref_chat_len;

static fw_status sc_chat(void)
{
    static const char msgs[] =
        "[{\"role\":\"system\",\"content\":\"You are helpful.\"},"
        "{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"},"
        "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}}]},"
        "{\"role\":\"tool\",\"content\":\"{\\\"temp\\\": 21}\"},"
        "{\"role\":\"user\",\"content\":\"Thanks\"}]";
    static const char vars[] =
        "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"description\":\"Weather\",\"parameters\":{\"type\":\"object\",\"properties\":"
        "{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}]}";
    char out[8192];
    size_t n;
    CHECK(fw_chat_apply_template_json(NULL, tmpl_text, msgs, vars, 1, out, sizeof out, &n));
    fw_chat_message m[2] = {{"user", "Hi"}, {"assistant", "Hello"}};
    size_t n2;
    CHECK(fw_chat_apply_template(model, tmpl_text, m, 2, 1, out + n, sizeof out - n, &n2));
    return same(&ref_chat, &ref_chat_len, out, n + n2);
}

/* Samplers. */
static char *ref_samp;
static size_t ref_samp_len;

static fw_status sc_sampler(void)
{
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    CHECK(fw_sampler_params_set_f(&sp, "temperature", 0.7));
    CHECK(fw_sampler_params_set_i(&sp, "top_k", 40));
    CHECK(fw_sampler_params_set_f(&sp, "top_p", 0.9));
    CHECK(fw_sampler_params_set_f(&sp, "min_p", 0.05));
    CHECK(fw_sampler_params_set_f(&sp, "repetition_penalty", 1.1));
    CHECK(fw_sampler_params_set_f(&sp, "presence_penalty", 0.5));
    CHECK(fw_sampler_params_set_u64(&sp, "seed", 42));
    fw_logit_bias lb[2] = {{5, 2.0f}, {6, -100.0f}};
    sp.logit_bias = lb;
    sp.n_logit_bias = 2;
    char out[4096];
    size_t len = 0, n;
    fw_sampler *s = (fw_sampler *)1, *c = NULL, *l = NULL;
    fw_status st = fw_sampler_new(model, &sp, &s);
    if (st != FW_OK) {
        assert_null(s);
        return st;
    }
    st = fw_sampler_chain_preset("llama.cpp", model, &sp, &l);
    if (st == FW_OK)
        st = fw_sampler_clone(s, 1, 9, 1, &c);
    fw_token prompt[3] = {1, 2, 3};
    if (st == FW_OK)
        st = fw_sampler_set_prompt(c, prompt, 3);
    float logits[512];
    for (int i = 0; i < 512; i++)
        logits[i] = (float)((i * 37) % 101) / 10.0f;
    for (int k = 0; k < 4 && st == FW_OK; k++) {
        fw_token t;
        st = fw_sampler_sample(c, logits, 512, &t, NULL);
        if (st == FW_OK)
            st = fw_sampler_sample(l, logits, 512, &t, NULL);
        if (st == FW_OK)
            len += (size_t)snprintf(out + len, sizeof out - len, "%d,", (int)t);
    }
    if (st == FW_OK) {
        st = fw_sampler_effective_json(s, out + len, sizeof out - len, &n);
        len += st == FW_OK ? n : 0;
    }
    fw_sampler_free(l);
    fw_sampler_free(c);
    fw_sampler_free(s);
    CHECK(st);
    /* stages by hand */
    fw_sampler *ch = (fw_sampler *)1;
    CHECK(fw_sampler_chain_new(&ch));
    fw_stage *stg = (fw_stage *)1;
    st = fw_stage_top_k(10, &stg);
    if (st == FW_OK)
        st = fw_sampler_chain_add(ch, stg);
    else
        assert_null(stg);
    if (st == FW_OK)
        st = fw_stage_logit_bias(lb, 2, &stg);
    if (st == FW_OK)
        st = fw_sampler_chain_add(ch, stg);
    if (st == FW_OK)
        st = fw_stage_mirostat_v1(5.0f, 0.1f, 512, 1, &stg);
    if (st == FW_OK)
        st = fw_sampler_chain_add(ch, stg);
    fw_sampler_free(ch);
    CHECK(st);
    /* the sampling fields of a JSON request, by name */
    static const char body[] = "{\"prompt\":\"Once upon\",\"temperature\":0.5,\"top_k\":3,"
                               "\"logit_bias\":{\"5\":1.5},\"mirostat_target\":4,"
                               "\"repetition_penalty\":1.2,\"seed\":11}";
    CHECK(fw_request_prompt_json(model, body, sizeof body - 1, "{\"top_p\":0.5}", 13,
                                 out + len, sizeof out - len, &n));
    len += n;
    CHECK(fw_model_sampling_defaults_json(model, out + len, sizeof out - len, &n));
    len += n;
    return same(&ref_samp, &ref_samp_len, out, len);
}

/* State save and restore. */
static char *ref_state;
static size_t ref_state_len;
static char state_path[256];

static fw_status sc_state(void)
{
    size_t size;
    CHECK(fw_context_state_size(gen_ctx, &size));
    unsigned char *buf = malloc(size);
    assert_non_null(buf);
    size_t nw;
    fw_status st = fw_context_state_save(gen_ctx, buf, size, &nw);
    if (st == FW_OK)
        st = fw_context_state_load(gen_ctx, buf, nw);
    if (st == FW_OK)
        st = fw_context_state_save_file(gen_ctx, state_path);
    if (st == FW_OK)
        st = fw_context_state_load_file(gen_ctx, state_path);
    unlink(state_path);
    if (st == FW_OK) {
        const float *l = fw_context_logits(gen_ctx, -1);
        assert_non_null(l);
        st = same(&ref_state, &ref_state_len, l, 512 * sizeof *l);
    }
    free(buf);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    if (fw_set_allocator(&counting) != FW_OK)
        return -1;
    snprintf(state_path, sizeof state_path, "/tmp/fwinfer_alloc_fail_%d.state", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fw_context_free(gen_ctx);
    fw_model_free(model);
    fw_model_free(vocab_bpe);
    fw_model_free(vocab_spm);
    gen_ctx = NULL;
    model = vocab_bpe = vocab_spm = NULL;
    int ok = atomic_load(&live_blocks) == 0 && atomic_load(&live_bytes) == 0;
    if (!ok)
        print_message("LEAK: %ld blocks, %ld bytes alive at the end\n",
                      atomic_load(&live_blocks), atomic_load(&live_bytes));
    if (fw_set_allocator(NULL) != FW_OK)
        return -1;
    for (int i = 0; i < 2; i++) {
        free(ref_gen[i]);
        free(ref_tok[i]);
    }
    free(ref_chat);
    free(ref_samp);
    free(ref_state);
    free(tmpl_text);
    return ok ? 0 : -1;
}

static void need_model(void)
{
    if (!model && fw_model_load(tu_data_path("models/stories260K.gguf"), NULL, &model) != FW_OK)
        fail_msg("%s", fw_last_error());
}

static void test_set_allocator_contract(void **state)
{
    (void)state;
    /* blocks are alive: no change */
    fw_model *m;
    if (tu_data_dir()) {
        assert_int_equal(fw_model_load(tu_data_path("models/stories260K.gguf"), NULL, &m), FW_OK);
    } else {
        fw_sampler *s;
        assert_int_equal(fw_sampler_chain_new(&s), FW_OK);
        m = (fw_model *)s;
    }
    assert_true(atomic_load(&live_blocks) > 0);
    assert_int_equal(fw_set_allocator(NULL), FW_E_STATE);
    assert_non_null(strstr(fw_last_error(), "alive"));
    assert_int_equal(fw_set_allocator(&counting), FW_E_STATE);
    if (tu_data_dir())
        fw_model_free(m);
    else
        fw_sampler_free((fw_sampler *)m);
    assert_int_equal(atomic_load(&live_blocks), 0);
    assert_int_equal(atomic_load(&live_bytes), 0);

    /* bad arguments */
    fw_allocator a = counting;
    a.struct_size = 8;
    assert_int_equal(fw_set_allocator(&a), FW_E_INVALID_ARG);
    assert_non_null(strstr(fw_last_error(), "struct_size"));
    a = counting;
    a.realloc_fn = NULL;
    assert_int_equal(fw_set_allocator(&a), FW_E_INVALID_ARG);
    assert_non_null(strstr(fw_last_error(), "realloc_fn"));
    /* calloc_fn is optional; the default can be restored and set again */
    a = counting;
    a.calloc_fn = NULL;
    assert_int_equal(fw_set_allocator(&a), FW_OK);
    fw_sampler *s;
    assert_int_equal(fw_sampler_chain_new(&s), FW_OK);
    assert_int_equal(atomic_load(&live_blocks), 1);
    fw_sampler_free(s);
    assert_int_equal(fw_set_allocator(NULL), FW_OK);
    assert_int_equal(fw_sampler_chain_new(&s), FW_OK);
    assert_int_equal(atomic_load(&live_blocks), 0); /* the C library's */
    fw_sampler_free(s);
    assert_int_equal(fw_set_allocator(&counting), FW_OK);
}

static void test_model_load(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    run_scenario("model load (mmap)", sc_load_mmap);
    run_scenario("model load (read)", sc_load_read);
    run_scenario("model load (JSON params)", sc_load_json);
}

static void test_context_new(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    need_model();
    run_scenario("context creation + eval", sc_context);
    run_scenario("context creation (JSON)", sc_context_json);
}

/* the context the generation and state scenarios share (made without
 * failures) */
static void need_gen_ctx(void)
{
    if (!gen_ctx) {
        fw_context_params cp;
        fw_context_params_init(&cp);
        cp.n_ctx = 128;
        cp.n_threads = 1;
        cp.n_seq_max = 2;
        assert_int_equal(fw_context_new(model, &cp, &gen_ctx), FW_OK);
    }
}

static void test_generate(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    need_model();
    need_gen_ctx();
    run_scenario("generation (n=2, stop, lp)", sc_generate);
    run_scenario("generation (chat, n=2)", sc_generate_chat);
}

static void test_tokenizers(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    run_scenario("BPE vocab load + tokenize", sc_load_bpe_vocab);
    run_scenario("SPM vocab load + tokenize", sc_load_spm_vocab);
    run_scenario("tiktoken load + tokenize", sc_load_tiktoken);
    if (!vocab_bpe)
        assert_int_equal(
            fw_model_load(tu_data_path("vocab/ggml-vocab-gpt-2.gguf"), NULL, &vocab_bpe), FW_OK);
    if (!vocab_spm)
        assert_int_equal(
            fw_model_load(tu_data_path("vocab/ggml-vocab-llama-spm.gguf"), NULL, &vocab_spm),
            FW_OK);
    run_scenario("tokenize/detokenize (BPE)", sc_tok_bpe);
    run_scenario("tokenize/detokenize (SPM)", sc_tok_spm);
}

static void test_chat_template(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    need_model();
    if (!tmpl_text)
        tmpl_text = tu_read_file(
            tu_data_path("chat_templates/meta-llama-Llama-3.1-8B-Instruct.jinja"), NULL);
    assert_non_null(tmpl_text);
    run_scenario("chat template rendering", sc_chat);
}

static void test_sampler(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    need_model();
    run_scenario("sampler creation + JSON", sc_sampler);
}

static void test_state(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    need_model();
    need_gen_ctx();
    fw_token t[4] = {1, 403, 407, 261};
    assert_int_equal(fw_context_eval(gen_ctx, 0, 0, t, 4, 0), FW_OK);
    assert_int_equal(fw_context_eval(gen_ctx, 1, 0, t, 2, 0), FW_OK);
    run_scenario("state save/load (buf+file)", sc_state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_allocator_contract),
        cmocka_unit_test(test_model_load),
        cmocka_unit_test(test_context_new),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_tokenizers),
        cmocka_unit_test(test_chat_template),
        cmocka_unit_test(test_sampler),
        cmocka_unit_test(test_state),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
