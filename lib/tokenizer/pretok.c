/* Pre-tokenizer table (regex lists as used by llama.cpp, src/llama-vocab.cpp)
 * and the sequential regex split. */
#include "pretok.h"

#include "core/core.h"

#include <stdlib.h>
#include <string.h>

/* ---- patterns ---- */

#define CONTRACTIONS_CI "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"

static const char P_GPT2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

static const char P_LLAMA3[] =
    CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char P_JAIS2[] =
    CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)"
    "|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}";

static const char P_QWEN2[] =
    CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char P_QWEN35[] =
    CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char P_DEEPSEEK_LLM_LETTERS[] =
    "\\s?[A-Za-z\\u00B5\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u01BA\\u01BC-\\u01BF\\u01C4-\\u0293"
    "\\u0295-\\u02AF\\u0370-\\u0373\\u0376\\u0377\\u037B-\\u037D\\u037F\\u0386\\u0388-\\u038A\\u038C"
    "\\u038E-\\u03A1\\u03A3-\\u03F5\\u03F7-\\u0481\\u048A-\\u052F\\u0531-\\u0556\\u10A0-\\u10C5"
    "\\u13A0-\\u13F5\\u13F8-\\u13FD\\u1C90-\\u1CBA\\u1CBD-\\u1CBF\\u1D00-\\u1D2B\\u1D6B-\\u1D77"
    "\\u1D79-\\u1D9A\\u1E00-\\u1F15\\u1F18-\\u1F1D\\u1F20-\\u1F45\\u1F48-\\u1F4D\\u1F50-\\u1F57"
    "\\u1F59\\u1F5B\\u1F5D\\u1F5F-\\u1F7D\\u1F80-\\u1FB4\\u1FB6-\\u1FBC\\u1FBE\\u1FC2-\\u1FC4"
    "\\u1FC6-\\u1FCC\\u1FD0-\\u1FD3\\u1FD6-\\u1FDB\\u1FE0-\\u1FEC\\u1FF2-\\u1FF4\\u1FF6-\\u1FFC"
    "\\u2102\\u2107\\u210A-\\u2113\\u2115\\u2119-\\u211D\\u2124\\u2126\\u2128\\u212A-\\u212D"
    "\\u212F-\\u2134\\u2139\\u213C-\\u213F\\u2145-\\u2149\\u214E\\u2183\\u2184\\u2C00-\\u2C7B"
    "\\u2C7E-\\u2CE4\\u2CEB-\\u2CEE\\u2CF2\\u2CF3\\uA640-\\uA66D\\uA680-\\uA69B\\uA722-\\uA76F"
    "\\uA771-\\uA787\\uA78B-\\uA78E\\uAB70-\\uABBF\\uFB00-\\uFB06\\uFB13-\\uFB17\\uFF21-\\uFF3A"
    "\\uFF41-\\uFF5A\\U00010400-\\U0001044F\\U000104B0-\\U000104D3\\U000104D8-\\U000104FB"
    "\\U00010C80-\\U00010CB2\\U00010CC0-\\U00010CF2\\U000118A0-\\U000118DF\\U0001E900-\\U0001E943]+";

static const char P_DEEPSEEK_LLM_PUNCT[] =
    "\\s?[!-/:-~\\uFF01-\\uFF0F\\uFF1A-\\uFF5E\\u2018-\\u201F\\u3000-\\u3002]+";

static const char P_CJK_HANGUL[] = "[\\u4E00-\\u9FA5\\u0800-\\u4E00\\uAC00-\\uD7FF]+";
static const char P_CJK_KANA[] = "[\\u4E00-\\u9FA5\\u3040-\\u309F\\u30A0-\\u30FF]+";

static const char P_DEEPSEEK3_MAIN[] =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
    "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";

static const char P_SPARK25_MAIN[] =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
    "| ?[\\p{P}\\p{S}]+|[\r\n]|\\s+(?!\\S)|\\s+";

