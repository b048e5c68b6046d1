/*
 * tokenize.c - the tokenizer entry: special tokens are cut out of the text
 * first (llama.cpp's tokenizer_st_partition: each special token in turn,
 * longest first, splits every remaining text fragment at its occurrences;
 * without parse_special only user-defined tokens take part), then each text
 * fragment goes to the vocabulary's tokenizer, with BOS/EOS added as the
 * model says.
 */
#include <string.h>

#include "core/core.h"
#include "tokenize_impl.h"

typedef struct frag {
    int32_t token; /* -1: text [off, off+len) */
    size_t off, len;
} frag;

typedef struct frag_list {
    frag *f;
    size_t n, cap;
} frag_list;

static int frag_add(frag_list *l, frag x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        frag *p = fwi_realloc(l->f, cap * sizeof *p);
        if (!p)
            return -1;
        l->f = p;
        l->cap = cap;
    }
    l->f[l->n++] = x;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

static int special_before(const fwi_vocab *v, int32_t a, int32_t b)
{
    if (v->tokens[a].len != v->tokens[b].len)
        return v->tokens[a].len > v->tokens[b].len;
    return a < b;
}

/* The special tokens that take part (user-defined always, control and
 * unknown only with parse_special) and occur in text, in priority order
 * (longest first, then lower id).  One pass over the text: at each byte,
 * look up the substrings of the lengths special tokens starting with that
 * byte have. */
static int find_specials(const fwi_vocab *v, const char *text, size_t len,
                         int parse_special, int32_t **found, size_t *n_found)
{
    size_t n = 0, cap = 0;
    int32_t *ids = NULL;
    for (size_t p = 0; p < len; p++) {
        uint8_t b = (uint8_t)text[p];
        for (uint32_t k = v->special_len_start[b]; k < v->special_len_start[b + 1]; k++) {
            uint32_t l = v->special_lens[k];
            if (l > len - p)
                continue;
            int32_t id = fwi_vocab_find(v, text + p, l);
            if (id < 0)
                continue;
            uint32_t attr = v->tokens[id].attr;
            if (!(attr & (FW_TOKEN_ATTR_CONTROL | FW_TOKEN_ATTR_USER_DEFINED |
                          FW_TOKEN_ATTR_UNKNOWN)))
                continue;
            if (!parse_special &&
                (attr & (FW_TOKEN_ATTR_CONTROL | FW_TOKEN_ATTR_UNKNOWN)))
                continue;
            int dup = 0;
            for (size_t j = 0; j < n && !dup; j++)
                dup = ids[j] == id;
            if (dup)
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                int32_t *q = fwi_realloc(ids, cap * sizeof *q);
                if (!q) {
                    fwi_free(ids);
                    return -1;
                }
                ids = q;
            }
            /* insertion keeps priority order */
            size_t j = n++;
            while (j > 0 && special_before(v, id, ids[j - 1])) {
                ids[j] = ids[j - 1];
                j--;
            }
            ids[j] = id;
        }
    }
    *found = ids;
    *n_found = n;
    return 0;
}

/* Split the text fragments of `in` at the occurrences of special token id,
 * into `out`. */
static int split_on(const fwi_vocab *v, const char *text, int32_t id,
                    const frag_list *in, frag_list *out)
{
    const fwi_token_info *t = &v->tokens[id];
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        frag f = in->f[i];
        if (f.token >= 0 || f.len < t->len) {
            if (frag_add(out, f))
                return -1;
            continue;
        }
        size_t base = f.off, run = f.len;
        for (;;) {
            /* next occurrence inside [base, base + run) */
            const char *hit = NULL;
            const char *p = text + base, *end = text + base + run;
            while (p + t->len <= end) {
                p = memchr(p, t->text[0], (size_t)(end - p) - t->len + 1);
                if (!p)
                    break;
                if (!memcmp(p, t->text, t->len)) {
                    hit = p;
                    break;
                }
                p++;
            }
            if (!hit) {
                if (run && frag_add(out, (frag){-1, base, run}))
                    return -1;
                break;
            }
            size_t m = (size_t)(hit - text);
            size_t left = m - base;
            if (t->attr & FW_TOKEN_ATTR_LSTRIP)
                while (left > 0 && is_space(text[base + left - 1]))
                    left--;
            if (left && frag_add(out, (frag){-1, base, left}))
                return -1;
            if (frag_add(out, (frag){id, 0, 0}))
                return -1;
            size_t roff = m + t->len, rlen = base + run - roff;
            if (t->attr & FW_TOKEN_ATTR_RSTRIP)
                while (rlen > 0 && is_space(text[roff]))
                    roff++, rlen--;
            if (rlen == 0)
                break;
            base = roff;
            run = rlen;
        }
    }
    return 0;
}

static fw_status tokenize_text(const fwi_vocab *v, const char *text,
                               size_t len, int prefix_space, fwi_tok_out *out)
{
    if (v->type == FWI_VOCAB_BPE)
        return fwi_bpe_tokenize(v, text, len, out);
    /* SPM: optional leading space, then ' ' -> U+2581 */
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += text[i] == ' ' ? 3 : 1;
    char *esc = fwi_malloc(n + 3 + 1);
    if (!esc)
        return FW_E_NOMEM;
    size_t k = 0;
    if (prefix_space)
        memcpy(esc, "\xe2\x96\x81", 3), k = 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(esc + k, "\xe2\x96\x81", 3);
            k += 3;
        } else {
            esc[k++] = text[i];
        }
    }
    fw_status st = fwi_spm_tokenize(v, esc, k, out);
    fwi_free(esc);
    return st;
}

fw_status fwi_tokenize(const fwi_vocab *v, const char *text, size_t len,
                       int add_special, int parse_special, fwi_tok_out *out,
                       const void *handle)
{
    fw_status st = FW_OK;
    frag_list a = {0}, b = {0};
    if (add_special && v->add_bos && v->bos >= 0)
        fwi_tok_push(out, v->bos);
    if (len > 0) {
        if (frag_add(&a, (frag){-1, 0, len}))
            st = FW_E_NOMEM;
        int32_t *found = NULL;
        size_t n_found = 0;
        if (st == FW_OK &&
            find_specials(v, text, len, parse_special, &found, &n_found))
            st = FW_E_NOMEM;
        for (size_t k = 0; st == FW_OK && k < n_found; k++) {
            if (split_on(v, text, found[k], &a, &b)) {
                st = FW_E_NOMEM;
                break;
            }
            frag_list tmp = a;
            a = b;
            b = tmp;
        }
        fwi_free(found);
        int prev_special = 1; /* SPM: a space before the first text */
        for (size_t i = 0; st == FW_OK && i < a.n; i++) {
            if (a.f[i].token >= 0) {
                fwi_tok_push(out, a.f[i].token);
                prev_special = 1;
            } else {
                st = tokenize_text(v, text + a.f[i].off, a.f[i].len,
                                   v->add_space_prefix && prev_special, out);
                prev_special = 0;
            }
        }
    }
    if (st == FW_OK && add_special && v->add_eos && v->eos >= 0)
        fwi_tok_push(out, v->eos);
    fwi_free(a.f);
    fwi_free(b.f);
    if (st == FW_OK && out->failed)
        st = FW_E_NOMEM;
    if (st == FW_E_NOMEM)
        return fwi_fail(handle, st, "out of memory tokenizing %zu bytes", len);
    if (st != FW_OK)
        return fwi_fail(handle, st, "tokenizing %zu bytes failed", len);
    return FW_OK;
}
