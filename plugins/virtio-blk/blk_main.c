/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk: a disk backed by a raw image file or a host block device, served through
 * io_uring (see blk.h for the parts). This file: options, the device's life cycle, config
 * space, and the per-queue loop that pops chains, parses them, applies the rate limits and
 * hands the I/O to the engine.
 *
 * Queues: the descriptor declares at most BLK_MAX_QUEUES queues of BLK_QUEUE_MAX_SIZE; create
 * narrows them to num_queues of queue_size through vq_set_limits (ABI 1.1), so the guest sees
 * exactly that many queues with QueueNumMax = queue_size. The plugin requires ABI 1.1 for it
 * and for its path option (resolved by ember against the config file's folder).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blk.h"

static bool rate_limited(const struct ember_instance *blk)
{
	return blk->bw.rate || blk->ops.rate;
}

static void refill_timer(void *arg)
{
	struct ember_instance *blk = arg;

	blk->timer = -1;
	for (uint32_t q = 0; q < BLK_MAX_QUEUES; q++)
		if (blk->queues[q].held)
			blk_serve_queue(blk, q);
}

/* Takes the request's tokens, or returns false with the refill timer armed. */
static bool take_tokens(struct ember_instance *blk, const struct blk_req *req)
{
	const struct ember_host *host = blk->host;
	uint64_t bytes = req->op == BLK_OP_READ || req->op == BLK_OP_WRITE ? req->len : 0;
	uint64_t now, wait, wait_ops;

	if (!rate_limited(blk))
		return true;
	now = host->clock_ns(host);
	tb_refill(&blk->bw, now);
	tb_refill(&blk->ops, now);
	if (tb_ready(&blk->bw, bytes) && tb_ready(&blk->ops, 1)) {
		tb_take(&blk->bw, bytes);
		tb_take(&blk->ops, 1);
		return true;
	}
	if (blk->timer < 0) {
		wait = tb_wait_ns(&blk->bw, bytes);
		wait_ops = tb_wait_ns(&blk->ops, 1);
		blk->timer =
		    host->timer_start(host, wait > wait_ops ? wait : wait_ops, refill_timer, blk);
		if (blk->timer < 0)
			host->log(host, EMBER_LOG_ERROR, "cannot start a timer: %d", blk->timer);
	}
	return false;
}

static void release(struct ember_instance *blk, struct blk_req *req)
{
	blk->queues[req->queue].in_flight--;
	req->chain = NULL;
	req->next = blk->free_reqs;
	blk->free_reqs = req;
}

void blk_complete(struct ember_instance *blk, struct blk_req *req)
{
	const struct ember_host *host = blk->host;
	struct ember_vq_chain *chain = req->chain;
	uint8_t status = req->status;

	if (req->epoch != blk->epoch) {
		host->vq_push(host, chain, 0); /* the driver reset since: only freed */
	} else {
		/* The status byte is the last writable byte (checked present at parse). */
		host->chain_write(host, chain, chain->writable_bytes - 1, &status, 1);
		host->vq_push(host, chain, status == VIRTIO_BLK_S_OK ? req->written : 1);
	}
	release(blk, req);
}

/* The next request of queue q: the held one first, else a new chain. NULL: stop serving. */
static struct blk_req *next_request(struct ember_instance *blk, uint32_t q)
{
	const struct ember_host *host = blk->host;
	struct blk_queue *bq = &blk->queues[q];
	struct ember_vq_chain *chain;
	struct blk_req *req = bq->held;
	const char *why = NULL;

	if (req) {
		bq->held = NULL;
		return req;
	}
	if (bq->in_flight >= blk->queue_size || !blk->free_reqs) {
		bq->stalled = true;
		return NULL;
	}
	if (host->vq_pop(host, q, &chain) <= 0)
		return NULL;
	req = blk->free_reqs;
	blk->free_reqs = req->next;
	req->chain = chain;
	req->queue = q;
	req->epoch = blk->epoch;
	req->iov_count = 0;
	bq->in_flight++;
	if (blk_request_parse(blk, req, &why)) {
		host->set_needs_reset(host, why);
		host->vq_push(host, chain, 0);
		release(blk, req);
		return NULL;
	}
	return req;
}

void blk_serve_queue(struct ember_instance *blk, uint32_t q)
{
	const struct ember_host *host = blk->host;
	struct blk_req *req;
	bool pushed = false;

	while ((req = next_request(blk, q))) {
		if (req->op == BLK_OP_DONE) {
			blk_complete(blk, req);
			pushed = true;
			continue;
		}
		if (!take_tokens(blk, req)) {
			blk->queues[q].held = req; /* in order: the queue waits behind it */
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

/* Gives back what waits for tokens and stops the timer (reset and destroy). */
static void drop_held(struct ember_instance *blk)
{
	if (blk->timer >= 0)
		blk->host->timer_cancel(blk->host, blk->timer);
	blk->timer = -1;
	for (uint32_t q = 0; q < BLK_MAX_QUEUES; q++) {
		struct blk_req *req = blk->queues[q].held;

		blk->queues[q].held = NULL;
		blk->queues[q].stalled = false;
		if (req) {
			blk->host->vq_push(blk->host, req->chain, 0);
			release(blk, req);
		}
	}
}

static int read_options(struct ember_instance *blk)
{
	const struct ember_host *host = blk->host;
	const char *serial = NULL, *cache = NULL;
	uint64_t bw, bw_burst;
	int64_t nq, qs, ops, ops_burst;

	if (host->opt_string(host, "path", &blk->path) ||
	    host->opt_bool(host, "read_only", &blk->read_only) ||
	    host->opt_bool(host, "discard", &blk->discard) ||
	    host->opt_string(host, "serial", &serial) || host->opt_string(host, "cache", &cache) ||
	    host->opt_int(host, "num_queues", &nq) || host->opt_int(host, "queue_size", &qs) ||
	    host->opt_size(host, "bandwidth_bytes_per_sec", &bw) ||
	    host->opt_size(host, "bandwidth_burst_bytes", &bw_burst) ||
	    host->opt_int(host, "ops_per_sec", &ops) ||
	    host->opt_int(host, "ops_burst", &ops_burst))
		return -EINVAL;
	if (!blk->path || !blk->path[0]) {
		host->log(host, EMBER_LOG_ERROR, "path: must name an image file or block device");
		return -EINVAL;
	}
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
	if (blk->read_only)
		blk->discard = false;
	tb_init(&blk->bw, bw, bw_burst, host->clock_ns(host));
	tb_init(&blk->ops, (uint64_t)ops, (uint64_t)ops_burst, host->clock_ns(host));
	return 0;
}

static void blk_destroy(struct ember_instance *blk)
{
	drop_held(blk);
	blk_uring_drain(blk);
	blk_uring_exit(blk);
	blk_backing_close(blk);
	free(blk->reqs);
	free(blk);
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
	if ((rc = read_options(blk)) || (rc = blk_backing_open(blk)))
		goto fail;
	slots = blk->num_queues * blk->queue_size;
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
	uint64_t now = blk->host->clock_ns(blk->host);

	drop_held(blk);
	/* Requests still in the ring complete later as stale: their chains are only freed. */
	blk->epoch++;
	tb_fill(&blk->bw, now);
	tb_fill(&blk->ops, now);
}

static uint64_t blk_features(struct ember_instance *blk)
{
	uint64_t f = 1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
		     1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
		     1ULL << VIRTIO_BLK_F_MQ;

	if (blk->read_only)
		return f | 1ULL << VIRTIO_BLK_F_RO;
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
	    .seg_max = BLK_SEG_MAX,
	    .blk_size = blk->logical_block,
	    .num_queues = (uint16_t)blk->num_queues,
	    .max_discard_sectors = BLK_DWZ_SECTORS,
	    .max_discard_seg = 1,
	    .discard_sector_alignment = blk->logical_block / BLK_SECTOR,
	    .max_write_zeroes_sectors = BLK_DWZ_SECTORS,
	    .max_write_zeroes_seg = 1,
	    .write_zeroes_may_unmap = blk->discard,
	};

	/* ember checked offset + len <= BLK_CONFIG_SIZE. */
	memcpy(data, (const uint8_t *)&c + offset, len);
}

static void blk_queue_notify(struct ember_instance *blk, uint32_t queue)
{
	if (blk->queues[queue].held) /* a held request is served by the timer, in order */
		return;
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
    EMBER_OPTION_INT_DEF("queue_size", BLK_QUEUE_MAX_SIZE, 1, BLK_QUEUE_MAX_SIZE,
			 "requests in flight per queue at most"),
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
};

static const struct ember_device_ops blk_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = blk_create,
    .destroy = blk_destroy,
    .reset = blk_reset,
    .virtio_features = blk_features,
    .config_read = blk_config_read,
    .queue_notify = blk_queue_notify,
};

static const struct ember_plugin_desc blk_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 1, /* EMBER_OPTION_PATH and vq_set_limits */
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
};

EMBER_PLUGIN_DEFINE(blk_desc)
