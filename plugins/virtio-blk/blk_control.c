/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rate limits (both option shapes) and the runtime controls behind Firecracker's
 * PATCH /drives/{id} and GET /vm/config:
 *
 *   swap_backing    a new backing file while the guest runs; the guest sees its size
 *   set_rate_limit  both buckets replaced at once
 *   info            the backing and the limits as they are now
 *
 * A swap never blocks the event loop (ops.control must not): the new file is opened, checked
 * and registered with the ring at once (every error is the request's answer, and the old
 * backing stays), then the queues stop popping and an fsync of the old file goes into the ring
 * behind every request already there (IOSQE_IO_DRAIN). When it completes, no request is left on
 * the old file and what the guest wrote to it is on disk: the new file takes over, the old one
 * is closed, and config_changed makes the driver read the new capacity.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk.h"

#define MS_PER_SEC 1000u

/* A bucket of `size` tokens refilled from empty in refill_ms, plus a one-time burst. */
static void limit_set(struct blk_limit *l, uint64_t size, uint64_t refill_ms, uint64_t one_time,
		      uint64_t now)
{
	uint64_t rate;

	*l = (struct blk_limit){0};
	if (!size || !refill_ms) {
		tb_init(&l->tb, 0, 0, now);
		return;
	}
	/* size <= 2^40, so the product stays below 2^64; a rate rounding to 0 would mean none. */
	rate = size * MS_PER_SEC * BLK_TB_SCALE / refill_ms;
	tb_init(&l->tb, rate ? rate : 1, size * BLK_TB_SCALE, now);
	l->one_time = one_time;
	l->size = size;
	l->refill_ms = refill_ms;
	l->one_time_burst = one_time;
}

/* The per-second options: `rate` tokens a second into a bucket of `burst` (0: rate/16). */
static void limit_set_per_sec(struct blk_limit *l, uint64_t rate, uint64_t burst, uint64_t now)
{
	*l = (struct blk_limit){0};
	if (rate && !burst)
		burst = rate / 16 ? rate / 16 : 1;
	tb_init(&l->tb, rate * BLK_TB_SCALE, burst * BLK_TB_SCALE, now);
	if (!rate)
		return;
	/* The same bucket in the other shape, for info: refill_ms rounded, at least 1. */
	l->size = burst;
	l->refill_ms = burst * MS_PER_SEC / rate ? burst * MS_PER_SEC / rate : 1;
}

bool blk_limit_ready(const struct blk_limit *l, uint64_t need)
{
	if (!l->tb.rate || l->one_time >= need)
		return true;
	return tb_ready(&l->tb, (need - l->one_time) * BLK_TB_SCALE);
}

void blk_limit_take(struct blk_limit *l, uint64_t need)
{
	uint64_t from_burst;

	if (!l->tb.rate)
		return;
	/* The one-time burst goes first (as in Firecracker); the bucket pays the rest. */
	from_burst = need < l->one_time ? need : l->one_time;
	l->one_time -= from_burst;
	tb_take(&l->tb, (need - from_burst) * BLK_TB_SCALE);
}

uint64_t blk_limit_wait_ns(const struct blk_limit *l, uint64_t need)
{
	if (blk_limit_ready(l, need))
		return 0;
	return tb_wait_ns(&l->tb, (need - l->one_time) * BLK_TB_SCALE);
}

