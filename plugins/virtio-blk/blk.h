/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk (virtio 1.x, 5.2) on io_uring: the instance and the contracts between its parts.
 *
 *   blk_main.c     descriptor, options, create/destroy/reset, config space, queue kicks
 *   blk_backing.c  opening the backing file or block device, its size and sector size
 *   blk_control.c  rate-limit options, runtime controls (swap_backing, set_rate_limit, info)
 *   blk_request.c  turning a popped chain into a checked request (or a status right away)
 *   blk_uring.c    the io_uring engine: batched submissions, completions on the event loop
 *
 * Threads: every function here runs with ember's instance lock held (ops and callbacks), so
 * nothing locks. Nothing blocks: I/O goes to io_uring and completes through an eventfd that
 * ember's event loop watches; only destroy (main thread, VM stopped) waits for I/O.
 */
#ifndef EMBER_VIRTIO_BLK_H
#define EMBER_VIRTIO_BLK_H

#include <ember/virtio.h>
#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "token_bucket.h"

/* Feature bits (virtio 1.x 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX	  1
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_MQ		  12
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and statuses (5.2.6). */
#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK		  0
#define VIRTIO_BLK_S_IOERR	  1
#define VIRTIO_BLK_S_UNSUPP	  2
#define VIRTIO_BLK_WZ_F_UNMAP	  1u /* discard/write-zeroes segment flag */
#define VIRTIO_BLK_ID_BYTES	  20

#define BLK_SECTOR    512u
#define BLK_HDR_BYTES 16u
/* Declared to the transport; num_queues picks how many the guest uses. */
#define BLK_MAX_QUEUES	   16u
#define BLK_QUEUE_MAX_SIZE 256u /* QueueNumMax of every queue (the descriptor's) */
/*
 * Descriptors a request needs besides its data segments: the header, the status byte, and the
 * indirect descriptor itself when the driver uses one (Linux always does with INDIRECT_DESC,
 * which ember offers). ember's walker counts all of them against the queue size, so a queue of
 * N entries carries at most N - 3 data segments per request in either shape.
 */
#define BLK_SEG_OVERHEAD 3u
/* The smallest queue_size: room for one data segment (seg_max 1), as a power of two. */
#define BLK_QUEUE_MIN_SIZE 4u
/* Data segments per request the plugin takes at most (its iovec arrays); seg_max is lower on
 * queues smaller than BLK_SEG_MAX + BLK_SEG_OVERHEAD. */
#define BLK_SEG_MAX	126u
#define BLK_SIZE_MAX	(1u << 20)	  /* bytes per segment we promise to take */
#define BLK_IOV_MAX	(BLK_SEG_MAX + 2) /* + header/status sharing a descriptor with data */
#define BLK_DWZ_SECTORS (1u << 22)	  /* max discard / write-zeroes sectors per request */
#define BLK_CONFIG_SIZE 60u		  /* up to write_zeroes_may_unmap + padding */
_Static_assert((BLK_QUEUE_MIN_SIZE & (BLK_QUEUE_MIN_SIZE - 1)) == 0 &&
		   BLK_QUEUE_MIN_SIZE >= 1 + BLK_SEG_OVERHEAD,
	       "the smallest queue carries a one-segment request");

