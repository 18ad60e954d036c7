/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Unix-socket side, as Firecracker's hybrid vsock defines it:
 *
 * - Host-initiated: ember listens on uds_path. A host program connects and writes
 *   "CONNECT <port>\n"; ember gives the connection a host-side port of its own, sends REQUEST
 *   to the guest's <port>, and on RESPONSE writes "OK <host port>\n": from then on the socket
 *   is the stream. An RST from the guest (nothing listens there) closes the socket. The line is
 *   read with MSG_PEEK first and only its own bytes are consumed, so whatever the program sent
 *   behind it stays in the socket as the start of the stream.
 * - Guest-initiated: a REQUEST to host port P connects to "<uds_path>_<P>" (non-blocking);
 *   RESPONSE when it connected, RST when it failed.
 *
 * Every socket is non-blocking. Writes use sendmsg(MSG_NOSIGNAL), so a program that went away
 * gives EPIPE rather than a SIGPIPE. Guest payload goes straight from the chain's buffers to
 * the socket; what the socket does not take at once waits in the connection's buffer for
 * EPOLLOUT. Host data goes straight from the socket into the rx chain's buffers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "vsock.h"

/* iovecs for one chain: a chain has at most the queue size of segments. */
#define VSOCK_IOV_MAX VSOCK_QUEUE_SIZE
/* Bytes a port suffix adds to uds_path: "_4294967295". */
#define VSOCK_SUFFIX_MAX 11u
/* How long a listener out of fds waits before it accepts again. */
#define VSOCK_LISTEN_RETRY_NS 1000000000ULL

static uint64_t now_ns(const struct ember_instance *dev)
{
	return dev->host->clock_ns(dev->host);
}

static socklen_t unix_addr(struct sockaddr_un *a, const char *path)
{
	size_t n = strlen(path);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, path, n); /* the caller checked n < sizeof(sun_path) */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

/*
 * iov[0 .. n) cut to the bytes [off, off + len): writes the result into out (at most cap
 * entries) and returns its count.
 */
static int iov_slice(const struct iovec *iov, int n, uint64_t off, uint64_t len, struct iovec *out,
		     int cap)
{
	int k = 0;

	for (int i = 0; i < n && len && k < cap; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[k].iov_len = iov[i].iov_len - off < len ? iov[i].iov_len - off : len;
		len -= out[k].iov_len;
		off = 0;
		k++;
	}
	return k;
}

/* One sendmsg; bytes written, 0 when the socket is full, -1 when the peer failed. */
static ssize_t send_iov(int fd, struct iovec *iov, int n)
{
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
	ssize_t w;

	do
		w = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	return w;
}

/* ---- The listener ------------------------------------------------------------------------ */

static void on_listen(void *arg, int fd, uint32_t revents);

static int listen_watch(struct ember_instance *dev)
{
	int id = dev->host->watch_add(dev->host, dev->listen_fd, EMBER_WATCH_IN, on_listen, dev);

	if (id < 0)
		return id;
	dev->listen_watch = id;
	dev->listen_paused = false;
	return 0;
}