static const char P_YOUTU_CJK[] =
    "[\\uAC00-\\uD7A3\\u3131-\\u318E]+"
    "|[\\uFF01\\u2026\\u201C\\u201D\\u2018\\u2019\\u2014\\uFF1A\\uFF1B\\uFF0C\\u3001-\\u303F\\uFE30-\\uFE4F]+"
    "|[\\u3105-\\u312F]+|[\\u4E00-\\u9FA5\\u3040-\\u309F\\u30A0-\\u30FF]+";

#define CASED_WORDS(CONTR)                                                                        \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" CONTR \
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*" CONTR

static const char P_YOUTU_MAIN[] =
    CASED_WORDS(CONTRACTIONS_CI "?")
    "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char P_TINY_AYA_MAIN[] =
    CASED_WORDS(CONTRACTIONS_CI "?")
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* llama.cpp's approximation of \p{Lu}/\p{Ll} via lookaheads (kept as is) */
#define LA_WORDS(LA, CONTR)                                                                    \
    "[^\\r\\n\\p{L}\\p{N}]?((?=[" LA "])([^a-z]))*((?=[" LA "])([^A-Z]))+" CONTR              \
    "|[^\\r\\n\\p{L}\\p{N}]?((?=[" LA "])([^a-z]))+((?=[" LA "])([^A-Z]))*" CONTR

static const char P_TEKKEN[] =
    LA_WORDS("\\p{L}", "")
    "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char P_GPT4O[] =
    LA_WORDS("\\p{L}", CONTRACTIONS_CI "?")
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char P_GRANITE_EMB_MULTI[] =
    LA_WORDS("\\p{L}\\p{M}", CONTRACTIONS_CI "?")
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char P_PORO[] = " ?[^(\\s|.,!?\\u2026\\u3002\\uFF0C\\u3001\\u0964\\u06D4\\u060C)]+";

static const char P_BAILINGMOE[] =
    "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";

static const char P_SEED_CODER[] =
    CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char P_UFAKZEKA[] =
    "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char P_EXAONE_MOE[] =
    CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";

static const char P_MINICPM5_MAIN[] =
    CONTRACTIONS_CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char P_LINES[] = "[^\\n]+|[\\n]+";
static const char P_N1[] = "\\p{N}";
static const char P_N_PLUS[] = "\\p{N}+";
static const char P_N3[] = "\\p{N}{1,3}";
static const char P_DIGIT3[] = "[0-9][0-9][0-9]";
static const char P_CRLF[] = "[\r\n]";

/* ---- regex lists ---- */

#define LIST(...) (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)

