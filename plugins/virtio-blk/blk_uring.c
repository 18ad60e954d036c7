/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The io_uring engine. One ring per device, shared by its queues:
 * - a queue kick prepares one SQE per request and submits the batch with one io_uring_enter;
 * - the kernel signals an eventfd registered with the ring; ember's event loop watches it and
 *   we reap every CQE there, push the chains, and notify each touched queue once;
 * - FLUSH carries IOSQE_IO_DRAIN: it starts only after every earlier request completed (so the
 *   writes it must cover are on the file), and later requests wait for it.
 * The ring has one SQ entry per request slot and one CQ entry more (for a swap's barrier, below),
 * so neither can overflow.
 * The ring can do nothing else (uring_restrict.h): created disabled, the backing file
 * registered with the eventfd, restricted to the four opcodes below with IOSQE_FIXED_FILE
 * required, then enabled. The registered file table has two slots: SQEs name the backing's
 * (blk->file_slot), and swap_backing registers the new file in the other one
 * (IORING_REGISTER_FILES_UPDATE, the one register call the ring still allows: it can only put
 * files the plugin opened itself in reach), so a swap changes which slot new SQEs name once the
 * old slot's requests are done.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "blk.h"
#include "uring_restrict.h"

/* Registered file slots: the backing's and the one a swap's new file waits in. */
#define BLK_FILE_SLOTS 2

static const uint8_t blk_uring_ops[] = {IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
					IORING_OP_FALLOCATE};
static const struct uring_limits blk_uring_limits = {
    .ops = blk_uring_ops,
    .op_count = sizeof(blk_uring_ops) / sizeof(blk_uring_ops[0]),
    .sqe_flags_allowed = IOSQE_FIXED_FILE | IOSQE_IO_DRAIN,
    .sqe_flags_required = IOSQE_FIXED_FILE,
    .register_ops = (const uint8_t[]){IORING_REGISTER_FILES_UPDATE},
    .register_op_count = 1,
};

static void on_completions(void *arg, int fd, uint32_t revents);

int blk_uring_init(struct ember_instance *blk, uint32_t entries)
{
	const struct ember_host *host = blk->host;
	/* One CQE more than request slots: swap_backing's barrier may be in flight with them. */
	struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE, .cq_entries = entries + 1};
	int files[BLK_FILE_SLOTS] = {blk->fd, -1};
	int rc;

	rc = uring_setup_disabled(entries, &blk->ring, &p);
	if (rc < 0) {
		host->log(
		    host, EMBER_LOG_ERROR,
		    "io_uring: %s (is io_uring disabled? see /proc/sys/kernel/io_uring_disabled)",
		    strerror(-rc));
		return rc;
	}
	blk->ring_ready = true;
	blk->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (blk->event_fd < 0) {
		rc = -errno;
		host->log(host, EMBER_LOG_ERROR, "eventfd: %s", strerror(-rc));
		return rc;
	}
	rc = io_uring_register_eventfd(&blk->ring, blk->event_fd);
	if (rc < 0) {
		host->log(host, EMBER_LOG_ERROR, "io_uring: registering the eventfd: %s",
			  strerror(-rc));
		return rc;
	}
	blk->file_slot = 0;
	rc = io_uring_register_files(&blk->ring, files, BLK_FILE_SLOTS);
	if (rc < 0) {
		host->log(host, EMBER_LOG_ERROR, "io_uring: registering the backing file: %s",
			  strerror(-rc));
		return rc;
	}
	rc = uring_restrict_and_enable(&blk->ring, &blk_uring_limits);
	if (rc < 0) {
		host->log(host, EMBER_LOG_ERROR, "io_uring: restricting the ring: %s",
			  strerror(-rc));
		return rc;
	}
	blk->watch = host->watch_add(host, blk->event_fd, EMBER_WATCH_IN, on_completions, blk);
	if (blk->watch < 0) {
		host->log(host, EMBER_LOG_ERROR, "cannot watch the completion eventfd: %d",
			  blk->watch);
		return blk->watch;
	}
	return 0;
}

