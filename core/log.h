/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember's own messages go to stderr, one line each, prefixed "ember: " (stdout is the guest's
 * console). Safe from any thread: each message is written with a single write(2).
 *
 * A line the guest can trigger (a device register it pokes in a loop, a bad driver) goes out
 * through log_ratelimited with a limit per message source, or a guest could write megabytes
 * to stderr, each line a blocking write on a vCPU thread that may hold a device lock.
 */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Call before any other thread starts: the level is read without a lock. */
/* Lines dropped because stderr stayed unwritable (log.c says when), not yet reported. */
unsigned long log_dropped_lines(void);

void log_set_level(enum log_level max);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * A rate limit for one message source: at most `burst` lines per `interval_ms` window (the
 * window starts with the first line after the previous one ended); the lines beyond are
 * counted, and the next line let through is preceded by "N similar messages suppressed".
 * Lock-free and safe from any thread: threads racing at a window's start may let a few lines
 * more than burst through, and every suppressed line is counted exactly once.
 *
 * Statically: `static struct log_ratelimit rl = LOG_RATELIMIT_DEFAULT;` (one per call site).
 * Inside another object: log_ratelimit_init. Nothing to free. burst >= 1, interval_ms >= 1.
 */
struct log_ratelimit {
	unsigned burst;
	uint64_t interval_ns;
	_Atomic uint64_t window_start_ns; /* CLOCK_MONOTONIC */
	atomic_uint in_window;		  /* lines let through in this window (stops at ~burst) */
	atomic_ulong suppressed;	  /* since the last line let through */
};

#define LOG_RATELIMIT_INIT(burst_, interval_ms_)                                      \
	{                                                                             \
		.burst = (burst_), .interval_ns = 1000000u * (uint64_t)(interval_ms_) \
	}
/* What guest-triggered lines in the core use: a burst of 10 every 5 s, as Linux's printk. */
#define LOG_RATELIMIT_DEFAULT LOG_RATELIMIT_INIT(10, 5000)

void log_ratelimit_init(struct log_ratelimit *rl, unsigned burst, unsigned interval_ms);

/*
 * The decision alone, for a sink other than log_msg (a plugin instance's log): returns true
 * when one more line may go out now, with *suppressed set to the number of lines refused since
 * the last one allowed (the caller writes the "N similar messages suppressed" line when it is
 * not 0); returns false, counting the line, when it must be dropped. Every call counts: skip it
 * for a line that would not be printed anyway (a disabled level).
 */
bool log_ratelimit_allow(struct log_ratelimit *rl, unsigned long *suppressed);

/*
 * log_msg under rl. A level that is not logged neither prints nor uses up the burst. The
 * suppressed count and the line go out in one write(2), so they stay together.
 */
void log_ratelimited(struct log_ratelimit *rl, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
