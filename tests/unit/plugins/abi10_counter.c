/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A plugin as a vendor wrote it for ember device ABI 1.0, compiled against the frozen 1.0
 * headers (abi-1.0/, never sdk/include): a virtio entropy device (id 4, so the guest's stock
 * virtio_rng binds it) that fills buffers with a counter instead of entropy, so that every byte
 * can be checked: byte k given since the last reset is (seed + k) mod 256. Options: seed (int),
 * label (string, logged), delay_ms (int: serve on a timer that long after a kick, to use the
 * event loop's timers). Its descriptor is the 1.0 one (128 bytes), so today's loader must
 * zero-fill the rest. tests/unit/test_abi_compat.c and tests/e2e/cases/abi-compat.sh use it.
 */
#include <ember/virtio.h>

#include <errno.h>
#include <stdlib.h>

/* The point of this plugin is the old headers: refuse to build against any other. */
#if EMBER_ABI_MAJOR != 1 || EMBER_ABI_MINOR != 0
#error "abi10_counter.c must be built against tests/unit/plugins/abi-1.0 only"
#endif

#define COUNTER_QUEUE_SIZE 256
#define REQUEST_MAX	   65536u /* bytes per buffer at most, as virtio-rng's default */
#define NS_PER_MS	   1000000ULL

struct ember_instance {
	const struct ember_host *host;
	uint8_t seed;
	uint8_t next; /* the next byte of the pattern */
	uint64_t delay_ns;
	int timer; /* armed by a kick when delay_ns > 0, or -1 */
};

/* Fills the chain's writable part (at most REQUEST_MAX) with the pattern; returns the bytes. */
static uint32_t fill(struct ember_instance *d, const struct ember_vq_chain *chain)
{
	uint64_t want = chain->writable_bytes < REQUEST_MAX ? chain->writable_bytes : REQUEST_MAX;
	uint64_t done = 0;
	uint8_t buf[512];

	while (done < want) {
		uint64_t n = want - done < sizeof(buf) ? want - done : sizeof(buf);
		int64_t put;

		for (uint64_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(d->next + i);
		put = d->host->chain_write(d->host, chain, done, buf, n);
		if (put <= 0)
			break;
		/* Only what reached the guest advances the pattern, so the stream has no gaps. */
		d->next = (uint8_t)(d->next + put);
		done += (uint64_t)put;
	}
	return (uint32_t)done;
}

static void serve(struct ember_instance *d)
{
	const struct ember_host *host = d->host;
	struct ember_vq_chain *chain;
	bool pushed = false;

	while (host->vq_pop(host, 0, &chain) > 0) {
		host->vq_push(host, chain, fill(d, chain));
		pushed = true;
	}
	if (pushed)
		host->vq_notify(host, 0);
}

static void delay_done(void *arg)
{
	struct ember_instance *d = arg;

	d->timer = -1;
	serve(d);
}

static void cancel_timer(struct ember_instance *d)
{
	if (d->timer >= 0)
		d->host->timer_cancel(d->host, d->timer);
	d->timer = -1;
}

static int counter_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *d;
	int64_t seed, delay_ms;
	const char *label;

	/*
	 * A 1.0 plugin may call everything up to set_needs_reset; the table may be larger (a
	 * newer host), never smaller. Saying both sizes lets the tests see what the plugin saw.
	 */
	if (host->struct_size < sizeof(struct ember_host)) {
		host->log(host, EMBER_LOG_ERROR, "host table of %u bytes, need %zu",
			  host->struct_size, sizeof(struct ember_host));
		return -EINVAL;
	}
	if (host->opt_int(host, "seed", &seed) || host->opt_int(host, "delay_ms", &delay_ms) ||
	    host->opt_string(host, "label", &label))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = host;
	d->seed = d->next = (uint8_t)seed;
	d->delay_ns = (uint64_t)delay_ms * NS_PER_MS;
	d->timer = -1;
	host->log(host, EMBER_LOG_INFO,
		  "label %s, seed %u, host ABI %u.%u, host table %u bytes (this plugin knows %zu)",
		  label ? label : "(none)", d->seed, host->abi_major, host->abi_minor,
		  host->struct_size, sizeof(struct ember_host));
	*out = d;
	return 0;
}

static void counter_destroy(struct ember_instance *d)
{
	cancel_timer(d);
	free(d);
}

static void counter_reset(struct ember_instance *d)
{
	cancel_timer(d);
	d->next = d->seed;
}

static void counter_queue_notify(struct ember_instance *d, uint32_t queue)
{
	(void)queue;
	if (!d->delay_ns) {
		serve(d);
		return;
	}
	/* One timer serves every buffer made available until it fires. */
	if (d->timer < 0) {
		d->timer = d->host->timer_start(d->host, d->delay_ns, delay_done, d);
		if (d->timer < 0)
			d->host->log(d->host, EMBER_LOG_ERROR, "cannot start a timer: %d",
				     d->timer);
	}
}

static const struct ember_option counter_options[] = {
    EMBER_OPTION_INT_DEF("seed", 0, 0, 255, "first byte of the counter pattern"),
    EMBER_OPTION_STRING_DEF("label", "none", "a name, logged at create"),
    EMBER_OPTION_INT_DEF("delay_ms", 0, 0, 1000, "serve requests this long after a kick"),
};

static const struct ember_device_ops counter_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = counter_create,
    .destroy = counter_destroy,
    .reset = counter_reset,
    .queue_notify = counter_queue_notify,
};

static const struct ember_plugin_desc counter_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 0,
    .kind = EMBER_DEVICE_VIRTIO,
    .name = "abi10-counter",
    .vendor = "ember tests",
    .version = "1.0.0",
    .description = "ABI 1.0 virtio entropy device with a counter pattern",
    .virtio_device_id = EMBER_VIRTIO_ID_RNG,
    .virtio_queue_count = 1,
    .virtio_queue_max_size = COUNTER_QUEUE_SIZE,
    .options = counter_options,
    .option_count = EMBER_ARRAY_SIZE(counter_options),
    .option_size = sizeof(struct ember_option),
    .ops = &counter_ops,
};

EMBER_PLUGIN_DEFINE(counter_desc)