void blk_uring_exit(struct ember_instance *blk)
{
	if (blk->watch >= 0)
		blk->host->watch_remove(blk->host, blk->watch);
	blk->watch = -1;
	if (blk->ring_ready)
		io_uring_queue_exit(&blk->ring);
	blk->ring_ready = false;
	if (blk->event_fd >= 0)
		close(blk->event_fd);
	blk->event_fd = -1;
}

bool blk_uring_queue(struct ember_instance *blk, struct blk_req *req)
{
	struct io_uring_sqe *sqe;

	/* Not I/O: the caller's bug. Checked before taking an SQE, which would go out unset. */
	if (req->op == BLK_OP_DONE)
		return false;
	sqe = io_uring_get_sqe(&blk->ring);
	if (!sqe)
		return false;
	switch (req->op) {
	case BLK_OP_READ:
		io_uring_prep_readv(sqe, (int)blk->file_slot, req->iov, req->iov_count,
				    req->offset);
		break;
	case BLK_OP_WRITE:
		io_uring_prep_writev(sqe, (int)blk->file_slot, req->iov, req->iov_count,
				     req->offset);
		break;
	case BLK_OP_FLUSH:
		io_uring_prep_fsync(sqe, (int)blk->file_slot, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_flags(sqe, IOSQE_IO_DRAIN);
		break;
	case BLK_OP_FALLOCATE:
		io_uring_prep_fallocate(sqe, (int)blk->file_slot, req->fallocate_mode,
					(off_t)req->offset, (off_t)req->len);
		break;
	case BLK_OP_DONE:
		break;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, req);
	blk->sq_pending++;
	return true;
}

int blk_uring_queue_swap_barrier(struct ember_instance *blk)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&blk->ring);

	if (!sqe)
		return -EBUSY;
	/*
	 * A full fsync, not the FLUSH's datasync: the file is closed next and nothing of the
	 * device syncs it again. IO_DRAIN: it starts after every request before it finished.
	 */
	io_uring_prep_fsync(sqe, (int)blk->file_slot, 0);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE | IOSQE_IO_DRAIN);
	io_uring_sqe_set_data(sqe, NULL); /* not a guest request */
	blk->sq_pending++;
	return 0;
}

int blk_uring_set_file(struct ember_instance *blk, uint32_t slot, int fd)
{
	int rc = uring_files_update(&blk->ring, slot, &fd, 1);

	return rc < 0 ? rc : 0;
}

void blk_uring_submit(struct ember_instance *blk)
{
	int rc;

	if (!blk->sq_pending)
		return;
	rc = io_uring_submit(&blk->ring);
	if (rc < 0)
		/* The SQEs stay queued; the next kick or completion submits them again. */
		blk->host->log(blk->host, EMBER_LOG_WARN, "io_uring_submit: %s", strerror(-rc));
	else
		blk->sq_pending -= (uint32_t)rc < blk->sq_pending ? (uint32_t)rc : blk->sq_pending;
}

