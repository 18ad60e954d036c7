/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-balloon plugin through the harness: options and features, config space, every
 * runtime control, inflate and deflate (what is discarded, what never is), statistics and their
 * polling, free page reporting (and PAGE_POISON), free page hinting (command ids, stale runs),
 * bad guest input, resets, and a RAM backing whose 4 KiB discards free nothing (ember's
 * hugetlb bookkeeping over a plain memfd), where the device must discard whole 2 MiB pages.
 *
 * The test plays the guest driver. Harness RAM is anonymous memory, so a discarded page reads
 * zeros: that is how a test sees what was discarded.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "driver_vq.h"
#include "guest_mem.h"
#include "harness.h"
#include "virtio/virtio_mmio.h"

#define F_VERSION_1	 (1ULL << EMBER_VIRTIO_F_VERSION_1)
#define F_MUST_TELL_HOST (1ULL << 0)
#define F_STATS_VQ	 (1ULL << 1)
#define F_DEFLATE_ON_OOM (1ULL << 2)
#define F_FREE_PAGE_HINT (1ULL << 3)
#define F_PAGE_POISON	 (1ULL << 4)
#define F_REPORTING	 (1ULL << 5)
#define PAGE		 4096u
#define HUGE		 (2u << 20)
#define S		 1000000000ULL

#define CFG_NUM_PAGES (VIRTIO_MMIO_CONFIG + 0)
#define CFG_ACTUAL    (VIRTIO_MMIO_CONFIG + 4)
#define CFG_HINT_CMD  (VIRTIO_MMIO_CONFIG + 8)
#define CFG_POISON    (VIRTIO_MMIO_CONFIG + 12)

static struct harness h;
static struct driver_vq infq, defq, statq, hintq, repq;
static char err[512];
static uint64_t block; /* a 2 MiB-aligned 2 MiB of guest RAM the balloon may take */

/* Driver buffers: from the harness's allocator, which must stay below block. */
static uint64_t alloc(uint64_t size, uint64_t align)
{
	uint64_t gpa = harness_alloc(&h, size, align);

	cr_assert(!block || gpa + size <= block, "test buffers reached the balloon's block");
	return gpa;
}
static int fake_fd = -1;

/* Undoes huge_backing (below): back to what the harness owns before it checks for leaks. */
static unsigned fini(void)
{
	if (h.mem.backing == GUEST_MEM_HUGETLB) {
		unsigned leaks = harness_destroy(&h);

		guest_huge_map_free(h.mem.huge);
		free(h.mem.huge);
		h.mem.huge = NULL;
		h.mem.mapping = NULL;
		h.mem.backing = GUEST_MEM_ANON;
		close(fake_fd);
		fake_fd = -1;
		return leaks + harness_fini(&h);
	}
	return harness_fini(&h);
}

static void teardown(void)
{
	cr_expect_eq(fini(), 0, "leaks; log:\n%s", h.log);
}

TestSuite(balloon, .fini = teardown);

static int create(const char *opts)
{
	block = 0;
	harness_init(&h);
	return harness_create_rc(&h, "virtio-balloon", opts, err, sizeof(err));
}

