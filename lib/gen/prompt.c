/*
 * prompt.c - the prompt of a generation request: chat messages rendered
 * with a template (the caller's, the model's, or ChatML when the model has
 * none), and the tokens generation evaluates, with the fragments
 * raw_output reports for a chat prompt.
 */
#include <string.h>

#include "chat/chat.h"
#include "gen.h"

#define CHAT_TEMPLATE_KEY "tokenizer.chat_template"

/* 1 if the model has a non-empty string tokenizer.chat_template.  (Looked
 * up without the getters, which would record "not found" as an error.) */
static int model_has_template(const fw_model *m)
{
    int32_t type = -1;
    if (fw_model_meta_find(m, CHAT_TEMPLATE_KEY) < 0 ||
        fw_model_meta_type(m, CHAT_TEMPLATE_KEY, &type, NULL, NULL) != FW_OK ||
        type != FW_META_STRING)
        return 0;
    size_t n = 0;
    fw_status st = fw_model_meta_get_str(m, CHAT_TEMPLATE_KEY, NULL, 0, &n);
    return (st == FW_OK || st == FW_E_BUFFER_TOO_SMALL) && n > 0;
}

static int utf8_ok(const char *s, size_t n)
{
    for (size_t i = 0, l; i < n; i += l)
        if ((l = fwi_utf8_valid_len((const uint8_t *)s + i, n - i)) == 0)
            return 0;
    return 1;
}

/* The content of a JSON message as ChatML writes it: a string as is, null
 * or absent as "", an array of content parts as the text of its "text"
 * parts joined by "\n" (as llama.cpp flattens them). */
static fw_status chatml_content(const void *h, size_t i, const fwi_json *c, fwi_sbuf *out)
{
    fwi_json_type t = fwi_json_type_of(c);
    size_t len;
    if (!c || t == FWI_JSON_NULL)
        return FW_OK;
    if (t == FWI_JSON_STRING) {
        const char *s = fwi_json_str(c, &len);
        fwi_sbuf_put(out, s, len);
        return FW_OK;
    }
    if (t == FWI_JSON_ARRAY) {
        int first = 1;
        for (size_t k = 0; k < fwi_json_len(c); k++) {
            const fwi_json *part = fwi_json_at(c, k);
            const fwi_json *type = fwi_json_get(part, "type");
            const fwi_json *text = fwi_json_get(part, "text");
            const char *ts = fwi_json_str(type, NULL);
            if (!ts || strcmp(ts, "text") != 0 || fwi_json_type_of(text) != FWI_JSON_STRING)
                return fwi_fail(h, FW_E_UNSUPPORTED,
                                "messages[%zu].content[%zu]: only parts "
                                "{\"type\": \"text\", \"text\": ...} are supported",
                                i, k);
            if (!first)
                fwi_sbuf_putc(out, '\n');
            first = 0;
            const char *s = fwi_json_str(text, &len);
            fwi_sbuf_put(out, s, len);
        }
        return FW_OK;
    }
    return fwi_fail(h, FW_E_TYPE,
                    "messages[%zu].content must be a string, null or an array of "
                    "content parts", i);
}

/* ChatML, as llama.cpp's fallback writes it: "<|im_start|>ROLE\nCONTENT
 * <|im_end|>\n" per message, then "<|im_start|>assistant\n". */
static fw_status chatml(const void *h, const fwi_json *messages, const fw_chat_message *msgs,
                        size_t n_msgs, int add_generation_prompt, fwi_sbuf *out)
{
    size_t n = messages ? fwi_json_len(messages) : n_msgs;
    for (size_t i = 0; i < n; i++) {
        fwi_sbuf_puts(out, "<|im_start|>");
        if (messages) {
            size_t len;
            const fwi_json *m = fwi_json_at(messages, i);
            const char *role = fwi_json_str(fwi_json_get(m, "role"), &len);
            fwi_sbuf_put(out, role, len);
            fwi_sbuf_putc(out, '\n');
            fw_status st = chatml_content(h, i, fwi_json_get(m, "content"), out);
            if (st != FW_OK)
                return st;
        } else {
            fwi_sbuf_puts(out, msgs[i].role);
            fwi_sbuf_putc(out, '\n');
            fwi_sbuf_puts(out, msgs[i].content ? msgs[i].content : "");
        }
        fwi_sbuf_puts(out, "<|im_end|>\n");
    }
    if (add_generation_prompt)
        fwi_sbuf_puts(out, "<|im_start|>assistant\n");
    return FW_OK;
}

