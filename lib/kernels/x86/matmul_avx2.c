/*
 * libfwinfer - AVX2 + FMA + F16C matvec / matmul / Q8_0 activation
 * quantisation. Compiled with -mavx2 -mfma -mf16c; only reached through the
 * dispatch table after fwi_cpu_detect() reported FWI_ISA_AVX2.
 *
 * Per output element (row r, token t) the operation sequence is fixed:
 *   quantised: per 32-block in order, the exact integer dot, then
 *              acc = acc + (float)sumi * (dw * dx): the scalar reference's
 *              arithmetic, so the results equal matvec_q*_c bit for bit
 *   float:     acc8 = fma(w[i..i+8), x[i..i+8), acc8) for i in steps of 8,
 *              the tail zero-padded to 8, out = hsum8(acc8)
 * The micro-kernels (groups of rows, tiles of rows x tokens) only share
 * loads and unpacking between elements, so any tile shape, row range or
 * token count gives bit-identical results.
 */
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"
#include "avx2_util.h"


static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* ---------------------------------------------------------------------- */
/* Q8_0 activation quantisation, bit-exact with quantize_row_q8_0_c (and with
 * ggml's AVX2 quantize_row_q8_0): d = amax / 127, id = 127 / amax,
 * q = round-half-even(x * id). */

static void quantize_row_q8_0_avx2(void *dst, const float *x, int n)
{
    fwi_block_q8_0 *y = dst;
    for (int b = 0; b < n / FWI_QK8_0; b++) {
        float d;
        (void)q8_block32_avx2(x + (size_t)b * FWI_QK8_0, y[b].qs, &d);
        const fwi_f16 dh = fwi_fp32_to_fp16(d);
        memcpy(&y[b].d, &dh, sizeof dh);
    }
}

/* ---------------------------------------------------------------------- */
/* quantised weights x Q8_0 activations
 *
 * The arithmetic of the scalar reference, lane by lane: for each output
 * (row r, token t) and each 32-block in order
 *     sumi = exact integer dot of the block
 *     acc  = acc + (float)sumi * (dw * dx)        (f32 mul, mul, add; no FMA)
 * so every output is bit-identical to matvec_q*_c / matmul_q*_c, whatever
 * the row range, tile or token count.
 *
 * matvec: eight rows side by side in the eight f32 lanes of one register
 * (a "group"); the integer block sums of the group are reduced from the
 * multiply results by a transposing tree of unpack + add (no hadd: slow on
 * Zen). The weights stay in the file's layout, one stream per row.
 *   Q4_0: maddubs(q, y) with the unsigned nibbles q in [0,15] (no int16
 *   saturation: |pair| <= 2*15*128), summed modulo 2^16 in int16; the
 *   offset 8 * sum(y) of the block is subtracted at the end, where the
 *   true value |sum (q-8) y| <= 32*8*127 fits int16 (activations are in
 *   [-127, 127]). The offsets come from a table built once per call.
 *   Q8_0: maddubs(|w|, sign(y, w)) (|pair| <= 2*128*127), madd to int32,
 *   tree in int32.
 * matmul: panels, see below. */

#define QG_TAB 2048   /* matvec tables: blocks per chunk (12 KiB) */
/* matvec: while a group of 8 rows is computed, its successor is prefetched
 * (spread over the steps): rows are short (1-6 KiB), so 8 hardware streams
 * would restart every group */
#define QG_PF _MM_HINT_T0

enum { WQ4_0, WQ8_0 };

/* matvec: rows ahead of the current group of 8 to prefetch, so that the
 * prefetched group is at least 8 KiB ahead (`gb`: bytes of one group's
 * chunk); the next group when groups are that long */
static inline int qg_lead(size_t gb)
{
    return gb >= 8192 ? 8 : 8 * (int)((8192 + gb - 1) / gb);
}

/* 8 int32 vectors [row a: 4 partial sums | row b: 4], rows (0,1), (2,3),
 * (4,5), (6,7) -> the 8 sums [r0 .. r7] */
