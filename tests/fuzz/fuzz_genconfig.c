/* fuzz_genconfig.c - libFuzzer target: arbitrary bytes as a model's
 * generation_config.json (sampling defaults, extra end-of-generation ids),
 * loaded with a small tokenizer-only model (the project's GGUF writer).
 * A malformed file fails the load with FW_E_FORMAT (or FW_E_NOMEM) and a
 * message naming the file; an accepted one gives defaults JSON that parses
 * as an object. Never a crash, leak or hang. The input goes through a
 * temporary file (the parameter is a path). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fwinfer.h"
#include "gguf_writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "fuzz_genconfig: %s:%d: check failed: %s\n",      \
                    __FILE__, __LINE__, #c);                                  \
            abort();                                                          \
        }                                                                     \
    } while (0)

static uint8_t *img;
static size_t img_size;
static char path[64];

static void build(void)
{
    const char *toks[8] = {"<unk>", "<s>", "</s>", "a", "b", "ab", "\xe2\x96\x81", "ba"};
    float scores[8] = {0, 0, 0, -1, -2, -3, -4, -5};
    int32_t types[8] = {2, 3, 3, 1, 1, 1, 1, 1};
    gw *w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "llama");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", 8, toks);
    gw_kv_arr(w, "tokenizer.ggml.scores", 6, 8, scores);
    gw_kv_arr(w, "tokenizer.ggml.token_type", 5, 8, types);
    img = gw_finish(w, &img_size);
    gw_free(w);
    CHECK(img != NULL);
    snprintf(path, sizeof path, "/tmp/fuzz_genconfig_%ld.json", (long)getpid());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!img)
        build();
    if (size > 65536)
        return 0;
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    size_t wrote = fwrite(data, 1, size, f);
    if (fclose(f) != 0 || wrote != size)
        return 0;
    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.generation_config = path;
    fw_model *m = NULL;
    fw_status st = fw_model_load_from_memory(img, img_size, &mp, &m);
    if (st == FW_OK) {
        char buf[1024];
        size_t n = 0;
        CHECK(fw_model_sampling_defaults_json(m, buf, sizeof buf, &n) == FW_OK);
        CHECK(n >= 2 && buf[0] == '{' && buf[n - 1] == '}');
        fw_model_free(m);
    } else {
        CHECK(m == NULL);
        CHECK(st == FW_E_FORMAT || st == FW_E_NOMEM || st == FW_E_UNSUPPORTED ||
              st == FW_E_RANGE);
        CHECK(strstr(fw_last_error(), path) != NULL || st == FW_E_NOMEM);
    }
    remove(path);
    return 0;
}
