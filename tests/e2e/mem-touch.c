/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mem-touch: a guest program for the balloon's memory-integrity check (tests/e2e/cases/
 * balloon.inc). Static, so it runs in the bare guest.
 *
 *   mem-touch hold MIB FILE
 *
 * Fills MIB MiB of its own memory with a pattern no page of zeros matches (every 8-byte word
 * holds its own offset, mixed), writes "filled" to FILE, then waits until FILE reads "check",
 * verifies every word and writes "ok" or "BAD <count> words, first at <offset>" to FILE.
 * A page the host discarded while the guest kept it reads zeros and is found.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t word(uint64_t i)
{
	return (i * 0x9e3779b97f4a7c15ULL) ^ 0xa5a5a5a5a5a5a5a5ULL ^ (i << 1) ^ 1;
}

static void say(const char *file, const char *text)
{
	char tmp[256];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, file) != 0) {
		perror(file);
		exit(1);
	}
}

static int reads(const char *file, const char *text)
{
	char buf[64] = {0};
	int fd = open(file, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && strncmp(buf, text, strlen(text)) == 0;
}

int main(int argc, char **argv)
{
	uint64_t *p, n, bad = 0, first = 0;
	size_t bytes;
	char line[128];

	if (argc != 4 || strcmp(argv[1], "hold") != 0) {
		fprintf(stderr, "usage: mem-touch hold MIB FILE\n");
		return 2;
	}
	bytes = (size_t)strtoul(argv[2], NULL, 10) << 20;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	n = bytes / sizeof(*p);
	for (uint64_t i = 0; i < n; i++)
		p[i] = word(i);
	say(argv[3], "filled\n");
	while (!reads(argv[3], "check"))
		usleep(100000);
	for (uint64_t i = 0; i < n; i++)
		if (p[i] != word(i) && bad++ == 0)
			first = i * sizeof(*p);
	if (bad)
		snprintf(line, sizeof(line), "BAD %llu words, first at %llu\n",
			 (unsigned long long)bad, (unsigned long long)first);
	else
		snprintf(line, sizeof(line), "ok\n");
	say(argv[3], line);
	return bad ? 1 : 0;
}
