/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vendor kit's public API (ember/harness.h) through the archive that is installed
 * (libember-harness.a), as an out-of-tree test sees it: kit-clock (kit_plugin.c) for MMIO,
 * options, device memory, the clock pair, controls and metrics; virtio-rng for the driver side.
 */
#include <criterion/criterion.h>
#include <ember/harness.h>
#include <ember/virtio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef KIT_PLUGIN
#error "KIT_PLUGIN must name kit-clock.so"
#endif

#define F_VERSION_1 (1ULL << EMBER_VIRTIO_F_VERSION_1)
#define F_INDIRECT  (1ULL << EMBER_VIRTIO_F_INDIRECT_DESC)

static struct ember_harness *h;

static void start(const char *path, const char *options)
{
	cr_assert_eq(ember_harness_new(&h), 0);
	cr_assert_eq(ember_harness_load(h, path), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_create(h, options), 0, "%s", ember_harness_error(h));
}

static void teardown(void)
{
	if (h) {
		char *log = strdup(ember_harness_log(h));

		cr_expect_eq(ember_harness_free(h), 0, "leaks; log:\n%s", log);
		free(log);
	}
	h = NULL;
}

TestSuite(kit, .fini = teardown);

Test(kit, lifetime_and_order)
{
	struct ember_harness *other;

	cr_assert_eq(ember_harness_new(&h), 0);
	cr_assert_str_eq(ember_harness_error(h), "");
	cr_assert_eq(ember_harness_create(h, ""), -EPERM);
	cr_assert(strstr(ember_harness_error(h), "no plugin"));
	cr_assert_eq(ember_harness_load(h, "/nonexistent/x.so"), -ENOENT);
	cr_assert_eq(ember_harness_load(h, "/dev/null"), -EINVAL);
	cr_assert_eq(ember_harness_mmio_write(h, 0, 4, 1), -EPERM);
	cr_assert_null(ember_harness_host(h));
	cr_assert_eq(ember_harness_destroy(h), 0);

	/* Two harnesses, two instances of one plugin, in one process. */
	cr_assert_eq(ember_harness_new(&other), 0);
	cr_assert_eq(ember_harness_load(other, KIT_PLUGIN), 0, "%s", ember_harness_error(other));
	cr_assert_eq(ember_harness_load(h, KIT_PLUGIN), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_load(h, KIT_PLUGIN), -EBUSY);
	cr_assert_eq(ember_harness_create(h, "pages = 1;"), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_create(h, "pages = 1;"), -EBUSY);
	cr_assert_eq(ember_harness_create(other, "pages = 1;"), 0);
	ember_harness_write32(h, 0, 1);
	ember_harness_write32(other, 0, 2);
	cr_assert_eq(ember_harness_read32(h, 0), 1);
	cr_assert_eq(ember_harness_read32(other, 0), 2);
	cr_assert_eq(ember_harness_free(other), 0);
	/* destroy keeps the plugin: create again with other options. */
	cr_assert_eq(ember_harness_destroy(h), 0);
	cr_assert_eq(ember_harness_create(h, "pages = 2;"), 0, "%s", ember_harness_error(h));
}

