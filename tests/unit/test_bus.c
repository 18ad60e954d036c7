/* SPDX-License-Identifier: Apache-2.0 */
#include "bus.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

struct probe {
	uint64_t offset;
	uint32_t len;
	uint8_t last[8];
	int reads, writes;
};

static void probe_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct probe *p = opaque;

	p->offset = offset;
	p->len = len;
	p->reads++;
	memset(data, 0xab, len);
}

static void probe_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct probe *p = opaque;

	p->offset = offset;
	p->len = len;
	p->writes++;
	memcpy(p->last, data, len);
}

Test(bus, add_rejects_overlap_and_empty)
{
	struct bus b = {0};
	struct bus_region r = {.base = 0x1000, .size = 0x100};

	cr_assert_eq(bus_add(&b, &r), 0);
	r.base = 0x10ff;
	cr_assert_eq(bus_add(&b, &r), -EEXIST);
	r.base = 0xf01;
	cr_assert_eq(bus_add(&b, &r), -EEXIST);
	r.base = 0x1100;
	cr_assert_eq(bus_add(&b, &r), 0);
	r.base = 0xf00;
	cr_assert_eq(bus_add(&b, &r), 0);
	r.size = 0;
	cr_assert_eq(bus_add(&b, &r), -EINVAL);
	r = (struct bus_region){.base = UINT64_MAX - 1, .size = 3};
	cr_assert_eq(bus_add(&b, &r), -EINVAL);
	r.size = 2;
	cr_assert_eq(bus_add(&b, &r), 0);
	cr_assert_eq(b.count, 4);
	for (size_t i = 1; i < b.count; i++)
		cr_assert_lt(b.regions[i - 1].base, b.regions[i].base);
	bus_free(&b);
}

Test(bus, find_needs_the_whole_access_inside)
{
	struct bus b = {0};
	struct bus_region r = {.base = 0x3f8, .size = 8, .name = "com1"};

	cr_assert_eq(bus_add(&b, &r), 0);
	cr_assert_not_null(bus_find(&b, 0x3f8, 1));
	cr_assert_not_null(bus_find(&b, 0x3ff, 1));
	cr_assert_not_null(bus_find(&b, 0x3fc, 4));
	cr_assert_null(bus_find(&b, 0x3fd, 4));
	cr_assert_null(bus_find(&b, 0x3f7, 2));
	cr_assert_null(bus_find(&b, 0x400, 1));
	cr_assert_null(bus_find(&b, 0x3f8, 0));
	cr_assert_null(bus_find(&b, UINT64_MAX, 8));
	bus_free(&b);
}

Test(bus, dispatch_passes_offsets_and_unmapped_reads_all_ones)
{
	struct bus b = {0};
	struct probe p = {0};
	struct bus_region r = {.base = 0xd0000000,
			       .size = 0x1000,
			       .read = probe_read,
			       .write = probe_write,
			       .opaque = &p};
	uint32_t v = 0x12345678;
	uint8_t data[8];

	cr_assert_eq(bus_add(&b, &r), 0);
	cr_assert(bus_write(&b, 0xd0000010, &v, 4));
	cr_assert_eq(p.offset, 0x10);
	cr_assert_eq(p.len, 4);
	cr_assert_eq(memcmp(p.last, &v, 4), 0);
	cr_assert(bus_read(&b, 0xd0000ff8, data, 8));
	cr_assert_eq(p.offset, 0xff8);
	cr_assert_eq(data[7], 0xab);
	cr_assert_not(bus_read(&b, 0xc0000000, data, 4));
	cr_assert_eq(data[0], 0xff);
	cr_assert_eq(data[3], 0xff);
	cr_assert_not(bus_write(&b, 0xd0001000, &v, 4));
	cr_assert_eq(p.writes, 1);
	bus_free(&b);
}
