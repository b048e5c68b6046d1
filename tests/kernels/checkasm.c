/*
 * libfwinfer - checkasm: SIMD kernels vs their scalar C twins.
 *
 *   checkasm [--bench[=SUBSTR]] [--big] [--seed=N] [--isa=NAME] [--test=SUBSTR] [-v]
 *
 * For every ISA level above scalar that the CPU supports (capped by --isa or
 * the FWINFER_ISA environment variable), every kernel whose function
 * pointer differs from the level below is run on the same random inputs as
 * the scalar version (odd sizes, unaligned pointers, row/token tails) and
 * compared within the tolerance documented at each check. The scalar
 * references themselves are checked against hand-computed block values,
 * quantise/dequantise round trips and the determinism contract (row splits,
 * matmul == matvec bit for bit). Exit status 0 iff everything passed.
 *
 * --bench times scalar vs each SIMD level (ns per call, GB/s of weights);
 * --big adds matvec on 2048x5632 matrices rotated through > 256 MiB so the
 * weights stream from DRAM (L3 is typically <= 32 MiB).
 */
#include <float.h>
#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/kernels/kernels.h"

#define EPS_F32 (1.0 / 16777216.0) /* 2^-24: unit roundoff of binary32 */

static int verbose;
static int n_fail, n_checks;
static const char *test_filter;
static const char *bench_filter; /* --bench=SUBSTR */
static double worst_rel; /* worst observed |err| / tolerance scale (verbose) */

