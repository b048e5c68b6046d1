/*
 * test_error_paths.c - the error paths of the GGUF reader, the tokenizers
 * (GGUF vocabularies and tiktoken files) and the sampler parameters that
 * the other tests do not reach, each through the public API with the
 * status and the message it must give, plus the rarer success paths next
 * to them (byte fallback to <unk>, add_eos, phi-3 whitespace stripping,
 * detokenizer clean-up, truncated nested arrays).  Found with the coverage
 * report (.ci/run, coverage stage).  Out-of-memory paths are the
 * allocation-failure test's.
 */
#define _DEFAULT_SOURCE 1
#include "common/testutil.h"

#include <math.h>
#include <unistd.h>

#include "fwinfer.h"
#include "gguf_writer.h"

static uint8_t *image;  /* the last image built: the model refers to it */

static void free_image(void)
{
    free(image);
    image = NULL;
}

/* Finish w and load the image; returns the status, *out the model. */
static fw_status load_image(gw *w, const fw_model_params *mp, fw_model **out)
{
    size_t n;
    free_image();
    image = gw_finish(w, &n);
    gw_free(w);
    assert_non_null(image);
    return fw_model_load_from_memory(image, n, mp, out);
}

static void expect_error(fw_status got, fw_status want, const char *needle)
{
    if (got != want)
        fail_msg("status %d (%s), expected %d; message: %s", (int)got,
                 fw_status_str(got), (int)want, fw_last_error());
    if (needle && !strstr(fw_last_error(), needle))
        fail_msg("message \"%s\" does not mention \"%s\"", fw_last_error(), needle);
}

/* Loading must fail with `want` and a message containing `needle`. */
static void expect_load_error(gw *w, fw_status want, const char *needle)
{
    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.metadata_only = 1;
    fw_model *m = (fw_model *)&m;
    fw_status st = load_image(w, &mp, &m);
    assert_null(m);
    expect_error(st, want, needle);
    free_image();
}

/* ------------------------------------------------------------------------ */
/* GGUF reader                                                               */
/* ------------------------------------------------------------------------ */

static void test_gguf_key_too_long(void **state)
{
    (void)state;
    size_t len = 65536; /* one more than the limit */
    char *key = malloc(len + 1);
    assert_non_null(key);
    memset(key, 'k', len);
    key[len] = '\0';
    gw *w = gw_new(3, 32);
    gw_kv_u32(w, key, 1);
    free(key);
    expect_load_error(w, FW_E_FORMAT, "exceeds the limit of 65535 bytes");
}

static void test_gguf_bad_bools(void **state)
{
    (void)state;
    gw *w = gw_new(3, 32);
    const uint8_t two = 2;
    gw_kv_raw(w, "t.bool", FW_META_BOOL, &two, 1);
    expect_load_error(w, FW_E_FORMAT, "bool value 2 is neither 0 nor 1");

    w = gw_new(3, 32);
    const uint8_t bools[] = {0, 1, 7};
    gw_kv_arr(w, "t.bools", FW_META_BOOL, 3, bools);
    expect_load_error(w, FW_E_FORMAT, "element 2: bool value 7 is neither 0 nor 1");
}

static void test_gguf_unknown_value_type(void **state)
{
    (void)state;
    gw *w = gw_new(3, 32);
    const uint8_t v[8] = {0};
    gw_kv_raw(w, "t.odd", 99, v, sizeof v);
    expect_load_error(w, FW_E_FORMAT, "key 't.odd': unknown value type 99");
}

static void test_gguf_big_endian(void **state)
{
    (void)state;
    gw *w = gw_new(3, 32);
    gw_kv_u32(w, "general.alignment", 32);
    size_t n;
    uint8_t *img = gw_finish(w, &n);
    gw_free(w);
    assert_non_null(img);
    memcpy(img, "FUGG", 4);
    fw_model *m = (fw_model *)&m;
    expect_error(fw_model_load_from_memory(img, n, NULL, &m), FW_E_UNSUPPORTED,
                 "big-endian");
    assert_null(m);
    free(img);
}

static void test_gguf_tensor_size_overflow(void **state)
{
    (void)state;
    /* 2^31 x 2^31 F32 elements fit in int64, their 2^64 bytes do not */
    gw *w = gw_new(3, 32);
    gw_tensor_raw(w, "huge", 0, 2, (int64_t[]){INT64_C(1) << 31, INT64_C(1) << 31},
                  NULL, 0, 0);
    expect_load_error(w, FW_E_FORMAT, "tensor 'huge': byte size overflows");
}

