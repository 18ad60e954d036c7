/* SPDX-License-Identifier: Apache-2.0 */
#include "virtqueue.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Wire layout of the split rings (virtio 1.x 2.7), little-endian like the x86 host. */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "rings are little-endian");

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* avail: flags, idx, ring[size], used_event.  used: flags, idx, ring[size] of 8, avail_event. */
#define AVAIL_IDX_OFF	     2
#define AVAIL_RING_OFF	     4
#define USED_IDX_OFF	     2
#define USED_RING_OFF	     4
#define USED_ELEM_SIZE	     8
#define avail_bytes(size)    (6ULL + 2ULL * (size))
#define used_bytes(size)     (6ULL + (uint64_t)USED_ELEM_SIZE * (size))
#define used_event_off(size) (AVAIL_RING_OFF + 2u * (size))
#define avail_event_off(sz)  (USED_RING_OFF + (uint32_t)USED_ELEM_SIZE * (sz))

/* What ember allocates per popped chain; the public part comes first. */
struct virtq_chain {
	struct ember_vq_chain pub;
	struct virtq *q;
	uint32_t epoch;
	uint16_t head;
	uint16_t avail_pos; /* q->last_avail when it was popped: vq_unpop goes back to it */
	struct ember_vq_segment segs[];
};

/*
 * The ring accesses below are the one place in core/ that keeps GCC's __atomic builtins instead
 * of <stdatomic.h>. The rings are guest memory: bytes the guest's driver writes, not C11 atomic
 * objects, and atomic_load/atomic_store are defined only on _Atomic objects (reading guest RAM
 * through a cast to _Atomic uint16_t * is not valid C). The builtins act on plain, naturally
 * aligned integers with the same memory orders, which on x86-64 are single loads and stores,
 * as the driver on the other side of the ring expects.
 */
static inline uint16_t *ring16(uint8_t *ring, uint32_t off)
{
	return (uint16_t *)(void *)(ring + off);
}

static inline uint32_t *ring32(uint8_t *ring, uint32_t off)
{
	return (uint32_t *)(void *)(ring + off);
}

void virtq_init(struct virtq *q, uint16_t index, uint16_t max_size)
{
	*q = (struct virtq){.index = index, .max_size = max_size, .size = max_size};
}

void virtq_free(struct virtq *q)
{
	free(q->scratch);
	q->scratch = NULL;
}

__attribute__((format(printf, 2, 3))) static int virtq_fail(struct virtq *q, const char *fmt, ...)
{
	va_list ap;

	q->broken = true;
	va_start(ap, fmt);
	vsnprintf(q->error, sizeof(q->error), fmt, ap);
	va_end(ap);
	return q->ready ? -EIO : -EINVAL;
}

static int virtq_fail_enable(struct virtq *q, const char *what, uint64_t gpa, uint64_t len)
{
	virtq_fail(q, "%s at 0x%llx (%llu bytes) is not aligned guest RAM", what,
		   (unsigned long long)gpa, (unsigned long long)len);
	q->broken = false; /* not enabled: the transport decides what a refusal means */
	return -EINVAL;
}

int virtq_enable(struct virtq *q, const struct guest_mem *mem, uint64_t features)
{
	uint64_t dbytes = 16ULL * q->size;
	uint64_t abytes = avail_bytes(q->size);
	uint64_t ubytes = used_bytes(q->size);

	q->error[0] = '\0';
	if (q->size == 0 || q->size > q->max_size || (q->size & (q->size - 1))) {
		virtq_fail(q, "queue size %u is not a power of two in 1..%u", q->size, q->max_size);
		q->broken = false;
		return -EINVAL;
	}
	q->desc = q->desc_gpa % 16 ? NULL : guest_mem_ptr(mem, q->desc_gpa, dbytes);
	if (!q->desc)
		return virtq_fail_enable(q, "descriptor table", q->desc_gpa, dbytes);
	q->avail = q->avail_gpa % 2 ? NULL : guest_mem_ptr(mem, q->avail_gpa, abytes);
	if (!q->avail)
		return virtq_fail_enable(q, "available ring", q->avail_gpa, abytes);
	q->used = q->used_gpa % 4 ? NULL : guest_mem_ptr(mem, q->used_gpa, ubytes);
	if (!q->used)
		return virtq_fail_enable(q, "used ring", q->used_gpa, ubytes);
	free(q->scratch);
	q->scratch = calloc(q->size, sizeof(*q->scratch));
	if (!q->scratch)
		return -ENOMEM;
	q->mem = mem;
	q->event_idx = features & (1ULL << EMBER_VIRTIO_F_EVENT_IDX);
	q->indirect = features & (1ULL << EMBER_VIRTIO_F_INDIRECT_DESC);
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->broken = false;
	q->ready = true;
	return 0;
}

void virtq_reset(struct virtq *q)
{
	q->ready = false;
	q->broken = false;
	q->size = q->max_size;
	q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
	q->desc = q->avail = q->used = NULL;
	q->last_avail = q->used_idx = q->signalled_used = 0;
	q->error[0] = '\0';
	q->epoch++;
}

