/*
 * libfwinfer - AArch64 register-tiled matvec / matmul template for the
 * quantised types, shared by matmul_neon.c and matmul_dotprod.c.
 *
 * The including file defines before inclusion:
 *   block_dot(wlo, whi, ylo, yhi) -> int32x4_t   integer dot of one 32-block
 *                                                 (lane partial sums)
 *   FWI_SFX(name)                                 name##_neon / name##_dotprod
 *
 * Bit-exact with the scalar level (dot_q*_q8_0 in generic/matmul_c.c): per
 * output element
 *     sumf = 0.0f;  for each block b in order:  sumf += (float)sumi_b * (dw * dx)
 * with the exact integer block dot sumi_b, an f32 multiply and a separate f32
 * add. The R x T elements of a tile sit in the lanes of float32x4
 * accumulators (lane p = token j * R + row i); the integer lane partials of
 * block_dot are reduced to sumi_b with pairwise adds first. Keeping the
 * partial sums of a block in separate float lanes (the old scheme) rounds
 * differently from the scalar level, and the round-to-nearest of the next
 * Q8_0 activation quantisation amplifies that (it moved the synthetic Q4_0
 * model's logits by 9e-3 relative). Tiles only share loads, so every tile
 * shape / row range / token count gives the same bits.
 */
#ifndef FWI_NEON_PREFETCH
#define FWI_NEON_PREFETCH 512
#endif

#define NQ_MAXR 4
#define NQ_MAXT 4
#define NQ_MAXV ((NQ_MAXR * NQ_MAXT + 3) / 4)

enum { NQ4_0, NQ8_0 };

static inline float ld_f16(const void *p)
{
    float16_t h;
    memcpy(&h, p, sizeof h);
    return (float)h;
}

/* sum of the lanes of each of a, b, c, d: { sum(a), sum(b), sum(c), sum(d) } */
static FWI_ALWAYS_INLINE int32x4_t FWI_SFX(hadd4)(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d)
{
    return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}

static FWI_ALWAYS_INLINE void
FWI_SFX(tile_q)(const int wt, const int R, const int T, const int pf,
                float *out, size_t os, const char *w, size_t ws,
                const char *x, size_t xs, int nb, int r, int t)
{
    const size_t wbs = wt == NQ4_0 ? sizeof(fwi_block_q4_0) : sizeof(fwi_block_q8_0);
    const int P = R * T, NV = (P + 3) / 4; /* elements, accumulator vectors */
    const char *wr[NQ_MAXR];
    const char *xt[NQ_MAXT];
    float32x4_t acc[NQ_MAXV];

    FWI_UNROLL
    for (int i = 0; i < R; i++)
        wr[i] = w + (size_t)(r + i) * ws;
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        xt[j] = x + (size_t)(t + j) * xs;
    FWI_UNROLL
    for (int v = 0; v < NV; v++)
        acc[v] = vdupq_n_f32(0.0f);

    for (int b = 0; b < nb; b++) {
        int8x16_t ylo[NQ_MAXT], yhi[NQ_MAXT];
        float dy[NQ_MAXT], dw[NQ_MAXR];
        int32x4_t part[4 * NQ_MAXV]; /* lane partials of element p */
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
            dw[i] = ld_f16(wb);
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
            for (int j = 0; j < T; j++)
                part[j * R + i] = block_dot(wlo, whi, ylo[j], yhi[j]);
        }
        FWI_UNROLL
        for (int p = P; p < 4 * NV; p++)
            part[p] = vdupq_n_s32(0);
        FWI_UNROLL
        for (int v = 0; v < NV; v++) {
            const int32x4_t sumi = FWI_SFX(hadd4)(part[4 * v], part[4 * v + 1],
                                                  part[4 * v + 2], part[4 * v + 3]);
            /* d = dw * dx per lane, as the scalar code: one f32 multiply */
            float d[4];
            FWI_UNROLL
            for (int l = 0; l < 4; l++) {
                const int p = 4 * v + l;
                d[l] = p < P ? dw[p % R] * dy[p / R] : 0.0f;
            }
            /* |sumi| <= 32 * 128 * 127 < 2^24: the conversion is exact */
            acc[v] = vaddq_f32(acc[v], vmulq_f32(vcvtq_f32_s32(sumi), vld1q_f32(d)));
        }
    }

    FWI_UNROLL
    for (int v = 0; v < NV; v++) {
        float o[4];
        vst1q_f32(o, acc[v]);
        FWI_UNROLL
        for (int l = 0; l < 4; l++) {
            const int p = 4 * v + l;
            if (p < P)
                out[(size_t)(t + p / R) * os + (size_t)(r + p % R)] = o[l];
        }
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