static void test_gguf_empty_tensor_not_overlapping(void **state)
{
    (void)state;
    /* a tensor with a zero dimension has no bytes: it may share its offset
     * with another tensor */
    gw *w = gw_new(3, 32);
    gw_kv_str(w, "general.architecture", "none");
    float data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    gw_tensor_raw(w, "empty", 0, 2, (int64_t[]){8, 0}, NULL, 0, 0);
    gw_tensor(w, "full", 0, 1, (int64_t[]){8}, data);
    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.metadata_only = 1;
    fw_model *m = NULL;
    fw_status st = load_image(w, &mp, &m);
    if (st != FW_OK)
        fail_msg("%s", fw_last_error());
    assert_int_equal(fw_model_tensor_count(m), 2);
    uint64_t nb = 1;
    assert_int_equal(fw_model_tensor_info(m, fw_model_tensor_find(m, "empty"), NULL, NULL,
                                          NULL, NULL, &nb), FW_OK);
    assert_int_equal(nb, 0);
    fw_model_free(m);
    free_image();
}

/* [[1, 2], ["x", "yz"], [[3], [4, 5]]] shown with max_array_elems 1: the
 * elements that are cut still have to be measured to find the next. */
static void test_gguf_nested_array_json_cut(void **state)
{
    (void)state;
    const uint8_t nested[] = {
        9, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,                 /* array x 3 */
        1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2,           /* int8 x 2 */
        8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,                 /* string x 2 */
        1, 0, 0, 0, 0, 0, 0, 0, 'x',                        /* u64 length, bytes */
        2, 0, 0, 0, 0, 0, 0, 0, 'y', 'z',
        9, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,                 /* array x 2 */
        1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3,              /* int8 x 1 */
        1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 4, 5,           /* int8 x 2 */
    };
    gw *w = gw_new(3, 32);
    gw_kv_raw(w, "t.nested", FW_META_ARRAY, nested, sizeof nested);
    gw_kv_u8(w, "t.after", 42);
    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.metadata_only = 1;
    fw_model *m = NULL;
    if (load_image(w, &mp, &m) != FW_OK)
        fail_msg("%s", fw_last_error());
    char buf[256];
    size_t n;
    assert_int_equal(fw_model_meta_to_json(m, "t.nested", 1, buf, sizeof buf, &n), FW_OK);
    assert_string_equal(buf, "[[1,\"...(1 more)\"],\"...(2 more)\"]");
    assert_int_equal(fw_model_meta_to_json(m, "t.nested", -1, buf, sizeof buf, &n), FW_OK);
    assert_string_equal(buf, "[[1,2],[\"x\",\"yz\"],[[3],[4,5]]]");
    assert_int_equal(fw_model_meta_to_json(m, "t.after", -1, buf, sizeof buf, &n), FW_OK);
    assert_string_equal(buf, "42");
    fw_model_free(m);
    free_image();
}

/* ------------------------------------------------------------------------ */
/* GGUF vocabularies                                                         */
/* ------------------------------------------------------------------------ */

/* A tokenizer problem does not fail the load (the weights may still be
 * inspected): the tokenizer calls report it. */
static void expect_vocab_error(gw *w, fw_status want, const char *needle)
{
    fw_model *m = NULL;
    fw_status st = load_image(w, NULL, &m);
    if (st != FW_OK) {
        expect_error(st, want, needle);
        free_image();
        return;
    }
    assert_int_equal(fw_vocab_n_tokens(m), 0);
    fw_token t[4];
    size_t n;
    expect_error(fw_tokenize(m, "a", 1, 0, t, 4, &n), want, needle);
    char buf[8];
    expect_error(fw_detokenize(m, t, 0, 0, buf, sizeof buf, &n), want, needle);
    fw_model_free(m);
    free_image();
}

static gw *spm_writer(int n, const char *const *toks, const int32_t *types)
{
    gw *w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "llama");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", (uint64_t)n, toks);
    if (types)
        gw_kv_arr(w, "tokenizer.ggml.token_type", FW_META_INT32, (uint64_t)n, types);
    return w;
}

