/*
 * json.c - strict RFC 8259 JSON parser into a read-only DOM (see json.h).
 *
 * A recursive descent parser, its depth bounded by FWI_JSON_MAX_DEPTH (each
 * level is one small stack frame).  Nodes, decoded strings and number texts
 * go to an arena of geometrically growing chunks; the children of the
 * containers being parsed wait on a work stack and are copied to the arena,
 * contiguous, when their container closes.  Objects of more than
 * SMALL_OBJECT members get a key-sorted index (a merge sort on the keys'
 * first 8 bytes, then the rest): it finds duplicate keys in O(n log n) even
 * for adversarial keys and serves fwi_json_get by binary search.
 *
 * Numbers are converted without strtod (which follows LC_NUMERIC): a
 * Clinger fast path when the decimal significand has at most 19 digits, is
 * at most 2^53 and the power of ten is exact (|e| <= 22, needs
 * FLT_EVAL_METHOD == 0), otherwise an exact decimal shift algorithm over up
 * to 800 digits plus a "truncated" flag (the method of Go's strconv
 * decimal.go and Wuffs' "high precision decimal"), correctly rounded to
 * nearest-even for any input length.
 */
#include <float.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "json.h"
#include "sbuf.h" /* fwi_utf8_valid_len */

_Static_assert(sizeof(double) == 8 && DBL_MANT_DIG == 53 &&
                   DBL_MAX_EXP == 1024,
               "json.c assumes IEEE 754 binary64 doubles");

typedef struct fwi_json_member fwi_json_member;

struct fwi_json {
    /* the fwi_json_type in the low 8 bits; above them the string's bytes,
     * the element count or the number text's length (24-byte nodes) */
    uint64_t tn;
    union {
        const char *s;                  /* string, number text */
        const fwi_json *items;          /* array */
        const fwi_json_member *members; /* object */
    } p;
    union {
        double d;                              /* number */
        const struct key_index *index;         /* object: sorted, or NULL */
    } x;
};

struct fwi_json_member {
    const char *key;
    size_t key_len;
    fwi_json value;
};

#define SMALL_OBJECT 8
#define MAX_LEN ((uint64_t)1 << 55) /* fits tn, beyond any real input */

static fwi_json_type type_of(const fwi_json *v)
{
    return (fwi_json_type)(v->tn & 0xFF);
}

static size_t len_of(const fwi_json *v) { return (size_t)(v->tn >> 8); }

static void set_tn(fwi_json *v, fwi_json_type t, size_t n)
{
    v->tn = (uint64_t)t | ((uint64_t)n << 8);
}

/* An object's members sorted by key (bytewise, shorter first on a tie). */
typedef struct key_index {
    uint64_t prefix; /* the key's first 8 bytes, big-endian, zero-padded */
    const fwi_json_member *m;
} key_index;

/* ------------------------------------------------------------ arena */

typedef struct chunk {
    struct chunk *next;
    size_t cap;  /* bytes of data */
    size_t used;
} chunk;

typedef union chunk_hdr {
    chunk c;
    max_align_t align;
} chunk_hdr;

#define CHUNK_DATA(c) ((char *)(c) + sizeof(chunk_hdr))

/* The document: lives at the start of the first chunk. */
typedef struct json_doc {
    chunk *chunks; /* newest first */
    fwi_json root;
} json_doc;

/* ------------------------------------------------------------ parser */

typedef struct pending_member {
    fwi_json_member m;
    size_t key_off; /* source offset of the key, for the duplicate error */
} pending_member;

typedef struct parser {
    const uint8_t *s;
    size_t len;
    size_t pos;
    const void *handle;
    unsigned depth;
    chunk *chunks;       /* the arena, newest first */
    size_t arena_total;  /* bytes of all chunks */
    fwi_json *vals;      /* work stack: elements of open arrays */
    size_t n_vals, cap_vals;
    pending_member *mems; /* work stack: members of open objects */
    size_t n_mems, cap_mems;
    key_index *tmp;        /* merge sort buffer */
    size_t cap_tmp;
} parser;

static fw_status nomem(parser *p)
{
    return fwi_fail(p->handle, FW_E_NOMEM,
                    "JSON: out of memory (parsing %zu bytes)", p->len);
}

static void arena_free(chunk *c)
{
    while (c) {
        chunk *next = c->next;
        fwi_free(c);
        c = next;
    }
}

/* `size` bytes aligned to `align` (a power of two <= max_align_t's), or
 * NULL when out of memory (the caller reports). */
