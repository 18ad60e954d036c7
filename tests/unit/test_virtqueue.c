/* SPDX-License-Identifier: Apache-2.0 */
/* The split-virtqueue library against well-formed and malformed rings in harness memory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "driver_vq.h"
#include "harness.h"
#include "virtio/virtqueue.h"

#define F_INDIRECT (1ULL << EMBER_VIRTIO_F_INDIRECT_DESC)
#define F_EVENT	   (1ULL << EMBER_VIRTIO_F_EVENT_IDX)

static struct harness h;
static struct driver_vq dvq;
static struct virtq q;

static void setup_queue(uint16_t size, uint64_t features)
{
	harness_init(&h);
	driver_vq_alloc(&h, &dvq, 0, size);
	virtq_init(&q, 0, 256);
	q.size = size;
	q.desc_gpa = dvq.desc;
	q.avail_gpa = dvq.avail;
	q.used_gpa = dvq.used;
	cr_assert_eq(virtq_enable(&q, &h.mem, features), 0, "%s", virtq_error(&q));
}

static void setup(void)
{
	setup_queue(8, F_INDIRECT | F_EVENT);
}

static void teardown(void)
{
	virtq_free(&q);
	cr_expect_eq(q.chains_live, 0);
	cr_expect_eq(harness_fini(&h), 0);
}

static uint64_t buf(uint32_t len)
{
	return harness_alloc(&h, len, 8);
}

/* Pops expecting a broken queue whose message mentions `why`. */
static void expect_broken(const char *why)
{
	struct ember_vq_chain *c;

	cr_assert_eq(virtq_pop(&q, &c), -EIO);
	cr_assert_null(c);
	cr_assert(strstr(virtq_error(&q), why), "error \"%s\" lacks \"%s\"", virtq_error(&q), why);
	cr_assert_eq(virtq_pop(&q, &c), -EIO, "a broken queue stays broken");
}

TestSuite(virtqueue, .init = setup, .fini = teardown);

Test(virtqueue, empty_queue_pops_nothing)
{
	struct ember_vq_chain *c;

	cr_assert_eq(virtq_pop(&q, &c), 0);
	cr_assert_null(c);
}

Test(virtqueue, chain_is_copied_and_pushed)
{
	struct driver_buf b[] = {{buf(16), 16, false}, {buf(32), 32, true}, {buf(8), 8, true}};
	struct ember_vq_chain *c;
	uint32_t id, len;
	uint16_t head = driver_vq_add(&dvq, b, 3);

	cr_assert_eq(virtq_pop(&q, &c), 1);
	cr_assert_eq(c->head, head);
	cr_assert_eq(c->readable_count, 1);
	cr_assert_eq(c->writable_count, 2);
	cr_assert_eq(c->readable_bytes, 16);
	cr_assert_eq(c->writable_bytes, 40);
	cr_assert_eq(c->segments[1].gpa, b[1].gpa);
	cr_assert_eq(c->segments[1].flags, EMBER_VQ_SEGMENT_WRITE);
	/* The copy does not change when the guest rewrites its descriptor afterwards. */
	driver_vq_set_desc(&dvq, head, 0xdead0000, 1, 0, 0);
	cr_assert_eq(c->segments[0].gpa, b[0].gpa);
	virtq_push(&q, c, 1000); /* more than the chain can hold: clamped */
	cr_assert(driver_vq_get_used(&dvq, &id, &len));
	cr_assert_eq(id, head);
	cr_assert_eq(len, 40);
	cr_assert_eq(virtq_pop(&q, &c), 0);
}

Test(virtqueue, zero_length_descriptors_are_dropped)
{
	struct driver_buf b[] = {{buf(16), 0, false}, {buf(32), 32, true}};
	struct ember_vq_chain *c;

	driver_vq_add(&dvq, b, 2);
	cr_assert_eq(virtq_pop(&q, &c), 1);
	cr_assert_eq(c->readable_count + c->writable_count, 1);
	virtq_push(&q, c, 0);
}

Test(virtqueue, indirect_chain)
{
	struct driver_buf b[] = {{buf(4), 4, false}, {buf(64), 64, true}, {buf(64), 64, true}};
	struct ember_vq_chain *c;

	driver_vq_add_indirect(&dvq, b, 3);
	cr_assert_eq(virtq_pop(&q, &c), 1);
	cr_assert_eq(c->readable_count, 1);
	cr_assert_eq(c->writable_count, 2);
	cr_assert_eq(c->writable_bytes, 128);
	virtq_push(&q, c, 128);
}

