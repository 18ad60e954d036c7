/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ember device test kit: drive a device plugin (.so) from a unit test, without KVM and
 * without a guest, through exactly the code ember runs (its loader, option checks, host-services
 * table, virtio-mmio transport and virtqueues).
 *
 * Link with libember-harness.a: `pkg-config --cflags --libs ember-harness` (sdk/HARNESS.md).
 * This header is the whole API; it needs nothing of ember's sources.
 *
 * What a harness is: one fake machine with one device slot.
 * - Guest RAM: two guest-physical regions, adjacent but separately mapped, at a non-zero base,
 *   each between inaccessible guard pages (an overrun faults instead of passing silently, and a
 *   buffer across the two regions is refused by ember as it would be in a VM). Tests allocate
 *   buffers in it with ember_harness_alloc.
 * - One plugin, loaded from a file, and at most one instance of it at a time.
 * - A fake platform: an interrupt line that counts raises, fd watches run by ember_harness_poll,
 *   one-shot timers on a fake monotonic clock that only ember_harness_advance moves (it starts at
 *   1 s), a guest-panic counter, a log buffer, device memory (ABI 1.2 devmem_alloc: zeroed pages
 *   between guard pages at a fake guest-physical address outside RAM) and a clock pair (ABI 1.2
 *   clock_pair: a settable guest TSC / realtime pair that moves with the fake clock).
 * - The driver's side of virtio-mmio: the status handshake, queue setup, and virtqueues whose
 *   rings live in guest RAM, written the way a guest driver writes them.
 *
 * Threads: single-threaded. Call every function of one harness from one thread (the test's);
 * timer and watch callbacks of the plugin run inside ember_harness_advance / ember_harness_poll
 * on that thread. A plugin's own threads may use the services the SDK allows them (log, irq_set,
 * clock_ns, clock_pair, device memory). There are no globals: several harnesses may live in one
 * process, each with its own plugin instance.
 *
 * Return conventions, the same throughout:
 * - int functions return 0 (or a count, or 1/0 where stated) on success and a negative errno on
 *   failure; then ember_harness_error() has one line saying why (not for ember_harness_new,
 *   which has no harness yet, nor for the const ember_harness_ram). ember_harness_alloc returns
 *   a guest-physical address, 0 on failure (with the message). The errnos:
 *     -EINVAL  a bad argument, or ember refused it (options, plugin file, queue size, ...)
 *     -EPERM   out of order: no plugin loaded, no instance, not a virtio device
 *     -EBUSY   already done: a plugin is loaded, an instance exists
 *     -ENOENT  no such file, control or metric
 *     -ENOSPC  the fake machine is full (guest RAM, descriptors)
 *     -EFAULT  a guest range that is not all RAM
 *     -EIO     the device failed: its create or activate returned an error, NEEDS_RESET
 *   and others from the system (-ENOMEM) or passed through from the plugin (controls).
 * - unsigned functions return counts and cannot fail.
 * - Pointers returned are owned by the harness and valid until the call that the function's
 *   comment names (at the latest ember_harness_free); NULL means "none" or a failure.
 * - Passing a NULL harness or vq is a programming error (the functions do not check).
 */
#ifndef EMBER_HARNESS_H
#define EMBER_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ember_harness;	 /* one fake machine; opaque */
struct ember_harness_vq; /* the driver's side of one virtqueue; opaque, owned by the harness */

/* ---- Lifetime ------------------------------------------------------------------------------ */

/*
 * Makes a harness: maps the fake guest RAM, resets every fake. Returns 0 with *out set, or a
 * negative errno (-ENOMEM) with *out NULL.
 */
int ember_harness_new(struct ember_harness **out);

/*
 * Destroys the instance if there is one, unloads the plugin, unmaps guest RAM and frees h.
 * Returns the resources leaked, 0 for a well-behaved plugin: what ember found left behind at
 * the instance's destroy (watches, timers, descriptor chains not pushed back), plus watches and
 * timers still registered, plus file descriptors opened since ember_harness_new and not closed.
 * The fd count is process-wide: close the test's own fds before, and free overlapping harnesses
 * in the reverse order of their creation. NULL is allowed (returns 0).
 */
unsigned ember_harness_free(struct ember_harness *h);

/*
 * The last failure's message, one line without newline ("" before any failure). Valid until
 * the next call on h.
 */
const char *ember_harness_error(const struct ember_harness *h);

/* ---- The plugin and its instance ----------------------------------------------------------- */

/*
 * Loads the plugin in file `path` with ember's loader (a name without '/' means a file in the
 * current folder) and checks it as `ember run` would: ABI version, descriptor, option table,
 * ABI 1.2 controls, metrics and syscall rules. Returns 0; -ENOENT (no such file), -EINVAL
 * (refused; the message says why, naming the file), -EBUSY (a plugin is already loaded: use a
 * new harness for another plugin).
 */