static void test_vocab_format_errors(void **state)
{
    (void)state;
    const char *toks[] = {"<unk>", "<s>", "</s>", "a"};

    gw *w = gw_new(3, 32);
    gw_kv_u32(w, "tokenizer.ggml.model", 1);
    expect_vocab_error(w, FW_E_FORMAT, "'tokenizer.ggml.model' must be a string");

    w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "unigram");
    expect_vocab_error(w, FW_E_UNSUPPORTED, "'unigram' is not supported");

    w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "llama");
    expect_vocab_error(w, FW_E_FORMAT, "key 'tokenizer.ggml.tokens' is missing");

    w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "llama");
    gw_kv_str(w, "tokenizer.ggml.tokens", "a");
    expect_vocab_error(w, FW_E_FORMAT, "'tokenizer.ggml.tokens' must be an array of string");

    w = spm_writer(4, toks, NULL);
    const int32_t iscores[4] = {0};
    gw_kv_arr(w, "tokenizer.ggml.scores", FW_META_INT32, 4, iscores);
    expect_vocab_error(w, FW_E_FORMAT, "'tokenizer.ggml.scores' must be an array of float32");

    w = spm_writer(4, toks, NULL);
    const float scores[3] = {0};
    gw_kv_arr(w, "tokenizer.ggml.scores", FW_META_FLOAT32, 3, scores);
    expect_vocab_error(w, FW_E_FORMAT, "has 3 elements but there are 4 tokens");

    w = spm_writer(0, toks, NULL);
    expect_vocab_error(w, FW_E_FORMAT, "tokenizer.ggml.tokens has 0 tokens");

    /* byte-level BPE: merges required, each "LEFT RIGHT", known pre */
    const char *btoks[] = {"a", "b", "ab"};
    w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "gpt2");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", 3, btoks);
    expect_vocab_error(w, FW_E_FORMAT, "key 'tokenizer.ggml.merges' is missing");

    const char *bad_merges[] = {"a b", "ab"};
    w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "gpt2");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", 3, btoks);
    gw_kv_arr_str(w, "tokenizer.ggml.merges", 2, bad_merges);
    expect_vocab_error(w, FW_E_FORMAT, "tokenizer.ggml.merges[1]: \"ab\" has no space");

    const char *merges[] = {"a b"};
    w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "gpt2");
    gw_kv_str(w, "tokenizer.ggml.pre", "no-such-pre");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", 3, btoks);
    gw_kv_arr_str(w, "tokenizer.ggml.merges", 1, merges);
    expect_vocab_error(w, FW_E_UNSUPPORTED, "'no-such-pre': unknown pre-tokenizer");
}

static void test_vocab_tokenize_arguments(void **state)
{
    (void)state;
    fw_token t[8];
    size_t n;
    char buf[16];
    expect_error(fw_tokenize(NULL, "a", 1, 0, t, 8, &n), FW_E_INVALID_ARG, "model is NULL");

    /* a model without a tokenizer */
    gw *w = gw_new(3, 32);
    gw_kv_str(w, "general.architecture", "none");
    fw_model *m = NULL;
    assert_int_equal(load_image(w, NULL, &m), FW_OK);
    expect_error(fw_tokenize(m, "a", 1, 0, t, 8, &n), FW_E_UNSUPPORTED, "no tokenizer");
    fw_model_free(m);

    const char *toks[] = {"<unk>", "<s>", "</s>", ("\xe2\x96\x81" "a"), "a"};
    const int32_t types[] = {2, 3, 3, 1, 1};
    assert_int_equal(load_image(spm_writer(5, toks, types), NULL, &m), FW_OK);
    expect_error(fw_tokenize(m, NULL, 1, 0, t, 8, &n), FW_E_INVALID_ARG, "text is NULL");
    expect_error(fw_tokenize(m, "a", 1, 0, NULL, 8, &n), FW_E_INVALID_ARG,
                 "tokens is NULL but cap is 8");
    expect_error(fw_tokenize(m, "a", 1, 0x80, t, 8, &n), FW_E_INVALID_ARG,
                 "unknown tokenize flags 0x80");
    expect_error(fw_detokenize(m, NULL, 2, 0, buf, sizeof buf, &n), FW_E_INVALID_ARG,
                 "tokens is NULL");
    expect_error(fw_vocab_token_text(m, 5, buf, sizeof buf, &n), FW_E_NOT_FOUND,
                 "token 5 out of range (vocabulary of 5)");
    expect_error(fw_vocab_token_text(m, -1, buf, sizeof buf, &n), FW_E_NOT_FOUND,
                 "out of range");
    /* no such specials in this vocabulary */
    assert_int_equal(fw_vocab_special(m, FW_SPECIAL_EOT), -1);
    assert_int_equal(fw_vocab_special(m, FW_SPECIAL_EOM), -1);
    assert_int_equal(fw_vocab_special(m, FW_SPECIAL_PAD), -1);
    assert_int_equal(fw_vocab_special(m, FW_SPECIAL_SEP), -1);
    assert_int_equal(fw_vocab_adds_eos(m), 0);
    assert_int_equal(fw_vocab_adds_eos(NULL), 0);

    expect_error(fw_detok_stream_new(m, 0, 0, NULL), FW_E_INVALID_ARG, "out is NULL");
    expect_error(fw_detok_stream_push(NULL, 1, buf, sizeof buf, &n), FW_E_INVALID_ARG,
                 "stream is NULL");
    expect_error(fw_detok_stream_flush(NULL, buf, sizeof buf, &n), FW_E_INVALID_ARG,
                 "stream is NULL");
    fw_model_free(m);
    free_image();
}

