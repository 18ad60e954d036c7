/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-jailer's command line (tools/jailer/jail_args.c): every flag, the required ones, bad
 * ids, bad --cgroup FILE=VALUE, --resource-limit, and "--" with the monitor's arguments.
 */
#include "jail_args.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct jail_args args;
static char err[512];

/* Parses a NULL-terminated list (copied: args keeps pointers into it until the next parse). */
static int parse(const char *const *argv)
{
	static char *copy[64];
	static int copies;
	int argc = 0;

	for (int i = 0; i < copies; i++)
		free(copy[i]);
	while (argv[argc] && argc < 63) {
		copy[argc] = strdup(argv[argc]);
		argc++;
	}
	copy[argc] = NULL;
	copies = argc;
	err[0] = '\0';
	return jail_args_parse(argc, copy, &args, err, sizeof(err));
}

#define BASE                                                                                       \
	"ember-jailer", "--id", "vm-1", "--exec-file", "/usr/bin/ember", "--uid", "1000", "--gid", \
	    "1001"

Test(jailer_args, minimal_has_defaults)
{
	const char *argv[] = {BASE, NULL};

	cr_assert_eq(parse(argv), 0, "%s", err);
	cr_assert_str_eq(args.id, "vm-1");
	cr_assert_str_eq(args.exec_file, "/usr/bin/ember");
	cr_assert_eq(args.uid, 1000);
	cr_assert_eq(args.gid, 1001);
	cr_assert_str_eq(args.chroot_base, "/srv/jailer");
	cr_assert_null(args.netns);
	cr_assert_null(args.parent_cgroup);
	cr_assert_not(args.daemonize);
	cr_assert_not(args.new_pid_ns);
	cr_assert_eq(args.cgroup_version, 2);
	cr_assert_eq(args.ncgroups, 0);
	cr_assert_eq(args.no_file, 2048);
	cr_assert_not(args.fsize_set);
	cr_assert_eq(args.exec_argc, 0);
	cr_assert_null(args.exec_argv[0]);
}

Test(jailer_args, every_flag)
{
	const char *argv[] = {BASE,
			      "--chroot-base-dir",
			      "/tmp/j",
			      "--netns",
			      "/var/run/netns/a",
			      "--daemonize",
			      "--new-pid-ns",
			      "--cgroup",
			      "memory.max=256M",
			      "--cgroup=pids.max=64",
			      "--cgroup",
			      "io.max=8:16 rbps=2097152",
			      "--cgroup-version",
			      "2",
			      "--parent-cgroup",
			      "fleet/vms",
			      "--resource-limit",
			      "fsize=1048576",
			      "--resource-limit",
			      "no-file=100",
			      "--plugin-dir",
			      "/opt/vendor/plugins",
			      "--",
			      "run",
			      "/vm.cfg",
			      "--id",
			      "not-ours",
			      NULL};

	cr_assert_eq(parse(argv), 0, "%s", err);
	cr_assert_str_eq(args.chroot_base, "/tmp/j");
	cr_assert_str_eq(args.netns, "/var/run/netns/a");
	cr_assert(args.daemonize);
	cr_assert(args.new_pid_ns);
	cr_assert_eq(args.ncgroups, 3);
	cr_assert_str_eq(args.cgroups[0].file, "memory.max");
	cr_assert_str_eq(args.cgroups[0].value, "256M");
	cr_assert_str_eq(args.cgroups[1].file, "pids.max");
	cr_assert_str_eq(args.cgroups[1].value, "64");
	cr_assert_str_eq(args.cgroups[2].file, "io.max");
	cr_assert_str_eq(args.cgroups[2].value, "8:16 rbps=2097152");
	cr_assert_str_eq(args.parent_cgroup, "fleet/vms");
	cr_assert(args.fsize_set);
	cr_assert_eq(args.fsize, 1048576);
	cr_assert_eq(args.no_file, 100);
	cr_assert_eq(args.nplugin_dirs, 1);
	cr_assert_str_eq(args.plugin_dirs[0], "/opt/vendor/plugins");
	cr_assert_eq(args.exec_argc, 4);
	cr_assert_str_eq(args.exec_argv[0], "run");
	cr_assert_str_eq(args.exec_argv[2], "--id"); /* after "--": the monitor's, not ours */
	cr_assert_null(args.exec_argv[4]);
}

