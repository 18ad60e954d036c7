/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk requests (virtio 1.x 5.2.6): a 16-byte header the device reads, the data (read
 * or written depending on the type), and one status byte the device writes, last.
 *
 * What the guest can get wrong, and what it gets back:
 * - no header, no status byte, data in the wrong direction for the type: the request cannot
 *   be answered in the virtio way, so the device goes to NEEDS_RESET (-EIO from here);
 * - lengths not a multiple of 512, more than we advertised (seg_max, size_max), sectors past
 *   the end, a write to a read-only disk, a chain we cannot map: VIRTIO_BLK_S_IOERR;
 * - a type we do not know or did not offer, flags we do not know: VIRTIO_BLK_S_UNSUPP.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>

#include "blk.h"

struct blk_hdr {
	uint32_t type;
	uint32_t reserved; /* ioprio in legacy drivers: ignored */
	uint64_t sector;
};

struct blk_dwz_seg { /* virtio_blk_discard_write_zeroes */
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

static int answer(struct blk_req *req, uint8_t status)
{
	req->op = BLK_OP_DONE;
	req->status = status;
	req->data_written = 0;
	return 0;
}

/* True when [sector, sector + bytes) lies inside the disk (overflow-safe). */
static bool in_range(const struct ember_instance *blk, uint64_t sector, uint64_t bytes)
{
	uint64_t sectors = blk->size_bytes / BLK_SECTOR;

	return sector <= sectors && bytes <= (sectors - sector) * BLK_SECTOR;
}

/* Drops `skip` bytes from the front of iov[0..*n). */
static void iov_skip_front(struct iovec *iov, uint32_t *n, uint64_t skip)
{
	uint32_t i = 0;

	while (i < *n && skip >= iov[i].iov_len)
		skip -= iov[i++].iov_len;
	if (i < *n) {
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + skip;
		iov[i].iov_len -= skip;
	}
	memmove(iov, iov + i, (*n - i) * sizeof(*iov));
	*n -= i;
}

/* Drops the last byte of iov[0..*n) (the status byte, which we write separately). */
static void iov_drop_last_byte(struct iovec *iov, uint32_t *n)
{
	while (*n && iov[*n - 1].iov_len == 0)
		(*n)--;
	if (*n && --iov[*n - 1].iov_len == 0)
		(*n)--;
}

static int parse_rw(struct ember_instance *blk, struct blk_req *req, uint64_t sector, uint64_t len,
		    bool read)
{
	const struct ember_host *host = blk->host;
	int n;

	if (len % BLK_SECTOR || len > (uint64_t)blk->seg_max * BLK_SIZE_MAX) {
		host->log(host, EMBER_LOG_DEBUG, "request of %llu data bytes: not served",
			  (unsigned long long)len);
		return answer(req, VIRTIO_BLK_S_IOERR);
	}
	if (!in_range(blk, sector, len)) {
		host->log(host, EMBER_LOG_DEBUG, "sector %llu + %llu bytes: past the end",
			  (unsigned long long)sector, (unsigned long long)len);
		return answer(req, VIRTIO_BLK_S_IOERR);
	}
	if (len == 0)
		return answer(req, VIRTIO_BLK_S_OK);
	n = host->chain_map(host, req->chain, read, req->iov, BLK_IOV_MAX);
	if (n < 0) {
		host->log(host, EMBER_LOG_DEBUG, "request with more segments than seg_max");
		return answer(req, VIRTIO_BLK_S_IOERR);
	}
	req->iov_count = (uint32_t)n;
	if (read)
		iov_drop_last_byte(req->iov, &req->iov_count);
	else
		iov_skip_front(req->iov, &req->iov_count, BLK_HDR_BYTES);
	req->op = read ? BLK_OP_READ : BLK_OP_WRITE;
	req->offset = sector * BLK_SECTOR;
	req->len = len;
	req->data_written = read ? (uint32_t)len : 0;
	return 0;
}

static int parse_dwz(struct ember_instance *blk, struct blk_req *req, uint32_t type,
		     uint64_t data_len)
{
	const struct ember_host *host = blk->host;
	struct blk_dwz_seg seg;
	bool unmap;

	/* We advertise one segment per request (max_discard_seg = max_write_zeroes_seg = 1). */
	if (data_len != sizeof(seg) ||
	    host->chain_read(host, req->chain, BLK_HDR_BYTES, &seg, sizeof(seg)) != sizeof(seg))
		return answer(req, VIRTIO_BLK_S_IOERR);
	unmap = seg.flags & VIRTIO_BLK_WZ_F_UNMAP;
	/* 5.2.6.2: discard with the unmap flag, or any unknown flag, is UNSUPP. */
	if (seg.flags & ~VIRTIO_BLK_WZ_F_UNMAP || (type == VIRTIO_BLK_T_DISCARD && unmap))
		return answer(req, VIRTIO_BLK_S_UNSUPP);
	if (seg.num_sectors > BLK_DWZ_SECTORS ||
	    !in_range(blk, seg.sector, (uint64_t)seg.num_sectors * BLK_SECTOR))
		return answer(req, VIRTIO_BLK_S_IOERR);
	if (seg.num_sectors == 0)
		return answer(req, VIRTIO_BLK_S_OK);
	req->op = BLK_OP_FALLOCATE;
	req->offset = seg.sector * BLK_SECTOR;
	req->len = (uint64_t)seg.num_sectors * BLK_SECTOR;
	/* Write-zeroes may leave a hole only when the guest allows it and discard is enabled. */
	if (type == VIRTIO_BLK_T_DISCARD || (unmap && blk->discard))
		req->fallocate_mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	else
		req->fallocate_mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	return 0;
}

int blk_request_parse(struct ember_instance *blk, struct blk_req *req, const char **why)
{
	const struct ember_host *host = blk->host;
	const struct ember_vq_chain *chain = req->chain;
	struct blk_hdr hdr;
	uint64_t data_out, data_in;

	if (chain->readable_bytes < BLK_HDR_BYTES) {
		*why = "request without its 16-byte header";
		return -EIO;
	}
	if (chain->writable_bytes < 1) {
		*why = "request without a status byte";
		return -EIO;
	}
	if (host->chain_read(host, chain, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
		*why = "request header not readable";
		return -EIO;
	}
	data_out = chain->readable_bytes - BLK_HDR_BYTES; /* driver -> device */
	data_in = chain->writable_bytes - 1;		  /* device -> driver */
	req->op = BLK_OP_DONE;
	req->status = VIRTIO_BLK_S_OK;
	req->data_written = 0;
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
		if (data_out) {
			*why = "read request with device-readable data";
			return -EIO;
		}
		return parse_rw(blk, req, hdr.sector, data_in, true);
	case VIRTIO_BLK_T_OUT:
		if (data_in) {
			*why = "write request with device-writable data";
			return -EIO;
		}
		if (blk->read_only)
			return answer(req, VIRTIO_BLK_S_IOERR);
		return parse_rw(blk, req, hdr.sector, data_out, false);
	case VIRTIO_BLK_T_FLUSH:
		/* cache = "unsafe": the guest is told its data is safe without an fdatasync. */
		if (blk->unsafe_cache || blk->read_only)
			return answer(req, VIRTIO_BLK_S_OK);
		req->op = BLK_OP_FLUSH;
		return 0;
	case VIRTIO_BLK_T_GET_ID: {
		/* The NUL-padded id: 20 bytes (no terminator when all are used), fewer if the
		 * buffer is shorter. A longer buffer keeps its tail; blk_complete then counts only
		 * the id bytes in the used length, the status byte not following them. */
		uint64_t n = data_in < VIRTIO_BLK_ID_BYTES ? data_in : VIRTIO_BLK_ID_BYTES;

		if (host->chain_write(host, chain, 0, blk->serial, n) != (int64_t)n)
			return answer(req, VIRTIO_BLK_S_IOERR);
		answer(req, VIRTIO_BLK_S_OK);
		req->data_written = (uint32_t)n;
		return 0;
	}
	case VIRTIO_BLK_T_DISCARD:
		if (!blk->discard)
			return answer(req, VIRTIO_BLK_S_UNSUPP);
		if (blk->read_only)
			return answer(req, VIRTIO_BLK_S_IOERR);
		return parse_dwz(blk, req, hdr.type, data_out);
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (blk->read_only)
			return answer(req, VIRTIO_BLK_S_IOERR);
		return parse_dwz(blk, req, hdr.type, data_out);
	default:
		return answer(req, VIRTIO_BLK_S_UNSUPP);
	}
}
