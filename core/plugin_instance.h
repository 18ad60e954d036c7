/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One device: a loaded plugin's instance, the host-services table (struct ember_host) it gets,
 * its virtio-mmio transport when it is a virtio device, and the per-device lock.
 *
 * The embedding (ember's VMM, or the test harness) provides a small platform table: interrupt
 * line, event loop, clock, guest-panic report and log sink. Everything else of the host table
 * (options, checked guest memory, queues, chains) is implemented here once, so the harness runs
 * exactly the code the VMM runs. No KVM here.
 *
 * Locking: every call into the plugin (MMIO/config accesses, notify, reset, activate, watch and
 * timer callbacks) happens with the instance's mutex held; the entry points below take it.
 * Host services never take it (a plugin calls them from inside its ops), so the platform must
 * never call a plugin_instance entry point from inside one of its own callbacks' callers
 * synchronously (e.g. watch_remove must not wait for a running callback).
 */
#ifndef EMBER_PLUGIN_INSTANCE_H
#define EMBER_PLUGIN_INSTANCE_H

#include <ember/device.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "plugin_loader.h"
#include "seccomp_install.h"

/* The platform calls these back on the event-loop thread, with the arg it was given. */
typedef void (*plugin_watch_cb)(void *arg, int id, uint32_t revents);
typedef void (*plugin_timer_cb)(void *arg, int id);

/*
 * What the embedding provides. Every function gets the instance's platform_opaque. All but log
 * may be NULL (the host service then fails with -ENOSYS or does nothing).
 */
struct plugin_platform {
	/* One line, already prefixed with the instance name, no newline. Any thread. */
	void (*log)(void *opaque, int level, const char *line);
	/*
	 * The device's interrupt line (its GSI): 1 raise, 0 lower. Any thread. With KVM: level 1
	 * writes the irqfd (KVM_IRQFD_FLAG_RESAMPLE on a level-triggered GSI); on the resamplefd,
	 * re-raise when plugin_instance_irq_pending() is still true.
	 */
	void (*irq_set)(void *opaque, int level);
	/*
	 * Event loop: level-triggered fd watches and one-shot timers. Return an id >= 0, never
	 * reused, or a negative errno. watch_remove/timer_cancel may be called from inside a
	 * callback and must not wait for one; a callback already dispatched may still run once
	 * (the instance ignores ids it no longer knows).
	 */
	int (*watch_add)(void *opaque, int fd, uint32_t events, plugin_watch_cb cb, void *arg);
	void (*watch_remove)(void *opaque, int id);
	int (*timer_start)(void *opaque, uint64_t delay_ns, plugin_timer_cb cb, void *arg);
	void (*timer_cancel)(void *opaque, int id);
	/* Monotonic nanoseconds (CLOCK_MONOTONIC in the VMM). Any thread. */
	uint64_t (*clock_ns)(void *opaque);
	/* The guest panicked: stop the VM and exit with status 3. Must not block on the device. */
	void (*guest_panic)(void *opaque, uint32_t events);
	/*
	 * ABI 1.2 services; NULL: the host service answers -ENOTSUP.
	 *
	 * devmem_alloc: main thread, from inside the plugin's create, at most once per instance
	 * (plugin_instance checks size, flags and "once"). Allocate `size` bytes (a multiple of
	 * 4 KiB) of zeroed, page-aligned memory, choose its guest-physical address outside RAM and
	 * map it for the guest (read-only when asked), and remember it for e820 and ACPI. Sets
	 * *host and *gpa; returns 0 or a negative errno. The platform owns and frees the memory
	 * after the instance is destroyed.
	 */
	int (*devmem_alloc)(void *opaque, uint64_t size, bool guest_readonly, void **host,
			    uint64_t *gpa);
	/*
	 * clock_pair: any thread. Fill out (struct_size already set by plugin_instance) with the
	 * guest TSC at one instant of `clock` (EMBER_CLOCK_REALTIME / _TAI), the TSC frequency and
	 * the TAI offset. Returns 0, -EINVAL or -ENOTSUP.
	 */
	int (*clock_pair)(void *opaque, uint32_t clock, struct ember_clock_pair *out);
};

struct plugin_instance_params {
	const struct plugin *plugin;	      /* must outlive the instance */
	const struct plugin_options *options; /* checked options; must outlive the instance */
	const char *name;		      /* "virtio-rng.0"; copied */
	const struct guest_mem *mem;	      /* must outlive the instance */
	const struct plugin_platform *platform;
	void *platform_opaque;
	/*
	 * The seccomp filter each thread the plugin starts with thread_start installs before its
	 * function runs (seccomp_install.h); must outlive the instance. NULL: none (seccomp off,
	 * or the test harness).
	 */
	const struct seccomp_prog *thread_filter;
};

struct plugin_instance;

/* Calls the plugin's create. Returns 0, or -1 with one line in err. Main thread. */
int plugin_instance_create(const struct plugin_instance_params *params,
			   struct plugin_instance **out, char *err, size_t err_size);

/*
 * Calls the plugin's destroy, then removes what it left behind (watches, timers) and logs each
 * leak. Returns the number of leaked resources (0 for a well-behaved plugin). Main thread,
 * after vCPUs and the event loop stopped calling into the instance.
 */
unsigned plugin_instance_destroy(struct plugin_instance *pi);

/* bus_read_fn / bus_write_fn for the device's window; opaque is the plugin_instance. */
void plugin_instance_mmio_read(void *opaque, uint64_t offset, void *data, uint32_t len);
void plugin_instance_mmio_write(void *opaque, uint64_t offset, const void *data, uint32_t len);

/* A QueueNotify that came through an ioeventfd (register at base + 0x50, datamatch = queue). */
void plugin_instance_queue_notify(struct plugin_instance *pi, uint32_t queue);

/* VM reset: the device returns to its power-on state. */
void plugin_instance_reset(struct plugin_instance *pi);

/* Virtio queues this instance offers (descriptor, or vq_set_limits in create); 0 for MMIO. */
uint32_t plugin_instance_queue_count(const struct plugin_instance *pi);

/* Whether the interrupt line should be up (for a resample). Any thread. */
bool plugin_instance_irq_pending(struct plugin_instance *pi);

/* Window size to map (a multiple of 4 KiB), DSDT _HID (NULL: no node), whether it has an IRQ. */
uint64_t plugin_instance_window_size(const struct plugin_instance *pi);
const char *plugin_instance_acpi_hid(const struct plugin_instance *pi);
bool plugin_instance_has_irq(const struct plugin_instance *pi);
const char *plugin_instance_name(const struct plugin_instance *pi);

/* The host table the plugin got (tests call services through it). */
const struct ember_host *plugin_instance_host(const struct plugin_instance *pi);

/*
 * ABI 1.2. The device memory the instance got from devmem_alloc: returns true with *gpa and
 * *size set, false when it has none. The ACPI _CID (NULL: none) and the resources its _CRS lists
 * (EMBER_ACPI_RES_*, never 0: the 1.1 default is filled in).
 */
bool plugin_instance_devmem(const struct plugin_instance *pi, uint64_t *gpa, uint64_t *size);
const char *plugin_instance_acpi_cid(const struct plugin_instance *pi);
uint32_t plugin_instance_acpi_resources(const struct plugin_instance *pi);

/*
 * ABI 1.2 runtime control, for the control plane (main/event-loop thread). Runs the request
 * `name` with arguments given as the inside of a libconfig group ("target_mib = 128;"; NULL or
 * "" for none), checked against the control's parameter table like a config group. On success
 * returns 0 and writes the reply's named values as "name = value;" lines into reply; on failure
 * returns a negative errno with one line in reply (-ENOENT no such request, -EINVAL bad
 * arguments, else the plugin's error and message).
 */
int plugin_instance_control(struct plugin_instance *pi, const char *name, const char *args,
			    char *reply, size_t reply_size);
/*
 * Metrics: how many the descriptor declares, the i-th's description, and a snapshot of all
 * values (count entries; returns how many were written). Any thread.
 */
uint32_t plugin_instance_metric_count(const struct plugin_instance *pi);
const struct ember_metric *plugin_instance_metric(const struct plugin_instance *pi, uint32_t i);
uint32_t plugin_instance_metrics_read(struct plugin_instance *pi, uint64_t *values, uint32_t count);

#endif
