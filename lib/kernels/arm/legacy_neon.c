/*
 * libfwinfer - AArch64 ASIMD kernels for Q4_1, Q5_0, Q5_1 weights (Q8_1 /
 * Q8_0 activations) and the Q8_1 activation quantiser. Baseline AArch64
 * (used at the NEON and the dotprod levels).
 *
 * Bit-identical to the scalar references in generic/legacy_c.c (ggml's x86
 * AVX2 dots): per output element eight f32 lane accumulators (two
 * float32x4: lanes 0..3, 4..7), lane k of a block = the exact integer dot of
 * elements 4k..4k+3,
 *     acc = fma(float(lanes), dw * dx, acc)        per 32-block in order
 *     summs = summs + mw * sx                       (Q4_1, Q5_1; unfused)
 *     out = ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7))
 *           [+ summs]
 *
 * Tiles of R rows x T tokens (matvec 4 x 1, matmul 4 x 2: each weight
 * block is unpacked once per tile). A block is unpacked to two int8x16
 * (elements 0..15, 16..31): nibbles | 0x10 where the qh bit is set (Q5_*),
 * minus 16 (Q5_0), all within int8. The lane sums are widening multiplies
 * (int16, exact) reduced by pairwise widening adds to groups of 4.
 * Row / token tails repeat the last valid row / token and store only valid
 * elements: results never depend on the tile, the row range or the token
 * count.
 */
#include <arm_neon.h>
#include <string.h>

#include "../kernels.h"
#include "neon_util.h"

static inline float ld_f16(const void *p)
{
    float16_t h;
    memcpy(&h, p, sizeof h);
    return (float)h;
}

/* ---------------------------------------------------------------------- */
/* Q8_1 activation quantisation, bit-exact with quantize_row_q8_1_c:
 * d = amax / 127, id = 127 / amax, FCVTNS (round to nearest, ties even),
 * s = fp16(d * sum(q)). */
static void quantize_row_q8_1_neon(void *dst, const float *x, int n)
{
    fwi_block_q8_1 *y = dst;
    for (int b = 0; b < n / FWI_QK8_1; b++) {
        float d;
        const int sum = fwi_q8_block32_neon(x + (size_t)b * FWI_QK8_1, y[b].qs, &d);
        const fwi_f16 dh = fwi_fp32_to_fp16(d), sh = fwi_fp32_to_fp16(d * (float)sum);
        memcpy(&y[b].d, &dh, sizeof dh);
        memcpy(&y[b].s, &sh, sizeof sh);
    }
}

/* ---------------------------------------------------------------------- */

enum { LQ4_1, LQ5_0, LQ5_1 };

#define WBS(wt) ((wt) == LQ4_1 ? sizeof(fwi_block_q4_1) : \
                 (wt) == LQ5_0 ? sizeof(fwi_block_q5_0) : sizeof(fwi_block_q5_1))
#define WQS(wt) ((wt) == LQ4_1 ? 4 : (wt) == LQ5_0 ? 6 : 8) /* quants */
#define WQH(wt) ((wt) == LQ5_0 ? 2 : 4)                      /* 5th bits */
#define XBS(wt) ((wt) == LQ5_0 ? sizeof(fwi_block_q8_0) : sizeof(fwi_block_q8_1))
#define XQS(wt) ((wt) == LQ5_0 ? 2 : 4)

