/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-vsock plugin through the harness, with real Unix sockets in a temporary folder:
 * host-initiated connections (CONNECT/OK), guest-initiated ones (uds_path_PORT), data both
 * ways, half-closes, credit on both sides, an empty rx queue, max_connections, stale and live
 * sockets at uds_path, bad guest packets, device resets and leaks. The test plays the guest
 * driver (rx/tx queues in harness RAM) and the host programs (plain AF_UNIX sockets); ember's
 * watches run in harness_poll, its timers on the fake clock.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "driver_vq.h"
#include "harness.h"
#include "virtio/virtio_mmio.h"

#define F_VERSION_1 (1ULL << EMBER_VIRTIO_F_VERSION_1)
#define F_STREAM    (1ULL << 0)
#define F_SEQPACKET (1ULL << 1)
#define MS	    1000000ULL

#define HDR	     44u
#define GUEST_CID    3u
#define OP_REQUEST   1
#define OP_RESPONSE  2
#define OP_RST	     3
#define OP_SHUTDOWN  4
#define OP_RW	     5
#define OP_CREDIT    6
#define OP_CREDIT_RQ 7
#define SHUT_RCV_F   1u
#define SHUT_SEND_F  2u
#define RX_BUF	     (HDR + 4096)

struct hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));
_Static_assert(sizeof(struct hdr) == HDR, "header");

static struct harness h;
static struct driver_vq rxq, txq, evq;
static char err[512];
static char dir[64], uds[128];
static uint64_t rx_gpa[256]; /* by descriptor head */
static int fds[16];
static unsigned nfds;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ember-vsock-test-XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	nfds = 0;
}

static int track(int fd)
{
	cr_assert(fd >= 0);
	cr_assert(nfds < EMBER_ARRAY_SIZE(fds));
	fds[nfds++] = fd;
	return fd;
}

