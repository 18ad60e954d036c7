/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmclock: the vmclock device (ACPI AMZNC10C, _CID "VMCLOCK"; Linux's ptp_vmclock driver) with
 * live clock data: one read-only page of device memory holding the relation between the guest's
 * TSC and real time, so that the guest reads a PTP hardware clock straight from memory, without
 * an exit per read. QEMU and Firecracker leave counter_id INVALID and use the page only for its
 * disruption and generation counters; here the page says what time it is.
 *
 * Where the data come from: host->clock_pair, one instant read by the host kernel on both the
 * host's clock (CLOCK_TAI or CLOCK_REALTIME) and the guest's TSC, with the guest's TSC rate, and
 * adjtimex(2) for the host's NTP state (synchronized or not, error estimates, leap second). A timer
 * on the event loop refreshes the page every refresh_ms under the page's seq-count protocol.
 *
 * The page layout is include/uapi/linux/vmclock-abi.h (little-endian; x86-64 hosts only, so the
 * host's byte order is the page's). The period is computed from tsc_hz alone, exactly, in the
 * ABI's fixed point (seconds per tick << (64 + shift) with the largest shift that fits), so the
 * guest's extrapolation drifts from the host's clock only by how far the TSC's true rate against
 * that clock differs from tsc_hz (NTP's frequency correction, at most 500 ppm): that is the
 * period error the page states, and each refresh measures what it really was (metric).
 *
 * Nothing global: all state is in the instance.
 */
#include <ember/device.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/timex.h>

#define VMCLOCK_PAGE 4096u

/* The ABI's constants (vmclock-abi.h). */
#define VMCLOCK_MAGIC		  0x4b4c4356u /* "VCLK" */
#define VMCLOCK_COUNTER_X86_TSC	  1u
#define VMCLOCK_COUNTER_INVALID	  0xffu
#define VMCLOCK_TIME_UTC	  0u
#define VMCLOCK_TIME_TAI	  1u
#define VMCLOCK_STATUS_UNKNOWN	  0u
#define VMCLOCK_STATUS_SYNC	  2u
#define VMCLOCK_STATUS_FREE	  3u
#define VMCLOCK_STATUS_UNRELIABLE 4u
#define VMCLOCK_SMEARING_STRICT	  0u
#define VMCLOCK_LEAP_NONE	  0u
#define VMCLOCK_LEAP_PRE_POS	  1u
#define VMCLOCK_LEAP_PRE_NEG	  2u
#define VMCLOCK_LEAP_POS	  3u
#define VMCLOCK_LEAP_POST_POS	  4u
#define VMCLOCK_LEAP_POST_NEG	  5u

#define VMCLOCK_FLAG_TAI_OFFSET_VALID	    (1ull << 0)
#define VMCLOCK_FLAG_PERIOD_MAXERROR_VALID  (1ull << 4)
#define VMCLOCK_FLAG_TIME_ESTERROR_VALID    (1ull << 5)
#define VMCLOCK_FLAG_TIME_MAXERROR_VALID    (1ull << 6)
#define VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT (1ull << 8)

#define NSEC_PER_SEC 1000000000ull
/*
 * The largest rate the host kernel's NTP code may add to its clock (MAXFREQ, 500 ppm): between
 * two refreshes the TSC's rate against the host's clock differs from tsc_hz by at most that.
 */
#define VMCLOCK_MAX_PPM 500u
/* Until the first pair, retry from this delay, doubling up to refresh_ms (see vmclock_tick). */
#define VMCLOCK_RETRY_NS (2ull * 1000 * 1000)

struct vmclock_abi {
	/* Constant for the device's life: written in create, before the guest runs. */
	uint32_t magic;
	uint32_t size;
	uint16_t version;
	uint8_t counter_id;
	uint8_t time_type;
	/* Odd while the host writes what follows. */
	uint32_t seq_count;
	uint64_t disruption_marker;
	uint64_t flags;
	uint8_t pad[2];
	uint8_t clock_status;
	uint8_t leap_second_smearing_hint;
	int16_t tai_offset_sec;
	uint8_t leap_indicator;
	uint8_t counter_period_shift;
	uint64_t counter_value;
	uint64_t counter_period_frac_sec;
	uint64_t counter_period_esterror_rate_frac_sec;
	uint64_t counter_period_maxerror_rate_frac_sec;
	uint64_t time_sec;
	uint64_t time_frac_sec;
	uint64_t time_esterror_nanosec;
	uint64_t time_maxerror_nanosec;
	uint64_t vm_generation_counter;
};

/* The ABI is these offsets (vmclock-abi.h); the guest's driver reads them as numbers. */
_Static_assert(offsetof(struct vmclock_abi, magic) == 0, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, size) == 4, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, version) == 8, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, counter_id) == 10, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, time_type) == 11, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, seq_count) == 12, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, disruption_marker) == 16, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, flags) == 24, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, pad) == 32, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, clock_status) == 34, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, leap_second_smearing_hint) == 35, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, tai_offset_sec) == 36, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, leap_indicator) == 38, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, counter_period_shift) == 39, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, counter_value) == 40, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, counter_period_frac_sec) == 48, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, counter_period_esterror_rate_frac_sec) == 56,
	       "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, counter_period_maxerror_rate_frac_sec) == 64,
	       "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, time_sec) == 72, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, time_frac_sec) == 80, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, time_esterror_nanosec) == 88, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, time_maxerror_nanosec) == 96, "vmclock_abi layout");
