/*
 * libfwinfer - AVX2 + FMA + F16C small f32 kernels.
 * Compiled with -mavx2 -mfma -mf16c; reached only through the dispatch table.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "../expf_impl.h"
#include "../kernels.h"

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* exp(x), max error ~2 ulp vs expf for normal results; correct Inf/0/NaN.
 * k = round(x / ln2), r = x - k ln2 (Cody-Waite, FMA), exp(r) by a degree-7
 * Taylor polynomial (|r| <= ln2/2: truncation < 0.05 ulp), result scaled by
 * 2^k in two steps so that overflow and subnormal results round once. */
static inline __m256 exp8(__m256 x)
{
    x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x); /* NaN stays NaN (2nd operand) */
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), x);
    const __m256 kf = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(1.428606765330187045e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i k = _mm256_cvtps_epi32(kf);          /* -150..128 */
    const __m256i k1 = _mm256_srai_epi32(k, 1);
    const __m256i k2 = _mm256_sub_epi32(k, k1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

static inline __m256 loadu_n(const float *p, int n) /* n in 0..8, zero fill */
{
    float buf[8] = { 0 };
    memcpy(buf, p, (size_t)n * sizeof(float));
    return _mm256_loadu_ps(buf);
}

static inline void storeu_n(float *p, __m256 v, int n)
{
    float buf[8];
    _mm256_storeu_ps(buf, v);
    memcpy(p, buf, (size_t)n * sizeof(float));
}

static inline __m256d sq_pd_lo(__m256 sq)
{
    return _mm256_cvtps_pd(_mm256_castps256_ps128(sq));
}

static inline __m256d sq_pd_hi(__m256 sq)
{
    return _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1));
}

static inline double hsum4d(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

static void rmsnorm_avx2(float *y, const float *x, const float *w, int n, float eps)
{
    /* squares rounded to f32 exactly like the C version, summed in double */
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 sq = _mm256_mul_ps(v, v);
        a0 = _mm256_add_pd(a0, sq_pd_lo(sq));
        a1 = _mm256_add_pd(a1, sq_pd_hi(sq));
    }
    double sum = hsum4d(_mm256_add_pd(a0, a1));
    for (; i < n; i++) {
        const float sq = x[i] * x[i];
        sum += (double)sq;
    }
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    const __m256 sv = _mm256_set1_ps(scale);
    i = 0;
    if (w) {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sv),
                                                  _mm256_loadu_ps(w + i)));
        if (i < n)
            storeu_n(y + i, _mm256_mul_ps(_mm256_mul_ps(loadu_n(x + i, n - i), sv),
                                          loadu_n(w + i, n - i)), n - i);
    } else {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), sv));
        if (i < n)
            storeu_n(y + i, _mm256_mul_ps(loadu_n(x + i, n - i), sv), n - i);
    }
}

static void softmax_avx2(float *x, int n)
{
    __m256 mv = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float max = _mm_cvtss_f32(m4);
    for (; i < n; i++)
        max = x[i] > max ? x[i] : max;

    const __m256 maxv = _mm256_set1_ps(max);
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), maxv));
        _mm256_storeu_ps(x + i, e);
        a0 = _mm256_add_pd(a0, sq_pd_lo(e));
        a1 = _mm256_add_pd(a1, sq_pd_hi(e));
    }
    if (i < n) {
        /* padding lanes are -inf - max -> exp = 0: they add nothing */
        float buf[8];
        for (int j = 0; j < 8; j++)
            buf[j] = i + j < n ? x[i + j] : -INFINITY;
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(buf), maxv));
        storeu_n(x + i, e, n - i);
        a0 = _mm256_add_pd(a0, sq_pd_lo(e));
        a1 = _mm256_add_pd(a1, sq_pd_hi(e));
    }
    const double sum = hsum4d(_mm256_add_pd(a0, a1));
    const __m256 inv = _mm256_set1_ps((float)(1.0 / sum));
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    if (i < n)
        storeu_n(x + i, _mm256_mul_ps(loadu_n(x + i, n - i), inv), n - i);
}

static inline __m256 silu_mul8(__m256 a, __m256 b)
{
    const __m256 neg = _mm256_xor_ps(a, _mm256_set1_ps(-0.0f));
    const __m256 den = _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(neg));
    return _mm256_mul_ps(_mm256_div_ps(a, den), b);
}

