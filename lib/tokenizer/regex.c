/* Backtracking regex engine over code points (see regex.h for the subset).
 *
 * Pipeline: UTF-8 pattern -> code points -> recursive-descent parser (depth
 * bounded by MAX_NEST) building an AST of nodes -> compiler emitting a
 * program for a backtracking VM -> matcher with an explicit stack. */
#include "regex.h"

#include "core/core.h"

#include "unicode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEST 64
#define MAX_PROG 200000u
#define MAX_REPEAT 100000u
#define INF_REPEAT UINT32_MAX
#define NO_FOLD UINT32_MAX
#define NO_SET UINT32_MAX
#define NO_NODE UINT32_MAX

/* ------------------------------------------------------------------ */
/* Character sets                                                      */

struct cset {
    uint32_t ascii[4];  /* final membership for cp < 128 */
    uint32_t lut[4];    /* non-ASCII: membership by info byte (before negation) */
    uint32_t range_off; /* non-ASCII explicit ranges: pairs in ranges[] */
    uint32_t range_len; /* number of pairs */
    uint32_t fold;      /* if != NO_FOLD: non-ASCII cp matches iff casefold(cp) == fold */
    uint32_t and_with;  /* if != NO_SET: non-ASCII cp must also match this set */
    bool negated;       /* applies to lut/ranges (non-ASCII part) */
};

enum op {
    I_SET,     /* a = set */
    I_REPEAT,  /* a = set, min, max, mode */
    I_SPLIT,   /* try x, on failure y */
    I_JMP,     /* x */
    I_ASSERT,  /* a = assertion kind */
    I_LOOK,    /* a = negated; sub-program at pc+1 ending in I_SUCCEED; continue at x */
    I_ATOMIC,  /* sub-program at pc+1 ending in I_SUCCEED; continue at x */
    I_SUCCEED, /* end of a sub-program */
    I_MATCH    /* end of the program */
};

enum mode { M_GREEDY, M_LAZY, M_POSSESSIVE };
enum assertion { A_START, A_EOL, A_END, A_WORDB, A_NWORDB };

struct inst {
    uint8_t op;
    uint8_t mode;
    uint32_t a;
    uint32_t x;
    uint32_t y;
    uint32_t min;
    uint32_t max;
};

struct fwi_regex {
    struct inst *prog;
    size_t nprog;
    struct cset *sets;
    size_t nsets;
    uint32_t *ranges; /* pairs lo, hi */
    size_t nranges;
};

/* ------------------------------------------------------------------ */
/* AST                                                                 */

enum nkind { N_EMPTY, N_SET, N_CAT, N_ALT, N_REPEAT, N_LOOK, N_ATOMIC, N_ASSERT };

struct node {
    uint8_t kind;
    uint8_t mode;   /* N_REPEAT */
    uint8_t neg;    /* N_LOOK */
    uint32_t a;     /* set index (N_SET), assertion (N_ASSERT) */
    uint32_t min, max;
    uint32_t child; /* first child */
    uint32_t next;  /* next sibling */
};

/* A class being built. */
struct cbuild {
    uint32_t ascii[4];
    uint32_t lut[4];
    uint32_t *ranges;
    size_t nranges, cap;
};

struct parser {
    const uint32_t *p;
    size_t n;
    size_t i;
    struct node *nodes;
    size_t nnodes, capnodes;
    struct cset *sets;
    size_t nsets, capsets;
    uint32_t *ranges;
    size_t nranges, capranges;
    struct inst *prog;
    size_t nprog, capprog;
    enum fwi_regex_status status;
    char *errbuf;
    size_t errsize;
};

static void set_error(struct parser *ps, enum fwi_regex_status st, const char *fmt, ...)
{
    if (ps->status != FWI_REGEX_OK) {
        return;
    }
    ps->status = st;
    if (ps->errbuf != NULL && ps->errsize > 0) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(ps->errbuf, ps->errsize, fmt, ap);
        va_end(ap);
        if (k >= 0 && (size_t)k < ps->errsize) {
            snprintf(ps->errbuf + k, ps->errsize - (size_t)k, " at position %zu", ps->i);
        }
    }
}

static bool grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return true;
    }
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem) {
            return false;
        }
        nc *= 2;
    }
    void *nb = fwi_realloc(*buf, nc * elem);
    if (nb == NULL) {
        return false;
    }
    *buf = nb;
    *cap = nc;
    return true;
}

static uint32_t new_node(struct parser *ps, enum nkind kind)
{
    if (ps->status != FWI_REGEX_OK) {
        return NO_NODE;
    }
    if (!grow((void **)&ps->nodes, &ps->capnodes, ps->nnodes + 1, sizeof(struct node))) {
        set_error(ps, FWI_REGEX_ERR_NOMEM, "out of memory");
        return NO_NODE;
    }
    struct node *nd = &ps->nodes[ps->nnodes];
    memset(nd, 0, sizeof *nd);
    nd->kind = (uint8_t)kind;
    nd->child = NO_NODE;
    nd->next = NO_NODE;
    return (uint32_t)ps->nnodes++;
}

static bool bit_get(const uint32_t *bits, uint32_t i)
{
    return (bits[i >> 5] >> (i & 31u)) & 1u;
}

static void bit_set(uint32_t *bits, uint32_t i)
{
    bits[i >> 5] |= 1u << (i & 31u);
}

static void cb_add_range(struct parser *ps, struct cbuild *cb, uint32_t lo, uint32_t hi)
{
    for (uint32_t c = lo; c <= hi && c < 128u; c++) {
        bit_set(cb->ascii, c);
    }
    if (hi < 128u) {
        return;
    }
    if (lo < 128u) {
        lo = 128u;
    }
    if (!grow((void **)&cb->ranges, &cb->cap, cb->nranges + 2, sizeof(uint32_t))) {
        set_error(ps, FWI_REGEX_ERR_NOMEM, "out of memory");
        return;
    }
    cb->ranges[cb->nranges++] = lo;
    cb->ranges[cb->nranges++] = hi;
}

/* A predicate on the info byte: (gc in gcmask || info & flagmask) != neg. */
static bool pred_eval(uint32_t gcmask, uint32_t flagmask, bool neg, uint32_t info)
{
    bool in = ((gcmask >> (info & FWI_UNICODE_GC_MASK)) & 1u) || (info & flagmask) != 0;
    return in != neg;
}

static void cb_add_pred(struct cbuild *cb, uint32_t gcmask, uint32_t flagmask, bool neg)
{
    for (uint32_t v = 0; v < 128u; v++) {
        if (pred_eval(gcmask, flagmask, neg, v)) {
            bit_set(cb->lut, v);
        }
        if (pred_eval(gcmask, flagmask, neg, fwi_unicode_info(v))) {
            bit_set(cb->ascii, v);
        }
    }
}

