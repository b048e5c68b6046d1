/* http.c - see http.h. */
#define _POSIX_C_SOURCE 200809L
#include "http.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

int http_send(int fd, const void *data, size_t n, atomic_int *stop, double timeout_s)
{
    const char *p = data;
    double deadline = now_s() + timeout_s;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* the client reads slowly: wait, but not forever */
            if (stop && atomic_load(stop))
                return -1;
            double left = deadline - now_s();
            if (left <= 0)
                return -1;
            struct pollfd pf = {fd, POLLOUT, 0};
            poll(&pf, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1);
            continue;
        }
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
        deadline = now_s() + timeout_s; /* progress */
    }
    return 0;
}

void http_close(int fd)
{
    shutdown(fd, SHUT_WR);
    char sink[4096];
    double end = now_s() + 1.0;
    size_t drained = 0;
    for (;;) {
        double left = end - now_s();
        if (left <= 0 || drained > ((size_t)4 << 20))
            break;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t got = recv(fd, sink, sizeof sink, 0);
        if (got <= 0)
            break;
        drained += (size_t)got;
    }
    close(fd);
}

/* Wait until fd is readable, the deadline passes (-2) or stop is set (-1). */
static int wait_readable(int fd, double deadline, atomic_int *stop)
{
    for (;;) {
        if (stop && atomic_load(stop))
            return -1;
        double left = deadline - now_s();
        if (left <= 0)
            return -2;
        int ms = left > 0.2 ? 200 : (int)(left * 1000) + 1;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, ms);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r > 0)
            return 0;
    }
}

static int is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the header section in b[0..n): the offset after the blank
 * line, or 0 if not there yet.  Lines end with CRLF or a bare LF. */
