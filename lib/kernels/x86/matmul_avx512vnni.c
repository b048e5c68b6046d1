/*
 * libfwinfer - Q4_0 / Q8_0 matmul (prompt batches, choices decoding
 * together) with AVX512-VNNI's vpdpbusd on 512-bit vectors of 16 rows.
 * Compiled with -mavx512f -mavx512vl -mavx512bw -mavx512vnni (plus
 * AVX2/FMA/F16C); only reached through the dispatch table after
 * fwi_cpu_detect() reported FWI_ISA_AVX512VNNI. The panel code is
 * qpanel_tmpl.h, shared with matmul_avx2.c; the matvec (decode) further
 * down is its own: the results are bit-identical to the AVX2 kernels.
 */
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"
#include "avx2_util.h"

enum { WQ4_0, WQ8_0 };

#define QP_VNNI 1
#include "qpanel_tmpl.h"

/* ---------------------------------------------------------------------- */
/* 512-bit panels: 16 rows per vector.
 *
 * Two 8-row panels of qpanel_tmpl.h side by side in one zmm per V_g (rows
 * 0..7 in the low half, 8..15 in the high half), so one vpdpbusd does the
 * block dot of 16 rows for a token, and one float step per token updates
 * 16 rows. Lane by lane the integer sums and the float steps are those of
 * the 8-row panel (and of the AVX2 matvec): the results are bit-identical.
 * Row groups of fewer than 16 rows go to the 8-row panel code. */

#define ZT 8 /* tokens per 512-bit tile */

typedef struct zpanel_blk {
    __m512i v[8];    /* V_g of rows 0..15 */
    float d[16];     /* row scales */
} zpanel_blk;

/* blocks [0, nbc) of rows wr[0..16) into Z: per block, M_i = [row i |
 * row i + 8] unpacked (nibbles, or the int8 weights), then the 8x8 dword
 * transpose of build_panel in both 256-bit halves at once */
static void zbuild(const int wt, zpanel_blk *Z, const char *const *wr, int nbc,
                   const char *pf, size_t ws, int npf)
{
    const size_t wbs = wt == WQ4_0 ? sizeof(fwi_block_q4_0) : sizeof(fwi_block_q8_0);
    const __m512i sh = _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4);
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i ilo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i ihi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    for (int b = 0; b < nbc; b++) {
        const size_t wo = (size_t)b * wbs;
        /* the same blocks of the next rows: each line once, spread */
        if (pf)
            for (int i = 0; i < npf; i++) {
                const char *q = pf + (size_t)i * ws + wo;
                if (((uintptr_t)q & 63) < wbs)
                    _mm_prefetch(q, _MM_HINT_T0);
            }
        __m512i M[8], t[8], u[8];
        __m128i dl = _mm_setzero_si128(), dh = _mm_setzero_si128();
        FWI_UNROLL
        for (int i = 0; i < 8; i++) {
            const char *a = wr[i] + wo + 2, *c = wr[i + 8] + wo + 2;
            if (wt == WQ4_0)
                M[i] = _mm512_and_si512(
                    _mm512_srlv_epi64(_mm512_inserti64x4(_mm512_castsi256_si512(bcast128(a)),
                                                         bcast128(c), 1), sh), m4);
            else
                M[i] = _mm512_inserti64x4(
                    _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)a)),
                    _mm256_loadu_si256((const __m256i *)(const void *)c), 1);
        }
        FWI_UNROLL
        for (int i = 0; i < 8; i++) {
            dl = insert16(dl, load_i16(wr[i] + wo), i);
            dh = insert16(dh, load_i16(wr[i + 8] + wo), i);
        }
        _mm512_storeu_ps(Z[b].d, _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(dl), dh, 1)));
        FWI_UNROLL
        for (int k = 0; k < 4; k++) {
            t[2 * k] = _mm512_unpacklo_epi32(M[2 * k], M[2 * k + 1]);
            t[2 * k + 1] = _mm512_unpackhi_epi32(M[2 * k], M[2 * k + 1]);
        }
        FWI_UNROLL
        for (int k = 0; k < 2; k++) {
            u[4 * k + 0] = _mm512_unpacklo_epi64(t[4 * k + 0], t[4 * k + 2]);
            u[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k + 0], t[4 * k + 2]);
            u[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
            u[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
        }
        FWI_UNROLL
        for (int g = 0; g < 4; g++) {
            Z[b].v[g] = _mm512_permutex2var_epi64(u[g], ilo, u[g + 4]);
            Z[b].v[g + 4] = _mm512_permutex2var_epi64(u[g], ihi, u[g + 4]);
        }
    }
}

