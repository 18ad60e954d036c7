/* SPDX-License-Identifier: Apache-2.0 */
#include "uring_restrict.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One restriction per opcode and per register op, plus the two SQE flag masks. */
#define URING_LIMITS_MAX (IORING_OP_LAST + URING_REGISTER_OPS_MAX + 2)

int uring_setup_disabled(unsigned entries, struct io_uring *ring, struct io_uring_params *p)
{
	p->flags |= IORING_SETUP_R_DISABLED;
	return io_uring_queue_init_params(entries, ring, p);
}

/*
 * The syscall itself: Debian 12's liburing 2.3 declares io_uring_register_restrictions and
 * io_uring_enable_rings but its shared library does not export them.
 */
static int ring_register(struct io_uring *ring, unsigned op, const void *arg, unsigned count)
{
	long rc = syscall(__NR_io_uring_register, ring->ring_fd, op, arg, count);

	return rc < 0 ? -errno : (int)rc;
}

int uring_files_update(struct io_uring *ring, unsigned offset, const int *fds, unsigned count)
{
	struct io_uring_files_update up = {.offset = offset, .fds = (uint64_t)(uintptr_t)fds};

	return ring_register(ring, IORING_REGISTER_FILES_UPDATE, &up, count);
}

int uring_restrict_and_enable(struct io_uring *ring, const struct uring_limits *lim)
{
	struct io_uring_restriction res[URING_LIMITS_MAX];
	unsigned n = 0;
	int rc;

	if (!lim->op_count || lim->op_count > IORING_OP_LAST ||
	    lim->register_op_count > URING_REGISTER_OPS_MAX ||
	    (lim->register_op_count && !lim->register_ops) ||
	    (lim->sqe_flags_required & ~lim->sqe_flags_allowed))
		return -EINVAL;
	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < lim->op_count; i++) {
		if (lim->ops[i] >= IORING_OP_LAST)
			return -EINVAL;
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = lim->ops[i];
	}
	for (size_t i = 0; i < lim->register_op_count; i++) {
		if (lim->register_ops[i] >= IORING_REGISTER_LAST)
			return -EINVAL;
		res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
		res[n++].register_op = lim->register_ops[i];
	}
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = lim->sqe_flags_allowed;
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
	res[n++].sqe_flags = lim->sqe_flags_required;
	rc = ring_register(ring, IORING_REGISTER_RESTRICTIONS, res, n);
	if (rc < 0)
		return rc;
	return ring_register(ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
}
