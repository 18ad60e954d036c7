/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-jailer: Firecracker's jailer for ember (docs/jailer.md). The steps, in Firecracker's
 * order: a clean process (fds, environment); the jail folder <base>/<exec name>/<id>/root
 * with the monitor copied in (and, for a dynamically linked one, its loader and libraries;
 * for ember, its plugins); the network namespace; resource limits; the cgroup; a new mount
 * namespace whose root is the jail; device nodes; --daemonize, --new-pid-ns; the pid file;
 * uid/gid; exec. A failure prints one line "ember-jailer: error: ..." and exits 1 (2 for the
 * command line); up to the cgroup step, what the jailer made is removed again.
 */
#include "jail_args.h"
#include "jail_cgroup.h"
#include "jail_elf.h"
#include "jail_ember.h"
#include "jail_err.h"
#include "jail_fs.h"
#include "jail_ns.h"
#include "jail_priv.h"
#include "jail_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef EMBER_VERSION
#define EMBER_VERSION "unknown"
#endif

/* Firecracker's jailer passes these to a monitor named "firecracker" (docs/jailer.md). */
#define FIRECRACKER_NAME "firecracker"

struct jail_run {
	struct jail_args a;
	const char *exec_name;
	char exec_real[PATH_MAX];
	char root[PATH_MAX];
	struct jail_undo undo;
	uint64_t start_us, start_cpu_us;
	char err[2048];
};

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int fail_line(const char *msg)
{
	fprintf(stderr, "ember-jailer: error: %s\n", msg);
	return -1;
}

/* --exec-file and --chroot-base-dir checked; r->root computed. */
static int check_paths(struct jail_run *r)
{
	char base[PATH_MAX];
	struct stat st;

	r->exec_name = jail_exec_name(r->a.exec_file);
	if (!r->exec_name)
		return jail_fail(r->err, sizeof(r->err), "--exec-file %s: not a file name",
				 r->a.exec_file);
	if (!realpath(r->a.exec_file, r->exec_real) || stat(r->exec_real, &st))
		return jail_fail(r->err, sizeof(r->err), "--exec-file %s: %s", r->a.exec_file,
				 strerror(errno));
	if (!S_ISREG(st.st_mode) || access(r->exec_real, X_OK))
		return jail_fail(r->err, sizeof(r->err), "--exec-file %s: not an executable file",
				 r->a.exec_file);
	if (!realpath(r->a.chroot_base, base) || stat(base, &st))
		return jail_fail(r->err, sizeof(r->err), "--chroot-base-dir %s: %s",
				 r->a.chroot_base, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return jail_fail(r->err, sizeof(r->err), "--chroot-base-dir %s: not a folder",
				 r->a.chroot_base);
	return jail_root_path(base, r->exec_name, r->a.id, r->root, sizeof(r->root), r->err,
			      sizeof(r->err));
}

/* Copies every *suffix file of f into the jail; appends the copies' host paths to roots. */
static int copy_folder(struct jail_run *r, const struct jail_folder *f, char ***roots,
		       size_t *nroots)
{
	char **files;
	size_t n;

	if (jail_list_files(f->src, f->suffix, false, &files, &n, r->err, sizeof(r->err)))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *name = strrchr(files[i], '/') + 1;
		char rel[PATH_MAX];
		char **grown;

		if (snprintf(rel, sizeof(rel), "%s/%s", f->dst + 1, name) >= (int)sizeof(rel) ||
		    jail_copy_in(&r->undo, files[i], rel[0] == '/' ? rel + 1 : rel, 0644, r->err,
				 sizeof(r->err)))
			goto fail;
		if (strcmp(f->suffix, ".so"))
			continue;
		grown = realloc(*roots, (*nroots + 1) * sizeof(**roots));
		if (!grown)
			goto fail;
		*roots = grown;
		(*roots)[(*nroots)++] = files[i];
		files[i] = NULL;
	}
	jail_list_free(files, n);
	return 0;
fail:
	if (!r->err[0])
		jail_fail(r->err, sizeof(r->err), "out of memory");
	jail_list_free(files, n);
	return -1;
}