static void silu_mul_avx2(float *y, const float *a, const float *b, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, silu_mul8(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    if (i < n)
        storeu_n(y + i, silu_mul8(loadu_n(a + i, n - i), loadu_n(b + i, n - i)), n - i);
}

static void add_avx2(float *y, const float *a, const float *b, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; i++)
        y[i] = a[i] + b[i];
}

static void mul_avx2(float *y, const float *a, const float *b, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; i++)
        y[i] = a[i] * b[i];
}

static void scale_avx2(float *y, const float *x, float s, int n)
{
    const __m256 sv = _mm256_set1_ps(s);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), sv));
    for (; i < n; i++)
        y[i] = x[i] * s;
}

static void rope_avx2(float *x, int n_head, int head_dim, int n_rot,
                      const float *cs, int neox)
{
    const int half = n_rot / 2;
    const float *cosv = cs, *sinv = cs + half;
    for (int h = 0; h < n_head; h++) {
        float *xh = x + (size_t)h * head_dim;
        int i = 0;
        if (neox) {
            for (; i + 8 <= half; i += 8) {
                const __m256 x0 = _mm256_loadu_ps(xh + i);
                const __m256 x1 = _mm256_loadu_ps(xh + i + half);
                const __m256 c = _mm256_loadu_ps(cosv + i);
                const __m256 s = _mm256_loadu_ps(sinv + i);
                _mm256_storeu_ps(xh + i, _mm256_sub_ps(_mm256_mul_ps(x0, c), _mm256_mul_ps(x1, s)));
                _mm256_storeu_ps(xh + i + half,
                                 _mm256_add_ps(_mm256_mul_ps(x0, s), _mm256_mul_ps(x1, c)));
            }
        } else {
            for (; i + 4 <= half; i += 4) {
                /* v = [x0 x1 x2 x3 ...] pairs; c/s duplicated per pair */
                const __m256 v = _mm256_loadu_ps(xh + 2 * i);
                const __m128 c4 = _mm_loadu_ps(cosv + i), s4 = _mm_loadu_ps(sinv + i);
                const __m256 c = _mm256_set_m128(_mm_unpackhi_ps(c4, c4), _mm_unpacklo_ps(c4, c4));
                const __m256 s = _mm256_set_m128(_mm_unpackhi_ps(s4, s4), _mm_unpacklo_ps(s4, s4));
                const __m256 vs = _mm256_permute_ps(v, 0xb1); /* [x1 x0 x3 x2 ...] */
                /* even: x0*c - x1*s; odd: x1*c + x0*s (== x0*s + x1*c) */
                _mm256_storeu_ps(xh + 2 * i, _mm256_addsub_ps(_mm256_mul_ps(v, c), _mm256_mul_ps(vs, s)));
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

static inline __m256 load_h8(const fwi_f16 *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
}

static inline __m256 load_h8_n(const fwi_f16 *p, int n)
{
    fwi_f16 buf[8] = { 0 };
    memcpy(buf, p, (size_t)n * sizeof(fwi_f16));
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(void *)buf));
}

/* per key: acc8 = fma(q[i..i+8), k[i..i+8), acc8), tail zero-padded, hsum8 */
static void attn_scores_f16_avx2(float *s, const float *q, const fwi_f16 *k,
                                 size_t k_stride, int n_kv, int d, float scale)
{
    const int d8 = d & ~7, rem = d - d8;
    const __m256 qt = loadu_n(q + d8, rem);
    int j = 0;
    for (; j + 4 <= n_kv; j += 4) {
        const fwi_f16 *k0 = k + (size_t)j * k_stride, *k1 = k0 + k_stride;
        const fwi_f16 *k2 = k1 + k_stride, *k3 = k2 + k_stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        for (int i = 0; i < d8; i += 8) {
            const __m256 qv = _mm256_loadu_ps(q + i);
            a0 = _mm256_fmadd_ps(qv, load_h8(k0 + i), a0);
            a1 = _mm256_fmadd_ps(qv, load_h8(k1 + i), a1);
            a2 = _mm256_fmadd_ps(qv, load_h8(k2 + i), a2);
            a3 = _mm256_fmadd_ps(qv, load_h8(k3 + i), a3);
        }
        if (rem) {
            a0 = _mm256_fmadd_ps(qt, load_h8_n(k0 + d8, rem), a0);
            a1 = _mm256_fmadd_ps(qt, load_h8_n(k1 + d8, rem), a1);
            a2 = _mm256_fmadd_ps(qt, load_h8_n(k2 + d8, rem), a2);
            a3 = _mm256_fmadd_ps(qt, load_h8_n(k3 + d8, rem), a3);
        }
        s[j + 0] = hsum8(a0) * scale;
        s[j + 1] = hsum8(a1) * scale;
        s[j + 2] = hsum8(a2) * scale;
        s[j + 3] = hsum8(a3) * scale;
    }
    for (; j < n_kv; j++) {
        const fwi_f16 *k0 = k + (size_t)j * k_stride;
        __m256 a0 = _mm256_setzero_ps();
        for (int i = 0; i < d8; i += 8)
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_h8(k0 + i), a0);
        if (rem)
            a0 = _mm256_fmadd_ps(qt, load_h8_n(k0 + d8, rem), a0);
        s[j] = hsum8(a0) * scale;
    }
}

/* y[i] = fma(a[j], v[j][i], y[i]) for j ascending (each element its own
 * fixed sequence), 32 columns kept in registers across all keys */
static void attn_values_f16_avx2(float *y, const float *a, const fwi_f16 *v,
                                 size_t v_stride, int n_kv, int d)
{
    int i = 0;
    for (; i + 32 <= d; i += 32) {
        __m256 y0 = _mm256_loadu_ps(y + i), y1 = _mm256_loadu_ps(y + i + 8);
        __m256 y2 = _mm256_loadu_ps(y + i + 16), y3 = _mm256_loadu_ps(y + i + 24);
        const fwi_f16 *vp = v + i;
        for (int j = 0; j < n_kv; j++, vp += v_stride) {
            const __m256 aj = _mm256_broadcast_ss(a + j);
            y0 = _mm256_fmadd_ps(aj, load_h8(vp), y0);
            y1 = _mm256_fmadd_ps(aj, load_h8(vp + 8), y1);
            y2 = _mm256_fmadd_ps(aj, load_h8(vp + 16), y2);
            y3 = _mm256_fmadd_ps(aj, load_h8(vp + 24), y3);
        }
        _mm256_storeu_ps(y + i, y0);
        _mm256_storeu_ps(y + i + 8, y1);
        _mm256_storeu_ps(y + i + 16, y2);
        _mm256_storeu_ps(y + i + 24, y3);
    }
    for (; i + 8 <= d; i += 8) {
        __m256 y0 = _mm256_loadu_ps(y + i);
        const fwi_f16 *vp = v + i;
        for (int j = 0; j < n_kv; j++, vp += v_stride)
            y0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + j), load_h8(vp), y0);
        _mm256_storeu_ps(y + i, y0);
    }
    if (i < d) {
        const int rem = d - i;
        __m256 y0 = loadu_n(y + i, rem);
        const fwi_f16 *vp = v + i;
        for (int j = 0; j < n_kv; j++, vp += v_stride)
            y0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + j), load_h8_n(vp, rem), y0);
        storeu_n(y + i, y0, rem);
    }
}

