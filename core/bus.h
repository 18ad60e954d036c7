/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An address space (MMIO or port I/O) as a sorted set of non-overlapping regions.
 *
 * Contract: regions are added on the main thread while the VM is built; once vCPUs run, the
 * bus is read-only and bus_read/bus_write may be called from any vCPU thread concurrently.
 * Each region's handlers do their own locking. Handlers get the offset inside their region
 * and an access of 1, 2, 4 or 8 bytes that lies fully inside the region: bus_read/bus_write
 * take any length (KVM's MMIO exits have 1 to 8 bytes) and split one of another length into
 * naturally aligned pieces of those sizes, lowest address first (bus.c says why).
 */
#ifndef EMBER_BUS_H
#define EMBER_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*bus_read_fn)(void *opaque, uint64_t offset, void *data, uint32_t len);
typedef void (*bus_write_fn)(void *opaque, uint64_t offset, const void *data, uint32_t len);

struct bus_region {
	uint64_t base;
	uint64_t size;
	bus_read_fn read;   /* may be NULL: reads as all ones */
	bus_write_fn write; /* may be NULL: writes are ignored */
	void *opaque;
	const char *name; /* for messages; not owned */
};

struct bus {
	struct bus_region *regions; /* sorted by base */
	size_t count;
	size_t capacity;
};

/* Adds a copy of *r. Returns 0, -EINVAL (empty or wrapping range), -EEXIST (overlap) or -ENOMEM. */
int bus_add(struct bus *bus, const struct bus_region *r);

/* The region holding [addr, addr+len), or NULL when none holds all of it. */
const struct bus_region *bus_find(const struct bus *bus, uint64_t addr, uint32_t len);

/*
 * Dispatch one access of len >= 1 bytes, data in guest (little-endian) byte order. Return false
 * when no region holds all of it (reads then return all ones; no piece reaches a handler).
 */
bool bus_read(const struct bus *bus, uint64_t addr, void *data, uint32_t len);
bool bus_write(const struct bus *bus, uint64_t addr, const void *data, uint32_t len);

void bus_free(struct bus *bus);

#endif
