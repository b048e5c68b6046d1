/*
 * libfwinfer - fwi_expf: the single-precision exponential of the attention
 * softmax, the same function on every ISA and in vector form.
 *
 * The algorithm is glibc's expf (from Arm's optimized-routines) as glibc
 * builds it for x86-64 CPUs with FMA (__expf_fma), so on such systems the
 * result is bit-identical to libm's expf (checkasm compares them):
 *     z  = InvLn2N * x + SHIFT        (fused; N = 32, SHIFT = 1.5 * 2^52:
 *     ki = bits(z), kd = z - SHIFT     round to nearest of x * N / ln 2)
 *     r  = InvLn2N * x - kd           (fused)
 *     s  = double with bits T[ki % 32] + (ki << 47)   (2^(ki / 32))
 *     y  = ((C0 * r + C1) * r^2 + (C2 * r + 1)) * s    (three fused steps)
 *     expf(x) = (float)y
 * computed in double. Inputs whose exponent field and top mantissa bits
 * ((bits >> 20) & 0x7ff) exceed 0x42a, i.e. |x| >= 88 (overflow, deep
 * underflow), infinities and NaN, go to libm's expf, where glibc takes its
 * own special path. Assumes round-to-nearest (the default).
 */
#ifndef FWI_EXPF_IMPL_H
#define FWI_EXPF_IMPL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define FWI_EXPF_INVLN2N 0x1.71547652b82fep+5   /* 32 / ln 2 */
#define FWI_EXPF_SHIFT 0x1.8p+52
#define FWI_EXPF_C0 0x1.c6af84b912394p-20
#define FWI_EXPF_C1 0x1.ebfce50fac4f3p-13
#define FWI_EXPF_C2 0x1.62e42ff0c52d6p-6
#define FWI_EXPF_SPECIAL 0x42a /* top12(x) & 0x7ff above this: libm */

/* T[i] = bits of 2^(i/32) (double, rounded to nearest) minus i << 47 */
extern const uint64_t fwi_expf_tab[32];

static inline float fwi_expf_body(float x)
{
    uint32_t ix;
    memcpy(&ix, &x, sizeof ix);
    if (((ix >> 20) & 0x7ff) > FWI_EXPF_SPECIAL)
        return expf(x);
    const double xd = (double)x;
    double kd = fma(FWI_EXPF_INVLN2N, xd, FWI_EXPF_SHIFT);
    uint64_t ki;
    memcpy(&ki, &kd, sizeof ki);
    kd -= FWI_EXPF_SHIFT;
    const double r = fma(FWI_EXPF_INVLN2N, xd, -kd);
    const uint64_t t = fwi_expf_tab[ki % 32] + (ki << 47);
    double s;
    memcpy(&s, &t, sizeof s);
    const double z = fma(r, FWI_EXPF_C0, FWI_EXPF_C1);
    const double r2 = r * r;
    double y = fma(r, FWI_EXPF_C2, 1.0);
    y = fma(z, r2, y);
    y = y * s;
    return (float)y;
}

#endif
