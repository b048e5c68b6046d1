/*
 * libfwinfer - AArch64 ASIMD small f32 kernels (baseline AArch64).
 */
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "../kernels.h"

/* exp(x): same algorithm as exp8() in x86/ops_avx2.c (~2 ulp) */
static inline float32x4_t exp4(float32x4_t x)
{
    x = vmaxq_f32(x, vdupq_n_f32(-104.0f)); /* FMAX propagates NaN */
    x = vminq_f32(x, vdupq_n_f32(89.0f));
    const float32x4_t kf = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
    float32x4_t r = vfmsq_f32(x, kf, vdupq_n_f32(0.693145751953125f));
    r = vfmsq_f32(r, kf, vdupq_n_f32(1.428606765330187045e-06f));
    float32x4_t p = vdupq_n_f32(1.0f / 5040.0f);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 720.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    const int32x4_t k = vcvtq_s32_f32(kf);
    const int32x4_t k1 = vshrq_n_s32(k, 1);
    const int32x4_t k2 = vsubq_s32(k, k1);
    const int32x4_t bias = vdupq_n_s32(127);
    const float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(k1, bias), 23));
    const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(k2, bias), 23));
    return vmulq_f32(vmulq_f32(p, s1), s2);
}

static inline float32x4_t ld_n(const float *p, int n) /* n in 0..4 */
{
    float buf[4] = { 0 };
    memcpy(buf, p, (size_t)n * sizeof(float));
    return vld1q_f32(buf);
}

static inline void st_n(float *p, float32x4_t v, int n)
{
    float buf[4];
    vst1q_f32(buf, v);
    memcpy(p, buf, (size_t)n * sizeof(float));
}

static void rmsnorm_neon(float *y, const float *x, const float *w, int n, float eps)
{
    float64x2_t a0 = vdupq_n_f64(0.0), a1 = vdupq_n_f64(0.0);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        const float32x4_t sq = vmulq_f32(v, v);
        a0 = vaddq_f64(a0, vcvt_f64_f32(vget_low_f32(sq)));
        a1 = vaddq_f64(a1, vcvt_high_f64_f32(sq));
    }
    double sum = vaddvq_f64(vaddq_f64(a0, a1));
    for (; i < n; i++) {
        const float sq = x[i] * x[i];
        sum += (double)sq;
    }
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    i = 0;
    if (w) {
        for (; i + 4 <= n; i += 4)
            vst1q_f32(y + i, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i), scale), vld1q_f32(w + i)));
        if (i < n)
            st_n(y + i, vmulq_f32(vmulq_n_f32(ld_n(x + i, n - i), scale), ld_n(w + i, n - i)), n - i);
    } else {
        for (; i + 4 <= n; i += 4)
            vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(x + i), scale));
        for (; i < n; i++)
            y[i] = x[i] * scale;
    }
}

static void softmax_neon(float *x, int n)
{
    float32x4_t mv = vdupq_n_f32(-INFINITY);
    int i = 0;
    for (; i + 4 <= n; i += 4)
        mv = vmaxq_f32(mv, vld1q_f32(x + i));
    float max = vmaxvq_f32(mv);
    for (; i < n; i++)
        max = x[i] > max ? x[i] : max;

    const float32x4_t maxv = vdupq_n_f32(max);
    float64x2_t a0 = vdupq_n_f64(0.0), a1 = vdupq_n_f64(0.0);
    for (i = 0; i + 4 <= n; i += 4) {
        const float32x4_t e = exp4(vsubq_f32(vld1q_f32(x + i), maxv));
        vst1q_f32(x + i, e);
        a0 = vaddq_f64(a0, vcvt_f64_f32(vget_low_f32(e)));
        a1 = vaddq_f64(a1, vcvt_high_f64_f32(e));
    }
    if (i < n) {
        float buf[4];
        for (int j = 0; j < 4; j++)
            buf[j] = i + j < n ? x[i + j] : -INFINITY;
        const float32x4_t e = exp4(vsubq_f32(vld1q_f32(buf), maxv));
        st_n(x + i, e, n - i);
        a0 = vaddq_f64(a0, vcvt_f64_f32(vget_low_f32(e)));
        a1 = vaddq_f64(a1, vcvt_high_f64_f32(e));
    }
    const double sum = vaddvq_f64(vaddq_f64(a0, a1));
    const float inv = (float)(1.0 / sum);
    for (i = 0; i + 4 <= n; i += 4)
        vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), inv));
    for (; i < n; i++)
        x[i] *= inv;
}

