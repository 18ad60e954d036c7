/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test harness that drives any device plugin (or the bare transport) without KVM.
 *
 * It implements ember's platform table (core/plugin_instance.h) with fakes: guest RAM in two
 * GPA-adjacent regions at a non-zero base, each between PROT_NONE guard pages (an overrun
 * faults instead of passing silently, and a buffer across the two regions must be refused);
 * an interrupt line that counts raises; fd watches dispatched by harness_poll; one-shot timers
 * on a fake clock that only harness_advance moves (both kept in the core's registry,
 * plugin_callbacks.h, as in the VMM: only the waiting is the harness's own); a guest-panic
 * counter; a log buffer; and the ABI 1.2 platform services: device memory (zeroed pages between
 * guard pages, at a fake guest-physical address outside RAM) and a clock pair (a settable guest
 * TSC / realtime pair that moves with the fake clock). The device code under test is ember's
 * own (plugin loader, option checks, host table, transport, virtqueues), linked from the core's
 * device-host library.
 *
 * Built twice: for ember's own tests with EMBER_BUILD_ROOT (plugins named without a path are
 * searched in the build tree first), and without it inside the installed vendor kit
 * (libember-harness.a, whose public API is ember/harness.h; names then follow ember's own search:
 * the install folder).
 *
 * Single-threaded: tests call everything from one thread. Not for the VMM. No globals: several
 * harnesses may live in one process.
 */
#ifndef EMBER_TEST_HARNESS_H
#define EMBER_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "plugin_callbacks.h"
#include "plugin_instance.h"
#include "plugin_loader.h"

#define HARNESS_RAM0_GPA  0x40000000ULL
#define HARNESS_RAM0_SIZE (4ULL << 20)
#define HARNESS_RAM1_GPA  (HARNESS_RAM0_GPA + HARNESS_RAM0_SIZE) /* adjacent, separate mapping */
#define HARNESS_RAM1_SIZE (1ULL << 20)
#define HARNESS_MAX_CBS	  64
#define HARNESS_LOG_SIZE  16384
/* Where device memory appears to the guest: outside both RAM regions, 4 KiB aligned. */
#define HARNESS_DEVMEM_GPA 0xd0000000ULL

typedef void (*harness_mmio_read_fn)(void *opaque, uint64_t offset, void *data, uint32_t len);
typedef void (*harness_mmio_write_fn)(void *opaque, uint64_t offset, const void *data,
				      uint32_t len);

/*
 * A watch or timer: the registry's record (used, timer, id, fd, events, deadline_ns, the
 * callback and its arg), under the name the harness always gave it.
 */
#define harness_cb plugin_cb

struct harness {
	struct guest_mem mem;
	uint8_t *maps[2];
	size_t map_sizes[2];
	uint64_t alloc_next; /* bump allocator over region 0 */

	/* The fake platform. */
	uint64_t now_ns;
	int irq_level;
	unsigned irq_raises;
	unsigned panics;
	uint32_t panic_events;
	/* Watches and timers: the registry over cbs (read-only for tests: slots with .used). */
	struct harness_cb cbs[HARNESS_MAX_CBS];
	struct plugin_callbacks callbacks;
	char log[HARNESS_LOG_SIZE];
	size_t log_len;
	bool log_stderr; /* also print each line (as does HARNESS_VERBOSE=1 in the environment) */
	int fds_at_init;
	unsigned timers_fired; /* by harness_advance, since harness_init */

	/* ABI 1.2 devmem_alloc: at most one block per instance, freed by harness_destroy. */
	uint8_t *devmem_map; /* the mapping, guard pages included; NULL: none */
	size_t devmem_map_size;
	void *devmem;	     /* what the plugin got */
	uint64_t devmem_gpa; /* HARNESS_DEVMEM_GPA */
	uint64_t devmem_size;
	bool devmem_readonly;

	/*
	 * ABI 1.2 clock_pair: the pair at fake time clock_at_ns; a reading at now_ns moves both
	 * clocks by the time passed since (the TSC at tsc_hz). tsc_hz 0: -ENOTSUP.
	 */
	struct ember_clock_pair clock;
	uint64_t clock_at_ns;

	/* What MMIO helpers talk to: the instance after harness_create, or anything a test sets. */
	harness_mmio_read_fn mmio_read;
	harness_mmio_write_fn mmio_write;
	void *mmio_opaque;

	struct plugin *plugin;
	struct plugin_options *options;
	struct plugin_instance *dev;
};

extern const struct plugin_platform harness_platform;

/* Maps guest RAM and resets the fakes. Aborts the test on failure (test setup, not guest). */
void harness_init(struct harness *h);
/* The same, returning 0 or a negative errno (nothing left mapped) instead of aborting. */
int harness_try_init(struct harness *h);
/*
 * Destroys the device if any, unloads the plugin, unmaps RAM. Returns the resources leaked:
 * what plugin_instance_destroy reported, plus watches/timers still registered, plus fds
 * opened since harness_init and not closed.
 */
unsigned harness_fini(struct harness *h);

/*
 * Loads plugin `name` from the build tree (or a path containing '/'), checks `options` (the
 * inside of a libconfig device group, e.g. "rate_bytes_per_sec = 1024;") and creates an
 * instance named "<name>.0". Returns 0 or -1 with one line in err.
 */
int harness_create(struct harness *h, const char *name, const char *options, char *err,
		   size_t err_size);
/* The same, telling the failures apart: -EINVAL (plugin refused, options refused), -EIO (the
 * plugin's create failed). */
int harness_create_rc(struct harness *h, const char *name, const char *options, char *err,
		      size_t err_size);
/* Destroys the instance (keeps the plugin loaded) and frees its device memory; returns the leaks
 * it reported. */
unsigned harness_destroy(struct harness *h);

/* Guest RAM: a fresh zeroed range in region 0 (aborts when full), and host views of it. */
uint64_t harness_alloc(struct harness *h, uint64_t size, uint64_t align);
void *harness_ptr(struct harness *h, uint64_t gpa, uint64_t len);

uint32_t harness_read32(struct harness *h, uint64_t offset);
void harness_write32(struct harness *h, uint64_t offset, uint32_t v);
uint8_t harness_read8(struct harness *h, uint64_t offset);
void harness_write8(struct harness *h, uint64_t offset, uint8_t v);

/* Moves the fake clock forward, firing due timers in deadline order (clock set to each);
 * counts them in timers_fired. */
void harness_advance(struct harness *h, uint64_t ns);
/* Polls every watched fd once (no waiting) and runs the callbacks of ready ones. */
unsigned harness_poll(struct harness *h);
/* Watches plus timers registered now. */
unsigned harness_callbacks(const struct harness *h);

bool harness_log_contains(const struct harness *h, const char *needle);
void harness_log_clear(struct harness *h);

#endif
