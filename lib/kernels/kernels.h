/*
 * libfwinfer - internal compute-kernel interface with run-time ISA dispatch.
 *
 * Usage:
 *     fwi_kernels k;
 *     fwi_kernels_init(&k, fwi_cpu_detect());   // or a lower cap
 *     k.matvec[FWI_TYPE_Q4_0](out, w, row_bytes, xq, n, r0, r1);
 *
 * Every entry is a plain function pointer; the table is filled with the
 * scalar C versions first, then upgraded level by level (dav1d style).
 * A NULL entry means "type not supported".
 *
 * Activation formats (fwi_type_traits.vec_dot_type):
 *   - Q4_0, Q5_0, Q8_0 weights: activations quantised to Q8_0;
 *     Q4_1, Q5_1: to Q8_1 (Q8_0 plus d*sum per block); Q2_K..Q6_K: to
 *     Q8_K (256-element blocks, f32 scale, 16-element sums). Each with
 *     k.quantize_row[activation type]. Q8_0 gives the same bytes on every
 *     ISA, equal to
 *     what llama.cpp's x86 build produces (ggml's AVX2 quantize_row_q8_0:
 *     id = 127/amax, round-half-even), deliberately NOT
 *     quantize_row_q8_0_ref (id = 1/(amax/127), roundf), which ggml only
 *     uses for writing model files (fwi_quantize_row_q8_0_ref here).
 *   - F32, F16, BF16 weights: activations stay f32 (no quantisation step;
 *     pass the float row). ggml rounds activations to F16/BF16 first; we
 *     keep full f32 precision, which is more accurate and costs nothing
 *     measurable (the weight stream dominates). Results therefore differ
 *     from llama.cpp by the activation rounding of ggml, not the other way.
 *
 * Determinism: for every kernel on a given ISA, each output element is
 * computed by a fixed sequence of operations that depends only on its own
 * inputs and n, never on the row range [r0, r1), the position of the row
 * inside a register block or the number of tokens. In particular
 * matvec(r0..r1) split any way between threads and matmul with any B give
 * bit-identical results to one matvec over all rows (checked by checkasm).
 * Different ISAs round differently (scalar vs SIMD lane order).
 *
 * Threading: all kernels are reentrant and touch only their arguments.
 */
#ifndef FWI_KERNELS_KERNELS_H
#define FWI_KERNELS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "fp16.h"
#include "quant.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(_M_AMD64)
#define FWI_ARCH_X86_64 1
#elif defined(__aarch64__) || defined(_M_ARM64)
#define FWI_ARCH_AARCH64 1
#endif

/* Ordered ISA levels of the architecture we are built for: a level implies
 * all lower ones. Values are per architecture; compare only within one build. */
enum fwi_isa {
    FWI_ISA_SCALAR = 0,
#if defined(FWI_ARCH_X86_64)
    FWI_ISA_AVX2,        /* AVX2 + FMA + F16C (+ OS YMM state) */
    FWI_ISA_AVX512,      /* AVX512 F/BW/DQ/VL (+ OS ZMM state): 512-bit matvec, F16/BF16 matmul */
    FWI_ISA_AVX512VNNI,  /* + AVX512_VNNI: Q4_0/Q8_0/K-quant matmul and matvec */
#elif defined(FWI_ARCH_AARCH64)
    FWI_ISA_NEON,        /* ASIMD (baseline on AArch64) */
    FWI_ISA_DOTPROD,     /* + SDOT/UDOT (FEAT_DotProd, Armv8.2+) */
#endif
    FWI_ISA_COUNT
};

/* Best level supported by this CPU and OS. Detection runs once
 * (pthread_once); later calls return the cached value. Thread safe. */
enum fwi_isa fwi_cpu_detect(void);

/* "scalar", "avx2", "avx512", "avx512vnni", "neon", "dotprod";
 * NULL for an invalid value. */
const char *fwi_isa_name(enum fwi_isa isa);

/* Parse a level name (case-insensitive; "c" is accepted for "scalar").
 * Returns 0 and sets *isa on success, -1 for a name this architecture does
 * not know (e.g. "neon" on x86-64). */
int fwi_isa_from_name(const char *name, enum fwi_isa *isa);

/* f32 row -> activation format (Q8_0: n multiple of 32). */
typedef void (*fwi_quantize_row_fn)(void *dst, const float *src, int n);

/* Matrix-vector product over rows [r0, r1) of W (row r starts at
 * (const char *)w + r * w_stride, n columns in W's type):
 *     out[r] = dot(W[r], x)        for r in [r0, r1)
 * out is indexed by absolute row (out[r0..r1) is written, nothing else).
 * x is the activation row in W's vec_dot_type. n must be a multiple of the
 * block size for block types; any n >= 1 for float types. w and x may be
 * unaligned (2-byte aligned is enough for every type, 4 for f32). */
typedef void (*fwi_matvec_fn)(float *out, const void *w, size_t w_stride,
                              const void *x, int n, int r0, int r1);

