/*
 * vocab.c - vocabulary loading: GGUF tokenizer.ggml.* metadata or a tiktoken
 * rank file, with llama.cpp's per-model defaults for what the file leaves
 * out (special ids, add_bos/add_eos, space prefix, clean-up, end-of-
 * generation tokens).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "pretok.h"
#include "unicode.h"
#include "vocab.h"

/* GGUF token types (tokenizer.ggml.token_type). */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER_DEFINED = 4,
       TT_UNUSED = 5, TT_BYTE = 6 };

static uint32_t attr_of_type(int64_t t)
{
    switch (t) {
    case TT_NORMAL: return FW_TOKEN_ATTR_NORMAL;
    case TT_UNKNOWN: return FW_TOKEN_ATTR_UNKNOWN;
    case TT_CONTROL: return FW_TOKEN_ATTR_CONTROL;
    case TT_USER_DEFINED: return FW_TOKEN_ATTR_USER_DEFINED;
    case TT_UNUSED: return FW_TOKEN_ATTR_UNUSED;
    case TT_BYTE: return FW_TOKEN_ATTR_BYTE;
    default: return 0; /* undefined */
    }
}

/* Per pre-tokenizer settings, as llama.cpp's loader sets them. */
typedef struct pre_settings {
    const char *name;
    int clean_spaces, ignore_merges, add_bos;
} pre_settings;

static const pre_settings pre_table[] = {
    {"llama3", 1, 1, 1},       {"llama-v3", 1, 1, 1},
    {"llama-bpe", 1, 1, 1},    {"falcon3", 1, 1, 1},
    {"falcon-h1", 1, 1, 1},    {"pixtral", 1, 1, 1},
    {"midm-2.0", 1, 1, 1},     {"lfm2", 1, 1, 1},
    {"tekken", 0, 1, 1},       {"chameleon", 0, 0, 1},
    {"deepseek-llm", 0, 0, 0}, {"deepseek-coder", 0, 0, 0},
    {"deepseek-v3", 0, 0, 0},  {"command-r", 0, 0, 0},
    {"qwen2", 0, 0, 0},        {"deepseek-r1-qwen", 0, 0, 0},
    {"smollm", 0, 0, 0},       {"gpt-4o", 0, 0, 0},
    {"llama4", 0, 0, 0},       {"superbpe", 0, 0, 0},
};

static const pre_settings *find_pre(const char *name)
{
    for (size_t i = 0; i < sizeof pre_table / sizeof pre_table[0]; i++)
        if (!strcmp(pre_table[i].name, name))
            return &pre_table[i];
    return NULL;
}

void fwi_vocab_free(fwi_vocab *v)
{
    if (!v)
        return;
    fwi_free(v->tokens);
    fwi_strmap_free(&v->text_to_id);
    fwi_strmap_free(&v->merge_rank);
    if (v->pretok)
        fwi_pretok_free(v->pretok);
    fwi_free(v->eog);
    fwi_free(v->special);
    fwi_free(v->special_lens);
    fwi_free(v->pre_name);
    fwi_free(v->owned_text);
    fwi_free(v);
}

int32_t fwi_vocab_find(const fwi_vocab *v, const char *s, size_t n)
{
    return (int32_t)fwi_strmap_get(&v->text_to_id, s, n);
}

static int cmp_special(const void *a, const void *b, const fwi_vocab *v)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (v->tokens[x].len != v->tokens[y].len)
        return v->tokens[x].len > v->tokens[y].len ? -1 : 1;
    return (x > y) - (x < y);
}

/* qsort has no context argument in C11: a shell sort on a total order. */
static void sort_special(fwi_vocab *v)
{
    int32_t *a = v->special;
    int32_t n = v->n_special;
    for (int32_t gap = n / 2; gap > 0; gap /= 2)
        for (int32_t i = gap; i < n; i++) {
            int32_t t = a[i], j = i;
            while (j >= gap && cmp_special(&a[j - gap], &t, v) > 0) {
                a[j] = a[j - gap];
                j -= gap;
            }
            a[j] = t;
        }
}

/* For each first byte, the distinct lengths of the special tokens starting
 * with it: lets the tokenizer find which special tokens occur in a text in
 * one pass of hash lookups. */
