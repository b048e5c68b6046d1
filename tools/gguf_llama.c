/* gguf_llama.c - synthetic llama GGUF models (tests, benchmarks). */
#include "gguf_llama.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_writer.h"

void gw_llama_spec_init(gw_llama_spec *s)
{
    memset(s, 0, sizeof *s);
    s->n_embd = 128;
    s->n_layer = 2;
    s->n_head = 4;
    s->n_head_kv = 2;
    s->n_ff = 256;
    s->n_vocab = 600;
    s->n_ctx = 256;
    s->type = 0;
    s->embd_type = -1;
    s->output_type = -1;
    s->seed = 1;
    s->rope_freq_base = 10000.0f;
    s->rms_eps = 1e-5f;
}

int gw_llama_preset(gw_llama_spec *s, const char *name)
{
    if (!strcmp(name, "tiny"))
        return 0;
    if (!strcmp(name, "smol")) {
        s->n_embd = 576, s->n_layer = 30, s->n_head = 9, s->n_head_kv = 3;
        s->n_ff = 1536, s->n_vocab = 49152, s->n_ctx = 2048;
        return 0;
    }
    if (!strcmp(name, "tinyllama")) {
        s->n_embd = 2048, s->n_layer = 22, s->n_head = 32, s->n_head_kv = 4;
        s->n_ff = 5632, s->n_vocab = 32000, s->n_ctx = 2048;
        return 0;
    }
    return -1;
}