/* tokens [t, t + nt) (nt <= T; the rest repeat the last, not stored) x
 * the 16 rows [r, r + 16); tables off/dy at [token * ts + block] */
static FWI_ALWAYS_INLINE void ztile(const int wt, const int T, float *out, size_t os,
                                    const zpanel_blk *Z, const char *x, size_t xs,
                                    const int32_t *off, const float *dy, int ts, int b0,
                                    int nbc, int r, int t, int nt, int tt)
{
    const char *xt[ZT];
    __m512 acc[ZT];
    FWI_UNROLL
    for (int j = 0; j < T; j++) {
        const int jj = j < nt ? j : nt - 1;
        xt[j] = x + (size_t)(t + jj) * xs + (size_t)b0 * sizeof(fwi_block_q8_0) + 2;
        acc[j] = b0 == 0 ? _mm512_setzero_ps()
                         : _mm512_loadu_ps(out + (size_t)(t + jj) * os + (size_t)r);
    }
    const __m512i zero = _mm512_setzero_si512();
    for (int b = 0; b < nbc; b++) {
        const zpanel_blk *pb = Z + b;
        __m512i V[8];
        __mmask64 neg[8];
        FWI_UNROLL
        for (int g = 0; g < 8; g++) {
            V[g] = wt == WQ4_0 ? pb->v[g] : _mm512_abs_epi8(pb->v[g]);
            neg[g] = wt == WQ4_0 ? 0 : _mm512_movepi8_mask(pb->v[g]);
        }
        const __m512 dw = _mm512_loadu_ps(pb->d);
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            const char *yb = xt[j] + (size_t)b * sizeof(fwi_block_q8_0);
            const int jt = tt + (j < nt ? j : nt - 1);
            __m512i s0 = wt == WQ4_0 ? _mm512_set1_epi32(-off[jt * ts + b]) : zero;
            __m512i s1 = zero;
            FWI_UNROLL
            for (int g = 0; g < 8; g += 2) {
                __m512i y0 = _mm512_set1_epi32(load_i32(yb + 4 * g));
                __m512i y1 = _mm512_set1_epi32(load_i32(yb + 4 * g + 4));
                if (wt == WQ8_0) { /* y * sign(w), as _mm256_sign_epi8 */
                    y0 = _mm512_mask_sub_epi8(y0, neg[g], zero, y0);
                    y1 = _mm512_mask_sub_epi8(y1, neg[g + 1], zero, y1);
                }
                s0 = _mm512_dpbusd_epi32(s0, V[g], y0);
                s1 = _mm512_dpbusd_epi32(s1, V[g + 1], y1);
            }
            const __m512i si = _mm512_add_epi32(s0, s1);
            const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(dy[jt * ts + b]));
            acc[j] = _mm512_add_ps(acc[j], _mm512_mul_ps(_mm512_cvtepi32_ps(si), d));
        }
    }
    FWI_UNROLL
    for (int j = 0; j < T; j++) {
        if (j >= nt)
            break;
        _mm512_storeu_ps(out + (size_t)(t + j) * os + (size_t)r, acc[j]);
    }
}

/* all tokens of a panel: tiles of 8, a last one of 4 when it will do */
static FWI_ALWAYS_INLINE void ztiles(const int wt, float *out, size_t os, const zpanel_blk *Z,
                                     const char *x, size_t xs, const int32_t *off,
                                     const float *dy, int ts, int b0, int nbc, int r, int t0,
                                     int ntc)
{
    int t = t0;
    for (; t + ZT <= t0 + ntc; t += ZT)
        ztile(wt, ZT, out, os, Z, x, xs, off, dy, ts, b0, nbc, r, t, ZT, t - t0);
    const int left = t0 + ntc - t;
    if (left > 4)
        ztile(wt, ZT, out, os, Z, x, xs, off, dy, ts, b0, nbc, r, t, left, t - t0);
    else if (left > 0)
        ztile(wt, 4, out, os, Z, x, xs, off, dy, ts, b0, nbc, r, t, left, t - t0);
}

