/* SPDX-License-Identifier: Apache-2.0 */
#include "guest_mem.h"
#include "layout.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

Test(guest_mem, layout_256m_is_one_region)
{
	struct guest_mem m;

	cr_assert_eq(guest_mem_init(&m, 256 * MiB), 0);
	cr_assert_eq(m.count, 1);
	cr_assert_eq(m.ram_bytes, 256 * MiB);
	cr_assert_eq(m.regions[0].gpa, 0);
	cr_assert_eq(m.regions[0].size, 256 * MiB);
	cr_assert_not_null(m.regions[0].host);
	cr_assert_eq(guest_mem_end(&m), 256 * MiB);
	guest_mem_free(&m);
	cr_assert_null(m.mapping);
	cr_assert_eq(m.count, 0);
}

Test(guest_mem, layout_4g_splits_around_the_hole)
{
	struct guest_mem m;

	cr_assert_eq(guest_mem_init(&m, 4 * GiB), 0);
	cr_assert_eq(m.count, 2);
	cr_assert_eq(m.regions[0].gpa, 0);
	cr_assert_eq(m.regions[0].size, 3 * GiB);
	cr_assert_eq(m.regions[0].size, LAYOUT_MMIO_GAP_START);
	cr_assert_eq(m.regions[1].gpa, 4 * GiB);
	cr_assert_eq(m.regions[1].gpa, LAYOUT_MMIO_GAP_END);
	cr_assert_eq(m.regions[1].size, 1 * GiB);
	cr_assert_eq(m.regions[1].host, m.regions[0].host + 3 * GiB);
	cr_assert_eq(guest_mem_end(&m), 5 * GiB);
	guest_mem_free(&m);
}

Test(guest_mem, exactly_3g_is_one_region)
{
	struct guest_mem m;

	cr_assert_eq(guest_mem_init(&m, 3 * GiB), 0);
	cr_assert_eq(m.count, 1);
	cr_assert_eq(m.regions[0].size, 3 * GiB);
	guest_mem_free(&m);
}

Test(guest_mem, refuses_bad_sizes)
{
	struct guest_mem m;

	cr_assert_eq(guest_mem_init(&m, 0), -EINVAL);
	cr_assert_eq(guest_mem_init(&m, 1 * MiB), -EINVAL);
	cr_assert_eq(guest_mem_init(&m, 3 * MiB), -EINVAL);
	cr_assert_eq(guest_mem_init(&m, 256 * MiB + 4096), -EINVAL);
	cr_assert_eq(guest_mem_init(&m, 2 * MiB), 0);
	guest_mem_free(&m);
}

Test(guest_mem, ptr_bounds_256m)
{
	struct guest_mem m;
	uint8_t *base;

	cr_assert_eq(guest_mem_init(&m, 256 * MiB), 0);
	base = m.regions[0].host;
	cr_assert_null(guest_mem_ptr(&m, 0, 0));
	cr_assert_null(guest_mem_ptr(&m, 0x1000, 0));
	cr_assert_eq(guest_mem_ptr(&m, 0, 1), base);
	cr_assert_eq(guest_mem_ptr(&m, 0x1234, 16), base + 0x1234);
	/* The last byte, and the whole of RAM. */
	cr_assert_eq(guest_mem_ptr(&m, 256 * MiB - 1, 1), base + 256 * MiB - 1);
	cr_assert_eq(guest_mem_ptr(&m, 0, 256 * MiB), base);
	/* One past the end, straddling the end, and longer than RAM. */
	cr_assert_null(guest_mem_ptr(&m, 256 * MiB, 1));
	cr_assert_null(guest_mem_ptr(&m, 256 * MiB - 1, 2));
	cr_assert_null(guest_mem_ptr(&m, 0, 256 * MiB + 1));
	/* Ranges that wrap around the address space. */
	cr_assert_null(guest_mem_ptr(&m, UINT64_MAX, 1));
	cr_assert_null(guest_mem_ptr(&m, UINT64_MAX, 2));
	cr_assert_null(guest_mem_ptr(&m, UINT64_MAX - 0xf, 0x20));
	cr_assert_null(guest_mem_ptr(&m, 0x1000, UINT64_MAX));
	cr_assert_null(guest_mem_ptr(&m, 1, UINT64_MAX));
	guest_mem_free(&m);
}

