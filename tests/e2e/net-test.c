/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net-test: both ends of the virtio-net checks and benchmarks (a static binary, in the guest and
 * in L1), plus the few ethtool and tap calls busybox lacks.
 *
 *   net-test serve PORT [--log FILE] [--background]   TCP server for client/rr (runs until killed)
 *   net-test client HOST PORT --bytes N [--conns K] [--recv] [--timeout S]
 *   net-test rr HOST PORT --secs S                     1-byte request/response round trips
 *   net-test flood HOST PORT --secs S [--size B]       UDP datagrams as fast as possible
 *   net-test hold-udp PORT --log FILE --background     binds PORT and never reads it
 *   net-test mktap NAME [--queues N]                   a persistent tap (vnet header, N queues)
 *   net-test rmtap NAME [--queues N]                   removes it
 *   net-test features IFACE                            active offload features (ethtool -k)
 *   net-test stats IFACE                               driver statistics (ethtool -S)
 *
 * A client connection sends a 16-byte request (magic, mode, byte count) and then, for a send,
 * N bytes of a stream derived from its connection number; the server checks every byte as it
 * arrives and answers with the count and a hash of what it got, which the client compares with
 * its own. With --recv the server sends the stream and the client checks it. So "ok" means each
 * of the N bytes arrived, in order, unchanged.
 *
 * Output: one summary line "NET-TEST ok|FAIL conns=K bytes=N secs=S mbps=M" (exit 0 only when
 * every connection passed), "NET-RR per_sec=R", "NET-FLOOD sent=N"; a server started with
 * --background returns once it listens, printing its pid.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAGIC	  0x4e545354u /* "NTST" */
#define CHUNK	  65536
#define MODE_SEND 0u /* client -> server */
#define MODE_RECV 1u /* server -> client */
#define MODE_RR	  2u /* 1-byte echo */

struct req {
	uint32_t magic, mode;
	uint64_t bytes;
	uint32_t conn, pad;
};

struct reply {
	uint64_t bytes, hash;
};

__attribute__((format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "net-test: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The stream of connection c: byte i depends on i and c, and repeats nowhere short. */
static void fill(uint8_t *buf, size_t n, uint64_t off, uint32_t c)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t x = (off + i) * 0x9e3779b97f4a7c15ULL + c * 0xbf58476d1ce4e5b9ULL;

		buf[i] = (uint8_t)(x >> 56 ^ x >> 29);
	}
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}
#define FNV0 0xcbf29ce484222325ULL

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t r = recv(fd, b, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads `bytes` of stream c, checking each; returns the hash, or sets *bad. */
static uint64_t sink(int fd, uint64_t bytes, uint32_t c, uint64_t *got, bool *bad)
{
	static __thread uint8_t buf[CHUNK], want[CHUNK];
	uint64_t h = FNV0;

	*got = 0;
	while (*got < bytes) {
		size_t n = bytes - *got < CHUNK ? (size_t)(bytes - *got) : CHUNK;
		ssize_t r = recv(fd, buf, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		fill(want, (size_t)r, *got, c);
		if (memcmp(buf, want, (size_t)r))
			*bad = true;
		h = fnv(h, buf, (size_t)r);
		*got += (uint64_t)r;
	}
	return h;
}

static uint64_t source(int fd, uint64_t bytes, uint32_t c, bool *bad)
{
	static __thread uint8_t buf[CHUNK];
	uint64_t h = FNV0;

	for (uint64_t off = 0; off < bytes;) {
		size_t n = bytes - off < CHUNK ? (size_t)(bytes - off) : CHUNK;

		fill(buf, n, off, c);
		h = fnv(h, buf, n);
		if (write_all(fd, buf, n)) {
			*bad = true;
			break;
		}
		off += n;
	}
	return h;
}

/* ---- Server -------------------------------------------------------------------------------- */

static FILE *logf_;

__attribute__((format(printf, 1, 2))) static void logline(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(logf_ ? logf_ : stdout, fmt, ap);
	fputc('\n', logf_ ? logf_ : stdout);
	fflush(logf_ ? logf_ : stdout);
	va_end(ap);
}

static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct req q;
	struct reply rp = {0};
	bool bad = false;
	uint8_t b;

	if (read_all(fd, &q, sizeof(q)) || q.magic != MAGIC) {
		close(fd);
		return NULL;
	}
	switch (q.mode) {
	case MODE_SEND:
		rp.hash = sink(fd, q.bytes, q.conn, &rp.bytes, &bad);
		if (bad)
			rp.hash = ~rp.hash; /* the client then sees a mismatch */
		write_all(fd, &rp, sizeof(rp));
		logline("conn %u sink %" PRIu64 " bytes%s", q.conn, rp.bytes, bad ? " BAD" : "");
		break;
	case MODE_RECV:
		rp.hash = source(fd, q.bytes, q.conn, &bad);
		logline("conn %u source %" PRIu64 " bytes%s", q.conn, q.bytes, bad ? " BAD" : "");
		break;
	case MODE_RR:
		while (recv(fd, &b, 1, 0) == 1 && send(fd, &b, 1, MSG_NOSIGNAL) == 1)
			;
		break;
	}
	shutdown(fd, SHUT_WR);
	close(fd);
	return NULL;
}

static int listen_on(int type, unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind port %u: %s", port, strerror(errno));
	if (type == SOCK_STREAM && listen(fd, 256) < 0)
		die("listen: %s", strerror(errno));
	return fd;
}

/* --background: the child keeps running; the parent prints its pid once it listens. */
static void background(void)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			die("the server did not start");
		printf("%d\n", (int)pid);
		exit(0);
	}
	close(p[0]);
	setsid();
	if (write(p[1], "x", 1) != 1)
		exit(2);
	close(p[1]);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
}

