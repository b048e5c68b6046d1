/*
 * test_json.c - the internal JSON parser (lib/core/json.c): valid documents
 * of every kind through the accessors, every error class with its message
 * (offset, line, column), nesting limits, numbers against strtod (random,
 * halfway cases, extremes), \u escapes and surrogates, invalid UTF-8,
 * truncation at every offset, duplicate keys, a 1 MB document, and (when
 * built with -DTEST_JSON_WRAP_ALLOC and -Wl,--wrap=fwi_malloc,--wrap=
 * fwi_realloc) every allocation failing in turn.
 *
 * Inputs are copied into exact-size heap buffers, so ASan catches any read
 * past len, and freed before the DOM is read, so the DOM provably does not
 * point into them.
 */
#define _POSIX_C_SOURCE 200809L
#include "common/testutil.h"

#include <ctype.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <time.h>

#include "core/core.h"
#include "core/json.h"

static const int H; /* the handle errors are attributed to */

/* ------------------------------------------------------------ allocation */

#ifdef TEST_JSON_WRAP_ALLOC
void *__real_fwi_malloc(size_t size);
void *__real_fwi_realloc(void *p, size_t size);
void *__wrap_fwi_malloc(size_t size);
void *__wrap_fwi_realloc(void *p, size_t size);

static long alloc_left = -1; /* allocations until the failing one; -1 off */

static int alloc_fails(void)
{
    if (alloc_left < 0)
        return 0;
    return alloc_left-- == 0;
}

void *__wrap_fwi_malloc(size_t size)
{
    return alloc_fails() ? NULL : __real_fwi_malloc(size);
}

void *__wrap_fwi_realloc(void *p, size_t size)
{
    return alloc_fails() ? NULL : __real_fwi_realloc(p, size);
}
#endif

/* ------------------------------------------------------------ helpers */

static fw_status parse_n(const char *s, size_t n, fwi_json **out)
{
    char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    memcpy(buf, s, n);
    fw_status st = fwi_json_parse(buf, n, &H, out);
    free(buf);
    return st;
}

static fwi_json *ok_n(const char *s, size_t n)
{
    fwi_json *r = NULL;
    fw_status st = parse_n(s, n, &r);
    if (st != FW_OK)
        fail_msg("parse failed (%d) on <%.*s>: %s", st, (int)n, s,
                 fwi_errmsg_for(&H));
    assert_non_null(r);
    return r;
}

static fwi_json *ok(const char *s) { return ok_n(s, strlen(s)); }

static void err_n(const char *s, size_t n, const char *msg)
{
    fwi_json *r = (fwi_json *)&r; /* must be reset to NULL */
    fw_status st = parse_n(s, n, &r);
    if (st != FW_E_FORMAT)
        fail_msg("<%.*s>: status %d, want FW_E_FORMAT", (int)n, s, st);
    assert_null(r);
    const char *got = fwi_errmsg_for(&H);
    if (strcmp(got, msg) != 0)
        fail_msg("<%.*s>:\n  got  %s\n  want %s", (int)n, s, got, msg);
}

static void err(const char *s, const char *msg) { err_n(s, strlen(s), msg); }

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static const char *str_of(const fwi_json *v, size_t *len)
{
    assert_int_equal(fwi_json_type_of(v), FWI_JSON_STRING);
    return fwi_json_str(v, len);
}

/* ------------------------------------------------------------ valid */

