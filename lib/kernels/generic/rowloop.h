/*
 * rowloop.h - the generic row loops of the scalar reference kernels: from a
 * row-dot function DOT(weight_row, activation_row, n_blocks), define
 * matvec_<name>_c and matmul_<name>_c (fwi_matvec_fn / fwi_matmul_fn).
 * Each output element is one DOT call, so results never depend on row
 * ranges or token counts.  Internal to lib/kernels/generic.
 */
#ifndef FWI_KERNELS_ROWLOOP_H
#define FWI_KERNELS_ROWLOOP_H

#include <stddef.h>

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

#endif