Test(virtqueue, indirect_without_feature, .init = NULL)
{
	struct driver_buf b[] = {{0, 0, true}};

	setup_queue(8, F_EVENT);
	b[0].gpa = buf(8);
	b[0].len = 8;
	driver_vq_add_indirect(&dvq, b, 1);
	expect_broken("INDIRECT_DESC");
}

Test(virtqueue, nested_indirect)
{
	uint64_t inner = buf(16), outer = buf(16);

	driver_desc_write(harness_ptr(&h, outer, 16), inner, 16, VQ_DESC_F_INDIRECT, 0);
	driver_vq_set_desc(&dvq, 0, outer, 16, VQ_DESC_F_INDIRECT, 0);
	driver_vq_publish(&dvq, 0);
	expect_broken("nested");
}

Test(virtqueue, indirect_length_not_multiple_of_16)
{
	driver_vq_set_desc(&dvq, 0, buf(32), 24, VQ_DESC_F_INDIRECT, 0);
	driver_vq_publish(&dvq, 0);
	expect_broken("multiple of 16");
}

Test(virtqueue, indirect_with_next)
{
	driver_vq_set_desc(&dvq, 0, buf(32), 32, VQ_DESC_F_INDIRECT | VQ_DESC_F_NEXT, 1);
	driver_vq_publish(&dvq, 0);
	expect_broken("with NEXT");
}

Test(virtqueue, indirect_table_outside_ram)
{
	driver_vq_set_desc(&dvq, 0, 0x1000, 32, VQ_DESC_F_INDIRECT, 0);
	driver_vq_publish(&dvq, 0);
	expect_broken("outside RAM");
}

Test(virtqueue, loop_is_caught)
{
	uint64_t b = buf(8);

	driver_vq_set_desc(&dvq, 0, b, 8, VQ_DESC_F_NEXT, 1);
	driver_vq_set_desc(&dvq, 1, b, 8, VQ_DESC_F_NEXT, 0);
	driver_vq_publish(&dvq, 0);
	expect_broken("longer than the queue size");
}

Test(virtqueue, loop_inside_indirect_table)
{
	uint64_t t = buf(32), b = buf(8);
	uint8_t *p = harness_ptr(&h, t, 32);

	driver_desc_write(p, b, 8, VQ_DESC_F_NEXT, 1);
	driver_desc_write(p + 16, b, 8, VQ_DESC_F_NEXT, 0);
	driver_vq_set_desc(&dvq, 0, t, 32, VQ_DESC_F_INDIRECT, 0);
	driver_vq_publish(&dvq, 0);
	expect_broken("longer than the queue size");
}

Test(virtqueue, full_length_chain_is_fine)
{
	struct driver_buf b[8];
	struct ember_vq_chain *c;

	for (int i = 0; i < 8; i++)
		b[i] = (struct driver_buf){buf(8), 8, i >= 4};
	driver_vq_add(&dvq, b, 8);
	cr_assert_eq(virtq_pop(&q, &c), 1);
	cr_assert_eq(c->readable_count + c->writable_count, 8);
	virtq_push(&q, c, 0);
}

Test(virtqueue, next_out_of_range)
{
	driver_vq_set_desc(&dvq, 0, buf(8), 8, VQ_DESC_F_NEXT, 8);
	driver_vq_publish(&dvq, 0);
	expect_broken("next index 8");
}

Test(virtqueue, head_out_of_range)
{
	driver_vq_publish(&dvq, 9);
	expect_broken("head index 9");
}

Test(virtqueue, buffer_outside_ram)
{
	driver_vq_set_desc(&dvq, 0, 0x2000, 8, 0, 0);
	driver_vq_publish(&dvq, 0);
	expect_broken("outside RAM");
}

Test(virtqueue, buffer_across_two_regions)
{
	/* GPA-contiguous, but two host mappings with a guard page between them. */
	driver_vq_set_desc(&dvq, 0, HARNESS_RAM1_GPA - 8, 16, VQ_DESC_F_WRITE, 0);
	driver_vq_publish(&dvq, 0);
	expect_broken("outside RAM");
}

Test(virtqueue, buffer_address_wraps)
{
	driver_vq_set_desc(&dvq, 0, UINT64_MAX - 3, 16, 0, 0);
	driver_vq_publish(&dvq, 0);
	expect_broken("outside RAM");
}

