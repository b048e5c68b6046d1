/* tokenize.c - public entry points: vocabulary queries, tokenization,
 * detokenization, streaming detokenizer. */
#include <string.h>

#include "core/sbuf.h"
#include "model/model.h"
#include "tokenizer/detok.h"

/* The model's vocabulary, or a status saying why there is none. */
#define DETOK_FLAGS \
    (FW_DETOK_REMOVE_SPECIAL | FW_DETOK_UNPARSE_SPECIAL | FW_DETOK_NO_CLEANUP)

static fw_status need_vocab(const fw_model *m, const fwi_vocab **v)
{
    if (!fwi_model_ok(m))
        return fwi_fail(NULL, FW_E_INVALID_ARG, "model is NULL or freed");
    *v = m->vocab;
    if (*v)
        return FW_OK;
    if (m->vocab_error)
        return fwi_fail(m, m->vocab_status, "%s", m->vocab_error);
    return fwi_fail(m, FW_E_UNSUPPORTED, "the model has no tokenizer");
}

FW_API int32_t fw_vocab_n_tokens(const fw_model *model)
{
    return fwi_model_ok(model) && model->vocab ? model->vocab->n_tokens : 0;
}

FW_API const char *fw_vocab_type(const fw_model *model)
{
    if (!fwi_model_ok(model) || !model->vocab)
        return "none";
    return model->vocab->type == FWI_VOCAB_SPM ? "spm" : "bpe";
}

FW_API fw_token fw_vocab_special(const fw_model *model, int32_t which)
{
    if (!fwi_model_ok(model) || !model->vocab)
        return -1;
    const fwi_vocab *v = model->vocab;
    switch (which) {
    case FW_SPECIAL_BOS: return v->bos;
    case FW_SPECIAL_EOS: return v->eos;
    case FW_SPECIAL_EOT: return v->eot;
    case FW_SPECIAL_EOM: return v->eom;
    case FW_SPECIAL_UNK: return v->unk;
    case FW_SPECIAL_PAD: return v->pad;
    case FW_SPECIAL_SEP: return v->sep;
    case FW_SPECIAL_NL: return v->nl;
    default: return -1;
    }
}

FW_API int32_t fw_vocab_adds_bos(const fw_model *model)
{
    return fwi_model_ok(model) && model->vocab && model->vocab->add_bos;
}

FW_API int32_t fw_vocab_adds_eos(const fw_model *model)
{
    return fwi_model_ok(model) && model->vocab && model->vocab->add_eos;
}

FW_API int32_t fw_vocab_is_eog(const fw_model *model, fw_token token)
{
    if (!fwi_model_ok(model) || !model->vocab)
        return 0;
    for (int32_t i = 0; i < model->vocab->n_eog; i++)
        if (model->vocab->eog[i] == token)
            return 1;
    for (int32_t i = 0; i < model->n_extra_eog; i++)
        if (model->extra_eog[i] == token)
            return 1;
    return 0;
}

FW_API uint32_t fw_vocab_token_attr(const fw_model *model, fw_token token)
{
    if (!fwi_model_ok(model) || !model->vocab || token < 0 ||
        token >= model->vocab->n_tokens)
        return 0;
    return model->vocab->tokens[token].attr;
}

FW_API fw_status fw_vocab_token_text(const fw_model *model, fw_token token,
                                     char *buf, size_t cap, size_t *n_needed)
{
    const fwi_vocab *v;
    fw_status st = need_vocab(model, &v);
    if (st != FW_OK)
        return st;
    if (token < 0 || token >= v->n_tokens)
        return fwi_fail(model, FW_E_NOT_FOUND,
                        "token %d out of range (vocabulary of %d)", (int)token,
                        (int)v->n_tokens);
    return fwi_out_text(model, v->tokens[token].text, v->tokens[token].len,
                        buf, cap, n_needed);
}

