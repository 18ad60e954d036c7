/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plugins built against the ABI 1.0 and 1.1 headers (frozen copies in tests/unit/plugins/abi-1.0
 * and abi-1.1) still load and work on today's ember: their smaller descriptors are accepted and
 * zero-filled, the host table they get is at least as large as the one they were compiled for,
 * and real work goes through (chains, MMIO registers, timers, the interrupt line, vq_set_limits
 * behind EMBER_HOST_HAS, a path option).
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver_vq.h"
#include "harness.h"
#include "virtio/virtio_mmio.h"

#define F_VERSION_1 (1ULL << EMBER_VIRTIO_F_VERSION_1)
#define F_INDIRECT  (1ULL << EMBER_VIRTIO_F_INDIRECT_DESC)
#define PLUGINS	    EMBER_BUILD_ROOT "/tests/unit/plugins/"
#define US	    1000ULL
#define MS	    1000000ULL

/*
 * Struct sizes as the 1.0 and 1.1 headers declare them (their layout asserts; 1.1 only gave
 * ember_host.reserved[0] a meaning). The ops and option tables kept their size: 1.2 gave the
 * old ops reserved[0..3] a meaning (save, restore, control, metrics_read) and the option
 * reserved fields none. The descriptor and the host table grew.
 */
#define OLD_DESC_SIZE	128u
#define OLD_OPS_SIZE	152u
#define OLD_OPTION_SIZE 80u
#define OLD_HOST_SIZE	272u

static struct harness h;
static struct driver_vq vq;
static char err[512];

static void teardown(void)
{
	cr_expect_eq(harness_fini(&h), 0, "leaks; log:\n%s", h.log);
}

static void load(const char *file, const char *options)
{
	harness_init(&h);
	cr_assert_eq(harness_create(&h, file, options, err, sizeof(err)), 0, "%s", err);
}

/* Loads a virtio plugin and brings queue `queue` up to DRIVER_OK with `size` entries. */
static void start_virtio(const char *file, const char *options, uint32_t queue, uint16_t size)
{
	load(file, options);
	cr_assert(driver_negotiate(&h, F_VERSION_1 | F_INDIRECT) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, queue, size);
	driver_ok(&h);
}

/*
 * What the plugin itself exports, before the loader's normalized copy: its entry's descriptor.
 * Only the members every 1.x descriptor has are read (offsets below 128).
 */
static const struct ember_plugin_desc *raw_desc(void)
{
	ember_plugin_entry_fn entry;

	*(void **)(&entry) = dlsym(h.plugin->handle, EMBER_PLUGIN_ENTRY_NAME);
	cr_assert_not_null(entry);
	return entry(EMBER_ABI_MAJOR, EMBER_ABI_MINOR);
}

/* The old descriptor, ops and option sizes, and the loader's zero-filled 1.2 view of them. */
static void expect_old_layout_accepted(uint32_t minor)
{
	const struct ember_plugin_desc *raw = raw_desc();
	const struct ember_plugin_desc *d = &h.plugin->desc;
	const struct ember_device_ops *ops = &h.plugin->ops;

	cr_assert_eq(raw->struct_size, OLD_DESC_SIZE);
	cr_assert_lt(raw->struct_size, sizeof(struct ember_plugin_desc),
		     "the descriptor must be smaller than today's, or nothing is zero-filled");
	cr_assert_eq(raw->abi_major, 1);
	cr_assert_eq(raw->abi_minor_required, minor);
	cr_assert_eq(raw->ops->struct_size, OLD_OPS_SIZE);
	cr_assert_eq(raw->option_size, OLD_OPTION_SIZE);
	cr_assert_eq(((const struct ember_option *)raw->options)->struct_size, OLD_OPTION_SIZE);

	/* The loader's copy has today's sizes, and everything newer than 1.1 is zero. */
	cr_assert_eq(d->struct_size, sizeof(struct ember_plugin_desc));
	cr_assert_eq(ops->struct_size, sizeof(struct ember_device_ops));
	cr_assert_null(d->acpi_cid);
	cr_assert_eq(d->acpi_resources, 0);
	cr_assert(d->control_count == 0 && !d->controls);
	cr_assert(d->metric_count == 0 && !d->metrics);
	cr_assert(d->syscall_count == 0 && !d->syscalls);
	cr_assert(!ops->save && !ops->restore && !ops->control && !ops->metrics_read);
	cr_assert_eq(plugin_instance_metric_count(h.dev), 0);
}

