/*
 * kpanel_tmpl.h - the Q4_K / Q5_K / Q6_K panel matmul, included by
 * kquants_avx2.c (KP_VNNI 0: maddubs in int16 groups, madd with the scale
 * pairs) and kquants_avx512vnni.c (KP_VNNI 1: 256-bit vpdpbusd into int32
 * per sub-block, then an int32 multiply by the scale). The integer
 * super-block sums are exact either way and the float steps are the same,
 * so both are bit-identical to the AVX2 matvec. The includer includes
 * kquants_util.h first.
 */
#ifndef KP_VNNI
#error "define KP_VNNI (0 or 1) before including kpanel_tmpl.h"
#endif

/* ---------------------------------------------------------------------- */
/* matmul for a batch of tokens: panels (as the Q4_0 matmul in matmul_avx2.c)
 *
 * Eight weight rows are unpacked once per chunk of PB super-blocks into a
 * panel: per super-block, for each 32-element group v, eight vectors V[v][g]
 * holding elements 32v + 4g .. 32v + 4g + 3 of rows 0..7 (4 unsigned quant
 * bytes per row, dword i = row i), the sub-block scales as int16 pairs
 * (lanes 2i, 2i+1 = scale of row i), the min (Q6_K: scale) pairs for the
 * bsums term and the f32 d / dmin of the 8 rows. For each token, a 32-bit
 * broadcast of 4 activation bytes times V[v][g] (maddubs) gives row i's
 * partial dot in dword i: no horizontal sums. int16 partial sums stay
 * below 2^15: Q4_K 8 maddubs (8*2*15*128), Q5_K 4 (4*2*31*128), Q6_K 2
 * (2*2*63*128); then madd with the scale pairs -> int32 per row. The
 * integer results equal the matvec's; the f32 update per super-block is
 * the same sequence, so matmul == matvec bit for bit. The accumulators go
 * through `out` between chunks (f32 store / load: exact). */
#define PB 4  /* super-blocks per panel chunk (~11.5 KiB) */
#define PT 4  /* tokens per tile */

typedef struct kpanel {
    __m256i v[8][8];  /* [group of 32][g] */
    __m256i sc[16];   /* scale pairs per sub-block (8 for Q4_K/Q5_K, 16 for Q6_K) */
    __m256i mn[8];    /* Q4_K/Q5_K: (m_2k, m_2k+1) per row, k < 4; Q6_K: (sc_2k, sc_2k+1), k < 8 */
    float d[8], dm[8];
} kpanel;

/* the 256 unsigned quants of one super-block in element order, 8 x 32 bytes */
static FWI_ALWAYS_INLINE void unpack_sb(const int wt, const uint8_t *wb, __m256i *E)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    if (wt == WQ4_K || wt == WQ5_K) {
        const uint8_t *qs = wb + 16 + (wt == WQ5_K ? 32 : 0);
        const __m256i qh = wt == WQ5_K ? loadu256(wb + 16) : _mm256_setzero_si256();
        const __m256i one = _mm256_set1_epi8(1);
        FWI_UNROLL
        for (int c = 0; c < 4; c++) {
            const __m256i raw = loadu256(qs + 32 * c);
            __m256i lo = _mm256_and_si256(raw, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            if (wt == WQ5_K) {
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
            }
            E[2 * c] = lo;
            E[2 * c + 1] = hi;
        }
    } else {
        const __m256i m3 = _mm256_set1_epi8(0x30);
        FWI_UNROLL
        for (int h = 0; h < 2; h++) {
            const __m256i l0 = loadu256(wb + 64 * h), l1 = loadu256(wb + 64 * h + 32);
            const __m256i hb = loadu256(wb + 128 + 32 * h);
            E[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), m3));
            E[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), m3));
            E[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, m3));
            E[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                           _mm256_and_si256(_mm256_srli_epi16(hb, 2), m3));
        }
    }
}

