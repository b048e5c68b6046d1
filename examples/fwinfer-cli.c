/*
 * fwinfer-cli - generate text from a prompt, or chat.
 *
 *   fwinfer-cli -m MODEL.gguf -p PROMPT [options]
 *   fwinfer-cli -m MODEL.gguf --messages '[{"role":"user","content":"Hi"}]'
 *   fwinfer-cli -m MODEL.gguf --chat [--system TEXT]
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
 * --request FILE (or -) takes a JSON request body (completions or chat);
 * flags override its fields; its "model" is ignored.
 * Chat: --messages JSON makes one chat request from a JSON array of
 * {"role", "content"} objects; the reply is printed (--json: the
 * chat.completion object; with --echo --max-tokens 0 its content is the
 * rendered prompt).  --chat reads user lines from stdin and answers each,
 * keeping the conversation (the whole history is rendered every turn),
 * until end of input or a line "/exit" (empty lines are skipped);
 * --system TEXT starts it with a system message.  --chat-template FILE
 * renders with that Jinja2 template instead of the model's (a model
 * without one gets ChatML).
 * Machine: -t THREADS, --isa LEVEL, --ctx N (context positions).
 * --verbose prints prompt and generation speed (tokens/s) on stderr.  When
 * stderr is a terminal a progress bar shows the model loading and the
 * evaluation of a long prompt.
 * Default max_tokens is the API's (2048, bounded by the context).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fwinfer.h"

#define CLI_N_BATCH 512u /* tokens per forward pass (the library's default) */

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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- progress bar (stderr, only when it is a terminal) ---- */

#define BAR_DELAY_S 0.3 /* draw nothing for quick loads and short prompts */

static void draw_bar(const char *label, double frac)
{
    enum { W = 30 };
    int fill = (int)(frac * W + 0.5);
    char bar[W + 1];
    for (int i = 0; i < W; i++)
        bar[i] = i < fill ? '#' : ' ';
    bar[W] = 0;
    fprintf(stderr, "\r%s [%s] %3d%%", label, bar, (int)(frac * 100 + 0.5));
    fflush(stderr);
}

static void clear_bar(void)
{
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

typedef struct load_bar {
    double t0;
    int drawn;
} load_bar;

static int32_t on_load_progress(float progress, void *ud)
{
    load_bar *lb = ud;
    if (progress >= 1.0f) {
        if (lb->drawn)
            clear_bar();
        lb->drawn = 0;
    } else if (now_s() - lb->t0 >= BAR_DELAY_S) {
        draw_bar("loading model    ", progress);
        lb->drawn = 1;
    }
    return 0;
}

/* While a prompt is evaluated the calling thread is inside the library: a
 * second thread watches the context's layer counter (fw_context_layers_done
 * may be read from another thread) against the prompt's expected count. */
typedef struct prompt_bar {
    fw_context *ctx;
    uint64_t base, total;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, stop;
} prompt_bar;

static void *prompt_bar_main(void *arg)
{
    prompt_bar *pb = arg;
    double t0 = now_s();
    int drawn = 0;
    pthread_mutex_lock(&pb->mu);
    while (!pb->stop) {
        double wait = now_s() - t0 < BAR_DELAY_S ? BAR_DELAY_S : 0.1;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(wait * 1e9);
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&pb->cv, &pb->mu, &ts);
        if (pb->stop)
            break;
        double done = (double)(fw_context_layers_done(pb->ctx) - pb->base);
        double frac = done / (double)pb->total;
        draw_bar("evaluating prompt", frac > 1 ? 1 : frac);
        drawn = 1;
    }
    pthread_mutex_unlock(&pb->mu);
    if (drawn)
        clear_bar();
    return NULL;
}