static void *arena_alloc(parser *p, size_t size, size_t align)
{
    chunk *c = p->chunks;
    if (c) {
        size_t off = (c->used + align - 1) & ~(align - 1);
        if (off <= c->cap && size <= c->cap - off) {
            c->used = off + size;
            return CHUNK_DATA(c) + off;
        }
    }
    /* a new chunk: at least doubling the arena, so O(log n) chunks */
    size_t want = p->arena_total;
    if (want < 4096)
        want = 4096;
    if (size > SIZE_MAX / 2 - sizeof(chunk_hdr))
        return NULL;
    if (want < size)
        want = size;
    if (want > SIZE_MAX - sizeof(chunk_hdr))
        return NULL;
    chunk *n = fwi_malloc(sizeof(chunk_hdr) + want);
    if (!n)
        return NULL;
    n->next = p->chunks;
    n->cap = want;
    n->used = size;
    p->chunks = n;
    p->arena_total += want;
    return CHUNK_DATA(n);
}

static void *arena_array(parser *p, size_t n, size_t size, size_t align)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return arena_alloc(p, n * size, align);
}

/* Grow a work stack to hold one more element. */
static int stack_grow(void **data, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    if (nc < *cap || nc > SIZE_MAX / elem)
        return -1;
    void *d = fwi_realloc(*data, nc * elem);
    if (!d)
        return -1;
    *data = d;
    *cap = nc;
    return 0;
}

/* ------------------------------------------------------------ errors */

static fw_status fail_at(parser *p, size_t off, const char *fmt, ...)
    FWI_PRINTF(3, 4);

static fw_status fail_at(parser *p, size_t off, const char *fmt, ...)
{
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < off; i++) {
        if (p->s[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    }
    char what[FWI_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fwi_fail(p->handle, FW_E_FORMAT,
                    "offset %zu (line %zu, column %zu): %s", off, line,
                    off - line_start + 1, what);
}

/* What is at `off`, for "found ..." (buf of at least 16 bytes). */
static const char *found(const parser *p, size_t off, char *buf, size_t cap)
{
    if (off >= p->len)
        return "end of input";
    uint8_t c = p->s[off];
    if (c > 0x20 && c < 0x7F)
        snprintf(buf, cap, "'%c'", c);
    else
        snprintf(buf, cap, "byte 0x%02x", c);
    return buf;
}

static fw_status fail_expected(parser *p, const char *what)
{
    char b[16];
    return fail_at(p, p->pos, "expected %s, found %s", what,
                   found(p, p->pos, b, sizeof b));
}

/* ------------------------------------------------------------ helpers */

static void skip_ws(parser *p)
{
    const uint8_t *s = p->s;
    size_t i = p->pos, n = p->len;
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' ||
                     s[i] == '\t'))
        i++;
    p->pos = i;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static int hex_val(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The 4 hex digits at s[0..3] (all in bounds), or -1. */
static long hex4(const uint8_t *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_val(s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t utf8_put(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ------------------------------------------------------------ strings */

/* The string whose opening quote is at p->pos: validated, decoded into the
 * arena (NUL-terminated).  p->pos ends after the closing quote. */
static fw_status parse_string(parser *p, const char **out, size_t *out_len)
{
    const uint8_t *s = p->s;
    size_t n = p->len, start = p->pos, i = start + 1;
    size_t shrink = 0; /* raw bytes minus decoded bytes of the escapes */
    int escapes = 0;
    for (;;) {
        while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' &&
               s[i] != '\\')
            i++;
        if (i >= n)
            return fail_at(p, n, "end of input in the string that starts "
                                 "at offset %zu", start);
        uint8_t c = s[i];
        if (c == '"')
            break;
        if (c == '\\') {
            if (i + 1 >= n)
                return fail_at(p, n, "end of input in the string that "
                                     "starts at offset %zu", start);
            escapes = 1;
            uint8_t e = s[i + 1];
            switch (e) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n':
            case 'r': case 't':
                shrink += 1;
                i += 2;
                continue;
            case 'u': break;
            default: {
                char b[16];
                return fail_at(p, i, "invalid escape in string: '\\' "
                               "followed by %s", found(p, i + 1, b, sizeof b));
            }
            }
            long cp = n - i >= 6 ? hex4(s + i + 2) : -1;
            if (cp < 0)
                return fail_at(p, i, "expected 4 hex digits after '\\u'");
            size_t elen = 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail_at(p, i, "lone low surrogate \\u%04lX in string",
                               cp);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = -1;
                if (n - i >= 12 && s[i + 6] == '\\' && s[i + 7] == 'u')
                    lo = hex4(s + i + 8);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail_at(p, i, "lone high surrogate \\u%04lX in "
                                   "string (a \\uDC00-\\uDFFF escape must "
                                   "follow)", cp);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                elen = 12;
            }
            char tmp[4];
            shrink += elen - utf8_put((uint32_t)cp, tmp);
            i += elen;
            continue;
        }
        if (c < 0x20)
            return fail_at(p, i, "control character 0x%02x in string (must "
                                 "be escaped)", c);
        size_t k = fwi_utf8_valid_len(s + i, n - i);
        if (!k)
            return fail_at(p, i, "invalid UTF-8 in string (byte 0x%02x)", c);
        i += k;
    }
    size_t len = i - start - 1 - shrink; /* raw text: s[start+1 .. i) */
    char *d = arena_alloc(p, len + 1, 1);
    if (!d)
        return nomem(p);
    if (!escapes) {
        memcpy(d, s + start + 1, len);
    } else {
        size_t o = 0;
        for (size_t j = start + 1; j < i;) {
            if (s[j] != '\\') {
                d[o++] = (char)s[j++];
                continue;
            }
            uint8_t e = s[j + 1];
            switch (e) {
            case 'b': d[o++] = '\b'; j += 2; continue;
            case 'f': d[o++] = '\f'; j += 2; continue;
            case 'n': d[o++] = '\n'; j += 2; continue;
            case 'r': d[o++] = '\r'; j += 2; continue;
            case 't': d[o++] = '\t'; j += 2; continue;
            case 'u': break;
            default: d[o++] = (char)e; j += 2; continue;
            }
            long cp = hex4(s + j + 2);
            j += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(s + j + 2) - 0xDC00);
                j += 6;
            }
            o += utf8_put((uint32_t)cp, d + o);
        }
    }
    d[len] = '\0';
    p->pos = i + 1;
    *out = d;
    *out_len = len;
    return FW_OK;
}

