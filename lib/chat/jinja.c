/* jinja.c - the chat-template engine (see jinja.h): lexer, parser and
 * evaluator of a Jinja2 subset with Python value semantics. */
#define _POSIX_C_SOURCE 200809L
#include "chat/jinja.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

/* Limits. */
#define JMAX_DEPTH 128             /* parser / evaluator nesting */
#define JMAX_CALL_DEPTH 64         /* macro calls */
#define JMAX_STEPS 20000000L       /* evaluation steps per render */
#define JMAX_MEM ((size_t)1 << 30) /* arena bytes per render */
#define JMAX_OUT ((size_t)1 << 28) /* output bytes */

/* ------------------------------------------------------------------------ */
/* Arena                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct achunk {
    struct achunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} achunk;

typedef struct jctx jctx;

/* ------------------------------------------------------------------------ */
/* Values                                                                    */
/* ------------------------------------------------------------------------ */

typedef enum {
    JV_UNDEF, JV_NONE, JV_BOOL, JV_INT, JV_FLOAT, JV_STR, JV_LIST, JV_DICT,
    JV_NS, JV_MACRO, JV_FUNC, JV_METHOD, JV_LOOP
} jvt;

typedef struct jstr { size_t len; char s[]; } jstr;
typedef struct jlist jlist;
typedef struct jdict jdict;
typedef struct jnode jnode;
typedef struct jmethod jmethod;
typedef struct jloop jloop;
typedef struct jframe jframe;
typedef struct jmacro jmacro;

typedef struct jv {
    jvt t;
    union {
        int b;
        int64_t i;
        double f;
        jstr *s;
        jlist *l;
        jdict *d;
        jmacro *m;
        int fn;
        jmethod *me;
        jloop *lp;
    } u;
} jv;

struct jlist { size_t n; int tuple; jv v[]; };
struct jdict { size_t n, cap; jv *k; jv *v; };
struct jmethod { jv self; const char *name; };
struct jloop { jlist *items; size_t i; };
struct jmacro { const jnode *node; jframe *frame; };

enum { FN_RAISE, FN_NAMESPACE, FN_RANGE, FN_STRFTIME, FN_DICT };

/* ------------------------------------------------------------------------ */
/* AST                                                                       */
/* ------------------------------------------------------------------------ */

typedef enum {
    /* statements */
    N_TEXT, N_OUT, N_IF, N_FOR, N_SET, N_SETBLOCK, N_MACRO, N_BREAK,
    N_CONTINUE, N_BODY,
    /* expressions */
    N_LIT, N_NAME, N_LIST, N_TUPLE, N_DICT, N_ATTR, N_ITEM, N_SLICE, N_CALL,
    N_FILTER, N_TEST, N_NOT, N_AND, N_OR, N_NEG, N_POS, N_BIN, N_CMP,
    N_COND, N_KW
} jnk;

struct jnode {
    jnk k;
    int line, col;
    int op;              /* operator token for N_BIN/N_CMP, negate for N_TEST */
    const char *name;    /* names, attributes, filters, tests */
    jv lit;              /* literal / text */
    jnode *a, *b, *c, *d;
    jnode **kids;        /* list items, args, statement bodies */
    size_t nkids;
    jnode **kids2;       /* else bodies, dict values, kwargs, macro defaults */
    size_t nkids2;
};

/* ------------------------------------------------------------------------ */
/* Context                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct jvar { const char *name; jv v; } jvar;
struct jframe {
    struct jframe *parent;
    jvar *vars;
    size_t n, cap;
    int captured; /* a macro closes over it: never reuse it */
};

struct jctx {
    achunk *chunks;
    size_t mem;
    fw_status st;
    char msg[FWI_ERRMSG_CAP];
    long steps;
    int depth, call_depth;
    jframe *root;
    const char *fixed_date;
    /* lexer/parser */
    const char *src;
    size_t srclen;
};

static int jfail(jctx *c, fw_status st, int line, int col, const char *fmt, ...)
    FWI_PRINTF(5, 6);
static int jfail(jctx *c, fw_status st, int line, int col, const char *fmt, ...)
{
    if (c->st != FW_OK)
        return -1;
    c->st = st;
    int n = 0;
    if (line > 0)
        n = snprintf(c->msg, sizeof c->msg, "chat template line %d, column %d: ",
                     line, col);
    else
        n = snprintf(c->msg, sizeof c->msg, "chat template: ");
    if (n < 0 || (size_t)n >= sizeof c->msg)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg + n, sizeof c->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void *aalloc(jctx *c, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    achunk *ch = c->chunks;
    if (!ch || ch->cap - ch->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        if (c->mem + cap > JMAX_MEM) {
            jfail(c, FW_E_RANGE, 0, 0, "rendering needs more than %zu MiB of memory",
                  JMAX_MEM >> 20);
            return NULL;
        }
        ch = fwi_malloc(sizeof *ch + cap);
        if (!ch) {
            jfail(c, FW_E_NOMEM, 0, 0, "out of memory");
            return NULL;
        }
        c->mem += cap;
        ch->cap = cap;
        ch->used = 0;
        ch->next = c->chunks;
        c->chunks = ch;
    }
    void *p = ch->data + ch->used;
    ch->used += n;
    return p;
}

static void *azalloc(jctx *c, size_t n)
{
    void *p = aalloc(c, n);
    if (p)
        memset(p, 0, n);
    return p;
}

static void *aalloc_arr(jctx *c, size_t n, size_t sz)
{
    if (sz && n > JMAX_MEM / sz) {
        jfail(c, FW_E_RANGE, 0, 0, "rendering needs too much memory");
        return NULL;
    }
    return aalloc(c, n * sz);
}

static jv V_UNDEF(void) { jv v; memset(&v, 0, sizeof v); v.t = JV_UNDEF; return v; }
static jv V_NONE(void) { jv v = V_UNDEF(); v.t = JV_NONE; return v; }
static jv V_BOOL(int b) { jv v = V_UNDEF(); v.t = JV_BOOL; v.u.b = !!b; return v; }
static jv V_INT(int64_t i) { jv v = V_UNDEF(); v.t = JV_INT; v.u.i = i; return v; }
static jv V_FLOAT(double f) { jv v = V_UNDEF(); v.t = JV_FLOAT; v.u.f = f; return v; }

static jstr *mkstr(jctx *c, const char *s, size_t n)
{
    jstr *r = aalloc(c, sizeof *r + n + 1);
    if (!r)
        return NULL;
    r->len = n;
    if (n)
        memcpy(r->s, s, n);
    r->s[n] = 0;
    return r;
}

/* A string value; on allocation failure UNDEF with c->st set. */
static jv V_STR(jctx *c, const char *s, size_t n)
{
    jv v = V_UNDEF();
    jstr *r = mkstr(c, s, n);
    if (r) {
        v.t = JV_STR;
        v.u.s = r;
    }
    return v;
}
static jv V_CSTR(jctx *c, const char *s) { return V_STR(c, s, strlen(s)); }

static jlist *mklist(jctx *c, size_t n)
{
    if (n > JMAX_MEM / sizeof(jv)) {
        jfail(c, FW_E_RANGE, 0, 0, "list too long");
        return NULL;
    }
    jlist *l = aalloc(c, sizeof *l + n * sizeof(jv));
    if (l) {
        l->n = n;
        l->tuple = 0;
    }
    return l;
}
static jv V_LIST(jlist *l) { jv v = V_UNDEF(); if (l) { v.t = JV_LIST; v.u.l = l; } return v; }

static jdict *mkdict(jctx *c) { return azalloc(c, sizeof(jdict)); }

/* ------------------------------------------------------------------------ */
/* UTF-8 and Python string helpers                                           */
/* ------------------------------------------------------------------------ */

/* Decode one code point of valid UTF-8 at s (n > 0 bytes); *len its size. */
static uint32_t u8dec(const char *s, size_t n, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s;
    if (p[0] < 0x80 || n < 2) { *len = 1; return p[0]; }
    if (p[0] < 0xE0 || n < 3) { *len = 2; return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F); }
    if (p[0] < 0xF0 || n < 4) { *len = 3; return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F); }
    *len = 4;
    return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
           ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