static FWI_ALWAYS_INLINE __m256i tree4_i32(__m256i v0, __m256i v1, __m256i v2, __m256i v3)
{
    const __m256i s01 = _mm256_add_epi32(_mm256_unpacklo_epi32(v0, v1),
                                         _mm256_unpackhi_epi32(v0, v1));
    const __m256i s23 = _mm256_add_epi32(_mm256_unpacklo_epi32(v2, v3),
                                         _mm256_unpackhi_epi32(v2, v3));
    /* halves: [r0 r2 r0 r2] [r1 r3 r1 r3], [r4 r6 ..] [r5 r7 ..] */
    const __m256i t = _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23),
                                       _mm256_unpackhi_epi64(s01, s23));
    /* [r0 r2 r4 r6 | r1 r3 r5 r7] */
    return _mm256_permutevar8x32_epi32(t, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static FWI_ALWAYS_INLINE __m256i load2x128(const char *a, const char *b)
{
    return _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)a)),
        _mm_loadu_si128((const __m128i *)(const void *)b), 1);
}

/* per activation block: the offset 8 * sum(y) (Q4_0) and the scale as
 * f32, for blocks [b0, b0 + nbc) of the row x */
static void q_tables(int16_t *tab, float *dyt, const char *x, int b0, int nbc)
{
    const __m256i eight = _mm256_set1_epi8(8), ones = _mm256_set1_epi16(1);
    for (int b = 0; b < nbc; b++) {
        const char *yb = x + (size_t)(b0 + b) * sizeof(fwi_block_q8_0);
        dyt[b] = load_f16(yb);
        if (!tab)
            continue;
        const __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(yb + 2));
        const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(eight, y), ones);
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
        tab[b] = (int16_t)_mm_cvtsi128_si32(h);
    }
}

/* the 8 row scales of block b (row pointers at the first block) */
static FWI_ALWAYS_INLINE __m256 row_scales(const char *const *wr, size_t wo)
{
    __m128i h = _mm_setzero_si128();
    FWI_UNROLL
    for (int i = 0; i < 8; i++)
        h = insert16(h, load_i16(wr[i] + wo), i);
    return _mm256_cvtph_ps(h);
}

/* Q8_0 matvec, group of rows wr[0..8): blocks [0, nbc), acc in/out.
 * A vector holds half-blocks of two rows, [row a | row b]. */
static FWI_ALWAYS_INLINE __m256 q8_mv_group(__m256 acc, const char *const *wr, const char *x,
                                           const float *dyt, int nbc, const char *pf,
                                           const char *pfe)
{
    const __m256i ones = _mm256_set1_epi16(1);
    for (int b = 0; b < nbc; b++) {
        const size_t wo = (size_t)b * sizeof(fwi_block_q8_0);
        if (pf < pfe) { /* the next group, see QG_PF: 5 lines >= 8 x 34 bytes */
            FWI_UNROLL
            for (int j = 0; j < 5; j++)
                _mm_prefetch(pf + 64 * j, QG_PF);
            pf += 320;
        }
        const __m256i yl = bcast128(x + wo + 2), yh = bcast128(x + wo + 18);
        __m256i v[4];
        FWI_UNROLL
        for (int k = 0; k < 4; k++) {
            const char *pa = wr[2 * k] + wo + 2, *pb = wr[2 * k + 1] + wo + 2;
            const __m256i wl = load2x128(pa, pb), wh = load2x128(pa + 16, pb + 16);
            const __m256i pl = _mm256_maddubs_epi16(_mm256_sign_epi8(wl, wl), _mm256_sign_epi8(yl, wl));
            const __m256i ph = _mm256_maddubs_epi16(_mm256_sign_epi8(wh, wh), _mm256_sign_epi8(yh, wh));
            v[k] = _mm256_add_epi32(_mm256_madd_epi16(pl, ones), _mm256_madd_epi16(ph, ones));
        }
        const __m256i si = tree4_i32(v[0], v[1], v[2], v[3]);
        const __m256 d = _mm256_mul_ps(row_scales(wr, wo), _mm256_broadcast_ss(dyt + b));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(si), d));
    }
    return acc;
}

/* Q4_0 matvec: 8 rows, two blocks per step. A vector holds one row's
 * block pair, [blk b | blk b+1], so the loads are plain blends and the
 * tree yields the 16 sums of both blocks at once: [r0..r7 b | r0..r7 b+1].
 * The float update stays per block in order (block b, then b+1). */

