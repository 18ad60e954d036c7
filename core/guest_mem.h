/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM: one mapping (anonymous, or a memfd: see guest_mem_backing), split into at most two
 * guest-physical regions around the 32-bit MMIO hole ([0, min(ram, 3 GiB)) and [4 GiB, 4 GiB +
 * rest)).
 *
 * Every access from device code goes through the checked helpers below: they refuse a range
 * that wraps, leaves RAM, or straddles two regions, and never hand out a base pointer without
 * checking the whole length. Safe to call from any thread once guest_mem_init returned; the
 * layout never changes while the VM runs.
 */
#ifndef EMBER_GUEST_MEM_H
#define EMBER_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

/*
 * How guest RAM is backed on the host (machine.memory_backing): it decides how guest_mem_discard
 * gives memory back, because what frees memory differs by backing (measured in
 * ../shared/reference/balloon.md):
 * - GUEST_MEM_ANON: MADV_DONTNEED frees at once; reads then give zero pages.
 * - GUEST_MEM_SHARED, a memfd (for out-of-process devices later): MADV_DONTNEED only drops
 *   this process's page tables and the memfd keeps the pages, so the discard punches a hole
 *   (fallocate(PUNCH_HOLE | KEEP_SIZE)) at the range's offset; reads then give zeros. Mapped
 *   with MADV_HUGEPAGE (shmem's transparent huge pages where the host allows them); a hole
 *   inside one splits it.
 * - GUEST_MEM_HUGETLB, a hugetlbfs memfd of 2 MiB pages: a 4 KiB discard is a silent no-op for
 *   the kernel, so guest_huge_map keeps a bitmap of the discarded 4 KiB pieces of each host
 *   page, and a huge page is punched out only once all 512 are discarded; *freed counts only
 *   those. guest_mem_forget clears pieces the guest uses again.
 * A private file mapping (a restored snapshot) is not a backing yet: MADV_DONTNEED would bring
 * the file's data back there; it must map fresh anonymous memory over the range (MAP_FIXED).
 */
enum guest_mem_backing {
	GUEST_MEM_ANON = 0,    /* one MAP_PRIVATE | MAP_ANONYMOUS mapping (THP where advised) */
	GUEST_MEM_SHARED = 1,  /* a memfd mapped MAP_SHARED */
	GUEST_MEM_HUGETLB = 2, /* a MFD_HUGETLB | MFD_HUGE_2MB memfd mapped MAP_SHARED */
};

#define GUEST_MEM_HUGE_PAGE (2ULL << 20)

/*
 * The hugetlb bookkeeping, apart from the memory so that it can be tested on a host without
 * huge pages: 512 bits per 2 MiB host page, a set bit a 4 KiB piece discarded while the page is
 * still allocated. Offsets are bytes into the backing (the memfd). Thread-safe (its own lock).
 */
struct guest_huge_map {
	uint64_t *bits; /* pages * 8 words */
	uint64_t pages;
	void *lock; /* a pthread_mutex_t, allocated with the map */
};

/* Called for each host page that became wholly discarded; returns 0 or a negative errno. */
typedef int (*guest_huge_free_fn)(void *ctx, uint64_t page);

int guest_huge_map_init(struct guest_huge_map *m, uint64_t bytes);
void guest_huge_map_free(struct guest_huge_map *m);
/*
 * Marks [off, off + len) (4 KiB aligned, inside the map) discarded and calls free_page for each
 * page all of whose pieces are now discarded, clearing its bits when that succeeds. Sets
 * *freed to 2 MiB per page freed. Returns 0, or the first free_page error (its page keeps its
 * bits; the pages before it stay freed).
 */
int guest_huge_map_discard(struct guest_huge_map *m, uint64_t off, uint64_t len,
			   guest_huge_free_fn free_page, void *ctx, uint64_t *freed);
/* Forgets the discarded pieces in [off, off + len): the guest may write them again. */
void guest_huge_map_forget(struct guest_huge_map *m, uint64_t off, uint64_t len);
/* How many pieces of page are marked now (0..512), for tests and metrics. */
unsigned guest_huge_map_count(struct guest_huge_map *m, uint64_t page);

struct guest_mem {
	struct guest_mem_region regions[2];
	unsigned count;
	uint64_t ram_bytes;
	void *mapping; /* owns all regions; region offsets into it are offsets into fd */
	size_t mapping_size;
	enum guest_mem_backing backing;
	int fd;			     /* SHARED, HUGETLB: the memfd (meaningless for ANON) */
	struct guest_huge_map *huge; /* HUGETLB only: shared state behind its lock */
};

/* Maps ram_bytes (a multiple of 2 MiB) of anonymous RAM. Returns 0 or a negative errno. */
int guest_mem_init(struct guest_mem *mem, uint64_t ram_bytes);
/*
 * The same with any backing. SHARED and HUGETLB create a memfd (close-on-exec; ember keeps it
 * for discards). HUGETLB reserves every huge page at the start, so a host whose pool
 * (/proc/sys/vm/nr_hugepages) is too small fails here (-ENOMEM) rather than with a SIGBUS when
 * the guest first touches a page; memfd_create's -EINVAL or -ENOSYS means no hugetlbfs.
 */
int guest_mem_init_backed(struct guest_mem *mem, uint64_t ram_bytes,
			  enum guest_mem_backing backing);
/* "anonymous", "shared", "hugetlb": the config's names. */
const char *guest_mem_backing_name(enum guest_mem_backing backing);
void guest_mem_free(struct guest_mem *mem);

/* Host pointer for [gpa, gpa+len) when all of it is RAM in one region, else NULL. len 0 is NULL. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy to/from guest RAM. Return 0, or -EFAULT when any byte of the range is not RAM. */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);

/*
 * Hints that [gpa, gpa+len) (widened to 2 MiB boundaries, clipped to its region) will be used
 * whole, so the host may back it with transparent huge pages. For ranges ember fills at boot
 * (kernel, initrd): filling them then takes a few faults instead of thousands, and the guest
 * uses every page of them anyway. Best effort: errors are ignored.
 */
void guest_mem_advise_huge(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/*
 * ember_host.mem_discard: releases the host memory behind [gpa, gpa+len) (4 KiB aligned, all
 * RAM in one region) the way guest RAM is backed, and sets *freed to the bytes given back
 * (whole host pages only: with HUGETLB a page counts once its last piece is discarded, maybe
 * by an earlier call). Returns 0, -EINVAL (alignment), -EFAULT (not RAM; nothing done) or the
 * errno of madvise/fallocate. *freed is 0 on failure and for len 0. Device memory is never RAM
 * here. Any thread.
 *
 * HUGETLB limit: the ABI has no call by which a device says the guest took pieces back (a
 * deflate, a returned free-page report), so pieces a device discards and then hands back stay
 * marked, and a later discard of the rest of their page would free what the guest wrote since.
 * A device that hands pages back must therefore discard whole 2 MiB pages on a backing whose
 * 4 KiB discards free nothing (it sees that in *freed); the balloon does.
 */
int guest_mem_discard(const struct guest_mem *mem, uint64_t gpa, uint64_t len, uint64_t *freed);
/* Forgets discarded-but-kept HUGETLB pieces of [gpa, gpa+len) (RAM); no-op for other backings. */
void guest_mem_forget(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* The highest guest-physical address + 1 of RAM. */
uint64_t guest_mem_end(const struct guest_mem *mem);

#endif