static size_t u8enc(uint32_t cp, char *o)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) { o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F)); return 3; }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Python's str.isspace(). */
static int py_isspace(uint32_t c)
{
    return (c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20) || c == 0x85 ||
           c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

static size_t u8count(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* Byte offset of code point index `cp` (0..count). */
static size_t u8off(const char *s, size_t n, size_t cp)
{
    size_t i = 0;
    while (i < n && cp > 0) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        cp--;
    }
    return i;
}

/* Start of the code point that ends at byte `end` (end > 0). */
static size_t u8prev(const char *s, size_t end)
{
    size_t i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

/* Is code point cp in the set chars (NULL: whitespace)? */
static int in_set(uint32_t cp, const jstr *chars)
{
    if (!chars)
        return py_isspace(cp);
    size_t i = 0;
    while (i < chars->len) {
        size_t l;
        uint32_t x = u8dec(chars->s + i, chars->len - i, &l);
        if (x == cp)
            return 1;
        i += l;
    }
    return 0;
}

/* Python str.strip/lstrip/rstrip: which 1 left, 2 right, 3 both. */
static void py_strip(const char *s, size_t n, const jstr *chars, int which,
                     size_t *b, size_t *e)
{
    size_t i = 0, j = n;
    if (which & 1)
        while (i < j) {
            size_t l;
            uint32_t cp = u8dec(s + i, j - i, &l);
            if (!in_set(cp, chars))
                break;
            i += l;
        }
    if (which & 2)
        while (j > i) {
            size_t p = u8prev(s, j), l;
            uint32_t cp = u8dec(s + p, j - p, &l);
            if (!in_set(cp, chars))
                break;
            j = p;
        }
    *b = i;
    *e = j;
}

/* ------------------------------------------------------------------------ */
/* Lexer                                                                     */
/* ------------------------------------------------------------------------ */

typedef enum {
    T_EOF, T_TEXT, T_VBEGIN, T_VEND, T_BBEGIN, T_BEND, T_NAME, T_STR, T_INT,
    T_FLOAT, T_OP
} jtt;

enum { OP_FLOORDIV = 256, OP_POW, OP_EQ, OP_NE, OP_LE, OP_GE };

typedef struct jtok {
    jtt t;
    int op;
    int line, col;
    const char *p; /* source text (names) */
    size_t n;
    jv v;          /* text, string, number */
} jtok;

typedef struct jlex {
    jctx *c;
    const char *s;
    size_t n;
    jtok *toks;
    size_t nt, cap;
    size_t lc_off, lc_line, lc_start; /* line/column cursor */
} jlex;

static void lex_lc(jlex *L, size_t off, int *line, int *col)
{
    if (off < L->lc_off) { /* never happens in order; restart */
        L->lc_off = 0;
        L->lc_line = 1;
        L->lc_start = 0;
    }
    for (size_t i = L->lc_off; i < off && i < L->n; i++)
        if (L->s[i] == '\n') {
            L->lc_line++;
            L->lc_start = i + 1;
        }
    L->lc_off = off;
    *line = (int)(L->lc_line > 1000000000 ? 1000000000 : L->lc_line);
    *col = (int)u8count(L->s + L->lc_start, off - L->lc_start) + 1;
}

static jtok *lex_push(jlex *L, jtt t, size_t off)
{
    if (L->nt == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 256;
        jtok *nt = aalloc_arr(L->c, cap, sizeof *nt);
        if (!nt)
            return NULL;
        if (L->nt)
            memcpy(nt, L->toks, L->nt * sizeof *nt);
        L->toks = nt;
        L->cap = cap;
    }
    jtok *k = &L->toks[L->nt++];
    memset(k, 0, sizeof *k);
    k->t = t;
    k->v = V_UNDEF();
    lex_lc(L, off, &k->line, &k->col);
    k->p = L->s + off;
    return k;
}

static int is_idstart(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'; }
static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* Length of Python-whitespace at s[i..n). */
static size_t skip_ws(const char *s, size_t i, size_t n)
{
    size_t j = i;
    while (j < n) {
        size_t l;
        uint32_t cp = u8dec(s + j, n - j, &l);
        if (!py_isspace(cp))
            break;
        j += l;
    }
    return j - i;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Decode a Python string literal body (unicode-escape). */
static jv lex_unescape(jlex *L, const char *s, size_t n, int line, int col)
{
    char *o = aalloc(L->c, n + 1);
    if (!o)
        return V_UNDEF();
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            o[k++] = s[i];
            continue;
        }
        char e = s[++i];
        switch (e) {
        case '\n': break;
        case '\\': o[k++] = '\\'; break;
        case '\'': o[k++] = '\''; break;
        case '"': o[k++] = '"'; break;
        case 'a': o[k++] = '\a'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'v': o[k++] = '\v'; break;
        case 'x': case 'u': case 'U': {
            int nd = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int d = 0; d < nd; d++) {
                int h = i + 1 + (size_t)d < n ? hexval(s[i + 1 + (size_t)d]) : -1;
                if (h < 0) {
                    jfail(L->c, FW_E_FORMAT, line, col, "truncated \\%c escape in string literal", e);
                    return V_UNDEF();
                }
                cp = cp * 16 + (uint32_t)h;
            }
            i += (size_t)nd;
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                jfail(L->c, FW_E_UNSUPPORTED, line, col, "escape \\%c of a surrogate or out-of-range code point", e);
                return V_UNDEF();
            }
            k += u8enc(cp, o + k);
            break;
        }
        case 'N':
            jfail(L->c, FW_E_UNSUPPORTED, line, col, "\\N{...} escapes are not supported");
            return V_UNDEF();
        default:
            if (e >= '0' && e <= '7') {
                uint32_t cp = (uint32_t)(e - '0');
                for (int d = 0; d < 2 && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7'; d++)
                    cp = cp * 8 + (uint32_t)(s[++i] - '0');
                k += u8enc(cp, o + k);
            } else {
                o[k++] = '\\';
                o[k++] = e;
            }
        }
    }
    jv v = V_UNDEF();
    jstr *r = aalloc(L->c, sizeof *r + k + 1);
    if (!r)
        return v;
    r->len = k;
    memcpy(r->s, o, k);
    r->s[k] = 0;
    v.t = JV_STR;
    v.u.s = r;
    return v;
}

/* Tokenize one tag's inside starting at *pos until its end; kind 'b' block,
 * 'v' variable.  Returns 0, or -1 on error. */
static int lex_tag(jlex *L, size_t *pos, char kind, int *line_starting)
{
    const char *s = L->s;
    size_t n = L->n, i = *pos;
    int depth = 0;
    for (;;) {
        if (L->c->st)
            return -1;
        if (depth == 0) {
            if (kind == 'b') {
                if (i + 2 < n && s[i] == '+' && s[i + 1] == '%' && s[i + 2] == '}') {
                    if (!lex_push(L, T_BEND, i)) return -1;
                    i += 3;
                    *line_starting = 0;
                    break;
                }
                if (i + 2 < n && s[i] == '-' && s[i + 1] == '%' && s[i + 2] == '}') {
                    if (!lex_push(L, T_BEND, i)) return -1;
                    i += 3;
                    size_t w = skip_ws(s, i, n);
                    *line_starting = w > 0 && s[i + w - 1] == '\n';
                    i += w;
                    break;
                }
                if (i + 1 < n && s[i] == '%' && s[i + 1] == '}') {
                    if (!lex_push(L, T_BEND, i)) return -1;
                    i += 2;
                    *line_starting = 0;
                    if (i < n && s[i] == '\n') {
                        i++;
                        *line_starting = 1;
                    }
                    break;
                }
            } else {
                if (i + 2 < n && s[i] == '-' && s[i + 1] == '}' && s[i + 2] == '}') {
                    if (!lex_push(L, T_VEND, i)) return -1;
                    i += 3;
                    size_t w = skip_ws(s, i, n);
                    *line_starting = w > 0 && s[i + w - 1] == '\n';
                    i += w;
                    break;
                }
                if (i + 1 < n && s[i] == '}' && s[i + 1] == '}') {
                    if (!lex_push(L, T_VEND, i)) return -1;
                    i += 2;
                    *line_starting = 0;
                    break;
                }
            }
        }
        if (i >= n) {
            int line, col;
            lex_lc(L, *pos, &line, &col);
            return jfail(L->c, FW_E_FORMAT, line, col, "unclosed %s tag: missing '%s'",
                         kind == 'b' ? "block" : "variable", kind == 'b' ? "%}" : "}}");
        }
        size_t w = skip_ws(s, i, n);
        if (w) {
            i += w;
            continue;
        }
        char ch = s[i];
        if (is_idstart(ch)) {
            size_t j = i;
            while (j < n && (is_idstart(s[j]) || is_digit(s[j])))
                j++;
            jtok *k = lex_push(L, T_NAME, i);
            if (!k) return -1;
            k->n = j - i;
            i = j;
            continue;
        }
        if (is_digit(ch)) {
            size_t j = i;
            while (j < n && (is_digit(s[j]) || (s[j] == '_' && j + 1 < n && is_digit(s[j + 1]))))
                j++;
            int isf = 0;
            if (j + 1 < n && s[j] == '.' && is_digit(s[j + 1])) {
                isf = 1;
                j++;
                while (j < n && (is_digit(s[j]) || (s[j] == '_' && j + 1 < n && is_digit(s[j + 1]))))
                    j++;
            }
            if (j < n && (s[j] == 'e' || s[j] == 'E')) {
                size_t q = j + 1;
                if (q < n && (s[q] == '+' || s[q] == '-'))
                    q++;
                if (q < n && is_digit(s[q])) {
                    isf = 1;
                    j = q;
                    while (j < n && is_digit(s[j]))
                        j++;
                }
            }
            char tmp[128];
            size_t m = 0;
            for (size_t q = i; q < j && m < sizeof tmp - 1; q++)
                if (s[q] != '_')
                    tmp[m++] = s[q];
            tmp[m] = 0;
            jtok *k = lex_push(L, isf ? T_FLOAT : T_INT, i);
            if (!k) return -1;
            k->n = j - i;
            if (isf) {
                k->v = V_FLOAT(strtod(tmp, NULL));
            } else {
                char *end;
                unsigned long long u = strtoull(tmp, &end, 10);
                if (m > 18 && (u > (unsigned long long)INT64_MAX || m > 19))
                    return jfail(L->c, FW_E_UNSUPPORTED, k->line, k->col, "integer literal out of 64-bit range");
                k->v = V_INT((int64_t)u);
            }
            i = j;
            continue;
        }
        if (ch == '\'' || ch == '"') {
            size_t j = i + 1;
            while (j < n && s[j] != ch) {
                if (s[j] == '\\' && j + 1 < n)
                    j++;
                j++;
            }
            jtok *k = lex_push(L, T_STR, i);
            if (!k) return -1;
            if (j >= n)
                return jfail(L->c, FW_E_FORMAT, k->line, k->col, "unterminated string literal");
            k->v = lex_unescape(L, s + i + 1, j - i - 1, k->line, k->col);
            if (L->c->st) return -1;
            k->n = j + 1 - i;
            i = j + 1;
            continue;
        }
        int op = 0;
        size_t ol = 1;
        char c2 = i + 1 < n ? s[i + 1] : 0;
        if (ch == '/' && c2 == '/') { op = OP_FLOORDIV; ol = 2; }
        else if (ch == '*' && c2 == '*') { op = OP_POW; ol = 2; }
        else if (ch == '=' && c2 == '=') { op = OP_EQ; ol = 2; }
        else if (ch == '!' && c2 == '=') { op = OP_NE; ol = 2; }
        else if (ch == '<' && c2 == '=') { op = OP_LE; ol = 2; }
        else if (ch == '>' && c2 == '=') { op = OP_GE; ol = 2; }
        else if (strchr("+-/*%~[](){}<>=.:|,;", ch) && ch) op = ch;
        jtok *k = lex_push(L, T_OP, i);
        if (!k) return -1;
        if (!op) {
            size_t l;
            uint32_t cp = u8dec(s + i, n - i, &l);
            return jfail(L->c, FW_E_FORMAT, k->line, k->col, "unexpected character '%.*s' (U+%04X)",
                         (int)l, s + i, (unsigned)cp);
        }
        if (op == '(' || op == '[' || op == '{') {
            if (++depth > JMAX_DEPTH)
                return jfail(L->c, FW_E_RANGE, k->line, k->col, "brackets nested deeper than %d", JMAX_DEPTH);
        } else if (op == ')' || op == ']' || op == '}') {
            if (depth == 0)
                return jfail(L->c, FW_E_FORMAT, k->line, k->col, "unexpected '%c'", op);
            depth--;
        }
        k->op = op;
        k->n = ol;
        i += ol;
    }
    *pos = i;
    return 0;
}

static int lex_text(jlex *L, size_t off, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    jtok *k = lex_push(L, T_TEXT, off);
    if (!k)
        return -1;
    k->v = V_STR(L->c, s, n);
    return L->c->st ? -1 : 0;
}

static int lex_all(jlex *L)
{
    const char *s = L->s;
    size_t n = L->n, pos = 0;
    int line_starting = 1;
    while (pos <= n) {
        /* the next tag start */
        size_t k = pos;
        char kind = 0;
        for (; k + 1 < n; k++)
            if (s[k] == '{' && (s[k + 1] == '{' || s[k + 1] == '%' || s[k + 1] == '#')) {
                kind = s[k + 1];
                break;
            }
        if (!kind) {
            if (lex_text(L, pos, s + pos, n - pos))
                return -1;
            break;
        }
        size_t tb = pos, te = k; /* text [tb, te) */
        char sign = k + 2 < n && (s[k + 2] == '-' || s[k + 2] == '+') ? s[k + 2] : 0;
        if (sign == '-') {
            size_t b, e;
            py_strip(s + tb, te - tb, NULL, 2, &b, &e);
            te = tb + e;
        } else if (sign != '+' && kind != '{') {
            size_t lp = te;
            while (lp > tb && s[lp - 1] != '\n')
                lp--;
            if ((lp > tb || line_starting) && te > lp &&
                skip_ws(s, lp, te) == te - lp)
                te = lp;
        }
        if (lex_text(L, tb, s + tb, te - tb))
            return -1;
        size_t i = k + 2 + (sign ? 1 : 0);
        if (kind == '#') {
            size_t j = i;
            while (j + 1 < n && !(s[j] == '#' && s[j + 1] == '}'))
                j++;
            if (j + 1 >= n) {
                int line, col;
                lex_lc(L, k, &line, &col);
                return jfail(L->c, FW_E_FORMAT, line, col, "unclosed comment: missing '#}'");
            }
            char before = j > i ? s[j - 1] : 0;
            pos = j + 2;
            line_starting = 0;
            if (before == '-') {
                size_t w = skip_ws(s, pos, n);
                line_starting = w > 0 && s[pos + w - 1] == '\n';
                pos += w;
            } else if (before != '+' && pos < n && s[pos] == '\n') {
                pos++;
                line_starting = 1;
            }
            continue;
        }
        /* {% raw %} is outside the subset: detect it to name it */
        if (kind == '%') {
            size_t q = i + skip_ws(s, i, n);
            if (q + 3 <= n && memcmp(s + q, "raw", 3) == 0 &&
                (q + 3 == n || !(is_idstart(s[q + 3]) || is_digit(s[q + 3])))) {
                int line, col;
                lex_lc(L, k, &line, &col);
                return jfail(L->c, FW_E_UNSUPPORTED, line, col, "unsupported statement 'raw'");
            }
        }
        if (!lex_push(L, kind == '%' ? T_BBEGIN : T_VBEGIN, k))
            return -1;
        if (lex_tag(L, &i, kind == '%' ? 'b' : 'v', &line_starting))
            return -1;
        pos = i;
        if (pos >= n)
            break;
    }
    return lex_push(L, T_EOF, n) ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* Parser                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct jparse {
    jctx *c;
    jtok *t;
    size_t i, n;
    int depth;
    int loop_depth, macro_depth;
} jparse;

static jtok *cur(jparse *P) { return &P->t[P->i < P->n ? P->i : P->n - 1]; }
static jtok *peek(jparse *P, size_t k) { return &P->t[P->i + k < P->n ? P->i + k : P->n - 1]; }
static int is_op(const jtok *k, int op) { return k->t == T_OP && k->op == op; }
static int is_name(const jtok *k, const char *nm)
{
    return k->t == T_NAME && k->n == strlen(nm) && memcmp(k->p, nm, k->n) == 0;
}

static const char *tokdesc(jtok *k, char *buf, size_t cap)
{
    switch (k->t) {
    case T_EOF: return "end of template";
    case T_TEXT: return "template text";
    case T_VBEGIN: return "'{{'";
    case T_VEND: return "'}}'";
    case T_BBEGIN: return "'{%'";
    case T_BEND: return "'%}'";
    case T_STR: return "string literal";
    case T_INT: case T_FLOAT: return "number";
    default:
        snprintf(buf, cap, "'%.*s'", (int)(k->n > 40 ? 40 : k->n), k->p);
        return buf;
    }
}

static jnode *perr(jparse *P, const char *what)
{
    char b[64];
    jtok *k = cur(P);
    jfail(P->c, FW_E_FORMAT, k->line, k->col, "expected %s, found %s", what,
          tokdesc(k, b, sizeof b));
    return NULL;
}

static jnode *mknode(jparse *P, jnk kind, const jtok *at)
{
    jnode *nd = azalloc(P->c, sizeof *nd);
    if (!nd)
        return NULL;
    nd->k = kind;
    nd->line = at->line;
    nd->col = at->col;
    nd->lit = V_UNDEF();
    return nd;
}

static const char *tokname(jparse *P, const jtok *k)
{
    jstr *s = mkstr(P->c, k->p, k->n);
    return s ? s->s : NULL;
}

/* A growable node vector in the arena. */
typedef struct nvec { jnode **v; size_t n, cap; } nvec;
static int nvec_push(jctx *c, nvec *a, jnode *x)
{
    if (!x)
        return -1;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        jnode **nv = aalloc_arr(c, cap, sizeof *nv);
        if (!nv)
            return -1;
        if (a->n)
            memcpy(nv, a->v, a->n * sizeof *nv);
        a->v = nv;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

static jnode *p_expr(jparse *P);
static jnode *p_or(jparse *P);
static jnode *p_unary(jparse *P, int with_filter);
static jnode *p_tuple(jparse *P, int condexpr);

static int enter(jparse *P)
{
    if (++P->depth > JMAX_DEPTH) {
        jtok *k = cur(P);
        jfail(P->c, FW_E_RANGE, k->line, k->col, "expression nested deeper than %d", JMAX_DEPTH);
        return -1;
    }
    return 0;
}

/* Call arguments after '(' (consumed): positional into kids, name=value
 * (N_KW, name) into kids2; consumes ')'. */
static int p_args(jparse *P, jnode *nd)
{
    nvec a = {0}, kw = {0};
    while (!is_op(cur(P), ')')) {
        if (a.n + kw.n > 0) {
            if (!is_op(cur(P), ','))
                return perr(P, "',' or ')'"), -1;
            P->i++;
            if (is_op(cur(P), ')'))
                break;
        }
        jtok *k = cur(P);
        if (is_op(k, '*') || (k->t == T_OP && k->op == OP_POW))
            return jfail(P->c, FW_E_UNSUPPORTED, k->line, k->col, "unsupported *args / **kwargs in a call");
        if (k->t == T_NAME && is_op(peek(P, 1), '=')) {
            jnode *kn = mknode(P, N_KW, k);
            if (!kn)
                return -1;
            kn->name = tokname(P, k);
            P->i += 2;
            kn->a = p_expr(P);
            if (!kn->a || nvec_push(P->c, &kw, kn))
                return -1;
        } else {
            if (kw.n)
                return jfail(P->c, FW_E_FORMAT, k->line, k->col, "positional argument after keyword argument");
            if (nvec_push(P->c, &a, p_expr(P)))
                return -1;
        }
    }
    P->i++;
    nd->kids = a.v;
    nd->nkids = a.n;
    nd->kids2 = kw.v;
    nd->nkids2 = kw.n;
    return 0;
}

static jnode *p_primary(jparse *P)
{
    jtok *k = cur(P);
    jnode *nd;
    if (enter(P))
        return NULL;
    if (k->t == T_NAME) {
        P->i++;
        nd = mknode(P, N_LIT, k);
        if (!nd)
            return NULL;
        if (is_name(k, "true") || is_name(k, "True"))
            nd->lit = V_BOOL(1);
        else if (is_name(k, "false") || is_name(k, "False"))
            nd->lit = V_BOOL(0);
        else if (is_name(k, "none") || is_name(k, "None"))
            nd->lit = V_NONE();
        else {
            nd->k = N_NAME;
            nd->name = tokname(P, k);
        }
    } else if (k->t == T_STR) {
        nd = mknode(P, N_LIT, k);
        if (!nd)
            return NULL;
        nd->lit = k->v;
        P->i++;
        while (cur(P)->t == T_STR) { /* adjacent literals concatenate */
            jstr *a = nd->lit.u.s, *b = cur(P)->v.u.s;
            jstr *r = aalloc(P->c, sizeof *r + a->len + b->len + 1);
            if (!r)
                return NULL;
            memcpy(r->s, a->s, a->len);
            memcpy(r->s + a->len, b->s, b->len + 1);
            r->len = a->len + b->len;
            nd->lit.u.s = r;
            P->i++;
        }
    } else if (k->t == T_INT || k->t == T_FLOAT) {
        nd = mknode(P, N_LIT, k);
        if (!nd)
            return NULL;
        nd->lit = k->v;
        P->i++;
    } else if (is_op(k, '(')) {
        P->i++;
        if (is_op(cur(P), ')')) {
            P->i++;
            nd = mknode(P, N_TUPLE, k);
        } else {
            nd = p_tuple(P, 1);
            if (!nd)
                return NULL;
            if (!is_op(cur(P), ')'))
                return perr(P, "')'");
            P->i++;
        }
    } else if (is_op(k, '[') || is_op(k, '{')) {
        int isdict = k->op == '{';
        char close = isdict ? '}' : ']';
        P->i++;
        nd = mknode(P, isdict ? N_DICT : N_LIST, k);
        if (!nd)
            return NULL;
        nvec a = {0}, b = {0};
        while (!is_op(cur(P), close)) {
            if (a.n) {
                if (!is_op(cur(P), ','))
                    return perr(P, isdict ? "',' or '}'" : "',' or ']'");
                P->i++;
                if (is_op(cur(P), close))
                    break;
            }
            if (nvec_push(P->c, &a, p_expr(P)))
                return NULL;
            if (isdict) {
                if (!is_op(cur(P), ':'))
                    return perr(P, "':'");
                P->i++;
                if (nvec_push(P->c, &b, p_expr(P)))
                    return NULL;
            }
        }
        P->i++;
        nd->kids = a.v;
        nd->nkids = a.n;
        nd->kids2 = b.v;
        nd->nkids2 = b.n;
    } else {
        return perr(P, "an expression");
    }
    P->depth--;
    return nd;
}

static jnode *p_subscript_part(jparse *P)
{
    jtok *k = cur(P);
    if (is_op(k, ':') || is_op(k, ']') || is_op(k, ','))
        return NULL;
    return p_expr(P);
}

static jnode *p_postfix(jparse *P, jnode *nd)
{
    while (nd) {
        jtok *k = cur(P);
        if (is_op(k, '.')) {
            P->i++;
            jtok *a = cur(P);
            jnode *x;
            if (a->t == T_NAME) {
                x = mknode(P, N_ATTR, a);
                if (!x) return NULL;
                x->name = tokname(P, a);
            } else if (a->t == T_INT) {
                x = mknode(P, N_ITEM, a);
                if (!x) return NULL;
                x->b = mknode(P, N_LIT, a);
                if (!x->b) return NULL;
                x->b->lit = a->v;
            } else {
                return perr(P, "an attribute name");
            }
            P->i++;
            x->a = nd;
            nd = x;
        } else if (is_op(k, '[')) {
            P->i++;
            jnode *x = mknode(P, N_ITEM, k);
            if (!x) return NULL;
            x->a = nd;
            jnode *lo = p_subscript_part(P);
            if (P->c->st) return NULL;
            if (is_op(cur(P), ':')) {
                x->k = N_SLICE;
                x->b = lo;
                P->i++;
                x->c = p_subscript_part(P);
                if (P->c->st) return NULL;
                if (is_op(cur(P), ':')) {
                    P->i++;
                    x->d = p_subscript_part(P);
                    if (P->c->st) return NULL;
                }
            } else {
                if (!lo)
                    return perr(P, "a subscript");
                x->b = lo;
            }
            if (is_op(cur(P), ','))
                return jfail(P->c, FW_E_UNSUPPORTED, cur(P)->line, cur(P)->col, "unsupported tuple subscript"), NULL;
            if (!is_op(cur(P), ']'))
                return perr(P, "']'");
            P->i++;
            nd = x;
        } else if (is_op(k, '(')) {
            P->i++;
            jnode *x = mknode(P, N_CALL, k);
            if (!x) return NULL;
            x->a = nd;
            if (p_args(P, x))
                return NULL;
            nd = x;
        } else {
            break;
        }
    }
    return nd;
}

static jnode *p_filters(jparse *P, jnode *nd)
{
    while (nd) {
        jtok *k = cur(P);
        if (is_op(k, '|')) {
            P->i++;
            jtok *f = cur(P);
            if (f->t != T_NAME)
                return perr(P, "a filter name");
            P->i++;
            jnode *x = mknode(P, N_FILTER, f);
            if (!x) return NULL;
            x->name = tokname(P, f);
            x->a = nd;
            if (is_op(cur(P), '.'))
                return jfail(P->c, FW_E_UNSUPPORTED, f->line, f->col, "unsupported dotted filter name"), NULL;
            if (is_op(cur(P), '(')) {
                P->i++;
                if (p_args(P, x))
                    return NULL;
            }
            nd = x;
        } else if (is_name(k, "is")) {
            P->i++;
            jnode *x = mknode(P, N_TEST, k);
            if (!x) return NULL;
            if (is_name(cur(P), "not")) {
                x->op = 1;
                P->i++;
            }
            jtok *tn = cur(P);
            if (tn->t != T_NAME)
                return perr(P, "a test name");
            x->name = tokname(P, tn);
            x->line = tn->line;
            x->col = tn->col;
            P->i++;
            x->a = nd;
            jtok *q = cur(P);
            if (is_op(q, '(')) {
                P->i++;
                if (p_args(P, x))
                    return NULL;
            } else if ((q->t == T_NAME || q->t == T_STR || q->t == T_INT || q->t == T_FLOAT ||
                        is_op(q, '[') || is_op(q, '{')) &&
                       !is_name(q, "else") && !is_name(q, "or") && !is_name(q, "and")) {
                if (is_name(q, "is"))
                    return jfail(P->c, FW_E_FORMAT, q->line, q->col, "you cannot chain multiple tests with is"), NULL;
                jnode *arg = p_postfix(P, p_primary(P));
                if (!arg) return NULL;
                jnode **kv = aalloc(P->c, sizeof *kv);
                if (!kv) return NULL;
                kv[0] = arg;
                x->kids = kv;
                x->nkids = 1;
            }
            nd = x;
        } else if (is_op(k, '(')) {
            P->i++;
            jnode *x = mknode(P, N_CALL, k);
            if (!x) return NULL;
            x->a = nd;
            if (p_args(P, x))
                return NULL;
            nd = x;
        } else {
            break;
        }
    }
    return nd;
}

static jnode *p_unary(jparse *P, int with_filter)
{
    jtok *k = cur(P);
    jnode *nd;
    if (enter(P))
        return NULL;
    if (is_op(k, '-') || is_op(k, '+')) {
        P->i++;
        nd = mknode(P, k->op == '-' ? N_NEG : N_POS, k);
        if (!nd) return NULL;
        nd->a = p_unary(P, 0);
        if (!nd->a) return NULL;
    } else {
        nd = p_primary(P);
    }
    nd = p_postfix(P, nd);
    if (with_filter)
        nd = p_filters(P, nd);
    P->depth--;
    return nd;
}

static jnode *mkbin(jparse *P, jtok *k, int op, jnode *a, jnode *b)
{
    if (!a || !b)
        return NULL;
    jnode *x = mknode(P, N_BIN, k);
    if (!x) return NULL;
    x->op = op;
    x->a = a;
    x->b = b;
    return x;
}

static jnode *p_pow(jparse *P)
{
    jnode *l = p_unary(P, 1);
    while (l && is_op(cur(P), OP_POW)) {
        jtok *k = cur(P);
        P->i++;
        l = mkbin(P, k, OP_POW, l, p_unary(P, 1));
    }
    return l;
}

static jnode *p_math2(jparse *P)
{
    jnode *l = p_pow(P);
    for (;;) {
        jtok *k = cur(P);
        if (!l || !(is_op(k, '*') || is_op(k, '/') || is_op(k, OP_FLOORDIV) || is_op(k, '%')))
            return l;
        P->i++;
        l = mkbin(P, k, k->op, l, p_pow(P));
    }
}

static jnode *p_concat(jparse *P)
{
    jnode *l = p_math2(P);
    while (l && is_op(cur(P), '~')) {
        jtok *k = cur(P);
        P->i++;
        l = mkbin(P, k, '~', l, p_math2(P));
    }
    return l;
}

static jnode *p_math1(jparse *P)
{
    jnode *l = p_concat(P);
    for (;;) {
        jtok *k = cur(P);
        if (!l || !(is_op(k, '+') || is_op(k, '-')))
            return l;
        P->i++;
        l = mkbin(P, k, k->op, l, p_concat(P));
    }
}

enum { CMP_IN = 300, CMP_NOTIN };

static jnode *p_compare(jparse *P)
{
    jnode *l = p_math1(P);
    if (!l)
        return NULL;
    nvec ops = {0}, rhs = {0};
    for (;;) {
        jtok *k = cur(P);
        int op = 0;
        if (is_op(k, OP_EQ) || is_op(k, OP_NE) || is_op(k, '<') || is_op(k, '>') ||
            is_op(k, OP_LE) || is_op(k, OP_GE)) {
            op = k->op;
            P->i++;
        } else if (is_name(k, "in")) {
            op = CMP_IN;
            P->i++;
        } else if (is_name(k, "not") && is_name(peek(P, 1), "in")) {
            op = CMP_NOTIN;
            P->i += 2;
        } else {
            break;
        }
        jnode *o = mknode(P, N_LIT, k);
        if (!o) return NULL;
        o->op = op;
        if (nvec_push(P->c, &ops, o) || nvec_push(P->c, &rhs, p_math1(P)))
            return NULL;
    }
    if (!ops.n)
        return l;
    jnode *x = mknode(P, N_CMP, &(jtok){.line = l->line, .col = l->col});
    if (!x) return NULL;
    x->a = l;
    x->kids = rhs.v;
    x->nkids = rhs.n;
    x->kids2 = ops.v;
    x->nkids2 = ops.n;
    return x;
}

static jnode *p_not(jparse *P)
{
    jtok *k = cur(P);
    if (is_name(k, "not")) {
        if (enter(P))
            return NULL;
        P->i++;
        jnode *x = mknode(P, N_NOT, k);
        if (!x) return NULL;
        x->a = p_not(P);
        P->depth--;
        return x->a ? x : NULL;
    }
    return p_compare(P);
}

static jnode *p_and(jparse *P)
{
    jnode *l = p_not(P);
    while (l && is_name(cur(P), "and")) {
        jtok *k = cur(P);
        P->i++;
        jnode *r = p_not(P);
        jnode *x = r ? mknode(P, N_AND, k) : NULL;
        if (!x) return NULL;
        x->a = l;
        x->b = r;
        l = x;
    }
    return l;
}

static jnode *p_or(jparse *P)
{
    jnode *l = p_and(P);
    while (l && is_name(cur(P), "or")) {
        jtok *k = cur(P);
        P->i++;
        jnode *r = p_and(P);
        jnode *x = r ? mknode(P, N_OR, k) : NULL;
        if (!x) return NULL;
        x->a = l;
        x->b = r;
        l = x;
    }
    return l;
}

static jnode *p_condexpr(jparse *P)
{
    if (enter(P))
        return NULL;
    jnode *l = p_or(P);
    while (l && is_name(cur(P), "if")) {
        jtok *k = cur(P);
        P->i++;
        jnode *x = mknode(P, N_COND, k);
        if (!x) return NULL;
        x->a = p_or(P); /* condition */
        if (!x->a) return NULL;
        x->b = l;
        if (is_name(cur(P), "else")) {
            P->i++;
            x->c = p_condexpr(P);
            if (!x->c) return NULL;
        }
        l = x;
    }
    P->depth--;
    return l;
}

static jnode *p_expr(jparse *P) { return p_condexpr(P); }

static int tuple_end(jtok *k)
{
    return k->t == T_VEND || k->t == T_BEND || is_op(k, ')') || is_op(k, ']') ||
           is_op(k, '}') || is_name(k, "if") || is_name(k, "in") || is_op(k, '=') ||
           k->t == T_EOF;
}

static jnode *p_tuple(jparse *P, int condexpr)
{
    jtok *k0 = cur(P);
    jnode *first = condexpr ? p_expr(P) : p_or(P);
    if (!first || !is_op(cur(P), ','))
        return first;
    nvec a = {0};
    if (nvec_push(P->c, &a, first))
        return NULL;
    while (is_op(cur(P), ',')) {
        P->i++;
        if (tuple_end(cur(P)))
            break;
        if (nvec_push(P->c, &a, condexpr ? p_expr(P) : p_or(P)))
            return NULL;
    }
    jnode *x = mknode(P, N_TUPLE, k0);
    if (!x) return NULL;
    x->kids = a.v;
    x->nkids = a.n;
    return x;
}

/* An assignment target: a name, a tuple of names, or (set only) ns.attr. */
static jnode *p_target(jparse *P, int allow_attr)
{
    jtok *k0 = cur(P);
    nvec a = {0};
    int paren = 0;
    if (is_op(k0, '(')) {
        paren = 1;
        P->i++;
    }
    for (;;) {
        jtok *k = cur(P);
        if (k->t != T_NAME)
            return perr(P, "a variable name");
        P->i++;
        jnode *x = mknode(P, N_NAME, k);
        if (!x) return NULL;
        x->name = tokname(P, k);
        if (allow_attr && is_op(cur(P), '.')) {
            P->i++;
            jtok *at = cur(P);
            if (at->t != T_NAME)
                return perr(P, "an attribute name");
            P->i++;
            jnode *y = mknode(P, N_ATTR, at);
            if (!y) return NULL;
            y->name = tokname(P, at);
            y->a = x;
            x = y;
        }
        if (nvec_push(P->c, &a, x))
            return NULL;
        if (!is_op(cur(P), ','))
            break;
        P->i++;
    }
    if (paren) {
        if (!is_op(cur(P), ')'))
            return perr(P, "')'");
        P->i++;
    }
    if (a.n == 1 && !paren)
        return a.v[0];
    jnode *x = mknode(P, N_TUPLE, k0);
    if (!x) return NULL;
    x->kids = a.v;
    x->nkids = a.n;
    return x;
}

static int expect_bend(jparse *P)
{
    if (cur(P)->t != T_BEND) {
        perr(P, "'%}'");
        return -1;
    }
    P->i++;
    return 0;
}

/* Parse statements until a block tag whose keyword is one of `ends`
 * (NULL-terminated); its keyword is consumed and returned in *which. */
static jnode *p_body(jparse *P, const char *const *ends, const char **which,
                     const jtok *opener);

static const char *const END_IF[] = {"elif", "else", "endif", NULL};
static const char *const END_IF2[] = {"endif", NULL};
static const char *const END_FOR[] = {"else", "endfor", NULL};
static const char *const END_FOR2[] = {"endfor", NULL};
static const char *const END_SET[] = {"endset", NULL};
static const char *const END_MACRO[] = {"endmacro", NULL};
static const char *const END_GEN[] = {"endgeneration", NULL};

static jnode *p_if(jparse *P, const jtok *kw)
{
    jnode *x = mknode(P, N_IF, kw);
    if (!x) return NULL;
    x->a = p_expr(P);
    if (!x->a || expect_bend(P))
        return NULL;
    const char *w = NULL;
    x->b = p_body(P, END_IF, &w, kw);
    if (!x->b)
        return NULL;
    if (!strcmp(w, "elif")) {
        x->c = p_if(P, kw);
        return x->c ? x : NULL;
    }
    if (expect_bend(P))
        return NULL;
    if (!strcmp(w, "else")) {
        x->c = p_body(P, END_IF2, &w, kw);
        if (!x->c || expect_bend(P))
            return NULL;
    }
    return x;
}

static jnode *p_stmt(jparse *P)
{
    jtok *kw = cur(P);
    if (kw->t != T_NAME)
        return perr(P, "a statement name");
    P->i++;
    if (is_name(kw, "if"))
        return p_if(P, kw);
    if (is_name(kw, "for")) {
        jnode *x = mknode(P, N_FOR, kw);
        if (!x) return NULL;
        x->a = p_target(P, 0);
        if (!x->a) return NULL;
        if (!is_name(cur(P), "in"))
            return perr(P, "'in'");
        P->i++;
        x->b = p_tuple(P, 0);
        if (!x->b) return NULL;
        if (is_name(cur(P), "if")) {
            P->i++;
            x->c = p_expr(P);
            if (!x->c) return NULL;
        }
        if (is_name(cur(P), "recursive"))
            return jfail(P->c, FW_E_UNSUPPORTED, cur(P)->line, cur(P)->col, "unsupported recursive for loop"), NULL;
        if (expect_bend(P))
            return NULL;
        const char *w = NULL;
        P->loop_depth++;
        jnode *body = p_body(P, END_FOR, &w, kw);
        P->loop_depth--;
        if (!body || expect_bend(P))
            return NULL;
        x->kids = aalloc(P->c, 2 * sizeof(jnode *));
        if (!x->kids) return NULL;
        x->kids[0] = body;
        x->kids[1] = NULL;
        x->nkids = 2;
        if (!strcmp(w, "else")) {
            x->kids[1] = p_body(P, END_FOR2, &w, kw);
            if (!x->kids[1] || expect_bend(P))
                return NULL;
        }
        return x;
    }
    if (is_name(kw, "set")) {
        jnode *x = mknode(P, N_SET, kw);
        if (!x) return NULL;
        x->a = p_target(P, 1);
        if (!x->a) return NULL;
        if (is_op(cur(P), '=')) {
            P->i++;
            x->b = p_tuple(P, 1);
            if (!x->b || expect_bend(P))
                return NULL;
            return x;
        }
        if (cur(P)->t == T_BEND) {
            if (x->a->k != N_NAME)
                return jfail(P->c, FW_E_UNSUPPORTED, kw->line, kw->col, "unsupported block set of this target"), NULL;
            P->i++;
            x->k = N_SETBLOCK;
            const char *w;
            x->b = p_body(P, END_SET, &w, kw);
            if (!x->b || expect_bend(P))
                return NULL;
            return x;
        }
        if (is_op(cur(P), '|'))
            return jfail(P->c, FW_E_UNSUPPORTED, cur(P)->line, cur(P)->col, "unsupported filtered block set"), NULL;
        return perr(P, "'=' or '%}'");
    }
    if (is_name(kw, "macro")) {
        jnode *x = mknode(P, N_MACRO, kw);
        if (!x) return NULL;
        jtok *nm = cur(P);
        if (nm->t != T_NAME)
            return perr(P, "a macro name");
        x->name = tokname(P, nm);
        P->i++;
        if (!is_op(cur(P), '('))
            return perr(P, "'('");
        P->i++;
        nvec names = {0}, defs = {0};
        while (!is_op(cur(P), ')')) {
            if (names.n) {
                if (!is_op(cur(P), ','))
                    return perr(P, "',' or ')'");
                P->i++;
            }
            jtok *pn = cur(P);
            if (pn->t != T_NAME)
                return perr(P, "a parameter name");
            P->i++;
            jnode *pv = mknode(P, N_NAME, pn);
            if (!pv) return NULL;
            pv->name = tokname(P, pn);
            jnode *dv = NULL;
            if (is_op(cur(P), '=')) {
                P->i++;
                dv = p_expr(P);
                if (!dv) return NULL;
            } else if (defs.n && defs.v[defs.n - 1]) {
                return jfail(P->c, FW_E_FORMAT, pn->line, pn->col, "non-default argument follows default argument"), NULL;
            }
            if (nvec_push(P->c, &names, pv))
                return NULL;
            /* defaults may be NULL: push manually */
            if (defs.n == defs.cap) {
                size_t cap = defs.cap ? defs.cap * 2 : 4;
                jnode **nv = aalloc_arr(P->c, cap, sizeof *nv);
                if (!nv) return NULL;
                if (defs.n) memcpy(nv, defs.v, defs.n * sizeof *nv);
                defs.v = nv;
                defs.cap = cap;
            }
            defs.v[defs.n++] = dv;
        }
        P->i++;
        if (expect_bend(P))
            return NULL;
        x->kids = names.v;
        x->nkids = names.n;
        x->kids2 = defs.v;
        x->nkids2 = defs.n;
        const char *w;
        int saved = P->loop_depth;
        P->loop_depth = 0;
        x->a = p_body(P, END_MACRO, &w, kw);
        P->loop_depth = saved;
        if (!x->a || expect_bend(P))
            return NULL;
        return x;
    }
    if (is_name(kw, "generation")) { /* HF's AssistantTracker: renders its body */
        const char *w;
        if (expect_bend(P))
            return NULL;
        jnode *body = p_body(P, END_GEN, &w, kw);
        if (!body || expect_bend(P))
            return NULL;
        body->k = N_BODY;
        return body;
    }
    if (is_name(kw, "break") || is_name(kw, "continue")) {
        if (!P->loop_depth)
            return jfail(P->c, FW_E_FORMAT, kw->line, kw->col, "'%s' outside a for loop",
                         is_name(kw, "break") ? "break" : "continue"), NULL;
        jnode *x = mknode(P, is_name(kw, "break") ? N_BREAK : N_CONTINUE, kw);
        if (!x || expect_bend(P))
            return NULL;
        return x;
    }
    static const char *const known[] = {
        "endif", "endfor", "endset", "endmacro", "endgeneration", "elif", "else", NULL};
    for (int i = 0; known[i]; i++)
        if (is_name(kw, known[i]))
            return jfail(P->c, FW_E_FORMAT, kw->line, kw->col, "unexpected '%s'", known[i]), NULL;
    return jfail(P->c, FW_E_UNSUPPORTED, kw->line, kw->col, "unsupported statement '%.*s'",
                 (int)(kw->n > 40 ? 40 : kw->n), kw->p), NULL;
}

static jnode *p_body(jparse *P, const char *const *ends, const char **which,
                     const jtok *opener)
{
    if (enter(P))
        return NULL;
    nvec a = {0};
    jtok *k0 = cur(P);
    for (;;) {
        jtok *k = cur(P);
        if (k->t == T_EOF) {
            if (ends) {
                char b[64];
                snprintf(b, sizeof b, "'%s'", ends[0]);
                for (int i = 1; ends[i]; i++)
                    if (!strncmp(ends[i], "end", 3))
                        snprintf(b, sizeof b, "'%s'", ends[i]);
                jfail(P->c, FW_E_FORMAT, opener->line, opener->col,
                      "'%.*s' block is never closed: missing %s", (int)opener->n, opener->p, b);
                return NULL;
            }
            break;
        }
        if (k->t == T_TEXT) {
            jnode *x = mknode(P, N_TEXT, k);
            if (!x) return NULL;
            x->lit = k->v;
            P->i++;
            if (nvec_push(P->c, &a, x))
                return NULL;
        } else if (k->t == T_VBEGIN) {
            P->i++;
            jnode *x = mknode(P, N_OUT, k);
            if (!x) return NULL;
            x->a = p_tuple(P, 1);
            if (!x->a) return NULL;
            if (cur(P)->t != T_VEND)
                return perr(P, "'}}'");
            P->i++;
            if (nvec_push(P->c, &a, x))
                return NULL;
        } else if (k->t == T_BBEGIN) {
            P->i++;
            jtok *kw = cur(P);
            int done = 0;
            for (int i = 0; ends && ends[i]; i++)
                if (is_name(kw, ends[i])) {
                    *which = ends[i];
                    P->i++;
                    done = 1;
                    break;
                }
            if (done)
                break;
            if (nvec_push(P->c, &a, p_stmt(P)))
                return NULL;
        } else {
            return perr(P, "a statement");
        }
    }
    jnode *x = mknode(P, N_BODY, k0);
    if (!x) return NULL;
    x->kids = a.v;
    x->nkids = a.n;
    P->depth--;
    return x;
}

/* ------------------------------------------------------------------------ */
/* Evaluation helpers                                                        */
/* ------------------------------------------------------------------------ */

static int step(jctx *c, const jnode *nd)
{
    if (++c->steps > JMAX_STEPS)
        return jfail(c, FW_E_RANGE, nd->line, nd->col,
                     "rendering exceeded %ld evaluation steps", JMAX_STEPS);
    return 0;
}

static jv *frame_find(jframe *f, const char *name)
{
    for (; f; f = f->parent)
        for (size_t i = f->n; i-- > 0;)
            if (!strcmp(f->vars[i].name, name))
                return &f->vars[i].v;
    return NULL;
}

static int frame_set(jctx *c, jframe *f, const char *name, jv v)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->vars[i].name, name)) {
            f->vars[i].v = v;
            return 0;
        }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        jvar *nv = aalloc_arr(c, cap, sizeof *nv);
        if (!nv)
            return -1;
        if (f->n)
            memcpy(nv, f->vars, f->n * sizeof *nv);
        f->vars = nv;
        f->cap = cap;
    }
    f->vars[f->n].name = name;
    f->vars[f->n].v = v;
    f->n++;
    return 0;
}