_Static_assert(offsetof(struct vmclock_abi, vm_generation_counter) == 104, "vmclock_abi layout");
_Static_assert(sizeof(struct vmclock_abi) == 112, "vmclock_abi layout");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the page is little-endian");

/* The seq-protected part, copied to the page as whole 8-byte words (see publish). */
#define VMCLOCK_BODY_OFF   16u
#define VMCLOCK_BODY_WORDS ((sizeof(struct vmclock_abi) - VMCLOCK_BODY_OFF) / 8)

struct ember_instance {
	const struct ember_host *host;
	uint8_t *page;		/* ember's device memory; valid until destroy returns */
	uint32_t clock;		/* EMBER_CLOCK_TAI or _REALTIME */
	uint64_t refresh_ns;	/* timer period */
	uint64_t retry_ns;	/* until the first pair: the next retry's delay */
	int timer;		/* always armed while the instance lives (>= 0), or -1 */
	bool paired;		/* a good pair has been published */
	bool host_was_synced;	/* adjtimex once said synchronized: later UNSYNC is FREERUNNING */
	bool warned_tai;	/* logged once: the host does not know the TAI offset */
	uint32_t seq;		/* the page's seq_count, as last written */
	uint64_t last_ns;	/* clock_ns at the last published pair */
	struct vmclock_abi cur; /* what the page holds (the guest's view) */
	/* Metrics. */
	uint64_t refreshes;
	uint64_t pair_failures;
	uint64_t clock_steps;
	uint64_t last_error_ns;
};

/*
 * ceil(num * 2^64 / den) for num < den < 2^63: long division on 64-bit words, so the plugin needs
 * no 128-bit division helper from the compiler's runtime. Rounded up, with the period rounded up
 * too, the page's time is never below the host's (by < 2^-64 s plus 2^-64 of the time since the
 * reference point), so the guest's truncation to nanoseconds gives the host's nanosecond instead
 * of the one before it.
 */
static uint64_t vmclock_frac64_up(uint64_t num, uint64_t den)
{
	uint64_t q = 0, r = num;

	for (int i = 0; i < 64; i++) {
		r <<= 1;
		q <<= 1;
		if (r >= den) {
			r -= den;
			q |= 1;
		}
	}
	return q + (r != 0);
}

/*
 * The period of one tick of a tsc_hz counter in the ABI's fixed point: seconds << (64 + shift),
 * with the largest shift that keeps it below 2^64 (2^shift < tsc_hz), so it carries 64
 * significant bits (rounded up: see vmclock_frac64_up; 2^(64+shift) / tsc_hz is never within 1 of
 * 2^64, so the rounding cannot overflow). Returns false for a rate the fixed point cannot hold.
 */