/* ------------------------------------------------------------ numbers */

/* Exact decimal: value = 0.d[0]d[1]...d[nd-1] * 10^dp (digit values). */
#define DEC_DIGITS 800
#define DEC_MAX_SHIFT 60

typedef struct dec {
    uint8_t d[DEC_DIGITS + 20];
    int nd;
    int dp;
    int trunc; /* nonzero digits were dropped after d[nd-1] */
} dec;

static void dec_trim(dec *a)
{
    while (a->nd > 0 && a->d[a->nd - 1] == 0)
        a->nd--;
    if (a->nd == 0)
        a->dp = 0;
}

/* a <<= k (k <= DEC_MAX_SHIFT) */
static void dec_lshift(dec *a, unsigned k)
{
    /* x * 2^k has at most nd + 19 digits (2^60 < 10^19) */
    int w = a->nd + 19;
    uint64_t n = 0;
    for (int r = a->nd - 1; r >= 0; r--) {
        n += (uint64_t)a->d[r] << k;
        uint64_t q = n / 10;
        a->d[--w] = (uint8_t)(n - 10 * q);
        n = q;
    }
    while (n > 0) {
        uint64_t q = n / 10;
        a->d[--w] = (uint8_t)(n - 10 * q);
        n = q;
    }
    int nd = a->nd + 19 - w;
    memmove(a->d, a->d + w, (size_t)nd);
    a->dp += 19 - w;
    if (nd > DEC_DIGITS) {
        for (int j = DEC_DIGITS; j < nd; j++)
            if (a->d[j])
                a->trunc = 1;
        nd = DEC_DIGITS;
    }
    a->nd = nd;
    dec_trim(a);
}

/* a >>= k (k <= DEC_MAX_SHIFT) */
static void dec_rshift(dec *a, unsigned k)
{
    int r = 0, w = 0;
    uint64_t n = 0;
    for (; (n >> k) == 0; r++) {
        if (r >= a->nd) {
            if (n == 0) {
                a->nd = 0;
                a->dp = 0;
                return;
            }
            while ((n >> k) == 0) {
                n *= 10;
                r++;
            }
            break;
        }
        n = n * 10 + a->d[r];
    }
    a->dp -= r - 1;
    uint64_t mask = ((uint64_t)1 << k) - 1;
    for (; r < a->nd; r++) {
        uint64_t dig = n >> k;
        n &= mask;
        a->d[w++] = (uint8_t)dig;
        n = n * 10 + a->d[r];
    }
    while (n > 0) {
        uint64_t dig = n >> k;
        n &= mask;
        if (w < DEC_DIGITS)
            a->d[w++] = (uint8_t)dig;
        else if (dig > 0)
            a->trunc = 1;
        n *= 10;
    }
    a->nd = w;
    dec_trim(a);
}