/* Copies descriptor i of a table of n; the only read of that descriptor (no double fetch). */
static void read_desc(const uint8_t *table, uint32_t i, struct virtq_desc *d)
{
	memcpy(d, table + (size_t)i * sizeof(*d), sizeof(*d));
}

/*
 * Walks the chain starting at head into q->scratch. Returns the segment count or -EIO.
 * `visited` counts every descriptor, indirect ones included, against the queue size.
 */
static int walk_chain(struct virtq *q, uint16_t head, struct ember_vq_chain *c)
{
	const uint8_t *table = q->desc;
	uint32_t table_n = q->size, idx = head, visited = 0, nseg = 0;
	bool in_indirect = false, seen_write = false;
	struct virtq_desc d;

	for (;;) {
		if (++visited > q->size)
			return virtq_fail(q,
					  "queue %u: chain at head %u is longer than the queue "
					  "size %u (a loop?)",
					  q->index, head, q->size);
		read_desc(table, idx, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect)
				return virtq_fail(q,
						  "queue %u: indirect descriptor without "
						  "VIRTIO_F_INDIRECT_DESC",
						  q->index);
			if (in_indirect)
				return virtq_fail(q, "queue %u: nested indirect descriptor",
						  q->index);
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return virtq_fail(q, "queue %u: indirect descriptor with NEXT",
						  q->index);
			if (d.len == 0 || d.len % sizeof(struct virtq_desc))
				return virtq_fail(q,
						  "queue %u: indirect table of %u bytes is not "
						  "a multiple of 16",
						  q->index, d.len);
			table = guest_mem_ptr(q->mem, d.addr, d.len);
			if (!table)
				return virtq_fail(q,
						  "queue %u: indirect table at 0x%llx (%u bytes) "
						  "is outside RAM",
						  q->index, (unsigned long long)d.addr, d.len);
			table_n = d.len / sizeof(struct virtq_desc);
			idx = 0;
			in_indirect = true;
			continue;
		}
		if (d.len) {
			bool write = d.flags & VIRTQ_DESC_F_WRITE;
			uint64_t *sum = write ? &c->writable_bytes : &c->readable_bytes;

			if (!guest_mem_ptr(q->mem, d.addr, d.len))
				return virtq_fail(q,
						  "queue %u: buffer at 0x%llx (%u bytes) is "
						  "outside RAM",
						  q->index, (unsigned long long)d.addr, d.len);
			if (!write && seen_write)
				return virtq_fail(q,
						  "queue %u: readable buffer after a writable "
						  "one",
						  q->index);
			if (__builtin_add_overflow(*sum, d.len, sum))
				return virtq_fail(q, "queue %u: chain length overflows", q->index);
			seen_write |= write;
			q->scratch[nseg++] = (struct ember_vq_segment){
			    .gpa = d.addr,
			    .len = d.len,
			    .flags = write ? EMBER_VQ_SEGMENT_WRITE : 0,
			};
			if (write)
				c->writable_count++;
			else
				c->readable_count++;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return (int)nseg;
		if (d.next >= table_n)
			return virtq_fail(q, "queue %u: next index %u is outside a table of %u",
					  q->index, d.next, table_n);
		idx = d.next;
	}
}

/* Asks for a kick at the next available entry (EVENT_IDX), then rechecks for a missed one. */
static uint16_t publish_avail_event(struct virtq *q)
{
	__atomic_store_n(ring16(q->used, avail_event_off(q->size)), q->last_avail,
			 __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(ring16(q->avail, AVAIL_IDX_OFF), __ATOMIC_ACQUIRE);
}

int virtq_pop(struct virtq *q, struct ember_vq_chain **out)
{
	struct ember_vq_chain pub = {.struct_size = sizeof(pub), .queue = q->index};
	struct virtq_chain *c;
	uint16_t avail_idx, pending, head;
	int n;

	*out = NULL;
	if (q->broken)
		return -EIO;
	if (!q->ready)
		return 0;
	avail_idx = __atomic_load_n(ring16(q->avail, AVAIL_IDX_OFF), __ATOMIC_ACQUIRE);
	if (avail_idx == q->last_avail && q->event_idx)
		avail_idx = publish_avail_event(q);
	pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending > q->size)
		return virtq_fail(q,
				  "queue %u: available index %u is %u ahead of %u (queue size %u)",
				  q->index, avail_idx, pending, q->last_avail, q->size);
	if (pending == 0)
		return 0;
	head = __atomic_load_n(ring16(q->avail, AVAIL_RING_OFF + 2u * (q->last_avail % q->size)),
			       __ATOMIC_RELAXED);
	if (head >= q->size)
		return virtq_fail(q, "queue %u: head index %u is outside a queue of %u", q->index,
				  head, q->size);
	pub.head = head;
	n = walk_chain(q, head, &pub);
	if (n < 0)
		return n;
	c = malloc(sizeof(*c) + (size_t)n * sizeof(c->segs[0]));
	if (!c)
		return -ENOMEM;
	memcpy(c->segs, q->scratch, (size_t)n * sizeof(c->segs[0]));
	c->pub = pub;
	c->pub.segments = c->segs;
	c->q = q;
	c->epoch = q->epoch;
	c->head = head;
	c->avail_pos = q->last_avail;
	q->last_avail++;
	q->chains_live++;
	if (q->event_idx)
		__atomic_store_n(ring16(q->used, avail_event_off(q->size)), q->last_avail,
				 __ATOMIC_RELAXED);
	*out = &c->pub;
	return 1;
}

