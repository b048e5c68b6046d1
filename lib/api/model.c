/* model.c - public entry points: model loading and model information. */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"

FW_API void fw_model_params_init(fw_model_params *params)
{
    if (!params)
        return;
    memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->use_mmap = 1;
    params->log_level = FW_LOG_WARN;
}

static int report(const fw_model_params *p, float progress)
{
    return p->progress && p->progress(progress, p->progress_user_data) != 0;
}

/* Shared by both loaders: the image is in m->file or the caller's buffer. */
static fw_status finish_load(fw_model *m, const uint8_t *data, uint64_t size,
                             const fw_model_params *p, const char *origin)
{
    if (report(p, 0.1f))
        return fwi_fail(m, FW_E_ABORTED, "%s: load aborted by the progress "
                        "callback", origin);
    fw_status st = fwi_gguf_parse(&m->gguf, data, size, m);
    if (st != FW_OK) {
        /* Prefix the origin to the parser's message. */
        char msg[FWI_ERRMSG_CAP];
        snprintf(msg, sizeof msg, "%s", fw_last_error());
        return fwi_fail(m, st, "%s: %s", origin, msg);
    }
    const fwi_gguf_kv *kv = fwi_gguf_find_kv(&m->gguf, "general.architecture");
    if (kv && kv->type != FW_META_STRING)
        return fwi_fail(m, FW_E_FORMAT,
                        "%s: key 'general.architecture' has type %s, expected "
                        "string",
                        origin, fw_meta_type_name(kv->type));
    m->arch = kv ? fwi_strndup((const char *)kv->data, (size_t)kv->n)
                 : fwi_strndup("", 0);
    if (!m->arch)
        return fwi_fail(m, FW_E_NOMEM, "%s: out of memory", origin);
    /* The tokenizer: a file whose tokenizer cannot be built still loads
     * (its metadata and tensors are readable); tokenizing then reports why. */
    fw_status vst = fwi_vocab_from_gguf(&m->gguf, m, &m->vocab);
    if (vst == FW_E_NOMEM)
        return fwi_fail(m, vst, "%s: out of memory building the tokenizer",
                        origin);
    if (vst != FW_OK) {
        m->vocab_status = vst;
        m->vocab_error = fwi_strndup(fw_last_error(), strlen(fw_last_error()));
        if (!m->vocab_error)
            return fwi_fail(m, FW_E_NOMEM, "%s: out of memory", origin);
        fwi_log(&m->log, FW_LOG_WARN, "%s: no tokenizer: %s", origin,
                m->vocab_error);
    }
    /* Sampling defaults: GGUF, then generation_config.json. */
    st = fwi_model_load_defaults(m, p->generation_config,
                                 m->file.data ? origin : NULL);
    if (st != FW_OK)
        return st;
    /* The weights, unless only metadata was asked for. */
    m->metadata_only = p->metadata_only != 0;
    if (!m->metadata_only && m->gguf.n_tensors > 0) {
        if (!fwi_arch_supported(m->arch))
            return fwi_fail(m, FW_E_UNSUPPORTED,
                            "%s: architecture '%s' is not supported (this "
                            "build runs: %s)",
                            origin, m->arch, fwi_arch_list());
        if (report(p, 0.5f))
            return fwi_fail(m, FW_E_ABORTED, "%s: load aborted by the "
                            "progress callback", origin);
        st = fwi_llama_bind(&m->gguf, m->arch, m, &m->llama);
        if (st != FW_OK) {
            char msg[FWI_ERRMSG_CAP];
            snprintf(msg, sizeof msg, "%s", fw_last_error());
            return fwi_fail(m, st, "%s: %s", origin, msg);
        }
    }
    fwi_log(&m->log, FW_LOG_INFO,
            "%s: GGUF v%u, %lld tensors, %lld metadata keys, architecture "
            "'%s'",
            origin, (unsigned)m->gguf.version, (long long)m->gguf.n_tensors,
            (long long)m->gguf.n_kv, m->arch);
    if (report(p, 1.0f))
        return fwi_fail(m, FW_E_ABORTED, "%s: load aborted by the progress "
                        "callback", origin);
    return FW_OK;
}

/* Shared start of every loader: the caller's params over the defaults, and
 * an empty model. */
static fw_status model_new(const fw_model_params *params, fw_model_params *p,
                           fw_model **out, fw_model **model)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out_model is NULL");
    *out = NULL; /* set by the loader on success only */
    fw_model_params_init(p);
    fw_status st = fwi_params_copy(p, sizeof *p, params, "fw_model_params",
                                   NULL);
    if (st != FW_OK)
        return st;
    fw_model *m = fwi_calloc(1, sizeof *m);
    if (!m)
        return fwi_fail(NULL, FW_E_NOMEM, "out of memory");
    m->magic = FWI_MODEL_MAGIC;
    m->log = (fwi_logger){p->log, p->log_user_data, p->log_level};
    *model = m;
    return FW_OK;
}

static fw_status load(const char *path, const void *data, size_t size,
                      const fw_model_params *params, fw_model **out)
{
    fw_model_params p;
    fw_model *m;
    fw_status st = model_new(params, &p, out, &m);
    if (st != FW_OK)
        return st;
    if (path) {
        st = fwi_mapfile_open(&m->file, path, p.use_mmap != 0, m);
        if (st == FW_OK && !m->file.mapped)
            fwi_log(&m->log, FW_LOG_WARN, "%s: read into memory (not mapped)",
                    path);
        if (st == FW_OK)
            st = finish_load(m, m->file.data, m->file.size, &p, path);
    } else {
        st = finish_load(m, data, size, &p, "<memory>");
    }
    if (st != FW_OK) {
        fwi_log(&m->log, FW_LOG_ERROR, "%s", fw_last_error());
        fwi_error_set_handle(NULL);
        fw_model_free(m);
        return st;
    }
    *out = m;
    return FW_OK;
}

