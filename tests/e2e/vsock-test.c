/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock-test: both ends of the vsock checks and benchmarks (a static binary, in the guest and
 * in L1). Streams of known bytes, verified end to end by a hash both sides compute.
 *
 *   vsock-test serve ADDR [--sink] [--delay S] [--abort-after BYTES] [--log FILE] [--background]
 *   vsock-test client ADDR --bytes N [--conns K] [--sink] [--expect-abort] [--timeout S]
 *   vsock-test rate ADDR --conns K [--timeout S]
 *   vsock-test cid                (prints this machine's local vsock CID)
 *
 * ADDR: vsock:CID:PORT (connect), vsock:PORT (listen on any CID), unix:PATH (listen or
 * connect), hybrid:PATH:PORT (connect to ember's uds_path and ask for guest PORT with
 * Firecracker's "CONNECT PORT\n" / "OK N\n" exchange).
 *
 * Per connection: the client sends N bytes and shuts down writing; the server echoes what it
 * reads (unless --sink), and once it has seen EOF it still sends a trailer
 * "END <bytes> <hash>\n": so each side goes on sending after the other shut down writing
 * (half-close). The client checks the echo and the trailer against what it sent. --delay makes
 * the server wait S seconds before reading (a reader that stops: the writer must block);
 * --abort-after makes it close after BYTES (a peer that hangs up mid-stream; the client's
 * --expect-abort then wants the stream to end early, not hang).
 *
 * Output: "conn K connected" once a client connection is up, one line per client connection
 * at its end ("conn K ok bytes=N ..."), then a summary line
 * "VSOCK-TEST ok|FAIL conns=K bytes=N secs=S mbps=M" (rate: "VSOCK-RATE conns=K secs=S
 * per_sec=R"); exit 0 only when every connection passed. The server logs a line when it accepts
 * a connection and one when it ends, to --log (append) or stdout, and runs until killed; with
 * --background (and --log) it returns once it listens, printing the server's pid, so a caller
 * never has to wait or poll for it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

struct addr {
	int family; /* AF_VSOCK or AF_UNIX */
	unsigned cid;
	unsigned port;
	bool hybrid;
	char path[108];
};

struct opts {
	uint64_t bytes;
	unsigned conns;
	bool sink;
	bool expect_abort;
	bool background;
	unsigned delay_s;
	uint64_t abort_after;
	unsigned timeout_s;
	const char *log;
};

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("vsock-test: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* FNV-1a over the stream. */
static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
#define HASH_INIT 0xcbf29ce484222325ULL

/* The client's bytes: a xorshift stream seeded by the connection number. */
static void fill(uint64_t *state, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t x = *state;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*state = x;
		size_t k = n - i < 8 ? n - i : 8;
		memcpy(buf + i, &x, k);
	}
}

static void parse_addr(const char *s, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(s, "vsock:", 6) == 0) {
		a->family = AF_VSOCK;
		unsigned x, y;
		if (sscanf(s + 6, "%u:%u", &x, &y) == 2) {
			a->cid = x;
			a->port = y;
		} else if (sscanf(s + 6, "%u", &x) == 1) {
			a->cid = VMADDR_CID_ANY;
			a->port = x;
		} else {
			die("bad address %s", s);
		}
	} else if (strncmp(s, "unix:", 5) == 0) {
		a->family = AF_UNIX;
		if (strlen(s + 5) >= sizeof(a->path))
			die("path too long: %s", s);
		strcpy(a->path, s + 5);
	} else if (strncmp(s, "hybrid:", 7) == 0) {
		a->family = AF_UNIX;
		a->hybrid = true;
		const char *colon = strrchr(s + 7, ':');
		if (!colon || (size_t)(colon - (s + 7)) >= sizeof(a->path))
			die("bad address %s (hybrid:PATH:PORT)", s);
		memcpy(a->path, s + 7, (size_t)(colon - (s + 7)));
		a->port = (unsigned)strtoul(colon + 1, NULL, 10);
	} else {
		die("bad address %s", s);
	}
}

static socklen_t sockaddr_of(const struct addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_VSOCK) {
		struct sockaddr_vm *vm = (struct sockaddr_vm *)ss;
		vm->svm_family = AF_VSOCK;
		vm->svm_cid = a->cid;
		vm->svm_port = a->port;
		return sizeof(*vm);
	}
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, a->path);
	return sizeof(*un);
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one line (up to the newline, at most cap-1 bytes) a byte at a time, so that nothing
 * after it is consumed. */
static int read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (c == '\n') {
			buf[n] = 0;
			return 0;
		}
		buf[n++] = c;
	}
	return -1;
}

