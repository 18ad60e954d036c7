/* SPDX-License-Identifier: Apache-2.0 */
/* The API's HTTP server: libmicrohttpd in external-epoll mode (http_server.h). */
#include "http_server.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

struct http_server {
	struct MHD_Daemon *mhd;
	int listen_fd;
	int epoll_fd; /* holds MHD's epoll fd and the timer */
	int timer_fd;
	char *path;
	http_handler_fn fn;
	void *opaque;
};

/* One request being received. */
struct request {
	char *body;
	size_t len;
	bool too_big;
};

static enum MHD_Result queue(struct MHD_Connection *c, const struct api_response *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ok;
	size_t len = r->body ? strlen(r->body) : 0;

	resp = MHD_create_response_from_buffer(len, r->body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (r->body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ok = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ok;
}

static enum MHD_Result answer_fault(struct MHD_Connection *c, const char *msg)
{
	char body[256];
	struct api_response r = {.status = 400, .body = body};

	snprintf(body, sizeof(body), "{\"fault_message\":\"%s\"}", msg);
	return queue(c, &r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct request *rq = *con_cls;
	struct api_response r;
	enum MHD_Result ok;

	(void)version;
	if (!rq) {
		const char *cl =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		/* Refused before the body is read (and before any 100 Continue). */
		if (cl && strtoull(cl, NULL, 10) > HTTP_BODY_MAX) {
			rq->too_big = true;
			return answer_fault(c, "Request payload is larger than the limit of 51200 "
					       "bytes allowed by the server.");
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_big && rq->len + *upload_size > HTTP_BODY_MAX)
			rq->too_big = true;
		if (!rq->too_big) {
			char *p = realloc(rq->body, rq->len + *upload_size);

			if (!p)
				return MHD_NO;
			rq->body = p;
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big)
		return answer_fault(c, "Request payload is larger than the limit of 51200 bytes "
				       "allowed by the server.");
	s->fn(s->opaque, method, url, rq->body, rq->len, &r);
	ok = queue(c, &r);
	free(r.body);
	return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq) {
		free(rq->body);
		free(rq);
	}
	*con_cls = NULL;
}

static int open_socket(const char *path, char *err, size_t n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int fd;

	if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, n, "api socket \"%.100s\": the path must be 1 to %zu bytes", path,
			 sizeof(sa.sun_path) - 1);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		snprintf(err, n,
			 "api socket %s: already exists (a stale socket of an ember that ended? "
			 "remove it first)",
			 path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, n, "api socket %s: %s", path, strerror(errno));
		return -1;
	}
	old = umask(0177); /* the socket file: 0600, only ember's user connects */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		int e = errno;

		umask(old);
		close(fd);
		snprintf(err, n, "api socket %s: %s", path, strerror(e));
		return -1;
	}
	umask(old);
	return fd;
}

int http_server_open(struct http_server **out, const char *sock_path, http_handler_fn fn,
		     void *opaque, char *err, size_t err_size)
{
	struct http_server *s = calloc(1, sizeof(*s));
	struct itimerspec tick = {.it_interval = {1, 0}, .it_value = {1, 0}};
	const union MHD_DaemonInfo *info;
	struct epoll_event ev = {.events = EPOLLIN};

	if (!s) {
		snprintf(err, err_size, "api socket: out of memory");
		return -1;
	}
	s->listen_fd = s->epoll_fd = s->timer_fd = -1;
	s->fn = fn;
	s->opaque = opaque;
	s->path = strdup(sock_path);
	if (!s->path)
		goto nomem;
	s->listen_fd = open_socket(sock_path, err, err_size);
	if (s->listen_fd < 0) {
		free(s->path);
		free(s);
		return -1;
	}
	s->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)HTTP_CONNS_MAX, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY, MHD_OPTION_END);
	if (!s->mhd) {
		snprintf(err, err_size, "api socket %s: the HTTP server did not start", sock_path);
		goto fail;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (!info || s->epoll_fd < 0 || s->timer_fd < 0 ||
	    timerfd_settime(s->timer_fd, 0, &tick, NULL) ||
	    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, info->epoll_fd, &ev) ||
	    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->timer_fd, &ev)) {
		snprintf(err, err_size, "api socket %s: %s", sock_path, strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
nomem:
	snprintf(err, err_size, "api socket: out of memory");
fail:
	http_server_close(s);
	return -1;
}

int http_server_fd(const struct http_server *s)
{
	return s->epoll_fd;
}

void http_server_run(struct http_server *s)
{
	uint64_t ticks;

	/* The housekeeping tick only wakes us so MHD can close idle connections. */
	if (read(s->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	MHD_run(s->mhd);
}

void http_server_close(struct http_server *s)
{
	if (!s)
		return;
	if (s->mhd)
		MHD_stop_daemon(s->mhd); /* closes listen_fd too */
	else if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->listen_fd >= 0 && s->path)
		unlink(s->path);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	free(s->path);
	free(s);
}
