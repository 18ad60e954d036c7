/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A token bucket for device rate limits, shared by plugins as a static helper (compiled into
 * each plugin; it links nothing of ember and keeps no global state).
 *
 * `rate` tokens per second flow in, up to `burst`. The caller gives the clock (ember's clock_ns)
 * so the bucket runs on the fake clock in tests. A request of `need` tokens may start when the
 * bucket holds min(need, burst): a request larger than the whole bucket is still served once
 * the bucket is full, and tb_take then leaves the bucket in debt (tokens < 0), so the long-run
 * rate holds whatever the request sizes. rate 0 means unlimited: everything is ready at once.
 *
 * Not thread-safe: the caller serializes (ember's per-instance lock does).
 */
#ifndef EMBER_PLUGIN_TOKEN_BUCKET_H
#define EMBER_PLUGIN_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct token_bucket {
	uint64_t rate;	      /* tokens per second; 0: unlimited */
	uint64_t burst;	      /* bucket size (>= 1 when rate != 0) */
	int64_t tokens;	      /* may be negative after an oversized take */
	uint64_t refilled_ns; /* clock of the last token accounted for */
};

/*
 * A full bucket. burst 0 with a rate picks rate/16 (at least 1). Only at create: the bucket
 * belongs to the device's lifetime, and a device reset keeps its level (refilling there would
 * hand a guest a new burst per reset, so the limit would only cap how often it resets).
 */
void tb_init(struct token_bucket *tb, uint64_t rate, uint64_t burst, uint64_t now_ns);
/* Adds what was earned since the last refill, keeping the part of a token not yet earned. */
void tb_refill(struct token_bucket *tb, uint64_t now_ns);
/* After a refill: may a request of `need` tokens start now? */
bool tb_ready(const struct token_bucket *tb, uint64_t need);
/* Takes n tokens (the bucket may go into debt). */
void tb_take(struct token_bucket *tb, uint64_t n);
/* After a refill: nanoseconds until tb_ready(need) becomes true (0: now). */
uint64_t tb_wait_ns(const struct token_bucket *tb, uint64_t need);

#endif