/* ---------------------------------------------------------------------- */
/* random numbers: xorshift64* */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd64(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t rnd32(void)
{
    return (uint32_t)(rnd64() >> 32);
}

static float rndf(void) /* uniform in [-1, 1) */
{
    return (float)((double)(rnd64() >> 40) / (double)(1ull << 23) - 1.0);
}

static void fill_f32(float *p, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        p[i] = rndf() * scale;
}

/* ---------------------------------------------------------------------- */
/* reporting */

static int selected(const char *name)
{
    return !test_filter || strstr(name, test_filter) != NULL;
}

#if defined(__GNUC__) || defined(__clang__)
static void fail(const char *kernel, const char *isa, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#endif

static void fail(const char *kernel, const char *isa, const char *fmt, ...)
{
    va_list ap;
    n_fail++;
    if (n_fail > 50)
        return;
    printf("FAIL %-22s %-8s ", kernel, isa);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

/* |got - ref| <= tol ? 1 : 0; NaN never passes unless both NaN */
static int near(double got, double ref, double tol)
{
    if (isnan(got) || isnan(ref))
        return isnan(got) && isnan(ref);
    if (got == ref)
        return 1;
    const double e = fabs(got - ref);
    if (tol > 0 && e / tol > worst_rel)
        worst_rel = e / tol;
    return e <= tol;
}

static int same_bits(float a, float b)
{
    return fwi_f32_bits(a) == fwi_f32_bits(b);
}

/* Kernels whose SIMD versions on this architecture must return the bits of
 * their scalar twins, on top of those exact on every ISA (add/mul/scale,
 * rope, the f16 conversions, vec_mad_f16/vec_scale_f16, quantize_row_q8_0).
 * Their results feed roundings that turn ulp differences into visible ones:
 * the int8 rounding of the next Q8_0 activation quantisation (the old NEON
 * Q4_0 dot, ulp-close to the scalar one, moved the synthetic Q4_0 model's
 * logits by 9e-3 relative) and the f16
 * KV cache / f16 attention accumulator (one attention score off by 1 ulp
 * flipped an f16 rounding that sat 3e-5 f16-ulp from a tie and moved the
 * stories260K logits by 2e-3). An f32 reassociation of these kernels stays
 * well inside the summation-order bounds checked otherwise, which is how the
 * old NEON kernels passed. AArch64 implements them exactly; AVX2 is only
 * checked against those bounds. */
static int exact_on_arch(const char *kernel)
{
    /* K-quants: exact integer super-block sums, then the reference's f32
     * sequence per super-block on every ISA (generic/kquants_c.c) */
    if (strstr(kernel, "_K") && (!strncmp(kernel, "matvec_", 7) || !strncmp(kernel, "matmul_", 7)))
        return 1;
    /* the legacy types (Q4_1, Q5_0, Q5_1) reproduce the scalar arithmetic
     * on every ISA (see generic/legacy_c.c) */
    if (!strncmp(kernel, "matvec_q", 8) || !strncmp(kernel, "matmul_q", 8)) {
        const char *t = kernel + 7;
        if (!strcmp(t, "q4_1") || !strcmp(t, "q5_0") || !strcmp(t, "q5_1"))
            return 1;
    }
#if defined(FWI_ARCH_AARCH64)
    static const char *const names[] = { "matvec_q4_0", "matmul_q4_0", "matvec_q8_0",
                                         "matmul_q8_0", "attn_scores_f16", "silu_mul" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(kernel, names[i]))
            return 1;
#else
    (void)kernel;
#endif
    return 0;
}

/* ---------------------------------------------------------------------- */
/* weight / activation generation */

static const int all_types[] = { FWI_TYPE_F32, FWI_TYPE_F16, FWI_TYPE_BF16,
                                 FWI_TYPE_Q4_0, FWI_TYPE_Q8_0,
                                 FWI_TYPE_Q4_1, FWI_TYPE_Q5_0, FWI_TYPE_Q5_1,
                                 FWI_TYPE_Q4_K, FWI_TYPE_Q5_K, FWI_TYPE_Q6_K,
                                 FWI_TYPE_Q2_K, FWI_TYPE_Q3_K };
#define N_TYPES ((int)(sizeof all_types / sizeof all_types[0]))

static size_t act_row_size(int wtype, int n)
{
    const fwi_type_traits *t = fwi_type_traits_get(wtype);
    return fwi_row_size(t->vec_dot_type, n);
}

/* random row of weights of type `type` (quantised types: random scale and
 * random quants, including -128 for Q8_0) */
static void rand_weight_row(int type, void *dst, int n)
{
    if (type == FWI_TYPE_Q4_0 || type == FWI_TYPE_Q8_0) {
        const int nb = n / 32;
        const size_t bs = fwi_type_traits_get(type)->type_size;
        uint8_t *p = dst;
        for (int b = 0; b < nb; b++, p += bs) {
            const fwi_f16 d = fwi_fp32_to_fp16((0.001f + (float)(rnd32() % 1000) * 1e-4f) *
                                               (rnd32() & 1 ? 1.0f : -1.0f));
            memcpy(p, &d, 2);
            for (size_t j = 2; j < bs; j++)
                p[j] = (uint8_t)rnd32();
        }
        return;
    }
    if (type == FWI_TYPE_Q4_1 || type == FWI_TYPE_Q5_0 || type == FWI_TYPE_Q5_1) {
        /* random finite fp16 d (either sign) and m, random quants / 5th bits */
        const int nb = n / 32;
        const size_t bs = fwi_type_traits_get(type)->type_size;
        const size_t nh = type == FWI_TYPE_Q5_0 ? 1 : 2; /* halves: d (, m) */
        uint8_t *p = dst;
        for (int b = 0; b < nb; b++, p += bs) {
            for (size_t k = 0; k < nh; k++) {
                const fwi_f16 h = fwi_fp32_to_fp16((0.001f + (float)(rnd32() % 1000) * 1e-4f) *
                                                   (rnd32() & 1 ? 1.0f : -1.0f));
                memcpy(p + 2 * k, &h, 2);
            }
            for (size_t j = 2 * nh; j < bs; j++)
                p[j] = (uint8_t)rnd32();
        }
        return;
    }
    if (type == FWI_TYPE_Q2_K || type == FWI_TYPE_Q3_K) {
        /* random bytes (any packed scales / quants are valid), finite f16
         * d (Q2_K: and dmin) at the end of the block, either sign */
        const size_t bs = fwi_type_traits_get(type)->type_size;
        uint8_t *p = dst;
        for (int b = 0; b < n / FWI_QK_K; b++, p += bs) {
            for (size_t j = 0; j < bs; j++)
                p[j] = (uint8_t)rnd32();
            for (size_t f = 0; f < (type == FWI_TYPE_Q2_K ? 2u : 1u); f++) {
                const fwi_f16 d = fwi_fp32_to_fp16((0.0001f + (float)(rnd32() % 1000) * 1e-5f) *
                                                   (rnd32() & 1 ? 1.0f : -1.0f));
                memcpy(p + (type == FWI_TYPE_Q2_K ? 80 : 108) + 2 * f, &d, 2);
            }
        }
        return;
    }
    if (type == FWI_TYPE_Q4_K || type == FWI_TYPE_Q5_K || type == FWI_TYPE_Q6_K) {
        /* random bytes (any packed scales / quants are valid), finite f16
         * super-block scales: d (and dmin) of either sign */
        const size_t bs = fwi_type_traits_get(type)->type_size;
        uint8_t *p = dst;
        for (int b = 0; b < n / FWI_QK_K; b++, p += bs) {
            for (size_t j = 0; j < bs; j++)
                p[j] = (uint8_t)rnd32();
            for (int f = 0; f < (type == FWI_TYPE_Q6_K ? 1 : 2); f++) {
                const fwi_f16 d = fwi_fp32_to_fp16((0.0001f + (float)(rnd32() % 1000) * 1e-5f) *
                                                   (rnd32() & 1 ? 1.0f : -1.0f));
                memcpy(p + (type == FWI_TYPE_Q6_K ? 208 : 2 * (size_t)f), &d, 2);
            }
        }
        return;
    }
    float *tmp = xmalloc((size_t)n * sizeof(float));
    fill_f32(tmp, (size_t)n, 1.0f);
    fwi_type_traits_get(type)->from_float(tmp, dst, n);
    free(tmp);
}

/* activation row in the vec_dot format of weight type `wtype` */
static void make_act(const fwi_kernels *k, int wtype, void *dst, const float *x, int n)
{
    const int at = fwi_type_traits_get(wtype)->vec_dot_type;
    if (at == FWI_TYPE_F32)
        memcpy(dst, x, (size_t)n * sizeof(float));
    else
        k->quantize_row[at](dst, x, n);
}

/* S = sum_i |w_i * x_i| with dequantised values (error scale of a dot) */
static double abs_dot(int wtype, const void *wrow, const void *act, int n)
{
    float *wf = xmalloc((size_t)n * sizeof(float));
    float *xf = xmalloc((size_t)n * sizeof(float));
    fwi_type_traits_get(wtype)->to_float(wrow, wf, n);
    const int at = fwi_type_traits_get(wtype)->vec_dot_type;
    fwi_type_traits_get(at)->to_float(act, xf, n);
    double s = 0;
    for (int i = 0; i < n; i++)
        s += fabs((double)wf[i] * (double)xf[i]);
    free(wf);
    free(xf);
    return s;
}

/* number of sequential f32 accumulation steps of one dot (error bound) */
static double dot_steps(int wtype, int n)
{
    const int blk = fwi_type_traits_get(wtype)->blck_size;
    return blk > 1 ? (double)(n / blk) : (double)(n + 7) / 8.0;
}

/* ---------------------------------------------------------------------- */
/* fp16 / bf16 conversions and block formats (scalar reference checks) */

static double ref_round_f16(double v) /* RNE to binary16 via double arithmetic */
{
    if (isnan(v) || isinf(v))
        return v;
    const double a = fabs(v);
    if (a >= 65520.0)
        return copysign(INFINITY, v);
    int e;
    frexp(a, &e);                     /* a = m * 2^e, m in [0.5, 1) */
    int q = e - 11;                   /* quantum exponent: 11 significant bits */
    if (q < -24)
        q = -24;                      /* subnormal quantum 2^-24 */
    const double unit = ldexp(1.0, q);
    return copysign(nearbyint(a / unit) * unit, v); /* FE_TONEAREST default */
}

/* fwi_expf: where the C library is glibc on x86-64 and the CPU has FMA
 * (glibc then runs __expf_fma), equal to libm's expf bit for bit (an
 * exhaustive run over all 2^32 inputs found no difference; here a sample and
 * the edges). Elsewhere within one ulp of it. */
static void check_expf(void)
{
    static const float edge[] = { 0.0f, -0.0f, 1.0f, -1.0f, 0x1.62e42ep6f, 0x1.62e430p6f,
                                  -0x1.9fe368p6f, -0x1.9fe36ap6f, -0x1.9d1d9ep6f, -87.5f,
                                  -88.8f, -103.9f, -104.0f, -150.0f, 88.0f, 89.0f,
                                  INFINITY, -INFINITY, NAN, 0x1p-30f, -0x1p-30f, 1e-45f };
    int exact = 0;
#if defined(__GLIBC__) && defined(FWI_ARCH_X86_64)
    exact = fwi_cpu_detect() >= FWI_ISA_AVX2;
#endif
    const int n = 1 << 20;
    for (int i = 0; i < n + (int)(sizeof edge / sizeof edge[0]); i++) {
        float x;
        if (i < n) {
            uint32_t u = rnd32();
            if (i & 1) /* the attention range: [-128, 0] */
                u = (u & 0x807fffffu) | ((120u + u % 14u) << 23) | 0x80000000u;
            memcpy(&x, &u, sizeof x);
        } else {
            x = edge[i - n];
        }
        const float a = fwi_expf(x), b = expf(x);
        n_checks++;
        if (isnan(a) && isnan(b))
            continue;
        if (exact ? !same_bits(a, b) : fabsf(a - b) > 0x1p-23f * fabsf(b) + 1e-45f) {
            fail("fwi_expf", "scalar", "x=%a: %a, libm %a%s", (double)x, (double)a, (double)b,
                 exact ? " (exact match required)" : "");
            return;
        }
    }
}

static void check_fp16(void)
{
    if (!selected("fp16"))
        return;
    /* every half -> float -> half is the identity (NaNs get quieted) */
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = fwi_fp16_to_fp32((fwi_f16)h);
        const fwi_f16 back = fwi_fp32_to_fp16(f);
        const int is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        const fwi_f16 want = is_nan ? (fwi_f16)(h | 0x200) : (fwi_f16)h;
        n_checks++;
        if (back != want || (!is_nan && (double)f != ref_round_f16((double)f))) {
            fail("fp16_roundtrip", "scalar", "h=0x%04x f=%a back=0x%04x", h, (double)f, back);
            break;
        }
    }
    /* float -> half vs a double-arithmetic RNE reference: all boundaries and
     * midpoints of the half grid, plus a sweep of all binary32 exponents */
    for (uint32_t h = 0; h < 0x7c00; h++) {
        const double lo = fwi_fp16_to_fp32((fwi_f16)h);
        const double hi = fwi_fp16_to_fp32((fwi_f16)(h + 1));
        const double mid = (lo + hi) / 2;
        const float cand[5] = { (float)lo, (float)mid, nextafterf((float)mid, 0.0f),
                                nextafterf((float)mid, INFINITY), nextafterf((float)lo, INFINITY) };
        for (int c = 0; c < 5; c++) {
            for (int sgn = 0; sgn < 2; sgn++) {
                const float f = sgn ? -cand[c] : cand[c];
                const double want = ref_round_f16((double)f);
                const double got = fwi_fp16_to_fp32(fwi_fp32_to_fp16(f));
                n_checks++;
                if (got != want || signbit(got) != signbit(want)) {
                    fail("fp32_to_fp16", "scalar", "f=%a got %a want %a", (double)f, got, want);
                    goto sweep;
                }
            }
        }
    }
sweep:
    for (uint64_t u = 0; u < 0x100000000ull; u += 65521) {
        const float f = fwi_f32_from_bits((uint32_t)u);
        if (isnan(f))
            continue;
        const double want = ref_round_f16((double)f);
        const double got = fwi_fp16_to_fp32(fwi_fp32_to_fp16(f));
        n_checks++;
        if (got != want || signbit(got) != signbit(want)) {
            fail("fp32_to_fp16", "scalar", "f=%a got %a want %a", (double)f, got, want);
            break;
        }
    }
    /* bf16 */
    static const struct { uint32_t f; uint16_t b; } bf[] = {
        { 0x3f800000u, 0x3f80 }, { 0x3f808000u, 0x3f80 }, /* tie -> even */
        { 0x3f818000u, 0x3f82 }, { 0x3f808001u, 0x3f81 },
        { 0xbf80ffffu, 0xbf81 }, { 0x7f7fffffu, 0x7f80 }, /* overflow -> inf */
        { 0x7f800000u, 0x7f80 }, { 0x7f800001u, 0x7fc0 }, /* NaN quieted */
        { 0x00000001u, 0x0000 }, { 0x80000000u, 0x8000 },
    };
    for (size_t i = 0; i < sizeof bf / sizeof bf[0]; i++) {
        n_checks++;
        if (fwi_fp32_to_bf16(fwi_f32_from_bits(bf[i].f)) != bf[i].b)
            fail("fp32_to_bf16", "scalar", "0x%08" PRIx32 " -> 0x%04x want 0x%04x", bf[i].f,
                 fwi_fp32_to_bf16(fwi_f32_from_bits(bf[i].f)), bf[i].b);
        if (fwi_bf16_to_fp32(bf[i].b) != fwi_f32_from_bits((uint32_t)bf[i].b << 16) &&
            !isnan(fwi_bf16_to_fp32(bf[i].b)))
            fail("bf16_to_fp32", "scalar", "0x%04x", bf[i].b);
    }
}

/* Legacy types (Q4_1, Q5_0, Q5_1), scalar level, independently of the
 * kernels' own unpacking:
 *  - the *_ref quantisers round-trip through to_float within one step;
 *  - a hand-built block dequantises to known values;
 *  - the scalar dot equals sum(to_float(w) * to_float(x)) in double, up to
 *    f32 rounding and, for Q4_1/Q5_1, the fp16 rounding of the activation
 *    block sum s = d * sum(q) that the minimum term uses (as ggml). */
static void check_legacy_ref(const fwi_kernels *kc)
{
    if (!selected("block") && !selected("legacy"))
        return;
    static const int types[] = { FWI_TYPE_Q4_1, FWI_TYPE_Q5_0, FWI_TYPE_Q5_1 };
    float x[256], y[256];
    uint8_t q[24 * 8];
    for (size_t ti = 0; ti < 3; ti++) {
        const int type = types[ti];
        const fwi_type_traits *tr = fwi_type_traits_get(type);
        const int has_min = type != FWI_TYPE_Q5_0;
        const double levels = type == FWI_TYPE_Q4_1 ? 15 : 31;
        for (int it = 0; it < 200; it++) {
            const float sc = powf(10.0f, (float)((int)(rnd32() % 7) - 3));
            fill_f32(x, 64, sc);
            if (it % 4 == 0)
                for (int j = 0; j < 64; j++)
                    x[j] = fabsf(x[j]) + sc; /* all positive: m > 0 */
            tr->from_float(x, q, 64);
            tr->to_float(q, y, 64);
            for (int b = 0; b < 2; b++) {
                float mn = x[32 * b], mx = x[32 * b], amax = 0;
                for (int j = 0; j < 32; j++) {
                    mn = fminf(mn, x[32 * b + j]);
                    mx = fmaxf(mx, x[32 * b + j]);
                    amax = fmaxf(amax, fabsf(x[32 * b + j]));
                }
                /* min types: half a step + fp16 rounding of m and of d (x q <= 31);
                 * Q5_0: one step (the +max side clamps to 15 of 16) + d rounding */
                const double d = has_min ? (mx - mn) / levels : amax / 16.0;
                const double tol = has_min
                    ? (d * 0.5 + fabs(mn) * 0x1p-11 + levels * fmax(d * 0x1p-11, 0x1p-25)) * 1.0001 + 1e-30
                    : (d + 16 * fmax(d * 0x1p-11, 0x1p-25)) * 1.0001;
                for (int j = 0; j < 32; j++) {
                    n_checks++;
                    if (fabs((double)x[32 * b + j] - y[32 * b + j]) > tol) {
                        fail("roundtrip_legacy", tr->name, "x=%g y=%g tol=%g", (double)x[32 * b + j],
                             (double)y[32 * b + j], tol);
                        return;
                    }
                }
            }
        }
        /* hand-built block: d = 0.5, m = -2, qs[j] = j | (15 - j) << 4, 5th
         * bit set for odd elements: q_j = j + 16 * (j & 1) (j < 16), q_{j+16} =
         * 15 - j + 16 * (j & 1) */
        memset(q, 0, sizeof q);
        const fwi_f16 dh = 0x3800, mh = 0xc000;
        const size_t qs_off = type == FWI_TYPE_Q4_1 ? 4 : type == FWI_TYPE_Q5_0 ? 6 : 8;
        memcpy(q, &dh, 2);
        if (has_min)
            memcpy(q + 2, &mh, 2);
        if (type != FWI_TYPE_Q4_1) {
            const size_t qh_off = type == FWI_TYPE_Q5_0 ? 2 : 4;
            for (int k = 0; k < 4; k++)
                q[qh_off + (size_t)k] = 0xaa;
        }
        for (int j = 0; j < 16; j++)
            q[qs_off + (size_t)j] = (uint8_t)(j | (15 - j) << 4);
        tr->to_float(q, y, 32);
        int ok = 1;
        for (int j = 0; j < 32; j++) {
            int qq = j < 16 ? j : 31 - j;
            if (type != FWI_TYPE_Q4_1 && (j & 1))
                qq += 16;
            const double want = type == FWI_TYPE_Q5_0 ? (qq - 16) * 0.5 : qq * 0.5 - 2.0;
            ok &= y[j] == want;
        }
        n_checks++;
        if (!ok)
            fail("block_legacy_values", tr->name, "hand-built block dequantises wrongly");

        /* dot vs dequantised reference */
        const int at = tr->vec_dot_type;
        uint8_t act[36 * 8];
        for (int it = 0; it < 100; it++) {
            const int nb = 1 + (int)(rnd32() % 8), n = nb * 32;
            rand_weight_row(type, q, n);
            fill_f32(x, (size_t)n, 2.0f);
            kc->quantize_row[at](act, x, n);
            float got;
            kc->matvec[type](&got, q, 0, act, n, 0, 1);
            float xf[256];
            tr->to_float(q, y, n);
            fwi_type_traits_get(at)->to_float(act, xf, n);
            double ref = 0, S = 0, smin = 0;
            for (int j = 0; j < n; j++) {
                ref += (double)y[j] * xf[j];
                S += fabs((double)y[j] * xf[j]);
            }
            if (has_min) {
                const size_t bs = tr->type_size;
                for (int b = 0; b < nb; b++) {
                    fwi_f16 mwh, sxh;
                    memcpy(&mwh, q + (size_t)b * bs + 2, 2);
                    memcpy(&sxh, act + (size_t)b * 36 + 2, 2);
                    smin += fabs((double)fwi_fp16_to_fp32(mwh) * fwi_fp16_to_fp32(sxh));
                    S += fabs((double)fwi_fp16_to_fp32(mwh) * fwi_fp16_to_fp32(sxh));
                }
            }
            const double tol = 4.0 * (nb + 8) * EPS_F32 * S + smin * 0x1p-10 * 1.01 + 1e-30;
            n_checks++;
            if (!near(got, ref, tol)) {
                fail("dot_legacy_vs_dequant", tr->name, "n=%d got %.9g want %.9g tol %.3g", n,
                     (double)got, ref, tol);
                break;
            }
        }
    }
}

/* Q2_K / Q3_K, scalar level: the packed 6-bit Q3_K scales against the
 * 32-bit mask formulation (the four 4-byte words of unpacked scales), and
 * the scalar dots against sum(to_float(w) * to_float(x)) in double (the
 * Q2_K min term uses the exact block sums, so only f32 rounding differs;
 * the error scale counts |d*sc*q| and |dmin*m| separately). */
static void check_lowk_ref(const fwi_kernels *kc)
{
    if (!selected("block") && !selected("lowk"))
        return;
    for (int it = 0; it < 100; it++) {
        uint8_t sc[12];
        for (int j = 0; j < 12; j++)
            sc[j] = (uint8_t)rnd32();
        uint32_t a0, a1, a2, u[4];
        memcpy(&a0, sc, 4);
        memcpy(&a1, sc + 4, 4);
        memcpy(&a2, sc + 8, 4);
        u[0] = (a0 & 0x0f0f0f0fu) | ((a2 & 0x03030303u) << 4);
        u[1] = (a1 & 0x0f0f0f0fu) | (((a2 >> 2) & 0x03030303u) << 4);
        u[2] = ((a0 >> 4) & 0x0f0f0f0fu) | (((a2 >> 4) & 0x03030303u) << 4);
        u[3] = ((a1 >> 4) & 0x0f0f0f0fu) | (((a2 >> 6) & 0x03030303u) << 4);
        for (int j = 0; j < 16; j++) {
            const int want = (int)((u[j / 4] >> (8 * (j % 4))) & 0xff) - 32;
            n_checks++;
            if (fwi_q3k_scale(j, sc) != want) {
                fail("q3k_scale", "scalar", "j=%d got %d want %d", j, fwi_q3k_scale(j, sc), want);
                return;
            }
        }
    }
    static const int types[] = { FWI_TYPE_Q2_K, FWI_TYPE_Q3_K };
    const size_t max_nb = 3;
    uint8_t *w = xmalloc(max_nb * sizeof(fwi_block_q3_K));
    uint8_t *act = xmalloc(max_nb * sizeof(fwi_block_q8_K));
    float *x = xmalloc(max_nb * FWI_QK_K * sizeof(float));
    float *wf = xmalloc(max_nb * FWI_QK_K * sizeof(float));
    float *xf = xmalloc(max_nb * FWI_QK_K * sizeof(float));
    for (size_t ti = 0; ti < 2; ti++) {
        const int type = types[ti];
        const fwi_type_traits *tr = fwi_type_traits_get(type);
        for (int it = 0; it < 100; it++) {
            const int nb = 1 + (int)(rnd32() % max_nb), n = nb * FWI_QK_K;
            rand_weight_row(type, w, n);
            fill_f32(x, (size_t)n, 2.0f);
            kc->quantize_row[FWI_TYPE_Q8_K](act, x, n);
            float got;
            kc->matvec[type](&got, w, 0, act, n, 0, 1);
            tr->to_float(w, wf, n);
            fwi_type_traits_get(FWI_TYPE_Q8_K)->to_float(act, xf, n);
            double ref = 0, S = 0;
            for (int e = 0; e < n; e++) {
                ref += (double)wf[e] * xf[e];
                if (type == FWI_TYPE_Q2_K) { /* |d*sc*q| + |dmin*m| */
                    const uint8_t *blk = w + (size_t)(e / FWI_QK_K) * tr->type_size;
                    fwi_f16 dh, mh;
                    memcpy(&dh, blk + 80, 2);
                    memcpy(&mh, blk + 82, 2);
                    const uint8_t s8 = blk[(e % FWI_QK_K) / 16];
                    S += (fabs((double)fwi_fp16_to_fp32(dh) * (s8 & 15) * 3) +
                          fabs((double)fwi_fp16_to_fp32(mh) * (s8 >> 4))) * fabs(xf[e]);
                } else {
                    S += fabs((double)wf[e] * xf[e]);
                }
            }
            const double tol = 4.0 * (16.0 * nb + 8) * EPS_F32 * S + 1e-30;
            n_checks++;
            if (!near(got, ref, tol)) {
                fail("dot_lowk_vs_dequant", tr->name, "n=%d got %.9g want %.9g tol %.3g", n,
                     (double)got, ref, tol);
                break;
            }
        }
    }
    free(w); free(act); free(x); free(wf); free(xf);
}

static void check_blocks(const fwi_kernels *kc)
{
    check_legacy_ref(kc);
    check_lowk_ref(kc);
    if (!selected("block"))
        return;
    float x[64], y[64];
    fwi_block_q8_0 q8[2];
    fwi_block_q4_0 q4[2];

    /* Q8_0: x_j = j - 16 -> amax 16, d = 16/127 (fp16 0x3008),
     * q_j = roundf((j - 16) * 127/16) */
    for (int j = 0; j < 32; j++)
        x[j] = (float)(j - 16);
    fwi_quantize_row_q8_0_ref(x, q8, 32);
    n_checks++;
    if (q8[0].d != 0x3008 || q8[0].qs[0] != -127 || q8[0].qs[31] != 119 ||
        q8[0].qs[16] != 0 || q8[0].qs[17] != 8 || q8[0].qs[15] != -8)
        fail("block_q8_0_values", "scalar", "d=0x%04x q0=%d q15=%d q16=%d q17=%d q31=%d",
             q8[0].d, q8[0].qs[0], q8[0].qs[15], q8[0].qs[16], q8[0].qs[17], q8[0].qs[31]);

    /* _ref rounding is roundf (ties away from zero): amax 127 -> d = id = 1 */
    memset(x, 0, sizeof x);
    x[0] = 127.0f; x[1] = 2.5f; x[2] = -2.5f; x[3] = 0.5f; x[4] = -0.5f; x[5] = 1.5f;
    x[6] = 0.49999997f;
    fwi_quantize_row_q8_0_ref(x, q8, 32);
    n_checks++;
    if (q8[0].d != 0x3c00 || q8[0].qs[1] != 3 || q8[0].qs[2] != -3 || q8[0].qs[3] != 1 ||
        q8[0].qs[4] != -1 || q8[0].qs[5] != 2 || q8[0].qs[6] != 0)
        fail("block_q8_0_rounding", "scalar", "d=0x%04x %d %d %d %d %d %d", q8[0].d,
             q8[0].qs[1], q8[0].qs[2], q8[0].qs[3], q8[0].qs[4], q8[0].qs[5], q8[0].qs[6]);

    /* the activation quantiser (every ISA) rounds ties to even like ggml's
     * SIMD kernels: 2.5 -> 2, -2.5 -> -2, 0.5 -> 0, 1.5 -> 2, 3.5 -> 4 */
    x[7] = 3.5f;
    for (int lvl = 0; lvl <= (int)fwi_cpu_detect(); lvl++) {
        fwi_kernels k;
        fwi_kernels_init(&k, (enum fwi_isa)lvl);
        fwi_block_q8_0 qa;
        k.quantize_row[FWI_TYPE_Q8_0](&qa, x, 32);
        n_checks++;
        if (qa.d != 0x3c00 || qa.qs[0] != 127 || qa.qs[1] != 2 || qa.qs[2] != -2 ||
            qa.qs[3] != 0 || qa.qs[4] != 0 || qa.qs[5] != 2 || qa.qs[6] != 0 || qa.qs[7] != 4)
            fail("quantize_row_q8_0_values", fwi_isa_name(k.isa), "d=0x%04x %d %d %d %d %d %d %d",
                 qa.d, qa.qs[1], qa.qs[2], qa.qs[3], qa.qs[4], qa.qs[5], qa.qs[6], qa.qs[7]);
    }

    /* Q4_0: x_j = j - 8 (j < 16), 7 - (j - 16) (j >= 16): max |x| is -8 ->
     * d = -8/-8 = 1, q = x + 8; qs[j] = j | (15 - j) << 4 */
    for (int j = 0; j < 16; j++) {
        x[j] = (float)(j - 8);
        x[j + 16] = (float)(7 - j);
    }
    fwi_quantize_row_q4_0_ref(x, q4, 32);
    int ok = q4[0].d == 0x3c00;
    for (int j = 0; j < 16; j++)
        ok &= q4[0].qs[j] == (uint8_t)(j | (15 - j) << 4);
    fwi_dequantize_row_q4_0(q4, y, 32);
    for (int j = 0; j < 32; j++)
        ok &= y[j] == x[j];
    n_checks++;
    if (!ok)
        fail("block_q4_0_values", "scalar", "d=0x%04x qs0=0x%02x qs15=0x%02x", q4[0].d,
             q4[0].qs[0], q4[0].qs[15]);

    /* dot(Q4_0 above, Q8_0 with d = 1, q = 1) = sum(x) = -16 on every ISA;
     * dot(Q8_0 {d=0.5, q=j-16}, Q8_0 {d=2, q=1}) = 0.5*2*sum(j-16) = -16 */
    fwi_block_q8_0 ones = { 0x3c00, { 0 } }, twos = { 0x4000, { 0 } }, w8 = { 0x3800, { 0 } };
    for (int j = 0; j < 32; j++) {
        ones.qs[j] = 1;
        twos.qs[j] = 1;
        w8.qs[j] = (int8_t)(j - 16);
    }
    for (int lvl = 0; lvl <= (int)fwi_cpu_detect(); lvl++) {
        fwi_kernels k;
        fwi_kernels_init(&k, (enum fwi_isa)lvl);
        float o[2] = { 0, 0 };
        k.matvec[FWI_TYPE_Q4_0](o, q4, sizeof q4[0], &ones, 32, 0, 1);
        k.matvec[FWI_TYPE_Q8_0](o + 1, &w8, sizeof w8, &twos, 32, 0, 1);
        n_checks++;
        if (o[0] != -16.0f || o[1] != -16.0f)
            fail("block_dot_values", fwi_isa_name(k.isa), "q4_0 %g q8_0 %g (want -16)",
                 (double)o[0], (double)o[1]);
    }
    (void)kc;

    /* round trips: |x - dequant(quant(x))| within the format's step */
    for (int it = 0; it < 200; it++) {
        const float sc = powf(10.0f, (float)((int)(rnd32() % 9) - 4));
        fill_f32(x, 64, sc);
        if (it % 7 == 0)
            x[rnd32() % 64] *= 50.0f; /* outlier */
        fwi_quantize_row_q8_0_ref(x, q8, 64);
        fwi_dequantize_row_q8_0(q8, y, 64);
        for (int b = 0; b < 2; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++)
                amax = fmaxf(amax, fabsf(x[32 * b + j]));
            /* half a step + the fp16 rounding of d (2^-11 relative, 2^-25
             * absolute once d is subnormal in fp16) times |q| <= 127 */
            const double d = amax / 127.0;
            const double tol = (d * 0.5 + 127 * fmax(d * 0x1p-11, 0x1p-25)) * 1.0001;
            for (int j = 0; j < 32; j++) {
                n_checks++;
                if (fabs((double)x[32 * b + j] - y[32 * b + j]) > tol) {
                    fail("roundtrip_q8_0", "scalar", "x=%g y=%g tol=%g", (double)x[32 * b + j],
                         (double)y[32 * b + j], tol);
                    goto q4;
                }
            }
        }
    q4:
        fwi_quantize_row_q4_0_ref(x, q4, 64);
        fwi_dequantize_row_q4_0(q4, y, 64);
        for (int b = 0; b < 2; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++)
                amax = fmaxf(amax, fabsf(x[32 * b + j]));
            /* one step (the +max side clamps to 7 of 8) + fp16 d rounding */
            const double d = amax / 8.0;
            const double tol = (d + 8 * fmax(d * 0x1p-11, 0x1p-25)) * 1.0001;
            for (int j = 0; j < 32; j++) {
                n_checks++;
                if (fabs((double)x[32 * b + j] - y[32 * b + j]) > tol) {
                    fail("roundtrip_q4_0", "scalar", "x=%g y=%g tol=%g", (double)x[32 * b + j],
                         (double)y[32 * b + j], tol);
                    goto f16;
                }
            }
        }
    f16:
        for (int j = 0; j < 64; j++) {
            const float h = fwi_fp16_to_fp32(fwi_fp32_to_fp16(x[j]));
            const float b = fwi_bf16_to_fp32(fwi_fp32_to_bf16(x[j]));
            n_checks++;
            if ((fabsf(x[j]) > 6.2e-5f && fabsf(x[j]) < 65504.0f &&
                 fabsf(h - x[j]) > fabsf(x[j]) * 0x1p-11f) ||
                fabsf(b - x[j]) > fabsf(x[j]) * 0x1p-8f) {
                fail("roundtrip_f16_bf16", "scalar", "x=%a h=%a b=%a", (double)x[j], (double)h,
                     (double)b);
                break;
            }
        }
    }
}

