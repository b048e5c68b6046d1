/*
 * test_misuse.c - every public function, misused: NULL handles and NULL
 * pointers, zero and negative sizes, buffers too small, tokens, positions
 * and sequence ids out of range, handles used after they were freed.
 *
 * Each misuse must return its documented status with a message naming the
 * argument (fw_last_error()), and no call may print (stdout and stderr are
 * redirected to a file around every call, which must stay empty), abort
 * or exit (an atexit handler fails the test if the library exits).
 *
 * The table below has one row per exported function; the test reads
 * lib/fwinfer.symbols and fails if a function has no row (or a row no
 * function), so a new function cannot be forgotten.
 *
 * Freed handles: the test installs an allocator (fw_set_allocator) that
 * never hands memory back to the C library while the test runs: a freed
 * block is poisoned (0xdb) and kept.  So a freed handle's memory is never
 * reused, the handle magic check is reliable, and the reads it does are of
 * memory that is still allocated (no use-after-free for ASan or valgrind
 * to report): these checks run in every build, sanitizers included.
 */
#define _DEFAULT_SOURCE 1
#include "common/testutil.h"

#include <limits.h>
#include <math.h>
#include <unistd.h>

#include "fwinfer.h"

#if defined(__GNUC__)
#define FW_TEST_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FW_TEST_PRINTF(f, a)
#endif

#ifndef FW_TEST_SRC
#define FW_TEST_SRC "tests"
#endif

/* ------------------------------------------------------------------------ */
/* The quarantine allocator                                                  */
/* ------------------------------------------------------------------------ */

#define HDR 16
typedef struct qblock {
    struct qblock *next;
    size_t size;
} qblock;
static qblock *quarantine;

static void *q_malloc(size_t size, void *ud)
{
    (void)ud;
    unsigned char *raw = malloc(HDR + size);
    if (!raw)
        return NULL;
    ((qblock *)raw)->size = size;
    return raw + HDR;
}

static void *q_realloc(void *p, size_t size, void *ud)
{
    if (!p)
        return q_malloc(size, ud);
    unsigned char *raw = (unsigned char *)p - HDR;
    unsigned char *nr = realloc(raw, HDR + size);
    if (!nr)
        return NULL;
    ((qblock *)nr)->size = size;
    return nr + HDR;
}

static void q_free(void *p, void *ud)
{
    (void)ud;
    qblock *b = (qblock *)((unsigned char *)p - HDR);
    memset(p, 0xdb, b->size);
    b->next = quarantine;
    quarantine = b;
}

static const fw_allocator qalloc = {sizeof(fw_allocator), 0, q_malloc, NULL, q_realloc, q_free, NULL};

/* ------------------------------------------------------------------------ */
/* Capturing output, catching exit                                           */
/* ------------------------------------------------------------------------ */

static void report(const char *fmt, ...) FW_TEST_PRINTF(1, 2);
static int cap_fd = -1, saved_out = -1, saved_err = -1;
static volatile int in_call;

static void on_exit_check(void)
{
    if (in_call) {
        /* the library called exit() */
        static const char msg[] = "test_misuse: the library called exit()\n";
        if (saved_err >= 0)
            dup2(saved_err, 2);
        if (write(2, msg, sizeof msg - 1) < 0) {
        }
        _exit(99);
    }
}

static void cap_begin(void)
{
    fflush(stdout);
    fflush(stderr);
    saved_out = dup(1);
    saved_err = dup(2);
    dup2(cap_fd, 1);
    dup2(cap_fd, 2);
    in_call = 1;
}

static void cap_end(const char *what, int line)
{
    in_call = 0;
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    saved_out = saved_err = -1;
    off_t n = lseek(cap_fd, 0, SEEK_END);
    if (n != 0) {
        char buf[256] = "";
        if (pread(cap_fd, buf, sizeof buf - 1, 0) < 0)
            buf[0] = '\0';
        report("line %d: %s printed %lld bytes: %s", line, what, (long long)n, buf);
        if (ftruncate(cap_fd, 0) != 0 || lseek(cap_fd, 0, SEEK_SET) != 0)
            fail_msg("cannot reset the capture file");
    }
}

static fw_status g_st;
static int64_t g_i;
static const void *g_p;
static int n_checks, n_failed;

/* A failed check is reported and counted; the test fails at the end, so
 * one run lists every problem. */
static void report(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_message("FAILED: %s\n", msg);
    n_failed++;
}

static void check_st(fw_status got, fw_status want, const char *sub, const char *what,
                     int line)
{
    n_checks++;
    if (got != want)
        report("line %d: %s returned %d (%s), want %d (%s); message: %s", line, what,
               (int)got, fw_status_str(got), (int)want, fw_status_str(want),
               fw_last_error());
    else if (sub && !strstr(fw_last_error(), sub))
        report("line %d: %s: the message \"%s\" does not name \"%s\"", line, what,
                 fw_last_error(), sub);
}

