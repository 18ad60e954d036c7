/* SPDX-License-Identifier: Apache-2.0 */
#include "jail_args.h"
#include "jail_err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void jail_usage(FILE *f)
{
	fprintf(f,
		"usage: ember-jailer --id ID --exec-file FILE --uid UID --gid GID\n"
		"         [--chroot-base-dir DIR] [--netns PATH] [--daemonize] [--new-pid-ns]\n"
		"         [--cgroup FILE=VALUE]... [--cgroup-version 2] [--parent-cgroup PATH]\n"
		"         [--resource-limit fsize=N|no-file=N]... [--plugin-dir DIR]...\n"
		"         [-- MONITOR-ARGUMENTS...]\n"
		"Builds <chroot-base-dir>/<exec name>/<id>/root, copies FILE (with its libraries\n"
		"and, for ember, its plugins) into it, and runs FILE there as UID:GID.\n"
		"See docs/jailer.md.\n");
}

const char *jail_id_error(const char *id)
{
	size_t n = strlen(id);

	if (n == 0)
		return "empty";
	if (n > JAIL_ID_MAX)
		return "longer than 64 characters";
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return "only letters, digits and '-' are allowed";
	}
	return NULL;
}

/* A decimal number without sign, spaces or overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* A uid or gid: a number below 2^32 - 1 ((uid_t)-1 means "unchanged" to setresuid). */
static int parse_id(const char *s, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(s, &v) || v >= UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int jail_resource_limit_parse(const char *arg, struct jail_args *a, char *err, size_t err_size)
{
	const char *eq = strchr(arg, '=');
	uint64_t v;

	if (!eq)
		return jail_fail(err, err_size,
				 "--resource-limit %s: expected fsize=N or no-file=N", arg);
	if (parse_u64(eq + 1, &v))
		return jail_fail(err, err_size, "--resource-limit %s: %s is not a number", arg,
				 *(eq + 1) ? eq + 1 : "(empty)");
	if ((size_t)(eq - arg) == 5 && !strncmp(arg, "fsize", 5)) {
		a->fsize_set = true;
		a->fsize = v;
		return 0;
	}
	if ((size_t)(eq - arg) == 7 && !strncmp(arg, "no-file", 7)) {
		a->no_file = v;
		return 0;
	}
	return jail_fail(err, err_size, "--resource-limit %s: unknown limit %.*s (fsize, no-file)",
			 arg, (int)(eq - arg), arg);
}

int jail_cgroup_parse(const char *arg, struct jail_cgroup_setting *out, char *err, size_t err_size)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : 0;
	const char *dot;

	if (!eq || n == 0 || !eq[1])
		return jail_fail(err, err_size,
				 "--cgroup %s: expected FILE=VALUE (memory.max=256M)", arg);
	if (n >= sizeof(out->file))
		return jail_fail(err, err_size, "--cgroup %s: the file name is too long", arg);
	for (size_t i = 0; i < n; i++) {
		char c = arg[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'))
			return jail_fail(err, err_size,
					 "--cgroup %s: %.*s is not a cgroup file name "
					 "(CONTROLLER.PROPERTY)",
					 arg, (int)n, arg);
	}
	dot = memchr(arg, '.', n);
	if (!dot || dot == arg || dot == arg + n - 1)
		return jail_fail(
		    err, err_size,
		    "--cgroup %s: %.*s is not a cgroup file name (CONTROLLER.PROPERTY)", arg,
		    (int)n, arg);
	if (strchr(eq + 1, '\n'))
		return jail_fail(err, err_size, "--cgroup %.*s: the value has a newline", (int)n,
				 arg);
	memcpy(out->file, arg, n);
	out->file[n] = '\0';
	out->value = eq + 1;
	return 0;
}

const char *jail_parent_cgroup_error(const char *path)
{
	const char *p = path;

	if (!*path)
		return "empty";
	if (*path == '/')
		return "must be relative to the cgroup mount (no leading '/')";
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0)
			return "has an empty part (\"//\" or a trailing '/')";
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return "must not have \".\" or \"..\" parts";
		p += n;
		if (*p == '/') {
			p++;
			if (!*p)
				return "has an empty part (\"//\" or a trailing '/')";
		}
	}
	return NULL;
}

/* The flags that take a value, in the order of the usage text. */
enum flag {
	F_ID,
	F_EXEC_FILE,
	F_UID,
	F_GID,
	F_CHROOT_BASE,
	F_NETNS,
	F_CGROUP,
	F_CGROUP_VERSION,
	F_PARENT_CGROUP,
	F_RESOURCE_LIMIT,
	F_PLUGIN_DIR,
	F_COUNT
};

static const char *const flag_names[F_COUNT] = {
    "--id",
    "--exec-file",
    "--uid",
    "--gid",
    "--chroot-base-dir",
    "--netns",
    "--cgroup",
    "--cgroup-version",
    "--parent-cgroup",
    "--resource-limit",
    "--plugin-dir",
};

/* Flags that may be given once only; the others (cgroup, resource-limit, plugin-dir) repeat. */
static bool flag_repeats(enum flag f)
{
	return f == F_CGROUP || f == F_RESOURCE_LIMIT || f == F_PLUGIN_DIR;
}