int vsock_listen_open(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;
	const char *path = dev->uds_path;
	struct sockaddr_un a;
	struct stat st;
	socklen_t len;
	int e;

	if (strlen(path) + VSOCK_SUFFIX_MAX >= sizeof(a.sun_path)) {
		host->log(host, EMBER_LOG_ERROR,
			  "uds_path \"%s\": %zu bytes; at most %zu, so that \"_PORT\" fits a Unix "
			  "socket address",
			  path, strlen(path), sizeof(a.sun_path) - VSOCK_SUFFIX_MAX - 1);
		return -ENAMETOOLONG;
	}
	len = unix_addr(&a, path);
	if (lstat(path, &st) == 0) {
		int probe, rc;

		if (!S_ISSOCK(st.st_mode)) {
			host->log(host, EMBER_LOG_ERROR,
				  "uds_path \"%s\": exists and is not a socket; not replacing it",
				  path);
			return -EEXIST;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (probe < 0) {
			e = errno;
			host->log(host, EMBER_LOG_ERROR, "socket: %s", strerror(e));
			return -e;
		}
		rc = connect(probe, (const struct sockaddr *)&a, len);
		e = rc ? errno : 0;
		close(probe);
		if (!rc || e == EAGAIN || e == EINPROGRESS) {
			host->log(host, EMBER_LOG_ERROR,
				  "uds_path \"%s\": in use: another process listens on it", path);
			return -EADDRINUSE;
		}
		if (e == ECONNREFUSED) {
			if (unlink(path) && errno != ENOENT) {
				e = errno;
				host->log(host, EMBER_LOG_ERROR,
					  "uds_path \"%s\": cannot remove the stale socket: %s",
					  path, strerror(e));
				return -e;
			}
			host->log(host, EMBER_LOG_INFO,
				  "uds_path \"%s\": nobody listens on the socket there (stale): "
				  "replaced",
				  path);
		} else if (e != ENOENT) {
			host->log(host, EMBER_LOG_ERROR,
				  "uds_path \"%s\": cannot check the socket there: %s", path,
				  strerror(e));
			return -e;
		}
	} else if (errno != ENOENT) {
		e = errno;
		host->log(host, EMBER_LOG_ERROR, "uds_path \"%s\": %s", path, strerror(e));
		return -e;
	}
	dev->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (dev->listen_fd < 0) {
		e = errno;
		host->log(host, EMBER_LOG_ERROR, "socket: %s", strerror(e));
		return -e;
	}
	if (bind(dev->listen_fd, (const struct sockaddr *)&a, len)) {
		e = errno;
		host->log(host, EMBER_LOG_ERROR, "uds_path \"%s\": cannot bind: %s", path,
			  strerror(e));
		return -e;
	}
	dev->created_path = true;
	if (listen(dev->listen_fd, SOMAXCONN)) {
		e = errno;
		host->log(host, EMBER_LOG_ERROR, "uds_path \"%s\": cannot listen: %s", path,
			  strerror(e));
		return -e;
	}
	if ((e = listen_watch(dev))) {
		host->log(host, EMBER_LOG_ERROR, "cannot watch the listener: %s", strerror(-e));
		return e;
	}
	return 0;
}

void vsock_listen_close(struct ember_instance *dev)
{
	if (dev->listen_watch >= 0)
		dev->host->watch_remove(dev->host, dev->listen_watch);
	dev->listen_watch = -1;
	if (dev->listen_fd >= 0)
		close(dev->listen_fd);
	dev->listen_fd = -1;
	if (dev->created_path)
		unlink(dev->uds_path);
	dev->created_path = false;
}

void vsock_listen_retry(struct ember_instance *dev, uint64_t now)
{
	if (!dev->listen_paused || now < dev->listen_retry_at)
		return;
	dev->listen_retry_at = 0;
	if (listen_watch(dev))
		dev->host->log(dev->host, EMBER_LOG_ERROR, "cannot watch the listener again");
}

/* accept4 failed for want of resources: the listener rests a while instead of spinning. */
static void listen_pause(struct ember_instance *dev, int e)
{
	dev->host->log(dev->host, EMBER_LOG_ERROR,
		       "cannot accept host connections: %s; trying again in 1 s", strerror(e));
	dev->host->watch_remove(dev->host, dev->listen_watch);
	dev->listen_watch = -1;
	dev->listen_paused = true;
	dev->listen_retry_at = now_ns(dev) + VSOCK_LISTEN_RETRY_NS;
	vsock_timer_want(dev, dev->listen_retry_at);
}

static void on_listen(void *arg, int fd, uint32_t revents)
{
	struct ember_instance *dev = arg;
	const struct ember_host *host = dev->host;

	(void)revents;
	for (uint32_t i = 0; i < VSOCK_ACCEPT_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vsock_conn *c;

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				listen_pause(dev, errno);
			return;
		}
		c = vsock_conn_alloc(dev);
		if (!c) {
			close(cfd);
			dev->stats.refused++;
			host->log(host, EMBER_LOG_WARN,
				  "host connection refused: max_connections (%u) reached",
				  dev->max_conns);
			continue;
		}
		c->fd = cfd;
		c->host_initiated = true;
		c->state = CONN_HOST_LINE;
		c->deadline_ns = now_ns(dev) + dev->connect_timeout_ns;
		vsock_timer_want(dev, c->deadline_ns);
		vsock_conn_update_watch(dev, c);
	}
}