/* ---------------------------------------------------------------------- */
/* matvec / matmul */

typedef struct {
    int type, n, rows;
    size_t ws, off;
    uint8_t *wbuf;      /* allocation */
    const void *w;      /* wbuf + off (misaligned on purpose) */
} wmat;

static void wmat_make(wmat *m, int type, int rows, int n, int pad)
{
    const size_t rs = fwi_row_size(type, n);
    const size_t align = type == FWI_TYPE_F32 ? 4 : 2;
    m->type = type;
    m->n = n;
    m->rows = rows;
    m->ws = rs + (size_t)pad * align;
    m->off = align * (1 + rnd32() % 7); /* never 32-byte aligned for pad=0 */
    m->wbuf = xmalloc(m->off + m->ws * (size_t)rows + 64);
    memset(m->wbuf, 0xa5, m->off + m->ws * (size_t)rows + 64);
    for (int r = 0; r < rows; r++)
        rand_weight_row(type, m->wbuf + m->off + (size_t)r * m->ws, n);
    m->w = m->wbuf + m->off;
}

#define SENTINEL 0x7fc0dead

static void fill_sentinel(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = fwi_f32_from_bits(SENTINEL);
}

static int is_sentinel(float v)
{
    return fwi_f32_bits(v) == SENTINEL;
}

