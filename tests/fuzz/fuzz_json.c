/* fuzz_json.c - libFuzzer target: the internal JSON parser on arbitrary
 * bytes.  Whatever it accepts is walked completely and checked: every
 * object member is found again by its key (keys are unique), strings are
 * NUL-terminated valid UTF-8, every number's value is strtod's (the target
 * runs in the C locale) and renders back (%.17g) to text that parses to
 * the same bits, and integers agree with strtoll.  Whatever it rejects must
 * fail with FW_E_FORMAT and an "offset ..." message. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/json.h"
#include "core/sbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int handle;

#define CHECK(c)                                                              \
    do {                                                                      \
        if (!(c)) {                                                           \
            fprintf(stderr, "fuzz_json: %s:%d: check failed: %s\n",           \
                    __FILE__, __LINE__, #c);                                  \
            abort();                                                          \
        }                                                                     \
    } while (0)

static void check_number(const fwi_json *v)
{
    size_t n;
    const char *text = fwi_json_num_text(v, &n);
    CHECK(text && n > 0 && strlen(text) == n);
    double d = fwi_json_num(v);
    double want = strtod(text, NULL);
    CHECK(memcmp(&d, &want, sizeof d) == 0);

    int64_t i = 0;
    int is_int = fwi_json_num_int(v, &i);
    int plain = strpbrk(text, ".eE") == NULL;
    errno = 0;
    long long ll = strtoll(text, NULL, 10);
    if (is_int)
        CHECK(plain && errno == 0 && ll == i);
    else if (plain)
        CHECK(errno == ERANGE);

    /* render back and read again */
    if (isfinite(d)) {
        char buf[40];
        int len = snprintf(buf, sizeof buf, "%.17g", d);
        CHECK(len > 0 && (size_t)len < sizeof buf);
        fwi_json *r;
        CHECK(fwi_json_parse(buf, (size_t)len, &handle, &r) == FW_OK);
        double back = fwi_json_num(r);
        CHECK(memcmp(&back, &d, sizeof d) == 0);
        fwi_json_free(r);
    }
}

static void walk(const fwi_json *v, int depth)
{
    CHECK(depth <= FWI_JSON_MAX_DEPTH);
    size_t n = fwi_json_len(v), len;
    switch (fwi_json_type_of(v)) {
    case FWI_JSON_NULL:
    case FWI_JSON_FALSE:
    case FWI_JSON_TRUE:
        CHECK(n == 0 && !fwi_json_at(v, 0) && !fwi_json_str(v, NULL));
        break;
    case FWI_JSON_NUMBER:
        check_number(v);
        break;
    case FWI_JSON_STRING: {
        const uint8_t *s = (const uint8_t *)fwi_json_str(v, &len);
        CHECK(s && len == n && s[len] == '\0');
        for (size_t i = 0; i < len;) {
            size_t k = fwi_utf8_valid_len(s + i, len - i);
            CHECK(k > 0);
            i += k;
        }
        break;
    }
    case FWI_JSON_ARRAY:
        for (size_t i = 0; i < n; i++)
            walk(fwi_json_at(v, i), depth + 1);
        CHECK(!fwi_json_at(v, n) && !fwi_json_key_at(v, 0, NULL));
        break;
    case FWI_JSON_OBJECT:
        for (size_t i = 0; i < n; i++) {
            const char *k = fwi_json_key_at(v, i, &len);
            CHECK(k && k[len] == '\0');
            CHECK(fwi_json_get_n(v, k, len) == fwi_json_at(v, i));
            if (strlen(k) == len)
                CHECK(fwi_json_get(v, k) == fwi_json_at(v, i));
            walk(fwi_json_at(v, i), depth + 1);
        }
        CHECK(!fwi_json_at(v, n) && !fwi_json_key_at(v, n, NULL));
        break;
    default:
        CHECK(0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fwi_json *root = NULL;
    fw_status st = fwi_json_parse((const char *)data, size, &handle, &root);
    if (st != FW_OK) {
        CHECK(st == FW_E_FORMAT && !root);
        CHECK(strncmp(fwi_errmsg_for(&handle), "offset ", 7) == 0);
        return 0;
    }
    walk(root, 0);
    fwi_json_free(root);
    return 0;
}