static uint64_t add_buf(uint32_t len, bool write)
{
	struct driver_buf b = {harness_alloc(&h, len, 8), len, write};

	driver_vq_add(&vq, &b, 1);
	return b.gpa;
}

static bool used(uint32_t *len)
{
	uint32_t id;

	return driver_vq_get_used(&vq, &id, len);
}

/* The guest bytes at gpa continue the counter: gpa[i] == first + i (mod 256). */
static void expect_pattern(uint64_t gpa, uint32_t len, uint8_t first)
{
	const uint8_t *p = harness_ptr(&h, gpa, len);

	for (uint32_t i = 0; i < len; i++)
		cr_assert_eq(p[i], (uint8_t)(first + i), "byte %u is %u, expected %u", i, p[i],
			     (uint8_t)(first + i));
}

/* --- ABI 1.0 virtio device ------------------------------------------------------------ */

TestSuite(abi10_counter, .fini = teardown);

Test(abi10_counter, old_descriptor_is_accepted_and_zero_filled)
{
	start_virtio(PLUGINS "abi10-counter.so", "", 0, 64);
	expect_old_layout_accepted(0);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_DEVICE_ID), EMBER_VIRTIO_ID_RNG);
	cr_assert_eq(plugin_instance_queue_count(h.dev), 1);
	cr_assert_str_eq(plugin_instance_acpi_hid(h.dev), "LNRO0005");
}

Test(abi10_counter, sees_a_host_table_large_enough)
{
	char line[160];

	cr_assert_gt(sizeof(struct ember_host), OLD_HOST_SIZE);
	start_virtio(PLUGINS "abi10-counter.so", "", 0, 64);
	/* The plugin refuses to create with a table smaller than its own; it logs both sizes. */
	snprintf(line, sizeof(line),
		 "abi10-counter.0: label none, seed 0, host ABI %u.%u, host table %zu bytes (this "
		 "plugin knows %u)",
		 EMBER_ABI_MAJOR, EMBER_ABI_MINOR, sizeof(struct ember_host), OLD_HOST_SIZE);
	cr_assert(harness_log_contains(&h, line), "no \"%s\" in:\n%s", line, h.log);
}

