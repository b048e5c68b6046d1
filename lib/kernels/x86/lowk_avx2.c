/*
 * libfwinfer - AVX2 kernels for K-quant weights Q2_K and Q3_K (Q8_K activations).
 */
#include <immintrin.h>

#include "../kernels.h"

void fwi_lowk_init_avx2(fwi_kernels *k)
{
    (void)k;
}