FW_API fw_token fw_vocab_find(const fw_model *model, const char *text,
                              size_t len)
{
    if (!fwi_model_ok(model) || !model->vocab || !text)
        return -1;
    return fwi_vocab_find(model->vocab, text, len);
}

FW_API fw_status fw_tokenize(const fw_model *model, const char *text,
                             size_t len, uint32_t flags, fw_token *tokens,
                             size_t cap, size_t *n_tokens)
{
    const fwi_vocab *v;
    fw_status st = need_vocab(model, &v);
    if (st != FW_OK)
        return st;
    if (!text && len)
        return fwi_fail(model, FW_E_INVALID_ARG, "text is NULL");
    if (!tokens && cap)
        return fwi_fail(model, FW_E_INVALID_ARG, "tokens is NULL but cap is %zu",
                        cap);
    if (flags & ~(FW_TOKENIZE_ADD_SPECIAL | FW_TOKENIZE_PARSE_SPECIAL))
        return fwi_fail(model, FW_E_INVALID_ARG, "unknown tokenize flags 0x%x",
                        (unsigned)flags);
    fwi_tok_out out = {0};
    st = fwi_tokenize(v, text ? text : "", len,
                      (flags & FW_TOKENIZE_ADD_SPECIAL) != 0,
                      (flags & FW_TOKENIZE_PARSE_SPECIAL) != 0, &out, model);
    if (st == FW_OK) {
        if (n_tokens)
            *n_tokens = out.n;
        size_t k = out.n < cap ? out.n : cap;
        if (k)
            memcpy(tokens, out.ids, k * sizeof *tokens);
        if (out.n > cap)
            st = fwi_fail(model, FW_E_BUFFER_TOO_SMALL,
                          "%zu tokens do not fit in a buffer of %zu", out.n,
                          cap);
    }
    fwi_free(out.ids);
    return st;
}

static fw_status check_tokens(const fw_model *m, const fwi_vocab *v,
                              const fw_token *tokens, size_t n)
{
    if (!tokens && n)
        return fwi_fail(m, FW_E_INVALID_ARG, "tokens is NULL");
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= v->n_tokens)
            return fwi_fail(m, FW_E_RANGE,
                            "token %d at index %zu is out of range "
                            "(vocabulary of %d)",
                            (int)tokens[i], i, (int)v->n_tokens);
    return FW_OK;
}

static fw_status emit(const fw_model *m, fwi_sbuf *sb, char *buf, size_t cap,
                      size_t *n_needed)
{
    fw_status st = sb->failed
                       ? fwi_fail(m, FW_E_NOMEM, "out of memory")
                       : fwi_out_text(m, sb->data ? sb->data : "", sb->len, buf,
                                      cap, n_needed);
    fwi_sbuf_free(sb);
    return st;
}

FW_API fw_status fw_token_to_piece(const fw_model *model, fw_token token,
                                   uint32_t flags, char *buf, size_t cap,
                                   size_t *n_needed)
{
    const fwi_vocab *v;
    fw_status st = need_vocab(model, &v);
    if (st == FW_OK)
        st = check_tokens(model, v, &token, 1);
    if (st != FW_OK)
        return st;
    if (flags & ~DETOK_FLAGS)
        return fwi_fail(model, FW_E_INVALID_ARG, "unknown detokenize flags 0x%x",
                        (unsigned)flags);
    fwi_sbuf sb = {0};
    fwi_token_piece(v, token, 0, (flags & FW_DETOK_UNPARSE_SPECIAL) != 0, &sb);
    return emit(model, &sb, buf, cap, n_needed);
}

FW_API fw_status fw_detokenize(const fw_model *model, const fw_token *tokens,
                               size_t n, uint32_t flags, char *buf, size_t cap,
                               size_t *n_needed)
{
    const fwi_vocab *v;
    fw_status st = need_vocab(model, &v);
    if (st == FW_OK)
        st = check_tokens(model, v, tokens, n);
    if (st != FW_OK)
        return st;
    if (flags & ~DETOK_FLAGS)
        return fwi_fail(model, FW_E_INVALID_ARG, "unknown detokenize flags 0x%x",
                        (unsigned)flags);
    fwi_sbuf sb = {0};
    fwi_detokenize(v, tokens, n, flags, &sb);
    return emit(model, &sb, buf, cap, n_needed);
}