static const char *tname(jv v)
{
    switch (v.t) {
    case JV_UNDEF: return "undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STR: return "str";
    case JV_LIST: return v.u.l->tuple ? "tuple" : "list";
    case JV_DICT: return "dict";
    case JV_NS: return "Namespace";
    case JV_MACRO: return "Macro";
    case JV_FUNC: return "function";
    case JV_METHOD: return "method";
    case JV_LOOP: return "LoopContext";
    }
    return "?";
}

static int truthy(jv v)
{
    switch (v.t) {
    case JV_UNDEF: case JV_NONE: return 0;
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0.0;
    case JV_STR: return v.u.s->len != 0;
    case JV_LIST: return v.u.l->n != 0;
    case JV_DICT: return v.u.d->n != 0;
    default: return 1;
    }
}

static int isnum(jv v) { return v.t == JV_BOOL || v.t == JV_INT || v.t == JV_FLOAT; }
static double numf(jv v) { return v.t == JV_FLOAT ? v.u.f : v.t == JV_INT ? (double)v.u.i : (double)v.u.b; }
static int64_t numi(jv v) { return v.t == JV_INT ? v.u.i : v.u.b; }

static int py_eq(jv a, jv b);

static jv *dict_get(jdict *d, jv key)
{
    for (size_t i = 0; i < d->n; i++)
        if (py_eq(d->k[i], key))
            return &d->v[i];
    return NULL;
}
static jv *dict_gets(jdict *d, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].t == JV_STR && d->k[i].u.s->len == n && !memcmp(d->k[i].u.s->s, key, n))
            return &d->v[i];
    return NULL;
}