Test(jailer_args, required_flags)
{
	const char *no_id[] = {"j", "--exec-file", "/e", "--uid", "1", "--gid", "1", NULL};
	const char *no_exec[] = {"j", "--id", "a", "--uid", "1", "--gid", "1", NULL};
	const char *no_uid[] = {"j", "--id", "a", "--exec-file", "/e", "--gid", "1", NULL};
	const char *no_gid[] = {"j", "--id", "a", "--exec-file", "/e", "--uid", "1", NULL};

	cr_assert_eq(parse(no_id), -1);
	cr_assert_str_eq(err, "--id is required (see --help)");
	cr_assert_eq(parse(no_exec), -1);
	cr_assert_str_eq(err, "--exec-file is required (see --help)");
	cr_assert_eq(parse(no_uid), -1);
	cr_assert_str_eq(err, "--uid is required (see --help)");
	cr_assert_eq(parse(no_gid), -1);
	cr_assert_str_eq(err, "--gid is required (see --help)");
}

Test(jailer_args, bad_ids)
{
	char long_id[70];

	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	cr_assert_null(jail_id_error("a"));
	cr_assert_null(jail_id_error("551e7604-e35c-42b3-b825-416853441234"));
	long_id[64] = '\0';
	cr_assert_null(jail_id_error(long_id)); /* 64 is the most */
	long_id[64] = 'a';
	cr_assert_not_null(jail_id_error(long_id));
	cr_assert_not_null(jail_id_error(""));
	cr_assert_not_null(jail_id_error("a/b"));
	cr_assert_not_null(jail_id_error(".."));
	cr_assert_not_null(jail_id_error("a_b"));
	cr_assert_not_null(jail_id_error("a b"));

	const char *argv[] = {"j",     "--id", "../x",	"--exec-file", "/e",
			      "--uid", "1",    "--gid", "1",	       NULL};
	cr_assert_eq(parse(argv), -1);
	cr_assert_str_eq(err, "--id ../x: only letters, digits and '-' are allowed");
}

Test(jailer_args, bad_uid_gid)
{
	const char *neg[] = {BASE, "--uid", "-1", NULL};
	const char *word[] = {"j",     "--id", "a",	"--exec-file", "/e",
			      "--uid", "root", "--gid", "1",	       NULL};
	const char *big[] = {"j",     "--id", "a",     "--exec-file", "/e",
			     "--uid", "1",    "--gid", "4294967295",  NULL};

	cr_assert_eq(parse(neg), -1); /* given twice, before the value is even looked at */
	cr_assert_str_eq(err, "--uid: given twice");
	cr_assert_eq(parse(word), -1);
	cr_assert_str_eq(err, "--uid root: expected a number below 4294967295");
	cr_assert_eq(parse(big), -1);
	cr_assert_str_eq(err, "--gid 4294967295: expected a number below 4294967295");
}

Test(jailer_args, unknown_and_missing_values)
{
	const char *unknown[] = {BASE, "--jail-harder", NULL};
	const char *missing[] = {BASE, "--netns", NULL};
	const char *version[] = {BASE, "--cgroup-version", "3", NULL};

	cr_assert_eq(parse(unknown), -1);
	cr_assert_str_eq(err, "--jail-harder: unknown argument (see --help)");
	cr_assert_eq(parse(missing), -1);
	cr_assert_str_eq(err, "--netns: missing its value");
	cr_assert_eq(parse(version), -1);
	cr_assert_str_eq(err, "--cgroup-version 3: expected 1 or 2");
}

Test(jailer_args, cgroup_v1_refused_with_settings)
{
	const char *with[] = {BASE, "--cgroup-version", "1", "--cgroup", "cpu.shares=2", NULL};
	const char *without[] = {BASE, "--cgroup-version", "1", NULL};

	cr_assert_eq(parse(with), -1);
	cr_assert(strstr(err, "cgroup v1 is not supported"), "%s", err);
	/* Nothing to place: a tool that always passes the flag still works. */
	cr_assert_eq(parse(without), 0, "%s", err);
	cr_assert_eq(args.cgroup_version, 1);
}

