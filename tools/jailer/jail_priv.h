/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the jailed process inherits: file descriptors, environment, resource limits, and the
 * user and group it runs as.
 */
#ifndef EMBER_JAIL_PRIV_H
#define EMBER_JAIL_PRIV_H

#include "jail_args.h"

#include <stddef.h>
#include <sys/types.h>

/* Closes every fd above 2 and empties the environment. */
int jail_clean_process(char *err, size_t err_size);

/* RLIMIT_NOFILE = no_file (soft and hard), and RLIMIT_FSIZE = fsize when given. */
int jail_set_rlimits(const struct jail_args *a, char *err, size_t err_size);

/* setgroups(0), setresgid(gid), setresuid(uid), then checks that root cannot come back. */
int jail_drop_privileges(uid_t uid, gid_t gid, char *err, size_t err_size);

#endif
