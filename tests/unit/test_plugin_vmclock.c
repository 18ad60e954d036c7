/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vmclock plugin through the harness: the device's shape (ACPI ids, one read-only page, no
 * window), the page before the first clock pair, the page math against an exact reference (the
 * time Linux's ptp_vmclock extrapolates from the page fields, compared with the fake host clock
 * to within 1 ns, for many pairs, across the fraction's carry into seconds, the TSC's wrap and a
 * host clock step), the seq-count protocol (even after each refresh, changing; a concurrent
 * reader never sees a torn page), options and leaks.
 *
 * The harness's clock_pair gives exactly h.clock while h.clock_at_ns lies ahead of the fake
 * clock, so each refresh here publishes a pair the test chose.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/timex.h>

#include "harness.h"

#define MS	   1000000ull
#define NS_PER_S   1000000000ull
#define REFRESH	   (1000 * MS) /* the default refresh_ms */
#define PAGE_MAGIC 0x4b4c4356u

/* Offsets from include/uapi/linux/vmclock-abi.h, independent of the plugin's struct. */
enum {
	O_MAGIC = 0,
	O_SIZE = 4,
	O_VERSION = 8,
	O_COUNTER_ID = 10,
	O_TIME_TYPE = 11,
	O_SEQ = 12,
	O_DISRUPTION = 16,
	O_FLAGS = 24,
	O_STATUS = 34,
	O_TAI_OFFSET = 36,
	O_LEAP = 38,
	O_SHIFT = 39,
	O_COUNTER_VALUE = 40,
	O_PERIOD = 48,
	O_PERIOD_MAXERR = 64,
	O_TIME_SEC = 72,
	O_TIME_FRAC = 80,
	O_GEN = 104,
};

static struct harness h;
static char err[512];

static uint64_t rd(unsigned off, unsigned len)
{
	uint64_t v = 0;

	memcpy(&v, (const uint8_t *)h.devmem + off, len);
	return v;
}

