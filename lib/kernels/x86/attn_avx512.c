/*
 * libfwinfer - attention values for several heads at once (AVX-512).
 * Compiled with -mavx512f -mavx512vl -mavx512bw -mavx512dq (plus
 * AVX2/FMA/F16C); only reached through the dispatch table at FWI_ISA_AVX512
 * and above.
 *
 * attn_values_online_f16 (kernels.h) keeps an f16 accumulator per head
 * dimension: per position, acc = f16(fma(v, w, acc)), a chain of an fma
 * and two conversions (~15 cycles) that one head cannot overlap, and its
 * online softmax runs one exponential per position. Here the query heads
 * of a grouped-query attention group (they read the same values) run
 * side by side, up to four, and the softmax is vectorised:
 *   1a  d_j = M_{j-1} - s_j, M_j = max(M_{j-1}, s_j) (scalar scan, heads
 *       interleaved). d_j < 0 (sign set) exactly where s_j raised the
 *       maximum; the exponential's argument is -|d_j| in both cases
 *       (M_old - s_j for a new maximum, s_j - M otherwise; a -0 on a tie
 *       at zero marks a rescale by 1, which changes nothing);
 *   1b  e_j = fwi_expf(-|d_j|), 16 at a time (expf16: the algorithm of
 *       expf_impl.h in 2 x 8 double lanes, libm for the special lanes),
 *       stored as -e_j where d_j < 0: the encoding of fwi_attn_online_weights;
 *   1c  S = S * ms + w in position order (two roundings, as the scalar);
 *   2   the f16 accumulators, four chains per head and 64 dimensions.
 * Per head every value is the one the single-head kernels compute:
 * bit-identical (checkasm compares with one scalar call per head).
 */
#include <immintrin.h>
#include <math.h>

#include "../expf_impl.h"
#include "../kernels.h"

#define AH 4 /* heads per pass */

/* ---- fwi_expf of 16 floats ---- */

static FWI_ALWAYS_INLINE __m512d expf_core8(__m512d xd, const __m512i *T)
{
    const __m512d invln2n = _mm512_set1_pd(FWI_EXPF_INVLN2N);
    const __m512d shift = _mm512_set1_pd(FWI_EXPF_SHIFT);
    const __m512d kz = _mm512_fmadd_pd(invln2n, xd, shift);
    const __m512i ki = _mm512_castpd_si512(kz);
    const __m512d kd = _mm512_sub_pd(kz, shift);
    const __m512d r = _mm512_fmsub_pd(invln2n, xd, kd);
    const __m512i idx = _mm512_and_si512(ki, _mm512_set1_epi64(31));
    const __m512i t0 = _mm512_permutex2var_epi64(T[0], idx, T[1]); /* entries 0..15 */
    const __m512i t1 = _mm512_permutex2var_epi64(T[2], idx, T[3]); /* 16..31 */
    const __m512i t = _mm512_mask_blend_epi64(_mm512_test_epi64_mask(idx, _mm512_set1_epi64(16)),
                                              t0, t1);
    const __m512d sc = _mm512_castsi512_pd(_mm512_add_epi64(t, _mm512_slli_epi64(ki, 47)));
    const __m512d z = _mm512_fmadd_pd(r, _mm512_set1_pd(FWI_EXPF_C0), _mm512_set1_pd(FWI_EXPF_C1));
    const __m512d r2 = _mm512_mul_pd(r, r);
    __m512d y = _mm512_fmadd_pd(r, _mm512_set1_pd(FWI_EXPF_C2), _mm512_set1_pd(1.0));
    y = _mm512_fmadd_pd(z, r2, y);
    return _mm512_mul_pd(y, sc);
}

static FWI_ALWAYS_INLINE __m512 expf16(__m512 x, const __m512i *T)
{
    const __m512d lo = expf_core8(_mm512_cvtps_pd(_mm512_castps512_ps256(x)), T);
    const __m512d hi = expf_core8(
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))), T);
    __m512 y = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
    const __m512i top = _mm512_and_si512(_mm512_srli_epi32(_mm512_castps_si512(x), 20),
                                         _mm512_set1_epi32(0x7ff));
    __mmask16 sp = _mm512_cmpgt_epu32_mask(top, _mm512_set1_epi32(FWI_EXPF_SPECIAL));
    if (sp) { /* overflow, deep underflow, inf, NaN: libm, lane by lane */
        float xs[16], ys[16];
        _mm512_storeu_ps(xs, x);
        _mm512_storeu_ps(ys, y);
        for (; sp; sp &= (__mmask16)(sp - 1)) {
            const int l = __builtin_ctz(sp);
            ys[l] = fwi_expf_body(xs[l]);
        }
        y = _mm512_loadu_ps(ys);
    }
    return y;
}

