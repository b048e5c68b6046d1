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
    case 3:    /* Q4_1: d in [2^-8, 2^-7), m = -d * [7, 8): std ~0.02 */
    case 6:    /* Q5_0: |d| in [2^-9, 2^-8), random sign */
    case 7: {  /* Q5_1: d in [2^-9, 2^-8), m = -d * [15, 16) */
        const size_t bb = type == 3 ? 20 : type == 6 ? 22 : 24;
        size_t blocks = n / 32;
        *bytes = blocks * bb;
        d = malloc(*bytes);
        for (size_t b = 0; d && b < blocks; b++) {
            uint8_t *blk = d + bb * b;
            float dv = ldexpf(1.0f + uniform(&st), type == 3 ? -8 : -9);
            size_t o = 2;
            if (type == 6) {
                dv = (next(&st) & 1) ? -dv : dv;
            } else {
                const float mv = -dv * ((type == 3 ? 7.0f : 15.0f) + uniform(&st));
                uint16_t hm = f32_to_f16(mv);
                memcpy(blk + 2, &hm, 2);
                o = 4;
            }
            uint16_t h = f32_to_f16(dv);
            memcpy(blk, &h, 2);
            for (size_t j = o; j < bb; j++) /* qh (Q5_*) and the nibbles */
                blk[j] = (uint8_t)next(&st);
        }
        break;
    }
    case 10: { /* Q2_K: d in [2^-10, 2^-9), dmin = 1.5 d, min nibble ~ scale
                * nibble (q - 1.5 centred), std ~0.015 */
        size_t blocks = n / 256;
        *bytes = blocks * 84;
        d = malloc(*bytes);
        for (size_t b = 0; d && b < blocks; b++) {
            uint8_t *blk = d + 84 * b;
            for (int j = 0; j < 16; j++) {
                const uint64_t r = next(&st);
                const int sc = 1 + (int)(r % 15), m = sc ^ (int)((r >> 8) & 1);
                blk[j] = (uint8_t)(sc | m << 4);
            }
            for (int j = 16; j < 80; j++)
                blk[j] = (uint8_t)next(&st);
            const float dv = ldexpf(1.0f + uniform(&st), -10);
            uint16_t h = f32_to_f16(dv), hm = f32_to_f16(1.5f * dv);
            memcpy(blk + 80, &h, 2);
            memcpy(blk + 82, &hm, 2);
        }
        break;
    }
    case 11: { /* Q3_K: d in [2^-10, 2^-9), 6-bit scales s - 32 in [-16, 15] */
        size_t blocks = n / 256;
        *bytes = blocks * 110;
        d = malloc(*bytes);
        for (size_t b = 0; d && b < blocks; b++) {
            uint8_t *blk = d + 110 * b;
            for (int j = 0; j < 96; j++) /* hmask, qs */
                blk[j] = (uint8_t)next(&st);
            uint8_t *sc = blk + 96;
            memset(sc, 0, 12);
            for (int j = 0; j < 16; j++) { /* the packing of fwi_q3k_scale */
                const int v = 16 + (int)(next(&st) % 32);
                sc[j < 8 ? j : j - 8] |= (uint8_t)((v & 15) << (j < 8 ? 0 : 4));
                sc[8 + j % 4] |= (uint8_t)((v >> 4) << (2 * (j / 4)));
            }
            uint16_t h = f32_to_f16(ldexpf(1.0f + uniform(&st), -10));
            memcpy(blk + 108, &h, 2);
        }
        break;
    }
    case 12:   /* Q4_K: d in [2^-14, 2^-13), dmin = 8 d */
    case 13: { /* Q5_K: d in [2^-15, 2^-14), dmin = 16 d */
        /* w = d*sc*q - dmin*m with 6-bit sc, m; m = sc ^ r (r in 0..3) keeps
         * the sub-block offsets small, as make_gguf.py: w ~ d*sc*(q - 8)
         * (q - 16 for Q5_K), std ~0.015 */
        const size_t bb = type == 12 ? 144 : 176;
        size_t blocks = n / 256;
        *bytes = blocks * bb;
        d = malloc(*bytes);
        for (size_t b = 0; d && b < blocks; b++) {
            uint8_t *blk = d + bb * b;
            const float dv = ldexpf(1.0f + uniform(&st), type == 12 ? -14 : -15);
            uint16_t h = f32_to_f16(dv), hm = f32_to_f16(dv * (type == 12 ? 8.0f : 16.0f));
            memcpy(blk, &h, 2);
            memcpy(blk + 2, &hm, 2);
            uint8_t sc[8], m[8];
            for (int j = 0; j < 8; j++) {
                const uint64_t r = next(&st);
                sc[j] = (uint8_t)(r & 63);
                m[j] = (uint8_t)(sc[j] ^ ((r >> 8) & 3));
            }
            for (int j = 0; j < 4; j++) { /* the packing of fwi_kq_scale_min */
                blk[4 + j] = (uint8_t)(sc[j] | ((sc[j + 4] >> 4) << 6));
                blk[8 + j] = (uint8_t)(m[j] | ((m[j + 4] >> 4) << 6));
                blk[12 + j] = (uint8_t)((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
            }
            for (size_t j = 16; j < bb; j++)
                blk[j] = (uint8_t)next(&st);
        }
        break;
    }
    case 14: { /* Q6_K: d in [2^-13, 2^-12), int8 sub-scales in [-16, 15] */
        size_t blocks = n / 256;
        *bytes = blocks * 210;
        d = malloc(*bytes);
        for (size_t b = 0; d && b < blocks; b++) {
            uint8_t *blk = d + 210 * b;
            for (int j = 0; j < 192; j++)
                blk[j] = (uint8_t)next(&st);
            for (int j = 0; j < 16; j++)
                blk[192 + j] = (uint8_t)(int8_t)((int)(next(&st) % 32) - 16);
            uint16_t h = f32_to_f16(ldexpf(1.0f + uniform(&st), -13));
            memcpy(blk + 208, &h, 2);
        }
        break;
    }
    default:
        return NULL;
    }
    return d;
}

