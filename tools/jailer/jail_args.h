/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-jailer's command line (docs/jailer.md): Firecracker's jailer flags, then "--" and the
 * monitor's own arguments. jail_args_parse only reads and checks the strings: it touches no
 * file, so every rule here is unit-tested (tests/unit/test_jailer_args.c).
 */
#ifndef EMBER_JAIL_ARGS_H
#define EMBER_JAIL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define JAIL_ID_MAX	     64
#define JAIL_MAX_CGROUPS     32
#define JAIL_MAX_PLUGIN_DIRS 16
#define JAIL_DEFAULT_BASE    "/srv/jailer"
#define JAIL_DEFAULT_NO_FILE 2048
#define JAIL_CGROUP_FILE_MAX 64

/* Exit statuses of ember-jailer (docs/jailer.md, "Exit statuses"). */
enum jail_exit {
	JAIL_EXIT_OK = 0,    /* only a parent that forked (--daemonize, --new-pid-ns) returns it */
	JAIL_EXIT_SETUP = 1, /* a step of building the jail, or the exec, failed */
	JAIL_EXIT_USAGE = 2, /* the command line is wrong; nothing was done */
};

/* One --cgroup FILE=VALUE: file is "controller.property" (or "cgroup.*"), value as given. */
struct jail_cgroup_setting {
	char file[JAIL_CGROUP_FILE_MAX];
	const char *value; /* points into argv */
};

struct jail_args {
	const char *id;
	const char *exec_file;
	const char *chroot_base;   /* JAIL_DEFAULT_BASE unless given */
	const char *netns;	   /* NULL: stay in the current network namespace */
	const char *parent_cgroup; /* NULL: the exec file's name */
	uid_t uid;
	gid_t gid;
	bool daemonize;
	bool new_pid_ns;
	int cgroup_version; /* 2 unless given; 1 is refused when there is a --cgroup */
	struct jail_cgroup_setting cgroups[JAIL_MAX_CGROUPS];
	size_t ncgroups;
	bool fsize_set;
	uint64_t fsize;
	uint64_t no_file;			       /* JAIL_DEFAULT_NO_FILE unless given */
	const char *plugin_dirs[JAIL_MAX_PLUGIN_DIRS]; /* --plugin-dir (ember only) */
	size_t nplugin_dirs;
	char **exec_argv; /* the arguments after "--" (NULL-terminated, may be empty) */
	int exec_argc;
	bool help;
	bool version;
};

/*
 * Parses argv (argv[0] is the program) into *out. Returns 0, or -1 with one line in err naming
 * the flag and what is wrong. out->help / out->version set: nothing else is required.
 */
int jail_args_parse(int argc, char **argv, struct jail_args *out, char *err, size_t err_size);

/* NULL when id is 1..JAIL_ID_MAX characters of [A-Za-z0-9-], else why not. */
const char *jail_id_error(const char *id);

/* "fsize=N" or "no-file=N" applied to *a; -1 with a message otherwise. */
int jail_resource_limit_parse(const char *arg, struct jail_args *a, char *err, size_t err_size);

/* "FILE=VALUE" into *out; -1 with a message otherwise. */
int jail_cgroup_parse(const char *arg, struct jail_cgroup_setting *out, char *err, size_t err_size);

/* NULL when path is a relative cgroup path without "." or ".." parts, else why not. */
const char *jail_parent_cgroup_error(const char *path);

/* The usage text. */
void jail_usage(FILE *f);

#endif