/* Matrix-matrix product for n_tok tokens:
 *     out[t * out_stride + r] = dot(W[r], X[t])   t in [0,n_tok), r in [r0,r1)
 * X[t] starts at (const char *)x + t * x_stride (activation format).
 * Register-tiled: every weight block is read once per tile of rows and
 * tokens. Bit-identical to n_tok matvec calls. */
typedef void (*fwi_matmul_fn)(float *out, size_t out_stride,
                              const void *w, size_t w_stride,
                              const void *x, size_t x_stride,
                              int n, int r0, int r1, int n_tok);

typedef struct fwi_kernels {
    enum fwi_isa isa;  /* level the table was built for */

    /* indexed by the *activation* type: [FWI_TYPE_Q8_0], [FWI_TYPE_Q8_1]
     * and [FWI_TYPE_Q8_K] are set (f32 activations need no conversion). */
    fwi_quantize_row_fn quantize_row[FWI_TYPE_COUNT];
    /* indexed by the *weight* type */
    fwi_matvec_fn matvec[FWI_TYPE_COUNT];
    fwi_matmul_fn matmul[FWI_TYPE_COUNT];

    /* y = x / sqrt(mean(x^2) + eps) * w   (w may be NULL: no weight).
     * Sum of squares accumulated in double as ggml. y may alias x. */
    void (*rmsnorm)(float *y, const float *x, const float *w, int n, float eps);
    /* in place: x = exp(x - max) / sum; -INFINITY entries give 0 */
    void (*softmax)(float *x, int n);
    /* y = silu(a) * b = a / (1 + exp(-a)) * b; y may alias a or b */
    void (*silu_mul)(float *y, const float *a, const float *b, int n);
    /* y = gelu(a) * b with ggml's CPU numerics (GGML_GELU_FP16): for
     * -10 < a < 10, gelu (tanh approximation, libm tanhf) of f16(a),
     * rounded to f16; 0 for a <= -10, a for a >= 10. Scalar only (the
     * same function on every ISA: bit-exact). y may alias a or b. */
    void (*gelu_mul)(float *y, const float *a, const float *b, int n);
    /* soft-capping in place: x = tanhf(x * pre) * post (libm tanhf; the
     * same on every ISA) */
    void (*softcap)(float *x, int n, float pre, float post);
    /* y = a + b, y = a * b, y = x * s (exact, any aliasing of equal pointers) */
    void (*add)(float *y, const float *a, const float *b, int n);
    void (*mul)(float *y, const float *a, const float *b, int n);
    void (*scale)(float *y, const float *x, float s, int n);
    /* Rotary embedding in place on n_head heads of head_dim floats each
     * (consecutive), rotating the first n_rot (even) dims of each head.
     * cs: cos[0..n_rot/2) followed by sin[0..n_rot/2) (fwi_rope_cache()).
     * neox = 0: pairs (2i, 2i+1) (llama "normal"); neox = 1: pairs
     * (i, i + n_rot/2). Computed as x0*c - x1*s, x0*s + x1*c (no FMA): exact
     * same rounding on every ISA. */
    void (*rope)(float *x, int n_head, int head_dim, int n_rot,
                 const float *cs, int neox);
    /* Attention helpers, f16 KV cache (k/v rows k_stride/v_stride elements
     * apart):
     *   s[j] = scale * dot(q, K[j])             j in [0, n_kv)
     *   y[i] += sum_j a[j] * V[j][i]            j ascending, i in [0, d) */
    void (*attn_scores_f16)(float *s, const float *q, const fwi_f16 *k,
                            size_t k_stride, int n_kv, int d, float scale);
    void (*attn_values_f16)(float *y, const float *a, const fwi_f16 *v,
                            size_t v_stride, int n_kv, int d);
    /* f16 accumulators, as ggml's flash attention keeps its value sum
     * (bit-exact on every ISA: fused multiply-add, round to nearest even):
     *   y[i] = f16(fma(f32(x[i]), v, f32(y[i])))
     *   y[i] = f16(f32(y[i]) * s) */
    void (*vec_mad_f16)(fwi_f16 *y, const fwi_f16 *x, float v, int n);
    void (*vec_scale_f16)(fwi_f16 *y, float s, int n);
    /* row conversions (round to nearest even; bit-exact on every ISA) */
    void (*cvt_f32_to_f16)(fwi_f16 *dst, const float *src, int n);
    void (*cvt_f16_to_f32)(float *dst, const fwi_f16 *src, int n);
    /* The value half of ggml's flash attention for one query: from the
     * scores s[0..n_kv) and the f16 values V[j] (v_stride halves apart),
     *   M = -inf, S = 0, acc[0..d) = 0 (f16)
     *   for j ascending:
     *     if s[j] > M: ms = expf(M - s[j]), M = s[j], w = 1,
     *                  acc = f16(f32(acc) * ms)          (vec_scale_f16)
     *     else:        ms = 1, w = expf(s[j] - M)
     *     acc = f16(fma(f32(V[j]), w, f32(acc)));  S = S * ms + w
     *   y = f32(acc) * (1 / S)
     * i.e. exactly vec_scale_f16 / vec_mad_f16 / cvt_f16_to_f32 / scale in
     * that order, fused (the accumulator stays in registers). expf is
     * fwi_expf (expf_impl.h: glibc's algorithm, bit-identical to libm's
     * expf on x86-64 glibc with FMA), the same on every ISA. s is
     * overwritten (scratch). Bit-exact on every ISA. */
    void (*attn_values_online_f16)(float *y, float *s, const fwi_f16 *v,
                                   size_t v_stride, int n_kv, int d);
    /* attn_values_online_f16 for nh query heads that read the same values
     * (a grouped-query attention group): head h takes its scores from
     * s + h * s_stride (overwritten) and writes y + h * y_stride;
     * bit-identical to nh calls of attn_values_online_f16. NULL where an
     * ISA has no such kernel (callers then loop over the heads). */
    void (*attn_values_online_f16_heads)(float *y, size_t y_stride, float *s,
                                         size_t s_stride, const fwi_f16 *v,
                                         size_t v_stride, int n_kv, int d, int nh);
} fwi_kernels;