/* Connects (and for hybrid addresses does the CONNECT exchange). Returns the fd or -1. */
static int dial(const struct addr *a, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(a, &ss);
	int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		snprintf(why, whylen, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (a->hybrid) {
		char line[64];
		int n = snprintf(line, sizeof(line), "CONNECT %u\n", a->port);
		if (write_all(fd, line, (size_t)n) < 0 || read_line(fd, line, sizeof(line)) < 0) {
			snprintf(why, whylen, "CONNECT %u: no answer (%s)", a->port,
				 errno ? strerror(errno) : "closed");
			close(fd);
			return -1;
		}
		if (strncmp(line, "OK ", 3) != 0) {
			snprintf(why, whylen, "CONNECT %u: answer '%s'", a->port, line);
			close(fd);
			return -1;
		}
	}
	return fd;
}

static int listen_on(const struct addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(a, &ss);
	int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (a->family == AF_UNIX)
		unlink(a->path);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind: %s", strerror(errno));
	if (listen(fd, 256) < 0)
		die("listen: %s", strerror(errno));
	return fd;
}

static void logline(const struct opts *o, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	int fd = 1;
	if (o->log)
		fd = open(o->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		(void)write_all(fd, buf, (size_t)n);
		if (fd != 1)
			close(fd);
	}
}

/* One server connection (in its own process). */
static void serve_conn(int fd, unsigned k, const struct opts *o)
{
	static uint8_t buf[CHUNK];
	uint64_t got = 0, h = HASH_INIT;
	const char *end = "eof";
	if (o->delay_s)
		sleep(o->delay_s);
	for (;;) {
		size_t want = sizeof(buf);
		if (o->abort_after && o->abort_after - got < want)
			want = (size_t)(o->abort_after - got);
		ssize_t r = read(fd, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			end = strerror(errno);
			break;
		}
		if (r == 0)
			break;
		h = hash_bytes(h, buf, (size_t)r);
		got += (uint64_t)r;
		if (!o->sink && write_all(fd, buf, (size_t)r) < 0) {
			end = "echo write failed";
			break;
		}
		if (o->abort_after && got >= o->abort_after) {
			logline(o, "serve conn %u: aborting after %" PRIu64 " bytes", k, got);
			close(fd);
			return;
		}
	}
	char t[96];
	int n = snprintf(t, sizeof(t), "END %" PRIu64 " %016" PRIx64 "\n", got, h);
	bool sent = strcmp(end, "eof") == 0 && write_all(fd, t, (size_t)n) == 0;
	logline(o,
		"serve conn %u: read %" PRIu64 " bytes hash %016" PRIx64 ", ended %s, trailer %s",
		k, got, h, end, sent ? "sent" : "not sent");
	close(fd);
}

static int cmd_serve(const struct addr *a, const struct opts *o)
{
	int l = listen_on(a);
	signal(SIGCHLD, SIG_IGN);
	logline(o, "serve: listening");
	if (o->background) {
		/* Listening already: the caller may connect as soon as this returns. */
		pid_t p = fork();
		if (p < 0)
			die("fork: %s", strerror(errno));
		if (p > 0) {
			printf("%d\n", (int)p);
			exit(0);
		}
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0)
			die("/dev/null: %s", strerror(errno));
		/* Let go of the caller's stdout and stderr (a $(...) would wait for them). */
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		setsid();
	}
	for (unsigned k = 0;; k++) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept: %s", strerror(errno));
		}
		logline(o, "serve conn %u: accepted", k);
		pid_t p = fork();
		if (p == 0) {
			close(l);
			serve_conn(c, k, o);
			_exit(0);
		}
		close(c);
	}
}

