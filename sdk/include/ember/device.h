/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ember device ABI: what a plugin (.so) exports, what it gets from ember, and the rules.
 *
 * A plugin links against nothing of ember. It exports exactly one function,
 * ember_plugin_entry(host_major, host_minor), defined with EMBER_PLUGIN_DEFINE(desc), that returns
 * a pointer to const data: the plugin descriptor. Everything else reaches the plugin through
 * the host-services table (struct ember_host) given to each instance at create.
 *
 * Compatibility rules (ABI 1.x):
 * - Every struct here starts with uint32_t struct_size and only grows at the end.
 * - Structs the plugin gives to ember (descriptor, options, ops) are read with Linux's
 *   copy_struct_from_user rule: a smaller struct (older plugin) is zero-filled; a larger one
 *   (newer plugin) is accepted only when its unknown tail is all zero.
 * - Structs ember gives to the plugin (ember_host, ember_vq_chain) may be larger than the
 *   plugin knows; a plugin that uses a member newer than its abi_minor_required checks it with
 *   EMBER_HOST_HAS() first.
 * - Reserved members must be zero (NULL); a later minor may give them a meaning.
 *
 * Threads and locking (the one rule): ember serializes every call into one instance. It holds
 * a per-instance lock around each op below and around each watch/timer callback, so a plugin
 * needs no lock for state that only ops and callbacks touch. Ops run on a vCPU thread (MMIO,
 * config space, queue notify without ioeventfd) or on the event-loop thread (queue notify
 * through ioeventfd, watch and timer callbacks); create and destroy run on the main thread.
 * Host services may be called from inside any op or callback. A thread the plugin creates
 * itself (best through thread_start, ABI 1.2) may call only log, irq_set, clock_ns and
 * clock_pair, and write its device memory; to reach queues or guest RAM it wakes the event
 * loop (an eventfd given to watch_add). A thread made with plain pthread_create in create and
 * still running when the guest is about to start has no seccomp filter: ember refuses to
 * start the VM (use thread_start; ember/sandbox.h).
 *
 * A guest can never make a plugin abort ember: plugins report bad guest input by logging and,
 * for virtio devices, set_needs_reset(). assert() only on the plugin's own invariants.
 */
#ifndef EMBER_DEVICE_H
#define EMBER_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "control.h"
#include "sandbox.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EMBER_EXPORT		__attribute__((visibility("default")))
#define EMBER_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* Each plugin defines struct ember_instance privately; ember only passes the pointer around. */
struct ember_instance;
struct ember_host;
struct ember_vq_chain;
struct ember_state; /* snapshots: opaque, planned for ABI 1.3 */
struct ember_clock_pair;

enum ember_device_kind {
	EMBER_DEVICE_MMIO = 1,	 /* a plain MMIO window the plugin decodes itself */
	EMBER_DEVICE_VIRTIO = 2, /* ember's virtio-mmio transport; the plugin is the device type */
};

enum ember_option_type {
	EMBER_OPTION_INT = 1,	 /* libconfig int or int64; default_int, min..max */
	EMBER_OPTION_BOOL = 2,	 /* libconfig bool; default_int 0 or 1 */
	EMBER_OPTION_STRING = 3, /* libconfig string; default_string (may be NULL) */
	EMBER_OPTION_SIZE = 4,	 /* integer, or a string with a K/M/G/T suffix (powers of 1024) */
	/*
	 * ABI 1.1: a string naming a file or device. ember resolves a relative path against the
	 * config file's folder, as it does for the kernel; the plugin reads it with opt_string.
	 */
	EMBER_OPTION_PATH = 5,
};

/* The option must be given in the config; default_* is ignored. */
#define EMBER_OPTION_REQUIRED 0x1u
/*
 * ABI 1.2, EMBER_OPTION_PATH only: ember refuses the config (file, line, key) before create
 * unless the path exists (PATH_EXISTS) or its parent folder does (PATH_PARENT_EXISTS, for a
 * file the device creates, e.g. a socket). At most one of the two.
 */
