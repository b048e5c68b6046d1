/*
 * libfwinfer - NEON kernels for Q4_1, Q5_0, Q5_1 weights (Q8_0 / Q8_1 activations).
 */
#include <arm_neon.h>

#include "../kernels.h"

void fwi_legacy_init_neon(fwi_kernels *k)
{
    (void)k;
}
