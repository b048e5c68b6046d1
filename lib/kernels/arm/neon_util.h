/*
 * neon_util.h - helpers shared by the AArch64 NEON kernel files (static
 * inline, baseline ASIMD only).
 */
#ifndef FWI_KERNELS_ARM_NEON_UTIL_H
#define FWI_KERNELS_ARM_NEON_UTIL_H

#include <arm_neon.h>
#include <stdint.h>

/* One 32-element block as quantize_row_q8_0_c / _q8_1_c, bit-exact:
 * d = amax / 127 (f32, in *d), id = 127 / amax, FCVTNS (round to nearest,
 * ties even) into qs[32]. Returns sum(q) (Q8_1 stores d * sum). */
static inline int fwi_q8_block32_neon(const float *xb, int8_t *qs, float *d)
{
    float32x4_t v[8];
    float32x4_t m = vdupq_n_f32(0.0f);
    for (int i = 0; i < 8; i++) {
        v[i] = vld1q_f32(xb + 4 * i);
        m = vmaxq_f32(m, vabsq_f32(v[i]));
    }
    const float amax = vmaxvq_f32(m);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    *d = amax / 127.0f;
    int8x8_t q[4];
    int32x4_t s = vdupq_n_s32(0);
    for (int i = 0; i < 4; i++) {
        const int32x4_t a = vcvtnq_s32_f32(vmulq_n_f32(v[2 * i], id));
        const int32x4_t c = vcvtnq_s32_f32(vmulq_n_f32(v[2 * i + 1], id));
        s = vaddq_s32(s, vaddq_s32(a, c));
        q[i] = vqmovn_s16(vcombine_s16(vqmovn_s32(a), vqmovn_s32(c)));
    }
    vst1q_s8(qs, vcombine_s8(q[0], q[1]));
    vst1q_s8(qs + 16, vcombine_s8(q[2], q[3]));
    return vaddvq_s32(s);
}

#endif
