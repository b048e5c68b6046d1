/*
 * libfwinfer - AArch64 register-tiled matvec / matmul template for the
 * quantised types, shared by matmul_neon.c and matmul_dotprod.c.
 *
 * The including file defines before inclusion:
 *   block_dot(wlo, whi, ylo, yhi) -> int32x4_t   integer dot of one 32-block
 *   FWI_SFX(name)                                 name##_neon / name##_dotprod
 *
 * Per output element: acc4 = fma(acc4, cvt_f32(block_dot), dw * dx) over the
 * blocks in order, out = vaddvq_f32(acc4); tiles only share loads, so every
 * tile shape / row range / token count gives bit-identical results.
 */
#ifndef FWI_NEON_PREFETCH
#define FWI_NEON_PREFETCH 512
#endif

#define NQ_MAXR 4
#define NQ_MAXT 4

enum { NQ4_0, NQ8_0 };

static inline float ld_f16(const void *p)
{
    float16_t h;
    memcpy(&h, p, sizeof h);
    return (float)h;
}

static FWI_ALWAYS_INLINE void
FWI_SFX(tile_q)(const int wt, const int R, const int T, const int pf,
                float *out, size_t os, const char *w, size_t ws,
                const char *x, size_t xs, int nb, int r, int t)
{
    const size_t wbs = wt == NQ4_0 ? sizeof(fwi_block_q4_0) : sizeof(fwi_block_q8_0);
    const char *wr[NQ_MAXR];
    const char *xt[NQ_MAXT];
    float32x4_t acc[NQ_MAXR][NQ_MAXT];

    FWI_UNROLL
    for (int i = 0; i < R; i++)
        wr[i] = w + (size_t)(r + i) * ws;
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        xt[j] = x + (size_t)(t + j) * xs;
    FWI_UNROLL
    for (int i = 0; i < R; i++) {
        FWI_UNROLL
        for (int j = 0; j < T; j++)
            acc[i][j] = vdupq_n_f32(0.0f);
    }

    for (int b = 0; b < nb; b++) {
        int8x16_t ylo[NQ_MAXT], yhi[NQ_MAXT];
        float dy[NQ_MAXT];
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            const char *xb = xt[j] + (size_t)b * sizeof(fwi_block_q8_0);
            ylo[j] = vld1q_s8((const int8_t *)(const void *)(xb + 2));
            yhi[j] = vld1q_s8((const int8_t *)(const void *)(xb + 18));
            dy[j] = ld_f16(xb);
        }
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            const char *wb = wr[i] + (size_t)b * wbs;
            if (pf)
                FWI_PREFETCH(wb + FWI_NEON_PREFETCH);
            const float dw = ld_f16(wb);
            int8x16_t wlo, whi;
            if (wt == NQ4_0) {
                const uint8x16_t raw = vld1q_u8((const uint8_t *)(const void *)(wb + 2));
                const int8x16_t eight = vdupq_n_s8(8);
                wlo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(raw, vdupq_n_u8(0x0f))), eight);
                whi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(raw, 4)), eight);
            } else {
                wlo = vld1q_s8((const int8_t *)(const void *)(wb + 2));
                whi = vld1q_s8((const int8_t *)(const void *)(wb + 18));
            }
            FWI_UNROLL
            for (int j = 0; j < T; j++) {
                const float32x4_t f = vcvtq_f32_s32(block_dot(wlo, whi, ylo[j], yhi[j]));
                acc[i][j] = vfmaq_f32(acc[i][j], f, vdupq_n_f32(dw * dy[j]));
            }
        }
    }

    FWI_UNROLL
    for (int i = 0; i < R; i++) {
        FWI_UNROLL
        for (int j = 0; j < T; j++)
            out[(size_t)(t + j) * os + (size_t)(r + i)] = vaddvq_f32(acc[i][j]);
    }
}

#define NQ_MV_R 4
#define NQ_R 4
#define NQ_T 2

#define NQ_TILE(wt, R, T, pf) \
    FWI_SFX(tile_q)(wt, R, T, pf, out, os, (const char *)w, ws, (const char *)x, xs, nb, r, t)

#define NQ_DEFINE_DRIVERS(name, wt, QK)                                        \
    static void FWI_SFX(matvec_##name)(float *out, const void *w, size_t ws,   \
                                       const void *x, int n, int r0, int r1)   \
    {                                                                          \
        const size_t os = 0, xs = 0;                                           \
        const int nb = n / (QK), t = 0;                                        \
        int r = r0;                                                            \
        for (; r + NQ_MV_R <= r1; r += NQ_MV_R)                                \
            NQ_TILE(wt, NQ_MV_R, 1, 1);                                        \
        for (; r < r1; r++)                                                    \
            NQ_TILE(wt, 1, 1, 1);                                              \
    }                                                                          \
    static void FWI_SFX(matmul_##name)(float *out, size_t os, const void *w,   \
                                       size_t ws, const void *x, size_t xs,    \
                                       int n, int r0, int r1, int n_tok)       \
    {                                                                          \
        const int nb = n / (QK);                                               \
        int r = r0;                                                            \
        for (; r + NQ_R <= r1; r += NQ_R) {                                    \
            int t = 0;                                                         \
            for (; t + NQ_T <= n_tok; t += NQ_T)                               \
                NQ_TILE(wt, NQ_R, NQ_T, 0);                                    \
            for (; t < n_tok; t++)                                             \
                NQ_TILE(wt, NQ_R, 1, 0);                                       \
        }                                                                      \
        for (; r < r1; r++) {                                                  \
            int t = 0;                                                         \
            for (; t + NQ_T <= n_tok; t += NQ_T)                               \
                NQ_TILE(wt, 1, NQ_T, 0);                                       \
            for (; t < n_tok; t++)                                             \
                NQ_TILE(wt, 1, 1, 0);                                          \
        }                                                                      \
    }

NQ_DEFINE_DRIVERS(q4_0, NQ4_0, FWI_QK4_0)
NQ_DEFINE_DRIVERS(q8_0, NQ8_0, FWI_QK8_0)