/* panel of super-blocks [0, nbc) of rows wr[0..8) (pointers at the first) */
static FWI_ALWAYS_INLINE void build_kpanel(const int wt, kpanel *P, const uint8_t *const *wr, int nbc)
{
    const size_t bs = wbs(wt);
    for (int b = 0; b < nbc; b++) {
        __m256i E[8][8]; /* [row][group] */
        int16_t sc[16][16], mn[8][16];
        FWI_UNROLL
        for (int i = 0; i < 8; i++) {
            const uint8_t *wb = wr[i] + (size_t)b * bs;
            unpack_sb(wt, wb, E[i]);
            if (wt == WQ6_K) {
                P[b].d[i] = _cvtsh_ss(load_u16(wb + 208));
                P[b].dm[i] = 0.0f;
                for (int u = 0; u < 16; u++)
                    sc[u][2 * i] = sc[u][2 * i + 1] = (int8_t)wb[192 + u];
                for (int k = 0; k < 8; k++) {
                    mn[k][2 * i] = (int8_t)wb[192 + 2 * k];
                    mn[k][2 * i + 1] = (int8_t)wb[192 + 2 * k + 1];
                }
            } else {
                P[b].d[i] = _cvtsh_ss(load_u16(wb));
                P[b].dm[i] = _cvtsh_ss(load_u16(wb + 2));
                uint8_t sm[16];
                _mm_storeu_si128((__m128i *)(void *)sm, unpack_scales_mins(wb + 4));
                for (int u = 0; u < 8; u++)
                    sc[u][2 * i] = sc[u][2 * i + 1] = sm[u];
                for (int k = 0; k < 4; k++) {
                    mn[k][2 * i] = sm[8 + 2 * k];
                    mn[k][2 * i + 1] = sm[8 + 2 * k + 1];
                }
            }
        }
        FWI_UNROLL
        for (int v = 0; v < 8; v++) {
            __m256i D[8];
            FWI_UNROLL
            for (int i = 0; i < 8; i++)
                D[i] = E[i][v];
            transpose8x32(D);
            FWI_UNROLL
            for (int g = 0; g < 8; g++)
                P[b].v[v][g] = D[g];
        }
        for (int u = 0; u < (wt == WQ6_K ? 16 : 8); u++)
            P[b].sc[u] = loadu256(sc[u]);
        for (int k = 0; k < (wt == WQ6_K ? 8 : 4); k++)
            P[b].mn[k] = loadu256(mn[k]);
    }
}

static FWI_ALWAYS_INLINE __m256i bcast32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* tokens xt[0..T) (activation pointers at the chunk's first block) x the
 * 8 rows of the panel, super-blocks [0, nbc): acc in/out */
static FWI_ALWAYS_INLINE void kpanel_tile(const int wt, const int T, __m256 *acc, const kpanel *P,
                                          const uint8_t *const *xt, int nbc)
{
    for (int b = 0; b < nbc; b++) {
        const kpanel *pb = P + b;
        const uint8_t *yb[PT];
        __m256i si[PT], sm[PT];
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            yb[j] = xt[j] + (size_t)b * sizeof(fwi_block_q8_K);
            si[j] = _mm256_setzero_si256();
            sm[j] = _mm256_setzero_si256();
        }
#if KP_VNNI
        /* per sub-block (32 elements; Q6_K: 16): vpdpbusd into int32 (exact,
         * no int16 limit), times the sub-block scale (int32 multiply) */
        const int ssz = wt == WQ6_K ? 4 : 8;
        FWI_UNROLL
        for (int v = 0; v < 8; v++) {
            FWI_UNROLL
            for (int g0 = 0; g0 < 8; g0 += ssz) {
                __m256i s32[PT];
                FWI_UNROLL
                for (int j = 0; j < T; j++)
                    s32[j] = _mm256_setzero_si256();
                FWI_UNROLL
                for (int g = g0; g < g0 + ssz; g++) {
                    const __m256i V = pb->v[v][g];
                    FWI_UNROLL
                    for (int j = 0; j < T; j++)
                        s32[j] = _mm256_dpbusd_epi32(s32[j], V, bcast32(yb[j] + 4 + 32 * v + 4 * g));
                }
                /* the int16 scale pair of row i -> int32 lane i */
                const __m256i scp = pb->sc[wt == WQ6_K ? 2 * v + g0 / 4 : v];
                const __m256i sc32 = _mm256_srai_epi32(_mm256_slli_epi32(scp, 16), 16);
                FWI_UNROLL
                for (int j = 0; j < T; j++)
                    si[j] = _mm256_add_epi32(si[j], _mm256_mullo_epi32(s32[j], sc32));
            }
        }
#else
        /* per sub-block groups: n_g maddubs summed in int16, then madd */
        const int gsz = wt == WQ4_K ? 8 : wt == WQ5_K ? 4 : 2;
        FWI_UNROLL
        for (int v = 0; v < 8; v++) {
            FWI_UNROLL
            for (int g0 = 0; g0 < 8; g0 += gsz) {
                __m256i s16[PT];
                FWI_UNROLL
                for (int j = 0; j < T; j++)
                    s16[j] = _mm256_setzero_si256();
                FWI_UNROLL
                for (int g = g0; g < g0 + gsz; g++) {
                    const __m256i V = pb->v[v][g];
                    FWI_UNROLL
                    for (int j = 0; j < T; j++)
                        s16[j] = _mm256_add_epi16(s16[j], _mm256_maddubs_epi16(V, bcast32(yb[j] + 4 + 32 * v + 4 * g)));
                }
                const __m256i scv = pb->sc[wt == WQ6_K ? 2 * v + g0 / 4 : v];
                FWI_UNROLL
                for (int j = 0; j < T; j++)
                    si[j] = _mm256_add_epi32(si[j], _mm256_madd_epi16(s16[j], scv));
            }
        }
#endif
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            const uint8_t *bsp = yb[j] + 4 + FWI_QK_K;
            if (wt == WQ6_K) {
                __m256i off = _mm256_setzero_si256();
                FWI_UNROLL
                for (int k = 0; k < 8; k++)
                    off = _mm256_add_epi32(off, _mm256_madd_epi16(pb->mn[k], bcast32(bsp + 4 * k)));
                si[j] = _mm256_sub_epi32(si[j], _mm256_slli_epi32(off, 5));
            } else {
                const __m128i bp = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)(const void *)bsp),
                                                  _mm_loadu_si128((const __m128i *)(const void *)(bsp + 16)));
                uint8_t bpa[16];
                _mm_storeu_si128((__m128i *)(void *)bpa, bp);
                FWI_UNROLL
                for (int k = 0; k < 4; k++)
                    sm[j] = _mm256_add_epi32(sm[j], _mm256_madd_epi16(pb->mn[k], bcast32(bpa + 4 * k)));
            }
        }
        const __m256 dw = _mm256_loadu_ps(pb->d), dmw = _mm256_loadu_ps(pb->dm);
        FWI_UNROLL
        for (int j = 0; j < T; j++) {
            const __m256 dy = _mm256_set1_ps(load_f32(yb[j]));
            acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(_mm256_mul_ps(dw, dy), _mm256_cvtepi32_ps(si[j])));
            if (wt != WQ6_K)
                acc[j] = _mm256_sub_ps(acc[j], _mm256_mul_ps(_mm256_mul_ps(dmw, dy), _mm256_cvtepi32_ps(sm[j])));
        }
    }
}

