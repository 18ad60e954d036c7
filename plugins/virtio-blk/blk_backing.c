/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backing store: a raw image file or a block device, opened by the plugin in create.
 *
 * Why the plugin opens the path itself: ABI 1.0 has no host service that hands a device an
 * opened file. The SDK design prefers ember opening files (and passing fds) so a sandboxed
 * plugin needs no open(2); when the ABI grows that service, this is the one place to change.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk.h"

int blk_backing_open(struct ember_instance *blk)
{
	const struct ember_host *host = blk->host;
	struct stat st;
	int rc;

	blk->fd = open(blk->path, (blk->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (blk->fd < 0) {
		rc = -errno;
		host->log(host, EMBER_LOG_ERROR, "path \"%s\": cannot open %s: %s", blk->path,
			  blk->read_only ? "for reading" : "for reading and writing",
			  strerror(-rc));
		return rc;
	}
	if (fstat(blk->fd, &st) < 0) {
		rc = -errno;
		host->log(host, EMBER_LOG_ERROR, "path \"%s\": %s", blk->path, strerror(-rc));
		goto fail;
	}
	blk->logical_block = BLK_SECTOR;
	if (S_ISBLK(st.st_mode)) {
		int ssz = 0;

		blk->is_blockdev = true;
		if (ioctl(blk->fd, BLKGETSIZE64, &blk->size_bytes) < 0) {
			rc = -errno;
			host->log(host, EMBER_LOG_ERROR, "path \"%s\": BLKGETSIZE64: %s", blk->path,
				  strerror(-rc));
			goto fail;
		}
		if (ioctl(blk->fd, BLKSSZGET, &ssz) == 0 && ssz >= (int)BLK_SECTOR &&
		    ssz <= 65536 && !(ssz & (ssz - 1)))
			blk->logical_block = (uint32_t)ssz;
	} else if (S_ISREG(st.st_mode)) {
		blk->size_bytes = (uint64_t)st.st_size;
	} else {
		rc = -EINVAL;
		host->log(host, EMBER_LOG_ERROR,
			  "path \"%s\": not a regular file or a block device", blk->path);
		goto fail;
	}
	/* The guest sees whole sectors; a partial tail sector stays out of reach. */
	blk->size_bytes &= ~(uint64_t)(BLK_SECTOR - 1);
	return 0;
fail:
	close(blk->fd);
	blk->fd = -1;
	return rc;
}

void blk_backing_close(struct ember_instance *blk)
{
	if (blk->fd >= 0)
		close(blk->fd);
	blk->fd = -1;
}
