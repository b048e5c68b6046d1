/*
 * qpanel_tmpl.h - the Q4_0 / Q8_0 panel matmul, included by matmul_avx2.c
 * (QP_VNNI 0: maddubs + madd) and matmul_avx512vnni.c (QP_VNNI 1: the
 * 256-bit vpdpbusd of AVX512-VNNI + VL). Both compute the same exact
 * integer block dots and the same float steps, so their results are
 * bit-identical to each other and to the AVX2 matvec. The includer defines
 * enum { WQ4_0, WQ8_0 } and includes avx2_util.h first.
 */
#ifndef QP_VNNI
#error "define QP_VNNI (0 or 1) before including qpanel_tmpl.h"
#endif

/* ---------------------------------------------------------------------- */
/* Q4_0 / Q8_0 matmul (a batch of tokens): panels.
 *
 * Eight weight rows are unpacked once into a small panel, in the layout of
 * ggml's interleaved ("repacked") matrices, but only for PB blocks at a time
 * on the stack: per block, the 8 row scales (f32) and 8 vectors V_g, where
 * V_g holds elements 4g..4g+3 of rows 0..7 (4 bytes per row). Then for each
 * token, a block is 8 maddubs of V_g with the broadcast activation bytes
 * 4g..4g+3: lane i of the int32 result is the integer dot of row i, no
 * horizontal sums at all. The panel is reused by every token of the batch.
 *   Q4_0: V_g holds the unsigned nibbles; the 8 products per lane pair sum
 *         in int16 (|.| <= 8 * 2*15*127), madd to int32, minus 8*sum(y).
 *   Q8_0: V_g holds the int8 weights: maddubs(|V_g|, sign(y, V_g)), madd to
 *         int32 per g.
 * Then acc += (float)sum * (dw * dy) per block, as everywhere. */
#define PB 16     /* blocks per panel (4.5 KiB) */
#define PT 4      /* tokens per tile */
#define PTC 128   /* tokens per table chunk (16 KiB of tables) */

typedef struct qpanel_blk {
    float d[8];      /* row scales */
    __m256i v[8];    /* V_g */
} qpanel_blk;

/* panel blocks [0, nbc) of rows wr[0..8) (pointers at the first block) */
static void build_panel(const int wt, qpanel_blk *P, const char *const *wr, int nbc)
{
    const size_t wbs = wt == WQ4_0 ? sizeof(fwi_block_q4_0) : sizeof(fwi_block_q8_0);
    for (int b = 0; b < nbc; b++) {
        const size_t wo = (size_t)b * wbs;
        __m256i D[8];
        __m128i dh = _mm_setzero_si128();
        FWI_UNROLL
        for (int i = 0; i < 8; i++) {
            dh = insert16(dh, load_i16(wr[i] + wo), i);
            if (wt == WQ4_0)
                D[i] = _mm256_and_si256(_mm256_srlv_epi64(bcast128(wr[i] + wo + 2), _mm256_setr_epi64x(0, 0, 4, 4)),
                                        _mm256_set1_epi8(0x0f));
            else
                D[i] = _mm256_loadu_si256((const __m256i *)(const void *)(wr[i] + wo + 2));
        }
        transpose8x32(D);
        _mm256_storeu_ps(P[b].d, _mm256_cvtph_ps(dh));
        FWI_UNROLL
        for (int g = 0; g < 8; g++)
            P[b].v[g] = D[g];
    }
}

/* per token and block: off = 8 * sum(y) (Q4_0) and dy as f32,
 * [t * ts + b] for tokens [t0, t0 + tc) and blocks [b0, b0 + nbc) */
static void panel_tables(const int wt, int32_t *off, float *dy, int ts, const char *x, size_t xs, int t0, int tc, int b0, int nbc)
{
    const __m256i eight = _mm256_set1_epi8(8), ones = _mm256_set1_epi16(1);
    for (int t = 0; t < tc; t++) {
        const char *xt = x + (size_t)(t0 + t) * xs + (size_t)b0 * sizeof(fwi_block_q8_0);
        for (int b = 0; b < nbc; b++) {
            const char *yb = xt + (size_t)b * sizeof(fwi_block_q8_0);
            dy[t * ts + b] = load_f16(yb);
            if (wt == WQ4_0) {
                const __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(yb + 2));
                const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(eight, y), ones);
                __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
                h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
                h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
                off[t * ts + b] = _mm_cvtsi128_si32(h);
            }
        }
    }
}

