/* SPDX-License-Identifier: Apache-2.0 */
/* The virtio-mmio transport with a small in-test device, driven through its registers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "driver_vq.h"
#include "harness.h"
#include "virtio/virtio_mmio.h"

#define F_VERSION_1 (1ULL << EMBER_VIRTIO_F_VERSION_1)
#define F_EVENT_IDX (1ULL << EMBER_VIRTIO_F_EVENT_IDX)
#define DEV_FEATURE (1ULL << 5)

struct ember_instance {
	struct virtio_mmio *t;
	uint8_t config[8];
	unsigned notifies, resets, activations;
	uint64_t features;
	int activate_rc;
	bool echo; /* queue_notify: push every chain back with its writable size */
};

static struct harness h;
static struct virtio_mmio t;
static struct ember_instance dev;

static uint64_t dev_features(struct ember_instance *d)
{
	(void)d;
	return DEV_FEATURE | (1ULL << 30); /* bit 30 is the transport's: must be dropped */
}

static void dev_config_read(struct ember_instance *d, uint32_t off, void *data, uint32_t len)
{
	memcpy(data, d->config + off, len);
}

static void dev_config_write(struct ember_instance *d, uint32_t off, const void *data, uint32_t len)
{
	memcpy(d->config + off, data, len);
}

static int dev_activate(struct ember_instance *d, uint64_t features)
{
	d->activations++;
	d->features = features;
	return d->activate_rc;
}

static void dev_reset(struct ember_instance *d)
{
	d->resets++;
}

static void dev_notify(struct ember_instance *d, uint32_t queue)
{
	struct ember_vq_chain *c;

	d->notifies++;
	while (d->echo && virtio_mmio_vq_pop(d->t, queue, &c) == 1)
		virtio_mmio_vq_push(d->t, c, (uint32_t)c->writable_bytes);
	virtio_mmio_vq_notify(d->t, queue);
}

static const struct ember_device_ops dev_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .reset = dev_reset,
    .virtio_features = dev_features,
    .config_read = dev_config_read,
    .config_write = dev_config_write,
    .activate = dev_activate,
    .queue_notify = dev_notify,
};

static const struct ember_plugin_desc dev_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .kind = EMBER_DEVICE_VIRTIO,
    .virtio_device_id = 42,
    .virtio_queue_count = 2,
    .virtio_queue_max_size = 16,
    .virtio_config_size = sizeof(dev.config),
};

static void t_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	virtio_mmio_read(opaque, off, data, len);
}

static void t_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	virtio_mmio_write(opaque, off, data, len);
}

static void setup(void)
{
	struct virtio_mmio_env env = {
	    .mem = &h.mem,
	    .set_irq = harness_platform.irq_set,
	    .log = harness_platform.log,
	    .opaque = &h,
	};

	harness_init(&h);
	dev = (struct ember_instance){.t = &t, .echo = true};
	cr_assert_eq(virtio_mmio_init(&t, &env, &dev_desc, &dev_ops, &dev), 0);
	h.mmio_read = t_read;
	h.mmio_write = t_write;
	h.mmio_opaque = &t;
}

static void teardown(void)
{
	cr_expect_eq(virtio_mmio_chains_live(&t), 0);
	virtio_mmio_free(&t);
	cr_expect_eq(harness_fini(&h), 0);
}

/* Handshake, queue 0 of size 8, DRIVER_OK. */
static void bring_up(struct driver_vq *vq, uint64_t features)
{
	cr_assert(driver_negotiate(&h, features) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, vq, 0, 8);
	driver_ok(&h);
	cr_assert_eq(dev.activations, 1);
}

TestSuite(virtio_mmio, .init = setup, .fini = teardown);

Test(virtio_mmio, identity_registers)
{
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_VERSION), 2);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_DEVICE_ID), 42);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "no queue 2");
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
	cr_assert_eq(harness_read8(&h, VIRTIO_MMIO_MAGIC_VALUE), 0, "registers are 32-bit only");
}