/* ---- Host-initiated: the CONNECT line ---------------------------------------------------- */

/* "CONNECT <port>\n", port decimal, 0..4294967295, nothing else. */
static bool parse_connect(const char *line, uint32_t len, uint32_t *port)
{
	static const char prefix[] = "CONNECT ";
	const uint32_t plen = sizeof(prefix) - 1;
	uint64_t v = 0;
	uint32_t i;

	if (len < plen + 2 || memcmp(line, prefix, plen) || line[len - 1] != '\n')
		return false;
	for (i = plen; i < len - 1; i++) {
		if (line[i] < '0' || line[i] > '9' || i - plen >= 10)
			return false;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*port = (uint32_t)v;
	return true;
}

static bool port_in_use(const struct ember_instance *dev, uint32_t port)
{
	for (uint32_t i = 0; i < dev->used; i++) {
		const struct vsock_conn *c = &dev->conns[i];

		if (c->state != CONN_FREE && c->state != CONN_HOST_LINE && c->local_port == port)
			return true;
	}
	return false;
}

/* A host-side port no other connection has: at most max_connections are taken. */
static uint32_t pick_port(struct ember_instance *dev)
{
	for (;;) {
		uint32_t p = dev->next_port;

		dev->next_port = p == UINT32_MAX - 1 ? VSOCK_HOST_PORT_FIRST : p + 1;
		if (!port_in_use(dev, p))
			return p;
	}
}

static void host_refuse(struct ember_instance *dev, struct vsock_conn *c, const char *why)
{
	dev->stats.refused++;
	dev->host->log(dev->host, EMBER_LOG_WARN, "host connection: %s: closed", why);
	vsock_conn_free(dev, c);
}

static void read_line(struct ember_instance *dev, struct vsock_conn *c)
{
	char peek[VSOCK_LINE_MAX];
	struct iovec iov = {.iov_base = peek, .iov_len = VSOCK_LINE_MAX - c->line_len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	const char *nl;
	ssize_t n, got;
	uint32_t port;

	n = recvmsg(c->fd, &m, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			host_refuse(dev, c, strerror(errno));
		return;
	}
	if (n == 0) {
		host_refuse(dev, c, "closed before its CONNECT line");
		return;
	}
	/* Consume the line's bytes only: what follows the newline is the stream's. */
	nl = memchr(peek, '\n', (size_t)n);
	iov.iov_base = c->line + c->line_len;
	iov.iov_len = nl ? (size_t)(nl - peek + 1) : (size_t)n;
	do
		got = recvmsg(c->fd, &m, MSG_DONTWAIT);
	while (got < 0 && errno == EINTR);
	if (got <= 0) {
		host_refuse(dev, c, got < 0 ? strerror(errno) : "closed before its CONNECT line");
		return;
	}
	c->line_len += (uint32_t)got;
	if (c->line[c->line_len - 1] != '\n') {
		if (c->line_len >= VSOCK_LINE_MAX)
			host_refuse(dev, c, "no CONNECT line in its first 32 bytes");
		return;
	}
	if (!parse_connect(c->line, c->line_len, &port)) {
		host_refuse(dev, c, "not a \"CONNECT <port>\" line");
		return;
	}
	c->line_len = 0;
	c->peer_port = port;
	c->local_port = pick_port(dev);
	c->state = CONN_HOST_REQUEST;
	c->pending |= PEND_REQUEST;
	c->peer_buf_alloc = 0; /* until the guest's RESPONSE tells */
	c->deadline_ns = now_ns(dev) + dev->connect_timeout_ns;
	vsock_timer_want(dev, c->deadline_ns);
	vsock_conn_update_watch(dev, c);
	vsock_rx_pump(dev);
}

void vsock_host_accepted(struct ember_instance *dev, struct vsock_conn *c)
{
	int n = snprintf(c->line, sizeof(c->line), "OK %u\n", c->local_port);

	c->state = CONN_ESTABLISHED;
	c->deadline_ns = 0;
	c->line_len = (uint32_t)n;
	c->line_off = 0;
	dev->stats.host_connections++;
	if (vsock_host_flush(dev, c))
		vsock_conn_reset(dev, c);
}

/* ---- Guest-initiated ---------------------------------------------------------------------- */

static void guest_established(struct ember_instance *dev, struct vsock_conn *c)
{
	c->state = CONN_ESTABLISHED;
	c->deadline_ns = 0;
	c->pending |= PEND_RESPONSE;
	dev->stats.guest_connections++;
	vsock_conn_update_watch(dev, c);
}

static void guest_refused(struct ember_instance *dev, struct vsock_conn *c, int e)
{
	dev->stats.refused++;
	dev->host->log(dev->host, EMBER_LOG_INFO, "guest port %u -> \"%s_%u\": %s: RST",
		       c->peer_port, dev->uds_path, c->local_port, strerror(e));
	vsock_conn_reset(dev, c);
}

void vsock_host_connect(struct ember_instance *dev, struct vsock_conn *c)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sockaddr_un a;
	socklen_t len;

	/* create checked that uds_path plus the longest suffix fits. */
	snprintf(path, sizeof(path), "%s_%u", dev->uds_path, c->local_port);
	len = unix_addr(&a, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		guest_refused(dev, c, errno);
		return;
	}
	if (!connect(c->fd, (const struct sockaddr *)&a, len)) {
		guest_established(dev, c);
		return;
	}
	/* A Unix listener accepts or refuses at once; a full backlog (EAGAIN) is a refusal. */
	if (errno != EINPROGRESS) {
		guest_refused(dev, c, errno);
		return;
	}
	c->deadline_ns = now_ns(dev) + dev->connect_timeout_ns;
	vsock_timer_want(dev, c->deadline_ns);
	vsock_conn_update_watch(dev, c);
}

static void connect_done(struct ember_instance *dev, struct vsock_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err)
		guest_refused(dev, c, err);
	else
		guest_established(dev, c);
	vsock_rx_pump(dev);
}

