/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tp-devmem: a plain device with no registers (mmio_size 0) and one page of device memory,
 * read-only for the guest, for the e2e case tests/e2e/cases/devmem.sh. Its ACPI node
 * (EMBR0001) lists only that page. The page holds:
 *
 *   offset 0   "EMBERDEV"           (8 bytes)
 *   offset 8   a counter (le64)     create writes 1, each timer tick adds one
 *   offset 16  "EMBERDEV" again     (the pattern on both sides of the counter)
 *
 * From its ticks (the vCPUs exist by then) it asks for a clock pair until one comes, at most
 * TP_PAIR_TRIES times (KVM pairs clocks only once its master clock is on, which happens as the
 * vCPUs first run), and logs one line:
 *   clock_pair: ok guest_tsc=N tsc_hz=N sec=N nsec=N tai_offset=N flags=N tries=N
 * or
 *   clock_pair: failed: ERRNO-NAME after N tries
 */
#include <ember/device.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TP_PAGE	      4096u
#define TP_TICK_NS    (50ULL * 1000 * 1000)
#define TP_MAGIC      "EMBERDEV"
#define TP_MAGIC_SZ   8u
#define TP_PAIR_TRIES 100u

struct ember_instance {
	const struct ember_host *host;
	uint8_t *page; /* ember's; valid until destroy returns */
	uint64_t counter;
	int timer;
	unsigned pair_tries; /* TP_PAIR_TRIES + 1 once logged */
};

static void tp_try_pair(struct ember_instance *d)
{
	struct ember_clock_pair pair = {.struct_size = sizeof(pair)};
	int rc = d->host->clock_pair(d->host, EMBER_CLOCK_REALTIME, &pair);

	d->pair_tries++;
	if (rc == 0) {
		d->host->log(d->host, EMBER_LOG_INFO,
			     "clock_pair: ok guest_tsc=%llu tsc_hz=%llu sec=%lld nsec=%u "
			     "tai_offset=%d flags=%u tries=%u",
			     (unsigned long long)pair.guest_tsc, (unsigned long long)pair.tsc_hz,
			     (long long)pair.sec, pair.nsec, pair.tai_offset, pair.flags,
			     d->pair_tries);
		d->pair_tries = TP_PAIR_TRIES + 1;
	} else if (d->pair_tries == TP_PAIR_TRIES) {
		d->host->log(d->host, EMBER_LOG_INFO, "clock_pair: failed: %s after %u tries",
			     rc == -ENOTSUP ? "ENOTSUP" : strerror(-rc), d->pair_tries);
		d->pair_tries = TP_PAIR_TRIES + 1;
	}
}

/* The counter is written whole (one aligned 8-byte store): the guest never sees half of it. */
static void tp_store_counter(struct ember_instance *d)
{
	atomic_store_explicit((_Atomic uint64_t *)(void *)(d->page + TP_MAGIC_SZ), d->counter,
			      memory_order_release);
}

static void tp_tick(void *arg)
{
	struct ember_instance *d = arg;

	d->counter++;
	tp_store_counter(d);
	if (d->pair_tries < TP_PAIR_TRIES)
		tp_try_pair(d);
	d->timer = d->host->timer_start(d->host, TP_TICK_NS, tp_tick, d);
}

static int tp_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *d = calloc(1, sizeof(*d));
	uint64_t gpa;
	void *page;
	int rc;

	if (!d)
		return -ENOMEM;
	d->host = host;
	d->timer = -1;
	rc = host->devmem_alloc(host, TP_PAGE, EMBER_DEVMEM_GUEST_READONLY, &page, &gpa);
	if (rc) {
		host->log(host, EMBER_LOG_ERROR, "devmem_alloc: %s", strerror(-rc));
		free(d);
		return rc;
	}
	d->page = page;
	memcpy(d->page, TP_MAGIC, TP_MAGIC_SZ);
	memcpy(d->page + 2 * TP_MAGIC_SZ, TP_MAGIC, TP_MAGIC_SZ);
	d->counter = 1;
	tp_store_counter(d);
	host->log(host, EMBER_LOG_INFO, "device memory at %#llx", (unsigned long long)gpa);
	d->timer = host->timer_start(host, TP_TICK_NS, tp_tick, d);
	if (d->timer < 0) {
		rc = d->timer;
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

static void tp_destroy(struct ember_instance *d)
{
	if (d->timer >= 0)
		d->host->timer_cancel(d->host, d->timer);
	free(d);
}

static const struct ember_device_ops tp_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = tp_create,
    .destroy = tp_destroy,
};

static const struct ember_plugin_desc tp_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 2,
    .kind = EMBER_DEVICE_MMIO,
    .name = "tp-devmem",
    .vendor = "ember tests",
    .version = "0.0.1",
    .description = "device memory with a pattern, and a clock pair in the log",
    .mmio_size = 0,
    .acpi_hid = "EMBR0001",
    .acpi_resources = EMBER_ACPI_RES_DEVMEM,
    .ops = &tp_ops,
};

EMBER_PLUGIN_DEFINE(tp_desc)
