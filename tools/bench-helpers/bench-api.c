// SPDX-License-Identifier: Apache-2.0
/*
 * bench-api: how fast ember's Firecracker front-end starts through its API, as an orchestrator
 * drives it. Built static by tools/bench, so it also runs in a bare L1.
 *
 *   bench-api -s SOCK -k KERNEL -i INITRD -c CMDLINE [-m MARKER] [-t SECS] [-e ERR] [-o OUT]
 *             -- CMD ARG...
 *
 * Starts CMD (e.g. `ember firecracker --api-sock SOCK`), stdin /dev/null, stdout a pipe read
 * here (copied to OUT), stderr to ERR. The clock (CLOCK_MONOTONIC) starts just before fork +
 * exec. It tries to connect to SOCK every 100 us until a connection is accepted (sock_ms); then,
 * on that one keep-alive connection, PUT /machine-config (1 vCPU, 128 MiB), PUT /boot-source,
 * and PUT /actions InstanceStart, each answer read in full (configure_ms: from the accepted
 * connection to InstanceStart's 204); then waits for the console line holding MARKER (default
 * "ember-guest: init") (start_to_init_ms: from sending InstanceStart). The process is then
 * killed (SIGKILL). Prints one line:
 *   api sock_ms=A configure_ms=B start_to_init_ms=C total_ms=D status=S
 * where a missing figure is -1 and S is the HTTP status of the first answer that was not 204
 * (or "ok"). Exit status 0 when the guest reached MARKER.
 */
#define _GNU_SOURCE /* strcasestr, usleep, kill under -std=c17 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct timespec t0;

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) / 1e6;
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends one request and reads its answer (head, then Content-Length bytes). Returns the status. */
static int request(int fd, const char *method, const char *path, const char *body)
{
	char buf[8192];
	size_t have = 0;
	int n = snprintf(buf, sizeof(buf),
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 method, path, strlen(body), body);
	char *end, *cl;
	long want;

	if (n < 0 || (size_t)n >= sizeof(buf) || write(fd, buf, (size_t)n) != n)
		return -1;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);

		if (r <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strcasestr(buf, "\r\nContent-Length:");
		want = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
		if ((long)(have - (size_t)(end + 4 - buf)) >= want)
			break;
	}
	return strncmp(buf, "HTTP/1.1 ", 9) ? -1 : atoi(buf + 9);
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *kernel = NULL, *initrd = NULL, *cmdline = NULL;
	const char *marker = "ember-guest: init", *errfile = "/dev/null", *outfile = NULL;
	double sock_ms = -1, conf_ms = -1, init_ms = -1, sent_at = 0;
	char line[4096], body[8192], status[16] = "ok";
	int secs = 120, opt, pipefd[2], fd = -1, out = -1;
	size_t len = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "s:k:i:c:m:t:e:o:")) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'k':
			kernel = optarg;
			break;
		case 'i':
			initrd = optarg;
			break;
		case 'c':
			cmdline = optarg;
			break;
		case 'm':
			marker = optarg;
			break;
		case 't':
			secs = atoi(optarg);
			break;
		case 'e':
			errfile = optarg;
			break;
		case 'o':
			outfile = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!sock || !kernel || !initrd || !cmdline || optind >= argc) {
		fprintf(stderr,
			"usage: bench-api -s SOCK -k KERNEL -i INITRD -c CMDLINE [-m MARKER] "
			"[-t SECS] [-e ERR] [-o OUT] -- CMD ARG...\n");
		return 2;
	}
	unlink(sock);
	if (pipe(pipefd))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0) {
		int e = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644),
		    n = open("/dev/null", O_RDONLY);

		dup2(n, 0);
		dup2(pipefd[1], 1);
		dup2(e, 2);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	close(pipefd[1]);
	if (outfile)
		out = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	while (now_ms() < secs * 1000.0) {
		fd = try_connect(sock);
		if (fd >= 0)
			break;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		usleep(100);
	}
	if (fd >= 0) {
		int s;

		sock_ms = now_ms();
		s = request(fd, "PUT", "/machine-config",
			    "{\"vcpu_count\":1,\"mem_size_mib\":128}");
		if (s == 204) {
			snprintf(body, sizeof(body),
				 "{\"kernel_image_path\":\"%s\",\"initrd_path\":\"%s\","
				 "\"boot_args\":\"%s\"}",
				 kernel, initrd, cmdline);
			s = request(fd, "PUT", "/boot-source", body);
		}
		if (s == 204) {
			sent_at = now_ms();
			s = request(fd, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}");
			conf_ms = now_ms() - sock_ms;
		}
		if (s != 204)
			snprintf(status, sizeof(status), "%d", s);
	}
	while (strcmp(status, "ok") == 0 && now_ms() < secs * 1000.0) {
		struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
		char c;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (read(pipefd[0], &c, 1) != 1)
			break;
		if (out >= 0 && write(out, &c, 1) != 1)
			out = -1;
		if (c == '\n' || len == sizeof(line) - 1) {
			line[len] = '\0';
			len = 0;
			if (strstr(line, marker)) {
				init_ms = now_ms() - sent_at;
				break;
			}
		} else
			line[len++] = c;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(sock);
	printf("api sock_ms=%.1f configure_ms=%.1f start_to_init_ms=%.1f total_ms=%.1f status=%s\n",
	       sock_ms, conf_ms, init_ms, init_ms < 0 ? -1.0 : sent_at + init_ms, status);
	return init_ms < 0;
}