static int index_special_lengths(fwi_vocab *v)
{
    v->special_lens = fwi_malloc_array((size_t)v->n_special, sizeof *v->special_lens);
    if (!v->special_lens)
        return -1;
    uint32_t n = 0;
    for (int b = 0; b < 256; b++) {
        v->special_len_start[b] = n;
        /* v->special is sorted by length, descending: dedupe in one pass */
        uint32_t last = 0;
        for (int32_t k = 0; k < v->n_special; k++) {
            const fwi_token_info *t = &v->tokens[v->special[k]];
            if (t->len == 0 || (uint8_t)t->text[0] != b || t->len == last)
                continue;
            int seen = 0;
            for (uint32_t j = v->special_len_start[b]; j < n; j++)
                seen |= v->special_lens[j] == t->len;
            if (!seen)
                v->special_lens[n++] = t->len;
            last = t->len;
        }
    }
    v->special_len_start[256] = n;
    return 0;
}

/* Work common to both sources once tokens are in place: lookup map,
 * special-token list, byte tokens, end-of-generation set. */
static fw_status finish(fwi_vocab *v, const char *model_name,
                        const void *handle)
{
    if (fwi_strmap_init(&v->text_to_id, (size_t)v->n_tokens))
        return fwi_fail(handle, FW_E_NOMEM, "out of memory");
    for (int32_t i = 0; i < v->n_tokens; i++) {
        const fwi_token_info *t = &v->tokens[i];
        /* a duplicate text maps to the later id, as in llama.cpp */
        if (t->len && fwi_strmap_set(&v->text_to_id, t->text, t->len, i) < 0)
            return fwi_fail(handle, FW_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < 256; i++)
        v->byte_tokens[i] = -1;
    if (v->type == FWI_VOCAB_SPM) {
        for (int i = 0; i < 256; i++) {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", i);
            v->byte_tokens[i] = fwi_vocab_find(v, name, 6);
        }
        int32_t nl = v->byte_tokens['\n'];
        v->nl = nl >= 0 ? nl : fwi_vocab_find(v, "\n", 1);
    } else {
        /* byte-level: '\n' is mapped to U+010A */
        v->nl = fwi_vocab_find(v, "\xc4\x8a", 2);
    }

    /* End-of-turn tokens found by their text when the file names none. */
    static const char *const eot_texts[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
        "<|endoftext|>", "<EOT>", "_<EOT>",
        ("<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"),
        "<end_of_utterance>",
    };
    static const char *const eog_texts[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
        "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
        "<end_of_utterance>",
    };
    for (size_t k = 0; v->eot < 0 && k < sizeof eot_texts / sizeof *eot_texts; k++) {
        int32_t id = fwi_vocab_find(v, eot_texts[k], strlen(eot_texts[k]));
        if (id >= 0) {
            v->eot = id;
            v->tokens[id].attr = FW_TOKEN_ATTR_CONTROL;
        }
    }
    if (v->eom < 0) {
        int32_t id = fwi_vocab_find(v, "<|eom_id|>", 10);
        if (id >= 0) {
            v->eom = id;
            v->tokens[id].attr = FW_TOKEN_ATTR_CONTROL;
        }
    }
    v->eog = fwi_calloc(4 + sizeof eog_texts / sizeof *eog_texts, sizeof *v->eog);
    if (!v->eog)
        return fwi_fail(handle, FW_E_NOMEM, "out of memory");
    int32_t cand[3] = {v->eos, v->eot, v->eom};
    for (int k = 0; k < 3; k++)
        if (cand[k] >= 0)
            v->eog[v->n_eog++] = cand[k];
    for (size_t k = 0; k < sizeof eog_texts / sizeof *eog_texts; k++) {
        int32_t id = fwi_vocab_find(v, eog_texts[k], strlen(eog_texts[k]));
        if (id < 0)
            continue;
        int dup = 0;
        for (int32_t j = 0; j < v->n_eog; j++)
            dup |= v->eog[j] == id;
        if (!dup)
            v->eog[v->n_eog++] = id;
    }

    /* phi-3 files: control tokens strip the whitespace after them. */
    if (model_name) {
        char low[64];
        size_t n = strlen(model_name);
        if (n >= sizeof low)
            n = sizeof low - 1;
        for (size_t i = 0; i < n; i++)
            low[i] = (char)(model_name[i] >= 'A' && model_name[i] <= 'Z'
                                ? model_name[i] + 32 : model_name[i]);
        low[n] = '\0';
        if (strstr(low, "phi-3") || strstr(low, "phi3")) {
            for (int32_t i = 0; i < v->n_tokens; i++) {
                uint32_t a = v->tokens[i].attr;
                if (a & (FW_TOKEN_ATTR_CONTROL | FW_TOKEN_ATTR_USER_DEFINED |
                         FW_TOKEN_ATTR_UNKNOWN))
                    v->tokens[i].attr |= FW_TOKEN_ATTR_RSTRIP;
            }
            static const char *const no_rstrip[] = {"<unk>", "<s>",
                                                    "<|endoftext|>"};
            for (size_t k = 0; k < 3; k++) {
                int32_t id = fwi_vocab_find(v, no_rstrip[k], strlen(no_rstrip[k]));
                if (id >= 0)
                    v->tokens[id].attr &= ~FW_TOKEN_ATTR_RSTRIP;
            }
            int32_t id = fwi_vocab_find(v, "</s>", 4);
            if (id >= 0)
                v->tokens[id].attr |= FW_TOKEN_ATTR_RSTRIP;
        }
    }

    /* Tokens matched as wholes before tokenization, longest first. */
    int32_t n = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->tokens[i].attr & (FW_TOKEN_ATTR_CONTROL |
                                 FW_TOKEN_ATTR_USER_DEFINED |
                                 FW_TOKEN_ATTR_UNKNOWN))
            n++;
    v->special = fwi_malloc_array((size_t)n, sizeof *v->special);
    if (!v->special)
        return fwi_fail(handle, FW_E_NOMEM, "out of memory");
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->tokens[i].attr & (FW_TOKEN_ATTR_CONTROL |
                                 FW_TOKEN_ATTR_USER_DEFINED |
                                 FW_TOKEN_ATTR_UNKNOWN))
            v->special[v->n_special++] = i;
    sort_special(v);
    if (index_special_lengths(v))
        return fwi_fail(handle, FW_E_NOMEM, "out of memory");

    if (v->type == FWI_VOCAB_BPE) {
        const struct fwi_pretok_def *def = fwi_pretok_find(v->pre_name);
        if (!def)
            return fwi_fail(handle, FW_E_UNSUPPORTED,
                            "tokenizer.ggml.pre '%s': unknown pre-tokenizer",
                            v->pre_name);
        char err[256] = "";
        enum fwi_regex_status rs =
            fwi_pretok_create(def, &v->pretok, err, sizeof err);
        if (rs == FWI_REGEX_ERR_NOMEM)
            return fwi_fail(handle, FW_E_NOMEM,
                            "out of memory compiling pre-tokenizer '%s'",
                            v->pre_name);
        if (rs != FWI_REGEX_OK)
            return fwi_fail(handle, FW_E_INTERNAL,
                            "pre-tokenizer '%s' does not compile: %s",
                            v->pre_name, err);
        const pre_settings *ps = find_pre(v->pre_name);
        if (ps) {
            v->clean_spaces = ps->clean_spaces;
            v->ignore_merges = ps->ignore_merges;
        }
    }
    return FW_OK;
}