static int cmp_pair(const void *a, const void *b)
{
    const uint32_t *x = a;
    const uint32_t *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

static bool set_member(const struct fwi_regex *re, uint32_t idx, uint32_t cp);

/* Turn a builder into a set; returns its index or NO_SET on error. */
static uint32_t cb_finish(struct parser *ps, struct cbuild *cb, bool negated, uint32_t fold)
{
    if (ps->status != FWI_REGEX_OK) {
        return NO_SET;
    }
    if (!grow((void **)&ps->sets, &ps->capsets, ps->nsets + 1, sizeof(struct cset))) {
        set_error(ps, FWI_REGEX_ERR_NOMEM, "out of memory");
        return NO_SET;
    }
    struct cset *s = &ps->sets[ps->nsets];
    memset(s, 0, sizeof *s);
    memcpy(s->ascii, cb->ascii, sizeof s->ascii);
    memcpy(s->lut, cb->lut, sizeof s->lut);
    if (negated) {
        for (int k = 0; k < 4; k++) {
            s->ascii[k] = ~s->ascii[k];
        }
    }
    s->negated = negated;
    s->fold = fold;
    s->and_with = NO_SET;
    /* sort and merge the non-ASCII ranges */
    size_t np = cb->nranges / 2;
    if (np > 1) {
        qsort(cb->ranges, np, 2 * sizeof(uint32_t), cmp_pair);
    }
    size_t out = 0;
    for (size_t k = 0; k < np; k++) {
        uint32_t lo = cb->ranges[2 * k];
        uint32_t hi = cb->ranges[2 * k + 1];
        if (out > 0 && lo <= cb->ranges[2 * out - 1] + 1u) {
            if (hi > cb->ranges[2 * out - 1]) {
                cb->ranges[2 * out - 1] = hi;
            }
        } else {
            cb->ranges[2 * out] = lo;
            cb->ranges[2 * out + 1] = hi;
            out++;
        }
    }
    if (!grow((void **)&ps->ranges, &ps->capranges, ps->nranges + 2 * out, sizeof(uint32_t))) {
        set_error(ps, FWI_REGEX_ERR_NOMEM, "out of memory");
        return NO_SET;
    }
    if (out > 0) {
        memcpy(ps->ranges + ps->nranges, cb->ranges, 2 * out * sizeof(uint32_t));
    }
    s->range_off = (uint32_t)(ps->nranges / 2);
    s->range_len = (uint32_t)out;
    ps->nranges += 2 * out;
    return (uint32_t)ps->nsets++;
}

static void cb_free(struct cbuild *cb)
{
    fwi_free(cb->ranges);
    cb->ranges = NULL;
    cb->nranges = cb->cap = 0;
}

/* Set matching exactly the code points whose simple case fold equals cp's. */
static uint32_t make_literal_set(struct parser *ps, uint32_t cp, bool ci)
{
    struct cbuild cb;
    memset(&cb, 0, sizeof cb);
    uint32_t idx;
    if (!ci) {
        cb_add_range(ps, &cb, cp, cp);
        idx = cb_finish(ps, &cb, false, NO_FOLD);
    } else {
        uint32_t f = fwi_unicode_casefold(cp);
        for (uint32_t c = 0; c < 128u; c++) {
            if (fwi_unicode_casefold(c) == f) {
                bit_set(cb.ascii, c);
            }
        }
        idx = cb_finish(ps, &cb, false, f);
    }
    cb_free(&cb);
    return idx;
}

static uint32_t set_node(struct parser *ps, uint32_t set)
{
    uint32_t nd = new_node(ps, N_SET);
    if (nd != NO_NODE) {
        ps->nodes[nd].a = set;
    }
    return nd;
}

/* ------------------------------------------------------------------ */
/* Parser                                                              */

static bool at_end(const struct parser *ps)
{
    return ps->i >= ps->n;
}

static uint32_t peek(const struct parser *ps)
{
    return ps->i < ps->n ? ps->p[ps->i] : 0;
}

static bool is_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

static int hexval(uint32_t c)
{
    if (c >= '0' && c <= '9') {
        return (int)(c - '0');
    }
    if (c >= 'a' && c <= 'f') {
        return (int)(c - 'a' + 10);
    }
    if (c >= 'A' && c <= 'F') {
        return (int)(c - 'A' + 10);
    }
    return -1;
}

struct gcname {
    const char *name;
    uint32_t mask;
};

#define GCB(x) (1u << (x))
static const struct gcname gc_names[] = {
    {"L", GCB(FWI_GC_LU) | GCB(FWI_GC_LL) | GCB(FWI_GC_LT) | GCB(FWI_GC_LM) | GCB(FWI_GC_LO)},
    {"Lu", GCB(FWI_GC_LU)}, {"Ll", GCB(FWI_GC_LL)}, {"Lt", GCB(FWI_GC_LT)},
    {"Lm", GCB(FWI_GC_LM)}, {"Lo", GCB(FWI_GC_LO)},
    {"M", GCB(FWI_GC_MN) | GCB(FWI_GC_MC) | GCB(FWI_GC_ME)},
    {"Mn", GCB(FWI_GC_MN)}, {"Mc", GCB(FWI_GC_MC)}, {"Me", GCB(FWI_GC_ME)},
    {"N", GCB(FWI_GC_ND) | GCB(FWI_GC_NL) | GCB(FWI_GC_NO)},
    {"Nd", GCB(FWI_GC_ND)}, {"Nl", GCB(FWI_GC_NL)}, {"No", GCB(FWI_GC_NO)},
    {"P", GCB(FWI_GC_PC) | GCB(FWI_GC_PD) | GCB(FWI_GC_PS) | GCB(FWI_GC_PE) | GCB(FWI_GC_PI) |
          GCB(FWI_GC_PF) | GCB(FWI_GC_PO)},
    {"Pc", GCB(FWI_GC_PC)}, {"Pd", GCB(FWI_GC_PD)}, {"Ps", GCB(FWI_GC_PS)}, {"Pe", GCB(FWI_GC_PE)},
    {"Pi", GCB(FWI_GC_PI)}, {"Pf", GCB(FWI_GC_PF)}, {"Po", GCB(FWI_GC_PO)},
    {"S", GCB(FWI_GC_SM) | GCB(FWI_GC_SC) | GCB(FWI_GC_SK) | GCB(FWI_GC_SO)},
    {"Sm", GCB(FWI_GC_SM)}, {"Sc", GCB(FWI_GC_SC)}, {"Sk", GCB(FWI_GC_SK)}, {"So", GCB(FWI_GC_SO)},
    {"Z", GCB(FWI_GC_ZS) | GCB(FWI_GC_ZL) | GCB(FWI_GC_ZP)},
    {"Zs", GCB(FWI_GC_ZS)}, {"Zl", GCB(FWI_GC_ZL)}, {"Zp", GCB(FWI_GC_ZP)},
    {"C", GCB(FWI_GC_CN) | GCB(FWI_GC_CC) | GCB(FWI_GC_CF) | GCB(FWI_GC_CS) | GCB(FWI_GC_CO)},
    {"Cc", GCB(FWI_GC_CC)}, {"Cf", GCB(FWI_GC_CF)}, {"Cs", GCB(FWI_GC_CS)}, {"Co", GCB(FWI_GC_CO)},
    {"Cn", GCB(FWI_GC_CN)},
};

/* Result of parsing one escape or class atom. */
struct esc {
    bool is_pred;     /* predicate on info byte; else single code point */
    uint32_t cp;
    uint32_t gcmask;
    uint32_t flagmask;
    bool neg;
    bool is_assert;   /* \b \B \A \Z outside classes */
    uint32_t assertion;
};

static bool parse_hex(struct parser *ps, int ndigits, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < ndigits; k++) {
        int h = at_end(ps) ? -1 : hexval(peek(ps));
        if (h < 0) {
            set_error(ps, FWI_REGEX_ERR_SYNTAX, "incomplete hex escape");
            return false;
        }
        v = v * 16u + (uint32_t)h;
        ps->i++;
    }
    *out = v;
    return true;
}

