/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where workload profiles live (docs/config.md, "Profiles"). A profile named N is the libconfig
 * file N.cfg in the first folder that has it:
 *   1. ember's profile folder, <datadir>/ember/profiles, found relative to the running
 *      executable like the plugin folder (EMBER_PROFILE_RELDIR, from conf/meson.build), so
 *      --prefix and DESTDIR staging work;
 *   2. only for an ember run from its build tree: that tree's conf/ (the build copies conf/).
 * A profile's purpose is its first comment line ('#' or '//'), which `ember profiles` shows.
 * Loading and merging a profile is the config loader's (config.c); this module only finds them.
 *
 * Errors: one line in err, no newline. Threads: main thread only.
 */
#ifndef EMBER_PROFILE_H
#define EMBER_PROFILE_H

#include <limits.h>
#include <stddef.h>

#define PROFILE_NAME_MAX 64
#define PROFILE_DIRS_MAX 2

/*
 * The one rule for profile names (they become file names): 1..PROFILE_NAME_MAX characters of
 * a-z, 0-9, '-', '_', starting with a letter or digit. NULL for a good name, else what is wrong.
 */
const char *profile_name_error(const char *name);

/* The folders searched, in order; whether or not they exist. */
struct profile_dirs {
	char path[PROFILE_DIRS_MAX][PATH_MAX];
	size_t count;
};
void profile_dirs_get(struct profile_dirs *dirs);

/*
 * Finds profile `name` (a good name). Returns 0 with *path (malloc'ed: FOLDER/NAME.cfg, the
 * folder canonical) or -1 with why in err: "no profile \"x\" (looked for x.cfg in FOLDER, ...)".
 */
int profile_find(const char *name, char **path, char *err, size_t err_size);

/*
 * The purpose of the profile in file path: its first comment line without the marker and the
 * blanks around it, into out. Returns 0, or -1 when the file cannot be read or has none.
 */
int profile_purpose(const char *path, char *out, size_t size);

/*
 * `ember profiles`: calls fn for each profile the search finds, folder by folder, sorted by name
 * within a folder; a name an earlier folder already has is passed with shadowed = that file
 * (profile = "NAME" never reaches it), else NULL. purpose is "" when the file has none.
 * Returns how many profiles were seen.
 */
typedef void (*profile_list_fn)(void *arg, const char *dir, const char *name, const char *purpose,
				const char *shadowed);
size_t profile_list(profile_list_fn fn, void *arg);

#endif
