/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plugins/common/uring_restrict.c: a ring restricted to IORING_OP_READ refuses an opcode it was
 * not given (IORING_OP_OPENAT: -EACCES in the CQE) and any io_uring_register call, while the
 * allowed read works; a register op the limits name (files update) still works.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "uring_restrict.h"

static struct io_uring_sqe *sqe_of(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	cr_assert_not_null(sqe);
	return sqe;
}

static int run_one(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int res;

	cr_assert_eq(io_uring_submit(ring), 1);
	cr_assert_eq(io_uring_wait_cqe(ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

Test(uring_restrict, forbidden_opcode_refused_allowed_one_works)
{
	static const uint8_t ops[] = {IORING_OP_READ};
	const struct uring_limits lim = {.ops = ops, .op_count = 1};
	struct io_uring_params p = {0};
	struct io_uring ring;
	char buf[16];
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC), efd, rc;

	cr_assert_geq(fd, 0);
	rc = uring_setup_disabled(4, &ring, &p);
	if (rc == -ENOSYS || rc == -EPERM)
		cr_skip_test("io_uring unavailable here (%d)", rc);
	cr_assert_eq(rc, 0, "%s", strerror(-rc));
	cr_assert_eq(uring_restrict_and_enable(&ring, &lim), 0);

	io_uring_prep_openat(sqe_of(&ring), AT_FDCWD, "/dev/null", O_RDONLY, 0);
	cr_expect_eq(run_one(&ring), -EACCES, "OPENAT was not refused");
	io_uring_prep_read(sqe_of(&ring), fd, buf, sizeof(buf), 0);
	cr_expect_eq(run_one(&ring), (int)sizeof(buf), "the allowed READ failed");
	efd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_expect_eq(io_uring_register_eventfd(&ring, efd), -EACCES, "register was not refused");
	close(efd);
	io_uring_queue_exit(&ring);
	close(fd);
}

Test(uring_restrict, bad_limits_refused)
{
	static const uint8_t ops[] = {IORING_OP_READ};
	const struct uring_limits lim = {
	    .ops = ops, .op_count = 1, .sqe_flags_required = IOSQE_FIXED_FILE};
	struct io_uring_params p = {0};
	struct io_uring ring;
	int rc = uring_setup_disabled(4, &ring, &p);

	if (rc)
		cr_skip_test("io_uring unavailable here (%d)", rc);
	/* Required but not allowed: a caller's bug. */
	cr_expect_eq(uring_restrict_and_enable(&ring, &lim), -EINVAL);
	io_uring_queue_exit(&ring);
}

/* A register op the limits name stays allowed (files update); every other one is refused. */
Test(uring_restrict, named_register_op_allowed_others_refused)
{
	static const uint8_t ops[] = {IORING_OP_READ};
	static const uint8_t reg[] = {IORING_REGISTER_FILES_UPDATE};
	const struct uring_limits lim = {.ops = ops,
					 .op_count = 1,
					 .sqe_flags_allowed = IOSQE_FIXED_FILE,
					 .sqe_flags_required = IOSQE_FIXED_FILE,
					 .register_ops = reg,
					 .register_op_count = 1};
	struct io_uring_params p = {0};
	struct io_uring ring;
	char buf[16] = "x";
	int files[2] = {-1, -1}, zero = open("/dev/zero", O_RDONLY | O_CLOEXEC), efd, rc;
	struct io_uring_sqe *sqe;

	cr_assert_geq(zero, 0);
	rc = uring_setup_disabled(4, &ring, &p);
	if (rc == -ENOSYS || rc == -EPERM)
		cr_skip_test("io_uring unavailable here (%d)", rc);
	cr_assert_eq(rc, 0, "%s", strerror(-rc));
	cr_assert_eq(io_uring_register_files(&ring, files, 2), 0);
	cr_assert_eq(uring_restrict_and_enable(&ring, &lim), 0);
	cr_expect_eq(uring_files_update(&ring, 1, &zero, 1), 1, "files update was refused");
	sqe = sqe_of(&ring);
	io_uring_prep_read(sqe, 1, buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	cr_expect_eq(run_one(&ring), (int)sizeof(buf), "READ from the new fixed file failed");
	cr_expect_eq(buf[0], 0);
	cr_expect_eq(uring_files_update(&ring, 1, &(int){-1}, 1), 1, "emptying the slot");
	efd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_expect_eq(io_uring_register_eventfd(&ring, efd), -EACCES, "register was not refused");
	close(efd);
	io_uring_queue_exit(&ring);
	close(zero);
}
