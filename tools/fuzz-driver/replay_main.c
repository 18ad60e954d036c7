/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-fuzz-replay: the fuzz driver without a fuzzer. Runs LLVMFuzzerTestOneInput once on every
 * file named on the command line (folders: every regular file in them, sorted; a missing folder
 * is skipped with a note). A crash, sanitizer report or leak aborts, as under libFuzzer.
 * Usage: EMBER_FUZZ_PLUGIN=NAME|FILE.so ember-fuzz-replay FILE|DIR...
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned ran;

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "ember-fuzz-replay: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	buf = malloc(size ? (size_t)size : 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "ember-fuzz-replay: %s: cannot read\n", path);
		exit(2);
	}
	fclose(f);
	if (getenv("EMBER_FUZZ_VERBOSE"))
		fprintf(stderr, "ember-fuzz-replay: %s (%ld bytes)\n", path, size);
	LLVMFuzzerTestOneInput(buf, (size_t)size);
	free(buf);
	ran++;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void run_path(const char *path)
{
	struct dirent **names;
	struct stat st;
	int n;

	if (stat(path, &st)) {
		if (errno == ENOENT) {
			printf("ember-fuzz-replay: %s: none\n", path);
			return;
		}
		fprintf(stderr, "ember-fuzz-replay: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	n = scandir(path, &names, NULL, by_name);
	if (n < 0) {
		fprintf(stderr, "ember-fuzz-replay: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	for (int i = 0; i < n; i++) {
		char child[4096];

		if (names[i]->d_name[0] != '.') {
			snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
			if (!stat(child, &st) && S_ISREG(st.st_mode))
				run_file(child);
		}
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		run_path(argv[i]);
	printf("ember-fuzz-replay: %u inputs ran, no failure\n", ran);
	return 0;
}
