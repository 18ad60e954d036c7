// SPDX-License-Identifier: Apache-2.0
/*
 * The API cases' own client, for what curl cannot do: bytes sent exactly as given (malformed
 * HTTP, a request cut off mid-body), many connections at once, and reading JSON (L1 has no
 * JSON tool). Built static by tests/e2e/run (with jansson).
 *
 *   api-test raw SOCK            stdin's bytes to SOCK, then the answer on stdout (until the
 *                                server closes or 2 s pass without a byte)
 *   api-test cut SOCK N          a PUT announcing a 1000-byte body, N bytes of it, then hang up
 *   api-test flood SOCK N        N connections at once, each sending GET / and reading the
 *                                answer; prints "answered=A closed=C" (exit 1 unless A+C == N)
 *   api-test json FILE PATH      the value at PATH (a.b.c; [i] for a list index) of the JSON in
 *                                FILE (the last line for a file of lines), printed compact;
 *                                exit 1 when FILE is not JSON or PATH is absent
 *   api-test lines FILE          every line of FILE is a JSON object; prints their count
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copies what fd answers to stdout until EOF or 2 s of silence; returns the bytes read. */
static size_t drain(int fd, char *keep, size_t keep_size)
{
	size_t total = 0;
	char buf[4096];

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 2000) <= 0)
			break;
		r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			break;
		if (keep && total < keep_size) {
			size_t c = (size_t)r < keep_size - total ? (size_t)r : keep_size - total;

			memcpy(keep + total, buf, c);
		}
		if (!keep)
			fwrite(buf, 1, (size_t)r, stdout);
		total += (size_t)r;
	}
	return total;
}

static int cmd_raw(const char *sock)
{
	char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf), stdin);
	int fd = connect_to(sock);

	if (fd < 0) {
		perror(sock);
		return 1;
	}
	if (write_all(fd, buf, n)) {
		perror("write");
		return 1;
	}
	shutdown(fd, SHUT_WR);
	drain(fd, NULL, 0);
	close(fd);
	return 0;
}

static int cmd_cut(const char *sock, int n)
{
	static const char head[] = "PUT /machine-config HTTP/1.1\r\nHost: localhost\r\n"
				   "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
	char body[1000];
	int fd = connect_to(sock);

	if (fd < 0 || n < 0 || n > (int)sizeof(body))
		return 1;
	memset(body, ' ', sizeof(body));
	body[0] = '{';
	if (write_all(fd, head, sizeof(head) - 1) || write_all(fd, body, (size_t)n))
		return 1;
	close(fd); /* hang up mid-body */
	return 0;
}

static int cmd_flood(const char *sock, int n)
{
	static const char req[] =
	    "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
	    "Connection: close\r\n\r\n";
	int *fds = calloc((size_t)n, sizeof(int));
	int answered = 0, closed = 0;

	if (!fds)
		return 1;
	for (int i = 0; i < n; i++) {
		fds[i] = connect_to(sock);
		if (fds[i] >= 0 && write_all(fds[i], req, sizeof(req) - 1)) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	for (int i = 0; i < n; i++) {
		char head[16] = "";

		if (fds[i] < 0) {
			closed++;
			continue;
		}
		if (drain(fds[i], head, sizeof(head) - 1) > 0 && !strncmp(head, "HTTP/1.1 200", 12))
			answered++;
		else
			closed++;
		close(fds[i]);
	}
	printf("answered=%d closed=%d\n", answered, closed);
	free(fds);
	return answered + closed == n ? 0 : 1;
}

static json_t *load_last_line(const char *file)
{
	FILE *f = fopen(file, "r");
	char *line = NULL, *last = NULL;
	size_t cap = 0;
	json_error_t e;
	json_t *v;

	if (!f)
		return NULL;
	while (getline(&line, &cap, f) > 0) {
		if (line[0] == '\n')
			continue;
		free(last);
		last = strdup(line);
	}
	free(line);
	fclose(f);
	if (!last)
		return NULL;
	v = json_loads(last, 0, &e);
	if (!v)
		fprintf(stderr, "%s: not JSON: %s\n", file, e.text);
	free(last);
	return v;
}

static int cmd_json(const char *file, const char *path)
{
	json_t *root = load_last_line(file), *v = root;
	char *copy = strdup(path), *save = NULL, *dumped;

	for (char *tok = strtok_r(copy, ".", &save); v && tok; tok = strtok_r(NULL, ".", &save)) {
		if (tok[0] == '[')
			v = json_array_get(v, strtoul(tok + 1, NULL, 10));
		else
			v = json_object_get(v, tok);
	}
	free(copy);
	if (!v) {
		fprintf(stderr, "%s: no %s\n", file, path);
		json_decref(root);
		return 1;
	}
	if (json_is_string(v))
		printf("%s\n", json_string_value(v));
	else {
		dumped = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%s\n", dumped ? dumped : "?");
		free(dumped);
	}
	json_decref(root);
	return 0;
}

static int cmd_lines(const char *file)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	int count = 0;

	if (!f) {
		perror(file);
		return 1;
	}
	while (getline(&line, &cap, f) > 0) {
		json_error_t e;
		json_t *v = json_loads(line, 0, &e);

		if (!json_is_object(v)) {
			fprintf(stderr, "%s: line %d is not a JSON object: %s\n", file, count + 1,
				v ? "another value" : e.text);
			json_decref(v);
			free(line);
			fclose(f);
			return 1;
		}
		json_decref(v);
		count++;
	}
	free(line);
	fclose(f);
	printf("%d\n", count);
	return count ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "raw"))
		return cmd_raw(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "cut"))
		return cmd_cut(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "flood"))
		return cmd_flood(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "json"))
		return cmd_json(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "lines"))
		return cmd_lines(argv[2]);
	fprintf(stderr, "usage: api-test raw SOCK | cut SOCK N | flood SOCK N | json FILE PATH | "
			"lines FILE\n");
	return 2;
}
