/*
 * libfwinfer - AVX2 kernels for the K-quant weights Q2_K and Q3_K (Q8_K
 * activations). Compiled with -mavx2 -mfma -mf16c; only reached through
 * the dispatch table.
 *
 * Bit-identical to the scalar references in generic/lowk_c.c (ggml's x86
 * AVX2 dots): per output element one __m256 of eight f32 lane accumulators;
 * lane L of a super-block holds the exact integer sum over the elements at
 * positions 4L..4L+3 of every 32-group, each times its sub-block scale:
 *   Q2_K: acc = fma(-(dy * dmin), (float)(m * bsums, pairwise), acc)
 *         acc = fma(dy * d, (float)sumi, acc)
 *   Q3_K: acc = fma(dy * d, (float)sumi, acc)
 * per super-block in order; out = ggml's hsum_float_8(acc).
 *
 * Integer parts: the 32 bytes qs[32h..32h+32) hold groups p = 0..3 of half h
 * at bits 2p; maddubs(q, y) with the unsigned 2-bit q (Q3_K: minus
 * maddubs(4 * [3rd bit clear], y), exact for any int8 y), then madd with the
 * sub-block scales as int16 (lanes 0..7: sub-block 8h + 2p, lanes 8..15:
 * 8h + 2p + 1) gives int32 lane L = positions 4L..4L+3.
 *
 * Tiles: R rows x T tokens = 8 elements (matvec 8 x 1, matmul 4 x 2): a
 * row's super-block is unpacked once per tile. Row / token tails repeat the
 * last valid row / token and store only valid elements, so results never
 * depend on the tile, the row range or the token count.
 */
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"
#include "avx2_util.h"

enum { LK2, LK3 };

#define WBS(wt) ((wt) == LK2 ? sizeof(fwi_block_q2_K) : sizeof(fwi_block_q3_K))
/* byte offsets in the blocks */
#define Q2_SC 0
#define Q2_QS 16
#define Q2_D 80
#define Q2_DMIN 82
#define Q3_HM 0
#define Q3_QS 32
#define Q3_SC 96
#define Q3_D 108
/* Q8_K: d (f32) at 0, qs at 4, bsums at 260 */
#define XBS sizeof(fwi_block_q8_K)

static inline float load_f32(const void *p)
{
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}

/* ggml's hsum_float_8: (hi + lo), then lanes (0 + 2, 1 + 3), then 0 + 1 */
static FWI_ALWAYS_INLINE float hsum_f8(__m256 v)
{
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

/* one row's super-block, unpacked */
typedef struct lk_row {
    __m256i q[8];   /* [4h + p]: unsigned 2-bit quants of group p of half h */
    __m256i n4[8];  /* Q3_K: 4 where the 3rd bit is clear, else 0 */
    __m256i sc[8];  /* int16 scales of groups [4h + p] (see the header) */
    __m256i mins;   /* Q2_K: the 16 mins as int16 */
    float d, dmin;
} lk_row;

/* int16 lanes 0..7 <- scale 2p of the 8 in s (int16 in both 128-bit halves),
 * lanes 8..15 <- scale 2p + 1 */
static FWI_ALWAYS_INLINE __m256i pick_scales(__m256i s, int p)
{
    const __m256i pat = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,
                                         2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    return _mm256_shuffle_epi8(s, _mm256_add_epi8(pat, _mm256_set1_epi8((char)(4 * p))));
}

static FWI_ALWAYS_INLINE void unpack_row(const int wt, lk_row *u, const char *wb)
{
    const __m256i m3 = _mm256_set1_epi8(3);
    __m128i s8;
    if (wt == LK2) {
        const __m128i raw = _mm_loadu_si128((const __m128i *)(const void *)(wb + Q2_SC));
        s8 = _mm_and_si128(raw, _mm_set1_epi8(0x0f));
        u->mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0f)));
        u->d = load_f16(wb + Q2_D);
        u->dmin = load_f16(wb + Q2_DMIN);
    } else {
        int8_t s[16];
        for (int j = 0; j < 16; j++)
            s[j] = (int8_t)fwi_q3k_scale(j, (const uint8_t *)wb + Q3_SC);
        s8 = _mm_loadu_si128((const __m128i *)(const void *)s);
        u->d = load_f16(wb + Q3_D);
        u->dmin = 0.0f;
    }
    const __m256i s16 = _mm256_cvtepi8_epi16(s8); /* Q2_K scales < 16: same as unsigned */
    const __m256i hm = wt == LK3 ? _mm256_loadu_si256((const __m256i *)(const void *)(wb + Q3_HM))
                                 : _mm256_setzero_si256();
    FWI_UNROLL
    for (int h = 0; h < 2; h++) {
        const __m256i bits = _mm256_loadu_si256(
            (const __m256i *)(const void *)(wb + (wt == LK2 ? Q2_QS : Q3_QS) + 32 * h));
        /* two literal immediates: the ternary is not a constant expression
         * when the loop is not unrolled (sanitizer builds) */
        const __m256i sh = h ? _mm256_permute2x128_si256(s16, s16, 0x11)
                             : _mm256_permute2x128_si256(s16, s16, 0x00);
        FWI_UNROLL
        for (int p = 0; p < 4; p++) {
            u->q[4 * h + p] = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * p), m3);
            u->sc[4 * h + p] = pick_scales(sh, p);
            if (wt == LK3) {
                const __m256i bit = _mm256_set1_epi8((char)(1 << (4 * h + p)));
                const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
                u->n4[4 * h + p] = _mm256_andnot_si256(set, _mm256_set1_epi8(4));
            }
        }
    }
}