#define EMBER_OPTION_PATH_EXISTS	0x2u
#define EMBER_OPTION_PATH_PARENT_EXISTS 0x4u

/*
 * One documented option of the device's config group. ember checks every key of a device
 * group against this table before create (unknown key, wrong type, out of range: the VM
 * does not start), fills in defaults, and answers the opt_* lookups from the result.
 */
struct ember_option {
	uint32_t struct_size; /* sizeof(struct ember_option) */
	uint32_t type;	      /* enum ember_option_type */
	const char *name;     /* [a-z0-9_], not "plugin" */
	const char *help;     /* one line, shown by `ember plugins` */
	int64_t default_int;  /* INT, SIZE, BOOL */
	int64_t min;	      /* INT, SIZE: inclusive bounds (SIZE: min >= 0) */
	int64_t max;
	const char *default_string; /* STRING */
	uint32_t flags;		    /* EMBER_OPTION_* */
	uint32_t reserved0;
	uint64_t reserved[2];
};

#define EMBER_OPTION_INT_DEF(n, def, lo, hi, h)                                                    \
	{                                                                                          \
		.struct_size = sizeof(struct ember_option), .type = EMBER_OPTION_INT, .name = (n), \
		.help = (h), .default_int = (def), .min = (lo), .max = (hi)                        \
	}
#define EMBER_OPTION_SIZE_DEF(n, def, lo, hi, h)                                         \
	{                                                                                \
		.struct_size = sizeof(struct ember_option), .type = EMBER_OPTION_SIZE,   \
		.name = (n), .help = (h), .default_int = (def), .min = (lo), .max = (hi) \
	}
#define EMBER_OPTION_BOOL_DEF(n, def, h)                                               \
	{                                                                              \
		.struct_size = sizeof(struct ember_option), .type = EMBER_OPTION_BOOL, \
		.name = (n), .help = (h), .default_int = (def)                         \
	}
#define EMBER_OPTION_PATH_DEF(n, def, h)                                               \
	{                                                                              \
		.struct_size = sizeof(struct ember_option), .type = EMBER_OPTION_PATH, \
		.name = (n), .help = (h), .default_string = (def)                      \
	}
#define EMBER_OPTION_STRING_DEF(n, def, h)                                               \
	{                                                                                \
		.struct_size = sizeof(struct ember_option), .type = EMBER_OPTION_STRING, \
		.name = (n), .help = (h), .default_string = (def)                        \
	}

/*
 * ABI 1.2 spellings with flags (a 1.0 or 1.1 host reads them too: flags existed since 1.0, the
 * PATH_* bits are new). _REQ: the option must be given (no default); _F: any EMBER_OPTION_* flags.
 */
#define EMBER_OPTION_INT_REQ(n, lo, hi, h)                                                         \
	{                                                                                          \
		.struct_size = sizeof(struct ember_option), .type = EMBER_OPTION_INT, .name = (n), \
		.help = (h), .min = (lo), .max = (hi), .flags = EMBER_OPTION_REQUIRED              \
	}
#define EMBER_OPTION_SIZE_REQ(n, lo, hi, h)                                                        \
	{                                                                                          \
		.struct_size = sizeof(struct ember_option), .type = EMBER_OPTION_SIZE,             \
		.name = (n), .help = (h), .min = (lo), .max = (hi), .flags = EMBER_OPTION_REQUIRED \
	}
#define EMBER_OPTION_STRING_REQ(n, h)                                                    \
	{                                                                                \
		.struct_size = sizeof(struct ember_option), .type = EMBER_OPTION_STRING, \
		.name = (n), .help = (h), .flags = EMBER_OPTION_REQUIRED                 \
	}
/* A path option with flags, e.g. EMBER_OPTION_REQUIRED | EMBER_OPTION_PATH_EXISTS. */
#define EMBER_OPTION_PATH_F(n, def, fl, h)                                             \
	{                                                                              \
		.struct_size = sizeof(struct ember_option), .type = EMBER_OPTION_PATH, \
		.name = (n), .help = (h), .default_string = (def), .flags = (fl)       \
	}

