/*
 * libfwinfer - scalar reference kernels for K-quant weights Q4_K, Q5_K, Q6_K (Q8_K activations).
 * (Filled in by the weight-types work; see kernels.h for the contracts.)
 */
#include "../kernels.h"
#include "rowloop.h"

void fwi_kquants_init_c(fwi_kernels *k)
{
    (void)k;
}