Test(virtqueue, avail_index_runs_ahead)
{
	driver_vq_set_avail_idx(&dvq, 9);
	expect_broken("ahead");
}

Test(virtqueue, readable_after_writable)
{
	struct driver_buf b[] = {{buf(8), 8, true}, {buf(8), 8, false}};

	driver_vq_add(&dvq, b, 2);
	expect_broken("readable buffer after a writable");
}

Test(virtqueue, reset_repairs_and_stales_chains)
{
	struct driver_buf b[] = {{buf(8), 8, true}};
	struct ember_vq_chain *c, *bad;
	uint32_t id, len;

	driver_vq_add(&dvq, b, 1);
	cr_assert_eq(virtq_pop(&q, &c), 1);
	driver_vq_publish(&dvq, 12);
	cr_assert_eq(virtq_pop(&q, &bad), -EIO);
	virtq_reset(&q);
	cr_assert_not(q.ready);
	cr_assert_str_empty(virtq_error(&q));
	q.size = 8;
	q.desc_gpa = dvq.desc;
	q.avail_gpa = dvq.avail;
	q.used_gpa = dvq.used;
	memset(harness_ptr(&h, dvq.avail, 6 + 16), 0, 6 + 16);
	cr_assert_eq(virtq_enable(&q, &h.mem, 0), 0);
	virtq_push(&q, c, 8); /* stale: freed, not written */
	cr_assert_not(driver_vq_get_used(&dvq, &id, &len));
	cr_assert_eq(q.chains_live, 0);
}

Test(virtqueue, enable_checks_size_and_rings, .init = NULL)
{
	setup_queue(8, 0);
	virtq_reset(&q);
	q.desc_gpa = dvq.desc;
	q.avail_gpa = dvq.avail;
	q.used_gpa = dvq.used;
	q.size = 6;
	cr_assert_eq(virtq_enable(&q, &h.mem, 0), -EINVAL);
	cr_assert(strstr(virtq_error(&q), "power of two"));
	q.size = 512; /* above max_size 256 */
	cr_assert_eq(virtq_enable(&q, &h.mem, 0), -EINVAL);
	q.size = 8;
	q.desc_gpa = dvq.desc + 8;
	cr_assert_eq(virtq_enable(&q, &h.mem, 0), -EINVAL, "misaligned descriptor table");
	q.desc_gpa = 0x1000;
	cr_assert_eq(virtq_enable(&q, &h.mem, 0), -EINVAL, "descriptor table outside RAM");
	q.desc_gpa = dvq.desc;
	q.used_gpa = HARNESS_RAM1_GPA - 16; /* the used ring would cross into region 1 */
	cr_assert_eq(virtq_enable(&q, &h.mem, 0), -EINVAL);
	cr_assert(strstr(virtq_error(&q), "used ring"));
	cr_assert_not(q.ready);
	q.used_gpa = dvq.used;
	cr_assert_eq(virtq_enable(&q, &h.mem, 0), 0);
}

Test(virtqueue, event_idx_interrupt_suppression)
{
	struct driver_buf b[] = {{buf(8), 8, true}};
	struct ember_vq_chain *c;

	driver_vq_set_used_event(&dvq, 0);
	for (int i = 0; i < 3; i++)
		driver_vq_add(&dvq, b, 1);
	cr_assert_eq(virtq_pop(&q, &c), 1);
	virtq_push(&q, c, 8);
	cr_assert(virtq_need_interrupt(&q), "used index passed used_event 0");
	cr_assert_eq(virtq_pop(&q, &c), 1);
	virtq_push(&q, c, 8);
	cr_assert_not(virtq_need_interrupt(&q), "driver asked only for the first");
	driver_vq_set_used_event(&dvq, 2);
	cr_assert_eq(virtq_pop(&q, &c), 1);
	virtq_push(&q, c, 8);
	cr_assert(virtq_need_interrupt(&q));
	cr_assert_not(virtq_need_interrupt(&q), "nothing new since");
	/* avail_event tells the driver where to kick next. */
	cr_assert_eq(*(uint16_t *)harness_ptr(&h, dvq.used + 4 + 8 * 8, 2), 3);
}

