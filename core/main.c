/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember's command line:
 *   ember run CONFIG     boot the VM CONFIG describes
 *   ember check CONFIG   validate CONFIG (plugins and their options too) without starting anything
 *   ember plugins [DIR...]  list the plugins found in DIR... and ember's own folder
 *   ember version | help
 * Exit statuses are enum ember_exit (vm_stop.h), documented in the README.
 */
#include "boot_timer.h"
#include "config.h"
#include "log.h"
#include "plugin_loader.h"
#include "vm.h"
#include "vm_devices.h"
#include "vm_stop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EMBER_VERSION
#define EMBER_VERSION "unknown"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ember run CONFIG     boot the VM that CONFIG describes\n"
		"       ember check CONFIG   validate CONFIG and its devices; start nothing\n"
		"       ember plugins [DIR...]  list the plugins in DIR... and ember's own folder\n"
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

static void list_one(void *arg, const char *path, const struct plugin *p, const char *err)
{
	(void)arg;
	if (!p) {
		printf("%s: refused: %s\n\n", path, err);
		return;
	}
	printf("%s:\n", path);
	plugin_describe(p, stdout);
	printf("\n");
}

static int list_plugins(int count, char **dirs)
{
	size_t seen = plugin_list((const char *const *)dirs, (size_t)count, list_one, NULL);

	if (seen == 0)
		printf("no plugins found\n");
	return EMBER_EXIT_OK;
}

/* Loads every device's plugin and checks its options, as `ember run` would before starting. */
static int check_devices(const struct vm_config *cfg)
{
	struct vm_devices ds;

	if (vm_devices_prepare(&ds, cfg))
		return -1;
	vm_devices_destroy(&ds);
	return 0;
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
	if (argc >= 2 && !strcmp(argv[1], "plugins"))
		return list_plugins(argc - 2, argv + 2);
	if (argc != 3 || (strcmp(argv[1], "run") && strcmp(argv[1], "check"))) {
		usage(stderr);
		return EMBER_EXIT_USAGE;
	}
	if (load_config(argv[2], &cfg))
		return EMBER_EXIT_USAGE;
	if (!strcmp(argv[1], "check")) {
		status = check_devices(&cfg) ? EMBER_EXIT_USAGE : EMBER_EXIT_OK;
		if (status == EMBER_EXIT_OK)
			printf("%s: ok\n", argv[2]);
		vm_config_free(&cfg);
		return status;
	}
	status = vm_run(&cfg);
	vm_config_free(&cfg);
	return status;
}
