/*
 * libfwinfer - scalar reference quantisation / dequantisation and the type
 * traits table (immutable).
 */
#include "quant.h"

#include <math.h>
#include <string.h>

void fwi_quantize_row_q8_0_ref(const float *x, void *vy, int n)
{
    fwi_block_q8_0 *y = vy;
    const int nb = n / FWI_QK8_0;

    for (int i = 0; i < nb; i++) {
        const float *xb = x + (size_t)i * FWI_QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < FWI_QK8_0; j++) {
            const float a = fabsf(xb[j]);
            amax = amax > a ? amax : a;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fwi_fp32_to_fp16(d);
        for (int j = 0; j < FWI_QK8_0; j++)
            y[i].qs[j] = (int8_t)roundf(xb[j] * id);
    }
}

void fwi_quantize_row_q4_0_ref(const float *x, void *vy, int n)
{
    fwi_block_q4_0 *y = vy;
    const int nb = n / FWI_QK4_0;

    for (int i = 0; i < nb; i++) {
        const float *xb = x + (size_t)i * FWI_QK4_0;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < FWI_QK4_0; j++) {
            if (amax < fabsf(xb[j])) {
                amax = fabsf(xb[j]);
                max = xb[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fwi_fp32_to_fp16(d);
        for (int j = 0; j < FWI_QK4_0 / 2; j++) {
            const float x0 = xb[j] * id;
            const float x1 = xb[j + FWI_QK4_0 / 2] * id;
            int q0 = (int8_t)(x0 + 8.5f);
            int q1 = (int8_t)(x1 + 8.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void fwi_dequantize_row_q8_0(const void *vx, float *y, int n)
{
    const fwi_block_q8_0 *x = vx;
    const int nb = n / FWI_QK8_0;

    for (int i = 0; i < nb; i++) {
        const float d = fwi_fp16_to_fp32(x[i].d);
        for (int j = 0; j < FWI_QK8_0; j++)
            y[(size_t)i * FWI_QK8_0 + j] = (float)x[i].qs[j] * d;
    }
}

void fwi_dequantize_row_q4_0(const void *vx, float *y, int n)
{
    const fwi_block_q4_0 *x = vx;
    const int nb = n / FWI_QK4_0;

    for (int i = 0; i < nb; i++) {
        const float d = fwi_fp16_to_fp32(x[i].d);
        float *yb = y + (size_t)i * FWI_QK4_0;
        for (int j = 0; j < FWI_QK4_0 / 2; j++) {
            yb[j] = (float)((x[i].qs[j] & 0x0f) - 8) * d;
            yb[j + FWI_QK4_0 / 2] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

/* ---- Q4_1 / Q5_0 / Q5_1 / Q8_1 (ggml's *_ref quantisers, for writing
 * model files; the activation quantiser of Q8_1 lives in the kernels) ---- */

/* min and max of a block (for the "q * d + m" formats) */
static void block_min_max(const float *xb, int n, float *mn, float *mx)
{
    float lo = xb[0], hi = xb[0];
    for (int j = 1; j < n; j++) {
        lo = xb[j] < lo ? xb[j] : lo;
        hi = xb[j] > hi ? xb[j] : hi;
    }
    *mn = lo;
    *mx = hi;
}

void fwi_quantize_row_q4_1_ref(const float *x, void *vy, int n)
{
    fwi_block_q4_1 *y = vy;
    const int nb = n / FWI_QK4_1;

    for (int i = 0; i < nb; i++) {
        const float *xb = x + (size_t)i * FWI_QK4_1;
        float mn, mx;
        block_min_max(xb, FWI_QK4_1, &mn, &mx);
        const float d = (mx - mn) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fwi_fp32_to_fp16(d);
        y[i].m = fwi_fp32_to_fp16(mn);
        for (int j = 0; j < FWI_QK4_1 / 2; j++) {
            /* truncation of v + 0.5 (v >= 0), clamped to the 4-bit range */
            int q0 = (int8_t)((xb[j] - mn) * id + 0.5f);
            int q1 = (int8_t)((xb[j + FWI_QK4_1 / 2] - mn) * id + 0.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void fwi_quantize_row_q5_0_ref(const float *x, void *vy, int n)
{
    fwi_block_q5_0 *y = vy;
    const int nb = n / FWI_QK5_0;

    for (int i = 0; i < nb; i++) {
        const float *xb = x + (size_t)i * FWI_QK5_0;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < FWI_QK5_0; j++) {
            if (amax < fabsf(xb[j])) {
                amax = fabsf(xb[j]);
                max = xb[j];
            }
        }
        const float d = max / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fwi_fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < FWI_QK5_0 / 2; j++) {
            int q0 = (int8_t)(xb[j] * id + 16.5f);
            int q1 = (int8_t)(xb[j + FWI_QK5_0 / 2] * id + 16.5f);
            q0 = q0 < 31 ? q0 : 31;
            q1 = q1 < 31 ? q1 : 31;
            y[i].qs[j] = (uint8_t)((q0 & 15) | ((q1 & 15) << 4));
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + FWI_QK5_0 / 2);
        }
        for (int k = 0; k < 4; k++)
            y[i].qh[k] = (uint8_t)(qh >> (8 * k));
    }
}

void fwi_quantize_row_q5_1_ref(const float *x, void *vy, int n)
{
    fwi_block_q5_1 *y = vy;
    const int nb = n / FWI_QK5_1;

    for (int i = 0; i < nb; i++) {
        const float *xb = x + (size_t)i * FWI_QK5_1;
        float mn, mx;
        block_min_max(xb, FWI_QK5_1, &mn, &mx);
        const float d = (mx - mn) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fwi_fp32_to_fp16(d);
        y[i].m = fwi_fp32_to_fp16(mn);
        uint32_t qh = 0;
        for (int j = 0; j < FWI_QK5_1 / 2; j++) {
            /* ggml does not clamp here: (v - min) / d <= 31 up to rounding */
            const unsigned q0 = (uint8_t)((xb[j] - mn) * id + 0.5f);
            const unsigned q1 = (uint8_t)((xb[j + FWI_QK5_1 / 2] - mn) * id + 0.5f);
            y[i].qs[j] = (uint8_t)((q0 & 15) | ((q1 & 15) << 4));
            qh |= ((q0 >> 4) & 1u) << j;
            qh |= ((q1 >> 4) & 1u) << (j + FWI_QK5_1 / 2);
        }
        for (int k = 0; k < 4; k++)
            y[i].qh[k] = (uint8_t)(qh >> (8 * k));
    }
}

static uint32_t load_qh(const uint8_t *qh)
{
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 |
           (uint32_t)qh[3] << 24;
}

void fwi_dequantize_row_q4_1(const void *vx, float *y, int n)
{
    const fwi_block_q4_1 *x = vx;
    const int nb = n / FWI_QK4_1;

    for (int i = 0; i < nb; i++) {
        const float d = fwi_fp16_to_fp32(x[i].d), m = fwi_fp16_to_fp32(x[i].m);
        float *yb = y + (size_t)i * FWI_QK4_1;
        for (int j = 0; j < FWI_QK4_1 / 2; j++) {
            const float v0 = (float)(x[i].qs[j] & 0x0f) * d;
            const float v1 = (float)(x[i].qs[j] >> 4) * d;
            yb[j] = v0 + m;
            yb[j + FWI_QK4_1 / 2] = v1 + m;
        }
    }
}

void fwi_dequantize_row_q5_0(const void *vx, float *y, int n)
{
    const fwi_block_q5_0 *x = vx;
    const int nb = n / FWI_QK5_0;

    for (int i = 0; i < nb; i++) {
        const float d = fwi_fp16_to_fp32(x[i].d);
        const uint32_t qh = load_qh(x[i].qh);
        float *yb = y + (size_t)i * FWI_QK5_0;
        for (int j = 0; j < FWI_QK5_0 / 2; j++) {
            const int q0 = (x[i].qs[j] & 0x0f) | (int)((qh >> j) & 1u) << 4;
            const int q1 = (x[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1u) << 4;
            yb[j] = (float)(q0 - 16) * d;
            yb[j + FWI_QK5_0 / 2] = (float)(q1 - 16) * d;
        }
    }
}

void fwi_dequantize_row_q5_1(const void *vx, float *y, int n)
{
    const fwi_block_q5_1 *x = vx;
    const int nb = n / FWI_QK5_1;

    for (int i = 0; i < nb; i++) {
        const float d = fwi_fp16_to_fp32(x[i].d), m = fwi_fp16_to_fp32(x[i].m);
        const uint32_t qh = load_qh(x[i].qh);
        float *yb = y + (size_t)i * FWI_QK5_1;
        for (int j = 0; j < FWI_QK5_1 / 2; j++) {
            const int q0 = (x[i].qs[j] & 0x0f) | (int)((qh >> j) & 1u) << 4;
            const int q1 = (x[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1u) << 4;
            const float v0 = (float)q0 * d;
            const float v1 = (float)q1 * d;
            yb[j] = v0 + m;
            yb[j + FWI_QK5_1 / 2] = v1 + m;
        }
    }
}

void fwi_dequantize_row_q8_1(const void *vx, float *y, int n)
{
    const fwi_block_q8_1 *x = vx;
    const int nb = n / FWI_QK8_1;

    for (int i = 0; i < nb; i++) {
        const float d = fwi_fp16_to_fp32(x[i].d);
        for (int j = 0; j < FWI_QK8_1; j++)
            y[(size_t)i * FWI_QK8_1 + j] = (float)x[i].qs[j] * d;
    }
}

/* ---- Q2_K / Q3_K ----
 * Both: two halves of 128 elements; in half h, element 32p + l (p = 0..3,
 * l < 32) has its low 2 bits at bits 2p of qs[32h + l]; sub-block (16
 * elements, own scale) e / 16.
 * Q2_K: scales[s] = 4-bit scale (low nibble) and 4-bit min (high);
 *       value = d * sc * q - dmin * m.
 * Q3_K: the 3rd bit of element e = 128h + 32p + l is bit 4h + p of
 *       hmask[l]; q = q2 - 4 if that bit is clear (q in [-4, 3]);
 *       value = d * (s6 - 32) * q with the 6-bit scales of fwi_q3k_scale. */
int fwi_q3k_scale(int j, const uint8_t *sc)
{
    const int lo = j < 8 ? sc[j] & 15 : sc[j - 8] >> 4;
    const int hi = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | hi << 4) - 32;
}

void fwi_dequantize_row_q2_K(const void *vx, float *y, int n)
{
    const fwi_block_q2_K *x = vx;
    for (int i = 0; i < n / FWI_QK_K; i++) {
        const float d = fwi_fp16_to_fp32(x[i].d), dmin = fwi_fp16_to_fp32(x[i].dmin);
        float *yb = y + (size_t)i * FWI_QK_K;
        for (int e = 0; e < FWI_QK_K; e++) {
            const int h = e / 128, p = (e % 128) / 32, l = e % 32;
            const int q = (x[i].qs[32 * h + l] >> (2 * p)) & 3;
            const uint8_t sc = x[i].scales[e / 16];
            const float dl = d * (float)(sc & 15), ml = dmin * (float)(sc >> 4);
            const float v = dl * (float)q; /* never fused */
            yb[e] = v - ml;
        }
    }
}

void fwi_dequantize_row_q3_K(const void *vx, float *y, int n)
{
    const fwi_block_q3_K *x = vx;
    for (int i = 0; i < n / FWI_QK_K; i++) {
        const float d = fwi_fp16_to_fp32(x[i].d);
        float *yb = y + (size_t)i * FWI_QK_K;
        for (int e = 0; e < FWI_QK_K; e++) {
            const int h = e / 128, p = (e % 128) / 32, l = e % 32;
            const int q = ((x[i].qs[32 * h + l] >> (2 * p)) & 3) -
                          ((x[i].hmask[l] >> (4 * h + p)) & 1 ? 0 : 4);
            const float dl = d * (float)fwi_q3k_scale(e / 16, x[i].scales);
            yb[e] = dl * (float)q;
        }
    }
}

void fwi_convert_row_f16_to_f32(const void *vx, float *y, int n)
{
    const fwi_f16 *x = vx;
    for (int i = 0; i < n; i++)
        y[i] = fwi_fp16_to_fp32(x[i]);
}

void fwi_convert_row_f32_to_f16(const float *x, void *vy, int n)
{
    fwi_f16 *y = vy;
    for (int i = 0; i < n; i++)
        y[i] = fwi_fp32_to_fp16(x[i]);
}

void fwi_convert_row_bf16_to_f32(const void *vx, float *y, int n)
{
    const fwi_bf16 *x = vx;
    for (int i = 0; i < n; i++)
        y[i] = fwi_bf16_to_fp32(x[i]);
}

void fwi_convert_row_f32_to_bf16(const float *x, void *vy, int n)
{
    fwi_bf16 *y = vy;
    for (int i = 0; i < n; i++)
        y[i] = fwi_fp32_to_bf16(x[i]);
}

/* K-quants (ggml dequantize_row_q4_K / q5_K / q6_K / q8_K). The 12 packed
 * bytes of Q4_K/Q5_K hold 8 6-bit scales and 8 6-bit mins: for j < 4,
 * sc = b[j] & 63, m = b[j+4] & 63; for j >= 4, sc = (b[j+4] & 15) |
 * (b[j-4] >> 6) << 4, m = (b[j+4] >> 4) | (b[j] >> 6) << 4. */
void fwi_kq_scale_min(int j, const uint8_t *b, int *sc, int *m)
{
    if (j < 4) {
        *sc = b[j] & 63;
        *m = b[j + 4] & 63;
    } else {
        *sc = (b[j + 4] & 15) | ((b[j - 4] >> 6) << 4);
        *m = (b[j + 4] >> 4) | ((b[j] >> 6) << 4);
    }
}

/* Q4_K / Q5_K: 4 chunks of 64 elements; chunk c reads qs[32c..32c+32):
 * low nibbles are sub-block 2c, high nibbles sub-block 2c+1; Q5_K adds
 * 16 when bit 2c (resp. 2c+1) of qh[l] is set. value = d*sc*q - dmin*m */
static void dequant_q45_K(const uint8_t *qs, const uint8_t *qh, const uint8_t *scales,
                          float d, float dmin, float *y)
{
    for (int c = 0; c < 4; c++) {
        int sc0, m0, sc1, m1;
        fwi_kq_scale_min(2 * c, scales, &sc0, &m0);
        fwi_kq_scale_min(2 * c + 1, scales, &sc1, &m1);
        const float d0 = d * (float)sc0, n0 = dmin * (float)m0;
        const float d1 = d * (float)sc1, n1 = dmin * (float)m1;
        for (int l = 0; l < 32; l++) {
            int q0 = qs[32 * c + l] & 15, q1 = qs[32 * c + l] >> 4;
            if (qh) {
                q0 += (qh[l] >> (2 * c)) & 1 ? 16 : 0;
                q1 += (qh[l] >> (2 * c + 1)) & 1 ? 16 : 0;
            }
            y[64 * c + l] = d0 * (float)q0 - n0;
            y[64 * c + 32 + l] = d1 * (float)q1 - n1;
        }
    }
}

void fwi_dequantize_row_q4_K(const void *vx, float *y, int n)
{
    const fwi_block_q4_K *x = vx;
    for (int i = 0; i < n / FWI_QK_K; i++)
        dequant_q45_K(x[i].qs, NULL, x[i].scales, fwi_fp16_to_fp32(x[i].d),
                      fwi_fp16_to_fp32(x[i].dmin), y + (size_t)i * FWI_QK_K);
}

void fwi_dequantize_row_q5_K(const void *vx, float *y, int n)
{
    const fwi_block_q5_K *x = vx;
    for (int i = 0; i < n / FWI_QK_K; i++)
        dequant_q45_K(x[i].qs, x[i].qh, x[i].scales, fwi_fp16_to_fp32(x[i].d),
                      fwi_fp16_to_fp32(x[i].dmin), y + (size_t)i * FWI_QK_K);
}

/* Q6_K: two halves of 128; in half h, element 32p + l (p = 0..3, l < 32)
 * has the low 4 bits in ql[64h + 32(p&1) + l] (low nibble for p < 2, high
 * for p >= 2) and the high 2 bits at bits 2p of qh[32h + l];
 * value = d * scales[(128h + 32p + l) / 16] * (q - 32) */
void fwi_dequantize_row_q6_K(const void *vx, float *y, int n)
{
    const fwi_block_q6_K *x = vx;
    for (int i = 0; i < n / FWI_QK_K; i++) {
        const float d = fwi_fp16_to_fp32(x[i].d);
        float *yb = y + (size_t)i * FWI_QK_K;
        for (int e = 0; e < FWI_QK_K; e++) {
            const int h = e / 128, p = (e % 128) / 32, l = e % 32;
            const uint8_t lo = x[i].ql[64 * h + 32 * (p & 1) + l];
            const int q = ((p < 2 ? lo & 15 : lo >> 4) |
                           (((x[i].qh[32 * h + l] >> (2 * p)) & 3) << 4)) - 32;
            yb[e] = d * (float)x[i].scales[e / 16] * (float)q;
        }
    }
}

void fwi_dequantize_row_q8_K(const void *vx, float *y, int n)
{
    /* activation rows may be only 2-byte aligned: copy each block */
    for (int i = 0; i < n / FWI_QK_K; i++) {
        fwi_block_q8_K b;
        memcpy(&b, (const char *)vx + (size_t)i * sizeof b, sizeof b);
        for (int j = 0; j < FWI_QK_K; j++)
            y[(size_t)i * FWI_QK_K + j] = b.d * (float)b.qs[j];
    }
}

static void copy_row_f32(const void *x, float *y, int n)
{
    memcpy(y, x, (size_t)n * sizeof(float));
}

static void copy_row_f32_from(const float *x, void *y, int n)
{
    memcpy(y, x, (size_t)n * sizeof(float));
}

static const fwi_type_traits type_traits[FWI_TYPE_COUNT] = {
    [FWI_TYPE_F32] = { "f32", 1, sizeof(float), FWI_TYPE_F32,
                       copy_row_f32, copy_row_f32_from },
    [FWI_TYPE_F16] = { "f16", 1, sizeof(fwi_f16), FWI_TYPE_F32,
                       fwi_convert_row_f16_to_f32, fwi_convert_row_f32_to_f16 },
    [FWI_TYPE_Q4_0] = { "q4_0", FWI_QK4_0, sizeof(fwi_block_q4_0), FWI_TYPE_Q8_0,
                        fwi_dequantize_row_q4_0, fwi_quantize_row_q4_0_ref },
    [FWI_TYPE_Q8_0] = { "q8_0", FWI_QK8_0, sizeof(fwi_block_q8_0), FWI_TYPE_Q8_0,
                        fwi_dequantize_row_q8_0, fwi_quantize_row_q8_0_ref },
    [FWI_TYPE_Q4_1] = { "q4_1", FWI_QK4_1, sizeof(fwi_block_q4_1), FWI_TYPE_Q8_1,
                        fwi_dequantize_row_q4_1, fwi_quantize_row_q4_1_ref },
    [FWI_TYPE_Q5_0] = { "q5_0", FWI_QK5_0, sizeof(fwi_block_q5_0), FWI_TYPE_Q8_0,
                        fwi_dequantize_row_q5_0, fwi_quantize_row_q5_0_ref },
    [FWI_TYPE_Q5_1] = { "q5_1", FWI_QK5_1, sizeof(fwi_block_q5_1), FWI_TYPE_Q8_1,
                        fwi_dequantize_row_q5_1, fwi_quantize_row_q5_1_ref },
    /* activation-only formats (never a weight): to_float for tests only */
    [FWI_TYPE_Q8_1] = { "q8_1", FWI_QK8_1, sizeof(fwi_block_q8_1), FWI_TYPE_Q8_1,
                        fwi_dequantize_row_q8_1, NULL },
    [FWI_TYPE_Q8_K] = { "q8_K", FWI_QK_K, sizeof(fwi_block_q8_K), FWI_TYPE_Q8_K,
                        fwi_dequantize_row_q8_K, NULL },
    [FWI_TYPE_Q2_K] = { "q2_K", FWI_QK_K, sizeof(fwi_block_q2_K), FWI_TYPE_Q8_K,
                        fwi_dequantize_row_q2_K, NULL },
    [FWI_TYPE_Q3_K] = { "q3_K", FWI_QK_K, sizeof(fwi_block_q3_K), FWI_TYPE_Q8_K,
                        fwi_dequantize_row_q3_K, NULL },
    [FWI_TYPE_Q4_K] = { "q4_K", FWI_QK_K, sizeof(fwi_block_q4_K), FWI_TYPE_Q8_K,
                        fwi_dequantize_row_q4_K, NULL },
    [FWI_TYPE_Q5_K] = { "q5_K", FWI_QK_K, sizeof(fwi_block_q5_K), FWI_TYPE_Q8_K,
                        fwi_dequantize_row_q5_K, NULL },
    [FWI_TYPE_Q6_K] = { "q6_K", FWI_QK_K, sizeof(fwi_block_q6_K), FWI_TYPE_Q8_K,
                        fwi_dequantize_row_q6_K, NULL },
    [FWI_TYPE_BF16] = { "bf16", 1, sizeof(fwi_bf16), FWI_TYPE_F32,
                        fwi_convert_row_bf16_to_f32, fwi_convert_row_f32_to_bf16 },
};

const fwi_type_traits *fwi_type_traits_get(int type)
{
    if (type < 0 || type >= FWI_TYPE_COUNT || !type_traits[type].name)
        return NULL;
    return &type_traits[type];
}

size_t fwi_row_size(int type, int64_t n)
{
    const fwi_type_traits *t = fwi_type_traits_get(type);
    if (!t || n < 0 || n % t->blck_size)
        return 0;
    return (size_t)(n / t->blck_size) * t->type_size;
}