static bool parse_property(struct parser *ps, bool neg, struct esc *e)
{
    char name[16];
    size_t len = 0;
    if (at_end(ps)) {
        set_error(ps, FWI_REGEX_ERR_SYNTAX, "incomplete property escape");
        return false;
    }
    if (peek(ps) == '{') {
        ps->i++;
        while (!at_end(ps) && peek(ps) != '}') {
            uint32_t c = peek(ps);
            if (len + 1 >= sizeof name || c >= 128u) {
                set_error(ps, FWI_REGEX_ERR_UNSUPPORTED, "unknown property");
                return false;
            }
            name[len++] = (char)c;
            ps->i++;
        }
        if (at_end(ps)) {
            set_error(ps, FWI_REGEX_ERR_SYNTAX, "missing }");
            return false;
        }
        ps->i++;
    } else {
        uint32_t c = peek(ps);
        if (c >= 128u) {
            set_error(ps, FWI_REGEX_ERR_UNSUPPORTED, "unknown property");
            return false;
        }
        name[len++] = (char)c;
        ps->i++;
    }
    name[len] = '\0';
    for (size_t k = 0; k < sizeof gc_names / sizeof gc_names[0]; k++) {
        if (strcmp(gc_names[k].name, name) == 0) {
            e->is_pred = true;
            e->gcmask = gc_names[k].mask;
            e->flagmask = 0;
            e->neg = neg;
            return true;
        }
    }
    set_error(ps, FWI_REGEX_ERR_UNSUPPORTED, "unsupported property \\p{%s}", name);
    return false;
}

/* Parse an escape; ps->i points just after the backslash. */
static bool parse_escape(struct parser *ps, bool in_class, struct esc *e)
{
    memset(e, 0, sizeof *e);
    if (at_end(ps)) {
        set_error(ps, FWI_REGEX_ERR_SYNTAX, "bad escape (end of pattern)");
        return false;
    }
    uint32_t c = ps->p[ps->i++];
    switch (c) {
    case 'd': case 'D':
        e->is_pred = true;
        e->gcmask = GCB(FWI_GC_ND);
        e->neg = c == 'D';
        return true;
    case 's': case 'S':
        e->is_pred = true;
        e->flagmask = FWI_UNICODE_WHITE_SPACE;
        e->neg = c == 'S';
        return true;
    case 'w': case 'W':
        e->is_pred = true;
        e->flagmask = FWI_UNICODE_WORD;
        e->neg = c == 'W';
        return true;
    case 'p': case 'P':
        return parse_property(ps, c == 'P', e);
    case 'n': e->cp = '\n'; return true;
    case 'r': e->cp = '\r'; return true;
    case 't': e->cp = '\t'; return true;
    case 'f': e->cp = '\f'; return true;
    case 'v': e->cp = '\v'; return true;
    case 'a': e->cp = 0x07; return true;
    case '0':
        if (!at_end(ps) && is_digit(peek(ps))) {
            set_error(ps, FWI_REGEX_ERR_UNSUPPORTED, "octal escapes are not supported");
            return false;
        }
        e->cp = 0;
        return true;
    case 'x':
        if (!parse_hex(ps, 2, &e->cp)) {
            return false;
        }
        break;
    case 'u':
        if (!parse_hex(ps, 4, &e->cp)) {
            return false;
        }
        break;
    case 'U':
        if (!parse_hex(ps, 8, &e->cp)) {
            return false;
        }
        break;
    case 'b':
        if (in_class) {
            e->cp = 0x08;
            return true;
        }
        e->is_assert = true;
        e->assertion = A_WORDB;
        return true;
    case 'B':
    case 'A':
    case 'Z':
        if (in_class) {
            set_error(ps, FWI_REGEX_ERR_SYNTAX, "bad escape in class");
            return false;
        }
        e->is_assert = true;
        e->assertion = c == 'B' ? A_NWORDB : c == 'A' ? A_START : A_END;
        return true;
    default:
        if (c < 128u && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))) {
            set_error(ps, FWI_REGEX_ERR_UNSUPPORTED, "unsupported escape \\%c", (char)c);
            return false;
        }
        e->cp = c;
        return true;
    }
    if (e->cp > FWI_UNICODE_MAX_CP) {
        set_error(ps, FWI_REGEX_ERR_SYNTAX, "code point out of range");
        return false;
    }
    return true;
}

static uint32_t parse_class(struct parser *ps, bool ci)
{
    struct cbuild cb;
    memset(&cb, 0, sizeof cb);
    bool negated = false;
    if (ci) {
        set_error(ps, FWI_REGEX_ERR_UNSUPPORTED, "character class in case-insensitive mode");
        return NO_NODE;
    }
    if (peek(ps) == '^' && !at_end(ps)) {
        negated = true;
        ps->i++;
    }
    bool first = true;
    for (;;) {
        if (at_end(ps)) {
            set_error(ps, FWI_REGEX_ERR_SYNTAX, "unterminated character class");
            break;
        }
        uint32_t c = ps->p[ps->i];
        if (c == ']' && !first) {
            ps->i++;
            break;
        }
        first = false;
        struct esc lo;
        memset(&lo, 0, sizeof lo);
        ps->i++;
        if (c == '\\') {
            if (!parse_escape(ps, true, &lo)) {
                break;
            }
        } else {
            lo.cp = c;
        }
        /* range? */
        if (peek(ps) == '-' && ps->i + 1 < ps->n && ps->p[ps->i + 1] != ']') {
            if (lo.is_pred) {
                set_error(ps, FWI_REGEX_ERR_SYNTAX, "bad character range");
                break;
            }
            ps->i++;
            struct esc hi;
            memset(&hi, 0, sizeof hi);
            uint32_t c2 = ps->p[ps->i++];
            if (c2 == '\\') {
                if (!parse_escape(ps, true, &hi)) {
                    break;
                }
            } else {
                hi.cp = c2;
            }
            if (hi.is_pred || hi.cp < lo.cp) {
                set_error(ps, FWI_REGEX_ERR_SYNTAX, "bad character range");
                break;
            }
            cb_add_range(ps, &cb, lo.cp, hi.cp);
        } else if (lo.is_pred) {
            cb_add_pred(&cb, lo.gcmask, lo.flagmask, lo.neg);
        } else {
            cb_add_range(ps, &cb, lo.cp, lo.cp);
        }
        if (ps->status != FWI_REGEX_OK) {
            break;
        }
    }
    uint32_t set = NO_SET;
    if (ps->status == FWI_REGEX_OK) {
        set = cb_finish(ps, &cb, negated, NO_FOLD);
    }
    cb_free(&cb);
    return set == NO_SET ? NO_NODE : set_node(ps, set);
}