static int dict_set(jctx *c, jdict *d, jv key, jv v)
{
    jv *p = dict_get(d, key);
    if (p) {
        *p = v;
        return 0;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4;
        jv *nk = aalloc_arr(c, cap, sizeof *nk), *nv = aalloc_arr(c, cap, sizeof *nv);
        if (!nk || !nv)
            return -1;
        if (d->n) {
            memcpy(nk, d->k, d->n * sizeof *nk);
            memcpy(nv, d->v, d->n * sizeof *nv);
        }
        d->k = nk;
        d->v = nv;
        d->cap = cap;
    }
    d->k[d->n] = key;
    d->v[d->n] = v;
    d->n++;
    return 0;
}

static int py_eq(jv a, jv b)
{
    if (isnum(a) && isnum(b)) {
        if (a.t == JV_FLOAT || b.t == JV_FLOAT)
            return numf(a) == numf(b);
        return numi(a) == numi(b);
    }
    if (a.t != b.t)
        return 0;
    switch (a.t) {
    case JV_UNDEF: case JV_NONE: return 1;
    case JV_STR: return a.u.s->len == b.u.s->len && !memcmp(a.u.s->s, b.u.s->s, a.u.s->len);
    case JV_LIST:
        if (a.u.l->tuple != b.u.l->tuple || a.u.l->n != b.u.l->n)
            return 0;
        for (size_t i = 0; i < a.u.l->n; i++)
            if (!py_eq(a.u.l->v[i], b.u.l->v[i]))
                return 0;
        return 1;
    case JV_DICT:
        if (a.u.d->n != b.u.d->n)
            return 0;
        for (size_t i = 0; i < a.u.d->n; i++) {
            jv *o = dict_get(b.u.d, a.u.d->k[i]);
            if (!o || !py_eq(a.u.d->v[i], *o))
                return 0;
        }
        return 1;
    case JV_NS: return a.u.d == b.u.d;
    case JV_MACRO: return a.u.m->node == b.u.m->node && a.u.m->frame == b.u.m->frame;
    case JV_FUNC: return a.u.fn == b.u.fn;
    default: return 0;
    }
}

/* Python repr of a float. */
static void fmt_float(fwi_sbuf *o, double f)
{
    if (isnan(f)) { fwi_sbuf_puts(o, "nan"); return; }
    if (isinf(f)) { fwi_sbuf_puts(o, f < 0 ? "-inf" : "inf"); return; }
    char buf[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, f);
        if (strtod(buf, NULL) == f)
            break;
    }
    /* buf: d.ddde[+-]XX; digits and exponent */
    char digits[32];
    size_t nd = 0;
    const char *p = buf;
    int neg = 0;
    if (*p == '-') { neg = 1; p++; }
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int e10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = 0;
    if (neg)
        fwi_sbuf_putc(o, '-');
    if (e10 < -4 || e10 >= 16) {
        fwi_sbuf_putc(o, digits[0]);
        if (nd > 1) {
            fwi_sbuf_putc(o, '.');
            fwi_sbuf_put(o, digits + 1, nd - 1);
        }
        fwi_sbuf_printf(o, "e%c%02d", e10 < 0 ? '-' : '+', e10 < 0 ? -e10 : e10);
    } else if (e10 < 0) {
        fwi_sbuf_puts(o, "0.");
        for (int i = 0; i < -e10 - 1; i++)
            fwi_sbuf_putc(o, '0');
        fwi_sbuf_put(o, digits, nd);
    } else {
        for (int i = 0; i <= e10; i++)
            fwi_sbuf_putc(o, (size_t)i < nd ? digits[i] : '0');
        fwi_sbuf_putc(o, '.');
        if ((size_t)e10 + 1 < nd)
            fwi_sbuf_put(o, digits + e10 + 1, nd - (size_t)e10 - 1);
        else
            fwi_sbuf_putc(o, '0');
    }
}

static void put_repr(fwi_sbuf *o, jv v, int depth);

/* Python repr of a str. */
static void put_str_repr(fwi_sbuf *o, const jstr *s)
{
    int sq = memchr(s->s, '\'', s->len) != NULL, dq = memchr(s->s, '"', s->len) != NULL;
    char q = sq && !dq ? '"' : '\'';
    fwi_sbuf_putc(o, q);
    for (size_t i = 0; i < s->len;) {
        size_t l;
        uint32_t cp = u8dec(s->s + i, s->len - i, &l);
        if (cp == (uint32_t)q || cp == '\\') {
            fwi_sbuf_putc(o, '\\');
            fwi_sbuf_putc(o, (char)cp);
        } else if (cp == '\n') fwi_sbuf_puts(o, "\\n");
        else if (cp == '\r') fwi_sbuf_puts(o, "\\r");
        else if (cp == '\t') fwi_sbuf_puts(o, "\\t");
        else if (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD)
            fwi_sbuf_printf(o, "\\x%02x", (unsigned)cp);
        else if (cp == 0x2028 || cp == 0x2029 || (cp >= 0x2000 && cp <= 0x200F) || cp == 0xFEFF || cp == 0x3000 || cp == 0x1680 || cp == 0x202F || cp == 0x205F || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064))
            fwi_sbuf_printf(o, "\\u%04x", (unsigned)cp);
        else
            fwi_sbuf_put(o, s->s + i, l);
        i += l;
    }
    fwi_sbuf_putc(o, q);
}

/* str(v) appended to o. */
static void put_str(fwi_sbuf *o, jv v, int depth)
{
    switch (v.t) {
    case JV_UNDEF: break;
    case JV_NONE: fwi_sbuf_puts(o, "None"); break;
    case JV_BOOL: fwi_sbuf_puts(o, v.u.b ? "True" : "False"); break;
    case JV_INT: fwi_sbuf_printf(o, "%lld", (long long)v.u.i); break;
    case JV_FLOAT: fmt_float(o, v.u.f); break;
    case JV_STR: fwi_sbuf_put(o, v.u.s->s, v.u.s->len); break;
    default: put_repr(o, v, depth); break;
    }
}

static void put_repr(fwi_sbuf *o, jv v, int depth)
{
    if (depth > JMAX_DEPTH) {
        fwi_sbuf_puts(o, "...");
        return;
    }
    switch (v.t) {
    case JV_STR: put_str_repr(o, v.u.s); break;
    case JV_UNDEF: fwi_sbuf_puts(o, "Undefined"); break;
    case JV_LIST:
        fwi_sbuf_putc(o, v.u.l->tuple ? '(' : '[');
        for (size_t i = 0; i < v.u.l->n; i++) {
            if (i)
                fwi_sbuf_puts(o, ", ");
            put_repr(o, v.u.l->v[i], depth + 1);
        }
        if (v.u.l->tuple && v.u.l->n == 1)
            fwi_sbuf_putc(o, ',');
        fwi_sbuf_putc(o, v.u.l->tuple ? ')' : ']');
        break;
    case JV_DICT: case JV_NS:
        if (v.t == JV_NS)
            fwi_sbuf_puts(o, "<Namespace ");
        fwi_sbuf_putc(o, '{');
        for (size_t i = 0; i < v.u.d->n; i++) {
            if (i)
                fwi_sbuf_puts(o, ", ");
            put_repr(o, v.u.d->k[i], depth + 1);
            fwi_sbuf_puts(o, ": ");
            put_repr(o, v.u.d->v[i], depth + 1);
        }
        fwi_sbuf_putc(o, '}');
        if (v.t == JV_NS)
            fwi_sbuf_putc(o, '>');
        break;
    case JV_MACRO: fwi_sbuf_puts(o, "<Macro>"); break;
    case JV_FUNC: case JV_METHOD: fwi_sbuf_puts(o, "<function>"); break;
    case JV_LOOP: fwi_sbuf_puts(o, "<LoopContext>"); break;
    default: put_str(o, v, depth); break;
    }
}

/* json.dumps(v, ensure_ascii=False, indent=indent) as HF's tojson. */
static int put_json(jctx *c, fwi_sbuf *o, jv v, int indent, int level, int sort_keys,
                    const jnode *at)
{
    if (level > JMAX_DEPTH)
        return jfail(c, FW_E_RANGE, at->line, at->col, "tojson: value nested too deeply");
    switch (v.t) {
    case JV_NONE: fwi_sbuf_puts(o, "null"); return 0;
    case JV_BOOL: fwi_sbuf_puts(o, v.u.b ? "true" : "false"); return 0;
    case JV_INT: fwi_sbuf_printf(o, "%lld", (long long)v.u.i); return 0;
    case JV_FLOAT:
        if (isnan(v.u.f)) fwi_sbuf_puts(o, "NaN");
        else if (isinf(v.u.f)) fwi_sbuf_puts(o, v.u.f < 0 ? "-Infinity" : "Infinity");
        else fmt_float(o, v.u.f);
        return 0;
    case JV_STR: {
        const jstr *s = v.u.s;
        fwi_sbuf_putc(o, '"');
        for (size_t i = 0; i < s->len; i++) {
            unsigned char ch = (unsigned char)s->s[i];
            switch (ch) {
            case '"': fwi_sbuf_puts(o, "\\\""); break;
            case '\\': fwi_sbuf_puts(o, "\\\\"); break;
            case '\n': fwi_sbuf_puts(o, "\\n"); break;
            case '\r': fwi_sbuf_puts(o, "\\r"); break;
            case '\t': fwi_sbuf_puts(o, "\\t"); break;
            case '\b': fwi_sbuf_puts(o, "\\b"); break;
            case '\f': fwi_sbuf_puts(o, "\\f"); break;
            default:
                if (ch < 0x20)
                    fwi_sbuf_printf(o, "\\u%04x", ch);
                else
                    fwi_sbuf_putc(o, (char)ch);
            }
        }
        fwi_sbuf_putc(o, '"');
        return 0;
    }
    case JV_LIST: case JV_DICT: {
        int isd = v.t == JV_DICT;
        size_t n = isd ? v.u.d->n : v.u.l->n;
        if (n == 0) {
            fwi_sbuf_puts(o, isd ? "{}" : "[]");
            return 0;
        }
        size_t *ord = NULL;
        if (isd && sort_keys) {
            ord = aalloc_arr(c, n, sizeof *ord);
            if (!ord)
                return -1;
            for (size_t i = 0; i < n; i++) {
                if (v.u.d->k[i].t != JV_STR)
                    return jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "tojson: sort_keys with non-string keys");
                ord[i] = i;
            }
            for (size_t i = 1; i < n; i++) /* insertion sort, bytes = code points */
                for (size_t j = i; j > 0; j--) {
                    const jstr *x = v.u.d->k[ord[j - 1]].u.s, *y = v.u.d->k[ord[j]].u.s;
                    size_t m = x->len < y->len ? x->len : y->len;
                    int r = memcmp(x->s, y->s, m);
                    if (r < 0 || (r == 0 && x->len <= y->len))
                        break;
                    size_t t = ord[j]; ord[j] = ord[j - 1]; ord[j - 1] = t;
                }
        }
        fwi_sbuf_putc(o, isd ? '{' : '[');
        for (size_t q = 0; q < n; q++) {
            size_t i = ord ? ord[q] : q;
            if (q)
                fwi_sbuf_puts(o, indent >= 0 ? "," : ", ");
            if (indent >= 0) {
                fwi_sbuf_putc(o, '\n');
                for (int s = 0; s < indent * (level + 1); s++)
                    fwi_sbuf_putc(o, ' ');
            }
            if (isd) {
                jv k = v.u.d->k[i];
                if (k.t == JV_STR) {
                    if (put_json(c, o, k, indent, level + 1, sort_keys, at)) return -1;
                } else if (k.t == JV_INT || k.t == JV_FLOAT || k.t == JV_BOOL || k.t == JV_NONE) {
                    fwi_sbuf_putc(o, '"');
                    if (put_json(c, o, k, indent, level + 1, sort_keys, at)) return -1;
                    fwi_sbuf_putc(o, '"');
                } else {
                    return jfail(c, FW_E_TYPE, at->line, at->col, "tojson: keys must be str, int, float, bool or None, not %s", tname(k));
                }
                fwi_sbuf_puts(o, ": ");
                if (put_json(c, o, v.u.d->v[i], indent, level + 1, sort_keys, at)) return -1;
            } else {
                if (put_json(c, o, v.u.l->v[i], indent, level + 1, sort_keys, at)) return -1;
            }
        }
        if (indent >= 0) {
            fwi_sbuf_putc(o, '\n');
            for (int s = 0; s < indent * level; s++)
                fwi_sbuf_putc(o, ' ');
        }
        fwi_sbuf_putc(o, isd ? '}' : ']');
        return 0;
    }
    default:
        return jfail(c, FW_E_TYPE, at->line, at->col, "tojson: object of type %s is not JSON serializable", tname(v));
    }
}

/* Materialize an sbuf as a string value (frees the sbuf). */
static jv sbuf_to_val(jctx *c, fwi_sbuf *b)
{
    if (b->failed) {
        fwi_sbuf_free(b);
        jfail(c, FW_E_NOMEM, 0, 0, "out of memory");
        return V_UNDEF();
    }
    jv r = V_STR(c, b->data ? b->data : "", b->len);
    fwi_sbuf_free(b);
    return r;
}

static jv to_strv(jctx *c, jv v)
{
    if (v.t == JV_STR)
        return v;
    fwi_sbuf b = {0};
    put_str(&b, v, 0);
    return sbuf_to_val(c, &b);
}

/* Iterate: the items of a list, the keys of a dict, the characters of a
 * string; NULL on error. */
static jlist *iter_list(jctx *c, jv v, const jnode *at)
{
    switch (v.t) {
    case JV_LIST: return v.u.l;
    case JV_UNDEF: return mklist(c, 0);
    case JV_DICT: {
        jlist *l = mklist(c, v.u.d->n);
        if (l)
            memcpy(l->v, v.u.d->k, v.u.d->n * sizeof(jv));
        return l;
    }
    case JV_STR: {
        jlist *l = mklist(c, u8count(v.u.s->s, v.u.s->len));
        if (!l)
            return NULL;
        size_t i = 0, k = 0;
        while (i < v.u.s->len) {
            size_t len;
            u8dec(v.u.s->s + i, v.u.s->len - i, &len);
            l->v[k++] = V_STR(c, v.u.s->s + i, len);
            i += len;
        }
        return c->st ? NULL : l;
    }
    default:
        jfail(c, FW_E_TYPE, at->line, at->col, "'%s' object is not iterable", tname(v));
        return NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* Strings: case mapping, methods                                            */
/* ------------------------------------------------------------------------ */

/* Case mapping for ASCII, Latin-1, basic Greek and Cyrillic (the subset). */
static uint32_t cp_upper(uint32_t c)
{
    if (c >= 'a' && c <= 'z') return c - 32;
    if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 32;
    if (c == 0xFF) return 0x178;
    if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
    if (c >= 0x430 && c <= 0x44F) return c - 32;
    if (c >= 0x450 && c <= 0x45F) return c - 80;
    return c;
}
static uint32_t cp_lower(uint32_t c)
{
    if (c >= 'A' && c <= 'Z') return c + 32;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
    if (c == 0x178) return 0xFF;
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    return c;
}
static int cp_cased(uint32_t c) { return cp_upper(c) != c || cp_lower(c) != c; }

/* mode: 'u' upper, 'l' lower, 'c' capitalize, 't' str.title, 'T' Jinja title */
static jv str_case(jctx *c, const jstr *s, char mode)
{
    char *o = aalloc(c, s->len * 2 + 1);
    if (!o)
        return V_UNDEF();
    size_t k = 0, i = 0;
    int first = 1, prev_cased = 0, word_start = 1;
    while (i < s->len) {
        size_t l;
        uint32_t cp = u8dec(s->s + i, s->len - i, &l);
        int up; /* does this position map to upper case? */
        switch (mode) {
        case 'u': up = 1; break;
        case 'l': up = 0; break;
        case 'c': up = first; break;
        case 't': up = !prev_cased; prev_cased = cp_cased(cp) || cp == 0xDF; break;
        default: /* Jinja's title: words start after - whitespace ( { [ < */
            up = word_start;
            word_start = py_isspace(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
            break;
        }
        uint32_t r = up ? cp_upper(cp) : cp_lower(cp);
        if (cp == 0xDF && up) { /* Python: 'ß'.upper() == 'SS', .title() == 'Ss' */
            o[k++] = 'S';
            o[k++] = mode == 'u' ? 'S' : 's';
        } else if (r == cp) {
            memcpy(o + k, s->s + i, l);
            k += l;
        } else {
            k += u8enc(r, o + k);
        }
        first = 0;
        i += l;
    }
    return V_STR(c, o, k);
}

static const char *memmem_(const char *h, size_t hn, const char *nd, size_t nn)
{
    if (nn == 0)
        return h;
    for (size_t i = 0; i + nn <= hn; i++)
        if (h[i] == nd[0] && !memcmp(h + i, nd, nn))
            return h + i;
    return NULL;
}

static jv str_replace(jctx *c, const jstr *s, const jstr *a, const jstr *b, int64_t count)
{
    fwi_sbuf o = {0};
    if (a->len == 0) { /* Python inserts b between characters */
        size_t i = 0;
        int64_t n = 0;
        while (1) {
            if (count < 0 || n < count) {
                fwi_sbuf_put(&o, b->s, b->len);
                n++;
            }
            if (i >= s->len)
                break;
            size_t l;
            u8dec(s->s + i, s->len - i, &l);
            fwi_sbuf_put(&o, s->s + i, l);
            i += l;
        }
        return sbuf_to_val(c, &o);
    }
    size_t i = 0;
    int64_t n = 0;
    while (i <= s->len) {
        const char *p = (count < 0 || n < count) ? memmem_(s->s + i, s->len - i, a->s, a->len) : NULL;
        if (!p) {
            fwi_sbuf_put(&o, s->s + i, s->len - i);
            break;
        }
        fwi_sbuf_put(&o, s->s + i, (size_t)(p - (s->s + i)));
        fwi_sbuf_put(&o, b->s, b->len);
        i = (size_t)(p - s->s) + a->len;
        n++;
        if (o.len > JMAX_OUT) {
            fwi_sbuf_free(&o);
            jfail(c, FW_E_RANGE, 0, 0, "replace: result too long");
            return V_UNDEF();
        }
    }
    return sbuf_to_val(c, &o);
}

static jv str_split(jctx *c, const jstr *s, const jstr *sep, int64_t maxsplit, const jnode *at)
{
    size_t cap = 8, n = 0;
    jv *items = aalloc_arr(c, cap, sizeof *items);
    if (!items)
        return V_UNDEF();
#define PUSH_ITEM(p, l)                                                    \
    do {                                                                   \
        if (n == cap) {                                                    \
            jv *ni = aalloc_arr(c, cap * 2, sizeof *ni);                   \
            if (!ni) return V_UNDEF();                                     \
            memcpy(ni, items, n * sizeof *ni);                             \
            items = ni;                                                    \
            cap *= 2;                                                      \
        }                                                                  \
        items[n++] = V_STR(c, (p), (l));                                   \
    } while (0)
    if (sep) {
        if (sep->len == 0) {
            jfail(c, FW_E_TYPE, at->line, at->col, "split: empty separator");
            return V_UNDEF();
        }
        size_t i = 0;
        int64_t k = 0;
        for (;;) {
            const char *p = (maxsplit < 0 || k < maxsplit) ? memmem_(s->s + i, s->len - i, sep->s, sep->len) : NULL;
            if (!p) {
                PUSH_ITEM(s->s + i, s->len - i);
                break;
            }
            PUSH_ITEM(s->s + i, (size_t)(p - s->s) - i);
            i = (size_t)(p - s->s) + sep->len;
            k++;
        }
    } else {
        size_t i = 0;
        int64_t k = 0;
        for (;;) {
            i += skip_ws(s->s, i, s->len);
            if (i >= s->len)
                break;
            if (maxsplit >= 0 && k >= maxsplit) {
                PUSH_ITEM(s->s + i, s->len - i);
                break;
            }
            size_t j = i;
            while (j < s->len) {
                size_t l;
                uint32_t cp = u8dec(s->s + j, s->len - j, &l);
                if (py_isspace(cp))
                    break;
                j += l;
            }
            PUSH_ITEM(s->s + i, j - i);
            k++;
            i = j;
        }
    }
#undef PUSH_ITEM
    jlist *l = mklist(c, n);
    if (!l || c->st)
        return V_UNDEF();
    memcpy(l->v, items, n * sizeof *items);
    return V_LIST(l);
}

/* ------------------------------------------------------------------------ */
/* Attributes and items                                                      */
/* ------------------------------------------------------------------------ */

static const char *const STR_METHODS[] = {
    "startswith", "endswith", "strip", "lstrip", "rstrip", "split", "replace",
    "upper", "lower", "title", "capitalize", "find", "count", "join", NULL};
static const char *const DICT_METHODS[] = {"items", "keys", "values", "get", NULL};

static int in_names(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], s))
            return 1;
    return 0;
}