int blk_limits_from_options(struct ember_instance *blk)
{
	const struct ember_host *host = blk->host;
	uint64_t bps, bps_burst, bw_size, bw_once, now;
	int64_t ops, ops_burst, bw_refill, ops_size, ops_refill, ops_once;

	if (host->opt_size(host, "bandwidth_bytes_per_sec", &bps) ||
	    host->opt_size(host, "bandwidth_burst_bytes", &bps_burst) ||
	    host->opt_int(host, "ops_per_sec", &ops) ||
	    host->opt_int(host, "ops_burst", &ops_burst) ||
	    host->opt_size(host, "bandwidth_size", &bw_size) ||
	    host->opt_int(host, "bandwidth_refill_ms", &bw_refill) ||
	    host->opt_size(host, "bandwidth_one_time_burst", &bw_once) ||
	    host->opt_int(host, "ops_size", &ops_size) ||
	    host->opt_int(host, "ops_refill_ms", &ops_refill) ||
	    host->opt_int(host, "ops_one_time_burst", &ops_once))
		return -EINVAL;
	/* Two descriptions of one bucket cannot both hold. */
	if (bw_size && (bps || bps_burst)) {
		host->log(
		    host, EMBER_LOG_ERROR,
		    "bandwidth_size: give it or bandwidth_bytes_per_sec/bandwidth_burst_bytes, "
		    "not both");
		return -EINVAL;
	}
	if (ops_size && (ops || ops_burst)) {
		host->log(host, EMBER_LOG_ERROR,
			  "ops_size: give it or ops_per_sec/ops_burst, not both");
		return -EINVAL;
	}
	now = host->clock_ns(host);
	if (bw_size)
		limit_set(&blk->bw, bw_size, (uint64_t)bw_refill, bw_once, now);
	else
		limit_set_per_sec(&blk->bw, bps, bps_burst, now);
	if (ops_size)
		limit_set(&blk->ops, (uint64_t)ops_size, (uint64_t)ops_refill, (uint64_t)ops_once,
			  now);
	else
		limit_set_per_sec(&blk->ops, (uint64_t)ops, (uint64_t)ops_burst, now);
	return 0;
}

void blk_swap_abandon(struct ember_instance *blk)
{
	if (!blk->swap.pending)
		return;
	if (blk->swap.next.fd >= 0)
		close(blk->swap.next.fd);
	free(blk->swap.path);
	blk->swap = (struct blk_swap){.next.fd = -1};
}

void blk_swap_finish(struct ember_instance *blk, int res)
{
	const struct ember_host *host = blk->host;
	struct blk_swap *sw = &blk->swap;
	uint32_t old_slot = blk->file_slot;
	int old_fd = blk->fd;

	if (!sw->pending)
		return;
	if (res < 0)
		/* The guest's flushes were fdatasyncs of their own: only later writes are at risk,
		 * and the guest was not told those are durable. */
		host->log(
		    host, EMBER_LOG_ERROR,
		    "fsync of \"%s\" before the swap: %s; writes since the guest's last flush "
		    "may not be on it",
		    blk->path, strerror(-res));
	blk->fd = sw->next.fd;
	blk->is_blockdev = sw->next.is_blockdev;
	blk->read_only = sw->next.read_only;
	blk->size_bytes = sw->next.size_bytes;
	blk->logical_block = sw->next.logical_block;
	blk->file_slot = old_slot ^ 1u;
	host->log(host, EMBER_LOG_INFO, "backing \"%s\" replaced by \"%s\" (%llu bytes%s)",
		  blk->path, sw->path, (unsigned long long)blk->size_bytes,
		  blk->read_only ? ", read-only" : "");
	free(blk->path);
	blk->path = sw->path;
	*sw = (struct blk_swap){.done = !blk->closing, .next.fd = -1};
	/* The ring holds its own reference to the old file until its slot is emptied. */
	if (blk_uring_set_file(blk, old_slot, -1) < 0)
		host->log(host, EMBER_LOG_WARN, "io_uring: the old backing stays registered");
	close(old_fd);
	if (!blk->closing)
		host->config_changed(host);
}

__attribute__((format(printf, 2, 3))) static void say(struct ember_control_call *call,
						      const char *fmt, ...);

static void say(struct ember_control_call *call, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(call->message, call->message_size, fmt, ap);
	va_end(ap);
}