static void prompt_bar_start(prompt_bar *pb, fw_context *ctx, const fw_model *m,
                             size_t n_prompt)
{
    memset(pb, 0, sizeof *pb);
    uint32_t n_batch = fw_context_n_ctx(ctx) < CLI_N_BATCH ? fw_context_n_ctx(ctx) : CLI_N_BATCH;
    pb->ctx = ctx;
    pb->base = fw_context_layers_done(ctx);
    pb->total = (uint64_t)fw_model_n_layer(m) * ((n_prompt + n_batch - 1) / n_batch);
    if (pb->total == 0)
        return;
    pthread_mutex_init(&pb->mu, NULL);
    pthread_cond_init(&pb->cv, NULL);
    pb->running = pthread_create(&pb->th, NULL, prompt_bar_main, pb) == 0;
    if (!pb->running) {
        pthread_cond_destroy(&pb->cv);
        pthread_mutex_destroy(&pb->mu);
    }
}

/* Stop and wait (the bar is cleared before anything else is printed). */
static void prompt_bar_stop(prompt_bar *pb)
{
    if (!pb || !pb->running)
        return;
    pthread_mutex_lock(&pb->mu);
    pb->stop = 1;
    pthread_cond_signal(&pb->cv);
    pthread_mutex_unlock(&pb->mu);
    pthread_join(pb->th, NULL);
    pthread_cond_destroy(&pb->cv);
    pthread_mutex_destroy(&pb->mu);
    pb->running = 0;
}

/* ---- output ---- */

typedef struct out_state {
    int json, stream, n, chat;
    int last_choice;             /* -1 before the first event */
    const char *model_name;
    const char *prefix;          /* printed before the first event (the
                                    prompt of a -p request), or NULL */
    prompt_bar *bar;             /* stopped at the first event */
    double t_first;              /* time of the first event */
    int quiet;                   /* text output without streaming (--echo) */
} out_state;

static int32_t on_event(const fw_event *ev, void *ud)
{
    out_state *o = ud;
    int first_of_choice = ev->choice != o->last_choice;
    if (o->last_choice < 0) {
        o->t_first = now_s();
        prompt_bar_stop(o->bar);
        if (o->prefix && !o->json)
            fputs(o->prefix, stdout);
    }
    if (o->json && o->stream) {
        buf b = {0};
        puts_b(&b, o->chat ? "{\"object\":\"chat.completion.chunk\",\"model\":"
                           : "{\"object\":\"text_completion\",\"model\":");
        json_str(&b, o->model_name);
        char tmp[96];
        snprintf(tmp, sizeof tmp, ",\"choices\":[{\"index\":%d,", (int)ev->choice);
        puts_b(&b, tmp);
        if (o->chat) {
            puts_b(&b, first_of_choice ? "\"delta\":{\"role\":\"assistant\",\"content\":"
                                       : "\"delta\":{\"content\":");
            json_str(&b, ev->text);
            puts_b(&b, "}");
        } else {
            puts_b(&b, "\"text\":");
            json_str(&b, ev->text);
        }
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
    } else if (!o->json && !o->quiet) {
        if (o->n > 1 && first_of_choice && o->last_choice >= 0)
            printf("\n--- choice %d ---\n", (int)ev->choice);
        fwrite(ev->text, 1, ev->text_len, stdout);
    }
    o->last_choice = ev->choice;
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
            "usage: %s -m MODEL.gguf (-p PROMPT | --messages JSON | --chat | --request FILE)\n"
            "  [--max-tokens N] [--n N]\n"
            "  [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--typical-p P]\n"
            "  [--frequency-penalty F] [--presence-penalty P] [--repetition-penalty R]\n"
            "  [--logit-bias ID=BIAS]... [--mirostat-target T] [--mirostat-lr L]\n"
            "  [--logprobs N] [--top-logprobs N] [--echo] [--echo-last N] [--raw-output]\n"
            "  [--ignore-eos] [--stop STR]... [--seed N] [--json] [--stream]\n"
            "  [--system TEXT] [--chat-template FILE] [--verbose]\n"
            "  [-t THREADS] [--isa LEVEL] [--ctx N]\n",
            argv0);
    return 2;
}

/* The prompt a request would evaluate: its token count and whether it is a
 * chat request (fw_request_prompt_json, a dry run).  0 on success. */
