/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a virtio device plugin sees of virtio: device ids, and popped descriptor chains.
 *
 * The transport (virtio-mmio, virtio 1.x) and the split virtqueues are ember's, not the
 * plugin's: ember negotiates features, runs the status state machine, validates every ring and
 * descriptor, and hands the plugin copied, checked chains through ember_host.vq_pop. A fix to
 * queue validation therefore reaches every plugin without a rebuild, and no plugin can skip a
 * check. A plugin only decides what its device does with the bytes.
 */
#ifndef EMBER_VIRTIO_H
#define EMBER_VIRTIO_H

#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Device ids (virtio 1.x, 5 "Device Types"). */
#define EMBER_VIRTIO_ID_NET	1
#define EMBER_VIRTIO_ID_BLOCK	2
#define EMBER_VIRTIO_ID_CONSOLE 3
#define EMBER_VIRTIO_ID_RNG	4
#define EMBER_VIRTIO_ID_BALLOON 5
#define EMBER_VIRTIO_ID_VSOCK	19
#define EMBER_VIRTIO_ID_FS	26

/* The most queues a device may declare (ember_plugin_desc.virtio_queue_count). */
#define EMBER_VIRTIO_MAX_QUEUES 64
/* The largest split queue (virtio 1.x 2.7: Queue Size <= 32768). */
#define EMBER_VIRTIO_MAX_QUEUE_SIZE 32768

/* Feature bits ember's transport owns; a device's virtio_features must not set them. */
#define EMBER_VIRTIO_F_INDIRECT_DESC 28
#define EMBER_VIRTIO_F_EVENT_IDX     29
#define EMBER_VIRTIO_F_VERSION_1     32
#define EMBER_VIRTIO_TRANSPORT_FEATURES                                                \
	((1ULL << EMBER_VIRTIO_F_INDIRECT_DESC) | (1ULL << EMBER_VIRTIO_F_EVENT_IDX) | \
	 (1ULL << EMBER_VIRTIO_F_VERSION_1))

/* A guest buffer, already checked to be guest RAM (gpa .. gpa+len-1 in one region). */
struct ember_vq_segment {
	uint64_t gpa;
	uint32_t len;
	uint32_t flags; /* EMBER_VQ_SEGMENT_WRITE: the device writes it */
};
#define EMBER_VQ_SEGMENT_WRITE 0x1u

/*
 * One popped descriptor chain, owned by ember, lent to the plugin from vq_pop to vq_push.
 * Read-only for the plugin. Readable segments come first (segments[0 .. readable_count)),
 * then the writable ones; the virtio rule that the driver orders them so is checked.
 * Zero-length descriptors are dropped.
 */
struct ember_vq_chain {
	uint32_t struct_size;
	uint16_t queue;
	uint16_t head; /* the descriptor id, for messages only */
	uint32_t readable_count;
	uint32_t writable_count;
	uint64_t readable_bytes;
	uint64_t writable_bytes;
	const struct ember_vq_segment *segments;
	uint64_t reserved[2];
};

EMBER_STATIC_ASSERT(sizeof(struct ember_vq_segment) == 16, "ember_vq_segment layout");
EMBER_STATIC_ASSERT(sizeof(struct ember_vq_chain) == 56, "ember_vq_chain layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_vq_chain, segments) == 32, "ember_vq_chain layout");

#ifdef __cplusplus
}
#endif

#endif