static void teardown(void)
{
	char cmd[160];

	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	nfds = 0;
	cr_expect_eq(harness_fini(&h), 0, "leaks; log:\n%s", h.log);
	cr_expect_eq(access(uds, F_OK), -1, "uds_path left behind");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

static int create(const char *extra)
{
	char opts[512];

	snprintf(opts, sizeof(opts), "guest_cid = %u; uds_path = \"%s\"; %s", GUEST_CID, uds,
		 extra ? extra : "");
	return harness_create_rc(&h, "virtio-vsock", opts, err, sizeof(err));
}

static void bring_up(void)
{
	cr_assert(driver_negotiate(&h, F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &rxq, 0, 64);
	driver_vq_setup(&h, &txq, 1, 64);
	driver_vq_setup(&h, &evq, 2, 8);
	driver_ok(&h);
}

static void start(const char *extra)
{
	harness_init(&h);
	cr_assert_eq(create(extra), 0, "%s", err);
	bring_up();
}

/* ---- The guest's side ---------------------------------------------------------------------- */

/* n rx buffers of `size` bytes, one kick. */
static void rx_post_size(unsigned n, uint32_t size)
{
	for (unsigned i = 0; i < n; i++) {
		struct driver_buf b = {harness_alloc(&h, size, 8), size, true};
		uint16_t head = driver_vq_add(&rxq, &b, 1);

		rx_gpa[head] = b.gpa;
	}
	driver_vq_kick(&rxq);
}

static void rx_post(unsigned n)
{
	rx_post_size(n, RX_BUF);
}

/* The next packet ember gave the guest: its header and up to cap payload bytes. */
static bool rx_get(struct hdr *out, void *payload, uint32_t cap, uint32_t *used_len)
{
	uint32_t id, len;

	if (!driver_vq_get_used(&rxq, &id, &len))
		return false;
	cr_assert_geq(len, HDR, "used length %u", len);
	memcpy(out, harness_ptr(&h, rx_gpa[id], HDR), HDR);
	cr_assert_eq(len, HDR + out->len);
	cr_assert_eq(out->src_cid, 2);
	cr_assert_eq(out->dst_cid, GUEST_CID);
	cr_assert_eq(out->type, 1);
	if (payload && out->len)
		memcpy(payload, harness_ptr(&h, rx_gpa[id] + HDR, out->len),
		       out->len < cap ? out->len : cap);
	if (used_len)
		*used_len = len;
	return true;
}

/* Polls ember's watches until a packet shows (real sockets: give them real time). */
static bool rx_wait(struct hdr *out, void *payload, uint32_t cap)
{
	struct timespec t = {0, 200000};

	for (int i = 0; i < 2000; i++) {
		if (rx_get(out, payload, cap, NULL))
			return true;
		harness_poll(&h);
		nanosleep(&t, NULL);
	}
	return false;
}

/* Runs ember's watches a while: for "nothing happens" checks. */
static void settle(void)
{
	struct timespec t = {0, 200000};

	for (int i = 0; i < 50; i++) {
		harness_poll(&h);
		nanosleep(&t, NULL);
	}
}

static struct hdr mk(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	return (struct hdr){.src_cid = GUEST_CID,
			    .dst_cid = 2,
			    .src_port = src_port,
			    .dst_port = dst_port,
			    .type = 1,
			    .op = op,
			    .buf_alloc = 65536};
}

/* A packet on the tx queue: header and payload in two descriptors, as Linux sends them. */
static void tx_raw(const struct hdr *hd, uint32_t hdr_bytes, const void *data, uint32_t len)
{
	struct driver_buf b[2];
	unsigned n = 0;
	uint32_t id, ulen;

	b[n] =
	    (struct driver_buf){harness_alloc(&h, hdr_bytes ? hdr_bytes : 1, 8), hdr_bytes, false};
	memcpy(harness_ptr(&h, b[n].gpa, hdr_bytes), hd, hdr_bytes < HDR ? hdr_bytes : HDR);
	n++;
	if (len) {
		b[n] = (struct driver_buf){harness_alloc(&h, len, 8), len, false};
		memcpy(harness_ptr(&h, b[n].gpa, len), data, len);
		n++;
	}
	driver_vq_add(&txq, b, n);
	driver_vq_kick(&txq);
	cr_assert(driver_vq_get_used(&txq, &id, &ulen), "tx chain not used");
	cr_assert_eq(ulen, 0);
}

static void tx(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags, const void *data,
	       uint32_t len, uint32_t fwd_cnt)
{
	struct hdr hd = mk(op, src_port, dst_port);

	hd.flags = flags;
	hd.len = len;
	hd.fwd_cnt = fwd_cnt;
	tx_raw(&hd, HDR, data, len);
}

static uint64_t metric(const char *name)
{
	uint64_t v[32];
	uint32_t n = plugin_instance_metrics_read(h.dev, v, 32);

	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(plugin_instance_metric(h.dev, i)->name, name))
			return v[i];
	cr_assert_fail("no metric %s", name);
	return 0;
}

/* ---- The host's side ----------------------------------------------------------------------- */

static socklen_t set_path(struct sockaddr_un *a, const char *path)
{
	size_t n = strlen(path);

	cr_assert_lt(n, sizeof(a->sun_path));
	memcpy(a->sun_path, path, n + 1);
	return (socklen_t)sizeof(*a);
}

static int unix_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	set_path(&a, path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect %s: %s", path,
		     strerror(errno));
	return track(fd);
}

static int unix_listen(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	set_path(&a, path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind %s", path);
	cr_assert_eq(listen(fd, 8), 0);
	return track(fd);
}

/* Reads exactly n bytes (or until EOF) while ember's watches run. Returns the count. */
static size_t host_read(int fd, void *buf, size_t n)
{
	size_t got = 0;

	for (int i = 0; i < 4000 && got < n; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		harness_poll(&h);
		if (poll(&p, 1, 1) != 1)
			continue;
		r = recv(fd, (uint8_t *)buf + got, n - got, MSG_DONTWAIT);
		if (r == 0)
			break;
		if (r > 0)
			got += (size_t)r;
	}
	return got;
}

/* True when the peer closed: EOF (or a reset) within a while. */
static bool host_eof(int fd)
{
	for (int i = 0; i < 2000; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char c;

		harness_poll(&h);
		if (poll(&p, 1, 1) == 1) {
			ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);

			if (r == 0 || (r < 0 && errno == ECONNRESET))
				return true;
			cr_assert(r < 0, "data where EOF was expected");
		}
	}
	return false;
}

