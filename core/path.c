/* SPDX-License-Identifier: Apache-2.0 */
#include "path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
