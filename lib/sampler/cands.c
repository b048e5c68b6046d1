/* cands.c - helpers on candidate arrays shared by the stages. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The max logit of the live candidates; FW_E_NUMERIC for a NaN,
 * FW_E_RANGE when every one is -inf. */
static fw_status cands_max(const fw_candidates *c, float *out)
{
    float max = -INFINITY;
    int nan = 0;
    for (size_t i = 0; i < c->n; i++) {
        const float l = c->data[i].logit;
        nan |= l != l;
        max = l > max ? l : max;
    }
    if (nan)
        for (size_t i = 0; i < c->n; i++)
            if (isnan(c->data[i].logit))
                return fwi_fail(NULL, FW_E_NUMERIC, "logit of token %d is NaN",
                                (int)c->data[i].id);
    if (c->n == 0 || max == -INFINITY)
        return fwi_fail(NULL, FW_E_RANGE,
                        "every token is banned: all %zu logits are -inf", c->n);
    *out = max;
    return FW_OK;
}

fw_status fwi_cands_check(const fw_candidates *c)
{
    float max;
    return cands_max(c, &max);
}

/* e^x for x in [-87, 0], as Cephes' expf (x = k ln2 + r, |r| <= ln2 / 2, a
 * degree-7 polynomial; about 1 ulp), branch-free so that the loop below
 * vectorizes on any x86-64 or aarch64 baseline. */