static FWI_ALWAYS_INLINE void matmul_z(const int wt, float *out, size_t os, const void *wv,
                                       size_t ws, const void *xv, size_t xs, int n, int r0,
                                       int r1, int n_tok)
{
    const char *w = wv, *x = xv;
    const size_t wbs = wt == WQ4_0 ? sizeof(fwi_block_q4_0) : sizeof(fwi_block_q8_0);
    const int nb = n / 32;
    const int rz = r0 + (r1 - r0) / 16 * 16; /* [r0, rz) in groups of 16 */
    zpanel_blk Z[PB];
    int32_t off[PTC * PB];
    float dy[PTC * PB];
    if (n_tok * nb <= PTC * PB) {
        /* small batch: whole rows per group, the next group prefetched */
        panel_tables(wt, off, dy, nb, x, xs, 0, n_tok, 0, nb);
        for (int r = r0; r < rz; r += 16) {
            const char *wr[16];
            for (int i = 0; i < 16; i++)
                wr[i] = w + (size_t)(r + i) * ws;
            const int pr = r + 16 < r1 ? r + 16 : -1;
            for (int b0 = 0; b0 < nb; b0 += PB) {
                const int nbc = nb - b0 < PB ? nb - b0 : PB;
                const char *wb[16];
                for (int i = 0; i < 16; i++)
                    wb[i] = wr[i] + (size_t)b0 * wbs;
                zbuild(wt, Z, wb, nbc, pr >= 0 ? w + (size_t)pr * ws + (size_t)b0 * wbs : NULL,
                       ws, r1 - pr < 16 ? r1 - pr : 16);
                ztiles(wt, out, os, Z, x, xs, off + b0, dy + b0, nb, b0, nbc, r, 0, n_tok);
            }
        }
    } else {
        for (int b0 = 0; b0 < nb; b0 += PB) {
            const int nbc = nb - b0 < PB ? nb - b0 : PB;
            for (int t0 = 0; t0 < n_tok; t0 += PTC) {
                const int ntc = n_tok - t0 < PTC ? n_tok - t0 : PTC;
                panel_tables(wt, off, dy, PB, x, xs, t0, ntc, b0, nbc);
                for (int r = r0; r < rz; r += 16) {
                    const char *wr[16];
                    for (int i = 0; i < 16; i++)
                        wr[i] = w + (size_t)(r + i) * ws + (size_t)b0 * wbs;
                    zbuild(wt, Z, wr, nbc, NULL, 0, 0);
                    ztiles(wt, out, os, Z, x, xs, off, dy, PB, b0, nbc, r, t0, ntc);
                }
            }
        }
    }
    if (rz < r1)
        matmul_panel(wt, out, os, wv, ws, xv, xs, n, rz, r1, n_tok);
}

/* any token count: a short tile repeats its last token without storing
 * it, so 1..3 tokens work too (same bits as matvec) */
static void matmul_q4_0_vnni(float *out, size_t os, const void *w, size_t ws,
                             const void *x, size_t xs, int n, int r0, int r1, int n_tok)
{
    matmul_z(WQ4_0, out, os, w, ws, x, xs, n, r0, r1, n_tok);
}

static void matmul_q8_0_vnni(float *out, size_t os, const void *w, size_t ws,
                             const void *x, size_t xs, int n, int r0, int r1, int n_tok)
{
    matmul_z(WQ8_0, out, os, w, ws, x, xs, n, r0, r1, n_tok);
}

/* ---------------------------------------------------------------------- */
/* matvec (decode): 512-bit vpdpbusd, 8 rows per group, 16 row-pieces per
 * step (Q4_0: blocks b and b+1 of 8 rows; Q8_0: the two 16-byte halves of
 * block b of 8 rows), bit-identical to matvec_q4_0_avx2 / matvec_q8_0_avx2:
 * per row and block the exact integer dot sumi, then (lane-wise, no FMA)
 *     acc = acc + (float)sumi * (dw * dy)
 * in block order. The integer sums are exact whatever the method:
 *   Q4_0: sum q*y over the unsigned nibbles q (vpdpbusd), minus 8*sum(y);
 *   Q8_0: sum (w + 128)*y (w ^ 0x80 as unsigned, vpdpbusd), minus 128*sum(y);
 * sum(y) per activation block comes from a table built once per call. A
 * zmm holds four 16-byte pieces, two per row ([row a: 2 | row b: 2]); one
 * transposing tree gives the 16 piece sums of a group. */

#define MV_TAB 2048 /* activation blocks per table chunk (16 KiB) */

