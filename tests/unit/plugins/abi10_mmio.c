/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A plain MMIO device with an interrupt line as a vendor wrote it for ember device ABI 1.0,
 * compiled against the frozen 1.0 headers (abi-1.0/, never sdk/include). 32-bit registers:
 *   0x00 ID       read: the `id` option
 *   0x04 SCRATCH  read/write
 *   0x08 IRQ      write 1 raises the line, 0 lowers it; read: the level
 *   0x0c TIMER    write N > 0: raise the line N microseconds from now; 0 cancels; read: armed
 *   0x10 FIRED    read: how many times the timer raised the line
 * Other offsets and sizes read as 0 and ignore writes. tests/unit/test_abi_compat.c uses it.
 */
#include <ember/device.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if EMBER_ABI_MAJOR != 1 || EMBER_ABI_MINOR != 0
#error "abi10_mmio.c must be built against tests/unit/plugins/abi-1.0 only"
#endif

#define REG_ID	    0x00
#define REG_SCRATCH 0x04
#define REG_IRQ	    0x08
#define REG_TIMER   0x0c
#define REG_FIRED   0x10
#define WINDOW	    0x20

struct ember_instance {
	const struct ember_host *host;
	uint32_t id;
	uint32_t scratch;
	int level;
	int timer; /* or -1 */
	uint32_t fired;
};

static void set_level(struct ember_instance *d, int level)
{
	d->level = level;
	d->host->irq_set(d->host, level);
}

static void timer_done(void *arg)
{
	struct ember_instance *d = arg;

	d->timer = -1;
	d->fired++;
	set_level(d, 1);
}

static void cancel_timer(struct ember_instance *d)
{
	if (d->timer >= 0)
		d->host->timer_cancel(d->host, d->timer);
	d->timer = -1;
}

static int mmio10_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *d;
	int64_t id;

	if (host->opt_int(host, "id", &id))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = host;
	d->id = (uint32_t)id;
	d->timer = -1;
	*out = d;
	return 0;
}

static void mmio10_destroy(struct ember_instance *d)
{
	cancel_timer(d);
	free(d);
}

static void mmio10_reset(struct ember_instance *d)
{
	cancel_timer(d);
	d->scratch = 0;
	d->fired = 0;
	set_level(d, 0);
}

static void mmio10_read(struct ember_instance *d, uint64_t offset, void *data, uint32_t len)
{
	uint32_t v = 0;

	memset(data, 0, len);
	if (len != 4 || offset % 4)
		return;
	switch (offset) {
	case REG_ID:
		v = d->id;
		break;
	case REG_SCRATCH:
		v = d->scratch;
		break;
	case REG_IRQ:
		v = (uint32_t)d->level;
		break;
	case REG_TIMER:
		v = d->timer >= 0 ? 1u : 0u;
		break;
	case REG_FIRED:
		v = d->fired;
		break;
	default:
		break;
	}
	memcpy(data, &v, sizeof(v));
}

static void mmio10_write(struct ember_instance *d, uint64_t offset, const void *data, uint32_t len)
{
	uint32_t v;

	if (len != 4 || offset % 4)
		return;
	memcpy(&v, data, sizeof(v));
	switch (offset) {
	case REG_SCRATCH:
		d->scratch = v;
		break;
	case REG_IRQ:
		set_level(d, v != 0);
		break;
	case REG_TIMER:
		cancel_timer(d);
		if (v) {
			d->timer = d->host->timer_start(d->host, v * 1000ULL, timer_done, d);
			if (d->timer < 0)
				d->host->log(d->host, EMBER_LOG_ERROR, "cannot start a timer: %d",
					     d->timer);
		}
		break;
	default:
		break;
	}
}

static const struct ember_option mmio10_options[] = {
    EMBER_OPTION_INT_DEF("id", 0x10c0ffee, 0, 0xffffffffLL, "what the ID register reads"),
};

static const struct ember_device_ops mmio10_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = mmio10_create,
    .destroy = mmio10_destroy,
    .reset = mmio10_reset,
    .mmio_read = mmio10_read,
    .mmio_write = mmio10_write,
};

static const struct ember_plugin_desc mmio10_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 0,
    .kind = EMBER_DEVICE_MMIO,
    .name = "abi10-mmio",
    .vendor = "ember tests",
    .version = "1.0.0",
    .description = "ABI 1.0 plain MMIO device with an interrupt line and a timer",
    .mmio_size = WINDOW,
    .acpi_hid = "EMBR0010",
    .options = mmio10_options,
    .option_count = EMBER_ARRAY_SIZE(mmio10_options),
    .option_size = sizeof(struct ember_option),
    .ops = &mmio10_ops,
    .flags = EMBER_DESC_F_IRQ,
};

EMBER_PLUGIN_DEFINE(mmio10_desc)