/*
 * The device's entry points. Unless stated, every op is optional (NULL) and, when called, runs
 * with the instance lock held (see the top of this file). Offsets and lengths are checked by
 * ember before the call: an access lies fully inside the window or config space and len is
 * 1, 2, 4 or 8. Data are little-endian, as the guest sees them.
 */
struct ember_device_ops {
	uint32_t struct_size; /* sizeof(struct ember_device_ops) */
	uint32_t reserved0;

	/*
	 * Required. Main thread. Makes an instance. host stays valid until destroy returns; the
	 * plugin keeps the pointer. Returns 0 with *out set, or a negative errno (the VM does not
	 * start; the plugin has logged why through host->log and freed what it made).
	 */
	int (*create)(const struct ember_host *host, struct ember_instance **out);
	/*
	 * Required. Main thread, after the vCPUs and the event loop have stopped calling in.
	 * Frees everything: popped chains go back through vq_push, watches and timers are removed,
	 * threads are joined, fds closed.
	 */
	void (*destroy)(struct ember_instance *inst);
	/* Back to the power-on state: the guest wrote 0 to a virtio status, or the VM reset. */
	void (*reset)(struct ember_instance *inst);

	/* EMBER_DEVICE_MMIO: accesses to the window [0, mmio_size). Reads of a NULL op are ~0. */
	void (*mmio_read)(struct ember_instance *inst, uint64_t offset, void *data, uint32_t len);
	void (*mmio_write)(struct ember_instance *inst, uint64_t offset, const void *data,
			   uint32_t len);

	/* EMBER_DEVICE_VIRTIO: device-type feature bits (ember adds VERSION_1, EVENT_IDX, ...). */
	uint64_t (*virtio_features)(struct ember_instance *inst);
	/* Device config space [0, virtio_config_size). */
	void (*config_read)(struct ember_instance *inst, uint32_t offset, void *data, uint32_t len);
	void (*config_write)(struct ember_instance *inst, uint32_t offset, const void *data,
			     uint32_t len);
	/*
	 * The driver set DRIVER_OK with the negotiated features. Return 0, or a negative errno:
	 * the device then shows NEEDS_RESET to the guest.
	 */
	int (*activate)(struct ember_instance *inst, uint64_t features);
	/*
	 * The driver kicked queue (already checked: < virtio_queue_count and ready). The plugin
	 * pops until vq_pop returns 0. Since ABI 1.2 vq_pop may return 0 while chains remain,
	 * when this kick's work budget is spent; ember then calls queue_notify again from the
	 * event loop, after other work had its turn (so a flooding guest cannot starve ember).
	 */
	void (*queue_notify)(struct ember_instance *inst, uint32_t queue);

	/*
	 * Snapshots (planned for ABI 1.3; must be NULL until a host says it calls them). Called
	 * on the main thread with the vCPUs paused and no chain of this instance popped (ember
	 * stops notifying and waits for every chain to be pushed first). save writes the device's
	 * own state as tagged fields through the host's state service; restore reads them back
	 * into a freshly created instance before the guest runs, a missing tag meaning "the
	 * default" so that a newer plugin restores an older plugin's snapshot. Queue state
	 * (addresses, indexes, features) is the transport's and is saved by ember. Keep device
	 * state in plain fields (no host pointers, no fds that cannot be reopened from options)
	 * so these can be written later.
	 */
	int (*save)(struct ember_instance *inst, struct ember_state *state);
	int (*restore)(struct ember_instance *inst, struct ember_state *state);

	/*
	 * ABI 1.2. A runtime request the descriptor declares (desc.controls), arguments already
	 * checked against its parameter table. Event-loop thread, instance lock held; must not
	 * block. Returns 0, or a negative errno with call->message set to one line for the
	 * requester (-EINVAL bad argument, -EBUSY not now, -ENOTSUP not in this state).
	 */
	int (*control)(struct ember_instance *inst, struct ember_control_call *call);
	/*
	 * ABI 1.2. Fills values[0 .. count) with the current value of each metric the descriptor
	 * declares (desc.metrics), in that order. Any thread ember collects metrics on, instance
	 * lock held; must be cheap (a copy of counters the device keeps anyway).
	 */
	void (*metrics_read)(struct ember_instance *inst, uint64_t *values, uint32_t count);