static void host_write(int fd, const void *buf, size_t n)
{
	cr_assert_eq(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* A host program's connection through CONNECT up to OK: returns the fd, sets *port. */
static int host_open(uint32_t guest_port, uint32_t *port, const char *after)
{
	char line[64], ok[32];
	struct hdr r;
	int fd = unix_connect(uds);
	int n;

	n = snprintf(line, sizeof(line), "CONNECT %u\n%s", guest_port, after ? after : "");
	host_write(fd, line, (size_t)n);
	cr_assert(rx_wait(&r, NULL, 0), "no REQUEST; log:\n%s", h.log);
	cr_assert_eq(r.op, OP_REQUEST);
	cr_assert_eq(r.dst_port, guest_port);
	cr_assert_geq(r.src_port, 1u << 30);
	tx(OP_RESPONSE, guest_port, r.src_port, 0, NULL, 0, 0);
	n = snprintf(ok, sizeof(ok), "OK %u\n", r.src_port);
	cr_assert_eq(host_read(fd, line, (size_t)n), (size_t)n);
	cr_assert_eq(memcmp(line, ok, (size_t)n), 0, "got %.*s", n, line);
	*port = r.src_port;
	return fd;
}

/* A guest connection to uds_path_PORT: returns the accepted host fd. */
static int guest_open(int listener, uint32_t src_port, uint32_t port)
{
	struct hdr r;
	int fd;

	tx(OP_REQUEST, src_port, port, 0, NULL, 0, 0);
	cr_assert(rx_wait(&r, NULL, 0), "no answer; log:\n%s", h.log);
	cr_assert_eq(r.op, OP_RESPONSE, "op %u; log:\n%s", r.op, h.log);
	cr_assert_eq(r.src_port, port);
	cr_assert_eq(r.dst_port, src_port);
	fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	return track(fd);
}

static int port_listener(uint32_t port)
{
	char path[160];

	snprintf(path, sizeof(path), "%s_%u", uds, port);
	return unix_listen(path);
}

TestSuite(vsock, .init = setup, .fini = teardown);

Test(vsock, identity_features_config)
{
	uint64_t lo, hi;

	start("");
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_DEVICE_ID), 19);
	harness_write32(&h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = harness_read32(&h, VIRTIO_MMIO_DEVICE_FEATURES);
	cr_assert(lo & F_STREAM);
	cr_assert_not(lo & F_SEQPACKET);
	harness_write32(&h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	cr_assert(harness_read32(&h, VIRTIO_MMIO_DEVICE_FEATURES) & 1); /* VERSION_1 */
	lo = harness_read32(&h, VIRTIO_MMIO_CONFIG);
	hi = harness_read32(&h, VIRTIO_MMIO_CONFIG + 4);
	cr_assert_eq(lo | hi << 32, GUEST_CID);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 3);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "only rx, tx, event");
}

Test(vsock, host_initiated_round_trip)
{
	uint8_t buf[64];
	struct hdr r;
	uint32_t port;
	int fd;

	start("");
	rx_post(8);
	/* "early" follows the line in the same write: it is the stream's first bytes. */
	fd = host_open(1234, &port, "early");
	cr_assert(rx_wait(&r, buf, sizeof(buf)));
	cr_assert_eq(r.op, OP_RW);
	cr_assert_eq(r.len, 5);
	cr_assert_eq(memcmp(buf, "early", 5), 0);
	cr_assert_eq(r.src_port, port);
	cr_assert_eq(r.dst_port, 1234);
	cr_assert_eq(r.buf_alloc, 128 * 1024, "conn_buffer_size's default");
	host_write(fd, "from host", 9);
	cr_assert(rx_wait(&r, buf, sizeof(buf)));
	cr_assert_eq(r.op, OP_RW);
	cr_assert_eq(memcmp(buf, "from host", 9), 0);
	tx(OP_RW, 1234, port, 0, "from guest", 10, 14);
	cr_assert_eq(host_read(fd, buf, 10), 10);
	cr_assert_eq(memcmp(buf, "from guest", 10), 0);
	cr_assert_eq(metric("connections_host"), 1);
	cr_assert_eq(metric("connections_open"), 1);
	cr_assert_eq(metric("bytes_host_to_guest"), 14);
	cr_assert_eq(metric("bytes_guest_to_host"), 10);
	cr_assert_eq(metric("buffered_bytes"), 0);
	/* A second program gets another port. */
	{
		uint32_t port2;

		host_open(1234, &port2, NULL);
		cr_assert_neq(port2, port);
	}
}

