/*
 * libfwinfer - AVX2 + FMA + F16C matvec / matmul / Q8_0 activation
 * quantisation. Compiled with -mavx2 -mfma -mf16c; only reached through the
 * dispatch table after fwi_cpu_detect() reported FWI_ISA_AVX2.
 *
 * Per output element (row r, token t) the operation sequence is fixed:
 *   quantised: acc8 = fma(cvt_f32(int32 lane sums of one 32-block),
 *                         broadcast(dw * dx), acc8)   for blocks in order,
 *              out = hsum8(acc8)
 *   float:     acc8 = fma(w[i..i+8), x[i..i+8), acc8) for i in steps of 8,
 *              the tail zero-padded to 8, out = hsum8(acc8)
 * The register-tiled micro-kernels (R rows x T tokens) only share loads and
 * unpacking between elements, so any tile shape, row range or token count
 * gives bit-identical results.
 */
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"

/* software prefetch distance for the weight stream in matvec (bytes) */
#ifndef FWI_AVX2_PREFETCH
#define FWI_AVX2_PREFETCH 512
#endif

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float load_f16(const void *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h);
}

/* ---------------------------------------------------------------------- */
/* Q8_0 activation quantisation, bit-exact with quantize_row_q8_0_c (and with
 * ggml's AVX2 quantize_row_q8_0): d = amax / 127, id = 127 / amax,
 * q = round-half-even(x * id). */

static void quantize_row_q8_0_avx2(void *dst, const float *x, int n)
{
    fwi_block_q8_0 *y = dst;
    const int nb = n / FWI_QK8_0;
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));

    for (int b = 0; b < nb; b++) {
        const float *xb = x + (size_t)b * FWI_QK8_0;
        __m256 v0 = _mm256_loadu_ps(xb + 0);
        __m256 v1 = _mm256_loadu_ps(xb + 8);
        __m256 v2 = _mm256_loadu_ps(xb + 16);
        __m256 v3 = _mm256_loadu_ps(xb + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v0, absmask),
                                               _mm256_and_ps(v1, absmask)),
                                 _mm256_max_ps(_mm256_and_ps(v2, absmask),
                                               _mm256_and_ps(v3, absmask)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);

        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        const fwi_f16 dh = fwi_fp32_to_fp16(d);
        memcpy(&y[b].d, &dh, sizeof dh);

        const __m256 idv = _mm256_set1_ps(id);
#define RNE(v) _mm256_cvttps_epi32(_mm256_round_ps(_mm256_mul_ps(v, idv), \
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
        const __m256i i0 = RNE(v0), i1 = RNE(v1), i2 = RNE(v2), i3 = RNE(v3);
#undef RNE
        /* packs work per 128-bit lane: fix the order with a dword permute */
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(void *)y[b].qs, p);
    }
}

/* ---------------------------------------------------------------------- */
/* quantised weights x Q8_0 activations */

#define MAXR 4
#define MAXT 4

enum { WQ4_0, WQ8_0 };

/* 16 packed bytes -> 32 unsigned nibbles in element order (low nibbles in
 * bytes 0..15, high nibbles in 16..31): one broadcast load, a per-64-bit
 * variable shift of the upper half and a mask. */
static inline __m256i unpack_q4_0(const char *qs)
{
    const __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)qs));
    return _mm256_and_si256(_mm256_srlv_epi64(b, _mm256_setr_epi64x(0, 0, 4, 4)),
                            _mm256_set1_epi8(0x0f));
}

/* Integer dot of one block as 8 int32 lanes (lane i = elements 4i..4i+3),
 * converted to f32 (exact).
 * Q4_0: maddubs(q, y) - maddubs(8, y) = sum (q - 8) y per pair (no int16
 *       saturation: |.| <= 2*15*127), y8 = maddubs(8, y) is per token.
 * Q8_0: sign trick, maddubs(|w|, sign(y, w)) (|.| <= 2*128*127). */