	/* Must be NULL. */
	void (*reserved[4])(void);
};

/*
 * What EMBER_PLUGIN_DEFINE exports: const data, no constructor work, so listing or loading a
 * plugin has no side effects.
 */
struct ember_plugin_desc {
	uint32_t struct_size;	     /* sizeof(struct ember_plugin_desc) */
	uint32_t abi_major;	     /* EMBER_ABI_MAJOR the plugin was built for */
	uint32_t abi_minor_required; /* the lowest host minor the plugin works with */
	uint32_t kind;		     /* enum ember_device_kind */
	const char *name;	     /* [a-z0-9-], 1..31 chars: the config's `plugin = "..."` */
	const char *vendor;
	const char *version; /* the plugin's own version, free text */
	const char *description;

	/* EMBER_DEVICE_VIRTIO only (zero otherwise). */
	uint32_t virtio_device_id;	/* VIRTIO_ID_*, e.g. 4 for entropy */
	uint16_t virtio_queue_count;	/* 1..EMBER_VIRTIO_MAX_QUEUES */
	uint16_t virtio_queue_max_size; /* power of two, 1..32768 (QueueNumMax) */
	uint32_t virtio_config_size;	/* bytes of device config space, <= 0xf00 */

	/* EMBER_DEVICE_MMIO only (zero otherwise). */
	/*
	 * Window bytes, 1..0x10000; ember rounds the slot up to 4 KiB. Since ABI 1.2 it may be 0
	 * for a device without registers (e.g. one that only has device memory).
	 */
	uint32_t mmio_size;
	const char *acpi_hid; /* the DSDT _HID, e.g. "QEMU0001"; NULL: no ACPI node */

	const struct ember_option *options; /* option_count entries, each option_size bytes */
	uint32_t option_count;
	uint32_t option_size; /* sizeof(struct ember_option) as the plugin was compiled */
	const struct ember_device_ops *ops;
	uint32_t flags; /* EMBER_DESC_F_* */
	uint32_t reserved0;
	uint64_t reserved[3];

	/*
	 * ABI 1.2 (a plugin that sets any of these sets abi_minor_required = 2; an older host
	 * refuses the unknown tail). EMBER_DEVICE_MMIO: an optional _CID next to acpi_hid
	 * (ACPI ids, e.g. "VMCLOCK"), and which resources the node's _CRS lists (EMBER_ACPI_RES_*;
	 * 0 means the 1.1 rule: the window, then the interrupt when EMBER_DESC_F_IRQ is set).
	 */
	const char *acpi_cid;
	uint32_t acpi_resources;
	uint32_t reserved1;

	/* Runtime requests the device answers (ops.control); see ember/control.h. */
	const struct ember_control *controls;
	uint32_t control_count;
	uint32_t control_size; /* sizeof(struct ember_control) as the plugin was compiled */
	/* Counters and gauges the device reports (ops.metrics_read); see ember/control.h. */
	const struct ember_metric *metrics;
	uint32_t metric_count;
	uint32_t metric_size; /* sizeof(struct ember_metric) */
	/*
	 * Syscalls the device's ops, callbacks and own threads make after the guest starts,
	 * beyond ember's baseline (ember/sandbox.h). A plugin that declares none gets the baseline.
	 */
	const struct ember_syscall_rule *syscalls;
	uint32_t syscall_count;
	uint32_t syscall_size; /* sizeof(struct ember_syscall_rule) */
	uint64_t reserved2[4];
};

/* EMBER_DEVICE_MMIO: the device has an interrupt line (irq_set); virtio devices always do. */
#define EMBER_DESC_F_IRQ 0x1u

