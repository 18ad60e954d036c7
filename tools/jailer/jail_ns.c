/* SPDX-License-Identifier: Apache-2.0 */
#include "jail_ns.h"
#include "jail_err.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define OLD_ROOT "old_root"

int jail_join_netns(const char *path, char *err, size_t err_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return jail_fail(err, err_size, "--netns %s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET)) {
		int e = errno;

		close(fd);
		return jail_fail(err, err_size, "--netns %s: cannot join it: %s", path,
				 e == EINVAL ? "not a network namespace" : strerror(e));
	}
	close(fd);
	return 0;
}

/* The current root is the initial ramfs (rootfs), where pivot_root cannot be used. */
static int root_is_initramfs(void)
{
	struct statfs sf;

	return statfs("/", &sf) == 0 && (sf.f_type == RAMFS_MAGIC || sf.f_type == TMPFS_MAGIC);
}

int jail_enter_root(const char *root, char *err, size_t err_size)
{
	if (unshare(CLONE_NEWNS))
		return jail_fail(err, err_size, "unshare(CLONE_NEWNS): %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL))
		return jail_fail(err, err_size, "cannot make / a slave mount: %s", strerror(errno));
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL))
		return jail_fail(err, err_size, "cannot bind %s onto itself: %s", root,
				 strerror(errno));
	if (chdir(root))
		return jail_fail(err, err_size, "chdir %s: %s", root, strerror(errno));
	if (mkdir(OLD_ROOT, 0700) && errno != EEXIST)
		return jail_fail(err, err_size, "cannot make %s/%s: %s", root, OLD_ROOT,
				 strerror(errno));
	if (syscall(SYS_pivot_root, ".", OLD_ROOT) == 0) {
		if (chdir("/"))
			return jail_fail(err, err_size, "chdir / in the jail: %s", strerror(errno));
		if (umount2("/" OLD_ROOT, MNT_DETACH))
			return jail_fail(err, err_size, "cannot detach the old root: %s",
					 strerror(errno));
		if (rmdir("/" OLD_ROOT))
			return jail_fail(err, err_size, "cannot remove /%s: %s", OLD_ROOT,
					 strerror(errno));
	} else {
		int e = errno;

		rmdir(OLD_ROOT);
		if (e != EINVAL || !root_is_initramfs())
			return jail_fail(err, err_size, "pivot_root into %s: %s", root,
					 strerror(e));
		if (mount(".", "/", NULL, MS_MOVE, NULL))
			return jail_fail(err, err_size,
					 "pivot_root into %s: %s; moving it over the initramfs "
					 "root: %s",
					 root, strerror(e), strerror(errno));
	}
	if (chroot("."))
		return jail_fail(err, err_size, "chroot into %s: %s", root, strerror(errno));
	if (chdir("/"))
		return jail_fail(err, err_size, "chdir / in the jail: %s", strerror(errno));
	return 0;
}

static int own_dir(const char *path, uid_t uid, gid_t gid, char *err, size_t err_size)
{
	struct stat st;

	if (mkdir(path, 0700) && errno != EEXIST)
		return jail_fail(err, err_size, "cannot make %s in the jail: %s", path,
				 strerror(errno));
	if (lstat(path, &st) || !S_ISDIR(st.st_mode))
		return jail_fail(err, err_size, "%s in the jail: not a folder", path);
	if (chown(path, uid, gid))
		return jail_fail(err, err_size, "chown %s in the jail: %s", path, strerror(errno));
	return 0;
}

static int make_node(const char *path, unsigned major_nr, unsigned minor_nr, uid_t uid, gid_t gid,
		     char *err, size_t err_size)
{
	if (unlink(path) && errno != ENOENT)
		return jail_fail(err, err_size, "cannot replace %s in the jail: %s", path,
				 strerror(errno));
	if (mknod(path, S_IFCHR | 0600, makedev(major_nr, minor_nr)))
		return jail_fail(err, err_size, "mknod %s (%u,%u) in the jail: %s%s", path,
				 major_nr, minor_nr, strerror(errno),
				 errno == EPERM ? " (the jailer needs CAP_MKNOD)" : "");
	if (chown(path, uid, gid))
		return jail_fail(err, err_size, "chown %s in the jail: %s", path, strerror(errno));
	return 0;
}

int jail_make_nodes(uid_t uid, gid_t gid, char *err, size_t err_size)
{
	static const char *const dirs[] = {"/", "/dev", "/dev/net", "/run"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (own_dir(dirs[i], uid, gid, err, err_size))
			return -1;
	if (chmod("/", 0700))
		return jail_fail(err, err_size, "chmod / in the jail: %s", strerror(errno));
	if (make_node("/dev/kvm", 10, 232, uid, gid, err, err_size) ||
	    make_node("/dev/net/tun", 10, 200, uid, gid, err, err_size) ||
	    make_node("/dev/urandom", 1, 9, uid, gid, err, err_size))
		return -1;
	return 0;
}