static int swap_backing(struct ember_instance *blk, struct ember_control_call *call)
{
	const struct ember_host *host = blk->host;
	const struct ember_control_arg *path = &call->args[0], *ro = &call->args[1];
	uint32_t spare = blk->file_slot ^ 1u;
	struct blk_backing next;
	char *copy;
	int rc;

	if (blk->swap.pending) {
		say(call, "a swap to \"%s\" still waits for the requests in flight",
		    blk->swap.path);
		return -EBUSY;
	}
	/* Same checks and messages as at create; read-only unless told, as the drive is now. */
	rc = blk_backing_open(path->str, ro->given ? ro->num != 0 : blk->read_only, &next,
			      call->message, call->message_size);
	if (rc)
		return rc;
	if (call->message[0])
		host->log(host, EMBER_LOG_WARN, "%s", call->message);
	call->message[0] = '\0';
	if (!(copy = strdup(path->str))) {
		rc = -ENOMEM;
		say(call, "out of memory");
		goto fail_close;
	}
	rc = blk_uring_set_file(blk, spare, next.fd);
	if (rc) {
		say(call, "io_uring: registering \"%s\": %s", path->str, strerror(-rc));
		goto fail_free;
	}
	/* What was prepared goes to the kernel first, so the barrier follows all of it. */
	blk_uring_submit(blk);
	rc = blk_uring_queue_swap_barrier(blk);
	if (rc) {
		say(call, "the ring has no room for the swap now; try again");
		goto fail_unregister;
	}
	blk->swap = (struct blk_swap){.pending = true, .next = next, .path = copy};
	blk_uring_submit(blk);
	host->reply_int(host, call, "size_bytes", (int64_t)next.size_bytes);
	return 0;
fail_unregister:
	blk_uring_set_file(blk, spare, -1);
fail_free:
	free(copy);
fail_close:
	close(next.fd);
	return rc;
}

static int set_rate_limit(struct ember_instance *blk, struct ember_control_call *call)
{
	const struct ember_host *host = blk->host;
	const struct ember_control_arg *a = call->args;
	uint64_t now = host->clock_ns(host);

	/*
	 * New buckets start full, as Firecracker's do: the operator, not the guest, asked for
	 * them (a guest reset still grants nothing).
	 */
	limit_set(&blk->bw, (uint64_t)a[0].num, (uint64_t)a[1].num, (uint64_t)a[2].num, now);
	limit_set(&blk->ops, (uint64_t)a[3].num, (uint64_t)a[4].num, (uint64_t)a[5].num, now);
	/* A request waiting in its ring waits for a timer set by the old buckets: ask again. */
	blk_cancel_timer(blk);
	blk_serve_all(blk);
	return 0;
}

static int info(struct ember_instance *blk, struct ember_control_call *call)
{
	const struct ember_host *host = blk->host;
	const struct {
		const char *name;
		uint64_t value;
	} v[] = {
	    {"size_bytes", blk->size_bytes},
	    {"read_only", blk->read_only},
	    {"bandwidth_size", blk->bw.size},
	    {"bandwidth_refill_ms", blk->bw.refill_ms},
	    {"bandwidth_one_time_burst", blk->bw.one_time_burst},
	    {"ops_size", blk->ops.size},
	    {"ops_refill_ms", blk->ops.refill_ms},
	    {"ops_one_time_burst", blk->ops.one_time_burst},
	    {"swap_pending", blk->swap.pending},
	};
	int rc = host->reply_string(host, call, "path", blk->path);

	for (size_t i = 0; i < EMBER_ARRAY_SIZE(v) && !rc; i++)
		rc = host->reply_int(host, call, v[i].name, (int64_t)v[i].value);
	if (rc) {
		say(call, "reply: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

int blk_control(struct ember_instance *blk, struct ember_control_call *call)
{
	switch (call->control_index) {
	case 0:
		return swap_backing(blk, call);
	case 1:
		return set_rate_limit(blk, call);
	case 2:
		return info(blk, call);
	default:
		return -ENOTSUP;
	}
}

static const struct ember_option swap_params[] = {
    EMBER_OPTION_PATH_F("path", NULL, EMBER_OPTION_REQUIRED,
			"the new image file or block device (a multiple of 512 bytes)"),
    EMBER_OPTION_BOOL_DEF("read_only", 0, "open it read-only; default: as the drive is now"),
};
static const struct ember_option rate_params[] = {BLK_LIMIT_PARAMS};

/* In blk_control's order. */
const struct ember_control blk_controls[BLK_CONTROL_COUNT] = {
    EMBER_CONTROL_DEF(
	"swap_backing", swap_params,
	"a new backing file; the guest sees its size once the old file's I/O is done"),
    EMBER_CONTROL_DEF("set_rate_limit", rate_params,
		      "replaces both rate limits (Firecracker's token buckets); none given: none"),
    {.struct_size = sizeof(struct ember_control),
     .name = "info",
     .help = "the backing file, its size and mode, the rate limits"},
};
