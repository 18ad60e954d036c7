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
 * itself may call only log, irq_set and clock_ns; to reach queues or guest memory it wakes
 * the event loop (an eventfd given to watch_add).
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

enum ember_device_kind {
	EMBER_DEVICE_MMIO = 1,	 /* a plain MMIO window the plugin decodes itself */
	EMBER_DEVICE_VIRTIO = 2, /* ember's virtio-mmio transport; the plugin is the device type */
};

enum ember_option_type {
	EMBER_OPTION_INT = 1,	 /* libconfig int or int64; default_int, min..max */
	EMBER_OPTION_BOOL = 2,	 /* libconfig bool; default_int 0 or 1 */
	EMBER_OPTION_STRING = 3, /* libconfig string; default_string (may be NULL) */
	EMBER_OPTION_SIZE = 4,	 /* integer, or a string with a K/M/G/T suffix (powers of 1024) */
};

/* The option must be given in the config; default_* is ignored. */
#define EMBER_OPTION_REQUIRED 0x1u

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
#define EMBER_OPTION_STRING_DEF(n, def, h)                                               \
	{                                                                                \
		.struct_size = sizeof(struct ember_option), .type = EMBER_OPTION_STRING, \
		.name = (n), .help = (h), .default_string = (def)                        \
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
	/* The driver kicked queue (already checked: < virtio_queue_count and ready). */
	void (*queue_notify)(struct ember_instance *inst, uint32_t queue);

	/* Must be NULL in ABI 1.0; slots 0 and 1 are planned for snapshot save and restore. */
	void (*reserved[8])(void);
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
	uint32_t mmio_size;   /* window bytes, 1..0x10000; ember rounds the slot up to 4 KiB */
	const char *acpi_hid; /* the DSDT _HID, e.g. "QEMU0001"; NULL: no ACPI node */

	const struct ember_option *options; /* option_count entries, each option_size bytes */
	uint32_t option_count;
	uint32_t option_size; /* sizeof(struct ember_option) as the plugin was compiled */
	const struct ember_device_ops *ops;
	uint32_t flags; /* EMBER_DESC_F_* */
	uint32_t reserved0;
	uint64_t reserved[3];
};

/* EMBER_DEVICE_MMIO: the device has an interrupt line (irq_set); virtio devices always do. */
#define EMBER_DESC_F_IRQ 0x1u

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

	void *reserved[8];
};

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
EMBER_STATIC_ASSERT(offsetof(struct ember_device_ops, reserved) == 88, "ember_device_ops layout");
EMBER_STATIC_ASSERT(sizeof(struct ember_plugin_desc) == 128, "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, name) == 16, "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, virtio_device_id) == 48,
		    "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, mmio_size) == 60,
		    "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, options) == 72, "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, ops) == 88, "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_plugin_desc, flags) == 96, "ember_plugin_desc layout");
EMBER_STATIC_ASSERT(sizeof(struct ember_host) == 272, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, log) == 24, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, irq_set) == 88, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, guest_panic) == 136, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, vq_pop) == 144, "ember_host layout");
EMBER_STATIC_ASSERT(offsetof(struct ember_host, set_needs_reset) == 200, "ember_host layout");

#ifdef __cplusplus
}
#endif

#endif
