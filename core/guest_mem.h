/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM: one anonymous mapping, split into at most two guest-physical regions around the
 * 32-bit MMIO hole ([0, min(ram, 3 GiB)) and [4 GiB, 4 GiB + rest)).
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
 * How guest RAM is backed on the host: it decides how guest_mem_discard gives memory back.
 * Only GUEST_MEM_ANON exists today. Kinds that later work adds must, in guest_mem_discard:
 * - a shared memfd (out-of-process devices): MADV_DONTNEED only drops this process's page
 *   tables and the memfd keeps the pages, so punch a hole instead (fallocate(PUNCH_HOLE |
 *   KEEP_SIZE) on the memfd's offset, or MADV_REMOVE); reads then give zeros.
 * - hugetlb 2 MiB pages: a 4 KiB discard is a silent no-op for the kernel, so keep a bitmap of
 *   discarded 4 KiB pieces per host page and free a huge page (fallocate PUNCH_HOLE on the
 *   hugetlbfs file) only once all 512 are discarded; *freed counts only those. The bitmap
 *   must forget pieces the guest may use again (a deflate, a free-page report handed back),
 *   or a later discard of the rest would free data the guest wrote since.
 * - a private file mapping (a restored snapshot): MADV_DONTNEED would bring the file's data
 *   back; map fresh anonymous memory over the range (MAP_FIXED) instead.
 * (../shared/reference/balloon.md has the measurements behind these rules.)
 */
enum guest_mem_backing {
	GUEST_MEM_ANON = 0, /* one MAP_PRIVATE | MAP_ANONYMOUS mapping (THP where advised) */
};

struct guest_mem {
	struct guest_mem_region regions[2];
	unsigned count;
	uint64_t ram_bytes;
	void *mapping; /* owns all regions */
	size_t mapping_size;
	enum guest_mem_backing backing;
};

/* Maps ram_bytes (a multiple of 2 MiB) of RAM. Returns 0 or a negative errno. */
int guest_mem_init(struct guest_mem *mem, uint64_t ram_bytes);
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
 * (whole host pages inside the range only). Returns 0, -EINVAL (alignment) or -EFAULT (not
 * RAM; nothing done). *freed is 0 on failure and for len 0. Device memory is never RAM here.
 * Any thread.
 */
int guest_mem_discard(const struct guest_mem *mem, uint64_t gpa, uint64_t len, uint64_t *freed);

/* The highest guest-physical address + 1 of RAM. */
uint64_t guest_mem_end(const struct guest_mem *mem);

#endif