/* status call: expected status and a substring of fw_last_error() */
#define E(expr, want, sub)                                                     \
    check_st((cap_begin(), g_st = (expr), cap_end(#expr, __LINE__), g_st), want, sub, \
             #expr, __LINE__)
/* integer-valued call */
#define I(expr, want)                                                          \
    do {                                                                       \
        cap_begin();                                                           \
        g_i = (int64_t)(expr);                                                 \
        cap_end(#expr, __LINE__);                                              \
        n_checks++;                                                            \
        if (g_i != (int64_t)(want))                                            \
            report("line %d: %s gave %lld, want %lld", __LINE__, #expr,      \
                     (long long)g_i, (long long)(want));                       \
    } while (0)
/* pointer-valued call that must give NULL */
#define N(expr)                                                                \
    do {                                                                       \
        cap_begin();                                                           \
        g_p = (const void *)(expr);                                            \
        cap_end(#expr, __LINE__);                                              \
        n_checks++;                                                            \
        if (g_p)                                                               \
            report("line %d: %s is not NULL", __LINE__, #expr);              \
    } while (0)
/* string-valued call */
#define S(expr, want)                                                          \
    do {                                                                       \
        cap_begin();                                                           \
        g_p = (const void *)(expr);                                            \
        cap_end(#expr, __LINE__);                                              \
        n_checks++;                                                            \
        if (!g_p || strcmp((const char *)g_p, want) != 0)                      \
            report("line %d: %s gave \"%s\", want \"%s\"", __LINE__, #expr,  \
                     g_p ? (const char *)g_p : "(null)", want);                \
    } while (0)
/* void call */
#define V(expr)                                                                \
    do {                                                                       \
        cap_begin();                                                           \
        expr;                                                                  \
        cap_end(#expr, __LINE__);                                              \
        n_checks++;                                                            \
    } while (0)

/* An out-parameter a failed call must have set to NULL. */
#define OUT_NULL(p)                                                            \
    do {                                                                       \
        if ((p) != NULL)                                                       \
            report("line %d: %s is not NULL after a failure", __LINE__, #p);   \
    } while (0)

/* The buffer convention, for a call written with b_buf, b_cap, &b_nn:
 * cap 0 learns the size (FW_E_BUFFER_TOO_SMALL), a 2-byte buffer gets a
 * 1-byte NUL-terminated prefix (FW_E_BUFFER_TOO_SMALL, n_needed the full
 * size), a NULL buffer with cap > 0 is FW_E_INVALID_ARG naming buf, and a
 * buffer of the size + 1 gets the text.  The successful call comes last
 * (fw_detok_stream_push consumes its token only then). */
static char *b_buf;
static size_t b_cap, b_nn;
#define BUFCONV(expr)                                                          \
    do {                                                                       \
        b_buf = NULL;                                                          \
        b_cap = 0;                                                             \
        b_nn = (size_t)-1;                                                     \
        E(expr, FW_E_BUFFER_TOO_SMALL, NULL);                                  \
        size_t full_ = b_nn;                                                   \
        assert_true(full_ < (1u << 24));                                       \
        char sm_[4] = "xyz";                                                   \
        if (full_ >= 2) {                                                      \
            b_buf = sm_;                                                       \
            b_cap = 2;                                                         \
            E(expr, FW_E_BUFFER_TOO_SMALL, NULL);                              \
            if (b_nn != full_ || sm_[1] != '\0' || sm_[2] != 'z')              \
                report("line %d: %s: a 2-byte buffer got n_needed %zu (want "  \
                       "%zu) and \"%s\"", __LINE__, #expr, b_nn, full_, sm_);  \
        }                                                                      \
        b_buf = NULL;                                                          \
        b_cap = 5;                                                             \
        E(expr, FW_E_INVALID_ARG, "buf");                                      \
        char *fb_ = malloc(full_ + 1);                                         \
        assert_non_null(fb_);                                                  \
        b_buf = fb_;                                                           \
        b_cap = full_ + 1;                                                     \
        E(expr, FW_OK, NULL);                                                  \
        if (b_nn != full_ || fb_[full_] != '\0' || (full_ >= 2 && sm_[0] != fb_[0])) \
            report("line %d: %s: the full text does not match", __LINE__, #expr); \
        free(fb_);                                                             \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                  */
/* ------------------------------------------------------------------------ */

static fw_model *M;        /* stories260K, or NULL without the test data */
static fw_model *FM;       /* a freed model */
static fw_context *C, *FC; /* a context (2 sequences, n_ctx 16), a freed one */
static fw_sampler *SM, *FSM;
static fw_result *R, *FR;
static fw_detok_stream *D, *FD;
static fw_stage *FG;
static int32_t NV; /* n_vocab */

#define NEED_MODEL()                                                           \
    do {                                                                       \
        if (!M)                                                                \
            return;                                                            \
    } while (0)

static const char *model_path(void) { return tu_data_path("models/stories260K.gguf"); }

/* ------------------------------------------------------------------------ */
/* Checks, one function (or family) each                                     */
/* ------------------------------------------------------------------------ */

static void c_version(void)
{
    I(fw_version_number(), FW_VERSION_NUMBER);
    cap_begin();
    const char *v = fw_version_string();
    cap_end("fw_version_string", __LINE__);
    assert_non_null(v);
}

static void c_status(void)
{
    S(fw_status_str(12345), "unknown status");
    S(fw_status_str(-99), "unknown status");
    S(fw_status_str(INT32_MIN), "unknown status");
    cap_begin();
    const char *e = fw_last_error();
    cap_end("fw_last_error", __LINE__);
    assert_non_null(e);
}

static void c_types(void)
{
    N(fw_type_name(-1));
    N(fw_type_name(INT32_MAX));
    E(fw_type_block_info(-1, NULL, NULL), FW_E_NOT_FOUND, "-1");
    E(fw_type_block_info(4, NULL, NULL), FW_E_UNSUPPORTED, "4");
    E(fw_type_block_info(FW_TYPE_F32, NULL, NULL), FW_OK, NULL);
    N(fw_meta_type_name(-1));
    N(fw_meta_type_name(13));
}

static void c_isa(void)
{
    cap_begin();
    const char *b = fw_isa_best();
    cap_end("fw_isa_best", __LINE__);
    assert_non_null(b);
    I(fw_isa_valid(NULL), 0);
    I(fw_isa_valid(""), 0);
    I(fw_isa_valid("avx9000"), 0);
}

static void c_set_allocator(void)
{
    fw_allocator a = qalloc;
    a.struct_size = 0;
    E(fw_set_allocator(&a), FW_E_INVALID_ARG, "struct_size");
    a = qalloc;
    a.malloc_fn = NULL;
    E(fw_set_allocator(&a), FW_E_INVALID_ARG, "malloc_fn");
    a = qalloc;
    a.free_fn = NULL;
    E(fw_set_allocator(&a), FW_E_INVALID_ARG, "free_fn");
    /* objects are alive (a sampler at least) */
    if (SM) {
        E(fw_set_allocator(NULL), FW_E_STATE, "alive");
        E(fw_set_allocator(&qalloc), FW_E_STATE, "alive");
    }
}

static void c_params_init(void)
{
    /* NULL is ignored */
    V(fw_model_params_init(NULL));
    V(fw_context_params_init(NULL));
    V(fw_sampler_params_init(NULL));
    V(fw_request_init(NULL));
    V(fw_chat_params_init(NULL));
}

static void c_model_load(void)
{
    fw_model *m = (fw_model *)1;
    E(fw_model_load(NULL, NULL, &m), FW_E_INVALID_ARG, "path");
    OUT_NULL(m);
    E(fw_model_load("x.gguf", NULL, NULL), FW_E_INVALID_ARG, "out_model");
    m = (fw_model *)1;
    E(fw_model_load("/nonexistent/x.gguf", NULL, &m), FW_E_IO, "/nonexistent/x.gguf");
    OUT_NULL(m);
    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.struct_size = 0;
    m = (fw_model *)1;
    E(fw_model_load(model_path(), &mp, &m), FW_E_INVALID_ARG, "struct_size");
    OUT_NULL(m);

    m = (fw_model *)1;
    E(fw_model_load_json(NULL, NULL, &m), FW_E_INVALID_ARG, "path");
    OUT_NULL(m);
    E(fw_model_load_json("x.gguf", NULL, NULL), FW_E_INVALID_ARG, "out_model");
    m = (fw_model *)1;
    E(fw_model_load_json(model_path(), "{\"use_mmap\":", &m), FW_E_FORMAT,
      "model parameters");
    OUT_NULL(m);
    E(fw_model_load_json(model_path(), "{\"nope\":1}", &m), FW_E_INVALID_ARG, "nope");

    m = (fw_model *)1;
    E(fw_model_load_from_memory(NULL, 10, NULL, &m), FW_E_INVALID_ARG, "data");
    OUT_NULL(m);
    E(fw_model_load_from_memory("GGUF", 4, NULL, NULL), FW_E_INVALID_ARG, "out_model");
    m = (fw_model *)1;
    E(fw_model_load_from_memory("GGUF", 0, NULL, &m), FW_E_FORMAT, NULL);
    OUT_NULL(m);

    m = (fw_model *)1;
    E(fw_model_load_tiktoken(NULL, "llama-bpe", NULL, &m), FW_E_INVALID_ARG, "path");
    OUT_NULL(m);
    m = (fw_model *)1;
    E(fw_model_load_tiktoken("x.tiktoken", NULL, NULL, &m), FW_E_INVALID_ARG, "pre");
    OUT_NULL(m);
    E(fw_model_load_tiktoken("x.tiktoken", "llama-bpe", NULL, NULL), FW_E_INVALID_ARG,
      "out_model");
}

static void c_model_free(void)
{
    V(fw_model_free(NULL));
    if (FM)
        V(fw_model_free(FM)); /* a second free is detected and ignored */
}

/* Getters of a model: NULL and freed models give the documented empty
 * values. */
static void model_getters(const fw_model *m)
{
    I(fw_model_n_vocab(m), 0);
    I(fw_model_n_embd(m), 0);
    I(fw_model_n_layer(m), 0);
    I(fw_model_n_ctx_train(m), 0);
    S(fw_model_arch(m), "");
    I(fw_model_gguf_version(m), 0);
    I(fw_model_alignment(m), 0);
    I(fw_model_data_offset(m), 0);
    S(fw_model_errmsg(m), "");
    I(fw_model_meta_count(m), 0);
    N(fw_model_meta_key(m, 0));
    I(fw_model_meta_find(m, "general.architecture"), -1);
    I(fw_model_tensor_count(m), 0);
    I(fw_model_tensor_find(m, "output.weight"), -1);
    N(fw_model_tensor_name(m, 0));
    I(fw_vocab_n_tokens(m), 0);
    S(fw_vocab_type(m), "none");
    I(fw_vocab_special(m, FW_SPECIAL_BOS), -1);
    I(fw_vocab_adds_bos(m), 0);
    I(fw_vocab_adds_eos(m), 0);
    I(fw_vocab_is_eog(m, 2), 0);
    I(fw_vocab_token_attr(m, 1), 0);
    I(fw_vocab_find(m, "a", 1), -1);
}

static void c_model_getters(void)
{
    model_getters(NULL);
    if (FM)
        model_getters(FM);
    NEED_MODEL();
    N(fw_model_meta_key(M, -1));
    N(fw_model_meta_key(M, INT64_MAX));
    I(fw_model_meta_find(M, NULL), -1);
    I(fw_model_tensor_find(M, NULL), -1);
    N(fw_model_tensor_name(M, -1));
    N(fw_model_tensor_name(M, INT64_MAX));
    I(fw_vocab_special(M, -1), -1);
    I(fw_vocab_special(M, 99), -1);
    I(fw_vocab_is_eog(M, -1), 0);
    I(fw_vocab_is_eog(M, NV), 0);
    I(fw_vocab_token_attr(M, -1), 0);
    I(fw_vocab_token_attr(M, NV), 0);
    I(fw_vocab_find(M, NULL, 3), -1);
    I(fw_vocab_find(M, NULL, 0), -1);
}

static void meta_status(const fw_model *m, fw_status want, const char *sub)
{
    int64_t i64;
    double f64;
    int32_t b;
    char buf[8];
    size_t nn;
    E(fw_model_meta_type(m, "general.architecture", NULL, NULL, NULL), want, sub);
    E(fw_model_meta_get_i64(m, "llama.block_count", &i64), want, sub);
    E(fw_model_meta_get_f64(m, "llama.block_count", &f64), want, sub);
    E(fw_model_meta_get_bool(m, "x", &b), want, sub);
    E(fw_model_meta_get_str(m, "general.architecture", buf, sizeof buf, &nn), want, sub);
    E(fw_model_meta_arr_i64(m, "tokenizer.ggml.token_type", 0, &i64), want, sub);
    E(fw_model_meta_arr_f64(m, "tokenizer.ggml.scores", 0, &f64), want, sub);
    E(fw_model_meta_arr_str(m, "tokenizer.ggml.tokens", 0, buf, sizeof buf, &nn), want,
      sub);
    E(fw_model_meta_to_json(m, "general.architecture", -1, buf, sizeof buf, &nn), want, sub);
    E(fw_model_tensor_info(m, 0, NULL, NULL, NULL, NULL, NULL), want, sub);
    E(fw_model_sampling_defaults_json(m, buf, sizeof buf, &nn), want, sub);
    E(fw_vocab_token_text(m, 1, buf, sizeof buf, &nn), want, sub);
    E(fw_token_to_piece(m, 1, 0, buf, sizeof buf, &nn), want, sub);
    fw_token t = 1, out[4];
    E(fw_detokenize(m, &t, 1, 0, buf, sizeof buf, &nn), want, sub);
    E(fw_tokenize(m, "a", 1, 0, out, 4, &nn), want, sub);
    fw_detok_stream *d = (fw_detok_stream *)1;
    E(fw_detok_stream_new(m, 0, 0, &d), want, sub);
    OUT_NULL(d);
    E(fw_request_prompt_json(m, "{\"prompt\":\"a\"}", 14, NULL, 0, buf, sizeof buf, &nn), want,
      sub);
}

static void c_model_meta(void)
{
    meta_status(NULL, FW_E_INVALID_ARG, "model");
    if (FM)
        meta_status(FM, FW_E_INVALID_ARG, "model");
    NEED_MODEL();
    int64_t i64;
    double f64;
    int32_t b;
    E(fw_model_meta_type(M, NULL, NULL, NULL, NULL), FW_E_INVALID_ARG, "key");
    E(fw_model_meta_get_i64(M, NULL, &i64), FW_E_INVALID_ARG, "key");
    E(fw_model_meta_get_i64(M, "llama.block_count", NULL), FW_E_INVALID_ARG, "out");
    E(fw_model_meta_get_f64(M, "llama.block_count", NULL), FW_E_INVALID_ARG, "out");
    E(fw_model_meta_get_bool(M, "llama.block_count", NULL), FW_E_INVALID_ARG, "out");
    E(fw_model_meta_get_i64(M, "no.such.key", &i64), FW_E_NOT_FOUND, "no.such.key");
    E(fw_model_meta_get_bool(M, "llama.block_count", &b), FW_E_TYPE, "llama.block_count");
    E(fw_model_meta_get_f64(M, "general.architecture", &f64), FW_E_TYPE,
      "general.architecture");
    E(fw_model_meta_arr_i64(M, "tokenizer.ggml.token_type", UINT64_MAX, &i64), FW_E_NOT_FOUND,
      "tokenizer.ggml.token_type");
    E(fw_model_meta_arr_i64(M, "tokenizer.ggml.token_type", 0, NULL), FW_E_INVALID_ARG, "out");
    E(fw_model_meta_arr_f64(M, "tokenizer.ggml.scores", 0, NULL), FW_E_INVALID_ARG, "out");
    E(fw_model_meta_arr_i64(M, NULL, 0, &i64), FW_E_INVALID_ARG, "key");
    E(fw_model_meta_arr_f64(M, NULL, 0, &f64), FW_E_INVALID_ARG, "key");
    BUFCONV(fw_model_meta_get_str(M, "general.architecture", b_buf, b_cap, &b_nn));
    BUFCONV(fw_model_meta_arr_str(M, "tokenizer.ggml.tokens", 300, b_buf, b_cap, &b_nn));
    BUFCONV(fw_model_meta_to_json(M, "tokenizer.ggml.tokens", 3, b_buf, b_cap, &b_nn));
    E(fw_model_meta_get_str(M, NULL, NULL, 0, NULL), FW_E_INVALID_ARG, "key");
    E(fw_model_meta_arr_str(M, NULL, 0, NULL, 0, NULL), FW_E_INVALID_ARG, "key");
    E(fw_model_meta_to_json(M, NULL, -1, NULL, 0, NULL), FW_E_INVALID_ARG, "key");
    E(fw_model_tensor_info(M, -1, NULL, NULL, NULL, NULL, NULL), FW_E_NOT_FOUND, "-1");
    E(fw_model_tensor_info(M, INT64_MAX, NULL, NULL, NULL, NULL, NULL), FW_E_NOT_FOUND,
      "index");
    BUFCONV(fw_model_sampling_defaults_json(M, b_buf, b_cap, &b_nn));
}

static void c_vocab_text(void)
{
    NEED_MODEL();
    char buf[16];
    size_t nn;
    E(fw_vocab_token_text(M, -1, buf, sizeof buf, &nn), FW_E_NOT_FOUND, "-1");
    E(fw_vocab_token_text(M, NV, buf, sizeof buf, &nn), FW_E_NOT_FOUND, "512");
    BUFCONV(fw_vocab_token_text(M, 300, b_buf, b_cap, &b_nn));
    E(fw_token_to_piece(M, -1, 0, buf, sizeof buf, &nn), FW_E_RANGE, "-1");
    E(fw_token_to_piece(M, NV, 0, buf, sizeof buf, &nn), FW_E_RANGE, "512");
    E(fw_token_to_piece(M, INT32_MIN, 0, buf, sizeof buf, &nn), FW_E_RANGE, "token");
    BUFCONV(fw_token_to_piece(M, 300, 0, b_buf, b_cap, &b_nn));
}

static void c_tokenize(void)
{
    NEED_MODEL();
    fw_token t[64];
    size_t n = 99;
    E(fw_tokenize(M, NULL, 5, 0, t, 64, &n), FW_E_INVALID_ARG, "text");
    E(fw_tokenize(M, "hello", 5, 0, NULL, 64, &n), FW_E_INVALID_ARG, "tokens");
    E(fw_tokenize(M, "hello", 5, 0, t, 64, NULL), FW_OK, NULL); /* n_tokens is optional */
    E(fw_tokenize(M, NULL, 0, 0, t, 64, &n), FW_OK, NULL);
    assert_int_equal(n, 0);
    E(fw_tokenize(M, "hello world", 11, 0, NULL, 0, &n), FW_E_BUFFER_TOO_SMALL, NULL);
    assert_true(n >= 2);
    size_t full = n;
    t[1] = -7;
    E(fw_tokenize(M, "hello world", 11, 0, t, 1, &n), FW_E_BUFFER_TOO_SMALL, NULL);
    assert_int_equal(n, full);
    assert_int_equal(t[1], -7); /* nothing past cap */
    E(fw_tokenize(M, "a", 1, 0x80, t, 64, &n), FW_E_INVALID_ARG, "flags");
}

static void c_detokenize(void)
{
    NEED_MODEL();
    fw_token bad[2] = {1, -1}, big[2] = {1, 512}, ok[3] = {403, 407, 261};
    char buf[64];
    size_t nn;
    E(fw_detokenize(M, NULL, 2, 0, buf, sizeof buf, &nn), FW_E_INVALID_ARG, "tokens");
    E(fw_detokenize(M, NULL, 0, 0, buf, sizeof buf, &nn), FW_OK, NULL);
    assert_int_equal(nn, 0);
    E(fw_detokenize(M, bad, 2, 0, buf, sizeof buf, &nn), FW_E_RANGE, "-1");
    E(fw_detokenize(M, big, 2, 0, buf, sizeof buf, &nn), FW_E_RANGE, "512");
    BUFCONV(fw_detokenize(M, ok, 3, 0, b_buf, b_cap, &b_nn));
    E(fw_detokenize(M, ok, 3, 0x100, buf, sizeof buf, &nn), FW_E_INVALID_ARG, "flags");
}

static void c_detok_stream(void)
{
    char buf[16];
    size_t nn;
    E(fw_detok_stream_new(NULL, 0, 0, NULL), FW_E_INVALID_ARG, NULL);
    E(fw_detok_stream_push(NULL, 1, buf, sizeof buf, &nn), FW_E_INVALID_ARG, "stream");
    E(fw_detok_stream_flush(NULL, buf, sizeof buf, &nn), FW_E_INVALID_ARG, "stream");
    V(fw_detok_stream_free(NULL));
    if (FD) {
        E(fw_detok_stream_push(FD, 1, buf, sizeof buf, &nn), FW_E_INVALID_ARG, "stream");
        E(fw_detok_stream_flush(FD, buf, sizeof buf, &nn), FW_E_INVALID_ARG, "stream");
        V(fw_detok_stream_free(FD));
    }
    NEED_MODEL();
    E(fw_detok_stream_new(M, 0, 0, NULL), FW_E_INVALID_ARG, "out");
    fw_detok_stream *d = (fw_detok_stream *)1;
    E(fw_detok_stream_new(M, 0x100, 0, &d), FW_E_INVALID_ARG, "flags");
    OUT_NULL(d);
    E(fw_detok_stream_push(D, -1, buf, sizeof buf, &nn), FW_E_RANGE, "-1");
    E(fw_detok_stream_push(D, NV, buf, sizeof buf, &nn), FW_E_RANGE, "512");
    BUFCONV(fw_detok_stream_push(D, 403, b_buf, b_cap, &b_nn));
    E(fw_detok_stream_flush(D, NULL, 5, &nn), FW_E_INVALID_ARG, "buf");
    E(fw_detok_stream_flush(D, buf, sizeof buf, &nn), FW_OK, NULL);
}

static void c_context_new(void)
{
    fw_context *c = (fw_context *)1;
    E(fw_context_new(NULL, NULL, &c), FW_E_INVALID_ARG, "model");
    OUT_NULL(c);
    c = (fw_context *)1;
    E(fw_context_new_json(NULL, NULL, &c), FW_E_INVALID_ARG, "model");
    OUT_NULL(c);
    if (FM) {
        c = (fw_context *)1;
        E(fw_context_new(FM, NULL, &c), FW_E_INVALID_ARG, "model");
        OUT_NULL(c);
        c = (fw_context *)1;
        E(fw_context_new_json(FM, NULL, &c), FW_E_INVALID_ARG, "model");
        OUT_NULL(c);
    }
    NEED_MODEL();
    E(fw_context_new(M, NULL, NULL), FW_E_INVALID_ARG, "out_ctx");
    E(fw_context_new_json(M, NULL, NULL), FW_E_INVALID_ARG, "out_ctx");
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.struct_size = 3;
    c = (fw_context *)1;
    E(fw_context_new(M, &cp, &c), FW_E_INVALID_ARG, "struct_size");
    OUT_NULL(c);
    fw_context_params_init(&cp);
    cp.isa = "no-such-isa";
    E(fw_context_new(M, &cp, &c), FW_E_INVALID_ARG, "no-such-isa");
    E(fw_context_new_json(M, "{\"n_ctx\":-1}", &c), FW_E_RANGE, "n_ctx");
    E(fw_context_new_json(M, "{\"n_ctx\":\"x\"}", &c), FW_E_INVALID_ARG, "n_ctx");
    E(fw_context_new_json(M, "{", &c), FW_E_FORMAT, NULL);
}

static void ctx_bad(fw_context *c)
{
    fw_token t = 1;
    size_t sz;
    char buf[8];
    E(fw_context_eval(c, 0, 0, &t, 1, 0), FW_E_INVALID_ARG, "context");
    int32_t s0 = 0, p0 = 0;
    E(fw_context_eval_batch(c, &t, &s0, &p0, 1, 0), FW_E_INVALID_ARG, "context");
    E(fw_context_seq_truncate(c, 0, 0), FW_E_INVALID_ARG, "context");
    E(fw_context_seq_clear(c, 0), FW_E_INVALID_ARG, "context");
    E(fw_context_seq_copy(c, 0, 1), FW_E_INVALID_ARG, "context");
    E(fw_context_state_size(c, &sz), FW_E_INVALID_ARG, "context");
    E(fw_context_state_save(c, buf, sizeof buf, &sz), FW_E_INVALID_ARG, "context");
    E(fw_context_state_load(c, buf, sizeof buf), FW_E_INVALID_ARG, "context");
    E(fw_context_state_save_file(c, "/tmp/x"), FW_E_INVALID_ARG, "context");
    E(fw_context_state_load_file(c, "/tmp/x"), FW_E_INVALID_ARG, "context");
    I(fw_context_seq_len(c, 0), 0);
    I(fw_context_n_ctx(c), 0);
    I(fw_context_n_seq_max(c), 0);
    I(fw_context_n_threads(c), 0);
    S(fw_context_isa(c), "");
    N(fw_context_logits(c, -1));
    S(fw_context_errmsg(c), "");
    I(fw_context_layers_done(c), 0);
    V(fw_context_cancel(c));
    V(fw_context_free(c));
    fw_result *r = (fw_result *)1;
    E(fw_generate(c, "a", 1, NULL, 0, NULL, NULL, NULL, NULL, &r), FW_E_INVALID_ARG,
      "context");
    OUT_NULL(r);
    r = (fw_result *)1;
    E(fw_generate_json(c, "{\"prompt\":\"a\"}", 14, NULL, 0, NULL, NULL, &r),
      FW_E_INVALID_ARG, "context");
    OUT_NULL(r);
    fw_chat_message m = {"user", "hi"};
    r = (fw_result *)1;
    E(fw_generate_chat(c, &m, 1, NULL, NULL, NULL, NULL, NULL, &r), FW_E_INVALID_ARG,
      "context");
    OUT_NULL(r);
}

static void c_context(void)
{
    ctx_bad(NULL);
    if (FC)
        ctx_bad(FC);
    NEED_MODEL();
    fw_token t[4] = {1, 403, 407, 261}, bad[2] = {1, -1}, big[2] = {1, 512};
    E(fw_context_seq_clear(C, 0), FW_OK, NULL);
    E(fw_context_seq_clear(C, 1), FW_OK, NULL);
    E(fw_context_eval(C, 0, 0, NULL, 2, 0), FW_E_INVALID_ARG, "tokens");
    E(fw_context_eval(C, 0, 0, t, 0, 0), FW_E_INVALID_ARG, "tokens");
    E(fw_context_eval(C, -1, 0, t, 2, 0), FW_E_RANGE, "-1");
    E(fw_context_eval(C, 2, 0, t, 2, 0), FW_E_RANGE, "sequence 2");
    E(fw_context_eval(C, INT32_MAX, 0, t, 2, 0), FW_E_RANGE, "sequence");
    E(fw_context_eval(C, 0, -1, t, 2, 0), FW_E_RANGE, "position -1");
    E(fw_context_eval(C, 0, 1, t, 2, 0), FW_E_RANGE, "position 1"); /* a gap */
    E(fw_context_eval(C, 0, 0, bad, 2, 0), FW_E_RANGE, "token -1");
    E(fw_context_eval(C, 0, 0, big, 2, 0), FW_E_RANGE, "token 512");
    E(fw_context_eval(C, 0, 0, t, 2, 0x10), FW_E_INVALID_ARG, "flags");
    E(fw_context_eval(C, 0, 0, t, 17, 0), FW_E_CONTEXT_FULL, "n_ctx 16");
    E(fw_context_eval(C, 0, 0, t, SIZE_MAX, 0), FW_E_CONTEXT_FULL, "n_ctx 16");
    E(fw_context_eval(C, 0, 0, t, 4, 0), FW_OK, NULL);
    E(fw_context_eval(C, 0, 5, t, 1, 0), FW_E_RANGE, "position 5"); /* a gap */
    E(fw_context_eval(C, 0, 4, t, 13, 0), FW_E_CONTEXT_FULL, "n_ctx 16");
    I(fw_context_seq_len(C, 0), 4);
    N(fw_context_logits(C, 1));
    N(fw_context_logits(C, -2));
    N(fw_context_logits(C, INT32_MIN));
    I(fw_context_seq_len(C, -1), 0);
    I(fw_context_seq_len(C, 2), 0);
    E(fw_context_seq_truncate(C, 0, -1), FW_E_RANGE, "-1");
    E(fw_context_seq_truncate(C, -1, 0), FW_E_RANGE, "-1");
    E(fw_context_seq_truncate(C, 2, 0), FW_E_RANGE, "sequence 2");
    E(fw_context_seq_truncate(C, 0, 99), FW_E_RANGE, "99"); /* beyond the end */
    I(fw_context_seq_len(C, 0), 4);
    E(fw_context_seq_clear(C, -1), FW_E_RANGE, "-1");
    E(fw_context_seq_clear(C, 2), FW_E_RANGE, "sequence 2");
    E(fw_context_seq_copy(C, -1, 1), FW_E_RANGE, "-1");
    E(fw_context_seq_copy(C, 0, 2), FW_E_RANGE, "sequence 2");
    E(fw_context_seq_copy(C, 0, 0), FW_OK, NULL);
    size_t sz, nw;
    E(fw_context_state_size(C, NULL), FW_E_INVALID_ARG, "size");
    E(fw_context_state_size(C, &sz), FW_OK, NULL);
    char small[8];
    nw = 0;
    E(fw_context_state_save(C, small, sizeof small, &nw), FW_E_BUFFER_TOO_SMALL, NULL);
    assert_int_equal(nw, sz);
    E(fw_context_state_save(C, NULL, 100, &nw), FW_E_INVALID_ARG, "buf");
    E(fw_context_state_save(C, small, sizeof small, NULL), FW_E_BUFFER_TOO_SMALL, NULL);
    E(fw_context_state_load(C, NULL, 100), FW_E_INVALID_ARG, "buf");
    E(fw_context_state_load(C, small, 0), FW_E_FORMAT, "0 bytes");
    E(fw_context_state_save_file(C, NULL), FW_E_INVALID_ARG, "path");
    E(fw_context_state_load_file(C, NULL), FW_E_INVALID_ARG, "path");
    E(fw_context_state_load_file(C, "/nonexistent/state"), FW_E_IO, "/nonexistent/state");
    I(fw_context_seq_len(C, 0), 4);
    /* a batch of several sequences */
    int32_t sq[13] = {0, 1}, ps[13] = {4, 0}, s2[2] = {0, 2}, gap[2] = {5, 0};
    fw_token bt[13] = {1, 1};
    E(fw_context_eval_batch(C, NULL, sq, ps, 2, 0), FW_E_INVALID_ARG, "tokens");
    E(fw_context_eval_batch(C, bt, NULL, ps, 2, 0), FW_E_INVALID_ARG, "seqs");
    E(fw_context_eval_batch(C, bt, sq, NULL, 2, 0), FW_E_INVALID_ARG, "pos");
    E(fw_context_eval_batch(C, bt, sq, ps, 0, 0), FW_E_INVALID_ARG, "tokens");
    E(fw_context_eval_batch(C, bt, sq, ps, 2, 0x10), FW_E_INVALID_ARG, "flags");
    E(fw_context_eval_batch(C, bt, s2, ps, 2, 0), FW_E_RANGE, "sequence 2");
    E(fw_context_eval_batch(C, bad, sq, ps, 2, 0), FW_E_RANGE, "token -1");
    E(fw_context_eval_batch(C, bt, sq, gap, 2, 0), FW_E_RANGE, "out of order");
    for (int i = 0; i < 13; i++)
        sq[i] = 0, ps[i] = 4 + i, bt[i] = 1;
    E(fw_context_eval_batch(C, bt, sq, ps, 13, 0), FW_E_CONTEXT_FULL, "n_ctx 16");
    I(fw_context_seq_len(C, 0), 4);
    sq[1] = 1, ps[1] = 0;
    E(fw_context_eval_batch(C, bt, sq, ps, 2, 0), FW_OK, NULL);
    I(fw_context_seq_len(C, 0), 5);
    I(fw_context_seq_len(C, 1), 1);
    N(fw_context_logits(C, 2));
    E(fw_context_seq_truncate(C, 0, 4), FW_OK, NULL);
    E(fw_context_seq_clear(C, 1), FW_OK, NULL);
}

static void c_generate(void)
{
    NEED_MODEL();
    fw_result *r = (fw_result *)1;
    E(fw_generate(C, "a", 1, NULL, 0, NULL, NULL, NULL, NULL, NULL), FW_E_INVALID_ARG,
      "out_result");
    E(fw_generate(C, NULL, 5, NULL, 0, NULL, NULL, NULL, NULL, &r), FW_E_INVALID_ARG, "text");
    OUT_NULL(r);
    fw_token bad[2] = {1, -1}, big[2] = {1, 512};
    E(fw_generate(C, NULL, 0, bad, 2, NULL, NULL, NULL, NULL, &r), FW_E_RANGE, "-1");
    E(fw_generate(C, NULL, 0, big, 2, NULL, NULL, NULL, NULL, &r), FW_E_RANGE, "512");
    E(fw_generate(C, NULL, 0, bad, 0, NULL, NULL, NULL, NULL, &r), FW_E_INVALID_ARG, "prompt");
    fw_request rq;
    fw_request_init(&rq);
    rq.n = 3; /* the context has 2 sequences */
    E(fw_generate(C, "a", 1, NULL, 0, NULL, &rq, NULL, NULL, &r), FW_E_RANGE, "n_seq_max");
    fw_request_init(&rq);
    rq.n = 0;
    E(fw_generate(C, "a", 1, NULL, 0, NULL, &rq, NULL, NULL, &r), FW_E_RANGE, "n = 0");
    fw_request_init(&rq);
    rq.max_tokens = -1;
    E(fw_generate(C, "a", 1, NULL, 0, NULL, &rq, NULL, NULL, &r), FW_E_RANGE, "max_tokens");
    fw_request_init(&rq);
    rq.n_stop = 2;
    E(fw_generate(C, "a", 1, NULL, 0, NULL, &rq, NULL, NULL, &r), FW_E_INVALID_ARG, "stop");
    fw_request_init(&rq);
    rq.struct_size = 1;
    E(fw_generate(C, "a", 1, NULL, 0, NULL, &rq, NULL, NULL, &r), FW_E_INVALID_ARG,
      "struct_size");
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    sp.temperature = -1;
    E(fw_generate(C, "a", 1, NULL, 0, &sp, NULL, NULL, NULL, &r), FW_E_RANGE, "temperature");
    OUT_NULL(r);

    E(fw_generate_json(C, NULL, 5, NULL, 0, NULL, NULL, &r), FW_E_INVALID_ARG, "body");
    E(fw_generate_json(C, "{\"prompt\":\"a\"}", 14, NULL, 0, NULL, NULL, NULL),
      FW_E_INVALID_ARG, "out_result");
    E(fw_generate_json(C, "{\"prompt\":\"a\"}", 0, NULL, 0, NULL, NULL, &r), FW_E_FORMAT,
      NULL);
    E(fw_generate_json(C, "{\"prompt\":[1,-1]}", 17, NULL, 0, NULL, NULL, &r), FW_E_RANGE,
      "-1");
    E(fw_generate_json(C, "{\"prompt\":\"a\",\"n\":-1}", 21, NULL, 0, NULL, NULL, &r),
      FW_E_RANGE, "n");
    OUT_NULL(r);

    fw_chat_message msgs[2] = {{"user", "hi"}, {NULL, "x"}};
    E(fw_generate_chat(C, NULL, 1, NULL, NULL, NULL, NULL, NULL, &r), FW_E_INVALID_ARG, "msgs");
    E(fw_generate_chat(C, msgs, 0, NULL, NULL, NULL, NULL, NULL, &r), FW_E_INVALID_ARG,
      "message");
    E(fw_generate_chat(C, msgs, 2, NULL, NULL, NULL, NULL, NULL, &r), FW_E_INVALID_ARG,
      "message 1");
    E(fw_generate_chat(C, msgs, 1, NULL, NULL, NULL, NULL, NULL, NULL), FW_E_INVALID_ARG,
      "out_result");
    fw_chat_params chp;
    fw_chat_params_init(&chp);
    chp.struct_size = 2;
    E(fw_generate_chat(C, msgs, 1, &chp, NULL, NULL, NULL, NULL, &r), FW_E_INVALID_ARG,
      "struct_size");
    OUT_NULL(r);
}

static void c_prompt_json(void)
{
    char buf[8];
    size_t nn;
    NEED_MODEL();
    E(fw_request_prompt_json(M, NULL, 3, NULL, 0, buf, sizeof buf, &nn), FW_E_INVALID_ARG,
      "body");
    BUFCONV(fw_request_prompt_json(M, "{\"prompt\":\"Once\"}", 17, NULL, 0, b_buf, b_cap,
                                   &b_nn));
}

static void result_bad(const fw_result *r)
{
    char buf[8];
    size_t nn;
    float lp;
    int32_t a;
    I(fw_result_n_choices(r), 0);
    E(fw_result_text(r, 0, buf, sizeof buf, &nn), FW_E_INVALID_ARG, "result");
    N(fw_result_finish_reason(r, 0));
    N(fw_result_tokens(r, 0, &nn));
    assert_int_equal(nn, 0);
    E(fw_result_logprob(r, 0, 0, &lp, &lp), FW_E_INVALID_ARG, "result");
    E(fw_result_usage(r, &a, &a, &a), FW_E_INVALID_ARG, "result");
    I(fw_result_seed(r), 0);
    E(fw_result_prompt_text(r, buf, sizeof buf, &nn), FW_E_INVALID_ARG, "result");
    N(fw_result_chat_template(r));
    E(fw_result_to_json(r, "m", buf, sizeof buf, &nn), FW_E_INVALID_ARG, "result");
    V(fw_result_free((fw_result *)r));
}

static void c_result(void)
{
    result_bad(NULL);
    if (FR)
        result_bad(FR);
    NEED_MODEL();
    char buf[8];
    size_t nn;
    float lp;
    E(fw_result_text(R, 1, buf, sizeof buf, &nn), FW_E_NOT_FOUND, "choice 1");
    E(fw_result_text(R, -1, buf, sizeof buf, &nn), FW_E_NOT_FOUND, "choice -1");
    BUFCONV(fw_result_text(R, 0, b_buf, b_cap, &b_nn));
    N(fw_result_finish_reason(R, -1));
    N(fw_result_finish_reason(R, 1));
    N(fw_result_tokens(R, 1, &nn));
    N(fw_result_tokens(R, -1, NULL));
    E(fw_result_logprob(R, -1, 0, &lp, &lp), FW_E_NOT_FOUND, "choice -1");
    E(fw_result_logprob(R, 0, 1000, &lp, &lp), FW_E_NOT_FOUND, "1000");
    E(fw_result_logprob(R, 0, SIZE_MAX, &lp, &lp), FW_E_NOT_FOUND, "token");
    E(fw_result_logprob(R, 0, 0, NULL, NULL), FW_OK, NULL);
    E(fw_result_usage(R, NULL, NULL, NULL), FW_OK, NULL);
    BUFCONV(fw_result_prompt_text(R, b_buf, b_cap, &b_nn));
    BUFCONV(fw_result_to_json(R, "m", b_buf, b_cap, &b_nn));
    BUFCONV(fw_result_to_json(R, NULL, b_buf, b_cap, &b_nn));
}

static void c_event(void)
{
    char buf[8];
    size_t nn;
    E(fw_event_to_json(NULL, buf, sizeof buf, &nn), FW_E_INVALID_ARG, "event");
    fw_event ev;
    memset(&ev, 0, sizeof ev);
    E(fw_event_to_json(&ev, buf, sizeof buf, &nn), FW_E_INVALID_ARG, "event");
    ev.struct_size = sizeof ev;
    ev.token = -1;
    ev.text = "hello";
    ev.text_len = 5;
    BUFCONV(fw_event_to_json(&ev, b_buf, b_cap, &b_nn));
}

static void c_chat_template(void)
{
    static const char tmpl[] = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n"
                               "{% endfor %}";
    fw_chat_message m[2] = {{"user", "hello"}, {NULL, "x"}};
    char buf[8];
    size_t nn;
    E(fw_chat_apply_template(NULL, NULL, m, 1, 1, buf, sizeof buf, &nn), FW_E_INVALID_ARG,
      "model");
    E(fw_chat_apply_template(NULL, tmpl, NULL, 1, 1, buf, sizeof buf, &nn), FW_E_INVALID_ARG,
      "msgs");
    E(fw_chat_apply_template(NULL, tmpl, m, 2, 1, buf, sizeof buf, &nn), FW_E_INVALID_ARG,
      "message 1");
    BUFCONV(fw_chat_apply_template(NULL, tmpl, m, 1, 1, b_buf, b_cap, &b_nn));
    E(fw_chat_apply_template_json(NULL, tmpl, NULL, NULL, 1, buf, sizeof buf, &nn),
      FW_E_INVALID_ARG, "messages_json");
    E(fw_chat_apply_template_json(NULL, NULL, "[]", NULL, 1, buf, sizeof buf, &nn),
      FW_E_INVALID_ARG, "model");
    E(fw_chat_apply_template_json(NULL, tmpl, "[", NULL, 1, buf, sizeof buf, &nn),
      FW_E_FORMAT, "messages");
    E(fw_chat_apply_template_json(NULL, tmpl, "[]", "{", 1, buf, sizeof buf, &nn),
      FW_E_FORMAT, "vars");
    BUFCONV(fw_chat_apply_template_json(NULL, tmpl, "[{\"role\":\"user\",\"content\":\"hey\"}]",
                                        NULL, 1, b_buf, b_cap, &b_nn));
    if (FM) {
        E(fw_chat_apply_template(FM, NULL, m, 1, 1, buf, sizeof buf, &nn), FW_E_INVALID_ARG,
          "model");
        E(fw_chat_apply_template(FM, tmpl, m, 1, 1, buf, sizeof buf, &nn), FW_E_INVALID_ARG,
          "model");
        E(fw_chat_apply_template_json(FM, tmpl, "[]", NULL, 1, buf, sizeof buf, &nn),
          FW_E_INVALID_ARG, "model");
    }
    NEED_MODEL();
    E(fw_chat_apply_template(M, NULL, m, 1, 1, buf, sizeof buf, &nn), FW_E_NOT_FOUND,
      "chat_template");
}

static void c_sampler_params(void)
{
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    E(fw_sampler_params_set_f(NULL, "temperature", 1), FW_E_INVALID_ARG, "params");
    E(fw_sampler_params_set_i(NULL, "top_k", 1), FW_E_INVALID_ARG, "params");
    E(fw_sampler_params_set_u64(NULL, "seed", 1), FW_E_INVALID_ARG, "params");
    E(fw_sampler_params_set_f(&sp, NULL, 1), FW_E_INVALID_ARG, "name");
    E(fw_sampler_params_set_i(&sp, NULL, 1), FW_E_INVALID_ARG, "name");
    E(fw_sampler_params_set_u64(&sp, NULL, 1), FW_E_INVALID_ARG, "name");
    E(fw_sampler_params_set_f(&sp, "nope", 1), FW_E_NOT_FOUND, "nope");
    E(fw_sampler_params_set_f(&sp, "temperature", -1), FW_E_RANGE, "temperature");
    E(fw_sampler_params_set_f(&sp, "temperature", NAN), FW_E_RANGE, "temperature");
    E(fw_sampler_params_set_i(&sp, "top_k", -2), FW_E_RANGE, "top_k");
    E(fw_sampler_params_set_f(&sp, "top_k", 1.5), FW_E_TYPE, "top_k");
    E(fw_sampler_params_set_i(&sp, "seed", -1), FW_E_RANGE, "seed");
    E(fw_sampler_params_set_u64(&sp, "temperature", 1), FW_OK, NULL);
    E(fw_sampler_params_set_u64(&sp, "temperature", 3), FW_E_RANGE, "temperature");
    E(fw_sampler_params_info(NULL, NULL, NULL, NULL, NULL, NULL), FW_E_INVALID_ARG, "name");
    E(fw_sampler_params_info("nope", NULL, NULL, NULL, NULL, NULL), FW_E_NOT_FOUND, "nope");
    E(fw_sampler_params_info("top_p", NULL, NULL, NULL, NULL, NULL), FW_OK, NULL);
    E(fw_sampler_params_validate(NULL, 0), FW_E_INVALID_ARG, "params");
    sp.top_p = 2;
    E(fw_sampler_params_validate(&sp, 0), FW_E_RANGE, "top_p");
    fw_sampler_params_init(&sp);
    fw_logit_bias lb = {600, 1};
    sp.logit_bias = &lb;
    sp.n_logit_bias = 1;
    E(fw_sampler_params_validate(&sp, 512), FW_E_RANGE, "600");
    E(fw_sampler_params_validate(&sp, -1), FW_OK, NULL); /* n_vocab <= 0: not checked */
    sp.logit_bias = NULL;
    E(fw_sampler_params_validate(&sp, 0), FW_E_INVALID_ARG, "logit_bias");
    fw_sampler_params_init(&sp);
    sp.struct_size = 0;
    E(fw_sampler_params_validate(&sp, 0), FW_E_INVALID_ARG, "struct_size");
}

static void sampler_bad(fw_sampler *s)
{
    fw_sampler *o = (fw_sampler *)1;
    float logits[4] = {0, 1, 2, 3};
    fw_token t;
    fw_token_data td[2] = {{0, 1, 0}, {1, 2, 0}};
    fw_candidates cands = {td, 2, -1, 0};
    char buf[8];
    size_t nn;
    E(fw_sampler_clone(s, 0, 0, 0, &o), FW_E_INVALID_ARG, "sampler");
    OUT_NULL(o);
    E(fw_sampler_set_prompt(s, &t, 0), FW_E_INVALID_ARG, "sampler");
    E(fw_sampler_apply(s, &cands), FW_E_INVALID_ARG, "sampler");
    E(fw_sampler_sample(s, logits, 4, &t, NULL), FW_E_INVALID_ARG, "sampler");
    E(fw_sampler_effective_json(s, buf, sizeof buf, &nn), FW_E_INVALID_ARG, "sampler");
    I(fw_sampler_n_stages(s), 0);
    N(fw_sampler_stage_name(s, 0));
    S(fw_sampler_errmsg(s), "");
    V(fw_sampler_accept(s, 1));
    V(fw_sampler_reset(s));
    fw_stage *g;
    assert_int_equal(fw_stage_greedy(&g), FW_OK);
    E(fw_sampler_chain_add(s, g), FW_E_INVALID_ARG, "chain"); /* g is freed */
    V(fw_sampler_free(s));
}

static void c_sampler(void)
{
    sampler_bad(NULL);
    if (FSM)
        sampler_bad(FSM);
    fw_sampler *s = (fw_sampler *)1;
    E(fw_sampler_chain_new(NULL), FW_E_INVALID_ARG, "out");
    E(fw_sampler_new(NULL, NULL, NULL), FW_E_INVALID_ARG, "out");
    E(fw_sampler_chain_preset("fireworks", NULL, NULL, NULL), FW_E_INVALID_ARG, "out");
    E(fw_sampler_chain_preset(NULL, NULL, NULL, &s), FW_E_INVALID_ARG, "preset");
    OUT_NULL(s);
    s = (fw_sampler *)1;
    E(fw_sampler_chain_preset("nope", NULL, NULL, &s), FW_E_NOT_FOUND, "nope");
    OUT_NULL(s);
    fw_sampler_params sp;
    fw_sampler_params_init(&sp);
    sp.min_p = 5;
    s = (fw_sampler *)1;
    E(fw_sampler_new(NULL, &sp, &s), FW_E_RANGE, "min_p");
    OUT_NULL(s);
    if (FM) {
        s = (fw_sampler *)1;
        E(fw_sampler_new(FM, NULL, &s), FW_E_INVALID_ARG, "model");
        OUT_NULL(s);
    }
    /* a live sampler misused */
    fw_sampler *ch;
    assert_int_equal(fw_sampler_chain_new(&ch), FW_OK);
    E(fw_sampler_chain_add(ch, NULL), FW_E_INVALID_ARG, "stage");
    if (FG)
        E(fw_sampler_chain_add(ch, FG), FW_E_INVALID_ARG, "stage");
    fw_stage *g;
    assert_int_equal(fw_stage_top_k(2, &g), FW_OK);
    E(fw_sampler_chain_add(ch, g), FW_OK, NULL);
    assert_int_equal(fw_stage_greedy(&g), FW_OK);
    E(fw_sampler_chain_add(ch, g), FW_OK, NULL);
    N(fw_sampler_stage_name(ch, -1));
    N(fw_sampler_stage_name(ch, 2));
    float logits[4] = {0, 1, 2, 3};
    fw_token t = -5;
    E(fw_sampler_sample(ch, NULL, 4, &t, NULL), FW_E_INVALID_ARG, "logits");
    E(fw_sampler_sample(ch, logits, 0, &t, NULL), FW_E_INVALID_ARG, "n_vocab");
    E(fw_sampler_sample(ch, logits, -4, &t, NULL), FW_E_INVALID_ARG, "n_vocab");
    E(fw_sampler_sample(ch, logits, 4, NULL, NULL), FW_E_INVALID_ARG, "out");
    E(fw_sampler_apply(ch, NULL), FW_E_INVALID_ARG, "cands");
    fw_candidates cands = {NULL, 3, -1, 0};
    E(fw_sampler_apply(ch, &cands), FW_E_INVALID_ARG, "cands");
    fw_token_data td[2] = {{0, 1, 0}, {-3, 2, 0}};
    cands.data = td;
    cands.n = 2;
    E(fw_sampler_apply(ch, &cands), FW_E_RANGE, "-3");
    E(fw_sampler_set_prompt(ch, NULL, 3), FW_E_INVALID_ARG, "tokens");
    fw_token badp[2] = {1, -1};
    E(fw_sampler_set_prompt(ch, badp, 2), FW_E_RANGE, "-1");
    V(fw_sampler_accept(ch, -1));
    E(fw_sampler_clone(ch, 0, 0, 0, NULL), FW_E_INVALID_ARG, "out");
    E(fw_sampler_effective_json(ch, NULL, 0, NULL), FW_E_STATE, "hand-built");
    BUFCONV(fw_sampler_effective_json(SM, b_buf, b_cap, &b_nn));
    fw_sampler_free(ch);
}

static void c_stages(void)
{
    fw_stage *g = (fw_stage *)1;
    E(fw_stage_greedy(NULL), FW_E_INVALID_ARG, "out");
    E(fw_stage_dist(1, NULL), FW_E_INVALID_ARG, "out");
    E(fw_stage_temperature(-1, &g), FW_E_RANGE, "temperature");
    OUT_NULL(g);
    g = (fw_stage *)1;
    E(fw_stage_temperature(NAN, &g), FW_E_RANGE, "temperature");
    OUT_NULL(g);
    E(fw_stage_temperature(1, NULL), FW_E_INVALID_ARG, "out");
    E(fw_stage_top_k(-2, &g), FW_E_RANGE, "top_k");
    E(fw_stage_top_k(1, NULL), FW_E_INVALID_ARG, "out");
    E(fw_stage_top_p(1.5f, &g), FW_E_RANGE, "top_p");
    E(fw_stage_top_p(NAN, &g), FW_E_RANGE, "top_p");
    E(fw_stage_min_p(-0.5f, &g), FW_E_RANGE, "min_p");
    E(fw_stage_typical_p(2, &g), FW_E_RANGE, "typical_p");
    E(fw_stage_repetition_penalty(0, &g), FW_E_RANGE, "repetition_penalty");
    E(fw_stage_repetition_penalty(1, NULL), FW_E_INVALID_ARG, "out");
    E(fw_stage_frequency_presence(3, 0, &g), FW_E_RANGE, "frequency");
    E(fw_stage_frequency_presence(0, -3, &g), FW_E_RANGE, "presence");
    E(fw_stage_frequency_presence(0, 0, NULL), FW_E_INVALID_ARG, "out");
    E(fw_stage_mirostat_v2(0, 0.1f, 1, &g), FW_E_RANGE, "mirostat_target");
    E(fw_stage_mirostat_v2(5, -1, 1, &g), FW_E_RANGE, "mirostat_lr");
    E(fw_stage_mirostat_v1(5, 0.1f, 0, 1, &g), FW_OK, NULL); /* 0: the candidates' count */
    fw_stage_free(g);
    E(fw_stage_mirostat_v1(5, 0.1f, 100, 1, NULL), FW_E_INVALID_ARG, "out");
    fw_logit_bias lb = {-1, 1};
    E(fw_stage_logit_bias(&lb, 1, &g), FW_E_RANGE, "-1");
    lb.token = 1;
    lb.bias = 101;
    E(fw_stage_logit_bias(&lb, 1, &g), FW_E_RANGE, "101");
    E(fw_stage_logit_bias(NULL, 1, &g), FW_E_INVALID_ARG, "bias");
    E(fw_stage_logit_bias(&lb, 1, NULL), FW_E_INVALID_ARG, "out");
    E(fw_stage_custom(NULL, NULL, &g), FW_E_INVALID_ARG, "iface");
    OUT_NULL(g);
    fw_stage_iface ifc;
    memset(&ifc, 0, sizeof ifc);
    ifc.struct_size = sizeof ifc;
    E(fw_stage_custom(&ifc, NULL, &g), FW_E_INVALID_ARG, "apply");
    E(fw_stage_custom(&ifc, NULL, NULL), FW_E_INVALID_ARG, "out");
    E(fw_stage_apply(NULL, NULL), FW_E_INVALID_ARG, "stage");
    S(fw_stage_name(NULL), "");
    V(fw_stage_free(NULL));
    if (FG) {
        fw_token_data td[1] = {{0, 1, 0}};
        fw_candidates cands = {td, 1, -1, 0};
        E(fw_stage_apply(FG, &cands), FW_E_INVALID_ARG, "stage");
        S(fw_stage_name(FG), "");
        V(fw_stage_free(FG));
    }
    assert_int_equal(fw_stage_top_k(1, &g), FW_OK);
    E(fw_stage_apply(g, NULL), FW_E_INVALID_ARG, "cands");
    fw_stage_free(g);
}

/* ------------------------------------------------------------------------ */
/* The table                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct row {
    const char *name;
    void (*check)(void);
} row;

static const row table[] = {
    {"fw_chat_apply_template", c_chat_template},
    {"fw_chat_apply_template_json", c_chat_template},
    {"fw_chat_params_init", c_params_init},
    {"fw_context_cancel", c_context},
    {"fw_context_errmsg", c_context},
    {"fw_context_eval", c_context},
    {"fw_context_eval_batch", c_context},
    {"fw_context_free", c_context},
    {"fw_context_isa", c_context},
    {"fw_context_layers_done", c_context},
    {"fw_context_logits", c_context},
    {"fw_context_n_ctx", c_context},
    {"fw_context_n_seq_max", c_context},
    {"fw_context_n_threads", c_context},
    {"fw_context_new", c_context_new},
    {"fw_context_new_json", c_context_new},
    {"fw_context_params_init", c_params_init},
    {"fw_context_seq_clear", c_context},
    {"fw_context_seq_copy", c_context},
    {"fw_context_seq_len", c_context},
    {"fw_context_seq_truncate", c_context},
    {"fw_context_state_load", c_context},
    {"fw_context_state_load_file", c_context},
    {"fw_context_state_save", c_context},
    {"fw_context_state_save_file", c_context},
    {"fw_context_state_size", c_context},
    {"fw_detok_stream_flush", c_detok_stream},
    {"fw_detok_stream_free", c_detok_stream},
    {"fw_detok_stream_new", c_detok_stream},
    {"fw_detok_stream_push", c_detok_stream},
    {"fw_detokenize", c_detokenize},
    {"fw_event_to_json", c_event},
    {"fw_generate", c_generate},
    {"fw_generate_chat", c_generate},
    {"fw_generate_json", c_generate},
    {"fw_isa_best", c_isa},
    {"fw_isa_valid", c_isa},
    {"fw_last_error", c_status},
    {"fw_meta_type_name", c_types},
    {"fw_model_alignment", c_model_getters},
    {"fw_model_arch", c_model_getters},
    {"fw_model_data_offset", c_model_getters},
    {"fw_model_errmsg", c_model_getters},
    {"fw_model_free", c_model_free},
    {"fw_model_gguf_version", c_model_getters},
    {"fw_model_load", c_model_load},
    {"fw_model_load_from_memory", c_model_load},
    {"fw_model_load_json", c_model_load},
    {"fw_model_load_tiktoken", c_model_load},
    {"fw_model_meta_arr_f64", c_model_meta},
    {"fw_model_meta_arr_i64", c_model_meta},
    {"fw_model_meta_arr_str", c_model_meta},
    {"fw_model_meta_count", c_model_getters},
    {"fw_model_meta_find", c_model_getters},
    {"fw_model_meta_get_bool", c_model_meta},
    {"fw_model_meta_get_f64", c_model_meta},
    {"fw_model_meta_get_i64", c_model_meta},
    {"fw_model_meta_get_str", c_model_meta},
    {"fw_model_meta_key", c_model_getters},
    {"fw_model_meta_to_json", c_model_meta},
    {"fw_model_meta_type", c_model_meta},
    {"fw_model_n_ctx_train", c_model_getters},
    {"fw_model_n_embd", c_model_getters},
    {"fw_model_n_layer", c_model_getters},
    {"fw_model_n_vocab", c_model_getters},
    {"fw_model_params_init", c_params_init},
    {"fw_model_sampling_defaults_json", c_model_meta},
    {"fw_model_tensor_count", c_model_getters},
    {"fw_model_tensor_find", c_model_getters},
    {"fw_model_tensor_info", c_model_meta},
    {"fw_model_tensor_name", c_model_getters},
    {"fw_request_init", c_params_init},
    {"fw_request_prompt_json", c_prompt_json},
    {"fw_result_chat_template", c_result},
    {"fw_result_finish_reason", c_result},
    {"fw_result_free", c_result},
    {"fw_result_logprob", c_result},
    {"fw_result_n_choices", c_result},
    {"fw_result_prompt_text", c_result},
    {"fw_result_seed", c_result},
    {"fw_result_text", c_result},
    {"fw_result_to_json", c_result},
    {"fw_result_tokens", c_result},
    {"fw_result_usage", c_result},
    {"fw_sampler_accept", c_sampler},
    {"fw_sampler_apply", c_sampler},
    {"fw_sampler_chain_add", c_sampler},
    {"fw_sampler_chain_new", c_sampler},
    {"fw_sampler_chain_preset", c_sampler},
    {"fw_sampler_clone", c_sampler},
    {"fw_sampler_effective_json", c_sampler},
    {"fw_sampler_errmsg", c_sampler},
    {"fw_sampler_free", c_sampler},
    {"fw_sampler_n_stages", c_sampler},
    {"fw_sampler_new", c_sampler},
    {"fw_sampler_params_info", c_sampler_params},
    {"fw_sampler_params_init", c_params_init},
    {"fw_sampler_params_set_f", c_sampler_params},
    {"fw_sampler_params_set_i", c_sampler_params},
    {"fw_sampler_params_set_u64", c_sampler_params},
    {"fw_sampler_params_validate", c_sampler_params},
    {"fw_sampler_reset", c_sampler},
    {"fw_sampler_sample", c_sampler},
    {"fw_sampler_set_prompt", c_sampler},
    {"fw_sampler_stage_name", c_sampler},
    {"fw_set_allocator", c_set_allocator},
    {"fw_stage_apply", c_stages},
    {"fw_stage_custom", c_stages},
    {"fw_stage_dist", c_stages},
    {"fw_stage_free", c_stages},
    {"fw_stage_frequency_presence", c_stages},
    {"fw_stage_greedy", c_stages},
    {"fw_stage_logit_bias", c_stages},
    {"fw_stage_min_p", c_stages},
    {"fw_stage_mirostat_v1", c_stages},
    {"fw_stage_mirostat_v2", c_stages},
    {"fw_stage_name", c_stages},
    {"fw_stage_repetition_penalty", c_stages},
    {"fw_stage_temperature", c_stages},
    {"fw_stage_top_k", c_stages},
    {"fw_stage_top_p", c_stages},
    {"fw_stage_typical_p", c_stages},
    {"fw_status_str", c_status},
    {"fw_token_to_piece", c_vocab_text},
    {"fw_tokenize", c_tokenize},
    {"fw_type_block_info", c_types},
    {"fw_type_name", c_types},
    {"fw_version_number", c_version},
    {"fw_version_string", c_version},
    {"fw_vocab_adds_bos", c_model_getters},
    {"fw_vocab_adds_eos", c_model_getters},
    {"fw_vocab_find", c_model_getters},
    {"fw_vocab_is_eog", c_model_getters},
    {"fw_vocab_n_tokens", c_model_getters},
    {"fw_vocab_special", c_model_getters},
    {"fw_vocab_token_attr", c_model_getters},
    {"fw_vocab_token_text", c_vocab_text},
    {"fw_vocab_type", c_model_getters},
};
#define N_ROWS (sizeof table / sizeof table[0])

static const row *find_row(const char *name)
{
    for (size_t i = 0; i < N_ROWS; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

/* Every exported function (lib/fwinfer.symbols) has a row, and every row a
 * function. */
static void test_table_covers_symbols(void **state)
{
    (void)state;
    const char *path = FW_TEST_SRC "/../lib/fwinfer.symbols";
    char *text = tu_read_file(path, NULL);
    if (!text)
        fail_msg("cannot read %s", path);
    size_t n_syms = 0;
    int seen[N_ROWS];
    memset(seen, 0, sizeof seen);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        while (*line == ' ')
            line++;
        if (!*line || *line == '#')
            continue;
        const row *r = find_row(line);
        if (!r)
            fail_msg("exported function %s has no row in test_misuse.c", line);
        seen[r - table]++;
        n_syms++;
    }
    for (size_t i = 0; i < N_ROWS; i++)
        if (seen[i] != 1)
            fail_msg("row %s: %d entries in fwinfer.symbols", table[i].name, seen[i]);
    assert_int_equal(n_syms, N_ROWS);
    print_message("%zu exported functions, %zu rows\n", n_syms, N_ROWS);
    free(text);
}

static void test_misuse_every_function(void **state)
{
    (void)state;
    if (!M)
        print_message("shared test data not found: the checks that need a model are "
                      "skipped\n");
    void (*done[N_ROWS])(void);
    size_t n_done = 0;
    for (size_t i = 0; i < N_ROWS; i++) {
        int again = 0;
        for (size_t j = 0; j < n_done; j++)
            again |= done[j] == table[i].check;
        if (again)
            continue;
        table[i].check();
        done[n_done++] = table[i].check;
    }
    print_message("%d misuse checks over %zu functions, %d failed\n", n_checks, N_ROWS,
                  n_failed);
    assert_int_equal(n_failed, 0);
}

/* ------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    if (!f)
        return -1;
    cap_fd = dup(fileno(f));
    fclose(f);
    atexit(on_exit_check);
    if (fw_set_allocator(&qalloc) != FW_OK)
        return -1;
    /* freed handles of every kind */
    if (fw_sampler_new(NULL, NULL, &FSM) != FW_OK || fw_sampler_new(NULL, NULL, &SM) != FW_OK)
        return -1;
    fw_sampler_free(FSM);
    if (fw_stage_greedy(&FG) != FW_OK)
        return -1;
    fw_stage_free(FG);
    if (!tu_data_dir())
        return 0;
    if (fw_model_load(model_path(), NULL, &FM) != FW_OK)
        return -1;
    fw_model_free(FM);
    if (fw_model_load(model_path(), NULL, &M) != FW_OK)
        return -1;
    NV = fw_model_n_vocab(M);
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_ctx = 16;
    cp.n_threads = 1;
    cp.n_seq_max = 2;
    if (fw_context_new(M, &cp, &FC) != FW_OK)
        return -1;
    fw_context_free(FC);
    if (fw_context_new(M, &cp, &C) != FW_OK)
        return -1;
    static const char body[] = "{\"prompt\":\"Once\",\"max_tokens\":3,\"temperature\":0}";
    if (fw_generate_json(C, body, sizeof body - 1, NULL, 0, NULL, NULL, &FR) != FW_OK ||
        fw_generate_json(C, body, sizeof body - 1, NULL, 0, NULL, NULL, &R) != FW_OK)
        return -1;
    fw_result_free(FR);
    if (fw_detok_stream_new(M, 0, 1, &FD) != FW_OK || fw_detok_stream_new(M, 0, 1, &D) != FW_OK)
        return -1;
    fw_detok_stream_free(FD);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fw_detok_stream_free(D);
    fw_result_free(R);
    fw_context_free(C);
    fw_sampler_free(SM);
    fw_model_free(M);
    fw_status st = fw_set_allocator(NULL);
    while (quarantine) {
        qblock *b = quarantine;
        quarantine = b->next;
        free(b);
    }
    close(cap_fd);
    return st == FW_OK ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_covers_symbols),
        cmocka_unit_test(test_misuse_every_function),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
