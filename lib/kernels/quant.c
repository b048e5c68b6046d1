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
    /* activation-only formats: no row conversions (never a weight) */
    [FWI_TYPE_Q8_1] = { "q8_1", FWI_QK8_1, sizeof(fwi_block_q8_1), FWI_TYPE_Q8_1,
                        NULL, NULL },
    [FWI_TYPE_Q8_K] = { "q8_K", FWI_QK_K, sizeof(fwi_block_q8_K), FWI_TYPE_Q8_K,
                        NULL, NULL },
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