Test(vsock, host_initiated_refused_by_guest_rst)
{
	struct hdr r;
	int fd;

	start("");
	rx_post(4);
	fd = unix_connect(uds);
	host_write(fd, "CONNECT 99\n", 11);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_REQUEST);
	tx(OP_RST, 99, r.src_port, 0, NULL, 0, 0);
	cr_assert(host_eof(fd), "the host program's socket stays open");
	cr_assert_eq(metric("connections_refused"), 1);
	cr_assert_eq(metric("connections_open"), 0);
}

Test(vsock, host_bad_connect_lines)
{
	static const char *bad[] = {"HELLO 5\n",    "CONNECT\n",
				    "CONNECT x5\n", "CONNECT 4294967296\n",
				    "CONNECT 5 \n", "connect 5\n"};
	char longline[40];
	int fd;

	start("");
	rx_post(4);
	for (size_t i = 0; i < EMBER_ARRAY_SIZE(bad); i++) {
		fd = unix_connect(uds);
		host_write(fd, bad[i], strlen(bad[i]));
		cr_assert(host_eof(fd), "\"%s\" was taken", bad[i]);
	}
	memset(longline, '7', sizeof(longline));
	fd = unix_connect(uds);
	host_write(fd, "CONNECT ", 8);
	host_write(fd, longline, sizeof(longline));
	cr_assert(host_eof(fd), "an endless line was taken");
	/* No line at all: closed when connect_timeout_ms passes on ember's clock. */
	fd = unix_connect(uds);
	host_write(fd, "CONN", 4);
	settle();
	harness_advance(&h, 4999 * MS);
	settle();
	cr_assert_eq(metric("connections_open"), 1);
	harness_advance(&h, 2 * MS);
	cr_assert(host_eof(fd));
	cr_assert_eq(metric("connections_refused"), EMBER_ARRAY_SIZE(bad) + 2);
	cr_assert_eq(metric("connections_open"), 0);
	{
		struct hdr r;

		cr_assert_not(rx_get(&r, NULL, 0, NULL), "a REQUEST for a bad line");
	}
}

Test(vsock, host_request_unanswered_times_out)
{
	struct hdr r;
	int fd;

	start("connect_timeout_ms = 1000;");
	rx_post(4);
	fd = unix_connect(uds);
	host_write(fd, "CONNECT 7\n", 10);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_REQUEST);
	harness_advance(&h, 1001 * MS);
	cr_assert(host_eof(fd));
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_RST);
}

Test(vsock, guest_initiated_connect_and_refusal)
{
	uint8_t buf[32];
	struct hdr r;
	int lis, fd;

	start("");
	rx_post(8);
	lis = port_listener(5000);
	fd = guest_open(lis, 40000, 5000);
	tx(OP_RW, 40000, 5000, 0, "ping", 4, 0);
	cr_assert_eq(host_read(fd, buf, 4), 4);
	cr_assert_eq(memcmp(buf, "ping", 4), 0);
	host_write(fd, "pong", 4);
	cr_assert(rx_wait(&r, buf, sizeof(buf)));
	cr_assert_eq(r.op, OP_RW);
	cr_assert_eq(r.src_port, 5000);
	cr_assert_eq(r.dst_port, 40000);
	cr_assert_eq(memcmp(buf, "pong", 4), 0);
	cr_assert_eq(metric("connections_guest"), 1);
	/* Nothing listens on uds_path_5001: RST. */
	tx(OP_REQUEST, 40001, 5001, 0, NULL, 0, 0);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_RST);
	cr_assert_eq(r.dst_port, 40001);
	cr_assert_eq(metric("connections_refused"), 1);
	/* A socket file nobody listens on: RST too. */
	{
		char path[160];
		int dead = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un a = {.sun_family = AF_UNIX};

		snprintf(path, sizeof(path), "%s_%u", uds, 5002);
		set_path(&a, path);
		cr_assert_eq(bind(dead, (struct sockaddr *)&a, sizeof(a)), 0);
		close(dead);
		tx(OP_REQUEST, 40002, 5002, 0, NULL, 0, 0);
		cr_assert(rx_wait(&r, NULL, 0));
		cr_assert_eq(r.op, OP_RST);
		unlink(path);
	}
	/* The guest closes: SHUTDOWN both, ember answers RST and the host program sees EOF. */
	tx(OP_SHUTDOWN, 40000, 5000, SHUT_RCV_F | SHUT_SEND_F, NULL, 0, 4);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_RST);
	cr_assert(host_eof(fd));
	cr_assert_eq(metric("connections_open"), 0);
}

