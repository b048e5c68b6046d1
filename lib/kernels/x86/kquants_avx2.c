/*
 * libfwinfer - AVX2 kernels for K-quant weights Q4_K, Q5_K, Q6_K (Q8_K
 * activations) and the Q8_K activation quantisation. Compiled with -mavx2
 * -mfma -mf16c; reached only through the dispatch table.
 *
 * Results are bit-identical to the scalar reference (generic/kquants_c.c):
 * the integer part of every super-block dot is exact (any summation order),
 * and the f32 part is the reference's per-super-block sequence
 *     sumf = sumf + (d * dy) * (float)sumi  [ sumf = sumf - (dmin * dy) * (float)summ ]
 * computed lane-wise (mul, mul, add/sub; no FMA) for four rows at a time.
 *
 * Micro-kernel (tile): 4 weight rows x T tokens (T = 1..4). Per super-block
 * and row the weights are unpacked once (a pair of sub-blocks at a time, in
 * registers) and multiplied with the activations of the T tokens:
 *   Q4_K/Q5_K: maddubs(q, y) (q unsigned <= 31, |pair| <= 2*31*128) ->
 *              int16, madd with the 6-bit sub-block scale -> int32;
 *              mins: madd(m_j, bsums pair sums) -> int32.
 *   Q6_K:      maddubs(q, y) with the unsigned q in [0, 63], madd with the
 *              int8 scale of each 16 elements -> int32, minus
 *              32 * sum_j sc_j * bsums[j] (= the offset of q - 32).
 * The int32 vectors of the 4 rows are reduced together (hadd tree) and the
 * float update is done in the 4 lanes of one __m128. matvec is the T = 1
 * tile with software prefetch of the next row group (spread over the
 * steps of the current one); matmul with fewer than 4 tokens uses tiles of
 * 4 rows x n_tok, with 4 or more tokens the panels further down (8 rows
 * unpacked and transposed once, then 4 tokens at a time; no horizontal
 * sums). Every output element sees the same operations whatever the tile,
 * row range or token count (checkasm checks matmul == matvec bit for bit).
 */
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"

/* ---------------------------------------------------------------------- */
/* Q8_K activation quantisation: bit-exact with quantize_row_q8_K_c */

static void quantize_row_q8_K_avx2(void *dst, const float *x, int n)
{
    fwi_block_q8_K *y = dst;
    const int nb = n / FWI_QK_K;
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));

    for (int b = 0; b < nb; b++) {
        const float *xb = x + (size_t)b * FWI_QK_K;
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < FWI_QK_K; j += 8)
            m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(xb + j), absmask));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        fwi_block_q8_K blk;
        if (!(amax > 0.0f)) {
            memset(&blk, 0, sizeof blk);
            memcpy(&y[b], &blk, sizeof blk);
            continue;
        }
        /* the first element with |x| == amax gives the sign */
        const __m256 av = _mm256_set1_ps(amax);
        float max = amax;
        for (int j = 0; j < FWI_QK_K; j += 8) {
            const __m256 v = _mm256_loadu_ps(xb + j);
            const int mk = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(v, absmask), av, _CMP_EQ_OQ));
            if (mk) {
                max = xb[j + __builtin_ctz((unsigned)mk)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 isv = _mm256_set1_ps(iscale);
        const __m256i c127 = _mm256_set1_epi32(127);
        const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for (int j = 0; j < FWI_QK_K; j += 32) {
            __m256i q[4];
            for (int k = 0; k < 4; k++) {
                const __m256 v = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(xb + j + 8 * k), isv),
                                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                q[k] = _mm256_min_epi32(_mm256_cvttps_epi32(v), c127);
            }
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
            p = _mm256_permutevar8x32_epi32(p, perm);
            _mm256_storeu_si256((__m256i *)(void *)(blk.qs + j), p);
            /* bsums of the two 16-element groups */
            const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), p);   /* pairs, int16 */
            const __m256i s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1));   /* quads, int32 */
            __m128i lo = _mm256_castsi256_si128(s32), hi = _mm256_extracti128_si256(s32, 1);
            lo = _mm_hadd_epi32(lo, hi);   /* [g0a g0b g1a g1b] */
            lo = _mm_hadd_epi32(lo, lo);   /* [g0 g1 ..] */
            blk.bsums[j / 16] = (int16_t)_mm_cvtsi128_si32(lo);
            blk.bsums[j / 16 + 1] = (int16_t)_mm_extract_epi32(lo, 1);
        }
        blk.d = 1.0f / iscale;
        memcpy(&y[b], &blk, sizeof blk);
    }
}

