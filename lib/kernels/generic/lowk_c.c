/*
 * libfwinfer - scalar reference kernels for K-quant weights Q2_K and Q3_K (Q8_K activations).
 * (Filled in by the weight-types work; see kernels.h for the contracts.)
 */
#include "../kernels.h"
#include "rowloop.h"

void fwi_lowk_init_c(fwi_kernels *k)
{
    (void)k;
}