int ember_harness_load(struct ember_harness *h, const char *path);

/*
 * Creates the instance, named "NAME.0", from `options`: the inside of the device's config group
 * in ember's config syntax, e.g. "rate = 5; path = \"x.img\";" (NULL or "" for none). The
 * options are checked against the plugin's table exactly as a VM config is (unknown key, wrong
 * type, out of range, missing required option: the message names the key, as in
 * "harness.cfg:3: devices[0].rate: ..."); relative paths resolve against the current folder.
 * Returns 0; -EINVAL (options refused: the plugin never ran), -EIO (the plugin's create
 * failed; its own log lines are in the log), -EPERM (no plugin loaded), -EBUSY (an instance
 * exists).
 */
int ember_harness_create(struct ember_harness *h, const char *options);

/*
 * Destroys the instance (the plugin stays loaded: create may be called again) and frees its
 * device memory and virtqueues. Returns the leaks ember found at its destroy (watches, timers,
 * descriptor chains); 0 when there is no instance.
 */
unsigned ember_harness_destroy(struct ember_harness *h);

/*
 * The device's reset, as a VM reset does it (for virtio, the transport's reset, which resets the
 * device; the driver then negotiates and sets its queues up again). Returns 0, or -EPERM (no
 * instance).
 */
int ember_harness_reset(struct ember_harness *h);

/*
 * The host-services table the instance got, for calling services directly (e.g. opt_int).
 * NULL when there is no instance; valid until ember_harness_destroy.
 */
const struct ember_host *ember_harness_host(const struct ember_harness *h);

/* ---- MMIO (the device's window; for virtio devices, the virtio-mmio registers) ------------- */

/*
 * An access of len 1, 2, 4 or 8 bytes at offset in the window, as a vCPU would make it (the
 * value little-endian, zero-extended). What a vCPU would get for a register the device does not
 * decode, the test gets too (all ones past a plain device's mmio_size, zero for a virtio-mmio
 * register read of the wrong width). Returns 0; -EINVAL (len, or the access leaves the 4 KiB
 * aligned window ember would map), -EPERM (no instance). A failed read sets *value to all ones.
 */
int ember_harness_mmio_read(struct ember_harness *h, uint64_t offset, uint32_t len,
			    uint64_t *value);
int ember_harness_mmio_write(struct ember_harness *h, uint64_t offset, uint32_t len,
			     uint64_t value);

/* Shorthands: the value read (all ones on failure), and writes whose errors are ignored. */
static inline uint32_t ember_harness_read32(struct ember_harness *h, uint64_t offset)
{
	uint64_t v;

	ember_harness_mmio_read(h, offset, 4, &v);
	return (uint32_t)v;
}
static inline void ember_harness_write32(struct ember_harness *h, uint64_t offset, uint32_t value)
{
	ember_harness_mmio_write(h, offset, 4, value);
}

/* ---- Guest RAM ----------------------------------------------------------------------------- */

/*
 * Guest-physical region i (0 or 1) of RAM: 0 with *gpa and *size set, -EINVAL for another i.
 * Region 1 starts where region 0 ends but is mapped separately.
 */
int ember_harness_ram(const struct ember_harness *h, unsigned i, uint64_t *gpa, uint64_t *size);

/*
 * A fresh zeroed range of size bytes in region 0, aligned to align (a power of two; 0 means 1).
 * Returns its guest-physical address, or 0 (never a RAM address) when RAM is full or align is
 * not a power of two. Nothing is ever freed: RAM lives as long as the harness.
 */
uint64_t ember_harness_alloc(struct ember_harness *h, uint64_t size, uint64_t align);

/* A host pointer to [gpa, gpa + len) when all of it is RAM in one region, else NULL. */
void *ember_harness_ptr(struct ember_harness *h, uint64_t gpa, uint64_t len);

/* Copies to or from guest RAM. Return 0, or -EFAULT (nothing copied) when not all RAM. */
int ember_harness_mem_read(struct ember_harness *h, uint64_t gpa, void *dst, uint64_t len);
int ember_harness_mem_write(struct ember_harness *h, uint64_t gpa, const void *src, uint64_t len);

/*
 * The instance's device memory (ABI 1.2 devmem_alloc): the host pointer (what the plugin got,
 * readable and writable by the test whatever the guest may do), or NULL when the instance has
 * none. gpa, size and flags (EMBER_DEVMEM_*) may be NULL. Valid until ember_harness_destroy.
 */
void *ember_harness_devmem(struct ember_harness *h, uint64_t *gpa, uint64_t *size, uint32_t *flags);

/* ---- The fake platform ---------------------------------------------------------------------- */

