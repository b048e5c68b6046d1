/*
 * kquants_util.h - helpers of the x86 K-quant kernels (kquants_avx2.c and
 * the panel matmul kpanel_tmpl.h, also built for AVX512-VNNI). Static
 * inline; needs AVX2 + F16C.
 */
#ifndef FWI_KERNELS_X86_KQUANTS_UTIL_H
#define FWI_KERNELS_X86_KQUANTS_UTIL_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../kernels.h"
#include "avx2_util.h"

/* ---------------------------------------------------------------------- */
/* helpers */

enum { WQ4_K, WQ5_K, WQ6_K };

static FWI_ALWAYS_INLINE __m256i loadu256(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

static FWI_ALWAYS_INLINE uint32_t load_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static FWI_ALWAYS_INLINE float load_f32(const void *p)
{
    float v;
    memcpy(&v, p, sizeof v);
    return v;
}

static FWI_ALWAYS_INLINE uint16_t load_u16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Q4_K / Q5_K: the 8 scales (bytes 0..7) and 8 mins (bytes 8..15) of the
 * packed 12 bytes (see fwi_kq_scale_min) */
static FWI_ALWAYS_INLINE __m128i unpack_scales_mins(const uint8_t *s)
{
    const uint32_t u0 = load_u32(s), u1 = load_u32(s + 4), u2 = load_u32(s + 8);
    const uint32_t sc_lo = u0 & 0x3f3f3f3fu, mn_lo = u1 & 0x3f3f3f3fu;
    const uint32_t sc_hi = (u2 & 0x0f0f0f0fu) | (((u0 >> 6) & 0x03030303u) << 4);
    const uint32_t mn_hi = ((u2 >> 4) & 0x0f0f0f0fu) | (((u1 >> 6) & 0x03030303u) << 4);
    return _mm_set_epi64x((long long)(((uint64_t)mn_hi << 32) | mn_lo),
                          (long long)(((uint64_t)sc_hi << 32) | sc_lo));
}

/* sizes of one super-block */
static FWI_ALWAYS_INLINE size_t wbs(const int wt)
{
    return wt == WQ4_K ? sizeof(fwi_block_q4_K) : wt == WQ5_K ? sizeof(fwi_block_q5_K)
                                                             : sizeof(fwi_block_q6_K);
}

/* Q4_K / Q5_K: the 8 pair sums bsums[2j] + bsums[2j+1] (int16, |.| <= 4064)
 * of an activation block: one per 32-element sub-block */
static FWI_ALWAYS_INLINE __m128i bsum_pairs(const uint8_t *yb)
{
    const __m256i bs = loadu256(yb + 4 + FWI_QK_K);
    return _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
}

#endif