/* splitmix64 */
static uint64_t next(uint64_t *st)
{
    uint64_t z = (*st += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float uniform(uint64_t *st) /* [0, 1) */
{
    return (float)(next(st) >> 40) / (float)(1ull << 24);
}

static float gauss(uint64_t *st, float std)
{
    /* sum of 4 uniforms: cheap, bounded, close enough to normal */
    float u = uniform(st) + uniform(st) + uniform(st) + uniform(st) - 2.0f;
    return u * std * 1.7320508f; /* var of the sum is 1/3 */
}

static uint16_t f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t e = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t m = x & 0x7fffff;
    if (e <= 0) { /* subnormal or zero (weights never need it precisely) */
        if (e < -10)
            return (uint16_t)sign;
        m |= 0x800000;
        uint32_t t = m >> (14 - e);
        return (uint16_t)(sign | t);
    }
    if (e >= 31)
        return (uint16_t)(sign | 0x7bff);
    uint16_t h = (uint16_t)(sign | ((uint32_t)e << 10) | (m >> 13));
    if ((m & 0x1fff) > 0x1000 || ((m & 0x1fff) == 0x1000 && (h & 1)))
        h++;
    return h;
}

static uint64_t name_seed(uint64_t seed, const char *name)
{
    uint64_t h = seed ^ 0xcbf29ce484222325ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return h;
}

/* Fill a matrix of rows x cols in `type` with random weights. */
static uint8_t *make_weights(uint32_t type, int64_t rows, int64_t cols,
                             uint64_t seed, size_t *bytes)
{
    uint64_t st = seed;
    size_t n = (size_t)(rows * cols);
    uint8_t *d = NULL;
    float std = 0.02f;
    switch (type) {
    case 0: { /* F32 */
        *bytes = n * 4;
        d = malloc(*bytes);
        for (size_t i = 0; d && i < n; i++) {
            float v = gauss(&st, std);
            memcpy(d + 4 * i, &v, 4);
        }
        break;
    }
    case 1:   /* F16 */
    case 30: { /* BF16 */
        *bytes = n * 2;
        d = malloc(*bytes);
        for (size_t i = 0; d && i < n; i++) {
            float v = gauss(&st, std);
            uint16_t h;
            if (type == 1) {
                h = f32_to_f16(v);
            } else {
                uint32_t x;
                memcpy(&x, &v, 4);
                h = (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
            }
            memcpy(d + 2 * i, &h, 2);
        }
        break;
    }
    case 8: { /* Q8_0: d in [2^-12, 2^-11), q in [-127, 127] */
        size_t blocks = n / 32;
        *bytes = blocks * 34;
        d = malloc(*bytes);
        for (size_t b = 0; d && b < blocks; b++) {
            uint8_t *blk = d + 34 * b;
            uint16_t h = f32_to_f16(ldexpf(1.0f + uniform(&st), -12));
            memcpy(blk, &h, 2);
            for (int j = 0; j < 32; j++)
                blk[2 + j] = (uint8_t)(int8_t)((int)(next(&st) % 255) - 127);
        }
        break;
    }
    case 2: { /* Q4_0: |d| in [2^-8, 2^-7), random sign, random nibbles */
        size_t blocks = n / 32;
        *bytes = blocks * 18;
        d = malloc(*bytes);
        for (size_t b = 0; d && b < blocks; b++) {
            uint8_t *blk = d + 18 * b;
            float sc = ldexpf(1.0f + uniform(&st), -8) * ((next(&st) & 1) ? -1 : 1);
            uint16_t h = f32_to_f16(sc);
            memcpy(blk, &h, 2);
            for (int j = 0; j < 16; j++)
                blk[2 + j] = (uint8_t)next(&st);
        }
        break;
    }
    default:
        return NULL;
    }
    return d;
}

static int add_matrix(gw *w, const char *name, uint32_t type, int64_t cols,
                      int64_t rows, uint64_t seed)
{
    size_t bytes;
    uint8_t *d = make_weights(type, rows, cols, name_seed(seed, name), &bytes);
    if (!d)
        return -1;
    gw_tensor_raw(w, name, type, 2, (int64_t[]){cols, rows}, d, bytes, UINT64_MAX);
    free(d);
    return 0;
}

static void add_norm(gw *w, const char *name, int64_t n)
{
    float *ones = malloc((size_t)n * sizeof *ones);
    for (int64_t i = 0; ones && i < n; i++)
        ones[i] = 1.0f;
    gw_tensor(w, name, 0, 1, (int64_t[]){n}, ones);
    free(ones);
}

static int block_ok(uint32_t type, int64_t cols)
{
    return (type != 8 && type != 2) || cols % 32 == 0;
}

uint8_t *gw_llama_build(const gw_llama_spec *s, size_t *size)
{
    if (s->n_embd <= 0 || s->n_layer <= 0 || s->n_head <= 0 ||
        s->n_head_kv <= 0 || s->n_embd % s->n_head || s->n_head % s->n_head_kv ||
        s->n_vocab < 259 + 8 || s->n_ff <= 0)
        return NULL;
    uint32_t te = s->embd_type >= 0 ? (uint32_t)s->embd_type : s->type;
    uint32_t to = s->output_type >= 0 ? (uint32_t)s->output_type : s->type;
    int hd = s->n_embd / s->n_head;
    /* rows not divisible by the block fall back to F16, as make_gguf.py */
    uint32_t t_embd_in = block_ok(s->type, s->n_embd) ? s->type : 1;
    uint32_t t_ff_in = block_ok(s->type, s->n_ff) ? s->type : 1;
    if (!block_ok(te, s->n_embd))
        te = 1;
    if (!block_ok(to, s->n_embd))
        to = 1;

    gw *w = gw_new(3, 32);
    if (!w)
        return NULL;
    gw_kv_str(w, "general.architecture", "llama");
    gw_kv_str(w, "general.name", "fwinfer-synthetic");
    gw_kv_u32(w, "general.alignment", 32);
    gw_kv_u32(w, "llama.context_length", (uint32_t)s->n_ctx);
    gw_kv_u32(w, "llama.embedding_length", (uint32_t)s->n_embd);
    gw_kv_u32(w, "llama.block_count", (uint32_t)s->n_layer);
    gw_kv_u32(w, "llama.feed_forward_length", (uint32_t)s->n_ff);
    gw_kv_u32(w, "llama.attention.head_count", (uint32_t)s->n_head);
    gw_kv_u32(w, "llama.attention.head_count_kv", (uint32_t)s->n_head_kv);
    gw_kv_u32(w, "llama.rope.dimension_count", (uint32_t)hd);
    gw_kv_f32(w, "llama.attention.layer_norm_rms_epsilon", s->rms_eps);
    gw_kv_f32(w, "llama.rope.freq_base", s->rope_freq_base);
    gw_kv_u32(w, "llama.vocab_size", (uint32_t)s->n_vocab);

    /* tokenizer: <unk> <s> </s>, 256 byte tokens, then pieces */
    int n = s->n_vocab;
    char **toks = calloc((size_t)n, sizeof *toks);
    float *scores = calloc((size_t)n, sizeof *scores);
    int32_t *types = calloc((size_t)n, sizeof *types);
    if (!toks || !scores || !types) {
        free(toks), free(scores), free(types);
        gw_free(w);
        return NULL;
    }
    static const char letters[] = "etaoinshrdlucmfwypvbgkjqxz";
    for (int i = 0; i < n; i++) {
        char buf[32];
        if (i < 3) {
            snprintf(buf, sizeof buf, "%s", i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
            types[i] = i == 0 ? 2 : 3;
        } else if (i < 259) {
            snprintf(buf, sizeof buf, "<0x%02X>", i - 3);
            types[i] = 6;
        } else {
            int k = i - 259;
            if (k < 26)
                snprintf(buf, sizeof buf, "%c", letters[k]);
            else if (k < 52)
                snprintf(buf, sizeof buf, "\xe2\x96\x81%c", letters[k - 26]);
            else
                snprintf(buf, sizeof buf, "\xe2\x96\x81%c%c%d", letters[k % 26],
                         letters[(k / 26) % 26], k);
            types[i] = 1;
            scores[i] = -(float)k;
        }
        size_t bl = strlen(buf) + 1;
        toks[i] = malloc(bl);
        if (toks[i])
            memcpy(toks[i], buf, bl);
    }
    gw_kv_str(w, "tokenizer.ggml.model", "llama");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", (uint64_t)n, (const char *const *)toks);
    gw_kv_arr(w, "tokenizer.ggml.scores", 6, (uint64_t)n, scores);
    gw_kv_arr(w, "tokenizer.ggml.token_type", 5, (uint64_t)n, types);
    gw_kv_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gw_kv_u32(w, "tokenizer.ggml.eos_token_id", 2);
    gw_kv_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    gw_kv_bool(w, "tokenizer.ggml.add_bos_token", 1);
    for (int i = 0; i < n; i++)
        free(toks[i]);
    free(toks), free(scores), free(types);

    int rc = 0;
    int64_t e = s->n_embd, q = (int64_t)s->n_head * hd,
            kv = (int64_t)s->n_head_kv * hd;
    rc |= add_matrix(w, "token_embd.weight", te, e, s->n_vocab, s->seed);
    add_norm(w, "output_norm.weight", e);
    if (!s->tied)
        rc |= add_matrix(w, "output.weight", to, e, s->n_vocab, s->seed);
    for (int l = 0; l < s->n_layer && !rc; l++) {
        char name[64];
#define M(suffix, type, cols, rows)                                         \
    snprintf(name, sizeof name, "blk.%d." suffix ".weight", l);             \
    rc |= add_matrix(w, name, type, cols, rows, s->seed);
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        add_norm(w, name, e);
        M("attn_q", t_embd_in, e, q)
        M("attn_k", t_embd_in, e, kv)
        M("attn_v", t_embd_in, e, kv)
        M("attn_output", block_ok(s->type, q) ? s->type : 1, q, e)
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
        add_norm(w, name, e);
        M("ffn_gate", t_embd_in, e, s->n_ff)
        M("ffn_up", t_embd_in, e, s->n_ff)
        M("ffn_down", t_ff_in, s->n_ff, e)
#undef M
    }
    uint8_t *img = rc ? NULL : gw_finish(w, size);
    gw_free(w);
    return img;
}

int gw_llama_write(const gw_llama_spec *s, const char *path)
{
    size_t size;
    uint8_t *img = gw_llama_build(s, &size);
    if (!img)
        return -1;
    int rc = gw_write_file(path, img, size);
    free(img);
    return rc;
}
