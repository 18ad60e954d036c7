/* SPDX-License-Identifier: Apache-2.0 */
#include "uring_restrict.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One restriction per opcode, plus the two SQE flag masks. */
#define URING_LIMITS_MAX (IORING_OP_LAST + 2)

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
	return syscall(__NR_io_uring_register, ring->ring_fd, op, arg, count) < 0 ? -errno : 0;
}

int uring_restrict_and_enable(struct io_uring *ring, const struct uring_limits *lim)
{
	struct io_uring_restriction res[URING_LIMITS_MAX];
	unsigned n = 0;
	int rc;

	if (!lim->op_count || lim->op_count > IORING_OP_LAST ||
	    (lim->sqe_flags_required & ~lim->sqe_flags_allowed))
		return -EINVAL;
	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < lim->op_count; i++) {
		if (lim->ops[i] >= IORING_OP_LAST)
			return -EINVAL;
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = lim->ops[i];
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