static fwi_vocab *vocab_new(void)
{
    fwi_vocab *v = fwi_calloc(1, sizeof *v);
    if (v) {
        v->bos = v->eos = v->eot = v->eom = v->unk = v->pad = v->sep = v->nl = -1;
    }
    return v;
}

/* Read an optional special id key: u32 0xFFFFFFFF or -1 mean none; an id
 * outside the vocabulary is ignored with a warning, as llama.cpp does. */
static void read_id(const fwi_gguf *g, const char *key, int32_t n_tokens,
                    int32_t *id)
{
    const fwi_gguf_kv *kv = fwi_gguf_find_kv(g, key);
    if (!kv || !fwi_gguf_scalar_is_int(kv->type))
        return;
    int ovf;
    int64_t x = fwi_gguf_scalar_i64(kv->type, kv->data, &ovf);
    if (kv->type == FW_META_UINT32 && x == 0xFFFFFFFFll)
        x = -1;
    *id = (x >= 0 && x < n_tokens && !ovf) ? (int32_t)x : -1;
}

static void read_bool(const fwi_gguf *g, const char *key, int *out)
{
    const fwi_gguf_kv *kv = fwi_gguf_find_kv(g, key);
    if (kv && kv->type == FW_META_BOOL)
        *out = kv->data[0] != 0;
}

/* A metadata array that must be present with n elements of one of the
 * given types. */
