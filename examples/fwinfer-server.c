/*
 * fwinfer-server - an OpenAI/Fireworks-compatible HTTP server for one model.
 *
 *   fwinfer-server -m MODEL.gguf [--host 127.0.0.1] [--port 8080] [-t THREADS]
 *                  [--parallel K] [--alias NAME] [--max-queue Q]
 *                  [--max-body BYTES] [--timeout SEC] [--ctx N] [--max-n N]
 *                  [--verbose]
 *
 * Endpoints:
 *   POST /v1/completions        a completions request ("prompt")
 *   POST /v1/chat/completions   a chat request ("messages")
 *        both with "stream": true as server-sent events ("data: {chunk}"
 *        ... "data: [DONE]"), "stream_options": {"include_usage": true}
 *        adding a last chunk with the usage
 *   GET  /v1/models, /v1/models/NAME
 *   GET  /health
 * The request body is handed to the library as it is (fw_generate_json):
 * every field of docs/SAMPLING.md, with the library's validation; an error
 * is HTTP 400 with OpenAI's error object naming the field.  "model" must
 * name the loaded model: its file name without ".gguf", or --alias
 * (otherwise 404, code "model_not_found").  Every answer of the two
 * generation endpoints carries the header fireworks-sampling-options with
 * the model's sampling defaults (fw_model_sampling_defaults_json).
 *
 * Serving: one thread per connection (at most --parallel + --max-queue +
 * 32 at once, 503 past that), one request per connection (Connection:
 * close).  K = --parallel contexts share the model; a request waits for a
 * free one in a queue of at most --max-queue requests (429 past it).  The
 * request (line, headers, Content-Length body) must arrive within --timeout
 * seconds (408); a slow reader is dropped after --timeout seconds without
 * progress.  SIGTERM/SIGINT: stop listening, refuse queued requests (503),
 * cancel running ones, free everything, exit 0.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fwinfer.h"
#include "server/http.h"
#include "server/text.h"

#define EXTRA_CONNS 32 /* connections beyond --parallel + --max-queue */

typedef struct slot {
    fw_context *ctx;
    int busy;
} slot;

typedef struct conn {
    struct server *srv;
    pthread_t th;
    int fd;
    atomic_int state; /* 0 free, 1 running, 2 finished (to be joined) */
} conn;

typedef struct server {
    fw_model *model;
    char stem[256];          /* the model file name without .gguf */
    const char *alias;       /* --alias, or NULL */
    char *defaults_json;     /* fireworks-sampling-options */
    int64_t started;
    http_limits lim;
    int verbose;
    /* contexts and the queue */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot *slots;
    int n_slots, waiting, max_queue, max_n;
    atomic_int stopping;
    /* connections */
    conn *conns;
    int n_conns;
    atomic_uint_fast64_t next_id;
} server;

/* ---- signals ---- */

static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t sig_seen;

static void on_signal(int sig)
{
    int saved = errno;
    sig_seen = sig;
    if (write(sig_pipe[1], "x", 1) < 0) {
        /* the flag alone is enough */
    }
    errno = saved;
}

/* ---- responses ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The header block of an answer; `extra` is more header lines (each ending
 * with CRLF) or "".  content_length < 0: the body ends when the connection
 * closes (event streams). */
