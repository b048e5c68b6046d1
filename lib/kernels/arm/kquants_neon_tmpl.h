/*
 * libfwinfer - AArch64 K-quant matvec / matmul (Q4_K, Q5_K, Q6_K weights,
 * Q8_K activations), shared by kquants_neon.c and kquants_dotprod.c.
 *
 * The including file defines before inclusion:
 *   KQ_DOTPROD     1: integer dots with SDOT (vdotq_s32), 0: vmull/vmlal
 *   KQ_SFX(name)   name##_neon / name##_dotprod
 * See kquants_neon.c for the arithmetic (exact integer super-block sums,
 * then the scalar reference's f32 sequence: bit-identical to it).
 */
/* ---------------------------------------------------------------------- */

enum { WQ4_K, WQ5_K, WQ6_K };

#define MT 4 /* tokens per tile */

static FWI_ALWAYS_INLINE size_t wbs(const int wt)
{
    return wt == WQ4_K ? sizeof(fwi_block_q4_K) : wt == WQ5_K ? sizeof(fwi_block_q5_K)
                                                             : sizeof(fwi_block_q6_K);
}

static FWI_ALWAYS_INLINE float load_f32(const void *p)
{
    float v;
    memcpy(&v, p, sizeof v);
    return v;
}

static FWI_ALWAYS_INLINE float load_f16f(const void *p)
{
    fwi_f16 h;
    memcpy(&h, p, sizeof h);
    return fwi_fp16_to_fp32(h);
}

/* sum of 32 products of a (int8 x 32 as two vectors) and y (32 bytes), as
 * 4 int32 lane partials (exact) */
static FWI_ALWAYS_INLINE int32x4_t dot32(int8x16_t a0, int8x16_t a1, const int8_t *y)
{
    const int8x16_t y0 = vld1q_s8(y), y1 = vld1q_s8(y + 16);
#if KQ_DOTPROD
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), a0, y0), a1, y1);
#else
    int16x8_t p = vmull_s8(vget_low_s8(a0), vget_low_s8(y0));
    p = vmlal_s8(p, vget_high_s8(a0), vget_high_s8(y0));
    p = vmlal_s8(p, vget_low_s8(a1), vget_low_s8(y1));
    p = vmlal_s8(p, vget_high_s8(a1), vget_high_s8(y1));
    return vpaddlq_s16(p);
#endif
}

static FWI_ALWAYS_INLINE int32x4_t dot16(int8x16_t a, const int8_t *y)
{
    const int8x16_t y0 = vld1q_s8(y);
#if KQ_DOTPROD
    return vdotq_s32(vdupq_n_s32(0), a, y0);
#else
    int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(y0));
    p = vmlal_s8(p, vget_high_s8(a), vget_high_s8(y0));
    return vpaddlq_s16(p);
#endif
}

/* One super-block wb of one row against T activation blocks yb[j]:
 * sumi[j], summ[j] (summ only for Q4_K / Q5_K) */
