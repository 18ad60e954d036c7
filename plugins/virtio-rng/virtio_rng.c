/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng: an entropy device (virtio 1.x, 5.4) fed by the host's getrandom(2), with an
 * optional token-bucket rate limit and a cap on the bytes given per request.
 *
 * One queue; each chain the driver makes available is a writable buffer that we fill and
 * return. When the bucket is empty we hold one chain back and come back on a timer, so a
 * rate-limited guest waits instead of spinning. The bucket lives as long as the device: a
 * driver reset drops the held chain but keeps the bucket's level. State lives in the instance;
 * nothing global.
 *
 * Why a held chain and not vq_unpop (ABI 1.2): the plugin works with any 1.x host, and the
 * hold is one pointer; unpop would need abi_minor_required = 2 or a second path for older hosts.
 */
#include <ember/virtio.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/random.h>

#include "token_bucket.h"

#define RNG_QUEUE_SIZE 256
#define FILL_CHUNK     4096

struct ember_instance {
	const struct ember_host *host;
	struct token_bucket bucket;  /* bytes; rate 0: unlimited */
	uint64_t request_max;	     /* bytes per request at most */
	int timer;		     /* pending refill timer, or -1 */
	struct ember_vq_chain *held; /* popped, waiting for tokens */
	/* Metrics (ops.metrics_read may run on any thread): written where requests are served. */
	_Atomic uint64_t bytes, requests, throttled;
};

/* Fills `len` bytes of the chain's writable part with entropy. Returns bytes written. */
static uint64_t fill_chain(struct ember_instance *rng, const struct ember_vq_chain *chain,
			   uint64_t len)
{
	uint8_t buf[FILL_CHUNK];
	uint64_t done = 0;

	while (done < len) {
		size_t want = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
		ssize_t got = getrandom(buf, want, 0);
		int64_t put;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			rng->host->log(rng->host, EMBER_LOG_ERROR, "getrandom failed: errno %d",
				       errno);
			break;
		}
		put = rng->host->chain_write(rng->host, chain, done, buf, (uint64_t)got);
		if (put <= 0)
			break;
		done += (uint64_t)put;
	}
	return done;
}

static void serve(struct ember_instance *rng);

static void refill_timer(void *arg)
{
	struct ember_instance *rng = arg;

	rng->timer = -1;
	serve(rng);
}

/* Returns true when the chain may be served now; otherwise holds it and arms the timer. */
static bool wait_for_tokens(struct ember_instance *rng, struct ember_vq_chain *chain, uint64_t want)
{
	const struct ember_host *host = rng->host;

	tb_refill(&rng->bucket, host->clock_ns(host));
	if (tb_ready(&rng->bucket, want))
		return true;
	rng->held = chain;
	atomic_fetch_add_explicit(&rng->throttled, 1, memory_order_relaxed);
	if (rng->timer < 0) {
		rng->timer =
		    host->timer_start(host, tb_wait_ns(&rng->bucket, want), refill_timer, rng);
		if (rng->timer < 0)
			host->log(host, EMBER_LOG_ERROR, "cannot start a timer: %d", rng->timer);
	}
	return false;
}

static void serve(struct ember_instance *rng)
{
	const struct ember_host *host = rng->host;
	bool pushed = false;

	for (;;) {
		struct ember_vq_chain *chain = rng->held;
		uint64_t want, written = 0;

		rng->held = NULL;
		if (!chain && host->vq_pop(host, 0, &chain) <= 0)
			break;
		want = chain->writable_bytes < rng->request_max ? chain->writable_bytes
								: rng->request_max;
		if (want && rng->bucket.rate) {
			if (!wait_for_tokens(rng, chain, want))
				break;
			/* Serve what the bucket holds (it holds at least min(want, burst) > 0). */
			if (want > (uint64_t)rng->bucket.tokens)
				want = (uint64_t)rng->bucket.tokens;
			tb_take(&rng->bucket, want);
		}
		if (want)
			written = fill_chain(rng, chain, want);
		host->vq_push(host, chain, (uint32_t)written);
		atomic_fetch_add_explicit(&rng->bytes, written, memory_order_relaxed);
		atomic_fetch_add_explicit(&rng->requests, 1, memory_order_relaxed);
		pushed = true;
	}
	if (pushed)
		host->vq_notify(host, 0);
}

