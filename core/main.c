/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember's command line:
 *   ember run CONFIG     boot the VM CONFIG describes
 *   ember check CONFIG   validate CONFIG without starting anything
 *   ember version | help
 * Exit statuses are enum ember_exit (vm_stop.h), documented in the README.
 */
#include "boot_timer.h"
#include "config.h"
#include "log.h"
#include "vm.h"
#include "vm_stop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EMBER_VERSION
#define EMBER_VERSION "unknown"
#endif

static void usage(FILE *f)
{
	fprintf(f, "usage: ember run CONFIG     boot the VM that CONFIG describes\n"
		   "       ember check CONFIG   validate CONFIG; start nothing\n"
		   "       ember version\n"
		   "Set EMBER_LOG=debug for more messages. See the README for exit statuses.\n");
}

static int load_config(const char *path, struct vm_config *cfg)
{
	char err[1024];

	if (vm_config_load(cfg, path, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static void set_log_level(void)
{
	const char *v = getenv("EMBER_LOG");

	if (!v)
		return;
	if (!strcmp(v, "debug"))
		log_set_level(LOG_DEBUG);
	else if (!strcmp(v, "warn"))
		log_set_level(LOG_WARN);
	else if (!strcmp(v, "error"))
		log_set_level(LOG_ERROR);
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	int status;

	boot_timer_start();
	set_log_level();
	if (argc == 2 && (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version"))) {
		printf("ember %s\n", EMBER_VERSION);
		return EMBER_EXIT_OK;
	}
	if (argc == 2 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return EMBER_EXIT_OK;
	}
	if (argc != 3 || (strcmp(argv[1], "run") && strcmp(argv[1], "check"))) {
		usage(stderr);
		return EMBER_EXIT_USAGE;
	}
	if (load_config(argv[2], &cfg))
		return EMBER_EXIT_USAGE;
	if (!strcmp(argv[1], "check")) {
		printf("%s: ok\n", argv[2]);
		vm_config_free(&cfg);
		return EMBER_EXIT_OK;
	}
	status = vm_run(&cfg);
	vm_config_free(&cfg);
	return status;
}