/* 32 bytes: lower half from lo[0..16), upper half from hi16[0..16) (the upper
 * half of a 32-byte load at hi16 - 16, which stays inside the row) */
static FWI_ALWAYS_INLINE __m256i blend2x128(const char *lo, const char *hi16)
{
    return _mm256_blend_epi32(_mm256_loadu_si256((const __m256i *)(const void *)lo),
                              _mm256_loadu_si256((const __m256i *)(const void *)(hi16 - 16)), 0xf0);
}

/* m[i] = [row i: 8 int16 partials of blk b | of blk b+1] -> [r0..r7 | r0..r7] (mod 2^16) */
static FWI_ALWAYS_INLINE __m256i tree8_i16(const __m256i *m)
{
    __m256i s[4], u[2];
    FWI_UNROLL
    for (int k = 0; k < 4; k++)
        s[k] = _mm256_add_epi16(_mm256_unpacklo_epi16(m[2 * k], m[2 * k + 1]),
                                _mm256_unpackhi_epi16(m[2 * k], m[2 * k + 1]));
    FWI_UNROLL
    for (int k = 0; k < 2; k++)
        u[k] = _mm256_add_epi16(_mm256_unpacklo_epi32(s[2 * k], s[2 * k + 1]),
                                _mm256_unpackhi_epi32(s[2 * k], s[2 * k + 1]));
    return _mm256_add_epi16(_mm256_unpacklo_epi64(u[0], u[1]), _mm256_unpackhi_epi64(u[0], u[1]));
}

/* one step of group [r, r + 8): pair = 1: blocks b, b + 1; pair = 0: block b
 * alone (both halves of every vector hold block b, the upper is dropped) */
static FWI_ALWAYS_INLINE __m256 q4_mv_step(const int pair, __m256 acc, const char *const *wr,
                                          const char *x, const int16_t *tab,
                                          const float *dyt, int b)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const size_t wo = (size_t)b * sizeof(fwi_block_q4_0), xo = (size_t)b * sizeof(fwi_block_q8_0);
    const __m256i yl = pair ? blend2x128(x + xo + 2, x + xo + 36) : bcast128(x + xo + 2);
    const __m256i yh = pair ? blend2x128(x + xo + 18, x + xo + 52) : bcast128(x + xo + 18);
    __m256i m[8];
    FWI_UNROLL
    for (int i = 0; i < 8; i++) {
        const __m256i v = pair ? blend2x128(wr[i] + wo + 2, wr[i] + wo + 20) : bcast128(wr[i] + wo + 2);
        const __m256i lo = _mm256_and_si256(v, m4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
        m[i] = _mm256_add_epi16(_mm256_maddubs_epi16(lo, yl), _mm256_maddubs_epi16(hi, yh));
    }
    const __m256i s = tree8_i16(m);
    const __m128i s0 = _mm_sub_epi16(_mm256_castsi256_si128(s), _mm_set1_epi16(tab[b]));
    const __m256 f0 = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(s0));
    acc = _mm256_add_ps(acc, _mm256_mul_ps(f0, _mm256_mul_ps(row_scales(wr, wo),
                                                              _mm256_broadcast_ss(dyt + b))));
    if (pair) {
        const __m128i s1 = _mm_sub_epi16(_mm256_extracti128_si256(s, 1), _mm_set1_epi16(tab[b + 1]));
        const __m256 f1 = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(s1));
        const __m256 d1 = _mm256_mul_ps(row_scales(wr, wo + sizeof(fwi_block_q4_0)),
                                        _mm256_broadcast_ss(dyt + b + 1));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(f1, d1));
    }
    return acc;
}