FW_API fw_status fw_model_load(const char *path, const fw_model_params *params,
                               fw_model **out_model)
{
    if (!path) {
        if (out_model)
            *out_model = NULL;
        return fwi_fail(NULL, FW_E_INVALID_ARG, "path is NULL");
    }
    return load(path, NULL, 0, params, out_model);
}

FW_API fw_status fw_model_load_from_memory(const void *data, size_t size,
                                           const fw_model_params *params,
                                           fw_model **out_model)
{
    if (!data) {
        if (out_model)
            *out_model = NULL;
        return fwi_fail(NULL, FW_E_INVALID_ARG, "data is NULL");
    }
    return load(NULL, data, size, params, out_model);
}

FW_API fw_status fw_model_load_tiktoken(const char *path, const char *pre,
                                        const fw_model_params *params,
                                        fw_model **out_model)
{
    if (out_model)
        *out_model = NULL;
    if (!path || !pre)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "path or pre is NULL");
    fw_model_params p;
    fw_model *m;
    fw_status st = model_new(params, &p, out_model, &m);
    if (st != FW_OK)
        return st;
    st = fwi_mapfile_open(&m->file, path, p.use_mmap != 0, m);
    if (st == FW_OK)
        st = fwi_vocab_from_tiktoken((const char *)m->file.data,
                                     (size_t)m->file.size, pre, m, &m->vocab);
    if (st == FW_OK) {
        m->arch = fwi_strndup("", 0);
        if (!m->arch)
            st = fwi_fail(m, FW_E_NOMEM, "out of memory");
    }
    if (st != FW_OK) {
        char msg[FWI_ERRMSG_CAP];
        snprintf(msg, sizeof msg, "%s", fw_last_error());
        fwi_fail(NULL, st, "%s: %s", path, msg);
        fw_model_free(m);
        return st;
    }
    *out_model = m;
    return FW_OK;
}

FW_API void fw_model_free(fw_model *model)
{
    if (!fwi_model_ok(model))
        return;
    fwi_llama_free(model->llama);
    fwi_free(model->extra_eog);
    fwi_vocab_free(model->vocab);
    fwi_free(model->vocab_error);
    fwi_gguf_free(&model->gguf);
    fwi_mapfile_close(&model->file);
    fwi_free((char *)model->arch);
    model->magic = 0;
    fwi_free(model);
}

FW_API const char *fw_model_errmsg(const fw_model *model)
{
    return fwi_errmsg_for(model);
}

FW_API int32_t fw_model_n_vocab(const fw_model *model)
{
    return fwi_model_ok(model) && model->llama ? model->llama->hp.n_vocab : 0;
}

FW_API int32_t fw_model_n_embd(const fw_model *model)
{
    return fwi_model_ok(model) && model->llama ? model->llama->hp.n_embd : 0;
}

FW_API int32_t fw_model_n_layer(const fw_model *model)
{
    return fwi_model_ok(model) && model->llama ? model->llama->hp.n_layer : 0;
}

FW_API int32_t fw_model_n_ctx_train(const fw_model *model)
{
    return fwi_model_ok(model) && model->llama ? model->llama->hp.n_ctx_train : 0;
}

FW_API const char *fw_model_arch(const fw_model *model)
{
    return fwi_model_ok(model) ? model->arch : "";
}

FW_API uint32_t fw_model_gguf_version(const fw_model *model)
{
    return fwi_model_ok(model) ? model->gguf.version : 0;
}

FW_API uint32_t fw_model_alignment(const fw_model *model)
{
    return fwi_model_ok(model) ? model->gguf.alignment : 0;
}

FW_API uint64_t fw_model_data_offset(const fw_model *model)
{
    return fwi_model_ok(model) ? model->gguf.data_offset : 0;
}

/* ---- tensors ---- */

FW_API int64_t fw_model_tensor_count(const fw_model *model)
{
    return fwi_model_ok(model) ? model->gguf.n_tensors : 0;
}

FW_API int64_t fw_model_tensor_find(const fw_model *model, const char *name)
{
    if (!fwi_model_ok(model) || !name)
        return -1;
    return fwi_strmap_get(&model->gguf.tensor_map, name, strlen(name));
}

FW_API const char *fw_model_tensor_name(const fw_model *model, int64_t index)
{
    if (!fwi_model_ok(model) || index < 0 || index >= model->gguf.n_tensors)
        return NULL;
    return model->gguf.tensors[index].name;
}

FW_API fw_status fw_model_tensor_info(const fw_model *model, int64_t index,
                                      int32_t *type, int32_t *n_dims,
                                      int64_t dims[FW_MAX_DIMS],
                                      uint64_t *offset, uint64_t *n_bytes)
{
    if (!fwi_model_ok(model))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "model is NULL or freed");
    if (index < 0 || index >= model->gguf.n_tensors)
        return fwi_fail(model, FW_E_NOT_FOUND,
                        "tensor index %lld out of range (the model has %lld)",
                        (long long)index, (long long)model->gguf.n_tensors);
    const fwi_gguf_tensor *t = &model->gguf.tensors[index];
    if (type)
        *type = t->type;
    if (n_dims)
        *n_dims = t->n_dims;
    if (dims)
        memcpy(dims, t->ne, sizeof t->ne);
    if (offset)
        *offset = t->offset;
    if (n_bytes)
        *n_bytes = t->n_bytes;
    return FW_OK;
}
