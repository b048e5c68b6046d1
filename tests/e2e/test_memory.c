/*
 * test_memory.c - weights are mapped, not copied: while a ~110 MB F16
 * model (written by the project's GGUF writer) generates, the process's
 * anonymous memory grows by less than KV cache + scratch + 64 MiB.
 * Linux only (reads RssAnon from /proc/self/status).
 */
#define _DEFAULT_SOURCE 1
#include "common/testutil.h"

#include <unistd.h>

#include "fwinfer.h"
#include "gguf_llama.h"

static double rss_anon_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    double v = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "RssAnon:", 8))
            v = strtod(line + 8, NULL) / 1024.0;
    fclose(f);
    return v;
}

static void test_weights_mapped(void **state)
{
    (void)state;
    if (rss_anon_mib() < 0) {
        print_message("SKIPPED: no /proc/self/status RssAnon\n");
        skip();
    }
    char dir[] = "/tmp/fwinfer-mem-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    gw_llama_spec s;
    gw_llama_spec_init(&s);
    s.n_embd = 1024, s.n_layer = 3, s.n_head = 16, s.n_head_kv = 4, s.n_ff = 2816;
    s.n_vocab = 16000, s.type = 1; /* F16: about 110 MB */
    assert_int_equal(gw_llama_write(&s, path), 0);
    double before = rss_anon_mib();
    fw_model *m;
    assert_int_equal(fw_model_load(path, NULL, &m), FW_OK);
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_ctx = 256;
    cp.n_threads = 2;
    cp.n_batch = 64;
    fw_context *c;
    assert_int_equal(fw_context_new(m, &cp, &c), FW_OK);
    fw_token p[32];
    for (int i = 0; i < 32; i++)
        p[i] = 300 + i * 7;
    assert_int_equal(fw_context_eval(c, 0, 0, p, 32, 0), FW_OK);
    for (int i = 0; i < 8; i++) {
        fw_token t = 400 + i;
        assert_int_equal(fw_context_eval(c, 0, 32 + i, &t, 1, 0), FW_OK);
    }
    double after = rss_anon_mib();
    /* KV: layers x n_ctx x kv_dim x 2 (K, V) x 2 bytes; scratch: n_batch rows
     * of the widest activations plus n_vocab logits */
    double kv = 3.0 * 256 * (4 * 64) * 2 * 2 / (1 << 20);
    double scratch = 64.0 * (2816 * 3 + 1024 * 6 + 16000) * 4 / (1 << 20);
    double file_mib = 0;
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    file_mib = (double)ftell(f) / (1 << 20);
    fclose(f);
    print_message("model %.0f MiB; anonymous memory grew %.1f MiB (KV %.1f, scratch "
                  "%.1f, allowance 64)\n", file_mib, after - before, kv, scratch);
    assert_true(after - before < kv + scratch + 64);
    assert_true(file_mib > kv + scratch + 64); /* the check can tell a copy */
    fw_context_free(c);
    fw_model_free(m);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights_mapped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
