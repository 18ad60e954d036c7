// SPDX-License-Identifier: Apache-2.0
/*
 * tests/e2e/phc-compare: compare two PTP hardware clocks in a guest (tools/guest-image puts it
 * in the newer guest's initrd as /bin/phc-compare; the vmclock-driver case runs it).
 *
 *   phc-compare DEV_A DEV_B SECONDS [A_MINUS_B_SEC]
 *
 * DEV_A may be "sys": CLOCK_REALTIME itself (A - sys = 0), so the offset is the guest's clock
 * against DEV_B (the vmclock-driver case checks that phc2sys steered it to within 1 ms).
 * Once every 100 ms, for SECONDS: both clocks against CLOCK_REALTIME with PTP_SYS_OFFSET_EXTENDED
 * (PTP_SYS_OFFSET where a driver lacks it), 5 samples each, keeping the sample with the narrowest
 * system-clock window; then offset = (A - sys) - (B - sys) - A_MINUS_B_SEC s (e.g. 37 for a TAI
 * clock against a UTC one). Prints one line per second and finally
 *   PHC-COMPARE n=N min_ns=.. p50_ns=.. p90_ns=.. max_ns=.. maxabs_ns=.. win_a_ns=.. win_b_ns=..
 * (win: the median read windows). Exits 1 on a usage or read error.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ptp_clock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_N 4096

static int64_t ns(int64_t sec, int64_t nsec)
{
	return sec * 1000000000LL + nsec;
}

/* The PHC's offset from CLOCK_REALTIME (ns) at its best sample; *win = that sample's window. */
static const char *err_what = "";

static int phc_offset(int fd, int64_t *off, int64_t *win)
{
	struct ptp_sys_offset_extended x;
	int64_t best = -1;
	memset(&x, 0, sizeof(x));
	x.n_samples = 5;
	err_what = "PTP_SYS_OFFSET_EXTENDED";
	if (ioctl(fd, PTP_SYS_OFFSET_EXTENDED, &x) == 0) {
		for (unsigned i = 0; i < x.n_samples; i++) {
			int64_t t1 = ns(x.ts[i][0].sec, x.ts[i][0].nsec);
			int64_t p = ns(x.ts[i][1].sec, x.ts[i][1].nsec);
			int64_t t2 = ns(x.ts[i][2].sec, x.ts[i][2].nsec);
			if (best < 0 || t2 - t1 < best) {
				best = t2 - t1;
				*off = p - (t1 + (t2 - t1) / 2);
			}
		}
	} else if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EINVAL) {
		struct ptp_sys_offset y;
		memset(&y, 0, sizeof(y));
		y.n_samples = 5;
		err_what = "PTP_SYS_OFFSET";
		if (ioctl(fd, PTP_SYS_OFFSET, &y) != 0)
			return -1;
		/* ts: sys, phc, sys, phc, ..., sys */
		for (unsigned i = 0; i < y.n_samples; i++) {
			int64_t t1 = ns(y.ts[2 * i].sec, y.ts[2 * i].nsec);
			int64_t p = ns(y.ts[2 * i + 1].sec, y.ts[2 * i + 1].nsec);
			int64_t t2 = ns(y.ts[2 * i + 2].sec, y.ts[2 * i + 2].nsec);
			if (best < 0 || t2 - t1 < best) {
				best = t2 - t1;
				*off = p - (t1 + (t2 - t1) / 2);
			}
		}
	} else {
		return -1;
	}
	*win = best;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int64_t offs[MAX_N], wa[MAX_N], wb[MAX_N];

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: phc-compare DEV_A|sys DEV_B SECONDS [A_MINUS_B_SEC]\n");
		return 1;
	}
	int sys = strcmp(argv[1], "sys") == 0;
	int fa = sys ? 0 : open(argv[1], O_RDONLY), fb = open(argv[2], O_RDONLY);
	if (fa < 0 || fb < 0) {
		fprintf(stderr, "phc-compare: cannot open %s: %s\n", fa < 0 ? argv[1] : argv[2],
			strerror(errno));
		return 1;
	}
	int secs = atoi(argv[3]);
	if (secs <= 0 || secs * 10 > MAX_N) {
		fprintf(stderr, "phc-compare: SECONDS must be 1 to %d\n", MAX_N / 10);
		return 1;
	}
	int64_t shift = argc > 4 ? (int64_t)atoll(argv[4]) * 1000000000LL : 0;
	int n = 0;
	for (int i = 0; i < secs * 10 && n < MAX_N; i++) {
		int64_t oa = 0, ob, a = 0, b;
		const char *dev = argv[1];
		int r = sys ? 0 : phc_offset(fa, &oa, &a);
		if (r == 0) {
			dev = argv[2];
			r = phc_offset(fb, &ob, &b);
		}
		if (r) {
			fprintf(stderr, "phc-compare: %s: %s: %s\n", dev, err_what,
				strerror(errno));
			return 1;
		}
		offs[n] = oa - ob - shift;
		wa[n] = a;
		wb[n] = b;
		if (i % 10 == 0)
			printf("phc-compare: t=%ds offset_ns=%lld win_a_ns=%lld win_b_ns=%lld\n",
			       i / 10, (long long)offs[n], (long long)a, (long long)b);
		fflush(stdout);
		n++;
		usleep(100000);
	}
	if (n == 0)
		return 1;
	qsort(offs, n, sizeof(offs[0]), cmp);
	qsort(wa, n, sizeof(wa[0]), cmp);
	qsort(wb, n, sizeof(wb[0]), cmp);
	int64_t maxabs = llabs(offs[0]) > llabs(offs[n - 1]) ? llabs(offs[0]) : llabs(offs[n - 1]);
	printf("PHC-COMPARE n=%d min_ns=%lld p50_ns=%lld p90_ns=%lld max_ns=%lld maxabs_ns=%lld "
	       "win_a_ns=%lld win_b_ns=%lld\n",
	       n, (long long)offs[0], (long long)offs[n / 2], (long long)offs[n * 9 / 10],
	       (long long)offs[n - 1], (long long)maxabs, (long long)wa[n / 2],
	       (long long)wb[n / 2]);
	return 0;
}
