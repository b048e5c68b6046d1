/*
 * libfwinfer - Q4_0 / Q8_0 matmul (prompt batches) with AVX512-VNNI's
 * 256-bit vpdpbusd. Compiled with -mavx512f -mavx512vl -mavx512vnni (plus
 * AVX2/FMA/F16C); only reached through the dispatch table after
 * fwi_cpu_detect() reported FWI_ISA_AVX512VNNI. Matvec (decode, memory
 * bound) stays the AVX2 kernel. The panel code is qpanel_tmpl.h, shared
 * with matmul_avx2.c: the results are bit-identical to the AVX2 kernels.
 */
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"
#include "avx2_util.h"

enum { WQ4_0, WQ8_0 };

#define QP_VNNI 1
#include "qpanel_tmpl.h"

/* any token count: the panel tile repeats the last token of a short tile
 * without storing it, so 1..3 tokens work too (same bits as matvec) */
static void matmul_q4_0_vnni(float *out, size_t os, const void *w, size_t ws,
                             const void *x, size_t xs, int n, int r0, int r1, int n_tok)
{
    matmul_panel(WQ4_0, out, os, w, ws, x, xs, n, r0, r1, n_tok);
}

static void matmul_q8_0_vnni(float *out, size_t os, const void *w, size_t ws,
                             const void *x, size_t xs, int n, int r0, int r1, int n_tok)
{
    matmul_panel(WQ8_0, out, os, w, ws, x, xs, n, r0, r1, n_tok);
}

void fwi_matmul_init_avx512vnni(fwi_kernels *k)
{
    k->matmul[FWI_TYPE_Q4_0] = matmul_q4_0_vnni;
    k->matmul[FWI_TYPE_Q8_0] = matmul_q8_0_vnni;
}