static void test_scalars(void **state)
{
    (void)state;
    static const struct { const char *in; fwi_json_type t; } cases[] = {
        {"null", FWI_JSON_NULL},   {" true", FWI_JSON_TRUE},
        {"false ", FWI_JSON_FALSE}, {"\t\r\n 0 \n", FWI_JSON_NUMBER},
        {"\"\"", FWI_JSON_STRING}, {"[]", FWI_JSON_ARRAY},
        {"{}", FWI_JSON_OBJECT},   {" [ ] ", FWI_JSON_ARRAY},
        {"{ \n}", FWI_JSON_OBJECT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fwi_json *r = ok(cases[i].in);
        assert_int_equal(fwi_json_type_of(r), cases[i].t);
        assert_int_equal(fwi_json_len(r), 0);
        assert_null(fwi_json_at(r, 0));
        fwi_json_free(r);
    }
}

static void test_document(void **state)
{
    (void)state;
    const char *doc =
        "{\n"
        "  \"name\": \"llama\",\n"
        "  \"layers\": 32, \"eps\": 1e-5, \"theta\": 10000.0,\n"
        "  \"list\": [1, -2.5, \"three\", [], {}, null, true, false],\n"
        "  \"nested\": {\"a\": {\"b\": [[[\"deep\"]]]}},\n"
        "  \"\": \"empty key\", \"empty\": \"\"\n"
        "}";
    fwi_json *r = ok(doc);
    assert_int_equal(fwi_json_type_of(r), FWI_JSON_OBJECT);
    assert_int_equal(fwi_json_len(r), 8);
    static const char *keys[] = {"name", "layers", "eps", "theta",
                                 "list", "nested", "", "empty"};
    for (size_t i = 0; i < 8; i++) {
        size_t kl = 99;
        assert_string_equal(fwi_json_key_at(r, i, &kl), keys[i]);
        assert_int_equal(kl, strlen(keys[i]));
        assert_ptr_equal(fwi_json_get(r, keys[i]), fwi_json_at(r, i));
    }
    assert_null(fwi_json_key_at(r, 8, NULL));
    assert_null(fwi_json_at(r, 8));
    assert_null(fwi_json_get(r, "missing"));
    assert_null(fwi_json_get(r, "nam"));
    assert_null(fwi_json_get(r, "names"));

    size_t n;
    assert_string_equal(str_of(fwi_json_get(r, "name"), &n), "llama");
    assert_int_equal(n, 5);
    int64_t iv = 0;
    assert_true(fwi_json_num_int(fwi_json_get(r, "layers"), &iv));
    assert_int_equal(iv, 32);
    assert_true(fwi_json_num(fwi_json_get(r, "layers")) == 32.0);
    assert_true(fwi_json_num(fwi_json_get(r, "eps")) == 1e-5);
    assert_false(fwi_json_num_int(fwi_json_get(r, "eps"), &iv));
    assert_string_equal(fwi_json_num_text(fwi_json_get(r, "eps"), &n), "1e-5");
    assert_int_equal(n, 4);
    assert_string_equal(fwi_json_num_text(fwi_json_get(r, "theta"), NULL),
                        "10000.0");
    assert_false(fwi_json_num_int(fwi_json_get(r, "theta"), &iv));

    const fwi_json *l = fwi_json_get(r, "list");
    assert_int_equal(fwi_json_type_of(l), FWI_JSON_ARRAY);
    assert_int_equal(fwi_json_len(l), 8);
    static const fwi_json_type lt[] = {
        FWI_JSON_NUMBER, FWI_JSON_NUMBER, FWI_JSON_STRING, FWI_JSON_ARRAY,
        FWI_JSON_OBJECT, FWI_JSON_NULL,   FWI_JSON_TRUE,   FWI_JSON_FALSE};
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(fwi_json_type_of(fwi_json_at(l, i)), lt[i]);
    assert_true(fwi_json_num(fwi_json_at(l, 1)) == -2.5);
    assert_string_equal(fwi_json_str(fwi_json_at(l, 2), NULL), "three");
    assert_null(fwi_json_at(l, 8));
    assert_null(fwi_json_key_at(l, 0, NULL)); /* not an object */
    assert_null(fwi_json_get(l, "x"));

    const fwi_json *deep = fwi_json_at(fwi_json_at(fwi_json_at(
        fwi_json_get(fwi_json_get(fwi_json_get(r, "nested"), "a"), "b"), 0),
        0), 0);
    assert_string_equal(fwi_json_str(deep, NULL), "deep");
    assert_string_equal(fwi_json_str(fwi_json_get(r, ""), NULL), "empty key");
    assert_string_equal(fwi_json_str(fwi_json_get(r, "empty"), &n), "");
    assert_int_equal(n, 0);
    fwi_json_free(r);
}

static void test_accessors_neutral(void **state)
{
    (void)state;
    size_t n = 77;
    int64_t iv = 77;
    assert_int_equal(fwi_json_type_of(NULL), FWI_JSON_NULL);
    assert_int_equal(fwi_json_len(NULL), 0);
    assert_null(fwi_json_at(NULL, 0));
    assert_null(fwi_json_key_at(NULL, 0, &n));
    assert_null(fwi_json_get(NULL, "a"));
    assert_null(fwi_json_get_n(NULL, "a", 1));
    assert_null(fwi_json_str(NULL, &n));
    assert_true(fwi_json_num(NULL) == 0.0);
    assert_null(fwi_json_num_text(NULL, &n));
    assert_false(fwi_json_num_int(NULL, &iv));
    assert_int_equal(n, 77);
    assert_int_equal(iv, 77);
    fwi_json_free(NULL);

    fwi_json *r = ok("[\"s\", 5, {\"k\": 1}, true]");
    const fwi_json *s = fwi_json_at(r, 0), *num = fwi_json_at(r, 1);
    const fwi_json *o = fwi_json_at(r, 2), *t = fwi_json_at(r, 3);
    assert_null(fwi_json_str(num, &n));
    assert_null(fwi_json_num_text(s, &n));
    assert_true(fwi_json_num(s) == 0.0);
    assert_false(fwi_json_num_int(t, &iv));
    assert_int_equal(fwi_json_len(num), 0);
    assert_int_equal(fwi_json_len(t), 0);
    assert_null(fwi_json_at(s, 0)); /* a string has a length, not items */
    assert_null(fwi_json_get(s, "k"));
    assert_null(fwi_json_get(o, NULL));
    assert_null(fwi_json_get_n(o, NULL, 1));
    assert_non_null(fwi_json_get_n(o, "kx", 1));
    assert_int_equal(n, 77);
    assert_int_equal(iv, 77);
    fwi_json_free(r);

    /* argument errors */
    fwi_json *out = (fwi_json *)&out;
    assert_int_equal(fwi_json_parse("1", 1, &H, NULL), FW_E_INVALID_ARG);
    assert_int_equal(fwi_json_parse(NULL, 1, &H, &out), FW_E_INVALID_ARG);
    assert_null(out);
    assert_int_equal(fwi_json_parse(NULL, 0, &H, &out), FW_E_FORMAT);
    assert_string_equal(fwi_errmsg_for(&H), "offset 0 (line 1, column 1): "
                        "expected a value, found end of input");
    /* not NUL-terminated, len shorter than the text */
    assert_int_equal(fwi_json_parse("[1]xyz", 3, &H, &out), FW_OK);
    assert_int_equal(fwi_json_len(out), 1);
    fwi_json_free(out);
}

/* ------------------------------------------------------------ strings */

static void test_strings(void **state)
{
    (void)state;
    static const struct { const char *in; const char *want; size_t n; } cases[] = {
        {"\"plain\"", "plain", 5},
        {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
        {"\"\\u0041\\u00e9\\u00E9\\u20ac\"", "A\xc3\xa9\xc3\xa9\xe2\x82\xac", 8},
        {"\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"",
         "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 11},
        {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4},        /* U+1F600 */
        {"\"\\uD800\\uDC00\"", "\xf0\x90\x80\x80", 4},        /* U+10000 */
        {"\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4},        /* U+10FFFF */
        {"\"a\\u0000b\"", "a\0b", 3},
        {"\"\\u0000\"", "\0", 1},
        {"\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"",
         "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15},    /* raw UTF-8 */
        {"\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\xee\x80\x80\"",
         "\xef\xbf\xbf\xf4\x8f\xbf\xbf\xee\x80\x80", 10},      /* edges */
        {"\"\x7f\"", "\x7f", 1}, /* DEL is not a control character in JSON */
        {"\"\\\\u0041\"", "\\u0041", 6},
        {"\"\\ud83d\\ude00x\\n\"", "\xf0\x9f\x98\x80x\n", 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fwi_json *r = ok(cases[i].in);
        size_t n = 0;
        const char *s = str_of(r, &n);
        if (n != cases[i].n || memcmp(s, cases[i].want, n) != 0)
            fail_msg("case %zu <%s>: length %zu", i, cases[i].in, n);
        assert_int_equal(s[n], '\0');
        assert_int_equal(fwi_json_len(r), n);
        fwi_json_free(r);
    }
    /* keys are decoded too: \u0061 is "a", keys with U+0000 */
    fwi_json *r = ok("{\"\\u0061\": 1, \"k\\u0000z\": 2, \"\\ud83d\\ude00\": 3}");
    assert_true(fwi_json_num(fwi_json_get(r, "a")) == 1);
    assert_null(fwi_json_get(r, "k")); /* stops at the NUL */
    assert_true(fwi_json_num(fwi_json_get_n(r, "k\0z", 3)) == 2);
    assert_true(fwi_json_num(fwi_json_get(r, "\xf0\x9f\x98\x80")) == 3);
    size_t kl;
    assert_memory_equal(fwi_json_key_at(r, 1, &kl), "k\0z", 4);
    assert_int_equal(kl, 3);
    fwi_json_free(r);
}

/* ------------------------------------------------------------ errors */

#define AT(o, l, c) "offset " #o " (line " #l ", column " #c "): "

static void test_errors(void **state)
{
    (void)state;
    static const struct { const char *in; const char *msg; } cases[] = {
        /* values */
        {"", AT(0, 1, 1) "expected a value, found end of input"},
        {" \n\t\r ", AT(5, 2, 4) "expected a value, found end of input"},
        {"NaN", AT(0, 1, 1) "expected a value, found 'N'"},
        {"Infinity", AT(0, 1, 1) "expected a value, found 'I'"},
        {"-Infinity", AT(1, 1, 2) "expected a digit after '-'"},
        {"+1", AT(0, 1, 1) "expected a value, found '+'"},
        {".5", AT(0, 1, 1) "expected a value, found '.'"},
        {"'a'", AT(0, 1, 1) "expected a value, found '''"},
        {"undefined", AT(0, 1, 1) "expected a value, found 'u'"},
        {"True", AT(0, 1, 1) "expected a value, found 'T'"},
        {"tru", AT(0, 1, 1) "invalid literal, expected 'true'"},
        {"[nul]", AT(1, 1, 2) "invalid literal, expected 'null'"},
        {"fals", AT(0, 1, 1) "invalid literal, expected 'false'"},
        {"nulL", AT(0, 1, 1) "invalid literal, expected 'null'"},
        {"truex", AT(4, 1, 5) "expected the end of input after the JSON "
                              "value, found 'x'"},
        {"1 2", AT(2, 1, 3) "expected the end of input after the JSON value, "
                            "found '2'"},
        {"{}}", AT(2, 1, 3) "expected the end of input after the JSON value, "
                            "found '}'"},
        {"// c\n1", AT(0, 1, 1) "expected a value, found '/'"},
        {"1 /* c */", AT(2, 1, 3) "expected the end of input after the JSON "
                                  "value, found '/'"},
        {"\xef\xbb\xbf{}", AT(0, 1, 1) "a byte order mark is not allowed"},
        {"\xff", AT(0, 1, 1) "expected a value, found byte 0xff"},
        {"\v1", AT(0, 1, 1) "expected a value, found byte 0x0b"},
        {"\f1", AT(0, 1, 1) "expected a value, found byte 0x0c"},
        {"\xc2\xa0" "1", AT(0, 1, 1) "expected a value, found byte 0xc2"},
        /* numbers */
        {"-", AT(1, 1, 2) "expected a digit after '-'"},
        {"-a", AT(1, 1, 2) "expected a digit after '-'"},
        {"- 1", AT(1, 1, 2) "expected a digit after '-'"},
        {"01", AT(0, 1, 1) "leading zeros are not allowed in numbers"},
        {"[-007]", AT(2, 1, 3) "leading zeros are not allowed in numbers"},
        {"1.", AT(2, 1, 3) "expected a digit after the decimal point"},
        {"1.e5", AT(2, 1, 3) "expected a digit after the decimal point"},
        {"1e", AT(2, 1, 3) "expected a digit in the exponent"},
        {"1E+", AT(3, 1, 4) "expected a digit in the exponent"},
        {"[1e-x]", AT(4, 1, 5) "expected a digit in the exponent"},
        {"0x10", AT(1, 1, 2) "expected the end of input after the JSON value, "
                             "found 'x'"},
        {"1.5.2", AT(3, 1, 4) "expected the end of input after the JSON "
                              "value, found '.'"},
        /* arrays */
        {"[", AT(1, 1, 2) "expected a value or ']', found end of input"},
        {"[}", AT(1, 1, 2) "expected a value or ']', found '}'"},
        {"[1", AT(2, 1, 3) "expected ',' or ']' after array element, found "
                           "end of input"},
        {"[1 2]", AT(3, 1, 4) "expected ',' or ']' after array element, "
                              "found '2'"},
        {"[1;2]", AT(2, 1, 3) "expected ',' or ']' after array element, "
                              "found ';'"},
        {"[1,]", AT(3, 1, 4) "expected a value after ',', found ']' "
                             "(trailing commas are not allowed)"},
        {"[1,\n ]", AT(5, 2, 2) "expected a value after ',', found ']' "
                                "(trailing commas are not allowed)"},
        {"[,1]", AT(1, 1, 2) "expected a value or ']', found ','"},
        {"[1,,2]", AT(3, 1, 4) "expected a value after ',', found ','"},
        {"[1,", AT(3, 1, 4) "expected a value after ',', found end of input"},
        {"[1}", AT(2, 1, 3) "expected ',' or ']' after array element, found "
                            "'}'"},
        /* objects */
        {"{", AT(1, 1, 2) "expected a string key or '}', found end of input"},
        {"{a:1}", AT(1, 1, 2) "expected a string key or '}', found 'a'"},
        {"{'a':1}", AT(1, 1, 2) "expected a string key or '}', found '''"},
        {"{1:1}", AT(1, 1, 2) "expected a string key or '}', found '1'"},
        {"{\"a\" 1}", AT(5, 1, 6) "expected ':' after object key, found '1'"},
        {"{\"a\"", AT(4, 1, 5) "expected ':' after object key, found end of "
                               "input"},
        {"{\"a\":}", AT(5, 1, 6) "expected a value after ':', found '}'"},
        {"{\"a\":", AT(5, 1, 6) "expected a value after ':', found end of "
                                "input"},
        {"{\"a\":1", AT(6, 1, 7) "expected ',' or '}' after object member, "
                                 "found end of input"},
        {"{\"a\":1 \"b\":2}", AT(7, 1, 8) "expected ',' or '}' after object "
                                          "member, found '\"'"},
        {"{\"a\":1]", AT(6, 1, 7) "expected ',' or '}' after object member, "
                                  "found ']'"},
        {"{\"a\":1,}", AT(7, 1, 8) "expected a string key after ',', found "
                                   "'}' (trailing commas are not allowed)"},
        {"{\"a\":1,b:2}", AT(7, 1, 8) "expected a string key after ',', "
                                      "found 'b'"},
        {"{\"a\":1,\"a\":2}", AT(7, 1, 8) "duplicate object key \"a\""},
        {"{\"a\":1,\"\\u0061\":2}", AT(7, 1, 8) "duplicate object key \"a\""},
        {"{\"\":1,\"\":2}", AT(6, 1, 7) "duplicate object key \"\""},
        {"{\"x\":{\"q\\\"\\n\":1,\"b\":0,\"q\\\"\\n\":2}}",
         AT(22, 1, 23) "duplicate object key \"q\\\"\\u000a\""},
        {"{\"a\":{\"a\":1},\"b\":[{\"a\":1,\"b\":2,\"a\":3}]}",
         AT(31, 1, 32) "duplicate object key \"a\""},
        /* a syntax error after a duplicate wins (checked on closing) */
        {"{\"a\":1,\"a\":2,}", AT(13, 1, 14) "expected a string key after "
                               "',', found '}' (trailing commas are not "
                               "allowed)"},
        /* strings */
        {"\"abc", AT(4, 1, 5) "end of input in the string that starts at "
                              "offset 0"},
        {"[\"a\\", AT(4, 1, 5) "end of input in the string that starts at "
                               "offset 1"},
        {"\"a\nb\"", AT(2, 1, 3) "control character 0x0a in string (must be "
                                 "escaped)"},
        {"\"\t\"", AT(1, 1, 2) "control character 0x09 in string (must be "
                               "escaped)"},
        {"\"\x1f\"", AT(1, 1, 2) "control character 0x1f in string (must be "
                                 "escaped)"},
        {"\"\\x\"", AT(1, 1, 2) "invalid escape in string: '\\' followed by "
                                "'x'"},
        {"\"\\U0041\"", AT(1, 1, 2) "invalid escape in string: '\\' followed "
                                    "by 'U'"},
        {"\"\\'\"", AT(1, 1, 2) "invalid escape in string: '\\' followed by "
                                "'''"},
        {"\"\\\n\"", AT(1, 1, 2) "invalid escape in string: '\\' followed by "
                                 "byte 0x0a"},
        {"\"\\u12G4\"", AT(1, 1, 2) "expected 4 hex digits after '\\u'"},
        {"\"\\u12\"", AT(1, 1, 2) "expected 4 hex digits after '\\u'"},
        {"\"\\u123", AT(1, 1, 2) "expected 4 hex digits after '\\u'"},
        {"\"\\u-123\"", AT(1, 1, 2) "expected 4 hex digits after '\\u'"},
        {"\"\\uD800\"", AT(1, 1, 2) "lone high surrogate \\uD800 in string "
                                    "(a \\uDC00-\\uDFFF escape must follow)"},
        {"\"ab\\ud83dx\"", AT(3, 1, 4) "lone high surrogate \\uD83D in string "
                                       "(a \\uDC00-\\uDFFF escape must "
                                       "follow)"},
        {"\"\\uD800\\u0041\"", AT(1, 1, 2) "lone high surrogate \\uD800 in "
                               "string (a \\uDC00-\\uDFFF escape must "
                               "follow)"},
        {"\"\\uD800\\uD800\"", AT(1, 1, 2) "lone high surrogate \\uD800 in "
                               "string (a \\uDC00-\\uDFFF escape must "
                               "follow)"},
        {"\"\\uDBFF\\n\"", AT(1, 1, 2) "lone high surrogate \\uDBFF in string "
                                       "(a \\uDC00-\\uDFFF escape must "
                                       "follow)"},
        {"\"\\uDC00\"", AT(1, 1, 2) "lone low surrogate \\uDC00 in string"},
        {"\"\\ude00\\ud83d\"", AT(1, 1, 2) "lone low surrogate \\uDE00 in "
                                           "string"},
        /* invalid UTF-8 */
        {"\"\xff\"", AT(1, 1, 2) "invalid UTF-8 in string (byte 0xff)"},
        {"\"\x80\"", AT(1, 1, 2) "invalid UTF-8 in string (byte 0x80)"},
        {"\"a\xc0\x80\"", AT(2, 1, 3) "invalid UTF-8 in string (byte 0xc0)"},
        {"\"\xc1\xbf\"", AT(1, 1, 2) "invalid UTF-8 in string (byte 0xc1)"},
        {"\"\xe0\x80\x80\"", AT(1, 1, 2) "invalid UTF-8 in string (byte "
                                         "0xe0)"},
        {"\"\xe0\x9f\xbf\"", AT(1, 1, 2) "invalid UTF-8 in string (byte "
                                         "0xe0)"},
        {"\"\xf0\x80\x80\x80\"", AT(1, 1, 2) "invalid UTF-8 in string (byte "
                                             "0xf0)"},
        {"\"\xed\xa0\x80\"", AT(1, 1, 2) "invalid UTF-8 in string (byte "
                                         "0xed)"}, /* encoded surrogate */
        {"\"\xed\xbf\xbf\"", AT(1, 1, 2) "invalid UTF-8 in string (byte "
                                         "0xed)"},
        {"\"\xf4\x90\x80\x80\"", AT(1, 1, 2) "invalid UTF-8 in string (byte "
                                             "0xf4)"}, /* > U+10FFFF */
        {"\"\xf5\x80\x80\x80\"", AT(1, 1, 2) "invalid UTF-8 in string (byte "
                                             "0xf5)"},
        {"\"\xe2\x82\"", AT(1, 1, 2) "invalid UTF-8 in string (byte 0xe2)"},
        {"\"\xe2\x82", AT(1, 1, 2) "invalid UTF-8 in string (byte 0xe2)"},
        {"\"\xc3\"", AT(1, 1, 2) "invalid UTF-8 in string (byte 0xc3)"},
        {"\"\xc3x\"", AT(1, 1, 2) "invalid UTF-8 in string (byte 0xc3)"},
        {"\"\xf0\x9f\x98\"", AT(1, 1, 2) "invalid UTF-8 in string (byte "
                                         "0xf0)"},
        {"\"\xc3\xa9\xa9\"", AT(3, 1, 4) "invalid UTF-8 in string (byte "
                                         "0xa9)"},
        /* positions: lines count LF only, columns count bytes */
        {"{\n  \"a\": 1,\n  \"b\" 2\n}", AT(18, 3, 7) "expected ':' after "
                                                    "object key, found '2'"},
        {"[\r\n1,\r\n2,\r\n]", AT(11, 4, 1) "expected a value after ',', "
                               "found ']' (trailing commas are not allowed)"},
        {"[\"\xc3\xa9\xc3\xa9\", x]", AT(9, 1, 10) "expected a value after "
                                                  "',', found 'x'"},
        {"\n\n\n   @", AT(6, 4, 4) "expected a value, found '@'"},
        {"{\"key\":\n    [1, 2\n    , 3 4]}", AT(26, 3, 9) "expected ',' or "
                                 "']' after array element, found '4'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        err(cases[i].in, cases[i].msg);

    /* NUL bytes: outside strings, inside strings */
    err_n("[1,\0]", 5, AT(3, 1, 4) "expected a value after ',', found byte "
                                    "0x00");
    err_n("\"a\0\"", 4, AT(2, 1, 3) "control character 0x00 in string (must "
                                     "be escaped)");
    err_n("1\0", 2, AT(1, 1, 2) "expected the end of input after the JSON "
                                "value, found byte 0x00");
    /* the brief's example */
    err("{\"a\": 1,\n  \"bcd\" 17}", AT(17, 2, 9) "expected ':' after object "
                                               "key, found '1'");
    /* the error goes to the handle */
    assert_string_equal(fwi_errmsg_for(NULL), "");
}

static void test_duplicates_large(void **state)
{
    (void)state;
    /* 1000 keys: the sorted-index path; find each, find none missing */
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    buf[len++] = '{';
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s\"k%d\":%d",
                                i ? "," : "", (i * 7919) % 1000, i);
    buf[len++] = '}';
    fwi_json *r = ok_n(buf, len);
    assert_int_equal(fwi_json_len(r), 1000);
    for (int i = 0; i < 1000; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", (i * 7919) % 1000);
        const fwi_json *v = fwi_json_get(r, k);
        assert_ptr_equal(v, fwi_json_at(r, (size_t)i));
        int64_t iv;
        assert_true(fwi_json_num_int(v, &iv));
        assert_int_equal(iv, i);
        size_t kl;
        assert_string_equal(fwi_json_key_at(r, (size_t)i, &kl), k);
    }
    assert_null(fwi_json_get(r, "k1000"));
    assert_null(fwi_json_get(r, "k"));
    assert_null(fwi_json_get(r, ""));
    assert_null(fwi_json_get(r, "k99x"));
    assert_null(fwi_json_get(r, "\xff"));
    fwi_json_free(r);

    /* duplicates among 1000 keys: the first repeated one in source order
     * is named, at its offset */
    len = 0;
    buf[len++] = '{';
    size_t want_off = 0;
    for (int i = 0; i < 1000; i++) {
        int k = i;
        if (i == 700)
            k = 5; /* repeats k5 */
        if (i == 500)
            k = 900; /* repeated later by k900 itself: 900 is second */
        if (i == 600)
            k = 650; /* k650 at 600 then again at 650: 650 second */
        len += (size_t)snprintf(buf + len, cap - len, "%s", i ? "," : "");
        if (i == 650)
            want_off = len;
        len += (size_t)snprintf(buf + len, cap - len, "\"k%d\":[%d]", k, i);
    }
    buf[len++] = '}';
    char msg[128];
    snprintf(msg, sizeof msg, "offset %zu (line 1, column %zu): duplicate "
             "object key \"k650\"", want_off, want_off + 1);
    err_n(buf, len, msg);

    /* a long key is shortened in the message, not cutting UTF-8 */
    len = (size_t)snprintf(buf, cap, "{\"");
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(buf + len, cap - len, "\xc3\xa9x");
    len += (size_t)snprintf(buf + len, cap - len, "\":1,\"");
    size_t off2 = len - 1;
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(buf + len, cap - len, "\xc3\xa9x");
    len += (size_t)snprintf(buf + len, cap - len, "\":2}");
    fwi_json *out;
    assert_int_equal(parse_n(buf, len, &out), FW_E_FORMAT);
    const char *m = fwi_errmsg_for(&H);
    snprintf(msg, sizeof msg, "offset %zu (line 1, column %zu): duplicate "
             "object key \"\xc3\xa9x\xc3\xa9x", off2, off2 + 1);
    assert_memory_equal(m, msg, strlen(msg));
    assert_non_null(strstr(m, "x...\""));
    assert_true(strlen(m) < 200);
    free(buf);
}

/* ------------------------------------------------------------ nesting */

static void test_nesting(void **state)
{
    (void)state;
    size_t n = 1000000;
    char *buf = malloc(2 * n + 16);
    assert_non_null(buf);

    /* exactly the limit: fine */
    size_t d = FWI_JSON_MAX_DEPTH;
    memset(buf, '[', d);
    memset(buf + d, ']', d);
    fwi_json *r = ok_n(buf, 2 * d);
    const fwi_json *v = r;
    for (size_t i = 1; i < d; i++)
        v = fwi_json_at(v, 0);
    assert_int_equal(fwi_json_type_of(v), FWI_JSON_ARRAY);
    assert_int_equal(fwi_json_len(v), 0);
    fwi_json_free(r);

    /* one more */
    memset(buf, '[', d + 1);
    memset(buf + d + 1, ']', d + 1);
    err_n(buf, 2 * d + 2, AT(128, 1, 129) "nesting deeper than 128 levels");

    /* objects, and mixed */
    size_t len = 0;
    for (size_t i = 0; i < d; i++)
        len += (size_t)sprintf(buf + len, i % 2 ? "{\"k\":" : "[");
    buf[len++] = '0';
    for (size_t i = d; i-- > 0;)
        buf[len++] = i % 2 ? '}' : ']';
    r = ok_n(buf, len);
    fwi_json_free(r);
    len = 0;
    for (size_t i = 0; i <= d; i++)
        len += (size_t)sprintf(buf + len, "{\"k\":");
    char msg[96];
    snprintf(msg, sizeof msg, AT(%zu, 1, %zu) "nesting deeper than 128 "
             "levels", len - 5, len - 4);
    err_n(buf, len, msg);

    /* a million open brackets: an error, not a stack overflow */
    memset(buf, '[', n);
    err_n(buf, n, AT(128, 1, 129) "nesting deeper than 128 levels");
    memset(buf, '{', 1);
    err_n(buf, n, AT(1, 1, 2) "expected a string key or '}', found '['");

    /* deep is fine when not nested: a long flat array of arrays */
    len = 0;
    buf[len++] = '[';
    for (size_t i = 0; i < 100000; i++) {
        memcpy(buf + len, i ? ",[[]]" : "[[]]", i ? 5 : 4);
        len += i ? 5 : 4;
    }
    buf[len++] = ']';
    r = ok_n(buf, len);
    assert_int_equal(fwi_json_len(r), 100000);
    fwi_json_free(r);
    free(buf);
}

/* ------------------------------------------------------------ numbers */

static double num_of(const char *text, size_t *tlen)
{
    fwi_json *r = ok(text);
    assert_int_equal(fwi_json_type_of(r), FWI_JSON_NUMBER);
    double v = fwi_json_num(r);
    size_t n;
    const char *t = fwi_json_num_text(r, &n);
    assert_int_equal(n, strlen(text));
    assert_string_equal(t, text);
    if (tlen)
        *tlen = n;
    fwi_json_free(r);
    return v;
}

/* The parser's value of `text` must be strtod's (C locale), bit for bit. */
static void check_strtod(const char *text)
{
    double want = strtod(text, NULL);
    double got = num_of(text, NULL);
    if (!same_bits(got, want))
        fail_msg("%s: got %a, strtod gives %a", text, got, want);
}

static void test_numbers(void **state)
{
    (void)state;
    static const struct { const char *in; double v; } cases[] = {
        {"0", 0.0}, {"-0", -0.0}, {"0.0", 0.0}, {"-0.0", -0.0},
        {"0e0", 0.0}, {"-0E+5", -0.0}, {"0e-999999999999999999999", 0.0},
        {"1", 1.0}, {"-1", -1.0}, {"0.5", 0.5}, {"0.6", 0.6}, {"1e-5", 1e-5},
        {"1E5", 1e5}, {"1e+5", 1e5}, {"20", 20.0}, {"-2.5e-3", -2.5e-3},
        {"123456789", 123456789.0}, {"3.141592653589793", 3.141592653589793},
        {"1.7976931348623157e308", DBL_MAX},
        {"-1.7976931348623157e308", -DBL_MAX},
        {"2.2250738585072014e-308", DBL_MIN},
        {"2.2250738585072011e-308", 2.2250738585072011e-308},
        {"4.9406564584124654e-324", 4.9406564584124654e-324},
        {"5e-324", 4.9406564584124654e-324},
        {"1e-400", 0.0}, {"-1e-400", -0.0},
        {"1e309", HUGE_VAL}, {"-1e309", -HUGE_VAL},
        {"1e99999999999999999999", HUGE_VAL},
        {"9007199254740993", 9007199254740992.0}, /* 2^53+1: ties to even */
        {"9007199254740995", 9007199254740996.0},
        {"1e23", 1e23}, {"8.98846567431158e307", 8.98846567431158e307},
        {"0.000000000000000000000000000000000001", 1e-36},
        {"100000000000000000000000000000000000000000e-41", 1.0},
        {"1.00000000000000011102230246251565404236316680908203125", 1.0},
        {"1.000000000000000111022302462515654042363166809082031251",
         1.0000000000000002},
        {"2.4703282292062327e-324", 0.0},                    /* below half */
        {"2.4703282292062328e-324", 4.9406564584124654e-324}, /* above */
        {"1.7976931348623158e308", DBL_MAX},
        {"1.7976931348623159e308", HUGE_VAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double v = num_of(cases[i].in, NULL);
        if (!same_bits(v, cases[i].v))
            fail_msg("%s: got %a want %a", cases[i].in, v, cases[i].v);
        check_strtod(cases[i].in);
    }

    /* integers */
    static const struct { const char *in; int ok; int64_t v; } ints[] = {
        {"0", 1, 0}, {"-0", 1, 0}, {"7", 1, 7}, {"-42", 1, -42},
        {"9223372036854775807", 1, INT64_MAX},
        {"-9223372036854775808", 1, INT64_MIN},
        {"9223372036854775808", 0, 0}, {"-9223372036854775809", 0, 0},
        {"18446744073709551616", 0, 0}, {"99999999999999999999", 0, 0},
        {"123456789012345678901234567890", 0, 0},
        {"1.0", 0, 0}, {"1e2", 0, 0}, {"1E0", 0, 0}, {"-0.0", 0, 0},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        fwi_json *r = ok(ints[i].in);
        int64_t v = 12345;
        assert_int_equal(fwi_json_num_int(r, &v), ints[i].ok);
        assert_int_equal(v, ints[i].ok ? ints[i].v : 12345);
        assert_int_equal(fwi_json_num_int(r, NULL), ints[i].ok);
        fwi_json_free(r);
    }
    double big = num_of("123456789012345678901234567890", NULL);
    assert_true(big == 123456789012345678901234567890.0);
    assert_true(num_of("9223372036854775807", NULL) == 9223372036854775807.0);

    /* long texts: 5000 digits, 5000 zeros; the value needs all of them */
    char *t = malloc(20000);
    assert_non_null(t);
    memset(t, '9', 5000);
    strcpy(t + 5000, "e-5000");
    assert_true(num_of(t, NULL) == 1.0); /* 0.999...9 (5000 nines) */
    t[0] = '0';
    t[1] = '.';
    memset(t + 2, '0', 5000);
    strcpy(t + 5002, "1e5001");
    assert_true(num_of(t, NULL) == 1.0);
    /* just above and below the 1 + 2^-53 halfway point, by 1e-5000 */
    strcpy(t, "1.00000000000000011102230246251565404236316680908203125");
    size_t l = strlen(t);
    memset(t + l, '0', 5000);
    strcpy(t + l + 5000, "1");
    check_strtod(t);
    assert_true(num_of(t, NULL) == 1.0000000000000002);
    strcpy(t, "1.00000000000000011102230246251565404236316680908203124");
    memset(t + l, '9', 5000);
    t[l + 5000] = '\0';
    check_strtod(t);
    assert_true(num_of(t, NULL) == 1.0);
    free(t);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_numbers_vs_strtod(void **state)
{
    (void)state;
    uint64_t rs = 0x9E3779B97F4A7C15ull;
    char t[1400];

    /* random decimal texts of every shape */
    for (int it = 0; it < 200000; it++) {
        size_t n = 0;
        if (rng_next(&rs) & 1)
            t[n++] = '-';
        int ndig = 1 + (int)(rng_next(&rs) % (it % 4 ? 20 : 40));
        int point = (int)(rng_next(&rs) % (uint64_t)(ndig + 1));
        for (int i = 0; i < ndig; i++) {
            if (i == point && i > 0)
                t[n++] = '.';
            char c = (char)('0' + rng_next(&rs) % 10);
            if (i == 0 && point != 1 && ndig > 1)
                c = (char)('1' + rng_next(&rs) % 9);
            if (i == 0 && point == 1)
                c = (char)('0' + rng_next(&rs) % 10);
            t[n++] = c;
        }
        if (rng_next(&rs) % 3) {
            int e = (int)(rng_next(&rs) % 700) - 350;
            n += (size_t)sprintf(t + n, "%s%d", rng_next(&rs) & 1 ? "e" : "E",
                                 e);
        }
        t[n] = '\0';
        /* a leading zero only alone before the point */
        if ((t[0] == '0' || (t[0] == '-' && t[1] == '0')) &&
            isdigit((unsigned char)t[t[0] == '-' ? 2 : 1]))
            continue;
        check_strtod(t);
    }

    /* doubles printed exactly round trip; halfway points between adjacent
     * doubles, and one long-double step either side of them */
#if LDBL_MANT_DIG >= 64
    for (int it = 0; it < 3000; it++) {
        uint64_t bits = rng_next(&rs) >> 1;
        double x;
        memcpy(&x, &bits, sizeof x);
        if (!isfinite(x))
            continue;
        snprintf(t, sizeof t, "%.17g", x);
        check_strtod(t);
        double y = nextafter(x, HUGE_VAL);
        if (!isfinite(y))
            continue;
        long double mid = ((long double)x + (long double)y) / 2;
        snprintf(t, sizeof t, "%.1100Le", mid);
        check_strtod(t);
        snprintf(t, sizeof t, "%.1100Le", nextafterl(mid, 0));
        check_strtod(t);
        snprintf(t, sizeof t, "%.1100Le", nextafterl(mid, HUGE_VALL));
        check_strtod(t);
    }
#endif
    /* every power of ten, and around the denormal / overflow edges */
    for (int e = -350; e <= 320; e++) {
        snprintf(t, sizeof t, "1e%d", e);
        check_strtod(t);
        snprintf(t, sizeof t, "9.999999999999999e%d", e);
        check_strtod(t);
    }
}

/* Under a locale with a decimal comma the parser still reads '.' (it does
 * not use strtod).  Skipped when no such locale is installed. */
static void test_locale_independent(void **state)
{
    (void)state;
    static const char *locs[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                 "fr_FR.utf8", "ru_RU.UTF-8", "nl_NL.UTF-8"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof locs / sizeof *locs && !got; i++)
        if (setlocale(LC_NUMERIC, locs[i]) &&
            strcmp(localeconv()->decimal_point, ",") == 0)
            got = locs[i];
    if (!got) {
        setlocale(LC_NUMERIC, "C");
        print_message("SKIPPED: no decimal-comma locale installed\n");
        skip();
    }
    double a = num_of("0.5", NULL), b = num_of("1.25e2", NULL);
    double c = num_of("12345678901234567890.5", NULL);
    setlocale(LC_NUMERIC, "C");
    assert_true(a == 0.5);
    assert_true(b == 125.0);
    assert_true(c == 12345678901234567890.5);
}

/* ------------------------------------------------------------ truncation */

static const char sample[] =
    "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\\u00e9\": 1, "
    "\"\\ud83d\\ude00\": 2, \"\xc3\xa9t\xc3\xa9\": 3}, \"merges\": [\"a b\", "
    "\"\\\"q\\\" \\\\\"]},\n \"eps\": -1.5e-05, \"n\": [0, 12, -0.25, 1E+2, "
    "true, false, null, [], {}], \"t\": \"\\t\\n\\/\"}";

static void test_truncation(void **state)
{
    (void)state;
    size_t n = sizeof sample - 1;
    fwi_json *r = ok_n(sample, n);
    assert_int_equal(fwi_json_len(r), 4);
    const fwi_json *vocab = fwi_json_get(fwi_json_get(r, "model"), "vocab");
    assert_true(fwi_json_num(fwi_json_get(vocab, "\xf0\x9f\x98\x80")) == 2);
    assert_true(fwi_json_num(fwi_json_get(vocab, "b\xc3\xa9")) == 1);
    assert_true(fwi_json_num(fwi_json_get(r, "eps")) == -1.5e-05);
    size_t sl;
    const char *q = fwi_json_str(fwi_json_at(fwi_json_get(fwi_json_get(r,
                    "model"), "merges"), 1), &sl);
    assert_string_equal(q, "\"q\" \\");
    fwi_json_free(r);

    for (size_t k = 0; k < n; k++) {
        fw_status st = parse_n(sample, k, &r);
        if (st != FW_E_FORMAT)
            fail_msg("prefix of %zu bytes: status %d", k, st);
        assert_null(r);
        size_t off = SIZE_MAX;
        const char *m = fwi_errmsg_for(&H);
        if (sscanf(m, "offset %zu ", &off) != 1 || off > k)
            fail_msg("prefix of %zu bytes: %s", k, m);
    }
    /* one byte cut anywhere */
    char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t k = 0; k < n; k++) {
        memcpy(buf, sample, k);
        memcpy(buf + k, sample + k + 1, n - k - 1);
        fw_status st = parse_n(buf, n - 1, &r);
        assert_true(st == FW_OK || st == FW_E_FORMAT);
        if (st == FW_OK)
            fwi_json_free(r);
    }
    free(buf);
}

/* ------------------------------------------------------------ big */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_big_document(void **state)
{
    (void)state;
    /* a tokenizer.json-like document of about 1 MB */
    size_t cap = 2 << 20, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    len += (size_t)sprintf(buf + len, "{\"model\": {\"type\": \"BPE\", "
                                      "\"vocab\": {");
    int nv = 30000;
    for (int i = 0; i < nv; i++)
        len += (size_t)sprintf(buf + len, "%s\"tok\\u00e9%d\\n\": %d",
                               i ? ", " : "", i, i);
    len += (size_t)sprintf(buf + len, "}, \"merges\": [");
    for (int i = 0; i < 20000; i++)
        len += (size_t)sprintf(buf + len, "%s\"t%d \\u0120x%d\"",
                               i ? ", " : "", i, i * 3);
    len += (size_t)sprintf(buf + len, "]}, \"scores\": [");
    for (int i = 0; i < 30000; i++)
        len += (size_t)sprintf(buf + len, "%s%.9g", i ? ", " : "",
                               -1.0 / (i + 1) * 1e3);
    len += (size_t)sprintf(buf + len, "]}");
    assert_true(len < cap);

    fwi_json *r = NULL;
    double best = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        assert_int_equal(fwi_json_parse(buf, len, &H, &r), FW_OK);
        double dt = now_s() - t0;
        if (dt < best)
            best = dt;
        if (rep < 4)
            fwi_json_free(r);
    }
    print_message("%zu bytes parsed in %.2f ms (%.0f MB/s)\n", len,
                  best * 1e3, (double)len / best / 1e6);
    assert_true(best < 1.0);

    const fwi_json *vocab = fwi_json_get(fwi_json_get(r, "model"), "vocab");
    assert_int_equal(fwi_json_len(vocab), (size_t)nv);
    for (int i = 0; i < nv; i += 97) {
        char k[32];
        snprintf(k, sizeof k, "tok\xc3\xa9%d\n", i);
        int64_t iv;
        assert_true(fwi_json_num_int(fwi_json_get(vocab, k), &iv));
        assert_int_equal(iv, i);
    }
    const fwi_json *sc = fwi_json_get(r, "scores");
    assert_int_equal(fwi_json_len(sc), 30000);
    for (int i = 0; i < 30000; i += 101) {
        size_t tl;
        const char *tx = fwi_json_num_text(fwi_json_at(sc, (size_t)i), &tl);
        assert_true(same_bits(fwi_json_num(fwi_json_at(sc, (size_t)i)),
                              strtod(tx, NULL)));
    }
    fwi_json_free(r);
    free(buf);
}

/* ------------------------------------------------------------ memory */

static void test_alloc_failures(void **state)
{
    (void)state;
#ifdef TEST_JSON_WRAP_ALLOC
    /* a document that needs several chunks and both work stacks */
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    len += (size_t)sprintf(buf + len, "[");
    for (int i = 0; i < 3000; i++)
        len += (size_t)sprintf(buf + len, "%s{\"k%d\": [%d, \"s\\n\"], "
                               "\"x\": {\"y\": %d.5}}", i ? "," : "", i, i, i);
    len += (size_t)sprintf(buf + len, "]");
    int failures = 0;
    for (long k = 0;; k++) {
        fwi_json *r = (fwi_json *)&r;
        alloc_left = k;
        fw_status st = fwi_json_parse(buf, len, &H, &r);
        alloc_left = -1;
        if (st == FW_OK) {
            assert_int_equal(fwi_json_len(r), 3000);
            fwi_json_free(r);
            break;
        }
        assert_int_equal(st, FW_E_NOMEM);
        assert_null(r);
        assert_non_null(strstr(fwi_errmsg_for(&H), "out of memory"));
        failures++;
    }
    print_message("%d allocation failures handled\n", failures);
    assert_true(failures >= 3);
    free(buf);
#else
    print_message("SKIPPED: built without TEST_JSON_WRAP_ALLOC\n");
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_accessors_neutral),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_duplicates_large),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_numbers_vs_strtod),
        cmocka_unit_test(test_locale_independent),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_big_document),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
