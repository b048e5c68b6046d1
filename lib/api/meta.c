/* meta.c - public entry points: typed access to GGUF metadata. */
#include <string.h>

#include "core/sbuf.h"
#include "model/model.h"

FW_API int64_t fw_model_meta_count(const fw_model *model)
{
    return fwi_model_ok(model) ? model->gguf.n_kv : 0;
}

FW_API const char *fw_model_meta_key(const fw_model *model, int64_t index)
{
    if (!fwi_model_ok(model) || index < 0 || index >= model->gguf.n_kv)
        return NULL;
    return model->gguf.kv[index].key;
}

FW_API int64_t fw_model_meta_find(const fw_model *model, const char *key)
{
    if (!fwi_model_ok(model) || !key)
        return -1;
    return fwi_strmap_get(&model->gguf.kv_map, key, strlen(key));
}

/* Look up `key`, filing errors under the model. */
static fw_status find(const fw_model *model, const char *key,
                      const fwi_gguf_kv **kv)
{
    if (!fwi_model_ok(model))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "model is NULL or freed");
    if (!key)
        return fwi_fail(model, FW_E_INVALID_ARG, "key is NULL");
    *kv = fwi_gguf_find_kv(&model->gguf, key);
    if (!*kv)
        return fwi_fail(model, FW_E_NOT_FOUND, "metadata key '%s' not found",
                        key);
    return FW_OK;
}

FW_API fw_status fw_model_meta_type(const fw_model *model, const char *key,
                                    int32_t *type, int32_t *elem_type,
                                    uint64_t *n_elems)
{
    const fwi_gguf_kv *kv;
    fw_status st = find(model, key, &kv);
    if (st != FW_OK)
        return st;
    if (type)
        *type = kv->type;
    if (elem_type)
        *elem_type = kv->type == FW_META_ARRAY ? kv->elem_type : -1;
    if (n_elems)
        *n_elems = kv->type == FW_META_ARRAY ? kv->n : 0;
    return FW_OK;
}

static fw_status wrong_type(const fw_model *m, const char *key, int32_t t,
                            int32_t et, const char *wanted)
{
    if (t == FW_META_ARRAY)
        return fwi_fail(m, FW_E_TYPE,
                        "metadata key '%s' is an array of %s, not %s", key,
                        fw_meta_type_name(et), wanted);
    return fwi_fail(m, FW_E_TYPE, "metadata key '%s' is a %s, not %s", key,
                    fw_meta_type_name(t), wanted);
}

static fw_status get_i64(const fw_model *m, const char *key, int32_t t,
                         int32_t et, const uint8_t *p, int64_t *out)
{
    if (!fwi_gguf_scalar_is_int(t))
        return wrong_type(m, key, t == FW_META_ARRAY ? FW_META_ARRAY : t, et,
                          "an integer");
    int ovf;
    int64_t v = fwi_gguf_scalar_i64(t, p, &ovf);
    if (ovf)
        return fwi_fail(m, FW_E_RANGE,
                        "metadata key '%s': uint64 value does not fit in int64",
                        key);
    *out = v;
    return FW_OK;
}

static fw_status get_f64(const fw_model *m, const char *key, int32_t t,
                         const uint8_t *p, double *out)
{
    if (!fwi_gguf_scalar_size(t) || t == FW_META_BOOL)
        return wrong_type(m, key, t, -1, "a number");
    *out = fwi_gguf_scalar_f64(t, p);
    return FW_OK;
}

FW_API fw_status fw_model_meta_get_i64(const fw_model *model, const char *key,
                                       int64_t *out)
{
    const fwi_gguf_kv *kv;
    fw_status st = find(model, key, &kv);
    if (st != FW_OK)
        return st;
    if (!out)
        return fwi_fail(model, FW_E_INVALID_ARG, "out is NULL");
    if (kv->type == FW_META_ARRAY)
        return wrong_type(model, key, kv->type, kv->elem_type, "an integer");
    return get_i64(model, key, kv->type, -1, kv->data, out);
}

FW_API fw_status fw_model_meta_get_f64(const fw_model *model, const char *key,
                                       double *out)
{
    const fwi_gguf_kv *kv;
    fw_status st = find(model, key, &kv);
    if (st != FW_OK)
        return st;
    if (!out)
        return fwi_fail(model, FW_E_INVALID_ARG, "out is NULL");
    if (kv->type == FW_META_ARRAY)
        return wrong_type(model, key, kv->type, kv->elem_type, "a number");
    return get_f64(model, key, kv->type, kv->data, out);
}

