/*
 * avx2_util.h - small load/insert helpers shared by the AVX2-and-up x86
 * kernel files (each compiled with its own -m flags; everything here is
 * static inline and needs only AVX2 + F16C).
 */
#ifndef FWI_KERNELS_X86_AVX2_UTIL_H
#define FWI_KERNELS_X86_AVX2_UTIL_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../kernels.h"

static inline float load_f16(const void *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h);
}

static FWI_ALWAYS_INLINE __m256i bcast128(const char *p)
{
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)p));
}

/* insert a 16-bit value into lane i (0..7); i is a compile-time constant
 * after inlining, the switch only exists for compilers that want an
 * immediate before unrolling */
static FWI_ALWAYS_INLINE __m128i insert16(__m128i v, int h, const int i)
{
    switch (i) {
    case 0: return _mm_insert_epi16(v, h, 0);
    case 1: return _mm_insert_epi16(v, h, 1);
    case 2: return _mm_insert_epi16(v, h, 2);
    case 3: return _mm_insert_epi16(v, h, 3);
    case 4: return _mm_insert_epi16(v, h, 4);
    case 5: return _mm_insert_epi16(v, h, 5);
    case 6: return _mm_insert_epi16(v, h, 6);
    default: return _mm_insert_epi16(v, h, 7);
    }
}

static FWI_ALWAYS_INLINE int32_t load_i32(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static FWI_ALWAYS_INLINE int16_t load_i16(const void *p)
{
    int16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* 8 x 8 transpose of 32-bit elements: dword g of D[i] -> dword i of D[g] */
static FWI_ALWAYS_INLINE void transpose8x32(__m256i *D)
{
    __m256i t[8], u[8];
    FWI_UNROLL
    for (int k = 0; k < 4; k++) {
        t[2 * k] = _mm256_unpacklo_epi32(D[2 * k], D[2 * k + 1]);
        t[2 * k + 1] = _mm256_unpackhi_epi32(D[2 * k], D[2 * k + 1]);
    }
    FWI_UNROLL
    for (int k = 0; k < 2; k++) {
        u[4 * k + 0] = _mm256_unpacklo_epi64(t[4 * k + 0], t[4 * k + 2]);
        u[4 * k + 1] = _mm256_unpackhi_epi64(t[4 * k + 0], t[4 * k + 2]);
        u[4 * k + 2] = _mm256_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
        u[4 * k + 3] = _mm256_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
    }
    FWI_UNROLL
    for (int g = 0; g < 4; g++) {
        D[g] = _mm256_permute2x128_si256(u[g], u[g + 4], 0x20);
        D[g + 4] = _mm256_permute2x128_si256(u[g], u[g + 4], 0x31);
    }
}

/* One 32-element block as ggml's AVX2 quantize_row_q8_0/_q8_1 (bit-exact
 * with the scalar fwi_q8_block32): d = amax / 127 (f32, in *d),
 * id = 127 / amax, q = round-half-even(x * id) into qs[32]. Returns the
 * four int32 vectors' sum vector (8 lanes; Q8_1 needs sum(q)). */
static FWI_ALWAYS_INLINE __m256i q8_block32_avx2(const float *xb, int8_t *qs, float *d)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 v0 = _mm256_loadu_ps(xb + 0), v1 = _mm256_loadu_ps(xb + 8);
    const __m256 v2 = _mm256_loadu_ps(xb + 16), v3 = _mm256_loadu_ps(xb + 24);
    const __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v0, absmask),
                                                 _mm256_and_ps(v1, absmask)),
                                   _mm256_max_ps(_mm256_and_ps(v2, absmask),
                                                 _mm256_and_ps(v3, absmask)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    *d = amax / 127.0f;
    const __m256 idv = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
#define FWI_RNE(v) _mm256_cvttps_epi32(_mm256_round_ps(_mm256_mul_ps(v, idv), \
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
    const __m256i i0 = FWI_RNE(v0), i1 = FWI_RNE(v1), i2 = FWI_RNE(v2), i3 = FWI_RNE(v3);
#undef FWI_RNE
    /* packs work per 128-bit lane: fix the order with a dword permute */
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)(void *)qs, p);
    return _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
}

#endif
