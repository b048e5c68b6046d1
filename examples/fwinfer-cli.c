/*
 * fwinfer-cli - generate text from a prompt.
 *
 *   fwinfer-cli -m MODEL.gguf -p PROMPT [options]
 *
 * Every request field of docs/SAMPLING.md is a flag named after it:
 *   --max-tokens N (-n N)  --n N  --temperature T  --top-k K  --top-p P
 *   --min-p P  --typical-p P  --frequency-penalty F  --presence-penalty P
 *   --repetition-penalty R  --logit-bias ID=BIAS (repeatable)
 *   --mirostat-target T  --mirostat-lr L  --logprobs N  --top-logprobs N
 *   --echo  --echo-last N  --raw-output  --ignore-eos  --stop STR
 *   (repeatable)  --seed N
 * Output: the prompt and the continuation, streamed as they come (n > 1:
 * one choice after another); --json prints the OpenAI completions response
 * object; --stream with --json prints one streaming chunk object per line.
 * --request FILE (or -) takes a JSON request body; flags override its
 * fields; its "model" is ignored.
 * Machine: -t THREADS, --isa LEVEL, --ctx N (context positions).
 * Default max_tokens is the API's (2048, bounded by the context).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwinfer.h"

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            fprintf(stderr, "fwinfer-cli: out of memory\n");
            exit(1);
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_b(buf *b, const char *s) { put(b, s, strlen(s)); }

static void json_str(buf *b, const char *s)
{
    put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(b, esc, 6);
        } else {
            put(b, (const char *)&c, 1);
        }
    }
    put(b, "\"", 1);
}

/* Append `"key":value` to the overrides object. */
static void field(buf *o, const char *key, const char *raw_value)
{
    puts_b(o, o->n > 1 ? "," : "");
    json_str(o, key);
    puts_b(o, ":");
    puts_b(o, raw_value);
}

static int number_flag(buf *o, const char *flag, const char *key, const char *v)
{
    char *end;
    double d = strtod(v, &end);
    if (!*v || *end || isnan(d) || isinf(d)) {
        fprintf(stderr, "fwinfer-cli: %s: '%s' is not a number\n", flag, v);
        return -1;
    }
    field(o, key, v);
    return 0;
}

typedef struct out_state {
    int json, stream, n;
    int last_choice;
    const char *model_name;
} out_state;

