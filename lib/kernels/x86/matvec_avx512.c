/*
 * libfwinfer - 512-bit matvec (decode, one token) for the K-quants Q4_K,
 * Q5_K, Q6_K (Q8_K activations) and the float types F32, F16, BF16.
 * Compiled with -mavx512f -mavx512vl -mavx512bw -mavx512dq (plus
 * AVX2/FMA/F16C); only reached through the dispatch table at FWI_ISA_AVX512
 * and above. Matmul stays the AVX2 / AVX512-VNNI kernel.
 *
 * Every result is bit-identical to the AVX2 matvec (and so to the matmul
 * kernels, which checkasm checks against matvec bit for bit):
 *
 *   K-quants: the integer parts of a super-block dot (sumi, and summ for
 *   Q4_K/Q5_K) are exact integers whatever the summation order; the float
 *   steps per row and super-block are those of kquants_avx2.c / the scalar
 *   reference, lane-wise (no FMA):
 *       acc = acc + (d * dy) * (float)sumi  [ acc = acc - (dmin * dy) * (float)summ ]
 *   A zmm holds the same 256-bit chunk of two rows side by side ([row a |
 *   row b]), so each unpack / maddubs / madd does the work of two rows; the
 *   activation chunk is broadcast to both halves once and shared by the
 *   four row pairs of a group of 8 rows. The int32 lane sums of the 8 rows
 *   are reduced by a transposing tree and the float steps are done for the
 *   8 rows in one __m256.
 *
 *   Float weights: the AVX2 kernel keeps per row eight f32 lanes,
 *       acc8 = fma(w[k..k+8), x[k..k+8), acc8)   k = 0, 8, 16, ...
 *   (tail zero-padded to 8), then hsum8: t = lo4 + hi4, u = t + movehl(t),
 *   out = u0 + u1. Here a zmm holds the eight lanes of two rows, [row a |
 *   row b], with the activation chunk broadcast to both halves: the same
 *   fma per lane in the same order; the final sums of 8 rows are the same
 *   additions of the same operands, done by a shuffle tree.
 *
 * Prefetching as the AVX2 kernels: the group of rows at least ~8 KiB ahead,
 * spread over the steps of the current group.
 */
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"
#include "kquants_util.h"

#define KMV_VNNI 0
#define KMV_SFX _avx512
#include "kmv512_tmpl.h"

/* ---------------------------------------------------------------------- */
/* float weights x f32 activations */

enum { WF32, WF16, WBF16 };

/* elements k..k+8 of rows a and b as [row a | row b] */
static FWI_ALWAYS_INLINE __m512 load_w2x8(const int wt, const char *a, const char *b)
{
    if (wt == WF32)
        return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps((const float *)(const void *)a)),
                                  _mm256_loadu_ps((const float *)(const void *)b), 1);
    const __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(loadu128(a)), loadu128(b), 1);
    if (wt == WF16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* hsum8 of matmul_avx2.c for the 8 rows of acc[0..4) ([row 2p | row 2p+1]):
 *   t_j = l_j + l_{j+4}, u_0 = t_0 + t_2, u_1 = t_1 + t_3, out = u_0 + u_1 */
static FWI_ALWAYS_INLINE __m256 hsum8x8(const __m512 *acc)
{
    /* [rows 0..3 lanes 0..3] + [rows 0..3 lanes 4..7] */
    const __m512 t0 = _mm512_add_ps(_mm512_shuffle_f32x4(acc[0], acc[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                    _mm512_shuffle_f32x4(acc[0], acc[1], _MM_SHUFFLE(3, 1, 3, 1)));
    const __m512 t1 = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2], acc[3], _MM_SHUFFLE(2, 0, 2, 0)),
                                    _mm512_shuffle_f32x4(acc[2], acc[3], _MM_SHUFFLE(3, 1, 3, 1)));
    /* lane k: [u0, u1] of row k, then of row k + 4 */
    const __m512 u = _mm512_add_ps(_mm512_shuffle_ps(t0, t1, _MM_SHUFFLE(1, 0, 1, 0)),
                                   _mm512_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m512 s = _mm512_add_ps(u, _mm512_movehdup_ps(u));
    return _mm512_castps512_ps256(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 2, 6, 10, 14,
                                                                          0, 0, 0, 0, 0, 0, 0, 0), s));
}