static void head(sbuf *h, int status, const char *type, long long content_length,
                 const char *extra)
{
    sb_printf(h, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n", status, http_reason(status), type);
    if (content_length >= 0)
        sb_printf(h, "Content-Length: %lld\r\n", content_length);
    else
        sb_puts(h, "Cache-Control: no-cache\r\n");
    sb_puts(h, "Connection: close\r\n");
    sb_puts(h, extra);
    sb_puts(h, "\r\n");
}

/* Every answer goes through here: a slow reader is given --timeout
 * seconds without progress, and nothing once the server is stopping. */
static server *g_srv;

static int ssend(int fd, const void *data, size_t n)
{
    return http_send(fd, data, n, &g_srv->stopping, g_srv->lim.timeout_s);
}

static int send_response(int fd, int status, const char *type, const char *body, size_t n,
                         const char *extra)
{
    sbuf h = {0};
    head(&h, status, type, (long long)n, extra);
    sb_put(&h, body, n);
    int rc = h.failed ? -1 : ssend(fd, h.p, h.n);
    sb_free(&h);
    return rc;
}

static const char *error_type(int status)
{
    if (status == 429)
        return "requests";
    if (status >= 500)
        return "server_error";
    return "invalid_request_error";
}

/* OpenAI's error object: {"error": {"message", "type", "param", "code"}}. */
static void error_json(sbuf *b, int status, const char *message, const char *param,
                       const char *code)
{
    sb_puts(b, "{\"error\":{\"message\":");
    sb_json_str(b, message, strlen(message));
    sb_puts(b, ",\"type\":");
    sb_json_str(b, error_type(status), strlen(error_type(status)));
    sb_puts(b, ",\"param\":");
    if (param)
        sb_json_str(b, param, strlen(param));
    else
        sb_puts(b, "null");
    sb_puts(b, ",\"code\":");
    if (code)
        sb_json_str(b, code, strlen(code));
    else
        sb_puts(b, "null");
    sb_puts(b, "}}");
}

static void send_error(int fd, int status, const char *message, const char *param,
                       const char *code, const char *extra)
{
    sbuf b = {0};
    error_json(&b, status, message, param, code);
    if (!b.failed)
        send_response(fd, status, "application/json", b.p, b.n, extra);
    sb_free(&b);
}

/* The request fields that are not sampling parameters (those are known to
 * fw_sampler_params_info). */
static int is_request_field(const char *name)
{
    static const char *const fields[] = {
        "prompt", "messages", "max_tokens", "n", "logprobs", "top_logprobs", "echo",
        "echo_last", "raw_output", "ignore_eos", "stop", "seed", "logit_bias",
        "chat_template", "add_generation_prompt", "chat_template_kwargs",
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (!strcmp(name, fields[i]))
            return 1;
    return fw_sampler_params_info(name, NULL, NULL, NULL, NULL, NULL) == FW_OK;
}

/* The request field a library error message names, into out (or ""): the
 * messages say "request field 'NAME' ...", or start with the field's name
 * ("temperature = 3 is out of range", "logit_bias: ...", "stop[0] ...",
 * "prompt token 9 ..."). */
static void error_param(const char *msg, char *out, size_t cap)
{
    out[0] = 0;
    const char *rf = strstr(msg, "field '");
    if (rf) {
        rf += strlen("field '");
        size_t n = strcspn(rf, "'");
        if (n < cap && rf[n] == '\'') {
            memcpy(out, rf, n);
            out[n] = 0;
        }
        return;
    }
    size_t n = strspn(msg, "abcdefghijklmnopqrstuvwxyz_");
    if (n == 0 || n >= cap)
        return;
    memcpy(out, msg, n);
    out[n] = 0;
    if (!is_request_field(out))
        out[0] = 0;
}

static int status_of(fw_status st)
{
    switch (st) {
    case FW_E_NOMEM:
    case FW_E_IO:
    case FW_E_NUMERIC:
    case FW_E_INTERNAL:
    case FW_E_STATE:
        return 500;
    case FW_E_CANCELLED:
    case FW_E_ABORTED:
        return 503;
    default:
        return 400;
    }
}

/* A library failure as an answer (the calling thread's fw_last_error). */
static void send_fw_error(int fd, fw_status st, const char *extra)
{
    char param[64];
    const char *msg = fw_last_error();
    error_param(msg, param, sizeof param);
    send_error(fd, status_of(st), msg[0] ? msg : fw_status_str(st), param[0] ? param : NULL,
               st == FW_E_CONTEXT_FULL ? "context_length_exceeded" : NULL, extra);
}

/* ---- the context pool ---- */

/* A free context, waiting in the queue if need be.  NULL with *status 429
 * (queue full) or 503 (shutting down). */
static slot *acquire(server *s, int *status)
{
    slot *got = NULL;
    pthread_mutex_lock(&s->mu);
    int queued = 0;
    for (;;) {
        if (atomic_load(&s->stopping)) {
            *status = 503;
            break;
        }
        for (int i = 0; i < s->n_slots && !got; i++)
            if (!s->slots[i].busy)
                got = &s->slots[i];
        if (got) {
            got->busy = 1;
            break;
        }
        if (!queued) {
            if (s->waiting >= s->max_queue) {
                *status = 429;
                break;
            }
            s->waiting++;
            queued = 1;
        }
        pthread_cond_wait(&s->cv, &s->mu);
    }
    if (queued)
        s->waiting--;
    pthread_mutex_unlock(&s->mu);
    return got;
}

static void release(server *s, slot *sl)
{
    pthread_mutex_lock(&s->mu);
    sl->busy = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* ---- generation ---- */

typedef struct gen {
    server *s;
    int fd;
    int chat, stream, include_usage;
    const char *model_name;
    const char *extra;       /* the fireworks-sampling-options header line */
    char id[48];
    int64_t created;
    int headers_sent, send_failed, cancelled, client_gone;
    unsigned events;
    unsigned char *role_sent; /* per choice (chat streams) */
    size_t *offset;           /* per choice: characters streamed so far */
} gen;

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

/* A token's text as logprobs show it: special tokens by their text. */
static void token_text(const fw_model *m, fw_token t, char *buf, size_t cap, size_t *n)
{
    if (fw_token_to_piece(m, t, FW_DETOK_UNPARSE_SPECIAL, buf, cap, n) != FW_OK)
        *n = 0;
    if (*n >= cap)
        *n = cap - 1;
}

static void chat_token_json(sbuf *b, const fw_model *m, fw_token t, float lp)
{
    char piece[256];
    size_t n;
    token_text(m, t, piece, sizeof piece, &n);
    sb_puts(b, "\"token\":");
    sb_json_str(b, piece, n);
    sb_puts(b, ",\"logprob\":");
    sb_json_num(b, lp);
    sb_puts(b, ",\"bytes\":[");
    for (size_t k = 0; k < n; k++)
        sb_printf(b, "%s%u", k ? "," : "", (unsigned)(unsigned char)piece[k]);
    sb_puts(b, "]");
}

/* The logprobs of one streamed token, in the shape of the endpoint's
 * non-streamed answer (fw_result_to_json), for this token alone. */
static void event_logprobs(sbuf *b, const gen *g, const fw_event *ev)
{
    const fw_model *m = g->s->model;
    if (ev->token < 0 || !ev->top_ids) {
        sb_puts(b, "null");
        return;
    }
    if (g->chat) {
        sb_puts(b, "{\"content\":[{");
        chat_token_json(b, m, ev->token, ev->logprob);
        sb_puts(b, ",\"top_logprobs\":[");
        for (int j = 0; j < ev->n_top; j++) {
            sb_puts(b, j ? ",{" : "{");
            chat_token_json(b, m, ev->top_ids[j], ev->top_logprobs[j]);
            sb_puts(b, "}");
        }
        sb_printf(b, "],\"token_id\":%d,\"sampling_logprob\":", (int)ev->token);
        sb_json_num(b, ev->sampling_logprob);
        sb_puts(b, "}]}");
        return;
    }
    char piece[256];
    size_t n;
    token_text(m, ev->token, piece, sizeof piece, &n);
    sb_puts(b, "{\"tokens\":[");
    sb_json_str(b, piece, n);
    sb_puts(b, "],\"token_logprobs\":[");
    sb_json_num(b, ev->logprob);
    sb_puts(b, "],\"top_logprobs\":[{");
    for (int j = 0; j < ev->n_top; j++) {
        token_text(m, ev->top_ids[j], piece, sizeof piece, &n);
        if (j)
            sb_puts(b, ",");
        sb_json_str(b, piece, n);
        sb_puts(b, ":");
        sb_json_num(b, ev->top_logprobs[j]);
    }
    sb_printf(b, "}],\"text_offset\":[%zu],\"token_ids\":[%d],\"sampling_logprobs\":[",
              g->offset[ev->choice], (int)ev->token);
    sb_json_num(b, ev->sampling_logprob);
    sb_puts(b, "]}");
}

static void chunk_begin(sbuf *b, const gen *g)
{
    sb_puts(b, "data: {\"id\":");
    sb_json_str(b, g->id, strlen(g->id));
    sb_printf(b, ",\"object\":\"%s\",\"created\":%" PRId64 ",\"model\":",
              g->chat ? "chat.completion.chunk" : "text_completion", g->created);
    sb_json_str(b, g->model_name, strlen(g->model_name));
}

/* One chunk: choice `i`, its text delta, logprobs (raw JSON or NULL for
 * null), finish reason or NULL. */
static void chunk_choice(sbuf *b, gen *g, int32_t i, const char *text, size_t len,
                         const char *logprobs, const char *finish)
{
    chunk_begin(b, g);
    sb_printf(b, ",\"choices\":[{\"index\":%d,", (int)i);
    if (g->chat) {
        sb_puts(b, "\"delta\":{");
        int sep = 0;
        if (!g->role_sent[i]) {
            sb_puts(b, "\"role\":\"assistant\"");
            g->role_sent[i] = 1;
            sep = 1;
        }
        if (len || !finish) {
            sb_puts(b, sep ? ",\"content\":" : "\"content\":");
            sb_json_str(b, text, len);
        }
        sb_puts(b, "}");
    } else {
        sb_puts(b, "\"text\":");
        sb_json_str(b, text, len);
    }
    sb_puts(b, ",\"logprobs\":");
    sb_puts(b, logprobs ? logprobs : "null");
    sb_puts(b, ",\"finish_reason\":");
    if (finish)
        sb_json_str(b, finish, strlen(finish));
    else
        sb_puts(b, "null");
    sb_puts(b, "}]}\n\n");
}

static int stream_send(gen *g, const char *data, size_t n)
{
    if (g->send_failed)
        return -1;
    if (!g->headers_sent) {
        sbuf h = {0};
        head(&h, 200, "text/event-stream", -1, g->extra);
        int rc = h.failed ? -1 : ssend(g->fd, h.p, h.n);
        sb_free(&h);
        g->headers_sent = 1;
        if (rc) {
            g->send_failed = 1;
            return -1;
        }
    }
    if (n && ssend(g->fd, data, n)) {
        g->send_failed = 1;
        return -1;
    }
    return 0;
}

static int32_t on_event(const fw_event *ev, void *ud)
{
    gen *g = ud;
    if (atomic_load(&g->s->stopping)) {
        g->cancelled = 1;
        return 1;
    }
    g->events++;
    if (!g->stream) {
        /* nobody reads the answer any more: stop (checked now and then) */
        char c;
        if (g->events % 8 == 0 && recv(g->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
            g->client_gone = 1;
            return 1;
        }
        return 0;
    }
    if (ev->choice < 0 || ev->choice >= g->s->max_n)
        return 0;
    int has_lp = ev->token >= 0 && ev->top_ids;
    if (!ev->text_len && !has_lp && !ev->finish_reason && (!g->chat || g->role_sent[ev->choice]))
        return 0;
    sbuf lp = {0}, b = {0};
    if (has_lp)
        event_logprobs(&lp, g, ev);
    chunk_choice(&b, g, ev->choice, ev->text, ev->text_len, has_lp ? lp.p : NULL,
                 ev->finish_reason);
    g->offset[ev->choice] += utf8_chars(ev->text, ev->text_len);
    int rc = (b.failed || lp.failed) ? -1 : stream_send(g, b.p, b.n);
    sb_free(&lp);
    sb_free(&b);
    if (rc) {
        g->client_gone = 1;
        return 1;
    }
    return 0;
}

static void send_usage_and_done(gen *g, const fw_result *r)
{
    sbuf b = {0};
    if (g->include_usage) {
        int32_t p = 0, c = 0, e = 0;
        fw_result_usage(r, &p, &c, &e);
        chunk_begin(&b, g);
        sb_printf(&b, ",\"choices\":[],\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,"
                      "\"total_tokens\":%d,\"prompt_tokens_evaluated\":%d}}\n\n",
                  (int)p, (int)c, (int)(p + c), (int)e);
    }
    sb_puts(&b, "data: [DONE]\n\n");
    if (!b.failed)
        stream_send(g, b.p, b.n);
    sb_free(&b);
}

/* An echo stream: the whole text of each choice in one chunk (the events
 * carry only generated text; the echoed prompt is in the result). */
static void stream_whole_result(gen *g, const fw_result *r)
{
    for (int32_t i = 0; i < fw_result_n_choices(r) && i < g->s->max_n; i++) {
        size_t n = 0;
        fw_result_text(r, i, NULL, 0, &n);
        char *t = malloc(n + 1);
        sbuf b = {0};
        if (t && fw_result_text(r, i, t, n + 1, &n) == FW_OK)
            chunk_choice(&b, g, i, t, n, NULL, fw_result_finish_reason(r, i));
        free(t);
        if (b.p && !b.failed)
            stream_send(g, b.p, b.n);
        sb_free(&b);
    }
}

static int member_bool(const char *body, size_t len, const char *key, int *out)
{
    const char *v;
    size_t vl;
    *out = 0;
    if (json_member(body, len, key, &v, &vl) != 1 || (vl == 4 && !memcmp(v, "null", 4)))
        return 0;
    if (json_is_true(v, vl)) {
        *out = 1;
        return 1;
    }
    return vl == 5 && !memcmp(v, "false", 5) ? 1 : -1;
}

static void handle_generate(server *s, int fd, const http_request *req, int chat)
{
    const char *body = req->body;
    size_t len = req->body_len;
    char extra[600];
    snprintf(extra, sizeof extra, "fireworks-sampling-options: %s\r\n", s->defaults_json);
    const char *v;
    size_t vl;
    int scan = json_member(body, len, "model", &v, &vl);
    if (scan < 0) {
        /* malformed: the library's parser says where */
        size_t n = 0;
        fw_status st = fw_request_prompt_json(s->model, body, len, NULL, 0, NULL, 0, &n);
        if (st != FW_OK && st != FW_E_BUFFER_TOO_SMALL)
            send_fw_error(fd, st, extra);
        else
            send_error(fd, 400, "the request body is not a well-formed JSON object", NULL,
                       NULL, extra);
        return;
    }
    char name[256];
    if (scan == 0) {
        send_error(fd, 400, "you must provide a model parameter", "model", NULL, extra);
        return;
    }
    long nl = json_str_decode(v, vl, name, sizeof name);
    if (nl < 0 && vl && v[0] == '"') {
        send_error(fd, 404, "the model name is too long: no such model", "model",
                   "model_not_found", extra);
        return;
    }
    if (nl < 0) {
        send_error(fd, 400, "request field 'model' must be a string", "model", NULL, extra);
        return;
    }
    if ((size_t)nl != strlen(name) ||
        (strcmp(name, s->stem) != 0 && !(s->alias && !strcmp(name, s->alias)))) {
        sbuf m = {0};
        sb_puts(&m, "The model `");
        sb_puts(&m, name);
        sb_printf(&m, "` does not exist (this server has `%s`)", s->alias ? s->alias : s->stem);
        send_error(fd, 404, m.failed ? "no such model" : m.p, "model", "model_not_found", extra);
        sb_free(&m);
        return;
    }
    gen g;
    memset(&g, 0, sizeof g);
    g.s = s;
    g.fd = fd;
    g.chat = chat;
    g.model_name = name;
    g.extra = extra;
    if (member_bool(body, len, "stream", &g.stream) < 0) {
        send_error(fd, 400, "request field 'stream' must be true or false", "stream", NULL,
                   extra);
        return;
    }
    int echo = 0;
    member_bool(body, len, "echo", &echo); /* a wrong type: the library says so */
    const char *ov = NULL;
    if (json_member(body, len, "stream_options", &v, &vl) == 1) {
        /* the server's: the library is given null (the default) */
        ov = "{\"stream_options\":null}";
        if (!(vl == 4 && !memcmp(v, "null", 4))) {
            const char *u;
            size_t ul;
            int has = json_member(v, vl, "include_usage", &u, &ul);
            if (has < 0) {
                send_error(fd, 400, "request field 'stream_options' must be an object",
                           "stream_options", NULL, extra);
                return;
            }
            g.include_usage = has == 1 && json_is_true(u, ul);
        }
    }
    /* the endpoint decides the kind of request */
    const char *other = chat ? "prompt" : "messages";
    if (json_member(body, len, other, &v, &vl) == 1) {
        char msg[160];
        snprintf(msg, sizeof msg, "request field '%s' is not for %s: use %s", other,
                 chat ? "/v1/chat/completions" : "/v1/completions",
                 chat ? "/v1/completions" : "/v1/chat/completions");
        send_error(fd, 400, msg, other, NULL, extra);
        return;
    }
    if (chat && json_member(body, len, "messages", &v, &vl) != 1) {
        send_error(fd, 400, "request field 'messages' is required", "messages", NULL, extra);
        return;
    }
    size_t ovl = ov ? strlen(ov) : 0;
    /* a dry run checks the request before it waits for a context */
    size_t need = 0;
    fw_status st = fw_request_prompt_json(s->model, body, len, ov, ovl, NULL, 0, &need);
    if (st != FW_OK && st != FW_E_BUFFER_TOO_SMALL) {
        send_fw_error(fd, st, extra);
        return;
    }
    int qstatus = 0;
    slot *sl = acquire(s, &qstatus);
    if (!sl) {
        if (qstatus == 429)
            send_error(fd, 429, "the server is busy: every context is in use and the queue "
                       "is full; retry later", NULL, "rate_limit_exceeded", extra);
        else
            send_error(fd, 503, "the server is shutting down", NULL, NULL, extra);
        return;
    }
    g.role_sent = calloc((size_t)s->max_n, 1);
    g.offset = calloc((size_t)s->max_n, sizeof *g.offset);
    uint64_t idn = atomic_fetch_add(&s->next_id, 1) + 1;
    snprintf(g.id, sizeof g.id, "%s-%016" PRIx64, chat ? "chatcmpl" : "cmpl",
             (uint64_t)((idn * 0x9e3779b97f4a7c15ull) ^ (uint64_t)s->started));
    g.created = (int64_t)time(NULL);
    int incremental = g.stream && !echo;
    int saved_stream = g.stream;
    g.stream = incremental;
    fw_result *r = NULL;
    if (!g.role_sent || !g.offset)
        st = FW_E_NOMEM;
    else
        st = fw_generate_json(sl->ctx, body, len, ov, ovl, on_event, &g, &r);
    g.stream = saved_stream;
    /* the result does not need the context: free it before the client sees
     * the end of the answer (its next request finds it free) */
    release(s, sl);
    if (atomic_load(&s->stopping))
        g.cancelled = 1;
    if (st == FW_E_NOMEM && !r && (!g.role_sent || !g.offset))
        send_error(fd, 500, "out of memory", NULL, NULL, extra);
    else if (g.client_gone) {
        /* nothing to answer */
    } else if (st != FW_OK || g.cancelled) {
        if (!g.headers_sent) {
            if (g.cancelled)
                send_error(fd, 503, "the server is shutting down: the request was cancelled",
                           NULL, NULL, extra);
            else
                send_fw_error(fd, st, extra);
        } else {
            /* in the middle of a stream: an error event, no [DONE] */
            sbuf b = {0};
            sb_puts(&b, "data: ");
            if (g.cancelled)
                error_json(&b, 503, "the server is shutting down: the request was cancelled",
                           NULL, NULL);
            else {
                char param[64];
                error_param(fw_last_error(), param, sizeof param);
                error_json(&b, status_of(st), fw_last_error(), param[0] ? param : NULL, NULL);
            }
            sb_puts(&b, "\n\n");
            if (!b.failed)
                stream_send(&g, b.p, b.n);
            sb_free(&b);
        }
    } else if (g.stream) {
        if (!incremental)
            stream_whole_result(&g, r);
        send_usage_and_done(&g, r);
    } else {
        size_t n = 0;
        fw_result_to_json(r, name, NULL, 0, &n);
        char *j = malloc(n + 1);
        if (j && fw_result_to_json(r, name, j, n + 1, &n) == FW_OK)
            send_response(fd, 200, "application/json", j, n, extra);
        else
            send_error(fd, 500, "out of memory", NULL, NULL, extra);
        free(j);
    }
    fw_result_free(r);
    free(g.role_sent);
    free(g.offset);
}

/* ---- other endpoints ---- */

static void model_object(sbuf *b, const server *s, const char *id)
{
    sb_puts(b, "{\"id\":");
    sb_json_str(b, id, strlen(id));
    sb_printf(b, ",\"object\":\"model\",\"created\":%" PRId64 ",\"owned_by\":\"fwinfer\"}",
              s->started);
}

static void handle_models(server *s, int fd, const char *path)
{
    sbuf b = {0};
    const char *name = s->alias ? s->alias : s->stem;
    if (!strcmp(path, "/v1/models")) {
        sb_puts(&b, "{\"object\":\"list\",\"data\":[");
        model_object(&b, s, name);
        sb_puts(&b, "]}");
    } else {
        const char *id = path + strlen("/v1/models/");
        if (strcmp(id, s->stem) != 0 && strcmp(id, name) != 0) {
            send_error(fd, 404, "no such model", "model", "model_not_found", "");
            return;
        }
        model_object(&b, s, id);
    }
    if (b.failed)
        send_error(fd, 500, "out of memory", NULL, NULL, "");
    else
        send_response(fd, 200, "application/json", b.p, b.n, "");
    sb_free(&b);
}

static void route(server *s, int fd, const http_request *req)
{
    const char *p = req->path;
    int get = !strcmp(req->method, "GET"), post = !strcmp(req->method, "POST");
    int is_models = !strcmp(p, "/v1/models") || !strncmp(p, "/v1/models/", 11);
    int is_gen = !strcmp(p, "/v1/completions") || !strcmp(p, "/v1/chat/completions");
    if (get && !strcmp(p, "/health")) {
        static const char ok[] = "{\"status\":\"ok\"}";
        send_response(fd, 200, "application/json", ok, sizeof ok - 1, "");
    } else if (get && is_models) {
        handle_models(s, fd, p);
    } else if (post && is_gen) {
        handle_generate(s, fd, req, !strcmp(p, "/v1/chat/completions"));
    } else if (is_gen || is_models || !strcmp(p, "/health")) {
        send_error(fd, 405, "method not allowed", NULL, NULL,
                   is_gen ? "Allow: POST\r\n" : "Allow: GET\r\n");
    } else {
        char msg[640];
        snprintf(msg, sizeof msg, "unknown endpoint %s %s", req->method, p);
        send_error(fd, 404, msg, NULL, "unknown_url", "");
    }
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    server *s = c->srv;
    http_request req;
    const char *why = "";
    double t0 = now_s();
    int rc = http_read_request(c->fd, &s->lim, &s->stopping, &req, &why);
    if (rc > 0)
        send_error(c->fd, rc, why, NULL, NULL, "");
    else if (rc == 0)
        route(s, c->fd, &req);
    if (s->verbose)
        fprintf(stderr, "fwinfer-server: %s %s %s (%.3f s)\n", rc == 0 ? req.method : "-",
                rc == 0 ? req.path : "-", rc > 0 ? why : rc < 0 ? "closed" : "done",
                now_s() - t0);
    free(req.body);
    if (rc < 0)
        close(c->fd);
    else
        http_close(c->fd);
    atomic_store(&c->state, 2);
    return NULL;
}

/* Join the connection threads that finished (all of them with wait_all,
 * waiting for the running ones). */
static void reap(server *s, int wait_all)
{
    for (int i = 0; i < s->n_conns; i++) {
        conn *c = &s->conns[i];
        int st = atomic_load(&c->state);
        if (st == 2 || (wait_all && st == 1)) {
            pthread_join(c->th, NULL);
            atomic_store(&c->state, 0);
        }
    }
}

static void refuse(int fd, int status, const char *msg)
{
    send_error(fd, status, msg, NULL, NULL, "");
    shutdown(fd, SHUT_WR);
    close(fd);
}

/* ---- setup ---- */

static int listen_on(const char *host, const char *port, char *bound, size_t cap)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai) {
        fprintf(stderr, "fwinfer-server: %s:%s: %s\n", host, port, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) || listen(fd, 128)) {
            fprintf(stderr, "fwinfer-server: %s:%s: %s\n", host, port, strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return -1;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[INET6_ADDRSTRLEN] = "?";
    int p = 0;
    if (!getsockname(fd, (struct sockaddr *)&ss, &sl)) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, h, sizeof h);
            p = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, h, sizeof h);
            p = ntohs(in6->sin6_port);
        }
    }
    snprintf(bound, cap, strchr(h, ':') ? "[%s]:%d" : "%s:%d", h, p);
    return fd;
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s -m MODEL.gguf [--host ADDR] [--port N] [-t THREADS]\n"
            "  [--parallel K] [--alias NAME] [--max-queue Q] [--max-body BYTES]\n"
            "  [--timeout SEC] [--ctx N] [--max-n N] [--generation-config FILE]\n"
            "  [--verbose]\n"
            "defaults: --host 127.0.0.1 --port 8080 --parallel 1 --max-queue 16\n"
            "  --max-body 4194304 --timeout 30 --max-n 128, -t: CPUs / K\n",
            argv0);
    return 2;
}