static FWI_ALWAYS_INLINE __m512i ld4x128(const char *a, const char *b, const char *c, const char *d)
{
    const __m256i lo = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)a)),
        _mm_loadu_si128((const __m128i *)(const void *)b), 1);
    const __m256i hi = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)c)),
        _mm_loadu_si128((const __m128i *)(const void *)d), 1);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* per activation block b0 + i: off[i] = (Q4_0: 8, Q8_0: 128) * sum(y),
 * dy[i] = its scale */
static void mv_tables(const int wt, int32_t *off, float *dy, const char *x, int b0, int nbc)
{
    const __m256i ones = _mm256_set1_epi8(1);
    for (int i = 0; i < nbc; i++) {
        const char *yb = x + (size_t)(b0 + i) * sizeof(fwi_block_q8_0);
        dy[i] = load_f16(yb);
        const __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(yb + 2));
        const __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, y);
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
        off[i] = _mm_cvtsi128_si32(h) * (wt == WQ4_0 ? 8 : 128);
    }
}

/* the 8 row scales (f16 -> f32) of the block at byte offset wo */
static FWI_ALWAYS_INLINE __m256 mv_row_scales(const char *const *wr, size_t wo)
{
    __m128i h = _mm_setzero_si128();
    FWI_UNROLL
    for (int i = 0; i < 8; i++)
        h = insert16(h, load_i16(wr[i] + wo), i);
    return _mm256_cvtph_ps(h);
}

/* one step of a group of 8 rows: Q4_0 blocks b and b + 1 (pair = 0: block
 * b alone, in both places, the second copy dropped); Q8_0 block b */
static FWI_ALWAYS_INLINE __m256 mv_step(const int wt, const int pair, __m256 acc,
                                        const char *const *wr, const char *xc,
                                        const int32_t *off, const float *dyt, int b)
{
    const size_t xo = (size_t)b * sizeof(fwi_block_q8_0);
    __m512i v[4];
    size_t wo;
    if (wt == WQ4_0) {
        const __m512i m4 = _mm512_set1_epi8(0x0f);
        wo = (size_t)b * sizeof(fwi_block_q4_0);
        const size_t wo1 = pair ? wo + sizeof(fwi_block_q4_0) : wo;
        const size_t xo1 = pair ? xo + sizeof(fwi_block_q8_0) : xo;
        /* lanes: [blk b | blk b+1 | blk b | blk b+1] */
        const __m512i ylo = ld4x128(xc + xo + 2, xc + xo1 + 2, xc + xo + 2, xc + xo1 + 2);
        const __m512i yhi = ld4x128(xc + xo + 18, xc + xo1 + 18, xc + xo + 18, xc + xo1 + 18);
        FWI_UNROLL
        for (int p = 0; p < 4; p++) {
            const char *ra = wr[2 * p], *rb = wr[2 * p + 1];
            const __m512i raw = ld4x128(ra + wo + 2, ra + wo1 + 2, rb + wo + 2, rb + wo1 + 2);
            const __m512i lo = _mm512_and_si512(raw, m4);
            const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
            v[p] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, ylo), hi, yhi);
        }
    } else {
        const __m512i bias = _mm512_set1_epi8((char)0x80);
        wo = (size_t)b * sizeof(fwi_block_q8_0);
        /* lanes: [row a: lo16, hi16 | row b: lo16, hi16] of block b */
        const __m512i y = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(const void *)(xc + xo + 2)));
        FWI_UNROLL
        for (int p = 0; p < 4; p++) {
            const __m512i wv = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)(wr[2 * p] + wo + 2))),
                _mm256_loadu_si256((const __m256i *)(const void *)(wr[2 * p + 1] + wo + 2)), 1);
            v[p] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_xor_si512(wv, bias), y);
        }
    }
    /* dword 4k + p of t: the sum of lane k of v[p] (row 2p + k / 2, piece k % 2) */
    const __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]), _mm512_unpackhi_epi32(v[0], v[1]));
    const __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]), _mm512_unpackhi_epi32(v[2], v[3]));
    const __m512i t = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
    /* [piece 0 of rows 0..7 | piece 1 of rows 0..7] */
    const __m512i s = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11,
                                                                 4, 12, 5, 13, 6, 14, 7, 15), t);
    if (wt == WQ4_0) {
        const __m512i o = _mm512_inserti64x4(_mm512_set1_epi32(off[b]),
                                             _mm256_set1_epi32(off[pair ? b + 1 : b]), 1);
        const __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(s, o));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm512_castps512_ps256(f),
                                               _mm256_mul_ps(mv_row_scales(wr, wo), _mm256_set1_ps(dyt[b]))));
        if (pair) {
            const __m256 f1 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1));
            acc = _mm256_add_ps(acc, _mm256_mul_ps(f1, _mm256_mul_ps(mv_row_scales(wr, wo + sizeof(fwi_block_q4_0)),
                                                                     _mm256_set1_ps(dyt[b + 1]))));
        }
    } else {
        const __m256i si = _mm256_sub_epi32(_mm256_add_epi32(_mm512_castsi512_si256(s),
                                                             _mm512_extracti64x4_epi64(s, 1)),
                                            _mm256_set1_epi32(off[b]));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(si),
                                               _mm256_mul_ps(mv_row_scales(wr, wo), _mm256_set1_ps(dyt[b]))));
    }
    return acc;
}

