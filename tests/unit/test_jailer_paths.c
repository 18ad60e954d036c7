/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jailer's paths (tools/jailer/jail_fs.c, jail_cgroup.c): the jail's root folder, where
 * ember's plugin folder lands inside the jail, the exec name, the cgroup2 mount and the
 * controllers a set of --cgroup files needs; and copying into a jail without following a link
 * out of it, with the undo log removing what was made.
 */
#include "jail_args.h"
#include "jail_cgroup.h"
#include "jail_fs.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[1024];

Test(jailer_paths, root_path)
{
	char out[PATH_MAX];

	cr_assert_eq(
	    jail_root_path("/srv/jailer", "ember", "vm1", out, sizeof(out), err, sizeof(err)), 0);
	cr_assert_str_eq(out, "/srv/jailer/ember/vm1/root");
	cr_assert_eq(jail_root_path("/srv/jailer//", "firecracker", "a-b", out, sizeof(out), err,
				    sizeof(err)),
		     0);
	cr_assert_str_eq(out, "/srv/jailer/firecracker/a-b/root");
	cr_assert_eq(jail_root_path("/", "ember", "x", out, sizeof(out), err, sizeof(err)), 0);
	cr_assert_str_eq(out, "/ember/x/root");
	cr_assert_eq(jail_root_path("/srv", "ember", "x", out, 10, err, sizeof(err)), -1);
	cr_assert(strstr(err, "too long"), "%s", err);
}

Test(jailer_paths, reldir_in_root)
{
	char out[PATH_MAX];

	cr_assert_eq(jail_reldir_in_root("../lib/x86_64-linux-gnu/ember/plugins", out, sizeof(out)),
		     0);
	cr_assert_str_eq(out, "/lib/x86_64-linux-gnu/ember/plugins");
	cr_assert_eq(jail_reldir_in_root("../share/ember/profiles", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/share/ember/profiles");
	cr_assert_eq(jail_reldir_in_root("/opt/ember/lib/plugins", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/opt/ember/lib/plugins");
	cr_assert_eq(jail_reldir_in_root("a/./b/../c//d/", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/a/c/d");
	cr_assert_eq(jail_reldir_in_root("../../..", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/");
	cr_assert_eq(jail_reldir_in_root("abcdef", out, 4), -1);
}

Test(jailer_paths, exec_name)
{
	cr_assert_str_eq(jail_exec_name("/usr/bin/ember"), "ember");
	cr_assert_str_eq(jail_exec_name("firecracker"), "firecracker");
	cr_assert_null(jail_exec_name("/usr/bin/"));
	cr_assert_null(jail_exec_name("/usr/bin/.."));
	cr_assert_null(jail_exec_name(""));
}

Test(jailer_paths, cgroup2_mount)
{
	char path[] = "/tmp/ember-jailer-mounts-XXXXXX", out[PATH_MAX];
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fprintf(f, "proc /proc proc rw 0 0\n"
		   "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
		   "cgroup2 /sys/fs/cgroup/my\\040cg cgroup2 rw 0 0\n"
		   "cgroup2 /other cgroup2 rw 0 0\n");
	fclose(f);
	cr_assert_eq(jail_cgroup2_mount(path, out, sizeof(out), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out, "/sys/fs/cgroup/my cg");
	f = fopen(path, "w");
	fprintf(f, "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n");
	fclose(f);
	cr_assert_eq(jail_cgroup2_mount(path, out, sizeof(out), err, sizeof(err)), -1);
	cr_assert(strstr(err, "no cgroup2 file system is mounted"), "%s", err);
	unlink(path);
}

Test(jailer_paths, cgroup_controllers)
{
	struct jail_cgroup_setting s[4];
	char out[128];

	cr_assert_eq(jail_cgroup_parse("memory.max=1G", &s[0], err, sizeof(err)), 0);
	cr_assert_eq(jail_cgroup_parse("pids.max=10", &s[1], err, sizeof(err)), 0);
	cr_assert_eq(jail_cgroup_parse("memory.high=512M", &s[2], err, sizeof(err)), 0);
	cr_assert_eq(jail_cgroup_parse("cgroup.max.depth=2", &s[3], err, sizeof(err)), 0);
	cr_assert_eq(jail_cgroup_controllers(s, 4, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "memory pids");
	cr_assert_eq(jail_cgroup_controllers(s + 3, 1, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
}

/* A folder inside the jail that is a symlink to outside is not followed; undo removes copies. */
Test(jailer_paths, copy_in_and_undo)
{
	char dir[] = "/tmp/ember-jailer-jail-XXXXXX", outside[PATH_MAX], p[PATH_MAX + 32];
	struct jail_undo u;
	struct stat st;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(outside, sizeof(outside), "%s.outside", dir);
	cr_assert_eq(mkdir(outside, 0755), 0);
	cr_assert_eq(jail_undo_init(&u), 0);
	u.root_fd = open(dir, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(u.root_fd, 0);

	cr_assert_eq(jail_copy_in(&u, EMBER_SOURCE_ROOT "/meson.build", "lib/a/b.txt", 0644, err,
				  sizeof(err)),
		     0, "%s", err);
	snprintf(p, sizeof(p), "%s/lib/a/b.txt", dir);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644);
	cr_assert_eq(u.count, 3); /* lib, lib/a, lib/a/b.txt */

	snprintf(p, sizeof(p), "%s/evil", dir);
	cr_assert_eq(symlink(outside, p), 0);
	cr_assert_eq(
	    jail_copy_in(&u, EMBER_SOURCE_ROOT "/meson.build", "evil/x", 0644, err, sizeof(err)),
	    -1);
	cr_assert(strstr(err, "/evil in the jail: not a folder (a link?)"), "%s", err);
	snprintf(p, sizeof(p), "%s/x", outside);
	cr_assert_neq(stat(p, &st), 0, "the copy went through the link");

	jail_undo_run(&u);
	snprintf(p, sizeof(p), "%s/lib", dir);
	cr_assert_neq(stat(p, &st), 0, "undo left %s", p);
	close(u.root_fd);
	jail_undo_free(&u);
	snprintf(p, sizeof(p), "%s/evil", dir);
	unlink(p);
	rmdir(dir);
	rmdir(outside);
}

Test(jailer_paths, list_files)
{
	char **list;
	size_t n;

	cr_assert_eq(
	    jail_list_files(EMBER_BUILD_ROOT "/plugins", ".so", false, &list, &n, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_geq(n, 2);
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(strcmp(list[i - 1], list[i]), 0); /* sorted */
	jail_list_free(list, n);
	cr_assert_eq(jail_list_files("/nonexistent", ".so", true, &list, &n, err, sizeof(err)), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(jail_list_files("/nonexistent", ".so", false, &list, &n, err, sizeof(err)),
		     -1);
}