static inline __m256 block_dot_q4_0(__m256i q, __m256i y, __m256i y8)
{
    const __m256i p16 = _mm256_sub_epi16(_mm256_maddubs_epi16(q, y), y8);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

static inline __m256 block_dot_q8_0(__m256i aw, __m256i w, __m256i y)
{
    const __m256i p16 = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(y, w));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

/* insert a 16-bit value into lane i (0..3); i is a compile-time constant
 * after inlining, the switch only exists for compilers that want an
 * immediate before unrolling */
static FWI_ALWAYS_INLINE __m128i insert16(__m128i v, int h, const int i)
{
    switch (i) {
    case 0: return _mm_insert_epi16(v, h, 0);
    case 1: return _mm_insert_epi16(v, h, 1);
    case 2: return _mm_insert_epi16(v, h, 2);
    default: return _mm_insert_epi16(v, h, 3);
    }
}

/* R x T tile: rows r..r+R, tokens t..t+T. All loops have constant trip
 * counts after inlining and are fully unrolled. */
static FWI_ALWAYS_INLINE void
tile_q(const int wt, const int R, const int T, const int pf,
       float *out, size_t os, const char *w, size_t ws,
       const char *x, size_t xs, int nb, int r, int t)
{
    const size_t wbs = wt == WQ4_0 ? sizeof(fwi_block_q4_0) : sizeof(fwi_block_q8_0);
    const char *wr[MAXR];
    (void)pf;
    const char *xt[MAXT];
    __m256 acc[MAXR][MAXT];

    FWI_UNROLL
    for (int i = 0; i < R; i++)
        wr[i] = w + (size_t)(r + i) * ws;
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        xt[j] = x + (size_t)(t + j) * xs;
    FWI_UNROLL
    for (int i = 0; i < R; i++) {
        FWI_UNROLL
        for (int j = 0; j < T; j++)
            acc[i][j] = _mm256_setzero_ps();
    }

    for (int b = 0; b < nb; b++) {
        const size_t wo = (size_t)b * wbs, xo = (size_t)b * sizeof(fwi_block_q8_0);
        __m256i yv[MAXT], y8[MAXT];
        float dd[MAXT][4]; /* broadcast from memory: load ports, no shuffles */
        /* row scales of this block, converted together: lanes 0..R-1 */
        __m128i dwh = _mm_setzero_si128();
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            uint16_t h;
            memcpy(&h, wr[i] + wo, sizeof h);
            dwh = insert16(dwh, h, i);
        }
        const __m128 dw = _mm_cvtph_ps(dwh);
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            yv[j] = _mm256_loadu_si256((const __m256i *)(const void *)(xt[j] + xo + 2));
            if (wt == WQ4_0)
                y8[j] = _mm256_maddubs_epi16(_mm256_set1_epi8(8), yv[j]);
            /* dd[j] lane i = dw_i * dy_j (the same f32 product in every tile) */
            _mm_storeu_ps(dd[j], _mm_mul_ps(dw, _mm_set1_ps(load_f16(xt[j] + xo))));
        }
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            const char *wb = wr[i] + wo;
#if FWI_AVX2_PREFETCH > 0
            if (pf)
                FWI_PREFETCH(wb + FWI_AVX2_PREFETCH);
#endif
            __m256i q, aq = _mm256_setzero_si256();
            if (wt == WQ4_0) {
                q = unpack_q4_0(wb + 2);
            } else {
                q = _mm256_loadu_si256((const __m256i *)(const void *)(wb + 2));
                aq = _mm256_sign_epi8(q, q);
            }
            FWI_UNROLL
            for (int j = 0; j < T; j++) {
                const __m256 f = wt == WQ4_0 ? block_dot_q4_0(q, yv[j], y8[j])
                                             : block_dot_q8_0(aq, q, yv[j]);
                acc[i][j] = _mm256_fmadd_ps(f, _mm256_broadcast_ss(&dd[j][i]), acc[i][j]);
            }
        }
    }

    FWI_UNROLL
    for (int i = 0; i < R; i++) {
        FWI_UNROLL
        for (int j = 0; j < T; j++)
            out[(size_t)(t + j) * os + (size_t)(r + i)] = hsum8(acc[i][j]);
    }
}