Test(vsock, guest_shuts_send_first)
{
	uint8_t buf[16];
	struct hdr r;
	int lis, fd;

	start("");
	rx_post(8);
	lis = port_listener(6000);
	fd = guest_open(lis, 41000, 6000);
	tx(OP_RW, 41000, 6000, 0, "bye", 3, 0);
	tx(OP_SHUTDOWN, 41000, 6000, SHUT_SEND_F, NULL, 0, 0);
	cr_assert_eq(host_read(fd, buf, 3), 3);
	cr_assert(host_eof(fd), "no EOF after the guest's SHUTDOWN SEND");
	/* The other direction still works. */
	host_write(fd, "still", 5);
	cr_assert(rx_wait(&r, buf, sizeof(buf)));
	cr_assert_eq(r.op, OP_RW);
	cr_assert_eq(memcmp(buf, "still", 5), 0);
	/* The host program closes too: both directions are shut, ember ends it with RST. */
	close(fd);
	fds[--nfds] = -1;
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_RST, "op %u", r.op);
	cr_assert_eq(metric("connections_open"), 0);
}

Test(vsock, host_shuts_send_first)
{
	uint8_t buf[16];
	struct hdr r;
	uint32_t port;
	int fd;

	start("");
	rx_post(8);
	fd = host_open(77, &port, NULL);
	cr_assert_eq(shutdown(fd, SHUT_WR), 0);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_SHUTDOWN);
	cr_assert_eq(r.flags, SHUT_SEND_F);
	/* The guest may still send. */
	tx(OP_RW, 77, port, 0, "late", 4, 0);
	cr_assert_eq(host_read(fd, buf, 4), 4);
	cr_assert_eq(memcmp(buf, "late", 4), 0);
	/* The guest shuts its side: RST closes the connection, the host program reads EOF. */
	tx(OP_SHUTDOWN, 77, port, SHUT_SEND_F, NULL, 0, 0);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_RST);
	cr_assert(host_eof(fd));
	cr_assert_eq(metric("connections_open"), 0);
}

Test(vsock, guest_beyond_credit_is_reset)
{
	static uint8_t data[4096];
	struct hdr r;
	int lis, fd;

	start("conn_buffer_size = 4096;");
	lis = port_listener(7000);
	rx_post(1);
	fd = guest_open(lis, 42000, 7000);
	/* No rx buffer: ember cannot tell the guest about its progress, so the credit is 4096. */
	tx(OP_RW, 42000, 7000, 0, data, sizeof(data), 0);
	cr_assert_eq(host_read(fd, data, sizeof(data)), sizeof(data));
	tx(OP_RW, 42000, 7000, 0, data, 1, 0);
	cr_assert_eq(metric("credit_violations"), 1);
	cr_assert(host_eof(fd));
	rx_post(2);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_RST);
	cr_assert(harness_log_contains(&h, "beyond its credit"));
}

/* The guest side of a credit-respecting sender: sends what ember's last header allows. */
struct sender {
	uint32_t sent, fwd, alloc;
};

static void note_credit(struct sender *s)
{
	struct hdr r;

	while (rx_get(&r, NULL, 0, NULL)) {
		cr_assert(r.op == OP_CREDIT || r.op == OP_RW, "op %u", r.op);
		s->fwd = r.fwd_cnt;
		s->alloc = r.buf_alloc;
		rx_post(1);
	}
}