static bool vmclock_period(uint64_t tsc_hz, uint64_t *period, uint8_t *shift)
{
	unsigned s;

	if (tsc_hz < 2 || tsc_hz >= (1ull << 62))
		return false;
	s = 63u - (unsigned)__builtin_clzll(tsc_hz - 1); /* 2^s <= tsc_hz - 1 */
	*shift = (uint8_t)s;
	*period = vmclock_frac64_up(1ull << s, tsc_hz);
	return true;
}

/*
 * The time the page gives for counter value tsc, in ns since its epoch, computed as Linux's
 * ptp_vmclock does (128-bit product, shift, add the fraction, carry into seconds).
 */
static __int128 vmclock_page_ns(const struct vmclock_abi *p, uint64_t tsc)
{
	unsigned __int128 t =
	    (unsigned __int128)(tsc - p->counter_value) * p->counter_period_frac_sec;
	uint64_t frac, sec;

	t >>= p->counter_period_shift;
	t += p->time_frac_sec;
	sec = (uint64_t)(t >> 64);
	frac = (uint64_t)t;
	return (__int128)(p->time_sec + sec) * NSEC_PER_SEC +
	       (__int128)(((unsigned __int128)frac * NSEC_PER_SEC) >> 64);
}

static uint8_t vmclock_leap(const struct timex *tx, int state)
{
	if (state == TIME_OOP)
		return VMCLOCK_LEAP_POS;
	if (tx->status & STA_INS)
		return state == TIME_WAIT ? VMCLOCK_LEAP_POST_POS : VMCLOCK_LEAP_PRE_POS;
	if (tx->status & STA_DEL)
		return state == TIME_WAIT ? VMCLOCK_LEAP_POST_NEG : VMCLOCK_LEAP_PRE_NEG;
	return VMCLOCK_LEAP_NONE;
}

/*
 * The seq-count protocol (vmclock-abi.h): make seq_count odd, write the fields, make it even. The
 * guest reads seq_count, the fields, then seq_count again, with read barriers, and retries when
 * it changed or was odd. The release fence orders the odd seq_count before the field stores; the
 * release store of the even value orders the field stores before it. The fields go out as
 * aligned 8-byte atomic stores (the page is shared memory, read concurrently by the guest).
 */
static void vmclock_publish(struct ember_instance *vc, const struct vmclock_abi *next)
{
	_Atomic uint32_t *seq = (_Atomic uint32_t *)(void *)(vc->page + 12);
	_Atomic uint64_t *body = (_Atomic uint64_t *)(void *)(vc->page + VMCLOCK_BODY_OFF);
	uint64_t words[VMCLOCK_BODY_WORDS];

	memcpy(words, (const uint8_t *)next + VMCLOCK_BODY_OFF, sizeof(words));
	vc->seq++;
	atomic_store_explicit(seq, vc->seq, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < VMCLOCK_BODY_WORDS; i++)
		atomic_store_explicit(&body[i], words[i], memory_order_relaxed);
	vc->seq++;
	atomic_store_explicit(seq, vc->seq, memory_order_release);
	vc->cur = *next;
	vc->cur.seq_count = vc->seq;
}

