/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-balloon (virtio 1.x, 5.5): the host takes memory back from the guest (inflate), gives
 * it back (deflate), reads the guest's memory statistics, and discards the pages the guest
 * reports free (free page reporting) or hints free on request (free page hinting). The parts:
 *
 *   balloon_main.c   descriptor, options, controls, metrics, life cycle, config space, kicks
 *   balloon_pages.c  inflate and deflate: which pages are in the balloon, what is discarded
 *   balloon_stats.c  the statistics queue and its polling timer
 *   balloon_free.c   free page reporting and free page hinting (the command-id protocol)
 *
 * Memory goes back to the host only through host->mem_discard, and only for pages the guest
 * gave: frames the guest put in the balloon (and not taken back), blocks it reported free,
 * blocks it hinted while the hint's command id is the current one. Frames outside RAM or in
 * the MMIO hole are ignored (mem_map refuses them).
 *
 * Host page size: ember's discard frees whole host pages only. The device learns from the
 * first discard that cuts a 2 MiB page (its *freed) whether 4 KiB discards free anything
 * (anonymous and shared RAM) or not (2 MiB huge pages). With huge pages it then discards only
 * whole 2 MiB pages: a balloon page once all 512 frames of its page are in the balloon, a
 * reported or hinted block only for the 2 MiB pages inside it. So the host never keeps a half
 * discarded page whose other half the guest took back in the meantime (ember's mem_discard
 * has no way to be told that).
 *
 * Threads: every function runs with ember's instance lock held (ops, the timer, controls), so
 * nothing locks. Work per call is bounded: ember's pop budget per kick, and at most
 * BALLOON_PFNS_MAX frames per buffer.
 */
#ifndef EMBER_VIRTIO_BALLOON_H
#define EMBER_VIRTIO_BALLOON_H

#include <ember/virtio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Feature bits (5.5.3). */
#define BALLOON_F_MUST_TELL_HOST 0
#define BALLOON_F_STATS_VQ	 1
#define BALLOON_F_DEFLATE_ON_OOM 2
#define BALLOON_F_FREE_PAGE_HINT 3
#define BALLOON_F_PAGE_POISON	 4
#define BALLOON_F_REPORTING	 5

/* Queues are numbered densely: 0 inflate, 1 deflate, then stats, hint, reporting if offered. */
#define BALLOON_INFLATE_QUEUE 0
#define BALLOON_DEFLATE_QUEUE 1
#define BALLOON_QUEUE_MAX     5
#define BALLOON_QUEUE_SIZE    256u /* Linux wants >= 32 for reporting */

/* Config space (5.5.4), little-endian u32s. */
#define BALLOON_CFG_NUM_PAGES 0
#define BALLOON_CFG_ACTUAL    4
#define BALLOON_CFG_HINT_CMD  8
#define BALLOON_CFG_POISON    12
#define BALLOON_CONFIG_SIZE   16u

/* Free page hinting command ids: 0 and 1 are reserved, the host's runs count from 2. */
#define BALLOON_CMD_STOP  0u
#define BALLOON_CMD_DONE  1u
#define BALLOON_CMD_FIRST 2u

#define BALLOON_PAGE	   4096u
#define BALLOON_PAGE_SHIFT 12
#define BALLOON_HUGE	   (2u << 20)
#define BALLOON_HUGE_PFNS  (BALLOON_HUGE / BALLOON_PAGE) /* 512 */
/*
 * Frames per inflate/deflate buffer: Linux sends at most 256; more is refused as malformed
 * (it bounds the work and the stack array of one buffer).
 */
#define BALLOON_PFNS_MAX 1024u

/* Statistics (5.5.6.3): {le16 tag; le64 value} packed, 10 bytes; Linux 6.12 has 16 tags. */
#define BALLOON_STAT_BYTES 10u
#define BALLOON_STAT_TAGS  16u
/* A buffer longer than this many entries is refused as malformed. */
#define BALLOON_STAT_MAX 64u

#define BALLOON_MIB_MAX (1024 * 1024) /* amount_mib: up to 1 TiB, ember's largest guest */

/*
 * Which frames are in the balloon: a bit per 4 KiB frame, in 1 GiB chunks allocated on first
 * use (frame numbers are 32 bits: 16 TiB of guest-physical space, 16384 chunks), with a count
 * per 2 MiB page to know when a whole host page is in.
 */
#define BALLOON_CHUNK_SHIFT 18 /* frames per chunk: 2^18 = 1 GiB */
#define BALLOON_CHUNKS	    (1u << (32 - BALLOON_CHUNK_SHIFT))
struct balloon_chunk {
	uint64_t bits[(1u << BALLOON_CHUNK_SHIFT) / 64];
	uint16_t huge_count[(1u << BALLOON_CHUNK_SHIFT) / BALLOON_HUGE_PFNS];
	uint32_t count;
};