Test(vsock, slow_host_reader_bounds_the_buffer)
{
	static uint8_t chunk[4096], got[1 << 20];
	struct sender s = {.alloc = 65536};
	uint32_t rounds = 0, total;
	int lis, fd;

	start("conn_buffer_size = 65536;");
	lis = port_listener(8000);
	rx_post(16);
	fd = guest_open(lis, 43000, 8000);
	/* The host program reads nothing: ember's socket fills, then its buffer, then credit ends.
	 */
	for (; rounds < 4000; rounds++) {
		uint32_t room = s.alloc - (s.sent - s.fwd);
		uint32_t n = room < sizeof(chunk) ? room : sizeof(chunk);

		note_credit(&s);
		if (!n)
			break;
		for (uint32_t i = 0; i < n; i++)
			chunk[i] = (uint8_t)((s.sent + i) * 7);
		tx(OP_RW, 43000, 8000, 0, chunk, n, 0);
		s.sent += n;
	}
	settle();
	note_credit(&s);
	cr_assert_eq(s.alloc - (s.sent - s.fwd), 0, "credit left with nothing read");
	cr_assert_gt(metric("buffered_bytes"), 0);
	cr_assert_leq(metric("buffered_bytes"), 65536);
	cr_assert_eq(metric("credit_violations"), 0);
	total = s.sent;
	cr_assert_lt(total, sizeof(got));
	/* Reading everything drains the buffer; ember gives the credit back. */
	cr_assert_eq(host_read(fd, got, total), total);
	for (uint32_t i = 0; i < total; i++)
		cr_assert_eq(got[i], (uint8_t)(i * 7), "byte %u", i);
	settle();
	note_credit(&s);
	cr_assert_eq(metric("buffered_bytes"), 0);
	cr_assert_gt(s.alloc - (s.sent - s.fwd), 32768, "no credit update after draining");
	cr_assert_eq(metric("bytes_guest_to_host"), total);
}

Test(vsock, empty_rx_queue_stops_reading_until_kick)
{
	uint8_t buf[32];
	struct hdr r;
	uint32_t port;
	unsigned watching;
	int fd;

	start("");
	rx_post(1); /* for the REQUEST; then none */
	fd = host_open(88, &port, NULL);
	cr_assert_not(rx_get(&r, NULL, 0, NULL));
	watching = harness_callbacks(&h); /* the listener, the connection, the deadline timer */
	host_write(fd, "waiting", 7);
	/* ember pops, finds no buffer, and stops watching the socket instead of spinning. */
	settle();
	cr_assert_eq(harness_callbacks(&h), watching - 1);
	cr_assert_eq(harness_poll(&h), 0, "a watch fires with no rx buffer");
	rx_post(1);
	cr_assert(rx_wait(&r, buf, sizeof(buf)));
	cr_assert_eq(r.op, OP_RW);
	cr_assert_eq(memcmp(buf, "waiting", 7), 0);
}

Test(vsock, guest_credit_limits_host_data)
{
	uint8_t buf[64];
	struct hdr r;
	int lis, fd;

	start("");
	rx_post(8);
	lis = port_listener(9000);
	/* The guest's buffer: 10 bytes. */
	{
		struct hdr rq = mk(OP_REQUEST, 44000, 9000);

		rq.buf_alloc = 10;
		tx_raw(&rq, HDR, NULL, 0);
		cr_assert(rx_wait(&r, NULL, 0));
		cr_assert_eq(r.op, OP_RESPONSE);
		fd = track(accept4(lis, NULL, NULL, SOCK_CLOEXEC));
	}
	host_write(fd, "0123456789abcdefghij", 20);
	cr_assert(rx_wait(&r, buf, sizeof(buf)));
	cr_assert_eq(r.op, OP_RW);
	cr_assert_eq(r.len, 10);
	settle();
	cr_assert_not(rx_get(&r, NULL, 0, NULL), "more than the guest's credit");
	/* The guest consumed them: its CREDIT_UPDATE lets the rest come. */
	{
		struct hdr cu = mk(OP_CREDIT, 44000, 9000);

		cu.buf_alloc = 10;
		cu.fwd_cnt = 10;
		tx_raw(&cu, HDR, NULL, 0);
	}
	cr_assert(rx_wait(&r, buf, sizeof(buf)));
	cr_assert_eq(r.op, OP_RW);
	cr_assert_eq(r.len, 10);
	cr_assert_eq(memcmp(buf, "abcdefghij", 10), 0);
	/* A CREDIT_REQUEST gets a CREDIT_UPDATE. */
	tx(OP_CREDIT_RQ, 44000, 9000, 0, NULL, 0, 20);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_CREDIT);
	cr_assert_eq(r.buf_alloc, 128 * 1024);
}

