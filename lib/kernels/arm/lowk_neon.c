/*
 * libfwinfer - AArch64 ASIMD kernels for the K-quant weights Q2_K and Q3_K
 * (Q8_K activations). Baseline AArch64 (used at the NEON and dotprod
 * levels).
 *
 * Bit-identical to the scalar references in generic/lowk_c.c (ggml's x86
 * AVX2 dots): per output element eight f32 lane accumulators (two
 * float32x4: lanes 0..3, 4..7); lane L of a super-block holds the exact
 * integer sum over the elements at positions 4L..4L+3 of every 32-group,
 * each times its sub-block scale:
 *   Q2_K: acc = fma((float)(m * bsums, pairwise), -(dy * dmin), acc)
 *         acc = fma((float)sumi, dy * d, acc)
 *   Q3_K: acc = fma((float)sumi, dy * d, acc)
 * per super-block in order; out = ((acc0 + acc4) + (acc2 + acc6)) +
 * ((acc1 + acc5) + (acc3 + acc7)) as ggml's hsum_float_8.
 *
 * A row's super-block is unpacked once per tile to signed int8 quants
 * (Q2_K: [0, 3]; Q3_K: [-4, 3]); the group sums are widening multiplies
 * (int16, exact for any int8 activation) reduced by pairwise widening adds
 * to groups of 4, times the int scale, accumulated in int32.
 * Tiles: matvec 4 rows x 1 token, matmul 4 x 2. Row / token tails repeat the
 * last valid row / token and store only valid elements: results never
 * depend on the tile, the row range or the token count.
 */
#include <arm_neon.h>
#include <string.h>

#include "../kernels.h"

enum { LK2, LK3 };

#define WBS(wt) ((wt) == LK2 ? sizeof(fwi_block_q2_K) : sizeof(fwi_block_q3_K))
#define XBS sizeof(fwi_block_q8_K) /* d (f32) at 0, qs at 4, bsums at 260 */

static inline float ld_f16(const void *p)
{
    float16_t h;
    memcpy(&h, p, sizeof h);
    return (float)h;
}

static inline float ld_f32(const void *p)
{
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}

typedef struct lk_row {
    int8x16_t v[16];  /* [2g + half]: group g = 4h + p, bytes 0..15 / 16..31 */
    int32_t sc[16];   /* sub-block scales (Q2_K: low nibbles) */
    int16x8_t m0, m1; /* Q2_K: the 16 mins */
    float d, dmin;
} lk_row;

static FWI_ALWAYS_INLINE void unpack_row(const int wt, lk_row *u, const char *wb)
{
    const uint8_t *b = (const uint8_t *)(const void *)wb;
    const uint8x16_t m3 = vdupq_n_u8(3);
    if (wt == LK2) {
        const uint8x16_t s = vld1q_u8(b + offsetof(fwi_block_q2_K, scales));
        const uint8x16_t mins = vshrq_n_u8(s, 4);
        u->m0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mins)));
        u->m1 = vreinterpretq_s16_u16(vmovl_high_u8(mins));
        for (int j = 0; j < 16; j++)
            u->sc[j] = b[offsetof(fwi_block_q2_K, scales) + (size_t)j] & 15;
        u->d = ld_f16(b + offsetof(fwi_block_q2_K, d));
        u->dmin = ld_f16(b + offsetof(fwi_block_q2_K, dmin));
    } else {
        for (int j = 0; j < 16; j++)
            u->sc[j] = fwi_q3k_scale(j, b + offsetof(fwi_block_q3_K, scales));
        u->d = ld_f16(b + offsetof(fwi_block_q3_K, d));
        u->dmin = 0.0f;
    }
    const size_t qs = wt == LK2 ? offsetof(fwi_block_q2_K, qs) : offsetof(fwi_block_q3_K, qs);
    uint8x16_t hm[2] = { vdupq_n_u8(0), vdupq_n_u8(0) };
    if (wt == LK3) {
        hm[0] = vld1q_u8(b + offsetof(fwi_block_q3_K, hmask));
        hm[1] = vld1q_u8(b + offsetof(fwi_block_q3_K, hmask) + 16);
    }
    FWI_UNROLL
    for (int h = 0; h < 2; h++) {
        FWI_UNROLL
        for (int half = 0; half < 2; half++) {
            const uint8x16_t bits = vld1q_u8(b + qs + 32 * (size_t)h + 16 * (size_t)half);
            FWI_UNROLL
            for (int p = 0; p < 4; p++) {
                /* variable shifts: vshlq with a negative count shifts right */
                uint8x16_t q = vandq_u8(vshlq_u8(bits, vdupq_n_s8((int8_t)(-2 * p))), m3);
                int8x16_t v = vreinterpretq_s8_u8(q);
                if (wt == LK3) {
                    const uint8x16_t set = vtstq_u8(hm[half], vdupq_n_u8((uint8_t)(1u << (4 * h + p))));
                    /* minus 4 where the 3rd bit is clear */
                    v = vsubq_s8(v, vreinterpretq_s8_u8(vbicq_u8(vdupq_n_u8(4), set)));
                }
                u->v[2 * (4 * h + p) + half] = v;
            }
        }
    }
}

