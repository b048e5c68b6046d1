/*
 * libfwinfer - AVX2 kernels for K-quant weights Q4_K, Q5_K, Q6_K (Q8_K activations).
 */
#include <immintrin.h>

#include "../kernels.h"

void fwi_kquants_init_avx2(fwi_kernels *k)
{
    (void)k;
}