/* One client connection: send o->bytes, read the echo and the trailer. Returns 0 when all
 * checks pass (or, with --expect-abort, when the stream ended early). */
static int client_conn(const struct addr *a, unsigned k, const struct opts *o)
{
	char why[160] = "";
	int fd = dial(a, why, sizeof(why));
	if (fd < 0) {
		printf("conn %u FAIL %s\n", k, why);
		return 1;
	}
	/* So that a test can wait for the stream to run before it kills a side. */
	printf("conn %u connected\n", k);
	fflush(stdout);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	static uint8_t out[CHUNK], in[CHUNK];
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (k + 1), sent = 0, echoed = 0;
	uint64_t hs = HASH_INIT, he = HASH_INIT;
	size_t pend = 0, off = 0;
	bool wr_done = false;
	char trailer[96];
	size_t tlen = 0;
	bool eof = false;
	const char *err = NULL;
	while (!eof) {
		if (!wr_done && pend == 0 && sent < o->bytes) {
			pend =
			    o->bytes - sent < sizeof(out) ? (size_t)(o->bytes - sent) : sizeof(out);
			fill(&seed, out, pend);
			off = 0;
		}
		if (!wr_done && pend == 0 && sent == o->bytes) {
			shutdown(fd, SHUT_WR);
			wr_done = true;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN | (wr_done ? 0 : POLLOUT)};
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = "poll failed";
			break;
		}
		if (p.revents & POLLOUT) {
			ssize_t w = write(fd, out + off, pend - off);
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				err = strerror(errno);
				break;
			}
			if (w > 0) {
				hs = hash_bytes(hs, out + off, (size_t)w);
				off += (size_t)w;
				sent += (uint64_t)w;
				if (off == pend)
					pend = 0;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(fd, in, sizeof(in));
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r < 0) {
				err = strerror(errno);
				break;
			}
			if (r == 0) {
				eof = true;
				break;
			}
			size_t n = (size_t)r, i = 0;
			if (!o->sink && echoed < o->bytes) {
				size_t e = o->bytes - echoed < n ? (size_t)(o->bytes - echoed) : n;
				he = hash_bytes(he, in, e);
				echoed += e;
				i = e;
			}
			for (; i < n; i++) {
				if (tlen + 1 < sizeof(trailer))
					trailer[tlen++] = (char)in[i];
			}
		}
	}
	close(fd);
	trailer[tlen] = 0;
	if (o->expect_abort) {
		bool early = err || sent < o->bytes || tlen == 0;
		printf("conn %u %s sent=%" PRIu64 " echoed=%" PRIu64 " end=%s\n", k,
		       early ? "ok-aborted" : "FAIL-not-aborted", sent, echoed, err ? err : "eof");
		return early ? 0 : 1;
	}
	uint64_t tb = 0, th = 0;
	bool tok = sscanf(trailer, "END %" SCNu64 " %" SCNx64, &tb, &th) == 2;
	bool ok = !err && sent == o->bytes && tok && tb == o->bytes && th == hs &&
		  (o->sink || (echoed == o->bytes && he == hs));
	printf("conn %u %s sent=%" PRIu64 " echoed=%" PRIu64 " hash=%016" PRIx64
	       " trailer='%.*s'%s%s\n",
	       k, ok ? "ok" : "FAIL", sent, echoed, hs, (int)strcspn(trailer, "\n"), trailer,
	       err ? " error=" : "", err ? err : "");
	return ok ? 0 : 1;
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "vsock-test: timed out\n";
	(void)!write(2, m, sizeof(m) - 1);
	_exit(3);
}

