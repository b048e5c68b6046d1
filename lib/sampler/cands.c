/* cands.c - helpers on candidate arrays shared by the stages. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

fw_status fwi_cands_softmax(fw_candidates *c)
{
    float max = -INFINITY;
    for (size_t i = 0; i < c->n; i++) {
        float l = c->data[i].logit;
        if (isnan(l))
            return fwi_fail(NULL, FW_E_NUMERIC, "logit of token %d is NaN",
                            (int)c->data[i].id);
        if (l > max)
            max = l;
    }
    if (c->n == 0 || max == -INFINITY)
        return fwi_fail(NULL, FW_E_RANGE,
                        "every token is banned: all %zu logits are -inf", c->n);
    double sum = 0;
    for (size_t i = 0; i < c->n; i++) {
        float l = c->data[i].logit;
        double e = l == -INFINITY ? 0.0 : exp((double)l - (double)max);
        c->data[i].p = (float)e;
        sum += e;
    }
    for (size_t i = 0; i < c->n; i++)
        c->data[i].p = (float)(c->data[i].p / sum);
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
