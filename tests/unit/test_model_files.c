/*
 * test_model_files.c - every GGUF in the shared data parses, with the known
 * values of ../shared/data/MANIFEST.md.
 */
#include "common/testutil.h"

#include "fwinfer.h"

static fw_model *load(const char *rel)
{
    fw_model *m = NULL;
    fw_status st = fw_model_load(tu_data_path(rel), NULL, &m);
    if (st != FW_OK)
        fail_msg("%s: %s", rel, fw_last_error());
    return m;
}

static int64_t geti(const fw_model *m, const char *key)
{
    int64_t v = -1;
    if (fw_model_meta_get_i64(m, key, &v) != FW_OK)
        fail_msg("%s: %s", key, fw_last_error());
    return v;
}

static void check_shape(const fw_model *m, const char *name, int32_t nd,
                        int64_t d0, int64_t d1)
{
    int64_t i = fw_model_tensor_find(m, name);
    if (i < 0)
        fail_msg("tensor %s missing", name);
    int32_t type, n_dims;
    int64_t dims[FW_MAX_DIMS];
    uint64_t off, nb;
    assert_int_equal(fw_model_tensor_info(m, i, &type, &n_dims, dims, &off, &nb), FW_OK);
    assert_int_equal(type, FW_TYPE_F32);
    assert_int_equal(n_dims, nd);
    assert_int_equal(dims[0], d0);
    assert_int_equal(dims[1], d1);
    assert_int_equal(nb, (uint64_t)(d0 * d1 * 4));
    assert_int_equal(off % 32, 0);
}

static void test_stories260k(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    fw_model *m = load("models/stories260K.gguf");
    assert_int_equal(fw_model_gguf_version(m), 3);
    assert_int_equal(fw_model_tensor_count(m), 48);
    assert_int_equal(fw_model_meta_count(m), 19);
    assert_int_equal(fw_model_alignment(m), 32);
    assert_int_equal(fw_model_data_offset(m), 14176);
    assert_string_equal(fw_model_arch(m), "llama");
    assert_int_equal(geti(m, "llama.context_length"), 2048);
    assert_int_equal(geti(m, "llama.embedding_length"), 64);
    assert_int_equal(geti(m, "llama.feed_forward_length"), 172);
    assert_int_equal(geti(m, "llama.attention.head_count"), 8);
    assert_int_equal(geti(m, "llama.attention.head_count_kv"), 4);
    assert_int_equal(geti(m, "llama.block_count"), 5);
    assert_int_equal(geti(m, "llama.rope.dimension_count"), 8);
    assert_int_equal(geti(m, "tokenizer.ggml.seperator_token_id"), 4294967295LL);
    double eps;
    assert_int_equal(fw_model_meta_get_f64(m, "llama.attention.layer_norm_rms_epsilon", &eps), FW_OK);
    assert_true(eps == (double)1e-5f);
    assert_int_equal(fw_model_meta_find(m, "llama.rope.freq_base"), -1);

    int32_t type, et;
    uint64_t n;
    assert_int_equal(fw_model_meta_type(m, "tokenizer.ggml.tokens", &type, &et, &n), FW_OK);
    assert_int_equal(type, FW_META_ARRAY);
    assert_int_equal(et, FW_META_STRING);
    assert_int_equal(n, 512);
    char buf[32];
    size_t need;
    assert_int_equal(fw_model_meta_arr_str(m, "tokenizer.ggml.tokens", 3, buf, sizeof buf, &need), FW_OK);
    assert_string_equal(buf, "<0x00>");
    assert_int_equal(fw_model_meta_arr_str(m, "tokenizer.ggml.tokens", 259, buf, sizeof buf, &need), FW_OK);
    assert_string_equal(buf, "\xe2\x96\x81t");
    double score;
    assert_int_equal(fw_model_meta_arr_f64(m, "tokenizer.ggml.scores", 260, &score), FW_OK);
    assert_true(score == -1.0);
    assert_int_equal(fw_model_meta_arr_f64(m, "tokenizer.ggml.scores", 511, &score), FW_OK);
    assert_true(score == -252.0);
    /* token types: NORMAL 253, UNKNOWN 1, CONTROL 2, BYTE 256 */
    int counts[8] = {0};
    for (uint64_t i = 0; i < 512; i++) {
        int64_t t;
        assert_int_equal(fw_model_meta_arr_i64(m, "tokenizer.ggml.token_type", i, &t), FW_OK);
        assert_true(t >= 0 && t < 8);
        counts[t]++;
    }
    assert_int_equal(counts[1], 253);
    assert_int_equal(counts[2], 1);
    assert_int_equal(counts[3], 2);
    assert_int_equal(counts[6], 256);

    check_shape(m, "token_embd.weight", 2, 64, 512);
    check_shape(m, "output.weight", 2, 64, 512);
    check_shape(m, "output_norm.weight", 1, 64, 1);
    char name[64];
    for (int l = 0; l < 5; l++) {
        snprintf(name, sizeof name, "blk.%d.attn_q.weight", l);
        check_shape(m, name, 2, 64, 64);
        snprintf(name, sizeof name, "blk.%d.attn_k.weight", l);
        check_shape(m, name, 2, 64, 32);
        snprintf(name, sizeof name, "blk.%d.attn_v.weight", l);
        check_shape(m, name, 2, 64, 32);
        snprintf(name, sizeof name, "blk.%d.attn_output.weight", l);
        check_shape(m, name, 2, 64, 64);
        snprintf(name, sizeof name, "blk.%d.ffn_gate.weight", l);
        check_shape(m, name, 2, 64, 172);
        snprintf(name, sizeof name, "blk.%d.ffn_up.weight", l);
        check_shape(m, name, 2, 64, 172);
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l);
        check_shape(m, name, 2, 172, 64);
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        check_shape(m, name, 1, 64, 1);
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
        check_shape(m, name, 1, 64, 1);
    }
    fw_model_free(m);
}