static _Noreturn void cmd_serve(unsigned port, bool bg, bool udp_hold)
{
	int lfd = listen_on(udp_hold ? SOCK_DGRAM : SOCK_STREAM, port);

	signal(SIGPIPE, SIG_IGN);
	if (bg)
		background();
	logline("listening on %u", port);
	if (udp_hold) {
		for (;;)
			pause();
	}
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;

		if (fd < 0)
			continue;
		if (pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd)) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
}

/* ---- Client -------------------------------------------------------------------------------- */

struct conn {
	struct sockaddr_in addr;
	uint64_t bytes;
	uint32_t index;
	bool recv_mode;
	bool ok;
	char why[96];
};

static int connect_to(const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	for (int tries = 0; connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0; tries++) {
		if (tries >= 50 || (errno != ECONNREFUSED && errno != EINTR)) {
			close(fd);
			return -1;
		}
		usleep(100000);
	}
	return fd;
}

static void *run_conn(void *arg)
{
	struct conn *c = arg;
	struct req q = {MAGIC, c->recv_mode ? MODE_RECV : MODE_SEND, c->bytes, c->index, 0};
	struct reply rp;
	bool bad = false;
	uint64_t h, got;
	int fd = connect_to(&c->addr);

	if (fd < 0) {
		snprintf(c->why, sizeof(c->why), "connect: %s", strerror(errno));
		return NULL;
	}
	if (write_all(fd, &q, sizeof(q))) {
		snprintf(c->why, sizeof(c->why), "request: %s", strerror(errno));
		goto out;
	}
	if (c->recv_mode) {
		sink(fd, c->bytes, c->index, &got, &bad);
		if (got != c->bytes || bad)
			snprintf(c->why, sizeof(c->why), "got %" PRIu64 " of %" PRIu64 " bytes%s",
				 got, c->bytes, bad ? ", some wrong" : "");
		else
			c->ok = true;
	} else {
		h = source(fd, c->bytes, c->index, &bad);
		shutdown(fd, SHUT_WR);
		if (bad || read_all(fd, &rp, sizeof(rp)))
			snprintf(c->why, sizeof(c->why), "send or reply failed: %s",
				 strerror(errno));
		else if (rp.bytes != c->bytes || rp.hash != h)
			snprintf(c->why, sizeof(c->why), "server got %" PRIu64 " bytes, hash %s",
				 rp.bytes, rp.hash == h ? "equal" : "different");
		else
			c->ok = true;
	}
out:
	close(fd);
	return NULL;
}

static void resolve(const char *host, unsigned port, struct sockaddr_in *a)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		die("not an IPv4 address: %s", host);
}

