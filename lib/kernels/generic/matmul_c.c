/*
 * libfwinfer - scalar reference matvec / matmul / activation quantisation.
 *
 * Reduction order (the reference every SIMD version is checked against):
 *   - quantised: per 32-block integer dot (exact), then
 *     sumf += (float)sumi * (dw * dx) in block order, f32 (as ggml; the
 *     product and the sum rounded separately, never fused).
 *   - float weights: sum of (double)w * (double)x in element order in double
 *     (the products are exact), rounded to f32 at the end.
 * Each output element is produced by one call of a row-dot helper, so the
 * result never depends on row ranges or token counts.
 */
#include <math.h>

#include "../kernels.h"
#include "rowloop.h"

/* Activation quantisation as ggml's SIMD CPU kernels do it (what llama.cpp
 * actually runs; its x86 AVX2 quantize_row_q8_0):
 *     d = amax / 127 (stored as fp16), id = 127 / amax, q = rint(x * id)
 * with round-half-even. This is NOT quantize_row_q8_0_ref (id = 1/d,
 * roundf): the 1-ulp difference in id flips rounding often enough to move
 * logits measurably (1e-2 relative on a synthetic Q4_0 model vs 4e-7).
 * Rounding is done with exact integer arithmetic, independent of the FP
 * environment; every ISA produces the same bytes. */
static void quantize_row_q8_0_c(void *dst, const float *src, int n)
{
    fwi_block_q8_0 *y = dst;
    const int nb = n / FWI_QK8_0;

    for (int b = 0; b < nb; b++) {
        float d;
        (void)fwi_q8_block32(src + (size_t)b * FWI_QK8_0, y[b].qs, &d);
        y[b].d = fwi_fp32_to_fp16(d);
    }
}

static float dot_q4_0_q8_0(const fwi_block_q4_0 *w, const fwi_block_q8_0 *x, int nb)
{
    float sumf = 0.0f;
    for (int b = 0; b < nb; b++) {
        /* unpack first, then a plain int8 dot (same form as Q8_0: compilers
         * vectorise both loops well at -O3, unlike the fused form) */
        int8_t v[FWI_QK4_0];
        for (int j = 0; j < FWI_QK4_0 / 2; j++) {
            v[j] = (int8_t)((w[b].qs[j] & 0x0f) - 8);
            v[j + FWI_QK4_0 / 2] = (int8_t)((w[b].qs[j] >> 4) - 8);
        }
        int sumi = 0;
        for (int j = 0; j < FWI_QK4_0; j++)
            sumi += v[j] * x[b].qs[j];
        const float d = fwi_fp16_to_fp32(w[b].d) * fwi_fp16_to_fp32(x[b].d);
        const float p = (float)sumi * d; /* own statement: never fused */
        sumf += p;
    }
    return sumf;
}

static float dot_q8_0_q8_0(const fwi_block_q8_0 *w, const fwi_block_q8_0 *x, int nb)
{
    float sumf = 0.0f;
    for (int b = 0; b < nb; b++) {
        int sumi = 0;
        for (int j = 0; j < FWI_QK8_0; j++)
            sumi += w[b].qs[j] * x[b].qs[j];
        const float d = fwi_fp16_to_fp32(w[b].d) * fwi_fp16_to_fp32(x[b].d);
        const float p = (float)sumi * d; /* own statement: never fused */
        sumf += p;
    }
    return sumf;
}

static float dot_f32_f32(const float *w, const float *x, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += (double)w[i] * (double)x[i];
    return (float)s;
}

static float dot_f16_f32(const fwi_f16 *w, const float *x, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += (double)fwi_fp16_to_fp32(w[i]) * (double)x[i];
    return (float)s;
}

static float dot_bf16_f32(const fwi_bf16 *w, const float *x, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += (double)fwi_bf16_to_fp32(w[i]) * (double)x[i];
    return (float)s;
}

DEFINE_MATVEC_MATMUL(q4_0, fwi_block_q4_0, fwi_block_q8_0, dot_q4_0_q8_0, FWI_QK4_0)
DEFINE_MATVEC_MATMUL(q8_0, fwi_block_q8_0, fwi_block_q8_0, dot_q8_0_q8_0, FWI_QK8_0)
DEFINE_MATVEC_MATMUL(f32, float, float, dot_f32_f32, 1)
DEFINE_MATVEC_MATMUL(f16, fwi_f16, float, dot_f16_f32, 1)
DEFINE_MATVEC_MATMUL(bf16, fwi_bf16, float, dot_bf16_f32, 1)

/* ---- attention (scalar twin of the fused online-softmax value sum) ---- */

/* Pass 1 of attn_values_online_f16, shared by every ISA (scalar, compiled
 * here without FMA): see kernels.h. */
float fwi_attn_online_weights(float *s, int n_kv)
{
    float M = -INFINITY, S = 0.0f;
    for (int j = 0; j < n_kv; j++) {
        float ms = 1.0f, w = 1.0f;
        if (s[j] > M) {
            const float m_old = M;
            M = s[j];
            ms = fwi_expf(m_old - M);
            s[j] = -ms;
        } else {
            w = fwi_expf(s[j] - M);
            s[j] = w;
        }
        S = S * ms + w;
    }
    return 1.0f / S;
}

static void attn_values_online_f16_c(float *y, float *s, const fwi_f16 *v, size_t v_stride,
                                     int n_kv, int d)
{
    const float inv = fwi_attn_online_weights(s, n_kv);
    for (int i = 0; i < d; i++)
        y[i] = 0.0f;
    for (int j = 0; j < n_kv; j++) {
        float w = s[j];
        const fwi_f16 *vj = v + (size_t)j * v_stride;
        if (signbit(w)) {
            for (int i = 0; i < d; i++)
                y[i] = fwi_fp16_to_fp32(fwi_fp32_to_fp16(y[i] * -w));
            w = 1.0f;
        }
        for (int i = 0; i < d; i++)
            y[i] = fwi_fp16_to_fp32(fwi_fp32_to_fp16(fmaf(fwi_fp16_to_fp32(vj[i]), w, y[i])));
    }
    for (int i = 0; i < d; i++)
        y[i] = y[i] * inv;
}

void fwi_matmul_init_c(fwi_kernels *k)
{
    k->quantize_row[FWI_TYPE_Q8_0] = quantize_row_q8_0_c;

    k->matvec[FWI_TYPE_F32] = matvec_f32_c;
    k->matvec[FWI_TYPE_F16] = matvec_f16_c;
    k->matvec[FWI_TYPE_BF16] = matvec_bf16_c;
    k->matvec[FWI_TYPE_Q4_0] = matvec_q4_0_c;
    k->matvec[FWI_TYPE_Q8_0] = matvec_q8_0_c;

    k->matmul[FWI_TYPE_F32] = matmul_f32_c;
    k->matmul[FWI_TYPE_F16] = matmul_f16_c;
    k->matmul[FWI_TYPE_BF16] = matmul_bf16_c;
    k->matmul[FWI_TYPE_Q4_0] = matmul_q4_0_c;
    k->matmul[FWI_TYPE_Q8_0] = matmul_q8_0_c;

    k->attn_values_online_f16 = attn_values_online_f16_c;
}