static jv mkmethod(jctx *c, jv self, const char *name)
{
    jv v = V_UNDEF();
    jmethod *m = aalloc(c, sizeof *m);
    if (!m)
        return v;
    m->self = self;
    m->name = name;
    v.t = JV_METHOD;
    v.u.me = m;
    return v;
}

static jv loop_attr(jctx *c, jv self, const char *name)
{
    jloop *lp = self.u.lp;
    size_t n = lp->items->n, i = lp->i;
    if (!strcmp(name, "index")) return V_INT((int64_t)i + 1);
    if (!strcmp(name, "index0")) return V_INT((int64_t)i);
    if (!strcmp(name, "revindex")) return V_INT((int64_t)(n - i));
    if (!strcmp(name, "revindex0")) return V_INT((int64_t)(n - i - 1));
    if (!strcmp(name, "first")) return V_BOOL(i == 0);
    if (!strcmp(name, "last")) return V_BOOL(i + 1 == n);
    if (!strcmp(name, "length")) return V_INT((int64_t)n);
    if (!strcmp(name, "depth")) return V_INT(1);
    if (!strcmp(name, "depth0")) return V_INT(0);
    if (!strcmp(name, "previtem")) return i > 0 ? lp->items->v[i - 1] : V_UNDEF();
    if (!strcmp(name, "nextitem")) return i + 1 < n ? lp->items->v[i + 1] : V_UNDEF();
    if (!strcmp(name, "cycle")) return mkmethod(c, self, "cycle");
    return V_UNDEF();
}

/* obj.name (Jinja's getattr: attribute first, then item). */
static jv get_attr(jctx *c, jv obj, const char *name, const jnode *at)
{
    switch (obj.t) {
    case JV_UNDEF:
        jfail(c, FW_E_TYPE, at->line, at->col, "attribute '%s' of an undefined value", name);
        return V_UNDEF();
    case JV_DICT: {
        if (in_names(DICT_METHODS, name))
            return mkmethod(c, obj, name);
        jv *p = dict_gets(obj.u.d, name);
        return p ? *p : V_UNDEF();
    }
    case JV_NS: {
        jv *p = dict_gets(obj.u.d, name);
        return p ? *p : V_UNDEF();
    }
    case JV_STR:
        return in_names(STR_METHODS, name) ? mkmethod(c, obj, name) : V_UNDEF();
    case JV_LOOP:
        return loop_attr(c, obj, name);
    default:
        return V_UNDEF();
    }
}

static int64_t norm_index(int64_t i, size_t n) { return i < 0 ? i + (int64_t)n : i; }

/* obj[key] (Jinja's getitem: item first, then attribute). */
static jv get_item(jctx *c, jv obj, jv key, const jnode *at)
{
    if (obj.t == JV_UNDEF) {
        jfail(c, FW_E_TYPE, at->line, at->col, "subscript of an undefined value");
        return V_UNDEF();
    }
    if (obj.t == JV_DICT || obj.t == JV_NS) {
        jv *p = dict_get(obj.u.d, key);
        if (p)
            return *p;
    } else if ((obj.t == JV_LIST || obj.t == JV_STR) && (key.t == JV_INT || key.t == JV_BOOL)) {
        if (obj.t == JV_LIST) {
            int64_t i = norm_index(numi(key), obj.u.l->n);
            return i >= 0 && (uint64_t)i < obj.u.l->n ? obj.u.l->v[i] : V_UNDEF();
        }
        size_t n = u8count(obj.u.s->s, obj.u.s->len);
        int64_t i = norm_index(numi(key), n);
        if (i < 0 || (uint64_t)i >= n)
            return V_UNDEF();
        size_t b = u8off(obj.u.s->s, obj.u.s->len, (size_t)i), l;
        u8dec(obj.u.s->s + b, obj.u.s->len - b, &l);
        return V_STR(c, obj.u.s->s + b, l);
    }
    if (key.t == JV_STR)
        return get_attr(c, obj, key.u.s->s, at);
    return V_UNDEF();
}

static int slice_arg(jctx *c, jv v, int64_t *out, const jnode *at)
{
    if (v.t == JV_NONE || v.t == JV_UNDEF)
        return 0;
    if (v.t != JV_INT && v.t != JV_BOOL)
        return jfail(c, FW_E_TYPE, at->line, at->col, "slice indices must be integers or None");
    *out = numi(v);
    return 1;
}

static jv get_slice(jctx *c, jv obj, jv lo, jv hi, jv st, const jnode *at)
{
    int64_t step_ = 1, b, e, t = 0;
    if (slice_arg(c, st, &step_, at) < 0)
        return V_UNDEF();
    if (step_ == 0) {
        jfail(c, FW_E_TYPE, at->line, at->col, "slice step cannot be zero");
        return V_UNDEF();
    }
    size_t n;
    size_t *offs = NULL;
    if (obj.t == JV_LIST) {
        n = obj.u.l->n;
    } else if (obj.t == JV_STR) {
        n = u8count(obj.u.s->s, obj.u.s->len);
        offs = aalloc_arr(c, n + 1, sizeof *offs);
        if (!offs)
            return V_UNDEF();
        size_t k = 0;
        for (size_t i = 0; i < obj.u.s->len; i++)
            if (((unsigned char)obj.u.s->s[i] & 0xC0) != 0x80)
                offs[k++] = i;
        offs[n] = obj.u.s->len;
    } else { /* Jinja compiles slices to Python slicing: no undefined */
        jfail(c, FW_E_TYPE, at->line, at->col, "'%s' object is not sliceable", tname(obj));
        return V_UNDEF();
    }
    int64_t N = (int64_t)n;
    if (step_ > 0) { b = 0; e = N; } else { b = N - 1; e = -1; }
    int r1 = slice_arg(c, lo, &t, at);
    if (r1 < 0) return V_UNDEF();
    if (r1) {
        b = t < 0 ? t + N : t;
        if (step_ > 0) b = b < 0 ? 0 : b > N ? N : b;
        else b = b < 0 ? -1 : b >= N ? N - 1 : b;
    }
    int r2 = slice_arg(c, hi, &t, at);
    if (r2 < 0) return V_UNDEF();
    if (r2) {
        e = t < 0 ? t + N : t;
        if (step_ > 0) e = e < 0 ? 0 : e > N ? N : e;
        else e = e < -1 ? -1 : e >= N ? N - 1 : e;
    }
    size_t cnt = 0;
    if (step_ > 0 && e > b) cnt = (size_t)((e - b + step_ - 1) / step_);
    if (step_ < 0 && b > e) cnt = (size_t)((b - e + (-step_) - 1) / (-step_));
    if (obj.t == JV_LIST) {
        jlist *l = mklist(c, cnt);
        if (!l)
            return V_UNDEF();
        l->tuple = obj.u.l->tuple;
        for (size_t i = 0; i < cnt; i++)
            l->v[i] = obj.u.l->v[b + (int64_t)i * step_];
        return V_LIST(l);
    }
    if (step_ == 1)
        return V_STR(c, obj.u.s->s + offs[b], cnt ? offs[e] - offs[b] : 0);
    fwi_sbuf o = {0};
    for (size_t i = 0; i < cnt; i++) {
        int64_t q = b + (int64_t)i * step_;
        fwi_sbuf_put(&o, obj.u.s->s + offs[q], offs[q + 1] - offs[q]);
    }
    return sbuf_to_val(c, &o);
}

/* ------------------------------------------------------------------------ */
/* Evaluator                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct jargs {
    jv *pos;
    size_t np;
    const char **kn;
    jv *kv;
    size_t nk;
} jargs;

static jv eval(jctx *c, const jnode *nd, jframe *f);
static int exec_body(jctx *c, const jnode *body, jframe *f, fwi_sbuf *out);

/* Argument `idx` (positional) or `name` (keyword); 1 found, 0 not. */
static int arg(const jargs *a, size_t idx, const char *name, jv *out)
{
    if (idx < a->np) {
        *out = a->pos[idx];
        return 1;
    }
    for (size_t i = 0; name && i < a->nk; i++)
        if (!strcmp(a->kn[i], name)) {
            *out = a->kv[i];
            return 1;
        }
    return 0;
}

static int check_args(jctx *c, const jargs *a, size_t maxpos, const char *const *kw,
                      const char *what, const jnode *at)
{
    if (a->np > maxpos)
        return jfail(c, FW_E_TYPE, at->line, at->col, "%s takes at most %zu positional arguments (%zu given)",
                     what, maxpos, a->np);
    for (size_t i = 0; i < a->nk; i++) {
        int ok = 0;
        for (int k = 0; kw && kw[k]; k++)
            if (!strcmp(kw[k], a->kn[i]))
                ok = 1;
        if (!ok)
            return jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "%s: unsupported keyword argument '%s'", what, a->kn[i]);
    }
    return 0;
}

static int eval_args(jctx *c, const jnode *nd, jframe *f, jargs *a, jv *first)
{
    size_t extra = first ? 1 : 0;
    memset(a, 0, sizeof *a);
    a->np = nd->nkids + extra;
    a->pos = aalloc_arr(c, a->np + 1, sizeof(jv));
    a->nk = nd->nkids2;
    a->kn = aalloc_arr(c, a->nk + 1, sizeof(char *));
    a->kv = aalloc_arr(c, a->nk + 1, sizeof(jv));
    if (!a->pos || !a->kn || !a->kv)
        return -1;
    if (first)
        a->pos[0] = *first;
    for (size_t i = 0; i < nd->nkids; i++) {
        a->pos[i + extra] = eval(c, nd->kids[i], f);
        if (c->st)
            return -1;
    }
    for (size_t i = 0; i < nd->nkids2; i++) {
        a->kn[i] = nd->kids2[i]->name;
        a->kv[i] = eval(c, nd->kids2[i]->a, f);
        if (c->st)
            return -1;
    }
    return 0;
}

static jv need_str(jctx *c, jv v, const char *what, const jnode *at)
{
    if (v.t != JV_STR) {
        jfail(c, FW_E_TYPE, at->line, at->col, "%s: expected a string, got %s", what, tname(v));
        return V_UNDEF();
    }
    return v;
}

static const char *const MONTHS[] = {"January", "February", "March", "April", "May", "June", "July",
                                     "August", "September", "October", "November", "December"};
static const char *const DAYS[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

static jv fn_strftime(jctx *c, const jstr *fmt, const jnode *at)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, m, d;
    if (c->fixed_date && c->fixed_date[0]) {
        if (strlen(c->fixed_date) != 10 || sscanf(c->fixed_date, "%4d-%2d-%2d", &y, &m, &d) != 3 ||
            y < 1900 || m < 1 || m > 12 || d < 1 || d > 31) {
            jfail(c, FW_E_INVALID_ARG, at->line, at->col,
                  "strftime_now: FWINFER_FIXED_DATE must be YYYY-MM-DD, not '%.40s'", c->fixed_date);
            return V_UNDEF();
        }
        tm.tm_year = y - 1900;
        tm.tm_mon = m - 1;
        tm.tm_mday = d;
        tm.tm_isdst = -1;
        tm.tm_hour = 12; /* normalize without DST surprises, then zero it */
        time_t t = mktime(&tm);
        struct tm t2;
        if (t == (time_t)-1 || !localtime_r(&t, &t2)) {
            jfail(c, FW_E_RANGE, at->line, at->col, "strftime_now: bad FWINFER_FIXED_DATE");
            return V_UNDEF();
        }
        tm = t2;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    } else {
        time_t t = time(NULL);
        if (!localtime_r(&t, &tm)) {
            jfail(c, FW_E_RANGE, at->line, at->col, "strftime_now: no local time");
            return V_UNDEF();
        }
    }
    fwi_sbuf o = {0};
    for (size_t i = 0; i < fmt->len; i++) {
        char ch = fmt->s[i];
        if (ch != '%' || i + 1 >= fmt->len) {
            fwi_sbuf_putc(&o, ch);
            continue;
        }
        char k = fmt->s[++i];
        switch (k) {
        case 'd': fwi_sbuf_printf(&o, "%02d", tm.tm_mday); break;
        case 'e': fwi_sbuf_printf(&o, "%2d", tm.tm_mday); break;
        case 'm': fwi_sbuf_printf(&o, "%02d", tm.tm_mon + 1); break;
        case 'Y': fwi_sbuf_printf(&o, "%d", tm.tm_year + 1900); break;
        case 'y': fwi_sbuf_printf(&o, "%02d", (tm.tm_year + 1900) % 100); break;
        case 'b': fwi_sbuf_printf(&o, "%.3s", MONTHS[tm.tm_mon]); break;
        case 'B': fwi_sbuf_puts(&o, MONTHS[tm.tm_mon]); break;
        case 'a': fwi_sbuf_printf(&o, "%.3s", DAYS[tm.tm_wday]); break;
        case 'A': fwi_sbuf_puts(&o, DAYS[tm.tm_wday]); break;
        case 'H': fwi_sbuf_printf(&o, "%02d", tm.tm_hour); break;
        case 'I': fwi_sbuf_printf(&o, "%02d", tm.tm_hour % 12 ? tm.tm_hour % 12 : 12); break;
        case 'p': fwi_sbuf_puts(&o, tm.tm_hour < 12 ? "AM" : "PM"); break;
        case 'M': fwi_sbuf_printf(&o, "%02d", tm.tm_min); break;
        case 'S': fwi_sbuf_printf(&o, "%02d", tm.tm_sec); break;
        case 'j': fwi_sbuf_printf(&o, "%03d", tm.tm_yday + 1); break;
        case '%': fwi_sbuf_putc(&o, '%'); break;
        default:
            fwi_sbuf_free(&o);
            jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "strftime_now: unsupported format '%%%c'", k);
            return V_UNDEF();
        }
    }
    return sbuf_to_val(c, &o);
}

static jv call_macro(jctx *c, const jmacro *mc, const jargs *a, const jnode *at)
{
    const jnode *m = mc->node;
    if (c->call_depth >= JMAX_CALL_DEPTH) {
        jfail(c, FW_E_RANGE, at->line, at->col, "macro calls nested deeper than %d", JMAX_CALL_DEPTH);
        return V_UNDEF();
    }
    if (a->np > m->nkids) {
        jfail(c, FW_E_TYPE, at->line, at->col, "macro '%s' takes %zu arguments, %zu given", m->name, m->nkids, a->np);
        return V_UNDEF();
    }
    jframe *fr = azalloc(c, sizeof *fr);
    if (!fr)
        return V_UNDEF();
    fr->parent = mc->frame; /* the scope the macro was defined in */
    for (size_t i = 0; i < a->nk; i++) {
        int ok = 0;
        for (size_t p = 0; p < m->nkids; p++)
            ok |= !strcmp(m->kids[p]->name, a->kn[i]);
        if (!ok) {
            jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "macro '%s' has no parameter '%s'", m->name, a->kn[i]);
            return V_UNDEF();
        }
    }
    for (size_t p = 0; p < m->nkids; p++) {
        jv v;
        if (!arg(a, p, m->kids[p]->name, &v))
            v = m->kids2[p] ? eval(c, m->kids2[p], fr) : V_UNDEF();
        if (c->st || frame_set(c, fr, m->kids[p]->name, v))
            return V_UNDEF();
    }
    fwi_sbuf o = {0};
    c->call_depth++;
    int r = exec_body(c, m->a, fr, &o);
    c->call_depth--;
    if (r < 0) {
        fwi_sbuf_free(&o);
        return V_UNDEF();
    }
    return sbuf_to_val(c, &o);
}