Test(jailer_args, bad_cgroup_settings)
{
	static const char *const bad[] = {
	    "memory.max",      /* no '=' */
	    "=1",	       /* no file */
	    "memory.max=",     /* no value */
	    "memorymax=1",     /* no controller.property */
	    ".max=1",	       /* no controller */
	    "memory.=1",       /* no property */
	    "../memory.max=1", /* a path */
	    "Memory.max=1",    /* not a cgroup file name */
	};
	struct jail_cgroup_setting s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(jail_cgroup_parse(bad[i], &s, err, sizeof(err)), -1, "%s", bad[i]);
		cr_assert(!strncmp(err, "--cgroup ", 9), "%s", err);
	}
	cr_assert_eq(jail_cgroup_parse("memory.max", &s, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "--cgroup memory.max: expected FILE=VALUE (memory.max=256M)");
	cr_assert_eq(jail_cgroup_parse("cpu.max=50000 100000", &s, err, sizeof(err)), 0);
	cr_assert_str_eq(s.file, "cpu.max");
	cr_assert_str_eq(s.value, "50000 100000");
}

Test(jailer_args, resource_limits)
{
	struct jail_args a = {.no_file = 2048};

	cr_assert_eq(jail_resource_limit_parse("no-file=10", &a, err, sizeof(err)), 0);
	cr_assert_eq(a.no_file, 10);
	cr_assert_eq(jail_resource_limit_parse("fsize=0", &a, err, sizeof(err)), 0);
	cr_assert(a.fsize_set);
	cr_assert_eq(a.fsize, 0);
	cr_assert_eq(jail_resource_limit_parse("fsize=18446744073709551615", &a, err, sizeof(err)),
		     0);
	cr_assert_eq(a.fsize, UINT64_MAX);
	cr_assert_eq(jail_resource_limit_parse("fsize=18446744073709551616", &a, err, sizeof(err)),
		     -1);
	cr_assert_eq(jail_resource_limit_parse("no-file", &a, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "--resource-limit no-file: expected fsize=N or no-file=N");
	cr_assert_eq(jail_resource_limit_parse("no-file=-1", &a, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "--resource-limit no-file=-1: -1 is not a number");
	cr_assert_eq(jail_resource_limit_parse("no-file= 1", &a, err, sizeof(err)), -1);
	cr_assert_eq(jail_resource_limit_parse("no-file=", &a, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "--resource-limit no-file=: (empty) is not a number");
	cr_assert_eq(jail_resource_limit_parse("nproc=1", &a, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "--resource-limit nproc=1: unknown limit nproc (fsize, no-file)");
}

Test(jailer_args, parent_cgroup)
{
	cr_assert_null(jail_parent_cgroup_error("ember"));
	cr_assert_null(jail_parent_cgroup_error("a/b/c"));
	cr_assert_not_null(jail_parent_cgroup_error(""));
	cr_assert_not_null(jail_parent_cgroup_error("/root"));
	cr_assert_not_null(jail_parent_cgroup_error("a/../b"));
	cr_assert_not_null(jail_parent_cgroup_error("./a"));
	cr_assert_not_null(jail_parent_cgroup_error("a//b"));
	cr_assert_not_null(jail_parent_cgroup_error("a/"));

	const char *argv[] = {BASE, "--parent-cgroup", "../escape", NULL};
	cr_assert_eq(parse(argv), -1);
	cr_assert_str_eq(err, "--parent-cgroup ../escape: must not have \".\" or \"..\" parts");
}

Test(jailer_args, plugin_dir_and_repeats)
{
	const char *rel[] = {BASE, "--plugin-dir", "plugins", NULL};
	const char *twice[] = {BASE, "--id", "b", NULL};
	const char *help[] = {"j", "--help", NULL};

	cr_assert_eq(parse(rel), -1);
	cr_assert_str_eq(err, "--plugin-dir plugins: expected an absolute path");
	cr_assert_eq(parse(twice), -1);
	cr_assert_str_eq(err, "--id: given twice");
	cr_assert_eq(parse(help), 0);
	cr_assert(args.help);
}
