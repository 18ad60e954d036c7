/* SPDX-License-Identifier: Apache-2.0 */
/* The virtio-rng plugin through the harness: entropy, request cap, rate limit, resets. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "driver_vq.h"
#include "harness.h"
#include "virtio/virtio_mmio.h"

#define F_VERSION_1 (1ULL << EMBER_VIRTIO_F_VERSION_1)
#define F_EVENT_IDX (1ULL << EMBER_VIRTIO_F_EVENT_IDX)
#define F_INDIRECT  (1ULL << EMBER_VIRTIO_F_INDIRECT_DESC)
#define MS	    1000000ULL

static struct harness h;
static struct driver_vq vq;
static char err[512];

static void start(const char *options)
{
	harness_init(&h);
	cr_assert_eq(harness_create(&h, "virtio-rng", options, err, sizeof(err)), 0, "%s", err);
	cr_assert(driver_negotiate(&h, F_VERSION_1 | F_INDIRECT) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 64);
	driver_ok(&h);
}

static void teardown(void)
{
	cr_expect_eq(harness_fini(&h), 0, "leaks; log:\n%s", h.log);
}

/* Queues one writable buffer of len bytes and kicks. */
static uint64_t request(uint32_t len)
{
	struct driver_buf b = {harness_alloc(&h, len, 8), len, true};

	driver_vq_add(&vq, &b, 1);
	driver_vq_kick(&vq);
	return b.gpa;
}

static bool used(uint32_t *len)
{
	uint32_t id;

	return driver_vq_get_used(&vq, &id, len);
}

TestSuite(rng, .fini = teardown);

Test(rng, fills_buffers_with_entropy)
{
	uint8_t zero[256] = {0};
	uint64_t gpa;
	uint32_t len;

	start("");
	gpa = request(256);
	cr_assert(used(&len));
	cr_assert_eq(len, 256);
	cr_assert_neq(memcmp(harness_ptr(&h, gpa, 256), zero, 256), 0);
	cr_assert_eq(h.irq_level, 1);
	cr_assert(harness_read32(&h, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
}

Test(rng, identity)
{
	start("");
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_DEVICE_ID), 4);
	cr_assert_eq(plugin_instance_window_size(h.dev), 0x1000);
	cr_assert_str_eq(plugin_instance_acpi_hid(h.dev), "LNRO0005");
	cr_assert(plugin_instance_has_irq(h.dev));
}

Test(rng, request_cap)
{
	uint32_t len;

	start("request_max_bytes = 100;");
	request(4096);
	cr_assert(used(&len));
	cr_assert_eq(len, 100);
}

Test(rng, indirect_and_split_buffers)
{
	struct driver_buf b[] = {{0, 10, true}, {0, 20, true}};
	uint32_t len;

	start("");
	b[0].gpa = harness_alloc(&h, 10, 8);
	b[1].gpa = harness_alloc(&h, 20, 8);
	driver_vq_add_indirect(&vq, b, 2);
	driver_vq_kick(&vq);
	cr_assert(used(&len));
	cr_assert_eq(len, 30);
}

Test(rng, readable_only_chain_gets_nothing)
{
	struct driver_buf b = {0, 16, false};
	uint32_t len = 99;

	start("");
	b.gpa = harness_alloc(&h, 16, 8);
	driver_vq_add(&vq, &b, 1);
	driver_vq_kick(&vq);
	cr_assert(used(&len));
	cr_assert_eq(len, 0);
}

Test(rng, rate_limit_holds_and_resumes)
{
	uint32_t len;

	start("rate_bytes_per_sec = 1024; burst_bytes = 256;");
	request(256);
	cr_assert(used(&len));
	cr_assert_eq(len, 256, "a full bucket serves the burst at once");
	request(256);
	cr_assert_not(used(&len), "bucket empty: held");
	cr_assert_eq(harness_callbacks(&h), 1, "a refill timer is armed");
	harness_advance(&h, 100 * MS);
	cr_assert_not(used(&len));
	harness_advance(&h, 151 * MS);
	cr_assert(used(&len));
	cr_assert_eq(len, 256);
	cr_assert_eq(harness_callbacks(&h), 0);
}

/* The e2e expectation in simulated time: 256 KiB at 64 KiB/s takes about 4 s. */
Test(rng, throughput_matches_rate)
{
	uint64_t t0, got = 0;
	uint32_t len;

	start("rate_bytes_per_sec = \"64K\";");
	t0 = h.now_ns;
	while (got < 256 * 1024) {
		request(4096);
		while (!used(&len))
			harness_advance(&h, MS);
		got += len;
		/* The driver's rings are small: recycle the allocator area now and then. */
		if (h.alloc_next > HARNESS_RAM0_GPA + HARNESS_RAM0_SIZE - (1 << 20))
			h.alloc_next = vq.used + 4096;
	}
	cr_assert(h.now_ns - t0 > 3800 * MS && h.now_ns - t0 < 4100 * MS, "took %llu ms",
		  (unsigned long long)((h.now_ns - t0) / MS));
}

