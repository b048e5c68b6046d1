/*
 * libfwinfer - scalar reference kernels for the legacy weight types Q4_1,
 * Q5_0, Q5_1 and the Q8_1 activation quantiser.
 *
 * Activation formats (ggml's vec_dot_type): Q4_1 and Q5_1 read Q8_1
 * (d, s = d * sum(qs), 32 int8), Q5_0 reads Q8_0.
 *
 * Weight layouts (32 elements per block, see quant.h):
 *   Q4_1  d, m, qs[16]          element j: low nibble of qs[j], element
 *                               j+16: high nibble; value q*d + m, q in [0,15]
 *   Q5_0  d, qh[4], qs[16]      as Q4_0 plus a 5th bit per element: bit j
 *                               of the little-endian uint32 qh; value (q-16)*d
 *   Q5_1  d, m, qh[4], qs[16]   5-bit q in [0,31]; value q*d + m
 *
 * Reduction order (the reference every SIMD version reproduces bit for bit):
 * per 32-block in order, the exact integer dot sumi = sum q_w * q_x, then
 *   Q5_0:        sumf += (float)sumi * (dw * dx)
 *   Q4_1, Q5_1:  sumf += (float)sumi * (dw * dx) + mw * sx
 * every product and sum rounded separately in f32 (never fused): the
 * minimum term uses the activation block's stored s = d * sum(q), as ggml.
 */
#include <math.h>

#include "../kernels.h"
#include "rowloop.h"

/* Q8_1 activation quantisation as ggml's x86 AVX2 quantize_row_q8_1 (what
 * llama.cpp runs), like Q8_0 in matmul_c.c: d = amax / 127 (stored fp16),
 * id = 127 / amax, q = round-half-even(x * id) (exact integer arithmetic),
 * s = fp16(d * (float)sum(q)) with the f32 d before its fp16 rounding.
 * Every ISA produces the same bytes. */
static void quantize_row_q8_1_c(void *dst, const float *src, int n)
{
    fwi_block_q8_1 *y = dst;
    const int nb = n / FWI_QK8_1;

    for (int b = 0; b < nb; b++) {
        float d;
        const int sum = fwi_q8_block32(src + (size_t)b * FWI_QK8_1, y[b].qs, &d);
        y[b].d = fwi_fp32_to_fp16(d);
        y[b].s = fwi_fp32_to_fp16(d * (float)sum);
    }
}

/* 5th bits of a block: bit j of the little-endian uint32 */
static uint32_t load_qh(const uint8_t *qh)
{
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 |
           (uint32_t)qh[3] << 24;
}

/* The dot of a row: ggml's x86 AVX2/VNNI vec_dot_q4_1_q8_1 /
 * vec_dot_q5_0_q8_0 / vec_dot_q5_1_q8_1 arithmetic, reproduced exactly
 * (bit-identical logits with llama.cpp on the synthetic models; the
 * block-order form of the Q4_0 reference moved them by up to 8e-3 relative:
 * its different f32 rounding flips the round-to-nearest of the next Q8
 * activation quantisation now and then, which the tiny models amplify).
 * Per output, eight f32 lane accumulators acc[k] (k = 0..7) and, for the
 * "q*d + m" types, one scalar summs; for each 32-block b in order:
 *     d       = dw * dx                                  (f32 multiply)
 *     s_k     = sum_{j = 4k..4k+3} q_w[j] * q_x[j]       (exact int)
 *     acc[k]  = fma((float)s_k, d, acc[k])               (fused, k = 0..7)
 *     summs   = summs + mw * sx                          (two roundings)
 * then r_i = acc[i] + acc[i + 4] (i < 4), u_0 = r_0 + r_2, u_1 = r_1 + r_3,
 * out = (u_0 + u_1) [+ summs]. */
typedef struct lane_acc {
    float acc[8];
    float summs;
} lane_acc;

static void lanes_block(lane_acc *a, const int8_t *v, const int8_t *y, float d)
{
    for (int k = 0; k < 8; k++) {
        int s = 0;
        for (int j = 4 * k; j < 4 * k + 4; j++)
            s += v[j] * y[j];
        a->acc[k] = fmaf((float)s, d, a->acc[k]);
    }
}

