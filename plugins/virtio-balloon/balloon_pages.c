/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inflate and deflate (5.5.6.1-2): buffers of le32 frame numbers. An inflated frame goes into
 * the balloon and is discarded; a deflated one leaves it and is only forgotten (the guest
 * reuses it once the buffer is back, MUST_TELL_HOST; it reads zeros, or its old data where the
 * host page was not freed). A frame is accepted only when it is guest RAM; a frame already in
 * (inflate) or not in (deflate) the balloon is ignored, so the count never drifts from what the
 * guest really gave.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "balloon.h"

#define CHUNK_FRAMES (1u << BALLOON_CHUNK_SHIFT)

int balloon_pages_init(struct ember_instance *dev)
{
	dev->chunks = calloc(BALLOON_CHUNKS, sizeof(*dev->chunks));
	return dev->chunks ? 0 : -ENOMEM;
}

void balloon_pages_clear(struct ember_instance *dev)
{
	if (!dev->chunks)
		return;
	for (uint32_t i = 0; i < BALLOON_CHUNKS; i++) {
		free(dev->chunks[i]);
		dev->chunks[i] = NULL;
	}
	dev->pages = 0;
}

void balloon_pages_free(struct ember_instance *dev)
{
	balloon_pages_clear(dev);
	free(dev->chunks);
	dev->chunks = NULL;
}

bool balloon_pages_has(const struct ember_instance *dev, uint32_t pfn)
{
	const struct balloon_chunk *c = dev->chunks[pfn >> BALLOON_CHUNK_SHIFT];
	uint32_t i = pfn & (CHUNK_FRAMES - 1);

	return c && (c->bits[i / 64] >> (i % 64)) & 1u;
}

/* Puts pfn in (in true) or takes it out. Returns 1 when it changed, 0 when not, -ENOMEM. */
static int set_member(struct ember_instance *dev, uint32_t pfn, bool in)
{
	struct balloon_chunk **slot = &dev->chunks[pfn >> BALLOON_CHUNK_SHIFT];
	uint32_t i = pfn & (CHUNK_FRAMES - 1);
	uint64_t bit = 1ULL << (i % 64);

	if (!*slot) {
		if (!in)
			return 0;
		*slot = calloc(1, sizeof(**slot));
		if (!*slot)
			return -ENOMEM;
	}
	if (!!((*slot)->bits[i / 64] & bit) == in)
		return 0;
	(*slot)->bits[i / 64] ^= bit;
	if (in) {
		(*slot)->huge_count[i / BALLOON_HUGE_PFNS]++;
		(*slot)->count++;
		dev->pages++;
	} else {
		(*slot)->huge_count[i / BALLOON_HUGE_PFNS]--;
		(*slot)->count--;
		dev->pages--;
		if ((*slot)->count == 0) {
			free(*slot);
			*slot = NULL;
		}
	}
	return 1;
}

static bool huge_page_full(const struct ember_instance *dev, uint32_t pfn)
{
	const struct balloon_chunk *c = dev->chunks[pfn >> BALLOON_CHUNK_SHIFT];

	return c &&
	       c->huge_count[(pfn & (CHUNK_FRAMES - 1)) / BALLOON_HUGE_PFNS] == BALLOON_HUGE_PFNS;
}

/*
 * Shell sort, in place: glibc's qsort may call sysinfo and malloc (merge sort), neither of which
 * belongs in a queue kick under the sandbox; n is at most BALLOON_PFNS_MAX.
 */
static void sort_pfns(uint32_t *v, uint32_t n)
{
	static const uint32_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1}; /* Ciura's */

	for (size_t g = 0; g < EMBER_ARRAY_SIZE(gaps); g++)
		for (uint32_t gap = gaps[g], i = gap; i < n; i++) {
			uint32_t x = v[i], j = i;

			for (; j >= gap && v[j - gap] > x; j -= gap)
				v[j] = v[j - gap];
			v[j] = x;
		}
}

static bool is_ram(const struct ember_instance *dev, uint32_t pfn)
{
	struct iovec iov;

	return dev->host->mem_map(dev->host, (uint64_t)pfn << BALLOON_PAGE_SHIFT, BALLOON_PAGE,
				  &iov, 1) == 1;
}