Test(vsock, max_connections)
{
	struct hdr r;
	uint32_t port;
	int fd;

	start("max_connections = 1;");
	rx_post(8);
	host_open(1, &port, NULL);
	fd = unix_connect(uds);
	cr_assert(host_eof(fd), "a second host connection past max_connections");
	tx(OP_REQUEST, 45000, 1234, 0, NULL, 0, 0);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_RST);
	cr_assert_eq(r.dst_port, 45000);
	cr_assert_eq(metric("connections_refused"), 2);
	cr_assert(harness_log_contains(&h, "max_connections (1) reached"));
}

Test(vsock, stale_socket_is_replaced)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	set_path(&a, uds);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd); /* the file stays, nobody listens */
	start("");
	cr_assert(harness_log_contains(&h, "(stale): replaced"), "%s", h.log);
	close(unix_connect(uds));
	nfds--;
}

Test(vsock, live_socket_or_other_file_refuses_create)
{
	int lis;

	harness_init(&h);
	lis = unix_listen(uds);
	cr_assert_eq(create(""), -EIO);
	cr_assert(harness_log_contains(&h, "in use"), "%s", h.log);
	close(lis);
	nfds--;
	unlink(uds);
	close(track(open(uds, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)));
	nfds--;
	cr_assert_eq(create(""), -EIO);
	cr_assert(harness_log_contains(&h, "not a socket"), "%s", h.log);
	cr_assert_eq(access(uds, F_OK), 0, "a regular file was removed");
	unlink(uds);
}

Test(vsock, options_are_checked)
{
	char opts[256];

	harness_init(&h);
	snprintf(opts, sizeof(opts), "guest_cid = 2; uds_path = \"%s\";", uds);
	cr_assert_eq(harness_create_rc(&h, "virtio-vsock", opts, err, sizeof(err)), -EINVAL);
	snprintf(opts, sizeof(opts), "guest_cid = 4294967295L; uds_path = \"%s\";", uds);
	cr_assert_eq(harness_create_rc(&h, "virtio-vsock", opts, err, sizeof(err)), -EINVAL);
	cr_assert_eq(harness_create_rc(&h, "virtio-vsock", "guest_cid = 3;", err, sizeof(err)),
		     -EINVAL);
	cr_assert_eq(create("conn_buffer_size = 1024;"), -EINVAL);
	snprintf(opts, sizeof(opts), "guest_cid = 3; uds_path = \"%s/no/such/dir/v.sock\";", dir);
	cr_assert_eq(harness_create_rc(&h, "virtio-vsock", opts, err, sizeof(err)), -EINVAL);
}