/* ABI 1.2: what a plain device's ACPI _CRS lists, in this order. */
#define EMBER_ACPI_RES_MMIO   0x1u /* the register window (Memory32Fixed) */
#define EMBER_ACPI_RES_DEVMEM 0x2u /* the device memory from devmem_alloc (Memory32Fixed) */
#define EMBER_ACPI_RES_IRQ    0x4u /* the interrupt line (needs EMBER_DESC_F_IRQ) */

/* Log levels for ember_host.log. */
enum ember_log_level {
	EMBER_LOG_ERROR = 0,
	EMBER_LOG_WARN = 1,
	EMBER_LOG_INFO = 2,
	EMBER_LOG_DEBUG = 3,
};

/* Events for watch_add (same values as EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP). */
#define EMBER_WATCH_IN	0x001u
#define EMBER_WATCH_OUT 0x004u
#define EMBER_WATCH_ERR 0x008u
#define EMBER_WATCH_HUP 0x010u

/* Callbacks run on the event-loop thread with the instance lock held. */
typedef void (*ember_watch_fn)(void *arg, int fd, uint32_t revents);
typedef void (*ember_timer_fn)(void *arg);

/*
 * Host services, one table per instance, owned by ember, valid from create until destroy
 * returns. Always call through the table with the table itself as first argument:
 * host->log(host, EMBER_LOG_INFO, "...").
 */
struct ember_host {
	uint32_t struct_size; /* may exceed what the plugin knows: see EMBER_HOST_HAS */
	uint32_t abi_major;   /* the host's ABI version */
	uint32_t abi_minor;
	uint32_t reserved0;
	const char *instance_name; /* e.g. "virtio-rng.0"; for messages */

	/* One line (no newline needed), prefixed with the instance name. Any thread. */
	void (*log)(const struct ember_host *host, int level, const char *fmt, ...)
	    EMBER_PRINTF(3, 4);

	/*
	 * The instance's options, already checked against the descriptor and with defaults
	 * applied. Return 0; -ENOENT when the descriptor documents no such option; -EINVAL when it
	 * has another type. Strings belong to ember and live until destroy.
	 */
	int (*opt_int)(const struct ember_host *host, const char *name, int64_t *out);
	int (*opt_bool)(const struct ember_host *host, const char *name, bool *out);
	int (*opt_string)(const struct ember_host *host, const char *name, const char **out);
	int (*opt_size)(const struct ember_host *host, const char *name, uint64_t *out);

	/*
	 * Guest RAM by guest-physical address. Every byte of the range must be RAM (no wrap, no
	 * MMIO); otherwise -EFAULT and nothing is copied. mem_map fills iov with host pointers
	 * covering the range and returns how many it used, -EFAULT, or -ENOBUFS when iov_cap is
	 * too small; the pointers stay valid until destroy (guest RAM never moves).
	 */
	int (*mem_read)(const struct ember_host *host, uint64_t gpa, void *dst, uint64_t len);
	int (*mem_write)(const struct ember_host *host, uint64_t gpa, const void *src,
			 uint64_t len);
	int (*mem_map)(const struct ember_host *host, uint64_t gpa, uint64_t len, struct iovec *iov,
		       uint32_t iov_cap);

	/*
	 * EMBER_DEVICE_MMIO: set the level of the device's interrupt line (level-triggered).
	 * Any thread. Virtio devices use vq_notify and config_changed instead.
	 */
	void (*irq_set)(const struct ember_host *host, int level);

	/*
	 * Event loop. watch_add calls fn whenever fd has one of events (level-triggered) until
	 * watch_remove; it returns a watch id >= 0 or a negative errno. timer_start calls fn once,
	 * delay_ns from now on the clock_ns clock, unless timer_cancel(id) comes first; it returns
	 * a timer id >= 0 or a negative errno. Removing or cancelling inside a callback is allowed,
	 * and an id is never reused while the instance lives. The fd stays the plugin's.
	 */
	int (*watch_add)(const struct ember_host *host, int fd, uint32_t events, ember_watch_fn fn,
			 void *arg);
	void (*watch_remove)(const struct ember_host *host, int id);
	int (*timer_start)(const struct ember_host *host, uint64_t delay_ns, ember_timer_fn fn,
			   void *arg);
	void (*timer_cancel)(const struct ember_host *host, int id);
	/* Monotonic nanoseconds. Any thread. */
	uint64_t (*clock_ns)(const struct ember_host *host);

