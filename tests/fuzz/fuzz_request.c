/* fuzz_request.c - libFuzzer target: arbitrary bytes as a completions or
 * chat request body (JSON) through fw_request_prompt_json, the dry run of
 * fw_generate_json: the request parser, every sampling field's by-name
 * check, chat messages, the ChatML fallback or a template from the request,
 * tokenization with special parsing. A small SPM vocabulary (the project's
 * GGUF writer) stands in for a model. Every result is FW_OK (text and
 * length agree) or a documented error with a message; never a crash, leak
 * or hang. The input is also tried as the overrides of a fixed body. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwinfer.h"
#include "gguf_writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "fuzz_request: %s:%d: check failed: %s\n",        \
                    __FILE__, __LINE__, #c);                                  \
            abort();                                                          \
        }                                                                     \
    } while (0)

static fw_model *model;
static uint8_t *img;

static void build(void)
{
    const char *toks[300];
    float scores[300];
    int32_t types[300];
    static char bytes[256][8];
    int n = 0;
    toks[n] = "<unk>", types[n] = 2, scores[n++] = 0;
    toks[n] = "<s>", types[n] = 3, scores[n++] = 0;
    toks[n] = "</s>", types[n] = 3, scores[n++] = 0;
    toks[n] = "<|im_start|>", types[n] = 3, scores[n++] = 0;
    toks[n] = "<|im_end|>", types[n] = 3, scores[n++] = 0;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        toks[n] = bytes[b], types[n] = 6, scores[n++] = 0;
    }
    const char *pieces[] = {"\xe2\x96\x81", "a", "b", "ab", ("\xe2\x96\x81" "a"), "user",
                            "assistant", "\n"};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++)
        toks[n] = pieces[i], types[n] = 1, scores[n++] = -(float)i;
    gw *w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "llama");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", (uint64_t)n, toks);
    gw_kv_arr(w, "tokenizer.ggml.scores", 6, (uint64_t)n, scores);
    gw_kv_arr(w, "tokenizer.ggml.token_type", 5, (uint64_t)n, types);
    size_t sz;
    img = gw_finish(w, &sz);
    gw_free(w);
    if (!img || fw_model_load_from_memory(img, sz, NULL, &model) != FW_OK) {
        fprintf(stderr, "fuzz_request: vocabulary: %s\n", fw_last_error());
        abort();
    }
}

static void check(fw_status st, const char *buf, size_t cap, size_t n)
{
    if (st == FW_OK) {
        CHECK(n < cap && strlen(buf) == n);
    } else if (st == FW_E_BUFFER_TOO_SMALL) {
        CHECK(n >= cap);
    } else {
        CHECK(st == FW_E_FORMAT || st == FW_E_UNSUPPORTED || st == FW_E_INVALID_ARG ||
              st == FW_E_TYPE || st == FW_E_RANGE || st == FW_E_NOMEM ||
              st == FW_E_NOT_FOUND);
        CHECK(fw_last_error()[0] != '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!model)
        build();
    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char buf[512];
    size_t n = 0;
    fw_status st = fw_request_prompt_json(model, text, size, NULL, 0, buf, sizeof buf, &n);
    check(st, buf, sizeof buf, n);
    static const char body[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"ab a\"}],"
                               "\"temperature\":0.5}";
    st = fw_request_prompt_json(model, body, strlen(body), text, size, buf, sizeof buf, &n);
    check(st, buf, sizeof buf, n);
    free(text);
    return 0;
}