/* ---- streaming ---- */

#define STREAM_MAGIC 0x53444657u

struct fw_detok_stream {
    uint32_t magic;
    const fw_model *model;
    uint32_t flags;
    int strip_first;
    int started;
    char held[8]; /* bytes of an incomplete UTF-8 character */
    size_t n_held;
};

FW_API fw_status fw_detok_stream_new(const fw_model *model, uint32_t flags,
                                     int32_t strip_leading_space,
                                     fw_detok_stream **out)
{
    if (!out)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    const fwi_vocab *v;
    fw_status st = need_vocab(model, &v);
    if (st != FW_OK)
        return st;
    if (flags & ~DETOK_FLAGS)
        return fwi_fail(model, FW_E_INVALID_ARG, "unknown detokenize flags 0x%x",
                        (unsigned)flags);
    fw_detok_stream *s = fwi_calloc(1, sizeof *s);
    if (!s)
        return fwi_fail(model, FW_E_NOMEM, "out of memory");
    s->magic = STREAM_MAGIC;
    s->model = model;
    s->flags = flags;
    s->strip_first = strip_leading_space != 0;
    *out = s;
    return FW_OK;
}

FW_API void fw_detok_stream_free(fw_detok_stream *stream)
{
    if (!stream || stream->magic != STREAM_MAGIC)
        return;
    stream->magic = 0;
    fwi_free(stream);
}

FW_API fw_status fw_detok_stream_push(fw_detok_stream *s, fw_token token,
                                      char *buf, size_t cap, size_t *n_needed)
{
    if (!s || s->magic != STREAM_MAGIC)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "stream is NULL or freed");
    const fwi_vocab *v = s->model->vocab;
    fw_status st = check_tokens(s->model, v, &token, 1);
    if (st != FW_OK)
        return st;
    fwi_sbuf sb = {0};
    fwi_sbuf_put(&sb, s->held, s->n_held);
    size_t before = sb.len;
    fwi_token_piece(v, token, s->strip_first && !s->started,
                    (s->flags & FW_DETOK_UNPARSE_SPECIAL) != 0, &sb);
    if (sb.failed) {
        fwi_sbuf_free(&sb);
        return fwi_fail(s->model, FW_E_NOMEM, "out of memory");
    }
    size_t done = fwi_utf8_complete_prefix(sb.data ? sb.data : "", sb.len);
    if (sb.len - done > sizeof s->held)
        done = sb.len; /* cannot happen: a tail is at most 3 bytes */
    st = fwi_out_text(s->model, sb.data ? sb.data : "", done, buf, cap, n_needed);
    if (st == FW_OK) {
        if (sb.len > before)
            s->started = 1;
        s->n_held = sb.len - done;
        memcpy(s->held, sb.data + done, s->n_held);
    }
    fwi_sbuf_free(&sb);
    return st;
}

FW_API fw_status fw_detok_stream_flush(fw_detok_stream *s, char *buf,
                                       size_t cap, size_t *n_needed)
{
    if (!s || s->magic != STREAM_MAGIC)
        return fwi_fail(NULL, FW_E_INVALID_ARG, "stream is NULL or freed");
    char out[8 * 3];
    size_t n = 0;
    for (size_t i = 0; i < s->n_held; i++) {
        memcpy(out + n, "\xef\xbf\xbd", 3);
        n += 3;
    }
    fw_status st = fwi_out_text(s->model, out, n, buf, cap, n_needed);
    if (st == FW_OK) {
        s->n_held = 0;
        s->started = 0;
    }
    return st;
}