static size_t header_end(const char *b, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (b[i] != '\n')
            continue;
        if (b[i + 1] == '\n')
            return i + 2;
        if (b[i + 1] == '\r' && i + 2 < n && b[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* Next line of b[*at..end) without its CRLF/LF; NULL at the end. */
static char *next_line(char *b, size_t *at, size_t end, size_t *len)
{
    if (*at >= end)
        return NULL;
    char *s = b + *at;
    char *nl = memchr(s, '\n', end - *at);
    size_t l = nl ? (size_t)(nl - s) : end - *at;
    *at += l + (nl ? 1 : 0);
    if (l && s[l - 1] == '\r')
        l--;
    s[l] = 0;
    *len = l;
    return s;
}

int http_read_request(int fd, const http_limits *lim, atomic_int *stop,
                      http_request *req, const char **why)
{
    memset(req, 0, sizeof *req);
    *why = "";
    double deadline = now_s() + lim->timeout_s;
    size_t cap = lim->max_header_bytes + 1;
    char *b = malloc(cap);
    if (!b) {
        *why = "out of memory";
        return 500;
    }
    size_t n = 0, hend = 0;
    int status = 0;
    /* the header section */
    while (!(hend = header_end(b, n))) {
        if (n >= lim->max_header_bytes) {
            *why = "the request line and headers are too large";
            status = 431;
            goto fail;
        }
        int w = wait_readable(fd, deadline, stop);
        if (w == -2 && n > 0) {
            *why = "the request did not arrive in time";
            status = 408;
            goto fail;
        }
        if (w < 0) {
            status = -1;
            goto fail;
        }
        ssize_t got = recv(fd, b + n, lim->max_header_bytes - n, 0);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0) {
            *why = "the connection closed in the middle of the request";
            status = n ? 400 : -1;
            goto fail;
        }
        n += (size_t)got;
    }
    /* the request line */
    size_t at = 0, len;
    char *line = next_line(b, &at, hend, &len);
    while (line && len == 0) /* RFC 9112: ignore empty lines before it */
        line = next_line(b, &at, hend, &len);
    char *sp1 = line ? strchr(line, ' ') : NULL;
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp2 || strchr(sp2 + 1, ' ')) {
        *why = "malformed request line";
        status = 400;
        goto fail;
    }
    *sp1 = *sp2 = 0;
    const char *version = sp2 + 1, *target = sp1 + 1;
    for (const char *c = line; *c; c++)
        if (!is_tchar(*c)) {
            *why = "malformed method";
            status = 400;
            goto fail;
        }
    if (strncmp(version, "HTTP/", 5) != 0) {
        *why = "malformed request line (no HTTP version)";
        status = 400;
        goto fail;
    }
    if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0) {
        *why = "only HTTP/1.0 and HTTP/1.1 are supported";
        status = 505;
        goto fail;
    }
    if (strlen(line) >= sizeof req->method) {
        *why = "unknown method";
        status = 501;
        goto fail;
    }
    size_t tlen = strcspn(target, "?#");
    if (tlen >= sizeof req->path) {
        *why = "the request target is too long";
        status = 414;
        goto fail;
    }
    if (target[0] != '/') {
        *why = "the request target must be a path";
        status = 400;
        goto fail;
    }
    memcpy(req->method, line, strlen(line) + 1);
    memcpy(req->path, target, tlen);
    req->path[tlen] = 0;
    /* the headers */
    long long content_length = -1;
    int chunked = 0, expect_continue = 0;
    while ((line = next_line(b, &at, hend, &len)) != NULL && len > 0) {
        if (++req->n_headers > (int)lim->max_headers) {
            *why = "too many header fields";
            status = 431;
            goto fail;
        }
        char *colon = strchr(line, ':');
        if (!colon || colon == line) {
            *why = "malformed header field";
            status = 400;
            goto fail;
        }
        for (char *c = line; c < colon; c++)
            if (!is_tchar(*c)) {
                *why = "malformed header field name";
                status = 400;
                goto fail;
            }
        *colon = 0;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = 0;
        if (!strcasecmp(line, "Content-Length")) {
            long long cl = 0;
            if (!vl || vl > 18 || strspn(v, "0123456789") != vl) {
                *why = "malformed Content-Length";
                status = 400;
                goto fail;
            }
            cl = strtoll(v, NULL, 10);
            if (content_length >= 0 && cl != content_length) {
                *why = "conflicting Content-Length fields";
                status = 400;
                goto fail;
            }
            content_length = cl;
        } else if (!strcasecmp(line, "Transfer-Encoding")) {
            chunked = 1;
        } else if (!strcasecmp(line, "Expect")) {
            if (strcasecmp(v, "100-continue") != 0) {
                *why = "unsupported Expect";
                status = 400; /* 417 would be exact; clients treat both alike */
                goto fail;
            }
            expect_continue = 1;
        }
    }
    if (chunked) {
        *why = "a request body with Transfer-Encoding is not supported: send Content-Length";
        status = 411;
        goto fail;
    }
    if (content_length < 0 && !strcmp(req->method, "POST")) {
        *why = "a POST request needs Content-Length";
        status = 411;
        goto fail;
    }
    if (content_length < 0)
        content_length = 0;
    if ((unsigned long long)content_length > lim->max_body) {
        *why = "the request body is too large";
        status = 413;
        goto fail;
    }
    /* the body: what came with the headers, then the rest */
    size_t blen = (size_t)content_length;
    req->body = malloc(blen + 1);
    if (!req->body) {
        *why = "out of memory";
        status = 500;
        goto fail;
    }
    size_t have = n - hend < blen ? n - hend : blen;
    memcpy(req->body, b + hend, have);
    free(b);
    b = NULL;
    if (expect_continue && have < blen) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (http_send(fd, cont, sizeof cont - 1, stop, lim->timeout_s)) {
            status = -1;
            goto fail;
        }
    }
    while (have < blen) {
        int w = wait_readable(fd, deadline, stop);
        if (w == -2) {
            *why = "the request body did not arrive in time";
            status = 408;
            goto fail;
        }
        if (w < 0) {
            status = -1;
            goto fail;
        }
        ssize_t got = recv(fd, req->body + have, blen - have, 0);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0) {
            *why = "the connection closed in the middle of the request body";
            status = 400;
            goto fail;
        }
        have += (size_t)got;
    }
    req->body[blen] = 0;
    req->body_len = blen;
    return 0;
fail:
    free(b);
    free(req->body);
    req->body = NULL;
    return status;
}