Test(abi10_counter, fills_chains_with_the_counter_pattern)
{
	struct driver_buf split[] = {{0, 5, true}, {0, 7, true}};
	uint64_t a, b;
	uint32_t len;

	start_virtio(PLUGINS "abi10-counter.so", "seed = 250;", 0, 64);
	a = add_buf(10, true);
	driver_vq_kick(&vq);
	cr_assert(used(&len));
	cr_assert_eq(len, 10);
	expect_pattern(a, 10, 250); /* 250..255, then wraps to 0..3 */
	cr_assert_eq(h.irq_level, 1, "the used buffer comes with an interrupt");
	cr_assert(harness_read32(&h, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);

	/* Two segments, then an indirect table: the pattern goes on where it stopped. */
	split[0].gpa = harness_alloc(&h, 5, 8);
	split[1].gpa = harness_alloc(&h, 7, 8);
	driver_vq_add(&vq, split, 2);
	b = harness_alloc(&h, 300, 8);
	driver_vq_add_indirect(&vq, &(struct driver_buf){b, 300, true}, 1);
	driver_vq_kick(&vq);
	cr_assert(used(&len));
	cr_assert_eq(len, 12);
	expect_pattern(split[0].gpa, 5, 4);
	expect_pattern(split[1].gpa, 7, 9);
	cr_assert(used(&len));
	cr_assert_eq(len, 300);
	expect_pattern(b, 300, 16);
	cr_assert_not(used(&len));
}

Test(abi10_counter, readable_only_chain_gets_nothing_and_leaves_no_gap)
{
	uint64_t gpa;
	uint32_t len = 99;

	start_virtio(PLUGINS "abi10-counter.so", "seed = 1;", 0, 64);
	add_buf(16, false);
	gpa = add_buf(4, true);
	driver_vq_kick(&vq);
	cr_assert(used(&len));
	cr_assert_eq(len, 0);
	cr_assert(used(&len));
	cr_assert_eq(len, 4);
	expect_pattern(gpa, 4, 1);
}

Test(abi10_counter, int_and_string_options)
{
	start_virtio(PLUGINS "abi10-counter.so", "seed = 9; label = \"blue\";", 0, 64);
	cr_assert(harness_log_contains(&h, "abi10-counter.0: label blue, seed 9,"), "%s", h.log);
	cr_assert_eq(harness_destroy(&h), 0);

	cr_assert_eq(
	    harness_create(&h, PLUGINS "abi10-counter.so", "seed = 256;", err, sizeof(err)), -1);
	cr_assert(strstr(err, "devices[0].seed: 256 is outside 0..255"), "%s", err);
	cr_assert_eq(harness_create(&h, PLUGINS "abi10-counter.so", "label = 3;", err, sizeof(err)),
		     -1);
	cr_assert(strstr(err, "devices[0].label: expected a string"), "%s", err);
	cr_assert_eq(
	    harness_create(&h, PLUGINS "abi10-counter.so", "colour = 1;", err, sizeof(err)), -1);
	cr_assert(strstr(err, "has no such option (it has: seed, label, delay_ms)"), "%s", err);
}

Test(abi10_counter, timer_serves_after_the_delay)
{
	uint64_t a, b;
	uint32_t len;

	start_virtio(PLUGINS "abi10-counter.so", "delay_ms = 5; seed = 100;", 0, 64);
	a = add_buf(8, true);
	driver_vq_kick(&vq);
	cr_assert_not(used(&len), "served before its timer");
	cr_assert_eq(harness_callbacks(&h), 1, "a kick arms one timer");
	b = add_buf(8, true);
	driver_vq_kick(&vq);
	cr_assert_eq(harness_callbacks(&h), 1, "a second kick reuses the armed timer");
	harness_advance(&h, 5 * MS - 1);
	cr_assert_not(used(&len));
	harness_advance(&h, 1);
	cr_assert(used(&len));
	cr_assert_eq(len, 8);
	cr_assert(used(&len), "one timer serves every buffer made available before it fired");
	expect_pattern(a, 8, 100);
	expect_pattern(b, 8, 108);
	cr_assert_eq(harness_callbacks(&h), 0);
}

Test(abi10_counter, reset_cancels_the_timer_and_restarts_the_pattern)
{
	uint64_t gpa;
	uint32_t len;

	start_virtio(PLUGINS "abi10-counter.so", "delay_ms = 1; seed = 40;", 0, 64);
	gpa = add_buf(3, true);
	driver_vq_kick(&vq);
	harness_advance(&h, MS);
	cr_assert(used(&len));
	expect_pattern(gpa, 3, 40);
	add_buf(3, true);
	driver_vq_kick(&vq);
	cr_assert_eq(harness_callbacks(&h), 1);
	harness_write32(&h, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(harness_callbacks(&h), 0, "reset cancels the timer");
	harness_advance(&h, 10 * MS);

	cr_assert(driver_negotiate(&h, F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 64);
	driver_ok(&h);
	gpa = add_buf(3, true);
	driver_vq_kick(&vq);
	harness_advance(&h, MS);
	cr_assert(used(&len));
	expect_pattern(gpa, 3, 40);
}

Test(abi10_counter, broken_ring_only_breaks_the_device)
{
	uint32_t len;

	start_virtio(PLUGINS "abi10-counter.so", "", 0, 64);
	driver_vq_set_avail_idx(&vq, 1000);
	driver_vq_kick(&vq);
	cr_assert(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_not(used(&len));
}

Test(abi10_counter, create_destroy_cycles_leak_nothing)
{
	start_virtio(PLUGINS "abi10-counter.so", "delay_ms = 2;", 0, 64);
	for (int i = 0; i < 20; i++) {
		add_buf(16, true);
		driver_vq_kick(&vq); /* a timer is armed when destroy comes */
		cr_assert_eq(harness_callbacks(&h), 1);
		cr_assert_eq(harness_destroy(&h), 0);
		cr_assert_eq(harness_callbacks(&h), 0);
		cr_assert_eq(harness_create(&h, PLUGINS "abi10-counter.so", "delay_ms = 2;", err,
					    sizeof(err)),
			     0, "%s", err);
		cr_assert(driver_negotiate(&h, F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
		driver_vq_setup(&h, &vq, 0, 64);
		driver_ok(&h);
	}
}

/* --- ABI 1.1 virtio device: vq_set_limits, a path option -------------------------------- */

static char source[64];
static const char source_text[] = "bytes from a path option\n";

static void make_source(void)
{
	int fd;

	snprintf(source, sizeof(source), "/tmp/ember-abi11-XXXXXX");
	fd = mkstemp(source);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, source_text, strlen(source_text)), (ssize_t)strlen(source_text));
	close(fd);
}

static void teardown_limits(void)
{
	teardown();
	unlink(source);
}

static uint32_t queue_num_max(uint32_t queue)
{
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, queue);
	return harness_read32(&h, VIRTIO_MMIO_QUEUE_NUM_MAX);
}

static void load_limits(const char *extra)
{
	char options[256];

	make_source();
	snprintf(options, sizeof(options), "source = \"%s\"; %s", source, extra);
	load(PLUGINS "abi11-limits.so", options);
}

TestSuite(abi11_limits, .fini = teardown_limits);

Test(abi11_limits, old_descriptor_and_path_option_are_accepted)
{
	load_limits("");
	expect_old_layout_accepted(1);
	cr_assert_eq(h.plugin->desc.options[2].type, EMBER_OPTION_PATH);
	cr_assert_eq(h.plugin->desc.options[2].flags, EMBER_OPTION_REQUIRED);
}

Test(abi11_limits, vq_set_limits_behind_ember_host_has)
{
	char line[160];

	load_limits("queues = 3; queue_size = 32;");
	snprintf(line, sizeof(line),
		 "abi11-limits.0: vq_set_limits: 3 queues of 32, %zu bytes of %s",
		 strlen(source_text), source);
	cr_assert(harness_log_contains(&h, line), "no \"%s\" in:\n%s", line, h.log);
	cr_assert_eq(plugin_instance_queue_count(h.dev), 3);
	for (uint32_t q = 0; q < 3; q++)
		cr_assert_eq(queue_num_max(q), 32, "queue %u", q);
	cr_assert_eq(queue_num_max(3), 0, "the descriptor's 4th queue is not offered");
}

Test(abi11_limits, descriptor_defaults_go_through_vq_set_limits_too)
{
	load_limits("");
	cr_assert_eq(plugin_instance_queue_count(h.dev), 2);
	cr_assert_eq(queue_num_max(1), 64);
	cr_assert_eq(queue_num_max(2), 0);
}

Test(abi11_limits, serves_the_source_file_on_the_last_queue)
{
	char options[256];
	uint64_t gpa;
	uint32_t len;

	make_source();
	snprintf(options, sizeof(options), "source = \"%s\"; queues = 3; queue_size = 32;", source);
	start_virtio(PLUGINS "abi11-limits.so", options, 2, 32);
	gpa = add_buf(64, true);
	driver_vq_kick(&vq);
	cr_assert(used(&len));
	cr_assert_eq(len, strlen(source_text));
	cr_assert_eq(memcmp(harness_ptr(&h, gpa, len), source_text, len), 0);
	cr_assert_eq(h.irq_level, 1);
}

Test(abi11_limits, a_queue_size_vq_set_limits_refuses_fails_create)
{
	char options[256];

	make_source();
	harness_init(&h);
	snprintf(options, sizeof(options), "source = \"%s\"; queues = 3; queue_size = 48;", source);
	cr_assert_eq(harness_create(&h, PLUGINS "abi11-limits.so", options, err, sizeof(err)), -1);
	cr_assert(strstr(err, "could not create the device"), "%s", err);
	cr_assert(harness_log_contains(&h, "vq_set_limits(3, 48): -22"), "%s", h.log);
}

Test(abi11_limits, the_path_option_is_required_and_must_be_readable)
{
	harness_init(&h);
	source[0] = '\0';
	cr_assert_eq(harness_create(&h, PLUGINS "abi11-limits.so", "", err, sizeof(err)), -1);
	cr_assert(strstr(err, "devices[0].source: missing; plugin abi11-limits requires it"), "%s",
		  err);
	cr_assert_eq(harness_create(&h, PLUGINS "abi11-limits.so",
				    "source = \"/nonexistent/abi11\";", err, sizeof(err)),
		     -1);
	cr_assert(harness_log_contains(&h, "cannot read /nonexistent/abi11: No such file"), "%s",
		  h.log);
}

/* --- ABI 1.0 plain MMIO device with an interrupt line ---------------------------------- */

#define REG_ID	    0x00
#define REG_SCRATCH 0x04
#define REG_IRQ	    0x08
#define REG_TIMER   0x0c
#define REG_FIRED   0x10

TestSuite(abi10_mmio, .fini = teardown);

Test(abi10_mmio, old_descriptor_is_accepted_with_the_1_1_acpi_rule)
{
	load(PLUGINS "abi10-mmio.so", "");
	expect_old_layout_accepted(0);
	cr_assert(plugin_instance_has_irq(h.dev));
	cr_assert_eq(plugin_instance_window_size(h.dev), 0x1000);
	cr_assert_str_eq(plugin_instance_acpi_hid(h.dev), "EMBR0010");
	cr_assert_null(plugin_instance_acpi_cid(h.dev));
	/* acpi_resources was zero-filled: the node lists the window, then the interrupt. */
	cr_assert_eq(plugin_instance_acpi_resources(h.dev),
		     EMBER_ACPI_RES_MMIO | EMBER_ACPI_RES_IRQ);
}

Test(abi10_mmio, registers)
{
	uint32_t v = 0;

	load(PLUGINS "abi10-mmio.so", "id = 7;");
	cr_assert_eq(harness_read32(&h, REG_ID), 7);
	harness_write32(&h, REG_SCRATCH, 0xa5a5f00d);
	cr_assert_eq(harness_read32(&h, REG_SCRATCH), 0xa5a5f00d);
	cr_assert_eq(harness_read8(&h, REG_SCRATCH), 0, "a 1-byte read is not a register read");
	h.mmio_read(h.mmio_opaque, 0x1c, &v, 4);
	cr_assert_eq(v, 0);
	v = 0;
	h.mmio_read(h.mmio_opaque, 0x20, &v, 4);
	cr_assert_eq(v, 0xffffffffu, "past the 32-byte window: ember answers ~0");
}

Test(abi10_mmio, default_id)
{
	load(PLUGINS "abi10-mmio.so", "");
	cr_assert_eq(harness_read32(&h, REG_ID), 0x10c0ffee);
}

Test(abi10_mmio, interrupt_line_follows_the_register)
{
	load(PLUGINS "abi10-mmio.so", "");
	cr_assert_eq(h.irq_level, 0);
	harness_write32(&h, REG_IRQ, 1);
	cr_assert_eq(h.irq_level, 1);
	cr_assert_eq(h.irq_raises, 1);
	cr_assert(plugin_instance_irq_pending(h.dev), "a resample must re-raise a level still up");
	cr_assert_eq(harness_read32(&h, REG_IRQ), 1);
	harness_write32(&h, REG_IRQ, 0);
	cr_assert_eq(h.irq_level, 0);
	cr_assert_not(plugin_instance_irq_pending(h.dev));
}

Test(abi10_mmio, timer_raises_the_line)
{
	load(PLUGINS "abi10-mmio.so", "");
	harness_write32(&h, REG_TIMER, 250);
	cr_assert_eq(harness_read32(&h, REG_TIMER), 1);
	cr_assert_eq(harness_callbacks(&h), 1);
	harness_advance(&h, 250 * US - 1);
	cr_assert_eq(h.irq_level, 0);
	harness_advance(&h, 1);
	cr_assert_eq(h.irq_level, 1);
	cr_assert_eq(harness_read32(&h, REG_FIRED), 1);
	cr_assert_eq(harness_read32(&h, REG_TIMER), 0);
	cr_assert_eq(harness_callbacks(&h), 0);

	/* 0 cancels an armed timer. */
	harness_write32(&h, REG_IRQ, 0);
	harness_write32(&h, REG_TIMER, 10);
	harness_write32(&h, REG_TIMER, 0);
	cr_assert_eq(harness_callbacks(&h), 0);
	harness_advance(&h, MS);
	cr_assert_eq(h.irq_level, 0);
	cr_assert_eq(harness_read32(&h, REG_FIRED), 1);
}

Test(abi10_mmio, reset_lowers_the_line_and_cancels_the_timer)
{
	load(PLUGINS "abi10-mmio.so", "");
	harness_write32(&h, REG_SCRATCH, 5);
	harness_write32(&h, REG_IRQ, 1);
	harness_write32(&h, REG_TIMER, 100);
	plugin_instance_reset(h.dev);
	cr_assert_eq(h.irq_level, 0);
	cr_assert_eq(harness_callbacks(&h), 0);
	cr_assert_eq(harness_read32(&h, REG_SCRATCH), 0);
	harness_advance(&h, MS);
	cr_assert_eq(h.irq_level, 0);
}
