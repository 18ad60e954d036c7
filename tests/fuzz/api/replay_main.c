/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-api-replay [--min-reached PCT] FILE|FOLDER...: runs inputs once through the API fuzz
 * target (fuzz_api.c) with its checks, without libFuzzer, so every build (gcc too) replays the
 * committed corpus. Exit status: 0; 1 when a folder or file cannot be read, no input ran, or
 * fewer than PCT percent of the inputs reached the router (a corpus that tests nothing fails);
 * a broken check aborts.
 */
#include "fuzz_api.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Reads a whole file (inputs are small); NULL on error. */
static uint8_t *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (len == cap) {
			uint8_t *more = realloc(buf, cap ? cap * 2 : 4096);

			if (!more) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = more;
			cap = cap ? cap * 2 : 4096;
		}
		size_t got = fread(buf + len, 1, cap - len, f);

		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	*size = len;
	return buf;
}

static int run_file(const char *path)
{
	size_t size = 0;
	uint8_t *data = read_all(path, &size);

	if (!data) {
		fprintf(stderr, "fuzz-api-replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int run_path(const char *path)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (stat(path, &st)) {
		fprintf(stderr, "fuzz-api-replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "fuzz-api-replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		char file[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		if (!stat(file, &st) && S_ISREG(st.st_mode) && run_file(file))
			rc = -1;
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	const struct fuzz_api_stats *s;
	long min_pct = 0;
	int i = 1, rc = 0;

	if (argc > 2 && !strcmp(argv[1], "--min-reached")) {
		min_pct = strtol(argv[2], NULL, 10);
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: fuzz-api-replay [--min-reached PCT] FILE|FOLDER...\n");
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (; i < argc; i++)
		if (run_path(argv[i]))
			rc = 1;
	s = fuzz_api_stats();
	printf("fuzz-api-replay: %llu inputs, %llu reached the router; %llu requests: %llu 200, "
	       "%llu 204, %llu 400\n",
	       (unsigned long long)s->base.inputs, (unsigned long long)s->base.reached,
	       (unsigned long long)s->requests, (unsigned long long)s->answered_200,
	       (unsigned long long)s->answered_204, (unsigned long long)s->answered_400);
	if (s->base.inputs == 0 || s->base.reached * 100 < (uint64_t)min_pct * s->base.inputs) {
		fprintf(stderr,
			"fuzz-api-replay: FAILED: %llu of %llu inputs reached the router "
			"(at least %ld%% must)\n",
			(unsigned long long)s->base.reached, (unsigned long long)s->base.inputs,
			min_pct);
		rc = 1;
	}
	return rc;
}