static void check_matvec_one(const fwi_kernels *kc, const fwi_kernels *k, int level_tested,
                             int type, int rows, int n, int pad)
{
    const char *isa = fwi_isa_name(k->isa);
    const char *tn = fwi_type_traits_get(type)->name;
    char kname[64];
    snprintf(kname, sizeof kname, "matvec_%s", tn);
    int exact = exact_on_arch(kname);
    wmat m;
    wmat_make(&m, type, rows, n, pad);

    const size_t as = act_row_size(type, n);
    const size_t xoff = fwi_type_traits_get(type)->blck_size > 1 ? 2 : 4;
    uint8_t *xbuf = xmalloc(as + xoff + 32);
    void *act = xbuf + xoff;
    float *xf = xmalloc((size_t)n * sizeof(float));
    fill_f32(xf, (size_t)n, 2.0f);
    make_act(kc, type, act, xf, n);

    float *oc = xmalloc((size_t)(rows + 2) * sizeof(float));
    float *os = xmalloc((size_t)(rows + 2) * sizeof(float));
    float *o2 = xmalloc((size_t)(rows + 2) * sizeof(float));
    fill_sentinel(oc, (size_t)rows + 2);
    fill_sentinel(os, (size_t)rows + 2);
    fill_sentinel(o2, (size_t)rows + 2);

    /* reference over all rows, SIMD over [r0, r1) */
    const int r0 = rows > 2 ? (int)(rnd32() % 2) : 0;
    const int r1 = rows > 3 ? rows - (int)(rnd32() % 2) : rows;
    kc->matvec[type](oc + 1, m.w, m.ws, act, n, 0, rows);
    k->matvec[type](os + 1, m.w, m.ws, act, n, r0, r1);

    for (int r = -1; r <= rows; r++) {
        const float got = os[r + 1];
        n_checks++;
        if (r < r0 || r >= r1) {
            if (!is_sentinel(got)) {
                fail(kname, isa, "rows=%d n=%d: wrote row %d outside [%d,%d)", rows, n, r, r0, r1);
                goto out;
            }
            continue;
        }
        if (level_tested && exact && !same_bits(got, oc[r + 1])) {
            fail(kname, isa, "rows=%d n=%d ws=%zu row %d: got %a want %a (exact match required)",
                 rows, n, m.ws, r, (double)got, (double)oc[r + 1]);
            goto out;
        }
        const double S = abs_dot(type, (const uint8_t *)m.w + (size_t)r * m.ws, act, n);
        /* worst-case bound of two differently ordered f32 sums */
        const double tol = 2.0 * (dot_steps(type, n) + 8.0) * EPS_F32 * S + 1e-30;
        if (level_tested && !near(got, oc[r + 1], tol)) {
            fail(kname, isa, "rows=%d n=%d ws=%zu row %d: got %.9g want %.9g (tol %.3g)", rows, n,
                 m.ws, r, (double)got, (double)oc[r + 1], tol);
            goto out;
        }
    }

    /* determinism: the same rows split into arbitrary pieces give the same bits */
    {
        int a = r0;
        while (a < r1) {
            const int len = 1 + (int)(rnd32() % 6);
            const int b = a + len < r1 ? a + len : r1;
            k->matvec[type](o2 + 1, m.w, m.ws, act, n, a, b);
            a = b;
        }
        for (int r = r0; r < r1; r++) {
            n_checks++;
            if (!same_bits(o2[r + 1], os[r + 1])) {
                fail(kname, isa, "rows=%d n=%d: row %d differs when rows are split (%a vs %a)",
                     rows, n, r, (double)o2[r + 1], (double)os[r + 1]);
                goto out;
            }
        }
    }

    /* matmul with n_tok tokens (token 0 is `act`) == matvec per token */
    snprintf(kname, sizeof kname, "matmul_%s", tn);
    exact = exact_on_arch(kname);
    /* 1..9 tokens, and 17 (with n = 4096, past the small-batch path of
     * the x86 panel matmuls, which streams whole rows up to 2048 blocks x
     * tokens) */
    for (int ntok = 1; ntok <= 9 || ntok == 17; ntok = ntok == 9 ? 17 : ntok + 1) {
        /* token stride: row size plus 0..2 elements of padding */
        const size_t xs_al = as + (size_t)(rnd32() % 3) *
            (fwi_type_traits_get(type)->vec_dot_type == FWI_TYPE_F32 ? 4 : 2);
        uint8_t *xm = xmalloc(xoff + xs_al * (size_t)ntok + 32);
        float *xtok = xmalloc((size_t)n * sizeof(float));
        for (int t = 0; t < ntok; t++) {
            if (t == 0)
                memcpy(xm + xoff, act, as);
            else {
                fill_f32(xtok, (size_t)n, 2.0f);
                make_act(kc, type, xm + xoff + (size_t)t * xs_al, xtok, n);
            }
        }
        const size_t ostr = (size_t)rows + 3;
        float *mc = xmalloc(ostr * (size_t)ntok * sizeof(float));
        float *ms = xmalloc(ostr * (size_t)ntok * sizeof(float));
        float *mv = xmalloc((size_t)rows * sizeof(float));
        fill_sentinel(ms, ostr * (size_t)ntok);
        kc->matmul[type](mc, ostr, m.w, m.ws, xm + xoff, xs_al, n, 0, rows, ntok);
        /* SIMD matmul over [r0, r1), split in two row ranges */
        const int mid = r0 + (r1 - r0) / 2;
        k->matmul[type](ms, ostr, m.w, m.ws, xm + xoff, xs_al, n, r0, mid, ntok);
        k->matmul[type](ms, ostr, m.w, m.ws, xm + xoff, xs_al, n, mid, r1, ntok);
        for (int t = 0; t < ntok; t++) {
            const void *xt = xm + xoff + (size_t)t * xs_al;
            k->matvec[type](mv, m.w, m.ws, xt, n, 0, rows);
            for (size_t r = 0; r < ostr; r++) {
                const float got = ms[(size_t)t * ostr + r];
                n_checks++;
                if ((int)r < r0 || (int)r >= r1) {
                    if (!is_sentinel(got)) {
                        fail(kname, isa, "rows=%d n=%d B=%d: wrote t=%d r=%zu outside range",
                             rows, n, ntok, t, r);
                        goto next;
                    }
                    continue;
                }
                if (!same_bits(got, mv[r])) {
                    fail(kname, isa, "rows=%d n=%d B=%d t=%d r=%zu: matmul %a != matvec %a",
                         rows, n, ntok, t, r, (double)got, (double)mv[r]);
                    goto next;
                }
                if (level_tested && exact && !same_bits(got, mc[(size_t)t * ostr + r])) {
                    fail(kname, isa, "rows=%d n=%d B=%d t=%d r=%zu: got %a want %a (exact "
                         "match required)", rows, n, ntok, t, r, (double)got,
                         (double)mc[(size_t)t * ostr + r]);
                    goto next;
                }
                const double S = abs_dot(type, (const uint8_t *)m.w + r * m.ws, xt, n);
                const double tol = 2.0 * (dot_steps(type, n) + 8.0) * EPS_F32 * S + 1e-30;
                if (level_tested && !near(got, mc[(size_t)t * ostr + r], tol)) {
                    fail(kname, isa, "rows=%d n=%d B=%d t=%d r=%zu: got %.9g want %.9g", rows,
                         n, ntok, t, r, (double)got, (double)mc[(size_t)t * ostr + r]);
                    goto next;
                }
            }
        }
    next:
        free(xm);
        free(xtok);
        free(mc);
        free(ms);
        free(mv);
    }
out:
    free(m.wbuf);
    free(xbuf);
    free(xf);
    free(oc);
    free(os);
    free(o2);
}

static void check_quantize(const fwi_kernels *kc, const fwi_kernels *k)
{
    const char *isa = fwi_isa_name(k->isa);
    for (int it = 0; it < 60; it++) {
        const int nb = 1 + (int)(rnd32() % 9);
        const int n = nb * 32;
        float *x = xmalloc((size_t)n * sizeof(float) + 4);
        float *xu = x + 1; /* misaligned */
        const float sc = powf(10.0f, (float)((int)(rnd32() % 9) - 4));
        fill_f32(xu, (size_t)n, sc);
        if (it % 3 == 0) { /* exact .5 ties after scaling: amax 127 -> id 1 */
            for (int b = 0; b < nb; b++) {
                xu[32 * b] = 127.0f;
                for (int j = 1; j < 32; j++)
                    xu[32 * b + j] = (float)((int)(rnd32() % 253) - 126) + 0.5f * (float)(rnd32() & 1);
            }
        }
        if (it % 5 == 0)
            memset(xu, 0, 32 * sizeof(float)); /* zero block: d = 0 */
        fwi_block_q8_0 *a = xmalloc((size_t)nb * sizeof *a + 2);
        fwi_block_q8_0 *b = xmalloc((size_t)nb * sizeof *b + 2);
        kc->quantize_row[FWI_TYPE_Q8_0](a, xu, n);
        k->quantize_row[FWI_TYPE_Q8_0](b, xu, n);
        n_checks++;
        if (memcmp(a, b, (size_t)nb * sizeof *a)) {
            int bi = 0;
            while (!memcmp(&a[bi], &b[bi], sizeof *a))
                bi++;
            fail("quantize_row_q8_0", isa, "n=%d block %d differs (exact match required)", n, bi);
        }
        free(x);
        free(a);
        free(b);
    }
}