	/*
	 * The guest reported a panic (events: the pvpanic bits). ember logs it, stops the VM and
	 * exits with status 3. Returns; the device just carries on until then.
	 */
	void (*guest_panic)(const struct ember_host *host, uint32_t events);

	/*
	 * EMBER_DEVICE_VIRTIO: queues (see ember/virtio.h). vq_pop returns 1 with *out set, 0 when
	 * the queue is empty or not ready, or -EIO when the guest broke the queue rules (the device
	 * is then in NEEDS_RESET and pops return -EIO until the driver resets it). Every chain
	 * popped goes back exactly once through vq_push with the bytes written into its writable
	 * part (clamped to writable_bytes); vq_push frees it, and after a reset it only frees it.
	 * vq_notify interrupts the driver when its EVENT_IDX or NO_INTERRUPT setting asks for it;
	 * call it once after a batch of pushes.
	 */
	int (*vq_pop)(const struct ember_host *host, uint32_t queue, struct ember_vq_chain **out);
	void (*vq_push)(const struct ember_host *host, struct ember_vq_chain *chain,
			uint32_t written);
	void (*vq_notify)(const struct ember_host *host, uint32_t queue);
	/*
	 * Copy between a chain and a buffer: chain_read from its readable part, chain_write into
	 * its writable part, both starting offset bytes into that part. They copy at most len
	 * bytes (never past the caller's buffer nor the chain) and return the count, or -EFAULT.
	 */
	int64_t (*chain_read)(const struct ember_host *host, const struct ember_vq_chain *chain,
			      uint64_t offset, void *buf, uint64_t len);
	int64_t (*chain_write)(const struct ember_host *host, const struct ember_vq_chain *chain,
			       uint64_t offset, const void *buf, uint64_t len);
	/*
	 * iovecs for the readable (writable == 0) or writable part of a chain; returns the
	 * count, or -ENOBUFS when iov_cap is too small. Valid until the chain is pushed.
	 */
	int (*chain_map)(const struct ember_host *host, const struct ember_vq_chain *chain,
			 int writable, struct iovec *iov, uint32_t iov_cap);
	/* The device changed its config space: bump the generation, interrupt the driver. */
	void (*config_changed)(const struct ember_host *host);
	/* The device cannot go on (e.g. a malformed request): show NEEDS_RESET to the driver. */
	void (*set_needs_reset)(const struct ember_host *host, const char *why);

	/*
	 * ABI 1.1 (check with EMBER_HOST_HAS before use on an older host). EMBER_DEVICE_VIRTIO,
	 * only from inside create: this instance offers `count` queues (1..virtio_queue_count of
	 * the descriptor) of at most `max_size` entries each (a power of two, 1..the descriptor's
	 * virtio_queue_max_size; the guest sees it as QueueNumMax), e.g. from its own options.
	 * Returns 0, -EINVAL when out of range, or -EPERM outside create or for a plain device.
	 */
	int (*vq_set_limits)(const struct ember_host *host, uint32_t count, uint32_t max_size);

	/*
	 * ABI 1.2 (check with EMBER_HOST_HAS unless abi_minor_required >= 2).
	 *
	 * vq_unpop gives a popped chain back to the front of its queue, as if it had not been
	 * popped: the next vq_pop of that queue returns the same request again. For a device that
	 * cannot serve a request yet (rate limit, full backend): it unpops and waits for its timer
	 * or fd instead of keeping the chain. Chains go back in the reverse order of their pops
	 * (the chain must be the last one popped from its queue and not pushed since). Returns 0
	 * (the chain is freed; also when a reset made it stale), or -EINVAL when it is not the
	 * last popped one (nothing changed: the plugin still owns it).
	 */
	int (*vq_unpop)(const struct ember_host *host, struct ember_vq_chain *chain);