#ifndef FPF_LEAD
#define FPF_LEAD 8192
#endif

/* rows wr[0..8) (group starting at row r), n columns */
static FWI_ALWAYS_INLINE __m256 fgroup8(const int wt, const char *const *wr, const float *x, int n,
                                        const char *pfp, int pf)
{
    const size_t es = wt == WF32 ? 4 : 2;
    const int pfl = (int)((8 * 8 * es + 63) / 64); /* lines per step */
    __m512 acc[4];
    FWI_UNROLL
    for (int p = 0; p < 4; p++)
        acc[p] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 8 <= n; k += 8) {
        if (pf) {
            FWI_UNROLL
            for (int j = 0; j < pfl; j++)
                _mm_prefetch(pfp + 64 * j, _MM_HINT_T0);
            pfp += 64 * pfl;
        }
        const __m512 xv = _mm512_broadcast_f32x8(_mm256_loadu_ps(x + k));
        FWI_UNROLL
        for (int p = 0; p < 4; p++)
            acc[p] = _mm512_fmadd_ps(load_w2x8(wt, wr[2 * p] + (size_t)k * es, wr[2 * p + 1] + (size_t)k * es),
                                     xv, acc[p]);
    }
    if (k < n) { /* zero-padded tail: the same fma as a full step */
        const size_t rem = (size_t)(n - k);
        float xb[8] = { 0 };
        memcpy(xb, x + k, rem * sizeof(float));
        const __m512 xv = _mm512_broadcast_f32x8(_mm256_loadu_ps(xb));
        FWI_UNROLL
        for (int p = 0; p < 4; p++) {
            char buf[64] = { 0 };
            memcpy(buf, wr[2 * p] + (size_t)k * es, rem * es);
            memcpy(buf + 8 * es, wr[2 * p + 1] + (size_t)k * es, rem * es);
            acc[p] = _mm512_fmadd_ps(load_w2x8(wt, buf, buf + 8 * es), xv, acc[p]);
        }
    }
    return hsum8x8(acc);
}

static FWI_ALWAYS_INLINE void matvec_f512(const int wt, float *out, const void *wv, size_t ws,
                                          const void *xv, int n, int r0, int r1)
{
    const char *w = wv;
    const float *x = xv;
    for (int r = r0; r < r1; r += 8) {
        const int nr = r1 - r < 8 ? r1 - r : 8;
        const char *wr[8];
        for (int i = 0; i < 8; i++)
            wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws;
        /* the next group at least FPF_LEAD bytes ahead, as the AVX2 kernel */
        const size_t gb = 8 * ws;
        const char *pfp = w + (size_t)(r + 8) * ws + (gb < FPF_LEAD ? (FPF_LEAD / gb) * gb : 0);
        store8(out + r, fgroup8(wt, wr, x, n, pfp, r + 16 <= r1), nr);
    }
}

#define DEFINE_FV(name, wt)                                                             \
    static void matvec_##name##_avx512(float *out, const void *w, size_t ws, const void *x, \
                                       int n, int r0, int r1)                           \
    {                                                                                   \
        matvec_f512(wt, out, w, ws, x, n, r0, r1);                                      \
    }

DEFINE_FV(f32, WF32)
DEFINE_FV(f16, WF16)
DEFINE_FV(bf16, WBF16)

void fwi_matvec_init_avx512(fwi_kernels *k)
{
    k->matvec[FWI_TYPE_F32] = matvec_f32_avx512;
    k->matvec[FWI_TYPE_F16] = matvec_f16_avx512;
    k->matvec[FWI_TYPE_BF16] = matvec_bf16_avx512;
    k->matvec[FWI_TYPE_Q4_K] = matvec_q4_K_avx512;
    k->matvec[FWI_TYPE_Q5_K] = matvec_q5_K_avx512;
    k->matvec[FWI_TYPE_Q6_K] = matvec_q6_K_avx512;
}