#include "kquants_util.h"

/* One super-block of one row against T tokens (activation blocks yb[j],
 * bsum_pairs bp[j] for Q4_K/Q5_K). vi[j]: int32 x8 whose sum is sumi;
 * vm[j]: int32 x4 whose sum is summ (Q4_K/Q5_K only). */
static FWI_ALWAYS_INLINE void sb_row(const int wt, const int T, const uint8_t *wb,
                                     const uint8_t *const *yb, const __m128i *bp,
                                     __m256i *vi, __m128i *vm)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    if (wt == WQ4_K || wt == WQ5_K) {
        const uint8_t *qs = wb + 16 + (wt == WQ5_K ? 32 : 0);
        const __m128i sm = unpack_scales_mins(wb + 4);
        const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));  /* 8 scales */
        const __m128i mn16 = _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8));            /* 8 mins */
        __m256i qh = _mm256_setzero_si256();
        if (wt == WQ5_K)
            qh = loadu256(wb + 16);
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            vi[j] = _mm256_setzero_si256();
            vm[j] = _mm_madd_epi16(mn16, bp[j]);
        }
        FWI_UNROLL
        for (int c = 0; c < 4; c++) {
            const __m256i raw = loadu256(qs + 32 * c);
            __m256i lo = _mm256_and_si256(raw, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            if (wt == WQ5_K) {
                const __m256i one = _mm256_set1_epi8(1);
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
            }
            const __m256i s0 = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * c))));
            const __m256i s1 = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * c + 1))));
            FWI_UNROLL
            for (int j = 0; j < T; j++) {
                const __m256i p0 = _mm256_maddubs_epi16(lo, loadu256(yb[j] + 4 + 64 * c));
                const __m256i p1 = _mm256_maddubs_epi16(hi, loadu256(yb[j] + 4 + 64 * c + 32));
                vi[j] = _mm256_add_epi32(vi[j], _mm256_add_epi32(_mm256_madd_epi16(p0, s0),
                                                                 _mm256_madd_epi16(p1, s1)));
            }
        }
    } else {
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)(const void *)(wb + 192));
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            /* 32 * sum_j sc_j * bsums[j], subtracted from lane sums */
            const __m256i off = _mm256_madd_epi16(sc16, loadu256(yb[j] + 4 + FWI_QK_K));
            vi[j] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(off, 5));
        }
        FWI_UNROLL
        for (int h = 0; h < 2; h++) {
            const __m256i l0 = loadu256(wb + 64 * h), l1 = loadu256(wb + 64 * h + 32);
            const __m256i hb = loadu256(wb + 128 + 32 * h);
            const __m256i m3 = _mm256_set1_epi8(0x30);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m3));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m3));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, m3));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(hb, 2), m3));
            FWI_UNROLL
            for (int p = 0; p < 4; p++) {
                /* vector p of half h: sub-blocks 8h + 2p (low 128) and 8h + 2p + 1 */
                const int s = 8 * h + 2 * p;
                const __m256i sa = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (s % 8))));
                const __m256i sb = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)(0x0100 + 0x0202 * ((s + 1) % 8))));
                /* (immediates written out: the loop is not unrolled in sanitizer builds) */
                const __m256i scv = s < 8 ? _mm256_permute2x128_si256(sa, sb, 0x20)
                                          : _mm256_permute2x128_si256(sa, sb, 0x31);
                FWI_UNROLL
                for (int j = 0; j < T; j++) {
                    const __m256i pr = _mm256_maddubs_epi16(q[p], loadu256(yb[j] + 4 + 128 * h + 32 * p));
                    vi[j] = _mm256_add_epi32(vi[j], _mm256_madd_epi16(pr, scv));
                }
            }
        }
    }
}