Test(virtio_mmio, features_offered)
{
	uint32_t lo, hi;

	harness_write32(&h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = harness_read32(&h, VIRTIO_MMIO_DEVICE_FEATURES);
	harness_write32(&h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	hi = harness_read32(&h, VIRTIO_MMIO_DEVICE_FEATURES);
	cr_assert(lo & DEV_FEATURE);
	cr_assert(lo & (1u << EMBER_VIRTIO_F_EVENT_IDX));
	cr_assert(lo & (1u << EMBER_VIRTIO_F_INDIRECT_DESC));
	cr_assert_not(lo & (1u << 30), "transport bits are not the device's to offer");
	cr_assert_eq(hi, 1, "VERSION_1");
	harness_write32(&h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

Test(virtio_mmio, features_ok_needs_version_1_and_a_subset)
{
	cr_assert_not(driver_negotiate(&h, DEV_FEATURE) & VIRTIO_STATUS_FEATURES_OK);
	cr_assert_not(driver_negotiate(&h, F_VERSION_1 | (1ULL << 7)) & VIRTIO_STATUS_FEATURES_OK);
	cr_assert(driver_negotiate(&h, F_VERSION_1 | DEV_FEATURE) & VIRTIO_STATUS_FEATURES_OK);
	/* Features are frozen after FEATURES_OK. */
	harness_write32(&h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	harness_write32(&h, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	cr_assert_eq(t.driver_features, F_VERSION_1 | DEV_FEATURE);
}

Test(virtio_mmio, activation_and_notify)
{
	struct driver_vq vq;
	struct driver_buf b = {0, 32, true};
	uint32_t id, len;

	bring_up(&vq, F_VERSION_1 | DEV_FEATURE);
	cr_assert_eq(dev.features, F_VERSION_1 | DEV_FEATURE);
	b.gpa = harness_alloc(&h, 32, 8);
	driver_vq_add(&vq, &b, 1);
	dev.notifies = 0;
	driver_vq_kick(&vq);
	cr_assert_eq(dev.notifies, 1);
	cr_assert(driver_vq_get_used(&vq, &id, &len));
	cr_assert_eq(len, 32);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(h.irq_level, 1);
	harness_write32(&h, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(h.irq_level, 0, "line lowered once every bit is acknowledged");
	harness_write32(&h, VIRTIO_MMIO_QUEUE_NOTIFY, 1); /* queue 1 exists but is not ready */
	harness_write32(&h, VIRTIO_MMIO_QUEUE_NOTIFY, 99);
	cr_assert_eq(dev.notifies, 1);
}

Test(virtio_mmio, no_notify_before_driver_ok_but_served_at_activation)
{
	struct driver_vq vq;
	struct driver_buf b = {0, 16, true};
	uint32_t id, len;

	cr_assert(driver_negotiate(&h, F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 8);
	b.gpa = harness_alloc(&h, 16, 8);
	driver_vq_add(&vq, &b, 1);
	driver_vq_kick(&vq);
	cr_assert_eq(dev.notifies, 0);
	driver_ok(&h);
	cr_assert(driver_vq_get_used(&vq, &id, &len), "the early buffer was served");
}

Test(virtio_mmio, queue_ready_before_features_ok_is_ignored)
{
	struct driver_vq vq;

	harness_write32(&h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	driver_vq_setup(&h, &vq, 0, 8);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_READY), 0);
}

Test(virtio_mmio, queue_registers_frozen_while_ready)
{
	struct driver_vq vq;

	bring_up(&vq, F_VERSION_1);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_NUM, 4);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	cr_assert_eq(t.queues[0].size, 8);
	cr_assert_eq(t.queues[0].desc_gpa, vq.desc);
}

Test(virtio_mmio, config_space)
{
	uint32_t v = 0x11223344;

	harness_write32(&h, VIRTIO_MMIO_CONFIG + 4, v);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_CONFIG + 4), v);
	cr_assert_eq(harness_read8(&h, VIRTIO_MMIO_CONFIG + 5), 0x33);
	harness_write32(&h, VIRTIO_MMIO_CONFIG + 6, 0xffffffff); /* crosses the end: ignored */
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_CONFIG + 4), v);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_CONFIG + 8), 0);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	virtio_mmio_config_changed(&t);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_CONFIG_GENERATION), 1);
}

