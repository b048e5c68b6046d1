/*
 * libfwinfer - 512-bit kernels at FWI_ISA_AVX512 and above: the matvec
 * (decode, one token) of the K-quants Q4_K, Q5_K, Q6_K (Q8_K activations),
 * and the matvec and matmul of F16 and BF16 weights. Compiled with
 * -mavx512f -mavx512vl -mavx512bw -mavx512dq (plus AVX2/FMA/F16C); only
 * reached through the dispatch table. F32 weights stay on the AVX2 kernels
 * (the order below made their matmul 20-30 % slower), the K-quant matmul on
 * the AVX2 / AVX512-VNNI kernels.
 *
 *   K-quants: every result is bit-identical to the AVX2 matvec (and so to
 *   the matmul kernels, which checkasm checks against matvec bit for bit).
 *   The integer parts of a super-block dot (sumi, and summ for Q4_K/Q5_K)
 *   are exact integers whatever the summation order; the float steps per
 *   row and super-block are those of kquants_avx2.c / the scalar
 *   reference, lane-wise (no FMA):
 *       acc = acc + (d * dy) * (float)sumi  [ acc = acc - (dmin * dy) * (float)summ ]
 *   A zmm holds the same 256-bit chunk of two rows side by side ([row a |
 *   row b]), so each unpack / maddubs / madd does the work of two rows; the
 *   activation chunk is broadcast to both halves once and shared by the
 *   four row pairs of a group of 8 rows. The int32 lane sums of the 8 rows
 *   are reduced by a transposing tree and the float steps are done for the
 *   8 rows in one __m256. Prefetching as the AVX2 kernels: the group of
 *   rows at least ~8 KiB ahead, spread over the steps of the current group.
 *
 *   F16 / BF16: an order of their own at this level ("4 x 16 lanes", see
 *   below), the same in matvec and matmul; it differs from the AVX2 and
 *   scalar orders by rounding only (checkasm's summation bounds).
 */
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"
#include "kquants_util.h"

#define KMV_VNNI 0
#define KMV_SFX _avx512
#include "kmv512_tmpl.h"

/* ---------------------------------------------------------------------- */
/* float weights x f32 activations: matvec and matmul
 *
 * Order per (row, token), "4 x 16 lanes": chunk c of 16 elements (the last
 * one zero-padded) goes to accumulator c % 4,
 *     A[c % 4] = fma(w[16c..16c+16), x[16c..16c+16), A[c % 4])   c = 0, 1, ...
 * then hsum16((A0 + A1) + (A2 + A3)). The matvec reads one row at a time
 * from start to end (four independent chains): one sequential stream that
 * the hardware prefetchers follow. It beat 8 interleaved rows with
 * software prefetch by 11 % (TinyLlama F16) and 20 % (SmolLM F16) decode
 * with 1 thread and 5-9 % with 2 (interleaved A/B runs); no software
 * prefetch did better than the hardware's here. The matmul keeps the
 * chains but runs them one at a time over a tile of rows x tokens (so a
 * tile holds one accumulator per pair), parking the four partial vectors
 * of each pair until the end: the same operations on the same operands,
 * bit-identical to the matvec. */

enum { WF16, WBF16 };