static int cmd_client(const char *host, unsigned port, uint64_t bytes, unsigned conns,
		      bool recv_mode)
{
	struct conn *c = calloc(conns, sizeof(*c));
	pthread_t *t = calloc(conns, sizeof(*t));
	unsigned ok = 0;
	double t0 = now_s(), secs;

	signal(SIGPIPE, SIG_IGN);
	if (!c || !t)
		die("out of memory");
	for (unsigned i = 0; i < conns; i++) {
		resolve(host, port, &c[i].addr);
		c[i].bytes = bytes;
		c[i].index = i;
		c[i].recv_mode = recv_mode;
		if (pthread_create(&t[i], NULL, run_conn, &c[i]))
			die("pthread_create");
	}
	for (unsigned i = 0; i < conns; i++) {
		pthread_join(t[i], NULL);
		if (c[i].ok)
			ok++;
		else
			printf("conn %u FAIL %s\n", i, c[i].why);
	}
	secs = now_s() - t0;
	printf("NET-TEST %s conns=%u bytes=%" PRIu64 " secs=%.2f mbps=%.1f\n",
	       ok == conns ? "ok" : "FAIL", conns, bytes * conns, secs,
	       (double)bytes * conns * 8 / 1e6 / (secs > 0 ? secs : 1e-9));
	return ok == conns ? 0 : 1;
}

static int cmd_rr(const char *host, unsigned port, double secs)
{
	struct sockaddr_in a;
	struct req q = {MAGIC, MODE_RR, 0, 0, 0};
	uint64_t n = 0;
	int fd, one = 1;
	double t0, t;
	uint8_t b = 1;

	resolve(host, port, &a);
	if ((fd = connect_to(&a)) < 0 || write_all(fd, &q, sizeof(q)))
		die("connect: %s", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now_s();
	do {
		if (write_all(fd, &b, 1) || read_all(fd, &b, 1))
			die("round trip %" PRIu64 ": %s", n, strerror(errno));
		n++;
		t = now_s();
	} while (t - t0 < secs);
	printf("NET-RR per_sec=%.0f\n", (double)n / (t - t0));
	close(fd);
	return 0;
}

static int cmd_flood(const char *host, unsigned port, double secs, unsigned size)
{
	struct sockaddr_in a;
	uint8_t buf[1500] = {0};
	uint64_t sent = 0, failed = 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	double t0 = now_s();

	resolve(host, port, &a);
	if (fd < 0 || size > sizeof(buf))
		die("socket or size");
	while (now_s() - t0 < secs)
		for (int i = 0; i < 256; i++) {
			if (sendto(fd, buf, size, 0, (struct sockaddr *)&a, sizeof(a)) < 0)
				failed++;
			else
				sent++;
		}
	printf("NET-FLOOD sent=%" PRIu64 " failed=%" PRIu64 " secs=%.1f\n", sent, failed,
	       now_s() - t0);
	return 0;
}

/* ---- Taps and ethtool ---------------------------------------------------------------------- */

static int cmd_tap(const char *name, unsigned queues, bool make)
{
	for (unsigned i = 0; i < queues; i++) {
		struct ifreq ifr = {0};
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

		if (fd < 0)
			die("/dev/net/tun: %s", strerror(errno));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		ifr.ifr_flags =
		    IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (queues > 1 ? IFF_MULTI_QUEUE : 0);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0)
			die("TUNSETIFF %s: %s", name, strerror(errno));
		if (i == 0 && ioctl(fd, TUNSETPERSIST, make ? 1 : 0) < 0)
			die("TUNSETPERSIST %s: %s", name, strerror(errno));
		close(fd);
		if (!make)
			break;
	}
	return 0;
}

static int ethtool(const char *ifname, void *cmd)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = cmd;
	rc = ioctl(fd, SIOCETHTOOL, &ifr);
	close(fd);
	return rc;
}

static struct ethtool_gstrings *strings(const char *ifname, uint32_t set, uint32_t *n)
{
	/* The reply's one count lands right after the header (data[] of one element). */
	uint64_t buf[(sizeof(struct ethtool_sset_info) + sizeof(uint32_t) + 7) / 8] = {0};
	struct ethtool_sset_info *info = (struct ethtool_sset_info *)buf;
	struct ethtool_gstrings *s;