/* The fake monotonic clock (host->clock_ns), in nanoseconds. */
uint64_t ember_harness_now(const struct ember_harness *h);

/*
 * Moves the fake clock forward by ns, running every timer that falls due, in deadline order, with
 * the clock set to each one's deadline (timers a callback starts run too when due). Returns how
 * many ran.
 */
unsigned ember_harness_advance(struct ember_harness *h, uint64_t ns);

/*
 * Polls every watched fd once, without waiting, and runs the callbacks of the ready ones.
 * Returns how many ran.
 */
unsigned ember_harness_poll(struct ember_harness *h);

/* Watches plus timers registered now. */
unsigned ember_harness_pending(const struct ember_harness *h);

/*
 * What host->clock_pair answers from now on: pair's values stand for the current fake time and
 * move with the fake clock (the TSC at pair->tsc_hz, the host clock in nanoseconds); flags and
 * tai_offset are returned as given, sec/nsec as the realtime (UTC) clock. tsc_hz 0 makes
 * clock_pair answer -ENOTSUP (a host without TSC pairing). Returns 0, or -EINVAL (nsec
 * >= 1e9). The default: a 2 GHz TSC, 1700000000 s, TAI offset 37, EMBER_CLOCK_PAIR_PRECISE.
 */
int ember_harness_set_clock_pair(struct ember_harness *h, const struct ember_clock_pair *pair);

/* Times the device raised its interrupt line (0 -> 1 and 1 -> 1), and the line's level now. */
unsigned ember_harness_irq_raises(const struct ember_harness *h);
int ember_harness_irq_level(const struct ember_harness *h);

/* Guest panics the device reported (host->guest_panic); *events (may be NULL): the last bits. */
unsigned ember_harness_panics(const struct ember_harness *h, uint32_t *events);

/*
 * The log: every line ember and the plugin wrote, prefixed with the instance name, one per
 * '\n' (when 16 KiB fill up, older lines are dropped). Valid until the next call on h.
 * set_log_stderr also prints each line to stderr (HARNESS_VERBOSE=1 in the environment does
 * it for every harness).
 */
const char *ember_harness_log(const struct ember_harness *h);
bool ember_harness_log_contains(const struct ember_harness *h, const char *needle);
void ember_harness_log_clear(struct ember_harness *h);
void ember_harness_set_log_stderr(struct ember_harness *h, bool on);

/* ---- Runtime control and metrics (ABI 1.2) ------------------------------------------------- */

/*
 * Runs the device's control `name` (desc.controls) with args in config syntax
 * ("target_mib = 128;"; NULL or "" for none), checked against its parameter table as ember's
 * control plane does. On success returns 0 and writes the reply's named values into reply as
 * "name = value;" lines; on failure returns a negative errno with one line in reply (and in
 * ember_harness_error): -ENOENT (no such control), -EINVAL (bad arguments), -EPERM (no
 * instance), or the plugin's own error. reply may be NULL when reply_size is 0.
 */
int ember_harness_control(struct ember_harness *h, const char *name, const char *args, char *reply,
			  size_t reply_size);

/*
 * Metrics (desc.metrics): ember_harness_metrics writes the current values of the first count in
 * table order and returns how many it wrote (the device's metric count at most), or -EPERM (no
 * instance). ember_harness_metric reads one by name: 0 with *value set, -ENOENT, -EPERM.
 */
int ember_harness_metrics(struct ember_harness *h, uint64_t *values, uint32_t count);
int ember_harness_metric(struct ember_harness *h, const char *name, uint64_t *value);

/* ---- The virtio driver ---------------------------------------------------------------------- */

/* Device status bits (virtio 1.x, 2.1), as ember_harness_virtio_status returns them. */
#define EMBER_HARNESS_STATUS_ACKNOWLEDGE 0x01u
#define EMBER_HARNESS_STATUS_DRIVER	 0x02u
#define EMBER_HARNESS_STATUS_DRIVER_OK	 0x04u
#define EMBER_HARNESS_STATUS_FEATURES_OK 0x08u
#define EMBER_HARNESS_STATUS_NEEDS_RESET 0x40u
#define EMBER_HARNESS_STATUS_FAILED	 0x80u

/*
 * The driver's handshake, in this order: negotiate, vq_setup for each queue, driver_ok.
 * All return -EPERM when the instance is not a virtio device (or there is none).
 *
 * virtio_features: the features the device offers (the plugin's plus ember's transport bits,
 * e.g. 1 << EMBER_VIRTIO_F_VERSION_1). negotiate: resets the device, then ACKNOWLEDGE, DRIVER,
 * writes features, FEATURES_OK; returns 0, or -EINVAL when the device refused them
 * (FEATURES_OK did not stay set: VERSION_1 missing, or a bit it does not offer). Being a reset,
 * it leaves every queue to be set up again (the vq handles stay valid).
 */