static const struct fwi_pretok_def DEFS[] = {
#define D_DEFAULT 0
    {"default", LIST("[\\p{P}\\$\\+<=>\\^~\\|]+", P_GPT2, P_N_PLUS, P_DIGIT3), true},
#define D_LLAMA3 1
    {"llama3", LIST(P_LLAMA3), true},
#define D_JAIS2 2
    {"jais-2", LIST(P_JAIS2), true},
#define D_DEEPSEEK_LLM 3
    {"deepseek-llm", LIST(P_CRLF, P_DEEPSEEK_LLM_LETTERS, P_DEEPSEEK_LLM_PUNCT, "\\s+$", P_CJK_HANGUL, P_N_PLUS), true},
#define D_DEEPSEEK3 4
    {"deepseek-v3", LIST(P_N3, P_CJK_KANA, P_DEEPSEEK3_MAIN), true},
#define D_SPARK25 5
    {"spark2_5", LIST(P_N3, P_CJK_KANA, P_SPARK25_MAIN, P_N1), true},
#define D_YOUTU 6
    {"youtu", LIST(P_YOUTU_CJK, P_YOUTU_MAIN), true},
#define D_DEEPSEEK_CODER 7
    {"deepseek-coder", LIST(P_CRLF, "\\s?\\p{L}+", "\\s?\\p{P}+", P_CJK_HANGUL, P_N1), true},
#define D_FALCON 8
    {"falcon", LIST("[\\p{P}\\$\\+<=>\\^~\\|`]+", P_GPT2, P_DIGIT3), true},
#define D_STARCODER 9
    {"starcoder", LIST(P_N1, P_GPT2), true},
#define D_GPT2 10
    {"gpt-2", LIST(P_GPT2), true},
#define D_QWEN2 11
    {"qwen2", LIST(P_QWEN2), true},
#define D_QWEN35 12
    {"qwen35", LIST(P_QWEN35), true},
#define D_PORO 13
    {"poro-chat", LIST(P_PORO), true},
#define D_CHATGLM4 14
    {"chatglm-bpe", LIST(P_LLAMA3), true},
#define D_VIKING 15
    {"viking", LIST(P_PORO, P_N1), true},
#define D_TEKKEN 16
    {"tekken", LIST(P_TEKKEN), true},
#define D_CHAMELEON 17
    {"chameleon", LIST("<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", P_N1,
                       "[\\p{P}!-/:-@\\[-`{-~]", P_GPT2), true},
#define D_GPT4O 18
    {"gpt-4o", LIST(P_GPT4O), true},
#define D_GRANITE_EMB_MULTI 19
    {"granite-embed-multi-97m", LIST(P_GRANITE_EMB_MULTI), true},
#define D_TINY_AYA 20
    {"tiny_aya", LIST("\\d{1,3}(?=(?:\\d{3})*\\b)", P_TINY_AYA_MAIN), true},
#define D_SUPERBPE 21
    {"superbpe", LIST(P_N_PLUS, "(?=(\\d{3})+(?!\\d))"), true},
#define D_BAILINGMOE 22
    {"bailingmoe", LIST(P_BAILINGMOE), true},
#define D_SEED_CODER 23
    {"seed-coder", LIST(P_SEED_CODER), true},
#define D_UFAKZEKA 24
    {"ufakzeka", LIST(P_UFAKZEKA), true},
#define D_LAGUNA 25
    {"laguna", LIST(P_LINES, P_QWEN2), true},
#define D_EXAONE_MOE 26
    {"exaone-moe", LIST(P_EXAONE_MOE), true},
#define D_MINICPM5 27
    {"minicpm5", LIST(P_N3, P_MINICPM5_MAIN), true},
#define D_WHITESPACE 28
    {"whitespace", LIST("\\S+"), false},
#define D_GEMMA4 29
    {"gemma4", LIST(P_LINES), false},
};

struct alias {
    const char *name;
    unsigned def;
};

