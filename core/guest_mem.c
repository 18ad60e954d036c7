/* SPDX-License-Identifier: Apache-2.0 */
#include "guest_mem.h"

#include "layout.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_MEM_ALIGN	  (2ULL << 20)
#define GUEST_MEM_PAGE_4K (4ULL << 10)
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26) /* log2(2 MiB) << MFD_HUGE_SHIFT (linux/memfd.h) */
#endif
#define HUGE_PIECES (GUEST_MEM_HUGE_PAGE / GUEST_MEM_PAGE_4K) /* 512 */
#define HUGE_WORDS  (HUGE_PIECES / 64)

_Static_assert(LAYOUT_DEVICE_MEM_GPA >= LAYOUT_MMIO_GAP_START &&
		   LAYOUT_DEVICE_MEM_GPA + LAYOUT_DEVICE_MEM_SIZE <= LAYOUT_MMIO_GAP_END,
	       "device memory must lie in the MMIO hole, never in RAM");

const char *guest_mem_backing_name(enum guest_mem_backing backing)
{
	switch (backing) {
	case GUEST_MEM_ANON:
		return "anonymous";
	case GUEST_MEM_SHARED:
		return "shared";
	case GUEST_MEM_HUGETLB:
		return "hugetlb";
	}
	return "?";
}

/* A memfd of ram_bytes mapped shared, or MAP_FAILED with errno set. */
static void *map_memfd(struct guest_mem *mem, uint64_t ram_bytes, bool huge)
{
	unsigned flags = MFD_CLOEXEC | (huge ? MFD_HUGETLB | MFD_HUGE_2MB : 0);
	int fd = memfd_create(huge ? "ember-guest-ram-2m" : "ember-guest-ram", flags), err;
	void *p;

	if (fd < 0)
		return MAP_FAILED;
	if (ftruncate(fd, (off_t)ram_bytes) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return MAP_FAILED;
	}
	/*
	 * shmem: NORESERVE, as for anonymous RAM (untouched pages cost nothing). hugetlb: no
	 * NORESERVE, so mmap reserves the pool's pages now and fails cleanly when it is short; with
	 * NORESERVE the guest's first touch of a missing page would be a SIGBUS.
	 */
	p = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | (huge ? 0 : MAP_NORESERVE),
		 fd, 0);
	if (p == MAP_FAILED) {
		err = errno;
		close(fd);
		errno = err;
		return MAP_FAILED;
	}
	mem->fd = fd;
	return p;
}