static int take_value(struct jail_args *a, enum flag f, const char *v, char *err, size_t err_size)
{
	uint32_t n;

	switch (f) {
	case F_ID:
		if (jail_id_error(v))
			return jail_fail(err, err_size, "--id %s: %s", v, jail_id_error(v));
		a->id = v;
		return 0;
	case F_EXEC_FILE:
		if (!*v)
			return jail_fail(err, err_size, "--exec-file: empty path");
		a->exec_file = v;
		return 0;
	case F_UID:
	case F_GID:
		if (parse_id(v, &n))
			return jail_fail(err, err_size, "%s %s: expected a number below 4294967295",
					 flag_names[f], v);
		if (f == F_UID)
			a->uid = n;
		else
			a->gid = n;
		return 0;
	case F_CHROOT_BASE:
		if (!*v)
			return jail_fail(err, err_size, "--chroot-base-dir: empty path");
		a->chroot_base = v;
		return 0;
	case F_NETNS:
		if (!*v)
			return jail_fail(err, err_size, "--netns: empty path");
		a->netns = v;
		return 0;
	case F_CGROUP:
		if (a->ncgroups == JAIL_MAX_CGROUPS)
			return jail_fail(err, err_size, "--cgroup: more than %d settings",
					 JAIL_MAX_CGROUPS);
		if (jail_cgroup_parse(v, &a->cgroups[a->ncgroups], err, err_size))
			return -1;
		a->ncgroups++;
		return 0;
	case F_CGROUP_VERSION:
		if (strcmp(v, "1") && strcmp(v, "2"))
			return jail_fail(err, err_size, "--cgroup-version %s: expected 1 or 2", v);
		a->cgroup_version = v[0] - '0';
		return 0;
	case F_PARENT_CGROUP:
		if (jail_parent_cgroup_error(v))
			return jail_fail(err, err_size, "--parent-cgroup %s: %s", v,
					 jail_parent_cgroup_error(v));
		a->parent_cgroup = v;
		return 0;
	case F_RESOURCE_LIMIT:
		return jail_resource_limit_parse(v, a, err, err_size);
	case F_PLUGIN_DIR:
		if (a->nplugin_dirs == JAIL_MAX_PLUGIN_DIRS)
			return jail_fail(err, err_size, "--plugin-dir: more than %d folders",
					 JAIL_MAX_PLUGIN_DIRS);
		if (v[0] != '/')
			return jail_fail(err, err_size,
					 "--plugin-dir %s: expected an absolute path", v);
		a->plugin_dirs[a->nplugin_dirs++] = v;
		return 0;
	case F_COUNT:
		break;
	}
	return jail_fail(err, err_size, "internal error: flag %d", (int)f);
}

int jail_args_parse(int argc, char **argv, struct jail_args *out, char *err, size_t err_size)
{
	static char *no_args[] = {NULL};
	bool seen[F_COUNT] = {false};
	int i;

	memset(out, 0, sizeof(*out));
	out->chroot_base = JAIL_DEFAULT_BASE;
	out->cgroup_version = 2;
	out->no_file = JAIL_DEFAULT_NO_FILE;
	out->exec_argv = no_args;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *value = NULL;
		size_t name_len;
		int f;

		if (!strcmp(arg, "--")) {
			i++;
			break;
		}
		if (!strcmp(arg, "--daemonize")) {
			out->daemonize = true;
			continue;
		}
		if (!strcmp(arg, "--new-pid-ns")) {
			out->new_pid_ns = true;
			continue;
		}
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			out->help = true;
			return 0;
		}
		if (!strcmp(arg, "--version")) {
			out->version = true;
			return 0;
		}
		/* --flag VALUE, or --flag=VALUE */
		name_len = strcspn(arg, "=");
		for (f = 0; f < F_COUNT; f++)
			if (strlen(flag_names[f]) == name_len &&
			    !strncmp(arg, flag_names[f], name_len))
				break;
		if (f == F_COUNT)
			return jail_fail(err, err_size, "%s: unknown argument (see --help)", arg);
		if (arg[name_len] == '=') {
			value = arg + name_len + 1;
		} else {
			if (i + 1 >= argc)
				return jail_fail(err, err_size, "%s: missing its value",
						 flag_names[f]);
			value = argv[++i];
		}
		if (seen[f] && !flag_repeats((enum flag)f))
			return jail_fail(err, err_size, "%s: given twice", flag_names[f]);
		seen[f] = true;
		if (take_value(out, (enum flag)f, value, err, err_size))
			return -1;
	}
	if (i < argc) {
		out->exec_argv = argv + i;
		out->exec_argc = argc - i;
	}
	static const enum flag required[] = {F_ID, F_EXEC_FILE, F_UID, F_GID};
	for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++)
		if (!seen[required[r]])
			return jail_fail(err, err_size, "%s is required (see --help)",
					 flag_names[required[r]]);
	if (out->cgroup_version == 1 && out->ncgroups)
		return jail_fail(err, err_size,
				 "--cgroup-version 1: cgroup v1 is not supported, only 2 (a "
				 "cgroup2 mount)");
	return 0;
}
