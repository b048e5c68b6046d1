/*
 * test_vectors.c - the tokenizers against llama.cpp's test vectors
 * (../shared/data/vocab/ggml-vocab-*.gguf.inp/.out, add_special = false,
 * parse_special = false), read directly from the shared data; the Llama 3
 * and Qwen2 vectors through their tiktoken rank files.  Also round trips,
 * pieces, special tokens and the streaming detokenizer.
 */
#include "common/testutil.h"

#include "fwinfer.h"

#define SEP "\n__ggml_vocab_test__\n"

typedef struct cases {
    char *inp_buf;
    const char *text[64];
    size_t len[64];
    char *out_buf;
    int n;
} cases;

static int load_cases(const char *vocab, cases *c)
{
    char rel[256];
    size_t n;
    snprintf(rel, sizeof rel, "vocab/%s.inp", vocab);
    c->inp_buf = tu_read_file(tu_data_path(rel), &n);
    snprintf(rel, sizeof rel, "vocab/%s.out", vocab);
    c->out_buf = tu_read_file(tu_data_path(rel), NULL);
    if (!c->inp_buf || !c->out_buf)
        return -1;
    c->n = 0;
    char *p = c->inp_buf, *end = c->inp_buf + n;
    while (p < end && c->n < 64) {
        char *s = strstr(p, SEP);
        if (!s)
            break;
        c->text[c->n] = p;
        c->len[c->n] = (size_t)(s - p);
        c->n++;
        p = s + strlen(SEP);
    }
    return 0;
}

/* The expected ids of case i: the i-th line of the .out file. */
static int expected_ids(const char *vocab, int i, int *ids, int cap)
{
    char rel[256];
    snprintf(rel, sizeof rel, "vocab/%s.out", vocab);
    char *buf = tu_read_file(tu_data_path(rel), NULL);
    assert_non_null(buf);
    char *line = buf;
    for (int k = 0; k < i; k++) {
        line = strchr(line, '\n');
        assert_non_null(line);
        line++;
    }
    int n = 0;
    char *p = line;
    while (*p && *p != '\n') {
        while (*p == ' ')
            p++;
        if (*p == '\n' || !*p)
            break;
        ids[n++] = (int)strtol(p, &p, 10);
        assert_true(n <= cap);
    }
    free(buf);
    return n;
}

static int check_vocab(fw_model *m, const char *vocab, int lossless)
{
    cases c = {0};
    assert_int_equal(load_cases(vocab, &c), 0);
    assert_int_equal(c.n, 46);
    int failures = 0;
    for (int i = 0; i < c.n; i++) {
        int want[512];
        int nw = expected_ids(vocab, i, want, 512);
        fw_token got[512];
        size_t ng = 0;
        fw_status st = fw_tokenize(m, c.text[i], c.len[i], 0, got, 512, &ng);
        assert_int_equal(st, FW_OK);
        int same = (int)ng == nw;
        for (int k = 0; same && k < nw; k++)
            same = got[k] == want[k];
        if (!same) {
            failures++;
            print_message("%s case %d: got %zu tokens, want %d\n", vocab, i, ng, nw);
        }
        if (lossless && same) {
            char text[4096];
            size_t need;
            assert_int_equal(fw_detokenize(m, got, ng, FW_DETOK_NO_CLEANUP, text,
                                           sizeof text, &need), FW_OK);
            if (need != c.len[i] || memcmp(text, c.text[i], need) != 0) {
                failures++;
                print_message("%s case %d: round trip differs\n", vocab, i);
            }
        }
    }
    free(c.inp_buf);
    free(c.out_buf);
    return failures;
}

static void run_gguf(const char *vocab, int lossless)
{
    TU_REQUIRE_DATA();
    char rel[256];
    snprintf(rel, sizeof rel, "vocab/%s", vocab);
    fw_model *m;
    if (fw_model_load(tu_data_path(rel), NULL, &m) != FW_OK)
        fail_msg("%s", fw_last_error());
    int f = check_vocab(m, vocab, lossless);
    fw_model_free(m);
    assert_int_equal(f, 0);
}

