/*
 * gen_fuzz_seeds - writes the GGUF fuzz seed corpus with the project's GGUF
 * writer:   gen_fuzz_seeds OUT_DIR
 * (The committed corpus in tests/fuzz/corpus/gguf was made with it.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_writer.h"

static int save(const char *dir, const char *name, gw *w)
{
    size_t size;
    uint8_t *d = gw_finish(w, &size);
    gw_free(w);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = d ? gw_write_file(path, d, size) : -1;
    free(d);
    if (rc)
        fprintf(stderr, "gen_fuzz_seeds: cannot write %s\n", path);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int rc = 0;

    /* 1. every scalar type, strings, arrays, nested arrays, three tensors */
    gw *w = gw_new(3, 32);
    gw_kv_str(w, "general.architecture", "llama");
    gw_kv_u8(w, "a.u8", 7);
    gw_kv_i8(w, "a.i8", -7);
    gw_kv_u16(w, "a.u16", 700);
    gw_kv_i16(w, "a.i16", -700);
    gw_kv_u32(w, "a.u32", 70000);
    gw_kv_i32(w, "a.i32", -70000);
    gw_kv_u64(w, "a.u64", 1ull << 40);
    gw_kv_i64(w, "a.i64", -(1ll << 40));
    gw_kv_f32(w, "a.f32", 0.5f);
    gw_kv_f64(w, "a.f64", 0.25);
    gw_kv_bool(w, "a.bool", 1);
    const char *toks[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81hi", "a b"};
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", 5, toks);
    const float scores[] = {0, 0, 0, -1, -2};
    gw_kv_arr(w, "tokenizer.ggml.scores", 6, 5, scores);
    const uint8_t nested[] = {9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                              4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0};
    gw_kv_raw(w, "a.nested", 9, nested, sizeof nested);
    float f[16] = {1, -1, 2};
    gw_tensor(w, "t.f32", 0, 2, (int64_t[]){4, 4}, f);
    gw_tensor(w, "t.q4", 2, 1, (int64_t[]){32}, NULL);
    gw_tensor(w, "t.f16", 1, 3, (int64_t[]){2, 2, 2}, NULL);
    rc |= save(dir, "seed-all-types.bin", w);

    /* 2. version 2, custom alignment */
    w = gw_new(2, 64);
    gw_kv_u32(w, "general.alignment", 64);
    gw_kv_str(w, "general.name", "v2");
    gw_tensor(w, "x", 8, 2, (int64_t[]){32, 3}, NULL);
    gw_tensor(w, "y", 30, 1, (int64_t[]){8}, NULL);
    rc |= save(dir, "seed-v2-align64.bin", w);

    /* 3. vocabulary only */
    w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "gpt2");
    const char *merges[] = {"a b", "ab c"};
    gw_kv_arr_str(w, "tokenizer.ggml.merges", 2, merges);
    const int32_t types[] = {1, 3, 6};
    gw_kv_arr(w, "tokenizer.ggml.token_type", 5, 3, types);
    rc |= save(dir, "seed-vocab.bin", w);

    /* 4. header only */
    w = gw_new(3, 32);
    rc |= save(dir, "seed-empty.bin", w);

    /* 5. K-quant shapes */
    w = gw_new(3, 32);
    gw_tensor(w, "k4", 12, 2, (int64_t[]){256, 2}, NULL);
    gw_tensor(w, "k6", 14, 1, (int64_t[]){256}, NULL);
    rc |= save(dir, "seed-kquants.bin", w);
    return rc ? 1 : 0;
}
