/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory statistics (5.5.6.3): the guest posts one buffer of {le16 tag; le64 value} entries;
 * the device reads it and keeps it. Each polling period the device gives it back (used, 0
 * bytes): that is the request, and the guest answers by posting it again with fresh values.
 * Holding the chain across callbacks is the protocol here; a reset or destroy pushes it,
 * which then only frees it.
 */
#include <string.h>

#include "balloon.h"

#define NS_PER_S 1000000000ULL

/* Firecracker's field names (GET /balloon/statistics), by tag. */
static const char *const stat_names[BALLOON_STAT_TAGS] = {
    "swap_in",	      "swap_out",	  "major_faults", "minor_faults",	 "free_memory",
    "total_memory",   "available_memory", "disk_caches",  "hugetlb_allocations", "hugetlb_failures",
    "oom_kill",	      "alloc_stall",	  "async_scan",	  "direct_scan",	 "async_reclaim",
    "direct_reclaim",
};

const char *balloon_stat_name(unsigned tag)
{
	return tag < BALLOON_STAT_TAGS ? stat_names[tag] : NULL;
}

static void give_back(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;

	if (!dev->stats_chain)
		return;
	host->vq_push(host, dev->stats_chain, 0);
	dev->stats_chain = NULL;
	if (dev->active && dev->stats_queue >= 0)
		host->vq_notify(host, (uint32_t)dev->stats_queue);
}

static void on_poll(void *arg)
{
	struct ember_instance *dev = arg;

	dev->stats_timer = -1;
	give_back(dev);
	balloon_stats_arm(dev);
}

void balloon_stats_arm(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;
	int id;

	if (dev->stats_timer >= 0)
		host->timer_cancel(host, dev->stats_timer);
	dev->stats_timer = -1;
	if (!dev->active || dev->stats_queue < 0 || !dev->stats_interval_s)
		return;
	id = host->timer_start(host, (uint64_t)dev->stats_interval_s * NS_PER_S, on_poll, dev);
	if (id < 0) {
		host->log(host, EMBER_LOG_ERROR, "cannot start the statistics timer: %d", id);
		return;
	}
	dev->stats_timer = id;
}

void balloon_stats_stop(struct ember_instance *dev)
{
	if (dev->stats_timer >= 0)
		dev->host->timer_cancel(dev->host, dev->stats_timer);
	dev->stats_timer = -1;
	give_back(dev);
}

/* Reads the entries of chain into the device's values; unknown tags are skipped. */
static void read_stats(struct ember_instance *dev, const struct ember_vq_chain *chain)
{
	uint8_t buf[BALLOON_STAT_MAX * BALLOON_STAT_BYTES];
	uint64_t bytes = chain->readable_bytes;

	if (bytes % BALLOON_STAT_BYTES || bytes > sizeof(buf) ||
	    dev->host->chain_read(dev->host, chain, 0, buf, bytes) != (int64_t)bytes) {
		dev->stats.malformed++;
		balloon_warn(dev,
			     "statistics buffer of %llu bytes (entries of 10, at most %u): "
			     "ignored",
			     (unsigned long long)bytes, BALLOON_STAT_MAX);
		return;
	}
	for (uint64_t off = 0; off < bytes; off += BALLOON_STAT_BYTES) {
		uint16_t tag;
		uint64_t value;

		memcpy(&tag, buf + off, sizeof(tag));
		memcpy(&value, buf + off + 2, sizeof(value));
		if (tag >= BALLOON_STAT_TAGS)
			continue; /* a newer guest's statistic: not ours to name */
		dev->stat_values[tag] = value;
		dev->stat_seen |= 1u << tag;
	}
	dev->stats.stats_updates++;
}

void balloon_stats_serve(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;
	struct ember_vq_chain *chain;

	while (host->vq_pop(host, (uint32_t)dev->stats_queue, &chain) == 1) {
		read_stats(dev, chain);
		/* One buffer is the protocol; an older one held is given back first. */
		give_back(dev);
		dev->stats_chain = chain;
	}
}