int guest_mem_init_backed(struct guest_mem *mem, uint64_t ram_bytes, enum guest_mem_backing backing)
{
	uint64_t low = ram_bytes;
	void *p;
	int rc;

	*mem = (struct guest_mem){.fd = -1};
	if (ram_bytes == 0 || ram_bytes % GUEST_MEM_ALIGN || ram_bytes > (1ULL << 46))
		return -EINVAL;
	switch (backing) {
	case GUEST_MEM_ANON:
		/* NORESERVE: the guest touches what it uses; untouched RAM costs the host nothing.
		 */
		p = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		break;
	case GUEST_MEM_SHARED:
	case GUEST_MEM_HUGETLB:
		p = map_memfd(mem, ram_bytes, backing == GUEST_MEM_HUGETLB);
		break;
	default:
		return -EINVAL;
	}
	if (p == MAP_FAILED)
		return -errno;
	if (backing == GUEST_MEM_HUGETLB) {
		mem->huge = malloc(sizeof(*mem->huge));
		rc = mem->huge ? guest_huge_map_init(mem->huge, ram_bytes) : -ENOMEM;
		if (rc) {
			free(mem->huge);
			munmap(p, ram_bytes);
			close(mem->fd);
			*mem = (struct guest_mem){.fd = -1};
			return rc;
		}
	}
	/* Guest RAM is never useful in a core dump of the monitor, and may be large. */
	madvise(p, ram_bytes, MADV_DONTDUMP);
	/*
	 * Anonymous RAM gets transparent huge pages as the host's setting says (commonly always);
	 * shmem only when asked (shmem_enabled=advise takes this). Then the guest's first touch of
	 * 2 MiB is one fault, not 512. The balloon's 4 KiB holes split such a page and free the
	 * pages inside them (guest_mem_discard).
	 */
	if (backing == GUEST_MEM_SHARED)
		madvise(p, ram_bytes, MADV_HUGEPAGE);
	mem->mapping = p;
	mem->mapping_size = ram_bytes;
	mem->ram_bytes = ram_bytes;
	mem->backing = backing;
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

int guest_mem_init(struct guest_mem *mem, uint64_t ram_bytes)
{
	return guest_mem_init_backed(mem, ram_bytes, GUEST_MEM_ANON);
}

void guest_mem_free(struct guest_mem *mem)
{
	if (mem->mapping)
		munmap(mem->mapping, mem->mapping_size);
	if (mem->mapping && mem->backing != GUEST_MEM_ANON && mem->fd >= 0)
		close(mem->fd);
	if (mem->huge) {
		guest_huge_map_free(mem->huge);
		free(mem->huge);
	}
	*mem = (struct guest_mem){.fd = -1};
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

int guest_huge_map_init(struct guest_huge_map *m, uint64_t bytes)
{
	pthread_mutex_t *lock = malloc(sizeof(*lock));

	*m = (struct guest_huge_map){0};
	if (!lock)
		return -ENOMEM;
	m->pages = bytes / GUEST_MEM_HUGE_PAGE;
	/* calloc of a large map is fresh zero pages: only pages that get discarded cost memory. */
	m->bits = calloc(m->pages ? m->pages : 1, HUGE_WORDS * sizeof(uint64_t));
	if (!m->bits) {
		free(lock);
		*m = (struct guest_huge_map){0};
		return -ENOMEM;
	}
	pthread_mutex_init(lock, NULL);
	m->lock = lock;
	return 0;
}

void guest_huge_map_free(struct guest_huge_map *m)
{
	if (m->lock) {
		pthread_mutex_destroy(m->lock);
		free(m->lock);
	}
	free(m->bits);
	*m = (struct guest_huge_map){0};
}

/* Sets (set) or clears the bits of pieces [first, first + n) of one page's words. */
static void huge_bits_apply(uint64_t *w, unsigned first, unsigned n, bool set)
{
	while (n) {
		unsigned word = first / 64, bit = first % 64, take = 64 - bit;
		uint64_t mask;

		if (take > n)
			take = n;
		mask = (take == 64 ? ~0ULL : ((1ULL << take) - 1)) << bit;
		if (set)
			w[word] |= mask;
		else
			w[word] &= ~mask;
		first += take;
		n -= take;
	}
}

static bool huge_bits_full(const uint64_t *w)
{
	for (unsigned i = 0; i < HUGE_WORDS; i++)
		if (w[i] != ~0ULL)
			return false;
	return true;
}

/* The part of [*o, end) in one host page: its index, first piece and piece count; moves *o on. */
static bool next_part(uint64_t *o, uint64_t end, uint64_t *page, unsigned *first, unsigned *n)
{
	uint64_t in_page = *o % GUEST_MEM_HUGE_PAGE, take = GUEST_MEM_HUGE_PAGE - in_page;

	if (*o >= end)
		return false;
	if (take > end - *o)
		take = end - *o;
	*page = *o / GUEST_MEM_HUGE_PAGE;
	*first = (unsigned)(in_page / GUEST_MEM_PAGE_4K);
	*n = (unsigned)(take / GUEST_MEM_PAGE_4K);
	*o += take;
	return true;
}

static bool huge_range_ok(const struct guest_huge_map *m, uint64_t off, uint64_t len)
{
	uint64_t size = m->pages * GUEST_MEM_HUGE_PAGE;

	return m->bits && off % GUEST_MEM_PAGE_4K == 0 && len % GUEST_MEM_PAGE_4K == 0 &&
	       off <= size && len <= size - off;
}

int guest_huge_map_discard(struct guest_huge_map *m, uint64_t off, uint64_t len,
			   guest_huge_free_fn free_page, void *ctx, uint64_t *freed)
{
	uint64_t o = off, page;
	unsigned first, n;
	int rc = 0;

	*freed = 0;
	if (!huge_range_ok(m, off, len))
		return -EINVAL;
	pthread_mutex_lock(m->lock);
	while (next_part(&o, off + len, &page, &first, &n)) {
		uint64_t *w = &m->bits[page * HUGE_WORDS];

		huge_bits_apply(w, first, n, true);
		if (!huge_bits_full(w))
			continue;
		rc = free_page(ctx, page);
		if (rc)
			break;
		memset(w, 0, HUGE_WORDS * sizeof(*w));
		*freed += GUEST_MEM_HUGE_PAGE;
	}
	pthread_mutex_unlock(m->lock);
	return rc;
}

void guest_huge_map_forget(struct guest_huge_map *m, uint64_t off, uint64_t len)
{
	uint64_t o = off, page;
	unsigned first, n;

	if (!huge_range_ok(m, off, len))
		return;
	pthread_mutex_lock(m->lock);
	while (next_part(&o, off + len, &page, &first, &n))
		huge_bits_apply(&m->bits[page * HUGE_WORDS], first, n, false);
	pthread_mutex_unlock(m->lock);
}

unsigned guest_huge_map_count(struct guest_huge_map *m, uint64_t page)
{
	unsigned c = 0;

	if (!m->bits || page >= m->pages)
		return 0;
	pthread_mutex_lock(m->lock);
	for (unsigned i = 0; i < HUGE_WORDS; i++)
		c += (unsigned)__builtin_popcountll(m->bits[page * HUGE_WORDS + i]);
	pthread_mutex_unlock(m->lock);
	return c;
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

/*
 * A memfd: the hole frees the file's pages (shmem frees partial huge pages too) and every
 * mapping of it reads zeros there afterwards.
 */
static int punch(int fd, uint64_t off, uint64_t len)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return -errno;
	return 0;
}

static int punch_huge_page(void *ctx, uint64_t page)
{
	const int *fd = ctx;

	return punch(*fd, page * GUEST_MEM_HUGE_PAGE, GUEST_MEM_HUGE_PAGE);
}

int guest_mem_discard(const struct guest_mem *mem, uint64_t gpa, uint64_t len, uint64_t *freed)
{
	uint8_t *host;
	uint64_t off;
	int rc, fd = mem->fd;

	*freed = 0;
	if (gpa % GUEST_MEM_PAGE_4K || len % GUEST_MEM_PAGE_4K)
		return -EINVAL;
	if (len == 0)
		return 0;
	/* The whole range inside one region, no wrap: checked before anything is dropped. */
	host = guest_mem_ptr(mem, gpa, len);
	if (!host)
		return -EFAULT;
	off = (uint64_t)(host - (uint8_t *)mem->mapping);
	switch (mem->backing) {
	case GUEST_MEM_ANON:
		return discard_anon(host, len, freed);
	case GUEST_MEM_SHARED:
		rc = punch(mem->fd, off, len);
		if (!rc)
			*freed = len;
		return rc;
	case GUEST_MEM_HUGETLB:
		return guest_huge_map_discard(mem->huge, off, len, punch_huge_page, &fd, freed);
	}
	return -ENOTSUP; /* a backing this build does not know how to give back */
}

void guest_mem_forget(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint8_t *host = guest_mem_ptr(mem, gpa, len);

	if (host && mem->backing == GUEST_MEM_HUGETLB)
		guest_huge_map_forget(mem->huge, (uint64_t)(host - (uint8_t *)mem->mapping), len);
}

uint64_t guest_mem_end(const struct guest_mem *mem)
{
	const struct guest_mem_region *r = &mem->regions[mem->count - 1];

	return r->gpa + r->size;
}