static fw_status get_array(const fwi_gguf *g, const char *key, int required,
                           int32_t et1, int32_t et2, uint64_t n,
                           const void *handle, const fwi_gguf_kv **out)
{
    *out = fwi_gguf_find_kv(g, key);
    if (!*out)
        return required ? fwi_fail(handle, FW_E_FORMAT,
                                   "tokenizer: key '%s' is missing", key)
                        : FW_OK;
    const fwi_gguf_kv *kv = *out;
    if (kv->type != FW_META_ARRAY || (kv->elem_type != et1 && kv->elem_type != et2))
        return fwi_fail(handle, FW_E_FORMAT,
                        "tokenizer: key '%s' must be an array of %s", key,
                        fw_meta_type_name(et1));
    if (n != UINT64_MAX && kv->n != n)
        return fwi_fail(handle, FW_E_FORMAT,
                        "tokenizer: key '%s' has %" PRIu64 " elements but "
                        "there are %" PRIu64 " tokens",
                        key, kv->n, n);
    return FW_OK;
}

static fw_status load_merges(fwi_vocab *v, const fwi_gguf_kv *kv,
                             const void *handle)
{
    if (fwi_strmap_init(&v->merge_rank, (size_t)kv->n))
        return fwi_fail(handle, FW_E_NOMEM, "out of memory");
    for (uint64_t i = 0; i < kv->n; i++) {
        const uint8_t *p = kv->data + kv->str_offs[i];
        uint64_t len = fwi_rd64(p);
        const char *s = (const char *)p + 8;
        const char *sp = len > 1 ? memchr(s + 1, ' ', (size_t)len - 1) : NULL;
        if (!sp)
            return fwi_fail(handle, FW_E_FORMAT,
                            "tokenizer.ggml.merges[%" PRIu64 "]: \"%.*s\" has "
                            "no space between its two parts",
                            i, (int)(len > 40 ? 40 : len), s);
        if (fwi_strmap_put(&v->merge_rank, s, (size_t)len, (int64_t)i, NULL) < 0)
            return fwi_fail(handle, FW_E_NOMEM, "out of memory");
    }
    return FW_OK;
}