Test(kit, options_are_checked_like_a_config)
{
	cr_assert_eq(ember_harness_new(&h), 0);
	cr_assert_eq(ember_harness_load(h, KIT_PLUGIN), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_create(h, ""), -EINVAL);
	cr_assert(strstr(ember_harness_error(h), "pages"), "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_create(h, "pages = 5;"), -EINVAL);
	cr_assert(strstr(ember_harness_error(h), "devices[0].pages"), "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_create(h, "pages = 1; colour = 3;"), -EINVAL);
	cr_assert_eq(ember_harness_create(h, "pages = "), -EINVAL, "a syntax error");
	cr_assert_eq(ember_harness_create(h, "pages = 1; fail = true;"), -EIO);
	cr_assert(ember_harness_log_contains(h, "kit-clock.0: failing on purpose"), "%s",
		  ember_harness_log(h));
	ember_harness_log_clear(h);
	cr_assert_str_eq(ember_harness_log(h), "");
	cr_assert_eq(ember_harness_create(h, "pages = 1;"), 0, "%s", ember_harness_error(h));
}

Test(kit, mmio_accesses)
{
	uint64_t v;

	start(KIT_PLUGIN, "pages = 1;");
	cr_assert_eq(ember_harness_mmio_write(h, 0, 4, 0x11223344), 0);
	cr_assert_eq(ember_harness_mmio_read(h, 0, 4, &v), 0);
	cr_assert_eq(v, 0x11223344);
	cr_assert_eq(ember_harness_mmio_read(h, 1, 2, &v), 0);
	cr_assert_eq(v, 0x2233);
	cr_assert_eq(ember_harness_mmio_write(h, 3, 1, 0xaa), 0);
	cr_assert_eq(ember_harness_read32(h, 0), 0xaa223344);
	cr_assert_eq(ember_harness_mmio_read(h, 100, 4, &v), 0, "inside the 4 KiB window");
	cr_assert_eq(v, 0xffffffffu, "past mmio_size: all ones");
	cr_assert_eq(ember_harness_mmio_read(h, 0, 3, &v), -EINVAL);
	cr_assert_eq(v, ~0ULL);
	cr_assert_eq(ember_harness_mmio_read(h, 4094, 4, &v), -EINVAL);
	cr_assert_eq(ember_harness_mmio_write(h, 4096, 1, 0), -EINVAL);
	cr_assert_eq(ember_harness_reset(h), 0);
	cr_assert_eq(ember_harness_read32(h, 0), 0);
	cr_assert_not_null(ember_harness_host(h));
	cr_assert_str_eq(ember_harness_host(h)->instance_name, "kit-clock.0");
}

Test(kit, guest_ram)
{
	uint64_t gpa0, size0, gpa1, size1, a, b;
	uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8}, back[8];

	cr_assert_eq(ember_harness_new(&h), 0);
	cr_assert_eq(ember_harness_ram(h, 0, &gpa0, &size0), 0);
	cr_assert_eq(ember_harness_ram(h, 1, &gpa1, &size1), 0);
	cr_assert_eq(ember_harness_ram(h, 2, &gpa1, &size1), -EINVAL);
	cr_assert_neq(gpa0, 0, "a non-zero base");
	cr_assert_eq(gpa1, gpa0 + size0, "adjacent regions");
	a = ember_harness_alloc(h, 100, 64);
	b = ember_harness_alloc(h, 8, 0);
	cr_assert(a && a % 64 == 0 && a >= gpa0 && a + 100 <= gpa0 + size0);
	cr_assert(b >= a + 100);
	cr_assert_eq(ember_harness_alloc(h, 8, 3), 0, "not a power of two");
	cr_assert_eq(ember_harness_alloc(h, size0, 1), 0, "full");
	cr_assert_eq(ember_harness_mem_write(h, b, buf, 8), 0);
	cr_assert_eq(ember_harness_mem_read(h, b, back, 8), 0);
	cr_assert_eq(memcmp(buf, back, 8), 0);
	cr_assert_eq(memcmp(ember_harness_ptr(h, b, 8), buf, 8), 0);
	cr_assert_eq(ember_harness_mem_read(h, gpa1 - 4, back, 8), -EFAULT, "straddles");
	cr_assert_null(ember_harness_ptr(h, gpa1 - 4, 8));
	cr_assert_eq(ember_harness_mem_read(h, gpa0 - 8, back, 8), -EFAULT);
}

Test(kit, device_memory_and_clock_pair)
{
	const uint64_t *mem;
	uint64_t gpa, size, v, gpa0, size0;
	uint32_t flags;
	struct ember_clock_pair pair = {.struct_size = sizeof(pair)}, set;

	start(KIT_PLUGIN, "pages = 2;");
	mem = ember_harness_devmem(h, &gpa, &size, &flags);
	cr_assert_not_null(mem);
	cr_assert_eq(size, 8192);
	cr_assert_eq(flags, EMBER_DEVMEM_GUEST_READONLY);
	cr_assert_eq(ember_harness_ram(h, 0, &gpa0, &size0), 0);
	cr_assert(gpa % 4096 == 0 && (gpa + size <= gpa0 || gpa >= gpa0 + 2 * size0),
		  "outside RAM: 0x%llx", (unsigned long long)gpa);
	cr_assert_eq(mem[0], 0x6b69742d636c6f63ULL);
	cr_assert_eq(mem[1], 1ULL << 40, "the default pair at create: TSC 2^40");

	/* The default pair moves with the fake clock: 2 GHz. */
	cr_assert_eq(ember_harness_advance(h, 1000), 0);
	cr_assert_eq(ember_harness_mmio_read(h, 8, 8, &v), 0);
	cr_assert_eq(v, (1ULL << 40) + 2000);

	set = (struct ember_clock_pair){.guest_tsc = 1000,
					.sec = 10,
					.nsec = 999999999,
					.tai_offset = 37,
					.tsc_hz = 1000000000};
	cr_assert_eq(ember_harness_set_clock_pair(h, &set), 0);
	cr_assert_eq(ember_harness_advance(h, 500), 0);
	cr_assert_eq(ember_harness_mmio_read(h, 8, 8, &v), 0);
	cr_assert_eq(v, 1500);
	cr_assert_eq(
	    ember_harness_host(h)->clock_pair(ember_harness_host(h), EMBER_CLOCK_REALTIME, &pair),
	    0);
	cr_assert_eq(pair.sec, 11);
	cr_assert_eq(pair.nsec, 499);
	cr_assert_eq(pair.tsc_hz, 1000000000);
	cr_assert_eq(pair.flags, 0, "flags as set");
	cr_assert_eq(
	    ember_harness_host(h)->clock_pair(ember_harness_host(h), EMBER_CLOCK_TAI, &pair), 0);
	cr_assert_eq(pair.sec, 11 + 37);
	cr_assert_eq(ember_harness_host(h)->clock_pair(ember_harness_host(h), 7, &pair), -EINVAL);

	set.tsc_hz = 0;
	cr_assert_eq(ember_harness_set_clock_pair(h, &set), 0);
	cr_assert_eq(ember_harness_mmio_read(h, 8, 8, &v), 0);
	cr_assert_eq(v, ~0ULL, "no pairing: the device sees -ENOTSUP");
	set.nsec = 1000000000;
	cr_assert_eq(ember_harness_set_clock_pair(h, &set), -EINVAL);

	cr_assert_eq(ember_harness_destroy(h), 0);
	cr_assert_null(ember_harness_devmem(h, &gpa, &size, NULL));
	cr_assert_eq(size, 0);
}

Test(kit, controls_timers_and_metrics)
{
	char reply[256];
	uint64_t values[4] = {0}, v;

	start(KIT_PLUGIN, "pages = 1;");
	cr_assert_eq(ember_harness_control(h, "set", "value = 7;", reply, sizeof(reply)), 0, "%s",
		     reply);
	cr_assert(strstr(reply, "old = 0"), "%s", reply);
	cr_assert_eq(ember_harness_read32(h, 0), 7);
	cr_assert_eq(ember_harness_control(h, "set", "", reply, sizeof(reply)), -EINVAL);
	cr_assert(strstr(reply, "value"), "%s", reply);
	cr_assert_eq(ember_harness_control(h, "nope", NULL, reply, sizeof(reply)), -ENOENT);
	cr_assert_eq(ember_harness_control(h, "nope", NULL, NULL, 0), -ENOENT);
	cr_assert_neq(ember_harness_error(h)[0], '\0');

	cr_assert_eq(ember_harness_control(h, "arm", "delay_ns = 1000;", NULL, 0), 0);
	cr_assert_eq(ember_harness_control(h, "arm", NULL, reply, sizeof(reply)), -EBUSY);
	cr_assert(strstr(reply, "armed already"), "%s", reply);
	cr_assert_eq(ember_harness_pending(h), 1);
	cr_assert_eq(ember_harness_advance(h, 999), 0);
	cr_assert_eq(ember_harness_irq_raises(h), 0);
	cr_assert_eq(ember_harness_advance(h, 1), 1);
	cr_assert_eq(ember_harness_irq_raises(h), 1);
	cr_assert_eq(ember_harness_irq_level(h), 1);
	cr_assert_eq(ember_harness_pending(h), 0);
	cr_assert_eq(ember_harness_now(h), 1000000000ULL + 1000);

	cr_assert_eq(ember_harness_metrics(h, values, 4), 1);
	cr_assert_eq(values[0], 1, "one read so far");
	ember_harness_read32(h, 0);
	cr_assert_eq(ember_harness_metric(h, "reads", &v), 0);
	cr_assert_eq(v, 2);
	cr_assert_eq(ember_harness_metric(h, "writes", &v), -ENOENT);
	cr_assert_eq(ember_harness_metrics(h, values, 0), 0);

	/* An armed timer at destroy: the plugin cancels it, nothing leaks. */
	cr_assert_eq(ember_harness_control(h, "arm", NULL, NULL, 0), 0);
	cr_assert_eq(ember_harness_destroy(h), 0);
	cr_assert_eq(ember_harness_pending(h), 0);
	cr_assert_eq(ember_harness_metrics(h, values, 4), -EPERM);
}

#ifdef RNG_PLUGIN
static uint64_t buffer(uint32_t len)
{
	uint64_t gpa = ember_harness_alloc(h, len, 8);

	cr_assert_neq(gpa, 0);
	return gpa;
}

Test(kit, virtio_driver)
{
	struct ember_harness_vq *vq, *again;
	struct ember_harness_buf b[2];
	uint64_t features, zero[4] = {0};
	uint32_t id, len, isr;
	int head[4];

	start(RNG_PLUGIN, "");
	cr_assert_eq(ember_harness_virtio_features(h, &features), 0);
	cr_assert(features & F_VERSION_1);
	cr_assert_eq(ember_harness_virtio_negotiate(h, 0), -EINVAL, "VERSION_1 is required");
	cr_assert_eq(ember_harness_virtio_negotiate(h, F_VERSION_1 | F_INDIRECT), 0, "%s",
		     ember_harness_error(h));
	cr_assert_eq(ember_harness_vq_setup(h, 1, 4, &vq), -EINVAL, "one queue only");
	cr_assert_eq(ember_harness_vq_setup(h, 0, 3, &vq), -EINVAL, "not a power of two");
	cr_assert_eq(ember_harness_vq_setup(h, 0, 4, &vq), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_driver_ok(h), 0, "%s", ember_harness_error(h));
	cr_assert(ember_harness_virtio_status(h) & EMBER_HARNESS_STATUS_DRIVER_OK);

	/* Four one-buffer chains fill the four descriptors. */
	for (int i = 0; i < 4; i++) {
		b[0] = (struct ember_harness_buf){buffer(32), 32, EMBER_HARNESS_BUF_WRITE};
		head[i] = ember_harness_vq_add(vq, b, 1, 0);
		cr_assert_geq(head[i], 0);
	}
	cr_assert_eq(ember_harness_vq_add(vq, b, 1, 0), -ENOSPC);
	cr_assert_eq(ember_harness_vq_in_flight(vq), 4);
	cr_assert_eq(ember_harness_vq_used(vq, &id, &len), 0, "not kicked yet");
	cr_assert_eq(ember_harness_vq_kick(vq), 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(ember_harness_vq_used(vq, &id, &len), 1);
		cr_assert_eq(id, (uint32_t)head[i]);
		cr_assert_eq(len, 32);
	}
	cr_assert_eq(ember_harness_vq_used(vq, &id, &len), 0);
	cr_assert_eq(ember_harness_vq_in_flight(vq), 0);
	cr_assert_geq(ember_harness_irq_raises(h), 1);
	cr_assert_eq(ember_harness_virtio_irq_ack(h, &isr), 0);
	cr_assert_eq(isr, 1, "used-buffer interrupt");
	cr_assert_eq(ember_harness_irq_level(h), 0, "acknowledged");

	/* A two-buffer chain, then the same through an indirect table: descriptors are reused. */
	b[0] = (struct ember_harness_buf){buffer(16), 16, EMBER_HARNESS_BUF_WRITE};
	b[1] = (struct ember_harness_buf){buffer(16), 16, EMBER_HARNESS_BUF_WRITE};
	cr_assert_geq(ember_harness_vq_add(vq, b, 2, 0), 0);
	cr_assert_geq(ember_harness_vq_add(vq, b, 2, EMBER_HARNESS_VQ_INDIRECT), 0);
	cr_assert_eq(ember_harness_vq_add(vq, b, 0, 0), -EINVAL);
	cr_assert_eq(ember_harness_vq_add(vq, b, 5, 0), -EINVAL);
	cr_assert_eq(ember_harness_vq_kick(vq), 0);
	cr_assert_eq(ember_harness_vq_used(vq, &id, &len), 1);
	cr_assert_eq(len, 32);
	cr_assert_eq(ember_harness_vq_used(vq, &id, &len), 1);
	cr_assert_eq(len, 32);
	cr_assert_neq(memcmp(ember_harness_ptr(h, b[1].gpa, 16), zero, 16), 0, "entropy");

	/* Setting the queue up again keeps the handle. */
	cr_assert_eq(ember_harness_virtio_negotiate(h, F_VERSION_1), 0);
	cr_assert_eq(ember_harness_vq_setup(h, 0, 8, &again), 0);
	cr_assert_eq(again, vq);
	cr_assert_eq(ember_harness_driver_ok(h), 0);
	{
		uint64_t desc, avail, used;

		ember_harness_vq_rings(vq, &desc, &avail, &used);
		cr_assert(desc && avail && used);
	}
	cr_assert_eq(ember_harness_virtio_config_read(h, 0, 4, &features), 0);
	cr_assert_eq(ember_harness_virtio_config_read(h, 0, 3, &features), -EINVAL);
}

Test(kit, a_full_queue_and_the_loop_turn)
{
	struct ember_harness_vq *vq;
	struct ember_harness_buf b;
	uint32_t id, len;
	unsigned used = 0;

	start(RNG_PLUGIN, "");
	cr_assert_eq(ember_harness_virtio_negotiate(h, F_VERSION_1), 0);
	cr_assert_eq(ember_harness_vq_setup(h, 0, 256, &vq), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_driver_ok(h), 0);
	for (int i = 0; i < 256; i++) {
		b = (struct ember_harness_buf){buffer(8), 8, EMBER_HARNESS_BUF_WRITE};
		cr_assert_geq(ember_harness_vq_add(vq, &b, 1, 0), 0, "%s", ember_harness_error(h));
	}
	cr_assert_eq(ember_harness_vq_kick(vq), 0);
	/* A kick may stop at ember's budget: the loop's next turn (a timer due now) goes on. */
	ember_harness_advance(h, 0);
	while (ember_harness_vq_used(vq, &id, &len) == 1)
		used++;
	cr_assert_eq(used, 256);
	cr_assert_eq(ember_harness_vq_in_flight(vq), 0);
	cr_assert_eq(ember_harness_pending(h), 0);
}

Test(kit, not_virtio)
{
	struct ember_harness_vq *vq;
	uint64_t f;

	start(KIT_PLUGIN, "pages = 1;");
	cr_assert_eq(ember_harness_virtio_features(h, &f), -EPERM);
	cr_assert_eq(ember_harness_virtio_negotiate(h, F_VERSION_1), -EPERM);
	cr_assert_eq(ember_harness_vq_setup(h, 0, 4, &vq), -EPERM);
	cr_assert_null(vq);
	cr_assert_eq(ember_harness_virtio_status(h), 0);
}
#endif