static int prompt_info(const fw_model *m, const char *body, size_t body_len, const char *ov,
                       size_t *n_tokens, int *chat)
{
    size_t n = 0;
    fw_status st = fw_request_prompt_json(m, body, body_len, ov, strlen(ov), NULL, 0, &n);
    if (st != FW_E_BUFFER_TOO_SMALL && st != FW_OK)
        return -1;
    char *j = malloc(n + 1);
    if (!j || fw_request_prompt_json(m, body, body_len, ov, strlen(ov), j, n + 1, &n) != FW_OK) {
        free(j);
        return -1;
    }
    /* keys are outside the prompt string, whose quotes are escaped */
    const char *ids = strstr(j, "\"prompt_token_ids\":[");
    *n_tokens = 0;
    if (ids) {
        ids += strlen("\"prompt_token_ids\":[");
        if (*ids != ']')
            for (*n_tokens = 1; *ids && *ids != ']'; ids++)
                *n_tokens += *ids == ',';
    }
    const char *ct = strstr(j, ",\"chat_template\":");
    *chat = ct && ct[strlen(",\"chat_template\":")] != 'n';
    free(j);
    return 0;
}

typedef struct run_opts {
    fw_context *ctx;
    const fw_model *model;
    const char *model_name;
    const char *body;
    size_t body_len;
    int json, stream, n, chat, echo, verbose, tty_err;
    const char *prefix;
} run_opts;

/* One request: generate with the overrides `ov`, print per the options.
 * Returns the result (NULL on error, after printing the error). */
static fw_result *run_request(const run_opts *ro, const char *ov)
{
    size_t n_prompt = 0;
    int chat = ro->chat;
    if ((ro->tty_err || (ro->json && ro->stream)) &&
        prompt_info(ro->model, ro->body, ro->body_len, ov, &n_prompt, &chat) != 0) {
        fprintf(stderr, "fwinfer-cli: %s\n", fw_last_error());
        return NULL;
    }
    prompt_bar bar;
    memset(&bar, 0, sizeof bar);
    if (ro->tty_err)
        prompt_bar_start(&bar, ro->ctx, ro->model, n_prompt);
    /* with echo the text comes whole at the end: the stream does not carry
     * the echoed prompt */
    out_state os = {ro->json, ro->stream, ro->n, chat, -1, ro->model_name,
                    ro->echo ? NULL : ro->prefix, &bar, 0, ro->echo && !ro->json};
    double t0 = now_s();
    fw_result *r = NULL;
    fw_status st = fw_generate_json(ro->ctx, ro->body, ro->body_len, ov, strlen(ov),
                                    (ro->json && !ro->stream) ? NULL : on_event, &os, &r);
    double t_end = now_s();
    prompt_bar_stop(&bar);
    if (st != FW_OK) {
        fflush(stdout);
        fprintf(stderr, "fwinfer-cli: %s\n", fw_last_error());
        return NULL;
    }
    if (ro->json && !ro->stream) {
        size_t n;
        fw_result_to_json(r, ro->model_name, NULL, 0, &n);
        char *j = malloc(n + 1);
        if (j && fw_result_to_json(r, ro->model_name, j, n + 1, &n) == FW_OK)
            puts(j);
        free(j);
    } else if (!ro->json) {
        if (os.last_choice < 0 && os.prefix)
            fputs(os.prefix, stdout); /* no event came (none is expected) */
        if (os.quiet) {
            for (int32_t i = 0; i < fw_result_n_choices(r); i++) {
                size_t n;
                fw_result_text(r, i, NULL, 0, &n);
                char *t = malloc(n + 1);
                if (i > 0)
                    printf("\n--- choice %d ---\n", (int)i);
                if (t && fw_result_text(r, i, t, n + 1, &n) == FW_OK)
                    fwrite(t, 1, n, stdout);
                free(t);
            }
        }
        putchar('\n');
    }
    fflush(stdout);
    if (ro->verbose) {
        int32_t prompt = 0, completion = 0, evaluated = 0;
        fw_result_usage(r, &prompt, &completion, &evaluated);
        double tp = (os.last_choice >= 0 ? os.t_first : t_end) - t0;
        double tg = os.last_choice >= 0 ? t_end - os.t_first : 0;
        fprintf(stderr, "prompt: %d tokens in %.3f s (%.1f tokens/s)\n", (int)evaluated, tp,
                tp > 0 ? evaluated / tp : 0.0);
        /* the first token comes with the prompt's logits: the rate is over
         * the tokens after it */
        fprintf(stderr, "generation: %d tokens in %.3f s (%.1f tokens/s)\n", (int)completion,
                tg, tg > 0 && completion > 1 ? (completion - 1) / tg : 0.0);
    }
    return r;
}