/* tokens [t, t + nt) (nt <= T; the rest repeat the last, not stored) x
 * rows [r, r + nr) of the panel; acc starts from out unless b0 == 0 */
static FWI_ALWAYS_INLINE void panel_tile(const int wt, const int T, float *out, size_t os, const qpanel_blk *P,
                                         const char *x, size_t xs, const int32_t *off, const float *dy,
                                         int ts, int b0, int nbc, int r, int nr, int t, int nt, int tt)
{
    const char *xt[PT];
    __m256 acc[PT];
    FWI_UNROLL
    for (int j = 0; j < T; j++) {
        const int jj = j < nt ? j : nt - 1;
        xt[j] = x + (size_t)(t + jj) * xs + (size_t)b0 * sizeof(fwi_block_q8_0) + 2;
        if (b0 == 0) {
            acc[j] = _mm256_setzero_ps();
        } else if (nr == 8) {
            acc[j] = _mm256_loadu_ps(out + (size_t)(t + jj) * os + (size_t)r);
        } else {
            float buf[8] = {0};
            memcpy(buf, out + (size_t)(t + jj) * os + (size_t)r, (size_t)nr * sizeof(float));
            acc[j] = _mm256_loadu_ps(buf);
        }
    }
#if !QP_VNNI
    const __m256i ones = _mm256_set1_epi16(1);
#endif
    for (int b = 0; b < nbc; b++) {
        const qpanel_blk *pb = P + b;
        __m256i V[8];
        FWI_UNROLL
        for (int g = 0; g < 8; g++)
            V[g] = wt == WQ4_0 ? pb->v[g] : _mm256_sign_epi8(pb->v[g], pb->v[g]);
        const __m256 dw = _mm256_loadu_ps(pb->d);
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            const char *yb = xt[j] + (size_t)b * sizeof(fwi_block_q8_0);
            const int jt = tt + (j < nt ? j : nt - 1);
            __m256i si;
#if QP_VNNI
            /* vpdpbusd: 4 u8 x s8 products summed into each int32 lane
             * (exact); two chains for latency */
            __m256i s0 = wt == WQ4_0 ? _mm256_set1_epi32(-off[jt * ts + b]) : _mm256_setzero_si256();
            __m256i s1 = _mm256_setzero_si256();
            FWI_UNROLL
            for (int g = 0; g < 8; g += 2) {
                __m256i y0 = _mm256_set1_epi32(load_i32(yb + 4 * g));
                __m256i y1 = _mm256_set1_epi32(load_i32(yb + 4 * g + 4));
                if (wt == WQ8_0) {
                    y0 = _mm256_sign_epi8(y0, pb->v[g]);
                    y1 = _mm256_sign_epi8(y1, pb->v[g + 1]);
                }
                s0 = _mm256_dpbusd_epi32(s0, V[g], y0);
                s1 = _mm256_dpbusd_epi32(s1, V[g + 1], y1);
            }
            si = _mm256_add_epi32(s0, s1);
#else
            if (wt == WQ4_0) {
                __m256i s16 = _mm256_maddubs_epi16(V[0], _mm256_set1_epi32(load_i32(yb)));
                FWI_UNROLL
                for (int g = 1; g < 8; g++)
                    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(V[g], _mm256_set1_epi32(load_i32(yb + 4 * g))));
                si = _mm256_sub_epi32(_mm256_madd_epi16(s16, ones), _mm256_set1_epi32(off[jt * ts + b]));
            } else {
                si = _mm256_setzero_si256();
                FWI_UNROLL
                for (int g = 0; g < 8; g++) {
                    const __m256i p = _mm256_maddubs_epi16(V[g], _mm256_sign_epi8(_mm256_set1_epi32(load_i32(yb + 4 * g)), pb->v[g]));
                    si = _mm256_add_epi32(si, _mm256_madd_epi16(p, ones));
                }
            }
#endif
            const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(dy[jt * ts + b]));
            acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(_mm256_cvtepi32_ps(si), d));
        }
    }
    FWI_UNROLL
    for (int j = 0; j < T; j++) {
        if (j >= nt)
            break;
        if (nr == 8) {
            _mm256_storeu_ps(out + (size_t)(t + j) * os + (size_t)r, acc[j]);
        } else {
            float buf[8];
            _mm256_storeu_ps(buf, acc[j]);
            memcpy(out + (size_t)(t + j) * os + (size_t)r, buf, (size_t)nr * sizeof(float));
        }
    }
}