/* Fill *k for min(level, fwi_cpu_detect()). Never fails: at worst the
 * scalar table. */
void fwi_kernels_init(fwi_kernels *k, enum fwi_isa level);

/* Rotary cache for one position (ggml rope, ext_factor = 0):
 *   theta_i = pos * freq_base^(-2i/n_rot) / ff[i] * freq_scale
 *   cs[i] = cos(theta_i) * mscale, cs[n_rot/2 + i] = sin(theta_i) * mscale
 * theta advanced by repeated multiplication like ggml_rope_cache_init.
 * freq_factors may be NULL. */
void fwi_rope_cache(float *cs, int n_rot, float pos, float freq_base,
                    float freq_scale, const float *freq_factors, float mscale);

/* Pass 1 of attn_values_online_f16 (one scalar implementation for every
 * ISA): the online softmax over s[0..n_kv), leaving in s[j] either w_j
 * (sign bit clear) or -ms_j (sign bit set: a step that raised the maximum,
 * where w_j = 1); returns 1 / S. */
float fwi_attn_online_weights(float *s, int n_kv);

/* expf of the attention softmax, the same function on every ISA (see
 * expf_impl.h; generic/expf_c.c) */
float fwi_expf(float x);

/* ---- per-file installers (internal to lib/kernels) ---- */
void fwi_matmul_init_c(fwi_kernels *k);
void fwi_ops_init_c(fwi_kernels *k);
void fwi_legacy_init_c(fwi_kernels *k);   /* Q4_1, Q5_0, Q5_1, Q8_1 */
void fwi_kquants_init_c(fwi_kernels *k);  /* Q4_K, Q5_K, Q6_K, Q8_K */
void fwi_lowk_init_c(fwi_kernels *k);     /* Q2_K, Q3_K */
#if defined(FWI_ARCH_X86_64)
void fwi_matmul_init_avx2(fwi_kernels *k);
void fwi_ops_init_avx2(fwi_kernels *k);
void fwi_legacy_init_avx2(fwi_kernels *k);
void fwi_kquants_init_avx2(fwi_kernels *k);
void fwi_lowk_init_avx2(fwi_kernels *k);
void fwi_matvec_init_avx512(fwi_kernels *k);      /* K-quant / float matvec */
void fwi_attn_init_avx512(fwi_kernels *k);        /* attention, several heads */
void fwi_matmul_init_avx512vnni(fwi_kernels *k);  /* Q4_0/Q8_0 matmul, matvec */
void fwi_kquants_init_avx512vnni(fwi_kernels *k); /* K-quant matmul, matvec */
#elif defined(FWI_ARCH_AARCH64)
void fwi_matmul_init_neon(fwi_kernels *k);
void fwi_ops_init_neon(fwi_kernels *k);
void fwi_legacy_init_neon(fwi_kernels *k);
void fwi_kquants_init_neon(fwi_kernels *k);
void fwi_lowk_init_neon(fwi_kernels *k);
void fwi_matmul_init_dotprod(fwi_kernels *k);
void fwi_kquants_init_dotprod(fwi_kernels *k);
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FWI_ALWAYS_INLINE inline __attribute__((always_inline))
#define FWI_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define FWI_ALWAYS_INLINE inline
#define FWI_PREFETCH(p) ((void)(p))
#endif

/* full unrolling of small constant loops (register-tile micro-kernels);
 * off in sanitizer builds, where clang takes minutes on the unrolled code */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FWI_SANITIZING 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FWI_SANITIZING 1
#endif
#if defined(FWI_SANITIZING)
#define FWI_UNROLL
#elif defined(__clang__)
#define FWI_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define FWI_UNROLL _Pragma("GCC unroll 16")
#else
#define FWI_UNROLL
#endif

#endif /* FWI_KERNELS_KERNELS_H */