/* Tile: rows wr[0..4) (pointers to their first super-block) x T tokens
 * (activation rows xt[0..T)), nb super-blocks; acc[j]: the 4 row sums of
 * token j. pf/pfe: prefetch range (matvec), advanced per super-block. */
static FWI_ALWAYS_INLINE void tile(const int wt, const int T, __m128 *acc, const uint8_t *const *wr,
                                   const uint8_t *const *xt, int nb, const char *pf, const char *pfe)
{
    const size_t bs = wbs(wt);
    const size_t pfstep = 4 * bs;
    FWI_UNROLL
    for (int j = 0; j < T; j++)
        acc[j] = _mm_setzero_ps();
    for (int b = 0; b < nb; b++) {
        if (pf < pfe) {
            for (size_t o = 0; o < pfstep; o += 64)
                _mm_prefetch(pf + o, _MM_HINT_T0);
            pf += pfstep;
        }
        const uint8_t *yb[4];
        __m128i bp[4];
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            yb[j] = xt[j] + (size_t)b * sizeof(fwi_block_q8_K);
            bp[j] = wt == WQ6_K ? _mm_setzero_si128() : bsum_pairs(yb[j]);
        }
        /* rows in pairs, each pair folded at once (hadd) to keep the live
         * state small: h[p][j] = [row 2p, 2p+1 partial sums of token j] */
        __m256i h[2][4];
        __m128i hm[2][4];
        FWI_UNROLL
        for (int pr = 0; pr < 2; pr++) {
            __m256i va[4], vb[4];
            __m128i ma[4], mb[4];
            sb_row(wt, T, wr[2 * pr] + (size_t)b * bs, yb, bp, va, ma);
            sb_row(wt, T, wr[2 * pr + 1] + (size_t)b * bs, yb, bp, vb, mb);
            FWI_UNROLL
            for (int j = 0; j < T; j++) {
                h[pr][j] = _mm256_hadd_epi32(va[j], vb[j]);
                if (wt != WQ6_K)
                    hm[pr][j] = _mm_hadd_epi32(ma[j], mb[j]);
            }
        }
        /* the row scales d (and dmin), 4 rows */
        const size_t doff = wt == WQ6_K ? 208 : 0;
        const __m128i dh = _mm_setr_epi16((short)load_u16(wr[0] + b * bs + doff), (short)load_u16(wr[1] + b * bs + doff),
                                          (short)load_u16(wr[2] + b * bs + doff), (short)load_u16(wr[3] + b * bs + doff),
                                          (short)load_u16(wr[0] + b * bs + 2), (short)load_u16(wr[1] + b * bs + 2),
                                          (short)load_u16(wr[2] + b * bs + 2), (short)load_u16(wr[3] + b * bs + 2));
        const __m256 df = _mm256_cvtph_ps(dh);
        const __m128 dw = _mm256_castps256_ps128(df), dmw = _mm256_extractf128_ps(df, 1);
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            const __m128 dy = _mm_set1_ps(load_f32(yb[j]));
            const __m256i hh = _mm256_hadd_epi32(h[0][j], h[1][j]);
            const __m128i si = _mm_add_epi32(_mm256_castsi256_si128(hh), _mm256_extracti128_si256(hh, 1));
            acc[j] = _mm_add_ps(acc[j], _mm_mul_ps(_mm_mul_ps(dw, dy), _mm_cvtepi32_ps(si)));
            if (wt != WQ6_K) {
                const __m128i sm = _mm_hadd_epi32(hm[0][j], hm[1][j]);
                acc[j] = _mm_sub_ps(acc[j], _mm_mul_ps(_mm_mul_ps(dmw, dy), _mm_cvtepi32_ps(sm)));
            }
        }
    }
}

static FWI_ALWAYS_INLINE void store4(float *o, __m128 v, int nr)
{
    if (nr == 4) {
        _mm_storeu_ps(o, v);
    } else {
        float buf[4];
        _mm_storeu_ps(buf, v);
        memcpy(o, buf, (size_t)nr * sizeof(float));
    }
}