/* Device config space (5.2.4), little-endian (x86 only, like ember). */
struct virtio_blk_config {
	uint64_t capacity; /* 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
};
/* The device-defined part ends with unused1 (the struct itself is padded to 64). */
_Static_assert(offsetof(struct virtio_blk_config, unused1) + 3 == BLK_CONFIG_SIZE,
	       "virtio_blk_config layout");

enum blk_op {
	BLK_OP_DONE,	  /* answered without I/O: status is set */
	BLK_OP_READ,	  /* preadv into iov */
	BLK_OP_WRITE,	  /* pwritev from iov */
	BLK_OP_FLUSH,	  /* fdatasync after every earlier request */
	BLK_OP_FALLOCATE, /* discard or write-zeroes: fallocate(mode, offset, len) */
};

/* One request in flight: a popped chain and what to do for it. */
struct blk_req {
	struct ember_vq_chain *chain;
	enum blk_op op;
	uint8_t status; /* VIRTIO_BLK_S_* to write into the status byte */
	uint32_t queue;
	uint32_t epoch;	 /* device resets since create, at pop: a stale request only frees */
	uint64_t offset; /* bytes into the backing */
	uint64_t len;	 /* data bytes (READ/WRITE) or range bytes (FALLOCATE) */
	int fallocate_mode;
	/* Bytes of the data part (the writable part before the status byte) written from its
	 * start on success: a read's length, GET_ID's id bytes; 0 otherwise. */
	uint32_t data_written;
	uint32_t iov_count;
	struct blk_req *next; /* free list */
	struct iovec iov[BLK_IOV_MAX];
};

struct blk_queue {
	uint32_t in_flight; /* requests popped and not yet pushed (stale ones included) */
	bool stalled;	    /* stopped popping at queue_size requests in flight */
	/* Heads of this epoch's chains in flight: a driver may not make one available again
	 * before the device used it, so at most the guest's queue size are in flight. */
	uint64_t heads[BLK_QUEUE_MAX_SIZE / 64];
};

/* What blk_backing_open found: an opened file and what the guest may see of it. */
struct blk_backing {
	int fd;
	bool is_blockdev;
	bool read_only; /* opened O_RDONLY */
	uint64_t size_bytes;
	uint32_t logical_block;
};

/*
 * Buckets count milli-tokens: a Firecracker-shaped bucket (`size` tokens refilled over
 * `refill_ms`) is then exact to a thousandth of a token per second, slow ones included (one
 * request every 3 s would otherwise round to 0 or 1 per second).
 */
#define BLK_TB_SCALE 1000u

/* One rate limit: bytes or requests. */
struct blk_limit {
	struct token_bucket tb; /* in milli-tokens; rate 0: no limit */
	uint64_t one_time;	/* tokens of the one-time burst not yet spent */
	/* As given (or, for the per-second options, as the same bucket): for the info control. */
	uint64_t size, refill_ms, one_time_burst;
};

/*
 * The Firecracker-shaped rate-limit options, shared by the config group and set_rate_limit: per
 * bucket a size (tokens), the time to refill it from empty, and a one-time burst spent first and
 * never refilled. size 0 or refill_ms 0: no limit (Firecracker's rule).
 */
#define BLK_REFILL_MS_MAX 3600000
#define BLK_LIMIT_PARAMS                                                                       \
	EMBER_OPTION_SIZE_DEF("bandwidth_size", 0, 0, 1LL << 40,                               \
			      "bytes the bandwidth bucket holds; 0: no bandwidth limit"),      \
	    EMBER_OPTION_INT_DEF("bandwidth_refill_ms", 1000, 0, BLK_REFILL_MS_MAX,            \
				 "ms to refill the bandwidth bucket from empty; 0: no limit"), \
	    EMBER_OPTION_SIZE_DEF("bandwidth_one_time_burst", 0, 0, 1LL << 40,                 \
				  "bytes granted once on top of the bucket"),                  \
	    EMBER_OPTION_INT_DEF("ops_size", 0, 0, 1LL << 30,                                  \
				 "requests the ops bucket holds; 0: no ops limit"),            \
	    EMBER_OPTION_INT_DEF("ops_refill_ms", 1000, 0, BLK_REFILL_MS_MAX,                  \
				 "ms to refill the ops bucket from empty; 0: no limit"),       \
	    EMBER_OPTION_INT_DEF("ops_one_time_burst", 0, 0, 1LL << 30,                        \
				 "requests granted once on top of the bucket")

/* A backing file opened by swap_backing, waiting for the old one's requests to finish. */
struct blk_swap {
	bool pending; /* queues are not served until the swap is done */
	bool done;    /* finished by a completion: the queues may go on */
	struct blk_backing next;
	char *path;
};

struct ember_instance {
	const struct ember_host *host;
	/* Options, fixed at create (path and read_only change with swap_backing). */
	char *path;
	bool read_only;
	bool discard;	   /* the option; only offered while the backing is writable */
	bool unsafe_cache; /* cache = "unsafe": FLUSH completes at once */
	char serial[VIRTIO_BLK_ID_BYTES];
	uint32_t num_queues;
	uint32_t queue_size; /* requests in flight per queue at most */
	uint32_t seg_max;    /* data segments per request, what config space says */

	/* Backing. */
	int fd;
	bool is_blockdev;
	uint64_t size_bytes; /* capacity * 512 */
	uint32_t logical_block;

	/*
	 * Rate limits: bytes and operations. They live as long as the device: a driver reset keeps
	 * their level, or every reset would grant a new burst. Only set_rate_limit replaces them.
	 */
	struct blk_limit bw;
	struct blk_limit ops;
	int timer; /* refill timer while a request waits (unpopped) for tokens, or -1 */

	/* The backing's slot among the ring's two registered files; the other takes a swap's. */
	uint32_t file_slot;
	struct blk_swap swap;
	bool closing; /* destroy runs: a swap finishing now tells the guest nothing */

