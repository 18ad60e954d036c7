/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver's side of a split virtqueue and of the virtio-mmio handshake, written the way a
 * guest would: rings in (harness) guest RAM, registers through the harness MMIO helpers.
 * Also writes malformed rings on purpose (raw descriptors, avail index jumps) for tests.
 */
#ifndef EMBER_TEST_DRIVER_VQ_H
#define EMBER_TEST_DRIVER_VQ_H

#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

#define VQ_DESC_F_NEXT	   1
#define VQ_DESC_F_WRITE	   2
#define VQ_DESC_F_INDIRECT 4

struct driver_vq {
	struct harness *h;
	uint32_t index;
	uint16_t size;
	uint64_t desc, avail, used; /* guest-physical */
	uint16_t avail_idx;	    /* next avail entry to publish */
	uint16_t used_seen;	    /* next used entry to read */
	uint16_t next_desc;	    /* descriptors are handed out round-robin */
};

struct driver_buf {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

/* Allocates zeroed rings for a queue of `size` in guest RAM (no device involved). */
void driver_vq_alloc(struct harness *h, struct driver_vq *vq, uint32_t index, uint16_t size);

/*
 * virtio-mmio handshake up to FEATURES_OK: reset, ACKNOWLEDGE, DRIVER, write `features`,
 * FEATURES_OK. Returns the Status read back (FEATURES_OK missing: refused).
 */
uint32_t driver_negotiate(struct harness *h, uint64_t features);
/* Allocates the rings and programs queue vq->index (QueueSel, QueueNum, addresses, Ready). */
void driver_vq_setup(struct harness *h, struct driver_vq *vq, uint32_t index, uint16_t size);
/* Sets DRIVER_OK. */
void driver_ok(struct harness *h);

/* Writes one 16-byte descriptor at `at` (a host view of a table), any values. */
void driver_desc_write(void *at, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
/* Writes descriptor i as given (any values: tests use it for malformed chains). */
void driver_vq_set_desc(struct driver_vq *vq, uint16_t i, uint64_t addr, uint32_t len,
			uint16_t flags, uint16_t next);
/* Publishes head in the available ring (index store after the entry). */
void driver_vq_publish(struct driver_vq *vq, uint16_t head);
/* Sets the available index to any value (for "runs ahead" tests). */
void driver_vq_set_avail_idx(struct driver_vq *vq, uint16_t idx);

/* A well-formed chain of n buffers, published. Returns its head. */
uint16_t driver_vq_add(struct driver_vq *vq, const struct driver_buf *bufs, unsigned n);
/* The same through one indirect descriptor whose table is allocated in guest RAM. */
uint16_t driver_vq_add_indirect(struct driver_vq *vq, const struct driver_buf *bufs, unsigned n);

/* Writes QueueNotify = vq->index. */
void driver_vq_kick(struct driver_vq *vq);
/* The next used element, if the device published one. */
bool driver_vq_get_used(struct driver_vq *vq, uint32_t *id, uint32_t *len);
/* EVENT_IDX: the used_event the driver publishes; and avail flags (NO_INTERRUPT = 1). */
void driver_vq_set_used_event(struct driver_vq *vq, uint16_t event);
void driver_vq_set_avail_flags(struct driver_vq *vq, uint16_t flags);

#endif