/* Q8_1 activation quantiser: the same bytes on every ISA, and equal to an
 * independent model of ggml's AVX2 quantize_row_q8_1 (d = amax/127,
 * id = 127/amax, q = nearbyint(x * id) (ties to even), s = fp16(d * sum q)) */
static void check_quantize_q8_1(const fwi_kernels *kc, const fwi_kernels *k)
{
    const char *isa = fwi_isa_name(k->isa);
    for (int it = 0; it < 60; it++) {
        const int nb = 1 + (int)(rnd32() % 9);
        const int n = nb * 32;
        float *x = xmalloc((size_t)n * sizeof(float) + 4);
        float *xu = x + 1; /* misaligned */
        const float sc = powf(10.0f, (float)((int)(rnd32() % 9) - 4));
        fill_f32(xu, (size_t)n, sc);
        if (it % 3 == 0) { /* exact .5 ties after scaling: amax 127 -> id 1 */
            for (int b = 0; b < nb; b++) {
                xu[32 * b] = 127.0f;
                for (int j = 1; j < 32; j++)
                    xu[32 * b + j] = (float)((int)(rnd32() % 253) - 126) + 0.5f * (float)(rnd32() & 1);
            }
        }
        if (it % 5 == 0)
            memset(xu, 0, 32 * sizeof(float)); /* zero block: d = 0, s = 0 */
        fwi_block_q8_1 *a = xmalloc((size_t)nb * sizeof *a + 2);
        fwi_block_q8_1 *b = xmalloc((size_t)nb * sizeof *b + 2);
        fwi_block_q8_1 *m = xmalloc((size_t)nb * sizeof *m + 2);
        for (int bi = 0; bi < nb; bi++) {
            const float *xb = xu + 32 * bi;
            float amax = 0.0f;
            for (int j = 0; j < 32; j++)
                amax = fmaxf(amax, fabsf(xb[j]));
            const float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                const float v = xb[j] * id;
                m[bi].qs[j] = (int8_t)nearbyintf(v);
                sum += m[bi].qs[j];
            }
            m[bi].d = fwi_fp32_to_fp16(d);
            m[bi].s = fwi_fp32_to_fp16(d * (float)sum);
        }
        kc->quantize_row[FWI_TYPE_Q8_1](a, xu, n);
        k->quantize_row[FWI_TYPE_Q8_1](b, xu, n);
        n_checks += 2;
        if (memcmp(a, m, (size_t)nb * sizeof *a))
            fail("quantize_row_q8_1", "scalar", "n=%d differs from the model of ggml's AVX2 "
                 "quantize_row_q8_1", n);
        if (memcmp(a, b, (size_t)nb * sizeof *a)) {
            int bi = 0;
            while (!memcmp(&a[bi], &b[bi], sizeof *a))
                bi++;
            fail("quantize_row_q8_1", isa, "n=%d block %d differs (exact match required)", n, bi);
        }
        free(x);
        free(a);
        free(b);
        free(m);
    }
}

/* Q8_K (K-quant activations): the same bytes on every ISA; the scalar bytes
 * also against their definition (ggml's x86 quantize_row_q8_K: iscale =
 * -127 / max (max: first element of largest |x|), q = min(127,
 * rint(iscale * x)), d = 1 / iscale, bsums) */
static void check_quantize_q8_K(const fwi_kernels *kc, const fwi_kernels *k)
{
    const char *isa = fwi_isa_name(k->isa);
    for (int it = 0; it < 40; it++) {
        const int nb = 1 + (int)(rnd32() % 4);
        const int n = nb * FWI_QK_K;
        float *x = xmalloc((size_t)n * sizeof(float) + 4);
        float *xu = x + 1; /* misaligned */
        const float sc = powf(10.0f, (float)((int)(rnd32() % 9) - 4));
        fill_f32(xu, (size_t)n, sc);
        if (it % 3 == 0) { /* exact .5 ties: max -127 -> iscale 1; amax of both signs */
            for (int b = 0; b < nb; b++) {
                for (int j = 0; j < FWI_QK_K; j++)
                    xu[256 * b + j] = (float)((int)(rnd32() % 253) - 126) + 0.5f * (float)(rnd32() & 1);
                xu[256 * b + (int)(rnd32() % 255)] = -127.0f;
                if (it % 2)
                    xu[256 * b + 255] = 127.0f;
            }
        }
        if (it % 4 == 1)
            xu[rnd32() % (unsigned)n] *= 300.0f; /* one outlier: large amax */
        if (it % 5 == 0)
            memset(xu, 0, FWI_QK_K * sizeof(float)); /* zero block: d = 0 */
        const size_t rs = fwi_row_size(FWI_TYPE_Q8_K, n);
        uint8_t *a = xmalloc(rs + 8), *b = xmalloc(rs + 8);
        memset(a, 0x5a, rs + 8);
        memset(b, 0x5a, rs + 8);
        kc->quantize_row[FWI_TYPE_Q8_K](a + 2, xu, n); /* 2-byte aligned rows */
        k->quantize_row[FWI_TYPE_Q8_K](b + 2, xu, n);
        n_checks++;
        if (memcmp(a, b, rs + 8)) {
            size_t bi = 0;
            while (a[bi] == b[bi])
                bi++;
            fail("quantize_row_q8_K", isa, "n=%d byte %zu differs (exact match required)", n, bi);
        }
        for (int bl = 0; k == kc && bl < nb; bl++) {
            fwi_block_q8_K q;
            memcpy(&q, a + 2 + (size_t)bl * sizeof q, sizeof q);
            const float *xb = xu + 256 * bl;
            float amax = 0, mx = 0;
            for (int j = 0; j < 256; j++) {
                if (fabsf(xb[j]) > amax) {
                    amax = fabsf(xb[j]);
                    mx = xb[j];
                }
            }
            const float is = amax > 0 ? -127.0f / mx : 0.0f;
            int bad = amax > 0 ? q.d != 1.0f / is : q.d != 0.0f;
            for (int j = 0; j < 256 && !bad; j++) {
                const float v = is * xb[j];
                double r = nearbyint((double)v); /* FE_TONEAREST default */
                r = r > 127 ? 127 : r;
                bad = q.qs[j] != (int)r;
            }
            for (int g = 0; g < 16 && !bad; g++) {
                int s = 0;
                for (int j = 0; j < 16; j++)
                    s += q.qs[16 * g + j];
                bad = q.bsums[g] != s;
            }
            n_checks++;
            if (bad) {
                fail("quantize_row_q8_K", "scalar", "n=%d block %d differs from the definition", n, bl);
                break;
            }
        }
        free(x);
        free(a);
        free(b);
    }
}

static void check_matmuls(const fwi_kernels *kc, const fwi_kernels *k, const fwi_kernels *kprev)
{
    /* model shapes among them: stories260K (n_embd 64, n_ff 172, vocab
     * 512), the synthetic models (128, 256, 600) */
    static const int qn[] = { 32, 64, 96, 128, 160, 256, 1024, 4096 };
    static const int fn[] = { 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 128, 172, 257, 1000, 4096 };
    static const int rows_list[] = { 1, 2, 3, 4, 5, 7, 8, 9, 13 };
    static const int kn[] = { 256, 512, 768, 2048 }; /* K-quants: multiples of 256 */

    if (selected("quantize_row_q8_0") && k->quantize_row[FWI_TYPE_Q8_0] !=
        (kprev ? kprev->quantize_row[FWI_TYPE_Q8_0] : NULL))
        check_quantize(kc, k);
    if (selected("quantize_row_q8_K") && k->quantize_row[FWI_TYPE_Q8_K] !=
        (kprev ? kprev->quantize_row[FWI_TYPE_Q8_K] : NULL))
        check_quantize_q8_K(kc, k);
    if (selected("quantize_row_q8_1") && k->quantize_row[FWI_TYPE_Q8_1] !=
        (kprev ? kprev->quantize_row[FWI_TYPE_Q8_1] : NULL))
        check_quantize_q8_1(kc, k);

    for (int ti = 0; ti < N_TYPES; ti++) {
        const int type = all_types[ti];
        char name[64];
        snprintf(name, sizeof name, "mat_%s", fwi_type_traits_get(type)->name);
        if (!selected(name) && !selected("matvec") && !selected("matmul"))
            continue;
        /* skip kernels identical to the previous level (already tested),
         * but the scalar level still runs the determinism checks */
        const int changed = !kprev || k->matvec[type] != kprev->matvec[type] ||
                            k->matmul[type] != kprev->matmul[type];
        if (!changed)
            continue;
        const int quant = fwi_type_traits_get(type)->blck_size > 1;
        const int kq = fwi_type_traits_get(type)->blck_size == FWI_QK_K;
        const int *ns = kq ? kn : quant ? qn : fn;
        const int nn = kq ? (int)(sizeof kn / sizeof kn[0])
                     : quant ? (int)(sizeof qn / sizeof qn[0]) : (int)(sizeof fn / sizeof fn[0]);
        for (int a = 0; a < nn; a++) {
            for (size_t b = 0; b < sizeof rows_list / sizeof rows_list[0]; b++) {
                if (ns[a] >= 1024 && rows_list[b] > 5)
                    continue;
                check_matvec_one(kc, k, kprev != NULL, type, rows_list[b], ns[a],
                                 (int)(rnd32() % 3));
            }
        }
    }
}

/* ---------------------------------------------------------------------- */
/* small kernels */

static int cmp_rel(const char *kname, const char *isa, const float *got, const float *ref, int n,
                   double rel, double abs_tol, const char *ctx)
{
    for (int i = 0; i < n; i++) {
        n_checks++;
        if (!near(got[i], ref[i], rel * fabs(ref[i]) + abs_tol)) {
            fail(kname, isa, "%s i=%d: got %.9g want %.9g", ctx, i, (double)got[i], (double)ref[i]);
            return 0;
        }
    }
    return 1;
}

static int cmp_exact(const char *kname, const char *isa, const float *got, const float *ref,
                     int n, const char *ctx)
{
    for (int i = 0; i < n; i++) {
        n_checks++;
        if (!same_bits(got[i], ref[i])) {
            fail(kname, isa, "%s i=%d: got %a want %a (exact match required)", ctx, i,
                 (double)got[i], (double)ref[i]);
            return 0;
        }
    }
    return 1;
}

