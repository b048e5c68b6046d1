/* params.c - sampling parameters: defaults, setters by API name, ranges. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "sampler.h"

typedef struct field {
    const char *name;
    int32_t type;        /* FW_PARAM_* */
    size_t off;
    double min, max, neutral;
    int32_t min_open;
} field;

#define F(n, t, lo, hi, neu, open) \
    {#n, t, offsetof(fw_sampler_params, n), lo, hi, neu, open}

static const field fields[] = {
    F(temperature, FW_PARAM_FLOAT, 0, 2, 1, 0),
    F(top_k, FW_PARAM_INT, -1, 2147483647.0, 0, 0),
    F(top_p, FW_PARAM_FLOAT, 0, 1, 1, 0),
    F(min_p, FW_PARAM_FLOAT, 0, 1, 0, 0),
    F(typical_p, FW_PARAM_FLOAT, 0, 1, 1, 0),
    F(frequency_penalty, FW_PARAM_FLOAT, -2, 2, 0, 0),
    F(presence_penalty, FW_PARAM_FLOAT, -2, 2, 0, 0),
    F(repetition_penalty, FW_PARAM_FLOAT, 0, 2, 1, 1),
    F(mirostat_target, FW_PARAM_FLOAT, 0, INFINITY, NAN, 1),
    F(mirostat_lr, FW_PARAM_FLOAT, 0, INFINITY, 0.1, 1),
    F(seed, FW_PARAM_UINT64, 0, 18446744073709551615.0, 0, 0),
};
#undef F

static const field *find_field(const char *name)
{
    for (size_t i = 0; name && i < sizeof fields / sizeof *fields; i++)
        if (!strcmp(fields[i].name, name))
            return &fields[i];
    return NULL;
}

FW_API void fw_sampler_params_init(fw_sampler_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->temperature = NAN;
    p->top_k = FW_TOP_K_UNSET;
    p->top_p = NAN;
    p->min_p = NAN;
    p->typical_p = NAN;
    p->frequency_penalty = 0;
    p->presence_penalty = 0;
    p->repetition_penalty = 1;
    p->mirostat_target = NAN;
    p->mirostat_lr = 0.1f;
}

static fw_status out_of_range(const field *f, double v)
{
    if (isinf(f->max))
        return fwi_fail(NULL, FW_E_RANGE, "%s = %g is out of range (> %g)", f->name,
                        v, f->min);
    return fwi_fail(NULL, FW_E_RANGE, "%s = %g is out of range %c%g, %g]",
                    f->name, v, f->min_open ? '(' : '[', f->min, f->max);
}

static fw_status check(const field *f, double v)
{
    if (isnan(v) || isinf(v) || v < f->min || v > f->max ||
        (f->min_open && v == f->min))
        return out_of_range(f, v);
    return FW_OK;
}

FW_API fw_status fw_sampler_params_set_f(fw_sampler_params *p, const char *name,
                                         double v)
{
    if (!p)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "params is NULL");
    if (!name)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "name is NULL");
    const field *f = find_field(name);
    if (!f)
        return fwi_fail(NULL, FW_E_NOT_FOUND, "unknown sampling parameter '%s'", name);
    fw_status st = check(f, v);
    if (st != FW_OK)
        return st;
    char *base = (char *)p;
    if (f->type == FW_PARAM_FLOAT) {
        float x = (float)v;
        memcpy(base + f->off, &x, sizeof x);
        return FW_OK;
    }
    if (v != floor(v))
        return fwi_fail(NULL, FW_E_TYPE, "%s must be an integer, not %g", f->name, v);
    if (f->type == FW_PARAM_INT) {
        int32_t x = (int32_t)v;
        memcpy(base + f->off, &x, sizeof x);
    } else {
        if (v >= 18446744073709551616.0)
            return out_of_range(f, v);
        p->seed = (uint64_t)v;
        p->has_seed = 1;
    }
    return FW_OK;
}

FW_API fw_status fw_sampler_params_set_i(fw_sampler_params *p, const char *name,
                                         int64_t v)
{
    const field *f = find_field(name);
    if (p && f && f->type == FW_PARAM_UINT64) {
        if (v < 0)
            return out_of_range(f, (double)v);
        p->seed = (uint64_t)v;
        p->has_seed = 1;
        return FW_OK;
    }
    if (p && f && f->type == FW_PARAM_INT) {
        if (v < (int64_t)f->min || v > (int64_t)f->max)
            return out_of_range(f, (double)v);
        p->top_k = (int32_t)v;
        return FW_OK;
    }
    return fw_sampler_params_set_f(p, name, (double)v);
}

FW_API fw_status fw_sampler_params_set_u64(fw_sampler_params *p, const char *name,
                                           uint64_t v)
{
    const field *f = find_field(name);
    if (p && f && f->type == FW_PARAM_UINT64) {
        p->seed = v;
        p->has_seed = 1;
        return FW_OK;
    }
    return fw_sampler_params_set_f(p, name, (double)v);
}

FW_API fw_status fw_sampler_params_info(const char *name, int32_t *type,
                                        double *min, double *max,
                                        int32_t *min_open, double *neutral)
{
    if (!name)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "name is NULL");
    const field *f = find_field(name);
    if (!f)
        return fwi_fail(NULL, FW_E_NOT_FOUND, "unknown sampling parameter '%s'", name);
    if (type)
        *type = f->type;
    if (min)
        *min = f->min;
    if (max)
        *max = f->max;
    if (min_open)
        *min_open = f->min_open;
    if (neutral)
        *neutral = f->neutral;
    return FW_OK;
}

FW_API fw_status fw_sampler_params_validate(const fw_sampler_params *p,
                                            int32_t n_vocab)
{
    if (!p)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "params is NULL");
    fw_sampler_params q;
    fw_sampler_params_init(&q);
    fw_status st = fwi_params_copy(&q, sizeof q, p, "fw_sampler_params", NULL);
    if (st != FW_OK)
        return st;
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        const field *f = &fields[i];
        const char *base = (const char *)&q;
        if (f->type == FW_PARAM_FLOAT) {
            float x;
            memcpy(&x, base + f->off, sizeof x);
            int unset_ok = !strcmp(f->name, "temperature") || !strcmp(f->name, "top_p") ||
                           !strcmp(f->name, "min_p") || !strcmp(f->name, "typical_p") ||
                           !strcmp(f->name, "mirostat_target");
            if (isnan(x) && unset_ok)
                continue;
            if ((st = check(f, x)) != FW_OK)
                return st;
        } else if (f->type == FW_PARAM_INT) {
            if (q.top_k != FW_TOP_K_UNSET && q.top_k < -1)
                return out_of_range(f, q.top_k);
        }
    }
    if (q.n_logit_bias && !q.logit_bias)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "logit_bias is NULL but n_logit_bias is %u",
                        (unsigned)q.n_logit_bias);
    for (uint32_t i = 0; i < q.n_logit_bias; i++) {
        const fw_logit_bias *b = &q.logit_bias[i];
        if (b->token < 0 || (n_vocab > 0 && b->token >= n_vocab))
            return fwi_fail(NULL, FW_E_RANGE,
                            "logit_bias: token id %d is out of range [0, %d)",
                            (int)b->token, (int)n_vocab);
        if (isnan(b->bias) || b->bias < -100 || b->bias > 100)
            return fwi_fail(NULL, FW_E_RANGE,
                            "logit_bias: bias %g for token %d is out of range "
                            "[-100, 100]",
                            (double)b->bias, (int)b->token);
    }
    return FW_OK;
}
