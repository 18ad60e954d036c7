/* SPDX-License-Identifier: Apache-2.0 */
/* Where profiles live, and what each is for (profile.h). */
#include "profile.h"

#include "ember_profile_paths.h"
#include "path.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *profile_name_error(const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return "empty; expected a profile name (a-z, 0-9, '-', '_') or a path with a '/'";
	if (n > PROFILE_NAME_MAX)
		return "too long for a profile name (at most 64 characters)";
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return "expected a profile name (a-z, 0-9, '-', '_') or a path with a '/'";
	if (name[0] == '-' || name[0] == '_')
		return "a profile name starts with a letter or a digit";
	return NULL;
}

/* dir made canonical when it exists (messages then name /opt/ember/share/..., not bin/../). */
static void add_dir(struct profile_dirs *dirs, const char *dir)
{
	char *real = realpath(dir, NULL);
	int w = snprintf(dirs->path[dirs->count], sizeof(dirs->path[0]), "%s", real ? real : dir);

	free(real);
	if (w > 0 && (size_t)w < sizeof(dirs->path[0]))
		dirs->count++;
}

void profile_dirs_get(struct profile_dirs *dirs)
{
	char exe[PATH_MAX], dir[PATH_MAX + 256];
	size_t root = strlen(EMBER_PROFILE_BUILD_ROOT);

	dirs->count = 0;
	if (path_exe_dir(exe, sizeof(exe)))
		return;
	if (snprintf(dir, sizeof(dir), "%s/%s", exe, EMBER_PROFILE_RELDIR) < (int)sizeof(dir))
		add_dir(dirs, dir);
	/* The build tree's copy, only for an executable inside that tree (as the plugin folder). */
	if (!strncmp(exe, EMBER_PROFILE_BUILD_ROOT, root) && (exe[root] == '/' || !exe[root]))
		add_dir(dirs, EMBER_PROFILE_BUILD_DIR);
}

/* FOLDER/NAME.cfg into out; false when it does not fit. */
static bool profile_file(char *out, size_t size, const char *dir, const char *name)
{
	int w = snprintf(out, size, "%s/%s.cfg", dir, name);

	return w > 0 && (size_t)w < size;
}

int profile_find(const char *name, char **path, char *err, size_t err_size)
{
	struct profile_dirs dirs;
	char file[PATH_MAX + PROFILE_NAME_MAX + 8];
	int n;

	*path = NULL;
	profile_dirs_get(&dirs);
	for (size_t i = 0; i < dirs.count; i++) {
		if (!profile_file(file, sizeof(file), dirs.path[i], name) || access(file, F_OK))
			continue;
		*path = strdup(file);
		if (!*path) {
			snprintf(err, err_size, "out of memory");
			return -1;
		}
		return 0;
	}
	if (dirs.count == 0) {
		snprintf(err, err_size,
			 "no profile \"%s\": ember's profile folder is unknown "
			 "(/proc/self/exe cannot be read)",
			 name);
		return -1;
	}
	n = snprintf(err, err_size, "no profile \"%s\" (looked for %s.cfg in ", name, name);
	for (size_t i = 0; i < dirs.count && n > 0 && (size_t)n < err_size; i++)
		n +=
		    snprintf(err + n, err_size - (size_t)n, "%s%s", i ? " and " : "", dirs.path[i]);
	if (n > 0 && (size_t)n < err_size)
		snprintf(err + n, err_size - (size_t)n, "; `ember profiles` lists them)");
	return -1;
}

int profile_purpose(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int rc = -1;

	if (!f)
		return -1;
	while (rc && fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");
		char *end;

		if (p[0] == '#')
			p++;
		else if (p[0] == '/' && p[1] == '/')
			p += 2;
		else
			continue;
		p += strspn(p, " \t");
		end = p + strlen(p);
		while (end > p &&
		       (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		snprintf(out, size, "%s", p);
		rc = 0;
	}
	fclose(f);
	return rc;
}

/* scandir filter: NAME.cfg with a good profile name. */
static int is_profile_file(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	char name[PROFILE_NAME_MAX + 1];

	if (n <= 4 || n - 4 > PROFILE_NAME_MAX || strcmp(e->d_name + n - 4, ".cfg"))
		return 0;
	memcpy(name, e->d_name, n - 4);
	name[n - 4] = '\0';
	return !profile_name_error(name);
}

size_t profile_list(profile_list_fn fn, void *arg)
{
	struct profile_dirs dirs;
	size_t seen = 0;

	profile_dirs_get(&dirs);
	for (size_t i = 0; i < dirs.count; i++) {
		struct dirent **names;
		int n = scandir(dirs.path[i], &names, is_profile_file, alphasort);

		for (int j = 0; j < n; j++) {
			char file[PATH_MAX + PROFILE_NAME_MAX + 8], earlier[sizeof(file)];
			char name[PROFILE_NAME_MAX + 1], purpose[512] = "";
			const char *shadowed = NULL;

			snprintf(name, sizeof(name), "%.*s", (int)(strlen(names[j]->d_name) - 4),
				 names[j]->d_name);
			for (size_t k = 0; k < i && !shadowed; k++)
				if (profile_file(earlier, sizeof(earlier), dirs.path[k], name) &&
				    !access(earlier, F_OK))
					shadowed = earlier;
			if (profile_file(file, sizeof(file), dirs.path[i], name) &&
			    profile_purpose(file, purpose, sizeof(purpose)))
				purpose[0] = '\0';
			fn(arg, dirs.path[i], name, purpose, shadowed);
			seen++;
			free(names[j]);
		}
		if (n > 0)
			free(names);
	}
	return seen;
}
