/*
 * libfwinfer - AArch64 ASIMD matvec / matmul / Q8_0 activation quantisation.
 * Baseline AArch64 (no extra flags).
 *
 * Float weights: per output element two float32x4 accumulators (elements
 * i..i+4 and i+4..i+8 of each step of 8), tail zero-padded to 8,
 * out = vaddvq_f32(lo + hi). Quantised: see matmul_neon_tmpl.h.
 */
#include <arm_neon.h>
#include <string.h>

#include "../kernels.h"
#include "neon_util.h"

#define FWI_SFX(name) name##_neon

/* widening multiply-accumulate: int16 lanes hold w_lo*y_lo + w_hi*y_hi
 * (|.| <= 2*128*127 < 32768), then pairwise widened to int32 */
static inline int32x4_t block_dot(int8x16_t wlo, int8x16_t whi, int8x16_t ylo, int8x16_t yhi)
{
    int16x8_t m0 = vmull_s8(vget_low_s8(wlo), vget_low_s8(ylo));
    m0 = vmlal_s8(m0, vget_low_s8(whi), vget_low_s8(yhi));
    int16x8_t m1 = vmull_high_s8(wlo, ylo);
    m1 = vmlal_high_s8(m1, whi, yhi);
    return vpadalq_s16(vpaddlq_s16(m0), m1);
}

#include "matmul_neon_tmpl.h"

/* ---------------------------------------------------------------------- */
/* Q8_0 activation quantisation, bit-exact with quantize_row_q8_0_c:
 * d = amax / 127, id = 127 / amax, FCVTNS (round to nearest, ties even). */
static void quantize_row_q8_0_neon(void *dst, const float *x, int n)
{
    fwi_block_q8_0 *y = dst;
    for (int b = 0; b < n / FWI_QK8_0; b++) {
        float d;
        (void)fwi_q8_block32_neon(x + (size_t)b * FWI_QK8_0, y[b].qs, &d);
        const fwi_f16 dh = fwi_fp32_to_fp16(d);
        memcpy(&y[b].d, &dh, sizeof dh);
    }
}

/* ---------------------------------------------------------------------- */
/* float weights x f32 activations */

#define NF_MAXR 4
#define NF_MAXT 4

enum { NF32, NF16, NBF16 };

static FWI_ALWAYS_INLINE void load_w8(const int wt, const char *p, float32x4_t *lo, float32x4_t *hi)
{
    if (wt == NF32) {
        *lo = vld1q_f32((const float *)(const void *)p);
        *hi = vld1q_f32((const float *)(const void *)p + 4);
    } else if (wt == NF16) {
        const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16((const uint16_t *)(const void *)p));
        *lo = vcvt_f32_f16(vget_low_f16(h));
        *hi = vcvt_high_f32_f16(h);
    } else {
        const uint16x8_t h = vld1q_u16((const uint16_t *)(const void *)p);
        *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
        *hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
    }
}

static FWI_ALWAYS_INLINE void
tile_f(const int wt, const int R, const int T, const int pf,
       float *out, size_t os, const char *w, size_t ws,
       const char *x, size_t xs, int n, int r, int t)
{
    const size_t es = wt == NF32 ? 4 : 2;
    const char *wr[NF_MAXR];
    const float *xt[NF_MAXT];
    float32x4_t acc0[NF_MAXR][NF_MAXT], acc1[NF_MAXR][NF_MAXT];

    FWI_UNROLL
    for (int i = 0; i < R; i++)
        wr[i] = w + (size_t)(r + i) * ws;
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        xt[j] = (const float *)(const void *)(x + (size_t)(t + j) * xs);
    FWI_UNROLL
    for (int i = 0; i < R; i++) {
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            acc0[i][j] = vdupq_n_f32(0.0f);
            acc1[i][j] = vdupq_n_f32(0.0f);
        }
    }

    /* weights of the R rows in registers, one activation pair at a time */
    int k = 0;
    for (; k + 8 <= n; k += 8) {
        float32x4_t w0[NF_MAXR], w1[NF_MAXR];
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            const char *p = wr[i] + (size_t)k * es;
            if (pf)
                FWI_PREFETCH(p + FWI_NEON_PREFETCH);
            load_w8(wt, p, &w0[i], &w1[i]);
        }
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            const float32x4_t x0 = vld1q_f32(xt[j] + k), x1 = vld1q_f32(xt[j] + k + 4);
            FWI_UNROLL
            for (int i = 0; i < R; i++) {
                acc0[i][j] = vfmaq_f32(acc0[i][j], w0[i], x0);
                acc1[i][j] = vfmaq_f32(acc1[i][j], w1[i], x1);
            }
        }
    }
    if (k < n) {
        const size_t rem = (size_t)(n - k);
        float32x4_t x0[NF_MAXT], x1[NF_MAXT];
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            float buf[8] = { 0 };
            memcpy(buf, xt[j] + k, rem * sizeof(float));
            x0[j] = vld1q_f32(buf);
            x1[j] = vld1q_f32(buf + 4);
        }
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            union { float f[8]; uint16_t h[16]; } buf = { { 0 } };
            memcpy(wt == NF32 ? (void *)buf.f : (void *)buf.h, wr[i] + (size_t)k * es, rem * es);
            float32x4_t w0, w1;
            load_w8(wt, wt == NF32 ? (const char *)(const void *)buf.f
                                   : (const char *)(const void *)buf.h, &w0, &w1);
            FWI_UNROLL
            for (int j = 0; j < T; j++) {
                acc0[i][j] = vfmaq_f32(acc0[i][j], w0, x0[j]);
                acc1[i][j] = vfmaq_f32(acc1[i][j], w1, x1[j]);
            }
        }
    }

    FWI_UNROLL
    for (int i = 0; i < R; i++) {
        FWI_UNROLL
        for (int j = 0; j < T; j++)
            out[(size_t)(t + j) * os + (size_t)(r + i)] =
                vaddvq_f32(vaddq_f32(acc0[i][j], acc1[i][j]));
    }
}

