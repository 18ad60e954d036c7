/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.1 on a Unix stream socket, for the Firecracker API: libmicrohttpd (MHD) in its
 * external-epoll mode, so no thread of its own: the owner watches one fd (http_server_fd, an
 * epoll fd holding MHD's and a 1 s housekeeping timer) on its loop and calls http_server_run
 * when it is readable. MHD parses the requests (keep-alive, chunked bodies, Expect:
 * 100-continue); this module bounds them (bodies over HTTP_BODY_MAX bytes answer 400 unread,
 * MHD's per-connection memory and connection count are capped, idle connections close after
 * HTTP_IDLE_S) and hands each complete request to the handler.
 *
 * The socket file is created with mode 0600 and refused when the path exists (a stale socket
 * of a dead ember is the user's to remove, as Firecracker requires); http_server_close removes
 * it. Threads: one (the caller's loop); the handler runs inside http_server_run.
 */
#ifndef EMBER_HTTP_SERVER_H
#define EMBER_HTTP_SERVER_H

#include <stddef.h>

#include "api_router.h"

#define HTTP_BODY_MAX	 51200 /* Firecracker's default payload limit */
#define HTTP_CONNS_MAX	 32
#define HTTP_IDLE_S	 300
#define HTTP_CONN_MEMORY (128 * 1024)

struct http_server;

/* One complete request; fill r (r->body malloc'd or NULL). */
typedef void (*http_handler_fn)(void *opaque, const char *method, const char *path,
				const char *body, size_t len, struct api_response *r);

/* Returns 0, or -1 with one line in err ("PATH: already exists ..."). */
int http_server_open(struct http_server **out, const char *sock_path, http_handler_fn fn,
		     void *opaque, char *err, size_t err_size);
int http_server_fd(const struct http_server *s);
/* Serves what is ready (accepts, reads, answers, times out idle connections); never blocks. */
void http_server_run(struct http_server *s);
/* Stops serving, closes every connection, removes the socket file. NULL is fine. */
void http_server_close(struct http_server *s);

#endif