FW_API fw_status fw_model_meta_get_bool(const fw_model *model, const char *key,
                                        int32_t *out)
{
    const fwi_gguf_kv *kv;
    fw_status st = find(model, key, &kv);
    if (st != FW_OK)
        return st;
    if (!out)
        return fwi_fail(model, FW_E_INVALID_ARG, "out is NULL");
    if (kv->type != FW_META_BOOL)
        return wrong_type(model, key, kv->type, kv->elem_type, "a bool");
    *out = kv->data[0];
    return FW_OK;
}

FW_API fw_status fw_model_meta_get_str(const fw_model *model, const char *key,
                                       char *buf, size_t cap, size_t *n_needed)
{
    const fwi_gguf_kv *kv;
    fw_status st = find(model, key, &kv);
    if (st != FW_OK)
        return st;
    if (kv->type != FW_META_STRING)
        return wrong_type(model, key, kv->type, kv->elem_type, "a string");
    return fwi_out_text(model, (const char *)kv->data, (size_t)kv->n, buf, cap,
                        n_needed);
}

/* Element `index` of array `key`: its type and bytes. */
static fw_status element(const fw_model *model, const char *key,
                         uint64_t index, const fwi_gguf_kv **kv,
                         const uint8_t **p)
{
    fw_status st = find(model, key, kv);
    if (st != FW_OK)
        return st;
    if ((*kv)->type != FW_META_ARRAY)
        return fwi_fail(model, FW_E_TYPE, "metadata key '%s' is a %s, not an "
                        "array", key, fw_meta_type_name((*kv)->type));
    if (index >= (*kv)->n)
        return fwi_fail(model, FW_E_NOT_FOUND,
                        "metadata key '%s': index %llu out of range (%llu "
                        "elements)",
                        key, (unsigned long long)index,
                        (unsigned long long)(*kv)->n);
    size_t sz = fwi_gguf_scalar_size((*kv)->elem_type);
    if (sz)
        *p = (*kv)->data + index * sz;
    else if ((*kv)->str_offs)
        *p = (*kv)->data + (*kv)->str_offs[index];
    else
        return fwi_fail(model, FW_E_TYPE,
                        "metadata key '%s' is an array of arrays (use "
                        "fw_model_meta_to_json)",
                        key);
    return FW_OK;
}

FW_API fw_status fw_model_meta_arr_i64(const fw_model *model, const char *key,
                                       uint64_t index, int64_t *out)
{
    const fwi_gguf_kv *kv;
    const uint8_t *p;
    fw_status st = element(model, key, index, &kv, &p);
    if (st != FW_OK)
        return st;
    if (!out)
        return fwi_fail(model, FW_E_INVALID_ARG, "out is NULL");
    return get_i64(model, key, kv->elem_type == FW_META_STRING
                                   ? FW_META_ARRAY : kv->elem_type,
                   kv->elem_type, p, out);
}

FW_API fw_status fw_model_meta_arr_f64(const fw_model *model, const char *key,
                                       uint64_t index, double *out)
{
    const fwi_gguf_kv *kv;
    const uint8_t *p;
    fw_status st = element(model, key, index, &kv, &p);
    if (st != FW_OK)
        return st;
    if (!out)
        return fwi_fail(model, FW_E_INVALID_ARG, "out is NULL");
    if (!fwi_gguf_scalar_size(kv->elem_type) || kv->elem_type == FW_META_BOOL)
        return wrong_type(model, key, FW_META_ARRAY, kv->elem_type, "numbers");
    *out = fwi_gguf_scalar_f64(kv->elem_type, p);
    return FW_OK;
}

FW_API fw_status fw_model_meta_arr_str(const fw_model *model, const char *key,
                                       uint64_t index, char *buf, size_t cap,
                                       size_t *n_needed)
{
    const fwi_gguf_kv *kv;
    const uint8_t *p;
    fw_status st = element(model, key, index, &kv, &p);
    if (st != FW_OK)
        return st;
    if (kv->elem_type != FW_META_STRING)
        return wrong_type(model, key, FW_META_ARRAY, kv->elem_type, "strings");
    return fwi_out_text(model, (const char *)p + 8, (size_t)fwi_rd64(p), buf,
                        cap, n_needed);
}

FW_API fw_status fw_model_meta_to_json(const fw_model *model, const char *key,
                                       int64_t max_array_elems, char *buf,
                                       size_t cap, size_t *n_needed)
{
    const fwi_gguf_kv *kv;
    fw_status st = find(model, key, &kv);
    if (st != FW_OK)
        return st;
    fwi_sbuf b = {0};
    fwi_gguf_value_json(&b, kv->type, kv->elem_type, kv->n, kv->data,
                        kv->str_offs, max_array_elems);
    if (b.failed)
        st = fwi_fail(model, FW_E_NOMEM, "out of memory rendering '%s'", key);
    else
        st = fwi_out_text(model, b.data ? b.data : "", b.len, buf, cap,
                          n_needed);
    fwi_sbuf_free(&b);
    return st;
}