static jv call_method(jctx *c, jmethod *me, const jargs *a, const jnode *at)
{
    jv self = me->self, x, y;
    const char *nm = me->name;
    if (self.t == JV_LOOP) { /* loop.cycle(...) */
        if (a->np == 0) {
            jfail(c, FW_E_TYPE, at->line, at->col, "loop.cycle needs at least one argument");
            return V_UNDEF();
        }
        return a->pos[self.u.lp->i % a->np];
    }
    if (self.t == JV_DICT) {
        jdict *d = self.u.d;
        if (!strcmp(nm, "get")) {
            if (check_args(c, a, 2, NULL, "dict.get", at) || !arg(a, 0, NULL, &x)) {
                jfail(c, FW_E_TYPE, at->line, at->col, "dict.get needs a key");
                return V_UNDEF();
            }
            jv *p = dict_get(d, x);
            return p ? *p : arg(a, 1, NULL, &y) ? y : V_NONE();
        }
        if (check_args(c, a, 0, NULL, nm, at))
            return V_UNDEF();
        jlist *l = mklist(c, d->n);
        if (!l)
            return V_UNDEF();
        for (size_t i = 0; i < d->n; i++) {
            if (!strcmp(nm, "keys"))
                l->v[i] = d->k[i];
            else if (!strcmp(nm, "values"))
                l->v[i] = d->v[i];
            else {
                jlist *t = mklist(c, 2);
                if (!t)
                    return V_UNDEF();
                t->tuple = 1;
                t->v[0] = d->k[i];
                t->v[1] = d->v[i];
                l->v[i] = V_LIST(t);
            }
        }
        return V_LIST(l);
    }
    /* string methods */
    const jstr *s = self.u.s;
    if (!strcmp(nm, "startswith") || !strcmp(nm, "endswith")) {
        if (check_args(c, a, 1, NULL, nm, at) || !arg(a, 0, NULL, &x)) {
            jfail(c, FW_E_TYPE, at->line, at->col, "%s needs an argument", nm);
            return V_UNDEF();
        }
        size_t np = x.t == JV_LIST && x.u.l->tuple ? x.u.l->n : 1;
        for (size_t i = 0; i < np; i++) {
            jv p = x.t == JV_LIST && x.u.l->tuple ? x.u.l->v[i] : x;
            if (need_str(c, p, nm, at).t != JV_STR)
                return V_UNDEF();
            size_t pl = p.u.s->len;
            if (pl <= s->len && !memcmp(nm[0] == 's' ? s->s : s->s + s->len - pl, p.u.s->s, pl))
                return V_BOOL(1);
        }
        return V_BOOL(0);
    }
    if (!strcmp(nm, "strip") || !strcmp(nm, "lstrip") || !strcmp(nm, "rstrip")) {
        if (check_args(c, a, 1, NULL, nm, at))
            return V_UNDEF();
        const jstr *chars = NULL;
        if (arg(a, 0, NULL, &x) && x.t != JV_NONE) {
            if (need_str(c, x, nm, at).t != JV_STR)
                return V_UNDEF();
            chars = x.u.s;
        }
        size_t b, e;
        py_strip(s->s, s->len, chars, nm[0] == 'l' ? 1 : nm[0] == 'r' ? 2 : 3, &b, &e);
        return V_STR(c, s->s + b, e - b);
    }
    if (!strcmp(nm, "split")) {
        static const char *const kw[] = {"sep", "maxsplit", NULL};
        if (check_args(c, a, 2, kw, nm, at))
            return V_UNDEF();
        const jstr *sep = NULL;
        int64_t maxs = -1;
        if (arg(a, 0, "sep", &x) && x.t != JV_NONE) {
            if (need_str(c, x, nm, at).t != JV_STR)
                return V_UNDEF();
            sep = x.u.s;
        }
        if (arg(a, 1, "maxsplit", &y)) {
            if (y.t != JV_INT) {
                jfail(c, FW_E_TYPE, at->line, at->col, "split: maxsplit must be an integer");
                return V_UNDEF();
            }
            maxs = y.u.i;
        }
        return str_split(c, s, sep, maxs, at);
    }
    if (!strcmp(nm, "replace")) {
        jv n3 = V_INT(-1);
        if (check_args(c, a, 3, NULL, nm, at) || !arg(a, 0, NULL, &x) || !arg(a, 1, NULL, &y) ||
            need_str(c, x, nm, at).t != JV_STR || need_str(c, y, nm, at).t != JV_STR ||
            (arg(a, 2, NULL, &n3) && n3.t != JV_INT)) {
            jfail(c, FW_E_TYPE, at->line, at->col, "replace needs (old, new[, count])");
            return V_UNDEF();
        }
        return str_replace(c, s, x.u.s, y.u.s, n3.u.i);
    }
    if (!strcmp(nm, "upper") || !strcmp(nm, "lower") || !strcmp(nm, "title") || !strcmp(nm, "capitalize")) {
        if (check_args(c, a, 0, NULL, nm, at))
            return V_UNDEF();
        return str_case(c, s, nm[0] == 'u' ? 'u' : nm[0] == 'l' ? 'l' : nm[0] == 't' ? 't' : 'c');
    }
    if (!strcmp(nm, "find") || !strcmp(nm, "count")) {
        if (check_args(c, a, 1, NULL, nm, at) || !arg(a, 0, NULL, &x) || need_str(c, x, nm, at).t != JV_STR) {
            jfail(c, FW_E_TYPE, at->line, at->col, "%s needs a string argument", nm);
            return V_UNDEF();
        }
        if (nm[0] == 'f') {
            const char *p = memmem_(s->s, s->len, x.u.s->s, x.u.s->len);
            return V_INT(p ? (int64_t)u8count(s->s, (size_t)(p - s->s)) : -1);
        }
        if (x.u.s->len == 0)
            return V_INT((int64_t)u8count(s->s, s->len) + 1);
        int64_t k = 0;
        size_t i = 0;
        const char *p;
        while ((p = memmem_(s->s + i, s->len - i, x.u.s->s, x.u.s->len))) {
            k++;
            i = (size_t)(p - s->s) + x.u.s->len;
        }
        return V_INT(k);
    }
    if (!strcmp(nm, "join")) {
        if (check_args(c, a, 1, NULL, nm, at) || !arg(a, 0, NULL, &x)) {
            jfail(c, FW_E_TYPE, at->line, at->col, "join needs an iterable");
            return V_UNDEF();
        }
        jlist *l = iter_list(c, x, at);
        if (!l)
            return V_UNDEF();
        fwi_sbuf o = {0};
        for (size_t i = 0; i < l->n; i++) {
            if (l->v[i].t != JV_STR) {
                fwi_sbuf_free(&o);
                jfail(c, FW_E_TYPE, at->line, at->col, "str.join: item %zu is %s, not str", i, tname(l->v[i]));
                return V_UNDEF();
            }
            if (i)
                fwi_sbuf_put(&o, s->s, s->len);
            fwi_sbuf_put(&o, l->v[i].u.s->s, l->v[i].u.s->len);
        }
        return sbuf_to_val(c, &o);
    }
    jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "unsupported method '%s'", nm);
    return V_UNDEF();
}

static jv call_value(jctx *c, jv fn, const jargs *a, const jnode *at)
{
    jv x;
    switch (fn.t) {
    case JV_MACRO: return call_macro(c, fn.u.m, a, at);
    case JV_METHOD: return call_method(c, fn.u.me, a, at);
    case JV_FUNC:
        switch (fn.u.fn) {
        case FN_RAISE: {
            fwi_sbuf o = {0};
            if (arg(a, 0, NULL, &x))
                put_str(&o, x, 0);
            fwi_sbuf_putc(&o, 0);
            jfail(c, FW_E_INVALID_ARG, at->line, at->col, "raise_exception raised: %s",
                  o.data && !o.failed ? o.data : "");
            fwi_sbuf_free(&o);
            return V_UNDEF();
        }
        case FN_NAMESPACE: case FN_DICT: {
            jdict *d = mkdict(c);
            if (!d)
                return V_UNDEF();
            if (a->np > 1 || (a->np == 1 && a->pos[0].t != JV_DICT)) {
                jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "%s() takes only keyword arguments or one dict",
                      fn.u.fn == FN_DICT ? "dict" : "namespace");
                return V_UNDEF();
            }
            if (a->np == 1)
                for (size_t i = 0; i < a->pos[0].u.d->n; i++)
                    if (dict_set(c, d, a->pos[0].u.d->k[i], a->pos[0].u.d->v[i]))
                        return V_UNDEF();
            for (size_t i = 0; i < a->nk; i++)
                if (dict_set(c, d, V_CSTR(c, a->kn[i]), a->kv[i]))
                    return V_UNDEF();
            jv r = V_UNDEF();
            r.t = fn.u.fn == FN_DICT ? JV_DICT : JV_NS;
            r.u.d = d;
            return r;
        }
        case FN_RANGE: {
            int64_t v3[3] = {0, 0, 1};
            if (a->nk || a->np < 1 || a->np > 3) {
                jfail(c, FW_E_TYPE, at->line, at->col, "range takes 1 to 3 integer arguments");
                return V_UNDEF();
            }
            for (size_t i = 0; i < a->np; i++) {
                if (a->pos[i].t != JV_INT && a->pos[i].t != JV_BOOL) {
                    jfail(c, FW_E_TYPE, at->line, at->col, "range: arguments must be integers");
                    return V_UNDEF();
                }
            }
            if (a->np == 1)
                v3[1] = numi(a->pos[0]);
            else {
                v3[0] = numi(a->pos[0]);
                v3[1] = numi(a->pos[1]);
                if (a->np == 3)
                    v3[2] = numi(a->pos[2]);
            }
            if (v3[2] == 0) {
                jfail(c, FW_E_TYPE, at->line, at->col, "range: step must not be zero");
                return V_UNDEF();
            }
            double cnt = ceil(((double)v3[1] - (double)v3[0]) / (double)v3[2]);
            if (cnt < 0)
                cnt = 0;
            if (cnt > 1e7) {
                jfail(c, FW_E_RANGE, at->line, at->col, "range of %.0f items is too long", cnt);
                return V_UNDEF();
            }
            jlist *l = mklist(c, (size_t)cnt);
            if (!l)
                return V_UNDEF();
            for (size_t i = 0; i < l->n; i++)
                l->v[i] = V_INT(v3[0] + (int64_t)i * v3[2]);
            return V_LIST(l);
        }
        case FN_STRFTIME:
            if (!arg(a, 0, NULL, &x) || need_str(c, x, "strftime_now", at).t != JV_STR) {
                jfail(c, FW_E_TYPE, at->line, at->col, "strftime_now needs a format string");
                return V_UNDEF();
            }
            return fn_strftime(c, x.u.s, at);
        }
        break;
    case JV_UNDEF:
        jfail(c, FW_E_TYPE, at->line, at->col, "call of an undefined value: not callable");
        return V_UNDEF();
    default:
        break;
    }
    jfail(c, FW_E_TYPE, at->line, at->col, "'%s' object is not callable", tname(fn));
    return V_UNDEF();
}

/* ------------------------------------------------------------------------ */
/* Operators                                                                 */
/* ------------------------------------------------------------------------ */

static int py_lt(jctx *c, jv a, jv b, int *res, const jnode *at)
{
    if (isnum(a) && isnum(b)) {
        if (a.t == JV_FLOAT || b.t == JV_FLOAT)
            *res = numf(a) < numf(b);
        else
            *res = numi(a) < numi(b);
        return 0;
    }
    if (a.t == JV_STR && b.t == JV_STR) {
        size_t m = a.u.s->len < b.u.s->len ? a.u.s->len : b.u.s->len;
        int r = memcmp(a.u.s->s, b.u.s->s, m);
        *res = r < 0 || (r == 0 && a.u.s->len < b.u.s->len);
        return 0;
    }
    return jfail(c, FW_E_TYPE, at->line, at->col, "'<' not supported between %s and %s", tname(a), tname(b));
}

static int py_in(jctx *c, jv x, jv cont, const jnode *at)
{
    switch (cont.t) {
    case JV_STR:
        if (x.t != JV_STR)
            return jfail(c, FW_E_TYPE, at->line, at->col, "'in <string>' requires string as left operand, not %s", tname(x));
        return memmem_(cont.u.s->s, cont.u.s->len, x.u.s->s, x.u.s->len) != NULL;
    case JV_LIST:
        for (size_t i = 0; i < cont.u.l->n; i++)
            if (py_eq(x, cont.u.l->v[i]))
                return 1;
        return 0;
    case JV_DICT:
        if ((x.t == JV_LIST && !x.u.l->tuple) || x.t == JV_DICT || x.t == JV_NS)
            return jfail(c, FW_E_TYPE, at->line, at->col, "unhashable type: '%s'", tname(x));
        return dict_get(cont.u.d, x) != NULL;
    case JV_UNDEF:
        return 0;
    default:
        return jfail(c, FW_E_TYPE, at->line, at->col, "argument of type '%s' is not iterable", tname(cont));
    }
}

static jv binop(jctx *c, int op, jv a, jv b, const jnode *at)
{
    if (op == '~') {
        fwi_sbuf o = {0};
        put_str(&o, a, 0);
        put_str(&o, b, 0);
        return sbuf_to_val(c, &o);
    }
    if (a.t == JV_UNDEF || b.t == JV_UNDEF) {
        jfail(c, FW_E_TYPE, at->line, at->col, "operator on an undefined value");
        return V_UNDEF();
    }
    if (op == '+' && a.t == JV_STR && b.t == JV_STR) {
        if (a.u.s->len + b.u.s->len > JMAX_OUT) {
            jfail(c, FW_E_RANGE, at->line, at->col, "string too long");
            return V_UNDEF();
        }
        jstr *r = aalloc(c, sizeof *r + a.u.s->len + b.u.s->len + 1);
        if (!r)
            return V_UNDEF();
        memcpy(r->s, a.u.s->s, a.u.s->len);
        memcpy(r->s + a.u.s->len, b.u.s->s, b.u.s->len + 1);
        r->len = a.u.s->len + b.u.s->len;
        jv v = V_UNDEF();
        v.t = JV_STR;
        v.u.s = r;
        return v;
    }
    if (op == '+' && a.t == JV_LIST && b.t == JV_LIST && a.u.l->tuple == b.u.l->tuple) {
        jlist *l = mklist(c, a.u.l->n + b.u.l->n);
        if (!l)
            return V_UNDEF();
        l->tuple = a.u.l->tuple;
        memcpy(l->v, a.u.l->v, a.u.l->n * sizeof(jv));
        memcpy(l->v + a.u.l->n, b.u.l->v, b.u.l->n * sizeof(jv));
        return V_LIST(l);
    }
    if (op == '*' && ((a.t == JV_STR || a.t == JV_LIST) && (b.t == JV_INT || b.t == JV_BOOL))) {
        int64_t k = numi(b);
        if (k < 0)
            k = 0;
        size_t unit = a.t == JV_STR ? a.u.s->len : a.u.l->n;
        if (unit && (uint64_t)k > JMAX_OUT / unit) {
            jfail(c, FW_E_RANGE, at->line, at->col, "repetition result too long");
            return V_UNDEF();
        }
        if (a.t == JV_STR) {
            fwi_sbuf o = {0};
            for (int64_t i = 0; i < k; i++)
                fwi_sbuf_put(&o, a.u.s->s, unit);
            return sbuf_to_val(c, &o);
        }
        jlist *l = mklist(c, unit * (size_t)k);
        if (!l)
            return V_UNDEF();
        l->tuple = a.u.l->tuple;
        for (int64_t i = 0; i < k; i++)
            memcpy(l->v + (size_t)i * unit, a.u.l->v, unit * sizeof(jv));
        return V_LIST(l);
    }
    if (op == '*' && (b.t == JV_STR || b.t == JV_LIST) && (a.t == JV_INT || a.t == JV_BOOL))
        return binop(c, op, b, a, at);
    if (op == '%' && a.t == JV_STR) {
        jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "unsupported printf-style string formatting ('%%')");
        return V_UNDEF();
    }
    if (!isnum(a) || !isnum(b)) {
        char ops[3] = {(char)(op < 256 ? op : '/'), op == OP_FLOORDIV ? '/' : op == OP_POW ? '*' : 0, 0};
        if (op == OP_POW) ops[0] = '*';
        jfail(c, FW_E_TYPE, at->line, at->col, "unsupported operand types for %s: %s and %s", ops, tname(a), tname(b));
        return V_UNDEF();
    }
    int isf = a.t == JV_FLOAT || b.t == JV_FLOAT;
    if (op == '/') {
        if (numf(b) == 0.0) {
            jfail(c, FW_E_TYPE, at->line, at->col, "division by zero");
            return V_UNDEF();
        }
        return V_FLOAT(numf(a) / numf(b));
    }
    if (isf) {
        double x = numf(a), y = numf(b);
        switch (op) {
        case '+': return V_FLOAT(x + y);
        case '-': return V_FLOAT(x - y);
        case '*': return V_FLOAT(x * y);
        case OP_POW: return V_FLOAT(pow(x, y));
        case OP_FLOORDIV: case '%':
            if (y == 0.0) {
                jfail(c, FW_E_TYPE, at->line, at->col, "float division by zero");
                return V_UNDEF();
            }
            if (op == OP_FLOORDIV)
                return V_FLOAT(floor(x / y));
            {
                double m = fmod(x, y);
                if (m != 0 && ((m < 0) != (y < 0)))
                    m += y;
                return V_FLOAT(m);
            }
        }
    }
    int64_t x = numi(a), y = numi(b), r = 0;
    int ovf = 0;
    switch (op) {
    case '+': ovf = __builtin_add_overflow(x, y, &r); break;
    case '-': ovf = __builtin_sub_overflow(x, y, &r); break;
    case '*': ovf = __builtin_mul_overflow(x, y, &r); break;
    case OP_FLOORDIV: case '%':
        if (y == 0) {
            jfail(c, FW_E_TYPE, at->line, at->col, "integer division or modulo by zero");
            return V_UNDEF();
        }
        if (x == INT64_MIN && y == -1) { ovf = 1; break; }
        {
            int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) {
                q--;
                m += y;
            }
            r = op == '%' ? m : q;
        }
        break;
    case OP_POW:
        if (y < 0)
            return V_FLOAT(pow((double)x, (double)y));
        r = 1;
        for (int64_t i = 0; i < y && !ovf; i++) {
            ovf = __builtin_mul_overflow(r, x, &r);
            if (r == 0 || r == 1)
                break;
        }
        if (r == 1 && x == -1)
            r = (y % 2) ? -1 : 1;
        break;
    }
    if (ovf) {
        jfail(c, FW_E_RANGE, at->line, at->col, "integer overflow (beyond 64 bits)");
        return V_UNDEF();
    }
    return V_INT(r);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

