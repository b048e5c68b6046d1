/*
 * bpe.c - byte-level BPE as llama.cpp runs it: the pre-tokenizer splits the
 * text into words; each word's UTF-8 bytes are mapped to GPT-2's printable
 * code points; with ignore_merges a word that is itself a token is taken
 * whole; otherwise its characters are merged pairwise, lowest merge rank
 * first (ties: leftmost), until no adjacent pair has a rank.  A merge rank
 * comes from tokenizer.ggml.merges, or for tiktoken files from the id of the
 * concatenated token.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "pretok.h"
#include "tokenize_impl.h"
#include "unicode.h"

typedef struct sym {
    uint32_t off, n;
    int32_t prev, next;
} sym;

typedef struct bigram {
    int64_t rank;
    int32_t left, right;
    uint32_t size;
} bigram;

/* min-heap: lower rank first, then lower left */
static int before(const bigram *a, const bigram *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

typedef struct scratch {
    sym *s;
    size_t s_cap;
    bigram *h;
    size_t h_cap, nh;
    char *key;
    size_t key_cap;
    int failed;
} scratch;

static void *grow(void *p, size_t *cap, size_t need, size_t el, int *failed)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = fwi_realloc(p, c * el);
    if (!q) {
        *failed = 1;
        return p;
    }
    *cap = c;
    return q;
}

static void heap_push(scratch *sc, bigram b)
{
    sc->h = grow(sc->h, &sc->h_cap, sc->nh + 1, sizeof *sc->h, &sc->failed);
    if (sc->failed)
        return;
    size_t i = sc->nh++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&b, &sc->h[p]))
            break;
        sc->h[i] = sc->h[p];
        i = p;
    }
    sc->h[i] = b;
}

static bigram heap_pop(scratch *sc)
{
    bigram *h = sc->h;
    bigram top = h[0];
    bigram last = h[--sc->nh];
    size_t i = 0, n = sc->nh;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&h[c + 1], &h[c]))
            c++;
        if (!before(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (n)
        h[i] = last;
    return top;
}

static int64_t pair_rank(const fwi_vocab *v, scratch *sc, const char *l,
                         uint32_t ln, const char *r, uint32_t rn)
{
    if (v->rank_by_token) /* contiguous: l + ln == r */
        return fwi_vocab_find(v, l, (size_t)ln + rn);
    sc->key = grow(sc->key, &sc->key_cap, (size_t)ln + rn + 1, 1, &sc->failed);
    if (sc->failed)
        return -1;
    memcpy(sc->key, l, ln);
    sc->key[ln] = ' ';
    memcpy(sc->key + ln + 1, r, rn);
    return fwi_strmap_get(&v->merge_rank, sc->key, (size_t)ln + rn + 1);
}

static void add_bigram(const fwi_vocab *v, scratch *sc, const char *w,
                       int32_t left, int32_t right)
{
    if (left < 0 || right < 0)
        return;
    const sym *a = &sc->s[left], *b = &sc->s[right];
    int64_t rank = pair_rank(v, sc, w + a->off, a->n, w + b->off, b->n);
    if (rank >= 0)
        heap_push(sc, (bigram){rank, left, right, a->n + b->n});
}

/* BPE on one mapped word. */
static void bpe_word(const fwi_vocab *v, scratch *sc, const char *w,
                     size_t len, fwi_tok_out *out)
{
    if (v->ignore_merges) {
        int32_t id = fwi_vocab_find(v, w, len);
        if (id >= 0) {
            fwi_tok_push(out, id);
            return;
        }
    }
    sc->s = grow(sc->s, &sc->s_cap, len, sizeof *sc->s, &sc->failed);
    if (sc->failed)
        return;
    int32_t ns = 0;
    for (size_t off = 0; off < len;) {
        static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1,
                                           1, 1, 1, 1, 2, 2, 3, 4};
        size_t n = lookup[(uint8_t)w[off] >> 4];
        if (n > len - off)
            n = len - off;
        sc->s[ns] = (sym){(uint32_t)off, (uint32_t)n, ns - 1,
                          off + n == len ? -1 : ns + 1};
        ns++;
        off += n;
    }
    sc->nh = 0;
    for (int32_t i = 1; i < ns; i++)
        add_bigram(v, sc, w, i - 1, i);
    while (sc->nh && !sc->failed) {
        bigram b = heap_pop(sc);
        sym *l = &sc->s[b.left], *r = &sc->s[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
            continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            sc->s[r->next].prev = b.left;
        add_bigram(v, sc, w, l->prev, b.left);
        add_bigram(v, sc, w, b.left, l->next);
    }
    for (int32_t i = 0; i != -1 && ns > 0; i = sc->s[i].next) {
        const sym *x = &sc->s[i];
        int32_t id = fwi_vocab_find(v, w + x->off, x->n);
        if (id >= 0) {
            fwi_tok_push(out, id);
            continue;
        }
        for (uint32_t k = 0; k < x->n; k++) {
            int32_t b = fwi_vocab_find(v, w + x->off + k, 1);
            if (b >= 0)
                fwi_tok_push(out, b);
        }
    }
}

fw_status fwi_bpe_tokenize(const fwi_vocab *v, const char *text, size_t len,
                           fwi_tok_out *out)
{
    if (len == 0)
        return FW_OK;
    uint32_t *cps = fwi_malloc_array(len, sizeof *cps);
    /* a code point re-encodes to <= 4 bytes, each mapped byte to <= 2 */
    char *word = fwi_malloc_array(len, 8);
    if (!cps || !word) {
        fwi_free(cps);
        fwi_free(word);
        return FW_E_NOMEM;
    }
    size_t n = fwi_utf8_decode(text, len, cps, NULL);
    size_t *ends = NULL, n_pieces = 0;
    enum fwi_regex_status rs = fwi_pretok_split(v->pretok, cps, n, &ends, &n_pieces);
    if (rs != FWI_REGEX_OK) {
        fwi_free(cps);
        fwi_free(word);
        return rs == FWI_REGEX_ERR_NOMEM ? FW_E_NOMEM : FW_E_INTERNAL;
    }
    int byte_encode = fwi_pretok_def_of(v->pretok)->byte_encode;
    scratch sc = {0};
    size_t start = 0;
    for (size_t p = 0; p < n_pieces && !sc.failed && !out->failed; p++) {
        size_t wl = 0;
        for (size_t i = start; i < ends[p]; i++) {
            char u[4];
            size_t ul = fwi_utf8_encode(cps[i], u);
            for (size_t k = 0; k < ul; k++) {
                if (byte_encode)
                    wl += fwi_utf8_encode(fwi_unicode_byte_to_cp((uint8_t)u[k]),
                                          word + wl);
                else
                    word[wl++] = u[k];
            }
        }
        start = ends[p];
        bpe_word(v, &sc, word, wl, out);
    }
    fwi_free(ends);
    fwi_free(cps);
    fwi_free(word);
    fwi_free(sc.s);
    fwi_free(sc.h);
    fwi_free(sc.key);
    return sc.failed || out->failed ? FW_E_NOMEM : FW_OK;
}
