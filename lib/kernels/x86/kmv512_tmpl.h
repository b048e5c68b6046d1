/*
 * kmv512_tmpl.h - the 512-bit K-quant matvec (Q4_K, Q5_K, Q6_K x Q8_K),
 * included by matvec_avx512.c (KMV_VNNI 0: madd_epi16 + add_epi32) and
 * kquants_avx512vnni.c (KMV_VNNI 1: the same int16 pair products summed
 * into int32 by one vpdpwssd). Both give the same exact integer sums, and
 * the float steps are those of the AVX2 matvec (see matvec_avx512.c):
 * bit-identical results. The includer includes kquants_util.h first and
 * names the kernels with KMV_SFX.
 */
#ifndef KMV_VNNI
#error "define KMV_VNNI (0 or 1) before including kmv512_tmpl.h"
#endif

/* acc + sum of the int16 pair products of a and b (exact in int32 here) */
static FWI_ALWAYS_INLINE __m512i mad16(__m512i acc, __m512i a, __m512i b)
{
#if KMV_VNNI
    return _mm512_dpwssd_epi32(acc, a, b);
#else
    __m512i r = _mm512_add_epi32(acc, _mm512_madd_epi16(a, b));
#if defined(__GNUC__)
    /* keep the running sum: otherwise GCC reassociates the whole
     * super-block's sum into a tree with every product live (spills) */
    __asm__("" : "+v"(r));
#endif
    return r;
#endif
}

static FWI_ALWAYS_INLINE __m512i load2x256(const void *a, const void *b)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(loadu256(a)), loadu256(b), 1);
}

static FWI_ALWAYS_INLINE __m128i loadu128(const void *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}

/* four 16-byte loads as the four 128-bit lanes of a zmm */
static FWI_ALWAYS_INLINE __m512i load4x128(const void *a, const void *b, const void *c, const void *d)
{
    const __m256i lo = _mm256_inserti128_si256(_mm256_castsi128_si256(loadu128(a)), loadu128(b), 1);
    const __m256i hi = _mm256_inserti128_si256(_mm256_castsi128_si256(loadu128(c)), loadu128(d), 1);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* v[p] = [row 2p: 8 int32 | row 2p+1: 8 int32], p < 4 -> the 8 row sums,
 * in row order, in the low 256 bits (exact integer additions) */
static FWI_ALWAYS_INLINE __m512i tree8_i32(const __m512i *v)
{
    /* lanes 0,1: rows (0,2,0,2); lanes 2,3: rows (1,3,1,3) */
    const __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]),
                                         _mm512_unpackhi_epi32(v[0], v[1]));
    const __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]),
                                         _mm512_unpackhi_epi32(v[2], v[3]));
    /* lanes 0,1: rows (0,2,4,6); lanes 2,3: rows (1,3,5,7) */
    const __m512i t = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23),
                                       _mm512_unpackhi_epi64(s01, s23));
    /* lane 0: full sums of rows 0,2,4,6; lane 2: of rows 1,3,5,7 */
    const __m512i u = _mm512_add_epi32(t, _mm512_shuffle_i64x2(t, t, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11,
                                                      0, 8, 1, 9, 2, 10, 3, 11), u);
}

/* ---------------------------------------------------------------------- */
/* K-quants */

/* Q4_K/Q5_K: the first 16 bytes of the super-blocks of 4 rows (one per
 * 128-bit lane: d, dmin, the 12 packed scale bytes) -> per lane the 8
 * scales (bytes 0..7) and the 8 mins (bytes 8..15), as unpack_scales_mins */