/* K-quant rows whose length is not a multiple of 256 fall back as
 * make_gguf.py does: Q4_K / Q5_K -> Q4_0, Q6_K -> Q8_0 (F16 if not even a
 * multiple of 32); Q2_K / Q3_K -> Q4_0 (llama.cpp would pick IQ4_NL) */
static uint32_t kq_fallback(uint32_t type, int64_t cols)
{
    if (type >= 10 && type <= 14 && cols % 256)
        return cols % 32 ? 1 : type == 14 ? 8 : 2;
    return type;
}

static int add_matrix(gw *w, const char *name, uint32_t type, int64_t cols,
                      int64_t rows, uint64_t seed)
{
    size_t bytes;
    type = kq_fallback(type, cols);
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

/* 1-D f32 tensor of `n` values mean + gauss(std) (norms around 1, biases
 * around 0, rope factors) */
static void add_vec(gw *w, const char *name, int64_t n, float mean, float std,
                    uint64_t seed)
{
    uint64_t st = name_seed(seed, name);
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; v && i < n; i++)
        v[i] = mean + gauss(&st, std);
    gw_tensor(w, name, 0, 1, (int64_t[]){n}, v);
    free(v);
}

static int block_ok(uint32_t type, int64_t cols)
{
    return (type != 8 && type != 2 && type != 3 && type != 6 && type != 7) ||
           cols % 32 == 0;
}

