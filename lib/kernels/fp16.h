/*
 * libfwinfer - portable IEEE binary16 / bfloat16 <-> binary32 conversions.
 *
 * Pure integer bit manipulation: results do not depend on the FPU rounding
 * mode, FTZ/DAZ or FLT_EVAL_METHOD, and match the hardware converters
 * (x86 F16C VCVTPS2PH/VCVTPH2PS with round-to-nearest-even, AArch64
 * FCVT/FCVTN with FPCR default) bit for bit, NaNs included (NaNs are
 * quieted, payload truncated).
 *
 * Everything here is `static inline` on purpose: ISA-specific translation
 * units (compiled with -mavx2 etc.) get private copies, so no AVX code can
 * leak into generic callers through a shared out-of-line definition.
 */
#ifndef FWI_KERNELS_FP16_H
#define FWI_KERNELS_FP16_H

#include <stdint.h>
#include <string.h>

typedef uint16_t fwi_f16;   /* IEEE 754 binary16 bit pattern */
typedef uint16_t fwi_bf16;  /* bfloat16 bit pattern (upper half of a binary32) */

static inline uint32_t fwi_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float fwi_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float fwi_fp16_to_fp32(fwi_f16 h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t man = h & 0x3ffu;

    if (exp == 0x1f) /* Inf / NaN (NaN quieted) */
        return fwi_f32_from_bits(sign | 0x7f800000u | (man << 13) |
                                 (man ? 0x00400000u : 0u));
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in binary32 */
        uint32_t mag = fwi_f32_bits((float)man * 0x1p-24f);
        return fwi_f32_from_bits(sign | mag);
    }
    return fwi_f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
}

/* round to nearest, ties to even */
static inline fwi_f16 fwi_fp32_to_fp16(float f)
{
    const uint32_t x = fwi_f32_bits(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t ax = x & 0x7fffffffu;

    if (ax >= 0x7f800000u) { /* Inf / NaN */
        if (ax == 0x7f800000u)
            return (fwi_f16)(sign | 0x7c00u);
        return (fwi_f16)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    }
    if (ax >= 0x477ff000u) /* >= 65520: rounds to Inf */
        return (fwi_f16)(sign | 0x7c00u);
    if (ax >= 0x38800000u) { /* normal half (>= 2^-14) */
        uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u);
        r -= 0x38000000u; /* rebias exponent 127 -> 15 */
        return (fwi_f16)(sign | (r >> 13));
    }
    if (ax <= 0x33000000u) /* <= 2^-25: rounds to (signed) zero */
        return (fwi_f16)sign;
    {
        /* subnormal half: value = m * 2^(e-150), unit 2^-24 */
        const uint32_t e = ax >> 23;                  /* 102..112 */
        const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - e;              /* 14..24 */
        uint32_t q = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1u);
        const uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u)))
            q++;
        return (fwi_f16)(sign | q);
    }
}

static inline float fwi_bf16_to_fp32(fwi_bf16 h)
{
    return fwi_f32_from_bits((uint32_t)h << 16);
}

/* round to nearest, ties to even; NaNs are quieted */
static inline fwi_bf16 fwi_fp32_to_bf16(float f)
{
    const uint32_t u = fwi_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (fwi_bf16)((u >> 16) | 0x40u);
    return (fwi_bf16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

#endif /* FWI_KERNELS_FP16_H */