static int parse_long(const char *flag, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "fwinfer-server: %s: '%s' is not an integer in [%ld, %ld]\n", flag, v,
                lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *host = "127.0.0.1", *port = "8080", *alias = NULL;
    const char *gen_config = NULL;
    long threads = 0, parallel = 1, max_queue = 16, max_body = 4l << 20, timeout = 30;
    long n_ctx = 0, max_n = 128;
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && v)
            model_path = v, i++;
        else if (!strcmp(a, "--host") && v)
            host = v, i++;
        else if (!strcmp(a, "--port") && v) {
            long p;
            bad = parse_long(a, v, 0, 65535, &p);
            port = v, i++;
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && v)
            bad = parse_long(a, v, 0, 1024, &threads), i++;
        else if (!strcmp(a, "--parallel") && v)
            bad = parse_long(a, v, 1, 256, &parallel), i++;
        else if (!strcmp(a, "--alias") && v)
            alias = v, i++;
        else if (!strcmp(a, "--max-queue") && v)
            bad = parse_long(a, v, 0, 100000, &max_queue), i++;
        else if (!strcmp(a, "--max-body") && v)
            bad = parse_long(a, v, 1, 1l << 30, &max_body), i++;
        else if (!strcmp(a, "--timeout") && v)
            bad = parse_long(a, v, 1, 86400, &timeout), i++;
        else if (!strcmp(a, "--ctx") && v)
            bad = parse_long(a, v, 0, 1l << 24, &n_ctx), i++;
        else if (!strcmp(a, "--max-n") && v)
            bad = parse_long(a, v, 1, 128, &max_n), i++;
        else if (!strcmp(a, "--generation-config") && v)
            gen_config = v, i++;
        else if (!strcmp(a, "--verbose"))
            verbose = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(argv[0]);
            return 0;
        } else {
            fprintf(stderr, "fwinfer-server: unknown or incomplete option %s\n", a);
            return usage(argv[0]);
        }
        if (bad)
            return 2;
    }
    if (!model_path)
        return usage(argv[0]);
    if (alias && (!*alias || strlen(alias) >= 256)) {
        fprintf(stderr, "fwinfer-server: --alias must have 1 to 255 bytes\n");
        return 2;
    }
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > parallel ? cpus / parallel : 1;
    }

    int rc = 1, lfd = -1;
    server s;
    memset(&s, 0, sizeof s);
    g_srv = &s;
    s.alias = alias;
    s.verbose = verbose;
    s.max_queue = (int)max_queue;
    s.max_n = (int)max_n;
    s.started = (int64_t)time(NULL);
    s.lim.max_header_bytes = 16384;
    s.lim.max_headers = 64;
    s.lim.max_body = (size_t)max_body;
    s.lim.timeout_s = (double)timeout;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    atomic_init(&s.stopping, 0);
    atomic_init(&s.next_id, 0);

    const char *base = strrchr(model_path, '/');
    snprintf(s.stem, sizeof s.stem, "%s", base ? base + 1 : model_path);
    size_t sl = strlen(s.stem);
    if (sl > 5 && !strcmp(s.stem + sl - 5, ".gguf"))
        s.stem[sl - 5] = 0;

    fw_model_params mp;
    fw_model_params_init(&mp);
    mp.generation_config = gen_config; /* NULL: the one next to the model, if any */
    if (fw_model_load(model_path, &mp, &s.model) != FW_OK) {
        fprintf(stderr, "fwinfer-server: %s\n", fw_last_error());
        goto out;
    }
    size_t dn = 0;
    fw_model_sampling_defaults_json(s.model, NULL, 0, &dn);
    s.defaults_json = malloc(dn + 1);
    if (!s.defaults_json ||
        fw_model_sampling_defaults_json(s.model, s.defaults_json, dn + 1, &dn) != FW_OK ||
        dn > 500) {
        fprintf(stderr, "fwinfer-server: cannot render the sampling defaults: %s\n",
                fw_last_error());
        goto out;
    }
    s.slots = calloc((size_t)parallel, sizeof *s.slots);
    s.n_conns = (int)(parallel + max_queue + EXTRA_CONNS);
    s.conns = calloc((size_t)s.n_conns, sizeof *s.conns);
    if (!s.slots || !s.conns) {
        fprintf(stderr, "fwinfer-server: out of memory\n");
        goto out;
    }
    for (int i = 0; i < s.n_conns; i++)
        atomic_init(&s.conns[i].state, 0);
    for (long i = 0; i < parallel; i++) {
        fw_context_params cp;
        fw_context_params_init(&cp);
        cp.n_threads = (uint32_t)threads;
        cp.n_ctx = (uint32_t)n_ctx;
        cp.n_seq_max = (uint32_t)max_n;
        if (fw_context_new(s.model, &cp, &s.slots[i].ctx) != FW_OK) {
            fprintf(stderr, "fwinfer-server: %s\n", fw_last_error());
            goto out;
        }
        s.n_slots++;
    }

    if (pipe(sig_pipe)) {
        fprintf(stderr, "fwinfer-server: pipe: %s\n", strerror(errno));
        goto out;
    }
    fcntl(sig_pipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(sig_pipe[1], F_SETFD, FD_CLOEXEC);
    fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);

    char bound[INET6_ADDRSTRLEN + 16];
    lfd = listen_on(host, port, bound, sizeof bound);
    if (lfd < 0)
        goto out;
    fprintf(stderr, "fwinfer-server: model %s, %d context(s) of %u positions, %ld thread(s) "
                    "each\n", alias ? alias : s.stem, s.n_slots, fw_context_n_ctx(s.slots[0].ctx),
            threads);
    fprintf(stderr, "fwinfer-server: listening on http://%s\n", bound);
    fflush(stderr);

    while (!sig_seen) {
        struct pollfd pf[2] = {{lfd, POLLIN, 0}, {sig_pipe[0], POLLIN, 0}};
        int pr = poll(pf, 2, 1000);
        reap(&s, 0);
        if (pr <= 0 || !(pf[0].revents & POLLIN))
            continue;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                struct timespec pause = {0, 100000000}; /* out of descriptors: let
                                                           connections finish */
                nanosleep(&pause, NULL);
            }
            continue;
        }
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = NULL;
        for (int i = 0; i < s.n_conns && !c; i++)
            if (atomic_load(&s.conns[i].state) == 0)
                c = &s.conns[i];
        if (!c) {
            refuse(fd, 503, "too many connections");
            continue;
        }
        c->srv = &s;
        c->fd = fd;
        atomic_store(&c->state, 1);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        int cr = pthread_create(&c->th, NULL, conn_main, c);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (cr) {
            atomic_store(&c->state, 0);
            refuse(fd, 503, "cannot start a thread for the connection");
        }
    }

    fprintf(stderr, "fwinfer-server: %s: shutting down\n",
            sig_seen == SIGINT ? "SIGINT" : "SIGTERM");
    close(lfd);
    lfd = -1;
    pthread_mutex_lock(&s.mu);
    atomic_store(&s.stopping, 1);
    for (int i = 0; i < s.n_slots; i++)
        if (s.slots[i].busy)
            fw_context_cancel(s.slots[i].ctx);
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    reap(&s, 1);
    rc = 0;
out:
    if (lfd >= 0)
        close(lfd);
    for (int i = 0; i < 2; i++)
        if (sig_pipe[i] >= 0)
            close(sig_pipe[i]);
    for (int i = 0; s.slots && i < s.n_slots; i++)
        fw_context_free(s.slots[i].ctx);
    free(s.slots);
    free(s.conns);
    free(s.defaults_json);
    fw_model_free(s.model);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    if (rc == 0)
        fprintf(stderr, "fwinfer-server: stopped\n");
    return rc;
}