/* SPM without byte tokens: a character the vocabulary lacks falls back to
 * a single-byte token if there is one, else to <unk>.  add_eos adds (and
 * REMOVE_SPECIAL removes) the EOS. */
static void test_spm_fallbacks_and_eos(void **state)
{
    (void)state;
    const char *toks[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "\xc3"};
    const int32_t types[] = {2, 3, 3, 1, 1, 1};
    gw *w = spm_writer(6, toks, types);
    gw_kv_bool(w, "tokenizer.ggml.add_eos_token", 1);
    fw_model *m = NULL;
    assert_int_equal(load_image(w, NULL, &m), FW_OK);
    assert_int_equal(fw_vocab_adds_eos(m), 1);
    fw_token t[16];
    size_t n;
    /* "é" = C3 A9: C3 is a token, A9 is not (<unk>) */
    assert_int_equal(fw_tokenize(m, "a\xc3\xa9", 3, FW_TOKENIZE_ADD_SPECIAL, t, 16, &n), FW_OK);
    const fw_token want[] = {1, 3, 4, 5, 0, 2};
    assert_int_equal(n, 6);
    assert_memory_equal(t, want, sizeof want);
    char buf[64];
    assert_int_equal(fw_detokenize(m, t, n, FW_DETOK_REMOVE_SPECIAL, buf, sizeof buf, &n),
                     FW_OK);
    assert_null(strstr(buf, "</s>"));
    fw_model_free(m);
    free_image();
}

