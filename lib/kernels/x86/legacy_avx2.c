/*
 * libfwinfer - AVX2 kernels for Q4_1, Q5_0, Q5_1 weights (Q8_1 / Q8_0
 * activations) and the Q8_1 activation quantiser. Compiled with -mavx2
 * -mfma -mf16c; only reached through the dispatch table.
 *
 * Bit-identical to the scalar references in generic/legacy_c.c, which are
 * ggml's x86 AVX2 dots: per output element eight f32 lane accumulators,
 * lane k of a block = the exact integer dot of elements 4k..4k+3,
 *     acc = fma(float(lanes), dw * dx, acc)        per 32-block in order
 *     summs = summs + mw * sx                       (Q4_1, Q5_1; unfused)
 *     out = hsum(acc) [+ summs]   (hi + lo halves, then pairs, as ggml)
 *
 * Tiles: R rows x T tokens = 8 output elements (matvec: 8 rows x 1 token;
 * matmul: 4 rows x 2 tokens, so each weight block is unpacked once per
 * tile and used by both tokens), one __m256 accumulator per element.
 * A block of a row is unpacked to 32 bytes (elements 0..31 in order):
 *   Q4_1 / Q5_1: unsigned q in [0, 31]: maddubs(q, y) (|pair| <= 2*31*128,
 *                no int16 saturation), madd with ones -> int32 lane k =
 *                elements 4k..4k+3
 *   Q5_0:        signed q - 16 in [-16, 15]: maddubs(|w|, sign(y, w))
 * Row / token tails repeat the last valid row / token (loads stay inside
 * the matrix) and only valid elements are stored, so results never depend
 * on the tile position, the row range or the token count.
 */
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"
#include "avx2_util.h"

static inline int hsum_i32_8(__m256i v)
{
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    return _mm_cvtsi128_si32(h);
}

/* ---------------------------------------------------------------------- */
/* Q8_1 activation quantisation, bit-exact with quantize_row_q8_1_c (and
 * ggml's AVX2 quantize_row_q8_1): d = amax / 127, id = 127 / amax,
 * q = round-half-even(x * id), s = fp16(d * sum(q)). */
static void quantize_row_q8_1_avx2(void *dst, const float *x, int n)
{
    fwi_block_q8_1 *y = dst;
    for (int b = 0; b < n / FWI_QK8_1; b++) {
        float d;
        const int sum = hsum_i32_8(q8_block32_avx2(x + (size_t)b * FWI_QK8_1, y[b].qs, &d));
        const fwi_f16 dh = fwi_fp32_to_fp16(d), sh = fwi_fp32_to_fp16(d * (float)sum);
        memcpy(&y[b].d, &dh, sizeof dh);
        memcpy(&y[b].s, &sh, sizeof sh);
    }
}

/* ---------------------------------------------------------------------- */
/* block unpacking */

enum { LQ4_1, LQ5_0, LQ5_1 };

/* byte offsets inside a weight block: quants, high bits, scale m */
#define WBS(wt) ((wt) == LQ4_1 ? sizeof(fwi_block_q4_1) : \
                 (wt) == LQ5_0 ? sizeof(fwi_block_q5_0) : sizeof(fwi_block_q5_1))
#define WQS(wt) ((wt) == LQ4_1 ? 4 : (wt) == LQ5_0 ? 6 : 8)
#define WQH(wt) ((wt) == LQ5_0 ? 2 : 4)
/* activation block: Q8_1 (d, s, qs at 4) for Q4_1 / Q5_1, Q8_0 (qs at 2) */
#define XBS(wt) ((wt) == LQ5_0 ? sizeof(fwi_block_q8_0) : sizeof(fwi_block_q8_1))
#define XQS(wt) ((wt) == LQ5_0 ? 2 : 4)

/* 32 quants of the block at wb, element j in byte j: the nibbles, plus
 * 0x10 where bit j of qh is set (Q5_*), minus 16 (Q5_0) */
static FWI_ALWAYS_INLINE __m256i unpack_block(const int wt, const char *wb)
{
    const __m128i raw = _mm_loadu_si128((const __m128i *)(const void *)(wb + WQS(wt)));
    const __m128i m4 = _mm_set1_epi8(0x0f);
    __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m4), _mm_and_si128(raw, m4));
    if (wt != LQ4_1) {
        int32_t qh;
        memcpy(&qh, wb + WQH(wt), sizeof qh);
        /* byte j <- byte j/8 of qh, then test bit j%8 */
        const __m256i sel = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                             2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll);
        const __m256i h = _mm256_shuffle_epi8(_mm256_set1_epi32(qh), sel);
        const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(h, bit), bit);
        q = _mm256_or_si256(q, _mm256_and_si256(set, _mm256_set1_epi8(0x10)));
        if (wt == LQ5_0)
            q = _mm256_sub_epi8(q, _mm256_set1_epi8(16));
    }
    return q;
}

/* int32 partial sums (8 lanes) of the dot of unpacked weights q and y */
static FWI_ALWAYS_INLINE __m256i block_partials(const int wt, __m256i q, __m256i y)
{
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i p = wt == LQ5_0 ? _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q))
                                  : _mm256_maddubs_epi16(q, y);
    return _mm256_madd_epi16(p, ones);
}