	/* io_uring engine. */
	struct io_uring ring;
	bool ring_ready;
	int event_fd;
	int watch;
	uint32_t sq_pending; /* prepared, not yet submitted */
	uint32_t epoch;

	struct blk_queue queues[BLK_MAX_QUEUES];
	struct blk_req *reqs; /* slots = num_queues * queue_size */
	uint32_t slots;
	struct blk_req *free_reqs;
};

/*
 * blk_backing.c: opens path (read-only or read-write) as create and swap_backing do: a regular
 * file or a block device, of any size (0 included: a placeholder); the guest sees its whole
 * sectors. Returns a negative errno with one line in msg that names the path, or 0 with *out
 * filled and msg empty, or a warning in msg (a partial last sector) for the caller to log.
 */
int blk_backing_open(const char *path, bool read_only, struct blk_backing *out, char *msg,
		     size_t msg_size);
void blk_backing_close(struct ember_instance *blk);

/*
 * blk_request.c: fills req (chain and queue already set) from the chain. Returns 0 when the
 * request is well-formed enough to answer: req->op says what to do (BLK_OP_DONE with
 * req->status for an answer without I/O, e.g. UNSUPP, IOERR, GET_ID). Returns -EIO when the
 * chain breaks the structure (no header, no status byte, data in the wrong direction): the
 * caller sets NEEDS_RESET; why says what was wrong.
 */
int blk_request_parse(struct ember_instance *blk, struct blk_req *req, const char **why);

/* blk_uring.c */
int blk_uring_init(struct ember_instance *blk, uint32_t entries);
/* Prepares the request's I/O (not yet submitted); false when the ring is full. */
bool blk_uring_queue(struct ember_instance *blk, struct blk_req *req);
/* Submits what blk_uring_queue prepared: one io_uring_enter per batch. */
void blk_uring_submit(struct ember_instance *blk);
/*
 * Completes what is done now (reap, push, one notify per touched queue), serves queues that
 * waited for free slots, submits. Called on the completion eventfd, and right after a kick's
 * submit: reads served from the page cache complete inside io_uring_enter, and the guest then
 * hears of them without another trip round the event loop.
 */
void blk_uring_complete(struct ember_instance *blk);
/*
 * swap_backing's barrier: prepares (blk_uring_submit submits) an fsync of the current backing
 * that starts only after every request before it in the ring finished (IOSQE_IO_DRAIN). Its
 * completion calls blk_swap_finish. Returns 0, or -EBUSY when the ring takes no SQE now.
 */
int blk_uring_queue_swap_barrier(struct ember_instance *blk);
/* Makes registered file `slot` name fd (-1: empty). Returns 0 or a negative errno. */
int blk_uring_set_file(struct ember_instance *blk, uint32_t slot, int fd);
/*
 * Destroy only: returns once no request is left in the kernel, completing them all (guest RAM
 * goes away after destroy). When io_uring_enter fails for good it still waits for what the
 * kernel has, and fails what never reached it.
 */
void blk_uring_drain(struct ember_instance *blk);
void blk_uring_exit(struct ember_instance *blk);

/* blk_main.c: writes the status, pushes the chain, frees the slot (no notify: caller batches). */
void blk_complete(struct ember_instance *blk, struct blk_req *req);
/* blk_main.c: pops, parses and queues requests of queue q until empty or blocked. */
void blk_serve_queue(struct ember_instance *blk, uint32_t q);
/* blk_main.c: serves every queue again (tokens came, a limit went, a swap finished). */
void blk_serve_all(struct ember_instance *blk);
/* blk_main.c: no refill timer any more (a limit changed, or the device resets). */
void blk_cancel_timer(struct ember_instance *blk);

/* blk_control.c: the rate-limit options (both shapes) into blk->bw and blk->ops. */
int blk_limits_from_options(struct ember_instance *blk);
bool blk_limit_ready(const struct blk_limit *l, uint64_t need);
void blk_limit_take(struct blk_limit *l, uint64_t need);
uint64_t blk_limit_wait_ns(const struct blk_limit *l, uint64_t need);
/* blk_control.c: the barrier's completion (res: its fsync's result): the new backing goes in. */
void blk_swap_finish(struct ember_instance *blk, int res);
/* blk_control.c: a swap that never finished (destroy): its file is closed. */
void blk_swap_abandon(struct ember_instance *blk);
int blk_control(struct ember_instance *blk, struct ember_control_call *call);
#define BLK_CONTROL_COUNT 3
extern const struct ember_control blk_controls[BLK_CONTROL_COUNT];

#endif