/* tokenizer.ggml.pre names -> regex lists, as mapped by llama.cpp */
static const struct alias ALIASES[] = {
    {"default", D_DEFAULT},
    {"llama3", D_LLAMA3}, {"llama-v3", D_LLAMA3}, {"llama-bpe", D_LLAMA3}, {"falcon3", D_LLAMA3},
    {"falcon-h1", D_LLAMA3}, {"pixtral", D_LLAMA3}, {"midm-2.0", D_LLAMA3}, {"lfm2", D_LLAMA3},
    {"jina-v5-nano", D_LLAMA3}, {"dbrx", D_LLAMA3}, {"smaug-bpe", D_LLAMA3},
    {"chatglm-bpe", D_CHATGLM4}, {"glm4", D_CHATGLM4},
    {"jais-2", D_JAIS2},
    {"deepseek-llm", D_DEEPSEEK_LLM},
    {"deepseek-coder", D_DEEPSEEK_CODER},
    {"deepseek-v3", D_DEEPSEEK3}, {"hunyuan-dense", D_DEEPSEEK3}, {"joyai-llm", D_DEEPSEEK3}, {"hy_v4", D_DEEPSEEK3},
    {"spark2_5", D_SPARK25},
    {"youtu", D_YOUTU},
    {"falcon", D_FALCON},
    {"gpt-2", D_GPT2}, {"mpt", D_GPT2}, {"phi-2", D_GPT2}, {"jina-es", D_GPT2}, {"jina-de", D_GPT2},
    {"gigachat", D_GPT2}, {"jina-v2-es", D_GPT2}, {"jina-v2-de", D_GPT2}, {"a.x-4.0", D_GPT2},
    {"mellum", D_GPT2}, {"modern-bert", D_GPT2}, {"jina-v1-en", D_GPT2}, {"jina-v2-code", D_GPT2},
    {"roberta-bpe", D_GPT2}, {"exaone4", D_GPT2}, {"olmo", D_GPT2}, {"jais", D_GPT2},
    {"trillion", D_GPT2}, {"granite-docling", D_GPT2},
    {"starcoder", D_STARCODER}, {"refact", D_STARCODER}, {"command-r", D_STARCODER}, {"smollm", D_STARCODER},
    {"codeshell", D_STARCODER}, {"exaone", D_STARCODER}, {"minerva-7b", D_STARCODER}, {"mellum2", D_STARCODER},
    {"qwen2", D_QWEN2}, {"deepseek-r1-qwen", D_QWEN2}, {"kormo", D_QWEN2}, {"f2llmv2", D_QWEN2},
    {"megrez", D_QWEN2}, {"stablelm2", D_QWEN2}, {"hunyuan", D_QWEN2}, {"solar-open", D_QWEN2},
    {"grok-2", D_QWEN2},
    {"qwen35", D_QWEN35},
    {"poro-chat", D_PORO}, {"bloom", D_PORO}, {"gpt3-finnish", D_PORO},
    {"viking", D_VIKING},
    {"tekken", D_TEKKEN},
    {"chameleon", D_CHAMELEON},
    {"gpt-4o", D_GPT4O}, {"llama4", D_GPT4O}, {"kanana2", D_GPT4O}, {"talkie", D_GPT4O}, {"minimax-m2", D_GPT4O},
    {"granite-embed-multi-97m", D_GRANITE_EMB_MULTI},
    {"tiny_aya", D_TINY_AYA}, {"cohere2moe", D_TINY_AYA},
    {"superbpe", D_SUPERBPE},
    {"bailingmoe", D_BAILINGMOE}, {"bailingmoe2", D_BAILINGMOE}, {"llada-moe", D_BAILINGMOE},
    {"seed-coder", D_SEED_CODER},
    {"ufakzeka", D_UFAKZEKA},
    {"laguna", D_LAGUNA},
    {"exaone-moe", D_EXAONE_MOE},
    {"minicpm5", D_MINICPM5},
    {"whitespace", D_WHITESPACE},
    {"gemma4", D_GEMMA4}, {"granite-embed-multi-311m", D_GEMMA4}, {"sarvam-moe", D_GEMMA4},
};

const struct fwi_pretok_def *fwi_pretok_find(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++) {
        if (strcmp(ALIASES[i].name, name) == 0) {
            return &DEFS[ALIASES[i].def];
        }
    }
    return NULL;
}

const char *fwi_pretok_name_at(size_t i)
{
    return i < sizeof ALIASES / sizeof ALIASES[0] ? ALIASES[i].name : NULL;
}

/* ---- compiled form and split ---- */

struct fwi_pretok {
    const struct fwi_pretok_def *def;
    size_t n;
    struct fwi_regex *re[];
};

enum fwi_regex_status fwi_pretok_create(const struct fwi_pretok_def *def, struct fwi_pretok **out,
                                        char *errbuf, size_t errbuf_size)
{
    if (out == NULL || def == NULL) {
        return FWI_REGEX_ERR_ARG;
    }
    *out = NULL;
    struct fwi_pretok *pt = fwi_calloc(1, sizeof *pt + def->n_regexes * sizeof(struct fwi_regex *));
    if (pt == NULL) {
        return FWI_REGEX_ERR_NOMEM;
    }
    pt->def = def;
    for (size_t i = 0; i < def->n_regexes; i++) {
        enum fwi_regex_status st = fwi_regex_compile(def->regexes[i], strlen(def->regexes[i]), &pt->re[i],
                                                     errbuf, errbuf_size);
        if (st != FWI_REGEX_OK) {
            fwi_pretok_free(pt);
            return st;
        }
        pt->n = i + 1;
    }
    *out = pt;
    return FWI_REGEX_OK;
}

