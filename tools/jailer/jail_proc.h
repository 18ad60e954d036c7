/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process that execs the monitor: --daemonize (a new session, stdio on /dev/null),
 * --new-pid-ns (a child that is pid 1 of a new pid namespace), and the pid file that names it.
 */
#ifndef EMBER_JAIL_PROC_H
#define EMBER_JAIL_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * setsid(), forking first when this process leads its process group (where setsid fails), then
 * stdio onto devnull_fd (opened before entering the jail), which is closed. In a parent that
 * forked, does not return: it exits 0.
 */
int jail_daemonize(int devnull_fd, char *err, size_t err_size);

/*
 * unshare(CLONE_NEWPID) and fork: returns 0 in the child (pid 1 of the namespace); the parent
 * writes the child's pid (as this namespace sees it) to pid_file and exits 0, or kills the
 * child and exits 1 when it cannot.
 */
int jail_new_pid_ns(const char *pid_file, char *err, size_t err_size);

/* Writes pid to path (a new file: an existing one is an error), "PID" without a newline. */
int jail_write_pid_file(const char *path, pid_t pid, char *err, size_t err_size);

#endif