static int cmd_client(const struct addr *a, const struct opts *o)
{
	double t0 = now_s();
	unsigned failed = 0;
	fflush(stdout);
	/* One connection runs in this process, so that killing it kills the stream. */
	if (o->conns == 1)
		failed = client_conn(a, 0, o) != 0;
	for (unsigned k = 0; o->conns > 1 && k < o->conns; k++) {
		pid_t p = fork();
		if (p < 0)
			die("fork: %s", strerror(errno));
		if (p == 0) {
			alarm(o->timeout_s);
			int rc = client_conn(a, k, o);
			fflush(stdout);
			_exit(rc);
		}
	}
	for (unsigned k = 0; o->conns > 1 && k < o->conns; k++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	double secs = now_s() - t0;
	double total = (double)o->bytes * o->conns;
	printf("VSOCK-TEST %s conns=%u failed=%u bytes=%.0f secs=%.3f mbps=%.1f\n",
	       failed ? "FAIL" : "ok", o->conns, failed, total, secs,
	       secs > 0 ? total * 8 / secs / 1e6 : 0.0);
	return failed ? 1 : 0;
}

/* Sequential connections, one byte each way: connection set-up rate. */
static int cmd_rate(const struct addr *a, const struct opts *o)
{
	double t0 = now_s();
	for (unsigned k = 0; k < o->conns; k++) {
		char why[160];
		int fd = dial(a, why, sizeof(why));
		uint8_t b = (uint8_t)k, r = 0;
		if (fd < 0 || write_all(fd, &b, 1) < 0 || read(fd, &r, 1) != 1 || r != b) {
			printf("VSOCK-RATE FAIL at %u: %s\n", k, fd < 0 ? why : "no echo");
			return 1;
		}
		close(fd);
	}
	double secs = now_s() - t0;
	printf("VSOCK-RATE ok conns=%u secs=%.3f per_sec=%.1f\n", o->conns, secs, o->conns / secs);
	return 0;
}

static int cmd_cid(void)
{
	int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	unsigned cid = 0;
	if (fd < 0 || ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
		die("/dev/vsock: %s", strerror(errno));
	printf("%u\n", cid);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "cid"))
		return cmd_cid();
	if (argc < 3)
		die("usage: vsock-test serve|client|rate ADDR [options] (see the source's header)");
	struct addr a;
	parse_addr(argv[2], &a);
	struct opts o = {.conns = 1, .timeout_s = 300};
	for (int i = 3; i < argc; i++) {
		const char *f = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(f, "--sink"))
			o.sink = true;
		else if (!strcmp(f, "--expect-abort"))
			o.expect_abort = true;
		else if (!strcmp(f, "--background"))
			o.background = true;
		else if (v && !strcmp(f, "--bytes"))
			o.bytes = strtoull(v, NULL, 0), i++;
		else if (v && !strcmp(f, "--conns"))
			o.conns = (unsigned)strtoul(v, NULL, 0), i++;
		else if (v && !strcmp(f, "--delay"))
			o.delay_s = (unsigned)strtoul(v, NULL, 0), i++;
		else if (v && !strcmp(f, "--abort-after"))
			o.abort_after = strtoull(v, NULL, 0), i++;
		else if (v && !strcmp(f, "--timeout"))
			o.timeout_s = (unsigned)strtoul(v, NULL, 0), i++;
		else if (v && !strcmp(f, "--log"))
			o.log = v, i++;
		else
			die("unknown option %s", f);
	}
	if (o.background && !o.log)
		die("--background needs --log (its stdout goes away)");
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(&a, &o);
	signal(SIGALRM, on_alarm);
	alarm(o.timeout_s);
	if (!strcmp(argv[1], "client"))
		return cmd_client(&a, &o);
	if (!strcmp(argv[1], "rate"))
		return cmd_rate(&a, &o);
	die("unknown command %s", argv[1]);
}