static FWI_ALWAYS_INLINE void matvec_z(const int wt, float *out, const void *wv, size_t ws,
                                       const void *xv, int n, int r0, int r1)
{
    const char *w = wv, *x = xv;
    const int nb = n / FWI_QK8_0;
    const size_t wbs = wt == WQ4_0 ? sizeof(fwi_block_q4_0) : sizeof(fwi_block_q8_0);
    const int bstep = wt == WQ4_0 ? 2 : 1;
    int32_t off[MV_TAB];
    float dyt[MV_TAB];
    for (int b0 = 0; b0 < nb; b0 += MV_TAB) {
        const int nbc = nb - b0 < MV_TAB ? nb - b0 : MV_TAB;
        mv_tables(wt, off, dyt, x, b0, nbc);
        const char *xc = x + (size_t)b0 * sizeof(fwi_block_q8_0);
        for (int r = r0; r < r1; r += 8) {
            const int nr = r1 - r < 8 ? r1 - r : 8;
            const char *wr[8];
            for (int i = 0; i < 8; i++)
                wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws + (size_t)b0 * wbs;
            /* prefetch the group of 8 rows at least 8 KiB ahead (as the
             * AVX2 kernels), spread over this group's steps */
            const size_t gb = 8 * (size_t)nbc * wbs;
            const int lead = gb >= 8192 ? 8 : 8 * (int)((8192 + gb - 1) / gb);
            const char *pf = w + (size_t)(r + lead) * ws + (size_t)b0 * wbs;
            const char *pfe = r + lead < r1 ? pf + gb : pf;
            const size_t pfs = ((8 * (size_t)bstep * wbs + 63) / 64) * 64;
            float buf[8] = { 0 };
            if (b0 > 0)
                memcpy(buf, out + r, (size_t)nr * sizeof(float));
            __m256 acc = _mm256_loadu_ps(buf);
            int b = 0;
            for (; b + bstep <= nbc; b += bstep) {
                if (pf < pfe) {
                    for (size_t o = 0; o < pfs; o += 64)
                        _mm_prefetch(pf + o, _MM_HINT_T0);
                    pf += pfs;
                }
                acc = mv_step(wt, 1, acc, wr, xc, off, dyt, b);
            }
            if (b < nbc)
                acc = mv_step(wt, 0, acc, wr, xc, off, dyt, b);
            _mm256_storeu_ps(buf, acc);
            memcpy(out + r, buf, (size_t)nr * sizeof(float));
        }
    }
}

static void matvec_q4_0_vnni(float *out, const void *w, size_t ws, const void *x, int n,
                             int r0, int r1)
{
    matvec_z(WQ4_0, out, w, ws, x, n, r0, r1);
}

static void matvec_q8_0_vnni(float *out, const void *w, size_t ws, const void *x, int n,
                             int r0, int r1)
{
    matvec_z(WQ8_0, out, w, ws, x, n, r0, r1);
}

void fwi_matmul_init_avx512vnni(fwi_kernels *k)
{
    k->matvec[FWI_TYPE_Q4_0] = matvec_q4_0_vnni;
    k->matvec[FWI_TYPE_Q8_0] = matvec_q8_0_vnni;
    k->matmul[FWI_TYPE_Q4_0] = matmul_q4_0_vnni;
    k->matmul[FWI_TYPE_Q8_0] = matmul_q8_0_vnni;
}