static FWI_ALWAYS_INLINE void sb_row(const int wt, const int T, const uint8_t *wb,
                                     const uint8_t *const *yb, int32_t *sumi, int32_t *summ)
{
    /* two accumulators per token (even / odd sub-blocks): shorter
     * dependency chains; integer sums, so the split changes nothing */
    int32x4_t acc[MT], acc2[MT];
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        acc[j] = acc2[j] = vdupq_n_s32(0);
    if (wt == WQ4_K || wt == WQ5_K) {
        const uint8_t *qs = wb + 16 + (wt == WQ5_K ? 32 : 0);
        uint8_t sc[8], mn[8];
        {
            uint32_t u[3];
            memcpy(u, wb + 4, 12);
            const uint32_t v[4] = { u[0] & 0x3f3f3f3fu,
                                    (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4),
                                    u[1] & 0x3f3f3f3fu,
                                    ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4) };
            memcpy(sc, v, 8);
            memcpy(mn, v + 2, 8);
        }
        uint8x16_t h0 = vdupq_n_u8(0), h1 = vdupq_n_u8(0);
        if (wt == WQ5_K) {
            h0 = vld1q_u8(wb + 16);
            h1 = vld1q_u8(wb + 32);
        }
        const uint8x16_t m4 = vdupq_n_u8(0x0f), one = vdupq_n_u8(1);
        FWI_UNROLL
        for (int c = 0; c < 4; c++) {
            const uint8x16_t r0 = vld1q_u8(qs + 32 * c), r1 = vld1q_u8(qs + 32 * c + 16);
            uint8x16_t l0 = vandq_u8(r0, m4), l1 = vandq_u8(r1, m4);
            uint8x16_t u0 = vshrq_n_u8(r0, 4), u1 = vshrq_n_u8(r1, 4);
            if (wt == WQ5_K) {
                const int8x16_t s0 = vdupq_n_s8((int8_t)(-2 * c)), s1 = vdupq_n_s8((int8_t)(-2 * c - 1));
                l0 = vorrq_u8(l0, vshlq_n_u8(vandq_u8(vshlq_u8(h0, s0), one), 4));
                l1 = vorrq_u8(l1, vshlq_n_u8(vandq_u8(vshlq_u8(h1, s0), one), 4));
                u0 = vorrq_u8(u0, vshlq_n_u8(vandq_u8(vshlq_u8(h0, s1), one), 4));
                u1 = vorrq_u8(u1, vshlq_n_u8(vandq_u8(vshlq_u8(h1, s1), one), 4));
            }
            FWI_UNROLL
            for (int j = 0; j < T; j++) {
                const int8_t *y = (const int8_t *)(const void *)(yb[j] + 4 + 64 * c);
                acc[j] = vmlaq_n_s32(acc[j], dot32(vreinterpretq_s8_u8(l0), vreinterpretq_s8_u8(l1), y),
                                     sc[2 * c]);
                acc2[j] = vmlaq_n_s32(acc2[j], dot32(vreinterpretq_s8_u8(u0), vreinterpretq_s8_u8(u1), y + 32),
                                      sc[2 * c + 1]);
            }
        }
        const int16x8_t mn16 = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mn)));
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            int16_t bs[16];
            memcpy(bs, yb[j] + 4 + FWI_QK_K, sizeof bs);
            const int16x8_t bp = vpaddq_s16(vld1q_s16(bs), vld1q_s16(bs + 8)); /* pair sums */
            const int32x4_t pm = vmull_s16(vget_low_s16(mn16), vget_low_s16(bp));
            summ[j] = vaddvq_s32(vmlal_s16(pm, vget_high_s16(mn16), vget_high_s16(bp)));
            sumi[j] = vaddvq_s32(vaddq_s32(acc[j], acc2[j]));
        }
    } else {
        const int8_t *scv = (const int8_t *)(const void *)(wb + 192);
        const uint8x16_t m4 = vdupq_n_u8(0x0f), m3 = vdupq_n_u8(0x30);
        const int8x16_t k32 = vdupq_n_s8(32);
        FWI_UNROLL
        for (int h = 0; h < 2; h++) {
            FWI_UNROLL
            for (int k = 0; k < 2; k++) {
                const uint8x16_t L0 = vld1q_u8(wb + 64 * h + 16 * k);
                const uint8x16_t L1 = vld1q_u8(wb + 64 * h + 32 + 16 * k);
                const uint8x16_t H = vld1q_u8(wb + 128 + 32 * h + 16 * k);
                int8x16_t q[4];
                q[0] = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(L0, m4), vandq_u8(vshlq_n_u8(H, 4), m3)));
                q[1] = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(L1, m4), vandq_u8(vshlq_n_u8(H, 2), m3)));
                q[2] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(L0, 4), vandq_u8(H, m3)));
                q[3] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(L1, 4), vandq_u8(vshrq_n_u8(H, 2), m3)));
                FWI_UNROLL
                for (int p = 0; p < 4; p++) {
                    const int8x16_t qq = vsubq_s8(q[p], k32);
                    const int e = 128 * h + 32 * p + 16 * k; /* first element */
                    FWI_UNROLL
                    for (int j = 0; j < T; j++) {
                        const int32x4_t dp = dot16(qq, (const int8_t *)(const void *)(yb[j] + 4 + e));
                        if (p & 1)
                            acc2[j] = vmlaq_n_s32(acc2[j], dp, scv[e / 16]);
                        else
                            acc[j] = vmlaq_n_s32(acc[j], dp, scv[e / 16]);
                    }
                }
            }
        }
        FWI_UNROLL
        for (int j = 0; j < T; j++)
            sumi[j] = vaddvq_s32(vaddq_s32(acc[j], acc2[j]));
    }
}

