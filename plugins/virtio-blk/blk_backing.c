/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backing store: a raw image file or a block device, opened by the plugin in create and by
 * swap_backing while the guest runs.
 *
 * Why the plugin opens the path itself: ABI 1.2 has no host service that hands a device an
 * opened file. The SDK design prefers ember opening files (and passing fds) so a sandboxed
 * plugin needs no open(2); when the ABI grows that service, this is the one place to change
 * (and the openat rule in blk_main.c's syscall table goes).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk.h"

int blk_backing_open(const char *path, bool read_only, struct blk_backing *out, char *msg,
		     size_t msg_size)
{
	struct stat st;
	int fd, rc;

	*out = (struct blk_backing){.fd = -1, .read_only = read_only};
	if (msg_size)
		msg[0] = '\0';
	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(msg, msg_size, "path \"%s\": cannot open %s: %s", path,
			 read_only ? "for reading" : "for reading and writing", strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(msg, msg_size, "path \"%s\": %s", path, strerror(-rc));
		goto fail;
	}
	out->logical_block = BLK_SECTOR;
	if (S_ISBLK(st.st_mode)) {
		int ssz = 0;

		out->is_blockdev = true;
		if (ioctl(fd, BLKGETSIZE64, &out->size_bytes) < 0) {
			rc = -errno;
			snprintf(msg, msg_size, "path \"%s\": BLKGETSIZE64: %s", path,
				 strerror(-rc));
			goto fail;
		}
		if (ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz >= (int)BLK_SECTOR && ssz <= 65536 &&
		    !(ssz & (ssz - 1)))
			out->logical_block = (uint32_t)ssz;
	} else if (S_ISREG(st.st_mode)) {
		out->size_bytes = (uint64_t)st.st_size;
	} else {
		rc = -EINVAL;
		snprintf(msg, msg_size, "path \"%s\": not a regular file or a block device", path);
		goto fail;
	}
	/*
	 * The guest sees whole sectors; a partial last sector stays out of its reach (as in
	 * Firecracker, whose clients pad their placeholder files to 512 bytes for that reason).
	 * Zero bytes is a disk too: a placeholder that swap_backing replaces later.
	 */
	if (out->size_bytes % BLK_SECTOR)
		snprintf(msg, msg_size, "path \"%s\": the last %llu bytes are not a whole sector",
			 path, (unsigned long long)(out->size_bytes % BLK_SECTOR));
	out->size_bytes &= ~(uint64_t)(BLK_SECTOR - 1);
	out->fd = fd;
	return 0;
fail:
	close(fd);
	return rc;
}

void blk_backing_close(struct ember_instance *blk)
{
	if (blk->fd >= 0)
		close(blk->fd);
	blk->fd = -1;
}