static void drop_pending(struct ember_instance *rng)
{
	if (rng->timer >= 0)
		rng->host->timer_cancel(rng->host, rng->timer);
	rng->timer = -1;
	/* After a reset the chain is stale: vq_push only frees it. */
	if (rng->held)
		rng->host->vq_push(rng->host, rng->held, 0);
	rng->held = NULL;
}

static int rng_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *rng = calloc(1, sizeof(*rng));
	uint64_t rate, burst;

	if (!rng)
		return -ENOMEM;
	rng->host = host;
	rng->timer = -1;
	if (host->opt_size(host, "rate_bytes_per_sec", &rate) ||
	    host->opt_size(host, "burst_bytes", &burst) ||
	    host->opt_size(host, "request_max_bytes", &rng->request_max)) {
		free(rng);
		return -EINVAL;
	}
	tb_init(&rng->bucket, rate, burst, host->clock_ns(host));
	*out = rng;
	return 0;
}

static void rng_destroy(struct ember_instance *rng)
{
	drop_pending(rng);
	free(rng);
}

static void rng_reset(struct ember_instance *rng)
{
	/* The bucket keeps its level: a reset must not grant the guest a new burst. */
	drop_pending(rng);
}

static void rng_queue_notify(struct ember_instance *rng, uint32_t queue)
{
	(void)queue;
	if (!rng->held) /* a held chain is served by the timer, in order */
		serve(rng);
}

static void rng_metrics_read(struct ember_instance *rng, uint64_t *values, uint32_t count)
{
	const uint64_t all[] = {
	    atomic_load_explicit(&rng->bytes, memory_order_relaxed),
	    atomic_load_explicit(&rng->requests, memory_order_relaxed),
	    atomic_load_explicit(&rng->throttled, memory_order_relaxed),
	};

	for (uint32_t i = 0; i < count && i < EMBER_ARRAY_SIZE(all); i++)
		values[i] = all[i];
}

static const struct ember_metric rng_metrics[] = {
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "bytes", "bytes", "entropy bytes given to the guest"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "requests", "requests", "requests served"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "throttled", "requests",
		     "requests that waited for the rate limit"),
};

static const struct ember_option rng_options[] = {
    EMBER_OPTION_SIZE_DEF("rate_bytes_per_sec", 0, 0, 1LL << 40,
			  "entropy bytes per second the guest may read; 0: unlimited"),
    EMBER_OPTION_SIZE_DEF("burst_bytes", 0, 0, 1LL << 40,
			  "bytes the guest may read at once when it was idle; 0: rate/16"),
    EMBER_OPTION_SIZE_DEF("request_max_bytes", 64 * 1024, 1, 16 * 1024 * 1024,
			  "most bytes given for one request"),
};

static const struct ember_device_ops rng_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = rng_create,
    .destroy = rng_destroy,
    .reset = rng_reset,
    .queue_notify = rng_queue_notify,
    .metrics_read = rng_metrics_read,
};

/* getrandom(2) where requests are served: queue notify (vCPU or event loop), the refill timer. */
static const struct ember_syscall_rule rng_syscalls[] = {
    EMBER_SYSCALL("getrandom", EMBER_THREAD_VCPU | EMBER_THREAD_EVENT_LOOP),
};

static const struct ember_plugin_desc rng_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 2, /* the syscall declarations */
    .kind = EMBER_DEVICE_VIRTIO,
    .name = "virtio-rng",
    .vendor = "ember",
    .version = "1.0.0",
    .description = "entropy from the host's getrandom(2), optionally rate limited",
    .virtio_device_id = EMBER_VIRTIO_ID_RNG,
    .virtio_queue_count = 1,
    .virtio_queue_max_size = RNG_QUEUE_SIZE,
    .options = rng_options,
    .option_count = EMBER_ARRAY_SIZE(rng_options),
    .option_size = sizeof(struct ember_option),
    .ops = &rng_ops,
    .syscalls = rng_syscalls,
    .syscall_count = EMBER_ARRAY_SIZE(rng_syscalls),
    .syscall_size = sizeof(struct ember_syscall_rule),
    .metrics = rng_metrics,
    .metric_count = EMBER_ARRAY_SIZE(rng_metrics),
    .metric_size = sizeof(struct ember_metric),
};

EMBER_PLUGIN_DEFINE(rng_desc)
