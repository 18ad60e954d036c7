/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_max = LOG_INFO;

static const char *const log_prefix[] = {
    [LOG_ERROR] = "ember: error: ",
    [LOG_WARN] = "ember: warning: ",
    [LOG_INFO] = "ember: ",
    [LOG_DEBUG] = "ember: debug: ",
};

void log_set_level(enum log_level max)
{
	log_max = max;
}

/*
 * ember's own messages must never hang it: on a stderr nobody reads (a pipe whose reader stopped)
 * a line waits at most LOG_WAIT_MS for room and is then dropped and counted; the next line that
 * gets through says how many went. Guest data never goes this way (the console keeps its
 * back-pressure); these are ember's diagnostics.
 */
#define LOG_WAIT_MS 1000

static atomic_ulong log_dropped;

static void log_write(const char *line, size_t n)
{
	struct pollfd p = {.fd = STDERR_FILENO, .events = POLLOUT};
	unsigned long dropped;
	char note[96];
	int r;

	do
		r = poll(&p, 1, LOG_WAIT_MS);
	while (r < 0 && errno == EINTR);
	if (r <= 0 || !(p.revents & POLLOUT)) {
		atomic_fetch_add(&log_dropped, 1);
		return;
	}
	dropped = atomic_exchange(&log_dropped, 0);
	if (dropped) {
		int k = snprintf(note, sizeof(note),
				 "ember: warning: %lu log lines dropped: stderr was not writable\n",
				 dropped);

		if (write(STDERR_FILENO, note, (size_t)k) < 0)
			return;
	}
	/* One write per message so lines from different threads never interleave. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

unsigned long log_dropped_lines(void)
{
	return atomic_load(&log_dropped);
}

/* Writes one line, after a "N similar messages suppressed" line when suppressed is not 0. */
__attribute__((format(printf, 3, 0))) static void
log_vline(enum log_level level, unsigned long suppressed, const char *fmt, va_list ap)
{
	char line[1024 + 80]; /* room for the suppressed count before a long line */
	int n = 0;

	if (suppressed)
		n = snprintf(line, sizeof(line), "%s%lu similar messages suppressed\n",
			     log_prefix[level], suppressed);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "%s", log_prefix[level]);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	log_write(line, (size_t)n);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	log_vline(level, 0, fmt, ap);
	va_end(ap);
}

void log_ratelimit_init(struct log_ratelimit *rl, unsigned burst, unsigned interval_ms)
{
	rl->burst = burst;
	rl->interval_ns = (uint64_t)interval_ms * 1000000u;
	atomic_init(&rl->window_start_ns, 0);
	atomic_init(&rl->in_window, 0);
	atomic_init(&rl->suppressed, 0);
}

static uint64_t monotonic_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

bool log_ratelimit_allow(struct log_ratelimit *rl, unsigned long *suppressed)
{
	/* The start first: it was read from the clock before, so now >= start (no wrap). */
	uint64_t start = atomic_load(&rl->window_start_ns);
	uint64_t now = monotonic_ns();

	/*
	 * A new window: the one thread whose compare-exchange moves it resets the count. Another
	 * thread may still count against the old window meanwhile; that costs a line at most.
	 */
	if (now - start >= rl->interval_ns &&
	    atomic_compare_exchange_strong(&rl->window_start_ns, &start, now))
		atomic_store(&rl->in_window, 0);
	/* Loaded first, so a flood cannot run the counter around (it stops near burst). */
	if (atomic_load(&rl->in_window) >= rl->burst ||
	    atomic_fetch_add(&rl->in_window, 1) >= rl->burst) {
		atomic_fetch_add(&rl->suppressed, 1);
		return false;
	}
	*suppressed = atomic_exchange(&rl->suppressed, 0);
	return true;
}

void log_ratelimited(struct log_ratelimit *rl, enum log_level level, const char *fmt, ...)
{
	unsigned long suppressed;
	va_list ap;

	if (level > log_max || !log_ratelimit_allow(rl, &suppressed))
		return;
	va_start(ap, fmt);
	log_vline(level, suppressed, fmt, ap);
	va_end(ap);
}
