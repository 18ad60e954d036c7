/* SPDX-License-Identifier: Apache-2.0 */
#include "token_bucket.h"

#define NSEC_PER_SEC 1000000000ULL

void tb_init(struct token_bucket *tb, uint64_t rate, uint64_t burst, uint64_t now_ns)
{
	tb->rate = rate;
	tb->burst = burst;
	if (rate && !burst)
		tb->burst = rate / 16 ? rate / 16 : 1;
	/* Keep the arithmetic below inside int64_t. */
	if (tb->burst > (uint64_t)INT64_MAX / 2)
		tb->burst = (uint64_t)INT64_MAX / 2;
	tb->tokens = (int64_t)tb->burst;
	tb->refilled_ns = now_ns;
}

void tb_refill(struct token_bucket *tb, uint64_t now_ns)
{
	unsigned __int128 earned;
	uint64_t add, room;

	if (!tb->rate || now_ns <= tb->refilled_ns)
		return;
	earned = (unsigned __int128)(now_ns - tb->refilled_ns) * tb->rate / NSEC_PER_SEC;
	room = (uint64_t)((int64_t)tb->burst - tb->tokens);
	if (earned >= room) {
		tb->tokens = (int64_t)tb->burst;
		tb->refilled_ns = now_ns;
		return;
	}
	add = (uint64_t)earned;
	tb->tokens += (int64_t)add;
	/* Advance the clock only by the time those whole tokens took: fractions carry over. */
	tb->refilled_ns += (uint64_t)((unsigned __int128)add * NSEC_PER_SEC / tb->rate);
}

static int64_t threshold(const struct token_bucket *tb, uint64_t need)
{
	return (int64_t)(need < tb->burst ? need : tb->burst);
}

bool tb_ready(const struct token_bucket *tb, uint64_t need)
{
	return !tb->rate || tb->tokens >= threshold(tb, need);
}

void tb_take(struct token_bucket *tb, uint64_t n)
{
	if (!tb->rate)
		return;
	/* An absurd request cannot push the debt past what the type holds. */
	if (n > (uint64_t)INT64_MAX / 2)
		n = (uint64_t)INT64_MAX / 2;
	tb->tokens -= (int64_t)n;
	if (tb->tokens < -(int64_t)((uint64_t)INT64_MAX / 2))
		tb->tokens = -(int64_t)((uint64_t)INT64_MAX / 2);
}

uint64_t tb_wait_ns(const struct token_bucket *tb, uint64_t need)
{
	int64_t missing;

	if (tb_ready(tb, need))
		return 0;
	missing = threshold(tb, need) - tb->tokens;
	return (uint64_t)(((unsigned __int128)missing * NSEC_PER_SEC + tb->rate - 1) / tb->rate);
}