static uint32_t pred_set_node(struct parser *ps, uint32_t gcmask, uint32_t flagmask, bool neg)
{
    struct cbuild cb;
    memset(&cb, 0, sizeof cb);
    cb_add_pred(&cb, gcmask, flagmask, neg);
    uint32_t set = cb_finish(ps, &cb, false, NO_FOLD);
    cb_free(&cb);
    return set == NO_SET ? NO_NODE : set_node(ps, set);
}

static uint32_t parse_alt(struct parser *ps, int depth, bool ci);

/* Parse "{n}", "{n,}", "{,m}", "{n,m}" at ps->i (pointing at '{'). Returns
 * false (without consuming) if the text is not a valid quantifier. */
static bool try_parse_braces(struct parser *ps, uint32_t *mn, uint32_t *mx)
{
    size_t j = ps->i + 1;
    uint64_t a = 0;
    uint64_t b = 0;
    bool have_a = false;
    bool have_b = false;
    bool comma = false;
    while (j < ps->n && is_digit(ps->p[j])) {
        a = a * 10u + (ps->p[j] - '0');
        if (a > 0xFFFFFFFFu) {
            a = 0xFFFFFFFFu;
        }
        have_a = true;
        j++;
    }
    if (j < ps->n && ps->p[j] == ',') {
        comma = true;
        j++;
        while (j < ps->n && is_digit(ps->p[j])) {
            b = b * 10u + (ps->p[j] - '0');
            if (b > 0xFFFFFFFFu) {
                b = 0xFFFFFFFFu;
            }
            have_b = true;
            j++;
        }
    }
    if (j >= ps->n || ps->p[j] != '}' || (!have_a && !comma)) {
        return false;
    }
    *mn = have_a ? (uint32_t)a : 0u;
    *mx = comma ? (have_b ? (uint32_t)b : INF_REPEAT) : (uint32_t)a;
    ps->i = j + 1;
    return true;
}

static bool is_quant_start(struct parser *ps)
{
    uint32_t c = peek(ps);
    if (at_end(ps)) {
        return false;
    }
    if (c == '*' || c == '+' || c == '?') {
        return true;
    }
    if (c == '{') {
        size_t save = ps->i;
        uint32_t a, b;
        bool ok = try_parse_braces(ps, &a, &b);
        ps->i = save;
        return ok;
    }
    return false;
}

