/*
 * libfwinfer - scalar reference kernels for Q4_1, Q5_0, Q5_1 weights (Q8_0 / Q8_1 activations).
 * (Filled in by the weight-types work; see kernels.h for the contracts.)
 */
#include "../kernels.h"
#include "rowloop.h"

void fwi_legacy_init_c(fwi_kernels *k)
{
    (void)k;
}
