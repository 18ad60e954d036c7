/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Free pages the guest tells the device about, without inflating:
 *
 * Reporting (REPORTING): the guest sends writable buffers, each a free block (2 MiB on x86 by
 * default) it will not touch until the buffer comes back; each is discarded and returned
 * with 0 bytes written.
 *
 * Hinting (FREE_PAGE_HINT): the host starts a run by writing a new command id (>= 2) into the
 * config space; the guest answers with a readable 4-byte buffer holding that id, then writable
 * buffers of free blocks, then a readable STOP (0). A block is discarded only while the id the
 * guest last sent is the host's current one: hints of an older run (the guest may have taken
 * those pages back since) are returned untouched. Writing DONE (1) lets the guest reuse every
 * hinted page; with acknowledge_on_stop the device does that when the guest's STOP arrives.
 *
 * Both keep the guest's free-page contents only if reading zeros is what the guest expects:
 * with PAGE_POISON negotiated and a non-zero poison_val, nothing is discarded.
 */
#include "balloon.h"

bool balloon_free_discard_ok(const struct ember_instance *dev)
{
	return !(dev->features & (1ULL << BALLOON_F_PAGE_POISON)) || dev->poison == 0;
}

/*
 * Discards the 4 KiB-aligned inside of each writable segment of chain; adds the bytes offered
 * to *offered. A segment that is not a whole number of pages keeps its partial pages.
 */
static void discard_writable(struct ember_instance *dev, const struct ember_vq_chain *chain,
			     uint64_t *offered)
{
	for (uint32_t i = chain->readable_count; i < chain->readable_count + chain->writable_count;
	     i++) {
		const struct ember_vq_segment *s = &chain->segments[i];
		uint64_t lo = (s->gpa + BALLOON_PAGE - 1) & ~(uint64_t)(BALLOON_PAGE - 1);
		uint64_t hi = (s->gpa + s->len) & ~(uint64_t)(BALLOON_PAGE - 1);

		*offered += s->len;
		if (lo < hi)
			balloon_discard(dev, lo, hi - lo);
	}
}

void balloon_report_serve(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;
	uint32_t q = (uint32_t)dev->report_queue;
	struct ember_vq_chain *chain;

	while (host->vq_pop(host, q, &chain) == 1) {
		if (balloon_free_discard_ok(dev)) {
			discard_writable(dev, chain, &dev->stats.reported_bytes);
		} else {
			dev->stats.refused++;
			balloon_warn(dev,
				     "free page report kept: the guest poisons free pages with "
				     "0x%x",
				     dev->poison);
		}
		host->vq_push(host, chain, 0);
	}
	host->vq_notify(host, q);
}

static bool run_active(const struct ember_instance *dev)
{
	return dev->hint_cmd >= BALLOON_CMD_FIRST && dev->guest_cmd == dev->hint_cmd;
}

/* A readable buffer: the guest's command id (the start of its answer, or STOP). */
static void hint_command(struct ember_instance *dev, const struct ember_vq_chain *chain)
{
	uint32_t id;

	if (chain->readable_bytes != sizeof(id) ||
	    dev->host->chain_read(dev->host, chain, 0, &id, sizeof(id)) != sizeof(id)) {
		dev->stats.malformed++;
		balloon_warn(dev,
			     "free page hint: a command buffer of %llu bytes (4 expected): "
			     "ignored",
			     (unsigned long long)chain->readable_bytes);
		return;
	}
	if (id == BALLOON_CMD_STOP && dev->guest_cmd == dev->hint_cmd &&
	    dev->hint_cmd >= BALLOON_CMD_FIRST && dev->hint_ack_on_stop) {
		/* The guest is finished with this run: it may reuse what it hinted. */
		dev->hint_cmd = BALLOON_CMD_DONE;
		dev->host->config_changed(dev->host);
	}
	dev->guest_cmd = id;
}

void balloon_hint_serve(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;
	uint32_t q = (uint32_t)dev->hint_queue;
	struct ember_vq_chain *chain;

	while (host->vq_pop(host, q, &chain) == 1) {
		if (chain->readable_count)
			hint_command(dev, chain);
		if (chain->writable_count) {
			if (run_active(dev) && balloon_free_discard_ok(dev)) {
				discard_writable(dev, chain, &dev->stats.hinted_bytes);
			} else {
				/* A stale run's hint: the guest may have taken it back already. */
				dev->stats.refused++;
			}
		}
		host->vq_push(host, chain, 0);
	}
	host->vq_notify(host, q);
}