static void dec_shift(dec *a, int k)
{
    if (a->nd == 0)
        return;
    if (k > 0) {
        for (; k > DEC_MAX_SHIFT; k -= DEC_MAX_SHIFT)
            dec_lshift(a, DEC_MAX_SHIFT);
        dec_lshift(a, (unsigned)k);
    } else if (k < 0) {
        for (; k < -DEC_MAX_SHIFT; k += DEC_MAX_SHIFT)
            dec_rshift(a, DEC_MAX_SHIFT);
        dec_rshift(a, (unsigned)-k);
    }
}

/* Round up at digit position nd?  (ties to even; a dropped tail breaks
 * the tie upwards) */
static int dec_round_up(const dec *a, int nd)
{
    if (nd < 0 || nd >= a->nd)
        return 0;
    if (a->d[nd] == 5 && nd + 1 == a->nd) {
        if (a->trunc)
            return 1;
        return nd > 0 && (a->d[nd - 1] & 1);
    }
    return a->d[nd] >= 5;
}

/* The integer part, rounded (a->dp <= 20 here). */
static uint64_t dec_rounded_int(const dec *a)
{
    if (a->dp > 20)
        return UINT64_MAX;
    uint64_t n = 0;
    int i;
    for (i = 0; i < a->dp && i < a->nd; i++)
        n = n * 10 + a->d[i];
    for (; i < a->dp; i++)
        n *= 10;
    if (dec_round_up(a, a->dp))
        n++;
    return n;
}

static double bits_to_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* The nearest double to a (consumed). */
static double dec_to_double(dec *a, int neg)
{
    static const int powtab[] = {1, 3, 6, 9, 13, 16, 19, 23, 26};
    const int bias = -1023;
    uint64_t mant = 0;
    int exp = bias;
    if (a->nd == 0 || a->dp < -330)
        goto out; /* zero */
    if (a->dp > 310)
        goto overflow;
    /* scale by powers of two into [0.5, 1) */
    exp = 0;
    while (a->dp > 0) {
        int n = a->dp >= 9 ? 27 : powtab[a->dp];
        dec_shift(a, -n);
        exp += n;
    }
    while (a->dp < 0 || (a->dp == 0 && a->d[0] < 5)) {
        int n = -a->dp >= 9 ? 27 : powtab[-a->dp];
        dec_shift(a, n);
        exp -= n;
    }
    exp--; /* [0.5, 1) -> [1, 2) */
    if (exp < bias + 1) { /* denormal */
        int n = bias + 1 - exp;
        dec_shift(a, -n);
        exp += n;
    }
    if (exp - bias >= 0x7FF)
        goto overflow;
    dec_shift(a, 53);
    mant = dec_rounded_int(a);
    if (mant == (uint64_t)2 << 52) { /* rounding carried */
        mant >>= 1;
        exp++;
        if (exp - bias >= 0x7FF)
            goto overflow;
    }
    if (!(mant & ((uint64_t)1 << 52)))
        exp = bias;
    goto out;
overflow:
    mant = 0;
    exp = 0x7FF + bias;
out:;
    uint64_t bits = (mant & (((uint64_t)1 << 52) - 1)) |
                    ((uint64_t)((exp - bias) & 0x7FF) << 52);
    if (neg)
        bits |= (uint64_t)1 << 63;
    return bits_to_double(bits);
}

/* The value of a validated number text, exactly rounded. */
static double slow_number(const uint8_t *s, size_t n)
{
    dec a;
    a.nd = 0;
    a.trunc = 0;
    size_t i = 0;
    int neg = s[0] == '-';
    i += (size_t)neg;
    int64_t dp = 0;
    for (; i < n && is_digit(s[i]); i++) { /* integer part */
        if (a.nd == 0 && s[i] == '0')
            continue;
        dp++;
        if (a.nd < DEC_DIGITS)
            a.d[a.nd++] = (uint8_t)(s[i] - '0');
        else if (s[i] != '0')
            a.trunc = 1;
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && is_digit(s[i]); i++) {
            if (a.nd == 0 && s[i] == '0') {
                dp--;
                continue;
            }
            if (a.nd < DEC_DIGITS)
                a.d[a.nd++] = (uint8_t)(s[i] - '0');
            else if (s[i] != '0')
                a.trunc = 1;
        }
    }
    if (i < n) { /* exponent */
        i++;
        int eneg = 0;
        if (s[i] == '+' || s[i] == '-')
            eneg = s[i++] == '-';
        int64_t e = 0;
        for (; i < n; i++)
            if (e < 1000000000000000)
                e = e * 10 + (s[i] - '0');
        dp += eneg ? -e : e;
    }
    dec_trim(&a);
    if (a.nd == 0)
        return neg ? -0.0 : 0.0;
    if (dp > 400)
        a.dp = 400;
    else if (dp < -400)
        a.dp = -400;
    else
        a.dp = (int)dp;
    return dec_to_double(&a, neg);
}