/* phi-3 vocabularies: control tokens swallow the whitespace after them. */
static void test_phi3_rstrip(void **state)
{
    (void)state;
    /* (two control tokens of the same length: the special-token matcher
     * orders them by id) */
    const char *toks[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", "<|end|>",
                          ("\xe2\x96\x81" "b"), "<|usr|>"};
    const int32_t types[] = {2, 3, 3, 1, 1, 1, 3, 1, 3};
    gw *w = spm_writer(9, toks, types);
    gw_kv_str(w, "general.name", "Phi-3 mini");
    fw_model *m = NULL;
    assert_int_equal(load_image(w, NULL, &m), FW_OK);
    assert_true(fw_vocab_token_attr(m, 6) & FW_TOKEN_ATTR_RSTRIP);
    assert_false(fw_vocab_token_attr(m, 0) & FW_TOKEN_ATTR_RSTRIP);
    fw_token t[16], u[16];
    size_t n, k;
    /* the spaces and the newline after <|end|> are gone: the same tokens
     * as without them */
    assert_int_equal(fw_tokenize(m, "a<|end|>  \n b", 13, FW_TOKENIZE_PARSE_SPECIAL, t, 16, &n),
                     FW_OK);
    assert_int_equal(fw_tokenize(m, "a<|end|>b", 9, FW_TOKENIZE_PARSE_SPECIAL, u, 16, &k),
                     FW_OK);
    assert_int_equal(n, k);
    assert_memory_equal(t, u, n * sizeof *t);
    assert_int_equal(t[2], 6);
    /* without special parsing the text stays text, spaces included */
    assert_int_equal(fw_tokenize(m, "a<|end|>  \n b", 13, 0, t, 16, &n), FW_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(t[i], 6);
    fw_model_free(m);
    free_image();
}

/* Byte-level BPE: small vocabularies (<= 11 tokens have no default BOS),
 * symbols without a token fall back to their bytes, the end-of-message and
 * other end-of-generation tokens are found by their text, code points
 * outside GPT-2's byte map are shown as llama.cpp shows them, and the
 * detokenizer's clean-up joins " 's" and " 're". */
static void test_bpe_small_vocab(void **state)
{
    (void)state;
    const char *toks[] = {"i", "t", "it", "\xc4\xa0's", "\xc4\xa0're", "\xe2\x82\xac",
                          "<|eom_id|>", "<|return|>", "x", "\xc3"};
    const char *merges[] = {"i t"};
    gw *w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "gpt2");
    gw_kv_str(w, "tokenizer.ggml.pre", "gpt-2");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", 10, toks);
    gw_kv_arr_str(w, "tokenizer.ggml.merges", 1, merges);
    fw_model *m = NULL;
    if (load_image(w, NULL, &m) != FW_OK)
        fail_msg("%s", fw_last_error());
    assert_int_equal(fw_vocab_special(m, FW_SPECIAL_BOS), -1);
    assert_int_equal(fw_vocab_special(m, FW_SPECIAL_EOM), 6);
    assert_true(fw_vocab_is_eog(m, 6));
    assert_true(fw_vocab_is_eog(m, 7));
    assert_false(fw_vocab_is_eog(m, 8));
    fw_token t[16];
    size_t n;
    /* "tix": no merge applies to "ix"; "t", "i", "x" are tokens */
    assert_int_equal(fw_tokenize(m, "tix", 3, 0, t, 16, &n), FW_OK);
    assert_int_equal(n, 3);
    assert_int_equal(t[0], 1);
    assert_int_equal(t[1], 0);
    assert_int_equal(t[2], 8);
    /* "xit" merges "i t" but the word "xit" is no token: its symbols are
     * looked up one by one */
    assert_int_equal(fw_tokenize(m, "xit", 3, 0, t, 16, &n), FW_OK);
    assert_int_equal(n, 2);
    assert_int_equal(t[0], 8);
    assert_int_equal(t[1], 2);
    /* "xz": no token for "z", nor for its byte: it is dropped, as
     * llama.cpp drops it.  "\xc3\x83" is byte-level "\xc3\x83\xc2\x83":
     * no token, but its first byte "\xc3" is one. */
    assert_int_equal(fw_tokenize(m, "xz", 2, 0, t, 16, &n), FW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(t[0], 8);
    assert_int_equal(fw_tokenize(m, "\xc3\x83", 2, 0, t, 16, &n), FW_OK);
    assert_true(n >= 1);
    assert_int_equal(t[0], 9);
    char buf[128];
    const fw_token seq[] = {2, 3, 2, 4};
    assert_int_equal(fw_detokenize(m, seq, 4, 0, buf, sizeof buf, &n), FW_OK);
    assert_string_equal(buf, "it'sit're");
    assert_int_equal(fw_detokenize(m, seq, 4, FW_DETOK_NO_CLEANUP, buf, sizeof buf, &n), FW_OK);
    assert_string_equal(buf, "it 'sit 're");
    /* U+20AC is not one of GPT-2's byte characters */
    assert_int_equal(fw_token_to_piece(m, 5, 0, buf, sizeof buf, &n), FW_OK);
    assert_string_equal(buf, "[UNK_BYTE_0xe282ac\xe2\x82\xac]");
    fw_model_free(m);
    free_image();
}

/* Pre-tokenizers without the GPT-2 byte mapping ("whitespace"): pieces
 * are looked up as raw UTF-8. */
static void test_bpe_raw_utf8_pieces(void **state)
{
    (void)state;
    const char *toks[] = {"a", "b", "ab", "\xc3\xa9", ("\xc3\xa9" "b")};
    const char *merges[] = {"a b", "\xc3\xa9 b"};
    gw *w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "gpt2");
    gw_kv_str(w, "tokenizer.ggml.pre", "whitespace");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", 5, toks);
    gw_kv_arr_str(w, "tokenizer.ggml.merges", 2, merges);
    fw_model *m = NULL;
    if (load_image(w, NULL, &m) != FW_OK)
        fail_msg("%s", fw_last_error());
    fw_token t[8];
    size_t n;
    assert_int_equal(fw_tokenize(m, "ab \xc3\xa9" "b", 6, 0, t, 8, &n), FW_OK);
    assert_int_equal(n, 2);
    assert_int_equal(t[0], 2);
    assert_int_equal(t[1], 4);
    fw_model_free(m);
    free_image();
}