static uint64_t offered(void)
{
	uint64_t f;

	harness_write32(&h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = harness_read32(&h, VIRTIO_MMIO_DEVICE_FEATURES);
	harness_write32(&h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)harness_read32(&h, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

/* Negotiates features (VERSION_1 added), sets up the queues they imply, DRIVER_OK. */
static void bring_up(uint64_t features)
{
	uint32_t q = 2;

	cr_assert(driver_negotiate(&h, F_VERSION_1 | features) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &infq, 0, 64);
	driver_vq_setup(&h, &defq, 1, 64);
	if (features & F_STATS_VQ)
		driver_vq_setup(&h, &statq, q++, 8);
	if (features & F_FREE_PAGE_HINT)
		driver_vq_setup(&h, &hintq, q++, 64);
	if (features & F_REPORTING)
		driver_vq_setup(&h, &repq, q++, 32);
	driver_ok(&h);
	/* RAM0's second 2 MiB; buffers are allocated below it (see alloc). */
	block = HARNESS_RAM0_GPA + HUGE;
	cr_assert_lt(h.alloc_next, block);
	memset(harness_ptr(&h, block, HUGE), 0xa5, HUGE);
}

static void start(const char *opts, uint64_t features)
{
	cr_assert_eq(create(opts), 0, "%s", err);
	bring_up(features);
}

static uint64_t metric(const char *name)
{
	uint64_t v[32];
	uint32_t n = plugin_instance_metrics_read(h.dev, v, 32);

	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(plugin_instance_metric(h.dev, i)->name, name))
			return v[i];
	cr_assert_fail("no metric %s", name);
	return 0;
}

static char reply[2048];

static int control(const char *name, const char *args)
{
	return plugin_instance_control(h.dev, name, args, reply, sizeof(reply));
}

/* The value of "name = V;" in the last reply; fails the test when it is not there. */
static long long replied(const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "%s = ", name);
	p = strstr(reply, key);
	cr_assert_not_null(p, "no %s in reply: %s", name, reply);
	return strtoll(p + strlen(key), NULL, 10);
}

static uint32_t pfn_of(uint64_t gpa)
{
	return (uint32_t)(gpa / PAGE);
}

/* One buffer of n frame numbers on vq, kicked; returns the used length (and checks it came). */
static uint32_t send_pfns(struct driver_vq *vq, const uint32_t *pfns, unsigned n)
{
	uint64_t buf = alloc(n * 4 + 4, 4);
	struct driver_buf b = {buf, n * 4, false};
	uint32_t id, len;

	memcpy(harness_ptr(&h, buf, n * 4 + 4), pfns, n * 4);
	driver_vq_add(vq, &b, 1);
	driver_vq_kick(vq);
	cr_assert(driver_vq_get_used(vq, &id, &len), "the buffer did not come back");
	return len;
}

/* Frames block + first*4K .. + (first + n)*4K. */
static void send_range(struct driver_vq *vq, unsigned first, unsigned n)
{
	uint32_t pfns[256];

	for (unsigned done = 0; done < n;) {
		unsigned k = n - done > 256 ? 256 : n - done;

		for (unsigned i = 0; i < k; i++)
			pfns[i] = pfn_of(block) + first + done + i;
		send_pfns(vq, pfns, k);
		done += k;
	}
}

static uint8_t byte_at(uint64_t gpa)
{
	return *(uint8_t *)harness_ptr(&h, gpa, 1);
}

static bool config_irq(void)
{
	uint32_t isr = harness_read32(&h, VIRTIO_MMIO_INTERRUPT_STATUS);

	harness_write32(&h, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	return isr & 2;
}

/* ---- Options, features, config space --------------------------------------------------------- */

Test(balloon, defaults_offer_the_plain_balloon)
{
	uint64_t f;

	start("", 0);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_DEVICE_ID), 5);
	f = offered();
	cr_assert(f & F_MUST_TELL_HOST);
	cr_assert_not(
	    f & (F_STATS_VQ | F_DEFLATE_ON_OOM | F_FREE_PAGE_HINT | F_REPORTING | F_PAGE_POISON),
	    "features %llx", (unsigned long long)f);
	cr_assert_eq(harness_read32(&h, CFG_NUM_PAGES), 0);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "only inflate and deflate");
	cr_assert_eq(control("config", NULL), 0, "%s", reply);
	cr_assert_eq(replied("amount_mib"), 0);
	cr_assert_eq(replied("deflate_on_oom"), 0);
	cr_assert_eq(replied("stats_polling_interval_s"), 0);
	cr_assert_eq(replied("free_page_hinting"), 0);
	cr_assert_eq(replied("free_page_reporting"), 0);
}

Test(balloon, options_set_features_queues_and_target)
{
	uint64_t f;

	cr_assert_eq(create("amount_mib = 64; deflate_on_oom = true; stats_polling_interval_s = 2; "
			    "free_page_reporting = true; free_page_hinting = true;"),
		     0, "%s", err);
	f = offered();
	cr_assert_eq(f & 0x3f, 0x3f, "every feature: %llx", (unsigned long long)f);
	cr_assert_eq(harness_read32(&h, CFG_NUM_PAGES), 64 * 256);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 4);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 5);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	cr_assert_eq(control("config", NULL), 0, "%s", reply);
	cr_assert_eq(replied("amount_mib"), 64);
	cr_assert_eq(replied("deflate_on_oom"), 1);
	cr_assert_eq(replied("stats_polling_interval_s"), 2);
	cr_assert_eq(replied("free_page_hinting"), 1);
	cr_assert_eq(replied("free_page_reporting"), 1);
}

