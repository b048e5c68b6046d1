/*
 * libfwinfer - CPU feature detection (runs once) and ISA level names.
 *
 * This file is compiled without any ISA flags: it only executes CPUID /
 * XGETBV (x86) or reads the auxiliary vector / sysctl (AArch64).
 */
#include "kernels.h"

#include <pthread.h>
#include <stddef.h>

#if defined(FWI_ARCH_X86_64)
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#include <immintrin.h>
#else
#include <cpuid.h>
#endif
#elif defined(FWI_ARCH_AARCH64)
#if defined(__linux__)
#include <sys/auxv.h>
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#endif
#endif

#if defined(FWI_ARCH_X86_64)
static void cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
#if defined(_MSC_VER) && !defined(__clang__)
    int v[4];
    __cpuidex(v, (int)leaf, (int)sub);
    for (int i = 0; i < 4; i++)
        r[i] = (unsigned)v[i];
#else
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

static uint64_t xgetbv0(void)
{
#if defined(_MSC_VER) && !defined(__clang__)
    return _xgetbv(0);
#else
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#endif
}

static enum fwi_isa detect(void)
{
    unsigned r[4];
    cpuid(0, 0, r);
    const unsigned max_leaf = r[0];
    if (max_leaf < 7)
        return FWI_ISA_SCALAR;

    cpuid(1, 0, r);
    const unsigned ecx1 = r[2];
    const int fma = (ecx1 >> 12) & 1, osxsave = (ecx1 >> 27) & 1;
    const int avx = (ecx1 >> 28) & 1, f16c = (ecx1 >> 29) & 1;
    if (!(fma && osxsave && avx && f16c))
        return FWI_ISA_SCALAR;

    const uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state enabled by the OS */
        return FWI_ISA_SCALAR;

    cpuid(7, 0, r);
    const unsigned ebx7 = r[1], ecx7 = r[2];
    if (!((ebx7 >> 5) & 1)) /* AVX2 */
        return FWI_ISA_SCALAR;

    /* AVX-512: F(16) DQ(17) BW(30) VL(31) + opmask/ZMM state in XCR0 */
    const unsigned avx512_mask = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);
    if ((ebx7 & avx512_mask) != avx512_mask || (xcr0 & 0xe6) != 0xe6)
        return FWI_ISA_AVX2;
    if (!((ecx7 >> 11) & 1)) /* AVX512_VNNI */
        return FWI_ISA_AVX512;
    return FWI_ISA_AVX512VNNI;
}
#elif defined(FWI_ARCH_AARCH64)
static enum fwi_isa detect(void)
{
#if defined(__linux__)
    const unsigned long hw = getauxval(AT_HWCAP);
    if (!(hw & (1ul << 1))) /* HWCAP_ASIMD */
        return FWI_ISA_SCALAR;
    if (hw & (1ul << 20)) /* HWCAP_ASIMDDP */
        return FWI_ISA_DOTPROD;
    return FWI_ISA_NEON;
#elif defined(__APPLE__)
    int v = 0;
    size_t len = sizeof v;
    if (sysctlbyname("hw.optional.arm.FEAT_DotProd", &v, &len, NULL, 0) == 0 && v)
        return FWI_ISA_DOTPROD;
    return FWI_ISA_NEON;
#else
    return FWI_ISA_NEON; /* ASIMD is mandatory in AArch64 */
#endif
}
#else
static enum fwi_isa detect(void)
{
    return FWI_ISA_SCALAR;
}
#endif

/* The only mutable global state of the kernels: written once under
 * pthread_once, read-only afterwards. */
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;
static enum fwi_isa detected_isa = FWI_ISA_SCALAR;

static void detect_init(void)
{
    detected_isa = detect();
}

enum fwi_isa fwi_cpu_detect(void)
{
    pthread_once(&detect_once, detect_init);
    return detected_isa;
}

static const char *const isa_names[FWI_ISA_COUNT] = {
    [FWI_ISA_SCALAR] = "scalar",
#if defined(FWI_ARCH_X86_64)
    [FWI_ISA_AVX2] = "avx2",
    [FWI_ISA_AVX512] = "avx512",
    [FWI_ISA_AVX512VNNI] = "avx512vnni",
#elif defined(FWI_ARCH_AARCH64)
    [FWI_ISA_NEON] = "neon",
    [FWI_ISA_DOTPROD] = "dotprod",
#endif
};

const char *fwi_isa_name(enum fwi_isa isa)
{
    if ((int)isa < 0 || isa >= FWI_ISA_COUNT)
        return NULL;
    return isa_names[isa];
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower((unsigned char)*a) != *b)
            return 0;
    return *a == *b;
}

int fwi_isa_from_name(const char *name, enum fwi_isa *isa)
{
    if (!name)
        return -1;
    if (name_eq(name, "c")) {
        *isa = FWI_ISA_SCALAR;
        return 0;
    }
    for (int i = 0; i < FWI_ISA_COUNT; i++) {
        if (name_eq(name, isa_names[i])) {
            *isa = (enum fwi_isa)i;
            return 0;
        }
    }
    return -1;
}