fw_status fwi_vocab_from_gguf(const fwi_gguf *g, const void *handle,
                              fwi_vocab **out)
{
    *out = NULL;
    const fwi_gguf_kv *model = fwi_gguf_find_kv(g, "tokenizer.ggml.model");
    if (!model)
        return FW_OK;
    if (model->type != FW_META_STRING)
        return fwi_fail(handle, FW_E_FORMAT,
                        "key 'tokenizer.ggml.model' must be a string");
    char kind[32];
    snprintf(kind, sizeof kind, "%.*s", (int)(model->n < 31 ? model->n : 31),
             (const char *)model->data);
    fwi_vocab_type type;
    if (!strcmp(kind, "llama"))
        type = FWI_VOCAB_SPM;
    else if (!strcmp(kind, "gpt2"))
        type = FWI_VOCAB_BPE;
    else if (!strcmp(kind, "no_vocab") || !strcmp(kind, "none"))
        return FW_OK;
    else
        return fwi_fail(handle, FW_E_UNSUPPORTED,
                        "tokenizer.ggml.model '%s' is not supported (only "
                        "'llama' and 'gpt2')",
                        kind);

    const fwi_gguf_kv *toks, *scores, *types, *merges = NULL;
    fw_status st = get_array(g, "tokenizer.ggml.tokens", 1, FW_META_STRING,
                             FW_META_STRING, UINT64_MAX, handle, &toks);
    if (st != FW_OK)
        return st;
    if (toks->n == 0 || toks->n > INT32_MAX)
        return fwi_fail(handle, FW_E_FORMAT,
                        "tokenizer.ggml.tokens has %" PRIu64 " tokens", toks->n);
    st = get_array(g, "tokenizer.ggml.scores", 0, FW_META_FLOAT32,
                   FW_META_FLOAT32, toks->n, handle, &scores);
    if (st == FW_OK)
        st = get_array(g, "tokenizer.ggml.token_type", 0, FW_META_INT32,
                       FW_META_UINT32, toks->n, handle, &types);
    if (st == FW_OK && type == FWI_VOCAB_BPE)
        st = get_array(g, "tokenizer.ggml.merges", 1, FW_META_STRING,
                       FW_META_STRING, UINT64_MAX, handle, &merges);
    if (st != FW_OK)
        return st;

    fwi_vocab *v = vocab_new();
    if (!v)
        return fwi_fail(handle, FW_E_NOMEM, "out of memory");
    v->type = type;
    v->n_tokens = (int32_t)toks->n;
    v->tokens = fwi_calloc((size_t)v->n_tokens, sizeof *v->tokens);
    if (!v->tokens) {
        fwi_vocab_free(v);
        return fwi_fail(handle, FW_E_NOMEM, "out of memory for %d tokens",
                        (int)toks->n);
    }
    for (int32_t i = 0; i < v->n_tokens; i++) {
        const uint8_t *p = toks->data + toks->str_offs[i];
        uint64_t len = fwi_rd64(p);
        if (len > UINT32_MAX) {
            fwi_vocab_free(v);
            return fwi_fail(handle, FW_E_FORMAT, "token %d is too long", (int)i);
        }
        fwi_token_info *t = &v->tokens[i];
        t->text = (const char *)p + 8;
        t->len = (uint32_t)len;
        t->score = scores ? (float)fwi_gguf_scalar_f64(FW_META_FLOAT32,
                                                       scores->data + 4 * (size_t)i)
                          : 0.0f;
        int ovf;
        t->attr = types ? attr_of_type(fwi_gguf_scalar_i64(
                              types->elem_type, types->data + 4 * (size_t)i, &ovf))
                        : FW_TOKEN_ATTR_NORMAL;
    }

    const fwi_gguf_kv *pre = fwi_gguf_find_kv(g, "tokenizer.ggml.pre");
    if (pre && pre->type == FW_META_STRING && pre->n > 0)
        v->pre_name = fwi_strndup((const char *)pre->data, (size_t)pre->n);
    else
        v->pre_name = fwi_strndup("default", 7);
    if (!v->pre_name) {
        fwi_vocab_free(v);
        return fwi_fail(handle, FW_E_NOMEM, "out of memory");
    }

    if (type == FWI_VOCAB_SPM) {
        v->bos = 1, v->eos = 2, v->unk = 0;
        v->add_bos = 1, v->add_space_prefix = 1, v->clean_spaces = 1;
    } else {
        v->bos = 11, v->eos = 11;
        v->clean_spaces = 1;
        const pre_settings *ps = find_pre(v->pre_name);
        v->add_bos = ps ? ps->add_bos : 0;
        if (v->bos >= v->n_tokens)
            v->bos = v->eos = -1;
        st = load_merges(v, merges, handle);
    }
    read_id(g, "tokenizer.ggml.bos_token_id", v->n_tokens, &v->bos);
    read_id(g, "tokenizer.ggml.eos_token_id", v->n_tokens, &v->eos);
    read_id(g, "tokenizer.ggml.eot_token_id", v->n_tokens, &v->eot);
    read_id(g, "tokenizer.ggml.eom_token_id", v->n_tokens, &v->eom);
    read_id(g, "tokenizer.ggml.unknown_token_id", v->n_tokens, &v->unk);
    read_id(g, "tokenizer.ggml.seperator_token_id", v->n_tokens, &v->sep);
    read_id(g, "tokenizer.ggml.padding_token_id", v->n_tokens, &v->pad);
    read_bool(g, "tokenizer.ggml.add_bos_token", &v->add_bos);
    read_bool(g, "tokenizer.ggml.add_eos_token", &v->add_eos);
    read_bool(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix);

    const fwi_gguf_kv *name = fwi_gguf_find_kv(g, "general.name");
    char model_name[64] = "";
    if (name && name->type == FW_META_STRING)
        snprintf(model_name, sizeof model_name, "%.*s",
                 (int)(name->n < 63 ? name->n : 63), (const char *)name->data);
    if (st == FW_OK)
        st = finish(v, model_name, handle);
    if (st != FW_OK) {
        fwi_vocab_free(v);
        return st;
    }
    *out = v;
    return FW_OK;
}

/* ---- tiktoken ---- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode base64 s[0..n) into out; returns the byte count or -1. */
static long b64_decode(const char *s, size_t n, uint8_t *out)
{
    long len = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=')
            break;
        int v = b64_value((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (uint8_t)(acc >> bits);
        }
    }
    return len;
}