/* ---- The stream ---------------------------------------------------------------------------- */

int vsock_host_send(struct ember_instance *dev, struct vsock_conn *c,
		    const struct ember_vq_chain *chain, uint64_t off, uint32_t len)
{
	const struct ember_host *host = dev->host;
	uint32_t done = 0, rest, tail, first;

	if (!c->buf_len && !(c->line_off < c->line_len)) {
		struct iovec iov[VSOCK_IOV_MAX], part[VSOCK_IOV_MAX];
		int n = host->chain_map(host, chain, 0, iov, VSOCK_IOV_MAX);

		if (n > 0) {
			ssize_t w = send_iov(c->fd, part, iov_slice(iov, n, off, len, part, n));

			if (w < 0)
				return -1;
			done = (uint32_t)w;
			c->fwd_cnt += done;
			dev->stats.bytes_guest_to_host += done;
		}
	}
	rest = len - done;
	if (!rest)
		return 0;
	/* The guest's credit keeps the buffer from overflowing; check anyway. */
	if (c->buf_len + (uint64_t)rest > dev->buf_size)
		return -1;
	if (!c->buf) {
		c->buf = malloc(dev->buf_size);
		if (!c->buf) {
			host->log(host, EMBER_LOG_ERROR, "port %u: no memory for its buffer",
				  c->local_port);
			return -1;
		}
	}
	tail = (c->buf_head + c->buf_len) % dev->buf_size;
	first = dev->buf_size - tail < rest ? dev->buf_size - tail : rest;
	if (host->chain_read(host, chain, off + done, c->buf + tail, first) != first ||
	    (rest > first && host->chain_read(host, chain, off + done + first, c->buf,
					      rest - first) != rest - first))
		return -1;
	c->buf_len += rest;
	dev->buffered += rest;
	vsock_conn_update_watch(dev, c); /* EPOLLOUT until drained */
	return 0;
}