/* pass 1 for heads [0, H): s[h * ss + j] <- w_j or -ms_j, inv[h] = 1 / S */
static FWI_ALWAYS_INLINE void weights_pass(const int H, float *s, size_t ss, int n_kv,
                                           float *inv, const __m512i *T)
{
    float M[AH];
    FWI_UNROLL
    for (int h = 0; h < H; h++)
        M[h] = -INFINITY;
    for (int j = 0; j < n_kv; j++) {
        FWI_UNROLL
        for (int h = 0; h < H; h++) {
            float *p = s + (size_t)h * ss + (size_t)j;
            const float sj = *p;
            *p = M[h] - sj;
            M[h] = sj > M[h] ? sj : M[h];
        }
    }
    const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32((int)0x80000000u));
    for (int h = 0; h < H; h++) {
        float *sh = s + (size_t)h * ss;
        for (int j = 0; j < n_kv; j += 16) {
            const __mmask16 m = n_kv - j >= 16 ? (__mmask16)0xffff
                                               : (__mmask16)((1u << (n_kv - j)) - 1);
            const __m512 d = _mm512_maskz_loadu_ps(m, sh + j);
            const __m512 e = expf16(_mm512_or_ps(d, sign), T);
            _mm512_mask_storeu_ps(sh + j, m, _mm512_or_ps(e, _mm512_and_ps(d, sign)));
        }
    }
    float S[AH];
    FWI_UNROLL
    for (int h = 0; h < H; h++)
        S[h] = 0.0f;
    for (int j = 0; j < n_kv; j++) {
        FWI_UNROLL
        for (int h = 0; h < H; h++) {
            const float w = s[(size_t)h * ss + (size_t)j];
            if (signbit(w)) {
                const float sm = S[h] * -w; /* two statements: never contracted */
                S[h] = sm + 1.0f;
            } else {
                S[h] = S[h] + w;
            }
        }
    }
    FWI_UNROLL
    for (int h = 0; h < H; h++)
        inv[h] = 1.0f / S[h];
}

static FWI_ALWAYS_INLINE __m512 round_h16(__m512 x)
{
    return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}

/* heads [0, H) of s / y, pass 2, 64 dimensions at a time */
static FWI_ALWAYS_INLINE void heads_pass(const int H, float *y, size_t ys, const float *s,
                                         size_t ss, const fwi_f16 *v, size_t v_stride,
                                         int n_kv, int d, const float *inv)
{
    for (int i0 = 0; i0 < d; i0 += 64) {
        const int w = d - i0 < 64 ? d - i0 : 64;
        const int nv = (w + 15) / 16;
        const __mmask16 last = w % 16 ? (__mmask16)((1u << (w % 16)) - 1) : (__mmask16)0xffff;
        __m512 acc[AH][4];
        FWI_UNROLL
        for (int h = 0; h < H; h++) {
            FWI_UNROLL
            for (int k = 0; k < 4; k++)
                acc[h][k] = _mm512_setzero_ps();
        }
        const fwi_f16 *vj = v + i0;
        for (int j = 0; j < n_kv; j++, vj += v_stride) {
            __m512 vv[4];
            FWI_UNROLL
            for (int k = 0; k < 4; k++)
                vv[k] = k < nv ? _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(
                                     k == nv - 1 ? last : (__mmask16)0xffff, vj + 16 * k))
                               : _mm512_setzero_ps();
            FWI_UNROLL
            for (int h = 0; h < H; h++) {
                float wt = s[(size_t)h * ss + (size_t)j];
                if (signbit(wt)) { /* a new maximum: rescale by ms = -wt, w = 1 */
                    const __m512 ms = _mm512_set1_ps(-wt);
                    FWI_UNROLL
                    for (int k = 0; k < 4; k++)
                        if (k < nv)
                            acc[h][k] = round_h16(_mm512_mul_ps(acc[h][k], ms));
                    wt = 1.0f;
                }
                const __m512 wv = _mm512_set1_ps(wt);
                FWI_UNROLL
                for (int k = 0; k < 4; k++)
                    if (k < nv)
                        acc[h][k] = round_h16(_mm512_fmadd_ps(vv[k], wv, acc[h][k]));
            }
        }
        FWI_UNROLL
        for (int h = 0; h < H; h++) {
            const __m512 iv = _mm512_set1_ps(inv[h]);
            FWI_UNROLL
            for (int k = 0; k < 4; k++)
                if (k < nv)
                    _mm512_mask_storeu_ps(y + (size_t)h * ys + i0 + 16 * k,
                                          k == nv - 1 ? last : (__mmask16)0xffff,
                                          _mm512_mul_ps(acc[h][k], iv));
        }
    }
}

static void attn_values_online_f16_heads_avx512(float *y, size_t ys, float *s, size_t ss,
                                                const fwi_f16 *v, size_t v_stride, int n_kv,
                                                int d, int nh)
{
    __m512i T[4];
    for (int i = 0; i < 4; i++)
        T[i] = _mm512_loadu_si512(fwi_expf_tab + 8 * i);
    for (int h0 = 0; h0 < nh; h0 += AH) {
        const int hn = nh - h0 < AH ? nh - h0 : AH;
        float *sh = s + (size_t)h0 * ss, *yh = y + (size_t)h0 * ys;
        float inv[AH];
        switch (hn) {
        case 4:
            weights_pass(4, sh, ss, n_kv, inv, T);
            heads_pass(4, yh, ys, sh, ss, v, v_stride, n_kv, d, inv);
            break;
        case 3:
            weights_pass(3, sh, ss, n_kv, inv, T);
            heads_pass(3, yh, ys, sh, ss, v, v_stride, n_kv, d, inv);
            break;
        case 2:
            weights_pass(2, sh, ss, n_kv, inv, T);
            heads_pass(2, yh, ys, sh, ss, v, v_stride, n_kv, d, inv);
            break;
        default:
            weights_pass(1, sh, ss, n_kv, inv, T);
            heads_pass(1, yh, ys, sh, ss, v, v_stride, n_kv, d, inv);
            break;
        }
    }
}

void fwi_attn_init_avx512(fwi_kernels *k)
{
    k->attn_values_online_f16_heads = attn_values_online_f16_heads_avx512;
}
