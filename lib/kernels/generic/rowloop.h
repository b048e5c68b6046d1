/*
 * rowloop.h - the generic row loops of the scalar reference kernels: from a
 * row-dot function DOT(weight_row, activation_row, n_blocks), define
 * matvec_<name>_c and matmul_<name>_c (fwi_matvec_fn / fwi_matmul_fn).
 * Each output element is one DOT call, so results never depend on row
 * ranges or token counts.  Also the 32-element 8-bit block quantiser
 * that the Q8_0 and Q8_1 activation formats share.  Internal to
 * lib/kernels/generic.
 */
#ifndef FWI_KERNELS_ROWLOOP_H
#define FWI_KERNELS_ROWLOOP_H

#include <stddef.h>
#include <stdint.h>

/* One generic row loop per weight type; DOT(row_ptr, x_ptr, n) */
#define DEFINE_MATVEC_MATMUL(name, WT, XT, DOT, NDIV)                          \
    static void matvec_##name##_c(float *out, const void *w, size_t ws,        \
                                  const void *x, int n, int r0, int r1)        \
    {                                                                          \
        for (int r = r0; r < r1; r++)                                          \
            out[r] = DOT((const WT *)((const char *)w + (size_t)r * ws),       \
                         (const XT *)x, n / (NDIV));                           \
    }                                                                          \
    static void matmul_##name##_c(float *out, size_t os, const void *w,        \
                                  size_t ws, const void *x, size_t xs, int n,  \
                                  int r0, int r1, int n_tok)                   \
    {                                                                          \
        for (int r = r0; r < r1; r++) {                                        \
            const WT *wr = (const WT *)((const char *)w + (size_t)r * ws);     \
            for (int t = 0; t < n_tok; t++)                                    \
                out[(size_t)t * os + r] =                                      \
                    DOT(wr, (const XT *)((const char *)x + (size_t)t * xs),    \
                        n / (NDIV));                                           \
        }                                                                      \
    }

/* Round-half-even of |v| <= 127.5 with exact integer arithmetic,
 * independent of the FP environment. */
static inline int8_t fwi_round_half_even_i8(float v)
{
    int i = (int)v;                       /* toward zero */
    const float frac = v - (float)i;      /* exact */
    const float af = frac < 0 ? -frac : frac;
    if (af > 0.5f || (af == 0.5f && (i & 1)))
        i += v < 0 ? -1 : 1;
    return (int8_t)i;
}

/* One 32-element block as ggml's x86 AVX2 quantize_row_q8_0/_q8_1:
 * d = amax / 127 (returned in *d, f32), id = 127 / amax,
 * q = round-half-even(x * id). Returns the sum of q. */
static inline int fwi_q8_block32(const float *xb, int8_t *q, float *d)
{
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) {
        const float a = xb[j] < 0 ? -xb[j] : xb[j];
        amax = amax > a ? amax : a;
    }
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int sum = 0;
    for (int j = 0; j < 32; j++) {
        q[j] = fwi_round_half_even_i8(xb[j] * id);
        sum += q[j];
    }
    *d = amax / 127.0f;
    return sum;
}

#endif