static float lanes_result(const lane_acc *a)
{
    const float r0 = a->acc[0] + a->acc[4], r1 = a->acc[1] + a->acc[5];
    const float r2 = a->acc[2] + a->acc[6], r3 = a->acc[3] + a->acc[7];
    const float u0 = r0 + r2, u1 = r1 + r3;
    const float h = u0 + u1;
    return h + a->summs;
}

static float dot_q4_1_q8_1(const fwi_block_q4_1 *w, const fwi_block_q8_1 *x, int nb)
{
    lane_acc a = { { 0 }, 0.0f };
    for (int b = 0; b < nb; b++) {
        int8_t v[32];
        for (int j = 0; j < 16; j++) {
            v[j] = (int8_t)(w[b].qs[j] & 0x0f);
            v[j + 16] = (int8_t)(w[b].qs[j] >> 4);
        }
        const float ms = fwi_fp16_to_fp32(w[b].m) * fwi_fp16_to_fp32(x[b].s); /* never fused */
        a.summs = a.summs + ms;
        lanes_block(&a, v, x[b].qs, fwi_fp16_to_fp32(w[b].d) * fwi_fp16_to_fp32(x[b].d));
    }
    return lanes_result(&a);
}

static float dot_q5_0_q8_0(const fwi_block_q5_0 *w, const fwi_block_q8_0 *x, int nb)
{
    lane_acc a = { { 0 }, 0.0f };
    for (int b = 0; b < nb; b++) {
        const uint32_t qh = load_qh(w[b].qh);
        int8_t v[32];
        for (int j = 0; j < 16; j++) {
            v[j] = (int8_t)(((w[b].qs[j] & 0x0f) | (int)((qh >> j) & 1u) << 4) - 16);
            v[j + 16] = (int8_t)(((w[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1u) << 4) - 16);
        }
        lanes_block(&a, v, x[b].qs, fwi_fp16_to_fp32(w[b].d) * fwi_fp16_to_fp32(x[b].d));
    }
    return lanes_result(&a);
}

static float dot_q5_1_q8_1(const fwi_block_q5_1 *w, const fwi_block_q8_1 *x, int nb)
{
    lane_acc a = { { 0 }, 0.0f };
    for (int b = 0; b < nb; b++) {
        const uint32_t qh = load_qh(w[b].qh);
        int8_t v[32];
        for (int j = 0; j < 16; j++) {
            v[j] = (int8_t)((w[b].qs[j] & 0x0f) | (int)((qh >> j) & 1u) << 4);
            v[j + 16] = (int8_t)((w[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1u) << 4);
        }
        const float ms = fwi_fp16_to_fp32(w[b].m) * fwi_fp16_to_fp32(x[b].s); /* never fused */
        a.summs = a.summs + ms;
        lanes_block(&a, v, x[b].qs, fwi_fp16_to_fp32(w[b].d) * fwi_fp16_to_fp32(x[b].d));
    }
    return lanes_result(&a);
}

DEFINE_MATVEC_MATMUL(q4_1, fwi_block_q4_1, fwi_block_q8_1, dot_q4_1_q8_1, FWI_QK4_1)
DEFINE_MATVEC_MATMUL(q5_0, fwi_block_q5_0, fwi_block_q8_0, dot_q5_0_q8_0, FWI_QK5_0)
DEFINE_MATVEC_MATMUL(q5_1, fwi_block_q5_1, fwi_block_q8_1, dot_q5_1_q8_1, FWI_QK5_1)

void fwi_legacy_init_c(fwi_kernels *k)
{
    k->quantize_row[FWI_TYPE_Q8_1] = quantize_row_q8_1_c;

    k->matvec[FWI_TYPE_Q4_1] = matvec_q4_1_c;
    k->matvec[FWI_TYPE_Q5_0] = matvec_q5_0_c;
    k->matvec[FWI_TYPE_Q5_1] = matvec_q5_1_c;

    k->matmul[FWI_TYPE_Q4_1] = matmul_q4_1_c;
    k->matmul[FWI_TYPE_Q5_0] = matmul_q5_0_c;
    k->matmul[FWI_TYPE_Q5_1] = matmul_q5_1_c;
}