/* acc update of one element: row u, activation block xb */
static FWI_ALWAYS_INLINE __m256 elem_block(const int wt, __m256 acc, const lk_row *u,
                                           const char *xb)
{
    const float dy = load_f32(xb);
    if (wt == LK2) {
        const __m256i bs = _mm256_loadu_si256((const __m256i *)(const void *)(xb + 260));
        const __m256 prod = _mm256_cvtepi32_ps(_mm256_madd_epi16(u->mins, bs));
        const float dmin = -(dy * u->dmin);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), prod, acc);
    }
    __m256i sumi = _mm256_setzero_si256();
    FWI_UNROLL
    for (int g = 0; g < 8; g++) {
        const __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(xb + 4 + 32 * g));
        __m256i p = _mm256_maddubs_epi16(u->q[g], y);
        if (wt == LK3)
            p = _mm256_sub_epi16(p, _mm256_maddubs_epi16(u->n4[g], y));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(u->sc[g], p));
    }
    const float d = dy * u->d;
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
}

#define PF_DIST 1024

static FWI_ALWAYS_INLINE void tile(const int wt, const int R, const int T, const int pf,
                                   float *out, size_t os, const char *w, size_t ws,
                                   const char *x, size_t xs, int nb,
                                   int r, int nr, int t, int nt)
{
    const char *wr[8], *xt[8];
    __m256 acc[8];
    FWI_UNROLL
    for (int i = 0; i < R; i++)
        wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws;
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        xt[j] = x + (size_t)(t + (j < nt ? j : nt - 1)) * xs;
    FWI_UNROLL
    for (int p = 0; p < 8; p++)
        acc[p] = _mm256_setzero_ps();

    for (int b = 0; b < nb; b++) {
        const size_t wo = (size_t)b * WBS(wt), xo = (size_t)b * XBS;
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            const char *wb = wr[i] + wo;
            if (pf) {
                _mm_prefetch(wb + PF_DIST, _MM_HINT_T0);
                _mm_prefetch(wb + PF_DIST + 64, _MM_HINT_T0);
            }
            lk_row u;
            unpack_row(wt, &u, wb);
            FWI_UNROLL
            for (int j = 0; j < T; j++)
                acc[j * R + i] = elem_block(wt, acc[j * R + i], &u, xt[j] + xo);
        }
    }

    FWI_UNROLL
    for (int p = 0; p < 8; p++) {
        const int i = p % R, j = p / R;
        if (i < nr && j < nt)
            out[(size_t)(t + j) * os + (size_t)(r + i)] = hsum_f8(acc[p]);
    }
}

#define MV_R 8
#define MM_R 4
#define MM_T 2

#define DEFINE_LOWK(name, wt)                                                    \
    static void matvec_##name##_avx2(float *out, const void *w, size_t ws,       \
                                     const void *x, int n, int r0, int r1)       \
    {                                                                            \
        const int nb = n / FWI_QK_K;                                             \
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
        const int nb = n / FWI_QK_K;                                             \
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

DEFINE_LOWK(q2_K, LK2)
DEFINE_LOWK(q3_K, LK3)

void fwi_lowk_init_avx2(fwi_kernels *k)
{
    k->matvec[FWI_TYPE_Q2_K] = matvec_q2_K_avx2;
    k->matvec[FWI_TYPE_Q3_K] = matvec_q3_K_avx2;
    k->matmul[FWI_TYPE_Q2_K] = matmul_q2_K_avx2;
    k->matmul[FWI_TYPE_Q3_K] = matmul_q3_K_avx2;
}
