/* SPDX-License-Identifier: Apache-2.0 */
#include "jail_fs.h"
#include "jail_err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

int jail_root_path(const char *base, const char *exec_name, const char *id, char *out, size_t size,
		   char *err, size_t err_size)
{
	size_t n = strlen(base);
	int w;

	while (n > 1 && base[n - 1] == '/')
		n--;
	w = snprintf(out, size, "%.*s%s%s/%s/root", (int)n, base,
		     n == 1 && base[0] == '/' ? "" : "/", exec_name, id);
	if (w < 0 || (size_t)w >= size)
		return jail_fail(err, err_size, "--chroot-base-dir %s: the jail path is too long",
				 base);
	return 0;
}

int jail_reldir_in_root(const char *reldir, char *out, size_t size)
{
	size_t o = 0;
	const char *p = reldir;

	if (size < 2)
		return -1;
	out[o++] = '/';
	out[o] = '\0';
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			/* up one part; ".." of the root is the root */
			char *s = strrchr(out, '/');

			o = s == out ? 1 : (size_t)(s - out);
			out[o] = '\0';
		} else if (n && !(n == 1 && p[0] == '.')) {
			if (o > 1) {
				if (o + 1 >= size)
					return -1;
				out[o++] = '/';
			}
			if (o + n >= size)
				return -1;
			memcpy(out + o, p, n);
			o += n;
			out[o] = '\0';
		}
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

const char *jail_exec_name(const char *path)
{
	size_t n = strlen(path);
	const char *s;

	while (n > 0 && path[n - 1] == '/')
		n--;
	if (n == 0 || n != strlen(path))
		return NULL; /* a trailing '/' names a folder, not a file */
	s = strrchr(path, '/');
	s = s ? s + 1 : path;
	if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return NULL;
	return s;
}

int jail_undo_init(struct jail_undo *u)
{
	u->root_fd = -1;
	u->count = 0;
	u->entries = calloc(JAIL_UNDO_MAX, sizeof(*u->entries));
	return u->entries ? 0 : -1;
}

/* Records path; when the log is full the path just stays (nothing else goes wrong). */
void jail_undo_add(struct jail_undo *u, const char *path, bool is_dir, bool in_jail)
{
	struct jail_undo_entry *e;

	if (!u || u->count == JAIL_UNDO_MAX)
		return;
	e = &u->entries[u->count++];
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->is_dir = is_dir;
	e->in_jail = in_jail;
}

void jail_undo_run(struct jail_undo *u)
{
	while (u->count) {
		struct jail_undo_entry *e = &u->entries[--u->count];
		int flags = e->is_dir ? AT_REMOVEDIR : 0;

		if (e->in_jail && u->root_fd >= 0)
			unlinkat(u->root_fd, e->path, flags);
		else if (!e->in_jail)
			unlinkat(AT_FDCWD, e->path, flags);
	}
}

void jail_undo_free(struct jail_undo *u)
{
	free(u->entries);
	u->entries = NULL;
	u->count = 0;
}

int jail_mkdir_abs(struct jail_undo *u, const char *path, char *err, size_t err_size)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf) || path[0] != '/')
		return jail_fail(err, err_size, "%s: not an absolute path that fits", path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		struct stat st;

		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) == 0) {
			jail_undo_add(u, buf, true, false);
		} else if (errno != EEXIST) {
			return jail_fail(err, err_size, "cannot make the folder %s: %s", buf,
					 strerror(errno));
		} else if (stat(buf, &st) || !S_ISDIR(st.st_mode)) {
			return jail_fail(err, err_size, "%s: exists and is not a folder", buf);
		}
		if (i < n)
			buf[i] = '/';
	}
	return 0;
}