/* y = a / (1 + expf(-a)) * b, bit-exact with silu_mul_c: the exponential
 * comes from the C library's expf, the division and product are vectorised.
 * A vector exp (~2 ulp, like exp4 above) is several times faster but its
 * ulp differences are amplified downstream (f16 KV cache / f16 attention
 * accumulator rounding, Q8_0 activation rounding): on stories260K one
 * flipped f16 rounding moved the logits by 2e-3. silu_mul is O(n_ff) per
 * token against the O(n_ff * n_embd) of the surrounding matmuls. */
static void silu_mul_neon(float *y, const float *a, const float *b, int n)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t av = vld1q_f32(a + i), bv = vld1q_f32(b + i);
        float e[4];
        for (int l = 0; l < 4; l++)
            e[l] = expf(-a[i + l]);
        const float32x4_t s = vdivq_f32(av, vaddq_f32(one, vld1q_f32(e)));
        vst1q_f32(y + i, vmulq_f32(s, bv));
    }
    for (; i < n; i++) {
        const float s = a[i] / (1.0f + expf(-a[i]));
        y[i] = s * b[i];
    }
}

static void add_neon(float *y, const float *a, const float *b, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    for (; i < n; i++)
        y[i] = a[i] + b[i];
}

static void mul_neon(float *y, const float *a, const float *b, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vmulq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    for (; i < n; i++)
        y[i] = a[i] * b[i];
}

static void scale_neon(float *y, const float *x, float s, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(x + i), s));
    for (; i < n; i++)
        y[i] = x[i] * s;
}

static void rope_neon(float *x, int n_head, int head_dim, int n_rot,
                      const float *cs, int neox)
{
    const int half = n_rot / 2;
    const float *cosv = cs, *sinv = cs + half;
    for (int h = 0; h < n_head; h++) {
        float *xh = x + (size_t)h * head_dim;
        int i = 0;
        for (; i + 4 <= half; i += 4) {
            const float32x4_t c = vld1q_f32(cosv + i), s = vld1q_f32(sinv + i);
            float32x4_t x0, x1;
            float32x4x2_t pr;
            if (neox) {
                x0 = vld1q_f32(xh + i);
                x1 = vld1q_f32(xh + i + half);
            } else {
                pr = vld2q_f32(xh + 2 * i); /* deinterleave pairs */
                x0 = pr.val[0];
                x1 = pr.val[1];
            }
            const float32x4_t o0 = vsubq_f32(vmulq_f32(x0, c), vmulq_f32(x1, s));
            const float32x4_t o1 = vaddq_f32(vmulq_f32(x0, s), vmulq_f32(x1, c));
            if (neox) {
                vst1q_f32(xh + i, o0);
                vst1q_f32(xh + i + half, o1);
            } else {
                pr.val[0] = o0;
                pr.val[1] = o1;
                vst2q_f32(xh + 2 * i, pr);
            }
        }
        for (; i < half; i++) {
            const int i0 = neox ? i : 2 * i;
            const int i1 = neox ? i + half : 2 * i + 1;
            const float x0 = xh[i0], x1 = xh[i1];
            const float c = cosv[i], s = sinv[i];
            const float a = x0 * c, b = x1 * s, e = x0 * s, f = x1 * c;
            xh[i0] = a - b;
            xh[i1] = e + f;
        }
    }
}

static inline float32x4_t ld_h4(const fwi_f16 *p)
{
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

static inline float32x4_t ld_h4_n(const fwi_f16 *p, int n)
{
    fwi_f16 buf[4] = { 0 };
    memcpy(buf, p, (size_t)n * sizeof(fwi_f16));
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(buf)));
}

