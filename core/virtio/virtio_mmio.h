/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport (virtio 1.x, 4.2.2, modern only: Version 2) in front of one device
 * plugin. It owns the register file, feature negotiation, the status state machine, the queues
 * (core/virtio/virtqueue.h), the interrupt status and config-space dispatch; the plugin only
 * sees its ember_device_ops calls.
 *
 * No KVM here: the transport talks to guest memory through guest_mem and to the interrupt line
 * through a callback, so the unit tests and the harness run the same code as the VMM.
 *
 * Threads: no locking inside. The caller serializes every call on one transport, and every call
 * into the device ops happens inside those calls (ember holds the device's lock around them).
 *
 * Guest errors never abort: a broken queue, a refused activation or a device's
 * set_needs_reset sets NEEDS_RESET (0x40) in Status, raises a config-change interrupt and logs
 * once; the driver must reset the device (Status = 0) to use it again.
 */
#ifndef EMBER_VIRTIO_MMIO_H
#define EMBER_VIRTIO_MMIO_H

#include <ember/device.h>
#include <ember/virtio.h>
#include <stdbool.h>
#include <stdint.h>

#include "../guest_mem.h"
#include "virtqueue.h"

/* Register offsets (virtio 1.x, 4.2.2). */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_SHM_SEL		0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW		0x0b0
#define VIRTIO_MMIO_SHM_BASE_HIGH	0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

#define VIRTIO_MMIO_MAGIC      0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR     0x52424d45 /* "EMBR" in little-endian bytes */
#define VIRTIO_MMIO_WINDOW     0x1000	  /* registers + config space: one 4 KiB slot */
#define VIRTIO_MMIO_ACPI_HID   "LNRO0005"
#define VIRTIO_MMIO_CONFIG_MAX (VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG)

/* Device status bits (virtio 1.x, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER	  0x02
#define VIRTIO_STATUS_DRIVER_OK	  0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED	  0x80

/* InterruptStatus bits. */
#define VIRTIO_MMIO_INT_VRING  0x1
#define VIRTIO_MMIO_INT_CONFIG 0x2

/* What the embedding (ember's device glue, or a test) provides. */
struct virtio_mmio_env {
	const struct guest_mem *mem;
	/*
	 * Sets the interrupt line's level: 1 when the transport raised an interrupt (called for
	 * every new event, also when the line is already up), 0 when the driver acknowledged
	 * every pending bit. With KVM: 1 writes the irqfd; see virtio_mmio_irq_pending.
	 */
	void (*set_irq)(void *opaque, int level);
	/* One line about a guest error, without a trailing newline. */
	void (*log)(void *opaque, int level, const char *msg);
	void *opaque;
};

struct virtio_mmio {
	struct virtio_mmio_env env;
	const struct ember_device_ops *ops;
	struct ember_instance *inst;
	uint32_t device_id;
	uint32_t config_size;
	uint32_t queue_count;
	uint64_t device_features; /* offered: the device's bits plus the transport's */
	uint64_t driver_features;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t status;
	_Atomic uint32_t interrupt_status; /* read by irq_pending from the resample path */
	uint32_t config_generation;
	struct virtq *queues;
	/*
	 * Work bound per call into the plugin: pops left before vq_pop answers "empty", and the
	 * queues that hit the bound (bit per queue) and must be notified again later.
	 */
	uint32_t pop_budget;
	uint64_t budget_hit;
};

/* Chains one call into the plugin may pop (per entry, all queues together). */
#define VIRTIO_MMIO_POP_BUDGET 256u

/* Starts a call into the plugin with a full pop budget. */
void virtio_mmio_budget_reset(struct virtio_mmio *t);
/* After the call: the queues (bit mask) whose pops were cut short; clears the record. */
uint64_t virtio_mmio_budget_take_hits(struct virtio_mmio *t);

/*
 * Sets up the transport for a created instance of a virtio plugin (desc and ops as normalized
 * by the loader). Calls ops->virtio_features once. Returns 0 or -ENOMEM; env is copied.
 */
int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_mmio_env *env,
		     const struct ember_plugin_desc *desc, const struct ember_device_ops *ops,
		     struct ember_instance *inst);
/* Frees the queues. Call after the device's destroy op (its chains are pushed by then). */
void virtio_mmio_free(struct virtio_mmio *t);

/* Register accesses at offset inside the window (bus_read_fn/bus_write_fn shaped). */
void virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, void *data, uint32_t len);
void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset, const void *data, uint32_t len);

/* A QueueNotify write that arrived another way (an ioeventfd with datamatch = index). */
void virtio_mmio_queue_notify(struct virtio_mmio *t, uint32_t index);

/* Device reset (the driver wrote 0 to Status, or the VM resets): queues, then ops->reset. */
void virtio_mmio_reset(struct virtio_mmio *t);

/* Whether InterruptStatus is non-zero: a level-triggered irqfd's resample re-raises when true. */
bool virtio_mmio_irq_pending(const struct virtio_mmio *t);

/* The host services behind ember_host.vq_* and friends. */
int virtio_mmio_vq_pop(struct virtio_mmio *t, uint32_t queue, struct ember_vq_chain **out);
void virtio_mmio_vq_push(struct virtio_mmio *t, struct ember_vq_chain *chain, uint32_t written);
/* ember_host.vq_unpop (virtqueue.h: virtq_unpop); -EINVAL for a chain not of this transport. */
int virtio_mmio_vq_unpop(struct virtio_mmio *t, struct ember_vq_chain *chain);
void virtio_mmio_vq_notify(struct virtio_mmio *t, uint32_t queue);
void virtio_mmio_config_changed(struct virtio_mmio *t);
void virtio_mmio_set_needs_reset(struct virtio_mmio *t, const char *why);

/* Popped chains not yet pushed, over all queues (leak checks). */
uint32_t virtio_mmio_chains_live(const struct virtio_mmio *t);

#endif