Test(balloon, bad_options_are_refused_with_the_key)
{
	cr_assert_eq(create("amount_mib = -1;"), -EINVAL);
	cr_assert(strstr(err, "devices[0].amount_mib"), "%s", err);
	cr_assert_eq(fini(), 0);
	cr_assert_eq(create("amount_mib = 2000000;"), -EINVAL);
	cr_assert(strstr(err, "devices[0].amount_mib"), "%s", err);
	cr_assert_eq(fini(), 0);
	cr_assert_eq(create("stats_polling_interval_s = 3601;"), -EINVAL);
	cr_assert(strstr(err, "devices[0].stats_polling_interval_s"), "%s", err);
	cr_assert_eq(fini(), 0);
	cr_assert_eq(create("free_page_reporting = 1;"), -EINVAL);
	cr_assert(strstr(err, "devices[0].free_page_reporting"), "%s", err);
	cr_assert_eq(fini(), 0);
	cr_assert_eq(create("target = 5;"), -EINVAL);
	cr_assert(strstr(err, "devices[0].target"), "%s", err);
}

Test(balloon, config_space_actual_and_set_target)
{
	start("amount_mib = 8;", 0);
	cr_assert_eq(harness_read32(&h, CFG_NUM_PAGES), 2048);
	config_irq();
	/* The guest writes actual (and may not write the target). */
	harness_write32(&h, CFG_ACTUAL, 1000);
	harness_write32(&h, CFG_NUM_PAGES, 5);
	cr_assert_eq(harness_read32(&h, CFG_ACTUAL), 1000);
	cr_assert_eq(harness_read32(&h, CFG_NUM_PAGES), 2048);
	cr_assert_eq(metric("actual_pages"), 1000);
	/* A new target: config space and an interrupt that says so. */
	cr_assert_eq(control("set_target", "amount_mib = 100;"), 0, "%s", reply);
	cr_assert_eq(replied("amount_mib"), 100);
	cr_assert_eq(harness_read32(&h, CFG_NUM_PAGES), 25600);
	cr_assert(config_irq());
	cr_assert_eq(metric("target_pages"), 25600);
	/* Arguments are checked before the device sees them. */
	cr_assert_eq(control("set_target", "amount_mib = -5;"), -EINVAL);
	cr_assert_eq(control("set_target", NULL), -EINVAL, "amount_mib is required");
	cr_assert_eq(control("set_target", "mib = 5;"), -EINVAL);
	cr_assert_eq(harness_read32(&h, CFG_NUM_PAGES), 25600);
	cr_assert_eq(control("resize", NULL), -ENOENT);
}

/* ---- Inflate and deflate --------------------------------------------------------------------- */

Test(balloon, inflate_discards_exactly_the_frames_given)
{
	uint32_t pfns[5];

	start("", 0);
	pfns[0] = pfn_of(block) + 3;
	pfns[1] = pfn_of(block) + 1;
	pfns[2] = pfn_of(block) + 2;
	pfns[3] = pfn_of(block) + 9;
	pfns[4] = pfn_of(block) + 1; /* twice */
	cr_assert_eq(send_pfns(&infq, pfns, 5), 0);
	cr_assert_eq(metric("balloon_pages"), 4);
	cr_assert_eq(metric("inflated_pages"), 4);
	cr_assert_eq(metric("freed_bytes"), 4 * PAGE);
	for (unsigned i = 0; i < 12; i++) {
		bool in = i == 1 || i == 2 || i == 3 || i == 9;

		cr_assert_eq(byte_at(block + i * PAGE), in ? 0 : 0xa5, "frame %u", i);
		cr_assert_eq(byte_at(block + i * PAGE + PAGE - 1), in ? 0 : 0xa5, "frame %u", i);
	}
	/* Again: already in, nothing changes. */
	send_pfns(&infq, pfns, 1);
	cr_assert_eq(metric("balloon_pages"), 4);
	cr_assert_eq(metric("freed_bytes"), 4 * PAGE);
}

