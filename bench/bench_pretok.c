/* Pre-tokenizer throughput: MB/s of UTF-8 input per pre-tokenizer on a few
 * MB of generated mixed text (English-like prose, code, numbers, other
 * scripts, emoji, whitespace runs). Usage: bench_pretok [MB] [name...] */
#define _POSIX_C_SOURCE 199309L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pretok.h"
#include "unicode.h"

static const char *const SNIPPETS[] = {
    "The quick brown fox jumps over the lazy dog. ",
    "It's a beautiful day, isn't it? I'll be there at 10:30 ",
    "int main(void) {\n    return printf(\"%d\\n\", 42);\n}\n",
    "Total: 1234567 items, 3.14159 ratio, 2024-05-01. ",
    "Привет, как дела? Всё хорошо. ",
    "日本語のテキストと中文文本混合。",
    "안녕하세요 세계! ",
    "Emoji 😀👍🏽 and flags 🇺🇸 ",
    "Ελληνικά κείμενα και αριθμοί ١٢٣ ",
    "    indented line\n\n\n",
    "\t\tTabs\tand  spaces   here\r\n",
    "CamelCaseIdentifiers like HTTPServer and XMLParser; ",
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 4;
    size_t target = (mb ? mb : 4) << 20;
    char *text = malloc(target + 256);
    if (text == NULL) {
        return 1;
    }
    size_t len = 0;
    unsigned seed = 12345;
    while (len < target) {
        seed = seed * 1103515245u + 12345u;
        const char *s = SNIPPETS[(seed >> 16) % (sizeof SNIPPETS / sizeof SNIPPETS[0])];
        size_t l = strlen(s);
        memcpy(text + len, s, l);
        len += l;
    }
    uint32_t *cps = malloc((len + 1) * sizeof(uint32_t));
    if (cps == NULL) {
        return 1;
    }
    size_t n = fwi_utf8_decode(text, len, cps, NULL);

    static const char *const defaults[] = {"gpt-2", "llama-bpe", "qwen2", "gpt-4o", "deepseek-llm",
                                           "deepseek-coder", "falcon", "starcoder", "default", "tekken"};
    const char *const *names = argc > 2 ? (const char *const *)(argv + 2) : defaults;
    size_t nn = argc > 2 ? (size_t)(argc - 2) : sizeof defaults / sizeof defaults[0];

    printf("input: %.2f MB UTF-8, %zu code points\n", (double)len / 1048576.0, n);
    for (size_t i = 0; i < nn; i++) {
        const struct fwi_pretok_def *def = fwi_pretok_find(names[i]);
        struct fwi_pretok *pt = NULL;
        if (def == NULL || fwi_pretok_create(def, &pt, NULL, 0) != FWI_REGEX_OK) {
            printf("%-16s unavailable\n", names[i]);
            continue;
        }
        double best = 1e30;
        size_t np = 0;
        for (int rep = 0; rep < 3; rep++) {
            size_t *ends = NULL;
            double t0 = now();
            if (fwi_pretok_split(pt, cps, n, &ends, &np) != FWI_REGEX_OK) {
                printf("%-16s split failed\n", names[i]);
                break;
            }
            double t = now() - t0;
            free(ends);
            if (t < best) {
                best = t;
            }
        }
        printf("%-16s %8.1f MB/s  %zu pieces\n", names[i], (double)len / 1048576.0 / best, np);
        fwi_pretok_free(pt);
    }
    free(cps);
    free(text);
    return 0;
}
