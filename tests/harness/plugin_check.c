/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-plugin-check [--options 'KEY = VALUE; ...'] FILE.so...
 *
 * For each plugin file: loads it with ember's own loader (ABI negotiation, descriptor, option
 * table, and the ABI 1.2 controls, metrics and syscall rules, each refused with one line naming
 * the file), prints what `ember plugins` would, creates one instance in the harness with the
 * given options (the same for every file; without --options, the defaults), resets it, reads
 * its metrics, destroys it and counts what it leaked (watches, timers, descriptor chains, fds).
 * Installed for vendors; ember's out-of-tree install check runs it too.
 *
 * Exit status: 0 every file passed; 1 any problem (refused, create failed, leaks); 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define PROG "ember-plugin-check"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: " PROG " [--options 'KEY = VALUE; ...'] FILE.so...\n"
	    "  Loads each device plugin with ember's loader, describes it, creates and destroys\n"
	    "  one instance with the options (ember's config syntax; default: none), and reports\n"
	    "  refusals, create failures and leaked resources. Exit status 0 when every file\n"
	    "  passes, 1 on any problem, 2 on a usage error.\n");
}

/* What the loader cannot see: declarations without the op that answers them. */
static int check_declarations(const char *file, const struct plugin *p)
{
	int problems = 0;

	if (p->desc.control_count && !p->ops.control) {
		fprintf(stderr, PROG ": %s: declares %u controls but has no control op\n", file,
			p->desc.control_count);
		problems++;
	}
	if (p->desc.metric_count && !p->ops.metrics_read) {
		fprintf(stderr, PROG ": %s: declares %u metrics but has no metrics_read op\n", file,
			p->desc.metric_count);
		problems++;
	}
	return problems;
}

/* Runs what needs an instance: a reset and a metrics read. */
static int exercise(const char *file, struct harness *h)
{
	uint32_t n = plugin_instance_metric_count(h->dev);

	plugin_instance_reset(h->dev);
	if (n) {
		uint64_t *values = calloc(n, sizeof(*values));

		if (!values || plugin_instance_metrics_read(h->dev, values, n) != n) {
			fprintf(stderr, PROG ": %s: reading its %u metrics failed\n", file, n);
			free(values);
			return 1;
		}
		for (uint32_t i = 0; i < n; i++)
			printf("  metric %s = %llu\n", plugin_instance_metric(h->dev, i)->name,
			       (unsigned long long)values[i]);
		free(values);
	}
	return 0;
}

static int check_file(const char *arg, const char *options)
{
	struct harness h;
	char file[4096];
	char err[512];
	unsigned leaks;
	int problems = 0;
	int rc;

	/* A bare FILE.so is a file here, not a name for dlopen's library search. */
	if (snprintf(file, sizeof(file), "%s%s", strchr(arg, '/') ? "" : "./", arg) >=
	    (int)sizeof(file)) {
		fprintf(stderr, PROG ": %s: path too long\n", arg);
		return 1;
	}
	rc = harness_try_init(&h);
	if (rc) {
		fprintf(stderr, PROG ": %s: cannot map guest RAM: %s\n", arg, strerror(-rc));
		return 1;
	}
	if (plugin_load_file(file, &h.plugin, err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		problems++;
	} else {
		plugin_describe(h.plugin, stdout);
		problems += check_declarations(arg, h.plugin);
		if (harness_create(&h, h.plugin->desc.name, options, err, sizeof(err))) {
			fprintf(stderr, PROG ": %s: %s\n", arg, err);
			problems++;
		} else {
			problems += exercise(arg, &h);
		}
	}
	leaks = harness_fini(&h);
	if (leaks) {
		fprintf(stderr, PROG ": %s: %u leaked resources\n", arg, leaks);
		problems++;
	}
	if (problems && h.log_len)
		fprintf(stderr, "%s: log:\n%s", arg, h.log);
	if (!problems)
		printf("%s: ok\n", arg);
	return problems != 0;
}

int main(int argc, char **argv)
{
	const char *options = "";
	int status = 0;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strncmp(argv[i], "--options=", 10)) {
			options = argv[i] + 10;
		} else if (!strcmp(argv[i], "--options") || !strcmp(argv[i], "-o")) {
			if (++i == argc) {
				fprintf(stderr, PROG ": %s needs a value\n", argv[i - 1]);
				usage(stderr);
				return 2;
			}
			options = argv[i];
		} else {
			fprintf(stderr, PROG ": unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	for (; i < argc; i++)
		status |= check_file(argv[i], options);
	return status;
}