static FWI_ALWAYS_INLINE void matmul_panel_k(const int wt, float *out, size_t os, const void *wv,
                                             size_t ws, const void *xv, size_t xs, int n, int r0,
                                             int r1, int n_tok)
{
    const uint8_t *w = wv, *x = xv;
    const size_t bs = wbs(wt);
    const int nb = n / FWI_QK_K;
    kpanel P[PB];
    for (int r = r0; r < r1; r += 8) {
        const int nr = r1 - r < 8 ? r1 - r : 8;
        for (int b0 = 0; b0 < nb; b0 += PB) {
            const int nbc = nb - b0 < PB ? nb - b0 : PB;
            const uint8_t *wr[8];
            for (int i = 0; i < 8; i++)
                wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws + (size_t)b0 * bs;
            build_kpanel(wt, P, wr, nbc);
            for (int t = 0; t < n_tok; t += PT) {
                const int nt = n_tok - t < PT ? n_tok - t : PT;
                const uint8_t *xt[PT];
                __m256 acc[PT];
                for (int j = 0; j < PT; j++) {
                    const int jj = j < nt ? j : nt - 1;
                    xt[j] = x + (size_t)(t + jj) * xs + (size_t)b0 * sizeof(fwi_block_q8_K);
                    float buf[8] = { 0 };
                    if (b0 > 0)
                        memcpy(buf, out + (size_t)(t + jj) * os + r, (size_t)nr * sizeof(float));
                    acc[j] = _mm256_loadu_ps(buf);
                }
                switch (nt) {
                case 1: kpanel_tile(wt, 1, acc, P, xt, nbc); break;
                case 2: kpanel_tile(wt, 2, acc, P, xt, nbc); break;
                case 3: kpanel_tile(wt, 3, acc, P, xt, nbc); break;
                default: kpanel_tile(wt, 4, acc, P, xt, nbc); break;
                }
                for (int j = 0; j < nt; j++) {
                    float buf[8];
                    _mm256_storeu_ps(buf, acc[j]);
                    memcpy(out + (size_t)(t + j) * os + r, buf, (size_t)nr * sizeof(float));
                }
            }
        }
    }
}
