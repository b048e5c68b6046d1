/*
 * libfwinfer - NEON kernels for K-quant weights Q2_K and Q3_K (Q8_K activations).
 */
#include <arm_neon.h>

#include "../kernels.h"

void fwi_lowk_init_neon(fwi_kernels *k)
{
    (void)k;
}
