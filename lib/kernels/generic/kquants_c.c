/*
 * libfwinfer - scalar reference kernels for K-quant weights Q4_K, Q5_K,
 * Q6_K and their activation format Q8_K (see kernels.h for the contracts,
 * quant.h / quant.c for the block layouts).
 *
 * Q8_K activation quantisation: what llama.cpp's x86 CPU backend runs
 * (quantize_row_q8_K is quantize_row_q8_K_ref there): per 256 elements,
 * max = the first element of largest |x| (signed), iscale = -127 / max,
 * q = min(127, round-half-even(iscale * x)) (the product rounded to f32
 * first), d = 1 / iscale (f32; note the sign: d < 0 when max > 0),
 * bsums[j] = sum of q[16j..16j+16). An all-zero block gives d = 0, q = 0,
 * bsums = 0. The rounding uses exact integer arithmetic (independent of the
 * FP environment); every ISA produces the same bytes.
 *
 * Reduction order of the dots (shared by every ISA, so the SIMD kernels
 * return the scalar bits exactly): per 256-element super-block, the integer
 * parts are exact (int32), then in f32, in super-block order,
 *   Q4_K / Q5_K:  sumi = sum_j sc_j * sum_{32} q * y        (j = 0..7)
 *                 summ = sum_j m_j * (bsums[2j] + bsums[2j+1])
 *                 sumf = sumf + (d * dy) * (float)sumi
 *                 sumf = sumf - (dmin * dy) * (float)summ
 *   Q6_K:         sumi = sum_j sc_j * sum_{16} (q - 32) * y  (j = 0..15)
 *                 sumf = sumf + (d * dy) * (float)sumi
 * each product and sum rounded separately (never fused). Bounds: Q4_K
 * |sumi| <= 8*63*32*15*128 < 2^31; Q5_K 8*63*32*31*128 < 2^31 (64M);
 * Q6_K 16*128*16*32*128 < 2^31.
 */
#include <string.h>

#include "../kernels.h"
#include "rowloop.h"

/* activation rows may be only 2-byte aligned: every block is copied to an
 * aligned local before use */
static FWI_ALWAYS_INLINE void q8k_load(fwi_block_q8_K *dst, const fwi_block_q8_K *x, int b)
{
    memcpy(dst, (const char *)x + (size_t)b * sizeof *dst, sizeof *dst);
}

static int8_t q8k_round(float v) /* round-half-even, clamped to [-128, 127] */
{
    if (!(v > -128.5f))           /* also NaN (garbage in: no UB) */
        return v != v ? 0 : -128;
    if (v >= 127.0f)
        return 127;
    int i = (int)v;                /* toward zero */
    const float frac = v - (float)i; /* exact */
    const float af = frac < 0 ? -frac : frac;
    if (af > 0.5f || (af == 0.5f && (i & 1)))
        i += v < 0 ? -1 : 1;
    return (int8_t)(i < -128 ? -128 : i);
}

static void quantize_row_q8_K_c(void *dst, const float *src, int n)
{
    fwi_block_q8_K *y = dst;
    const int nb = n / FWI_QK_K;

    for (int b = 0; b < nb; b++) {
        const float *xb = src + (size_t)b * FWI_QK_K;
        fwi_block_q8_K blk;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < FWI_QK_K; j++) {
            const float a = xb[j] < 0 ? -xb[j] : xb[j];
            if (a > amax) {
                amax = a;
                max = xb[j];
            }
        }
        if (amax == 0.0f) {
            memset(&blk, 0, sizeof blk);
        } else {
            const float iscale = -127.0f / max;
            for (int j = 0; j < FWI_QK_K; j++)
                blk.qs[j] = q8k_round(iscale * xb[j]);
            for (int j = 0; j < FWI_QK_K / 16; j++) {
                int s = 0;
                for (int l = 0; l < 16; l++)
                    s += blk.qs[16 * j + l];
                blk.bsums[j] = (int16_t)s;
            }
            blk.d = 1.0f / iscale;
        }
        memcpy(&y[b], &blk, sizeof blk);
    }
}

/* Q4_K / Q5_K super-block: integer parts (qh NULL for Q4_K) */
static void dot_q45_K_ints(const uint8_t *qs, const uint8_t *qh, const uint8_t *scales,
                           const fwi_block_q8_K *x, int *sumi, int *summ)
{
    int si = 0, sm = 0;
    for (int c = 0; c < 4; c++) {
        int sc0, m0, sc1, m1;
        fwi_kq_scale_min(2 * c, scales, &sc0, &m0);
        fwi_kq_scale_min(2 * c + 1, scales, &sc1, &m1);
        int s0 = 0, s1 = 0;
        for (int l = 0; l < 32; l++) {
            int q0 = qs[32 * c + l] & 15, q1 = qs[32 * c + l] >> 4;
            if (qh) {
                q0 |= ((qh[l] >> (2 * c)) & 1) << 4;
                q1 |= ((qh[l] >> (2 * c + 1)) & 1) << 4;
            }
            s0 += q0 * x->qs[64 * c + l];
            s1 += q1 * x->qs[64 * c + 32 + l];
        }
        si += sc0 * s0 + sc1 * s1;
        sm += m0 * (x->bsums[4 * c] + x->bsums[4 * c + 1]) +
              m1 * (x->bsums[4 * c + 2] + x->bsums[4 * c + 3]);
    }
    *sumi = si;
    *summ = sm;
}