/* Returns 0/1, or -1 on error. */
static int run_test(jctx *c, const char *nm, jv v, const jargs *a, const jnode *at)
{
    jv x;
    int r;
    if (!strcmp(nm, "defined")) return v.t != JV_UNDEF;
    if (!strcmp(nm, "undefined")) return v.t == JV_UNDEF;
    if (!strcmp(nm, "none")) return v.t == JV_NONE;
    if (!strcmp(nm, "string")) return v.t == JV_STR;
    if (!strcmp(nm, "number")) return isnum(v);
    if (!strcmp(nm, "integer")) return v.t == JV_INT;
    if (!strcmp(nm, "float")) return v.t == JV_FLOAT;
    if (!strcmp(nm, "boolean")) return v.t == JV_BOOL;
    if (!strcmp(nm, "true")) return v.t == JV_BOOL && v.u.b;
    if (!strcmp(nm, "false")) return v.t == JV_BOOL && !v.u.b;
    if (!strcmp(nm, "mapping")) return v.t == JV_DICT;
    if (!strcmp(nm, "iterable")) return v.t == JV_STR || v.t == JV_LIST || v.t == JV_DICT || v.t == JV_UNDEF;
    if (!strcmp(nm, "sequence")) return v.t == JV_STR || v.t == JV_LIST || v.t == JV_DICT || v.t == JV_UNDEF;
    if (!strcmp(nm, "callable")) return v.t == JV_MACRO || v.t == JV_FUNC || v.t == JV_METHOD;
    if (!strcmp(nm, "lower") || !strcmp(nm, "upper")) {
        if (v.t != JV_STR) return 0;
        jv t = str_case(c, v.u.s, nm[0]);
        return c->st ? -1 : py_eq(t, v);
    }
    if (!strcmp(nm, "odd") || !strcmp(nm, "even")) { /* value % 2 == 1 / == 0 */
        if (!isnum(v))
            return jfail(c, FW_E_TYPE, at->line, at->col, "test '%s' needs a number", nm);
        jv m = binop(c, '%', v, V_INT(2), at);
        if (c->st)
            return -1;
        return py_eq(m, V_INT(nm[0] == 'o' ? 1 : 0));
    }
    if (!arg(a, 0, NULL, &x))
        return jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "unsupported test '%s' (or missing argument)", nm);
    if (!strcmp(nm, "divisibleby")) {
        if ((v.t != JV_INT && v.t != JV_BOOL) || (x.t != JV_INT && x.t != JV_BOOL) || numi(x) == 0)
            return jfail(c, FW_E_TYPE, at->line, at->col, "test 'divisibleby' needs nonzero integers");
        return numi(x) == -1 ? 1 : numi(v) % numi(x) == 0;
    }
    if (!strcmp(nm, "equalto") || !strcmp(nm, "eq") || !strcmp(nm, "==")) return py_eq(v, x);
    if (!strcmp(nm, "ne") || !strcmp(nm, "!=")) return !py_eq(v, x);
    if (!strcmp(nm, "sameas")) {
        if (v.t != x.t) return 0;
        if (v.t == JV_NONE || v.t == JV_UNDEF) return 1;
        if (v.t == JV_BOOL) return v.u.b == x.u.b;
        return py_eq(v, x) && (v.t == JV_INT ? v.u.i >= -5 && v.u.i <= 256 : 0);
    }
    if (!strcmp(nm, "in")) return py_in(c, v, x, at);
    if (!strcmp(nm, "lt") || !strcmp(nm, "<")) return py_lt(c, v, x, &r, at) ? -1 : r;
    if (!strcmp(nm, "gt") || !strcmp(nm, ">")) return py_lt(c, x, v, &r, at) ? -1 : r;
    if (!strcmp(nm, "le") || !strcmp(nm, "<=")) return py_lt(c, x, v, &r, at) ? -1 : !r;
    if (!strcmp(nm, "ge") || !strcmp(nm, ">=")) return py_lt(c, v, x, &r, at) ? -1 : !r;
    return jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "unsupported test '%s'", nm);
}

/* ------------------------------------------------------------------------ */
/* Filters                                                                   */
/* ------------------------------------------------------------------------ */

static jv apply_filter(jctx *c, const char *nm, jv v, const jargs *a, const jnode *at);

/* An attribute path "a.b" as Jinja's make_attrgetter. */
static jv attr_path(jctx *c, jv v, const jstr *path, const jnode *at)
{
    size_t i = 0;
    while (i <= path->len) {
        const char *dot = memchr(path->s + i, '.', path->len - i);
        size_t e = dot ? (size_t)(dot - path->s) : path->len;
        jv key = V_STR(c, path->s + i, e - i);
        int isint = e > i;
        for (size_t q = i; q < e; q++)
            isint &= is_digit(path->s[q]);
        if (isint)
            key = V_INT(strtoll(key.u.s->s, NULL, 10));
        if (v.t == JV_UNDEF)
            return v;
        v = get_item(c, v, key, at);
        if (c->st)
            return V_UNDEF();
        if (!dot)
            break;
        i = e + 1;
    }
    return v;
}

static jv filt_select(jctx *c, const char *nm, jv v, const jargs *a, const jnode *at)
{
    int isattr = !strcmp(nm, "selectattr") || !strcmp(nm, "rejectattr");
    int reject = nm[0] == 'r';
    jlist *l = iter_list(c, v, at);
    if (!l)
        return V_UNDEF();
    if (a->nk) {
        jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "filter '%s': keyword arguments are not supported", nm);
        return V_UNDEF();
    }
    size_t off = 0;
    jv attr = V_UNDEF(), test = V_UNDEF();
    if (isattr) {
        if (a->np < 1 || a->pos[0].t != JV_STR) {
            jfail(c, FW_E_TYPE, at->line, at->col, "filter '%s' needs an attribute name", nm);
            return V_UNDEF();
        }
        attr = a->pos[0];
        off = 1;
    }
    if (a->np > off) {
        test = a->pos[off];
        if (test.t != JV_STR) {
            jfail(c, FW_E_TYPE, at->line, at->col, "filter '%s': test name must be a string", nm);
            return V_UNDEF();
        }
    }
    jargs ta = {0};
    ta.np = a->np > off + 1 ? a->np - off - 1 : 0;
    ta.pos = a->pos + off + 1;
    jlist *r = mklist(c, l->n);
    if (!r)
        return V_UNDEF();
    r->n = 0;
    for (size_t i = 0; i < l->n; i++) {
        jv item = isattr ? attr_path(c, l->v[i], attr.u.s, at) : l->v[i];
        if (c->st)
            return V_UNDEF();
        int ok = test.t == JV_STR ? run_test(c, test.u.s->s, item, &ta, at) : truthy(item);
        if (ok < 0)
            return V_UNDEF();
        if (ok != reject)
            r->v[r->n++] = l->v[i];
    }
    return V_LIST(r);
}

static jv apply_filter(jctx *c, const char *nm, jv v, const jargs *a, const jnode *at)
{
    jv x;
    if (!strcmp(nm, "trim")) {
        if (check_args(c, a, 1, NULL, nm, at))
            return V_UNDEF();
        jv s = to_strv(c, v);
        if (c->st)
            return V_UNDEF();
        const jstr *chars = NULL;
        if (arg(a, 0, "chars", &x) && x.t != JV_NONE) {
            if (need_str(c, x, nm, at).t != JV_STR)
                return V_UNDEF();
            chars = x.u.s;
        }
        size_t b, e;
        py_strip(s.u.s->s, s.u.s->len, chars, 3, &b, &e);
        return V_STR(c, s.u.s->s + b, e - b);
    }
    if (!strcmp(nm, "upper") || !strcmp(nm, "lower") || !strcmp(nm, "capitalize") || !strcmp(nm, "title")) {
        jv s = to_strv(c, v);
        if (c->st)
            return V_UNDEF();
        return str_case(c, s.u.s, nm[0] == 'u' ? 'u' : nm[0] == 'l' ? 'l' : nm[0] == 'c' ? 'c' : 'T');
    }
    if (!strcmp(nm, "length") || !strcmp(nm, "count")) {
        switch (v.t) {
        case JV_STR: return V_INT((int64_t)u8count(v.u.s->s, v.u.s->len));
        case JV_LIST: return V_INT((int64_t)v.u.l->n);
        case JV_DICT: case JV_NS: return V_INT((int64_t)v.u.d->n);
        case JV_UNDEF: return V_INT(0);
        default:
            jfail(c, FW_E_TYPE, at->line, at->col, "object of type '%s' has no len()", tname(v));
            return V_UNDEF();
        }
    }
    if (!strcmp(nm, "string"))
        return to_strv(c, v);
    if (!strcmp(nm, "safe"))
        return v;
    if (!strcmp(nm, "escape") || !strcmp(nm, "e")) {
        jv s = to_strv(c, v);
        if (c->st)
            return V_UNDEF();
        fwi_sbuf o = {0};
        for (size_t i = 0; i < s.u.s->len; i++) {
            char ch = s.u.s->s[i];
            switch (ch) {
            case '&': fwi_sbuf_puts(&o, "&amp;"); break;
            case '<': fwi_sbuf_puts(&o, "&lt;"); break;
            case '>': fwi_sbuf_puts(&o, "&gt;"); break;
            case '"': fwi_sbuf_puts(&o, "&#34;"); break;
            case '\'': fwi_sbuf_puts(&o, "&#39;"); break;
            default: fwi_sbuf_putc(&o, ch);
            }
        }
        return sbuf_to_val(c, &o);
    }
    if (!strcmp(nm, "list")) {
        jlist *l = iter_list(c, v, at);
        if (!l)
            return V_UNDEF();
        jlist *r = mklist(c, l->n);
        if (!r)
            return V_UNDEF();
        memcpy(r->v, l->v, l->n * sizeof(jv));
        return V_LIST(r);
    }
    if (!strcmp(nm, "join")) {
        static const char *const kw[] = {"d", "attribute", NULL};
        if (check_args(c, a, 2, kw, nm, at))
            return V_UNDEF();
        jlist *l = iter_list(c, v, at);
        if (!l)
            return V_UNDEF();
        jv sep = V_UNDEF(), attr = V_UNDEF();
        arg(a, 0, "d", &sep);
        arg(a, 1, "attribute", &attr);
        fwi_sbuf o = {0};
        for (size_t i = 0; i < l->n; i++) {
            if (i)
                put_str(&o, sep, 0);
            jv item = l->v[i];
            if (attr.t == JV_STR)
                item = attr_path(c, item, attr.u.s, at);
            put_str(&o, item, 0);
        }
        return sbuf_to_val(c, &o);
    }
    if (!strcmp(nm, "items")) {
        if (v.t == JV_UNDEF)
            return V_LIST(mklist(c, 0));
        if (v.t != JV_DICT) {
            jfail(c, FW_E_TYPE, at->line, at->col, "filter 'items' needs a mapping, got %s", tname(v));
            return V_UNDEF();
        }
        jmethod m = {v, "items"};
        jargs none = {0};
        return call_method(c, &m, &none, at);
    }
    if (!strcmp(nm, "tojson")) {
        static const char *const kw[] = {"indent", "ensure_ascii", "sort_keys", "separators", NULL};
        if (check_args(c, a, 1, kw, nm, at))
            return V_UNDEF();
        int indent = -1, sort_keys = 0;
        if (arg(a, 0, "indent", &x) && x.t != JV_NONE) {
            if (x.t != JV_INT || x.u.i < 0 || x.u.i > 64) {
                jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "tojson: indent must be an integer 0..64");
                return V_UNDEF();
            }
            indent = (int)x.u.i;
        }
        if (arg(a, 9, "ensure_ascii", &x) && truthy(x)) {
            jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "tojson: ensure_ascii=True is not supported");
            return V_UNDEF();
        }
        if (arg(a, 9, "separators", &x) && x.t != JV_NONE) {
            jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "tojson: separators are not supported");
            return V_UNDEF();
        }
        if (arg(a, 9, "sort_keys", &x))
            sort_keys = truthy(x);
        fwi_sbuf o = {0};
        if (put_json(c, &o, v, indent, 0, sort_keys, at)) {
            fwi_sbuf_free(&o);
            return V_UNDEF();
        }
        return sbuf_to_val(c, &o);
    }
    if (!strcmp(nm, "first") || !strcmp(nm, "last")) {
        jlist *l = iter_list(c, v, at);
        if (!l)
            return V_UNDEF();
        if (!l->n)
            return V_UNDEF();
        return nm[0] == 'f' ? l->v[0] : l->v[l->n - 1];
    }
    if (!strcmp(nm, "default") || !strcmp(nm, "d")) {
        static const char *const kw[] = {"default_value", "boolean", NULL};
        if (check_args(c, a, 2, kw, nm, at))
            return V_UNDEF();
        jv dv = V_CSTR(c, ""), bo = V_BOOL(0);
        arg(a, 0, "default_value", &dv);
        arg(a, 1, "boolean", &bo);
        if (v.t == JV_UNDEF || (truthy(bo) && !truthy(v)))
            return dv;
        return v;
    }
    if (!strcmp(nm, "int") || !strcmp(nm, "float")) {
        if (v.t == JV_UNDEF) {
            jfail(c, FW_E_TYPE, at->line, at->col, "filter '%s' of an undefined value", nm);
            return V_UNDEF();
        }
        jv dv = nm[0] == 'i' ? V_INT(0) : V_FLOAT(0.0);
        arg(a, 0, "default", &dv);
        if (v.t == JV_STR) {
            char *end;
            const char *s = v.u.s->s;
            if (nm[0] == 'i') {
                long long r = strtoll(s, &end, 10);
                if (end != s && *end == 0)
                    return V_INT(r);
            }
            double d = strtod(s, &end);
            if (end != s && *end == 0 && (nm[0] == 'f' || isfinite(d)))
                return nm[0] == 'i' ? (fabs(d) < 9.2e18 ? V_INT((int64_t)d) : dv) : V_FLOAT(d);
            return dv;
        }
        if (isnum(v)) {
            if (nm[0] == 'f')
                return V_FLOAT(numf(v));
            if (v.t == JV_FLOAT)
                return isfinite(v.u.f) && fabs(v.u.f) < 9.2e18 ? V_INT((int64_t)v.u.f) : dv;
            return V_INT(numi(v));
        }
        return dv;
    }
    if (!strcmp(nm, "abs")) {
        if (v.t == JV_FLOAT)
            return V_FLOAT(fabs(v.u.f));
        if (v.t == JV_INT || v.t == JV_BOOL) {
            if (numi(v) == INT64_MIN) {
                jfail(c, FW_E_RANGE, at->line, at->col, "integer overflow");
                return V_UNDEF();
            }
            return V_INT(numi(v) < 0 ? -numi(v) : numi(v));
        }
        jfail(c, FW_E_TYPE, at->line, at->col, "bad operand type for abs(): %s", tname(v));
        return V_UNDEF();
    }
    if (!strcmp(nm, "reverse")) {
        if (v.t == JV_STR) {
            jv nn = V_NONE(), st = V_INT(-1);
            return get_slice(c, v, nn, nn, st, at);
        }
        jlist *l = iter_list(c, v, at);
        if (!l)
            return V_UNDEF();
        jlist *r = mklist(c, l->n);
        if (!r)
            return V_UNDEF();
        for (size_t i = 0; i < l->n; i++)
            r->v[i] = l->v[l->n - 1 - i];
        return V_LIST(r);
    }
    if (!strcmp(nm, "replace")) {
        jv s = to_strv(c, v), o1, o2, n3 = V_INT(-1);
        if (c->st)
            return V_UNDEF();
        if (!arg(a, 0, "old", &o1) || !arg(a, 1, "new", &o2) || (arg(a, 2, "count", &n3) && n3.t != JV_INT && n3.t != JV_NONE)) {
            jfail(c, FW_E_TYPE, at->line, at->col, "filter 'replace' needs (old, new[, count])");
            return V_UNDEF();
        }
        o1 = to_strv(c, o1);
        o2 = to_strv(c, o2);
        if (c->st)
            return V_UNDEF();
        return str_replace(c, s.u.s, o1.u.s, o2.u.s, n3.t == JV_INT ? n3.u.i : -1);
    }
    if (!strcmp(nm, "select") || !strcmp(nm, "reject") || !strcmp(nm, "selectattr") ||
        !strcmp(nm, "rejectattr"))
        return filt_select(c, nm, v, a, at);
    if (!strcmp(nm, "map")) {
        jlist *l = iter_list(c, v, at);
        if (!l)
            return V_UNDEF();
        jlist *r = mklist(c, l->n);
        if (!r)
            return V_UNDEF();
        jv attr, dflt = V_UNDEF();
        if (a->np == 0 && arg(a, 99, "attribute", &attr)) {
            if (attr.t != JV_STR) {
                jfail(c, FW_E_TYPE, at->line, at->col, "map: attribute must be a string");
                return V_UNDEF();
            }
            arg(a, 99, "default", &dflt);
            for (size_t i = 0; i < l->n; i++) {
                r->v[i] = attr_path(c, l->v[i], attr.u.s, at);
                if (r->v[i].t == JV_UNDEF)
                    r->v[i] = dflt;
            }
        } else if (a->np >= 1 && a->pos[0].t == JV_STR) {
            jargs fa = *a;
            fa.pos++;
            fa.np--;
            for (size_t i = 0; i < l->n && !c->st; i++)
                r->v[i] = apply_filter(c, a->pos[0].u.s->s, l->v[i], &fa, at);
        } else {
            jfail(c, FW_E_TYPE, at->line, at->col, "map needs a filter name or attribute=");
            return V_UNDEF();
        }
        return c->st ? V_UNDEF() : V_LIST(r);
    }
    jfail(c, FW_E_UNSUPPORTED, at->line, at->col, "unsupported filter '%s'", nm);
    return V_UNDEF();
}

/* ------------------------------------------------------------------------ */
/* Expressions and statements                                                */
/* ------------------------------------------------------------------------ */

