/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup v2 placement: <cgroup2 mount>/<parent>/<id>, the controllers that the --cgroup files
 * name enabled in cgroup.subtree_control from the mount's root down to <parent>, each
 * FILE=VALUE written, then the calling process moved in through cgroup.procs.
 */
#ifndef EMBER_JAIL_CGROUP_H
#define EMBER_JAIL_CGROUP_H

#include "jail_args.h"
#include "jail_fs.h"

#include <stddef.h>

/* The mount point of the first cgroup2 file system in mounts_file (/proc/self/mounts). */
int jail_cgroup2_mount(const char *mounts_file, char *out, size_t size, char *err, size_t err_size);

/*
 * The controllers that the settings name ("memory" for memory.max; cgroup.* needs none),
 * each once, space-separated into out.
 */
int jail_cgroup_controllers(const struct jail_cgroup_setting *s, size_t n, char *out, size_t size);

/*
 * Builds the cgroup below mount (parent: --parent-cgroup or the exec name), writes the
 * settings and moves this process in. Folders made are recorded in u until the move: a
 * failure before it removes them again (jail_undo_run).
 */
int jail_cgroup_setup(const char *mount, const char *parent, const char *id,
		      const struct jail_cgroup_setting *s, size_t n, struct jail_undo *u, char *err,
		      size_t err_size);

#endif