/* the 4 group sums (positions 4L..4L+3) of 16 weight / activation bytes */
static FWI_ALWAYS_INLINE int32x4_t sums4(int8x16_t w, int8x16_t y)
{
    const int32x4_t a = vpaddlq_s16(vmull_s8(vget_low_s8(w), vget_low_s8(y)));
    const int32x4_t c = vpaddlq_s16(vmull_high_s8(w, y));
    return vpaddq_s32(a, c);
}

static FWI_ALWAYS_INLINE void elem_block(const int wt, float32x4_t *acc0, float32x4_t *acc1,
                                         const lk_row *u, const char *xb)
{
    const uint8_t *x = (const uint8_t *)(const void *)xb;
    const float dy = ld_f32(x);
    if (wt == LK2) {
        const int16x8_t b0 = vreinterpretq_s16_u8(vld1q_u8(x + 260));
        const int16x8_t b1 = vreinterpretq_s16_u8(vld1q_u8(x + 276));
        const int32x4_t p0 = vpaddq_s32(vmull_s16(vget_low_s16(u->m0), vget_low_s16(b0)),
                                        vmull_high_s16(u->m0, b0));
        const int32x4_t p1 = vpaddq_s32(vmull_s16(vget_low_s16(u->m1), vget_low_s16(b1)),
                                        vmull_high_s16(u->m1, b1));
        const float dmin = -(dy * u->dmin);
        *acc0 = vfmaq_n_f32(*acc0, vcvtq_f32_s32(p0), dmin);
        *acc1 = vfmaq_n_f32(*acc1, vcvtq_f32_s32(p1), dmin);
    }
    int32x4_t s0 = vdupq_n_s32(0), s1 = vdupq_n_s32(0);
    FWI_UNROLL
    for (int g = 0; g < 8; g++) {
        const int8x16_t ylo = vld1q_s8((const int8_t *)(const void *)(x + 4 + 32 * g));
        const int8x16_t yhi = vld1q_s8((const int8_t *)(const void *)(x + 20 + 32 * g));
        /* group g = 4h + p: sub-blocks 8h + 2p (bytes 0..15), + 1 (16..31) = 2g, 2g + 1 */
        s0 = vmlaq_n_s32(s0, sums4(u->v[2 * g], ylo), u->sc[2 * g]);
        s1 = vmlaq_n_s32(s1, sums4(u->v[2 * g + 1], yhi), u->sc[2 * g + 1]);
    }
    const float d = dy * u->d;
    *acc0 = vfmaq_n_f32(*acc0, vcvtq_f32_s32(s0), d);
    *acc1 = vfmaq_n_f32(*acc1, vcvtq_f32_s32(s1), d);
}

#define LMAXR 4
#define LMAXT 2
#define LMAXP (LMAXR * LMAXT)
#define PF_DIST 1024