/* s[j] = (float)(sum_i (double)q[i] * (double)k_j[i]) * scale, the sum in
 * double in element order exactly as attn_scores_f16_c: bit-exact with the
 * scalar level. A binary32 x binary16 product has <= 35 significant bits, so
 * it is exact in binary64 and fma(acc, k, q) == acc + k * q. The lanes hold
 * keys (each lane one sequential chain, as the scalar loop): 8 keys per step
 * in four float64x2 chains, key rows transposed 2 x 4 with TRN1/TRN2.
 *
 * An f32 dot (lanes over i, the old kernel) is ~2x faster, but a score off
 * by a few ulp changes exp(s - max) and so the f16 attention accumulator's
 * rounding now and then; one such flip moved the stories260K logits by 2e-3.
 * (llama.cpp's ggml_vec_dot_f16 also sums in double below its SIMD step of
 * 32 elements, i.e. for head_dim 8 as in stories260K.) */
static FWI_ALWAYS_INLINE float64x2_t score_step2(float64x2_t acc, float32x4_t ra, float32x4_t rb,
                                                 float64x2_t q01, float64x2_t q23)
{
    const float32x4_t t0 = vtrn1q_f32(ra, rb); /* a0 b0 a2 b2 */
    const float32x4_t t1 = vtrn2q_f32(ra, rb); /* a1 b1 a3 b3 */
    acc = vfmaq_laneq_f64(acc, vcvt_f64_f32(vget_low_f32(t0)), q01, 0);
    acc = vfmaq_laneq_f64(acc, vcvt_f64_f32(vget_low_f32(t1)), q01, 1);
    acc = vfmaq_laneq_f64(acc, vcvt_high_f64_f32(t0), q23, 0);
    acc = vfmaq_laneq_f64(acc, vcvt_high_f64_f32(t1), q23, 1);
    return acc;
}

static FWI_ALWAYS_INLINE void scores_keys(const int NK, float *s, const float *q,
                                          const fwi_f16 *k, size_t k_stride, int d,
                                          float scale)
{
    const int d4 = d & ~3, rem = d - d4;
    float64x2_t acc[4];
    FWI_UNROLL
    for (int c = 0; c < NK / 2; c++)
        acc[c] = vdupq_n_f64(0.0);
    int i = 0;
    for (; i < d4; i += 4) {
        const float32x4_t qv = vld1q_f32(q + i);
        const float64x2_t q01 = vcvt_f64_f32(vget_low_f32(qv)), q23 = vcvt_high_f64_f32(qv);
        float32x4_t r[8];
        FWI_UNROLL
        for (int m = 0; m < NK; m++)
            r[m] = ld_h4(k + (size_t)m * k_stride + i);
        FWI_UNROLL
        for (int c = 0; c < NK / 2; c++)
            acc[c] = score_step2(acc[c], r[2 * c], r[2 * c + 1], q01, q23);
    }
    if (rem) {
        /* zero padding adds +0.0 (q * 0 with q = 0): acc never is -0.0 (it
         * starts at +0.0 like the scalar sum), so the bits do not change */
        const float32x4_t qv = ld_n(q + i, rem);
        const float64x2_t q01 = vcvt_f64_f32(vget_low_f32(qv)), q23 = vcvt_high_f64_f32(qv);
        float32x4_t r[8];
        FWI_UNROLL
        for (int m = 0; m < NK; m++)
            r[m] = ld_h4_n(k + (size_t)m * k_stride + i, rem);
        FWI_UNROLL
        for (int c = 0; c < NK / 2; c++)
            acc[c] = score_step2(acc[c], r[2 * c], r[2 * c + 1], q01, q23);
    }
    FWI_UNROLL
    for (int c = 0; c < NK / 2; c++) /* (float)acc * scale, per lane */
        vst1_f32(s + 2 * c, vmul_n_f32(vcvt_f32_f64(acc[c]), scale));
}

