/*
 * params_json.c - model and context parameters by name (a JSON object), for
 * bindings and other callers that must not mirror a C struct layout, and
 * streaming events as JSON.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/json.h"
#include "core/sbuf.h"
#include "fwinfer.h"

/* Parse `text` (NULL or "" = {}) as a JSON object into *root. */
static fw_status parse_object(const char *what, const char *text, fwi_json **root)
{
    *root = NULL;
    if (!text || !*text)
        return FW_OK;
    fw_status st = fwi_json_parse(text, strlen(text), NULL, root);
    if (st != FW_OK) {
        char msg[256]; /* the parser's message, before it is overwritten */
        snprintf(msg, sizeof msg, "%s", fw_last_error());
        return fwi_fail(NULL, st, "%s: %s", what, msg);
    }
    if (fwi_json_type_of(*root) != FWI_JSON_OBJECT) {
        fwi_json_free(*root);
        *root = NULL;
        return fwi_fail(NULL, FW_E_INVALID_ARG, "%s: expected a JSON object", what);
    }
    return FW_OK;
}

/* An integer member in [lo, hi]. */
static fw_status get_uint(const char *what, const char *key, const fwi_json *v,
                          int64_t lo, int64_t hi, int64_t *out)
{
    if (fwi_json_type_of(v) != FWI_JSON_NUMBER || !fwi_json_num_int(v, out))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "%s: \"%s\" must be an integer", what, key);
    if (*out < lo || *out > hi)
        return fwi_fail(NULL, FW_E_RANGE, "%s: \"%s\" = %lld is out of range [%lld, %lld]",
                        what, key, (long long)*out, (long long)lo, (long long)hi);
    return FW_OK;
}

static fw_status get_flag(const char *what, const char *key, const fwi_json *v, uint32_t *out)
{
    const fwi_json_type t = fwi_json_type_of(v);
    if (t != FWI_JSON_TRUE && t != FWI_JSON_FALSE)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "%s: \"%s\" must be true or false", what, key);
    *out = t == FWI_JSON_TRUE;
    return FW_OK;
}

static fw_status get_string(const char *what, const char *key, const fwi_json *v,
                            const char **out)
{
    size_t len;
    if (fwi_json_type_of(v) != FWI_JSON_STRING)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "%s: \"%s\" must be a string", what, key);
    *out = fwi_json_str(v, &len);
    if (strlen(*out) != len)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "%s: \"%s\" contains U+0000", what, key);
    return FW_OK;
}

FW_API fw_status fw_model_load_json(const char *path, const char *params_json,
                                    fw_model **out_model)
{
    static const char what[] = "model parameters";
    if (out_model)
        *out_model = NULL;
    fwi_json *root;
    fw_status st = parse_object(what, params_json, &root);
    if (st != FW_OK)
        return st;
    fw_model_params p;
    fw_model_params_init(&p);
    for (size_t i = 0; st == FW_OK && i < fwi_json_len(root); i++) {
        const char *key = fwi_json_key_at(root, i, NULL);
        const fwi_json *v = fwi_json_at(root, i);
        if (!strcmp(key, "use_mmap"))
            st = get_flag(what, key, v, &p.use_mmap);
        else if (!strcmp(key, "metadata_only"))
            st = get_flag(what, key, v, &p.metadata_only);
        else if (!strcmp(key, "generation_config"))
            st = get_string(what, key, v, &p.generation_config);
        else
            st = fwi_fail(NULL, FW_E_INVALID_ARG, "%s: unknown field \"%s\" (known: "
                          "use_mmap, metadata_only, generation_config)", what, key);
    }
    if (st == FW_OK)
        st = fw_model_load(path, &p, out_model);
    fwi_json_free(root);
    return st;
}