fw_status fwi_chat_prompt(const fw_model *m, const void *h, const fwi_json *messages,
                          const fw_chat_message *msgs, size_t n_msgs, const char *tmpl,
                          const fwi_json *vars, int add_generation_prompt, fwi_sbuf *out,
                          const char **kind)
{
    *kind = NULL;
    if (messages) {
        /* the shape every template relies on: objects with a string role */
        if (fwi_json_type_of(messages) != FWI_JSON_ARRAY)
            return fwi_fail(h, FW_E_TYPE, "request field 'messages' must be an array of "
                            "message objects");
        if (fwi_json_len(messages) == 0)
            return fwi_fail(h, FW_E_INVALID_ARG, "request field 'messages' is an empty array");
        for (size_t i = 0; i < fwi_json_len(messages); i++) {
            const fwi_json *mi = fwi_json_at(messages, i);
            if (fwi_json_type_of(mi) != FWI_JSON_OBJECT)
                return fwi_fail(h, FW_E_TYPE, "messages[%zu] must be an object", i);
            size_t len;
            const char *role = fwi_json_str(fwi_json_get(mi, "role"), &len);
            if (!role)
                return fwi_fail(h, FW_E_TYPE, "messages[%zu].role must be a string", i);
            if (strlen(role) != len)
                return fwi_fail(h, FW_E_INVALID_ARG, "messages[%zu].role contains a NUL "
                                "character", i);
        }
    }
    fw_status st;
    if (tmpl || model_has_template(m)) {
        if (tmpl && !utf8_ok(tmpl, strlen(tmpl)))
            return fwi_fail(h, FW_E_INVALID_ARG, "chat_template is not valid UTF-8");
        fwi_jinja_input in;
        memset(&in, 0, sizeof in);
        in.messages = messages;
        in.msgs = msgs;
        in.n_msgs = n_msgs;
        in.vars = vars;
        in.add_generation_prompt = add_generation_prompt != 0;
        st = fwi_chat_render(m, tmpl, &in, out);
        if (st != FW_OK) {
            fwi_error_set_handle(h);
            return st;
        }
        *kind = tmpl ? "override" : "model";
    } else {
        st = chatml(h, messages, msgs, n_msgs, add_generation_prompt, out);
        if (st != FW_OK)
            return st;
        *kind = "chatml";
    }
    if (out->failed)
        return fwi_fail(h, FW_E_NOMEM, "out of memory");
    return FW_OK;
}

/* ---- tokens and fragments ---- */

static fw_status tokenize(const fw_model *m, const void *h, const char *text, size_t len,
                          uint32_t flags, size_t reserve, fw_token **ids, size_t *n)
{
    size_t need = 0;
    fw_status st = fw_tokenize(m, text, len, flags, NULL, 0, &need);
    if (st != FW_OK && st != FW_E_BUFFER_TOO_SMALL) {
        fwi_error_set_handle(h);
        return st;
    }
    fw_token *t = fwi_malloc_array(need + reserve ? need + reserve : 1, sizeof *t);
    if (!t)
        return fwi_fail(h, FW_E_NOMEM, "out of memory");
    st = fw_tokenize(m, text, len, flags, t + reserve, need, &need);
    if (st != FW_OK) {
        fwi_free(t);
        fwi_error_set_handle(h);
        return st;
    }
    *ids = t;
    *n = need + reserve;
    return FW_OK;
}

/* A malloc'd copy of a token's vocabulary text, or NULL. */
static char *token_text(const fw_model *m, fw_token t, size_t *len)
{
    size_t n = 0;
    fw_status st = fw_vocab_token_text(m, t, NULL, 0, &n);
    if (st != FW_OK && st != FW_E_BUFFER_TOO_SMALL)
        return NULL;
    char *s = fwi_malloc(n + 1);
    if (s && fw_vocab_token_text(m, t, s, n + 1, &n) != FW_OK) {
        fwi_free(s);
        return NULL;
    }
    *len = n;
    return s;
}