/* What 4 KiB discards do on this VM's RAM, learned from the first that cuts a 2 MiB page. */
enum balloon_grain {
	GRAIN_UNKNOWN = 0,
	GRAIN_4K,   /* every discarded byte is freed (anonymous, shared) */
	GRAIN_HUGE, /* only whole 2 MiB pages are freed (huge pages) */
};

/* Metrics, in desc.metrics order (balloon_main.c). */
struct balloon_stats_counters {
	uint64_t inflated;	 /* frames put in the balloon */
	uint64_t deflated;	 /* frames taken back */
	uint64_t freed_bytes;	 /* what mem_discard gave back to the host, every source */
	uint64_t reported_bytes; /* bytes of free page reports */
	uint64_t hinted_bytes;	 /* bytes of free page hints */
	uint64_t refused;	 /* frames or blocks not discarded: not RAM, not given, stale */
	uint64_t malformed;	 /* buffers ignored as malformed */
	uint64_t stats_updates;	 /* statistics buffers read */
	uint64_t discard_errors; /* mem_discard failures other than "not RAM" */
};

struct ember_instance {
	const struct ember_host *host;

	/* Options (amount_mib is the first target; the rest fixed at create). */
	bool deflate_on_oom;
	bool reporting;
	bool hinting;
	uint32_t stats_interval_s; /* 0: statistics off (no STATS_VQ); changes only 1.. <-> 1.. */

	/* Config space as the guest sees it. */
	uint32_t num_pages; /* the target, in 4 KiB pages */
	uint32_t actual;    /* the guest's count */
	uint32_t hint_cmd;  /* free_page_hint_cmd_id: the host's current command */
	uint32_t poison;    /* poison_val, written by the guest */

	/* What the driver negotiated: features and queue numbers (-1: not negotiated). */
	bool active;
	uint64_t features;
	int stats_queue, hint_queue, report_queue;

	/* The balloon's frames. */
	struct balloon_chunk **chunks; /* BALLOON_CHUNKS pointers */
	uint64_t pages;		       /* frames in the balloon now */
	enum balloon_grain grain;

	/* Statistics: the buffer the guest posted (held until the next poll), the last values. */
	struct ember_vq_chain *stats_chain;
	int stats_timer; /* -1: none */
	uint64_t stat_values[BALLOON_STAT_TAGS];
	uint32_t stat_seen; /* bit i: tag i was in a buffer */

	/* Free page hinting. */
	uint32_t next_cmd;  /* the id the next run gets */
	uint32_t guest_cmd; /* the last id the guest sent (STOP after a run) */
	bool hint_ack_on_stop;

	uint64_t last_warn_ns; /* one warning per BALLOON_WARN_NS, the rest only counted */
	struct balloon_stats_counters stats;
};

#define BALLOON_WARN_NS (10ULL * 1000000000ULL)

/* balloon_main.c */
/* One warning line about bad guest input at most every BALLOON_WARN_NS; the rest dropped. */
void balloon_warn(struct ember_instance *dev, const char *fmt, ...) EMBER_PRINTF(2, 3);
/*
 * Discards [gpa, gpa + len) (4 KiB aligned; RAM) the way the learned grain allows, counting
 * what came back. Returns the bytes freed.
 */
uint64_t balloon_discard(struct ember_instance *dev, uint64_t gpa, uint64_t len);

/* balloon_pages.c */
int balloon_pages_init(struct ember_instance *dev);
/* Empties the balloon (a reset: the new driver starts with none), freeing the chunks. */
void balloon_pages_clear(struct ember_instance *dev);
void balloon_pages_free(struct ember_instance *dev);
/* Serves the inflate (deflate false) or deflate queue until it is empty. */
void balloon_pages_serve(struct ember_instance *dev, uint32_t queue, bool deflate);
/* Whether frame pfn is in the balloon now (for tests of the invariants, and hints). */
bool balloon_pages_has(const struct ember_instance *dev, uint32_t pfn);

/* balloon_stats.c */
void balloon_stats_serve(struct ember_instance *dev);
/* (Re)arms the polling timer from stats_interval_s while the driver has the stats queue. */
void balloon_stats_arm(struct ember_instance *dev);
/* Cancels the timer and gives the held buffer back (reset, destroy). */
void balloon_stats_stop(struct ember_instance *dev);
/* Firecracker's name of statistics tag i, NULL for none. */
const char *balloon_stat_name(unsigned tag);

/* balloon_free.c */
void balloon_report_serve(struct ember_instance *dev);
void balloon_hint_serve(struct ember_instance *dev);
/* Whether discarding free pages keeps what the guest expects there (PAGE_POISON). */
bool balloon_free_discard_ok(const struct ember_instance *dev);

#endif