	/*
	 * The guest no longer needs [gpa, gpa + len) (balloon, free page reporting). ember releases
	 * the host memory the way that range is backed (anonymous, shared memfd, huge pages) and
	 * sets *freed to the bytes it gave back to the host: only whole host pages inside the range
	 * (with huge pages, a host page goes once all of it has been discarded). The guest reads
	 * zeros from a freed page, or its old data from one not yet freed. Plugins never madvise
	 * guest RAM themselves. Returns 0, or -EFAULT (nothing done) when any byte of the range is
	 * not RAM, -EINVAL when gpa or len is not a multiple of 4 KiB. Any op or callback.
	 */
	int (*mem_discard)(const struct ember_host *host, uint64_t gpa, uint64_t len,
			   uint64_t *freed);

	/*
	 * Device memory: pages the guest sees as memory (no exit per access), owned by ember.
	 * Only from inside create, at most once per instance: size is a multiple of 4 KiB, 4 KiB ..
	 * 16 MiB. ember maps it at a guest-physical address of its choosing outside RAM (read-only
	 * for the guest with EMBER_DEVMEM_GUEST_READONLY), reserves it in the e820 map, and lists
	 * it in the ACPI node's _CRS when acpi_resources has EMBER_ACPI_RES_DEVMEM. Sets *host_ptr
	 * (zeroed, page aligned, valid until destroy returns; the plugin writes it from any of its
	 * threads, ordering with the guest is the device protocol's business) and *gpa. Returns 0,
	 * -EINVAL (size or flags), -EBUSY (second call), -EPERM (outside create), -ENOMEM, or
	 * -ENOTSUP (no device memory on this host, or no read-only mappings when asked for one).
	 */
	int (*devmem_alloc)(const struct ember_host *host, uint64_t size, uint32_t flags,
			    void **host_ptr, uint64_t *gpa);

	/*
	 * One instant seen on two clocks: the host's clock (EMBER_CLOCK_REALTIME or _TAI) and the
	 * guest's TSC, with the guest TSC frequency. With KVM both are read together by the host
	 * kernel (KVM_GET_CLOCK with the host TSC; out->flags has EMBER_CLOCK_PAIR_PRECISE).
	 * Any thread. Returns 0, -EINVAL (clock), or -ENOTSUP (no TSC-based pairing on this host).
	 */
	int (*clock_pair)(const struct ember_host *host, uint32_t clock,
			  struct ember_clock_pair *out);

	/*
	 * Inside ops.control only: add a named value to the reply ([a-z0-9_], unique per reply).
	 * Returns 0, -EINVAL (name), -ENOSPC (the reply is full: 32 values), -EPERM (outside).
	 */
	int (*reply_int)(const struct ember_host *host, struct ember_control_call *call,
			 const char *name, int64_t value);
	int (*reply_string)(const struct ember_host *host, struct ember_control_call *call,
			    const char *name, const char *value);

	/*
	 * A thread of the plugin's own, started by ember so that it begins with every signal
	 * blocked (ember reads its signals through a signalfd only), named "NAME" (up to 15 chars),
	 * and under the plugin-thread seccomp filter (ember's baseline plus the plugin's
	 * EMBER_THREAD_OWN rules), installed in the thread before fn runs: thread_start returns
	 * once it is. From create or any op/callback; returns 0 with *handle set, or
	 * a negative errno. thread_join waits for fn to return (from destroy, before freeing what
	 * the thread uses) and releases the handle: 0, or -ENOENT for a handle it does not know.
	 * The rules for a plugin's threads (top of this file) apply.
	 */
	int (*thread_start)(const struct ember_host *host, const char *name, void *(*fn)(void *),
			    void *arg, uint64_t *handle);
	int (*thread_join)(const struct ember_host *host, uint64_t handle);

	void *reserved[8];
};