/* The monitor, ember's folders, and the loader and libraries they all need. */
static int populate(struct jail_run *r)
{
	struct jail_folder folders[JAIL_MAX_FOLDERS];
	char(*libs)[PATH_MAX] = NULL;
	char **roots = malloc(sizeof(*roots));
	size_t nfolders, nroots = 0, nlibs = 0;
	int rc = -1;

	if (!roots)
		return jail_fail(r->err, sizeof(r->err), "out of memory");
	if (jail_copy_in(&r->undo, r->exec_real, r->exec_name, 0755, r->err, sizeof(r->err)))
		goto out;
	roots[nroots] = strdup(r->exec_real);
	if (!roots[nroots++])
		goto oom;
	if (jail_ember_folders(r->exec_real, &r->a, folders, &nfolders, r->err, sizeof(r->err)))
		goto out;
	for (size_t i = 0; i < nfolders; i++)
		if (copy_folder(r, &folders[i], &roots, &nroots))
			goto out;
	libs = calloc(JAIL_ELF_MAX_LIBS, sizeof(*libs));
	if (!libs)
		goto oom;
	if (jail_elf_closure((const char *const *)roots, nroots, libs, JAIL_ELF_MAX_LIBS, &nlibs,
			     r->err, sizeof(r->err)))
		goto out;
	for (size_t i = 0; i < nlibs; i++)
		if (jail_copy_in(&r->undo, libs[i], libs[i] + 1, 0755, r->err, sizeof(r->err)))
			goto out;
	rc = 0;
	goto out;
oom:
	jail_fail(r->err, sizeof(r->err), "out of memory");
out:
	free(libs);
	for (size_t i = 0; i < nroots; i++)
		free(roots[i]);
	free(roots);
	return rc;
}

