/*
 * libfwinfer - AArch64 SDOT (FEAT_DotProd) quantised matvec / matmul.
 * Compiled with -march=armv8.2-a+dotprod; reached only through the dispatch
 * table when the CPU reports ASIMDDP.
 */
#include <arm_neon.h>
#include <string.h>

#include "../kernels.h"

#define FWI_SFX(name) name##_dotprod

/* lane i = sum of elements 4i..4i+3 of the low and of the high halves */
static inline int32x4_t block_dot(int8x16_t wlo, int8x16_t whi, int8x16_t ylo, int8x16_t yhi)
{
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), wlo, ylo), whi, yhi);
}

#include "matmul_neon_tmpl.h"

void fwi_matmul_init_dotprod(fwi_kernels *k)
{
    k->matvec[FWI_TYPE_Q4_0] = matvec_q4_0_dotprod;
    k->matvec[FWI_TYPE_Q8_0] = matvec_q8_0_dotprod;
    k->matmul[FWI_TYPE_Q4_0] = matmul_q4_0_dotprod;
    k->matmul[FWI_TYPE_Q8_0] = matmul_q8_0_dotprod;
}