/* Append a {"role", "content"} object to the JSON array in `msgs` (which
 * holds "[" and the objects so far, without the closing bracket). */
static void add_message(buf *msgs, const char *role, const char *content)
{
    puts_b(msgs, msgs->n > 1 ? ",{\"role\":" : "{\"role\":");
    json_str(msgs, role);
    puts_b(msgs, ",\"content\":");
    json_str(msgs, content);
    puts_b(msgs, "}");
}

/* --chat: one request per user line, the whole conversation each time. */
static int chat_loop(const run_opts *ro, const char *ov_base, const char *system)
{
    buf msgs = {0};
    puts_b(&msgs, "[");
    if (system)
        add_message(&msgs, "system", system);
    int interactive = isatty(0) && isatty(1);
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    for (;;) {
        if (interactive) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        ssize_t got = getline(&line, &cap, stdin);
        if (got < 0)
            break;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = 0;
        if (!strcmp(line, "/exit"))
            break;
        if (got == 0)
            continue;
        add_message(&msgs, "user", line);
        /* the overrides with "messages": base fields + the history */
        buf ov = {0};
        put(&ov, ov_base, strlen(ov_base) - 1); /* without the closing '}' */
        puts_b(&ov, ov.n > 1 ? ",\"messages\":" : "\"messages\":");
        puts_b(&ov, msgs.p);
        puts_b(&ov, "]}");
        fw_result *r = run_request(ro, ov.p);
        free(ov.p);
        if (!r) {
            rc = 1;
            break;
        }
        size_t n;
        fw_result_text(r, 0, NULL, 0, &n);
        char *reply = malloc(n + 1);
        if (reply && fw_result_text(r, 0, reply, n + 1, &n) == FW_OK)
            add_message(&msgs, "assistant", reply);
        free(reply);
        fw_result_free(r);
    }
    free(line);
    free(msgs.p);
    return rc;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *prompt = NULL, *isa = NULL, *request = NULL;
    const char *messages = NULL, *system = NULL, *template_path = NULL;
    long threads = 0, n_ctx = 0, n_choices = 1;
    int json = 0, stream = 0, chat = 0, verbose = 0, echo = 0;
    buf ov = {0};
    buf stops = {0}, bias = {0};
    int rc = 0;
    char *body = NULL;
    fw_model *m = NULL;
    fw_context *c = NULL;
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
                if (!v) {
                    rc = usage(argv[0]);
                    goto out;
                }
                if (number_flag(&ov, a, numeric[k].key, v)) {
                    rc = 2;
                    goto out;
                }
                if (!strcmp(numeric[k].key, "n"))
                    n_choices = strtol(v, NULL, 10);
                i++;
                done = 1;
            }
        for (size_t k = 0; !done && k < sizeof flags / sizeof *flags; k++)
            if (!strcmp(a, flags[k].flag)) {
                field(&ov, flags[k].key, "true");
                echo |= !strcmp(flags[k].key, "echo");
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
        else if (!strcmp(a, "--messages") && v)
            messages = v, i++;
        else if (!strcmp(a, "--system") && v)
            system = v, i++;
        else if (!strcmp(a, "--chat-template") && v)
            template_path = v, i++;
        else if (!strcmp(a, "--chat"))
            chat = 1;
        else if (!strcmp(a, "--verbose"))
            verbose = 1;
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
                rc = 2;
                goto out;
            }
            double bv = strtod(eq + 1, &end);
            if (!eq[1] || *end || isnan(bv)) {
                fprintf(stderr, "fwinfer-cli: --logit-bias: '%s' is not a number\n", eq + 1);
                rc = 2;
                goto out;
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
            goto out;
        } else {
            fprintf(stderr, "%s: unknown or incomplete option %s\n", argv[0], a);
            rc = usage(argv[0]);
            goto out;
        }
    }
    if (!model_path || (!prompt && !request && !messages && !chat)) {
        rc = usage(argv[0]);
        goto out;
    }
    if (threads < 0 || n_ctx < 0) {
        fprintf(stderr, "fwinfer-cli: -t and --ctx must not be negative\n");
        rc = 2;
        goto out;
    }
    if (chat && (prompt || messages)) {
        fprintf(stderr, "fwinfer-cli: --chat reads the conversation from stdin: it takes "
                        "no -p or --messages\n");
        rc = 2;
        goto out;
    }
    if (chat && (echo || n_choices != 1 || (request && !strcmp(request, "-")))) {
        fprintf(stderr, "fwinfer-cli: --chat keeps one conversation: no --echo, --n 1, "
                        "and stdin is for the user's lines (not --request -)\n");
        rc = 2;
        goto out;
    }
    if (system && !chat) {
        fprintf(stderr, "fwinfer-cli: --system is for --chat (with --messages, put the "
                        "system message in the array)\n");
        rc = 2;
        goto out;
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
    if (messages)
        field(&ov, "messages", messages); /* JSON as given: the library checks it */
    if (template_path) {
        size_t tl;
        char *t = read_all(template_path, &tl);
        if (!t || strlen(t) != tl) {
            fprintf(stderr, "fwinfer-cli: --chat-template: cannot read %s%s\n", template_path,
                    t ? " (it contains a NUL byte)" : "");
            free(t);
            rc = 1;
            goto out;
        }
        buf s = {0};
        json_str(&s, t);
        field(&ov, "chat_template", s.p);
        free(s.p);
        free(t);
    }
    puts_b(&ov, "}");
    size_t body_len = 2;
    body = request ? read_all(request, &body_len) : NULL;
    if (request && !body) {
        fprintf(stderr, "fwinfer-cli: cannot read %s\n", request);
        rc = 1;
        goto out;
    }

    int tty_err = isatty(2);
    load_bar lb = {now_s(), 0};
    fw_model_params mp;
    fw_model_params_init(&mp);
    if (tty_err) {
        mp.progress = on_load_progress;
        mp.progress_user_data = &lb;
    }
    fw_status lst = fw_model_load(model_path, &mp, &m);
    if (lb.drawn)
        clear_bar();
    if (lst != FW_OK) {
        fprintf(stderr, "fwinfer-cli: %s\n", fw_last_error());
        rc = 1;
        goto out;
    }
    fw_context_params cp;
    fw_context_params_init(&cp);
    cp.n_threads = (uint32_t)threads;
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_batch = CLI_N_BATCH;
    cp.isa = isa;
    cp.n_seq_max = n_choices > 0 && n_choices <= 128 ? (uint32_t)n_choices : 128;
    if (fw_context_new(m, &cp, &c) != FW_OK) {
        fprintf(stderr, "fwinfer-cli: %s\n", fw_last_error());
        rc = 1;
        goto out;
    }
    const char *base = strrchr(model_path, '/');
    base = base ? base + 1 : model_path;
    char model_name[256];
    snprintf(model_name, sizeof model_name, "%s", base);
    char *dot = strstr(model_name, ".gguf");
    if (dot)
        *dot = 0;
    run_opts ro = {c, m, model_name, body ? body : "{}", body ? body_len : 2,
                   json, stream, (int)n_choices, chat || messages, echo, verbose, tty_err,
                   prompt};
    if (chat) {
        rc = chat_loop(&ro, ov.p, system);
    } else {
        /* a -p request prints the prompt, then the continuation */
        fw_result *r = run_request(&ro, ov.p);
        rc = r ? 0 : 1;
        fw_result_free(r);
    }
out:
    fw_context_free(c);
    fw_model_free(m);
    free(body);
    free(ov.p);
    free(stops.p);
    free(bias.p);
    return rc;
}