/* One refresh from a fresh pair. Returns false when no pair came (nothing published). */
static bool vmclock_refresh(struct ember_instance *vc)
{
	const struct ember_host *host = vc->host;
	struct ember_clock_pair pair = {.struct_size = sizeof(pair)};
	struct vmclock_abi next = vc->cur;
	struct timex tx = {0};
	uint64_t now = host->clock_ns(host), period;
	uint8_t shift;
	int state, rc;

	rc = host->clock_pair(host, vc->clock, &pair);
	if (rc == 0 && !vmclock_period(pair.tsc_hz, &period, &shift))
		rc = -ERANGE;
	if (rc) {
		/* Before the first pair the page stays UNKNOWN; after it the last data stay. */
		vc->pair_failures++;
		return false;
	}
	state = adjtimex(&tx); /* modes 0: only reads */

	if (vc->paired) {
		/*
		 * What the guest extrapolated from the page it had, at the new pair's TSC, against
		 * the host's clock there: within VMCLOCK_MAX_PPM of the time passed unless the
		 * host's clock was stepped (settimeofday, a leap second). A step is not a
		 * disruption of the counter, which is what disruption_marker means in the ABI: the
		 * new data are simply published.
		 */
		__int128 err = (__int128)pair.sec * NSEC_PER_SEC + pair.nsec -
			       vmclock_page_ns(&vc->cur, pair.guest_tsc);
		uint64_t abs_err = (uint64_t)(err < 0 ? -err : err);
		uint64_t elapsed = now - vc->last_ns;

		vc->last_error_ns = abs_err;
		if (abs_err > elapsed / (1000000u / VMCLOCK_MAX_PPM) + 1000000u) {
			vc->clock_steps++;
			host->log(host, EMBER_LOG_INFO,
				  "the host clock moved by %lld ns more than the page predicted "
				  "(a clock step): publishing the new time",
				  (long long)err);
		}
	}

	next.counter_value = pair.guest_tsc;
	next.counter_period_frac_sec = period;
	next.counter_period_shift = shift;
	next.counter_period_esterror_rate_frac_sec = 0;
	next.counter_period_maxerror_rate_frac_sec = period / (1000000u / VMCLOCK_MAX_PPM);
	next.time_sec = (uint64_t)pair.sec;
	/*
	 * One unit (2^-64 s) more than the rounded-up fraction: the guest's ">> shift" drops up to
	 * one unit of the extrapolated part, and the page's time must stay at or above the host's
	 * for the guest's truncation to land on the host's nanosecond. Cannot carry: nsec < 1e9.
	 */
	next.time_frac_sec = vmclock_frac64_up(pair.nsec % NSEC_PER_SEC, NSEC_PER_SEC) + 1;
	/*
	 * TAI - UTC in the spec's sign. TAI_OFFSET_VALID stays clear on purpose: Linux 6.13-6.18
	 * convert TAI to UTC with "+ tai_offset_sec" and 7.x convert UTC to TAI with
	 * "- tai_offset_sec", both the opposite of the spec's +37, so a driver given the other time
	 * type plus a "valid" offset would be 74 s off. Without the flag each generation accepts
	 * only its own time type (time_type option) and reads it directly.
	 */
	next.tai_offset_sec = (int16_t)pair.tai_offset;
	next.leap_second_smearing_hint = VMCLOCK_SMEARING_STRICT;
	next.leap_indicator = state < 0 ? VMCLOCK_LEAP_NONE : vmclock_leap(&tx, state);
	next.flags &= VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT;
	next.flags |= VMCLOCK_FLAG_PERIOD_MAXERROR_VALID;
	if (state < 0 || (tx.status & STA_UNSYNC)) {
		/* The ABI: FREERUNNING once it was synchronized, UNKNOWN when it never was. */
		next.clock_status =
		    vc->host_was_synced ? VMCLOCK_STATUS_FREE : VMCLOCK_STATUS_UNKNOWN;
		next.time_esterror_nanosec = 0;
		next.time_maxerror_nanosec = 0;
	} else {
		vc->host_was_synced = true;
		next.clock_status = VMCLOCK_STATUS_SYNC;
		/* adjtimex gives microseconds. */
		next.time_esterror_nanosec = (uint64_t)tx.esterror * 1000u;
		next.time_maxerror_nanosec = (uint64_t)tx.maxerror * 1000u;
		next.flags |= VMCLOCK_FLAG_TIME_ESTERROR_VALID | VMCLOCK_FLAG_TIME_MAXERROR_VALID;
	}
	if (vc->clock == EMBER_CLOCK_TAI && pair.tai_offset <= 0) {
		/* TAI - UTC has been >= 10 s since 1972: 0 means the host was never told it. */
		next.clock_status = VMCLOCK_STATUS_UNRELIABLE;
		if (!vc->warned_tai) {
			vc->warned_tai = true;
			host->log(
			    host, EMBER_LOG_WARN,
			    "the host kernel does not know TAI - UTC (adjtimex tai = 0): the "
			    "page says UNRELIABLE; set it (chrony: leapsectz right/UTC) or use "
			    "time_type = \"utc\"");
		}
	}
	vmclock_publish(vc, &next);
	vc->paired = true;
	vc->last_ns = now;
	vc->refreshes++;
	return true;
}