/* The number at p->pos: validated, its text copied, its value computed. */
static fw_status parse_number(parser *p, fwi_json *out)
{
    const uint8_t *s = p->s;
    size_t n = p->len, start = p->pos, i = start;
    int neg = s[i] == '-';
    if (neg) {
        i++;
        if (i >= n || !is_digit(s[i]))
            return fail_at(p, i, "expected a digit after '-'");
    }
    uint64_t w = 0; /* the first 19 significant digits */
    int nd = 0;
    int64_t e10 = 0; /* value = w * 10^e10 (exactly unless trunc) */
    int trunc = 0;
    if (s[i] == '0') {
        i++;
        if (i < n && is_digit(s[i]))
            return fail_at(p, i - 1, "leading zeros are not allowed in "
                                     "numbers");
    } else {
        for (; i < n && is_digit(s[i]); i++) {
            if (nd < 19) {
                w = w * 10 + (uint64_t)(s[i] - '0');
                nd++;
            } else {
                e10++;
                trunc |= s[i] != '0';
            }
        }
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i]))
            return fail_at(p, i, "expected a digit after the decimal point");
        for (; i < n && is_digit(s[i]); i++) {
            if (nd == 0 && s[i] == '0') {
                e10--;
            } else if (nd < 19) {
                w = w * 10 + (uint64_t)(s[i] - '0');
                nd++;
                e10--;
            } else {
                trunc |= s[i] != '0';
            }
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i >= n || !is_digit(s[i]))
            return fail_at(p, i, "expected a digit in the exponent");
        int64_t e = 0;
        for (; i < n && is_digit(s[i]); i++)
            if (e < 1000000000000000)
                e = e * 10 + (s[i] - '0');
        e10 += eneg ? -e : e;
    }
    size_t tlen = i - start;
    char *text = arena_alloc(p, tlen + 1, 1);
    if (!text)
        return nomem(p);
    memcpy(text, s + start, tlen);
    text[tlen] = '\0';

    double v = 0.0;
    int done = 0;
    if (w == 0) {
        v = neg ? -0.0 : 0.0;
        done = 1;
    }
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    static const double p10[] = {
        1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const uint64_t max_exact = (uint64_t)1 << 53;
    if (!done && !trunc && w <= max_exact && e10 >= -22 && e10 <= 22 + 15) {
        if (e10 > 22) { /* move zeros into w while it stays exact */
            while (e10 > 22 && w <= max_exact / 10) {
                w *= 10;
                e10--;
            }
        }
        if (e10 <= 22) {
            v = e10 < 0 ? (double)w / p10[-e10] : (double)w * p10[e10];
            if (neg)
                v = -v;
            done = 1;
        }
    }
#endif
    if (!done)
        v = slow_number(s + start, tlen);

    set_tn(out, FWI_JSON_NUMBER, tlen);
    out->p.s = text;
    out->x.d = v;
    p->pos = i;
    return FW_OK;
}

/* ------------------------------------------------------------ objects */

static uint64_t key_prefix(const char *key, size_t len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = (v << 8) | (i < len ? (uint8_t)key[i] : 0);
    return v;
}

/* Order of keys: memcmp, then the shorter first. */
static int key_cmp(uint64_t xp, const char *xk, size_t xl, uint64_t yp,
                   const char *yk, size_t yl)
{
    if (xp != yp)
        return xp < yp ? -1 : 1;
    if (xl > 8 && yl > 8) {
        size_t n = xl < yl ? xl : yl;
        int c = memcmp(xk + 8, yk + 8, n - 8);
        if (c)
            return c;
    }
    return (xl > yl) - (xl < yl);
}

static int index_cmp(const key_index *x, const key_index *y)
{
    return key_cmp(x->prefix, x->m->key, x->m->key_len, y->prefix, y->m->key,
                   y->m->key_len);
}

