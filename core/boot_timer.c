/* SPDX-License-Identifier: Apache-2.0 */
#include "boot_timer.h"

#include "layout.h"
#include "log.h"

static struct timespec boot_timer_t0;

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

void boot_timer_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &boot_timer_t0);
}

double boot_timer_wall_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ms_between(&boot_timer_t0, &now);
}

double boot_timer_cpu_ms(void)
{
	struct timespec zero = {0, 0}, now;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
	return ms_between(&zero, &now);
}

void boot_timer_mmio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	/*
	 * The guest may write the marker in a loop: a burst gets through (benchmarks read the
	 * first line), the rest is counted (log.h).
	 */
	static struct log_ratelimit rl = LOG_RATELIMIT_DEFAULT;

	(void)opaque;
	if (offset != 0 || *(const uint8_t *)data != BOOT_TIMER_MAGIC || len != 1)
		return;
	log_ratelimited(&rl, LOG_INFO, "boot-timer: wall_ms=%.3f cpu_ms=%.3f", boot_timer_wall_ms(),
			boot_timer_cpu_ms());
}
