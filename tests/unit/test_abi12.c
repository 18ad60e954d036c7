/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ABI 1.2 through the harness: the loader's checks of the new descriptor tables, vq_unpop,
 * runtime control with argument checks and replies, metrics, mem_discard, plugin threads, and
 * the cleanup of what a failed create left behind.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "driver_vq.h"
#include "harness.h"
#include "virtio/virtio_mmio.h"

#define F_VERSION_1 (1ULL << EMBER_VIRTIO_F_VERSION_1)
#define PLUGINS	    EMBER_BUILD_ROOT "/tests/unit/plugins/"

static struct harness h;
static struct driver_vq vq;
static char err[512];
static char reply[1024];

static void start(const char *options)
{
	harness_init(&h);
	cr_assert_eq(harness_create(&h, PLUGINS "tp-abi12.so", options, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert(driver_negotiate(&h, F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 16);
	driver_ok(&h);
}

static void teardown(void)
{
	cr_expect_eq(harness_fini(&h), 0, "leaks; log:\n%s", h.log);
}

static uint16_t request(void)
{
	struct driver_buf b = {harness_alloc(&h, 64, 8), 64, true};

	return driver_vq_add(&vq, &b, 1);
}

static int control(const char *name, const char *args)
{
	return plugin_instance_control(h.dev, name, args, reply, sizeof(reply));
}

static void expect_refused(const char *file, const char *needle)
{
	struct plugin *p = NULL;

	cr_assert_neq(plugin_load_file(file, &p, err, sizeof(err)), 0, "%s loaded", file);
	cr_assert_null(p);
	cr_assert(strstr(err, needle), "\"%s\" lacks \"%s\"", err, needle);
}

Test(abi12_loader, accepts_the_tables_and_describes_them)
{
	struct plugin *p = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_eq(plugin_load_file(PLUGINS "tp-abi12.so", &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p->desc.control_count, 6);
	cr_assert_eq(p->desc.controls[1].param_count, 2);
	cr_assert_str_eq(p->desc.controls[1].params[1].name, "len");
	cr_assert_eq(p->desc.metric_count, 2);
	cr_assert_eq(p->desc.syscall_count, 2);
	cr_assert_gt(p->syscall_nrs[0], 0);
	plugin_describe(p, f);
	fclose(f);
	cr_assert(strstr(text, "control discard(int gpa, size len)"), "%s", text);
	cr_assert(strstr(text, "metric served (counter, requests)"), "%s", text);
	cr_assert(strstr(text, "getrandom/vl"), "%s", text);
	cr_assert(strstr(text, "ioctl+args/o"), "%s", text);
	free(text);
	plugin_unload(p);
}

Test(abi12_loader, refuses_broken_declarations)
{
	expect_refused(PLUGINS "tp-abi12-save.so", "save/restore");
	expect_refused(PLUGINS "tp-abi12-badsyscall.so", "\"no_such_syscall\"");
	expect_refused(PLUGINS "tp-abi12-noop.so", "ops.control and the descriptor's controls");
	expect_refused(PLUGINS "tp-abi12-dup.so", "control hold is declared twice");
	expect_refused(PLUGINS "tp-abi12-acpi.so", "acpi fields must be unset");
}

TestSuite(abi12, .fini = teardown);

Test(abi12, unpop_gives_the_chain_back_to_the_front)
{
	uint32_t id, len;
	uint16_t head;

	start("");
	cr_assert_eq(control("hold", "on = true;"), 0, "%s", reply);
	head = request();
	driver_vq_kick(&vq);
	driver_vq_kick(&vq); /* the same request again: still given back, not lost */
	cr_assert_not(driver_vq_get_used(&vq, &id, &len));
	cr_assert_eq(control("hold", "on = false;"), 0, "%s", reply);
	cr_assert_str_eq(reply, "served = 1;\n");
	cr_assert(driver_vq_get_used(&vq, &id, &len));
	cr_assert_eq(id, head);
	cr_assert_eq(len, 64);
	cr_assert_not(driver_vq_get_used(&vq, &id, &len), "served twice");
}

Test(abi12, unpop_only_in_reverse_pop_order)
{
	uint32_t id, len;
	uint16_t first;

	start("");
	cr_assert_eq(control("hold", "on = true;"), 0);
	first = request();
	request();
	cr_assert_eq(control("unpop_order", NULL), 0, "%s", reply);
	cr_assert(strstr(reply, "older_first = -22;"), "%s", reply);
	cr_assert(strstr(reply, "newer = 0;"), "%s", reply);
	cr_assert(strstr(reply, "older = 0;"), "%s", reply);
	/* Both went back: serving now answers the first request first. */
	cr_assert_eq(control("hold", "on = false;"), 0);
	cr_assert(driver_vq_get_used(&vq, &id, &len));
	cr_assert_eq(id, first);
	cr_assert(driver_vq_get_used(&vq, &id, &len));
}

Test(abi12, control_checks_arguments_before_the_plugin)
{
	start("");
	cr_assert_eq(control("nope", ""), -ENOENT);
	cr_assert(strstr(reply, "no request \"nope\""), "%s", reply);
	cr_assert_eq(control("hold", "on = 3;"), -EINVAL);
	cr_assert(strstr(reply, "hold.on: expected true or false"), "%s", reply);
	cr_assert_eq(control("hold", "off = true;"), -EINVAL);
	cr_assert(strstr(reply, "no parameter \"off\""), "%s", reply);
	cr_assert_eq(control("discard", "gpa = 0;"), -EINVAL);
	cr_assert(strstr(reply, "discard.len: missing"), "%s", reply);
	cr_assert_eq(control("discard", "gpa = -1; len = 4096;"), -EINVAL);
	cr_assert(strstr(reply, "outside"), "%s", reply);
	cr_assert_eq(control("hold", "on = "), -EINVAL);
	cr_assert(strstr(reply, "bad arguments"), "%s", reply);
}

Test(abi12, discard_frees_guest_ram_and_refuses_what_is_not_ram)
{
	uint64_t gpa;
	uint8_t *p;
	char args[128];

	start("");
	gpa = harness_alloc(&h, 3 * 4096, 4096);
	p = harness_ptr(&h, gpa, 3 * 4096);
	memset(p, 0x5a, 3 * 4096);
	snprintf(args, sizeof(args), "gpa = %llu; len = \"8K\";", (unsigned long long)gpa);
	cr_assert_eq(control("discard", args), 0, "%s", reply);
	cr_assert_str_eq(reply, "freed = 8192;\n");
	cr_assert_eq(p[0], 0);
	cr_assert_eq(p[8191], 0);
	cr_assert_eq(p[8192], 0x5a, "discarded past the range");
	snprintf(args, sizeof(args), "gpa = %llu; len = 4096;", (unsigned long long)gpa + 1);
	cr_assert_eq(control("discard", args), -EINVAL, "%s", reply);
	snprintf(args, sizeof(args), "gpa = %llu; len = 8192;",
		 (unsigned long long)(HARNESS_RAM1_GPA + HARNESS_RAM1_SIZE - 4096));
	cr_assert_eq(control("discard", args), -EFAULT, "%s", reply);
	cr_assert(strstr(reply, "mem_discard: -14"), "%s", reply);
}

Test(abi12, metrics_come_in_declared_order)
{
	uint64_t v[2];
	uint32_t id, len;

	start("");
	cr_assert_eq(plugin_instance_metric_count(h.dev), 2);
	cr_assert_str_eq(plugin_instance_metric(h.dev, 1)->name, "unpopped");
	cr_assert_null(plugin_instance_metric(h.dev, 2));
	request();
	request();
	driver_vq_kick(&vq);
	cr_assert(driver_vq_get_used(&vq, &id, &len));
	cr_assert_eq(plugin_instance_metrics_read(h.dev, v, 2), 2);
	cr_assert_eq(v[0], 2);
	cr_assert_eq(v[1], 0);
	cr_assert_eq(plugin_instance_metrics_read(h.dev, v, 1), 0, "a short buffer was written");
}

Test(abi12, threads_start_and_join_and_replies_quote_strings)
{
	start("");
	cr_assert_eq(control("thread", NULL), 0, "%s", reply);
	cr_assert(strstr(reply, "ran = 1;"), "%s", reply);
	cr_assert(strstr(reply, "name = \"tp-worker \\\"quoted\\\"\";"), "%s", reply);
}

Test(abi12_create, a_failed_create_leaves_nothing_registered)
{
	harness_init(&h);
	cr_assert_neq(
	    harness_create(&h, PLUGINS "tp-abi12.so", "fail_create = true;", err, sizeof(err)), 0);
	cr_assert_eq(harness_callbacks(&h), 0, "the failed create's timer is still registered");
	cr_assert(harness_log_contains(&h, "left a timer"), "%s", h.log);
	harness_log_clear(&h);
	/* The timer can no longer fire into the freed instance. */
	harness_advance(&h, 1000000);
	harness_fini(&h);
}

Test(abi12_budget, one_kick_serves_a_bounded_batch_and_the_rest_follows_from_the_loop)
{
	struct driver_vq big;
	uint32_t id, len, n = 0;
	uint64_t buf;

	harness_init(&h);
	cr_assert_eq(harness_create(&h, PLUGINS "tp-abi12.so", "", err, sizeof(err)), 0, "%s", err);
	cr_assert(driver_negotiate(&h, F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &big, 0, 512);
	driver_ok(&h);
	buf = harness_alloc(&h, 64, 8);
	for (unsigned i = 0; i < VIRTIO_MMIO_POP_BUDGET + 44; i++) {
		struct driver_buf b = {buf, 64, true};

		driver_vq_add(&big, &b, 1);
	}
	driver_vq_kick(&big);
	while (driver_vq_get_used(&big, &id, &len))
		n++;
	cr_assert_eq(n, VIRTIO_MMIO_POP_BUDGET, "one kick served %u", n);
	cr_assert_eq(harness_callbacks(&h), 1, "no follow-up notify was scheduled");
	harness_advance(&h, 0);
	while (driver_vq_get_used(&big, &id, &len))
		n++;
	cr_assert_eq(n, VIRTIO_MMIO_POP_BUDGET + 44);
	cr_assert_eq(harness_callbacks(&h), 0);
	cr_expect_eq(harness_fini(&h), 0, "leaks; log:\n%s", h.log);
}

Test(abi12, a_plugin_cannot_flood_the_log)
{
	unsigned lines = 0;

	start("");
	harness_log_clear(&h);
	cr_assert_eq(control("spam", "lines = 10000;"), 0, "%s", reply);
	for (const char *p = h.log; (p = strstr(p, "bad request")); p++)
		lines++;
	cr_assert_leq(lines, 20, "%u of 10000 guest-triggered lines were written", lines);
	cr_assert_geq(lines, 1);
	/* The next line let through says how many were dropped. */
	harness_log_clear(&h);
	usleep(5100 * 1000);
	cr_assert_eq(control("spam", "lines = 1;"), 0, "%s", reply);
	cr_assert(harness_log_contains(&h, "similar messages suppressed"), "%s", h.log);
}

Test(abi12, a_push_uses_embers_record_of_the_queue_not_the_plugins_copy)
{
	uint32_t id, len;
	uint16_t head;

	start("");
	cr_assert_eq(control("hold", "on = true;"), 0);
	head = request();
	driver_vq_kick(&vq);
	cr_assert_eq(control("mislabel", NULL), 0, "%s", reply);
	cr_assert(driver_vq_get_used(&vq, &id, &len), "the chain with a scribbled queue was lost");
	cr_assert_eq(id, head);
}

Test(abi12, option_lookups_answer_with_their_return_value)
{
	const struct ember_host *host;
	int64_t i;
	bool b;
	const char *str;

	start("");
	host = plugin_instance_host(h.dev);
	cr_assert_eq(host->opt_bool(host, "fail_create", &b), 0);
	cr_assert_not(b);
	cr_assert_eq(host->opt_int(host, "fail_create", &i), -EINVAL);
	cr_assert_eq(host->opt_string(host, "nope", &str), -ENOENT);
}
