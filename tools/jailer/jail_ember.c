/* SPDX-License-Identifier: Apache-2.0 */
#include "jail_ember.h"
#include "jail_err.h"

#include "ember_build_paths.h"	 /* EMBER_PLUGIN_RELDIR, EMBER_BUILD_ROOT_DIR */
#include "ember_profile_paths.h" /* EMBER_PROFILE_RELDIR, EMBER_PROFILE_BUILD_* */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* dir is root or below it. */
static bool under(const char *dir, const char *root)
{
	size_t n = strlen(root);

	return !strncmp(dir, root, n) && (dir[n] == '/' || dir[n] == '\0');
}

/*
 * The folder an ember at exe_dir searches: <exe_dir>/<reldir> when it exists, else build_dir
 * for an ember in its build tree; "" when neither exists.
 */
static void own_folder(const char *exe_dir, const char *reldir, const char *build_root,
		       const char *build_dir, char *out, size_t size)
{
	char path[PATH_MAX];

	out[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/%s", exe_dir, reldir) < (int)sizeof(path) &&
	    is_dir(path) && realpath(path, out))
		return;
	out[0] = '\0';
	if (under(exe_dir, build_root) && is_dir(build_dir))
		snprintf(out, size, "%s", build_dir);
}

static int add(struct jail_folder *out, size_t *count, const char *src, const char *reldir,
	       const char *suffix, char *err, size_t err_size)
{
	struct jail_folder *f = &out[*count];

	snprintf(f->src, sizeof(f->src), "%s", src);
	if (jail_reldir_in_root(reldir, f->dst, sizeof(f->dst)))
		return jail_fail(err, err_size, "%s: path too long", reldir);
	f->suffix = suffix;
	(*count)++;
	return 0;
}

int jail_ember_folders(const char *exec_real, const struct jail_args *a, struct jail_folder *out,
		       size_t *count, char *err, size_t err_size)
{
	char exe_dir[PATH_MAX], found[PATH_MAX];
	char build_plugins[PATH_MAX];
	char *slash;

	*count = 0;
	snprintf(exe_dir, sizeof(exe_dir), "%s", exec_real);
	slash = strrchr(exe_dir, '/');
	if (slash)
		*(slash == exe_dir ? slash + 1 : slash) = '\0';
	snprintf(build_plugins, sizeof(build_plugins), "%s/plugins", EMBER_BUILD_ROOT_DIR);
	own_folder(exe_dir, EMBER_PLUGIN_RELDIR, EMBER_BUILD_ROOT_DIR, build_plugins, found,
		   sizeof(found));
	if (found[0] && add(out, count, found, EMBER_PLUGIN_RELDIR, ".so", err, err_size))
		return -1;
	own_folder(exe_dir, EMBER_PROFILE_RELDIR, EMBER_PROFILE_BUILD_ROOT, EMBER_PROFILE_BUILD_DIR,
		   found, sizeof(found));
	if (found[0] && add(out, count, found, EMBER_PROFILE_RELDIR, ".cfg", err, err_size))
		return -1;
	for (size_t i = 0; i < a->nplugin_dirs; i++) {
		if (!realpath(a->plugin_dirs[i], found))
			return jail_fail(err, err_size, "--plugin-dir %s: %s", a->plugin_dirs[i],
					 strerror(errno));
		if (!is_dir(found))
			return jail_fail(err, err_size, "--plugin-dir %s: not a folder",
					 a->plugin_dirs[i]);
		if (add(out, count, found, found, ".so", err, err_size))
			return -1;
	}
	return 0;
}