/* ---------------------------------------------------------------------- */
/* float weights (f32 / f16 / bf16) x f32 activations */

enum { WF32, WF16, WBF16 };

static FWI_ALWAYS_INLINE __m256 load_w8(const int wt, const char *p)
{
    if (wt == WF32)
        return _mm256_loadu_ps((const float *)(const void *)p);
    const __m128i h = _mm_loadu_si128((const __m128i *)(const void *)p);
    if (wt == WF16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static FWI_ALWAYS_INLINE void
tile_f(const int wt, const int R, const int T, const int pf,
       float *out, size_t os, const char *w, size_t ws,
       const char *x, size_t xs, int n, int r, int t)
{
    const size_t es = wt == WF32 ? 4 : 2;
    const char *wr[MAXR];
    (void)pf;
    const float *xt[MAXT];
    __m256 acc[MAXR][MAXT];

    FWI_UNROLL
    for (int i = 0; i < R; i++)
        wr[i] = w + (size_t)(r + i) * ws;
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        xt[j] = (const float *)(const void *)(x + (size_t)(t + j) * xs);
    FWI_UNROLL
    for (int i = 0; i < R; i++) {
        FWI_UNROLL
        for (int j = 0; j < T; j++)
            acc[i][j] = _mm256_setzero_ps();
    }

    /* weights of the R rows in registers, one activation vector at a time:
     * R + 1 + R*T live vectors (<= 16 for 3x4) */
    int k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 wv[MAXR];
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            const char *p = wr[i] + (size_t)k * es;
#if FWI_AVX2_PREFETCH > 0
            if (pf)
                FWI_PREFETCH(p + FWI_AVX2_PREFETCH);
#endif
            wv[i] = load_w8(wt, p);
        }
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            const __m256 xv = _mm256_loadu_ps(xt[j] + k);
            FWI_UNROLL
            for (int i = 0; i < R; i++)
                acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    if (k < n) { /* zero-padded tail: same fma as a full step */
        const size_t rem = (size_t)(n - k);
        __m256 xv[MAXT];
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            float buf[8] = { 0 };
            memcpy(buf, xt[j] + k, rem * sizeof(float));
            xv[j] = _mm256_loadu_ps(buf);
        }
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            char buf[32] = { 0 };
            memcpy(buf, wr[i] + (size_t)k * es, rem * es);
            const __m256 wv = load_w8(wt, buf);
            FWI_UNROLL
            for (int j = 0; j < T; j++)
                acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }

    FWI_UNROLL
    for (int i = 0; i < R; i++) {
        FWI_UNROLL
        for (int j = 0; j < T; j++)
            out[(size_t)(t + j) * os + (size_t)(r + i)] = hsum8(acc[i][j]);
    }
}

/* ---------------------------------------------------------------------- */
/* drivers */

#define MV_R 4 /* rows per matvec pass */

/* matmul tile shapes (rows x tokens), <= MAXR x MAXT (= 4 x 4) */
#ifndef QR
#define QR 4
#endif
#ifndef QT
#define QT 4
#endif
#ifndef FR
#define FR 3
#endif
#ifndef FT
#define FT 4
#endif

/* call fn with a tile of exactly rr x tt (1..4 each; compile-time shapes) */
#define TILE_CASE(fn, wt, rr, tt) \
    case (rr) * 8 + (tt): fn(wt, rr, tt, 0, out, os, w, ws, x, xs, nk, r, t); break;
