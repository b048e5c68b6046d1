/*
 * libfwinfer - AVX2 kernels for Q4_1, Q5_0, Q5_1 weights (Q8_0 / Q8_1 activations).
 */
#include <immintrin.h>

#include "../kernels.h"

void fwi_legacy_init_avx2(fwi_kernels *k)
{
    (void)k;
}
