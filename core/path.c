/* SPDX-License-Identifier: Apache-2.0 */
#include "path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

char *path_resolve(const char *config_file, const char *path)
{
	const char *slash = strrchr(config_file, '/');
	char *out;

	if (path[0] == '/' || !slash)
		return strdup(path);
	if (asprintf(&out, "%.*s/%s", (int)(slash - config_file), config_file, path) < 0)
		return NULL;
	return out;
}

int path_exe_dir(char *out, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", out, size - 1);
	char *slash;

	if (n <= 0 || (size_t)n >= size - 1) {
		/*
		 * No /proc (inside ember-jailer's jail, docs/jailer.md): the path execve was
		 * given, when it is absolute (the jailer runs /<exec name>).
		 */
		const char *fn = (const char *)getauxval(AT_EXECFN);

		if (!fn || fn[0] != '/' || strlen(fn) >= size)
			return -1;
		n = (ssize_t)strlen(fn);
		memcpy(out, fn, (size_t)n);
	}
	out[n] = '\0';
	slash = strrchr(out, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}