Test(rng, reset_while_held_frees_everything)
{
	uint32_t len;

	start("rate_bytes_per_sec = 100; burst_bytes = 10;");
	request(10);
	request(10);
	cr_assert(used(&len));
	cr_assert_not(used(&len));
	harness_write32(&h, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(harness_callbacks(&h), 0, "timer cancelled");
	cr_assert(driver_negotiate(&h, F_VERSION_1 | F_EVENT_IDX) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 64);
	driver_ok(&h);
	request(10);
	cr_assert_not(used(&len), "a reset refilled the bucket");
	harness_advance(&h, 100 * MS);
	cr_assert(used(&len), "the tokens earned since");
	cr_assert_eq(len, 10);
}

/* The bucket belongs to the device's lifetime: resets (each a new driver session) grant nothing. */
Test(rng, resets_do_not_refill_the_bucket)
{
	uint64_t t0, got = 0;
	uint32_t len;

	start("rate_bytes_per_sec = 1024; burst_bytes = 256;");
	t0 = h.now_ns;
	/* Reset before every request: 4 KiB at 1 KiB/s still take about 3.75 s (one burst free). */
	while (got < 4096) {
		harness_write32(&h, VIRTIO_MMIO_STATUS, 0);
		cr_assert(driver_negotiate(&h, F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
		driver_vq_setup(&h, &vq, 0, 64);
		driver_ok(&h);
		request(256);
		while (!used(&len))
			harness_advance(&h, MS);
		got += len;
	}
	cr_assert(h.now_ns - t0 >= 3700 * MS, "took %llu ms",
		  (unsigned long long)((h.now_ns - t0) / MS));
}

Test(rng, guest_breaking_the_queue_only_breaks_the_device)
{
	uint32_t len;

	start("");
	driver_vq_set_avail_idx(&vq, 1000);
	driver_vq_kick(&vq);
	cr_assert(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	cr_assert(harness_log_contains(&h, "virtio-rng.0: device needs reset"), "%s", h.log);
	cr_assert_not(used(&len));
}

Test(rng, bad_options_are_refused)
{
	harness_init(&h);
	cr_assert_eq(
	    harness_create(&h, "virtio-rng", "rate_bytes_per_sec = \"fast\";", err, sizeof(err)),
	    -1);
	cr_assert(strstr(err, "harness.cfg:3: devices[0].rate_bytes_per_sec: \"fast\" is not a "
			      "size"),
		  "%s", err);
	cr_assert_eq(harness_create(&h, "virtio-rng", "request_max_bytes = 0;", err, sizeof(err)),
		     -1);
	cr_assert(strstr(err, "0 is outside 1..16777216"), "%s", err);
}

Test(rng, two_instances_are_independent)
{
	struct plugin_instance_params params = {0};
	struct plugin_instance *second;
	const struct ember_host *host;
	uint64_t rate;

	start("rate_bytes_per_sec = 1000;");
	params = (struct plugin_instance_params){
	    .plugin = h.plugin,
	    .options = h.options,
	    .name = "virtio-rng.1",
	    .mem = &h.mem,
	    .platform = &harness_platform,
	    .platform_opaque = &h,
	};
	cr_assert_eq(plugin_instance_create(&params, &second, err, sizeof(err)), 0, "%s", err);
	host = plugin_instance_host(second);
	cr_assert_str_eq(host->instance_name, "virtio-rng.1");
	cr_assert_eq(host->opt_size(host, "rate_bytes_per_sec", &rate), 0);
	cr_assert_eq(rate, 1000);
	cr_assert_eq(host->opt_int(host, "rate_bytes_per_sec", (int64_t *)&rate), -EINVAL);
	cr_assert_eq(host->opt_size(host, "nope", &rate), -ENOENT);
	/* The second device has its own register file. */
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK,
		     VIRTIO_STATUS_DRIVER_OK);
	{
		uint32_t v = 1;

		plugin_instance_mmio_read(second, VIRTIO_MMIO_STATUS, &v, 4);
		cr_assert_eq(v, 0);
	}
	cr_assert_eq(plugin_instance_destroy(second), 0);
}

Test(rng, create_destroy_cycles_leak_nothing)
{
	uint32_t len;

	start("rate_bytes_per_sec = 100; burst_bytes = 10;");
	for (int i = 0; i < 50; i++) {
		request(10);
		request(10); /* the second is held with a timer when destroy comes */
		cr_assert_eq(harness_destroy(&h), 0);
		cr_assert_eq(harness_create(&h, "virtio-rng",
					    "rate_bytes_per_sec = 100; burst_bytes = 10;", err,
					    sizeof(err)),
			     0, "%s", err);
		cr_assert_eq(harness_callbacks(&h), 0);
		cr_assert(driver_negotiate(&h, F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
		driver_vq_setup(&h, &vq, 0, 64);
		driver_ok(&h);
		while (used(&len))
			;
	}
}
