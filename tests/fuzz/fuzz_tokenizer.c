/* fuzz_tokenizer.c - libFuzzer target: arbitrary bytes through the SPM and
 * the byte-level BPE tokenizer with every pre-tokenizer family (small
 * vocabularies built with the project's GGUF writer), with and without
 * special-token parsing, then back through the detokenizer and the
 * streaming detokenizer. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwinfer.h"
#include "gguf_writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* every pre-tokenizer family llama.cpp ships vectors for, and the ones
 * tested against Python only */
static const char *const pres[] = {
    "llama-bpe", "gpt-2", "qwen2", "deepseek-llm", "deepseek-coder", "falcon",
    "starcoder", "refact", "mpt", "command-r", "smollm", "phi-2", "gpt-4o",
};
#define N_PRE (sizeof pres / sizeof pres[0])
static fw_model *spm, *bpe[N_PRE];
static uint8_t *spm_img, *bpe_img[N_PRE];

static fw_model *load(gw *w, uint8_t **img)
{
    size_t n;
    *img = gw_finish(w, &n);
    gw_free(w);
    fw_model *m = NULL;
    if (!*img || fw_model_load_from_memory(*img, n, NULL, &m) != FW_OK) {
        fprintf(stderr, "fuzz_tokenizer: vocabulary: %s\n", fw_last_error());
        abort();
    }
    return m;
}

static void build(void)
{
    /* SPM: <unk> <s> </s>, 256 byte tokens, a few pieces, a user token */
    const char *toks[300];
    float scores[300];
    int32_t types[300];
    char bytes[256][8];
    int n = 0;
    toks[n] = "<unk>", types[n] = 2, scores[n++] = 0;
    toks[n] = "<s>", types[n] = 3, scores[n++] = 0;
    toks[n] = "</s>", types[n] = 3, scores[n++] = 0;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        toks[n] = bytes[b], types[n] = 6, scores[n++] = 0;
    }
    const char *pieces[] = {"\xe2\x96\x81", "a", "b", "ab", ("\xe2\x96\x81" "a"),
                            "ba", "aba", "\xc3\xa9", "<tool>"};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++)
        toks[n] = pieces[i], types[n] = i == 8 ? 4 : 1, scores[n++] = -(float)i;
    gw *w = gw_new(3, 32);
    gw_kv_str(w, "tokenizer.ggml.model", "llama");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", (uint64_t)n, toks);
    gw_kv_arr(w, "tokenizer.ggml.scores", 6, (uint64_t)n, scores);
    gw_kv_arr(w, "tokenizer.ggml.token_type", 5, (uint64_t)n, types);
    spm = load(w, &spm_img);

    /* BPE: the 256 byte-level characters, a few merges, specials */
    static char chars[256][4];
    const char *btoks[300];
    int32_t btypes[300];
    int m = 0;
    for (int b = 0, k = 0; b < 256; b++) {
        unsigned cp = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                      (b >= 0xAE) ? (unsigned)b : 0x100u + (unsigned)k++;
        if (cp < 0x80) {
            chars[b][0] = (char)cp;
        } else {
            chars[b][0] = (char)(0xC0 | (cp >> 6));
            chars[b][1] = (char)(0x80 | (cp & 0x3F));
        }
        btoks[m] = chars[b], btypes[m++] = 1;
    }
    const char *extra[] = {"he", "ll", "hell", "\xc4\xa0h", "<|endoftext|>", "<user>"};
    for (int i = 0; i < 6; i++)
        btoks[m] = extra[i], btypes[m++] = i == 4 ? 3 : i == 5 ? 4 : 1;
    const char *merges[] = {"h e", "l l", "he ll", "\xc4\xa0 h"};
    for (size_t k = 0; k < N_PRE; k++) {
        w = gw_new(3, 32);
        gw_kv_str(w, "tokenizer.ggml.model", "gpt2");
        gw_kv_str(w, "tokenizer.ggml.pre", pres[k]);
        gw_kv_arr_str(w, "tokenizer.ggml.tokens", (uint64_t)m, btoks);
        gw_kv_arr(w, "tokenizer.ggml.token_type", 5, (uint64_t)m, btypes);
        gw_kv_arr_str(w, "tokenizer.ggml.merges", 4, merges);
        gw_kv_u32(w, "tokenizer.ggml.eos_token_id", 260);
        bpe[k] = load(w, &bpe_img[k]);
    }
}

static void run(fw_model *m, const uint8_t *data, size_t size, uint32_t flags)
{
    size_t n = 0;
    fw_status st = fw_tokenize(m, (const char *)data, size, flags, NULL, 0, &n);
    if (st != FW_OK && st != FW_E_BUFFER_TOO_SMALL)
        abort(); /* tokenizing never fails on any input */
    fw_token *t = malloc((n ? n : 1) * sizeof *t);
    if (fw_tokenize(m, (const char *)data, size, flags, t, n, &n) != FW_OK)
        abort();
    size_t need;
    char small[8];
    fw_detokenize(m, t, n, FW_DETOK_UNPARSE_SPECIAL, small, sizeof small, &need);
    char *text = malloc(need + 1);
    if (fw_detokenize(m, t, n, 0, text, need + 1, &need) != FW_OK &&
        fw_detokenize(m, t, n, 0, NULL, 0, &need) != FW_E_BUFFER_TOO_SMALL)
        abort();
    fw_detok_stream *ds;
    if (fw_detok_stream_new(m, 0, 1, &ds) == FW_OK) {
        char piece[64];
        for (size_t i = 0; i < n; i++)
            fw_detok_stream_push(ds, t[i], piece, sizeof piece, &need);
        fw_detok_stream_flush(ds, piece, sizeof piece, &need);
        fw_detok_stream_free(ds);
    }
    free(text);
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!spm)
        build();
    /* SPM always; one pre-tokenizer per input, chosen by its first byte */
    fw_model *b = bpe[size ? data[0] % N_PRE : 0];
    for (uint32_t flags = 0; flags < 4; flags++) {
        run(spm, data, size, flags);
        run(b, data, size, flags);
    }
    return 0;
}
