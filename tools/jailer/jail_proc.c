/* SPDX-License-Identifier: Apache-2.0 */
#include "jail_proc.h"
#include "jail_args.h"
#include "jail_err.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int jail_write_pid_file(const char *path, pid_t pid, char *err, size_t err_size)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%d", (int)pid);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0)
		return jail_fail(err, err_size, "cannot create the pid file %s in the jail: %s%s",
				 path, strerror(errno),
				 errno == EEXIST ? " (is a jail with this --id in use?)" : "");
	if (write(fd, text, (size_t)n) != n || close(fd)) {
		jail_fail(err, err_size, "cannot write the pid file %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int jail_daemonize(int devnull_fd, char *err, size_t err_size)
{
	if (setsid() < 0) {
		pid_t pid;

		if (errno != EPERM)
			return jail_fail(err, err_size, "--daemonize: setsid: %s", strerror(errno));
		pid = fork();
		if (pid < 0)
			return jail_fail(err, err_size, "--daemonize: fork: %s", strerror(errno));
		if (pid > 0)
			_exit(JAIL_EXIT_OK);
		if (setsid() < 0)
			return jail_fail(err, err_size, "--daemonize: setsid: %s", strerror(errno));
	}
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(devnull_fd, fd) < 0)
			return jail_fail(err, err_size, "--daemonize: dup2 /dev/null: %s",
					 strerror(errno));
	if (devnull_fd > 2)
		close(devnull_fd);
	return 0;
}

int jail_new_pid_ns(const char *pid_file, char *err, size_t err_size)
{
	pid_t pid;

	if (unshare(CLONE_NEWPID))
		return jail_fail(err, err_size, "--new-pid-ns: unshare(CLONE_NEWPID): %s",
				 strerror(errno));
	pid = fork();
	if (pid < 0)
		return jail_fail(err, err_size, "--new-pid-ns: fork: %s", strerror(errno));
	if (pid == 0)
		return 0;
	if (jail_write_pid_file(pid_file, pid, err, err_size)) {
		fprintf(stderr, "ember-jailer: error: %s\n", err);
		kill(pid, SIGKILL);
		_exit(JAIL_EXIT_SETUP);
	}
	_exit(JAIL_EXIT_OK);
}