uint8_t *gw_llama_build(const gw_llama_spec *s, size_t *size)
{
    const char *arch = s->arch ? s->arch : "llama";
    const int is_llama = !strcmp(arch, "llama"), qwen2 = !strcmp(arch, "qwen2"),
              qwen3 = !strcmp(arch, "qwen3"), phi3 = !strcmp(arch, "phi3"),
              gemma2 = !strcmp(arch, "gemma2"), gemma3 = !strcmp(arch, "gemma3");
    if (!(is_llama || qwen2 || qwen3 || phi3 || gemma2 || gemma3))
        return NULL;
    if (s->n_embd <= 0 || s->n_layer <= 0 || s->n_head <= 0 || s->head_dim < 0 ||
        s->n_head_kv <= 0 || (!s->head_dim && s->n_embd % s->n_head) ||
        s->n_head % s->n_head_kv || s->n_vocab < 259 + 8 || s->n_ff <= 0)
        return NULL;
    uint32_t te = s->embd_type >= 0 ? (uint32_t)s->embd_type : s->type;
    uint32_t to = s->output_type >= 0 ? (uint32_t)s->output_type : s->type;
    int hd = s->head_dim ? s->head_dim : s->n_embd / s->n_head;
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
    char key[96];
#define KEY(suffix) (snprintf(key, sizeof key, "%s." suffix, arch), key)
    gw_kv_str(w, "general.architecture", arch);
    gw_kv_str(w, "general.name", "fwinfer-synthetic");
    gw_kv_u32(w, "general.alignment", 32);
    gw_kv_u32(w, KEY("context_length"), (uint32_t)s->n_ctx);
    gw_kv_u32(w, KEY("embedding_length"), (uint32_t)s->n_embd);
    gw_kv_u32(w, KEY("block_count"), (uint32_t)s->n_layer);
    gw_kv_u32(w, KEY("feed_forward_length"), (uint32_t)s->n_ff);
    gw_kv_u32(w, KEY("attention.head_count"), (uint32_t)s->n_head);
    gw_kv_u32(w, KEY("attention.head_count_kv"), (uint32_t)s->n_head_kv);
    gw_kv_u32(w, KEY("rope.dimension_count"), (uint32_t)hd);
    gw_kv_f32(w, KEY("attention.layer_norm_rms_epsilon"), s->rms_eps);
    gw_kv_f32(w, KEY("rope.freq_base"), s->rope_freq_base);
    gw_kv_u32(w, KEY("vocab_size"), (uint32_t)s->n_vocab);
    if (s->head_dim) {
        gw_kv_u32(w, KEY("attention.key_length"), (uint32_t)hd);
        gw_kv_u32(w, KEY("attention.value_length"), (uint32_t)hd);
    }
    if (s->n_swa)
        gw_kv_u32(w, KEY("attention.sliding_window"), (uint32_t)s->n_swa);
    if (s->swa_pattern)
        gw_kv_u32(w, KEY("attention.sliding_window_pattern"), (uint32_t)s->swa_pattern);
    if (s->attn_softcap > 0)
        gw_kv_f32(w, KEY("attn_logit_softcapping"), s->attn_softcap);
    if (s->final_softcap > 0)
        gw_kv_f32(w, KEY("final_logit_softcapping"), s->final_softcap);
    if (s->rope_scale > 0) {
        gw_kv_str(w, KEY("rope.scaling.type"), "linear");
        gw_kv_f32(w, KEY("rope.scaling.factor"), s->rope_scale);
    }
    if (phi3) { /* LongRoPE as the converter writes it */
        int orig = s->n_ctx_orig ? s->n_ctx_orig : s->n_ctx;
        double scale = (double)s->n_ctx / orig;
        gw_kv_u32(w, KEY("rope.scaling.original_context_length"), (uint32_t)orig);
        gw_kv_f32(w, KEY("rope.scaling.attn_factor"),
                  scale > 1 ? (float)sqrt(1 + log(scale) / log(orig)) : 1.0f);
    }
#undef KEY

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
    /* norms: ones for llama (as before), random around 1 otherwise */
    const float nstd = is_llama ? 0.0f : 0.1f;
#define NORM(nm, n) (nstd > 0 ? add_vec(w, nm, n, 1.0f, nstd, s->seed) : add_norm(w, nm, n))
    NORM("output_norm.weight", e);
    if (!s->tied && !gemma2) /* gemma2 is always tied */
        rc |= add_matrix(w, "output.weight", to, e, s->n_vocab, s->seed);
    if (s->rope_freqs) /* Llama 3.1 style frequency factors in [1, 8) */
        add_vec(w, "rope_freqs.weight", hd / 2, 4.5f, 1.5f, s->seed);
    if (phi3) {
        add_vec(w, "rope_factors_long.weight", hd / 2, 3.0f, 1.0f, s->seed);
        add_vec(w, "rope_factors_short.weight", hd / 2, 1.1f, 0.05f, s->seed);
    }
    for (int l = 0; l < s->n_layer && !rc; l++) {
        char name[64];
#define NM(suffix) (snprintf(name, sizeof name, "blk.%d." suffix, l), name)
#define M(suffix, type, cols, rows)                                         \
    rc |= add_matrix(w, NM(suffix ".weight"), type, cols, rows, s->seed);
        NORM(NM("attn_norm.weight"), e);
        if (phi3) {
            M("attn_qkv", t_embd_in, e, q + 2 * kv)
        } else {
            M("attn_q", t_embd_in, e, q)
            M("attn_k", t_embd_in, e, kv)
            M("attn_v", t_embd_in, e, kv)
        }
        if (qwen2) {
            add_vec(w, NM("attn_q.bias"), q, 0.0f, 0.2f, s->seed);
            add_vec(w, NM("attn_k.bias"), kv, 0.0f, 0.2f, s->seed);
            add_vec(w, NM("attn_v.bias"), kv, 0.0f, 0.2f, s->seed);
        }
        if (qwen3 || gemma3) {
            add_vec(w, NM("attn_q_norm.weight"), hd, 0.25f, 0.05f, s->seed);
            add_vec(w, NM("attn_k_norm.weight"), hd, 0.25f, 0.05f, s->seed);
        }
        M("attn_output", block_ok(s->type, q) ? s->type : 1, q, e)
        if (gemma2 || gemma3)
            NORM(NM("post_attention_norm.weight"), e);
        NORM(NM("ffn_norm.weight"), e);
        if (phi3) {
            M("ffn_up", t_embd_in, e, 2 * s->n_ff)
        } else {
            M("ffn_gate", t_embd_in, e, s->n_ff)
            M("ffn_up", t_embd_in, e, s->n_ff)
        }
        M("ffn_down", t_ff_in, s->n_ff, e)
        if (gemma2 || gemma3)
            NORM(NM("post_ffw_norm.weight"), e);
#undef M
#undef NM
    }
#undef NORM
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
