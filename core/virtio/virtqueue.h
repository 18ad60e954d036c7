/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueues (virtio 1.x, 2.7), device side: the one descriptor-chain walker of ember.
 *
 * Every rule of the spec that protects the monitor is checked here, once, for every device:
 * queue size a power of two <= 32768; rings aligned and inside guest RAM; the available index
 * at most `size` ahead of the device's; head and next indexes in range; chains at most `size`
 * descriptors long (so a loop ends); indirect tables only when negotiated, not nested, without
 * NEXT, a multiple of 16 bytes; readable before writable; every buffer inside RAM; lengths summed
 * with overflow checks. Each descriptor is copied once into a local before use (no double fetch).
 *
 * A broken rule does not abort anything: the queue becomes broken, virtq_pop returns -EIO and
 * virtq_error() says why; the transport then shows NEEDS_RESET to the driver.
 *
 * Threads: no locking inside; the caller serializes every call on one queue (ember holds the
 * device's lock). The rings are shared with the guest and accessed with atomics.
 */
#ifndef EMBER_VIRTQUEUE_H
#define EMBER_VIRTQUEUE_H

#include <ember/virtio.h>
#include <stdbool.h>
#include <stdint.h>

#include "../guest_mem.h"

struct virtq {
	/* Driver-written registers, kept by the transport while the queue is not ready. */
	uint16_t size;	   /* QueueNum */
	uint16_t max_size; /* QueueNumMax, fixed at init */
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;

	/* Device state, valid while ready. */
	bool ready;
	bool broken;
	bool event_idx;
	bool indirect;
	uint16_t index; /* queue number, for messages */
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	uint32_t epoch; /* bumped on reset; chains of an older epoch are stale */
	const struct guest_mem *mem;
	uint8_t *desc; /* host views of the rings, checked at enable */
	uint8_t *avail;
	uint8_t *used;
	struct ember_vq_segment *scratch; /* size entries: the chain being walked */
	uint32_t chains_live;		  /* popped and not yet pushed, any epoch */
	char error[160];
};

/* Power-on state; max_size is a power of two in 1..32768. */
void virtq_init(struct virtq *q, uint16_t index, uint16_t max_size);
/* Frees what enable allocated. Chains still live keep working for push (which frees them). */
void virtq_free(struct virtq *q);

/*
 * The driver wrote QueueReady = 1: check size and ring addresses and start using the rings with
 * the negotiated features. Returns 0, -EINVAL (virtq_error says why) or -ENOMEM.
 */
int virtq_enable(struct virtq *q, const struct guest_mem *mem, uint64_t features);

/* Back to not ready with the registers cleared; chains popped before become stale. */
void virtq_reset(struct virtq *q);

/*
 * Takes the next available chain. Returns 1 with *out set (owned by the caller until
 * virtq_push), 0 when the queue is empty or not ready, -EIO when the guest broke a rule (the
 * queue stays broken until reset), -ENOMEM.
 */
int virtq_pop(struct virtq *q, struct ember_vq_chain **out);

/*
 * Gives chain back to the driver with `written` bytes (clamped to its writable_bytes) and frees
 * it. A stale chain (queue reset since the pop) is only freed. The caller owns nothing after.
 */
void virtq_push(struct virtq *q, struct ember_vq_chain *chain, uint32_t written);

/*
 * ember_host.vq_unpop: gives the newest popped chain back (the next pop returns the same
 * request) and frees it. Returns 0, also for a stale chain (only freed), or -EINVAL when it is
 * not the last one popped and not pushed (nothing changes).
 */
int virtq_unpop(struct virtq *q, struct ember_vq_chain *chain);

/* The queue a chain was popped from: ember's own record, not the plugin-visible copy. */
struct virtq *virtq_chain_owner(const struct ember_vq_chain *chain);

/*
 * After pushes: whether the driver wants an interrupt now (EVENT_IDX used_event, or the
 * NO_INTERRUPT flag without it). Remembers the used index it answered for.
 */
bool virtq_need_interrupt(struct virtq *q);

/* Why the queue broke ("" when it is not). */
const char *virtq_error(const struct virtq *q);

/* Chain helpers over guest memory; see ember_host.chain_read/chain_write/chain_map. */
int64_t virtq_chain_read(const struct guest_mem *mem, const struct ember_vq_chain *chain,
			 uint64_t offset, void *buf, uint64_t len);
int64_t virtq_chain_write(const struct guest_mem *mem, const struct ember_vq_chain *chain,
			  uint64_t offset, const void *buf, uint64_t len);
int virtq_chain_map(const struct guest_mem *mem, const struct ember_vq_chain *chain, int writable,
		    struct iovec *iov, uint32_t iov_cap);

#endif
