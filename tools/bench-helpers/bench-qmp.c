// SPDX-License-Identifier: Apache-2.0
/*
 * bench-qmp: send QMP commands to a running QEMU, for `tools/bench --balloon`, which sets QEMU's
 * balloon target through it as it sets ember's through the Firecracker API with curl.
 *
 *   bench-qmp SOCK COMMAND_JSON...
 *
 * Connects to the Unix socket SOCK (QEMU's `-qmp unix:SOCK,server=on,wait=off`), reads the
 * greeting, sends {"execute":"qmp_capabilities"}, then each COMMAND_JSON in turn, and prints
 * the answer line of each (events, which QMP may send at any time, are skipped). Exit status 0
 * when every answer is a "return", 1 otherwise (the answer or the reason on stderr).
 *
 * A program of its own rather than socat: L1 (tests/e2e/l1-image) has no socat and this host
 * does not install it, busybox's nc speaks no Unix sockets, and built static (like bench-vm) it
 * needs nothing in L1; QMP's line framing (one JSON object per line) is all it has to know.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char buf[65536];
static size_t have;

/* Reads the next line that is not an event into line (NUL-terminated, no newline); 10 s at most. */
static int next_answer(int fd, char *line, size_t n)
{
	for (;;) {
		char *nl = memchr(buf, '\n', have);

		if (nl) {
			size_t len = (size_t)(nl - buf);

			if (len >= n)
				len = n - 1;
			memcpy(line, buf, len);
			line[len] = '\0';
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
			if (len && line[len - 1] == '\r')
				line[len - 1] = '\0';
			if (!strstr(line, "\"event\""))
				return 0;
			continue;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (have == sizeof(buf) || poll(&p, 1, 10000) != 1 ||
		    (r = read(fd, buf + have, sizeof(buf) - have)) <= 0)
			return -1;
		have += (size_t)r;
	}
}

static int send_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t w = write(fd, s, len);

		if (w <= 0)
			return -1;
		s += w;
		len -= (size_t)w;
	}
	return write(fd, "\n", 1) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	static char line[65536];
	int fd, rc = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: bench-qmp SOCK COMMAND_JSON...\n");
		return 2;
	}
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bench-qmp: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("bench-qmp: connect");
		return 1;
	}
	/* The greeting ({"QMP": ...}), then the capabilities negotiation QMP requires first. */
	if (next_answer(fd, line, sizeof(line)) || !strstr(line, "\"QMP\"") ||
	    send_all(fd, "{\"execute\":\"qmp_capabilities\"}") ||
	    next_answer(fd, line, sizeof(line)) || !strstr(line, "\"return\"")) {
		fprintf(stderr, "bench-qmp: no QMP greeting or negotiation: %s\n", line);
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		if (send_all(fd, argv[i]) || next_answer(fd, line, sizeof(line))) {
			fprintf(stderr, "bench-qmp: no answer to %s\n", argv[i]);
			return 1;
		}
		printf("%s\n", line);
		if (!strstr(line, "\"return\"")) {
			fprintf(stderr, "bench-qmp: %s: %s\n", argv[i], line);
			rc = 1;
		}
	}
	close(fd);
	return rc;
}
