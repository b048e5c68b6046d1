/* chat.c - the public chat-template API (fw_chat_apply_template*): finds
 * the template and the special tokens, validates the input, renders with
 * the Jinja engine (jinja.c) and copies the text to the caller buffer.
 * fwi_chat_render is the same rendering for generation (lib/gen). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "chat/jinja.h"
#include "model/model.h"
#include "core/core.h"
#include "core/json.h"
#include "core/sbuf.h"

static int utf8_ok(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t l = fwi_utf8_valid_len((const uint8_t *)s + i, n - i);
        if (l == 0)
            return 0;
        i += l;
    }
    return 1;
}

/* A malloc'd copy of the model's tokenizer.chat_template. */
static fw_status model_template(const fw_model *model, char **out, size_t *len)
{
    size_t n = 0;
    fw_status st = fw_model_meta_get_str(model, "tokenizer.chat_template", NULL, 0, &n);
    if (st == FW_E_NOT_FOUND)
        return fwi_fail(model, FW_E_NOT_FOUND,
                        "the model has no tokenizer.chat_template: pass a template");
    if (st != FW_OK && st != FW_E_BUFFER_TOO_SMALL)
        return st;
    char *s = fwi_malloc(n + 1);
    if (!s)
        return fwi_fail(model, FW_E_NOMEM, "out of memory");
    st = fw_model_meta_get_str(model, "tokenizer.chat_template", s, n + 1, &n);
    if (st != FW_OK) {
        fwi_free(s);
        return st;
    }
    *out = s;
    *len = n;
    return FW_OK;
}

/* The text of special token `which`, malloc'd, into *out (NULL if the
 * model has none).  FW_E_NOMEM if it cannot be copied. */
static fw_status special_text(const fw_model *model, int32_t which, char **out)
{
    *out = NULL;
    fw_token t = fw_vocab_special(model, which);
    if (t < 0)
        return FW_OK;
    size_t n = 0;
    fw_status st = fw_vocab_token_text(model, t, NULL, 0, &n);
    if (st != FW_OK && st != FW_E_BUFFER_TOO_SMALL)
        return FW_OK;
    char *s = fwi_malloc(n + 1);
    if (!s)
        return fwi_fail(model, FW_E_NOMEM, "chat template: out of memory");
    if (fw_vocab_token_text(model, t, s, n + 1, &n) != FW_OK) {
        fwi_free(s);
        s = NULL;
    }
    *out = s;
    return FW_OK;
}

fw_status fwi_chat_render(const fw_model *model, const char *tmpl,
                          fwi_jinja_input *in, fwi_sbuf *out)
{
    char *owned = NULL, *bos = NULL, *eos = NULL;
    fw_status st = FW_OK;
    if (tmpl) {
        in->tmpl = tmpl;
        in->tmpl_len = strlen(tmpl);
    } else {
        if (!model)
            return fwi_fail(NULL, FW_E_INVALID_ARG, "chat template: both model and tmpl are NULL");
        st = model_template(model, &owned, &in->tmpl_len);
        if (st != FW_OK)
            return st;
        in->tmpl = owned;
    }
    if (!utf8_ok(in->tmpl, in->tmpl_len)) {
        fwi_free(owned);
        return fwi_fail(model, FW_E_INVALID_ARG, "chat template: the template is not valid UTF-8");
    }
    if (model) {
        st = special_text(model, FW_SPECIAL_BOS, &bos);
        if (st == FW_OK)
            st = special_text(model, FW_SPECIAL_EOS, &eos);
        in->bos_token = bos;
        in->eos_token = eos;
    }
    in->fixed_date = getenv("FWINFER_FIXED_DATE");
    if (st == FW_OK)
        st = fwi_jinja_render(in, model, out);
    in->tmpl = NULL;
    in->bos_token = in->eos_token = NULL;
    fwi_free(owned);
    fwi_free(bos);
    fwi_free(eos);
    return st;
}

