/*
 * libfwinfer - scalar reference of the small f32 kernels, and the rope
 * cache helper (scalar only: computed once per position).
 */
#include "../kernels.h"

#include <math.h>

static void rmsnorm_c(float *y, const float *x, const float *w, int n, float eps)
{
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        const float sq = x[i] * x[i];
        sum += (double)sq;
    }
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    if (w) {
        for (int i = 0; i < n; i++) {
            const float t = x[i] * scale;
            y[i] = t * w[i];
        }
    } else {
        for (int i = 0; i < n; i++)
            y[i] = x[i] * scale;
    }
}

static void softmax_c(float *x, int n)
{
    float max = -INFINITY;
    for (int i = 0; i < n; i++)
        max = x[i] > max ? x[i] : max;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        const float e = expf(x[i] - max);
        x[i] = e;
        sum += (double)e;
    }
    const float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++)
        x[i] *= inv;
}

static void silu_mul_c(float *y, const float *a, const float *b, int n)
{
    for (int i = 0; i < n; i++) {
        const float s = a[i] / (1.0f + expf(-a[i]));
        y[i] = s * b[i];
    }
}

/* ggml's gelu (tanh approximation) */
static float gelu_tanh(float x)
{
    const float c = 0.79788456080286535587989211986876f; /* sqrt(2 / pi) */
    return 0.5f * x * (1.0f + tanhf(c * x * (1.0f + 0.044715f * x * x)));
}

static void gelu_mul_c(float *y, const float *a, const float *b, int n)
{
    for (int i = 0; i < n; i++) {
        const float x = a[i];
        if (x <= -10.0f) {
            y[i] = 0.0f;
        } else {
            /* ggml's table: gelu of the f16 input, stored as f16 */
            const float h = fwi_fp16_to_fp32(fwi_fp32_to_fp16(x));
            const float g = x >= 10.0f ? x : fwi_fp16_to_fp32(fwi_fp32_to_fp16(gelu_tanh(h)));
            y[i] = g * b[i];
        }
    }
}

static void softcap_c(float *x, int n, float pre, float post)
{
    for (int i = 0; i < n; i++)
        x[i] = tanhf(x[i] * pre) * post;
}

static void add_c(float *y, const float *a, const float *b, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

static void mul_c(float *y, const float *a, const float *b, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = a[i] * b[i];
}

static void scale_c(float *y, const float *x, float s, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = x[i] * s;
}

static void rope_c(float *x, int n_head, int head_dim, int n_rot,
                   const float *cs, int neox)
{
    const int half = n_rot / 2;
    const float *cosv = cs, *sinv = cs + half;
    for (int h = 0; h < n_head; h++) {
        float *xh = x + (size_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            const int i0 = neox ? i : 2 * i;
            const int i1 = neox ? i + half : 2 * i + 1;
            const float x0 = xh[i0], x1 = xh[i1];
            const float c = cosv[i], s = sinv[i];
            /* separate statements: no FMA contraction */
            const float a = x0 * c, b = x1 * s, e = x0 * s, f = x1 * c;
            xh[i0] = a - b;
            xh[i1] = e + f;
        }
    }
}

static void attn_scores_f16_c(float *s, const float *q, const fwi_f16 *k,
                              size_t k_stride, int n_kv, int d, float scale)
{
    for (int j = 0; j < n_kv; j++) {
        const fwi_f16 *kj = k + (size_t)j * k_stride;
        double acc = 0.0;
        for (int i = 0; i < d; i++)
            acc += (double)q[i] * (double)fwi_fp16_to_fp32(kj[i]);
        s[j] = (float)acc * scale;
    }
}

static void attn_values_f16_c(float *y, const float *a, const fwi_f16 *v,
                              size_t v_stride, int n_kv, int d)
{
    for (int j = 0; j < n_kv; j++) {
        const fwi_f16 *vj = v + (size_t)j * v_stride;
        const float aj = a[j];
        for (int i = 0; i < d; i++) {
            const float p = aj * fwi_fp16_to_fp32(vj[i]);
            y[i] += p;
        }
    }
}

static void vec_mad_f16_c(fwi_f16 *y, const fwi_f16 *x, float v, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = fwi_fp32_to_fp16(fmaf(fwi_fp16_to_fp32(x[i]), v, fwi_fp16_to_fp32(y[i])));
}

static void vec_scale_f16_c(fwi_f16 *y, float s, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = fwi_fp32_to_fp16(fwi_fp16_to_fp32(y[i]) * s);
}

static void cvt_f32_to_f16_c(fwi_f16 *dst, const float *src, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = fwi_fp32_to_fp16(src[i]);
}

static void cvt_f16_to_f32_c(float *dst, const fwi_f16 *src, int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = fwi_fp16_to_fp32(src[i]);
}

void fwi_rope_cache(float *cs, int n_rot, float pos, float freq_base,
                    float freq_scale, const float *freq_factors, float mscale)
{
    const int half = n_rot / 2;
    const float theta_scale = powf(freq_base, -2.0f / (float)n_rot);
    float theta = pos;
    for (int i = 0; i < half; i++) {
        const float ff = freq_factors ? freq_factors[i] : 1.0f;
        const float t = theta / ff * freq_scale;
        cs[i] = cosf(t) * mscale;
        cs[half + i] = sinf(t) * mscale;
        theta *= theta_scale;
    }
}

void fwi_ops_init_c(fwi_kernels *k)
{
    k->rmsnorm = rmsnorm_c;
    k->softmax = softmax_c;
    k->silu_mul = silu_mul_c;
    k->gelu_mul = gelu_mul_c;
    k->softcap = softcap_c;
    k->add = add_c;
    k->mul = mul_c;
    k->scale = scale_c;
    k->rope = rope_c;
    k->attn_scores_f16 = attn_scores_f16_c;
    k->attn_values_f16 = attn_values_f16_c;
    k->cvt_f32_to_f16 = cvt_f32_to_f16_c;
    k->vec_mad_f16 = vec_mad_f16_c;
    k->vec_scale_f16 = vec_scale_f16_c;
    k->cvt_f16_to_f32 = cvt_f16_to_f32_c;
}
