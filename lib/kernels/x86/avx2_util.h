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

#endif