#define NF_MV_R 4
#define NF_R 4
#define NF_T 2

#define NF_TILE(wt, R, T, pf) \
    tile_f(wt, R, T, pf, out, os, (const char *)w, ws, (const char *)x, xs, n, r, t)

#define NF_DEFINE_DRIVERS(name, wt)                                            \
    static void matvec_##name##_neon(float *out, const void *w, size_t ws,     \
                                     const void *x, int n, int r0, int r1)     \
    {                                                                          \
        const size_t os = 0, xs = 0;                                           \
        const int t = 0;                                                       \
        int r = r0;                                                            \
        for (; r + NF_MV_R <= r1; r += NF_MV_R)                                \
            NF_TILE(wt, NF_MV_R, 1, 1);                                        \
        for (; r < r1; r++)                                                    \
            NF_TILE(wt, 1, 1, 1);                                              \
    }                                                                          \
    static void matmul_##name##_neon(float *out, size_t os, const void *w,     \
                                     size_t ws, const void *x, size_t xs,      \
                                     int n, int r0, int r1, int n_tok)         \
    {                                                                          \
        int r = r0;                                                            \
        for (; r + NF_R <= r1; r += NF_R) {                                    \
            int t = 0;                                                         \
            for (; t + NF_T <= n_tok; t += NF_T)                               \
                NF_TILE(wt, NF_R, NF_T, 0);                                    \
            for (; t < n_tok; t++)                                             \
                NF_TILE(wt, NF_R, 1, 0);                                       \
        }                                                                      \
        for (; r < r1; r++) {                                                  \
            int t = 0;                                                         \
            for (; t + NF_T <= n_tok; t += NF_T)                               \
                NF_TILE(wt, 1, NF_T, 0);                                       \
            for (; t < n_tok; t++)                                             \
                NF_TILE(wt, 1, 1, 0);                                          \
        }                                                                      \
    }

NF_DEFINE_DRIVERS(f32, NF32)
NF_DEFINE_DRIVERS(f16, NF16)
NF_DEFINE_DRIVERS(bf16, NBF16)

void fwi_matmul_init_neon(fwi_kernels *k)
{
    k->quantize_row[FWI_TYPE_Q8_0] = quantize_row_q8_0_neon;

    k->matvec[FWI_TYPE_F32] = matvec_f32_neon;
    k->matvec[FWI_TYPE_F16] = matvec_f16_neon;
    k->matvec[FWI_TYPE_BF16] = matvec_bf16_neon;
    k->matvec[FWI_TYPE_Q4_0] = matvec_q4_0_neon;
    k->matvec[FWI_TYPE_Q8_0] = matvec_q8_0_neon;

    k->matmul[FWI_TYPE_F32] = matmul_f32_neon;
    k->matmul[FWI_TYPE_F16] = matmul_f16_neon;
    k->matmul[FWI_TYPE_BF16] = matmul_bf16_neon;
    k->matmul[FWI_TYPE_Q4_0] = matmul_q4_0_neon;
    k->matmul[FWI_TYPE_Q8_0] = matmul_q8_0_neon;
}