static void vec_mad_f16_avx2(fwi_f16 *y, const fwi_f16 *x, float v, int n)
{
    const __m256 vv = _mm256_set1_ps(v);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 acc = _mm256_fmadd_ps(load_h8(x + i), vv, load_h8(y + i));
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(acc, _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++)
        y[i] = fwi_fp32_to_fp16(fmaf(fwi_fp16_to_fp32(x[i]), v, fwi_fp16_to_fp32(y[i])));
}

static void vec_scale_f16_avx2(fwi_f16 *y, float s, int n)
{
    const __m256 sv = _mm256_set1_ps(s);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_mul_ps(load_h8(y + i), sv),
                                         _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        y[i] = fwi_fp32_to_fp16(fwi_fp16_to_fp32(y[i]) * s);
}

/* f16 rounding of 8 floats, kept as f32 */
static inline __m256 round_h8(__m256 x)
{
    return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}

/* kernels.h: the accumulator of up to 64 dims at a time in registers, as
 * f32 values that are exact f16 numbers (the same as storing f16). For
 * d <= 64 the softmax runs in the same loop (its scalar expf overlaps the
 * vector work); wider heads take the weights of the shared pass 1 first. */
static void attn_values_online_f16_avx2(float *y, float *s, const fwi_f16 *v, size_t v_stride,
                                        int n_kv, int d)
{
    if (d % 8 == 0 && d <= 64) {
        const int nv = d / 8;
        __m256 acc[8];
        for (int k = 0; k < 8; k++)
            acc[k] = _mm256_setzero_ps();
        float M = -INFINITY, S = 0.0f;
        for (int j = 0; j < n_kv; j++) {
            const fwi_f16 *vj = v + (size_t)j * v_stride;
            float ms = 1.0f, w = 1.0f;
            if (s[j] > M) { /* the scalar sequence of fwi_attn_online_weights */
                const float m_old = M;
                M = s[j];
                ms = fwi_expf_body(m_old - M);
                const __m256 msv = _mm256_set1_ps(ms);
                for (int k = 0; k < nv; k++)
                    acc[k] = round_h8(_mm256_mul_ps(acc[k], msv));
            } else {
                w = fwi_expf_body(s[j] - M);
            }
            const float sm = S * ms; /* two statements: never contracted */
            S = sm + w;
            const __m256 wv = _mm256_set1_ps(w);
            for (int k = 0; k < nv; k++)
                acc[k] = round_h8(_mm256_fmadd_ps(load_h8(vj + 8 * k), wv, acc[k]));
        }
        const __m256 iv = _mm256_set1_ps(1.0f / S);
        for (int k = 0; k < nv; k++)
            _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(acc[k], iv));
        return;
    }
    const float inv = fwi_attn_online_weights(s, n_kv);
    const int d8 = d & ~7;
    for (int i0 = 0; i0 < d8; i0 += 64) {
        const int nv = (d8 - i0) / 8 < 8 ? (d8 - i0) / 8 : 8;
        __m256 acc[8];
        for (int k = 0; k < 8; k++)
            acc[k] = _mm256_setzero_ps();
        const fwi_f16 *vj = v + i0;
        for (int j = 0; j < n_kv; j++, vj += v_stride) {
            float w = s[j];
            if (signbit(w)) {
                const __m256 ms = _mm256_set1_ps(-w);
                for (int k = 0; k < nv; k++)
                    acc[k] = round_h8(_mm256_mul_ps(acc[k], ms));
                w = 1.0f;
            }
            const __m256 wv = _mm256_set1_ps(w);
            for (int k = 0; k < nv; k++)
                acc[k] = round_h8(_mm256_fmadd_ps(load_h8(vj + 8 * k), wv, acc[k]));
        }
        const __m256 iv = _mm256_set1_ps(inv);
        for (int k = 0; k < nv; k++)
            _mm256_storeu_ps(y + i0 + 8 * k, _mm256_mul_ps(acc[k], iv));
    }
    if (d8 < d) { /* tail dims, scalar (the same operations) */
        for (int i = d8; i < d; i++)
            y[i] = 0.0f;
        for (int j = 0; j < n_kv; j++) {
            float w = s[j];
            const fwi_f16 *vj = v + (size_t)j * v_stride;
            if (signbit(w)) {
                for (int i = d8; i < d; i++)
                    y[i] = fwi_fp16_to_fp32(fwi_fp32_to_fp16(y[i] * -w));
                w = 1.0f;
            }
            for (int i = d8; i < d; i++)
                y[i] = fwi_fp16_to_fp32(fwi_fp32_to_fp16(fmaf(fwi_fp16_to_fp32(vj[i]), w, y[i])));
        }
        for (int i = d8; i < d; i++)
            y[i] = y[i] * inv;
    }
}

static void cvt_f32_to_f16_avx2(fwi_f16 *dst, const float *src, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(void *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        dst[i] = fwi_fp32_to_fp16(src[i]);
}

static void cvt_f16_to_f32_avx2(float *dst, const fwi_f16 *src, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, load_h8(src + i));
    for (; i < n; i++)
        dst[i] = fwi_fp16_to_fp32(src[i]);
}

void fwi_ops_init_avx2(fwi_kernels *k)
{
    k->rmsnorm = rmsnorm_avx2;
    k->softmax = softmax_avx2;
    k->silu_mul = silu_mul_avx2;
    k->add = add_avx2;
    k->mul = mul_avx2;
    k->scale = scale_avx2;
    k->rope = rope_avx2;
    k->attn_scores_f16 = attn_scores_f16_avx2;
    k->attn_values_f16 = attn_values_f16_avx2;
    k->cvt_f32_to_f16 = cvt_f32_to_f16_avx2;
    k->vec_mad_f16 = vec_mad_f16_avx2;
    k->vec_scale_f16 = vec_scale_f16_avx2;
    k->cvt_f16_to_f32 = cvt_f16_to_f32_avx2;
    k->attn_values_online_f16 = attn_values_online_f16_avx2;
}