static void check_ops(const fwi_kernels *kc, const fwi_kernels *k, const fwi_kernels *kp)
{
    static const int sizes[] = { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100,
                                 128, 172, 255, 256, 4096, 4097 };
    const char *isa = fwi_isa_name(k->isa);
    const int nsz = (int)(sizeof sizes / sizeof sizes[0]);
    const int maxn = 4097 + 8;
    float *a = xmalloc(maxn * sizeof(float)), *b = xmalloc(maxn * sizeof(float));
    float *w = xmalloc(maxn * sizeof(float));
    float *yc = xmalloc(maxn * sizeof(float)), *ys = xmalloc(maxn * sizeof(float));
    char ctx[96];

#define CHANGED(f) (k->f != kp->f && selected(#f))
    for (int si = 0; si < nsz; si++) {
        const int n = sizes[si];
        const int o = (int)(rnd32() % 3); /* misalign by 0..2 floats */
        float *au = a + o, *bu = b + 1, *wu = w + 2;
        snprintf(ctx, sizeof ctx, "n=%d", n);

        if (CHANGED(rmsnorm)) {
            for (int withw = 0; withw < 2; withw++) {
                fill_f32(au, (size_t)n, 3.0f);
                fill_f32(wu, (size_t)n, 1.5f);
                kc->rmsnorm(yc, au, withw ? wu : NULL, n, 1e-5f);
                k->rmsnorm(ys, au, withw ? wu : NULL, n, 1e-5f);
                /* only the double summation order differs: <= 2 ulp */
                cmp_rel("rmsnorm", isa, ys, yc, n, 4 * EPS_F32, 1e-37, ctx);
                memcpy(ys, au, (size_t)n * sizeof(float)); /* in place */
                k->rmsnorm(ys, ys, withw ? wu : NULL, n, 1e-5f);
                cmp_rel("rmsnorm_inplace", isa, ys, yc, n, 4 * EPS_F32, 1e-37, ctx);
            }
        }
        if (CHANGED(softmax)) {
            fill_f32(yc, (size_t)n, 20.0f);
            if (n > 3)
                yc[rnd32() % n] = -INFINITY; /* masked entry */
            memcpy(ys, yc, (size_t)n * sizeof(float));
            kc->softmax(yc, n);
            k->softmax(ys, n);
            /* vector exp <= 2 ulp vs expf, plus normalisation: 8 ulp */
            cmp_rel("softmax", isa, ys, yc, n, 16 * EPS_F32, 1e-38, ctx);
        }
        if (CHANGED(silu_mul)) {
            fill_f32(au, (size_t)n, 20.0f);
            fill_f32(bu, (size_t)n, 2.0f);
            if (n > 4) {
                au[0] = 100.0f; au[1] = -100.0f; au[2] = 0.0f; au[3] = -90.0f;
            }
            kc->silu_mul(yc, au, bu, n);
            k->silu_mul(ys, au, bu, n);
            if (exact_on_arch("silu_mul"))
                cmp_exact("silu_mul", isa, ys, yc, n, ctx);
            else
                cmp_rel("silu_mul", isa, ys, yc, n, 16 * EPS_F32, 1e-38, ctx);
            /* in place, y aliasing a as the forward pass calls it */
            memcpy(ys, au, (size_t)n * sizeof(float));
            k->silu_mul(ys, ys, bu, n);
            if (exact_on_arch("silu_mul"))
                cmp_exact("silu_mul_inplace", isa, ys, yc, n, ctx);
            else
                cmp_rel("silu_mul_inplace", isa, ys, yc, n, 16 * EPS_F32, 1e-38, ctx);
        }
        if (CHANGED(add) || CHANGED(mul) || CHANGED(scale)) {
            fill_f32(au, (size_t)n, 5.0f);
            fill_f32(bu, (size_t)n, 5.0f);
            kc->add(yc, au, bu, n); k->add(ys, au, bu, n);
            cmp_exact("add", isa, ys, yc, n, ctx);
            kc->mul(yc, au, bu, n); k->mul(ys, au, bu, n);
            cmp_exact("mul", isa, ys, yc, n, ctx);
            kc->scale(yc, au, 0.37f, n); k->scale(ys, au, 0.37f, n);
            cmp_exact("scale", isa, ys, yc, n, ctx);
        }
        if (CHANGED(cvt_f32_to_f16) || CHANGED(cvt_f16_to_f32)) {
            fwi_f16 *hc = xmalloc((size_t)(n + 1) * 2), *hs = xmalloc((size_t)(n + 1) * 2);
            for (int i = 0; i < n; i++) { /* wide exponent range incl. subnormal/overflow */
                const int e = (int)(rnd32() % 48) - 30;
                au[i] = ldexpf(rndf(), e);
            }
            if (n > 6) {
                au[0] = 65519.99f; au[1] = 65520.0f; au[2] = -0.0f; au[3] = INFINITY;
                au[4] = 0x1p-25f; au[5] = 0x1.8p-25f; au[6] = 0x1.ffcp-15f;
            }
            kc->cvt_f32_to_f16(hc + 1, au, n);
            k->cvt_f32_to_f16(hs + 1, au, n);
            n_checks++;
            if (memcmp(hc + 1, hs + 1, (size_t)n * 2))
                fail("cvt_f32_to_f16", isa, "%s: differs (exact match required)", ctx);
            kc->cvt_f16_to_f32(yc, hc + 1, n);
            k->cvt_f16_to_f32(ys, hc + 1, n);
            n_checks++;
            if (memcmp(yc, ys, (size_t)n * sizeof(float)))
                fail("cvt_f16_to_f32", isa, "%s: differs (exact match required)", ctx);
            free(hc);
            free(hs);
        }
        if (CHANGED(vec_mad_f16) || CHANGED(vec_scale_f16)) {
            /* f16 accumulators: exact match required (fma, round to even) */
            fwi_f16 *x = xmalloc((size_t)(n + 1) * 2), *yc16 = xmalloc((size_t)(n + 1) * 2),
                    *ys16 = xmalloc((size_t)(n + 1) * 2);
            fill_f32(au, (size_t)n, 4.0f);
            kc->cvt_f32_to_f16(x + 1, au, n);
            fill_f32(bu, (size_t)n, 4.0f);
            kc->cvt_f32_to_f16(yc16 + 1, bu, n);
            memcpy(ys16 + 1, yc16 + 1, (size_t)n * 2);
            for (int rep = 0; rep < 8; rep++) {
                const float v = rndf() * 3.0f;
                kc->vec_mad_f16(yc16 + 1, x + 1, v, n);
                k->vec_mad_f16(ys16 + 1, x + 1, v, n);
                const float sc = 0.75f + rndf() * 0.2f;
                kc->vec_scale_f16(yc16 + 1, sc, n);
                k->vec_scale_f16(ys16 + 1, sc, n);
            }
            n_checks++;
            if (memcmp(yc16 + 1, ys16 + 1, (size_t)n * 2))
                fail("vec_mad_f16/vec_scale_f16", isa, "%s: differs (exact match required)", ctx);
            free(x);
            free(yc16);
            free(ys16);
        }
    }

    /* every half value through the SIMD converters (hardware vs our C) */
    if (CHANGED(cvt_f16_to_f32) || CHANGED(cvt_f32_to_f16)) {
        fwi_f16 *h = xmalloc(65536 * 2), *h2 = xmalloc(65536 * 2), *h3 = xmalloc(65536 * 2);
        float *f = xmalloc(65536 * sizeof(float)), *fc = xmalloc(65536 * sizeof(float));
        for (int i = 0; i < 65536; i++)
            h[i] = (fwi_f16)i;
        k->cvt_f16_to_f32(f, h, 65536);
        kc->cvt_f16_to_f32(fc, h, 65536);
        n_checks++;
        if (memcmp(f, fc, 65536 * sizeof(float)))
            fail("cvt_f16_to_f32", isa, "all 65536 halves: differs from C");
        /* midpoints between neighbouring halves exercise the rounding */
        for (int i = 0; i < 65535; i++)
            fc[i] = isfinite(f[i]) && isfinite(f[i + 1]) && (i & 0x7fff) != 0x7fff
                        ? (f[i] + f[i + 1]) * 0.5f : f[i];
        fc[65535] = f[65535];
        k->cvt_f32_to_f16(h2, fc, 65536);
        kc->cvt_f32_to_f16(h3, fc, 65536);
        n_checks++;
        if (memcmp(h2, h3, 65536 * 2))
            fail("cvt_f32_to_f16", isa, "half midpoints: differs from C");
        /* a sweep over all binary32 patterns (stride 4093) */
        for (uint64_t u0 = 0; u0 < 0x100000000ull; u0 += 4093ull * 65536) {
            for (int i = 0; i < 65536; i++)
                fc[i] = fwi_f32_from_bits((uint32_t)(u0 + (uint64_t)i * 4093));
            k->cvt_f32_to_f16(h2, fc, 65536);
            kc->cvt_f32_to_f16(h3, fc, 65536);
            n_checks++;
            if (memcmp(h2, h3, 65536 * 2)) {
                fail("cvt_f32_to_f16", isa, "f32 sweep: differs from C");
                break;
            }
        }
        free(h); free(h2); free(h3); free(f); free(fc);
    }

    if (CHANGED(rope)) {
        static const int dims[][2] = { { 64, 64 }, { 128, 128 }, { 80, 80 }, { 36, 36 },
                                       { 6, 6 }, { 128, 64 }, { 96, 32 }, { 8, 2 }, { 50, 26 },
                                       { 8, 8 }, { 32, 32 }, { 16, 8 } };
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
            for (int neox = 0; neox < 2; neox++) {
                const int hd = dims[di][0], nr = dims[di][1], nh = di % 2 ? 8 : 3;
                float cs[128];
                fwi_rope_cache(cs, nr, (float)(rnd32() % 5000), 10000.0f, 1.0f, NULL, 1.0f);
                float *xc = xmalloc((size_t)(nh * hd + 1) * sizeof(float));
                float *xs = xmalloc((size_t)(nh * hd + 1) * sizeof(float));
                fill_f32(xc + 1, (size_t)(nh * hd), 4.0f);
                memcpy(xs + 1, xc + 1, (size_t)(nh * hd) * sizeof(float));
                kc->rope(xc + 1, nh, hd, nr, cs, neox);
                k->rope(xs + 1, nh, hd, nr, cs, neox);
                snprintf(ctx, sizeof ctx, "head_dim=%d n_rot=%d neox=%d", hd, nr, neox);
                /* bit-exact on every ISA (no FMA, same operations) */
                cmp_exact("rope", isa, xs + 1, xc + 1, nh * hd, ctx);
                free(xc);
                free(xs);
            }
        }
    }

    if (CHANGED(attn_scores_f16) || CHANGED(attn_values_f16)) {
        const int exact_scores = exact_on_arch("attn_scores_f16");
        static const int ds[] = { 1, 5, 8, 13, 16, 31, 32, 40, 64, 80, 128 };
        for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++) {
            for (int n_kv = 1; n_kv <= 37; n_kv += (n_kv < 10 ? 1 : 9)) {
                const int d = ds[di];
                const size_t stride = (size_t)d + (rnd32() % 4);
                fwi_f16 *kv = xmalloc((stride * (size_t)n_kv + 1) * 2);
                float *tmp = xmalloc(stride * (size_t)n_kv * sizeof(float));
                fill_f32(tmp, stride * (size_t)n_kv, 2.0f);
                fwi_convert_row_f32_to_f16(tmp, kv + 1, (int)(stride * (size_t)n_kv));
                float *q = xmalloc((size_t)(d + 1) * sizeof(float));
                fill_f32(q + 1, (size_t)d, 1.0f);
                if (n_kv % 2) { /* the forward pass rounds q to f16 first */
                    for (int i = 0; i < d; i++)
                        q[1 + i] = fwi_fp16_to_fp32(fwi_fp32_to_fp16(q[1 + i]));
                }
                float sc[40], ss[40];
                const float scale = 1.0f / sqrtf((float)d);
                snprintf(ctx, sizeof ctx, "d=%d n_kv=%d stride=%zu", d, n_kv, stride);
                kc->attn_scores_f16(sc, q + 1, kv + 1, stride, n_kv, d, scale);
                k->attn_scores_f16(ss, q + 1, kv + 1, stride, n_kv, d, scale);
                for (int j = 0; j < n_kv; j++) {
                    double S = 0;
                    for (int i = 0; i < d; i++)
                        S += fabs((double)q[1 + i] * fwi_fp16_to_fp32(kv[1 + (size_t)j * stride + i]));
                    const double tol = 2.0 * ((d + 7) / 8 + 8) * EPS_F32 * S * scale +
                                       2 * EPS_F32 * fabs(sc[j]);
                    n_checks++;
                    if (exact_scores && !same_bits(ss[j], sc[j])) {
                        fail("attn_scores_f16", isa, "%s j=%d: got %a want %a (exact match "
                             "required)", ctx, j, (double)ss[j], (double)sc[j]);
                        break;
                    }
                    if (!near(ss[j], sc[j], tol + 1e-30)) {
                        fail("attn_scores_f16", isa, "%s j=%d: got %.9g want %.9g", ctx, j,
                             (double)ss[j], (double)sc[j]);
                        break;
                    }
                }
                /* determinism: one key per call gives the same bits */
                for (int j = 0; j < n_kv; j++) {
                    float one;
                    k->attn_scores_f16(&one, q + 1, kv + 1 + (size_t)j * stride, stride, 1, d, scale);
                    n_checks++;
                    if (!same_bits(one, ss[j])) {
                        fail("attn_scores_f16", isa, "%s j=%d: single-key call differs", ctx, j);
                        break;
                    }
                }
                /* values: y += sum_j a_j v_j */
                float *y0 = xmalloc((size_t)(d + 1) * sizeof(float));
                float *yc2 = xmalloc((size_t)(d + 1) * sizeof(float));
                float *ys2 = xmalloc((size_t)(d + 1) * sizeof(float));
                fill_f32(y0 + 1, (size_t)d, 1.0f);
                float av[40];
                fill_f32(av, (size_t)n_kv, 1.0f);
                memcpy(ys2, y0, (size_t)(d + 1) * sizeof(float));
                k->attn_values_f16(ys2 + 1, av, kv + 1, stride, n_kv, d);
                /* determinism: keys fed one call at a time give the same bits */
                memcpy(yc2, y0, (size_t)(d + 1) * sizeof(float));
                for (int j = 0; j < n_kv; j++)
                    k->attn_values_f16(yc2 + 1, av + j, kv + 1 + (size_t)j * stride, stride, 1, d);
                n_checks++;
                if (memcmp(yc2 + 1, ys2 + 1, (size_t)d * sizeof(float)))
                    fail("attn_values_f16", isa, "%s: key-by-key calls differ", ctx);
                memcpy(yc2, y0, (size_t)(d + 1) * sizeof(float));
                kc->attn_values_f16(yc2 + 1, av, kv + 1, stride, n_kv, d);
                for (int i = 0; i < d; i++) {
                    double S = fabs(y0[1 + i]);
                    for (int j = 0; j < n_kv; j++)
                        S += fabs((double)av[j] * fwi_fp16_to_fp32(kv[1 + (size_t)j * stride + i]));
                    const double tol = 2.0 * (n_kv + 2) * EPS_F32 * S + 1e-30;
                    n_checks++;
                    if (!near(ys2[1 + i], yc2[1 + i], tol)) {
                        fail("attn_values_f16", isa, "%s i=%d: got %.9g want %.9g", ctx, i,
                             (double)ys2[1 + i], (double)yc2[1 + i]);
                        break;
                    }
                }
                free(kv); free(tmp); free(q); free(y0); free(yc2); free(ys2);
            }
        }
    }
    if (CHANGED(attn_values_online_f16)) {
        /* fused online softmax + f16 value sum: exact vs the scalar twin,
         * and the twin exact vs the unfused kernels it replaces */
        static const int ds[] = { 1, 5, 8, 13, 16, 40, 48, 64, 72, 80, 128, 136 };
        static const int nkvs[] = { 1, 2, 3, 7, 16, 37, 130 };
        for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++) {
            for (size_t ni = 0; ni < sizeof nkvs / sizeof nkvs[0]; ni++) {
                const int d = ds[di], n_kv = nkvs[ni];
                const size_t stride = (size_t)d + (rnd32() % 4);
                fwi_f16 *v = xmalloc((stride * (size_t)n_kv + 1) * 2);
                float *tmp = xmalloc(stride * (size_t)n_kv * sizeof(float));
                fill_f32(tmp, stride * (size_t)n_kv, 2.0f);
                fwi_convert_row_f32_to_f16(tmp, v + 1, (int)(stride * (size_t)n_kv));
                float *s0 = xmalloc((size_t)n_kv * sizeof(float));
                float *s1 = xmalloc((size_t)n_kv * sizeof(float));
                fill_f32(s0, (size_t)n_kv, 4.0f);
                for (int j = 1; j < n_kv; j += 5) /* rising maxima: rescale steps */
                    s0[j] = s0[j - 1] + 0.25f * (float)(rnd32() % 8);
                float *yr = xmalloc((size_t)(d + 1) * sizeof(float));
                float *yc2 = xmalloc((size_t)(d + 1) * sizeof(float));
                float *ys2 = xmalloc((size_t)(d + 1) * sizeof(float));
                fwi_f16 *acc = xmalloc((size_t)d * 2);
                /* reference: the unfused sequence (scalar kernels) */
                memset(acc, 0, (size_t)d * 2);
                float M = -INFINITY, S = 0.0f;
                for (int j = 0; j < n_kv; j++) {
                    float ms = 1.0f, wj = 1.0f;
                    if (s0[j] > M) {
                        const float m_old = M;
                        M = s0[j];
                        ms = fwi_expf(m_old - M);
                        kc->vec_scale_f16(acc, ms, d);
                    } else {
                        wj = fwi_expf(s0[j] - M);
                    }
                    kc->vec_mad_f16(acc, v + 1 + (size_t)j * stride, wj, d);
                    const float sm = S * ms;
                    S = sm + wj;
                }
                kc->cvt_f16_to_f32(yr + 1, acc, d);
                kc->scale(yr + 1, yr + 1, 1.0f / S, d);
                snprintf(ctx, sizeof ctx, "d=%d n_kv=%d stride=%zu", d, n_kv, stride);
                memcpy(s1, s0, (size_t)n_kv * sizeof(float));
                kc->attn_values_online_f16(yc2 + 1, s1, v + 1, stride, n_kv, d);
                if (cmp_exact("attn_values_online_f16 (scalar vs unfused)", "scalar", yc2 + 1,
                              yr + 1, d, ctx)) {
                    memcpy(s1, s0, (size_t)n_kv * sizeof(float));
                    k->attn_values_online_f16(ys2 + 1, s1, v + 1, stride, n_kv, d);
                    cmp_exact("attn_values_online_f16", isa, ys2 + 1, yc2 + 1, d, ctx);
                }
                free(v); free(tmp); free(s0); free(s1); free(yr); free(yc2); free(ys2);
                free(acc);
            }
        }
    }
    if (CHANGED(attn_values_online_f16_heads)) {
        /* several heads on the same values: exact vs one scalar call per
         * head (head dims: tails of 16 and more than 64; ties, zeros and
         * -inf scores; scores that underflow expf) */
        static const int ds[] = { 1, 13, 16, 40, 64, 72, 80, 128 };
        static const int nkvs[] = { 1, 2, 7, 16, 37, 130 };
        for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++) {
            for (size_t ni = 0; ni < sizeof nkvs / sizeof nkvs[0]; ni++) {
                const int d = ds[di], n_kv = nkvs[ni], nh = 1 + (int)(rnd32() % 8);
                const size_t stride = (size_t)d + (rnd32() % 4), ss = (size_t)n_kv + 3;
                const size_t ysd = (size_t)d + 5;
                fwi_f16 *v = xmalloc((stride * (size_t)n_kv + 1) * 2);
                float *tmp = xmalloc(stride * (size_t)n_kv * sizeof(float));
                fill_f32(tmp, stride * (size_t)n_kv, 2.0f);
                fwi_convert_row_f32_to_f16(tmp, v + 1, (int)(stride * (size_t)n_kv));
                float *s0 = xmalloc(ss * (size_t)nh * sizeof(float));
                float *s1 = xmalloc(ss * (size_t)nh * sizeof(float));
                float *s2 = xmalloc((size_t)n_kv * sizeof(float));
                float *yh = xmalloc(ysd * (size_t)nh * sizeof(float));
                float *y1 = xmalloc((size_t)d * sizeof(float));
                fill_f32(s0, ss * (size_t)nh, 4.0f);
                for (int h = 0; h < nh; h++) {
                    float *sh = s0 + (size_t)h * ss;
                    for (int j = 1 + h; j < n_kv; j += 4) /* rising maxima */
                        sh[j] = sh[j - 1] + 0.25f * (float)(rnd32() % 8);
                    for (int j = 0; j < n_kv; j++) {
                        const uint32_t r = rnd32() % 16;
                        if (r == 0)
                            sh[j] = sh[j > 0 ? j - 1 : 0]; /* ties */
                        else if (r == 1)
                            sh[j] = (rnd32() & 1) ? 0.0f : -0.0f;
                        else if (r == 2 && j > 0) /* (a leading -inf makes NaN) */
                            sh[j] = -INFINITY;
                        else if (r == 3)
                            sh[j] = -100.0f - (float)(rnd32() % 50); /* expf underflows */
                    }
                    if (h == 0 && n_kv > 1)
                        sh[1] = 120.0f; /* everything before and after is far below */
                }
                fill_sentinel(yh, ysd * (size_t)nh);
                memcpy(s1, s0, ss * (size_t)nh * sizeof(float));
                k->attn_values_online_f16_heads(yh, ysd, s1, ss, v + 1, stride, n_kv, d, nh);
                snprintf(ctx, sizeof ctx, "d=%d n_kv=%d heads=%d", d, n_kv, nh);
                for (int h = 0; h < nh; h++) {
                    memcpy(s2, s0 + (size_t)h * ss, (size_t)n_kv * sizeof(float));
                    kc->attn_values_online_f16(y1, s2, v + 1, stride, n_kv, d);
                    if (!cmp_exact("attn_values_online_f16_heads", isa, yh + (size_t)h * ysd, y1,
                                   d, ctx))
                        break;
                    n_checks++;
                    if (!is_sentinel(yh[(size_t)h * ysd + (size_t)d])) {
                        fail("attn_values_online_f16_heads", isa, "%s: wrote past d", ctx);
                        break;
                    }
                }
                free(v); free(tmp); free(s0); free(s1); free(s2); free(yh); free(y1);
            }
        }
    }