/* ------------------------------------------------------------------------ */
/* tiktoken files                                                            */
/* ------------------------------------------------------------------------ */

static char tdir[] = "/tmp/fwinfer-errpaths-XXXXXX";

static void expect_tiktoken(const char *text, size_t len, fw_status want, const char *needle)
{
    char path[128];
    snprintf(path, sizeof path, "%s/t.tiktoken", tdir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    fw_model *m = (fw_model *)&m;
    fw_status st = fw_model_load_tiktoken(path, "llama-bpe", NULL, &m);
    if (want == FW_OK) {
        if (st != FW_OK)
            fail_msg("%s", fw_last_error());
        fw_model_free(m);
    } else {
        assert_null(m);
        expect_error(st, want, needle);
    }
    unlink(path);
}

#define TT(lit, want, needle) expect_tiktoken(lit, sizeof lit - 1, want, needle)

static void test_tiktoken_errors(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(tdir));
    TT("YQ== 0\nYg== 1\n", FW_OK, NULL);
    TT("YQ== 0\r\nYg== 2\r\n", FW_OK, NULL); /* CRLF, and a gap in the ranks */
    TT("YQ== 0\nYg==\n", FW_E_FORMAT, "line 2: expected \"BASE64 RANK\"");
    TT(" 0\n", FW_E_FORMAT, "line 1: expected \"BASE64 RANK\"");
    TT("YQ== \n", FW_E_FORMAT, "line 1: bad rank");
    TT("YQ== 123456789012345678901234\n", FW_E_FORMAT, "line 1: bad rank");
    TT("YQ== 12x\n", FW_E_FORMAT, "line 1: bad rank '12x'");
    TT("YQ== -1\n", FW_E_FORMAT, "line 1: rank -1 out of range");
    TT("YQ== 2147483647\n", FW_E_FORMAT, "out of range");
    TT("\n\n", FW_E_FORMAT, "tiktoken file has no tokens");
    TT("", FW_E_FORMAT, "file is empty");
    TT("YQ== 0\nYg== 100000\n", FW_E_FORMAT, "ranks go up to 100000 for 2 lines");
    TT("YQ== 0\n!!!! 1\n", FW_E_FORMAT, "line 2: invalid base64");
    TT("YQ== 0\nYg== 0\n", FW_E_FORMAT, "line 2: rank 0 given twice");
    /* a token of more than 1024 bytes (1368 base64 characters) */
    char *big = malloc(1400 + 8);
    assert_non_null(big);
    memset(big, 'Q', 1400);
    memcpy(big + 1400, " 0\n", 4);
    expect_tiktoken(big, 1403, FW_E_FORMAT, "line 1: token too long");
    free(big);
    fw_model *m = (fw_model *)&m;
    char path[160];
    snprintf(path, sizeof path, "%s/missing.tiktoken", tdir);
    assert_int_equal(fw_model_load_tiktoken(path, "llama-bpe", NULL, &m), FW_E_IO);
    assert_null(m);
    rmdir(tdir);
}

/* ------------------------------------------------------------------------ */
/* Sampler parameters                                                        */
/* ------------------------------------------------------------------------ */