fw_status fwi_vocab_from_tiktoken(const char *data, size_t size,
                                  const char *pre, const void *handle,
                                  fwi_vocab **out)
{
    *out = NULL;
    /* pass 1: count lines and the largest rank; size the text storage */
    size_t lines = 0;
    int64_t max_rank = -1;
    for (size_t i = 0; i < size;) {
        size_t e = i;
        while (e < size && data[e] != '\n')
            e++;
        const char *sp = memchr(data + i, ' ', e - i);
        if (e > i) {
            if (!sp || sp == data + i)
                return fwi_fail(handle, FW_E_FORMAT,
                                "tiktoken line %zu: expected \"BASE64 RANK\"",
                                lines + 1);
            char *end;
            char num[24];
            size_t nl = (size_t)(data + e - sp - 1);
            if (nl == 0 || nl >= sizeof num)
                return fwi_fail(handle, FW_E_FORMAT,
                                "tiktoken line %zu: bad rank", lines + 1);
            memcpy(num, sp + 1, nl);
            num[nl] = '\0';
            long long r = strtoll(num, &end, 10);
            if (*end && *end != '\r')
                return fwi_fail(handle, FW_E_FORMAT,
                                "tiktoken line %zu: bad rank '%s'", lines + 1, num);
            if (r < 0 || r >= INT32_MAX)
                return fwi_fail(handle, FW_E_FORMAT,
                                "tiktoken line %zu: rank %lld out of range",
                                lines + 1, r);
            if (r > max_rank)
                max_rank = r;
            lines++;
        }
        i = e + 1;
    }
    if (max_rank < 0)
        return fwi_fail(handle, FW_E_FORMAT, "tiktoken file has no tokens");
    if ((uint64_t)max_rank > 4 * (uint64_t)lines + 1024)
        return fwi_fail(handle, FW_E_FORMAT,
                        "tiktoken ranks go up to %lld for %zu lines",
                        (long long)max_rank, lines);
    fwi_vocab *v = vocab_new();
    if (!v)
        return fwi_fail(handle, FW_E_NOMEM, "out of memory");
    v->type = FWI_VOCAB_BPE;
    v->rank_by_token = 1;
    v->n_tokens = (int32_t)max_rank + 1;
    v->tokens = fwi_calloc((size_t)v->n_tokens, sizeof *v->tokens);
    /* each raw byte becomes at most 2 bytes of byte-level UTF-8 */
    v->owned_text = fwi_malloc(size * 2 + 1);
    v->pre_name = fwi_strndup(pre, strlen(pre));
    if (!v->tokens || !v->owned_text || !v->pre_name) {
        fwi_vocab_free(v);
        return fwi_fail(handle, FW_E_NOMEM, "out of memory");
    }
    size_t used = 0;
    size_t line = 0;
    for (size_t i = 0; i < size;) {
        size_t e = i;
        while (e < size && data[e] != '\n')
            e++;
        if (e > i) {
            line++;
            const char *sp = memchr(data + i, ' ', e - i);
            uint8_t raw[1024];
            size_t blen = (size_t)(sp - (data + i));
            if (blen > 4 * sizeof raw / 3) {
                fwi_vocab_free(v);
                return fwi_fail(handle, FW_E_FORMAT,
                                "tiktoken line %zu: token too long", line);
            }
            long n = b64_decode(data + i, blen, raw);
            if (n < 0) {
                fwi_vocab_free(v);
                return fwi_fail(handle, FW_E_FORMAT,
                                "tiktoken line %zu: invalid base64", line);
            }
            int32_t r = (int32_t)strtol(sp + 1, NULL, 10);
            fwi_token_info *t = &v->tokens[r];
            if (t->text) {
                fwi_vocab_free(v);
                return fwi_fail(handle, FW_E_FORMAT,
                                "tiktoken line %zu: rank %d given twice", line,
                                (int)r);
            }
            t->text = v->owned_text + used;
            for (long k = 0; k < n; k++) {
                char u[4];
                size_t ul = fwi_utf8_encode(fwi_unicode_byte_to_cp(raw[k]), u);
                memcpy(v->owned_text + used, u, ul);
                used += ul;
            }
            t->len = (uint32_t)(v->owned_text + used - t->text);
            t->attr = FW_TOKEN_ATTR_NORMAL;
            t->score = -(float)r;
        }
        i = e + 1;
    }
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (!v->tokens[i].text) { /* a gap in the ranks */
            v->tokens[i].text = "";
            v->tokens[i].attr = FW_TOKEN_ATTR_UNUSED;
        }
    v->clean_spaces = 1;
    fw_status st = finish(v, "", handle);
    if (st != FW_OK) {
        fwi_vocab_free(v);
        return st;
    }
    *out = v;
    return FW_OK;
}