Test(vsock, bad_guest_packets)
{
	uint8_t junk[128] = {0};
	struct hdr r, hd;
	int lis, fd;

	start("");
	rx_post(16);
	lis = port_listener(3000);
	fd = guest_open(lis, 46000, 3000);

	/* Shorter than a header: dropped, nothing answered. */
	hd = mk(OP_RW, 46000, 3000);
	tx_raw(&hd, 10, NULL, 0);
	/* Wrong cids: dropped. */
	hd = mk(OP_RW, 46000, 3000);
	hd.src_cid = 9;
	tx_raw(&hd, HDR, NULL, 0);
	hd = mk(OP_RW, 46000, 3000);
	hd.dst_cid = 1;
	tx_raw(&hd, HDR, NULL, 0);
	/* len beyond the chain, and beyond 64 KiB: dropped. */
	hd = mk(OP_RW, 46000, 3000);
	hd.len = 100;
	tx_raw(&hd, HDR, junk, 10);
	hd.len = 70000;
	tx_raw(&hd, HDR, junk, 10);
	settle();
	cr_assert_not(rx_get(&r, NULL, 0, NULL), "an answer to a dropped packet");
	cr_assert_eq(metric("packets_dropped"), 5);
	/* RW for no connection, and a seqpacket REQUEST: RST. */
	tx(OP_RW, 46001, 3000, 0, "x", 1, 0);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_RST);
	cr_assert_eq(r.dst_port, 46001);
	hd = mk(OP_REQUEST, 46002, 3000);
	hd.type = 2;
	tx_raw(&hd, HDR, NULL, 0);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_RST);
	cr_assert_eq(r.dst_port, 46002);
	/* A RESPONSE nobody asked for: RST. An RST for nothing: no answer. */
	tx(OP_RESPONSE, 46003, 3000, 0, NULL, 0, 0);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_RST);
	tx(OP_RST, 46004, 3000, 0, NULL, 0, 0);
	settle();
	cr_assert_not(rx_get(&r, NULL, 0, NULL));
	/* The connection survived all that. */
	tx(OP_RW, 46000, 3000, 0, "fine", 4, 0);
	cr_assert_eq(host_read(fd, junk, 4), 4);
	/* An unknown op on it: RST, the host program sees the end. */
	tx(99, 46000, 3000, 0, NULL, 0, 0);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_RST);
	cr_assert_eq(r.dst_port, 46000);
	cr_assert(host_eof(fd));
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	cr_assert_eq(metric("resets_sent"), 4);
}

Test(vsock, bad_rx_buffers_go_back_unused)
{
	struct driver_buf b[2];
	uint32_t id, len;
	struct hdr r;
	int fd;

	start("");
	/* A readable buffer, and one too small for a header. */
	b[0] = (struct driver_buf){harness_alloc(&h, 64, 8), 64, false};
	b[1] = (struct driver_buf){harness_alloc(&h, 16, 8), 16, true};
	driver_vq_add(&rxq, &b[0], 1);
	driver_vq_add(&rxq, &b[1], 1);
	driver_vq_kick(&rxq);
	fd = unix_connect(uds);
	host_write(fd, "CONNECT 5\n", 10);
	settle();
	cr_assert(driver_vq_get_used(&rxq, &id, &len));
	cr_assert_eq(len, 0);
	cr_assert(driver_vq_get_used(&rxq, &id, &len));
	cr_assert_eq(len, 0);
	cr_assert_eq(metric("packets_dropped"), 2);
	rx_post(1);
	cr_assert(rx_wait(&r, NULL, 0));
	cr_assert_eq(r.op, OP_REQUEST);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

Test(vsock, reset_closes_connections_listener_stays)
{
	struct hdr r;
	uint32_t port;
	int lis, hfd, gfd;

	start("");
	rx_post(8);
	lis = port_listener(4000);
	hfd = host_open(11, &port, NULL);
	gfd = guest_open(lis, 47000, 4000);
	cr_assert_eq(metric("connections_open"), 2);
	bring_up(); /* the driver resets the device and starts again */
	cr_assert(host_eof(hfd));
	cr_assert(host_eof(gfd));
	cr_assert_eq(metric("connections_open"), 0);
	rx_post(4);
	cr_assert_not(rx_get(&r, NULL, 0, NULL), "a packet for the old driver");
	/* The listener is still there. */
	host_open(12, &port, NULL);
	cr_assert_eq(metric("connections_host"), 2);
}

Test(vsock, destroy_with_everything_open)
{
	uint32_t port;
	int lis, fd;

	start("conn_buffer_size = 4096;");
	rx_post(8);
	lis = port_listener(4100);
	host_open(13, &port, NULL);
	guest_open(lis, 48000, 4100);
	fd = unix_connect(uds); /* still on its CONNECT line */
	host_write(fd, "CONN", 4);
	settle();
	cr_assert_eq(metric("connections_open"), 3);
	/* teardown destroys it: no leaks, uds_path removed */
}