Test(virtqueue, no_interrupt_flag_without_event_idx, .init = NULL)
{
	struct driver_buf b[] = {{0, 8, true}};
	struct ember_vq_chain *c;

	setup_queue(8, 0);
	b[0].gpa = buf(8);
	driver_vq_set_avail_flags(&dvq, 1);
	driver_vq_add(&dvq, b, 1);
	driver_vq_add(&dvq, b, 1);
	cr_assert_eq(virtq_pop(&q, &c), 1);
	virtq_push(&q, c, 8);
	cr_assert_not(virtq_need_interrupt(&q));
	driver_vq_set_avail_flags(&dvq, 0);
	cr_assert_eq(virtq_pop(&q, &c), 1);
	virtq_push(&q, c, 8);
	cr_assert(virtq_need_interrupt(&q));
}

Test(virtqueue, chain_copies_respect_both_buffers)
{
	struct driver_buf b[] = {
	    {buf(6), 6, false}, {buf(4), 4, false}, {buf(30), 30, true}, {buf(50), 50, true}};
	uint8_t data[100], back[10];
	struct ember_vq_chain *c;
	struct iovec iov[2];

	memcpy(harness_ptr(&h, b[0].gpa, 6), "abcdef", 6);
	memcpy(harness_ptr(&h, b[1].gpa, 4), "ghij", 4);
	driver_vq_add(&dvq, b, 4);
	cr_assert_eq(virtq_pop(&q, &c), 1);
	cr_assert_eq(virtq_chain_read(&h.mem, c, 4, back, sizeof(back)), 6);
	cr_assert_arr_eq(back, "efghij", 6);
	cr_assert_eq(virtq_chain_read(&h.mem, c, 0, back, 3), 3, "never more than asked");
	memset(data, 0x5a, sizeof(data));
	cr_assert_eq(virtq_chain_write(&h.mem, c, 0, data, sizeof(data)), 80, "chain is 80");
	cr_assert_eq(virtq_chain_write(&h.mem, c, 75, data, sizeof(data)), 5);
	cr_assert_eq(((uint8_t *)harness_ptr(&h, b[3].gpa, 50))[49], 0x5a);
	cr_assert_eq(virtq_chain_map(&h.mem, c, 1, iov, 2), 2);
	cr_assert_eq(iov[1].iov_len, 50);
	cr_assert_eq(virtq_chain_map(&h.mem, c, 0, iov, 1), -ENOBUFS);
	virtq_push(&q, c, 80);
}

/*
 * A guest that writes garbage: random descriptor tables and available rings. Every pop must
 * end in a chain, an empty queue or a broken queue; never a crash (ASan watches the reads).
 */
Test(virtqueue, random_rings_never_crash)
{
	uint64_t pool = buf(256);
	unsigned seed = 12345, outcomes[3] = {0};

	for (int round = 0; round < 2000; round++) {
		uint8_t *desc = harness_ptr(&h, dvq.desc, 16 * 8);
		struct ember_vq_chain *c;
		int rc;

		for (int i = 0; i < 8; i++) {
			uint64_t addr = rand_r(&seed) % 4 ? pool + rand_r(&seed) % 256
							  : (uint64_t)rand_r(&seed) << 20;
			uint32_t len = rand_r(&seed) % 300;
			uint16_t flags = (uint16_t)(rand_r(&seed) & 7);
			uint16_t next = (uint16_t)(rand_r(&seed) % 10);

			if (flags & VQ_DESC_F_INDIRECT)
				addr = pool;
			driver_desc_write(desc + 16 * i, addr, len, flags, next);
		}
		memcpy(harness_ptr(&h, pool, 256), desc, 128);
		driver_vq_publish(&dvq, (uint16_t)(rand_r(&seed) % 9));
		rc = virtq_pop(&q, &c);
		cr_assert(rc == 1 || rc == 0 || rc == -EIO);
		if (rc == 1)
			virtq_push(&q, c, (uint32_t)rand_r(&seed));
		outcomes[rc == 1 ? 0 : rc == 0 ? 1 : 2]++;
		if (rc == -EIO) {
			virtq_reset(&q);
			q.size = 8;
			q.desc_gpa = dvq.desc;
			q.avail_gpa = dvq.avail;
			q.used_gpa = dvq.used;
			memset(harness_ptr(&h, dvq.avail, 6 + 16), 0, 6 + 16);
			dvq.avail_idx = 0;
			cr_assert_eq(virtq_enable(&q, &h.mem, F_INDIRECT | F_EVENT), 0);
		}
	}
	cr_assert(outcomes[0] > 0 && outcomes[2] > 0, "both good and bad chains were seen");
}