/* ggml's hsum_float_8: (hi + lo), then lanes (0 + 2, 1 + 3), then 0 + 1 */
static FWI_ALWAYS_INLINE float hsum_f8(__m256 v)
{
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

/* ---------------------------------------------------------------------- */
/* tile: rows [r, r + nr) (nr <= R) x tokens [t, t + nt) (nt <= T), R*T = 8 */

#define PF_DIST 512 /* prefetch distance in bytes along each row */

static FWI_ALWAYS_INLINE void tile(const int wt, const int R, const int T, const int pf,
                                   float *out, size_t os, const char *w, size_t ws,
                                   const char *x, size_t xs, int nb,
                                   int r, int nr, int t, int nt)
{
    const char *wr[8], *xt[8];
    FWI_UNROLL
    for (int i = 0; i < R; i++)
        wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws;
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        xt[j] = x + (size_t)(t + (j < nt ? j : nt - 1)) * xs;

    __m256 acc[8];
    float summs[8];
    FWI_UNROLL
    for (int p = 0; p < 8; p++) {
        acc[p] = _mm256_setzero_ps();
        summs[p] = 0.0f;
    }
    for (int b = 0; b < nb; b++) {
        const size_t wo = (size_t)b * WBS(wt), xo = (size_t)b * XBS(wt);
        __m256i y[8];
        float dx[8], sx[8];
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            y[j] = _mm256_loadu_si256((const __m256i *)(const void *)(xt[j] + xo + XQS(wt)));
            dx[j] = load_f16(xt[j] + xo);
            sx[j] = wt == LQ5_0 ? 0.0f : load_f16(xt[j] + xo + 2);
        }
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            const char *wb = wr[i] + wo;
            if (pf)
                _mm_prefetch(wb + PF_DIST, _MM_HINT_T0);
            const float dw = load_f16(wb);
            const float mw = wt == LQ5_0 ? 0.0f : load_f16(wb + 2);
            const __m256i q = unpack_block(wt, wb);
            FWI_UNROLL
            for (int j = 0; j < T; j++) {
                const int p = j * R + i;
                const __m256 f = _mm256_cvtepi32_ps(block_partials(wt, q, y[j])); /* exact */
                acc[p] = _mm256_fmadd_ps(f, _mm256_set1_ps(dw * dx[j]), acc[p]);
                if (wt != LQ5_0) {
                    const float ms = mw * sx[j]; /* never fused */
                    summs[p] = summs[p] + ms;
                }
            }
        }
    }

    FWI_UNROLL
    for (int p = 0; p < 8; p++) {
        const int i = p % R, j = p / R;
        if (i < nr && j < nt) {
            const float h = hsum_f8(acc[p]);
            out[(size_t)(t + j) * os + (size_t)(r + i)] = h + summs[p];
        }
    }
}

#define MV_R 8 /* matvec: rows per tile */
#define MM_R 4 /* matmul: rows x tokens per tile */
#define MM_T 2

#define DEFINE_LEGACY(name, wt, QK)                                              \
    static void matvec_##name##_avx2(float *out, const void *w, size_t ws,       \
                                     const void *x, int n, int r0, int r1)       \
    {                                                                            \
        const int nb = n / (QK);                                                 \
        for (int r = r0; r < r1; r += MV_R) {                                    \
            const int nr = r1 - r < MV_R ? r1 - r : MV_R;                        \
            tile(wt, MV_R, 1, 1, out, 0, (const char *)w, ws, (const char *)x, 0, \
                 nb, r, nr, 0, 1);                                               \
        }                                                                        \
    }                                                                            \
    static void matmul_##name##_avx2(float *out, size_t os, const void *w,       \
                                     size_t ws, const void *x, size_t xs,        \
                                     int n, int r0, int r1, int n_tok)           \
    {                                                                            \
        const int nb = n / (QK);                                                 \
        if (n_tok == 1) {                                                        \
            matvec_##name##_avx2(out, w, ws, x, n, r0, r1);                      \
            return;                                                              \
        }                                                                        \
        for (int r = r0; r < r1; r += MM_R) {                                    \
            const int nr = r1 - r < MM_R ? r1 - r : MM_R;                        \
            for (int t = 0; t < n_tok; t += MM_T) {                              \
                const int nt = n_tok - t < MM_T ? n_tok - t : MM_T;              \
                tile(wt, MM_R, MM_T, 0, out, os, (const char *)w, ws,            \
                     (const char *)x, xs, nb, r, nr, t, nt);                     \
            }                                                                    \
        }                                                                        \
    }

DEFINE_LEGACY(q4_1, LQ4_1, FWI_QK4_1)
DEFINE_LEGACY(q5_0, LQ5_0, FWI_QK5_0)
DEFINE_LEGACY(q5_1, LQ5_1, FWI_QK5_1)

void fwi_legacy_init_avx2(fwi_kernels *k)
{
    k->quantize_row[FWI_TYPE_Q8_1] = quantize_row_q8_1_avx2;

    k->matvec[FWI_TYPE_Q4_1] = matvec_q4_1_avx2;
    k->matvec[FWI_TYPE_Q5_0] = matvec_q5_0_avx2;
    k->matvec[FWI_TYPE_Q5_1] = matvec_q5_1_avx2;

    k->matmul[FWI_TYPE_Q4_1] = matmul_q4_1_avx2;
    k->matmul[FWI_TYPE_Q5_0] = matmul_q5_0_avx2;
    k->matmul[FWI_TYPE_Q5_1] = matmul_q5_1_avx2;
}
