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

bool bus_read(const struct bus *bus, uint64_t addr, void *data, uint32_t len)
{
	const struct bus_region *r = bus_find(bus, addr, len);

	if (!r || !r->read) {
		memset(data, 0xff, len);
		return r != NULL;
	}
	r->read(r->opaque, addr - r->base, data, len);
	return true;
}

bool bus_write(const struct bus *bus, uint64_t addr, const void *data, uint32_t len)
{
	const struct bus_region *r = bus_find(bus, addr, len);

	if (!r)
		return false;
	if (r->write)
		r->write(r->opaque, addr - r->base, data, len);
	return true;
}

void bus_free(struct bus *bus)
{
	free(bus->regions);
	*bus = (struct bus){0};
}