/* Stable bottom-up merge sort of a[0..n) using tmp[0..n). */
static void sort_index(key_index *a, key_index *tmp, size_t n)
{
    /* insertion sort of runs of 8 */
    const size_t run = 8;
    for (size_t lo = 0; lo < n; lo += run) {
        size_t hi = lo + run < n ? lo + run : n;
        for (size_t i = lo + 1; i < hi; i++) {
            key_index t = a[i];
            size_t j = i;
            for (; j > lo && index_cmp(&a[j - 1], &t) > 0; j--)
                a[j] = a[j - 1];
            a[j] = t;
        }
    }
    key_index *src = a, *dst = tmp;
    for (size_t w = run; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n;
            size_t hi = mid + w < n ? mid + w : n;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                dst[o++] = index_cmp(&src[j], &src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[o++] = src[i++];
            while (j < hi)
                dst[o++] = src[j++];
        }
        key_index *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

static int same_key(const fwi_json_member *x, const fwi_json_member *y)
{
    return x->key_len == y->key_len && memcmp(x->key, y->key, x->key_len) == 0;
}

static fw_status fail_duplicate(parser *p, const pending_member *pm)
{
    /* the key, escaped and shortened, for the message */
    char k[100];
    size_t o = 0;
    const fwi_json_member *m = &pm->m;
    size_t i;
    for (i = 0; i < m->key_len && o < 64; i++) {
        uint8_t c = (uint8_t)m->key[i];
        if (c == '"' || c == '\\') {
            k[o++] = '\\';
            k[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7F) {
            o += (size_t)snprintf(k + o, sizeof k - o, "\\u%04x", c);
        } else {
            k[o++] = (char)c;
        }
    }
    if (i < m->key_len) {
        while (o > 0 && ((uint8_t)k[o - 1] & 0xC0) == 0x80)
            o--; /* do not cut a UTF-8 sequence */
        if (o > 0 && (uint8_t)k[o - 1] >= 0xC0)
            o--;
        memcpy(k + o, "...", 3);
        o += 3;
    }
    k[o] = '\0';
    return fail_at(p, pm->key_off, "duplicate object key \"%s\"", k);
}

/* Members pm[0..n) were parsed: move them to the arena, check for
 * duplicates, index large objects. */
static fw_status finish_object(parser *p, const pending_member *pm, size_t n,
                               fwi_json *out)
{
    fwi_json_member *m = arena_array(p, n, sizeof *m, _Alignof(fwi_json_member));
    if (!m)
        return nomem(p);
    for (size_t i = 0; i < n; i++)
        m[i] = pm[i].m;
    set_tn(out, FWI_JSON_OBJECT, n);
    out->p.members = m;
    out->x.index = NULL;
    if (n <= SMALL_OBJECT) {
        for (size_t j = 1; j < n; j++)
            for (size_t i = 0; i < j; i++)
                if (same_key(&m[i], &m[j]))
                    return fail_duplicate(p, &pm[j]);
        return FW_OK;
    }
    key_index *idx = arena_array(p, n, sizeof *idx, _Alignof(key_index));
    if (!idx)
        return nomem(p);
    if (n > p->cap_tmp) {
        fwi_free(p->tmp);
        p->cap_tmp = 0;
        p->tmp = fwi_malloc_array(n, sizeof *p->tmp);
        if (!p->tmp)
            return nomem(p);
        p->cap_tmp = n;
    }
    for (size_t i = 0; i < n; i++) {
        idx[i].prefix = key_prefix(m[i].key, m[i].key_len);
        idx[i].m = &m[i];
    }
    sort_index(idx, p->tmp, n);
    /* equal keys are adjacent, in source order: the duplicate to report is
     * the earliest member that repeats an earlier key */
    const fwi_json_member *first_dup = NULL;
    for (size_t i = 1; i < n; i++)
        if (index_cmp(&idx[i - 1], &idx[i]) == 0 &&
            (!first_dup || idx[i].m < first_dup))
            first_dup = idx[i].m;
    if (first_dup)
        return fail_duplicate(p, &pm[first_dup - m]);
    out->x.index = idx;
    return FW_OK;
}

/* ------------------------------------------------------------ values */

static fw_status parse_value(parser *p, fwi_json *out, const char *what);

static fw_status enter(parser *p)
{
    if (p->depth >= FWI_JSON_MAX_DEPTH)
        return fail_at(p, p->pos, "nesting deeper than %d levels",
                       FWI_JSON_MAX_DEPTH);
    p->depth++;
    p->pos++;
    skip_ws(p);
    return FW_OK;
}

static fw_status parse_array(parser *p, fwi_json *out)
{
    fw_status st = enter(p);
    if (st)
        return st;
    size_t base = p->n_vals;
    set_tn(out, FWI_JSON_ARRAY, 0);
    out->p.items = NULL;
    out->x.index = NULL;
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        p->depth--;
        return FW_OK;
    }
    const char *what = "a value or ']'";
    for (;;) {
        fwi_json v;
        if ((st = parse_value(p, &v, what)))
            goto fail;
        if (stack_grow((void **)&p->vals, &p->cap_vals, p->n_vals,
                       sizeof *p->vals)) {
            st = nomem(p);
            goto fail;
        }
        p->vals[p->n_vals++] = v;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ']') {
                st = fail_at(p, p->pos, "expected a value after ',', found "
                             "']' (trailing commas are not allowed)");
                goto fail;
            }
            what = "a value after ','";
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            break;
        }
        st = fail_expected(p, "',' or ']' after array element");
        goto fail;
    }
    size_t n = p->n_vals - base;
    fwi_json *items = arena_array(p, n, sizeof *items, _Alignof(fwi_json));
    if (!items) {
        st = nomem(p);
        goto fail;
    }
    memcpy(items, p->vals + base, n * sizeof *items);
    set_tn(out, FWI_JSON_ARRAY, n);
    out->p.items = items;
fail:
    p->n_vals = base;
    p->depth--;
    return st;
}

