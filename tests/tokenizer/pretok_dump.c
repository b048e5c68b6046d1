/* Test driver for the pre-tokenizers (used by pretok_vs_python.py).
 *
 *   pretok_dump NAME FILE [SEP_HEX]
 *       Read FILE (raw bytes), decode it as llama.cpp does, split it with
 *       pre-tokenizer NAME and print each piece (re-encoded as UTF-8) as hex,
 *       one per line ("" pieces never occur). With SEP_HEX, FILE is first cut
 *       on that byte string into cases (like Python's bytes.split) and each
 *       case's output is followed by a line "=".
 *   pretok_dump --regex PATTERN_HEX FILE [SEP_HEX]
 *       Same with a single-regex pre-tokenizer made of PATTERN (hex UTF-8).
 *       A compile error prints "error <status> <message>" and exits 3.
 *   pretok_dump --names
 *       One line per accepted name: name, canonical id, byte_encode and the
 *       regexes as hex, tab separated.
 *   pretok_dump --info
 *       Runs of code points with equal property byte: "first last info" (hex).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "pretok.h"
#include "unicode.h"

static void print_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        printf("%02x", (unsigned)(unsigned char)s[i]);
    }
}

static int from_hex(const char *h, char **out, size_t *n)
{
    size_t len = strlen(h);
    if (len % 2 != 0) {
        return -1;
    }
    char *b = malloc(len / 2 + 1);
    if (b == NULL) {
        return -1;
    }
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1) {
            free(b);
            return -1;
        }
        b[i] = (char)v;
    }
    b[len / 2] = '\0';
    *out = b;
    *n = len / 2;
    return 0;
}

static int read_file(const char *path, char **out, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    size_t cap = 1 << 16;
    size_t len = 0;
    char *b = malloc(cap);
    while (b != NULL) {
        size_t got = fread(b + len, 1, cap - len, f);
        len += got;
        if (len < cap) {
            break;
        }
        char *nb = realloc(b, cap * 2);
        if (nb == NULL) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    fclose(f);
    if (b == NULL) {
        return -1;
    }
    *out = b;
    *n = len;
    return 0;
}

static int dump_case(const struct fwi_pretok *pt, const char *text, size_t n)
{
    uint32_t *cps = malloc((n + 1) * sizeof(uint32_t));
    if (cps == NULL) {
        return -1;
    }
    size_t ncp = fwi_utf8_decode(text, n, cps, NULL);
    size_t *ends = NULL;
    size_t np = 0;
    if (fwi_pretok_split(pt, cps, ncp, &ends, &np) != FWI_REGEX_OK) {
        free(cps);
        return -1;
    }
    size_t a = 0;
    for (size_t i = 0; i < np; i++) {
        for (size_t k = a; k < ends[i]; k++) {
            char buf[4];
            print_hex(buf, fwi_utf8_encode(cps[k], buf));
        }
        printf("\n");
        a = ends[i];
    }
    fwi_free(ends);
    free(cps);
    return 0;
}

static int dump_file(const struct fwi_pretok *pt, const char *path, const char *sep_hex)
{
    char *data = NULL;
    size_t n = 0;
    if (read_file(path, &data, &n) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    int rc = 0;
    if (sep_hex == NULL) {
        rc = dump_case(pt, data, n);
    } else {
        char *sep = NULL;
        size_t ns = 0;
        if (from_hex(sep_hex, &sep, &ns) != 0 || ns == 0) {
            free(data);
            fprintf(stderr, "bad separator\n");
            return 2;
        }
        size_t a = 0;
        for (;;) {
            size_t b = a;
            while (b + ns <= n && memcmp(data + b, sep, ns) != 0) {
                b++;
            }
            bool last = b + ns > n;
            if (last) {
                b = n;
            }
            if (dump_case(pt, data + a, b - a) != 0) {
                rc = -1;
                break;
            }
            printf("=\n");
            if (last) {
                break;
            }
            a = b + ns;
        }
        free(sep);
    }
    free(data);
    if (rc != 0) {
        fprintf(stderr, "split failed\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--names") == 0) {
        for (size_t i = 0; fwi_pretok_name_at(i) != NULL; i++) {
            const char *name = fwi_pretok_name_at(i);
            const struct fwi_pretok_def *d = fwi_pretok_find(name);
            printf("%s\t%s\t%d", name, d->id, d->byte_encode ? 1 : 0);
            for (size_t r = 0; r < d->n_regexes; r++) {
                printf("\t");
                print_hex(d->regexes[r], strlen(d->regexes[r]));
            }
            printf("\n");
        }
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--info") == 0) {
        uint32_t start = 0;
        uint8_t cur = fwi_unicode_info(0);
        for (uint32_t cp = 1; cp <= 0x110000u; cp++) {
            uint8_t v = cp <= FWI_UNICODE_MAX_CP ? fwi_unicode_info(cp) : 0xFF;
            if (v != cur) {
                printf("%x %x %x\n", (unsigned)start, (unsigned)(cp - 1), (unsigned)cur);
                start = cp;
                cur = v;
            }
        }
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "--regex") == 0) {
        char *pat = NULL;
        size_t np = 0;
        if (from_hex(argv[2], &pat, &np) != 0) {
            fprintf(stderr, "bad pattern hex\n");
            return 2;
        }
        const char *list[1] = {pat};
        struct fwi_pretok_def def = {"regex", list, 1, true};
        struct fwi_regex *re = NULL;
        char err[256];
        enum fwi_regex_status st = fwi_regex_compile(pat, np, &re, err, sizeof err);
        if (st != FWI_REGEX_OK) {
            printf("error %d %s\n", (int)st, err);
            free(pat);
            return 3;
        }
        fwi_regex_free(re);
        if (strlen(pat) != np) {
            printf("error %d pattern contains NUL\n", (int)FWI_REGEX_ERR_ARG);
            free(pat);
            return 3;
        }
        struct fwi_pretok *pt = NULL;
        st = fwi_pretok_create(&def, &pt, err, sizeof err);
        if (st != FWI_REGEX_OK) {
            printf("error %d %s\n", (int)st, err);
            free(pat);
            return 3;
        }
        int rc = dump_file(pt, argv[3], argc >= 5 ? argv[4] : NULL);
        fwi_pretok_free(pt);
        free(pat);
        return rc;
    }
    if (argc >= 3) {
        const struct fwi_pretok_def *d = fwi_pretok_find(argv[1]);
        if (d == NULL) {
            fprintf(stderr, "unknown pre-tokenizer %s\n", argv[1]);
            return 2;
        }
        struct fwi_pretok *pt = NULL;
        char err[256];
        if (fwi_pretok_create(d, &pt, err, sizeof err) != FWI_REGEX_OK) {
            fprintf(stderr, "compile failed for %s: %s\n", argv[1], err);
            return 2;
        }
        int rc = dump_file(pt, argv[2], argc >= 4 ? argv[3] : NULL);
        fwi_pretok_free(pt);
        return rc;
    }
    fprintf(stderr, "usage: pretok_dump NAME FILE [SEP_HEX] | --regex PATTERN_HEX FILE [SEP_HEX] | --names | --info\n");
    return 2;
}
