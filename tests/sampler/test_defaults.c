/*
 * test_defaults.c - a model's sampling defaults: the real generation
 * configs of ../shared/data/generation_configs, GGUF general.sampling.*
 * keys written by the project's GGUF writer, their priority, the
 * fireworks-sampling-options JSON, end tokens from eos_token_id, and bad
 * config files.
 */
#define _DEFAULT_SOURCE 1
#include "common/testutil.h"

#include <math.h>
#include <unistd.h>

#include "fwinfer.h"
#include "gguf_writer.h"

static fw_model *load_with(const char *config)
{
    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.generation_config = config;
    fw_model *m;
    if (fw_model_load(tu_data_path("models/stories260K.gguf"), &mp, &m) != FW_OK)
        fail_msg("%s", fw_last_error());
    return m;
}

static void expect_json(const fw_model *m, const char *want)
{
    char buf[256];
    size_t n;
    assert_int_equal(fw_model_sampling_defaults_json(m, buf, sizeof buf, &n), FW_OK);
    assert_string_equal(buf, want);
}

static void test_real_configs(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    static const struct { const char *file, *json; } cases[] = {
        {"Qwen3-4B.json", "{\"temperature\":0.6,\"top_k\":20,\"top_p\":0.95}"},
        {"Qwen2.5-VL-7B-Instruct.json", "{\"temperature\":0.1,\"top_k\":1,\"top_p\":0.001}"},
        {"Qwen-VL-Chat-Int4.json", "{\"top_k\":0,\"top_p\":0.5}"},
        {"Qwen-1_8B-Chat.json", "{\"top_k\":0,\"top_p\":0.8}"},
        {"TinyLlama-1.1B-Chat-v1.0.json", "{}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "generation_configs/%s", cases[i].file);
        char path[4096];
        snprintf(path, sizeof path, "%s", tu_data_path(rel));
        fw_model *m = load_with(path);
        expect_json(m, cases[i].json);
        fw_model_free(m);
    }
    /* the defaults reach the sampler; the request wins over them */
    char path[4096];
    snprintf(path, sizeof path, "%s", tu_data_path("generation_configs/Qwen3-4B.json"));
    fw_model *m = load_with(path);
    fw_sampler_params p;
    fw_sampler_params_init(&p);
    p.top_k = 5;
    fw_sampler *s;
    assert_int_equal(fw_sampler_new(m, &p, &s), FW_OK);
    char json[512];
    size_t n;
    assert_int_equal(fw_sampler_effective_json(s, json, sizeof json, &n), FW_OK);
    assert_non_null(strstr(json, "\"temperature\":0.6,\"top_k\":5,\"top_p\":0.95,\"min_p\":0,"));
    /* repetition_penalty in a config is not a default (neutral stays) */
    assert_non_null(strstr(json, "\"repetition_penalty\":1,"));
    fw_sampler_free(s);
    fw_model_free(m);
    /* no config: nothing from it ("" = none) */
    m = load_with("");
    expect_json(m, "{}");
    fw_model_free(m);
}

static void test_gguf_keys_and_priority(void **state)
{
    (void)state;
    gw *w = gw_new(3, 32);
    gw_kv_str(w, "general.architecture", "llama");
    gw_kv_f32(w, "general.sampling.temp", 0.7f);
    gw_kv_i32(w, "general.sampling.top_k", 40);
    gw_kv_f32(w, "general.sampling.top_p", 0.9f);
    gw_kv_f32(w, "general.sampling.min_p", 0.05f);
    size_t size;
    uint8_t *img = gw_finish(w, &size);
    gw_free(w);
    /* a private folder: a generation_config.json written here must not be
     * found by other tests loading models from /tmp */
    char dir[] = "/tmp/fwinfer-defaults-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[4096];
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    assert_int_equal(gw_write_file(path, img, size), 0);
    free(img);
    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.generation_config = "";
    fw_model *m;
    assert_int_equal(fw_model_load(path, &mp, &m), FW_OK);
    expect_json(m, "{\"temperature\":0.7,\"top_k\":40,\"top_p\":0.9,\"min_p\":0.05}");
    fw_model_free(m);
    /* a generation config next to the model file wins over the GGUF keys;
     * keys it lacks still come from GGUF; eos_token_id adds end tokens */
    char cfg[4096];
    const char *slash = strrchr(path, '/');
    snprintf(cfg, sizeof cfg, "%.*s/generation_config.json", (int)(slash - path), path);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fputs("{\"temperature\": 1.2, \"typical_p\": 0.9, \"eos_token_id\": [5, 7]}", f);
    fclose(f);
    assert_int_equal(fw_model_load(path, NULL, &m), FW_OK);
    expect_json(m, "{\"temperature\":1.2,\"top_k\":40,\"top_p\":0.9,\"min_p\":0.05,"
                   "\"typical_p\":0.9}");
    assert_int_equal(fw_vocab_is_eog(m, 5), 0); /* no vocabulary: no end tokens */
    fw_model_free(m);
    /* a malformed config fails the load, naming the file and the place */
    f = fopen(cfg, "w");
    fputs("{\"temperature\": 1.2,,}", f);
    fclose(f);
    assert_int_equal(fw_model_load(path, NULL, &m), FW_E_FORMAT);
    assert_non_null(strstr(fw_last_error(), "generation_config.json"));
    f = fopen(cfg, "w");
    fputs("{\"top_k\": \"forty\"}", f);
    fclose(f);
    assert_int_equal(fw_model_load(path, NULL, &m), FW_E_FORMAT);
    assert_non_null(strstr(fw_last_error(), "top_k"));
    unlink(cfg);
    unlink(path);
    rmdir(dir);
}

static void test_eos_from_config(void **state)
{
    (void)state;
    TU_REQUIRE_DATA();
    char cfg[] = "/tmp/fwinfer-gencfg-XXXXXX";
    int fd = mkstemp(cfg);
    assert_true(fd >= 0);
    const char *text = "{\"eos_token_id\": [13, 2]}";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    fw_model *m = load_with(cfg);
    assert_int_equal(fw_vocab_is_eog(m, 13), 1); /* "\n" now ends generation */
    assert_int_equal(fw_vocab_is_eog(m, 2), 1);
    assert_int_equal(fw_vocab_is_eog(m, 14), 0);
    fw_model_free(m);
    unlink(cfg);
    /* a config path that does not exist is an error */
    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.generation_config = cfg;
    assert_int_equal(fw_model_load(tu_data_path("models/stories260K.gguf"), &mp, &m), FW_E_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_configs),
        cmocka_unit_test(test_gguf_keys_and_priority),
        cmocka_unit_test(test_eos_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
