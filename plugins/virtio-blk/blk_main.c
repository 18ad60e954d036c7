/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk: a disk backed by a raw image file or a host block device, served through
 * io_uring (see blk.h for the parts). This file: options, the device's life cycle, config
 * space, and the per-queue loop that pops chains, parses them, applies the rate limits and
 * hands the I/O to the engine.
 *
 * Queues: the descriptor declares at most BLK_MAX_QUEUES queues of BLK_QUEUE_MAX_SIZE; create
 * narrows them to num_queues of queue_size through vq_set_limits (ABI 1.1), so the guest sees
 * exactly that many queues with QueueNumMax = queue_size. The plugin requires ABI 1.2: 1.1 for
 * that and for its path option (resolved by ember against the config file's folder), 1.2 for
 * vq_unpop, which gives a request that must wait for rate-limit tokens back to its ring, and for
 * the runtime controls (blk_control.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>

#include "blk.h"

static bool rate_limited(const struct ember_instance *blk)
{
	return blk->bw.tb.rate || blk->ops.tb.rate;
}

void blk_serve_all(struct ember_instance *blk)
{
	for (uint32_t q = 0; q < blk->num_queues; q++)
		blk_serve_queue(blk, q);
	blk_uring_complete(blk);
}

static void refill_timer(void *arg)
{
	struct ember_instance *blk = arg;

	/* The waiting requests went back to the front of their rings: pop them again, in order. */
	blk->timer = -1;
	blk_serve_all(blk);
}

/*
 * Takes the request's tokens, or returns false with the refill timer armed. Bytes are what the
 * request makes the backing do: a read or write its data, a discard or write-zeroes its range
 * (as QEMU's throttling counts them), so no request type is free under a bandwidth limit.
 */
static bool take_tokens(struct ember_instance *blk, const struct blk_req *req)
{
	const struct ember_host *host = blk->host;
	uint64_t bytes = req->op == BLK_OP_FLUSH ? 0 : req->len;
	uint64_t now, wait, wait_ops;

	if (!rate_limited(blk))
		return true;
	now = host->clock_ns(host);
	tb_refill(&blk->bw.tb, now);
	tb_refill(&blk->ops.tb, now);
	if (blk_limit_ready(&blk->bw, bytes) && blk_limit_ready(&blk->ops, 1)) {
		blk_limit_take(&blk->bw, bytes);
		blk_limit_take(&blk->ops, 1);
		return true;
	}
	if (blk->timer < 0) {
		wait = blk_limit_wait_ns(&blk->bw, bytes);
		wait_ops = blk_limit_wait_ns(&blk->ops, 1);
		blk->timer =
		    host->timer_start(host, wait > wait_ops ? wait : wait_ops, refill_timer, blk);
		if (blk->timer < 0)
			host->log(host, EMBER_LOG_ERROR, "cannot start a timer: %d", blk->timer);
	}
	return false;
}

static bool head_test(const struct blk_queue *bq, uint16_t head)
{
	return bq->heads[head / 64] & 1ULL << (head % 64);
}

static void head_flip(struct blk_queue *bq, uint16_t head)
{
	bq->heads[head / 64] ^= 1ULL << (head % 64);
}

static void release(struct ember_instance *blk, struct blk_req *req)
{
	struct blk_queue *bq = &blk->queues[req->queue];

	bq->in_flight--;
	/* A stale request's head belongs to the driver's earlier session. */
	if (req->epoch == blk->epoch)
		head_flip(bq, req->chain->head);
	req->chain = NULL;
	req->next = blk->free_reqs;
	blk->free_reqs = req;
}

void blk_complete(struct ember_instance *blk, struct blk_req *req)
{
	const struct ember_host *host = blk->host;
	struct ember_vq_chain *chain = req->chain;
	uint8_t status = req->status;
	uint64_t data_in = chain->writable_bytes - 1, done;

	if (req->epoch != blk->epoch) {
		release(blk, req);
		host->vq_push(host, chain, 0); /* the driver reset since: only freed */
		return;
	}
	/* The status byte is the last writable byte (checked present at parse). */
	host->chain_write(host, chain, data_in, &status, 1);
	/*
	 * The used length is the part of the writable bytes the device wrote from their start
	 * (virtio 1.x 2.7.8): the data written, and the status byte only when it follows them
	 * without a gap. A failed request wrote no data (a failed read may have written some;
	 * claiming less than was written is allowed, claiming more is not).
	 */
	done = status == VIRTIO_BLK_S_OK ? req->data_written : 0;
	release(blk, req);
	host->vq_push(host, chain, (uint32_t)(done == data_in ? done + 1 : done));
}

/* A new request of queue q: popped and parsed. NULL: stop serving (empty, full, or broken). */
static struct blk_req *next_request(struct ember_instance *blk, uint32_t q)
{
	const struct ember_host *host = blk->host;
	struct blk_queue *bq = &blk->queues[q];
	struct ember_vq_chain *chain;
	struct blk_req *req;
	const char *why = NULL;

	if (bq->in_flight >= blk->queue_size || !blk->free_reqs) {
		bq->stalled = true;
		return NULL;
	}
	if (host->vq_pop(host, q, &chain) <= 0)
		return NULL;
	/* head < the guest's queue size <= queue_size: the walker checked it. */
	if (chain->head >= blk->queue_size || head_test(bq, chain->head)) {
		host->set_needs_reset(host, "a chain made available again while already in flight");
		host->vq_push(host, chain, 0);
		return NULL;
	}
	req = blk->free_reqs;
	blk->free_reqs = req->next;
	req->chain = chain;
	req->queue = q;
	req->epoch = blk->epoch;
	req->iov_count = 0;
	bq->in_flight++;
	head_flip(bq, chain->head);
	if (blk_request_parse(blk, req, &why)) {
		host->set_needs_reset(host, why);
		release(blk, req);
		host->vq_push(host, chain, 0);
		return NULL;
	}
	return req;
}

void blk_serve_queue(struct ember_instance *blk, uint32_t q)
{
	const struct ember_host *host = blk->host;
	struct blk_req *req;
	bool pushed = false;

	/*
	 * A swap waits for the old file's requests: none may start meanwhile, or it could run on
	 * either file. The chains stay in the ring; the swap's end serves every queue.
	 */
	if (blk->swap.pending)
		return;
	while ((req = next_request(blk, q))) {
		if (req->op == BLK_OP_DONE) {
			blk_complete(blk, req);
			pushed = true;
			continue;
		}
		if (!take_tokens(blk, req)) {
			/*
			 * Back to the front of its ring (the newest pop of q, so vq_unpop takes
			 * it): the queue waits behind it, in order, and the device holds nothing of
			 * the guest's while the timer runs. The refill timer pops it again.
			 */
			struct ember_vq_chain *chain = req->chain;

			release(blk, req);
			if (host->vq_unpop(host, chain)) {
				host->log(host, EMBER_LOG_ERROR, "vq_unpop refused a chain");
				host->vq_push(host, chain, 0);
			}
			break;
		}
		if (!blk_uring_queue(blk, req)) {
			/* The ring has a slot per request, so only a full batch gets here. */
			blk_uring_submit(blk);
			if (!blk_uring_queue(blk, req)) {
				req->status = VIRTIO_BLK_S_IOERR;
				blk_complete(blk, req);
				pushed = true;
			}
		}
	}
	blk_uring_submit(blk);
	if (pushed)
		host->vq_notify(host, q);
}

void blk_cancel_timer(struct ember_instance *blk)
{
	if (blk->timer >= 0)
		blk->host->timer_cancel(blk->host, blk->timer);
	blk->timer = -1;
}

static int read_options(struct ember_instance *blk)
{
	const struct ember_host *host = blk->host;
	const char *path = NULL, *serial = NULL, *cache = NULL;
	int64_t nq, qs;

	if (host->opt_string(host, "path", &path) ||
	    host->opt_bool(host, "read_only", &blk->read_only) ||
	    host->opt_bool(host, "discard", &blk->discard) ||
	    host->opt_string(host, "serial", &serial) || host->opt_string(host, "cache", &cache) ||
	    host->opt_int(host, "num_queues", &nq) || host->opt_int(host, "queue_size", &qs))
		return -EINVAL;
	if (!path || !path[0]) {
		host->log(host, EMBER_LOG_ERROR, "path: must name an image file or block device");
		return -EINVAL;
	}
	/* Ours: swap_backing replaces it with a path that outlives its request. */
	if (!(blk->path = strdup(path)))
		return -ENOMEM;
	if (serial && strlen(serial) > VIRTIO_BLK_ID_BYTES) {
		host->log(host, EMBER_LOG_ERROR, "serial \"%s\": longer than %d bytes", serial,
			  VIRTIO_BLK_ID_BYTES);
		return -EINVAL;
	}
	/* GET_ID: up to 20 bytes, NUL-padded (no terminator when all 20 are used). */
	if (serial)
		memcpy(blk->serial, serial, strlen(serial));
	if (!cache || !strcmp(cache, "writeback")) {
		blk->unsafe_cache = false;
	} else if (!strcmp(cache, "unsafe")) {
		blk->unsafe_cache = true;
	} else {
		host->log(host, EMBER_LOG_ERROR,
			  "cache \"%s\": must be \"writeback\" or \"unsafe\"", cache);
		return -EINVAL;
	}
	if (qs & (qs - 1)) {
		host->log(host, EMBER_LOG_ERROR, "queue_size %lld: must be a power of two",
			  (long long)qs);
		return -EINVAL;
	}
	blk->num_queues = (uint32_t)nq;
	blk->queue_size = (uint32_t)qs;
	if (host->vq_set_limits(host, blk->num_queues, blk->queue_size)) {
		host->log(host, EMBER_LOG_ERROR, "cannot offer %u queues of %u", blk->num_queues,
			  blk->queue_size);
		return -EINVAL;
	}
	/* Linux sizes its requests by seg_max alone: promise only what the queue can carry. */
	blk->seg_max = blk->queue_size - BLK_SEG_OVERHEAD;
	if (blk->seg_max > BLK_SEG_MAX)
		blk->seg_max = BLK_SEG_MAX;
	return blk_limits_from_options(blk);
}

static void blk_destroy(struct ember_instance *blk)
{
	blk->closing = true;
	blk_cancel_timer(blk);
	blk_uring_drain(blk);
	blk_uring_exit(blk);
	blk_swap_abandon(blk);
	blk_backing_close(blk);
	free(blk->path);
	free(blk->reqs);
	free(blk);
}

static int open_backing(struct ember_instance *blk)
{
	struct blk_backing b;
	char msg[512];
	int rc = blk_backing_open(blk->path, blk->read_only, &b, msg, sizeof(msg));

	if (rc) {
		blk->host->log(blk->host, EMBER_LOG_ERROR, "%s", msg);
		return rc;
	}
	if (msg[0])
		blk->host->log(blk->host, EMBER_LOG_WARN, "%s", msg);
	blk->fd = b.fd;
	blk->is_blockdev = b.is_blockdev;
	blk->size_bytes = b.size_bytes;
	blk->logical_block = b.logical_block;
	return 0;
}

static int blk_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *blk = calloc(1, sizeof(*blk));
	uint32_t slots;
	int rc;

	if (!blk)
		return -ENOMEM;
	blk->host = host;
	blk->fd = blk->event_fd = -1;
	blk->watch = blk->timer = -1;
	blk->swap.next.fd = -1;
	if ((rc = read_options(blk)) || (rc = open_backing(blk)))
		goto fail;
	slots = blk->num_queues * blk->queue_size;
	blk->slots = slots;
	blk->reqs = calloc(slots, sizeof(*blk->reqs));
	if (!blk->reqs) {
		rc = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = slots; i-- > 0;) {
		blk->reqs[i].next = blk->free_reqs;
		blk->free_reqs = &blk->reqs[i];
	}
	if ((rc = blk_uring_init(blk, slots)))
		goto fail;
	*out = blk;
	return 0;
fail:
	blk_destroy(blk);
	return rc;
}

static void blk_reset(struct ember_instance *blk)
{
	/* Nothing waits for tokens now: a waiting request went back to its ring, which is gone. */
	blk_cancel_timer(blk);
	/* Requests still in the ring complete later as stale: their chains are only freed. */
	blk->epoch++;
	for (uint32_t q = 0; q < BLK_MAX_QUEUES; q++) {
		blk->queues[q].stalled = false;
		memset(blk->queues[q].heads, 0, sizeof(blk->queues[q].heads));
	}
	/*
	 * The token buckets keep their level: they limit the device, not one driver session. A
	 * swap in progress goes on: it belongs to the device too, and its end serves the queues
	 * of whichever driver session is there then.
	 */
}

static uint64_t blk_features(struct ember_instance *blk)
{
	uint64_t f = 1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
		     1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
		     1ULL << VIRTIO_BLK_F_MQ;

	if (blk->read_only)
		return f | 1ULL << VIRTIO_BLK_F_RO;
	/* read_only comes from the backing (swap_backing may change it): the next driver sees it.
	 */
	f |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	if (blk->discard)
		f |= 1ULL << VIRTIO_BLK_F_DISCARD;
	return f;
}

static void blk_config_read(struct ember_instance *blk, uint32_t offset, void *data, uint32_t len)
{
	struct virtio_blk_config c = {
	    .capacity = blk->size_bytes / BLK_SECTOR,
	    .size_max = BLK_SIZE_MAX,
	    .seg_max = blk->seg_max,
	    .blk_size = blk->logical_block,
	    .num_queues = (uint16_t)blk->num_queues,
	    .max_discard_sectors = BLK_DWZ_SECTORS,
	    .max_discard_seg = 1,
	    .discard_sector_alignment = blk->logical_block / BLK_SECTOR,
	    .max_write_zeroes_sectors = BLK_DWZ_SECTORS,
	    .max_write_zeroes_seg = 1,
	    .write_zeroes_may_unmap = blk->discard && !blk->read_only,
	};

	/* ember checked offset + len <= BLK_CONFIG_SIZE. */
	memcpy(data, (const uint8_t *)&c + offset, len);
}

static void blk_queue_notify(struct ember_instance *blk, uint32_t queue)
{
	blk_serve_queue(blk, queue);
	blk_uring_complete(blk);
}

static const struct ember_option blk_options[] = {
    {.struct_size = sizeof(struct ember_option),
     .type = EMBER_OPTION_PATH,
     .name = "path",
     .help = "raw image file or block device; relative to the config file's folder",
     .flags = EMBER_OPTION_REQUIRED},
    EMBER_OPTION_BOOL_DEF("read_only", 0, "the guest sees a read-only disk; writes fail"),
    EMBER_OPTION_STRING_DEF("serial", "", "GET_ID answer, at most 20 bytes"),
    EMBER_OPTION_BOOL_DEF("discard", 1, "offer DISCARD (punches holes) and let write-zeroes unmap"),
    EMBER_OPTION_INT_DEF("num_queues", 1, 1, BLK_MAX_QUEUES, "request queues the guest may use"),
    EMBER_OPTION_INT_DEF(
	"queue_size", BLK_QUEUE_MAX_SIZE, BLK_QUEUE_MIN_SIZE, BLK_QUEUE_MAX_SIZE,
	"requests in flight per queue at most; seg_max = queue_size - 3, at most 126"),
    EMBER_OPTION_STRING_DEF(
	"cache", "writeback",
	"\"writeback\": FLUSH waits for fdatasync; \"unsafe\": FLUSH is a no-op"),
    EMBER_OPTION_SIZE_DEF("bandwidth_bytes_per_sec", 0, 0, 1LL << 40,
			  "read+write bytes per second; 0: unlimited"),
    EMBER_OPTION_SIZE_DEF("bandwidth_burst_bytes", 0, 0, 1LL << 40,
			  "bytes at once after idling; 0: bandwidth/16"),
    EMBER_OPTION_INT_DEF("ops_per_sec", 0, 0, 1LL << 30, "requests per second; 0: unlimited"),
    EMBER_OPTION_INT_DEF("ops_burst", 0, 0, 1LL << 30,
			 "requests at once after idling; 0: ops_per_sec/16"),
    /* The same two buckets in Firecracker's shape (its rate_limiter), as set_rate_limit takes. */
    BLK_LIMIT_PARAMS,
};

static const struct ember_device_ops blk_ops = {
    .control = blk_control,
    .struct_size = sizeof(struct ember_device_ops),
    .create = blk_create,
    .destroy = blk_destroy,
    .reset = blk_reset,
    .virtio_features = blk_features,
    .config_read = blk_config_read,
    .queue_notify = blk_queue_notify,
};

/*
 * io_uring_enter submits (queue notify: vCPU or event loop; the refill timer) and waits for
 * completions (reset). What the ring itself may do is restricted at create (uring_restrict.h).
 * swap_backing (a control: event loop) opens and checks the new file, never creating one, and
 * registers it with the ring; the swap ends in a completion (vCPU after a kick, or the event
 * loop), which moves it into the backing's slot and empties the old one: FILES_UPDATE only.
 */
static const struct ember_syscall_rule blk_syscalls[] = {
    EMBER_SYSCALL("io_uring_enter", EMBER_THREAD_VCPU | EMBER_THREAD_EVENT_LOOP),
    EMBER_SYSCALL_ARG_EQ("io_uring_register", EMBER_THREAD_VCPU | EMBER_THREAD_EVENT_LOOP, 1,
			 IORING_REGISTER_FILES_UPDATE),
    {.struct_size = sizeof(struct ember_syscall_rule),
     .threads = EMBER_THREAD_EVENT_LOOP,
     .name = "openat",
     .arg_count = 1,
     .args = {{.index = 2, .op = EMBER_ARG_MASKED_EQ, .value = 0, .mask = O_CREAT | O_TRUNC}}},
    EMBER_SYSCALL("fstat", EMBER_THREAD_EVENT_LOOP),
    EMBER_SYSCALL("newfstatat", EMBER_THREAD_EVENT_LOOP),
    EMBER_SYSCALL_ARG_EQ("ioctl", EMBER_THREAD_EVENT_LOOP, 1, BLKGETSIZE64),
    EMBER_SYSCALL_ARG_EQ("ioctl", EMBER_THREAD_EVENT_LOOP, 1, BLKSSZGET),
};

static const struct ember_plugin_desc blk_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 2, /* EMBER_OPTION_PATH, vq_set_limits (1.1), vq_unpop, controls */
    .kind = EMBER_DEVICE_VIRTIO,
    .name = "virtio-blk",
    .vendor = "ember",
    .version = "1.0.0",
    .description = "a disk on a raw image or block device, through io_uring",
    .virtio_device_id = EMBER_VIRTIO_ID_BLOCK,
    .virtio_queue_count = BLK_MAX_QUEUES,
    .virtio_queue_max_size = BLK_QUEUE_MAX_SIZE,
    .virtio_config_size = BLK_CONFIG_SIZE,
    .options = blk_options,
    .option_count = EMBER_ARRAY_SIZE(blk_options),
    .option_size = sizeof(struct ember_option),
    .ops = &blk_ops,
    .controls = blk_controls,
    .control_count = BLK_CONTROL_COUNT,
    .control_size = sizeof(struct ember_control),
    .syscalls = blk_syscalls,
    .syscall_count = EMBER_ARRAY_SIZE(blk_syscalls),
    .syscall_size = sizeof(struct ember_syscall_rule),
};

EMBER_PLUGIN_DEFINE(blk_desc)