#undef CHANGED
    free(a); free(b); free(w); free(yc); free(ys);
}

/* ---------------------------------------------------------------------- */
/* benchmarks */

static double now_s(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile float bench_sink;

typedef struct {
    int type, rows, n, ncopies;
    size_t ws, bytes;
    uint8_t *buf;
    void *act;
    float *out;
} bench_mat;

static void bench_mat_make(bench_mat *b, const fwi_kernels *kc, int type, int rows, int n,
                           size_t min_total)
{
    b->type = type;
    b->rows = rows;
    b->n = n;
    b->ws = fwi_row_size(type, n);
    b->bytes = b->ws * (size_t)rows;
    b->ncopies = (int)((min_total + b->bytes - 1) / b->bytes);
    if (b->ncopies < 1)
        b->ncopies = 1;
    b->buf = xmalloc(b->bytes * (size_t)b->ncopies);
    for (int r = 0; r < rows; r++)
        rand_weight_row(type, b->buf + (size_t)r * b->ws, n);
    for (int c = 1; c < b->ncopies; c++)
        memcpy(b->buf + (size_t)c * b->bytes, b->buf, b->bytes);
    float *x = xmalloc((size_t)n * 32 * sizeof(float));
    fill_f32(x, (size_t)n * 32, 1.0f);
    const size_t as = act_row_size(type, n);
    b->act = xmalloc(as * 32);
    for (int t = 0; t < 32; t++)
        make_act(kc, type, (uint8_t *)b->act + (size_t)t * as, x + (size_t)t * n, n);
    free(x);
    b->out = xmalloc((size_t)rows * 32 * sizeof(float));
}

static void bench_mat_free(bench_mat *b)
{
    free(b->buf);
    free(b->act);
    free(b->out);
}

/* Best-of-5 timing: each repetition runs for >= 40 ms and reports its mean;
 * the minimum filters out interference on shared machines. */
#define BENCH_REPS 5
#define BENCH_MIN_S 0.04

/* seconds per matvec over the whole matrix (rotating copies) */
static double time_matvec(const fwi_kernels *k, bench_mat *b)
{
    double best = 1e30;
    int iters = 0;
    for (int rep = 0; rep < BENCH_REPS; rep++) {
        int n = 0;
        const double t0 = now_s();
        double t;
        do {
            const uint8_t *w = b->buf + (size_t)(iters++ % b->ncopies) * b->bytes;
            k->matvec[b->type](b->out, w, b->ws, b->act, b->n, 0, b->rows);
            n++;
            t = now_s() - t0;
        } while (t < BENCH_MIN_S || n < 2);
        if (t / n < best)
            best = t / n;
    }
    bench_sink = b->out[0];
    return best;
}

static double time_matmul(const fwi_kernels *k, bench_mat *b, int ntok)
{
    const size_t as = act_row_size(b->type, b->n);
    double best = 1e30;
    int iters = 0;
    for (int rep = 0; rep < BENCH_REPS; rep++) {
        int n = 0;
        const double t0 = now_s();
        double t;
        do {
            const uint8_t *w = b->buf + (size_t)(iters++ % b->ncopies) * b->bytes;
            k->matmul[b->type](b->out, (size_t)b->rows, w, b->ws, b->act, as, b->n, 0, b->rows,
                               ntok);
            n++;
            t = now_s() - t0;
        } while (t < BENCH_MIN_S || n < 2);
        if (t / n < best)
            best = t / n;
    }
    bench_sink = b->out[0];
    return best;
}

#define BENCH_LOOP(expr)                                  \
    do {                                                  \
        sec = 1e30;                                       \
        for (int rep_ = 0; rep_ < BENCH_REPS; rep_++) {   \
            int it_ = 0;                                  \
            const double t0_ = now_s();                   \
            double t_;                                    \
            do {                                          \
                for (int r_ = 0; r_ < 16; r_++)           \
                    expr;                                 \
                it_ += 16;                                \
                t_ = now_s() - t0_;                       \
            } while (t_ < BENCH_MIN_S / 4);               \
            if (t_ / it_ < sec)                           \
                sec = t_ / it_;                           \
        }                                                 \
    } while (0)

static void bench(int big, enum fwi_isa top)
{
    fwi_kernels ks[FWI_ISA_COUNT];
    for (int l = 0; l <= (int)top; l++)
        fwi_kernels_init(&ks[l], (enum fwi_isa)l);

    printf("\n== benchmarks (single thread; time per call) ==\n");
    printf("%-34s", "kernel");
    for (int l = 0; l <= (int)top; l++)
        printf(" %18s", fwi_isa_name(ks[l].isa));
    printf("  speedup(best)\n");

    /* matvec / matmul, in-cache-ish (4 MiB f16) and, with --big, DRAM */
    struct { int rows, n; const char *what; size_t total; } shapes[2] = {
        { 512, 4096, "L2/L3", 0 }, { 2048, 5632, "DRAM", (size_t)256 << 20 } };
    for (int s = 0; s < (big ? 2 : 1); s++) {
        for (int ti = 0; ti < N_TYPES; ti++) {
            const int type = all_types[ti];
            char probe[80];
            snprintf(probe, sizeof probe, "mat %s %s", fwi_type_traits_get(type)->name,
                     shapes[s].what);
            if (bench_filter && !strstr(probe, bench_filter) &&
                !strstr("matvec matmul", bench_filter))
                continue;
            bench_mat b;
            bench_mat_make(&b, &ks[0], type, shapes[s].rows, shapes[s].n, shapes[s].total);
            char name[80];
            snprintf(name, sizeof name, "matvec %-4s %dx%d %s", fwi_type_traits_get(type)->name,
                     b.rows, b.n, shapes[s].what);
            printf("%-34s", name);
            double t_c = 0, t_best = 1e30;
            for (int l = 0; l <= (int)top; l++) {
                const double t = time_matvec(&ks[l], &b);
                if (l == 0)
                    t_c = t;
                if (t < t_best)
                    t_best = t;
                printf(" %9.0fus %5.1fGB/s", t * 1e6, (double)b.bytes / t * 1e-9);
            }
            printf("  x%.1f\n", t_c / t_best);
            fflush(stdout);
            if (s == 0) {
                for (int ntok = 8; ntok <= 32; ntok *= 4) {
                    snprintf(name, sizeof name, "matmul %-4s %dx%d B=%d",
                             fwi_type_traits_get(type)->name, b.rows, b.n, ntok);
                    printf("%-34s", name);
                    for (int l = 0; l <= (int)top; l++) {
                        const double t = time_matmul(&ks[l], &b, ntok);
                        if (l == 0)
                            t_c = t;
                        if (l == 0 || t < t_best)
                            t_best = t;
                        printf(" %9.0fus %4.0fGFLOP", t * 1e6,
                               2.0 * b.rows * (double)b.n * ntok / t * 1e-9);
                    }
                    printf("  x%.1f\n", t_c / t_best);
                    fflush(stdout);
                }
            }
            bench_mat_free(&b);
        }
    }

    /* small kernels */
    const int n = 4096, nff = 11008, nkv = 1024, d = 128;
    float *x = xmalloc(nff * sizeof(float)), *y = xmalloc(nff * sizeof(float));
    float *z = xmalloc(nff * sizeof(float)), *s = xmalloc(nkv * sizeof(float));
    fwi_f16 *kv = xmalloc((size_t)nkv * d * 2), *h = xmalloc(nff * 2);
    float cs[128];
    fill_f32(x, nff, 1.0f);
    fill_f32(y, nff, 1.0f);
    fill_f32(s, nkv, 0.01f);
    fwi_convert_row_f32_to_f16(x, kv, n);
    for (int j = 1; j < nkv * d / n; j++)
        memcpy(kv + (size_t)j * n, kv, (size_t)n * 2);
    fwi_rope_cache(cs, 128, 100.0f, 10000.0f, 1.0f, NULL, 1.0f);
    static const char *names[] = { "quantize_row_q8_0 n=4096", "rmsnorm n=4096", "softmax n=1024",
                                   "silu_mul n=11008", "add n=4096", "rope 32x128",
                                   "attn_scores_f16 1024x128", "attn_values_f16 1024x128",
                                   "cvt_f32_to_f16 n=4096" };
    void *qbuf = xmalloc(fwi_row_size(FWI_TYPE_Q8_0, n));
    for (int kn = 0; kn < (int)(sizeof names / sizeof names[0]); kn++) {
        if (bench_filter && !strstr(names[kn], bench_filter))
            continue;
        printf("%-34s", names[kn]);
        double t_c = 0, t_best = 1e30;
        for (int l = 0; l <= (int)top; l++) {
            const fwi_kernels *k = &ks[l];
            double sec = 0;
            switch (kn) {
            case 0: BENCH_LOOP(k->quantize_row[FWI_TYPE_Q8_0](qbuf, x, n)); break;
            case 1: BENCH_LOOP(k->rmsnorm(z, x, y, n, 1e-5f)); break;
            case 2: BENCH_LOOP((memcpy(z, x, nkv * sizeof(float)), k->softmax(z, nkv))); break;
            case 3: BENCH_LOOP(k->silu_mul(z, x, y, nff)); break;
            case 4: BENCH_LOOP(k->add(z, x, y, n)); break;
            case 5: BENCH_LOOP((memcpy(z, x, n * sizeof(float)), k->rope(z, 32, 128, 128, cs, 0))); break;
            case 6: BENCH_LOOP(k->attn_scores_f16(s, x, kv, d, nkv, d, 0.1f)); break;
            case 7: BENCH_LOOP(k->attn_values_f16(z, s, kv, d, nkv, d)); break;
            case 8: BENCH_LOOP(k->cvt_f32_to_f16(h, x, n)); break;
            }
            if (l == 0)
                t_c = sec;
            if (sec < t_best)
                t_best = sec;
            printf(" %14.0fns   ", sec * 1e9);
        }
        printf("  x%.1f\n", t_c / t_best);
    }
    free(qbuf); free(x); free(y); free(z); free(s); free(kv); free(h);
}

/* ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    int do_bench = 0, big = 0;
    enum fwi_isa cap = FWI_ISA_COUNT;
    uint64_t seed = (uint64_t)time(NULL);
    const char *env = getenv("FWINFER_ISA");

    if (env && *env && fwi_isa_from_name(env, &cap)) {
        fprintf(stderr, "checkasm: unknown FWINFER_ISA '%s'\n", env);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--bench"))
            do_bench = 1;
        else if (!strncmp(argv[i], "--bench=", 8))
            do_bench = 1, bench_filter = argv[i] + 8;
        else if (!strcmp(argv[i], "--big"))
            do_bench = big = 1;
        else if (!strncmp(argv[i], "--seed=", 7))
            seed = strtoull(argv[i] + 7, NULL, 0);
        else if (!strncmp(argv[i], "--test=", 7))
            test_filter = argv[i] + 7;
        else if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else if (!strncmp(argv[i], "--isa=", 6)) {
            if (fwi_isa_from_name(argv[i] + 6, &cap)) {
                fprintf(stderr, "checkasm: unknown ISA '%s' for this architecture\n", argv[i] + 6);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: %s [--bench[=SUBSTR]] [--big] [--seed=N] [--isa=NAME] "
                            "[--test=SUBSTR] [-v]\n", argv[0]);
            return 2;
        }
    }
    rng_state = seed * 0x9e3779b97f4a7c15ull + 1;

    const enum fwi_isa cpu = fwi_cpu_detect();
    const enum fwi_isa top = cap < cpu ? cap : cpu;
    printf("checkasm: cpu=%s testing up to %s, seed=%" PRIu64 "\n", fwi_isa_name(cpu),
           fwi_isa_name(top), seed);

    fwi_kernels kc;
    fwi_kernels_init(&kc, FWI_ISA_SCALAR);
    check_fp16();
    check_expf();
    check_blocks(&kc);
    /* the scalar level: determinism checks only (compares with itself) */
    check_matmuls(&kc, &kc, NULL);

    fwi_kernels prev = kc;
    for (int l = 1; l <= (int)top; l++) {
        fwi_kernels k;
        fwi_kernels_init(&k, (enum fwi_isa)l);
        const int before = n_checks, fails = n_fail;
        worst_rel = 0;
        check_matmuls(&kc, &k, &prev);
        check_ops(&kc, &k, &prev);
        printf("  %-10s %7d checks, %s", fwi_isa_name(k.isa), n_checks - before,
               n_fail == fails ? "OK" : "FAILED");
        if (verbose)
            printf(" (worst error = %.3f of tolerance)", worst_rel);
        printf("\n");
        prev = k;
    }

    if (n_fail) {
        printf("checkasm: %d of %d checks FAILED (seed=%" PRIu64 ")\n", n_fail, n_checks, seed);
        return 1;
    }
    printf("checkasm: all %d checks passed\n", n_checks);
    if (do_bench)
        bench(big, top);
    return 0;
}
