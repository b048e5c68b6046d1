/*
 * libfwinfer - NEON kernels for K-quant weights Q4_K, Q5_K, Q6_K (Q8_K
 * activations) and the Q8_K activation quantisation (AArch64 ASIMD, no
 * dot-product extension needed).
 *
 * Results are bit-identical to the scalar reference (generic/kquants_c.c):
 * the integer part of every super-block dot is exact, then the reference's
 * f32 sequence per super-block (mul, mul, add / sub; never fused: ISO C
 * mode, no contraction) is done in scalar code.
 *
 * Integer dots: widening multiplies vmull_s8 / vmlal_s8 into int16 lanes
 * (at most 4 products per lane: Q5_K 4*31*128 < 2^15; Q6_K (q - 32): 2
 * products, 2*32*128), pairwise widened to int32 (kquants_dotprod.c: SDOT
 * straight into int32) and scaled by the sub-block scale (vmlaq_n_s32),
 * summed with vaddvq_s32 at the end. The kernels are in
 * kquants_neon_tmpl.h, shared with the dotprod level.
 * Micro-kernel: one weight row x T tokens (T <= 4): each super-block of
 * the row is unpacked once per tile and used for all T tokens. matvec is
 * the T = 1 tile with software prefetch of the next row.
 */
#include <arm_neon.h>
#include <string.h>

#include "../kernels.h"

/* ---------------------------------------------------------------------- */
/* Q8_K quantisation: bit-exact with quantize_row_q8_K_c (vcvtnq rounds to
 * nearest, ties to even; the saturating narrows clamp like the scalar) */

static void quantize_row_q8_K_neon(void *dst, const float *x, int n)
{
    fwi_block_q8_K *y = dst;
    const int nb = n / FWI_QK_K;

    for (int b = 0; b < nb; b++) {
        const float *xb = x + (size_t)b * FWI_QK_K;
        fwi_block_q8_K blk;
        float32x4_t m = vdupq_n_f32(0.0f);
        for (int j = 0; j < FWI_QK_K; j += 4)
            m = vmaxq_f32(m, vabsq_f32(vld1q_f32(xb + j)));
        const float amax = vmaxvq_f32(m);
        if (!(amax > 0.0f)) {
            memset(&blk, 0, sizeof blk);
            memcpy(&y[b], &blk, sizeof blk);
            continue;
        }
        float max = amax;
        for (int j = 0; j < FWI_QK_K; j++) { /* first element of largest |x| */
            if (xb[j] == amax || xb[j] == -amax) {
                max = xb[j];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const int32x4_t c127 = vdupq_n_s32(127);
        for (int j = 0; j < FWI_QK_K; j += 16) {
            int16x4_t h[4];
            for (int k = 0; k < 4; k++) {
                const int32x4_t q = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(xb + j + 4 * k), iscale)), c127);
                h[k] = vqmovn_s32(q);
            }
            const int8x16_t q8 = vcombine_s8(vqmovn_s16(vcombine_s16(h[0], h[1])),
                                             vqmovn_s16(vcombine_s16(h[2], h[3])));
            vst1q_s8(blk.qs + j, q8);
            blk.bsums[j / 16] = (int16_t)vaddlvq_s8(q8);
        }
        blk.d = 1.0f / iscale;
        memcpy(&y[b], &blk, sizeof blk);
    }
}

#define KQ_DOTPROD 0
#define KQ_SFX(name) name##_neon
#include "kquants_neon_tmpl.h"

void fwi_kquants_init_neon(fwi_kernels *k)
{
    k->quantize_row[FWI_TYPE_Q8_K] = quantize_row_q8_K_neon;

    k->matvec[FWI_TYPE_Q4_K] = matvec_q4_K_neon;
    k->matvec[FWI_TYPE_Q5_K] = matvec_q5_K_neon;
    k->matvec[FWI_TYPE_Q6_K] = matvec_q6_K_neon;
    k->matmul[FWI_TYPE_Q4_K] = matmul_q4_K_neon;
    k->matmul[FWI_TYPE_Q5_K] = matmul_q5_K_neon;
    k->matmul[FWI_TYPE_Q6_K] = matmul_q6_K_neon;
}