/* 16 weights at p (m: the lanes to load, the rest zero) */
static FWI_ALWAYS_INLINE __m512 load_w16(const int wt, const char *p, __mmask16 m)
{
    const __m256i h = _mm256_maskz_loadu_epi16(m, p);
    if (wt == WF16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* the fixed reduction: hsum16((a0 + a1) + (a2 + a3)) */
static FWI_ALWAYS_INLINE float hsum16x4(__m512 a0, __m512 a1, __m512 a2, __m512 a3)
{
    const __m512 v = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                                   _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}

static FWI_ALWAYS_INLINE void matvec_f512(const int wt, float *out, const void *wv, size_t ws,
                                          const void *xv, int n, int r0, int r1)
{
    const size_t es = 2;
    const float *x = xv;
    const int n64 = n & ~63;
    for (int r = r0; r < r1; r++) {
        const char *w = (const char *)wv + (size_t)r * ws;
        __m512 A[4];
        FWI_UNROLL
        for (int q = 0; q < 4; q++)
            A[q] = _mm512_setzero_ps();
        int k = 0;
        for (; k < n64; k += 64) {
            FWI_UNROLL
            for (int q = 0; q < 4; q++)
                A[q] = _mm512_fmadd_ps(load_w16(wt, w + (size_t)(k + 16 * q) * es, (__mmask16)0xffff),
                                       _mm512_loadu_ps(x + k + 16 * q), A[q]);
        }
        /* the chunks past the last 64: to A[0], A[1], ... in order */
        FWI_UNROLL
        for (int q = 0; q < 4; q++) {
            const int kq = k + 16 * q;
            if (kq >= n)
                break;
            const __mmask16 m = n - kq >= 16 ? (__mmask16)0xffff
                                             : (__mmask16)((1u << (n - kq)) - 1);
            A[q] = _mm512_fmadd_ps(load_w16(wt, w + (size_t)kq * es, m),
                                   _mm512_maskz_loadu_ps(m, x + kq), A[q]);
        }
        out[r] = hsum16x4(A[0], A[1], A[2], A[3]);
    }
}

/* matmul tile: rows wr[0..FMR) x tokens xt[0..T) (a short tile repeats its
 * last row / token and does not store it), n elements. The chains run one
 * at a time within blocks of FKB elements (x and w of a block stay in L1
 * for the four chains); the accumulators of a chain are parked in P
 * between blocks. */
#define FMR 4              /* rows per tile */
#define FMT 6              /* tokens per tile (24 accumulators) */
#define FKB 512            /* elements per block (FKB = 1024 or 256: slower) */
#define FRBB (256 * 1024)  /* weight bytes per block of rows */

static FWI_ALWAYS_INLINE void tile_f512(const int wt, const int T, float *out, size_t os,
                                        const char *const *wr, const float *const *xt, int n,
                                        int r, int nr, int t, int nt)
{
    const size_t es = 2;
    __m512 P[4][FMR][FMT]; /* A[q] of each pair */
    for (int kb = 0; kb < n; kb += FKB) {
        const int ke = n - kb < FKB ? n : kb + FKB;
        FWI_UNROLL
        for (int q = 0; q < 4; q++) {
            __m512 acc[FMR][FMT];
            FWI_UNROLL
            for (int i = 0; i < FMR; i++) {
                FWI_UNROLL
                for (int j = 0; j < T; j++)
                    acc[i][j] = kb == 0 ? _mm512_setzero_ps() : P[q][i][j];
            }
            int k = kb + 16 * q;
            for (; k + 16 <= ke; k += 64) {
                __m512 wv[FMR];
                FWI_UNROLL
                for (int i = 0; i < FMR; i++)
                    wv[i] = load_w16(wt, wr[i] + (size_t)k * es, (__mmask16)0xffff);
                FWI_UNROLL
                for (int j = 0; j < T; j++) {
                    const __m512 xv = _mm512_loadu_ps(xt[j] + k);
                    FWI_UNROLL
                    for (int i = 0; i < FMR; i++)
                        acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
                }
            }
            if (k < ke) { /* the zero-padded last chunk (last block only) */
                const __mmask16 m = (__mmask16)((1u << (ke - k)) - 1);
                __m512 wv[FMR];
                FWI_UNROLL
                for (int i = 0; i < FMR; i++)
                    wv[i] = load_w16(wt, wr[i] + (size_t)k * es, m);
                FWI_UNROLL
                for (int j = 0; j < T; j++) {
                    const __m512 xv = _mm512_maskz_loadu_ps(m, xt[j] + k);
                    FWI_UNROLL
                    for (int i = 0; i < FMR; i++)
                        acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
                }
            }
            FWI_UNROLL
            for (int i = 0; i < FMR; i++) {
                FWI_UNROLL
                for (int j = 0; j < T; j++)
                    P[q][i][j] = acc[i][j];
            }
        }
    }
    for (int j = 0; j < nt; j++)
        for (int i = 0; i < nr; i++)
            out[(size_t)(t + j) * os + (size_t)(r + i)] =
                hsum16x4(P[0][i][j], P[1][i][j], P[2][i][j], P[3][i][j]);
}

static FWI_ALWAYS_INLINE void matmul_f512(const int wt, float *out, size_t os, const void *wv,
                                          size_t ws, const void *xv, size_t xs, int n, int r0,
                                          int r1, int n_tok)
{
    const char *w = wv, *x = xv;
    /* blocks of rows whose weights stay in L2 while the token tiles pass */
    const int frb = ws * FMR >= FRBB ? FMR : (int)(FRBB / ws) / FMR * FMR;
    for (int rb = r0; rb < r1; rb += frb) {
        const int rbe = r1 - rb < frb ? r1 : rb + frb;
        for (int t = 0; t < n_tok; t += FMT) {
            const int nt = n_tok - t < FMT ? n_tok - t : FMT;
            const float *xt[FMT];
            for (int j = 0; j < FMT; j++)
                xt[j] = (const float *)(const void *)(x + (size_t)(t + (j < nt ? j : nt - 1)) * xs);
            for (int r = rb; r < rbe; r += FMR) {
                const int nr = rbe - r < FMR ? rbe - r : FMR;
                const char *wr[FMR];
                for (int i = 0; i < FMR; i++)
                    wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws;
                if (nt > 4)
                    tile_f512(wt, FMT, out, os, wr, xt, n, r, nr, t, nt);
                else if (nt > 2)
                    tile_f512(wt, 4, out, os, wr, xt, n, r, nr, t, nt);
                else
                    tile_f512(wt, 2, out, os, wr, xt, n, r, nr, t, nt);
            }
        }
    }
}

#define DEFINE_F(name, wt)                                                                  \
    static void matvec_##name##_avx512(float *out, const void *w, size_t ws, const void *x, \
                                       int n, int r0, int r1)                               \
    {                                                                                       \
        matvec_f512(wt, out, w, ws, x, n, r0, r1);                                          \
    }                                                                                       \
    static void matmul_##name##_avx512(float *out, size_t os, const void *w, size_t ws,     \
                                       const void *x, size_t xs, int n, int r0, int r1,     \
                                       int n_tok)                                           \
    {                                                                                       \
        matmul_f512(wt, out, os, w, ws, x, xs, n, r0, r1, n_tok);                           \
    }

DEFINE_F(f16, WF16)
DEFINE_F(bf16, WBF16)

void fwi_matvec_init_avx512(fwi_kernels *k)
{
    k->matvec[FWI_TYPE_F16] = matvec_f16_avx512;
    k->matvec[FWI_TYPE_BF16] = matvec_bf16_avx512;
    k->matmul[FWI_TYPE_F16] = matmul_f16_avx512;
    k->matmul[FWI_TYPE_BF16] = matmul_bf16_avx512;
    k->matvec[FWI_TYPE_Q4_K] = matvec_q4_K_avx512;
    k->matvec[FWI_TYPE_Q5_K] = matvec_q5_K_avx512;
    k->matvec[FWI_TYPE_Q6_K] = matvec_q6_K_avx512;
}