/* rows [r0, r1), all tokens; panels of PB blocks (acc kept in out between) */
static FWI_ALWAYS_INLINE void matmul_panel(const int wt, float *out, size_t os, const void *wv, size_t ws,
                                           const void *xv, size_t xs, int n, int r0, int r1, int n_tok)
{
    const char *w = wv, *x = xv;
    const size_t wbs = wt == WQ4_0 ? sizeof(fwi_block_q4_0) : sizeof(fwi_block_q8_0);
    const int nb = n / 32;
    qpanel_blk P[PB];
    int32_t off[PTC * PB];
    float dy[PTC * PB];
    if (n_tok * nb <= PTC * PB) {
        /* a small batch (several sequences decoding together): whole rows
         * per group of 8, streamed like the matvec with the next group
         * prefetched, panels of PB blocks along the row; one table */
        panel_tables(wt, off, dy, nb, x, xs, 0, n_tok, 0, nb);
        const size_t gbytes = (size_t)nb * wbs;
        for (int r = r0; r < r1; r += 8) {
            const int nr = r1 - r < 8 ? r1 - r : 8;
            const char *wr[8];
            for (int i = 0; i < 8; i++)
                wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws;
            const int pr = r + 8 < r1 ? r + 8 : -1; /* the group to prefetch */
            for (int b0 = 0; b0 < nb; b0 += PB) {
                const int nbc = nb - b0 < PB ? nb - b0 : PB;
                const char *wb[8];
                for (int i = 0; i < 8; i++)
                    wb[i] = wr[i] + (size_t)b0 * wbs;
                if (pr >= 0) {
                    const size_t o0 = (size_t)b0 * wbs, o1 = o0 + (size_t)nbc * wbs;
                    for (int i = 0; i < 8 && pr + i < r1; i++)
                        for (size_t o = o0; o < o1 + 63 && o < gbytes + 63; o += 64)
                            _mm_prefetch(w + (size_t)(pr + i) * ws + (o < gbytes ? o : gbytes - 1),
                                         _MM_HINT_T0);
                }
                build_panel(wt, P, wb, nbc);
                int t = 0;
                for (; t + PT <= n_tok; t += PT)
                    panel_tile(wt, PT, out, os, P, x, xs, off + b0, dy + b0, nb, b0, nbc, r, nr, t, PT, t);
                if (t < n_tok)
                    panel_tile(wt, PT, out, os, P, x, xs, off + b0, dy + b0, nb, b0, nbc, r, nr, t, n_tok - t, t);
            }
        }
        return;
    }
    for (int b0 = 0; b0 < nb; b0 += PB) {
        const int nbc = nb - b0 < PB ? nb - b0 : PB;
        for (int t0 = 0; t0 < n_tok; t0 += PTC) {
            const int ntc = n_tok - t0 < PTC ? n_tok - t0 : PTC;
            panel_tables(wt, off, dy, PB, x, xs, t0, ntc, b0, nbc);
            for (int r = r0; r < r1; r += 8) {
                const int nr = r1 - r < 8 ? r1 - r : 8;
                const char *wr[8];
                for (int i = 0; i < 8; i++)
                    wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws + (size_t)b0 * wbs;
                build_panel(wt, P, wr, nbc);
                int t = t0;
                for (; t + PT <= t0 + ntc; t += PT)
                    panel_tile(wt, PT, out, os, P, x, xs, off, dy, PB, b0, nbc, r, nr, t, PT, t - t0);
                if (t < t0 + ntc)
                    panel_tile(wt, PT, out, os, P, x, xs, off, dy, PB, b0, nbc, r, nr, t, t0 + ntc - t, t - t0);
            }
        }
    }
}