	info->cmd = ETHTOOL_GSSET_INFO;
	info->sset_mask = 1ULL << set;
	if (ethtool(ifname, info) < 0 || !info->sset_mask)
		die("%s: ETHTOOL_GSSET_INFO: %s", ifname, strerror(errno));
	*n = info->data[0];
	s = calloc(1, sizeof(*s) + (size_t)*n * ETH_GSTRING_LEN);
	s->cmd = ETHTOOL_GSTRINGS;
	s->string_set = set;
	s->len = *n;
	if (ethtool(ifname, s) < 0)
		die("%s: ETHTOOL_GSTRINGS: %s", ifname, strerror(errno));
	return s;
}

static int cmd_features(const char *ifname)
{
	uint32_t n, blocks;
	struct ethtool_gstrings *s = strings(ifname, ETH_SS_FEATURES, &n);
	struct ethtool_gfeatures *f;

	blocks = (n + 31) / 32;
	f = calloc(1, sizeof(*f) + blocks * sizeof(f->features[0]));
	f->cmd = ETHTOOL_GFEATURES;
	f->size = blocks;
	if (ethtool(ifname, f) < 0)
		die("%s: ETHTOOL_GFEATURES: %s", ifname, strerror(errno));
	for (uint32_t i = 0; i < n; i++)
		if (f->features[i / 32].active & (1u << (i % 32)))
			printf("%.*s\n", ETH_GSTRING_LEN, (char *)s->data + i * ETH_GSTRING_LEN);
	return 0;
}

static int cmd_stats(const char *ifname)
{
	uint32_t n;
	struct ethtool_gstrings *s = strings(ifname, ETH_SS_STATS, &n);
	struct ethtool_stats *st = calloc(1, sizeof(*st) + n * sizeof(uint64_t));

	st->cmd = ETHTOOL_GSTATS;
	st->n_stats = n;
	if (ethtool(ifname, st) < 0)
		die("%s: ETHTOOL_GSTATS: %s", ifname, strerror(errno));
	for (uint32_t i = 0; i < n; i++)
		printf("%.*s=%llu\n", ETH_GSTRING_LEN, (char *)s->data + i * ETH_GSTRING_LEN,
		       (unsigned long long)st->data[i]);
	return 0;
}

static const char *flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return i + 1 < argc ? argv[i + 1] : "";
	return NULL;
}

int main(int argc, char **argv)
{
	const char *v;

	if (argc < 2)
		die("usage: see the top of tests/e2e/net-test.c");
	if ((v = flag(argc, argv, "--log")) && !(logf_ = fopen(v, "ae")))
		die("%s: %s", v, strerror(errno));
	if (!strcmp(argv[1], "serve") && argc >= 3)
		cmd_serve((unsigned)atoi(argv[2]), flag(argc, argv, "--background"), false);
	if (!strcmp(argv[1], "hold-udp") && argc >= 3)
		cmd_serve((unsigned)atoi(argv[2]), flag(argc, argv, "--background"), true);
	if (!strcmp(argv[1], "client") && argc >= 4) {
		v = flag(argc, argv, "--conns");
		if (!flag(argc, argv, "--bytes"))
			die("client needs --bytes");
		if ((v = flag(argc, argv, "--timeout")))
			alarm((unsigned)atoi(v));
		v = flag(argc, argv, "--conns");
		return cmd_client(argv[2], (unsigned)atoi(argv[3]),
				  strtoull(flag(argc, argv, "--bytes"), NULL, 0),
				  v ? (unsigned)atoi(v) : 1, flag(argc, argv, "--recv"));
	}
	if (!strcmp(argv[1], "rr") && argc >= 4)
		return cmd_rr(argv[2], (unsigned)atoi(argv[3]),
			      atof(flag(argc, argv, "--secs") ?: "5"));
	if (!strcmp(argv[1], "flood") && argc >= 4)
		return cmd_flood(argv[2], (unsigned)atoi(argv[3]),
				 atof(flag(argc, argv, "--secs") ?: "5"),
				 (unsigned)atoi(flag(argc, argv, "--size") ?: "64"));
	if ((!strcmp(argv[1], "mktap") || !strcmp(argv[1], "rmtap")) && argc >= 3)
		return cmd_tap(argv[2], (unsigned)atoi(flag(argc, argv, "--queues") ?: "1"),
			       argv[1][0] == 'm');
	if (!strcmp(argv[1], "features") && argc >= 3)
		return cmd_features(argv[2]);
	if (!strcmp(argv[1], "stats") && argc >= 3)
		return cmd_stats(argv[2]);
	die("unknown command or missing arguments: %s", argv[1]);
	return 2;
}