/* one row wr x T tokens xt[j]: out[j] (reference f32 sequence) */
static FWI_ALWAYS_INLINE void tile(const int wt, const int T, float *res, const uint8_t *wr,
                                   const uint8_t *const *xt, int nb, const uint8_t *pf)
{
    const size_t bs = wbs(wt);
    float acc[MT];
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        acc[j] = 0.0f;
    for (int b = 0; b < nb; b++) {
        const uint8_t *wb = wr + (size_t)b * bs;
        if (pf) {
            for (size_t o = 0; o < bs; o += 64)
                __builtin_prefetch(pf + (size_t)b * bs + o, 0, 3);
        }
        const uint8_t *yb[MT];
        FWI_UNROLL
        for (int j = 0; j < T; j++)
            yb[j] = xt[j] + (size_t)b * sizeof(fwi_block_q8_K);
        int32_t sumi[MT], summ[MT];
        sb_row(wt, T, wb, yb, sumi, summ);
        const float d = load_f16f(wb + (wt == WQ6_K ? 208 : 0));
        const float dmin = wt == WQ6_K ? 0.0f : load_f16f(wb + 2);
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            const float dy = load_f32(yb[j]);
            const float dd = d * dy;
            const float p = dd * (float)sumi[j];
            acc[j] = acc[j] + p;
            if (wt != WQ6_K) {
                const float dm = dmin * dy;
                const float q = dm * (float)summ[j];
                acc[j] = acc[j] - q;
            }
        }
    }
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        res[j] = acc[j];
}

static FWI_ALWAYS_INLINE void matvec_k(const int wt, float *out, const void *wv, size_t ws,
                                       const void *xv, int n, int r0, int r1)
{
    const uint8_t *w = wv;
    const uint8_t *xt[1] = { xv };
    const int nb = n / FWI_QK_K;
    for (int r = r0; r < r1; r++) {
        const uint8_t *pf = r + 1 < r1 ? w + (size_t)(r + 1) * ws : NULL;
        tile(wt, 1, out + r, w + (size_t)r * ws, xt, nb, pf);
    }
}

static FWI_ALWAYS_INLINE void matmul_k(const int wt, float *out, size_t os, const void *wv, size_t ws,
                                       const void *xv, size_t xs, int n, int r0, int r1, int n_tok)
{
    const uint8_t *w = wv, *x = xv;
    const int nb = n / FWI_QK_K;
    for (int r = r0; r < r1; r++) {
        const uint8_t *wr = w + (size_t)r * ws;
        for (int t = 0; t < n_tok; t += MT) {
            const int nt = n_tok - t < MT ? n_tok - t : MT;
            const uint8_t *xt[MT];
            for (int j = 0; j < MT; j++)
                xt[j] = x + (size_t)(t + (j < nt ? j : nt - 1)) * xs;
            float res[MT];
            switch (nt) {
            case 1: tile(wt, 1, res, wr, xt, nb, NULL); break;
            case 2: tile(wt, 2, res, wr, xt, nb, NULL); break;
            case 3: tile(wt, 3, res, wr, xt, nb, NULL); break;
            default: tile(wt, 4, res, wr, xt, nb, NULL); break;
            }
            for (int j = 0; j < nt; j++)
                out[(size_t)(t + j) * os + r] = res[j];
        }
    }
}

#define DEFINE_K(name, wt)                                                              \
    static void KQ_SFX(matvec_##name)(float *out, const void *w, size_t ws, const void *x, \
                                     int n, int r0, int r1)                             \
    {                                                                                   \
        matvec_k(wt, out, w, ws, x, n, r0, r1);                                         \
    }                                                                                   \
    static void KQ_SFX(matmul_##name)(float *out, size_t os, const void *w, size_t ws,   \
                                     const void *x, size_t xs, int n, int r0, int r1,   \
                                     int n_tok)                                         \
    {                                                                                   \
        matmul_k(wt, out, os, w, ws, x, xs, n, r0, r1, n_tok);                          \
    }

DEFINE_K(q4_K, WQ4_K)
DEFINE_K(q5_K, WQ5_K)
DEFINE_K(q6_K, WQ6_K)