fw_status fwi_chat_check_msgs(const void *handle, const fw_chat_message *msgs, size_t n_msgs)
{
    if (!msgs && n_msgs > 0)
        return fwi_fail(handle, FW_E_INVALID_ARG, "chat template: msgs is NULL but n_msgs is %zu", n_msgs);
    for (size_t i = 0; i < n_msgs; i++) {
        if (!msgs[i].role)
            return fwi_fail(handle, FW_E_INVALID_ARG, "chat template: message %zu has no role", i);
        if (!utf8_ok(msgs[i].role, strlen(msgs[i].role)) ||
            (msgs[i].content && !utf8_ok(msgs[i].content, strlen(msgs[i].content))))
            return fwi_fail(handle, FW_E_INVALID_ARG, "chat template: message %zu is not valid UTF-8", i);
    }
    return FW_OK;
}

static fw_status apply(const fw_model *model, const char *tmpl,
                       fwi_jinja_input *in, char *buf, size_t cap,
                       size_t *n_needed)
{
    fwi_sbuf out = {0};
    fw_status st = fwi_chat_render(model, tmpl, in, &out);
    if (st == FW_OK)
        st = fwi_out_text(model, out.data ? out.data : "", out.len, buf, cap, n_needed);
    else if (n_needed)
        *n_needed = 0;
    fwi_sbuf_free(&out);
    return st;
}

FW_API fw_status fw_chat_apply_template(const fw_model *model, const char *tmpl,
                                        const fw_chat_message *msgs, size_t n_msgs,
                                        int32_t add_generation_prompt, char *buf,
                                        size_t cap, size_t *n_needed)
{
    if (n_needed)
        *n_needed = 0;
    if (model && !fwi_model_ok(model))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "chat template: model is freed");
    fw_status st = fwi_chat_check_msgs(model, msgs, n_msgs);
    if (st != FW_OK)
        return st;
    fwi_jinja_input in;
    memset(&in, 0, sizeof in);
    in.msgs = msgs;
    in.n_msgs = n_msgs;
    in.add_generation_prompt = add_generation_prompt != 0;
    return apply(model, tmpl, &in, buf, cap, n_needed);
}

static fw_status parse_json_arg(const fw_model *model, const char *what, const char *text,
                                fwi_json_type want, fwi_json **out)
{
    fw_status st = fwi_json_parse(text, strlen(text), model, out);
    if (st != FW_OK) {
        char msg[FWI_ERRMSG_CAP];
        snprintf(msg, sizeof msg, "%s", fw_last_error());
        return fwi_fail(model, st, "chat template: %s JSON: %s", what, msg);
    }
    if (fwi_json_type_of(*out) != want) {
        fwi_json_free(*out);
        *out = NULL;
        return fwi_fail(model, FW_E_FORMAT, "chat template: %s JSON must be %s", what,
                        want == FWI_JSON_ARRAY ? "an array" : "an object");
    }
    return FW_OK;
}

FW_API fw_status fw_chat_apply_template_json(const fw_model *model, const char *tmpl,
                                             const char *messages_json,
                                             const char *vars_json,
                                             int32_t add_generation_prompt, char *buf,
                                             size_t cap, size_t *n_needed)
{
    if (n_needed)
        *n_needed = 0;
    if (model && !fwi_model_ok(model))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "chat template: model is freed");
    if (!messages_json)
        return fwi_fail(model, FW_E_INVALID_ARG, "chat template: messages_json is NULL");
    fwi_json *msgs = NULL, *vars = NULL;
    fw_status st = parse_json_arg(model, "messages", messages_json, FWI_JSON_ARRAY, &msgs);
    if (st != FW_OK)
        return st;
    if (vars_json) {
        st = parse_json_arg(model, "vars", vars_json, FWI_JSON_OBJECT, &vars);
        if (st != FW_OK) {
            fwi_json_free(msgs);
            return st;
        }
    }
    fwi_jinja_input in;
    memset(&in, 0, sizeof in);
    in.messages = msgs;
    in.vars = vars;
    in.add_generation_prompt = add_generation_prompt != 0;
    st = apply(model, tmpl, &in, buf, cap, n_needed);
    fwi_json_free(msgs);
    fwi_json_free(vars);
    return st;
}