FW_API fw_status fw_context_new_json(const fw_model *model, const char *params_json,
                                     fw_context **out_ctx)
{
    static const char what[] = "context parameters";
    if (out_ctx)
        *out_ctx = NULL;
    fwi_json *root;
    fw_status st = parse_object(what, params_json, &root);
    if (st != FW_OK)
        return st;
    fw_context_params p;
    fw_context_params_init(&p);
    static const struct {
        const char *key;
        size_t off;
    } u32[] = {
        {"n_ctx", offsetof(fw_context_params, n_ctx)},
        {"n_batch", offsetof(fw_context_params, n_batch)},
        {"n_threads", offsetof(fw_context_params, n_threads)},
        {"n_seq_max", offsetof(fw_context_params, n_seq_max)},
    };
    for (size_t i = 0; st == FW_OK && i < fwi_json_len(root); i++) {
        const char *key = fwi_json_key_at(root, i, NULL);
        const fwi_json *v = fwi_json_at(root, i);
        int64_t x;
        size_t k = 0;
        while (k < sizeof u32 / sizeof *u32 && strcmp(key, u32[k].key))
            k++;
        if (k < sizeof u32 / sizeof *u32) {
            st = get_uint(what, key, v, 0, UINT32_MAX, &x);
            if (st == FW_OK) {
                const uint32_t x32 = (uint32_t)x;
                memcpy((char *)&p + u32[k].off, &x32, sizeof x32);
            }
        } else if (!strcmp(key, "kv_budget_bytes")) {
            st = get_uint(what, key, v, 0, INT64_MAX, &x);
            if (st == FW_OK)
                p.kv_budget_bytes = (uint64_t)x;
        } else if (!strcmp(key, "isa")) {
            st = get_string(what, key, v, &p.isa);
        } else {
            st = fwi_fail(NULL, FW_E_INVALID_ARG, "%s: unknown field \"%s\" (known: n_ctx, "
                          "n_batch, n_threads, n_seq_max, kv_budget_bytes, isa)", what, key);
        }
    }
    if (st == FW_OK)
        st = fw_context_new(model, &p, out_ctx);
    fwi_json_free(root);
    return st;
}

FW_API fw_status fw_event_to_json(const fw_event *ev, char *buf, size_t cap,
                                  size_t *n_needed)
{
    if (n_needed)
        *n_needed = 0;
    if (!ev || ev->struct_size < sizeof(fw_event))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "event is NULL or from another library version");
    fwi_sbuf b = {0};
    fwi_sbuf_printf(&b, "{\"choice\":%d,\"token\":%d,\"text\":", (int)ev->choice, (int)ev->token);
    fwi_sbuf_json_str(&b, ev->text ? ev->text : "", ev->text ? ev->text_len : 0);
    if (ev->token >= 0) {
        fwi_sbuf_puts(&b, ",\"logprob\":");
        fwi_sbuf_json_f32(&b, ev->logprob);
        fwi_sbuf_puts(&b, ",\"sampling_logprob\":");
        fwi_sbuf_json_f32(&b, ev->sampling_logprob);
    }
    if (ev->n_top > 0 && ev->top_ids && ev->top_logprobs) {
        fwi_sbuf_puts(&b, ",\"top_logprobs\":[");
        for (int32_t i = 0; i < ev->n_top; i++) {
            fwi_sbuf_printf(&b, "%s{\"token\":%d,\"logprob\":", i ? "," : "",
                            (int)ev->top_ids[i]);
            fwi_sbuf_json_f32(&b, ev->top_logprobs[i]);
            fwi_sbuf_putc(&b, '}');
        }
        fwi_sbuf_putc(&b, ']');
    }
    fwi_sbuf_puts(&b, ",\"finish_reason\":");
    if (ev->finish_reason)
        fwi_sbuf_json_str(&b, ev->finish_reason, strlen(ev->finish_reason));
    else
        fwi_sbuf_puts(&b, "null");
    fwi_sbuf_putc(&b, '}');
    fw_status st = b.failed ? fwi_fail(NULL, FW_E_NOMEM, "event JSON: out of memory")
                            : fwi_out_text(NULL, b.data, b.len, buf, cap, n_needed);
    fwi_sbuf_free(&b);
    return st;
}