Test(guest_mem, ptr_bounds_4g_hole)
{
	struct guest_mem m;

	cr_assert_eq(guest_mem_init(&m, 4 * GiB), 0);
	/* The last byte below the hole, and not one more. */
	cr_assert_eq(guest_mem_ptr(&m, 3 * GiB - 1, 1), m.regions[0].host + 3 * GiB - 1);
	cr_assert_null(guest_mem_ptr(&m, 3 * GiB - 1, 2));
	cr_assert_null(guest_mem_ptr(&m, 3 * GiB, 1));
	/* Inside the hole, and across it: both sides are RAM but the range is not. */
	cr_assert_null(guest_mem_ptr(&m, 0xd0000000ULL, 4));
	cr_assert_null(guest_mem_ptr(&m, 4 * GiB - 1, 1));
	cr_assert_null(guest_mem_ptr(&m, 3 * GiB - 8, 1 * GiB + 16));
	/* The high region, its last byte, and past its end. */
	cr_assert_eq(guest_mem_ptr(&m, 4 * GiB, 1), m.regions[1].host);
	cr_assert_eq(guest_mem_ptr(&m, 5 * GiB - 1, 1), m.regions[1].host + 1 * GiB - 1);
	cr_assert_eq(guest_mem_ptr(&m, 4 * GiB, 1 * GiB), m.regions[1].host);
	cr_assert_null(guest_mem_ptr(&m, 5 * GiB - 1, 2));
	cr_assert_null(guest_mem_ptr(&m, 5 * GiB, 1));
	cr_assert_null(guest_mem_ptr(&m, 4 * GiB, 1 * GiB + 1));
	cr_assert_null(guest_mem_ptr(&m, UINT64_MAX - 1, 4));
	guest_mem_free(&m);
}

Test(guest_mem, read_write_round_trip_and_efault)
{
	struct guest_mem m;
	uint8_t in[64], out[64], guard[4];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	cr_assert_eq(guest_mem_init(&m, 4 * GiB), 0);
	cr_assert_eq(guest_mem_write(&m, 0x10000, in, sizeof(in)), 0);
	memset(out, 0, sizeof(out));
	cr_assert_eq(guest_mem_read(&m, 0x10000, out, sizeof(out)), 0);
	cr_assert_arr_eq(in, out, sizeof(in));
	cr_assert_arr_eq(m.regions[0].host + 0x10000, in, sizeof(in));

	/* High RAM is backed by the same mapping, 3 GiB in. */
	cr_assert_eq(guest_mem_write(&m, 4 * GiB + 0x20, in, sizeof(in)), 0);
	cr_assert_arr_eq((uint8_t *)m.mapping + 3 * GiB + 0x20, in, sizeof(in));
	memset(out, 0, sizeof(out));
	cr_assert_eq(guest_mem_read(&m, 4 * GiB + 0x20, out, sizeof(out)), 0);
	cr_assert_arr_eq(in, out, sizeof(in));

	/* Straddling the hole, the end, or wrapping: refused, and nothing is written. */
	memset(guard, 0x5a, sizeof(guard));
	memcpy(m.regions[0].host + 3 * GiB - sizeof(guard), guard, sizeof(guard));
	cr_assert_eq(guest_mem_write(&m, 3 * GiB - 4, in, 8), -EFAULT);
	cr_assert_arr_eq(m.regions[0].host + 3 * GiB - sizeof(guard), guard, sizeof(guard));
	cr_assert_eq(guest_mem_read(&m, 3 * GiB - 4, out, 8), -EFAULT);
	cr_assert_eq(guest_mem_write(&m, 5 * GiB - 4, in, 8), -EFAULT);
	cr_assert_eq(guest_mem_read(&m, 5 * GiB - 4, out, 8), -EFAULT);
	cr_assert_eq(guest_mem_read(&m, UINT64_MAX - 3, out, 8), -EFAULT);
	cr_assert_eq(guest_mem_write(&m, UINT64_MAX - 3, in, 8), -EFAULT);
	cr_assert_eq(guest_mem_read(&m, 0xd0000000ULL, out, 1), -EFAULT);
	/* Zero-length copies touch nothing and succeed. */
	cr_assert_eq(guest_mem_read(&m, UINT64_MAX, out, 0), 0);
	cr_assert_eq(guest_mem_write(&m, UINT64_MAX, in, 0), 0);
	guest_mem_free(&m);
}