/* devmem_alloc flags. */
#define EMBER_DEVMEM_GUEST_READONLY 0x1u

/* clock_pair clocks. */
#define EMBER_CLOCK_REALTIME 0u
#define EMBER_CLOCK_TAI	     1u

struct ember_clock_pair {
	uint32_t struct_size; /* set by the caller: sizeof(struct ember_clock_pair) */
	uint32_t flags;	      /* EMBER_CLOCK_PAIR_* */
	uint64_t guest_tsc;   /* the guest's TSC at the instant */
	int64_t sec;	      /* the host clock at the same instant */
	uint32_t nsec;
	int32_t tai_offset; /* TAI - UTC in seconds, as the host kernel knows it (adjtimex) */
	uint64_t tsc_hz;    /* the guest's TSC frequency */
	uint64_t reserved[2];
};
/* Both values come from one reading by the host kernel (not two system calls apart). */
#define EMBER_CLOCK_PAIR_PRECISE 0x1u

/* True when the host table has member m and it is set (for members newer than the plugin's
 * abi_minor_required). */
#define EMBER_HOST_HAS(host, m) \
	((host)->struct_size >= offsetof(struct ember_host, m) + sizeof((host)->m) && (host)->m)

#define EMBER_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Defines the plugin's one exported symbol. Use it once, at file scope, after the descriptor:
 *   static const struct ember_plugin_desc my_desc = { ... };
 *   EMBER_PLUGIN_DEFINE(my_desc)
 * The entry may look at the host's version; this one always returns the descriptor and lets
 * ember decide. A hand-written entry may return NULL to decline a host.
 */
#define EMBER_PLUGIN_DEFINE(desc)                                                                 \
	EMBER_EXPORT const struct ember_plugin_desc *ember_plugin_entry(uint32_t host_abi_major,  \
									uint32_t host_abi_minor); \
	EMBER_EXPORT const struct ember_plugin_desc *ember_plugin_entry(uint32_t host_abi_major,  \
									uint32_t host_abi_minor)  \
	{                                                                                         \
		(void)host_abi_major;                                                             \
		(void)host_abi_minor;                                                             \
		return &(desc);                                                                   \
	}

typedef const struct ember_plugin_desc *(*ember_plugin_entry_fn)(uint32_t host_abi_major,
								 uint32_t host_abi_minor);

/* Layout guards: these sizes and offsets are the ABI (x86-64, LP64). */
#ifdef __cplusplus
#define EMBER_STATIC_ASSERT static_assert
#else
#define EMBER_STATIC_ASSERT _Static_assert
#endif
EMBER_STATIC_ASSERT(sizeof(struct ember_option) == 80, "ember_option layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_option, default_string) == 48, "ember_option layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_option, flags) == 56, "ember_option layout");
EMBER_STATIC_ASSERT(sizeof(struct ember_device_ops) == 152, "ember_device_ops layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_device_ops, create) == 8, "ember_device_ops layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_device_ops, queue_notify) == 80,
		    "ember_device_ops layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_device_ops, reserved) == 120, "ember_device_ops layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_device_ops, save) == 88, "ember_device_ops layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_device_ops, control) == 104, "ember_device_ops layout");
EMBER_STATIC_ASSERT(sizeof(struct ember_plugin_desc) == 224, "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, acpi_cid) == 128,
		    "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, syscalls) == 176,
		    "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, name) == 16, "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, virtio_device_id) == 48,
		    "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, mmio_size) == 60,
		    "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, options) == 72, "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, ops) == 88, "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, flags) == 96, "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(sizeof(struct ember_host) == 344, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, log) == 24, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, irq_set) == 88, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, guest_panic) == 136, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, vq_pop) == 144, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, set_needs_reset) == 200, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, vq_set_limits) == 208, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, vq_unpop) == 216, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, thread_join) == 272, "ember_host layout");
EMBER_STATIC_ASSERT(sizeof(struct ember_clock_pair) == 56, "ember_clock_pair layout");

#ifdef __cplusplus
}
#endif

#endif
