/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acme-scratch under ember's test kit: a Criterion test that loads the plugin with ember's own
 * loader and drives it as a vCPU would, without KVM. Built with only
 *   cc -std=c17 test_scratch.c $(pkg-config --cflags --libs ember-harness criterion)
 * and run as `make check` does: ACME_SCRATCH_SO=path/to/acme-scratch.so ./test_scratch
 */
#include <criterion/criterion.h>
#include <ember/harness.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct ember_harness *h;

static const char *plugin_file(void)
{
	const char *so = getenv("ACME_SCRATCH_SO");

	return so && *so ? so : "./acme-scratch.so";
}

/* A harness with the plugin loaded (not created: each test picks its options). */
static void setup(void)
{
	cr_assert_eq(ember_harness_new(&h), 0);
	cr_assert_eq(ember_harness_load(h, plugin_file()), 0, "%s", ember_harness_error(h));
}

/* Every test ends without leaks: watches, timers, chains and fds all given back. */
static void teardown(void)
{
	cr_expect_eq(ember_harness_free(h), 0, "acme-scratch leaked resources");
}

TestSuite(scratch, .init = setup, .fini = teardown);

Test(scratch, initial_option_reads_back)
{
	cr_assert_eq(ember_harness_create(h, "initial = 42;"), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_read32(h, 0), 42);
	cr_assert(ember_harness_log_contains(h, "acme-scratch.0: scratch register starts at 42"),
		  "%s", ember_harness_log(h));
}

Test(scratch, default_is_zero)
{
	cr_assert_eq(ember_harness_create(h, NULL), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_read32(h, 0), 0);
}

Test(scratch, write_is_kept_until_reset)
{
	uint64_t v;

	cr_assert_eq(ember_harness_create(h, "initial = 7;"), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_mmio_write(h, 0, 4, 0xdeadbeef), 0);
	cr_assert_eq(ember_harness_read32(h, 0), 0xdeadbeef);
	/* Narrower accesses see the same little-endian register. */
	cr_assert_eq(ember_harness_mmio_write(h, 1, 1, 0x55), 0);
	cr_assert_eq(ember_harness_mmio_read(h, 0, 2, &v), 0);
	cr_assert_eq(v, 0x55ef);
	cr_assert_eq(ember_harness_reset(h), 0);
	cr_assert_eq(ember_harness_read32(h, 0), 7, "reset restores the initial value");
}

Test(scratch, bad_options_fail_create_with_a_message)
{
	/* Out of range: refused by ember's option check, the plugin's create never runs. */
	cr_assert_eq(ember_harness_create(h, "initial = -1;"), -EINVAL);
	cr_assert(strstr(ember_harness_error(h), "devices[0].initial"), "%s",
		  ember_harness_error(h));
	/* A key the plugin does not document. */
	cr_assert_eq(ember_harness_create(h, "inital = 1;"), -EINVAL);
	cr_assert(strstr(ember_harness_error(h), "inital"), "%s", ember_harness_error(h));
	/* Not a number. */
	cr_assert_eq(ember_harness_create(h, "initial = \"x\";"), -EINVAL);
	cr_assert_null(ember_harness_host(h), "no instance after a refusal");
	/* The harness is still usable. */
	cr_assert_eq(ember_harness_create(h, "initial = 1;"), 0, "%s", ember_harness_error(h));
}