typedef struct vocab_case {
    const char *file, *model, *pre;
    uint64_t n_tokens, n_merges;
} vocab_case;

static void test_vocab_files(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    static const vocab_case cases[] = {
        {"ggml-vocab-llama-spm.gguf", "llama", "default", 32000, 0},
        {"ggml-vocab-phi-3.gguf", "llama", "default", 32064, 0},
        {"ggml-vocab-gpt-2.gguf", "gpt2", "gpt-2", 50257, 50000},
        {"ggml-vocab-deepseek-llm.gguf", "gpt2", "deepseek-llm", 102400, 99757},
        {"ggml-vocab-deepseek-coder.gguf", "gpt2", "deepseek-coder", 32256, 31757},
        {"ggml-vocab-falcon.gguf", "gpt2", "falcon", 65024, 64784},
        {"ggml-vocab-starcoder.gguf", "gpt2", "starcoder", 49152, 48872},
        {"ggml-vocab-refact.gguf", "gpt2", "refact", 49216, 48891},
        {"ggml-vocab-mpt.gguf", "gpt2", "mpt", 50432, 50009},
        {"ggml-vocab-bert-bge.gguf", "bert", "bert-bge", 30522, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const vocab_case *c = &cases[i];
        char rel[128];
        snprintf(rel, sizeof rel, "vocab/%s", c->file);
        fw_model *m = load(rel);
        assert_int_equal(fw_model_tensor_count(m), 0);
        char buf[64];
        size_t need;
        assert_int_equal(fw_model_meta_get_str(m, "tokenizer.ggml.model", buf, sizeof buf, &need), FW_OK);
        assert_string_equal(buf, c->model);
        assert_int_equal(fw_model_meta_get_str(m, "tokenizer.ggml.pre", buf, sizeof buf, &need), FW_OK);
        assert_string_equal(buf, c->pre);
        int32_t type, et;
        uint64_t n;
        assert_int_equal(fw_model_meta_type(m, "tokenizer.ggml.tokens", &type, &et, &n), FW_OK);
        assert_int_equal(n, c->n_tokens);
        if (c->n_merges) {
            assert_int_equal(fw_model_meta_type(m, "tokenizer.ggml.merges", &type, &et, &n), FW_OK);
            assert_int_equal(et, FW_META_STRING);
            assert_int_equal(n, c->n_merges);
        }
        /* every string of the vocabulary is reachable */
        for (uint64_t t = 0; t < c->n_tokens; t += 997)
            assert_int_equal(fw_model_meta_arr_str(m, "tokenizer.ggml.tokens", t, NULL, 0, &need) == FW_OK ||
                             need > 0, 1);
        fw_model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stories260k),
        cmocka_unit_test(test_vocab_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
