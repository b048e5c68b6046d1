/*
 * libfwinfer - Q4_K / Q5_K / Q6_K matmul (prompt batches) with AVX512-VNNI's
 * 256-bit vpdpbusd. Compiled with -mavx512f -mavx512vl -mavx512vnni (plus
 * AVX2/FMA/F16C); only reached through the dispatch table at
 * FWI_ISA_AVX512VNNI. The panel code is kpanel_tmpl.h, shared with
 * kquants_avx2.c; the matvec (decode) is the 512-bit one of
 * matvec_avx512.c (kmv512_tmpl.h) with vpdpwssd: bit-identical results.
 */
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"
#include "kquants_util.h"

#define KP_VNNI 1
#include "kpanel_tmpl.h"

#define KMV_VNNI 1
#define KMV_SFX _vnni
#include "kmv512_tmpl.h"

/* any token count: a short tile repeats its last token without storing it
 * (the same bits as matvec) */
#define DEFINE_KV(name, wt)                                                            \
    static void matmul_##name##_vnni(float *out, size_t os, const void *w, size_t ws,  \
                                     const void *x, size_t xs, int n, int r0, int r1,  \
                                     int n_tok)                                        \
    {                                                                                  \
        matmul_panel_k(wt, out, os, w, ws, x, xs, n, r0, r1, n_tok);                   \
    }

DEFINE_KV(q4_K, WQ4_K)
DEFINE_KV(q5_K, WQ5_K)
DEFINE_KV(q6_K, WQ6_K)

void fwi_kquants_init_avx512vnni(fwi_kernels *k)
{
    k->matmul[FWI_TYPE_Q4_K] = matmul_q4_K_vnni;
    k->matmul[FWI_TYPE_Q5_K] = matmul_q5_K_vnni;
    k->matmul[FWI_TYPE_Q6_K] = matmul_q6_K_vnni;
    k->matvec[FWI_TYPE_Q4_K] = matvec_q4_K_vnni;
    k->matvec[FWI_TYPE_Q5_K] = matvec_q5_K_vnni;
    k->matvec[FWI_TYPE_Q6_K] = matvec_q6_K_vnni;
}