void fwi_pretok_free(struct fwi_pretok *pt)
{
    if (pt == NULL) {
        return;
    }
    for (size_t i = 0; i < pt->n; i++) {
        fwi_regex_free(pt->re[i]);
    }
    fwi_free(pt);
}

const struct fwi_pretok_def *fwi_pretok_def_of(const struct fwi_pretok *pt)
{
    return pt->def;
}

struct ends_buf {
    size_t *v;
    size_t n;
    size_t cap;
};

static bool ends_push(struct ends_buf *b, size_t x)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        size_t *nv = fwi_realloc(b->v, nc * sizeof(size_t));
        if (nv == NULL) {
            return false;
        }
        b->v = nv;
        b->cap = nc;
    }
    b->v[b->n++] = x;
    return true;
}

/* Apply one regex to every piece of cur, appending the new piece ends to nxt. */
static enum fwi_regex_status split_stage(const struct fwi_regex *re, const uint32_t *cps,
                                         const struct ends_buf *cur, struct ends_buf *nxt,
                                         struct fwi_regex_scratch *scratch)
{
    size_t a = 0;
    for (size_t k = 0; k < cur->n; k++) {
        size_t b = cur->v[k];
        struct fwi_regex_iter it;
        fwi_regex_iter_init(&it, re, cps + a, b - a);
        size_t last = 0;
        for (;;) {
            size_t s, e;
            enum fwi_regex_status st = fwi_regex_iter_next(&it, scratch, &s, &e);
            if (st == FWI_REGEX_NOMATCH) {
                break;
            }
            if (st != FWI_REGEX_OK) {
                return st;
            }
            if (s > last && !ends_push(nxt, a + s)) {
                return FWI_REGEX_ERR_NOMEM;
            }
            if (e > s && !ends_push(nxt, a + e)) {
                return FWI_REGEX_ERR_NOMEM;
            }
            last = e;
        }
        if (a + last < b && !ends_push(nxt, b)) {
            return FWI_REGEX_ERR_NOMEM;
        }
        a = b;
    }
    return FWI_REGEX_OK;
}

enum fwi_regex_status fwi_pretok_split(const struct fwi_pretok *pt, const uint32_t *cps, size_t n,
                                       size_t **ends, size_t *n_pieces)
{
    if (pt == NULL || ends == NULL || n_pieces == NULL || (cps == NULL && n > 0)) {
        return FWI_REGEX_ERR_ARG;
    }
    *ends = NULL;
    *n_pieces = 0;
    if (n == 0) {
        return FWI_REGEX_OK;
    }
    struct ends_buf cur = {NULL, 0, 0};
    struct ends_buf nxt = {NULL, 0, 0};
    struct fwi_regex_scratch scratch = FWI_REGEX_SCRATCH_INIT;
    enum fwi_regex_status st = ends_push(&cur, n) ? FWI_REGEX_OK : FWI_REGEX_ERR_NOMEM;
    for (size_t r = 0; r < pt->n && st == FWI_REGEX_OK; r++) {
        nxt.n = 0;
        st = split_stage(pt->re[r], cps, &cur, &nxt, &scratch);
        struct ends_buf t = cur;
        cur = nxt;
        nxt = t;
    }
    fwi_regex_scratch_free(&scratch);
    fwi_free(nxt.v);
    if (st != FWI_REGEX_OK) {
        fwi_free(cur.v);
        return st;
    }
    *ends = cur.v;
    *n_pieces = cur.n;
    return FWI_REGEX_OK;
}
