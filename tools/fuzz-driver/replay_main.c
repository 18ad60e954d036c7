/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-fuzz-replay: the fuzz driver without a fuzzer. Runs LLVMFuzzerTestOneInput once on every
 * file named on the command line (folders: every regular file in them, sorted; a missing folder
 * is skipped with a note). A crash, sanitizer report or leak aborts, as under libFuzzer.
 *
 *   ember-fuzz-replay PLUGIN FILE|DIR... [--options 'key = value; ...'] [--min-reached PCT]
 *   EMBER_FUZZ_PLUGIN=PLUGIN ember-fuzz-replay FILE|DIR...      (the older form)
 *
 * PLUGIN is a .so path or a plugin name. The first argument is the plugin unless
 * $EMBER_FUZZ_PLUGIN is set and the argument does not end in ".so". A reproducer replays under
 * the options its run had: --options (or $EMBER_FUZZ_OPTIONS) must say the same.
 *
 * Exit status: 0 every input ran, no failure, and at least PCT % of them (default 50; the meson
 * suite asks 100 of the committed corpus) reached the device; 2 bad arguments, an unreadable
 * input, a plugin that does not load; 3 the device cannot be created with these options (nothing
 * ran); 4 fewer reached the device (refused at create: other options than the run's? seeds older
 * than the plugin's option table?); 5 no inputs at all (nothing ran is never a pass, nor a skip);
 * a failure ends the process like under libFuzzer: SIGABRT (134 from a shell) or the sanitizer's
 * exit status.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_stats.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The inputs, collected before the plugin is loaded: no input, no create check (see main). */
static char **files;
static size_t nfiles, cap;

static void usage(void)
{
	fprintf(stderr, "usage: ember-fuzz-replay PLUGIN FILE|DIR... [--options 'key = value; "
			"...'] [--min-reached PCT]\n"
			"       EMBER_FUZZ_PLUGIN=PLUGIN ember-fuzz-replay FILE|DIR...\n");
	exit(FUZZ_EXIT_USAGE);
}

static void add_file(const char *path)
{
	if (nfiles == cap) {
		cap = cap ? 2 * cap : 64;
		files = realloc(files, cap * sizeof(*files));
		if (!files) {
			perror("ember-fuzz-replay");
			exit(FUZZ_EXIT_USAGE);
		}
	}
	files[nfiles] = strdup(path);
	if (!files[nfiles]) {
		perror("ember-fuzz-replay");
		exit(FUZZ_EXIT_USAGE);
	}
	nfiles++;
}

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "ember-fuzz-replay: %s: %s\n", path, strerror(errno));
		exit(FUZZ_EXIT_USAGE);
	}
	buf = malloc(size ? (size_t)size : 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "ember-fuzz-replay: %s: cannot read\n", path);
		exit(FUZZ_EXIT_USAGE);
	}
	fclose(f);
	/* ember-fuzz --seeds-only names the input that failed from the last of these lines. */
	if (getenv("EMBER_FUZZ_VERBOSE") || getenv("EMBER_FUZZ_STATS"))
		fprintf(stderr, "ember-fuzz-replay: input %s (%ld bytes)\n", path, size);
	LLVMFuzzerTestOneInput(buf, (size_t)size);
	free(buf);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void collect(const char *path)
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
		exit(FUZZ_EXIT_USAGE);
	}
	if (!S_ISDIR(st.st_mode)) {
		add_file(path);
		return;
	}
	n = scandir(path, &names, NULL, by_name);
	if (n < 0) {
		fprintf(stderr, "ember-fuzz-replay: %s: %s\n", path, strerror(errno));
		exit(FUZZ_EXIT_USAGE);
	}
	for (int i = 0; i < n; i++) {
		char child[4096];

		if (names[i]->d_name[0] != '.') {
			snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
			if (!stat(child, &st) && S_ISREG(st.st_mode))
				add_file(child);
		}
		free(names[i]);
	}
	free(names);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && !strcmp(s + n - t, tail);
}

int main(int argc, char **argv)
{
	const char *env = getenv("EMBER_FUZZ_PLUGIN");
	bool have_plugin = env && *env;
	const struct fuzz_stats *st;
	unsigned long long reached, refused;
	unsigned positional = 0;
	long min_reached = 50;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--options")) {
			if (++i == argc)
				usage();
			setenv("EMBER_FUZZ_OPTIONS", argv[i], 1);
		} else if (!strncmp(argv[i], "--options=", 10)) {
			setenv("EMBER_FUZZ_OPTIONS", argv[i] + 10, 1);
		} else if (!strcmp(argv[i], "--min-reached")) {
			char *end;

			if (++i == argc)
				usage();
			min_reached = strtol(argv[i], &end, 10);
			if (*end || end == argv[i] || min_reached < 0 || min_reached > 100)
				usage();
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage();
		} else if (positional++ == 0 && (!have_plugin || ends_with(argv[i], ".so"))) {
			/* The driver takes the plugin from the environment, in every build. */
			setenv("EMBER_FUZZ_PLUGIN", argv[i], 1);
			have_plugin = true;
		} else {
			collect(argv[i]);
		}
	}
	if (!have_plugin)
		usage();
	/*
	 * Nothing to run is not a pass, and not a skip either (a skip reads as green in a test
	 * summary): a bundled plugin without a corpus fails its replay until seeds are committed.
	 */
	if (!nfiles) {
		printf("ember-fuzz-replay: no inputs (tools/fuzz --seeds makes a corpus)\n");
		return 5;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (size_t i = 0; i < nfiles; i++) {
		run_file(files[i]);
		free(files[i]);
	}
	free(files);
	st = fuzz_driver_stats();
	reached = (unsigned long long)st->reached;
	refused = (unsigned long long)st->refused;
	if (reached * 100 < (unsigned long long)min_reached * nfiles) {
		printf("ember-fuzz-replay: %zu inputs ran, only %llu reached the device (%ld %% "
		       "needed; %llu refused at create, the last: %s); a reproducer replays with "
		       "the options of its run (--options); seeds older than the plugin's options "
		       "are remade with tools/fuzz --seeds\n",
		       nfiles, reached, min_reached, refused, st->last_refusal);
		return FUZZ_EXIT_REFUSED;
	}
	printf("ember-fuzz-replay: %zu inputs ran (%llu reached the device, %llu refused at "
	       "create), no failure\n",
	       nfiles, reached, refused);
	return 0;
}
