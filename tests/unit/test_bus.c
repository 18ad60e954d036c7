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

/*
 * Every access a handler sees, in order. KVM gives MMIO exits of any length 1..8 (a page-
 * straddling access comes as two pieces, a far pointer is 6 bytes), but handlers are promised
 * 1, 2, 4 or 8 bytes (bus.h, sdk device.h): the bus splits the rest into naturally aligned
 * pieces, lowest address first, carrying the bytes little-endian (byte i at address addr + i).
 */
struct access {
	uint64_t offset;
	uint32_t len;
	bool write;
	uint8_t data[8];
};

struct recorder {
	struct access log[16];
	int count;
};

static void record(struct recorder *r, uint64_t offset, uint32_t len, bool write, const void *d)
{
	struct access *a = &r->log[r->count < 16 ? r->count : 15];

	r->count++;
	*a = (struct access){.offset = offset, .len = len, .write = write};
	if (d && len <= 8)
		memcpy(a->data, d, len);
}

/* Reads return the low byte of each byte's own offset: a read in pieces must reassemble. */
static void recorder_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	uint8_t *out = data;

	for (uint32_t i = 0; i < len && i < 8; i++)
		out[i] = (uint8_t)(offset + i);
	record(opaque, offset, len, false, NULL);
}

static void recorder_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	record(opaque, offset, len, true, data);
}

static void expect_pieces(const struct recorder *r, const uint32_t (*want)[2], int n)
{
	cr_assert_eq(r->count, n, "%d handler calls, expected %d", r->count, n);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(r->log[i].offset, want[i][0], "piece %d at %#llx, expected %#x", i,
			     (unsigned long long)r->log[i].offset, want[i][0]);
		cr_assert_eq(r->log[i].len, want[i][1], "piece %d of %u bytes, expected %u", i,
			     r->log[i].len, want[i][1]);
	}
}

Test(bus, odd_lengths_reach_handlers_as_natural_pieces)
{
	static const struct {
		uint64_t offset;
		uint32_t len;
		int n;
		uint32_t pieces[3][2];
	} cases[] = {
	    {0x0, 3, 2, {{0x0, 2}, {0x2, 1}}},
	    {0x1, 3, 2, {{0x1, 1}, {0x2, 2}}},
	    {0x3, 5, 2, {{0x3, 1}, {0x4, 4}}},
	    {0x8, 5, 2, {{0x8, 4}, {0xc, 1}}},
	    {0x4, 6, 2, {{0x4, 4}, {0x8, 2}}}, /* a far pointer (m16:32) */
	    {0x2, 6, 2, {{0x2, 2}, {0x4, 4}}},
	    {0x1, 7, 3, {{0x1, 1}, {0x2, 2}, {0x4, 4}}},
	    {0x8, 7, 3, {{0x8, 4}, {0xc, 2}, {0xe, 1}}},
	    {0xffd, 3, 2, {{0xffd, 1}, {0xffe, 2}}}, /* the end of a page-straddling access */
	};
	const uint8_t bytes[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct bus b = {0};
		struct recorder rec = {0};
		struct bus_region r = {.base = 0xd0000000,
				       .size = 0x1000,
				       .read = recorder_read,
				       .write = recorder_write,
				       .opaque = &rec};
		uint64_t addr = r.base + cases[c].offset;
		uint8_t got[8];
		uint32_t at = 0;

		cr_assert_eq(bus_add(&b, &r), 0);
		cr_assert(bus_write(&b, addr, bytes, cases[c].len));
		expect_pieces(&rec, cases[c].pieces, cases[c].n);
		for (int i = 0; i < cases[c].n; i++) {
			cr_assert(rec.log[i].write);
			cr_assert_eq(memcmp(rec.log[i].data, bytes + at, rec.log[i].len), 0,
				     "write of %u at %#llx: piece %d carries the wrong bytes",
				     cases[c].len, (unsigned long long)cases[c].offset, i);
			at += rec.log[i].len;
		}
		rec.count = 0;
		memset(got, 0xee, sizeof(got));
		cr_assert(bus_read(&b, addr, got, cases[c].len));
		expect_pieces(&rec, cases[c].pieces, cases[c].n);
		for (uint32_t i = 0; i < cases[c].len; i++)
			cr_assert_eq(got[i], (uint8_t)(cases[c].offset + i),
				     "read of %u at %#llx: byte %u is %#x", cases[c].len,
				     (unsigned long long)cases[c].offset, i, got[i]);
		cr_assert_eq(got[cases[c].len], 0xee, "a split read wrote past its length");
		bus_free(&b);
	}
}

Test(bus, natural_lengths_pass_whole_and_misfits_stay_refused)
{
	struct bus b = {0};
	struct recorder rec = {0};
	struct bus_region r = {.base = 0x1000,
			       .size = 0x10,
			       .read = recorder_read,
			       .write = recorder_write,
			       .opaque = &rec};
	uint8_t d[8] = {0};

	cr_assert_eq(bus_add(&b, &r), 0);
	/* 1, 2, 4 and 8 go through as one access, even unaligned: the device decides. */
	for (uint32_t len = 1; len <= 8; len *= 2) {
		rec.count = 0;
		cr_assert(bus_read(&b, 0x1001, d, len));
		cr_assert_eq(rec.count, 1);
		cr_assert_eq(rec.log[0].len, len);
		cr_assert_eq(rec.log[0].offset, 1);
	}
	/* An odd access that does not fit the region is refused whole, as before. */
	rec.count = 0;
	memset(d, 0, sizeof(d));
	cr_assert_not(bus_read(&b, 0x100d, d, 5));
	cr_assert_eq(d[0], 0xff);
	cr_assert_eq(d[4], 0xff);
	cr_assert_not(bus_write(&b, 0xffe, d, 3));
	cr_assert_eq(rec.count, 0, "a piece of a refused access reached the handler");
	bus_free(&b);
}