/* Discards the run [first, first + n) of frames just inflated, merged in one call. */
static void discard_run(struct ember_instance *dev, uint32_t first, uint32_t n)
{
	if (dev->grain != GRAIN_HUGE)
		balloon_discard(dev, (uint64_t)first << BALLOON_PAGE_SHIFT,
				(uint64_t)n << BALLOON_PAGE_SHIFT);
}

/*
 * Inflate: sorted, so that adjacent frames become one discard; then, where 4 KiB discards
 * free nothing, each 2 MiB page the buffer completed goes as a whole.
 */
static void inflate(struct ember_instance *dev, uint32_t *pfn, uint32_t n)
{
	uint32_t run_first = 0, run_len = 0, last_huge = UINT32_MAX;
	uint32_t added = 0;

	sort_pfns(pfn, n);
	for (uint32_t i = 0; i < n; i++) {
		int rc;

		if (i && pfn[i] == pfn[i - 1])
			continue;
		if (!is_ram(dev, pfn[i])) {
			dev->stats.refused++;
			balloon_warn(dev, "inflate: frame 0x%x is not guest RAM: ignored", pfn[i]);
			continue;
		}
		rc = set_member(dev, pfn[i], true);
		if (rc < 0) {
			/* Not recorded, so not discarded: the guest's data stays, only unreclaimed.
			 */
			dev->stats.refused++;
			continue;
		}
		if (rc == 0)
			continue; /* already in: discarded when it went in */
		pfn[added++] = pfn[i];
		dev->stats.inflated++;
	}
	for (uint32_t i = 0; i < added; i++) {
		if (run_len && pfn[i] == run_first + run_len) {
			run_len++;
			continue;
		}
		if (run_len)
			discard_run(dev, run_first, run_len);
		run_first = pfn[i];
		run_len = 1;
	}
	if (run_len)
		discard_run(dev, run_first, run_len);
	if (dev->grain == GRAIN_4K)
		return;
	for (uint32_t i = 0; i < added; i++) {
		uint32_t huge = pfn[i] / BALLOON_HUGE_PFNS;

		if (huge == last_huge || !huge_page_full(dev, pfn[i]))
			continue;
		last_huge = huge;
		balloon_discard(dev, (uint64_t)huge * BALLOON_HUGE, BALLOON_HUGE);
	}
}

static void deflate(struct ember_instance *dev, const uint32_t *pfn, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (set_member(dev, pfn[i], false) == 1)
			dev->stats.deflated++;
		else
			dev->stats.refused++; /* never in the balloon: nothing to give back */
	}
}

void balloon_pages_serve(struct ember_instance *dev, uint32_t queue, bool deflate_q)
{
	const struct ember_host *host = dev->host;
	struct ember_vq_chain *chain;
	uint32_t pfn[BALLOON_PFNS_MAX];
	int rc;

	while ((rc = host->vq_pop(host, queue, &chain)) == 1) {
		uint64_t bytes = chain->readable_bytes;

		if (bytes % 4 || bytes > sizeof(pfn)) {
			dev->stats.malformed++;
			balloon_warn(dev,
				     "%s buffer of %llu bytes (a multiple of 4, at most %zu): "
				     "ignored",
				     deflate_q ? "deflate" : "inflate", (unsigned long long)bytes,
				     sizeof(pfn));
			host->vq_push(host, chain, 0);
			continue;
		}
		if (host->chain_read(host, chain, 0, pfn, bytes) != (int64_t)bytes) {
			dev->stats.malformed++;
			balloon_warn(dev, "%s buffer unreadable: ignored",
				     deflate_q ? "deflate" : "inflate");
			host->vq_push(host, chain, 0);
			continue;
		}
		if (deflate_q)
			deflate(dev, pfn, (uint32_t)(bytes / 4));
		else
			inflate(dev, pfn, (uint32_t)(bytes / 4));
		host->vq_push(host, chain, 0);
	}
	host->vq_notify(host, queue);
}
