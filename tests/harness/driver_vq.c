/* SPDX-License-Identifier: Apache-2.0 */
#include "driver_vq.h"

#include <string.h>

#include "virtio/virtio_mmio.h"

static uint16_t *u16_at(struct driver_vq *vq, uint64_t gpa)
{
	return harness_ptr(vq->h, gpa, 2);
}

void driver_vq_alloc(struct harness *h, struct driver_vq *vq, uint32_t index, uint16_t size)
{
	*vq = (struct driver_vq){.h = h, .index = index, .size = size};
	vq->desc = harness_alloc(h, 16ULL * size, 16);
	vq->avail = harness_alloc(h, 6ULL + 2ULL * size, 2);
	vq->used = harness_alloc(h, 6ULL + 8ULL * size, 4);
}

uint32_t driver_negotiate(struct harness *h, uint64_t features)
{
	harness_write32(h, VIRTIO_MMIO_STATUS, 0);
	harness_write32(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	harness_write32(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	harness_write32(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	harness_write32(h, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	harness_write32(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	harness_write32(h, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	harness_write32(h, VIRTIO_MMIO_STATUS,
			VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			    VIRTIO_STATUS_FEATURES_OK);
	return harness_read32(h, VIRTIO_MMIO_STATUS);
}

void driver_vq_setup(struct harness *h, struct driver_vq *vq, uint32_t index, uint16_t size)
{
	driver_vq_alloc(h, vq, index, size);
	harness_write32(h, VIRTIO_MMIO_QUEUE_SEL, index);
	harness_write32(h, VIRTIO_MMIO_QUEUE_NUM, size);
	harness_write32(h, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)vq->desc);
	harness_write32(h, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(vq->desc >> 32));
	harness_write32(h, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)vq->avail);
	harness_write32(h, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(vq->avail >> 32));
	harness_write32(h, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)vq->used);
	harness_write32(h, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(vq->used >> 32));
	harness_write32(h, VIRTIO_MMIO_QUEUE_READY, 1);
}

void driver_ok(struct harness *h)
{
	harness_write32(h, VIRTIO_MMIO_STATUS,
			harness_read32(h, VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

void driver_desc_write(void *at, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = at;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

void driver_vq_set_desc(struct driver_vq *vq, uint16_t i, uint64_t addr, uint32_t len,
			uint16_t flags, uint16_t next)
{
	driver_desc_write(harness_ptr(vq->h, vq->desc + 16ULL * i, 16), addr, len, flags, next);
}

void driver_vq_publish(struct driver_vq *vq, uint16_t head)
{
	*u16_at(vq, vq->avail + 4 + 2ULL * (vq->avail_idx % vq->size)) = head;
	vq->avail_idx++;
	__atomic_store_n(u16_at(vq, vq->avail + 2), vq->avail_idx, __ATOMIC_RELEASE);
}

void driver_vq_set_avail_idx(struct driver_vq *vq, uint16_t idx)
{
	vq->avail_idx = idx;
	__atomic_store_n(u16_at(vq, vq->avail + 2), idx, __ATOMIC_RELEASE);
}

uint16_t driver_vq_add(struct driver_vq *vq, const struct driver_buf *bufs, unsigned n)
{
	uint16_t head = vq->next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t me = (uint16_t)((head + i) % vq->size);
		uint16_t next = (uint16_t)((me + 1) % vq->size);

		driver_vq_set_desc(vq, me, bufs[i].gpa, bufs[i].len,
				   (uint16_t)((bufs[i].write ? VQ_DESC_F_WRITE : 0) |
					      (i + 1 < n ? VQ_DESC_F_NEXT : 0)),
				   i + 1 < n ? next : 0);
	}
	vq->next_desc = (uint16_t)((head + n) % vq->size);
	driver_vq_publish(vq, head);
	return head;
}

uint16_t driver_vq_add_indirect(struct driver_vq *vq, const struct driver_buf *bufs, unsigned n)
{
	uint64_t table = harness_alloc(vq->h, 16ULL * n, 16);
	uint8_t *t = harness_ptr(vq->h, table, 16ULL * n);
	uint16_t head = vq->next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t flags = (uint16_t)((bufs[i].write ? VQ_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VQ_DESC_F_NEXT : 0));
		uint16_t next = (uint16_t)(i + 1 < n ? i + 1 : 0);

		driver_desc_write(t + 16 * i, bufs[i].gpa, bufs[i].len, flags, next);
	}
	driver_vq_set_desc(vq, head, table, 16 * n, VQ_DESC_F_INDIRECT, 0);
	vq->next_desc = (uint16_t)((head + 1) % vq->size);
	driver_vq_publish(vq, head);
	return head;
}

void driver_vq_kick(struct driver_vq *vq)
{
	harness_write32(vq->h, VIRTIO_MMIO_QUEUE_NOTIFY, vq->index);
}

bool driver_vq_get_used(struct driver_vq *vq, uint32_t *id, uint32_t *len)
{
	uint16_t idx = __atomic_load_n(u16_at(vq, vq->used + 2), __ATOMIC_ACQUIRE);
	const uint8_t *e;

	if (idx == vq->used_seen)
		return false;
	e = harness_ptr(vq->h, vq->used + 4 + 8ULL * (vq->used_seen % vq->size), 8);
	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
	vq->used_seen++;
	return true;
}

void driver_vq_set_used_event(struct driver_vq *vq, uint16_t event)
{
	*u16_at(vq, vq->avail + 4 + 2ULL * vq->size) = event;
}

void driver_vq_set_avail_flags(struct driver_vq *vq, uint16_t flags)
{
	*u16_at(vq, vq->avail) = flags;
}