static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t k)
{
    if (k == 0 || k > n)
        return NULL;
    for (const char *p = hay, *end = hay + n - k + 1; p < end; p++) {
        p = memchr(p, needle[0], (size_t)(end - p));
        if (!p)
            return NULL;
        if (!memcmp(p, needle, k))
            return p;
    }
    return NULL;
}

static int frag_push(fwi_frag **f, size_t *n, size_t *cap, fwi_frag x)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        fwi_frag *p = fwi_realloc(*f, c * sizeof *p);
        if (!p)
            return -1;
        *f = p;
        *cap = c;
    }
    (*f)[(*n)++] = x;
    return 0;
}

/* The fragments of a chat prompt: the tokenizer matched every control and
 * user-defined token's text in the rendered prompt before tokenizing the
 * runs between them, so those tokens appear in text order; each is found
 * after the previous one, and the text between them is a text fragment.
 * Concatenating the fragments (tokens as their text) gives the rendered
 * prompt, after the BOS the tokenizer added, if any. */
static fw_status fragments(const fw_model *m, const void *h, const char *text, size_t len,
                           const fw_token *ids, size_t n, int added_bos, fwi_frag **out,
                           size_t *n_out)
{
    fwi_frag *f = NULL;
    size_t nf = 0, cap = 0, pos = 0;
    int fail = added_bos && frag_push(&f, &nf, &cap, (fwi_frag){ids[0], 0, 0});
    for (size_t i = added_bos ? 1 : 0; !fail && i < n; i++) {
        if (!(fw_vocab_token_attr(m, ids[i]) &
              (FW_TOKEN_ATTR_CONTROL | FW_TOKEN_ATTR_USER_DEFINED)))
            continue;
        size_t tl = 0;
        char *tt = token_text(m, ids[i], &tl);
        if (!tt) {
            fail = 1;
            break;
        }
        const char *hit = find_bytes(text + pos, len - pos, tt, tl);
        fwi_free(tt);
        if (!hit)
            continue; /* not matched from the text: part of a text run */
        size_t at = (size_t)(hit - text);
        if (at > pos)
            fail = frag_push(&f, &nf, &cap, (fwi_frag){-1, pos, at - pos});
        if (!fail)
            fail = frag_push(&f, &nf, &cap, (fwi_frag){ids[i], 0, 0});
        pos = at + tl;
    }
    if (!fail && pos < len)
        fail = frag_push(&f, &nf, &cap, (fwi_frag){-1, pos, len - pos});
    if (fail) {
        fwi_free(f);
        return fwi_fail(h, FW_E_NOMEM, "out of memory");
    }
    *out = f;
    *n_out = nf;
    return FW_OK;
}

fw_status fwi_prompt_tokenize(const fw_model *m, const void *h, const fwi_prompt *p,
                              fw_token **ids, size_t *n_ids, fwi_frag **frags,
                              size_t *n_frags)
{
    const char *text = p->text ? p->text : "";
    *ids = NULL;
    *n_ids = 0;
    if (frags)
        *frags = NULL, *n_frags = 0;
    if (!p->chat_template)
        return tokenize(m, h, text, p->text_len,
                        FW_TOKENIZE_ADD_SPECIAL | FW_TOKENIZE_PARSE_SPECIAL, 0, ids, n_ids);
    /* chat: the template decides about BOS; add it only where the model
     * wants one and the template did not write it */
    fw_token bos = fw_vocab_special(m, FW_SPECIAL_BOS);
    int add_bos = 0;
    if (bos >= 0 && fw_vocab_adds_bos(m)) {
        size_t bl = 0;
        char *bt = token_text(m, bos, &bl);
        if (!bt)
            return fwi_fail(h, FW_E_NOMEM, "out of memory");
        add_bos = !(bl > 0 && bl <= p->text_len && !memcmp(text, bt, bl));
        fwi_free(bt);
    }
    fw_status st = tokenize(m, h, text, p->text_len, FW_TOKENIZE_PARSE_SPECIAL,
                            add_bos ? 1 : 0, ids, n_ids);
    if (st != FW_OK)
        return st;
    if (add_bos)
        (*ids)[0] = bos;
    if (frags)
        st = fragments(m, h, text, p->text_len, *ids, *n_ids, add_bos, frags, n_frags);
    if (st != FW_OK) {
        fwi_free(*ids);
        *ids = NULL;
        *n_ids = 0;
    }
    return st;
}
