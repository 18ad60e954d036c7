/* SPDX-License-Identifier: Apache-2.0 */
#include "guest_mem.h"

#include "layout.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define GUEST_MEM_ALIGN	  (2ULL << 20)
#define GUEST_MEM_PAGE_4K (4ULL << 10)

_Static_assert(LAYOUT_DEVICE_MEM_GPA >= LAYOUT_MMIO_GAP_START &&
		   LAYOUT_DEVICE_MEM_GPA + LAYOUT_DEVICE_MEM_SIZE <= LAYOUT_MMIO_GAP_END,
	       "device memory must lie in the MMIO hole, never in RAM");

int guest_mem_init(struct guest_mem *mem, uint64_t ram_bytes)
{
	uint64_t low = ram_bytes;
	void *p;

	*mem = (struct guest_mem){0};
	if (ram_bytes == 0 || ram_bytes % GUEST_MEM_ALIGN || ram_bytes > (1ULL << 46))
		return -EINVAL;
	/* NORESERVE: the guest touches what it uses; untouched RAM costs the host nothing. */
	p = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* Guest RAM is never useful in a core dump of the monitor, and may be large. */
	madvise(p, ram_bytes, MADV_DONTDUMP);
	mem->mapping = p;
	mem->mapping_size = ram_bytes;
	mem->ram_bytes = ram_bytes;
	mem->backing = GUEST_MEM_ANON;
	if (low > LAYOUT_MMIO_GAP_START)
		low = LAYOUT_MMIO_GAP_START;
	mem->regions[0] = (struct guest_mem_region){.gpa = 0, .size = low, .host = p};
	mem->count = 1;
	if (ram_bytes > low) {
		mem->regions[1] = (struct guest_mem_region){
		    .gpa = LAYOUT_MMIO_GAP_END,
		    .size = ram_bytes - low,
		    .host = (uint8_t *)p + low,
		};
		mem->count = 2;
	}
	return 0;
}

void guest_mem_free(struct guest_mem *mem)
{
	if (mem->mapping)
		munmap(mem->mapping, mem->mapping_size);
	*mem = (struct guest_mem){0};
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t last;

	if (len == 0 || __builtin_add_overflow(gpa, len - 1, &last))
		return NULL;
	for (unsigned i = 0; i < mem->count; i++) {
		const struct guest_mem_region *r = &mem->regions[i];

		if (gpa >= r->gpa && last - r->gpa < r->size)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *src;

	if (len == 0)
		return 0;
	src = guest_mem_ptr(mem, gpa, len);
	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst;

	if (len == 0)
		return 0;
	dst = guest_mem_ptr(mem, gpa, len);
	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

void guest_mem_advise_huge(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < mem->count; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		uint64_t lo = gpa & ~(GUEST_MEM_ALIGN - 1), hi, end = r->gpa + r->size;

		if (len == 0 || __builtin_add_overflow(gpa, len, &hi))
			return;
		hi = (hi + GUEST_MEM_ALIGN - 1) & ~(GUEST_MEM_ALIGN - 1);
		if (lo < r->gpa)
			lo = r->gpa;
		if (hi > end)
			hi = end;
		if (lo < hi)
			madvise(r->host + (lo - r->gpa), hi - lo, MADV_HUGEPAGE);
	}
}

/*
 * Anonymous private memory: MADV_DONTNEED drops the pages at once and later reads fault in
 * zero pages. Where the range cuts a transparent huge page, the kernel splits it and frees the
 * 4 KiB pages inside the range, so every byte of it counts as given back.
 */
static int discard_anon(uint8_t *host, uint64_t len, uint64_t *freed)
{
	if (madvise(host, len, MADV_DONTNEED) < 0)
		return -errno;
	*freed = len;
	return 0;
}

int guest_mem_discard(const struct guest_mem *mem, uint64_t gpa, uint64_t len, uint64_t *freed)
{
	uint8_t *host;

	*freed = 0;
	if (gpa % GUEST_MEM_PAGE_4K || len % GUEST_MEM_PAGE_4K)
		return -EINVAL;
	if (len == 0)
		return 0;
	/* The whole range inside one region, no wrap: checked before anything is dropped. */
	host = guest_mem_ptr(mem, gpa, len);
	if (!host)
		return -EFAULT;
	switch (mem->backing) {
	case GUEST_MEM_ANON:
		return discard_anon(host, len, freed);
	}
	return -ENOTSUP; /* a backing this build does not know how to give back */
}

uint64_t guest_mem_end(const struct guest_mem *mem)
{
	const struct guest_mem_region *r = &mem->regions[mem->count - 1];

	return r->gpa + r->size;
}