/* Status of a finished request from its CQE result. */
static uint8_t status_of(struct ember_instance *blk, const struct blk_req *req, int res)
{
	const struct ember_host *host = blk->host;

	if (res < 0) {
		if (req->op == BLK_OP_FALLOCATE && (res == -EOPNOTSUPP || res == -EINVAL))
			return VIRTIO_BLK_S_UNSUPP;
		host->log(host, EMBER_LOG_WARN, "I/O error at byte %llu: %s",
			  (unsigned long long)req->offset, strerror(-res));
		return VIRTIO_BLK_S_IOERR;
	}
	/* A short transfer means the backing shrank under us or ran out of space. */
	if ((req->op == BLK_OP_READ || req->op == BLK_OP_WRITE) && (uint64_t)res != req->len) {
		host->log(host, EMBER_LOG_WARN, "short %s at byte %llu: %d of %llu bytes",
			  req->op == BLK_OP_READ ? "read" : "write",
			  (unsigned long long)req->offset, res, (unsigned long long)req->len);
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Completes every CQE there is; returns a bitmask of the queues that got chains back. */
static uint32_t reap(struct ember_instance *blk)
{
	struct io_uring_cqe *cqe;
	uint32_t touched = 0;

	while (io_uring_peek_cqe(&blk->ring, &cqe) == 0) {
		struct blk_req *req = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&blk->ring, cqe);
		if (!req) {
			blk_swap_finish(blk, res);
			continue;
		}
		req->status = status_of(blk, req, res);
		touched |= 1u << req->queue;
		blk_complete(blk, req);
	}
	return touched;
}

void blk_uring_complete(struct ember_instance *blk)
{
	const struct ember_host *host = blk->host;
	uint32_t touched = reap(blk);
	/* A swap finished: the queues it held (kicks went unserved meanwhile) go on. */
	bool resume = blk->swap.done;

	blk->swap.done = false;
	for (uint32_t q = 0; q < BLK_MAX_QUEUES; q++) {
		if (touched & (1u << q))
			host->vq_notify(host, q);
		/* Slots came free: a queue that stopped at queue_size requests may go on. */
		if (blk->queues[q].stalled || (resume && q < blk->num_queues)) {
			blk->queues[q].stalled = false;
			blk_serve_queue(blk, q);
		}
	}
	blk_uring_submit(blk);
}

static void on_completions(void *arg, int fd, uint32_t revents)
{
	struct ember_instance *blk = arg;
	uint64_t v;

	(void)revents;
	/* Clear first: a CQE posted after this read signals again, so none is missed. */
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		blk->host->log(blk->host, EMBER_LOG_WARN, "completion eventfd: %s",
			       strerror(errno));
	blk_uring_complete(blk);
}

/* SQEs of the device the kernel may still hold: requests, and a swap's barrier. */
static uint32_t in_flight(const struct ember_instance *blk)
{
	uint32_t n = blk->swap.pending ? 1 : 0;

	for (uint32_t q = 0; q < BLK_MAX_QUEUES; q++)
		n += blk->queues[q].in_flight;
	return n;
}

/*
 * Every request in flight is in the ring: prepared and not yet taken by the kernel (still in
 * the SQ ring), or the kernel's until its CQE comes. Destroy may return only when the kernel
 * has none left, or the I/O would run into guest RAM that ember unmaps next, and into our
 * freed iovecs.
 */
void blk_uring_drain(struct ember_instance *blk)
{
	const struct ember_host *host = blk->host;
	const struct timespec tick = {0, 1000000};
	bool can_enter = true;

	if (!blk->ring_ready)
		return;
	reap(blk);
	while (in_flight(blk) > (can_enter ? 0 : io_uring_sq_ready(&blk->ring))) {
		int rc;

		if (!can_enter) {
			/*
			 * Without io_uring_enter the kernel still finishes what it has: io-wq
			 * workers post their CQEs, and completions queued as task work to this
			 * thread run when any syscall returns, this sleep's included.
			 */
			nanosleep(&tick, NULL);
			reap(blk);
			continue;
		}
		rc = io_uring_submit_and_wait(&blk->ring, 1);
		if (rc >= 0) {
			blk->sq_pending = 0;
		} else if (rc != -EINTR) {
			host->log(host, EMBER_LOG_ERROR,
				  "waiting for I/O: %s; polling for the %u requests the kernel has",
				  strerror(-rc), in_flight(blk) - io_uring_sq_ready(&blk->ring));
			can_enter = false;
		}
		reap(blk);
	}
	if (can_enter)
		return;
	/*
	 * What is left never reached the kernel, and never will: the ring is closed next without
	 * another io_uring_enter. Fail it so its chain goes back.
	 */
	for (uint32_t i = 0; i < blk->slots; i++) {
		if (blk->reqs[i].chain) {
			blk->reqs[i].status = VIRTIO_BLK_S_IOERR;
			blk_complete(blk, &blk->reqs[i]);
		}
	}
	blk_swap_abandon(blk);
	blk->sq_pending = 0;
}
