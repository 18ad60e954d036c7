/* SPDX-License-Identifier: Apache-2.0 */
#include "guest_mem.h"
#include "layout.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* -- discard */

#define PAGE 4096ULL

/* Resident pages of [p, p + len) by mincore. */
static size_t resident_pages(const void *p, size_t len)
{
	static unsigned char vec[4096];
	size_t n = len / PAGE, count = 0;

	cr_assert_leq(n, sizeof(vec));
	cr_assert_eq(mincore((void *)(uintptr_t)p, len, vec), 0);
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	return count;
}

/* This process's resident set in bytes, from /proc/self/statm (no allocation on the way). */
static uint64_t rss_bytes(void)
{
	char buf[128] = "";
	unsigned long long size, resident;
	int fd = open("/proc/self/statm", O_RDONLY);
	ssize_t n;

	cr_assert_geq(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert_gt(n, 0);
	cr_assert_eq(sscanf(buf, "%llu %llu", &size, &resident), 2);
	return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

Test(guest_mem, discard_zeroes_and_gives_memory_back)
{
	const uint64_t gpa = 16 * MiB, len = 4 * MiB;
	struct guest_mem m;
	uint64_t freed = 1, before, after;
	uint8_t *p, guard_lo, guard_hi;

	cr_assert_eq(guest_mem_init(&m, 256 * MiB), 0);
	cr_assert_eq(m.backing, GUEST_MEM_ANON);
	p = guest_mem_ptr(&m, gpa - PAGE, len + 2 * PAGE);
	cr_assert_not_null(p);
	memset(p, 0xa5, len + 2 * PAGE);
	cr_assert_eq(resident_pages(p + PAGE, len), len / PAGE);
	before = rss_bytes();
	cr_assert_eq(guest_mem_discard(&m, gpa, len, &freed), 0);
	after = rss_bytes();
	cr_assert_eq(freed, len);
	/*
	 * The pages left the process: mincore says so page by page, and its resident set shrank
	 * (by about len; other threads of the test runner may fault in a little meanwhile).
	 */
	cr_assert_eq(resident_pages(p + PAGE, len), 0);
	cr_assert(before > after && before - after >= len / 2, "RSS %llu -> %llu",
		  (unsigned long long)before, (unsigned long long)after);
	/* The guest now reads zeros there, and the neighbours kept their data. */
	for (uint64_t off = 0; off < len; off += 509)
		cr_assert_eq(p[PAGE + off], 0, "byte %llu", (unsigned long long)off);
	guard_lo = p[PAGE - 1];
	guard_hi = p[PAGE + len];
	cr_assert_eq(guard_lo, 0xa5);
	cr_assert_eq(guard_hi, 0xa5);
	/* One page, and zero length (nothing to do). */
	p[PAGE] = 1;
	cr_assert_eq(guest_mem_discard(&m, gpa, PAGE, &freed), 0);
	cr_assert_eq(freed, PAGE);
	cr_assert_eq(p[PAGE], 0);
	freed = 1;
	cr_assert_eq(guest_mem_discard(&m, gpa, 0, &freed), 0);
	cr_assert_eq(freed, 0);
	guest_mem_free(&m);
}

Test(guest_mem, discard_high_region)
{
	struct guest_mem m;
	uint64_t freed = 0;
	uint8_t *p;

	cr_assert_eq(guest_mem_init(&m, 4 * GiB), 0);
	p = guest_mem_ptr(&m, 4 * GiB, 2 * PAGE);
	cr_assert_not_null(p);
	memset(p, 0x5a, 2 * PAGE);
	cr_assert_eq(guest_mem_discard(&m, 4 * GiB + PAGE, PAGE, &freed), 0);
	cr_assert_eq(freed, PAGE);
	cr_assert_eq(p[0], 0x5a);
	cr_assert_eq(p[PAGE], 0);
	/* The last page of RAM. */
	cr_assert_eq(guest_mem_discard(&m, 5 * GiB - PAGE, PAGE, &freed), 0);
	guest_mem_free(&m);
}

/* Every refusal leaves the data in place and reports nothing freed. */
Test(guest_mem, discard_refuses_bad_ranges)
{
	static const struct {
		uint64_t gpa, len;
		int err;
		const char *what;
	} bad[] = {
	    {0x1001, PAGE, -EINVAL, "unaligned address"},
	    {0x1000, 0x800, -EINVAL, "unaligned length"},
	    {0x1000, PAGE + 1, -EINVAL, "length not a page multiple"},
	    {5 * GiB + 1, PAGE, -EINVAL, "unaligned and outside RAM: alignment first"},
	    {5 * GiB, PAGE, -EFAULT, "just past RAM"},
	    {5 * GiB - PAGE, 2 * PAGE, -EFAULT, "across the end of RAM"},
	    {3 * GiB, PAGE, -EFAULT, "the MMIO hole"},
	    {LAYOUT_DEVICE_MEM_GPA, PAGE, -EFAULT, "device memory is not RAM"},
	    {3 * GiB - PAGE, 1 * GiB + 2 * PAGE, -EFAULT, "across both regions and the hole"},
	    {3 * GiB - PAGE, 2 * PAGE, -EFAULT, "from low RAM into the hole"},
	    {4 * GiB - PAGE, 2 * PAGE, -EFAULT, "from the hole into high RAM"},
	    {UINT64_MAX - PAGE + 1, 2 * PAGE, -EFAULT, "wraps around"},
	    {PAGE, UINT64_MAX - PAGE + 1, -EFAULT, "wraps with a huge length"},
	    {0, 6 * GiB, -EFAULT, "longer than RAM"},
	};
	struct guest_mem m;
	uint8_t *lo, *hi;

	cr_assert_eq(guest_mem_init(&m, 4 * GiB), 0);
	lo = guest_mem_ptr(&m, 3 * GiB - PAGE, PAGE);
	hi = guest_mem_ptr(&m, 4 * GiB, PAGE);
	memset(lo, 0x11, PAGE);
	memset(hi, 0x22, PAGE);
	*(uint8_t *)guest_mem_ptr(&m, 0x1000, 1) = 0x33;
	*(uint8_t *)guest_mem_ptr(&m, 5 * GiB - PAGE, 1) = 0x44;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t freed = 7;

		cr_assert_eq(guest_mem_discard(&m, bad[i].gpa, bad[i].len, &freed), bad[i].err,
			     "%s", bad[i].what);
		cr_assert_eq(freed, 0, "%s", bad[i].what);
	}
	cr_assert_eq(lo[0], 0x11);
	cr_assert_eq(lo[PAGE - 1], 0x11);
	cr_assert_eq(hi[0], 0x22);
	cr_assert_eq(*(uint8_t *)guest_mem_ptr(&m, 0x1000, 1), 0x33);
	cr_assert_eq(*(uint8_t *)guest_mem_ptr(&m, 5 * GiB - PAGE, 1), 0x44);
	/* Device memory stays outside the checked helpers altogether. */
	cr_assert_null(guest_mem_ptr(&m, LAYOUT_DEVICE_MEM_GPA, 1));
	cr_assert_eq(guest_mem_read(&m, LAYOUT_DEVICE_MEM_GPA, &(uint8_t){0}, 1), -EFAULT);
	guest_mem_free(&m);
}

/* Bytes the file behind fd holds (st_blocks counts 512-byte units actually allocated). */
static uint64_t file_bytes(int fd)
{
	struct stat st;

	cr_assert_eq(fstat(fd, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

Test(guest_mem, backing_names)
{
	cr_assert_str_eq(guest_mem_backing_name(GUEST_MEM_ANON), "anonymous");
	cr_assert_str_eq(guest_mem_backing_name(GUEST_MEM_SHARED), "shared");
	cr_assert_str_eq(guest_mem_backing_name(GUEST_MEM_HUGETLB), "hugetlb");
}

/*
 * Shared memory: MADV_DONTNEED would only drop this process's mapping (the memfd keeps its
 * pages); the discard must punch a hole, which the file's allocated blocks show.
 */
Test(guest_mem, shared_discard_punches_the_memfd)
{
	const uint64_t gpa = 8 * MiB, len = 4 * MiB;
	struct guest_mem m;
	uint64_t freed = 0, before, after;
	uint8_t *p;

	cr_assert_eq(guest_mem_init_backed(&m, 64 * MiB, GUEST_MEM_SHARED), 0);
	cr_assert_eq(m.backing, GUEST_MEM_SHARED);
	cr_assert_geq(m.fd, 0);
	cr_assert_eq(m.count, 1);
	p = guest_mem_ptr(&m, gpa - PAGE, len + 2 * PAGE);
	memset(p, 0xa5, len + 2 * PAGE);
	before = file_bytes(m.fd);
	cr_assert_geq(before, len + 2 * PAGE);
	cr_assert_eq(guest_mem_discard(&m, gpa, len, &freed), 0);
	after = file_bytes(m.fd);
	cr_assert_eq(freed, len);
	cr_assert_eq(before - after, len, "memfd blocks %llu -> %llu", (unsigned long long)before,
		     (unsigned long long)after);
	/* Refusals as for anonymous memory: nothing punched. */
	cr_assert_eq(guest_mem_discard(&m, 64 * MiB, PAGE, &freed), -EFAULT);
	cr_assert_eq(freed, 0);
	cr_assert_eq(guest_mem_discard(&m, 0x800, PAGE, &freed), -EINVAL);
	cr_assert_eq(file_bytes(m.fd), after);
	/* (Reading the hole allocates shmem pages again, so this comes last.) */
	for (uint64_t off = 0; off < len; off += 509)
		cr_assert_eq(p[PAGE + off], 0, "byte %llu", (unsigned long long)off);
	cr_assert_eq(p[0], 0xa5);
	cr_assert_eq(p[PAGE + len], 0xa5);
	/* forget is a no-op where 4 KiB discards free at once. */
	guest_mem_forget(&m, gpa, len);
	guest_mem_free(&m);
	cr_assert_null(m.mapping);
}

Test(guest_mem, shared_layout_4g_has_one_memfd)
{
	struct guest_mem m;
	uint64_t freed = 0;
	uint8_t *hi;

	cr_assert_eq(guest_mem_init_backed(&m, 4 * GiB, GUEST_MEM_SHARED), 0);
	cr_assert_eq(m.count, 2);
	hi = guest_mem_ptr(&m, 4 * GiB, PAGE);
	hi[0] = 7;
	cr_assert_eq(file_bytes(m.fd), PAGE);
	/* High RAM is the memfd's offset 3 GiB: the hole goes there. */
	cr_assert_eq(guest_mem_discard(&m, 4 * GiB, PAGE, &freed), 0);
	cr_assert_eq(file_bytes(m.fd), 0);
	cr_assert_eq(hi[0], 0);
	guest_mem_free(&m);
}

/* The hugetlb bookkeeping alone, with a recording free function (no huge pages needed). */
struct freed_log {
	uint64_t pages[16];
	unsigned count;
	int fail_page; /* -1: none fails */
};

static int record_free(void *ctx, uint64_t page)
{
	struct freed_log *l = ctx;

	if ((int)page == l->fail_page)
		return -EIO;
	cr_assert_lt(l->count, 16);
	l->pages[l->count++] = page;
	return 0;
}

Test(guest_mem, huge_map_frees_a_page_only_when_whole)
{
	struct guest_huge_map hm;
	struct freed_log log = {.fail_page = -1};
	uint64_t freed = 1;
	const uint64_t H = GUEST_MEM_HUGE_PAGE;

	cr_assert_eq(guest_huge_map_init(&hm, 8 * MiB), 0);
	cr_assert_eq(hm.pages, 4);
	/* Every piece of page 1 but one, in two calls and out of order: nothing freed. */
	cr_assert_eq(guest_huge_map_discard(&hm, H + PAGE, H / 2, record_free, &log, &freed), 0);
	cr_assert_eq(freed, 0);
	cr_assert_eq(
	    guest_huge_map_discard(&hm, H + PAGE + H / 2, H / 2 - PAGE, record_free, &log, &freed),
	    0);
	cr_assert_eq(freed, 0);
	cr_assert_eq(log.count, 0);
	cr_assert_eq(guest_huge_map_count(&hm, 1), 511);
	/* The same pieces again change nothing. */
	cr_assert_eq(guest_huge_map_discard(&hm, H + PAGE, PAGE, record_free, &log, &freed), 0);
	cr_assert_eq(guest_huge_map_count(&hm, 1), 511);
	/* The last piece frees it, and its bits are cleared for the page's next life. */
	cr_assert_eq(guest_huge_map_discard(&hm, H, PAGE, record_free, &log, &freed), 0);
	cr_assert_eq(freed, H);
	cr_assert_eq(log.count, 1);
	cr_assert_eq(log.pages[0], 1);
	cr_assert_eq(guest_huge_map_count(&hm, 1), 0);
	/* A range over pages 2 and 3 whole, and the start of nothing else. */
	cr_assert_eq(guest_huge_map_discard(&hm, 2 * H, 2 * H, record_free, &log, &freed), 0);
	cr_assert_eq(freed, 2 * H);
	cr_assert_eq(log.count, 3);
	cr_assert_eq(log.pages[1], 2);
	cr_assert_eq(log.pages[2], 3);
	/* A range cutting pages 0 and 1: only marks. */
	cr_assert_eq(guest_huge_map_discard(&hm, H - PAGE, 2 * PAGE, record_free, &log, &freed), 0);
	cr_assert_eq(freed, 0);
	cr_assert_eq(guest_huge_map_count(&hm, 0), 1);
	cr_assert_eq(guest_huge_map_count(&hm, 1), 1);
	guest_huge_map_free(&hm);
}

/*
 * The rule the balloon relies on: pieces the guest takes back must be forgotten, or a later
 * discard of the rest of the page frees what the guest wrote since.
 */
Test(guest_mem, huge_map_forget_keeps_reused_pieces)
{
	struct guest_huge_map hm;
	struct freed_log log = {.fail_page = -1};
	uint64_t freed = 0;
	const uint64_t H = GUEST_MEM_HUGE_PAGE;

	cr_assert_eq(guest_huge_map_init(&hm, 4 * MiB), 0);
	cr_assert_eq(guest_huge_map_discard(&hm, 0, 16 * PAGE, record_free, &log, &freed), 0);
	guest_huge_map_forget(&hm, 4 * PAGE, PAGE); /* the guest took piece 4 back */
	cr_assert_eq(guest_huge_map_count(&hm, 0), 15);
	cr_assert_eq(
	    guest_huge_map_discard(&hm, 16 * PAGE, H - 16 * PAGE, record_free, &log, &freed), 0);
	cr_assert_eq(freed, 0, "a piece the guest uses again was freed");
	cr_assert_eq(log.count, 0);
	cr_assert_eq(guest_huge_map_count(&hm, 0), 511);
	/* Bounds: out of the map or unaligned changes nothing. */
	cr_assert_eq(guest_huge_map_discard(&hm, 4 * MiB, PAGE, record_free, &log, &freed),
		     -EINVAL);
	cr_assert_eq(
	    guest_huge_map_discard(&hm, 4 * MiB - PAGE, 2 * PAGE, record_free, &log, &freed),
	    -EINVAL);
	cr_assert_eq(
	    guest_huge_map_discard(&hm, PAGE, UINT64_MAX - PAGE + 1, record_free, &log, &freed),
	    -EINVAL);
	cr_assert_eq(guest_huge_map_discard(&hm, 100, PAGE, record_free, &log, &freed), -EINVAL);
	guest_huge_map_forget(&hm, 4 * MiB, PAGE);
	cr_assert_eq(guest_huge_map_count(&hm, 0), 511);
	cr_assert_eq(guest_huge_map_count(&hm, 5), 0);
	guest_huge_map_free(&hm);
}

Test(guest_mem, huge_map_failed_free_keeps_the_page_marked)
{
	struct guest_huge_map hm;
	struct freed_log log = {.fail_page = 1};
	uint64_t freed = 0;
	const uint64_t H = GUEST_MEM_HUGE_PAGE;

	cr_assert_eq(guest_huge_map_init(&hm, 6 * MiB), 0);
	cr_assert_eq(guest_huge_map_discard(&hm, 0, 3 * H, record_free, &log, &freed), -EIO);
	cr_assert_eq(freed, H, "page 0 went before page 1 failed");
	cr_assert_eq(guest_huge_map_count(&hm, 0), 0);
	cr_assert_eq(guest_huge_map_count(&hm, 1), 512);
	cr_assert_eq(guest_huge_map_count(&hm, 2), 0, "nothing after the failure is marked");
	log.fail_page = -1;
	/* Any later discard touching it retries the free. */
	cr_assert_eq(guest_huge_map_discard(&hm, H, PAGE, record_free, &log, &freed), 0);
	cr_assert_eq(freed, H);
	guest_huge_map_free(&hm);
}

/* The huge page pool as it was before hugetlb_pool_reserve grew it; -1: untouched. */
static long hugetlb_pool_before = -1;

static long hugetlb_pool_read(void)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static void hugetlb_pool_write(long n)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");

	if (f) {
		fprintf(f, "%ld\n", n);
		fclose(f);
	}
}

/* Grows the pool by the test's 2 pages (as root; CI runs as root), restored by the fini. */
static void hugetlb_pool_reserve(void)
{
	hugetlb_pool_before = hugetlb_pool_read();
	if (hugetlb_pool_before >= 0)
		hugetlb_pool_write(hugetlb_pool_before + 2);
}

static void hugetlb_pool_restore(void)
{
	if (hugetlb_pool_before >= 0)
		hugetlb_pool_write(hugetlb_pool_before);
}

/*
 * Real 2 MiB pages: the test reserves them in the host's pool (/proc/sys/vm/nr_hugepages) and
 * gives them back after. A host that cannot provide two huge pages fails the test: the bitmap
 * tests above cover the logic, this one that the kernel really frees what it says.
 */
Test(guest_mem, hugetlb_frees_whole_pages_only, .init = hugetlb_pool_reserve,
     .fini = hugetlb_pool_restore)
{
	const uint64_t H = GUEST_MEM_HUGE_PAGE;
	struct guest_mem m;
	uint64_t freed = 1, before;
	uint8_t *p;
	int rc = guest_mem_init_backed(&m, 4 * MiB, GUEST_MEM_HUGETLB);

	cr_assert_eq(rc, 0, "no two 2 MiB huge pages on this host (pool %ld, grown by 2): %s",
		     hugetlb_pool_before, strerror(-rc));
	cr_assert_eq(m.backing, GUEST_MEM_HUGETLB);
	p = guest_mem_ptr(&m, 0, 2 * H);
	memset(p, 0x5a, 2 * H);
	before = file_bytes(m.fd);
	cr_assert_eq(before, 2 * H);
	/* Half of page 0: nothing freed, the data is still there. */
	cr_assert_eq(guest_mem_discard(&m, 0, H / 2, &freed), 0);
	cr_assert_eq(freed, 0);
	cr_assert_eq(file_bytes(m.fd), 2 * H);
	cr_assert_eq(p[0], 0x5a);
	/* The other half: the page goes, and reads give zeros. */
	cr_assert_eq(guest_mem_discard(&m, H / 2, H / 2, &freed), 0);
	cr_assert_eq(freed, H);
	cr_assert_eq(file_bytes(m.fd), H);
	cr_assert_eq(p[0], 0);
	cr_assert_eq(p[H], 0x5a);
	/* A piece taken back is forgotten: the rest of page 1 does not free it. */
	cr_assert_eq(guest_mem_discard(&m, H, PAGE, &freed), 0);
	guest_mem_forget(&m, H, PAGE);
	cr_assert_eq(guest_mem_discard(&m, H + PAGE, H - PAGE, &freed), 0);
	cr_assert_eq(freed, 0);
	cr_assert_eq(p[H], 0x5a);
	guest_mem_free(&m);
}
