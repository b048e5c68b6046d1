/*
 * libfwinfer - K-quant matvec / matmul with the AArch64 dot-product
 * extension (SDOT; compiled with -march=armv8.2-a+dotprod, reached only
 * through the dispatch table at FWI_ISA_DOTPROD). The kernels are
 * kquants_neon_tmpl.h with SDOT integer dots; the Q8_K quantisation stays
 * the NEON one. Bit-identical to the scalar reference.
 */
#include <arm_neon.h>
#include <string.h>

#include "../kernels.h"

#define KQ_DOTPROD 1
#define KQ_SFX(name) name##_dotprod
#include "kquants_neon_tmpl.h"

void fwi_kquants_init_dotprod(fwi_kernels *k)
{
    k->matvec[FWI_TYPE_Q4_K] = matvec_q4_K_dotprod;
    k->matvec[FWI_TYPE_Q5_K] = matvec_q5_K_dotprod;
    k->matvec[FWI_TYPE_Q6_K] = matvec_q6_K_dotprod;
    k->matmul[FWI_TYPE_Q4_K] = matmul_q4_K_dotprod;
    k->matmul[FWI_TYPE_Q5_K] = matmul_q5_K_dotprod;
    k->matmul[FWI_TYPE_Q6_K] = matmul_q6_K_dotprod;
}