static FWI_ALWAYS_INLINE void tile(const int wt, const int R, const int T, const int pf,
                                   float *out, size_t os, const char *w, size_t ws,
                                   const char *x, size_t xs, int nb,
                                   int r, int nr, int t, int nt)
{
    const int P = R * T;
    const char *wr[LMAXR], *xt[LMAXT];
    float32x4_t acc0[LMAXP], acc1[LMAXP];
    FWI_UNROLL
    for (int i = 0; i < R; i++)
        wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws;
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        xt[j] = x + (size_t)(t + (j < nt ? j : nt - 1)) * xs;
    FWI_UNROLL
    for (int p = 0; p < P; p++) {
        acc0[p] = vdupq_n_f32(0.0f);
        acc1[p] = vdupq_n_f32(0.0f);
    }

    for (int b = 0; b < nb; b++) {
        const size_t wo = (size_t)b * WBS(wt), xo = (size_t)b * XBS;
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            const char *wb = wr[i] + wo;
            if (pf) {
                FWI_PREFETCH(wb + PF_DIST);
                FWI_PREFETCH(wb + PF_DIST + 64);
            }
            lk_row u;
            unpack_row(wt, &u, wb);
            FWI_UNROLL
            for (int j = 0; j < T; j++)
                elem_block(wt, &acc0[j * R + i], &acc1[j * R + i], &u, xt[j] + xo);
        }
    }

    FWI_UNROLL
    for (int p = 0; p < P; p++) {
        const int i = p % R, j = p / R;
        if (i < nr && j < nt) {
            const float32x4_t rr = vaddq_f32(acc0[p], acc1[p]);                  /* r_i */
            const float32x2_t u = vadd_f32(vget_low_f32(rr), vget_high_f32(rr)); /* u0, u1 */
            out[(size_t)(t + j) * os + (size_t)(r + i)] = vget_lane_f32(u, 0) + vget_lane_f32(u, 1);
        }
    }
}

#define MV_R 4
#define MM_R 4
#define MM_T 2

#define DEFINE_LOWK(name, wt)                                                    \
    static void matvec_##name##_neon(float *out, const void *w, size_t ws,       \
                                     const void *x, int n, int r0, int r1)       \
    {                                                                            \
        const int nb = n / FWI_QK_K;                                             \
        for (int r = r0; r < r1; r += MV_R) {                                    \
            const int nr = r1 - r < MV_R ? r1 - r : MV_R;                        \
            tile(wt, MV_R, 1, 1, out, 0, (const char *)w, ws, (const char *)x, 0, \
                 nb, r, nr, 0, 1);                                               \
        }                                                                        \
    }                                                                            \
    static void matmul_##name##_neon(float *out, size_t os, const void *w,       \
                                     size_t ws, const void *x, size_t xs,        \
                                     int n, int r0, int r1, int n_tok)           \
    {                                                                            \
        const int nb = n / FWI_QK_K;                                             \
        for (int r = r0; r < r1; r += MM_R) {                                    \
            const int nr = r1 - r < MM_R ? r1 - r : MM_R;                        \
            int t = 0;                                                           \
            for (; t + MM_T <= n_tok; t += MM_T)                                 \
                tile(wt, MM_R, MM_T, 0, out, os, (const char *)w, ws,            \
                     (const char *)x, xs, nb, r, nr, t, MM_T);                   \
            if (t < n_tok)                                                       \
                tile(wt, MM_R, 1, 0, out, os, (const char *)w, ws,               \
                     (const char *)x, xs, nb, r, nr, t, 1);                      \
        }                                                                        \
    }

DEFINE_LOWK(q2_K, LK2)
DEFINE_LOWK(q3_K, LK3)

void fwi_lowk_init_neon(fwi_kernels *k)
{
    k->matvec[FWI_TYPE_Q2_K] = matvec_q2_K_neon;
    k->matvec[FWI_TYPE_Q3_K] = matvec_q3_K_neon;
    k->matmul[FWI_TYPE_Q2_K] = matmul_q2_K_neon;
    k->matmul[FWI_TYPE_Q3_K] = matmul_q3_K_neon;
}
