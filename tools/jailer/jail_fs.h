/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jail folder and the files copied into it. Everything inside the jail is made relative to
 * an fd of its root folder and one path component at a time without following symlinks, so a
 * link left in a reused jail (whose root the jailed user owns) cannot send a copy outside it.
 * Each file or folder made is recorded in a jail_undo, which removes them again (newest first)
 * when a later step fails.
 */
#ifndef EMBER_JAIL_FS_H
#define EMBER_JAIL_FS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define JAIL_UNDO_MAX 512

struct jail_undo_entry {
	char path[PATH_MAX]; /* absolute, or relative to the jail root's fd */
	bool is_dir;
	bool in_jail; /* path is relative to root_fd */
};

struct jail_undo {
	int root_fd;
	struct jail_undo_entry *entries;
	size_t count;
};

/* <base>/<exec_name>/<id>/root into out; -1 with a message when it does not fit. */
int jail_root_path(const char *base, const char *exec_name, const char *id, char *out, size_t size,
		   char *err, size_t err_size);

/*
 * The folder that `<exe_dir>/<reldir>` names when exe_dir is "/" (the jailed monitor sits at
 * /<exec name>): reldir with "." and ".." resolved from the root, "/" + the rest. -1 when it
 * does not fit.
 */
int jail_reldir_in_root(const char *reldir, char *out, size_t size);

/* The last part of path (the exec name); NULL when it has none usable ("", ".", ".."). */
const char *jail_exec_name(const char *path);

int jail_undo_init(struct jail_undo *u);
/* Records a path made (in_jail: relative to u->root_fd). A full log keeps the path. */
void jail_undo_add(struct jail_undo *u, const char *path, bool is_dir, bool in_jail);
/* Removes every recorded path, newest first, then forgets them. */
void jail_undo_run(struct jail_undo *u);
/* Forgets the records (the jail stays). */
void jail_undo_free(struct jail_undo *u);

/* mkdir -p of an absolute path, recording each folder made. */
int jail_mkdir_abs(struct jail_undo *u, const char *path, char *err, size_t err_size);

/* mkdir -p of rel (no leading '/') inside the jail (mode for the folders made); fd or -1. */
int jail_open_dir(struct jail_undo *u, const char *rel, mode_t mode, char *err, size_t err_size);

/*
 * Copies the host file src (symlinks followed) to rel inside the jail, with mode; the parents
 * are made 0755. A file already there is replaced (by rename: a hard link to it keeps its
 * content).
 */
int jail_copy_in(struct jail_undo *u, const char *src, const char *rel, mode_t mode, char *err,
		 size_t err_size);

/*
 * The regular files named *suffix in host folder dir (not recursive), sorted, as malloc'ed
 * "dir/name" strings into *out (*count); 0 with none when dir is absent and may_lack.
 */
int jail_list_files(const char *dir, const char *suffix, bool may_lack, char ***out, size_t *count,
		    char *err, size_t err_size);
void jail_list_free(char **list, size_t count);

#endif