Test(virtio_mmio, config_change_interrupt_after_driver_ok)
{
	struct driver_vq vq;

	bring_up(&vq, F_VERSION_1);
	virtio_mmio_config_changed(&t);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(h.irq_level, 1);
}

Test(virtio_mmio, bad_chain_needs_reset_and_monitor_goes_on)
{
	struct driver_vq vq;
	struct ember_vq_chain *c;
	struct driver_buf b = {0, 16, true};
	uint32_t id, len;

	bring_up(&vq, F_VERSION_1);
	driver_vq_publish(&vq, 200); /* head out of range */
	driver_vq_kick(&vq);
	cr_assert(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	cr_assert(harness_read32(&h, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	cr_assert(harness_log_contains(&h, "needs reset: queue 0: head index 200"), "%s", h.log);
	cr_assert_eq(virtio_mmio_vq_pop(&t, 0, &c), -EIO);
	/* The driver keeps its bits; NEEDS_RESET stays until the reset. */
	harness_write32(&h, VIRTIO_MMIO_STATUS, harness_read32(&h, VIRTIO_MMIO_STATUS));
	cr_assert(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	dev.resets = 0;
	harness_write32(&h, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(dev.resets, 1);
	cr_assert_eq(h.irq_level, 0);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_READY), 0);
	/* And it works again after a fresh handshake. */
	dev.activations = 0;
	bring_up(&vq, F_VERSION_1);
	b.gpa = harness_alloc(&h, 16, 8);
	driver_vq_add(&vq, &b, 1);
	driver_vq_kick(&vq);
	cr_assert(driver_vq_get_used(&vq, &id, &len));
}

Test(virtio_mmio, bad_ring_address_needs_reset)
{
	cr_assert(driver_negotiate(&h, F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 0);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_NUM, 8);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000); /* not RAM */
	harness_write32(&h, VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

Test(virtio_mmio, refused_activation_needs_reset)
{
	struct driver_vq vq;

	dev.activate_rc = -EINVAL;
	cr_assert(driver_negotiate(&h, F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 8);
	driver_ok(&h);
	cr_assert(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

Test(virtio_mmio, driver_cannot_clear_bits_without_reset)
{
	cr_assert(driver_negotiate(&h, F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	harness_write32(&h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	cr_assert(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	harness_write32(&h, VIRTIO_MMIO_STATUS,
			VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	cr_assert_eq(dev.activations, 0, "DRIVER_OK without FEATURES_OK is ignored");
}

Test(virtio_mmio, event_idx_through_transport)
{
	struct driver_vq vq;
	struct driver_buf b = {0, 16, true};

	bring_up(&vq, F_VERSION_1 | F_EVENT_IDX);
	b.gpa = harness_alloc(&h, 16, 8);
	driver_vq_set_used_event(&vq, 5); /* interrupt only after the 6th buffer */
	h.irq_raises = 0;
	for (int i = 0; i < 5; i++) {
		driver_vq_add(&vq, &b, 1);
		driver_vq_kick(&vq);
	}
	cr_assert_eq(h.irq_raises, 0);
	driver_vq_add(&vq, &b, 1);
	driver_vq_kick(&vq);
	cr_assert_eq(h.irq_raises, 1);
}

Test(virtio_mmio, disabling_a_live_queue_resets_the_device_and_needs_reset)
{
	struct driver_vq vq;
	unsigned resets;

	bring_up(&vq, (1ULL << EMBER_VIRTIO_F_VERSION_1) | DEV_FEATURE);
	resets = dev.resets;
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 0);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_READY, 0);
	/* The plugin was told to drop its requests before the driver reuses the buffers. */
	cr_assert_eq(dev.resets, resets + 1);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* Before DRIVER_OK (how Linux tears queues down after a reset) it is a plain disable. */
	harness_write32(&h, VIRTIO_MMIO_STATUS, 0);
	cr_assert(driver_negotiate(&h, (1ULL << EMBER_VIRTIO_F_VERSION_1) | DEV_FEATURE) &
		  VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 8);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_READY, 0);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_not(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}
