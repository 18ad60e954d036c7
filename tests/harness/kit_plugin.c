/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kit-clock: a test plugin for the vendor kit's own tests (test_kit.c). A plain MMIO device with
 * ABI 1.2 services: device memory (`pages` pages, required option) whose first 8 bytes hold a
 * magic and whose next 8 the guest TSC of the clock pair read at create; registers: 0 scratch
 * (32 bits, reads counted by the "reads" metric), 8 the guest TSC of a fresh clock pair (64
 * bits; all ones when the host has none). A control "arm" starts a timer that raises the
 * interrupt line after `delay_ns`; "set" sets the scratch register and replies the old value.
 */
#include <ember/device.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIT_MAGIC 0x6b69742d636c6f63ULL /* "kit-cloc" */

struct ember_instance {
	const struct ember_host *host;
	uint64_t *devmem;
	uint32_t scratch;
	uint64_t reads;
	int timer; /* -1: none */
};

static void fire(void *arg)
{
	struct ember_instance *d = arg;

	d->timer = -1;
	d->host->irq_set(d->host, 1);
}

static int create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *d;
	struct ember_clock_pair pair = {.struct_size = sizeof(pair)};
	uint64_t gpa;
	int64_t pages;
	bool fail;
	void *mem;
	int rc;

	if (host->opt_int(host, "pages", &pages) || host->opt_bool(host, "fail", &fail))
		return -EINVAL;
	if (fail) {
		host->log(host, EMBER_LOG_ERROR, "failing on purpose");
		return -ENODEV;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	rc = host->devmem_alloc(host, (uint64_t)pages * 4096, EMBER_DEVMEM_GUEST_READONLY, &mem,
				&gpa);
	if (rc) {
		host->log(host, EMBER_LOG_ERROR, "devmem_alloc: %d", rc);
		free(d);
		return rc;
	}
	d->host = host;
	d->devmem = mem;
	d->devmem[0] = KIT_MAGIC;
	d->devmem[1] = host->clock_pair(host, EMBER_CLOCK_REALTIME, &pair) ? 0 : pair.guest_tsc;
	d->timer = -1;
	host->log(host, EMBER_LOG_INFO, "device memory at 0x%llx", (unsigned long long)gpa);
	*out = d;
	return 0;
}

static void destroy(struct ember_instance *d)
{
	if (d->timer >= 0)
		d->host->timer_cancel(d->host, d->timer);
	free(d);
}

static void reset(struct ember_instance *d)
{
	d->scratch = 0;
	d->host->irq_set(d->host, 0);
}

static void mmio_read(struct ember_instance *d, uint64_t offset, void *data, uint32_t len)
{
	struct ember_clock_pair pair = {.struct_size = sizeof(pair)};
	uint64_t v = ~0ULL;

	if (offset < 4 && offset + len <= 4) {
		d->reads++;
		memcpy(data, (const uint8_t *)&d->scratch + offset, len);
		return;
	}
	if (offset == 8 && len == 8 && !d->host->clock_pair(d->host, EMBER_CLOCK_REALTIME, &pair))
		v = pair.guest_tsc;
	memcpy(data, &v, len);
}

static void mmio_write(struct ember_instance *d, uint64_t offset, const void *data, uint32_t len)
{
	if (offset < 4 && offset + len <= 4)
		memcpy((uint8_t *)&d->scratch + offset, data, len);
}

static int control(struct ember_instance *d, struct ember_control_call *call)
{
	const struct ember_host *h = d->host;

	if (!strcmp(call->name, "set")) {
		h->reply_int(h, call, "old", d->scratch);
		d->scratch = (uint32_t)call->args[0].num;
		return 0;
	}
	/* arm */
	if (d->timer >= 0) {
		snprintf(call->message, call->message_size, "a timer is armed already");
		return -EBUSY;
	}
	d->timer = h->timer_start(h, (uint64_t)call->args[0].num, fire, d);
	return d->timer < 0 ? d->timer : 0;
}

static void metrics_read(struct ember_instance *d, uint64_t *values, uint32_t count)
{
	if (count >= 1)
		values[0] = d->reads;
}

static const struct ember_option options[] = {
    EMBER_OPTION_INT_REQ("pages", 1, 4, "pages of device memory"),
    EMBER_OPTION_BOOL_DEF("fail", 0, "make create fail"),
};

static const struct ember_option set_params[] = {
    EMBER_OPTION_INT_REQ("value", 0, 0xffffffffLL, "the new scratch value"),
};
static const struct ember_option arm_params[] = {
    EMBER_OPTION_INT_DEF("delay_ns", 1000, 1, 1000000000000LL, "when to raise the line"),
};
static const struct ember_control controls[] = {
    EMBER_CONTROL_DEF("set", set_params, "set the scratch register"),
    EMBER_CONTROL_DEF("arm", arm_params, "raise the interrupt line after delay_ns"),
};
static const struct ember_metric metrics[] = {
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "reads", "reads", "scratch register reads"),
};

static const struct ember_device_ops ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = create,
    .destroy = destroy,
    .reset = reset,
    .mmio_read = mmio_read,
    .mmio_write = mmio_write,
    .control = control,
    .metrics_read = metrics_read,
};

static const struct ember_plugin_desc desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 2,
    .kind = EMBER_DEVICE_MMIO,
    .name = "kit-clock",
    .vendor = "ember",
    .version = "1",
    .description = "the test kit's own test device",
    .mmio_size = 16,
    .options = options,
    .option_count = EMBER_ARRAY_SIZE(options),
    .option_size = sizeof(struct ember_option),
    .ops = &ops,
    .flags = EMBER_DESC_F_IRQ,
    .controls = controls,
    .control_count = EMBER_ARRAY_SIZE(controls),
    .control_size = sizeof(struct ember_control),
    .metrics = metrics,
    .metric_count = EMBER_ARRAY_SIZE(metrics),
    .metric_size = sizeof(struct ember_metric),
};

EMBER_PLUGIN_DEFINE(desc)
