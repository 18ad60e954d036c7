/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plugin-check FILE...: loads each plugin with ember's own loader, prints what `ember plugins`
 * would, and creates and destroys one instance with default options in the harness. Exit
 * status 1 when any file is refused. Used by the out-of-tree install check.
 */
#include <stdio.h>

#include "harness.h"

int main(int argc, char **argv)
{
	int status = 0;

	for (int i = 1; i < argc; i++) {
		struct harness h;
		char err[512];
		unsigned leaks;

		harness_init(&h);
		if (harness_create(&h, argv[i], "", err, sizeof(err))) {
			fprintf(stderr, "plugin-check: %s\n", err);
			status = 1;
		} else {
			plugin_describe(h.plugin, stdout);
		}
		leaks = harness_fini(&h);
		if (leaks) {
			fprintf(stderr, "plugin-check: %s: %u leaked resources\n", argv[i], leaks);
			status = 1;
		}
	}
	return status;
}