static uint32_t parse_group(struct parser *ps, int depth, bool ci)
{
    /* ps->i is just after '(' */
    uint32_t kind = N_EMPTY; /* N_EMPTY: plain group */
    bool neg = false;
    bool inner_ci = ci;
    if (peek(ps) == '?' && !at_end(ps)) {
        ps->i++;
        uint32_t c = peek(ps);
        if (at_end(ps)) {
            set_error(ps, FWI_REGEX_ERR_SYNTAX, "unexpected end of pattern");
            return NO_NODE;
        }
        if (c == ':') {
            ps->i++;
        } else if (c == '=' || c == '!') {
            kind = N_LOOK;
            neg = c == '!';
            ps->i++;
        } else if (c == '>') {
            kind = N_ATOMIC;
            ps->i++;
        } else if (c == '#') {
            while (!at_end(ps) && peek(ps) != ')') {
                ps->i++;
            }
            if (at_end(ps)) {
                set_error(ps, FWI_REGEX_ERR_SYNTAX, "missing ), unterminated comment");
                return NO_NODE;
            }
            ps->i++;
            return new_node(ps, N_EMPTY);
        } else if (c == 'P' || c == '<') {
            if (c == 'P') {
                ps->i++;
            }
            if (peek(ps) != '<') {
                set_error(ps, FWI_REGEX_ERR_UNSUPPORTED, "unsupported group syntax");
                return NO_NODE;
            }
            ps->i++;
            if (peek(ps) == '=' || peek(ps) == '!') {
                set_error(ps, FWI_REGEX_ERR_UNSUPPORTED, "lookbehind is not supported");
                return NO_NODE;
            }
            size_t start = ps->i;
            while (!at_end(ps) && peek(ps) != '>') {
                uint32_t d = peek(ps);
                bool ok = d == '_' || (d < 128u && ((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') ||
                                                    (is_digit(d) && ps->i > start)));
                if (!ok) {
                    set_error(ps, FWI_REGEX_ERR_SYNTAX, "bad group name");
                    return NO_NODE;
                }
                ps->i++;
            }
            if (at_end(ps) || ps->i == start) {
                set_error(ps, FWI_REGEX_ERR_SYNTAX, "bad group name");
                return NO_NODE;
            }
            ps->i++;
        } else if (c == 'i') {
            ps->i++;
            if (peek(ps) == ':') {
                ps->i++;
                inner_ci = true;
            } else if (peek(ps) == ')') {
                set_error(ps, FWI_REGEX_ERR_SYNTAX, "global flags not at the start of the expression");
                return NO_NODE;
            } else {
                set_error(ps, FWI_REGEX_ERR_UNSUPPORTED, "unsupported inline flags");
                return NO_NODE;
            }
        } else {
            set_error(ps, FWI_REGEX_ERR_UNSUPPORTED, "unsupported group syntax (?%c", c < 128u ? (char)c : '?');
            return NO_NODE;
        }
    }
    uint32_t inner = parse_alt(ps, depth + 1, inner_ci);
    if (ps->status != FWI_REGEX_OK) {
        return NO_NODE;
    }
    if (peek(ps) != ')' || at_end(ps)) {
        set_error(ps, FWI_REGEX_ERR_SYNTAX, "missing ), unterminated subpattern");
        return NO_NODE;
    }
    ps->i++;
    if (kind == N_EMPTY) {
        return inner;
    }
    uint32_t nd = new_node(ps, (enum nkind)kind);
    if (nd != NO_NODE) {
        ps->nodes[nd].child = inner;
        ps->nodes[nd].neg = neg;
    }
    return nd;
}

static uint32_t literal_node(struct parser *ps, uint32_t cp, bool ci)
{
    uint32_t set = make_literal_set(ps, cp, ci);
    return set == NO_SET ? NO_NODE : set_node(ps, set);
}

static uint32_t assert_node(struct parser *ps, uint32_t kind)
{
    uint32_t nd = new_node(ps, N_ASSERT);
    if (nd != NO_NODE) {
        ps->nodes[nd].a = kind;
    }
    return nd;
}

static uint32_t parse_atom(struct parser *ps, int depth, bool ci, bool *quantifiable)
{
    uint32_t c = ps->p[ps->i++];
    *quantifiable = true;
    switch (c) {
    case '(': {
        uint32_t nd = parse_group(ps, depth, ci);
        if (nd != NO_NODE && (ps->nodes[nd].kind == N_LOOK || ps->nodes[nd].kind == N_EMPTY ||
                              ps->nodes[nd].kind == N_ASSERT)) {
            *quantifiable = false;
        }
        return nd;
    }
    case '[':
        return parse_class(ps, ci);
    case '.': {
        struct cbuild cb;
        memset(&cb, 0, sizeof cb);
        cb_add_range(ps, &cb, '\n', '\n');
        uint32_t set = cb_finish(ps, &cb, true, NO_FOLD);
        cb_free(&cb);
        return set == NO_SET ? NO_NODE : set_node(ps, set);
    }
    case '^':
        *quantifiable = false;
        return assert_node(ps, A_START);
    case '$':
        *quantifiable = false;
        return assert_node(ps, A_EOL);
    case '*': case '+': case '?':
        ps->i--;
        set_error(ps, FWI_REGEX_ERR_SYNTAX, "nothing to repeat");
        return NO_NODE;
    case '{':
        ps->i--;
        if (is_quant_start(ps)) {
            set_error(ps, FWI_REGEX_ERR_SYNTAX, "nothing to repeat");
            return NO_NODE;
        }
        ps->i++;
        return literal_node(ps, c, ci);
    case '\\': {
        struct esc e;
        if (!parse_escape(ps, false, &e)) {
            return NO_NODE;
        }
        if (e.is_assert) {
            *quantifiable = false;
            return assert_node(ps, e.assertion);
        }
        if (e.is_pred) {
            if (ci && e.gcmask != 0 && e.gcmask != GCB(FWI_GC_ND)) {
                set_error(ps, FWI_REGEX_ERR_UNSUPPORTED, "property in case-insensitive mode");
                return NO_NODE;
            }
            return pred_set_node(ps, e.gcmask, e.flagmask, e.neg);
        }
        return literal_node(ps, e.cp, ci);
    }
    default:
        return literal_node(ps, c, ci);
    }
}

/* Merge "(?=[X])[Y]" into one set "Y and X" (same meaning, one step). */
static void merge_lookahead_sets(struct parser *ps, uint32_t cat)
{
    uint32_t k = ps->nodes[cat].child;
    while (k != NO_NODE && ps->status == FWI_REGEX_OK) {
        uint32_t nx = ps->nodes[k].next;
        if (nx == NO_NODE) {
            break;
        }
        uint32_t inner = ps->nodes[k].child;
        if (ps->nodes[k].kind == N_LOOK && !ps->nodes[k].neg && inner != NO_NODE &&
            ps->nodes[inner].kind == N_SET && ps->nodes[nx].kind == N_SET) {
            uint32_t sx = ps->nodes[inner].a;
            uint32_t sy = ps->nodes[nx].a;
            if (ps->sets[sx].and_with == NO_SET && ps->sets[sx].fold == NO_FOLD &&
                ps->sets[sy].and_with == NO_SET && ps->sets[sy].fold == NO_FOLD) {
                if (!grow((void **)&ps->sets, &ps->capsets, ps->nsets + 1, sizeof(struct cset))) {
                    set_error(ps, FWI_REGEX_ERR_NOMEM, "out of memory");
                    return;
                }
                struct cset *ns = &ps->sets[ps->nsets];
                *ns = ps->sets[sy];
                for (int w = 0; w < 4; w++) {
                    ns->ascii[w] &= ps->sets[sx].ascii[w];
                }
                ns->and_with = sx;
                ps->nodes[k].kind = N_SET;
                ps->nodes[k].a = (uint32_t)ps->nsets++;
                ps->nodes[k].child = NO_NODE;
                ps->nodes[k].next = ps->nodes[nx].next;
                continue;
            }
        }
        k = nx;
    }
}

static uint32_t parse_concat(struct parser *ps, int depth, bool ci)
{
    uint32_t cat = new_node(ps, N_CAT);
    uint32_t last = NO_NODE;
    uint32_t count = 0;
    while (ps->status == FWI_REGEX_OK && !at_end(ps) && peek(ps) != '|' && peek(ps) != ')') {
        bool quantifiable;
        uint32_t atom = parse_atom(ps, depth, ci, &quantifiable);
        if (atom == NO_NODE || ps->status != FWI_REGEX_OK) {
            return NO_NODE;
        }
        if (is_quant_start(ps)) {
            uint32_t mn = 0;
            uint32_t mx = INF_REPEAT;
            uint32_t q = peek(ps);
            if (!quantifiable) {
                set_error(ps, FWI_REGEX_ERR_SYNTAX, "nothing to repeat");
                return NO_NODE;
            }
            if (q == '{') {
                try_parse_braces(ps, &mn, &mx);
            } else {
                ps->i++;
                mn = q == '+' ? 1u : 0u;
                mx = q == '?' ? 1u : INF_REPEAT;
            }
            uint8_t mode = M_GREEDY;
            if (!at_end(ps) && peek(ps) == '?') {
                mode = M_LAZY;
                ps->i++;
            } else if (!at_end(ps) && peek(ps) == '+') {
                mode = M_POSSESSIVE;
                ps->i++;
            }
            if (is_quant_start(ps)) {
                set_error(ps, FWI_REGEX_ERR_SYNTAX, "multiple repeat");
                return NO_NODE;
            }
            if (mx < mn) {
                set_error(ps, FWI_REGEX_ERR_SYNTAX, "min repeat greater than max repeat");
                return NO_NODE;
            }
            if (mn > MAX_REPEAT || (mx != INF_REPEAT && mx > MAX_REPEAT)) {
                set_error(ps, FWI_REGEX_ERR_LIMIT, "repeat count too large");
                return NO_NODE;
            }
            uint32_t r = new_node(ps, N_REPEAT);
            if (r == NO_NODE) {
                return NO_NODE;
            }
            ps->nodes[r].child = atom;
            ps->nodes[r].min = mn;
            ps->nodes[r].max = mx;
            ps->nodes[r].mode = mode;
            atom = r;
        }
        if (last == NO_NODE) {
            ps->nodes[cat].child = atom;
        } else {
            ps->nodes[last].next = atom;
        }
        last = atom;
        count++;
    }
    if (ps->status != FWI_REGEX_OK) {
        return NO_NODE;
    }
    if (count == 0) {
        ps->nodes[cat].kind = N_EMPTY;
        return cat;
    }
    merge_lookahead_sets(ps, cat);
    uint32_t first = ps->nodes[cat].child;
    if (ps->nodes[first].next == NO_NODE) {
        return first;
    }
    return cat;
}

static uint32_t parse_alt(struct parser *ps, int depth, bool ci)
{
    if (depth > MAX_NEST) {
        set_error(ps, FWI_REGEX_ERR_LIMIT, "pattern too deeply nested");
        return NO_NODE;
    }
    uint32_t first = parse_concat(ps, depth, ci);
    if (first == NO_NODE || at_end(ps) || peek(ps) != '|') {
        return first;
    }
    uint32_t alt = new_node(ps, N_ALT);
    if (alt == NO_NODE) {
        return NO_NODE;
    }
    ps->nodes[alt].child = first;
    uint32_t last = first;
    while (!at_end(ps) && peek(ps) == '|') {
        ps->i++;
        uint32_t nx = parse_concat(ps, depth, ci);
        if (nx == NO_NODE) {
            return NO_NODE;
        }
        ps->nodes[last].next = nx;
        last = nx;
    }
    return alt;
}

/* ------------------------------------------------------------------ */
/* Compiler                                                            */

static bool nullable(const struct parser *ps, uint32_t nd)
{
    const struct node *n = &ps->nodes[nd];
    switch (n->kind) {
    case N_SET:
        return false;
    case N_CAT:
        for (uint32_t c = n->child; c != NO_NODE; c = ps->nodes[c].next) {
            if (!nullable(ps, c)) {
                return false;
            }
        }
        return true;
    case N_ALT:
        for (uint32_t c = n->child; c != NO_NODE; c = ps->nodes[c].next) {
            if (nullable(ps, c)) {
                return true;
            }
        }
        return false;
    case N_REPEAT:
        return n->min == 0 || nullable(ps, n->child);
    case N_ATOMIC:
        return nullable(ps, n->child);
    default:
        return true;
    }
}

static uint32_t emit(struct parser *ps, enum op op)
{
    if (ps->status != FWI_REGEX_OK) {
        return 0;
    }
    if (ps->nprog >= MAX_PROG) {
        set_error(ps, FWI_REGEX_ERR_LIMIT, "compiled pattern too large");
        return 0;
    }
    if (!grow((void **)&ps->prog, &ps->capprog, ps->nprog + 1, sizeof(struct inst))) {
        set_error(ps, FWI_REGEX_ERR_NOMEM, "out of memory");
        return 0;
    }
    struct inst *in = &ps->prog[ps->nprog];
    memset(in, 0, sizeof *in);
    in->op = (uint8_t)op;
    return (uint32_t)ps->nprog++;
}

static void compile_node(struct parser *ps, uint32_t nd);

static void compile_repeat(struct parser *ps, uint32_t child, uint32_t mn, uint32_t mx, uint8_t mode)
{
    for (uint32_t k = 0; k < mn && ps->status == FWI_REGEX_OK; k++) {
        compile_node(ps, child);
    }
    if (mx == INF_REPEAT) {
        uint32_t s = emit(ps, I_SPLIT);
        compile_node(ps, child);
        uint32_t j = emit(ps, I_JMP);
        if (ps->status != FWI_REGEX_OK) {
            return;
        }
        ps->prog[j].x = s;
        if (mode == M_LAZY) {
            ps->prog[s].x = (uint32_t)ps->nprog;
            ps->prog[s].y = s + 1;
        } else {
            ps->prog[s].x = s + 1;
            ps->prog[s].y = (uint32_t)ps->nprog;
        }
        return;
    }
    uint32_t chain = NO_NODE;
    for (uint32_t k = mn; k < mx && ps->status == FWI_REGEX_OK; k++) {
        uint32_t s = emit(ps, I_SPLIT);
        if (ps->status != FWI_REGEX_OK) {
            return;
        }
        ps->prog[s].a = chain; /* link for patching */
        chain = s;
        compile_node(ps, child);
    }
    if (ps->status != FWI_REGEX_OK) {
        return;
    }
    uint32_t end = (uint32_t)ps->nprog;
    while (chain != NO_NODE) {
        uint32_t prev = ps->prog[chain].a;
        ps->prog[chain].a = 0;
        if (mode == M_LAZY) {
            ps->prog[chain].x = end;
            ps->prog[chain].y = chain + 1;
        } else {
            ps->prog[chain].x = chain + 1;
            ps->prog[chain].y = end;
        }
        chain = prev;
    }
}

static void compile_node(struct parser *ps, uint32_t nd)
{
    if (ps->status != FWI_REGEX_OK) {
        return;
    }
    const struct node n = ps->nodes[nd];
    switch (n.kind) {
    case N_EMPTY:
        break;
    case N_SET: {
        uint32_t k = emit(ps, I_SET);
        if (ps->status == FWI_REGEX_OK) {
            ps->prog[k].a = n.a;
        }
        break;
    }
    case N_CAT:
        for (uint32_t c = n.child; c != NO_NODE && ps->status == FWI_REGEX_OK; c = ps->nodes[c].next) {
            compile_node(ps, c);
        }
        break;
    case N_ALT: {
        uint32_t chain = NO_NODE;
        for (uint32_t c = n.child; c != NO_NODE && ps->status == FWI_REGEX_OK; c = ps->nodes[c].next) {
            if (ps->nodes[c].next == NO_NODE) {
                compile_node(ps, c);
                break;
            }
            uint32_t s = emit(ps, I_SPLIT);
            compile_node(ps, c);
            uint32_t j = emit(ps, I_JMP);
            if (ps->status != FWI_REGEX_OK) {
                return;
            }
            ps->prog[j].x = chain;
            chain = j;
            ps->prog[s].x = s + 1;
            ps->prog[s].y = (uint32_t)ps->nprog;
        }
        if (ps->status != FWI_REGEX_OK) {
            return;
        }
        while (chain != NO_NODE) {
            uint32_t prev = ps->prog[chain].x;
            ps->prog[chain].x = (uint32_t)ps->nprog;
            chain = prev;
        }
        break;
    }
    case N_REPEAT: {
        const struct node ch = ps->nodes[n.child];
        if (ch.kind == N_SET) {
            uint32_t k = emit(ps, I_REPEAT);
            if (ps->status == FWI_REGEX_OK) {
                ps->prog[k].a = ch.a;
                ps->prog[k].min = n.min;
                ps->prog[k].max = n.max;
                ps->prog[k].mode = n.mode;
            }
            break;
        }
        if (n.max > 1 && nullable(ps, n.child)) {
            set_error(ps, FWI_REGEX_ERR_UNSUPPORTED, "repeated group can match the empty string");
            return;
        }
        if (n.mode == M_POSSESSIVE) {
            uint32_t a = emit(ps, I_ATOMIC);
            compile_repeat(ps, n.child, n.min, n.max, M_GREEDY);
            emit(ps, I_SUCCEED);
            if (ps->status == FWI_REGEX_OK) {
                ps->prog[a].x = (uint32_t)ps->nprog;
            }
        } else {
            compile_repeat(ps, n.child, n.min, n.max, n.mode);
        }
        break;
    }
    case N_LOOK:
    case N_ATOMIC: {
        uint32_t k = emit(ps, n.kind == N_LOOK ? I_LOOK : I_ATOMIC);
        compile_node(ps, n.child);
        emit(ps, I_SUCCEED);
        if (ps->status == FWI_REGEX_OK) {
            ps->prog[k].a = n.neg;
            ps->prog[k].x = (uint32_t)ps->nprog;
        }
        break;
    }
    case N_ASSERT: {
        uint32_t k = emit(ps, I_ASSERT);
        if (ps->status == FWI_REGEX_OK) {
            ps->prog[k].a = n.a;
        }
        break;
    }
    default:
        set_error(ps, FWI_REGEX_ERR_SYNTAX, "internal error: bad node");
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Public: compile / free                                              */

static void parser_free(struct parser *ps)
{
    fwi_free(ps->nodes);
    fwi_free(ps->sets);
    fwi_free(ps->ranges);
    fwi_free(ps->prog);
    fwi_free((void *)ps->p);
}

enum fwi_regex_status fwi_regex_compile(const char *pattern, size_t len, struct fwi_regex **out,
                                        char *errbuf, size_t errbuf_size)
{
    struct parser ps;
    memset(&ps, 0, sizeof ps);
    ps.errbuf = errbuf;
    ps.errsize = errbuf_size;
    ps.status = FWI_REGEX_OK;
    if (errbuf != NULL && errbuf_size > 0) {
        errbuf[0] = '\0';
    }
    if (out == NULL || (pattern == NULL && len > 0)) {
        set_error(&ps, FWI_REGEX_ERR_ARG, "invalid argument");
        return ps.status;
    }
    *out = NULL;

    /* strict UTF-8 decode of the pattern */
    uint32_t *cps = fwi_malloc((len + 1) * sizeof(uint32_t));
    if (cps == NULL) {
        set_error(&ps, FWI_REGEX_ERR_NOMEM, "out of memory");
        return ps.status;
    }
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t l;
        uint32_t cp = fwi_utf8_decode_one((const uint8_t *)pattern + i, len - i, &l);
        bool bad = cp == FWI_UNICODE_REPLACEMENT && l == 1 && (uint8_t)pattern[i] >= 0x80u;
        bad = bad || (l == 2 && cp < 0x80u) || (l == 3 && (cp < 0x800u || (cp >= 0xD800u && cp < 0xE000u))) ||
              (l == 4 && cp < 0x10000u);
        if (bad) {
            ps.i = n;
            set_error(&ps, FWI_REGEX_ERR_SYNTAX, "pattern is not valid UTF-8");
            fwi_free(cps);
            return ps.status;
        }
        cps[n++] = cp;
        i += l;
    }
    ps.p = cps;
    ps.n = n;

    bool ci = false;
    if (n >= 4 && cps[0] == '(' && cps[1] == '?' && cps[2] == 'i' && cps[3] == ')') {
        ci = true;
        ps.i = 4;
    }
    uint32_t root = parse_alt(&ps, 0, ci);
    if (ps.status == FWI_REGEX_OK && !at_end(&ps)) {
        set_error(&ps, FWI_REGEX_ERR_SYNTAX, "unbalanced parenthesis");
    }
    if (ps.status == FWI_REGEX_OK && root != NO_NODE) {
        compile_node(&ps, root);
        emit(&ps, I_MATCH);
    }
    if (ps.status == FWI_REGEX_OK && root == NO_NODE) {
        set_error(&ps, FWI_REGEX_ERR_SYNTAX, "internal error: empty parse");
    }
    if (ps.status != FWI_REGEX_OK) {
        parser_free(&ps);
        return ps.status;
    }
    struct fwi_regex *re = fwi_calloc(1, sizeof *re);
    if (re == NULL) {
        set_error(&ps, FWI_REGEX_ERR_NOMEM, "out of memory");
        parser_free(&ps);
        return ps.status;
    }
    re->prog = ps.prog;
    re->nprog = ps.nprog;
    re->sets = ps.sets;
    re->nsets = ps.nsets;
    re->ranges = ps.ranges;
    re->nranges = ps.nranges / 2;
    ps.prog = NULL;
    ps.sets = NULL;
    ps.ranges = NULL;
    parser_free(&ps);
    *out = re;
    return FWI_REGEX_OK;
}

void fwi_regex_free(struct fwi_regex *re)
{
    if (re == NULL) {
        return;
    }
    fwi_free(re->prog);
    fwi_free(re->sets);
    fwi_free(re->ranges);
    fwi_free(re);
}

void fwi_regex_scratch_free(struct fwi_regex_scratch *scratch)
{
    if (scratch == NULL) {
        return;
    }
    fwi_free(scratch->stack);
    scratch->stack = NULL;
    scratch->cap = 0;
}

/* ------------------------------------------------------------------ */
/* Matcher                                                             */

static bool nonascii_member(const struct fwi_regex *re, const struct cset *s, uint32_t cp)
{
    uint32_t info = fwi_unicode_info(cp) & 0x7Fu;
    for (;;) {
        bool in;
        if (s->fold != NO_FOLD) {
            in = fwi_unicode_casefold(cp) == s->fold;
        } else {
            in = bit_get(s->lut, info);
            if (!in && s->range_len > 0) {
                const uint32_t *r = re->ranges + 2u * s->range_off;
                size_t lo = 0;
                size_t hi = s->range_len;
                while (lo < hi) {
                    size_t mid = lo + (hi - lo) / 2;
                    if (r[2 * mid + 1] < cp) {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                in = lo < s->range_len && r[2 * lo] <= cp;
            }
            in = in != s->negated;
        }
        if (!in || s->and_with == NO_SET) {
            return in;
        }
        s = &re->sets[s->and_with];
    }
}

static bool set_member(const struct fwi_regex *re, uint32_t idx, uint32_t cp)
{
    const struct cset *s = &re->sets[idx];
    if (cp < 128u) {
        return bit_get(s->ascii, cp);
    }
    return nonascii_member(re, s, cp);
}

enum bt_kind { BT_ALT, BT_GREEDY, BT_LAZY };

struct bt {
    uint32_t kind;
    uint32_t pc;
    size_t pos;
    size_t lo;
};

struct ctx {
    const struct fwi_regex *re;
    const uint32_t *text;
    size_t n;
    size_t start;
    bool must_advance;
    struct fwi_regex_scratch *scratch;
    size_t sp;
};

static bool push(struct ctx *c, uint32_t kind, uint32_t pc, size_t pos, size_t lo)
{
    if (c->sp >= c->scratch->cap) {
        void *stack = c->scratch->stack;
        size_t cap = c->scratch->cap;
        if (!grow(&stack, &cap, c->sp + 1, sizeof(struct bt))) {
            return false;
        }
        c->scratch->stack = stack;
        c->scratch->cap = cap;
    }
    struct bt *b = (struct bt *)c->scratch->stack + c->sp++;
    b->kind = kind;
    b->pc = pc;
    b->pos = pos;
    b->lo = lo;
    return true;
}

static bool is_word_at(const struct ctx *c, size_t pos)
{
    return pos < c->n && (fwi_unicode_info(c->text[pos]) & FWI_UNICODE_WORD) != 0;
}

static bool check_assert(const struct ctx *c, uint32_t kind, size_t pos)
{
    switch (kind) {
    case A_START:
        return pos == 0;
    case A_EOL:
        return pos == c->n || (pos + 1 == c->n && c->text[pos] == '\n');
    case A_END:
        return pos == c->n;
    case A_WORDB:
    case A_NWORDB: {
        bool before = pos > 0 && is_word_at(c, pos - 1);
        bool after = is_word_at(c, pos);
        return (before != after) == (kind == A_WORDB);
    }
    default:
        return false;
    }
}

/* Run the program from pc at pos. Returns 1 and *end on success, 0 on
 * failure, -1 on allocation failure. Recurses only for I_LOOK / I_ATOMIC,
 * i.e. at most as deep as the pattern nests them. */
static int run(struct ctx *c, uint32_t pc, size_t pos, size_t *end)
{
    const struct fwi_regex *re = c->re;
    const uint32_t *text = c->text;
    const size_t n = c->n;
    const size_t base = c->sp;
    for (;;) {
        const struct inst *in = &re->prog[pc];
        switch ((enum op)in->op) {
        case I_SET:
            if (pos < n && set_member(re, in->a, text[pos])) {
                pos++;
                pc++;
                continue;
            }
            goto fail;
        case I_REPEAT: {
            size_t start = pos;
            size_t avail = n - pos;
            size_t limit = in->mode == M_LAZY ? in->min : in->max;
            if (limit > avail) {
                limit = avail;
            }
            size_t k = 0;
            while (k < limit && set_member(re, in->a, text[start + k])) {
                k++;
            }
            if (k < in->min) {
                goto fail;
            }
            pos = start + k;
            if (in->mode == M_GREEDY && k > in->min) {
                if (!push(c, BT_GREEDY, pc + 1, pos, start + in->min)) {
                    return -1;
                }
            } else if (in->mode == M_LAZY && k < in->max) {
                if (!push(c, BT_LAZY, pc, pos, start)) {
                    return -1;
                }
            }
            pc++;
            continue;
        }
        case I_SPLIT:
            if (!push(c, BT_ALT, in->y, pos, 0)) {
                return -1;
            }
            pc = in->x;
            continue;
        case I_JMP:
            pc = in->x;
            continue;
        case I_ASSERT:
            if (check_assert(c, in->a, pos)) {
                pc++;
                continue;
            }
            goto fail;
        case I_LOOK: {
            size_t e;
            int r = run(c, pc + 1, pos, &e);
            if (r < 0) {
                return -1;
            }
            if ((r == 1) != (in->a != 0)) {
                pc = in->x;
                continue;
            }
            goto fail;
        }
        case I_ATOMIC: {
            size_t e;
            int r = run(c, pc + 1, pos, &e);
            if (r < 0) {
                return -1;
            }
            if (r == 1) {
                pos = e;
                pc = in->x;
                continue;
            }
            goto fail;
        }
        case I_SUCCEED:
            c->sp = base;
            *end = pos;
            return 1;
        case I_MATCH:
            if (c->must_advance && pos == c->start) {
                goto fail;
            }
            c->sp = base;
            *end = pos;
            return 1;
        default:
            return 0;
        }
    fail:
        for (;;) {
            if (c->sp == base) {
                return 0;
            }
            struct bt *b = (struct bt *)c->scratch->stack + (c->sp - 1);
            if (b->kind == BT_ALT) {
                pc = b->pc;
                pos = b->pos;
                c->sp--;
                break;
            }
            if (b->kind == BT_GREEDY) {
                pos = b->pos - 1;
                pc = b->pc;
                if (pos == b->lo) {
                    c->sp--;
                } else {
                    b->pos = pos;
                }
                break;
            }
            /* BT_LAZY: extend the loop by one more character */
            const struct inst *rp = &re->prog[b->pc];
            size_t p = b->pos;
            if (p < n && p - b->lo < rp->max && set_member(re, rp->a, text[p])) {
                b->pos = p + 1;
                pos = p + 1;
                pc = b->pc + 1;
                if (p + 1 - b->lo >= rp->max) {
                    c->sp--;
                }
                break;
            }
            c->sp--;
        }
    }
}

enum fwi_regex_status fwi_regex_search(const struct fwi_regex *re, const uint32_t *text, size_t n,
                                       size_t from, bool must_advance,
                                       struct fwi_regex_scratch *scratch,
                                       size_t *mstart, size_t *mend)
{
    if (re == NULL || scratch == NULL || mstart == NULL || mend == NULL || (text == NULL && n > 0)) {
        return FWI_REGEX_ERR_ARG;
    }
    struct ctx c;
    c.re = re;
    c.text = text;
    c.n = n;
    c.scratch = scratch;
    c.sp = 0;
    for (size_t s = from; s <= n; s++) {
        size_t e;
        c.start = s;
        c.must_advance = must_advance && s == from;
        c.sp = 0;
        int r = run(&c, 0, s, &e);
        if (r < 0) {
            return FWI_REGEX_ERR_NOMEM;
        }
        if (r == 1) {
            *mstart = s;
            *mend = e;
            return FWI_REGEX_OK;
        }
    }
    return FWI_REGEX_NOMATCH;
}

void fwi_regex_iter_init(struct fwi_regex_iter *it, const struct fwi_regex *re,
                         const uint32_t *text, size_t n)
{
    it->re = re;
    it->text = text;
    it->n = n;
    it->pos = 0;
    it->must_advance = false;
    it->done = false;
}

enum fwi_regex_status fwi_regex_iter_next(struct fwi_regex_iter *it, struct fwi_regex_scratch *scratch,
                                          size_t *mstart, size_t *mend)
{
    if (it->done || it->pos > it->n) {
        it->done = true;
        return FWI_REGEX_NOMATCH;
    }
    enum fwi_regex_status st =
        fwi_regex_search(it->re, it->text, it->n, it->pos, it->must_advance, scratch, mstart, mend);
    if (st != FWI_REGEX_OK) {
        if (st == FWI_REGEX_NOMATCH) {
            it->done = true;
        }
        return st;
    }
    it->pos = *mend;
    it->must_advance = *mstart == *mend;
    return FWI_REGEX_OK;
}
