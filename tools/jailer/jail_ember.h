/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a jailed ember needs beyond its binary: the plugin folder (and the profiles) it would
 * search from where it is installed, copied to where the jailed ember searches, and the
 * folders of --plugin-dir at their own paths. Inside the jail ember sits at /<exec name>, so
 * the folder it searches is /<EMBER_PLUGIN_RELDIR> resolved from "/"; the build tree's
 * plugins/ fallback never applies there (the jailed binary is not under its build tree).
 */
#ifndef EMBER_JAIL_EMBER_H
#define EMBER_JAIL_EMBER_H

#include "jail_args.h"
#include "jail_fs.h"

#include <limits.h>
#include <stddef.h>

/* A folder to copy: host folder, where it goes in the jail, which files. */
struct jail_folder {
	char src[PATH_MAX];
	char dst[PATH_MAX]; /* absolute, inside the jail */
	const char *suffix;
};

#define JAIL_MAX_FOLDERS (JAIL_MAX_PLUGIN_DIRS + 2)

/*
 * The folders to copy for the monitor whose resolved path is exec_real: its plugin folder and
 * profile folder when it has them (a monitor that is not ember has neither, and gets none),
 * then each --plugin-dir. -1 with a message when a --plugin-dir is not a folder.
 */
int jail_ember_folders(const char *exec_real, const struct jail_args *a, struct jail_folder *out,
		       size_t *count, char *err, size_t err_size);

#endif