static void matvec_q4_0_avx2(float *out, const void *wv, size_t ws, const void *xv, int n,
                             int r0, int r1)
{
    const char *w = wv, *x = xv;
    const int nb = n / FWI_QK4_0;
    int16_t tab[QG_TAB];
    float dyt[QG_TAB];
    for (int b0 = 0; b0 < nb; b0 += QG_TAB) {
        const int nbc = nb - b0 < QG_TAB ? nb - b0 : QG_TAB;
        const char *xc = x + (size_t)b0 * sizeof(fwi_block_q8_0);
        q_tables(tab, dyt, x, b0, nbc);
        for (int r = r0; r < r1; r += 8) {
            const int nr = r1 - r < 8 ? r1 - r : 8;
            const char *wr[8];
            for (int i = 0; i < 8; i++)
                wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws +
                        (size_t)b0 * sizeof(fwi_block_q4_0);
            /* prefetch the next group's rows, spread over this group's steps */
            const int lead = qg_lead(8 * (size_t)nbc * sizeof(fwi_block_q4_0));
            const char *pf = w + (size_t)(r + lead) * ws + (size_t)b0 * sizeof(fwi_block_q4_0);
            const char *pfe = r + lead < r1 ? pf + (size_t)8 * (size_t)nbc * sizeof(fwi_block_q4_0) : pf;
            __m256 acc;
            if (b0 == 0) {
                acc = _mm256_setzero_ps();
            } else {
                float buf[8] = { 0 };
                memcpy(buf, out + r, (size_t)nr * sizeof(float));
                acc = _mm256_loadu_ps(buf);
            }
            int b = 0;
            for (; b + 2 <= nbc; b += 2) {
                if (pf < pfe) {
                    FWI_UNROLL
                    for (int j = 0; j < 5; j++) /* 5 lines >= 8 rows x 36 bytes */
                        _mm_prefetch(pf + 64 * j, QG_PF);
                    pf += 320;
                }
                acc = q4_mv_step(1, acc, wr, xc, tab, dyt, b);
            }
            if (b < nbc)
                acc = q4_mv_step(0, acc, wr, xc, tab, dyt, b);
            if (nr == 8) {
                _mm256_storeu_ps(out + r, acc);
            } else {
                float buf[8];
                _mm256_storeu_ps(buf, acc);
                memcpy(out + r, buf, (size_t)nr * sizeof(float));
            }
        }
    }
}

#define QP_VNNI 0
#include "qpanel_tmpl.h"


static void matvec_q8_0_avx2(float *out, const void *wv, size_t ws, const void *xv, int n,
                             int r0, int r1)
{
    const char *w = wv, *x = xv;
    const int nb = n / FWI_QK8_0;
    const size_t wbs = sizeof(fwi_block_q8_0);
    float dyt[QG_TAB];
    for (int b0 = 0; b0 < nb; b0 += QG_TAB) {
        const int nbc = nb - b0 < QG_TAB ? nb - b0 : QG_TAB;
        q_tables(NULL, dyt, x, b0, nbc);
        for (int r = r0; r < r1; r += 8) {
            const int nr = r1 - r < 8 ? r1 - r : 8;
            const char *wr[8];
            for (int i = 0; i < 8; i++)
                wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws + (size_t)b0 * wbs;
            const int lead = qg_lead(8 * (size_t)nbc * wbs);
            const char *pf = w + (size_t)(r + lead) * ws + (size_t)b0 * wbs;
            const char *pfe = r + lead < r1 ? pf + (size_t)8 * (size_t)nbc * wbs : pf;
            float buf[8] = { 0 };
            if (b0 > 0)
                memcpy(buf, out + r, (size_t)nr * sizeof(float));
            const __m256 acc = q8_mv_group(_mm256_loadu_ps(buf), wr,
                                           x + (size_t)b0 * sizeof(fwi_block_q8_0), dyt, nbc,
                                           pf, pfe);
            _mm256_storeu_ps(buf, acc);
            memcpy(out + r, buf, (size_t)nr * sizeof(float));
        }
    }
}

/* fewer tokens than a panel tile: one matvec per token (the same bits) */
#define DEFINE_Q_MATMUL(name, wt)                                                \
    static void matmul_##name##_avx2(float *out, size_t os, const void *w,       \
                                     size_t ws, const void *x, size_t xs,        \
                                     int n, int r0, int r1, int n_tok)           \
    {                                                                            \
        if (n_tok < PT) {                                                        \
            for (int t = 0; t < n_tok; t++)                                      \
                matvec_##name##_avx2(out + (size_t)t * os, w, ws,                \
                                     (const char *)x + (size_t)t * xs, n, r0, r1); \
            return;                                                              \
        }                                                                        \
        matmul_panel(wt, out, os, w, ws, x, xs, n, r0, r1, n_tok);               \
    }