#define TILE_ANY(fn, wt, rr, tt)                                                 \
    switch ((rr) * 8 + (tt)) {                                                   \
        TILE_CASE(fn, wt, 1, 1) TILE_CASE(fn, wt, 1, 2) TILE_CASE(fn, wt, 1, 3)  \
        TILE_CASE(fn, wt, 1, 4) TILE_CASE(fn, wt, 2, 1) TILE_CASE(fn, wt, 2, 2)  \
        TILE_CASE(fn, wt, 2, 3) TILE_CASE(fn, wt, 2, 4) TILE_CASE(fn, wt, 3, 1)  \
        TILE_CASE(fn, wt, 3, 2) TILE_CASE(fn, wt, 3, 3) TILE_CASE(fn, wt, 3, 4)  \
        TILE_CASE(fn, wt, 4, 1) TILE_CASE(fn, wt, 4, 2) TILE_CASE(fn, wt, 4, 3)  \
        TILE_CASE(fn, wt, 4, 4)                                                  \
    default: break;                                                              \
    }

#define DEFINE_DRIVERS(name, fn, wt, NK, MR, MT)                                 \
    static void matvec_##name##_avx2(float *out, const void *wv, size_t ws,      \
                                     const void *xv, int n, int r0, int r1)      \
    {                                                                            \
        const char *w = wv, *x = xv;                                             \
        const size_t os = 0, xs = 0;                                             \
        const int nk = (NK), t = 0;                                              \
        int r = r0;                                                              \
        for (; r + MV_R <= r1; r += MV_R)                                        \
            fn(wt, MV_R, 1, 1, out, os, w, ws, x, xs, nk, r, t);                 \
        for (; r < r1; r++)                                                      \
            fn(wt, 1, 1, 1, out, os, w, ws, x, xs, nk, r, t);                    \
    }                                                                            \
    static void matmul_##name##_avx2(float *out, size_t os, const void *wv,      \
                                     size_t ws, const void *xv, size_t xs,       \
                                     int n, int r0, int r1, int n_tok)           \
    {                                                                            \
        const char *w = wv, *x = xv;                                             \
        const int nk = (NK);                                                     \
        for (int r = r0; r < r1; r += (MR)) {                                    \
            const int rr = r1 - r < (MR) ? r1 - r : (MR);                        \
            for (int t = 0; t < n_tok; t += (MT)) {                              \
                const int tt = n_tok - t < (MT) ? n_tok - t : (MT);              \
                if (rr == (MR) && tt == (MT))                                    \
                    fn(wt, MR, MT, 0, out, os, w, ws, x, xs, nk, r, t);          \
                else                                                             \
                    TILE_ANY(fn, wt, rr, tt)                                     \
            }                                                                    \
        }                                                                        \
    }

DEFINE_DRIVERS(q4_0, tile_q, WQ4_0, n / FWI_QK4_0, QR, QT)
DEFINE_DRIVERS(q8_0, tile_q, WQ8_0, n / FWI_QK8_0, QR, QT)
DEFINE_DRIVERS(f32, tile_f, WF32, n, FR, FT)
DEFINE_DRIVERS(f16, tile_f, WF16, n, FR, FT)
DEFINE_DRIVERS(bf16, tile_f, WBF16, n, FR, FT)

void fwi_matmul_init_avx2(fwi_kernels *k)
{
    k->quantize_row[FWI_TYPE_Q8_0] = quantize_row_q8_0_avx2;

    k->matvec[FWI_TYPE_F32] = matvec_f32_avx2;
    k->matvec[FWI_TYPE_F16] = matvec_f16_avx2;
    k->matvec[FWI_TYPE_BF16] = matvec_bf16_avx2;
    k->matvec[FWI_TYPE_Q4_0] = matvec_q4_0_avx2;
    k->matvec[FWI_TYPE_Q8_0] = matvec_q8_0_avx2;

    k->matmul[FWI_TYPE_F32] = matmul_f32_avx2;
    k->matmul[FWI_TYPE_F16] = matmul_f16_avx2;
    k->matmul[FWI_TYPE_BF16] = matmul_bf16_avx2;
    k->matmul[FWI_TYPE_Q4_0] = matmul_q4_0_avx2;
    k->matmul[FWI_TYPE_Q8_0] = matmul_q8_0_avx2;
}