static FWI_ALWAYS_INLINE __m512i unpack_scales_mins4(__m512i h)
{
    /* dwords per lane: [dd, u0, u1, u2] */
    const __m512i a = _mm512_shuffle_epi32(h, _MM_SHUFFLE(3, 2, 3, 1));  /* u0 u2 u1 u2 */
    const __m512i b = _mm512_shuffle_epi32(h, _MM_SHUFFLE(2, 2, 1, 1));  /* u0 u0 u1 u1 */
    const __m512i a2 = _mm512_srlv_epi32(a, _mm512_setr_epi32(0, 0, 0, 4, 0, 0, 0, 4,
                                                              0, 0, 0, 4, 0, 0, 0, 4));
    const __m512i m1 = _mm512_broadcast_i32x4(_mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
    const __m512i m2 = _mm512_broadcast_i32x4(_mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
    /* sc_lo = u0 & 3f, sc_hi = (u2 & 0f) | ((u0 >> 6) & 3) << 4,
     * mn_lo = u1 & 3f, mn_hi = ((u2 >> 4) & 0f) | ((u1 >> 6) & 3) << 4 */
    return _mm512_or_si512(_mm512_and_si512(a2, m1), _mm512_and_si512(_mm512_srli_epi32(b, 2), m2));
}

/* 16-bit control for shuffle_epi8: word i of every lane = zero-extended
 * byte j of the lane */
static FWI_ALWAYS_INLINE __m512i bsel16(int j)
{
    return _mm512_set1_epi16((short)(0x8000 | j));
}

/* One group of 8 rows wr[0..8) (pointers at their first super-block)
 * against the activation row x, nb super-blocks: the 8 dots, in row order.
 * pf/pfe: prefetch range, advanced per super-block. */
static FWI_ALWAYS_INLINE __m256 kgroup8(const int wt, const uint8_t *const *wr, const uint8_t *x,
                                        int nb, const char *pf, const char *pfe)
{
    const size_t bs = wbs(wt);
    const size_t pfstep = 8 * bs;
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        if (pf < pfe) {
            for (size_t o = 0; o < pfstep; o += 64)
                _mm_prefetch(pf + o, _MM_HINT_T0);
            pf += pfstep;
        }
        const uint8_t *yb = x + (size_t)b * sizeof(fwi_block_q8_K);
        const uint8_t *wb[8];
        FWI_UNROLL
        for (int i = 0; i < 8; i++)
            wb[i] = wr[i] + (size_t)b * bs;
        __m512i vi[4];
        __m512 dd;  /* [d of rows 0..7 | dmin of rows 0..7] */
        __m512i sums; /* [sumi of rows 0..7 | summ of rows 0..7] */
        if (wt == WQ4_K || wt == WQ5_K) {
            const __m512i h0 = load4x128(wb[0], wb[1], wb[2], wb[3]);
            const __m512i h1 = load4x128(wb[4], wb[5], wb[6], wb[7]);
            /* d, dmin: words 0, 1 of each lane */
#define W2(a, b) ((a) | (b) << 16) /* two 16-bit indices */
            const __m512i didx = _mm512_setr_epi32(W2(0, 8), W2(16, 24), W2(32, 40), W2(48, 56),
                                                   W2(1, 9), W2(17, 25), W2(33, 41), W2(49, 57),
                                                   0, 0, 0, 0, 0, 0, 0, 0);
#undef W2
            dd = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutex2var_epi16(h0, didx, h1)));
            const __m512i sm0 = unpack_scales_mins4(h0), sm1 = unpack_scales_mins4(h1);
            /* mins: summ = sum_j m_j * (bsums[2j] + bsums[2j+1]) */
            const __m512i bp = _mm512_broadcast_i32x4(bsum_pairs(yb));
            const __m512i zero = _mm512_setzero_si512();
            const __m512i vm0 = _mm512_madd_epi16(_mm512_unpackhi_epi8(sm0, zero), bp);
            const __m512i vm1 = _mm512_madd_epi16(_mm512_unpackhi_epi8(sm1, zero), bp);
            /* per pair p: the scale bytes of its rows, [a a b b] */
            __m512i sc[4];
            sc[0] = _mm512_shuffle_i64x2(sm0, sm0, _MM_SHUFFLE(1, 1, 0, 0));
            sc[1] = _mm512_shuffle_i64x2(sm0, sm0, _MM_SHUFFLE(3, 3, 2, 2));
            sc[2] = _mm512_shuffle_i64x2(sm1, sm1, _MM_SHUFFLE(1, 1, 0, 0));
            sc[3] = _mm512_shuffle_i64x2(sm1, sm1, _MM_SHUFFLE(3, 3, 2, 2));
            const size_t qoff = wt == WQ5_K ? 48 : 16;
            __m512i qh[4];
            if (wt == WQ5_K) {
                FWI_UNROLL
                for (int p = 0; p < 4; p++)
                    qh[p] = load2x256(wb[2 * p] + 16, wb[2 * p + 1] + 16);
            }
            FWI_UNROLL
            for (int p = 0; p < 4; p++)
                vi[p] = _mm512_setzero_si512();
            FWI_UNROLL
            for (int c = 0; c < 4; c++) {
                const __m512i ylo = _mm512_broadcast_i64x4(loadu256(yb + 4 + 64 * c));
                const __m512i yhi = _mm512_broadcast_i64x4(loadu256(yb + 4 + 64 * c + 32));
                FWI_UNROLL
                for (int p = 0; p < 4; p++) {
                    const size_t qo = qoff + 32 * (size_t)c;
                    const __m512i raw = load2x256(wb[2 * p] + qo, wb[2 * p + 1] + qo);
                    __m512i lo, hi;
                    if (wt == WQ5_K) {
                        /* bit 4 of each byte from bit 2c (lo) / 2c + 1 (hi) of the
                         * same qh byte (16-bit shifts; the bit stays in its byte),
                         * merged as (q & 0x0f) | bit: ternlog 0xea = (A & B) | C */
                        const __m512i b16 = _mm512_set1_epi8(0x10);
                        const __m512i bl = _mm512_and_si512(4 - 2 * c >= 0 ? _mm512_slli_epi16(qh[p], 4 - 2 * c)
                                                                           : _mm512_srli_epi16(qh[p], 2 * c - 4), b16);
                        const __m512i bh = _mm512_and_si512(3 - 2 * c >= 0 ? _mm512_slli_epi16(qh[p], 3 - 2 * c)
                                                                           : _mm512_srli_epi16(qh[p], 2 * c - 3), b16);
                        lo = _mm512_ternarylogic_epi32(raw, m4, bl, 0xea);
                        hi = _mm512_ternarylogic_epi32(_mm512_srli_epi16(raw, 4), m4, bh, 0xea);
                    } else {
                        lo = _mm512_and_si512(raw, m4);
                        hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
                    }
                    const __m512i s0 = _mm512_shuffle_epi8(sc[p], bsel16(2 * c));
                    const __m512i s1 = _mm512_shuffle_epi8(sc[p], bsel16(2 * c + 1));
                    const __m512i p0 = _mm512_maddubs_epi16(lo, ylo);
                    const __m512i p1 = _mm512_maddubs_epi16(hi, yhi);
                    vi[p] = mad16(mad16(vi[p], p0, s0), p1, s1);
                }
            }
            /* summ of the 8 rows: lane k of vm0/vm1 = row k / k + 4 */
            const __m512i ma = _mm512_add_epi32(_mm512_unpacklo_epi32(vm0, vm1), _mm512_unpackhi_epi32(vm0, vm1));
            const __m512i mb = _mm512_add_epi32(ma, _mm512_shuffle_epi32(ma, _MM_SHUFFLE(1, 0, 3, 2)));
            /* lane k of mb: [row k, row k + 4, ..] */
            const __m512i si = tree8_i32(vi);
            sums = _mm512_permutex2var_epi32(si, _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7,
                                                                   16, 20, 24, 28, 17, 21, 25, 29), mb);
        } else {
            /* Q6_K: int8 scales per 16 elements at 192, d at 208 */
            __m128i dh = _mm_setzero_si128();
            FWI_UNROLL
            for (int i = 0; i < 8; i++)
                dh = insert16(dh, load_u16(wb[i] + 208), i);
            dd = _mm512_castps256_ps512(_mm256_cvtph_ps(dh));
            const __m512i bsums = _mm512_broadcast_i64x4(loadu256(yb + 4 + FWI_QK_K));
            const __m512i m3 = _mm512_set1_epi8(0x30);
            /* shuffle_epi8 control of vector k (k < 4) of a half: word 2k of
             * the 8 scales in lanes 0 and 2, word 2k + 1 in lanes 1 and 3 */
            const __m512i ctl0 = _mm512_set_epi32(0x03020302, 0x03020302, 0x03020302, 0x03020302,
                                                  0x01000100, 0x01000100, 0x01000100, 0x01000100,
                                                  0x03020302, 0x03020302, 0x03020302, 0x03020302,
                                                  0x01000100, 0x01000100, 0x01000100, 0x01000100);
            /* pair by pair (both halves), to keep the live vectors few */
            FWI_UNROLL
            for (int p = 0; p < 4; p++) {
                const uint8_t *ra = wb[2 * p], *rb = wb[2 * p + 1];
                const __m256i s8 = _mm256_inserti128_si256(_mm256_castsi128_si256(loadu128(ra + 192)),
                                                           loadu128(rb + 192), 1);
                const __m512i sc16 = _mm512_cvtepi8_epi16(s8);   /* [a: sc0..15 | b: sc0..15] */
                /* 32 * sum_j sc_j * bsums[j], subtracted from the lane sums */
                const __m512i off = _mm512_madd_epi16(sc16, bsums);
                vi[p] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(off, 5));
                FWI_UNROLL
                for (int h = 0; h < 2; h++) {
                    /* the 8 scales of half h of each row in both of its lanes */
                    const __m512i sv = h ? _mm512_shuffle_i64x2(sc16, sc16, _MM_SHUFFLE(3, 3, 1, 1))
                                         : _mm512_shuffle_i64x2(sc16, sc16, _MM_SHUFFLE(2, 2, 0, 0));
                    const __m512i l0 = load2x256(ra + 64 * h, rb + 64 * h);
                    const __m512i l1 = load2x256(ra + 64 * h + 32, rb + 64 * h + 32);
                    const __m512i hb = load2x256(ra + 128 + 32 * h, rb + 128 + 32 * h);
                    __m512i q[4];
                    q[0] = _mm512_or_si512(_mm512_and_si512(l0, m4), _mm512_and_si512(_mm512_slli_epi16(hb, 4), m3));
                    q[1] = _mm512_or_si512(_mm512_and_si512(l1, m4), _mm512_and_si512(_mm512_slli_epi16(hb, 2), m3));
                    q[2] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l0, 4), m4), _mm512_and_si512(hb, m3));
                    q[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l1, 4), m4),
                                           _mm512_and_si512(_mm512_srli_epi16(hb, 2), m3));
                    FWI_UNROLL
                    for (int k = 0; k < 4; k++) {
                        /* vector k of half h: sub-blocks 8h + 2k (low 128 bits of
                         * each row's half) and 8h + 2k + 1 */
                        const __m512i ctl = _mm512_add_epi8(ctl0, _mm512_set1_epi8((char)(4 * k)));
                        const __m512i scv = _mm512_shuffle_epi8(sv, ctl);
                        const __m512i y = _mm512_broadcast_i64x4(loadu256(yb + 4 + 128 * h + 32 * k));
                        vi[p] = mad16(vi[p], _mm512_maddubs_epi16(q[k], y), scv);
                    }
                }
            }
            sums = tree8_i32(vi);
        }
        /* the float steps of the 8 rows, as the AVX2 kernel's per row */
        const __m512 dy = _mm512_set1_ps(load_f32(yb));
        const __m512 pr = _mm512_mul_ps(_mm512_mul_ps(dd, dy), _mm512_cvtepi32_ps(sums));
        acc = _mm256_add_ps(acc, _mm512_castps512_ps256(pr));
        if (wt != WQ6_K)
            acc = _mm256_sub_ps(acc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(pr), 1)));
    }
    return acc;
}