static FWI_ALWAYS_INLINE void unpack_block(const int wt, const char *wb, int8x16_t *lo,
                                           int8x16_t *hi)
{
    const uint8x16_t raw = vld1q_u8((const uint8_t *)(const void *)(wb + WQS(wt)));
    uint8x16_t l = vandq_u8(raw, vdupq_n_u8(0x0f)), h = vshrq_n_u8(raw, 4);
    if (wt != LQ4_1) {
        uint8_t qh[4];
        memcpy(qh, wb + WQH(wt), 4);
        static const uint8_t bits[16] = { 1, 2, 4, 8, 16, 32, 64, 128,
                                          1, 2, 4, 8, 16, 32, 64, 128 };
        const uint8x16_t bm = vld1q_u8(bits), x10 = vdupq_n_u8(0x10);
        /* byte j of the low half <- bit j of qh, high half <- bit j + 16 */
        const uint8x16_t hl = vcombine_u8(vdup_n_u8(qh[0]), vdup_n_u8(qh[1]));
        const uint8x16_t hh = vcombine_u8(vdup_n_u8(qh[2]), vdup_n_u8(qh[3]));
        l = vorrq_u8(l, vandq_u8(vtstq_u8(hl, bm), x10));
        h = vorrq_u8(h, vandq_u8(vtstq_u8(hh, bm), x10));
    }
    *lo = vreinterpretq_s8_u8(l);
    *hi = vreinterpretq_s8_u8(h);
    if (wt == LQ5_0) {
        *lo = vsubq_s8(*lo, vdupq_n_s8(16));
        *hi = vsubq_s8(*hi, vdupq_n_s8(16));
    }
}

/* the 8 group sums of one 32-block: lo = elements [0..4), [4..8), [8..12),
 * [12..16); hi = the same for 16..31 */
static FWI_ALWAYS_INLINE void block_lanes(int8x16_t wlo, int8x16_t whi, int8x16_t ylo,
                                          int8x16_t yhi, int32x4_t *lo, int32x4_t *hi)
{
    const int32x4_t a = vpaddlq_s16(vmull_s8(vget_low_s8(wlo), vget_low_s8(ylo)));
    const int32x4_t b = vpaddlq_s16(vmull_high_s8(wlo, ylo));
    const int32x4_t c = vpaddlq_s16(vmull_s8(vget_low_s8(whi), vget_low_s8(yhi)));
    const int32x4_t e = vpaddlq_s16(vmull_high_s8(whi, yhi));
    *lo = vpaddq_s32(a, b);
    *hi = vpaddq_s32(c, e);
}

#define LMAXR 4
#define LMAXT 2
#define LMAXP (LMAXR * LMAXT)
#define PF_DIST 512

static FWI_ALWAYS_INLINE void tile(const int wt, const int R, const int T, const int pf,
                                   float *out, size_t os, const char *w, size_t ws,
                                   const char *x, size_t xs, int nb,
                                   int r, int nr, int t, int nt)
{
    const int P = R * T;
    const char *wr[LMAXR], *xt[LMAXT];
    float32x4_t acc0[LMAXP], acc1[LMAXP];
    float summs[LMAXP];
    FWI_UNROLL
    for (int i = 0; i < R; i++)
        wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws;
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        xt[j] = x + (size_t)(t + (j < nt ? j : nt - 1)) * xs;
    FWI_UNROLL
    for (int p = 0; p < P; p++) {
        acc0[p] = vdupq_n_f32(0.0f);
        acc1[p] = vdupq_n_f32(0.0f);
        summs[p] = 0.0f;
    }

    for (int b = 0; b < nb; b++) {
        const size_t wo = (size_t)b * WBS(wt), xo = (size_t)b * XBS(wt);
        int8x16_t ylo[LMAXT], yhi[LMAXT];
        float dx[LMAXT], sx[LMAXT];
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            const char *xb = xt[j] + xo;
            ylo[j] = vld1q_s8((const int8_t *)(const void *)(xb + XQS(wt)));
            yhi[j] = vld1q_s8((const int8_t *)(const void *)(xb + XQS(wt) + 16));
            dx[j] = ld_f16(xb);
            sx[j] = wt == LQ5_0 ? 0.0f : ld_f16(xb + 2);
        }
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            const char *wb = wr[i] + wo;
            if (pf)
                FWI_PREFETCH(wb + PF_DIST);
            const float dw = ld_f16(wb);
            const float mw = wt == LQ5_0 ? 0.0f : ld_f16(wb + 2);
            int8x16_t lo, hi;
            unpack_block(wt, wb, &lo, &hi);
            FWI_UNROLL
            for (int j = 0; j < T; j++) {
                const int p = j * R + i;
                int32x4_t s0, s1;
                block_lanes(lo, hi, ylo[j], yhi[j], &s0, &s1);
                const float32x4_t d = vdupq_n_f32(dw * dx[j]);
                /* |lane| <= 4*31*128: the conversions are exact */
                acc0[p] = vfmaq_f32(acc0[p], vcvtq_f32_s32(s0), d);
                acc1[p] = vfmaq_f32(acc1[p], vcvtq_f32_s32(s1), d);
                if (wt != LQ5_0) {
                    const float ms = mw * sx[j]; /* never fused */
                    summs[p] = summs[p] + ms;
                }
            }
        }
    }

    FWI_UNROLL
    for (int p = 0; p < P; p++) {
        const int i = p % R, j = p / R;
        if (i < nr && j < nt) {
            const float32x4_t rr = vaddq_f32(acc0[p], acc1[p]);   /* r_i = acc_i + acc_i+4 */
            const float32x2_t u = vadd_f32(vget_low_f32(rr), vget_high_f32(rr)); /* u0, u1 */
            const float h = vget_lane_f32(u, 0) + vget_lane_f32(u, 1);
            out[(size_t)(t + j) * os + (size_t)(r + i)] = h + summs[p];
        }
    }
}