static void start(const char *options)
{
	harness_init(&h);
	cr_assert_eq(harness_create(&h, "vmclock", options, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	cr_expect_eq(harness_fini(&h), 0, "leaks");
}

TestSuite(vmclock, .fini = teardown);

static uint64_t metric(unsigned i)
{
	uint64_t v[4] = {0};

	cr_assert_eq(plugin_instance_metrics_read(h.dev, v, 4), 4);
	return v[i];
}

/* The next refresh publishes exactly this pair (the harness's clock does not move past it). */
static void set_pair(uint64_t tsc, int64_t sec, uint32_t nsec, uint64_t hz, int32_t tai)
{
	h.clock.guest_tsc = tsc;
	h.clock.sec = sec;
	h.clock.nsec = nsec;
	h.clock.tsc_hz = hz;
	h.clock.tai_offset = tai;
	h.clock_at_ns = UINT64_MAX;
}

/* ptp_vmclock's vmclock_get_crosststamp on the page, at counter value tsc: ns since the epoch. */
static __int128 guest_ns(uint64_t tsc)
{
	unsigned __int128 r = (unsigned __int128)(tsc - rd(O_COUNTER_VALUE, 8)) * rd(O_PERIOD, 8);
	uint64_t sec, nsec;

	r >>= rd(O_SHIFT, 1);
	r += rd(O_TIME_FRAC, 8);
	sec = (uint64_t)(r >> 64) + rd(O_TIME_SEC, 8);
	nsec = (uint64_t)(((unsigned __int128)(uint64_t)r * NS_PER_S) >> 64);
	return (__int128)sec * NS_PER_S + nsec;
}

static double worst_ns; /* the largest |guest - host| seen by check_at, in ns */
static unsigned checks; /* check_at calls */

/*
 * The guest's time at pair tsc + k against the host's exact time sec + nsec/1e9 + k/hz: compared
 * scaled by hz, so the reference is exact: |guest_ns * hz - exact * hz| < hz means < 1 ns.
 */
static void check_at(uint64_t tsc, int64_t sec, uint32_t nsec, uint64_t hz, uint64_t k)
{
	__int128 g = guest_ns(tsc + k);
	__int128 exact = ((__int128)sec * NS_PER_S + nsec) * hz + (__int128)k * NS_PER_S;
	__int128 diff = g * hz - exact;
	double d = (double)diff / (double)hz;

	if (d < 0)
		d = -d;
	if (d > worst_ns)
		worst_ns = d;
	cr_assert(diff > -(__int128)hz && diff < (__int128)hz,
		  "tsc %llu + %llu at %llu Hz: off by %.3f ns (pair %lld.%09u)",
		  (unsigned long long)tsc, (unsigned long long)k, (unsigned long long)hz, d,
		  (long long)sec, nsec);
	/* Stricter: the page never lags the host, so the guest's truncation gives the host's ns. */
	cr_assert(g == exact / hz, "tsc %llu + %llu at %llu Hz: %lld ns, the host's is %lld",
		  (unsigned long long)tsc, (unsigned long long)k, (unsigned long long)hz,
		  (long long)(g % NS_PER_S), (long long)(exact / hz % NS_PER_S));
	checks++;
}

Test(vmclock, device_shape)
{
	uint64_t gpa, size;

	start("");
	cr_assert_eq(plugin_instance_window_size(h.dev), 0, "no register window");
	cr_assert_str_eq(plugin_instance_acpi_hid(h.dev), "AMZNC10C");
	cr_assert_str_eq(plugin_instance_acpi_cid(h.dev), "VMCLOCK");
	cr_assert_eq(plugin_instance_acpi_resources(h.dev), EMBER_ACPI_RES_DEVMEM);
	cr_assert(plugin_instance_devmem(h.dev, &gpa, &size));
	cr_assert_eq(size, 4096);
	cr_assert(h.devmem_readonly);
	cr_assert_eq(rd(O_MAGIC, 4), PAGE_MAGIC);
	cr_assert_eq(rd(O_SIZE, 4), 4096);
	cr_assert_eq(rd(O_VERSION, 2), 1);
	cr_assert_eq(rd(O_COUNTER_ID, 1), 1, "X86_TSC");
	cr_assert_eq(rd(O_TIME_TYPE, 1), 1, "TAI by default");
	cr_assert_eq(harness_callbacks(&h), 1, "one refresh timer");
}

Test(vmclock, unknown_until_the_first_pair)
{
	harness_init(&h);
	h.clock.tsc_hz = 0; /* clock_pair: -ENOTSUP, as before KVM's master clock is on */
	cr_assert_eq(harness_create(&h, "vmclock", "time_type = \"utc\";", err, sizeof(err)), 0,
		     "%s", err);
	harness_advance(&h, 3 * REFRESH);
	cr_assert_eq(rd(O_STATUS, 1), 0, "UNKNOWN");
	cr_assert_eq(rd(O_PERIOD, 8), 0);
	cr_assert_eq(rd(O_TIME_SEC, 8), 0);
	cr_assert_eq(rd(O_SEQ, 4) % 2, 0);
	cr_assert_eq(metric(0), 0, "no refresh published");
	/* Retries back off from 2 ms to the refresh period: 2+4+...+512 ms, then 1 s steps. */
	cr_assert_geq(metric(1), 10);
	cr_assert_leq(metric(1), 14);
	cr_assert_eq(harness_callbacks(&h), 1, "still retrying");

	set_pair(1ull << 40, 1700000000, 5, 2000000000ull, 37);
	harness_advance(&h, REFRESH);
	cr_assert_eq(metric(0), 1);
	cr_assert_eq(rd(O_COUNTER_VALUE, 8), 1ull << 40);
	cr_assert_eq(rd(O_TIME_SEC, 8), 1700000000);
	cr_assert_neq(rd(O_PERIOD, 8), 0);
	cr_assert_neq(rd(O_STATUS, 1), 4, "not UNRELIABLE in UTC");
}

/* What adjtimex says now, as the plugin maps it. */
static void expect_status_matches_host(void)
{
	struct timex tx = {0};
	int state = adjtimex(&tx);
	uint8_t st = (uint8_t)rd(O_STATUS, 1);
	uint64_t flags = rd(O_FLAGS, 8);

	cr_assert(flags & (1u << 4), "PERIOD_MAXERROR_VALID");
	cr_assert_eq(flags & 1u, 0, "TAI_OFFSET_VALID stays clear");
	if (state >= 0 && !(tx.status & STA_UNSYNC)) {
		cr_assert_eq(st, 2, "SYNCHRONIZED");
		cr_assert(flags & (1u << 6), "TIME_MAXERROR_VALID");
	} else {
		cr_assert(st == 0 || st == 3, "UNKNOWN or FREERUNNING, got %u", st);
		cr_assert_eq(flags & (1u << 6), 0);
	}
}

Test(vmclock, page_math_matches_the_host_clock)
{
	static const uint64_t rates[] = {1000000000ull, 2000000000ull, 2496000000ull, 2999999999ull,
					 3700123000ull, 1ull << 31,    19200000ull,   1000003ull};
	uint64_t x = 0x9e3779b97f4a7c15ull, seq;
	unsigned pairs = 0;

	start("time_type = \"utc\";");
	worst_ns = 0;
	seq = rd(O_SEQ, 4);
	for (unsigned r = 0; r < EMBER_ARRAY_SIZE(rates); r++) {
		for (unsigned i = 0; i < 40; i++) {
			uint64_t hz = rates[r], tsc;
			uint32_t nsec;
			int64_t sec;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			tsc = i == 0 ? UINT64_MAX - hz / 2 : x; /* i 0: the TSC wraps within 1 s */
			nsec = i == 1 ? 999999999u : i == 2 ? 0 : (uint32_t)(x % NS_PER_S);
			sec = 1600000000 + (int64_t)(x >> 40);
			set_pair(tsc, sec, nsec, hz, 37);
			harness_advance(&h, REFRESH);
			pairs++;
			cr_assert_eq(rd(O_SEQ, 4) % 2, 0, "even after a refresh");
			cr_assert_eq(rd(O_SEQ, 4), seq + 2, "one update per refresh");
			seq = rd(O_SEQ, 4);
			cr_assert_eq(rd(O_COUNTER_VALUE, 8), tsc);
			cr_assert_eq(rd(O_TIME_SEC, 8), (uint64_t)sec);
			cr_assert_eq(rd(O_PERIOD_MAXERR, 8), rd(O_PERIOD, 8) / 2000, "500 ppm");
			/* 2^shift < hz <= 2^(shift+1): the period keeps 64 significant bits. */
			cr_assert_lt(1ull << rd(O_SHIFT, 1), hz);
			cr_assert_geq(rd(O_PERIOD, 8), 1ull << 63);
			/* 0, single ticks (the fraction carries into seconds for nsec 999999999),
			 * one second, and far: up to 10 s of ticks. */
			const uint64_t ks[] = {0,
					       1,
					       2,
					       hz / NS_PER_S + 1,
					       hz - 1,
					       hz,
					       hz + 1,
					       3 * hz + 7,
					       x % (10 * hz),
					       10 * hz,
					       (x >> 7) % hz};
			for (unsigned k = 0; k < EMBER_ARRAY_SIZE(ks); k++)
				check_at(tsc, sec, nsec, hz, ks[k]);
		}
	}
	expect_status_matches_host();
	cr_assert_eq(metric(0), pairs);
	cr_log_info(
	    "vmclock page math: %u pairs, %u readings, worst error %.3f ns (each the host's "
	    "nanosecond, truncated)",
	    pairs, checks, worst_ns);
	cr_assert_lt(worst_ns, 1.0);
}

Test(vmclock, host_clock_step_is_published)
{
	const uint64_t hz = 2500000000ull;
	uint64_t marker;

	start("time_type = \"utc\"; refresh_ms = 100;");
	set_pair(5000000000ull, 1700000000, 250000000, hz, 37);
	harness_advance(&h, 100 * MS);
	marker = rd(O_DISRUPTION, 8);
	/* 100 ms later, consistent: no step, the guest's prediction was exact. */
	set_pair(5000000000ull + hz / 10, 1700000000, 350000000, hz, 37);
	harness_advance(&h, 100 * MS);
	cr_assert_eq(metric(2), 0, "no step");
	cr_assert_leq(metric(3), 1, "prediction error %llu ns", (unsigned long long)metric(3));
	/* The host's clock is set back an hour; the TSC runs on. */
	set_pair(5000000000ull + 2 * hz / 10, 1700000000 - 3600, 450000000, hz, 37);
	harness_advance(&h, 100 * MS);
	cr_assert_eq(metric(2), 1, "one step seen");
	cr_assert_eq(rd(O_TIME_SEC, 8), 1700000000 - 3600, "the new time is published");
	cr_assert_eq(rd(O_DISRUPTION, 8), marker, "a clock step is no counter disruption");
	check_at(5000000000ull + 2 * hz / 10, 1700000000 - 3600, 450000000, hz, hz / 3);
	cr_assert(harness_log_contains(&h, "clock step"), "%s", h.log);
}

Test(vmclock, tai)
{
	start("");
	set_pair(1000, 1700000000, 0, 1000000000ull, 37);
	harness_advance(&h, REFRESH);
	cr_assert_eq(rd(O_TIME_TYPE, 1), 1);
	cr_assert_eq(rd(O_TIME_SEC, 8), 1700000037, "TAI = UTC + 37");
	cr_assert_eq((int16_t)rd(O_TAI_OFFSET, 2), 37);
	cr_assert_neq(rd(O_STATUS, 1), 4);
	expect_status_matches_host();
	/* A host that was never told TAI - UTC: the page must not pass UTC off as TAI. */
	set_pair(2000, 1700000001, 0, 1000000000ull, 0);
	harness_advance(&h, REFRESH);
	cr_assert_eq(rd(O_STATUS, 1), 4, "UNRELIABLE");
	cr_assert(harness_log_contains(&h, "does not know TAI - UTC"), "%s", h.log);
}

Test(vmclock, generation_counters)
{
	start("generation_counters = true;");
	cr_assert(rd(O_FLAGS, 8) & (1u << 8), "VM_GEN_COUNTER_PRESENT");
	set_pair(1000, 1700000000, 0, 1000000000ull, 37);
	harness_advance(&h, REFRESH);
	cr_assert(rd(O_FLAGS, 8) & (1u << 8), "kept across refreshes");
	cr_assert_eq(harness_destroy(&h), 0);
	cr_assert_eq(harness_create(&h, "vmclock", "", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rd(O_FLAGS, 8) & (1u << 8), 0, "not advertised by default");
	cr_assert_eq(rd(O_GEN, 8), 0);
}

Test(vmclock, options_refused)
{
	harness_init(&h);
	cr_assert_eq(harness_create_rc(&h, "vmclock", "time_type = \"gps\";", err, sizeof(err)),
		     -EIO);
	cr_assert(harness_log_contains(&h, "time_type: expected \"tai\""), "%s", h.log);
	cr_assert_eq(harness_create_rc(&h, "vmclock", "refresh_ms = 5;", err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "refresh_ms") && strstr(err, "10..60000"), "%s", err);
	cr_assert_eq(harness_create_rc(&h, "vmclock", "time_type = 1;", err, sizeof(err)), -EINVAL);
	cr_assert_eq(harness_create_rc(&h, "vmclock", "refresh = 10;", err, sizeof(err)), -EINVAL);
}

/* A reader thread doing what the guest does, while the page is refreshed as fast as possible. */
struct reader {
	const uint8_t *page;
	uint64_t hz;
	atomic_bool stop;
	unsigned consistent, torn;
};

static void *read_page(void *arg)
{
	struct reader *r = arg;
	const uint32_t *seqp = (const uint32_t *)(const void *)(r->page + O_SEQ);

	while (!atomic_load(&r->stop)) {
		uint32_t s1 = __atomic_load_n(seqp, __ATOMIC_ACQUIRE);
		uint64_t tsc = __atomic_load_n((const uint64_t *)(const void *)(r->page + 40),
					       __ATOMIC_RELAXED);
		uint64_t sec = __atomic_load_n((const uint64_t *)(const void *)(r->page + 72),
					       __ATOMIC_RELAXED);

		atomic_thread_fence(memory_order_acquire);
		if ((s1 & 1) || s1 != __atomic_load_n(seqp, __ATOMIC_RELAXED))
			continue;
		if (sec == 0)
			continue; /* before the first pair */
		/* Every pair below has time_sec = 1e9 + counter_value / hz. */
		if (sec == 1000000000ull + tsc / r->hz)
			r->consistent++;
		else
			r->torn++;
	}
	return NULL;
}

Test(vmclock, seqcount_protects_the_page)
{
	struct reader r = {.hz = 1000000000ull};
	pthread_t t;

	start("time_type = \"utc\"; refresh_ms = 10;");
	r.page = h.devmem;
	cr_assert_eq(pthread_create(&t, NULL, read_page, &r), 0);
	for (uint64_t i = 1; i <= 20000; i++) {
		set_pair(i * r.hz, 1000000000 + (int64_t)i, 0, r.hz, 37);
		harness_advance(&h, 10 * MS);
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	cr_assert_eq(metric(0), 20000);
	cr_assert_eq(rd(O_SEQ, 4) % 2, 0);
	cr_assert_eq(r.torn, 0, "%u torn reads of %u", r.torn, r.consistent);
	cr_log_info("vmclock seqcount: %u consistent reads during 20000 refreshes, 0 torn",
		    r.consistent);
}