static FWI_ALWAYS_INLINE void store8(float *o, __m256 v, int nr)
{
    if (nr == 8) {
        _mm256_storeu_ps(o, v);
    } else {
        float buf[8];
        _mm256_storeu_ps(buf, v);
        memcpy(o, buf, (size_t)nr * sizeof(float));
    }
}

static FWI_ALWAYS_INLINE void matvec_k512(const int wt, float *out, const void *wv, size_t ws,
                                          const void *xv, int n, int r0, int r1)
{
    const uint8_t *w = wv;
    const int nb = n / FWI_QK_K;
    for (int r = r0; r < r1; r += 8) {
        const int nr = r1 - r < 8 ? r1 - r : 8;
        const uint8_t *wr[8];
        for (int i = 0; i < 8; i++)
            wr[i] = w + (size_t)(r + (i < nr ? i : nr - 1)) * ws;
        /* prefetch a group of 8 rows at least ~8 KiB ahead, spread over
         * this group's steps (as the AVX2 kernel's 4-row groups) */
        const int lead = 8 * ws >= 8192 ? 8 : 8 * ws >= 4096 ? 16 : 24;
        const char *pf = (const char *)(w + (size_t)(r + lead) * ws);
        const char *pfe = r + lead < r1 ? pf + 8 * ws : pf;
        store8(out + r, kgroup8(wt, wr, xv, nb, pf, pfe), nr);
    }
}

#define KMV_CAT2(a, b) a##b
#define KMV_CAT(a, b) KMV_CAT2(a, b)
#define DEFINE_KMV(name, wt)                                                               \
    static void KMV_CAT(matvec_##name, KMV_SFX)(float *out, const void *w, size_t ws,     \
                                                const void *x, int n, int r0, int r1)     \
    {                                                                                     \
        matvec_k512(wt, out, w, ws, x, n, r0, r1);                                        \
    }

DEFINE_KMV(q4_K, WQ4_K)
DEFINE_KMV(q5_K, WQ5_K)
DEFINE_KMV(q6_K, WQ6_K)