void virtq_push(struct virtq *q, struct ember_vq_chain *chain, uint32_t written)
{
	struct virtq_chain *c = (struct virtq_chain *)(void *)chain;
	uint32_t slot;

	if (!chain)
		return;
	if (c->epoch == q->epoch && q->ready && !q->broken) {
		if (written > chain->writable_bytes)
			written = (uint32_t)chain->writable_bytes;
		slot = USED_RING_OFF + USED_ELEM_SIZE * (uint32_t)(q->used_idx % q->size);
		__atomic_store_n(ring32(q->used, slot), c->head, __ATOMIC_RELAXED);
		__atomic_store_n(ring32(q->used, slot + 4), written, __ATOMIC_RELAXED);
		q->used_idx++;
		/* The element must be visible before the index that publishes it. */
		__atomic_store_n(ring16(q->used, USED_IDX_OFF), q->used_idx, __ATOMIC_RELEASE);
	}
	q->chains_live--;
	free(c);
}

int virtq_unpop(struct virtq *q, struct ember_vq_chain *chain)
{
	struct virtq_chain *c = (struct virtq_chain *)(void *)chain;

	if (!chain)
		return -EINVAL;
	if (c->epoch == q->epoch && q->ready && !q->broken) {
		/* Only the newest pop can go back: older ones would leave a hole in the ring. */
		if ((uint16_t)(c->avail_pos + 1) != q->last_avail)
			return -EINVAL;
		q->last_avail = c->avail_pos;
		if (q->event_idx)
			__atomic_store_n(ring16(q->used, avail_event_off(q->size)), q->last_avail,
					 __ATOMIC_RELAXED);
	}
	q->chains_live--;
	free(c);
	return 0;
}

struct virtq *virtq_chain_owner(const struct ember_vq_chain *chain)
{
	return chain ? ((const struct virtq_chain *)(const void *)chain)->q : NULL;
}

bool virtq_need_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx, event;

	if (!q->ready || q->broken || old == now)
		return false;
	q->signalled_used = now;
	/* Our used index store must be ordered before we read the driver's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(__atomic_load_n(ring16(q->avail, 0), __ATOMIC_RELAXED) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	event = __atomic_load_n(ring16(q->avail, used_event_off(q->size)), __ATOMIC_RELAXED);
	/* vring_need_event(): did now pass event since old? */
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

const char *virtq_error(const struct virtq *q)
{
	return q->error;
}

/*
 * Copies between buf and one part (readable or writable) of a chain, starting `offset` bytes
 * into that part. to_guest selects the direction and the part.
 */
static int64_t chain_copy(const struct guest_mem *mem, const struct ember_vq_chain *chain,
			  bool to_guest, uint64_t offset, uint8_t *buf, uint64_t len)
{
	uint32_t first = to_guest ? chain->readable_count : 0;
	uint32_t count = to_guest ? chain->writable_count : chain->readable_count;
	uint64_t done = 0;

	for (uint32_t i = first; i < first + count && done < len; i++) {
		const struct ember_vq_segment *s = &chain->segments[i];
		uint64_t n;
		int rc;

		if (offset >= s->len) {
			offset -= s->len;
			continue;
		}
		n = s->len - offset;
		if (n > len - done)
			n = len - done;
		rc = to_guest ? guest_mem_write(mem, s->gpa + offset, buf + done, n)
			      : guest_mem_read(mem, s->gpa + offset, buf + done, n);
		if (rc)
			return rc;
		done += n;
		offset = 0;
	}
	return (int64_t)done;
}

int64_t virtq_chain_read(const struct guest_mem *mem, const struct ember_vq_chain *chain,
			 uint64_t offset, void *buf, uint64_t len)
{
	return chain_copy(mem, chain, false, offset, buf, len);
}

int64_t virtq_chain_write(const struct guest_mem *mem, const struct ember_vq_chain *chain,
			  uint64_t offset, const void *buf, uint64_t len)
{
	/* chain_copy only reads buf when copying to the guest. */
	return chain_copy(mem, chain, true, offset, (uint8_t *)(uintptr_t)buf, len);
}

int virtq_chain_map(const struct guest_mem *mem, const struct ember_vq_chain *chain, int writable,
		    struct iovec *iov, uint32_t iov_cap)
{
	uint32_t first = writable ? chain->readable_count : 0;
	uint32_t count = writable ? chain->writable_count : chain->readable_count;

	if (count > iov_cap)
		return -ENOBUFS;
	for (uint32_t i = 0; i < count; i++) {
		const struct ember_vq_segment *s = &chain->segments[first + i];

		iov[i].iov_base = guest_mem_ptr(mem, s->gpa, s->len);
		iov[i].iov_len = s->len;
		if (!iov[i].iov_base)
			return -EFAULT;
	}
	return (int)count;
}