static jv eval_inner(jctx *c, const jnode *nd, jframe *f)
{
    jv a, b;
    switch (nd->k) {
    case N_LIT:
        return nd->lit;
    case N_NAME: {
        jv *p = frame_find(f, nd->name);
        return p ? *p : V_UNDEF();
    }
    case N_LIST: case N_TUPLE: {
        jlist *l = mklist(c, nd->nkids);
        if (!l)
            return V_UNDEF();
        l->tuple = nd->k == N_TUPLE;
        for (size_t i = 0; i < nd->nkids; i++) {
            l->v[i] = eval(c, nd->kids[i], f);
            if (c->st)
                return V_UNDEF();
        }
        return V_LIST(l);
    }
    case N_DICT: {
        jdict *d = mkdict(c);
        if (!d)
            return V_UNDEF();
        for (size_t i = 0; i < nd->nkids; i++) {
            a = eval(c, nd->kids[i], f);
            b = c->st ? a : eval(c, nd->kids2[i], f);
            if (c->st)
                return V_UNDEF();
            if (a.t == JV_LIST && !a.u.l->tuple) {
                jfail(c, FW_E_TYPE, nd->line, nd->col, "unhashable type: 'list'");
                return V_UNDEF();
            }
            if (a.t == JV_DICT || a.t == JV_UNDEF) {
                jfail(c, FW_E_TYPE, nd->line, nd->col, "unhashable dict key of type %s", tname(a));
                return V_UNDEF();
            }
            if (dict_set(c, d, a, b))
                return V_UNDEF();
        }
        jv r = V_UNDEF();
        r.t = JV_DICT;
        r.u.d = d;
        return r;
    }
    case N_ATTR:
        a = eval(c, nd->a, f);
        return c->st ? a : get_attr(c, a, nd->name, nd);
    case N_ITEM:
        a = eval(c, nd->a, f);
        b = c->st ? a : eval(c, nd->b, f);
        return c->st ? a : get_item(c, a, b, nd);
    case N_SLICE: {
        a = eval(c, nd->a, f);
        jv lo = nd->b ? eval(c, nd->b, f) : V_NONE();
        jv hi = nd->c ? eval(c, nd->c, f) : V_NONE();
        jv st = nd->d ? eval(c, nd->d, f) : V_NONE();
        if (c->st)
            return V_UNDEF();
        if (a.t == JV_UNDEF) {
            jfail(c, FW_E_TYPE, nd->line, nd->col, "slice of an undefined value");
            return V_UNDEF();
        }
        return get_slice(c, a, lo, hi, st, nd);
    }
    case N_CALL: {
        if (nd->a->k == N_ATTR) { /* obj.method(...) */
            b = eval(c, nd->a->a, f);
            a = c->st ? b : get_attr(c, b, nd->a->name, nd->a);
            if (!c->st && a.t == JV_UNDEF &&
                (b.t == JV_STR || b.t == JV_LIST || b.t == JV_DICT)) {
                jfail(c, FW_E_UNSUPPORTED, nd->a->line, nd->a->col,
                      "unsupported method '%s' of %s", nd->a->name, tname(b));
                return V_UNDEF();
            }
        } else {
            a = eval(c, nd->a, f);
        }
        jargs args;
        if (c->st || eval_args(c, nd, f, &args, NULL))
            return V_UNDEF();
        return call_value(c, a, &args, nd);
    }
    case N_FILTER: {
        a = eval(c, nd->a, f);
        jargs args;
        if (c->st || eval_args(c, nd, f, &args, NULL))
            return V_UNDEF();
        return apply_filter(c, nd->name, a, &args, nd);
    }
    case N_TEST: {
        a = eval(c, nd->a, f);
        jargs args;
        if (c->st || eval_args(c, nd, f, &args, NULL))
            return V_UNDEF();
        int r = run_test(c, nd->name, a, &args, nd);
        return r < 0 ? V_UNDEF() : V_BOOL(nd->op ? !r : r);
    }
    case N_NOT:
        a = eval(c, nd->a, f);
        return c->st ? a : V_BOOL(!truthy(a));
    case N_AND:
        a = eval(c, nd->a, f);
        if (c->st || !truthy(a))
            return a;
        return eval(c, nd->b, f);
    case N_OR:
        a = eval(c, nd->a, f);
        if (c->st || truthy(a))
            return a;
        return eval(c, nd->b, f);
    case N_NEG: case N_POS:
        a = eval(c, nd->a, f);
        if (c->st)
            return a;
        if (!isnum(a)) {
            jfail(c, FW_E_TYPE, nd->line, nd->col, "bad operand type for unary %c: %s",
                  nd->k == N_NEG ? '-' : '+', tname(a));
            return V_UNDEF();
        }
        if (nd->k == N_POS)
            return a.t == JV_BOOL ? V_INT(a.u.b) : a;
        if (a.t == JV_FLOAT)
            return V_FLOAT(-a.u.f);
        if (numi(a) == INT64_MIN) {
            jfail(c, FW_E_RANGE, nd->line, nd->col, "integer overflow");
            return V_UNDEF();
        }
        return V_INT(-numi(a));
    case N_BIN:
        a = eval(c, nd->a, f);
        b = c->st ? a : eval(c, nd->b, f);
        return c->st ? a : binop(c, nd->op, a, b, nd);
    case N_CMP: {
        a = eval(c, nd->a, f);
        for (size_t i = 0; i < nd->nkids && !c->st; i++) {
            b = eval(c, nd->kids[i], f);
            if (c->st)
                break;
            int op = nd->kids2[i]->op, r = 0;
            const jnode *at = nd->kids2[i];
            switch (op) {
            case OP_EQ: r = py_eq(a, b); break;
            case OP_NE: r = !py_eq(a, b); break;
            case '<': if (py_lt(c, a, b, &r, at)) return V_UNDEF(); break;
            case '>': if (py_lt(c, b, a, &r, at)) return V_UNDEF(); break;
            case OP_LE: if (py_lt(c, b, a, &r, at)) return V_UNDEF(); r = !r; break;
            case OP_GE: if (py_lt(c, a, b, &r, at)) return V_UNDEF(); r = !r; break;
            case CMP_IN: case CMP_NOTIN:
                r = py_in(c, a, b, at);
                if (r < 0)
                    return V_UNDEF();
                if (op == CMP_NOTIN)
                    r = !r;
                break;
            }
            if (!r)
                return V_BOOL(0);
            a = b;
        }
        return c->st ? V_UNDEF() : V_BOOL(1);
    }
    case N_COND:
        a = eval(c, nd->a, f);
        if (c->st)
            return a;
        if (truthy(a))
            return eval(c, nd->b, f);
        return nd->c ? eval(c, nd->c, f) : V_UNDEF();
    default:
        jfail(c, FW_E_INTERNAL, nd->line, nd->col, "bad expression node %d", (int)nd->k);
        return V_UNDEF();
    }
}

static jv eval(jctx *c, const jnode *nd, jframe *f)
{
    if (c->st || step(c, nd))
        return V_UNDEF();
    if (++c->depth > 4 * JMAX_DEPTH) {
        jfail(c, FW_E_RANGE, nd->line, nd->col, "evaluation nested too deeply");
        return V_UNDEF();
    }
    jv r = eval_inner(c, nd, f);
    c->depth--;
    return r;
}

/* Assign v to a target (name, tuple of names, ns.attr). */
static int assign(jctx *c, const jnode *t, jv v, jframe *f)
{
    if (t->k == N_NAME)
        return frame_set(c, f, t->name, v);
    if (t->k == N_ATTR) {
        jv ns = eval(c, t->a, f);
        if (c->st)
            return -1;
        if (ns.t != JV_NS)
            return jfail(c, FW_E_TYPE, t->line, t->col, "cannot assign attribute on non-namespace object (%s)", tname(ns));
        return dict_set(c, ns.u.d, V_CSTR(c, t->name), v);
    }
    /* tuple unpacking */
    jlist *l = iter_list(c, v, t);
    if (!l)
        return -1;
    if (l->n != t->nkids)
        return jfail(c, FW_E_TYPE, t->line, t->col, "cannot unpack %zu values into %zu names", l->n, t->nkids);
    for (size_t i = 0; i < t->nkids; i++)
        if (assign(c, t->kids[i], l->v[i], f))
            return -1;
    return 0;
}

static int out_check(jctx *c, fwi_sbuf *out, const jnode *nd)
{
    if (out->failed)
        return jfail(c, FW_E_NOMEM, 0, 0, "out of memory");
    if (out->len > JMAX_OUT)
        return jfail(c, FW_E_RANGE, nd->line, nd->col, "output longer than %zu bytes", JMAX_OUT);
    return 0;
}

enum { EX_OK = 0, EX_BREAK = 1, EX_CONTINUE = 2 };

static int exec_node(jctx *c, const jnode *nd, jframe *f, fwi_sbuf *out);

static int exec_body(jctx *c, const jnode *body, jframe *f, fwi_sbuf *out)
{
    if (!body)
        return 0;
    if (++c->depth > 4 * JMAX_DEPTH)
        return jfail(c, FW_E_RANGE, body->line, body->col, "statements nested too deeply");
    for (size_t i = 0; i < body->nkids; i++) {
        int r = exec_node(c, body->kids[i], f, out);
        if (r) {
            c->depth--;
            return r;
        }
    }
    c->depth--;
    return 0;
}

static int exec_for(jctx *c, const jnode *nd, jframe *f, fwi_sbuf *out)
{
    jv it = eval(c, nd->b, f);
    if (c->st)
        return -1;
    jlist *l = iter_list(c, it, nd->b);
    if (!l)
        return -1;
    jframe *fr = azalloc(c, sizeof *fr);
    if (!fr)
        return -1;
    fr->parent = f;
    if (nd->c) { /* for ... if cond: filter first */
        jlist *r = mklist(c, l->n);
        if (!r)
            return -1;
        r->n = 0;
        for (size_t i = 0; i < l->n; i++) {
            if (assign(c, nd->a, l->v[i], fr))
                return -1;
            jv cond = eval(c, nd->c, fr);
            if (c->st)
                return -1;
            if (truthy(cond))
                r->v[r->n++] = l->v[i];
        }
        l = r;
        fr->n = 0;
    }
    if (l->n == 0)
        return exec_body(c, nd->kids[1], fr, out) < 0 ? -1 : 0;
    jloop *lp = aalloc(c, sizeof *lp);
    if (!lp)
        return -1;
    lp->items = l;
    jv lv = V_UNDEF();
    lv.t = JV_LOOP;
    lv.u.lp = lp;
    for (size_t i = 0; i < l->n; i++) {
        lp->i = i;
        /* Jinja: each iteration starts from the enclosing scope; what the
         * body sets lasts until the end of its iteration */
        jframe *it_fr = fr;
        if (fr->captured) {
            it_fr = fr = azalloc(c, sizeof *it_fr);
            if (!it_fr)
                return -1;
            it_fr->parent = f;
        }
        it_fr->n = 0;
        if (step(c, nd) || assign(c, nd->a, l->v[i], it_fr) || frame_set(c, it_fr, "loop", lv))
            return -1;
        int r = exec_body(c, nd->kids[0], it_fr, out);
        if (r < 0)
            return -1;
        if (r == EX_BREAK)
            break;
    }
    return 0;
}

static int exec_node(jctx *c, const jnode *nd, jframe *f, fwi_sbuf *out)
{
    if (c->st || step(c, nd))
        return -1;
    switch (nd->k) {
    case N_TEXT:
        fwi_sbuf_put(out, nd->lit.u.s->s, nd->lit.u.s->len);
        return out_check(c, out, nd);
    case N_OUT: {
        jv v = eval(c, nd->a, f);
        if (c->st)
            return -1;
        put_str(out, v, 0);
        return out_check(c, out, nd);
    }
    case N_IF: {
        jv v = eval(c, nd->a, f);
        if (c->st)
            return -1;
        if (truthy(v))
            return exec_body(c, nd->b, f, out);
        if (!nd->c)
            return 0;
        if (nd->c->k == N_IF)
            return exec_node(c, nd->c, f, out);
        return exec_body(c, nd->c, f, out);
    }
    case N_FOR:
        return exec_for(c, nd, f, out);
    case N_SET: {
        jv v = eval(c, nd->b, f);
        if (c->st)
            return -1;
        return assign(c, nd->a, v, f) ? -1 : 0;
    }
    case N_SETBLOCK: {
        fwi_sbuf o = {0};
        if (exec_body(c, nd->b, f, &o) < 0) {
            fwi_sbuf_free(&o);
            return -1;
        }
        jv v = sbuf_to_val(c, &o);
        return c->st || assign(c, nd->a, v, f) ? -1 : 0;
    }
    case N_MACRO: {
        jmacro *mc = aalloc(c, sizeof *mc);
        if (!mc)
            return -1;
        mc->node = nd;
        mc->frame = f;
        for (jframe *q = f; q; q = q->parent)
            q->captured = 1;
        jv v = V_UNDEF();
        v.t = JV_MACRO;
        v.u.m = mc;
        return frame_set(c, f, nd->name, v) ? -1 : 0;
    }
    case N_BODY:
        return exec_body(c, nd, f, out);
    case N_BREAK: return EX_BREAK;
    case N_CONTINUE: return EX_CONTINUE;
    default:
        return jfail(c, FW_E_INTERNAL, nd->line, nd->col, "bad statement node %d", (int)nd->k);
    }
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */
/* ------------------------------------------------------------------------ */

static jv from_json(jctx *c, const fwi_json *j, int depth)
{
    if (depth > FWI_JSON_MAX_DEPTH + 2) {
        jfail(c, FW_E_RANGE, 0, 0, "JSON input nested too deeply");
        return V_UNDEF();
    }
    switch (fwi_json_type_of(j)) {
    case FWI_JSON_NULL: return V_NONE();
    case FWI_JSON_FALSE: return V_BOOL(0);
    case FWI_JSON_TRUE: return V_BOOL(1);
    case FWI_JSON_NUMBER: {
        int64_t i;
        if (fwi_json_num_int(j, &i))
            return V_INT(i);
        return V_FLOAT(fwi_json_num(j));
    }
    case FWI_JSON_STRING: {
        size_t n;
        const char *s = fwi_json_str(j, &n);
        return V_STR(c, s, n);
    }
    case FWI_JSON_ARRAY: {
        jlist *l = mklist(c, fwi_json_len(j));
        if (!l)
            return V_UNDEF();
        for (size_t i = 0; i < l->n; i++) {
            l->v[i] = from_json(c, fwi_json_at(j, i), depth + 1);
            if (c->st)
                return V_UNDEF();
        }
        return V_LIST(l);
    }
    case FWI_JSON_OBJECT: {
        jdict *d = mkdict(c);
        if (!d)
            return V_UNDEF();
        size_t n = fwi_json_len(j);
        d->k = aalloc_arr(c, n + 1, sizeof(jv));
        d->v = aalloc_arr(c, n + 1, sizeof(jv));
        if (!d->k || !d->v)
            return V_UNDEF();
        d->cap = n + 1;
        for (size_t i = 0; i < n; i++) { /* keys are unique: append */
            size_t kl;
            const char *k = fwi_json_key_at(j, i, &kl);
            d->k[i] = V_STR(c, k, kl);
            d->v[i] = from_json(c, fwi_json_at(j, i), depth + 1);
            if (c->st)
                return V_UNDEF();
        }
        d->n = n;
        jv r = V_UNDEF();
        r.t = JV_DICT;
        r.u.d = d;
        return r;
    }
    }
    return V_UNDEF();
}

static int set_global(jctx *c, const char *name, jv v)
{
    return c->st ? -1 : frame_set(c, c->root, name, v);
}

static jv V_FN(int fn) { jv v = V_UNDEF(); v.t = JV_FUNC; v.u.fn = fn; return v; }

static int render(jctx *c, const fwi_jinja_input *in, fwi_sbuf *out)
{
    /* Jinja's lexer: newlines normalized to \n, one trailing newline dropped */
    char *src = aalloc(c, in->tmpl_len + 1);
    if (!src)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < in->tmpl_len; i++) {
        char ch = in->tmpl[i];
        if (ch == '\r') {
            if (i + 1 < in->tmpl_len && in->tmpl[i + 1] == '\n')
                i++;
            ch = '\n';
        }
        src[n++] = ch;
    }
    if (n && src[n - 1] == '\n')
        n--;
    src[n] = 0;

    jlex L = {0};
    L.c = c;
    L.s = src;
    L.n = n;
    L.lc_line = 1;
    if (lex_all(&L))
        return -1;
    jparse P = {0};
    P.c = c;
    P.t = L.toks;
    P.n = L.nt;
    const char *w = NULL;
    jnode *body = p_body(&P, NULL, &w, NULL);
    if (!body)
        return -1;

    c->root = azalloc(c, sizeof *c->root);
    if (!c->root)
        return -1;
    set_global(c, "raise_exception", V_FN(FN_RAISE));
    set_global(c, "namespace", V_FN(FN_NAMESPACE));
    set_global(c, "range", V_FN(FN_RANGE));
    set_global(c, "dict", V_FN(FN_DICT));
    set_global(c, "strftime_now", V_FN(FN_STRFTIME));
    set_global(c, "tools", V_NONE());
    set_global(c, "documents", V_NONE());
    if (in->bos_token)
        set_global(c, "bos_token", V_CSTR(c, in->bos_token));
    if (in->eos_token)
        set_global(c, "eos_token", V_CSTR(c, in->eos_token));
    if (in->vars) {
        for (size_t i = 0; i < fwi_json_len(in->vars) && !c->st; i++) {
            size_t kl;
            const char *k = fwi_json_key_at(in->vars, i, &kl);
            if (strlen(k) != kl)
                return jfail(c, FW_E_INVALID_ARG, 0, 0, "variable name with a NUL byte");
            set_global(c, k, from_json(c, fwi_json_at(in->vars, i), 0));
        }
    }
    jv msgs;
    if (in->messages) {
        msgs = from_json(c, in->messages, 0);
    } else {
        jlist *l = mklist(c, in->n_msgs);
        if (!l)
            return -1;
        for (size_t i = 0; i < in->n_msgs; i++) {
            jdict *d = mkdict(c);
            if (!d || dict_set(c, d, V_CSTR(c, "role"), V_CSTR(c, in->msgs[i].role)) ||
                dict_set(c, d, V_CSTR(c, "content"),
                         in->msgs[i].content ? V_CSTR(c, in->msgs[i].content) : V_NONE()))
                return -1;
            l->v[i].t = JV_DICT;
            l->v[i].u.d = d;
        }
        msgs = V_LIST(l);
    }
    set_global(c, "messages", msgs);
    set_global(c, "add_generation_prompt", V_BOOL(in->add_generation_prompt));
    if (c->st)
        return -1;
    return exec_body(c, body, c->root, out) < 0 ? -1 : 0;
}

fw_status fwi_jinja_render(const fwi_jinja_input *in, const void *handle,
                           fwi_sbuf *out)
{
    jctx c;
    memset(&c, 0, sizeof c);
    c.fixed_date = in->fixed_date;
    size_t start = out->len;
    int r = render(&c, in, out);
    while (c.chunks) {
        achunk *nx = c.chunks->next;
        fwi_free(c.chunks);
        c.chunks = nx;
    }
    if (r < 0 || c.st) {
        out->len = start;
        if (c.st == FW_OK)
            return fwi_fail(handle, FW_E_INTERNAL, "chat template: unknown failure");
        return fwi_fail(handle, c.st, "%s", c.msg);
    }
    if (out->failed)
        return fwi_fail(handle, FW_E_NOMEM, "chat template: out of memory");
    return FW_OK;
}