static fw_status parse_object(parser *p, fwi_json *out)
{
    fw_status st = enter(p);
    if (st)
        return st;
    size_t base = p->n_mems;
    set_tn(out, FWI_JSON_OBJECT, 0);
    out->p.members = NULL;
    out->x.index = NULL;
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        p->depth--;
        return FW_OK;
    }
    const char *what = "a string key or '}'";
    for (;;) {
        pending_member pm;
        if (p->pos >= p->len || p->s[p->pos] != '"') {
            st = fail_expected(p, what);
            goto fail;
        }
        pm.key_off = p->pos;
        if ((st = parse_string(p, &pm.m.key, &pm.m.key_len)))
            goto fail;
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') {
            st = fail_expected(p, "':' after object key");
            goto fail;
        }
        p->pos++;
        if ((st = parse_value(p, &pm.m.value, "a value after ':'")))
            goto fail;
        if (stack_grow((void **)&p->mems, &p->cap_mems, p->n_mems,
                       sizeof *p->mems)) {
            st = nomem(p);
            goto fail;
        }
        p->mems[p->n_mems++] = pm;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == '}') {
                st = fail_at(p, p->pos, "expected a string key after ',', "
                             "found '}' (trailing commas are not allowed)");
                goto fail;
            }
            what = "a string key after ','";
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == '}') {
            p->pos++;
            break;
        }
        st = fail_expected(p, "',' or '}' after object member");
        goto fail;
    }
    st = finish_object(p, p->mems + base, p->n_mems - base, out);
fail:
    p->n_mems = base;
    p->depth--;
    return st;
}

static fw_status parse_literal(parser *p, const char *lit, fwi_json_type t,
                               fwi_json *out)
{
    size_t n = strlen(lit);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, lit, n) != 0)
        return fail_at(p, p->pos, "invalid literal, expected '%s'", lit);
    p->pos += n;
    set_tn(out, t, 0);
    out->p.s = NULL;
    out->x.d = 0.0;
    return FW_OK;
}

/* A value at p->pos (after whitespace); `what` names it for errors. */
static fw_status parse_value(parser *p, fwi_json *out, const char *what)
{
    skip_ws(p);
    if (p->pos >= p->len)
        return fail_expected(p, what);
    switch (p->s[p->pos]) {
    case '{': return parse_object(p, out);
    case '[': return parse_array(p, out);
    case '"': {
        size_t n = 0;
        fw_status st = parse_string(p, &out->p.s, &n);
        set_tn(out, FWI_JSON_STRING, n);
        out->x.d = 0.0;
        return st;
    }
    case 't': return parse_literal(p, "true", FWI_JSON_TRUE, out);
    case 'f': return parse_literal(p, "false", FWI_JSON_FALSE, out);
    case 'n': return parse_literal(p, "null", FWI_JSON_NULL, out);
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return parse_number(p, out);
    default: return fail_expected(p, what);
    }
}

fw_status fwi_json_parse(const char *text, size_t len, const void *handle,
                         fwi_json **out)
{
    if (!out)
        return fwi_fail(handle, FW_E_INVALID_ARG, "JSON: out is NULL");
    *out = NULL;
    if (!text && len)
        return fwi_fail(handle, FW_E_INVALID_ARG, "JSON: text is NULL");
    if ((uint64_t)len >= MAX_LEN)
        return fwi_fail(handle, FW_E_UNSUPPORTED, "JSON: %zu bytes is too "
                        "large", len);
    parser p;
    memset(&p, 0, sizeof p);
    p.s = (const uint8_t *)(text ? text : "");
    p.len = len;
    p.handle = handle;
    /* the first chunk: about the size the DOM of typical JSON needs */
    p.arena_total = len < SIZE_MAX / 4 ? len + len / 2 : SIZE_MAX / 4;
    json_doc *doc = arena_alloc(&p, sizeof *doc, _Alignof(json_doc));
    if (!doc)
        return nomem(&p);
    p.arena_total = p.chunks->cap;
    fw_status st;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        st = fail_at(&p, 0, "a byte order mark is not allowed");
    } else {
        st = parse_value(&p, &doc->root, "a value");
        if (!st) {
            skip_ws(&p);
            if (p.pos < p.len)
                st = fail_expected(&p, "the end of input after the JSON "
                                       "value");
        }
    }
    fwi_free(p.vals);
    fwi_free(p.mems);
    fwi_free(p.tmp);
    if (st) {
        arena_free(p.chunks);
        return st;
    }
    doc->chunks = p.chunks;
    *out = &doc->root;
    return FW_OK;
}

