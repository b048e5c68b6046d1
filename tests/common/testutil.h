/* testutil.h - shared helpers for the cmocka tests. */
#ifndef FW_TESTUTIL_H
#define FW_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

/* The shared test data folder (Meson option test_data_dir), passed to the
 * tests in FWINFER_TEST_DATA; NULL when it is missing. */
static inline const char *tu_data_dir(void)
{
    const char *d = getenv("FWINFER_TEST_DATA");
    struct stat sb;
    if (!d || stat(d, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return NULL;
    return d;
}

/* Skip the calling test with a message when the shared data is missing
 * (.ci/run fails before this can happen in CI). */
#define TU_REQUIRE_DATA()                                                     \
    do {                                                                      \
        if (!tu_data_dir()) {                                                 \
            print_message("SKIPPED: shared test data not found (FWINFER_TEST_DATA=%s)\n", \
                          getenv("FWINFER_TEST_DATA") ? getenv("FWINFER_TEST_DATA") : "(unset)"); \
            skip();                                                           \
        }                                                                     \
    } while (0)

/* Path of a file under the data folder, in a static buffer. */
static inline const char *tu_data_path(const char *rel)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", tu_data_dir(), rel);
    return path;
}

/* Read a whole file (malloc'd, NUL-terminated); NULL on failure. */
static inline char *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (size)
            *size = (size_t)n;
    }
    return buf;
}

/* max |a - b| / max |b|: the relative difference of a logit vector */
static inline double tu_rel_diff(const float *a, const double *b, int n)
{
    /* (plain comparisons: gcc 12 for aarch64 crashes vectorizing fmax) */
    double md = 0, mb = 0;
    for (int i = 0; i < n; i++) {
        double d = a[i] - b[i], r = b[i];
        d = d < 0 ? -d : d;
        r = r < 0 ? -r : r;
        if (d > md)
            md = d;
        if (r > mb)
            mb = r;
    }
    return md / mb;
}

/* Parse the numbers of the JSON array that follows the first occurrence of
 * "key": in text (a test helper for the reference files, not a JSON
 * parser).  Returns the count, or -1 if the key is absent. */
static inline int tu_json_numbers(const char *text, const char *key,
                                  double *out, int cap)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = text;
    for (;;) { /* the first occurrence whose value is an array */
        p = strstr(p, pat);
        if (!p)
            return -1;
        p += strlen(pat);
        while (*p == ' ' || *p == '\n')
            p++;
        if (*p == '[')
            break;
    }
    p++;
    int n = 0;
    while (*p && *p != ']' && n < cap) {
        char *end;
        double v = strtod(p, &end);
        if (end == p) {
            p++;
            continue;
        }
        out[n++] = v;
        p = end;
    }
    return n;
}

#endif