int vsock_host_flush(struct ember_instance *dev, struct vsock_conn *c)
{
	while (c->line_off < c->line_len) {
		struct iovec iov = {.iov_base = c->line + c->line_off,
				    .iov_len = c->line_len - c->line_off};
		ssize_t w = send_iov(c->fd, &iov, 1);

		if (w < 0)
			return -1;
		if (!w)
			return 0;
		c->line_off += (uint32_t)w;
	}
	while (c->buf_len) {
		uint32_t first = dev->buf_size - c->buf_head;
		struct iovec iov[2] = {
		    {.iov_base = c->buf + c->buf_head,
		     .iov_len = first < c->buf_len ? first : c->buf_len},
		    {.iov_base = c->buf, .iov_len = first < c->buf_len ? c->buf_len - first : 0},
		};
		ssize_t w = send_iov(c->fd, iov, iov[1].iov_len ? 2 : 1);

		if (w < 0)
			return -1;
		if (!w)
			return 0;
		c->buf_head = (c->buf_head + (uint32_t)w) % dev->buf_size;
		c->buf_len -= (uint32_t)w;
		dev->buffered -= (uint64_t)w;
		c->fwd_cnt += (uint32_t)w;
		dev->stats.bytes_guest_to_host += (uint64_t)w;
	}
	return 0;
}

int64_t vsock_host_recv(struct ember_instance *dev, struct vsock_conn *c,
			const struct ember_vq_chain *chain, uint64_t off, uint32_t max)
{
	const struct ember_host *host = dev->host;
	struct iovec iov[VSOCK_IOV_MAX], part[VSOCK_IOV_MAX];
	struct msghdr m = {.msg_iov = part};
	int n = host->chain_map(host, chain, 1, iov, VSOCK_IOV_MAX);
	ssize_t r;

	if (n <= 0)
		return -EFAULT;
	m.msg_iovlen = (size_t)iov_slice(iov, n, off, max, part, n);
	do
		r = recvmsg(c->fd, &m, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r;
}

/* ---- Socket events ------------------------------------------------------------------------- */

void vsock_host_event(void *arg, int fd, uint32_t revents)
{
	struct vsock_conn *c = arg;
	struct ember_instance *dev = c->dev;

	(void)fd;
	switch (c->state) {
	case CONN_HOST_LINE:
		read_line(dev, c);
		return;
	case CONN_GUEST_CONNECTING:
		connect_done(dev, c);
		return;
	case CONN_DRAINING:
		if (vsock_host_flush(dev, c) || !(c->buf_len || c->line_off < c->line_len))
			vsock_conn_free(dev, c);
		return;
	case CONN_ESTABLISHED:
		break;
	default:
		return;
	}
	if (c->watch_events & EMBER_WATCH_OUT) {
		if (vsock_host_flush(dev, c)) {
			dev->host->log(dev->host, EMBER_LOG_INFO,
				       "port %u: the host program is gone: RST", c->local_port);
			vsock_conn_reset(dev, c);
			vsock_rx_pump(dev);
			return;
		}
		vsock_conn_credit_check(dev, c);
		vsock_conn_check_done(dev, c);
	}
	if (c->state == CONN_ESTABLISHED && (c->watch_events & EMBER_WATCH_IN) &&
	    (revents & (EMBER_WATCH_IN | EMBER_WATCH_HUP | EMBER_WATCH_ERR)))
		c->readable = true;
	vsock_conn_update_watch(dev, c);
	vsock_rx_pump(dev);
}
