/* SPDX-License-Identifier: Apache-2.0 */
#include "bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Index of the first region whose base is greater than addr. */
static size_t bus_upper_bound(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bus->regions[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_add(struct bus *bus, const struct bus_region *r)
{
	uint64_t last;
	size_t pos;

	if (r->size == 0 || __builtin_add_overflow(r->base, r->size - 1, &last))
		return -EINVAL;
	pos = bus_upper_bound(bus, r->base);
	if (pos > 0) {
		const struct bus_region *prev = &bus->regions[pos - 1];

		if (prev->base + (prev->size - 1) >= r->base)
			return -EEXIST;
	}
	if (pos < bus->count && bus->regions[pos].base <= last)
		return -EEXIST;
	if (bus->count == bus->capacity) {
		size_t cap = bus->capacity ? bus->capacity * 2 : 16;
		struct bus_region *n = realloc(bus->regions, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		bus->regions = n;
		bus->capacity = cap;
	}
	memmove(&bus->regions[pos + 1], &bus->regions[pos],
		(bus->count - pos) * sizeof(bus->regions[0]));
	bus->regions[pos] = *r;
	bus->count++;
	return 0;
}

const struct bus_region *bus_find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	const struct bus_region *r;
	uint64_t last;
	size_t pos;

	if (len == 0 || __builtin_add_overflow(addr, (uint64_t)len - 1, &last))
		return NULL;
	pos = bus_upper_bound(bus, addr);
	if (pos == 0)
		return NULL;
	r = &bus->regions[pos - 1];
	if (last - r->base > r->size - 1)
		return NULL;
	return r;
}

/*
 * Handlers are promised accesses of 1, 2, 4 or 8 bytes (bus.h; sdk/include/ember/device.h
 * promises plugins the same), but KVM's run->mmio.len is anything from 1 to 8: KVM cuts an
 * access that straddles a page at the boundary (an 8-byte load at page offset 0xffd exits as 3
 * bytes, then 5), and some operands have odd sizes (a far pointer, m16:32, is 6 bytes: ljmp,
 * lcall, lfs through memory). Linux drivers never do that to a device on purpose, but it is a
 * legal access, so rather than refuse it (reads of all ones, writes dropped) we split it into
 * naturally aligned pieces, lowest address first, each carrying its own bytes (little-endian:
 * byte i of the access is the byte at addr + i), as a chipset splits a transfer its bus cannot
 * carry at once. The guest then gets the same bytes as from a device that decodes every width,
 * each device sees only widths it already handles (a 3-byte write to a 4-byte register arrives
 * as a 2-byte and a 1-byte write, and the device treats them as it treats any narrow write),
 * and the usual sizes cost one test. Like hardware, a register with read side effects sees each
 * piece as one read.
 */
static uint32_t piece_len(uint64_t addr, uint32_t len, uint32_t done)
{
	uint32_t n = 8;

	if (done == 0 && (len == 1 || len == 2 || len == 4 || len == 8))
		return len; /* whole, even unaligned: alignment is the device's business */
	while (n > len - done || ((addr + done) & (n - 1)))
		n /= 2;
	return n;
}

bool bus_read(const struct bus *bus, uint64_t addr, void *data, uint32_t len)
{
	const struct bus_region *r = bus_find(bus, addr, len);
	uint8_t *bytes = data;

	if (!r || !r->read) {
		memset(data, 0xff, len);
		return r != NULL;
	}
	for (uint32_t done = 0, n; done < len; done += n) {
		n = piece_len(addr, len, done);
		r->read(r->opaque, addr + done - r->base, bytes + done, n);
	}
	return true;
}

bool bus_write(const struct bus *bus, uint64_t addr, const void *data, uint32_t len)
{
	const struct bus_region *r = bus_find(bus, addr, len);
	const uint8_t *bytes = data;

	if (!r)
		return false;
	for (uint32_t done = 0, n; r->write && done < len; done += n) {
		n = piece_len(addr, len, done);
		r->write(r->opaque, addr + done - r->base, bytes + done, n);
	}
	return true;
}

void bus_free(struct bus *bus)
{
	free(bus->regions);
	*bus = (struct bus){0};
}