static void test_llama_spm(void **s) { (void)s; run_gguf("ggml-vocab-llama-spm.gguf", 1); }
static void test_phi3(void **s) { (void)s; run_gguf("ggml-vocab-phi-3.gguf", 1); }
static void test_gpt2(void **s) { (void)s; run_gguf("ggml-vocab-gpt-2.gguf", 1); }
static void test_deepseek_llm(void **s) { (void)s; run_gguf("ggml-vocab-deepseek-llm.gguf", 1); }
static void test_deepseek_coder(void **s) { (void)s; run_gguf("ggml-vocab-deepseek-coder.gguf", 1); }
static void test_falcon(void **s) { (void)s; run_gguf("ggml-vocab-falcon.gguf", 1); }
static void test_starcoder(void **s) { (void)s; run_gguf("ggml-vocab-starcoder.gguf", 1); }
static void test_refact(void **s) { (void)s; run_gguf("ggml-vocab-refact.gguf", 1); }
static void test_mpt(void **s) { (void)s; run_gguf("ggml-vocab-mpt.gguf", 1); }

static void run_tiktoken(const char *ranks, const char *pre, const char *vocab)
{
    TU_REQUIRE_DATA();
    char rel[256];
    snprintf(rel, sizeof rel, "vocab/%s", ranks);
    fw_model *m;
    if (fw_model_load_tiktoken(tu_data_path(rel), pre, NULL, &m) != FW_OK)
        fail_msg("%s", fw_last_error());
    int f = check_vocab(m, vocab, 1);
    fw_model_free(m);
    assert_int_equal(f, 0);
}

static void test_llama3_tiktoken(void **s)
{
    (void)s;
    run_tiktoken("llama3.tiktoken", "llama-bpe", "ggml-vocab-llama-bpe.gguf");
}

static void test_qwen2_tiktoken(void **s)
{
    (void)s;
    run_tiktoken("qwen.tiktoken", "qwen2", "ggml-vocab-qwen2.gguf");
}

static void test_stories260k(void **s)
{
    (void)s;
    TU_REQUIRE_DATA();
    fw_model *m;
    assert_int_equal(fw_model_load(tu_data_path("models/stories260K.gguf"), NULL, &m), FW_OK);
    assert_string_equal(fw_vocab_type(m), "spm");
    assert_int_equal(fw_vocab_n_tokens(m), 512);
    assert_int_equal(fw_vocab_special(m, FW_SPECIAL_BOS), 1);
    assert_int_equal(fw_vocab_special(m, FW_SPECIAL_EOS), 2);
    assert_int_equal(fw_vocab_special(m, FW_SPECIAL_UNK), 0);
    assert_int_equal(fw_vocab_special(m, FW_SPECIAL_NL), 13);
    assert_int_equal(fw_vocab_adds_bos(m), 1);
    assert_int_equal(fw_vocab_is_eog(m, 2), 1);
    assert_int_equal(fw_vocab_is_eog(m, 3), 0);
    const char *text = "Once upon a time";
    fw_token t[16];
    size_t n;
    assert_int_equal(fw_tokenize(m, text, strlen(text), FW_TOKENIZE_ADD_SPECIAL, t, 16, &n), FW_OK);
    assert_int_equal(n, 5);
    int want[] = {1, 403, 407, 261, 378};
    for (int i = 0; i < 5; i++)
        assert_int_equal(t[i], want[i]);
    /* a too-small buffer gets the prefix and the size */
    fw_token small[2];
    assert_int_equal(fw_tokenize(m, text, strlen(text), FW_TOKENIZE_ADD_SPECIAL, small, 2, &n), FW_E_BUFFER_TOO_SMALL);
    assert_int_equal(n, 5);
    assert_int_equal(small[1], 403);
    /* pieces and detokenization */
    char buf[128];
    size_t need;
    assert_int_equal(fw_token_to_piece(m, 403, 0, buf, sizeof buf, &need), FW_OK);
    assert_string_equal(buf, " Once");
    assert_int_equal(fw_token_to_piece(m, 13, 0, buf, sizeof buf, &need), FW_OK);
    assert_string_equal(buf, "\n");
    assert_int_equal(fw_token_to_piece(m, 1, 0, buf, sizeof buf, &need), FW_OK);
    assert_string_equal(buf, "");
    assert_int_equal(fw_token_to_piece(m, 1, FW_DETOK_UNPARSE_SPECIAL, buf, sizeof buf, &need), FW_OK);
    assert_string_equal(buf, "<s>");
    assert_int_equal(fw_token_to_piece(m, 512, 0, buf, sizeof buf, &need), FW_E_RANGE);
    assert_int_equal(fw_detokenize(m, t, 5, FW_DETOK_REMOVE_SPECIAL, buf, sizeof buf, &need), FW_OK);
    assert_string_equal(buf, " Once upon a time");
    assert_int_equal(fw_detokenize(m, t + 1, 4, 0, buf, sizeof buf, &need), FW_OK);
    assert_string_equal(buf, "Once upon a time");
    /* special-token text: parsed only with PARSE_SPECIAL */
    const char *sp = "</s>Once";
    assert_int_equal(fw_tokenize(m, sp, strlen(sp), FW_TOKENIZE_PARSE_SPECIAL, t, 16, &n), FW_OK);
    assert_int_equal(t[0], 2);
    assert_int_equal(t[1], 403); /* a space is prefixed after a special token */
    assert_int_equal(fw_tokenize(m, sp, strlen(sp), 0, t, 16, &n), FW_OK);
    assert_true(n > 2);
    assert_int_not_equal(t[0], 2);
    /* invalid UTF-8 never fails */
    const char bad[] = "a\xff\xfe\xc3 b\xe2\x82";
    assert_int_equal(fw_tokenize(m, bad, sizeof bad - 1, 0, t, 16, &n), FW_OK);
    assert_true(n > 0);
    fw_model_free(m);
}

