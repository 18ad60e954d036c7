/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io_uring rings that can do only what their plugin needs. Operations submitted to a ring never
 * pass through seccomp, so a ring is created disabled, the caller registers what it needs (its
 * files, an eventfd), the ring is restricted to the opcodes and SQE flags the plugin submits
 * (IOSQE_FIXED_FILE required: only registered files), and only then enabled. After that the
 * kernel refuses every other opcode (its CQE gets -EACCES) and every io_uring_register call but
 * those the limits name (IORING_REGISTER_FILES_UPDATE, say, for a device that swaps its file:
 * the SQEs still reach only what the plugin registered itself).
 *
 * For plugins (plugins/common is compiled into each plugin that uses it). Functions return 0 or
 * a negative errno.
 */
#ifndef EMBER_PLUGIN_URING_RESTRICT_H
#define EMBER_PLUGIN_URING_RESTRICT_H

#include <liburing.h>
#include <stddef.h>
#include <stdint.h>

struct uring_limits {
	const uint8_t *ops; /* IORING_OP_* the ring may run */
	size_t op_count;
	uint8_t sqe_flags_allowed;   /* IOSQE_* an SQE may carry */
	uint8_t sqe_flags_required;  /* IOSQE_* every SQE must carry */
	const uint8_t *register_ops; /* IORING_REGISTER_* still allowed once enabled; may be NULL */
	size_t register_op_count;    /* at most URING_REGISTER_OPS_MAX */
};

#define URING_REGISTER_OPS_MAX 8

/* io_uring_queue_init_params with IORING_SETUP_R_DISABLED added to p->flags. */
int uring_setup_disabled(unsigned entries, struct io_uring *ring, struct io_uring_params *p);

/* Registers lim's restrictions on a ring from uring_setup_disabled, then enables it. */
int uring_restrict_and_enable(struct io_uring *ring, const struct uring_limits *lim);

/*
 * IORING_REGISTER_FILES_UPDATE: registered files [offset, offset + count) become fds (-1 empties
 * a slot). The syscall itself, as above. Returns how many were updated, or a negative errno.
 */
int uring_files_update(struct io_uring *ring, unsigned offset, const int *fds, unsigned count);

#endif