static float dot_q4_K_q8_K(const fwi_block_q4_K *w, const fwi_block_q8_K *x, int nb)
{
    float sumf = 0.0f;
    for (int b = 0; b < nb; b++) {
        fwi_block_q8_K xb;
        q8k_load(&xb, x, b);
        int sumi, summ;
        dot_q45_K_ints(w[b].qs, NULL, w[b].scales, &xb, &sumi, &summ);
        const float dd = fwi_fp16_to_fp32(w[b].d) * xb.d;
        const float dm = fwi_fp16_to_fp32(w[b].dmin) * xb.d;
        const float p = dd * (float)sumi; /* own statements: never fused */
        sumf = sumf + p;
        const float q = dm * (float)summ;
        sumf = sumf - q;
    }
    return sumf;
}

static float dot_q5_K_q8_K(const fwi_block_q5_K *w, const fwi_block_q8_K *x, int nb)
{
    float sumf = 0.0f;
    for (int b = 0; b < nb; b++) {
        fwi_block_q8_K xb;
        q8k_load(&xb, x, b);
        int sumi, summ;
        dot_q45_K_ints(w[b].qs, w[b].qh, w[b].scales, &xb, &sumi, &summ);
        const float dd = fwi_fp16_to_fp32(w[b].d) * xb.d;
        const float dm = fwi_fp16_to_fp32(w[b].dmin) * xb.d;
        const float p = dd * (float)sumi;
        sumf = sumf + p;
        const float q = dm * (float)summ;
        sumf = sumf - q;
    }
    return sumf;
}

static float dot_q6_K_q8_K(const fwi_block_q6_K *w, const fwi_block_q8_K *x, int nb)
{
    float sumf = 0.0f;
    for (int b = 0; b < nb; b++) {
        fwi_block_q8_K xb;
        q8k_load(&xb, x, b);
        int8_t v[FWI_QK_K]; /* unpack (layout: fwi_dequantize_row_q6_K) */
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                const uint8_t l0 = w[b].ql[64 * h + l], l1 = w[b].ql[64 * h + 32 + l];
                const uint8_t hb = w[b].qh[32 * h + l];
                v[128 * h + l] = (int8_t)(((l0 & 15) | ((hb & 3) << 4)) - 32);
                v[128 * h + 32 + l] = (int8_t)(((l1 & 15) | (((hb >> 2) & 3) << 4)) - 32);
                v[128 * h + 64 + l] = (int8_t)(((l0 >> 4) | (((hb >> 4) & 3) << 4)) - 32);
                v[128 * h + 96 + l] = (int8_t)(((l1 >> 4) | (((hb >> 6) & 3) << 4)) - 32);
            }
        }
        int sumi = 0;
        for (int j = 0; j < FWI_QK_K / 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++)
                s += v[16 * j + l] * xb.qs[16 * j + l];
            sumi += w[b].scales[j] * s;
        }
        const float dd = fwi_fp16_to_fp32(w[b].d) * xb.d;
        const float p = dd * (float)sumi;
        sumf = sumf + p;
    }
    return sumf;
}

DEFINE_MATVEC_MATMUL(q4_K, fwi_block_q4_K, fwi_block_q8_K, dot_q4_K_q8_K, FWI_QK_K)
DEFINE_MATVEC_MATMUL(q5_K, fwi_block_q5_K, fwi_block_q8_K, dot_q5_K_q8_K, FWI_QK_K)
DEFINE_MATVEC_MATMUL(q6_K, fwi_block_q6_K, fwi_block_q8_K, dot_q6_K_q8_K, FWI_QK_K)

void fwi_kquants_init_c(fwi_kernels *k)
{
    k->quantize_row[FWI_TYPE_Q8_K] = quantize_row_q8_K_c;

    k->matvec[FWI_TYPE_Q4_K] = matvec_q4_K_c;
    k->matvec[FWI_TYPE_Q5_K] = matvec_q5_K_c;
    k->matvec[FWI_TYPE_Q6_K] = matvec_q6_K_c;
    k->matmul[FWI_TYPE_Q4_K] = matmul_q4_K_c;
    k->matmul[FWI_TYPE_Q5_K] = matmul_q5_K_c;
    k->matmul[FWI_TYPE_Q6_K] = matmul_q6_K_c;
}
