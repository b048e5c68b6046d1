/*
 * fwinfer-inspect - print a GGUF file's metadata and tensor table.
 *
 *   fwinfer-inspect [--json] [--full] MODEL.gguf
 *
 * Text output shows arrays cut to their first 8 elements (--full: all).
 * --json prints one JSON object: {"version", "alignment", "metadata":
 * {key: value}, "tensors": [{"name", "type", "shape", "offset"}]}.
 * Exits 1 with the library's message if the file cannot be loaded.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwinfer.h"

/* Render metadata `key` as JSON into a growing buffer; NULL on failure. */
static const char *value_json(const fw_model *m, const char *key,
                              int64_t max_elems, char **buf, size_t *cap)
{
    size_t need = 0;
    fw_status st = fw_model_meta_to_json(m, key, max_elems, *buf, *cap, &need);
    if (st == FW_E_BUFFER_TOO_SMALL) {
        char *nb = realloc(*buf, need + 1);
        if (!nb)
            return NULL;
        *buf = nb;
        *cap = need + 1;
        st = fw_model_meta_to_json(m, key, max_elems, *buf, *cap, &need);
    }
    return st == FW_OK ? *buf : NULL;
}

/* A key as a JSON string (keys are plain ASCII in practice, but escape). */
static void print_json_key(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int dump_json(const fw_model *m)
{
    char *buf = NULL;
    size_t cap = 0;
    printf("{\"version\":%" PRIu32 ",\"alignment\":%" PRIu32
           ",\"data_offset\":%" PRIu64 ",\"metadata\":{",
           fw_model_gguf_version(m), fw_model_alignment(m),
           fw_model_data_offset(m));
    for (int64_t i = 0; i < fw_model_meta_count(m); i++) {
        const char *key = fw_model_meta_key(m, i);
        const char *v = value_json(m, key, -1, &buf, &cap);
        if (!v) {
            fprintf(stderr, "fwinfer-inspect: %s\n", fw_last_error());
            free(buf);
            return 1;
        }
        if (i)
            putchar(',');
        print_json_key(key);
        printf(":%s", v);
    }
    printf("},\"tensors\":[");
    for (int64_t i = 0; i < fw_model_tensor_count(m); i++) {
        int32_t type, nd;
        int64_t dims[FW_MAX_DIMS];
        uint64_t off, nbytes;
        fw_model_tensor_info(m, i, &type, &nd, dims, &off, &nbytes);
        printf("%s{\"name\":", i ? "," : "");
        print_json_key(fw_model_tensor_name(m, i));
        printf(",\"type\":\"%s\",\"shape\":[", fw_type_name(type));
        for (int d = 0; d < nd; d++)
            printf("%s%" PRId64, d ? "," : "", dims[d]);
        printf("],\"offset\":%" PRIu64 ",\"size\":%" PRIu64 "}", off, nbytes);
    }
    printf("]}\n");
    free(buf);
    return 0;
}

static int dump_text(const char *path, const fw_model *m, int full)
{
    char *buf = NULL;
    size_t cap = 0;
    printf("* File: %s\n* GGUF version %" PRIu32 ", alignment %" PRIu32
           ", tensor data at offset %" PRIu64 "\n",
           path, fw_model_gguf_version(m), fw_model_alignment(m),
           fw_model_data_offset(m));
    printf("* %" PRId64 " key/value pairs:\n", fw_model_meta_count(m));
    for (int64_t i = 0; i < fw_model_meta_count(m); i++) {
        const char *key = fw_model_meta_key(m, i);
        int32_t type, et;
        uint64_t n;
        fw_model_meta_type(m, key, &type, &et, &n);
        char tname[48];
        if (type == FW_META_ARRAY)
            snprintf(tname, sizeof tname, "[%s x %" PRIu64 "]",
                     fw_meta_type_name(et), n);
        else
            snprintf(tname, sizeof tname, "%s", fw_meta_type_name(type));
        const char *v = value_json(m, key, full ? -1 : 8, &buf, &cap);
        printf("  %4" PRId64 ": %-42s %-16s = %s\n", i + 1, key, tname,
               v ? v : "?");
    }
    printf("* %" PRId64 " tensors:\n", fw_model_tensor_count(m));
    for (int64_t i = 0; i < fw_model_tensor_count(m); i++) {
        int32_t type, nd;
        int64_t dims[FW_MAX_DIMS];
        uint64_t off, nbytes;
        fw_model_tensor_info(m, i, &type, &nd, dims, &off, &nbytes);
        char shape[96] = "";
        size_t len = 0;
        for (int d = 0; d < nd; d++)
            len += (size_t)snprintf(shape + len, sizeof shape - len,
                                    "%s%" PRId64, d ? " x " : "", dims[d]);
        printf("  %4" PRId64 ": %-36s %-8s %-24s offset %-12" PRIu64
               " %" PRIu64 " bytes\n",
               i + 1, fw_model_tensor_name(m, i), fw_type_name(type), shape,
               off, nbytes);
    }
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int json = 0, full = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--full"))
            full = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: %s [--json] [--full] MODEL.gguf\n", argv[0]);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "%s: unknown option %s\n", argv[0], argv[i]);
            return 2;
        } else if (!path)
            path = argv[i];
        else {
            fprintf(stderr, "%s: more than one file given\n", argv[0]);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: %s [--json] [--full] MODEL.gguf\n", argv[0]);
        return 2;
    }
    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.metadata_only = 1; /* any GGUF, whatever its architecture */
    fw_model *m;
    fw_status st = fw_model_load(path, &mp, &m);
    if (st != FW_OK) {
        fprintf(stderr, "fwinfer-inspect: %s\n", fw_last_error());
        return 1;
    }
    int rc = json ? dump_json(m) : dump_text(path, m, full);
    fw_model_free(m);
    return rc;
}
