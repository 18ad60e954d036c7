/* SPDX-License-Identifier: Apache-2.0 */
#include "jail_priv.h"
#include "jail_err.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int jail_clean_process(char *err, size_t err_size)
{
	if (syscall(SYS_close_range, 3u, ~0u, 0u)) {
		long max = sysconf(_SC_OPEN_MAX);

		if (max < 0 || max > 1 << 20)
			max = 1 << 20;
		for (long fd = 3; fd < max; fd++)
			close((int)fd);
	}
	if (clearenv())
		return jail_fail(err, err_size, "cannot clear the environment");
	return 0;
}

static int set_limit(int resource, const char *name, uint64_t v, char *err, size_t err_size)
{
	struct rlimit rl = {(rlim_t)v, (rlim_t)v};

	if (setrlimit(resource, &rl))
		return jail_fail(err, err_size, "--resource-limit %s=%llu: setrlimit: %s", name,
				 (unsigned long long)v, strerror(errno));
	return 0;
}

int jail_set_rlimits(const struct jail_args *a, char *err, size_t err_size)
{
	if (set_limit(RLIMIT_NOFILE, "no-file", a->no_file, err, err_size))
		return -1;
	if (a->fsize_set && set_limit(RLIMIT_FSIZE, "fsize", a->fsize, err, err_size))
		return -1;
	return 0;
}

int jail_drop_privileges(uid_t uid, gid_t gid, char *err, size_t err_size)
{
	if (setgroups(0, NULL))
		return jail_fail(err, err_size, "setgroups(0): %s", strerror(errno));
	if (setresgid(gid, gid, gid))
		return jail_fail(err, err_size, "--gid %u: setresgid: %s", (unsigned)gid,
				 strerror(errno));
	if (setresuid(uid, uid, uid))
		return jail_fail(err, err_size, "--uid %u: setresuid: %s", (unsigned)uid,
				 strerror(errno));
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return jail_fail(err, err_size, "--uid %u: root could be regained", (unsigned)uid);
	return 0;
}