/* Everything up to the cgroup: undone when it fails. */
static int build_jail(struct jail_run *r)
{
	if (jail_mkdir_abs(&r->undo, r->root, r->err, sizeof(r->err)))
		return -1;
	r->undo.root_fd = open(r->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->undo.root_fd < 0)
		return jail_fail(r->err, sizeof(r->err), "%s: %s", r->root, strerror(errno));
	{
		char pid_name[NAME_MAX + 8];
		struct stat st;

		snprintf(pid_name, sizeof(pid_name), "%s.pid", r->exec_name);
		if (fstatat(r->undo.root_fd, pid_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return jail_fail(r->err, sizeof(r->err),
					 "%s/%s exists: a jail with --id %s is in use (or was "
					 "not cleaned up)",
					 r->root, pid_name, r->a.id);
	}
	if (populate(r))
		return -1;
	if (r->a.netns && jail_join_netns(r->a.netns, r->err, sizeof(r->err)))
		return -1;
	if (jail_set_rlimits(&r->a, r->err, sizeof(r->err)))
		return -1;
	if (r->a.ncgroups) {
		char mount[PATH_MAX];
		const char *parent = r->a.parent_cgroup ? r->a.parent_cgroup : r->exec_name;

		if (jail_cgroup2_mount("/proc/self/mounts", mount, sizeof(mount), r->err,
				       sizeof(r->err)) ||
		    jail_cgroup_setup(mount, parent, r->a.id, r->a.cgroups, r->a.ncgroups, &r->undo,
				      r->err, sizeof(r->err)))
			return -1;
	}
	return 0;
}

/* The monitor's argv: /<name>, Firecracker's own flags for "firecracker", then the rest. */
static char **monitor_argv(struct jail_run *r)
{
	/* execv takes char *const[]: the strings it gets are these writable copies */
	static char path[PATH_MAX], id[JAIL_ID_MAX + 1], t[3][32];
	static char f_id[] = "--id", f_start[] = "--start-time-us", f_cpu[] = "--start-time-cpu-us",
		    f_parent[] = "--parent-cpu-time-us";
	bool fc = !strcmp(r->exec_name, FIRECRACKER_NAME);
	size_t n = 0, total = 1 + (fc ? 8 : 0) + (size_t)r->a.exec_argc + 1;
	char **argv = calloc(total, sizeof(*argv));

	if (!argv)
		return NULL;
	snprintf(path, sizeof(path), "/%s", r->exec_name);
	argv[n++] = path;
	if (fc) {
		uint64_t cpu = clock_us(CLOCK_PROCESS_CPUTIME_ID);

		snprintf(id, sizeof(id), "%s", r->a.id);
		snprintf(t[0], sizeof(t[0]), "%" PRIu64, r->start_us);
		snprintf(t[1], sizeof(t[1]), "%" PRIu64, r->start_cpu_us);
		snprintf(t[2], sizeof(t[2]), "%" PRIu64, cpu - r->start_cpu_us);
		argv[n++] = f_id;
		argv[n++] = id;
		argv[n++] = f_start;
		argv[n++] = t[0];
		argv[n++] = f_cpu;
		argv[n++] = t[1];
		argv[n++] = f_parent;
		argv[n++] = t[2];
	}
	for (int i = 0; i < r->a.exec_argc; i++)
		argv[n++] = r->a.exec_argv[i];
	argv[n] = NULL;
	return argv;
}

/* From the mount namespace on: nothing is undone (the jail folder stays for inspection). */
static int run_in_jail(struct jail_run *r)
{
	char pid_file[PATH_MAX];
	int devnull = -1;
	char **argv;

	snprintf(pid_file, sizeof(pid_file), "/%s.pid", r->exec_name);
	if (r->a.daemonize) {
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0)
			return jail_fail(r->err, sizeof(r->err), "--daemonize: /dev/null: %s",
					 strerror(errno));
	}
	if (jail_enter_root(r->root, r->err, sizeof(r->err)) ||
	    jail_make_nodes(r->a.uid, r->a.gid, r->err, sizeof(r->err)))
		return -1;
	if (r->a.daemonize && jail_daemonize(devnull, r->err, sizeof(r->err)))
		return -1;
	if (r->a.new_pid_ns) {
		if (jail_new_pid_ns(pid_file, r->err, sizeof(r->err)))
			return -1;
		r->start_cpu_us = 0; /* the child's own CPU time starts again */
	} else if (jail_write_pid_file(pid_file, getpid(), r->err, sizeof(r->err))) {
		return -1;
	}
	if (jail_drop_privileges(r->a.uid, r->a.gid, r->err, sizeof(r->err)))
		return -1;
	argv = monitor_argv(r);
	if (!argv)
		return jail_fail(r->err, sizeof(r->err), "out of memory");
	execv(argv[0], argv);
	jail_fail(r->err, sizeof(r->err), "cannot run %s in the jail: %s", argv[0],
		  strerror(errno));
	free(argv);
	return -1;
}

int main(int argc, char **argv)
{
	struct jail_run *r = calloc(1, sizeof(*r));

	if (!r || jail_undo_init(&r->undo)) {
		fail_line("out of memory");
		return JAIL_EXIT_SETUP;
	}
	r->start_us = clock_us(CLOCK_MONOTONIC);
	r->start_cpu_us = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	if (jail_args_parse(argc, argv, &r->a, r->err, sizeof(r->err))) {
		fail_line(r->err);
		return JAIL_EXIT_USAGE;
	}
	if (r->a.help) {
		jail_usage(stdout);
		return JAIL_EXIT_OK;
	}
	if (r->a.version) {
		printf("ember-jailer %s\n", EMBER_VERSION);
		return JAIL_EXIT_OK;
	}
	if (jail_clean_process(r->err, sizeof(r->err)) || check_paths(r)) {
		fail_line(r->err);
		return JAIL_EXIT_SETUP;
	}
	if (build_jail(r)) {
		fail_line(r->err);
		jail_undo_run(&r->undo);
		return JAIL_EXIT_SETUP;
	}
	jail_undo_free(&r->undo);
	run_in_jail(r);
	fail_line(r->err);
	return JAIL_EXIT_SETUP;
}