static void test_stream_detok(void **s)
{
    (void)s;
    TU_REQUIRE_DATA();
    fw_model *m;
    assert_int_equal(fw_model_load(tu_data_path("vocab/ggml-vocab-llama-spm.gguf"), NULL, &m), FW_OK);
    /* "我" is split into byte tokens by the SPM vocab?  Use text with a
     * character that falls back to bytes: U+1F999 (🦙) */
    const char *text = "a 🦙 b";
    fw_token t[32];
    size_t n;
    assert_int_equal(fw_tokenize(m, text, strlen(text), 0, t, 32, &n), FW_OK);
    fw_detok_stream *ds;
    assert_int_equal(fw_detok_stream_new(m, 0, 1, &ds), FW_OK);
    char out[256] = "";
    size_t total = 0;
    int saw_partial_hold = 0;
    for (size_t i = 0; i < n; i++) {
        char piece[64];
        size_t need;
        assert_int_equal(fw_detok_stream_push(ds, t[i], piece, sizeof piece, &need), FW_OK);
        /* every emitted chunk is valid UTF-8 on its own */
        for (size_t k = 0; k < need;) {
            unsigned char c = (unsigned char)piece[k];
            size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
            assert_true(k + l <= need);
            k += l;
        }
        if (need == 0)
            saw_partial_hold = 1;
        memcpy(out + total, piece, need);
        total += need;
    }
    char tail[32];
    size_t need;
    assert_int_equal(fw_detok_stream_flush(ds, tail, sizeof tail, &need), FW_OK);
    assert_int_equal(need, 0);
    out[total] = '\0';
    assert_string_equal(out, text);
    assert_true(saw_partial_hold);
    /* an incomplete character at the end comes out as U+FFFD */
    fw_token b0 = fw_vocab_find(m, "<0xF0>", 6);
    assert_true(b0 >= 0);
    char piece[16];
    assert_int_equal(fw_detok_stream_push(ds, b0, piece, sizeof piece, &need), FW_OK);
    assert_int_equal(need, 0);
    assert_int_equal(fw_detok_stream_flush(ds, tail, sizeof tail, &need), FW_OK);
    assert_string_equal(tail, "\xef\xbf\xbd");
    fw_detok_stream_free(ds);
    fw_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stories260k),
        cmocka_unit_test(test_stream_detok),
        cmocka_unit_test(test_llama_spm),
        cmocka_unit_test(test_phi3),
        cmocka_unit_test(test_gpt2),
        cmocka_unit_test(test_deepseek_llm),
        cmocka_unit_test(test_deepseek_coder),
        cmocka_unit_test(test_falcon),
        cmocka_unit_test(test_starcoder),
        cmocka_unit_test(test_refact),
        cmocka_unit_test(test_mpt),
        cmocka_unit_test(test_llama3_tiktoken),
        cmocka_unit_test(test_qwen2_tiktoken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