static void attn_scores_f16_neon(float *s, const float *q, const fwi_f16 *k,
                                 size_t k_stride, int n_kv, int d, float scale)
{
    int j = 0;
    for (; j + 8 <= n_kv; j += 8)
        scores_keys(8, s + j, q, k + (size_t)j * k_stride, k_stride, d, scale);
    for (; j + 2 <= n_kv; j += 2)
        scores_keys(2, s + j, q, k + (size_t)j * k_stride, k_stride, d, scale);
    if (j < n_kv) { /* the scalar loop */
        const fwi_f16 *kj = k + (size_t)j * k_stride;
        double acc = 0.0;
        for (int i = 0; i < d; i++)
            acc += (double)q[i] * (double)fwi_fp16_to_fp32(kj[i]);
        s[j] = (float)acc * scale;
    }
}

static void attn_values_f16_neon(float *y, const float *a, const fwi_f16 *v,
                                 size_t v_stride, int n_kv, int d)
{
    int i = 0;
    for (; i + 16 <= d; i += 16) {
        float32x4_t y0 = vld1q_f32(y + i), y1 = vld1q_f32(y + i + 4);
        float32x4_t y2 = vld1q_f32(y + i + 8), y3 = vld1q_f32(y + i + 12);
        const fwi_f16 *vp = v + i;
        for (int j = 0; j < n_kv; j++, vp += v_stride) {
            const float aj = a[j];
            y0 = vfmaq_n_f32(y0, ld_h4(vp), aj);
            y1 = vfmaq_n_f32(y1, ld_h4(vp + 4), aj);
            y2 = vfmaq_n_f32(y2, ld_h4(vp + 8), aj);
            y3 = vfmaq_n_f32(y3, ld_h4(vp + 12), aj);
        }
        vst1q_f32(y + i, y0);
        vst1q_f32(y + i + 4, y1);
        vst1q_f32(y + i + 8, y2);
        vst1q_f32(y + i + 12, y3);
    }
    for (; i < d; i += 4) {
        const int m = d - i < 4 ? d - i : 4;
        float32x4_t y0 = ld_n(y + i, m);
        const fwi_f16 *vp = v + i;
        for (int j = 0; j < n_kv; j++, vp += v_stride)
            y0 = vfmaq_n_f32(y0, ld_h4_n(vp, m), a[j]);
        st_n(y + i, y0, m);
    }
}

static void vec_mad_f16_neon(fwi_f16 *y, const fwi_f16 *x, float v, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t acc = vfmaq_n_f32(ld_h4(y + i), ld_h4(x + i), v);
        vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(acc)));
    }
    for (; i < n; i++)
        y[i] = fwi_fp32_to_fp16(fmaf(fwi_fp16_to_fp32(x[i]), v, fwi_fp16_to_fp32(y[i])));
}

static void vec_scale_f16_neon(fwi_f16 *y, float s, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4)
        vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vmulq_n_f32(ld_h4(y + i), s))));
    for (; i < n; i++)
        y[i] = fwi_fp32_to_fp16(fwi_fp16_to_fp32(y[i]) * s);
}

static void cvt_f32_to_f16_neon(fwi_f16 *dst, const float *src, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4)
        vst1_u16(dst + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(src + i))));
    for (; i < n; i++)
        dst[i] = fwi_fp32_to_fp16(src[i]);
}

static void cvt_f16_to_f32_neon(float *dst, const fwi_f16 *src, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(dst + i, ld_h4(src + i));
    for (; i < n; i++)
        dst[i] = fwi_fp16_to_fp32(src[i]);
}

void fwi_ops_init_neon(fwi_kernels *k)
{
    k->rmsnorm = rmsnorm_neon;
    k->softmax = softmax_neon;
    k->silu_mul = silu_mul_neon;
    k->add = add_neon;
    k->mul = mul_neon;
    k->scale = scale_neon;
    k->rope = rope_neon;
    k->attn_scores_f16 = attn_scores_f16_neon;
    k->attn_values_f16 = attn_values_f16_neon;
    k->cvt_f32_to_f16 = cvt_f32_to_f16_neon;
    k->vec_mad_f16 = vec_mad_f16_neon;
    k->vec_scale_f16 = vec_scale_f16_neon;
    k->cvt_f16_to_f32 = cvt_f16_to_f32_neon;
}
