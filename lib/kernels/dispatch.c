/*
 * libfwinfer - kernel table construction (dav1d style: C first, then
 * upgrade level by level, stop at the first level the CPU/cap lacks).
 */
#include "kernels.h"

#include <string.h>

void fwi_kernels_init(fwi_kernels *k, enum fwi_isa level)
{
    const enum fwi_isa cpu = fwi_cpu_detect();
    const enum fwi_isa lvl = level < cpu ? level : cpu;

    memset(k, 0, sizeof *k);
    k->isa = FWI_ISA_SCALAR;
    fwi_matmul_init_c(k);
    fwi_ops_init_c(k);
    fwi_legacy_init_c(k);
    fwi_kquants_init_c(k);
    fwi_lowk_init_c(k);

#if defined(FWI_ARCH_X86_64)
    if (lvl < FWI_ISA_AVX2)
        return;
    fwi_matmul_init_avx2(k);
    fwi_ops_init_avx2(k);
    fwi_legacy_init_avx2(k);
    fwi_kquants_init_avx2(k);
    fwi_lowk_init_avx2(k);
    k->isa = FWI_ISA_AVX2;
    if (lvl < FWI_ISA_AVX512)
        return;
    fwi_matvec_init_avx512(k);
    fwi_attn_init_avx512(k);
    k->isa = FWI_ISA_AVX512;
    if (lvl < FWI_ISA_AVX512VNNI)
        return;
    fwi_matmul_init_avx512vnni(k);
    fwi_kquants_init_avx512vnni(k);
    k->isa = FWI_ISA_AVX512VNNI;
#elif defined(FWI_ARCH_AARCH64)
    if (lvl < FWI_ISA_NEON)
        return;
    fwi_matmul_init_neon(k);
    fwi_ops_init_neon(k);
    fwi_legacy_init_neon(k);
    fwi_kquants_init_neon(k);
    fwi_lowk_init_neon(k);
    k->isa = FWI_ISA_NEON;
    if (lvl < FWI_ISA_DOTPROD)
        return;
    fwi_matmul_init_dotprod(k);
    fwi_kquants_init_dotprod(k);
    k->isa = FWI_ISA_DOTPROD;
#else
    (void)lvl;
#endif
}