DEFINE_Q_MATMUL(q4_0, WQ4_0)
DEFINE_Q_MATMUL(q8_0, WQ8_0)

/* ---------------------------------------------------------------------- */
/* float weights (f32 / f16 / bf16) x f32 activations */

enum { WF32, WF16, WBF16 };

#define MAXR 4
#ifndef FPF_LEAD
#define FPF_LEAD 8192
#endif
#define MAXT 4

static FWI_ALWAYS_INLINE __m256 load_w8(const int wt, const char *p)
{
    if (wt == WF32)
        return _mm256_loadu_ps((const float *)(const void *)p);
    const __m128i h = _mm_loadu_si128((const __m128i *)(const void *)p);
    if (wt == WF16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static FWI_ALWAYS_INLINE void
tile_f(const int wt, const int R, const int T, const int pf,
       float *out, size_t os, const char *w, size_t ws,
       const char *x, size_t xs, int n, int r, int t)
{
    const size_t es = wt == WF32 ? 4 : 2;
    const char *wr[MAXR];
    /* matvec prefetch (pf == 1: a next group of R rows exists): prefetch
     * the group at least 8 KiB ahead (the next one when groups are that
     * long), spread over the steps (the hardware streams would restart
     * every group; for long rows this also beat prefetching 512 bytes
     * ahead in each row: TinyLlama F16 decode +10 %) */
    const size_t gb = (size_t)R * ws; /* bytes per group */
    const char *pfp = w + (size_t)(r + R) * ws + (gb < FPF_LEAD ? (FPF_LEAD / gb) * gb : 0);
    const float *xt[MAXT];
    __m256 acc[MAXR][MAXT];

    FWI_UNROLL
    for (int i = 0; i < R; i++)
        wr[i] = w + (size_t)(r + i) * ws;
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        xt[j] = (const float *)(const void *)(x + (size_t)(t + j) * xs);
    FWI_UNROLL
    for (int i = 0; i < R; i++) {
        FWI_UNROLL
        for (int j = 0; j < T; j++)
            acc[i][j] = _mm256_setzero_ps();
    }

    /* weights of the R rows in registers, one activation vector at a time:
     * R + 1 + R*T live vectors (<= 16 for 3x4) */
    int k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 wv[MAXR];
        if (pf == 1) {
            FWI_UNROLL
            for (int j = 0; j < (R * 8 * (int)es + 63) / 64; j++)
                _mm_prefetch(pfp + 64 * j, _MM_HINT_T0);
            pfp += 64 * ((R * 8 * es + 63) / 64);
        }
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            wv[i] = load_w8(wt, wr[i] + (size_t)k * es);
        }
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            const __m256 xv = _mm256_loadu_ps(xt[j] + k);
            FWI_UNROLL
            for (int i = 0; i < R; i++)
                acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    if (k < n) { /* zero-padded tail: same fma as a full step */
        const size_t rem = (size_t)(n - k);
        __m256 xv[MAXT];
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            float buf[8] = { 0 };
            memcpy(buf, xt[j] + k, rem * sizeof(float));
            xv[j] = _mm256_loadu_ps(buf);
        }
        FWI_UNROLL
        for (int i = 0; i < R; i++) {
            char buf[32] = { 0 };
            memcpy(buf, wr[i] + (size_t)k * es, rem * es);
            const __m256 wv = load_w8(wt, buf);
            FWI_UNROLL
            for (int j = 0; j < T; j++)
                acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }

    FWI_UNROLL
    for (int i = 0; i < R; i++) {
        FWI_UNROLL
        for (int j = 0; j < T; j++)
            out[(size_t)(t + j) * os + (size_t)(r + i)] = hsum8(acc[i][j]);
    }
}

/* ---------------------------------------------------------------------- */
/* drivers */

#define MV_R 4 /* rows per matvec pass */

/* matmul tile shapes (rows x tokens), <= MAXR x MAXT (= 4 x 4) */
#ifndef FR
#define FR 3
#endif
#ifndef FT
#define FT 4
#endif

/* call fn with a tile of exactly rr x tt (1..4 each; compile-time shapes) */
#define TILE_CASE(fn, wt, rr, tt) \
    case (rr) * 8 + (tt): fn(wt, rr, tt, 0, out, os, w, ws, x, xs, nk, r, t); break;
#define TILE_ANY(fn, wt, rr, tt)                                                 \
    switch ((rr) * 8 + (tt)) {                                                   \
        TILE_CASE(fn, wt, 1, 1) TILE_CASE(fn, wt, 1, 2) TILE_CASE(fn, wt, 1, 3)  \
        TILE_CASE(fn, wt, 1, 4) TILE_CASE(fn, wt, 2, 1) TILE_CASE(fn, wt, 2, 2)  \
        TILE_CASE(fn, wt, 2, 3) TILE_CASE(fn, wt, 2, 4) TILE_CASE(fn, wt, 3, 1)  \
        TILE_CASE(fn, wt, 3, 2) TILE_CASE(fn, wt, 3, 3) TILE_CASE(fn, wt, 3, 4)  \
        TILE_CASE(fn, wt, 4, 1) TILE_CASE(fn, wt, 4, 2) TILE_CASE(fn, wt, 4, 3)  \
        TILE_CASE(fn, wt, 4, 4)                                                  \
    default: break;                                                              \
    }

#define DEFINE_DRIVERS(name, fn, wt, NK, MR, MT)                                 \
    static void matvec_##name##_avx2(float *out, const void *wv, size_t ws,      \
                                     const void *xv, int n, int r0, int r1)      \
    {                                                                            \
        const char *w = wv, *x = xv;                                             \
        const size_t os = 0, xs = 0;                                             \
        const int nk = (NK), t = 0;                                              \
        int r = r0;                                                              \
        for (; r + MV_R <= r1; r += MV_R)                                        \
            fn(wt, MV_R, 1, r + 2 * MV_R <= r1, out, os, w, ws, x, xs, nk, r, t);   \
        for (; r < r1; r++)                                                      \
            fn(wt, 1, 1, 1, out, os, w, ws, x, xs, nk, r, t);                    \
    }                                                                            \
    static void matmul_##name##_avx2(float *out, size_t os, const void *wv,      \
                                     size_t ws, const void *xv, size_t xs,       \
                                     int n, int r0, int r1, int n_tok)           \
    {                                                                            \
        const char *w = wv, *x = xv;                                             \
        const int nk = (NK);                                                     \
        for (int r = r0; r < r1; r += (MR)) {                                    \
            const int rr = r1 - r < (MR) ? r1 - r : (MR);                        \
            for (int t = 0; t < n_tok; t += (MT)) {                              \
                const int tt = n_tok - t < (MT) ? n_tok - t : (MT);              \
                if (rr == (MR) && tt == (MT))                                    \
                    fn(wt, MR, MT, 0, out, os, w, ws, x, xs, nk, r, t);          \
                else                                                             \
                    TILE_ANY(fn, wt, rr, tt)                                     \
            }                                                                    \
        }                                                                        \
    }

