/*
 * libfwinfer - scalar reference kernels for the K-quant weights Q2_K and
 * Q3_K (Q8_K activations, quantised by kquants_c.c's quantize_row_q8_K).
 *
 * Layouts (see quant.c, fwi_dequantize_row_q2_K / _q3_K): 256 elements per
 * super-block, two halves of 128; in half h, element 32p + l (p = 0..3,
 * l < 32) has its low 2 bits at bits 2p of qs[32h + l]; 16 sub-blocks of 16
 * elements with their own scale.
 *   Q2_K: scales[s] = 4-bit scale (low nibble), 4-bit min (high nibble);
 *         value = d * sc * q - dmin * m, q in [0, 3]
 *   Q3_K: q = q2 - 4 where bit 4h + p of hmask[l] is clear, q in [-4, 3];
 *         16 6-bit scales s (packed, fwi_q3k_scale), value = d * (s - 32) * q
 *
 * Reduction order: ggml's x86 AVX2 dots, reproduced exactly (the synthetic
 * models then give llama.cpp's logits bit for bit; the legacy types showed
 * that a different f32 order moves them by up to 1e-2 through the rounding
 * of the next activation quantisation). Per output, eight f32 lane
 * accumulators acc[L]; lane L of a super-block collects the elements whose
 * position l inside their 32-group is in [4L, 4L + 4):
 *     sumi[L] = sum over those e of sc(e / 16) * q_w[e] * q_x[e]  (exact)
 *   Q2_K, first: prod[L] = m(2L) * bsums[2L] + m(2L+1) * bsums[2L+1]
 *                acc[L] = fma((float)prod[L], -(dy * dmin), acc[L])
 *   then:        acc[L] = fma((float)sumi[L], dy * d, acc[L])
 * per super-block in order, and out = hsum(acc) as ggml's hsum_float_8:
 * r_i = acc[i] + acc[i + 4], (r_0 + r_2) + (r_1 + r_3).
 * Bounds: |sumi| <= 8 * 15 * 4 * 3 * 128 (Q2_K), 8 * 32 * 4 * 4 * 128
 * (Q3_K), |prod| <= 2 * 15 * 16 * 128: all exact in f32.
 */
#include <math.h>
#include <string.h>

#include "../kernels.h"
#include "rowloop.h"

/* activation rows may be only 2-byte aligned: copy the block first */
static void q8k_get(fwi_block_q8_K *dst, const fwi_block_q8_K *x, int b)
{
    memcpy(dst, (const char *)x + (size_t)b * sizeof *dst, sizeof *dst);
}

static float hsum_lanes(const float *acc)
{
    const float r0 = acc[0] + acc[4], r1 = acc[1] + acc[5];
    const float r2 = acc[2] + acc[6], r3 = acc[3] + acc[7];
    const float u0 = r0 + r2, u1 = r1 + r3;
    return u0 + u1;
}

/* lane sums of one super-block: v[e] the weight quants, s[e/16] the scales */
static void lane_sums(int32_t *sumi, const int8_t *v, const int *sc, const int8_t *y)
{
    for (int L = 0; L < 8; L++)
        sumi[L] = 0;
    for (int e = 0; e < FWI_QK_K; e++)
        sumi[(e % 32) / 4] += sc[e / 16] * v[e] * y[e];
}

static float dot_q2_K_q8_K(const fwi_block_q2_K *w, const fwi_block_q8_K *x, int nb)
{
    float acc[8] = { 0 };
    for (int b = 0; b < nb; b++) {
        fwi_block_q8_K xb;
        q8k_get(&xb, x, b);
        int8_t v[FWI_QK_K];
        int sc[16];
        for (int e = 0; e < FWI_QK_K; e++)
            v[e] = (int8_t)((w[b].qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3);
        for (int s = 0; s < 16; s++)
            sc[s] = w[b].scales[s] & 15;
        int32_t sumi[8];
        lane_sums(sumi, v, sc, xb.qs);
        const float d = xb.d * fwi_fp16_to_fp32(w[b].d);
        const float dmin = -(xb.d * fwi_fp16_to_fp32(w[b].dmin));
        for (int L = 0; L < 8; L++) {
            const int prod = (w[b].scales[2 * L] >> 4) * xb.bsums[2 * L] +
                             (w[b].scales[2 * L + 1] >> 4) * xb.bsums[2 * L + 1];
            acc[L] = fmaf((float)prod, dmin, acc[L]);
        }
        for (int L = 0; L < 8; L++)
            acc[L] = fmaf((float)sumi[L], d, acc[L]);
    }
    return hsum_lanes(acc);
}

static float dot_q3_K_q8_K(const fwi_block_q3_K *w, const fwi_block_q8_K *x, int nb)
{
    float acc[8] = { 0 };
    for (int b = 0; b < nb; b++) {
        fwi_block_q8_K xb;
        q8k_get(&xb, x, b);
        int8_t v[FWI_QK_K];
        int sc[16];
        for (int e = 0; e < FWI_QK_K; e++) {
            const int h = e / 128, p = (e % 128) / 32, l = e % 32;
            const int q = (w[b].qs[32 * h + l] >> (2 * p)) & 3;
            v[e] = (int8_t)(q - ((w[b].hmask[l] >> (4 * h + p)) & 1 ? 0 : 4));
        }
        for (int s = 0; s < 16; s++)
            sc[s] = fwi_q3k_scale(s, w[b].scales);
        int32_t sumi[8];
        lane_sums(sumi, v, sc, xb.qs);
        const float d = xb.d * fwi_fp16_to_fp32(w[b].d);
        for (int L = 0; L < 8; L++)
            acc[L] = fmaf((float)sumi[L], d, acc[L]);
    }
    return hsum_lanes(acc);
}

DEFINE_MATVEC_MATMUL(q2_K, fwi_block_q2_K, fwi_block_q8_K, dot_q2_K_q8_K, FWI_QK_K)
DEFINE_MATVEC_MATMUL(q3_K, fwi_block_q3_K, fwi_block_q8_K, dot_q3_K_q8_K, FWI_QK_K)

void fwi_lowk_init_c(fwi_kernels *k)
{
    k->matvec[FWI_TYPE_Q2_K] = matvec_q2_K_c;
    k->matvec[FWI_TYPE_Q3_K] = matvec_q3_K_c;
    k->matmul[FWI_TYPE_Q2_K] = matmul_q2_K_c;
    k->matmul[FWI_TYPE_Q3_K] = matmul_q3_K_c;
}
