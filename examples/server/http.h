/*
 * http.h - the HTTP/1.1 subset fwinfer-server speaks: one request per
 * connection, read with limits and a deadline, answered and closed.
 */
#ifndef FWS_HTTP_H
#define FWS_HTTP_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct http_limits {
    size_t max_header_bytes; /* request line + headers, 431 past it */
    size_t max_headers;      /* header lines, 431 past it */
    size_t max_body;         /* Content-Length, 413 past it */
    double timeout_s;        /* the whole request must arrive in this time (408) */
} http_limits;

typedef struct http_request {
    char method[16];
    char path[512];      /* without the query string */
    char *body;          /* NUL-terminated (the NUL is not counted); owned */
    size_t body_len;
    int n_headers;
} http_request;

/* Read one request from `fd` within lim->timeout_s seconds.  Returns 0 on
 * success (free req->body); an HTTP status (400, 408, 411, 413, 431, 505)
 * to answer with, *why saying what was wrong; or -1 when the client closed
 * or sent nothing before the deadline (close without an answer).  `stop`,
 * if not NULL, is polled: non-zero makes it return -1 (shutdown). */
int http_read_request(int fd, const http_limits *lim, atomic_int *stop,
                      http_request *req, const char **why);

/* Send everything.  0 on success; -1 if the peer is gone, or made no
 * progress for timeout_s seconds, or `stop` (may be NULL) was set while
 * waiting for it. */
int http_send(int fd, const void *data, size_t n, atomic_int *stop, double timeout_s);

/* The status line's reason phrase. */
const char *http_reason(int status);

/* Close the connection after an answer: stop sending, read and drop what
 * the client still sends for a moment (so a client that is still sending
 * a body it was refused sees the answer, not a reset), then close. */
void http_close(int fd);

#endif