static inline float exp_nonpos(float x)
{
    const float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = (x - k * 0.693359375f) - k * -2.12194440e-4f;
    const float z = r * r;
    const float y = ((((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
                       4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f) * z) +
                    r + 1.0f;
    union { uint32_t u; float f; } sc;
    sc.u = (uint32_t)((int32_t)k + 127) << 23;
    return y * sc.f;
}

/* Softmax over the live candidates, in float as llama.cpp's: e_i =
 * exp(l_i - max) (exact 0 for -inf logits and below e^-87), p_i = e_i /
 * sum, the sum accumulated in double in a fixed order. */
fw_status fwi_cands_softmax(fw_candidates *c)
{
    float max;
    fw_status st = cands_max(c, &max);
    if (st != FW_OK)
        return st;
    fw_token_data *d = c->data;
    const size_t n = c->n;
    if (max == INFINITY) { /* +inf logits share the mass */
        for (size_t i = 0; i < n; i++)
            d[i].p = d[i].logit == INFINITY ? 1.0f : 0.0f;
    } else {
        size_t i = 0;
#if defined(__SSE2__)
        /* exp_nonpos four at a time (SSE2 is the x86-64 baseline): the
         * same operations in the same order, so the same bits */
        const __m128 vmax = _mm_set1_ps(max), lo = _mm_set1_ps(-87.0f);
        for (; i + 4 <= n; i += 4) {
            const __m128 l = _mm_setr_ps(d[i].logit, d[i + 1].logit, d[i + 2].logit,
                                         d[i + 3].logit);
            const __m128 x = _mm_sub_ps(l, vmax);
            const __m128 keep = _mm_cmpnlt_ps(x, lo); /* x >= -87 (x is not NaN) */
            const __m128 xc = _mm_max_ps(x, lo);
            const __m128 magic = _mm_set1_ps(12582912.0f);
            const __m128 k = _mm_sub_ps(
                _mm_add_ps(_mm_mul_ps(xc, _mm_set1_ps(1.44269504088896341f)), magic), magic);
            const __m128 r = _mm_sub_ps(_mm_sub_ps(xc, _mm_mul_ps(k, _mm_set1_ps(0.693359375f))),
                                        _mm_mul_ps(k, _mm_set1_ps(-2.12194440e-4f)));
            const __m128 z = _mm_mul_ps(r, r);
            __m128 y = _mm_add_ps(_mm_mul_ps(_mm_set1_ps(1.9875691500e-4f), r),
                                  _mm_set1_ps(1.3981999507e-3f));
            y = _mm_add_ps(_mm_mul_ps(y, r), _mm_set1_ps(8.3334519073e-3f));
            y = _mm_add_ps(_mm_mul_ps(y, r), _mm_set1_ps(4.1665795894e-2f));
            y = _mm_add_ps(_mm_mul_ps(y, r), _mm_set1_ps(1.6666665459e-1f));
            y = _mm_add_ps(_mm_mul_ps(y, r), _mm_set1_ps(5.0000001201e-1f));
            y = _mm_add_ps(_mm_add_ps(_mm_mul_ps(y, z), r), _mm_set1_ps(1.0f));
            const __m128i e = _mm_slli_epi32(_mm_add_epi32(_mm_cvtps_epi32(k), _mm_set1_epi32(127)), 23);
            const __m128 v = _mm_and_ps(_mm_mul_ps(y, _mm_castsi128_ps(e)), keep);
            float o[4];
            _mm_storeu_ps(o, v);
            d[i].p = o[0], d[i + 1].p = o[1], d[i + 2].p = o[2], d[i + 3].p = o[3];
        }
#endif
        for (; i < n; i++) {
            const float x = d[i].logit - max; /* <= 0, or -inf */
            const float e = exp_nonpos(x < -87.0f ? -87.0f : x);
            d[i].p = x < -87.0f ? 0.0f : e;
        }
    }
    /* the sum in double, four chains in a fixed order */
    double s[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++)
            s[j] += d[i + (size_t)j].p;
    for (; i < n; i++)
        s[0] += d[i].p;
    const double sum = (s[0] + s[1]) + (s[2] + s[3]);
    const float inv = (float)(1.0 / sum);
    for (i = 0; i < n; i++)
        d[i].p *= inv;
    return FW_OK;
}

static int cmp_desc(const void *a, const void *b)
{
    const fw_token_data *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

void fwi_cands_sort_desc(fw_candidates *c)
{
    qsort(c->data, c->n, sizeof *c->data, cmp_desc);
}

/* a before b in cmp_desc's order (a strict total order: ids are unique) */
static inline int before(const fw_token_data *a, const fw_token_data *b)
{
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static inline void swap_td(fw_token_data *a, fw_token_data *b)
{
    fw_token_data t = *a;
    *a = *b;
    *b = t;
}

void fwi_cands_top(fw_candidates *c, size_t k)
{
    fw_token_data *d = c->data;
    if (k >= c->n) {
        fwi_cands_sort_desc(c);
        return;
    }
    /* quickselect: the k first in order to the front, then sort them */
    size_t lo = 0, hi = c->n - 1;
    while (hi > lo) {
        const size_t mid = lo + (hi - lo) / 2;
        if (before(&d[mid], &d[lo]))
            swap_td(&d[mid], &d[lo]);
        if (before(&d[hi], &d[lo]))
            swap_td(&d[hi], &d[lo]);
        if (before(&d[hi], &d[mid]))
            swap_td(&d[hi], &d[mid]);
        const fw_token_data pivot = d[mid]; /* median of three */
        size_t i = lo, j = hi;
        while (i <= j) {
            while (before(&d[i], &pivot))
                i++;
            while (before(&pivot, &d[j]))
                j--;
            if (i <= j) {
                swap_td(&d[i], &d[j]);
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        /* [lo, j] before-or-equal the pivot, [i, hi] after-or-equal */
        if (k <= j)
            hi = j;
        else if (k > i)
            lo = i;
        else
            break; /* j < k <= i: the boundary is in place */
    }
    qsort(d, k, sizeof *d, cmp_desc);
}

void fwi_cands_keep(fw_candidates *c, size_t k)
{
    if (k < 1)
        k = 1;
    if (k < c->n)
        c->n = k;
}

static int cmp_id(const void *a, const void *b)
{
    const fw_token_data *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

int32_t fwi_cands_pick(fw_candidates *c, double u)
{
    /* survivors in token-id order, so the draw does not depend on how the
     * stages ordered them */
    int sorted = 1;
    for (size_t i = 1; i < c->n && sorted; i++)
        sorted = c->data[i - 1].id < c->data[i].id;
    if (!sorted)
        qsort(c->data, c->n, sizeof *c->data, cmp_id);
    double total = 0;
    for (size_t i = 0; i < c->n; i++)
        total += c->data[i].p;
    double target = u * total, acc = 0;
    int32_t last = -1;
    for (size_t i = 0; i < c->n; i++) {
        if (c->data[i].p <= 0)
            continue;
        last = (int32_t)i;
        acc += c->data[i].p;
        if (target < acc)
            return (int32_t)i;
    }
    return last; /* u * total rounded up to total: the last live one */
}