DEFINE_DRIVERS(f32, tile_f, WF32, n, FR, FT)
DEFINE_DRIVERS(f16, tile_f, WF16, n, FR, FT)
DEFINE_DRIVERS(bf16, tile_f, WBF16, n, FR, FT)

void fwi_matmul_init_avx2(fwi_kernels *k)
{
    k->quantize_row[FWI_TYPE_Q8_0] = quantize_row_q8_0_avx2;

    k->matvec[FWI_TYPE_F32] = matvec_f32_avx2;
    k->matvec[FWI_TYPE_F16] = matvec_f16_avx2;
    k->matvec[FWI_TYPE_BF16] = matvec_bf16_avx2;
    k->matvec[FWI_TYPE_Q4_0] = matvec_q4_0_avx2;
    k->matvec[FWI_TYPE_Q8_0] = matvec_q8_0_avx2;

    k->matmul[FWI_TYPE_F32] = matmul_f32_avx2;
    k->matmul[FWI_TYPE_F16] = matmul_f16_avx2;
    k->matmul[FWI_TYPE_BF16] = matmul_bf16_avx2;
    k->matmul[FWI_TYPE_Q4_0] = matmul_q4_0_avx2;
    k->matmul[FWI_TYPE_Q8_0] = matmul_q8_0_avx2;
}
