/*
 * spm.c - SentencePiece BPE as llama.cpp runs it: the text (spaces already
 * escaped to U+2581) is split into UTF-8 characters, then the adjacent pair
 * whose concatenation is the highest-scoring vocabulary token is merged,
 * repeatedly (ties: leftmost first).  Pieces that are not tokens fall back
 * to <0xNN> byte tokens.
 */
#include <string.h>

#include "core/core.h"
#include "tokenize_impl.h"

typedef struct sym {
    uint32_t off, n;
    int32_t prev, next;
} sym;

typedef struct bigram {
    float score;
    int32_t left, right;
    uint32_t size;
} bigram;

/* max-heap: higher score first, then lower left */
static int before(const bigram *a, const bigram *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(bigram *h, size_t *n, bigram b)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&b, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = b;
}

static bigram heap_pop(bigram *h, size_t *n)
{
    bigram top = h[0];
    bigram last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && before(&h[c + 1], &h[c]))
            c++;
        if (!before(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = last;
    return top;
}

static size_t utf8_len(uint8_t c)
{
    static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1,
                                       1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}

static void try_add(const fwi_vocab *v, const char *text, const sym *s,
                    int32_t left, int32_t right, bigram *h, size_t *nh)
{
    if (left < 0 || right < 0)
        return;
    uint32_t n = s[left].n + s[right].n;
    int32_t id = fwi_vocab_find(v, text + s[left].off, n);
    if (id < 0)
        return;
    heap_push(h, nh, (bigram){v->tokens[id].score, left, right, n});
}

static void emit_byte(const fwi_vocab *v, uint8_t b, fwi_tok_out *out)
{
    int32_t id = v->byte_tokens[b];
    if (id < 0) {
        char c = (char)b;
        id = fwi_vocab_find(v, &c, 1);
    }
    if (id < 0)
        id = v->unk;
    if (id >= 0)
        fwi_tok_push(out, id);
}

fw_status fwi_spm_tokenize(const fwi_vocab *v, const char *text, size_t len,
                           fwi_tok_out *out)
{
    if (len == 0)
        return FW_OK;
    if (len > UINT32_MAX / 2)
        return FW_E_RANGE;
    sym *s = fwi_malloc_array(len, sizeof *s);
    bigram *h = fwi_malloc_array(len, sizeof *h); /* at most len-1 live */
    if (!s || !h) {
        fwi_free(s);
        fwi_free(h);
        return FW_E_NOMEM;
    }
    int32_t ns = 0;
    for (size_t off = 0; off < len;) {
        size_t n = utf8_len((uint8_t)text[off]);
        if (n > len - off)
            n = len - off;
        s[ns] = (sym){(uint32_t)off, (uint32_t)n, ns - 1,
                      off + n == len ? -1 : ns + 1};
        ns++;
        off += n;
    }
    size_t nh = 0;
    for (int32_t i = 1; i < ns; i++)
        try_add(v, text, s, i - 1, i, h, &nh);
    /* Each merge removes a symbol and adds at most two bigrams, and each
     * pop removes one: the heap never holds more than ns + ns entries;
     * h has len >= ns slots, so grow guard below. */
    size_t cap = len;
    while (nh) {
        bigram b = heap_pop(h, &nh);
        sym *l = &s[b.left], *r = &s[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
            continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            s[r->next].prev = b.left;
        if (nh + 2 > cap) {
            bigram *nb = fwi_realloc(h, 2 * cap * sizeof *h);
            if (!nb) {
                fwi_free(s);
                fwi_free(h);
                return FW_E_NOMEM;
            }
            h = nb;
            cap *= 2;
        }
        try_add(v, text, s, l->prev, b.left, h, &nh);
        try_add(v, text, s, b.left, l->next, h, &nh);
    }
    for (int32_t i = 0; i != -1; i = s[i].next) {
        int32_t id = fwi_vocab_find(v, text + s[i].off, s[i].n);
        if (id >= 0) {
            fwi_tok_push(out, id);
        } else {
            for (uint32_t k = 0; k < s[i].n; k++)
                emit_byte(v, (uint8_t)text[s[i].off + k], out);
        }
    }
    fwi_free(s);
    fwi_free(h);
    return out->failed ? FW_E_NOMEM : FW_OK;
}