void fwi_json_free(fwi_json *root)
{
    if (!root)
        return;
    json_doc *doc = (json_doc *)(void *)((char *)root - offsetof(json_doc, root));
    arena_free(doc->chunks);
}

/* ------------------------------------------------------------ accessors */

fwi_json_type fwi_json_type_of(const fwi_json *v)
{
    return v ? type_of(v) : FWI_JSON_NULL;
}

size_t fwi_json_len(const fwi_json *v)
{
    if (!v)
        return 0;
    switch (type_of(v)) {
    case FWI_JSON_STRING: case FWI_JSON_ARRAY: case FWI_JSON_OBJECT:
        return len_of(v);
    default: return 0;
    }
}

const fwi_json *fwi_json_at(const fwi_json *v, size_t i)
{
    if (!v || i >= len_of(v))
        return NULL;
    if (type_of(v) == FWI_JSON_ARRAY)
        return &v->p.items[i];
    if (type_of(v) == FWI_JSON_OBJECT)
        return &v->p.members[i].value;
    return NULL;
}

const char *fwi_json_key_at(const fwi_json *v, size_t i, size_t *len)
{
    if (!v || type_of(v) != FWI_JSON_OBJECT || i >= len_of(v))
        return NULL;
    if (len)
        *len = v->p.members[i].key_len;
    return v->p.members[i].key;
}

const fwi_json *fwi_json_get_n(const fwi_json *obj, const char *key,
                               size_t key_len)
{
    if (!obj || type_of(obj) != FWI_JSON_OBJECT || (!key && key_len))
        return NULL;
    if (!key)
        key = "";
    const fwi_json_member *m = obj->p.members;
    if (!obj->x.index) {
        for (size_t i = 0, n = len_of(obj); i < n; i++)
            if (m[i].key_len == key_len && memcmp(m[i].key, key, key_len) == 0)
                return &m[i].value;
        return NULL;
    }
    uint64_t prefix = key_prefix(key, key_len);
    size_t lo = 0, hi = len_of(obj);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const key_index *x = &obj->x.index[mid];
        int c = key_cmp(x->prefix, x->m->key, x->m->key_len, prefix, key,
                        key_len);
        if (!c)
            return &x->m->value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const fwi_json *fwi_json_get(const fwi_json *obj, const char *key)
{
    return key ? fwi_json_get_n(obj, key, strlen(key)) : NULL;
}

const char *fwi_json_str(const fwi_json *v, size_t *len)
{
    if (!v || type_of(v) != FWI_JSON_STRING)
        return NULL;
    if (len)
        *len = len_of(v);
    return v->p.s;
}

double fwi_json_num(const fwi_json *v)
{
    return v && type_of(v) == FWI_JSON_NUMBER ? v->x.d : 0.0;
}

const char *fwi_json_num_text(const fwi_json *v, size_t *len)
{
    if (!v || type_of(v) != FWI_JSON_NUMBER)
        return NULL;
    if (len)
        *len = len_of(v);
    return v->p.s;
}

int fwi_json_num_int(const fwi_json *v, int64_t *out)
{
    if (!v || type_of(v) != FWI_JSON_NUMBER)
        return 0;
    const char *s = v->p.s;
    size_t n = len_of(v), i = 0;
    int neg = s[0] == '-';
    i += (size_t)neg;
    /* magnitude limit: 2^63 - 1, or 2^63 when negative */
    uint64_t lim = neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
    uint64_t m = 0;
    for (; i < n; i++) {
        if (!is_digit((uint8_t)s[i]))
            return 0; /* '.', 'e', 'E' */
        uint64_t d = (uint64_t)(s[i] - '0');
        if (m > (lim - d) / 10)
            return 0;
        m = m * 10 + d;
    }
    if (out)
        *out = neg ? (m == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)m)
                   : (int64_t)m;
    return 1;
}