static FWI_ALWAYS_INLINE void matvec_k(const int wt, float *out, const void *wv, size_t ws,
                                       const void *xv, int n, int r0, int r1)
{
    const uint8_t *w = wv;
    const uint8_t *xt[1] = { xv };
    const int nb = n / FWI_QK_K;
    for (int r = r0; r < r1; r += 4) {
        const int nr = r1 - r < 4 ? r1 - r : 4;
        const uint8_t *wr[4];
        for (int i = 0; i < 4; i++)
            wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws;
        /* prefetch a group of 4 rows at least ~8 KiB ahead (short rows:
         * the next group is too close to hide the memory latency), spread
         * over this group's steps */
        const int lead = 4 * ws >= 8192 ? 4 : 4 * ws >= 4096 ? 8 : 12;
        const char *pf = (const char *)(w + (size_t)(r + lead) * ws);
        const char *pfe = r + lead < r1 ? pf + 4 * ws : pf;
        __m128 acc[1];
        tile(wt, 1, acc, wr, xt, nb, pf, pfe);
        store4(out + r, acc[0], nr);
    }
}

#define MT 4 /* tokens per matmul tile */

static FWI_ALWAYS_INLINE void matmul_k(const int wt, float *out, size_t os, const void *wv, size_t ws,
                                       const void *xv, size_t xs, int n, int r0, int r1, int n_tok)
{
    const uint8_t *w = wv, *x = xv;
    const int nb = n / FWI_QK_K;
    for (int r = r0; r < r1; r += 4) {
        const int nr = r1 - r < 4 ? r1 - r : 4;
        const uint8_t *wr[4];
        for (int i = 0; i < 4; i++)
            wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws;
        for (int t = 0; t < n_tok; t += MT) {
            const int nt = n_tok - t < MT ? n_tok - t : MT;
            const uint8_t *xt[MT];
            for (int j = 0; j < MT; j++)
                xt[j] = x + (size_t)(t + (j < nt ? j : nt - 1)) * xs;
            __m128 acc[MT];
            switch (nt) {
            case 1: tile(wt, 1, acc, wr, xt, nb, NULL, NULL); break;
            case 2: tile(wt, 2, acc, wr, xt, nb, NULL, NULL); break;
            case 3: tile(wt, 3, acc, wr, xt, nb, NULL, NULL); break;
            default: tile(wt, 4, acc, wr, xt, nb, NULL, NULL); break;
            }
            for (int j = 0; j < nt; j++)
                store4(out + (size_t)(t + j) * os + r, acc[j], nr);
        }
    }
}

#define KP_VNNI 0
#include "kpanel_tmpl.h"

#define DEFINE_K(name, wt)                                                              \
    static void matvec_##name##_avx2(float *out, const void *w, size_t ws, const void *x, \
                                     int n, int r0, int r1)                             \
    {                                                                                   \
        matvec_k(wt, out, w, ws, x, n, r0, r1);                                         \
    }                                                                                   \
    static void matmul_##name##_avx2(float *out, size_t os, const void *w, size_t ws,   \
                                     const void *x, size_t xs, int n, int r0, int r1,   \
                                     int n_tok)                                         \
    {                                                                                   \
        if (n_tok < PT)                                                                 \
            matmul_k(wt, out, os, w, ws, x, xs, n, r0, r1, n_tok);                      \
        else                                                                            \
            matmul_panel_k(wt, out, os, w, ws, x, xs, n, r0, r1, n_tok);                \
    }

DEFINE_K(q4_K, WQ4_K)
DEFINE_K(q5_K, WQ5_K)
DEFINE_K(q6_K, WQ6_K)

void fwi_kquants_init_avx2(fwi_kernels *k)
{
    k->quantize_row[FWI_TYPE_Q8_K] = quantize_row_q8_K_avx2;

    k->matvec[FWI_TYPE_Q4_K] = matvec_q4_K_avx2;
    k->matvec[FWI_TYPE_Q5_K] = matvec_q5_K_avx2;
    k->matvec[FWI_TYPE_Q6_K] = matvec_q6_K_avx2;
    k->matmul[FWI_TYPE_Q4_K] = matmul_q4_K_avx2;
    k->matmul[FWI_TYPE_Q5_K] = matmul_q5_K_avx2;
    k->matmul[FWI_TYPE_Q6_K] = matmul_q6_K_avx2;
}