#define MV_R 4
#define MM_R 4
#define MM_T 2

#define DEFINE_LEGACY(name, wt, QK)                                              \
    static void matvec_##name##_neon(float *out, const void *w, size_t ws,       \
                                     const void *x, int n, int r0, int r1)       \
    {                                                                            \
        const int nb = n / (QK);                                                 \
        for (int r = r0; r < r1; r += MV_R) {                                    \
            const int nr = r1 - r < MV_R ? r1 - r : MV_R;                        \
            tile(wt, MV_R, 1, 1, out, 0, (const char *)w, ws, (const char *)x, 0, \
                 nb, r, nr, 0, 1);                                               \
        }                                                                        \
    }                                                                            \
    static void matmul_##name##_neon(float *out, size_t os, const void *w,       \
                                     size_t ws, const void *x, size_t xs,        \
                                     int n, int r0, int r1, int n_tok)           \
    {                                                                            \
        const int nb = n / (QK);                                                 \
        for (int r = r0; r < r1; r += MM_R) {                                    \
            const int nr = r1 - r < MM_R ? r1 - r : MM_R;                        \
            int t = 0;                                                           \
            for (; t + MM_T <= n_tok; t += MM_T)                                 \
                tile(wt, MM_R, MM_T, 0, out, os, (const char *)w, ws,            \
                     (const char *)x, xs, nb, r, nr, t, MM_T);                   \
            if (t < n_tok)                                                       \
                tile(wt, MM_R, 1, 0, out, os, (const char *)w, ws,               \
                     (const char *)x, xs, nb, r, nr, t, 1);                      \
        }                                                                        \
    }

DEFINE_LEGACY(q4_1, LQ4_1, FWI_QK4_1)
DEFINE_LEGACY(q5_0, LQ5_0, FWI_QK5_0)
DEFINE_LEGACY(q5_1, LQ5_1, FWI_QK5_1)

void fwi_legacy_init_neon(fwi_kernels *k)
{
    k->quantize_row[FWI_TYPE_Q8_1] = quantize_row_q8_1_neon;

    k->matvec[FWI_TYPE_Q4_1] = matvec_q4_1_neon;
    k->matvec[FWI_TYPE_Q5_0] = matvec_q5_0_neon;
    k->matvec[FWI_TYPE_Q5_1] = matvec_q5_1_neon;

    k->matmul[FWI_TYPE_Q4_1] = matmul_q4_1_neon;
    k->matmul[FWI_TYPE_Q5_0] = matmul_q5_0_neon;
    k->matmul[FWI_TYPE_Q5_1] = matmul_q5_1_neon;
}
