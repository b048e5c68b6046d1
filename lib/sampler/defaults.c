/*
 * defaults.c - a model's sampling defaults: generation_config.json (given
 * by the caller or found next to the model file), then the GGUF keys
 * general.sampling.*; rendered like Fireworks' fireworks-sampling-options
 * header.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/json.h"
#include "core/mapfile.h"
#include "core/sbuf.h"
#include "model/model.h"

static const char *const def_names[FWI_DEF_COUNT] = {
    "temperature", "top_k", "top_p", "min_p", "typical_p"};

void fwi_model_sampling_defaults(const fw_model *m, fwi_sampling_defaults *d)
{
    if (m && fwi_model_ok(m))
        *d = m->defaults;
    else
        memset(d, 0, sizeof *d);
}

/* GGUF general.sampling.{temp,top_k,top_p,min_p} (llama.cpp's converter
 * writes them from generation_config.json). */
static void from_gguf(fw_model *m)
{
    static const char *const keys[FWI_DEF_COUNT] = {
        "general.sampling.temp", "general.sampling.top_k",
        "general.sampling.top_p", "general.sampling.min_p", NULL};
    for (int i = 0; i < FWI_DEF_COUNT; i++) {
        if (!keys[i])
            continue;
        const fwi_gguf_kv *kv = fwi_gguf_find_kv(&m->gguf, keys[i]);
        if (!kv || !fwi_gguf_scalar_size(kv->type) || kv->type == FW_META_BOOL)
            continue;
        double v = fwi_gguf_scalar_f64(kv->type, kv->data);
        fwi_sbuf b = {0};
        if (kv->type == FW_META_FLOAT32)
            fwi_sbuf_json_f32(&b, (float)v);
        else if (kv->type == FW_META_FLOAT64)
            fwi_sbuf_json_f64(&b, v);
        else
            fwi_sbuf_printf(&b, "%.0f", v);
        if (!b.failed && b.len < sizeof m->defaults.text[i] && isfinite(v)) {
            m->defaults.has[i] = 1;
            m->defaults.value[i] = v;
            memcpy(m->defaults.text[i], b.data, b.len + 1);
        }
        fwi_sbuf_free(&b);
    }
}

static fw_status from_config(fw_model *m, const char *path)
{
    fwi_mapfile f;
    fw_status st = fwi_mapfile_open(&f, path, 0, m);
    if (st != FW_OK)
        return st;
    fwi_json *root = NULL;
    st = fwi_json_parse((const char *)f.data, (size_t)f.size, m, &root);
    if (st != FW_OK) {
        char msg[FWI_ERRMSG_CAP];
        snprintf(msg, sizeof msg, "%s", fw_last_error());
        fwi_mapfile_close(&f);
        return fwi_fail(m, st, "%s: %s", path, msg);
    }
    if (fwi_json_type_of(root) != FWI_JSON_OBJECT) {
        fwi_json_free(root);
        fwi_mapfile_close(&f);
        return fwi_fail(m, FW_E_FORMAT, "%s: not a JSON object", path);
    }
    for (int i = 0; i < FWI_DEF_COUNT && st == FW_OK; i++) {
        const fwi_json *v = fwi_json_get(root, def_names[i]);
        if (!v || fwi_json_type_of(v) == FWI_JSON_NULL)
            continue;
        if (fwi_json_type_of(v) != FWI_JSON_NUMBER) {
            st = fwi_fail(m, FW_E_FORMAT, "%s: \"%s\" is not a number", path,
                          def_names[i]);
            break;
        }
        size_t len;
        const char *text = fwi_json_num_text(v, &len);
        if (len >= sizeof m->defaults.text[i]) {
            st = fwi_fail(m, FW_E_FORMAT, "%s: \"%s\" is too long", path,
                          def_names[i]);
            break;
        }
        m->defaults.has[i] = 1;
        m->defaults.value[i] = fwi_json_num(v);
        memcpy(m->defaults.text[i], text, len);
        m->defaults.text[i][len] = '\0';
    }
    /* eos_token_id: an int or a list extends the end-of-generation set */
    const fwi_json *eos = st == FW_OK ? fwi_json_get(root, "eos_token_id") : NULL;
    if (eos) {
        size_t n = fwi_json_type_of(eos) == FWI_JSON_ARRAY ? fwi_json_len(eos) : 1;
        m->extra_eog = fwi_calloc(n, sizeof *m->extra_eog);
        if (!m->extra_eog)
            st = fwi_fail(m, FW_E_NOMEM, "out of memory");
        for (size_t i = 0; st == FW_OK && i < n; i++) {
            const fwi_json *e = fwi_json_type_of(eos) == FWI_JSON_ARRAY
                                    ? fwi_json_at(eos, i) : eos;
            int64_t id;
            if (fwi_json_type_of(e) != FWI_JSON_NUMBER || !fwi_json_num_int(e, &id) ||
                id < 0 || id > INT32_MAX)
                st = fwi_fail(m, FW_E_FORMAT, "%s: eos_token_id must be token ids",
                              path);
            else
                m->extra_eog[m->n_extra_eog++] = (int32_t)id;
        }
    }
    fwi_json_free(root);
    fwi_mapfile_close(&f);
    return st;
}

fw_status fwi_model_load_defaults(fw_model *m, const char *config_path,
                                  const char *model_path)
{
    from_gguf(m);
    char found[4096];
    if (!config_path && model_path) {
        const char *slash = strrchr(model_path, '/');
        size_t dir = slash ? (size_t)(slash - model_path + 1) : 0;
        if (dir + sizeof "generation_config.json" <= sizeof found) {
            memcpy(found, model_path, dir);
            memcpy(found + dir, "generation_config.json",
                   sizeof "generation_config.json");
            struct stat sb;
            if (stat(found, &sb) == 0 && S_ISREG(sb.st_mode))
                config_path = found;
        }
    }
    if (!config_path || !*config_path)
        return FW_OK;
    return from_config(m, config_path);
}

FW_API fw_status fw_model_sampling_defaults_json(const fw_model *m, char *buf,
                                                 size_t cap, size_t *n_needed)
{
    if (!fwi_model_ok(m))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "model is NULL or freed");
    fwi_sbuf b = {0};
    fwi_sbuf_putc(&b, '{');
    int first = 1;
    for (int i = 0; i < FWI_DEF_COUNT; i++) {
        if (!m->defaults.has[i])
            continue;
        fwi_sbuf_printf(&b, "%s\"%s\":%s", first ? "" : ",", def_names[i],
                        m->defaults.text[i]);
        first = 0;
    }
    fwi_sbuf_putc(&b, '}');
    fw_status st = b.failed ? fwi_fail(m, FW_E_NOMEM, "out of memory")
                            : fwi_out_text(m, b.data, b.len, buf, cap, n_needed);
    fwi_sbuf_free(&b);
    return st;
}
