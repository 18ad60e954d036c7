/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember's command line:
 *   ember run [--no-seccomp] [--api-sock PATH] CONFIG  boot the VM CONFIG describes
 *                        (--no-seccomp: without the per-thread seccomp filters, for
 *                        debugging; --api-sock: Firecracker's API for the running phase)
 *   ember firecracker ARGS  the Firecracker-compatible front-end (also when ember runs under
 *                        the name "firecracker"; core/api/fc_frontend.h, docs/api.md)
 *   ember check [--print] CONFIG   validate CONFIG and create (then destroy) its devices
 *                        without KVM; start nothing; --print: show the resolved VM
 *   ember plugins [DIR...]  list the plugins found in DIR... and ember's own folder
 *   ember profiles       list the installed profiles and what each is for
 *   ember version | help
 * Exit statuses are enum ember_exit (vm_stop.h), documented in the README.
 */
#include "api/fc_frontend.h"
#include "boot_timer.h"
#include "config.h"
#include "device_check.h"
#include "log.h"
#include "plugin_loader.h"
#include "profile.h"
#include "vm.h"
#include "vm_stop.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef EMBER_VERSION
#define EMBER_VERSION "unknown"
#endif

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: ember run CONFIG     boot the VM that CONFIG describes\n"
	       "       ember run --no-seccomp CONFIG  the same without seccomp (debugging)\n"
	       "       ember run --api-sock PATH CONFIG  the same, with Firecracker's API on PATH\n"
	       "       ember firecracker ARGS  Firecracker's command line (firecracker --help)\n"
	       "       ember check CONFIG   validate CONFIG, create its devices without KVM\n"
	       "       ember check --print CONFIG  the same, and show the resolved VM\n"
	       "       ember plugins [DIR...]  list the plugins in DIR... and ember's own folder\n"
	       "       ember profiles       list the installed profiles (profile = \"NAME\")\n"
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

/* `ember plugins`: the folders named on the command line, and how many plugins each held. */
struct listing {
	char **dirs;
	size_t count;
	size_t *found;
};

static void list_one(void *arg, const char *path, const struct plugin *p, const char *err)
{
	struct listing *l = arg;
	const char *slash = strrchr(path, '/');

	/* plugin_list names each file DIR/NAME with DIR as given, so the last '/' ends DIR. */
	for (size_t i = 0; i < l->count && slash; i++)
		if ((size_t)(slash - path) == strlen(l->dirs[i]) &&
		    !strncmp(path, l->dirs[i], (size_t)(slash - path)))
			l->found[i]++;
	if (!p) {
		printf("%s: refused: %s\n\n", path, err);
		return;
	}
	printf("%s:\n", path);
	plugin_describe(p, stdout);
	printf("\n");
}

/*
 * A folder named on the command line must be a folder (else status 2, nothing listed) and hold
 * at least one plugin file (else it is said on stderr and the status is 1, like grep finding
 * nothing, after the listing of the other folders). A refused file counts as one: the listing
 * says why it was refused.
 */
static int list_plugins(int count, char **dirs)
{
	struct listing l = {dirs, (size_t)count, calloc((size_t)count + 1, sizeof(size_t))};
	int status = EMBER_EXIT_OK;
	size_t seen;

	if (!l.found) {
		log_error("out of memory");
		return EMBER_EXIT_ERROR;
	}
	for (int i = 0; i < count; i++) {
		struct stat st;
		int rc = stat(dirs[i], &st);

		if (rc == 0 && S_ISDIR(st.st_mode))
			continue;
		if (rc == 0)
			log_error("%s: not a folder", dirs[i]);
		else if (errno == ENOENT || errno == ENOTDIR)
			log_error("%s: no such folder", dirs[i]);
		else
			log_error("%s: %s", dirs[i], strerror(errno));
		free(l.found);
		return EMBER_EXIT_USAGE;
	}
	seen = plugin_list((const char *const *)dirs, (size_t)count, list_one, &l);
	for (int i = 0; i < count; i++) {
		if (l.found[i])
			continue;
		log_info("%s: no plugins here", dirs[i]);
		status = EMBER_EXIT_ERROR;
	}
	if (seen == 0) {
		log_info("no plugins found");
		status = EMBER_EXIT_ERROR;
	}
	free(l.found);
	return status;
}

/* `ember profiles`: each folder once, then its profiles as "  NAME  PURPOSE". */
struct profile_listing {
	char dir[PATH_MAX];
};

static void list_profile(void *arg, const char *dir, const char *name, const char *purpose,
			 const char *shadowed)
{
	struct profile_listing *l = arg;

	if (strcmp(l->dir, dir)) {
		printf("%s%s:\n", l->dir[0] ? "\n" : "", dir);
		snprintf(l->dir, sizeof(l->dir), "%s", dir);
	}
	printf("  %-12s %s", name, *purpose ? purpose : "(no comment line saying what it is for)");
	if (shadowed)
		printf(" (hidden by %s)", shadowed);
	printf("\n");
}

/* Status 0, or 1 when no profile was found (like `ember plugins`, like grep finding nothing). */
static int list_profiles(void)
{
	struct profile_listing l = {""};
	struct profile_dirs dirs;

	if (profile_list(list_profile, &l))
		return EMBER_EXIT_OK;
	profile_dirs_get(&dirs);
	log_info("no profiles found (looked in %s%s%s)", dirs.count ? dirs.path[0] : "no folder",
		 dirs.count > 1 ? " and " : "", dirs.count > 1 ? dirs.path[1] : "");
	return EMBER_EXIT_ERROR;
}

int main(int argc, char **argv)
{
	bool print = false, no_seccomp = false;
	const char *api_sock = NULL;
	struct vm_config cfg;
	int status;

	boot_timer_start();
	set_log_level();
	{
		const char *slash = argv[0] ? strrchr(argv[0], '/') : NULL;
		const char *name = slash ? slash + 1 : argv[0];

		if (name && !strcmp(name, "firecracker"))
			return fc_frontend_main(argc, argv, EMBER_VERSION);
		if (argc >= 2 && !strcmp(argv[1], "firecracker"))
			return fc_frontend_main(argc - 1, argv + 1, EMBER_VERSION);
	}
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
	if (argc == 2 && !strcmp(argv[1], "profiles"))
		return list_profiles();
	if (argc == 4 && !strcmp(argv[1], "check") && !strcmp(argv[2], "--print")) {
		print = true;
		argv[2] = argv[3];
		argc = 3;
	}
	if (argc == 3 && !strcmp(argv[2], "--no-seccomp")) {
		usage(stderr);
		return EMBER_EXIT_USAGE;
	}
	/* ember run's flags, in any order before CONFIG. */
	while (argc >= 4 && !strcmp(argv[1], "run") &&
	       (!strcmp(argv[2], "--no-seccomp") || !strcmp(argv[2], "--api-sock"))) {
		int used = 1;

		if (!strcmp(argv[2], "--no-seccomp"))
			no_seccomp = true;
		else if (argc >= 5) {
			api_sock = argv[3];
			used = 2;
		} else
			break;
		memmove(argv + 2, argv + 2 + used, (size_t)(argc - 2 - used) * sizeof(*argv));
		argc -= used;
	}
	if (argc != 3 || (strcmp(argv[1], "run") && strcmp(argv[1], "check"))) {
		usage(stderr);
		return EMBER_EXIT_USAGE;
	}
	if (load_config(argv[2], &cfg))
		return EMBER_EXIT_USAGE;
	if (!strcmp(argv[1], "check")) {
		char err[1024];

		if (print)
			status = device_check_print(&cfg, stdout, err, sizeof(err));
		else
			status = device_check(&cfg, err, sizeof(err));
		if (status != EMBER_EXIT_OK)
			log_error("%s", err);
		else if (!print) /* the listing says it all */
			printf("%s: ok\n", argv[2]);
		vm_config_free(&cfg);
		return status;
	}
	if (no_seccomp)
		cfg.seccomp = false;
	status = api_sock ? fc_run_with_api(&cfg, api_sock) : vm_run(&cfg, NULL);
	vm_config_free(&cfg);
	return status;
}