static void vmclock_tick(void *arg)
{
	struct ember_instance *vc = arg;
	uint64_t delay = vc->refresh_ns;

	vc->timer = -1;
	if (!vmclock_refresh(vc) && !vc->paired) {
		/*
		 * clock_pair answers -ENOTSUP until KVM's master clock is on, which happens once
		 * the vCPUs run (and never on a host whose clocksource is not the TSC): retry soon,
		 * then back off to the refresh period so a host that never pairs costs nothing.
		 */
		delay = vc->retry_ns;
		vc->retry_ns =
		    vc->retry_ns * 2 < vc->refresh_ns ? vc->retry_ns * 2 : vc->refresh_ns;
	}
	vc->timer = vc->host->timer_start(vc->host, delay, vmclock_tick, vc);
	if (vc->timer < 0)
		vc->host->log(vc->host, EMBER_LOG_ERROR, "cannot re-arm the refresh timer: %s",
			      strerror(-vc->timer));
}

static int vmclock_fail(struct ember_instance *vc, int rc)
{
	free(vc);
	return rc;
}

static int vmclock_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *vc = calloc(1, sizeof(*vc));
	struct vmclock_abi *p;
	const char *type;
	int64_t refresh_ms;
	bool gen;
	uint64_t gpa;
	void *page;
	int rc;

	if (!vc)
		return -ENOMEM;
	vc->host = host;
	vc->timer = -1;
	if (host->opt_string(host, "time_type", &type) ||
	    host->opt_int(host, "refresh_ms", &refresh_ms) ||
	    host->opt_bool(host, "generation_counters", &gen))
		return vmclock_fail(vc, -EINVAL);
	if (type && strcmp(type, "tai") == 0) {
		vc->clock = EMBER_CLOCK_TAI;
	} else if (type && strcmp(type, "utc") == 0) {
		vc->clock = EMBER_CLOCK_REALTIME;
	} else {
		host->log(host, EMBER_LOG_ERROR,
			  "time_type: expected \"tai\" (Linux 7.x ptp_vmclock) or \"utc\" (Linux "
			  "6.13 to 6.18), got \"%s\"",
			  type ? type : "");
		return vmclock_fail(vc, -EINVAL);
	}
	vc->refresh_ns = (uint64_t)refresh_ms * 1000000u;
	vc->retry_ns = VMCLOCK_RETRY_NS < vc->refresh_ns ? VMCLOCK_RETRY_NS : vc->refresh_ns;

	rc = host->devmem_alloc(host, VMCLOCK_PAGE, EMBER_DEVMEM_GUEST_READONLY, &page, &gpa);
	if (rc) {
		host->log(host, EMBER_LOG_ERROR, "devmem_alloc: %s", strerror(-rc));
		return vmclock_fail(vc, rc);
	}
	vc->page = page;

	/*
	 * The constant fields, before the guest runs. counter_id is X86_TSC from the start: Linux
	 * decides at probe, once, whether the page gives a PHC, and the spec keeps these fields
	 * constant. Until the first good pair (clock_pair says -ENOTSUP until the vCPUs have run)
	 * the page says clock_status UNKNOWN with zero period and time; the timer retries.
	 */
	p = page;
	p->magic = VMCLOCK_MAGIC;
	p->size = VMCLOCK_PAGE;
	p->version = 1;
	p->counter_id = VMCLOCK_COUNTER_X86_TSC;
	p->time_type = vc->clock == EMBER_CLOCK_TAI ? VMCLOCK_TIME_TAI : VMCLOCK_TIME_UTC;
	vc->cur = *p;
	vc->cur.clock_status = VMCLOCK_STATUS_UNKNOWN;
	if (gen) {
		/*
		 * Advertised, these change on snapshot restore (not yet in ember: until then they
		 * never need to). Random starts, so two VMs never share a value.
		 */
		uint64_t r[2] = {0, 0};

		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r[0] = r[1] = 1;
		vc->cur.flags = VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT;
		vc->cur.disruption_marker = r[0];
		vc->cur.vm_generation_counter = r[1];
	}
	vmclock_publish(vc, &vc->cur);

	vc->timer = host->timer_start(host, vc->retry_ns, vmclock_tick, vc);
	if (vc->timer < 0) {
		host->log(host, EMBER_LOG_ERROR, "cannot start the refresh timer: %s",
			  strerror(-vc->timer));
		return vmclock_fail(vc, vc->timer);
	}
	host->log(host, EMBER_LOG_DEBUG, "vmclock page at %#llx, %s, refresh every %lld ms",
		  (unsigned long long)gpa, type, (long long)refresh_ms);
	*out = vc;
	return 0;
}

