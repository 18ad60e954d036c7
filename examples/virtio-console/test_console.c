/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acme-console under ember's test kit: a Criterion test that drives the virtio console as the
 * guest's driver would (handshake, receiveq and transmitq in fake guest RAM), without KVM, and
 * checks what reaches the output file, the greeting, the metrics, bad buffers and leaks.
 * Built with only
 *   cc -std=c17 test_console.c $(pkg-config --cflags --libs ember-harness criterion)
 * and run as `make check` does: ACME_CONSOLE_SO=path/to/acme-console.so ./test_console
 */
#include <criterion/criterion.h>
#include <ember/harness.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define F_VERSION_1 (1ULL << 32)

static struct ember_harness *h;
static struct ember_harness_vq *rx, *tx;
static char out[64];

static const char *plugin_file(void)
{
	const char *so = getenv("ACME_CONSOLE_SO");

	return so && *so ? so : "./acme-console.so";
}

static void setup(void)
{
	snprintf(out, sizeof(out), "/tmp/acme-console-test.%d", (int)getpid());
	unlink(out);
	cr_assert_eq(ember_harness_new(&h), 0);
	cr_assert_eq(ember_harness_load(h, plugin_file()), 0, "%s", ember_harness_error(h));
}

static void teardown(void)
{
	cr_expect_eq(ember_harness_free(h), 0, "acme-console leaked resources");
	unlink(out);
}

/* Creates the device with `extra` options and brings both queues up as the driver does. */
static void start(const char *extra)
{
	char opts[256];

	snprintf(opts, sizeof(opts), "output = \"%s\"; %s", out, extra);
	cr_assert_eq(ember_harness_create(h, opts), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_virtio_negotiate(h, F_VERSION_1), 0, "%s",
		     ember_harness_error(h));
	cr_assert_eq(ember_harness_vq_setup(h, 0, 16, &rx), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_vq_setup(h, 1, 16, &tx), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_driver_ok(h), 0, "%s", ember_harness_error(h));
}

/* The guest writes text: one device-readable buffer on the transmitq. */
static void guest_write(const char *text)
{
	struct ember_harness_buf b = {ember_harness_alloc(h, strlen(text), 8),
				      (uint32_t)strlen(text), 0};
	uint32_t id, len;

	cr_assert_eq(ember_harness_mem_write(h, b.gpa, text, b.len), 0);
	cr_assert_geq(ember_harness_vq_add(tx, &b, 1, 0), 0, "%s", ember_harness_error(h));
	cr_assert_eq(ember_harness_vq_kick(tx), 0);
	cr_assert_eq(ember_harness_vq_used(tx, &id, &len), 1,
		     "the transmit buffer did not come back");
	cr_assert_eq(len, 0, "a transmit buffer is read, not written");
}

static size_t output(char *buf, size_t size)
{
	int fd = open(out, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

TestSuite(console, .init = setup, .fini = teardown);

Test(console, guest_output_is_appended_and_counted)
{
	char text[64];
	uint64_t v;

	start("");
	guest_write("hello ");
	guest_write("guest\n");
	cr_assert_eq(output(text, sizeof(text)), 12);
	cr_assert_str_eq(text, "hello guest\n");
	cr_assert_eq(ember_harness_metric(h, "bytes_out", &v), 0);
	cr_assert_eq(v, 12);
}

Test(console, greeting_follows_the_first_write_across_small_buffers)
{
	struct ember_harness_buf b[2];
	uint32_t id, len;
	char got[16] = "";
	uint64_t v;

	start("greeting = \"hi there\";");
	for (int i = 0; i < 2; i++) {
		b[i] = (struct ember_harness_buf){ember_harness_alloc(h, 4, 8), 4,
						  EMBER_HARNESS_BUF_WRITE};
		cr_assert_geq(ember_harness_vq_add(rx, &b[i], 1, 0), 0);
	}
	cr_assert_eq(ember_harness_vq_kick(rx), 0);
	cr_assert_eq(ember_harness_vq_used(rx, &id, &len), 0, "greeted before the guest wrote");
	guest_write("x");
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(ember_harness_vq_used(rx, &id, &len), 1);
		cr_assert_eq(len, 4);
		cr_assert_eq(ember_harness_mem_read(h, b[i].gpa, got + 4 * i, 4), 0);
	}
	cr_assert_str_eq(got, "hi there");
	cr_assert_eq(ember_harness_metric(h, "bytes_in", &v), 0);
	cr_assert_eq(v, 8);
}

Test(console, a_writable_transmit_buffer_breaks_only_the_device)
{
	struct ember_harness_buf b = {ember_harness_alloc(h, 8, 8), 8, EMBER_HARNESS_BUF_WRITE};
	uint32_t id, len;

	start("");
	cr_assert_geq(ember_harness_vq_add(tx, &b, 1, 0), 0);
	cr_assert_eq(ember_harness_vq_kick(tx), 0);
	cr_assert(ember_harness_virtio_status(h) & EMBER_HARNESS_STATUS_NEEDS_RESET);
	cr_assert(ember_harness_log_contains(h, "device-writable"), "%s", ember_harness_log(h));
	ember_harness_vq_used(tx, &id, &len);
}

Test(console, output_is_required_and_its_folder_must_exist)
{
	cr_assert_neq(ember_harness_create(h, ""), 0);
	cr_assert(strstr(ember_harness_error(h), "output"), "%s", ember_harness_error(h));
	cr_assert_neq(ember_harness_create(h, "output = \"/no/such/folder/out.txt\";"), 0);
	cr_assert(strstr(ember_harness_error(h), "does not exist"), "%s", ember_harness_error(h));
}