int ember_harness_virtio_features(struct ember_harness *h, uint64_t *features);
int ember_harness_virtio_negotiate(struct ember_harness *h, uint64_t features);
/*
 * Allocates zeroed rings for queue index of size entries in guest RAM and programs them
 * (QueueSel, QueueNum, addresses, QueueReady). size: a power of two, at most the device's
 * QueueNumMax. Returns 0 with *out set (owned by the harness, valid until
 * ember_harness_destroy; setting the same index up again, e.g. after a reset, reprograms the same
 * handle with fresh rings and no chain in flight), -EINVAL (no such queue, bad size, or the
 * device did not take it), -ENOSPC (guest RAM full), -EPERM (no virtio instance).
 */
int ember_harness_vq_setup(struct ember_harness *h, uint32_t index, uint32_t size,
			   struct ember_harness_vq **out);
/* Sets DRIVER_OK. Returns 0, or -EIO when the device shows NEEDS_RESET (its activate failed). */
int ember_harness_driver_ok(struct ember_harness *h);
/* The Status register (EMBER_HARNESS_STATUS_*); 0 without a virtio instance. */
uint32_t ember_harness_virtio_status(struct ember_harness *h);
/*
 * Reads InterruptStatus and acknowledges those bits (1: used buffer, 2: configuration change),
 * as a guest's interrupt handler does. Returns 0 with *status set (may be NULL).
 */
int ember_harness_virtio_irq_ack(struct ember_harness *h, uint32_t *status);
/* Device config space: accesses of len 1, 2, 4 or 8 at offset (as mmio_read/mmio_write). */
int ember_harness_virtio_config_read(struct ember_harness *h, uint32_t offset, uint32_t len,
				     uint64_t *value);
int ember_harness_virtio_config_write(struct ember_harness *h, uint32_t offset, uint32_t len,
				      uint64_t value);

/* One buffer of a chain: guest RAM the test allocated. */
struct ember_harness_buf {
	uint64_t gpa;
	uint32_t len;
	uint32_t flags; /* EMBER_HARNESS_BUF_WRITE: device-writable; readable ones come first */
};
#define EMBER_HARNESS_BUF_WRITE 0x1u

/* ember_harness_vq_add flags. */
#define EMBER_HARNESS_VQ_INDIRECT 0x1u /* one descriptor pointing at a table in guest RAM */

/*
 * Makes a chain of the n buffers (1..queue size) and publishes it in the available ring
 * (no kick). With EMBER_HARNESS_VQ_INDIRECT the chain is an indirect table (the driver must
 * have negotiated EMBER_VIRTIO_F_INDIRECT_DESC, or the device goes to NEEDS_RESET). Returns
 * the head id (>= 0, what ember_harness_vq_used reports back), -EINVAL (n, flags), -ENOSPC (not
 * enough free descriptors: wait for used ones; or guest RAM full). The harness does not check
 * what the buffers are: a test may hand out bad ones to see the device refuse them.
 */
int ember_harness_vq_add(struct ember_harness_vq *vq, const struct ember_harness_buf *bufs,
			 unsigned n, uint32_t flags);
/*
 * Notifies the device (writes QueueNotify), which runs its queue_notify before returning. A kick
 * serves at most ember's per-kick budget of chains (ABI 1.2: 256 pops); ember queues the rest for
 * the event loop's next turn, a timer due now: ember_harness_advance(h, 0) runs it. Returns 0, or
 * -EPERM (no virtio instance).
 */
int ember_harness_vq_kick(struct ember_harness_vq *vq);
/*
 * The next used element: returns 1 with *id (the head) and *len (bytes the device wrote) set,
 * 0 when the device has published nothing new, or -EIO when the id is not a chain in flight
 * (the device broke the queue). A used chain's descriptors become free again.
 */
int ember_harness_vq_used(struct ember_harness_vq *vq, uint32_t *id, uint32_t *len);
/* Chains added and not yet seen used. */
unsigned ember_harness_vq_in_flight(const struct ember_harness_vq *vq);
/*
 * Interrupt suppression as a driver sets it: the used_event index (with EMBER_VIRTIO_F_EVENT_IDX
 * negotiated), and the avail ring's NO_INTERRUPT flag (without it).
 */
void ember_harness_vq_set_used_event(struct ember_harness_vq *vq, uint16_t used_event);
void ember_harness_vq_set_no_interrupt(struct ember_harness_vq *vq, bool on);
/* Where the rings are (guest-physical; any may be NULL), for tests that write them raw. */
void ember_harness_vq_rings(const struct ember_harness_vq *vq, uint64_t *desc, uint64_t *avail,
			    uint64_t *used);

#ifdef __cplusplus
}
#endif

#endif