static int32_t on_event(const fw_event *ev, void *ud)
{
    out_state *o = ud;
    if (o->json && o->stream) {
        buf b = {0};
        puts_b(&b, "{\"object\":\"text_completion\",\"model\":");
        json_str(&b, o->model_name);
        char tmp[96];
        snprintf(tmp, sizeof tmp, ",\"choices\":[{\"index\":%d,\"text\":", (int)ev->choice);
        puts_b(&b, tmp);
        json_str(&b, ev->text);
        if (ev->token >= 0) {
            snprintf(tmp, sizeof tmp, ",\"token_id\":%d", (int)ev->token);
            puts_b(&b, tmp);
            if (ev->n_top >= 0 && ev->logprob != 0.0f) {
                snprintf(tmp, sizeof tmp, ",\"logprob\":%.9g", (double)ev->logprob);
                puts_b(&b, tmp);
            }
        }
        puts_b(&b, ",\"finish_reason\":");
        if (ev->finish_reason)
            json_str(&b, ev->finish_reason);
        else
            puts_b(&b, "null");
        puts_b(&b, "}]}");
        puts(b.p);
        free(b.p);
    } else if (!o->json) {
        if (o->n > 1 && ev->choice != o->last_choice) {
            printf("\n--- choice %d ---\n", (int)ev->choice);
            o->last_choice = ev->choice;
        }
        fwrite(ev->text, 1, ev->text_len, stdout);
    }
    fflush(stdout);
    return 0;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return NULL;
    buf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        put(&b, chunk, got);
    if (f != stdin)
        fclose(f);
    if (!b.p)
        put(&b, "", 0);
    *len = b.n;
    return b.p;
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s -m MODEL.gguf (-p PROMPT | --request FILE) [--max-tokens N] [--n N]\n"
            "  [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--typical-p P]\n"
            "  [--frequency-penalty F] [--presence-penalty P] [--repetition-penalty R]\n"
            "  [--logit-bias ID=BIAS]... [--mirostat-target T] [--mirostat-lr L]\n"
            "  [--logprobs N] [--top-logprobs N] [--echo] [--echo-last N] [--raw-output]\n"
            "  [--ignore-eos] [--stop STR]... [--seed N] [--json] [--stream]\n"
            "  [-t THREADS] [--isa LEVEL] [--ctx N]\n",
            argv0);
    return 2;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *prompt = NULL, *isa = NULL, *request = NULL;
    long threads = 0, n_ctx = 0, n_choices = 1;
    int json = 0, stream = 0;
    buf ov = {0};
    buf stops = {0}, bias = {0};
    puts_b(&ov, "{");
    static const struct { const char *flag, *key; } numeric[] = {
        {"--max-tokens", "max_tokens"}, {"-n", "max_tokens"}, {"--n", "n"},
        {"--temperature", "temperature"}, {"--top-k", "top_k"}, {"--top-p", "top_p"},
        {"--min-p", "min_p"}, {"--typical-p", "typical_p"},
        {"--frequency-penalty", "frequency_penalty"},
        {"--presence-penalty", "presence_penalty"},
        {"--repetition-penalty", "repetition_penalty"},
        {"--mirostat-target", "mirostat_target"}, {"--mirostat-lr", "mirostat_lr"},
        {"--logprobs", "logprobs"}, {"--top-logprobs", "top_logprobs"},
        {"--echo-last", "echo_last"}, {"--seed", "seed"},
    };
    static const struct { const char *flag, *key; } flags[] = {
        {"--echo", "echo"}, {"--raw-output", "raw_output"}, {"--ignore-eos", "ignore_eos"},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int done = 0;
        for (size_t k = 0; !done && k < sizeof numeric / sizeof *numeric; k++)
            if (!strcmp(a, numeric[k].flag)) {
                if (!v)
                    return usage(argv[0]);
                if (number_flag(&ov, a, numeric[k].key, v))
                    return 2;
                if (!strcmp(numeric[k].key, "n"))
                    n_choices = strtol(v, NULL, 10);
                i++;
                done = 1;
            }
        for (size_t k = 0; !done && k < sizeof flags / sizeof *flags; k++)
            if (!strcmp(a, flags[k].flag)) {
                field(&ov, flags[k].key, "true");
                done = 1;
            }
        if (done)
            continue;
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && v)
            model_path = v, i++;
        else if ((!strcmp(a, "-p") || !strcmp(a, "--prompt")) && v)
            prompt = v, i++;
        else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && v)
            threads = strtol(v, NULL, 10), i++;
        else if (!strcmp(a, "--isa") && v)
            isa = v, i++;
        else if (!strcmp(a, "--ctx") && v)
            n_ctx = strtol(v, NULL, 10), i++;
        else if (!strcmp(a, "--request") && v)
            request = v, i++;
        else if (!strcmp(a, "--stop") && v) {
            puts_b(&stops, stops.n ? "," : "");
            json_str(&stops, v);
            i++;
        } else if (!strcmp(a, "--logit-bias") && v) {
            const char *eq = strchr(v, '=');
            char *end;
            long id = eq ? strtol(v, &end, 10) : -1;
            if (!eq || end != eq || id < 0) {
                fprintf(stderr, "fwinfer-cli: --logit-bias: expected ID=BIAS, got '%s'\n", v);
                return 2;
            }
            double bv = strtod(eq + 1, &end);
            if (!eq[1] || *end || isnan(bv)) {
                fprintf(stderr, "fwinfer-cli: --logit-bias: '%s' is not a number\n", eq + 1);
                return 2;
            }
            char tmp[96];
            snprintf(tmp, sizeof tmp, "%s\"%ld\":%s", bias.n ? "," : "", id, eq + 1);
            puts_b(&bias, tmp);
            i++;
        } else if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--stream"))
            stream = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(argv[0]);
            return 0;
        } else {
            fprintf(stderr, "%s: unknown or incomplete option %s\n", argv[0], a);
            return usage(argv[0]);
        }
    }
    if (!model_path || (!prompt && !request))
        return usage(argv[0]);
    if (threads < 0 || n_ctx < 0) {
        fprintf(stderr, "fwinfer-cli: -t and --ctx must not be negative\n");
        return 2;
    }
    if (stops.n) {
        buf s = {0};
        puts_b(&s, "[");
        puts_b(&s, stops.p);
        puts_b(&s, "]");
        field(&ov, "stop", s.p);
        free(s.p);
    }
    if (bias.n) {
        buf s = {0};
        puts_b(&s, "{");
        puts_b(&s, bias.p);
        puts_b(&s, "}");
        field(&ov, "logit_bias", s.p);
        free(s.p);
    }
    if (prompt) {
        buf s = {0};
        json_str(&s, prompt);
        field(&ov, "prompt", s.p);
        free(s.p);
    }
    puts_b(&ov, "}");
    size_t body_len = 2;
    char *body = request ? read_all(request, &body_len) : NULL;
    if (request && !body) {
        fprintf(stderr, "fwinfer-cli: cannot read %s\n", request);
        return 1;
    }

    fw_model *m;
    if (fw_model_load(model_path, NULL, &m) != FW_OK) {
        fprintf(stderr, "fwinfer-cli: %s\n", fw_last_error());
        return 1;
    }
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_threads = (uint32_t)threads;
    cp.n_ctx = (uint32_t)n_ctx;
    cp.isa = isa;
    cp.n_seq_max = n_choices > 0 && n_choices <= 128 ? (uint32_t)n_choices : 128;
    fw_context *c;
    if (fw_context_new(m, &cp, &c) != FW_OK) {
        fprintf(stderr, "fwinfer-cli: %s\n", fw_last_error());
        fw_model_free(m);
        return 1;
    }
    const char *base = strrchr(model_path, '/');
    base = base ? base + 1 : model_path;
    char model_name[256];
    snprintf(model_name, sizeof model_name, "%s", base);
    char *dot = strstr(model_name, ".gguf");
    if (dot)
        *dot = 0;
    out_state os = {json, stream, (int)n_choices, 0, model_name};
    if (!json && prompt && !strstr(ov.p, "\"echo\":true")) {
        fputs(prompt, stdout); /* the prompt, then the continuation */
        fflush(stdout);
    }
    fw_result *r = NULL;
    fw_status st = fw_generate_json(c, body ? body : "{}", body ? body_len : 2, ov.p, ov.n,
                                    (json && !stream) ? NULL : on_event, &os, &r);
    int rc = 0;
    if (st != FW_OK) {
        fprintf(stderr, "fwinfer-cli: %s\n", fw_last_error());
        rc = 1;
    } else if (json && !stream) {
        size_t n;
        fw_result_to_json(r, model_name, NULL, 0, &n);
        char *j = malloc(n + 1);
        if (j && fw_result_to_json(r, model_name, j, n + 1, &n) == FW_OK)
            puts(j);
        free(j);
    } else if (!json) {
        putchar('\n');
    }
    fw_result_free(r);
    fw_context_free(c);
    fw_model_free(m);
    free(body);
    free(ov.p);
    free(stops.p);
    free(bias.p);
    return rc;
}