Test(balloon, frames_outside_ram_are_ignored)
{
	uint32_t pfns[] = {
	    0,				      /* below the harness's RAM */
	    (uint32_t)(0xc0000000ULL / PAGE), /* the MMIO hole */
	    (uint32_t)(HARNESS_DEVMEM_GPA / PAGE),
	    (uint32_t)((HARNESS_RAM1_GPA + HARNESS_RAM1_SIZE) / PAGE), /* just past RAM */
	    0xffffffffu,
	    0, /* below: a frame of the block */
	};

	start("", 0);
	pfns[5] = pfn_of(block) + 5;
	harness_log_clear(&h);
	cr_assert_eq(send_pfns(&infq, pfns, EMBER_ARRAY_SIZE(pfns)), 0);
	cr_assert_eq(metric("balloon_pages"), 1);
	cr_assert_eq(metric("discards_refused"), 5);
	cr_assert_eq(byte_at(block + 5 * PAGE), 0);
	cr_assert_eq(byte_at(block + 4 * PAGE), 0xa5);
	cr_assert(harness_log_contains(&h, "not guest RAM"), "%s", h.log);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

Test(balloon, deflate_forgets_and_never_discards)
{
	uint32_t never;

	start("", 0);
	never = pfn_of(block) + 100;
	send_range(&infq, 0, 16);
	cr_assert_eq(metric("balloon_pages"), 16);
	/* The guest reuses deflated frames: their new data must survive everything after. */
	send_range(&defq, 0, 8);
	cr_assert_eq(metric("balloon_pages"), 8);
	cr_assert_eq(metric("deflated_pages"), 8);
	memset(harness_ptr(&h, block, 8 * PAGE), 0x3c, 8 * PAGE);
	/* A frame that never was in: refused, its data stays. */
	cr_assert_eq(send_pfns(&defq, &never, 1), 0);
	cr_assert_eq(metric("discards_refused"), 1);
	cr_assert_eq(byte_at(block + 100 * PAGE), 0xa5);
	/* Inflating the rest again does not touch the reused ones. */
	send_range(&infq, 8, 8);
	cr_assert_eq(byte_at(block), 0x3c);
	cr_assert_eq(byte_at(block + 7 * PAGE), 0x3c);
	cr_assert_eq(metric("balloon_pages"), 8);
}

Test(balloon, malformed_buffers_are_ignored_with_one_line)
{
	uint8_t junk[4100];
	uint64_t buf;
	struct driver_buf b;
	uint32_t id, len;
	const char *p;
	unsigned lines = 0;

	start("", 0);
	harness_log_clear(&h);
	memset(junk, 0, sizeof(junk));
	for (unsigned round = 0; round < 3; round++) {
		/* 6 bytes: not a multiple of 4 */
		buf = alloc(8, 4);
		b = (struct driver_buf){buf, 6, false};
		driver_vq_add(&infq, &b, 1);
		/* more frames than a buffer may hold */
		buf = alloc(sizeof(junk) + 4, 4);
		b = (struct driver_buf){buf, sizeof(junk), false};
		driver_vq_add(&infq, &b, 1);
		/* a writable buffer only */
		buf = alloc(64, 4);
		b = (struct driver_buf){buf, 64, true};
		driver_vq_add(&defq, &b, 1);
		driver_vq_kick(&infq);
		driver_vq_kick(&defq);
	}
	for (unsigned i = 0; i < 6; i++)
		cr_assert(driver_vq_get_used(&infq, &id, &len));
	cr_assert_eq(metric("malformed_buffers"), 6);
	cr_assert_eq(metric("balloon_pages"), 0);
	for (p = h.log; (p = strstr(p, "ignored")); p++)
		lines++;
	cr_assert_eq(lines, 1, "one line for a burst of bad input:\n%s", h.log);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	/* Ten seconds later a new line may come. */
	harness_advance(&h, 11 * S);
	buf = alloc(8, 4);
	b = (struct driver_buf){buf, 7, false};
	driver_vq_add(&infq, &b, 1);
	driver_vq_kick(&infq);
	lines = 0;
	for (p = h.log; (p = strstr(p, "ignored")); p++)
		lines++;
	cr_assert_eq(lines, 2, "%s", h.log);
}

Test(balloon, reset_empties_the_balloon)
{
	start("amount_mib = 4;", 0);
	send_range(&infq, 0, 32);
	cr_assert_eq(metric("balloon_pages"), 32);
	harness_write32(&h, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(metric("balloon_pages"), 0);
	cr_assert_eq(metric("actual_pages"), 0);
	cr_assert_eq(harness_read32(&h, CFG_NUM_PAGES), 1024, "the target stays");
	/* A new driver deflating the old balloon's frames changes nothing. */
	bring_up(0);
	send_range(&defq, 0, 4);
	cr_assert_eq(metric("deflated_pages"), 0);
}

Test(balloon, many_buffers_in_one_kick)
{
	uint32_t id, len, used = 0;

	start("", 0);
	for (unsigned i = 0; i < 60; i++) {
		uint32_t pfn = pfn_of(block) + i;
		uint64_t buf = alloc(4, 4);
		struct driver_buf b = {buf, 4, false};

		memcpy(harness_ptr(&h, buf, 4), &pfn, 4);
		driver_vq_add(&infq, &b, 1);
	}
	driver_vq_kick(&infq);
	harness_advance(&h, 0);
	while (driver_vq_get_used(&infq, &id, &len))
		used++;
	cr_assert_eq(used, 60);
	cr_assert_eq(metric("balloon_pages"), 60);
}

/* ---- Statistics ------------------------------------------------------------------------------ */

struct stat_entry {
	uint16_t tag;
	uint64_t value;
} __attribute__((packed));

static uint16_t post_stats(const struct stat_entry *e, unsigned n)
{
	uint64_t buf = alloc(n * 10 + 16, 8);
	struct driver_buf b = {buf, n * 10, false};
	uint16_t head;

	memcpy(harness_ptr(&h, buf, n * 10 + 1), e, n * 10);
	head = driver_vq_add(&statq, &b, 1);
	driver_vq_kick(&statq);
	return head;
}

Test(balloon, statistics_arrive_and_are_polled)
{
	const struct stat_entry first[] = {
	    {4, 100 << 20}, {5, 512 << 20}, {6, 300 << 20}, {0, 7}, {10, 2}, {99, 5} /* unknown */,
	};
	const struct stat_entry second[] = {{4, 90 << 20}};
	uint32_t id, len;

	start("stats_polling_interval_s = 2; amount_mib = 16;", F_STATS_VQ);
	post_stats(first, EMBER_ARRAY_SIZE(first));
	cr_assert_not(driver_vq_get_used(&statq, &id, &len), "the device keeps the buffer");
	harness_write32(&h, CFG_ACTUAL, 1024);
	cr_assert_eq(control("statistics", NULL), 0, "%s", reply);
	cr_assert_eq(replied("target_pages"), 4096);
	cr_assert_eq(replied("target_mib"), 16);
	cr_assert_eq(replied("actual_pages"), 1024);
	cr_assert_eq(replied("actual_mib"), 4);
	cr_assert_eq(replied("free_memory"), 100 << 20);
	cr_assert_eq(replied("total_memory"), 512 << 20);
	cr_assert_eq(replied("available_memory"), 300 << 20);
	cr_assert_eq(replied("swap_in"), 7);
	cr_assert_eq(replied("oom_kill"), 2);
	cr_assert_null(strstr(reply, "swap_out"), "only what the guest reported: %s", reply);
	cr_assert_null(strstr(reply, "disk_caches"), "%s", reply);
	/* The poll: the buffer comes back after the interval, not before. */
	harness_advance(&h, 1 * S);
	cr_assert_not(driver_vq_get_used(&statq, &id, &len));
	harness_advance(&h, 1 * S + 1);
	cr_assert(driver_vq_get_used(&statq, &id, &len), "no statistics request after 2 s");
	cr_assert_eq(len, 0);
	post_stats(second, 1);
	cr_assert_eq(control("statistics", NULL), 0, "%s", reply);
	cr_assert_eq(replied("free_memory"), 90 << 20);
	cr_assert_eq(metric("stats_updates"), 2);
	/* A faster interval takes effect at once. */
	cr_assert_eq(control("set_stats_interval", "stats_polling_interval_s = 1;"), 0, "%s",
		     reply);
	harness_advance(&h, 1 * S + 1);
	cr_assert(driver_vq_get_used(&statq, &id, &len));
	/* Statistics cannot be switched off at run time. */
	cr_assert_eq(control("set_stats_interval", "stats_polling_interval_s = 0;"), -EINVAL);
	cr_assert(strstr(reply, "cannot be switched off"), "%s", reply);
}

Test(balloon, statistics_off_is_refused_clearly)
{
	start("", 0);
	cr_assert_eq(control("statistics", NULL), -ENOTSUP);
	cr_assert(strstr(reply, "statistics are off"), "%s", reply);
	cr_assert_eq(control("set_stats_interval", "stats_polling_interval_s = 5;"), -EINVAL);
	cr_assert(strstr(reply, "cannot be switched on"), "%s", reply);
	cr_assert_eq(control("set_stats_interval", "stats_polling_interval_s = 0;"), 0, "%s",
		     reply);
}

Test(balloon, absurd_statistics_buffers_are_ignored)
{
	static struct stat_entry many[100];
	const struct stat_entry ok[] = {{4, 1}};
	uint64_t buf;
	struct driver_buf b;

	start("stats_polling_interval_s = 1;", F_STATS_VQ);
	post_stats(many, EMBER_ARRAY_SIZE(many));
	buf = alloc(16, 8);
	b = (struct driver_buf){buf, 15, false};
	driver_vq_add(&statq, &b, 1);
	driver_vq_kick(&statq);
	cr_assert_eq(metric("malformed_buffers"), 2);
	cr_assert_eq(control("statistics", NULL), 0, "%s", reply);
	cr_assert_null(strstr(reply, "free_memory"), "%s", reply);
	post_stats(ok, 1);
	cr_assert_eq(control("statistics", NULL), 0, "%s", reply);
	cr_assert_eq(replied("free_memory"), 1);
	/* A reset gives the held buffer back (the harness counts a kept chain as a leak), and the
	 * old driver's values are gone. */
	harness_write32(&h, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(control("statistics", NULL), 0, "%s", reply);
	cr_assert_null(strstr(reply, "free_memory"), "%s", reply);
}

/* ---- Free page reporting ------------------------------------------------------------------- */

static void report(uint64_t gpa, uint32_t len)
{
	struct driver_buf b = {gpa, len, true};
	uint32_t id, used;

	driver_vq_add(&repq, &b, 1);
	driver_vq_kick(&repq);
	cr_assert(driver_vq_get_used(&repq, &id, &used));
	cr_assert_eq(used, 0);
}

Test(balloon, reporting_discards_reported_blocks)
{
	start("free_page_reporting = true;", F_REPORTING);
	cr_assert(offered() & F_PAGE_POISON);
	report(block, HUGE);
	cr_assert_eq(metric("reported_bytes"), HUGE);
	cr_assert_eq(metric("freed_bytes"), HUGE);
	cr_assert_eq(metric("balloon_pages"), 0, "reports are not the balloon");
	cr_assert_eq(byte_at(block), 0);
	cr_assert_eq(byte_at(block + HUGE - 1), 0);
	/* A block that is not page aligned keeps its partial pages. */
	memset(harness_ptr(&h, block, 3 * PAGE), 0x77, 3 * PAGE);
	report(block + 100, 2 * PAGE);
	cr_assert_eq(byte_at(block + 100), 0x77);
	cr_assert_eq(byte_at(block + PAGE), 0);
	cr_assert_eq(byte_at(block + 2 * PAGE), 0x77);
}

Test(balloon, reporting_respects_a_non_zero_poison)
{
	start("free_page_reporting = true;", F_REPORTING | F_PAGE_POISON);
	harness_write32(&h, CFG_POISON, 0xaaaaaaaa);
	report(block, HUGE);
	cr_assert_eq(byte_at(block), 0xa5, "a poisoned free page must keep its poison");
	cr_assert_eq(metric("freed_bytes"), 0);
	/* init_on_free: poison 0, zeros are what the guest expects. */
	harness_write32(&h, CFG_POISON, 0);
	report(block, HUGE);
	cr_assert_eq(byte_at(block), 0);
}

Test(balloon, reporting_queue_follows_the_negotiated_features)
{
	/* Statistics and hinting off: reporting is queue 2. */
	start("free_page_reporting = true; stats_polling_interval_s = 0;", F_REPORTING);
	cr_assert_eq(repq.index, 2);
	report(block, HUGE);
	cr_assert_eq(metric("reported_bytes"), HUGE);
}

/* ---- Free page hinting --------------------------------------------------------------------- */

static void hint_cmd(uint32_t id)
{
	uint64_t buf = alloc(4, 4);
	struct driver_buf b = {buf, 4, false};
	uint32_t used_id, len;

	memcpy(harness_ptr(&h, buf, 4), &id, 4);
	driver_vq_add(&hintq, &b, 1);
	driver_vq_kick(&hintq);
	cr_assert(driver_vq_get_used(&hintq, &used_id, &len));
}

static void hint_block(uint64_t gpa, uint32_t len)
{
	struct driver_buf b = {gpa, len, true};
	uint32_t id, used;

	driver_vq_add(&hintq, &b, 1);
	driver_vq_kick(&hintq);
	cr_assert(driver_vq_get_used(&hintq, &id, &used));
}

Test(balloon, hinting_run_with_the_command_id_protocol)
{
	start("free_page_hinting = true;", F_FREE_PAGE_HINT);
	cr_assert_eq(harness_read32(&h, CFG_HINT_CMD), 1, "DONE until a run starts");
	config_irq();
	cr_assert_eq(control("hinting_start", NULL), 0, "%s", reply);
	cr_assert_eq(replied("host_cmd"), 2);
	cr_assert_eq(harness_read32(&h, CFG_HINT_CMD), 2);
	cr_assert(config_irq());
	/* Hints before the guest's answer are not of this run. */
	hint_block(block, HUGE / 2);
	cr_assert_eq(byte_at(block), 0xa5);
	hint_cmd(2);
	cr_assert_eq(control("hinting_status", NULL), 0, "%s", reply);
	cr_assert_eq(replied("host_cmd"), 2);
	cr_assert_eq(replied("guest_cmd"), 2);
	hint_block(block, HUGE / 2);
	cr_assert_eq(byte_at(block), 0);
	cr_assert_eq(byte_at(block + HUGE / 2), 0xa5);
	cr_assert_eq(metric("hinted_bytes"), HUGE / 2);
	/* STOP with acknowledge_on_stop (the default): DONE, the guest may reuse them. */
	hint_cmd(0);
	cr_assert_eq(harness_read32(&h, CFG_HINT_CMD), 1);
	cr_assert(config_irq());
	cr_assert_eq(control("hinting_status", NULL), 0, "%s", reply);
	cr_assert_eq(replied("host_cmd"), 1);
	cr_assert_eq(replied("guest_cmd"), 0);
	/* A late hint after the run: never discarded. */
	hint_block(block + HUGE / 2, PAGE);
	cr_assert_eq(byte_at(block + HUGE / 2), 0xa5);
}

Test(balloon, hinting_stale_ids_and_stop)
{
	start("free_page_hinting = true;", F_FREE_PAGE_HINT);
	cr_assert_eq(control("hinting_start", "acknowledge_on_stop = false;"), 0, "%s", reply);
	hint_cmd(2);
	/* The host starts a new run; the guest is still sending the old one's hints. */
	cr_assert_eq(control("hinting_start", NULL), 0, "%s", reply);
	cr_assert_eq(replied("host_cmd"), 3);
	hint_block(block, PAGE);
	cr_assert_eq(byte_at(block), 0xa5, "a hint of a stale run was discarded");
	cr_assert_eq(metric("discards_refused"), 1);
	hint_cmd(3);
	hint_block(block, PAGE);
	cr_assert_eq(byte_at(block), 0);
	cr_assert_eq(control("hinting_start", "acknowledge_on_stop = false;"), 0, "%s", reply);
	hint_cmd(4);
	hint_cmd(0);
	cr_assert_eq(harness_read32(&h, CFG_HINT_CMD), 4, "no DONE without acknowledge_on_stop");
	cr_assert_eq(control("hinting_stop", NULL), 0, "%s", reply);
	cr_assert_eq(harness_read32(&h, CFG_HINT_CMD), 1);
}

Test(balloon, hinting_malformed_command_is_ignored)
{
	uint64_t buf;
	struct driver_buf b;
	uint32_t id, len;

	start("free_page_hinting = true;", F_FREE_PAGE_HINT);
	cr_assert_eq(control("hinting_start", NULL), 0, "%s", reply);
	buf = alloc(8, 4);
	memcpy(harness_ptr(&h, buf, 4), &(uint32_t){2}, 4);
	b = (struct driver_buf){buf, 2, false}; /* half an id */
	driver_vq_add(&hintq, &b, 1);
	driver_vq_kick(&hintq);
	cr_assert(driver_vq_get_used(&hintq, &id, &len));
	cr_assert_eq(metric("malformed_buffers"), 1);
	hint_block(block, PAGE);
	cr_assert_eq(byte_at(block), 0xa5, "no run without a whole id");
}

Test(balloon, hinting_off_or_not_negotiated)
{
	start("", 0);
	cr_assert_eq(control("hinting_start", NULL), -ENOTSUP);
	cr_assert(strstr(reply, "free_page_hinting"), "%s", reply);
	cr_assert_eq(control("hinting_status", NULL), -ENOTSUP);
	cr_assert_eq(control("hinting_stop", NULL), -ENOTSUP);
	cr_assert_eq(fini(), 0);
	/* Offered, but the driver did not take it. */
	start("free_page_hinting = true;", 0);
	cr_assert_eq(control("hinting_start", NULL), -EBUSY);
	cr_assert(strstr(reply, "driver"), "%s", reply);
	cr_assert_eq(control("hinting_status", NULL), 0, "%s", reply);
}

/* ---- A backing whose 4 KiB discards free nothing (2 MiB huge pages) ------------------------ */

/*
 * ember's hugetlb bookkeeping over a plain memfd: discards are counted the way huge pages are
 * (a 2 MiB page once all of it is discarded), while the harness's RAM stays anonymous.
 */
static void huge_backing(void)
{
	h.mem.huge = calloc(1, sizeof(*h.mem.huge));
	cr_assert_not_null(h.mem.huge);
	cr_assert_eq(guest_huge_map_init(h.mem.huge, HARNESS_RAM0_SIZE), 0);
	fake_fd = memfd_create("balloon-test", MFD_CLOEXEC);
	cr_assert_geq(fake_fd, 0);
	cr_assert_eq(ftruncate(fake_fd, HARNESS_RAM0_SIZE), 0);
	h.mem.fd = fake_fd;
	h.mem.mapping = h.mem.regions[0].host;
	h.mem.backing = GUEST_MEM_HUGETLB;
}

static unsigned core_marks(void)
{
	return guest_huge_map_count(h.mem.huge, (block - HARNESS_RAM0_GPA) / HUGE);
}

Test(balloon, huge_pages_go_only_whole)
{
	start("", 0);
	huge_backing();
	/* Half a page: the device learns that 4 KiB discards free nothing here. */
	send_range(&infq, 0, 256);
	cr_assert_eq(metric("freed_bytes"), 0);
	cr_assert_eq(core_marks(), 256);
	/* The other half: the whole page goes. */
	send_range(&infq, 256, 256);
	cr_assert_eq(metric("freed_bytes"), HUGE);
	cr_assert_eq(metric("balloon_pages"), 512);
	cr_assert_eq(core_marks(), 0);
	/* Reports free only the whole pages inside them. */
	cr_assert_eq(fini(), 0);
	start("free_page_reporting = true;", F_REPORTING);
	huge_backing();
	report(block + PAGE, 4 * PAGE); /* learns: nothing freed */
	cr_assert_eq(metric("freed_bytes"), 0);
	report(block + PAGE, 8 * PAGE); /* partial: not even marked any more */
	cr_assert_eq(core_marks(), 4);
	report(block, HUGE);
	cr_assert_eq(metric("freed_bytes"), HUGE);
}

/*
 * The guest takes frames back while their huge page is partly in the balloon: the device must
 * not let a later discard of the rest free them (ember cannot be told they are in use again).
 */
Test(balloon, huge_pages_keep_what_the_guest_took_back)
{
	start("", 0);
	huge_backing();
	send_range(&infq, 0, 256);
	send_range(&defq, 0, 10);
	send_range(&infq, 256, 256);
	cr_assert_eq(metric("balloon_pages"), 502);
	cr_assert_eq(metric("freed_bytes"), 0, "a page freed with frames the guest uses");
	cr_assert_eq(core_marks(), 256, "only the first (learning) discard marked pieces");
	/* Once they are back in the balloon, the page goes whole. */
	send_range(&infq, 0, 10);
	cr_assert_eq(metric("freed_bytes"), HUGE);
	cr_assert_eq(core_marks(), 0);
}

/* A full buffer of frames in a scrambled order with repeats: each one in exactly once. */
Test(balloon, inflate_sorts_and_merges_a_scrambled_buffer)
{
	uint32_t pfns[1024];

	start("", 0);
	for (unsigned i = 0; i < 1024; i++)
		pfns[i] = pfn_of(block) + (i * 37u) % 300u; /* 300 distinct frames, most twice */
	cr_assert_eq(send_pfns(&infq, pfns, 1024), 0);
	cr_assert_eq(metric("balloon_pages"), 300);
	cr_assert_eq(metric("freed_bytes"), 300 * PAGE);
	for (unsigned i = 0; i < 310; i++)
		cr_assert_eq(byte_at(block + i * PAGE), i < 300 ? 0 : 0xa5, "frame %u", i);
}
