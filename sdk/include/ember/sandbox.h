/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ABI 1.2: the syscalls a plugin needs once the guest runs, so that ember can build one seccomp
 * filter per thread kind from a baseline of its own plus what each loaded plugin declares.
 *
 * Declare what the device's ops, watch/timer callbacks and own threads call after create (create
 * runs unfiltered on the main thread before the guest; destroy runs after it on the main
 * thread, under the event-loop filter, whose baseline covers releasing resources: close,
 * munmap, joins; anything else destroy needs is declared for EMBER_THREAD_EVENT_LOOP). Host
 * services are ember's and already in the baseline: logging, guest memory, queues, watches,
 * timers, clocks. socket is best declared with its family (an EMBER_ARG_EQ test on argument 0).
 * A rule names the syscall as libseccomp does ("ioctl", "io_uring_enter"); ember resolves it at
 * load and refuses an unknown name or a bad argument rule with one line naming the plugin.
 * Several rules for one syscall on one thread kind are alternatives (any may match); the
 * argument tests of one rule must all hold. Included by ember/device.h.
 */
#ifndef EMBER_SANDBOX_H
#define EMBER_SANDBOX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where the syscall is needed (ember_syscall_rule.threads). */
#define EMBER_THREAD_VCPU	0x1u /* ops called on vCPU threads (MMIO, config, notify) */
#define EMBER_THREAD_EVENT_LOOP 0x2u /* notify via ioeventfd, watch/timer callbacks, control */
#define EMBER_THREAD_OWN	0x4u /* threads started with host->thread_start */
#define EMBER_THREAD_ALL	0x7u

/* An argument test: compare argument `index` (0..5) with value. */
enum ember_syscall_arg_op {
	EMBER_ARG_EQ = 1,	 /* arg == value */
	EMBER_ARG_NE = 2,	 /* arg != value */
	EMBER_ARG_LE = 3,	 /* arg <= value (unsigned) */
	EMBER_ARG_MASKED_EQ = 4, /* (arg & mask) == value: flags that must be (un)set */
};

struct ember_syscall_arg {
	uint32_t index; /* 0..5 */
	uint32_t op;	/* enum ember_syscall_arg_op */
	uint64_t value;
	uint64_t mask; /* EMBER_ARG_MASKED_EQ only */
};

#define EMBER_SYSCALL_MAX_ARGS 3

struct ember_syscall_rule {
	uint32_t struct_size; /* sizeof(struct ember_syscall_rule) */
	uint32_t threads;     /* EMBER_THREAD_*, non-zero */
	const char *name;     /* libseccomp's name, e.g. "readv" */
	uint32_t arg_count;   /* 0..EMBER_SYSCALL_MAX_ARGS: all must hold */
	uint32_t reserved0;
	struct ember_syscall_arg args[EMBER_SYSCALL_MAX_ARGS];
	uint64_t reserved[2];
};

/* A syscall allowed with any arguments. */
#define EMBER_SYSCALL(n, thr)                                                                   \
	{                                                                                       \
		.struct_size = sizeof(struct ember_syscall_rule), .threads = (thr), .name = (n) \
	}
/* A syscall allowed when argument i equals v (e.g. an ioctl request number on its low 32 bits). */
#define EMBER_SYSCALL_ARG_EQ(n, thr, i, v)                                                       \
	{                                                                                        \
		.struct_size = sizeof(struct ember_syscall_rule), .threads = (thr), .name = (n), \
		.arg_count = 1, .args = {                                                        \
			{.index = (i), .op = EMBER_ARG_EQ, .value = (v)}                         \
		}                                                                                \
	}

#ifdef __cplusplus
#define EMBER_SANDBOX_STATIC_ASSERT static_assert
#else
#define EMBER_SANDBOX_STATIC_ASSERT _Static_assert
#endif
EMBER_SANDBOX_STATIC_ASSERT(sizeof(struct ember_syscall_arg) == 24, "ember_syscall_arg layout");
EMBER_SANDBOX_STATIC_ASSERT(sizeof(struct ember_syscall_rule) == 112, "ember_syscall_rule layout");

#ifdef __cplusplus
}
#endif

#endif
