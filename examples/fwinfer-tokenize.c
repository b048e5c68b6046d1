/*
 * fwinfer-tokenize - print the token ids of a text.
 *
 *   fwinfer-tokenize -m MODEL.gguf [--pieces] [--no-special] TEXT...
 *   fwinfer-tokenize -m MODEL.gguf --file FILE
 *   fwinfer-tokenize --tiktoken RANKS --pre NAME TEXT...
 *
 * Several TEXT words are joined with single spaces; --file reads raw bytes.
 * By default the model's special tokens are added (BOS/EOS as the model
 * says) and special-token text is parsed; --no-special turns both off.
 * Output: ids separated by spaces, or with --pieces "id<TAB>piece" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwinfer.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s -m MODEL.gguf [--pieces] [--no-special] (TEXT... | --file F)\n"
            "       %s --tiktoken RANKS --pre NAME [--pieces] (TEXT... | --file F)\n",
            argv0, argv0);
    return 2;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *file = NULL, *tiktoken = NULL, *pre = NULL;
    int pieces = 0, special = 1;
    size_t text_len = 0;
    char *text = calloc(1, 1);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && i + 1 < argc)
            model_path = argv[++i];
        else if (!strcmp(a, "--file") && i + 1 < argc)
            file = argv[++i];
        else if (!strcmp(a, "--tiktoken") && i + 1 < argc)
            tiktoken = argv[++i];
        else if (!strcmp(a, "--pre") && i + 1 < argc)
            pre = argv[++i];
        else if (!strcmp(a, "--pieces"))
            pieces = 1;
        else if (!strcmp(a, "--no-special"))
            special = 0;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(argv[0]) - 2;
        else if (a[0] == '-' && a[1] && strcmp(a, "--") != 0) {
            fprintf(stderr, "%s: unknown option %s\n", argv[0], a);
            return usage(argv[0]);
        } else {
            if (!strcmp(a, "--") && i + 1 < argc)
                a = argv[++i];
            size_t n = strlen(a);
            char *t = realloc(text, text_len + n + 2);
            if (!t)
                return 1;
            text = t;
            if (text_len)
                text[text_len++] = ' ';
            memcpy(text + text_len, a, n + 1);
            text_len += n;
        }
    }
    if ((!model_path && !tiktoken) || (tiktoken && !pre))
        return usage(argv[0]);
    if (file) {
        free(text);
        text = read_file(file, &text_len);
        if (!text) {
            fprintf(stderr, "%s: cannot read %s\n", argv[0], file);
            return 1;
        }
    }
    fw_model *m;
    fw_status st = tiktoken ? fw_model_load_tiktoken(tiktoken, pre, NULL, &m)
                            : fw_model_load(model_path, NULL, &m);
    if (st != FW_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], fw_last_error());
        free(text);
        return 1;
    }
    if (tiktoken)
        special = 0; /* a rank file has no special tokens */
    uint32_t flags = special ? FW_TOKENIZE_ADD_SPECIAL | FW_TOKENIZE_PARSE_SPECIAL : 0;
    size_t n = 0;
    st = fw_tokenize(m, text, text_len, flags, NULL, 0, &n);
    fw_token *toks = malloc((n ? n : 1) * sizeof *toks);
    if (st == FW_E_BUFFER_TOO_SMALL || st == FW_OK)
        st = fw_tokenize(m, text, text_len, flags, toks, n, &n);
    if (st != FW_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], fw_last_error());
        free(toks);
        free(text);
        fw_model_free(m);
        return 1;
    }
    char piece[256];
    for (size_t i = 0; i < n; i++) {
        if (pieces) {
            size_t need;
            st = fw_token_to_piece(m, toks[i], FW_DETOK_UNPARSE_SPECIAL, piece,
                                   sizeof piece, &need);
            printf("%d\t%s\n", (int)toks[i], st == FW_OK ? piece : "?");
        } else {
            printf(i ? " %d" : "%d", (int)toks[i]);
        }
    }
    if (!pieces)
        printf("\n");
    free(toks);
    free(text);
    fw_model_free(m);
    return 0;
}