static void vmclock_destroy(struct ember_instance *vc)
{
	if (vc->timer >= 0)
		vc->host->timer_cancel(vc->host, vc->timer);
	free(vc);
}

static void vmclock_metrics_read(struct ember_instance *vc, uint64_t *values, uint32_t count)
{
	const uint64_t all[] = {vc->refreshes, vc->pair_failures, vc->clock_steps,
				vc->last_error_ns};

	for (uint32_t i = 0; i < count && i < EMBER_ARRAY_SIZE(all); i++)
		values[i] = all[i];
}

static const struct ember_option vmclock_options[] = {
    EMBER_OPTION_STRING_DEF("time_type", "tai",
			    "\"tai\" (Linux 7.x ptp_vmclock) or \"utc\" (Linux 6.13 to 6.18)"),
    EMBER_OPTION_INT_DEF("refresh_ms", 1000, 10, 60000,
			 "milliseconds between refreshes of the clock data"),
    EMBER_OPTION_BOOL_DEF("generation_counters", 0,
			  "advertise vm_generation_counter (changes on snapshot restore)"),
};

static const struct ember_metric vmclock_metrics[] = {
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "refreshes", NULL, "clock data published"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "pair_failures", NULL,
		     "refreshes without a clock pair (before the vCPUs run, or a non-TSC host)"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "clock_steps", NULL,
		     "refreshes that found the host clock stepped"),
    EMBER_METRIC_DEF(EMBER_METRIC_GAUGE, "last_error_ns", "ns",
		     "how far the guest's extrapolation was off at the last refresh"),
};

/*
 * adjtimex(3) with modes 0 (a read) from the refresh timer: glibc makes it the syscall
 * clock_adjtime(CLOCK_REALTIME, ...). clock_pair's ioctl is ember's.
 */
static const struct ember_syscall_rule vmclock_syscalls[] = {
    EMBER_SYSCALL_ARG_EQ("clock_adjtime", EMBER_THREAD_EVENT_LOOP, 0, 0 /* CLOCK_REALTIME */),
};

static const struct ember_device_ops vmclock_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = vmclock_create,
    .destroy = vmclock_destroy,
    .metrics_read = vmclock_metrics_read,
};

static const struct ember_plugin_desc vmclock_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 2,
    .kind = EMBER_DEVICE_MMIO,
    .name = "vmclock",
    .vendor = "ember",
    .version = "1.0.0",
    .description = "vmclock PTP clock (AMZNC10C): live TSC-to-time data in a shared page",
    .mmio_size = 0,
    .acpi_hid = "AMZNC10C",
    .options = vmclock_options,
    .option_count = EMBER_ARRAY_SIZE(vmclock_options),
    .option_size = sizeof(struct ember_option),
    .ops = &vmclock_ops,
    .acpi_cid = "VMCLOCK",
    .acpi_resources = EMBER_ACPI_RES_DEVMEM,
    .metrics = vmclock_metrics,
    .metric_count = EMBER_ARRAY_SIZE(vmclock_metrics),
    .metric_size = sizeof(struct ember_metric),
    .syscalls = vmclock_syscalls,
    .syscall_count = EMBER_ARRAY_SIZE(vmclock_syscalls),
    .syscall_size = sizeof(struct ember_syscall_rule),
};

EMBER_PLUGIN_DEFINE(vmclock_desc)