static void test_sampler_params_errors(void **state)
{
    (void)state;
    fw_sampler_params p;
    fw_sampler_params_init(&p);
    expect_error(fw_sampler_params_set_f(NULL, "temperature", 1), FW_E_INVALID_ARG,
                 "params is NULL");
    expect_error(fw_sampler_params_set_i(NULL, "top_k", 1), FW_E_INVALID_ARG,
                 "params is NULL");
    expect_error(fw_sampler_params_set_u64(NULL, "seed", 1), FW_E_INVALID_ARG,
                 "params is NULL");
    expect_error(fw_sampler_params_validate(NULL, 0), FW_E_INVALID_ARG, "params is NULL");

    /* integer fields set through the float setter */
    assert_int_equal(fw_sampler_params_set_f(&p, "top_k", 17.0), FW_OK);
    assert_int_equal(p.top_k, 17);
    expect_error(fw_sampler_params_set_f(&p, "top_k", 1.5), FW_E_TYPE,
                 "top_k must be an integer, not 1.5");
    assert_int_equal(fw_sampler_params_set_f(&p, "seed", 4096.0), FW_OK);
    assert_true(p.has_seed);
    assert_int_equal(p.seed, 4096);
    expect_error(fw_sampler_params_set_f(&p, "seed", 18446744073709551616.0), FW_E_RANGE,
                 "seed");
    assert_int_equal(p.seed, 4096);
    /* float fields through the integer setters */
    assert_int_equal(fw_sampler_params_set_i(&p, "temperature", 2), FW_OK);
    assert_true(p.temperature == 2.0f);
    expect_error(fw_sampler_params_set_i(&p, "temperature", 3), FW_E_RANGE, "temperature");
    assert_int_equal(fw_sampler_params_set_u64(&p, "top_p", 1), FW_OK);
    assert_true(p.top_p == 1.0f);
    expect_error(fw_sampler_params_set_u64(&p, "top_p", 2), FW_E_RANGE, "top_p");
    expect_error(fw_sampler_params_set_u64(&p, "nope", 2), FW_E_NOT_FOUND, "'nope'");
    expect_error(fw_sampler_params_set_i(&p, "seed", -1), FW_E_RANGE, "seed");

    /* validate: a struct filled by hand */
    fw_sampler_params_init(&p);
    p.top_k = -2;
    expect_error(fw_sampler_params_validate(&p, 0), FW_E_RANGE, "top_k = -2");
    fw_sampler_params_init(&p);
    p.n_logit_bias = 2;
    expect_error(fw_sampler_params_validate(&p, 0), FW_E_INVALID_ARG,
                 "logit_bias is NULL but n_logit_bias is 2");
    fw_logit_bias b[2] = {{5, 1.0f}, {300, 1.0f}};
    p.logit_bias = b;
    assert_int_equal(fw_sampler_params_validate(&p, 0), FW_OK); /* n_vocab unknown */
    expect_error(fw_sampler_params_validate(&p, 256), FW_E_RANGE,
                 "token id 300 is out of range [0, 256)");
    b[1].token = -1;
    expect_error(fw_sampler_params_validate(&p, 0), FW_E_RANGE, "token id -1");
    b[1].token = 7;
    b[1].bias = NAN;
    expect_error(fw_sampler_params_validate(&p, 256), FW_E_RANGE, "for token 7");
    b[1].bias = 100.5f;
    expect_error(fw_sampler_params_validate(&p, 256), FW_E_RANGE, "[-100, 100]");
    b[1].bias = -100.0f;
    assert_int_equal(fw_sampler_params_validate(&p, 256), FW_OK);
    /* an older, shorter struct: the fields past struct_size are defaults */
    fw_sampler_params_init(&p);
    p.struct_size = 8;
    p.temperature = 99.0f; /* not read */
    assert_int_equal(fw_sampler_params_validate(&p, 0), FW_OK);
    p.struct_size = 3;
    assert_int_not_equal(fw_sampler_params_validate(&p, 0), FW_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gguf_key_too_long),
        cmocka_unit_test(test_gguf_bad_bools),
        cmocka_unit_test(test_gguf_unknown_value_type),
        cmocka_unit_test(test_gguf_big_endian),
        cmocka_unit_test(test_gguf_tensor_size_overflow),
        cmocka_unit_test(test_gguf_empty_tensor_not_overlapping),
        cmocka_unit_test(test_gguf_nested_array_json_cut),
        cmocka_unit_test(test_vocab_format_errors),
        cmocka_unit_test(test_vocab_tokenize_arguments),
        cmocka_unit_test(test_spm_fallbacks_and_eos),
        cmocka_unit_test(test_phi3_rstrip),
        cmocka_unit_test(test_bpe_small_vocab),
        cmocka_unit_test(test_bpe_raw_utf8_pieces),
        cmocka_unit_test(test_tiktoken_errors),
        cmocka_unit_test(test_sampler_params_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