int jail_open_dir(struct jail_undo *u, const char *rel, mode_t mode, char *err, size_t err_size)
{
	char done[PATH_MAX];
	size_t o = 0;
	const char *p = rel;
	int fd = dup(u->root_fd);

	if (fd < 0)
		return jail_fail(err, err_size, "dup: %s", strerror(errno));
	done[0] = '\0';
	while (*p) {
		size_t n = strcspn(p, "/");
		char part[NAME_MAX + 1];
		int next;

		if (n == 0) {
			p++;
			continue;
		}
		if (n > NAME_MAX || (n == 2 && !strncmp(p, "..", 2)) || o + n + 2 >= sizeof(done)) {
			close(fd);
			return jail_fail(err, err_size, "/%s: not a path inside the jail", rel);
		}
		memcpy(part, p, n);
		part[n] = '\0';
		o += (size_t)snprintf(done + o, sizeof(done) - o, "%s%s", o ? "/" : "", part);
		if (mkdirat(fd, part, mode) == 0) {
			jail_undo_add(u, done, true, true);
		} else if (errno != EEXIST) {
			jail_fail(err, err_size, "cannot make the folder /%s in the jail: %s", done,
				  strerror(errno));
			close(fd);
			return -1;
		}
		next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			jail_fail(err, err_size, "/%s in the jail: %s", done,
				  errno == ELOOP || errno == ENOTDIR ? "not a folder (a link?)"
								     : strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		fd = next;
		p += n;
	}
	return fd;
}

static int copy_fd(int in, int out, off_t size)
{
	off_t done = 0;

	while (done < size) {
		ssize_t n = sendfile(out, in, NULL, (size_t)(size - done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

int jail_copy_in(struct jail_undo *u, const char *src, const char *rel, mode_t mode, char *err,
		 size_t err_size)
{
	char parent[PATH_MAX], tmp[NAME_MAX + 1];
	const char *name = strrchr(rel, '/');
	struct stat st, old;
	int in = -1, out = -1, dir = -1, rc = -1;
	bool existed;

	if (snprintf(parent, sizeof(parent), "%.*s", name ? (int)(name - rel) : 0, rel) >=
	    (int)sizeof(parent))
		return jail_fail(err, err_size, "/%s: path too long", rel);
	name = name ? name + 1 : rel;
	if (!*name || strlen(name) + 20 > NAME_MAX)
		return jail_fail(err, err_size, "/%s: not a file name", rel);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return jail_fail(err, err_size, "cannot read %s: %s", src, strerror(errno));
	if (fstat(in, &st) || !S_ISREG(st.st_mode)) {
		jail_fail(err, err_size, "%s: not a regular file", src);
		goto out;
	}
	dir = jail_open_dir(u, parent, 0755, err, err_size);
	if (dir < 0)
		goto out;
	existed = fstatat(dir, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
	snprintf(tmp, sizeof(tmp), ".%s.ember-jailer", name);
	unlinkat(dir, tmp, 0);
	out = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		jail_fail(err, err_size, "cannot create /%s in the jail: %s", rel, strerror(errno));
		goto out;
	}
	if (copy_fd(in, out, st.st_size) || fchmod(out, mode) || close(out)) {
		jail_fail(err, err_size, "cannot copy %s to /%s in the jail: %s", src, rel,
			  strerror(errno));
		out = -1;
		unlinkat(dir, tmp, 0);
		goto out;
	}
	out = -1;
	if (renameat(dir, tmp, dir, name)) {
		jail_fail(err, err_size, "cannot place /%s in the jail: %s", rel, strerror(errno));
		unlinkat(dir, tmp, 0);
		goto out;
	}
	if (!existed)
		jail_undo_add(u, rel, false, true);
	rc = 0;
out:
	if (out >= 0)
		close(out);
	if (dir >= 0)
		close(dir);
	close(in);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void jail_list_free(char **list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(list[i]);
	free(list);
}

int jail_list_files(const char *dir, const char *suffix, bool may_lack, char ***out, size_t *count,
		    char *err, size_t err_size)
{
	size_t n = 0, cap = 0, sl = strlen(suffix);
	char **list = NULL;
	struct dirent *e;
	DIR *d = opendir(dir);

	*out = NULL;
	*count = 0;
	if (!d) {
		if (may_lack && errno == ENOENT)
			return 0;
		return jail_fail(err, err_size, "%s: %s", dir, strerror(errno));
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct stat st;
		char *path;

		if (len <= sl || strcmp(e->d_name + len - sl, suffix) || e->d_name[0] == '.')
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0)
			goto oom;
		if (stat(path, &st) || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			char **grown = realloc(list, (cap ? cap * 2 : 16) * sizeof(*list));

			if (!grown) {
				free(path);
				goto oom;
			}
			list = grown;
			cap = cap ? cap * 2 : 16;
		}
		list[n++] = path;
	}
	closedir(d);
	if (n)
		qsort(list, n, sizeof(*list), cmp_str);
	*out = list;
	*count = n;
	return 0;
oom:
	closedir(d);
	jail_list_free(list, n);
	return jail_fail(err, err_size, "out of memory");
}
