/* SPDX-License-Identifier: Apache-2.0 */
#include "jail_cgroup.h"
#include "jail_err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* /proc/mounts escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

int jail_cgroup2_mount(const char *mounts_file, char *out, size_t size, char *err, size_t err_size)
{
	char line[4096];
	FILE *f = fopen(mounts_file, "re");

	if (!f)
		return jail_fail(err, err_size, "cgroup: cannot read %s: %s", mounts_file,
				 strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL;
		char *dev = strtok_r(line, " ", &save);
		char *dir = dev ? strtok_r(NULL, " ", &save) : NULL;
		char *type = dir ? strtok_r(NULL, " ", &save) : NULL;

		if (!type || strcmp(type, "cgroup2"))
			continue;
		unescape(dir);
		fclose(f);
		if (snprintf(out, size, "%s", dir) >= (int)size)
			return jail_fail(err, err_size, "cgroup: %s: path too long", dir);
		return 0;
	}
	fclose(f);
	return jail_fail(err, err_size,
			 "cgroup: no cgroup2 file system is mounted (%s lists none; mount one, "
			 "e.g. mount -t cgroup2 none /sys/fs/cgroup)",
			 mounts_file);
}

int jail_cgroup_controllers(const struct jail_cgroup_setting *s, size_t n, char *out, size_t size)
{
	size_t o = 0;

	if (size)
		out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(s[i].file, ".");
		bool dup = false;

		if (len == 6 && !strncmp(s[i].file, "cgroup", 6))
			continue;
		for (size_t j = 0; j < i && !dup; j++)
			dup = strcspn(s[j].file, ".") == len && !strncmp(s[j].file, s[i].file, len);
		if (dup)
			continue;
		if (o + len + 2 > size)
			return -1;
		o += (size_t)snprintf(out + o, size - o, "%s%.*s", o ? " " : "", (int)len,
				      s[i].file);
	}
	return 0;
}

/* Writes text to dir/file (one write, as the cgroup files want). */
static int write_file(const char *dir, const char *file, const char *text, char *err,
		      size_t err_size)
{
	char path[PATH_MAX];
	size_t len = strlen(text);
	ssize_t w;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return jail_fail(err, err_size, "cgroup: %s/%s: path too long", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return jail_fail(err, err_size, "cgroup: %s: %s", path,
				 errno == ENOENT ? "no such cgroup file (is its controller "
						   "enabled?)"
						 : strerror(errno));
	w = write(fd, text, len);
	if (w != (ssize_t)len) {
		int e = w < 0 ? errno : EIO;

		close(fd);
		return jail_fail(err, err_size, "cgroup: cannot write \"%s\" to %s: %s", text, path,
				 strerror(e));
	}
	close(fd);
	return 0;
}

/* "+ctl" into dir/cgroup.subtree_control for each controller of list. */
static int enable_controllers(const char *dir, const char *list, char *err, size_t err_size)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, " ");
		char plus[JAIL_CGROUP_FILE_MAX + 2];

		snprintf(plus, sizeof(plus), "+%.*s", (int)n, p);
		if (write_file(dir, "cgroup.subtree_control", plus, err, err_size)) {
			char why[512];

			snprintf(why, sizeof(why), "%s", err);
			return jail_fail(
			    err, err_size,
			    "%s (the controller %.*s must be in %s/cgroup.controllers)", why,
			    (int)n, p, dir);
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

int jail_cgroup_setup(const char *mount, const char *parent, const char *id,
		      const struct jail_cgroup_setting *s, size_t n, struct jail_undo *u, char *err,
		      size_t err_size)
{
	char controllers[1024], dir[PATH_MAX], pid[32];
	const char *p = parent;
	size_t o;

	if (jail_cgroup_controllers(s, n, controllers, sizeof(controllers)))
		return jail_fail(err, err_size, "cgroup: too many controllers");
	if (snprintf(dir, sizeof(dir), "%s", mount) >= (int)sizeof(dir))
		return jail_fail(err, err_size, "cgroup: %s: path too long", mount);
	o = strlen(dir);
	/* Down from the mount's root: enable at each level, then make the next one. */
	for (;;) {
		size_t len;

		if (enable_controllers(dir, controllers, err, err_size))
			return -1;
		while (*p == '/')
			p++;
		len = *p ? strcspn(p, "/") : strlen(id);
		if (o + len + 2 >= sizeof(dir))
			return jail_fail(err, err_size, "cgroup: %s/...: path too long", dir);
		snprintf(dir + o, sizeof(dir) - o, "/%.*s", (int)len, *p ? p : id);
		o += len + 1;
		if (mkdir(dir, 0755) == 0)
			jail_undo_add(u, dir, true, false);
		else if (errno != EEXIST)
			return jail_fail(err, err_size, "cgroup: cannot make %s: %s", dir,
					 strerror(errno));
		if (!*p)
			break;
		p += len;
	}
	for (size_t i = 0; i < n; i++)
		if (write_file(dir, s[i].file, s[i].value, err, err_size))
			return -1;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	return write_file(dir, "cgroup.procs", pid, err, err_size);
}
