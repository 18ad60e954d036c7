/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's VM model (core/api/fc_model.c): its translation into ember's libconfig VM text,
 * read back with libconfig itself (what vm_config_load_text reads), and the --config-file JSON.
 * The values are checked where ember's loader looks for them, so a translation that parses but
 * says the wrong thing fails here too.
 */
#include "fc_model.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct fc_model model;
static config_t lc;
static char dir[64], kernel[128], rootfs[128], data[128], odd[128], err[512];

static void write_file(const char *path)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fclose(f);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ember-fcmodel-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs.ext4", dir);
	snprintf(data, sizeof(data), "%s/data.img", dir);
	/* A quote and a backslash: both must be escaped in the libconfig string. */
	snprintf(odd, sizeof(odd), "%s/a\"b\\c.img", dir);
	write_file(kernel);
	write_file(rootfs);
	write_file(data);
	write_file(odd);
	cr_assert_eq(fc_model_init(&model, NULL, NULL), 0);
	config_init(&lc);
}

static void teardown(void)
{
	config_destroy(&lc);
	fc_model_free(&model);
	unlink(kernel);
	unlink(rootfs);
	unlink(data);
	unlink(odd);
	rmdir(dir);
}

TestSuite(fc_model, .init = setup, .fini = teardown);

/* JSON from fmt, ' standing for " (as in test_api_router.c). */
static json_t *js(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *js(const char *fmt, ...)
{
	char text[8192];
	json_error_t e;
	va_list ap;
	json_t *v;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	v = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	cr_assert_not_null(v, "%s: %s", e.text, text);
	return v;
}

/* Runs a setter on a body and drops the body; the setter keeps its own reference. */
#define SET(expect_rc, call, body)                         \
	do {                                               \
		json_t *b_ = (body);                       \
		int rc_ = call;                            \
		json_decref(b_);                           \
		cr_assert_eq(rc_, (expect_rc), "%s", err); \
	} while (0)

/* The model as libconfig, parsed into lc. */
static void translate(void)
{
	char *text = fc_model_libconfig(&model, err, sizeof(err));

	cr_assert_not_null(text, "%s", err);
	cr_assert(config_read_string(&lc, text), "line %d: %s\n%s", config_error_line(&lc),
		  config_error_text(&lc), text);
	free(text);
}

static const char *str_at(const char *path)
{
	const char *s = NULL;

	cr_assert(config_lookup_string(&lc, path, &s), "no string %s", path);
	return s;
}

static long long int_at(const char *path)
{
	const config_setting_t *s = config_lookup(&lc, path);

	cr_assert_not_null(s, "no %s", path);
	cr_assert(config_setting_type(s) == CONFIG_TYPE_INT ||
		      config_setting_type(s) == CONFIG_TYPE_INT64,
		  "%s is not an integer", path);
	return config_setting_get_int64(s);
}

static bool bool_at(const char *path)
{
	int v = 0;

	cr_assert(config_lookup_bool(&lc, path, &v), "no bool %s", path);
	return v;
}

static unsigned device_count(void)
{
	const config_setting_t *d = config_lookup(&lc, "devices");

	cr_assert(d && config_setting_is_list(d));
	return (unsigned)config_setting_length(d);
}

static void put_boot(const char *extra)
{
	SET(0, fc_model_set_boot(&model, b_, err, sizeof(err)),
	    js("{'kernel_image_path': '%s'%s}", kernel, extra));
}

Test(fc_model, needs_a_boot_source)
{
	cr_assert_null(fc_model_libconfig(&model, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "boot-source"), "%s", err);
}

Test(fc_model, minimal)
{
	put_boot("");
	translate();
	cr_assert_eq(int_at("machine.vcpus"), 1);
	cr_assert_eq(int_at("machine.memory_mib"), 128);
	cr_assert_null(config_lookup(&lc, "machine.memory_backing"));
	cr_assert_str_eq(str_at("boot.kernel"), kernel);
	cr_assert_null(config_lookup(&lc, "boot.initrd"));
	/* Firecracker's default command line, no root= without a root drive. */
	cr_assert_str_eq(str_at("boot.cmdline"), "console=ttyS0 reboot=k panic=1 pci=off");
	cr_assert_eq(device_count(), 0);
}

/* firecracker-go-sdk's VM: extra drive first, root drive last, one NIC, vsock, balloon. */
Test(fc_model, go_sdk_like)
{
	SET(0, fc_model_set_machine(&model, b_, false, err, sizeof(err)),
	    js("{'vcpu_count': 2, 'mem_size_mib': 256, 'smt': false, 'huge_pages': '2M'}"));
	put_boot(", 'boot_args': 'console=ttyS0 reboot=k panic=1 pci=off', 'initrd_path': '"
		 "/dev/null'");
	SET(0, fc_model_set_drive(&model, "data", b_, err, sizeof(err)),
	    js("{'drive_id': 'data', 'path_on_host': '%s', 'is_root_device': false, "
	       "'is_read_only': true, 'cache_type': 'Unsafe', 'rate_limiter': {'bandwidth': "
	       "{'size': 1000, 'refill_time': 100, 'one_time_burst': 500}, 'ops': {'size': 10, "
	       "'refill_time': 1000}}}",
	       data));
	SET(0, fc_model_set_drive(&model, "root_drive", b_, err, sizeof(err)),
	    js("{'drive_id': 'root_drive', 'path_on_host': '%s', 'is_root_device': true, "
	       "'is_read_only': false}",
	       rootfs));
	SET(0, fc_model_set_net(&model, "1", b_, err, sizeof(err)),
	    js("{'iface_id': '1', 'host_dev_name': 'tap0', 'guest_mac': '06:00:AC:10:00:02', "
	       "'rx_rate_limiter': {'bandwidth': {'size': 4096, 'refill_time': 10, "
	       "'one_time_burst': 8}}, 'tx_rate_limiter': {'ops': {'size': 7, 'refill_time': "
	       "70}}}"));
	SET(0, fc_model_set_vsock(&model, b_, err, sizeof(err)),
	    js("{'vsock_id': 'vsock0', 'guest_cid': 3, 'uds_path': 'v.sock'}"));
	SET(0, fc_model_set_balloon(&model, b_, err, sizeof(err)),
	    js("{'amount_mib': 64, 'deflate_on_oom': true, 'stats_polling_interval_s': 5}"));
	SET(0, fc_model_set_entropy(&model, b_, err, sizeof(err)),
	    js("{'rate_limiter': {'bandwidth': {'size': 100, 'refill_time': 1000}}}"));
	SET(0, fc_model_set_ember_device(&model, "pv", b_, err, sizeof(err)),
	    js("{'plugin': 'pvpanic', 'options': {'port': 1285, 'name': 'q\\'\\\\', 'on': true, "
	       "'ratio': 0.25, 'whole': 2.0}}"));
	translate();

	cr_assert_eq(int_at("machine.vcpus"), 2);
	cr_assert_eq(int_at("machine.memory_mib"), 256);
	cr_assert_str_eq(str_at("machine.memory_backing"), "hugetlb");
	cr_assert_str_eq(str_at("boot.initrd"), "/dev/null");
	cr_assert_str_eq(str_at("boot.cmdline"),
			 "console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw");
	cr_assert_eq(device_count(), 7);

	/* The root drive first, whatever the order of the PUTs: it must be /dev/vda. */
	cr_assert_str_eq(str_at("devices.[0].plugin"), "virtio-blk");
	cr_assert_str_eq(str_at("devices.[0].id"), "root_drive");
	cr_assert_str_eq(str_at("devices.[0].path"), rootfs);
	cr_assert_null(config_lookup(&lc, "devices.[0].read_only"));
	cr_assert_null(config_lookup(&lc, "devices.[0].bandwidth_size"));

	cr_assert_str_eq(str_at("devices.[1].id"), "data");
	cr_assert(bool_at("devices.[1].read_only"));
	cr_assert_str_eq(str_at("devices.[1].cache"), "unsafe");
	/* The buckets in their own shape, as virtio-blk takes them. */
	cr_assert_eq(int_at("devices.[1].bandwidth_size"), 1000);
	cr_assert_eq(int_at("devices.[1].bandwidth_refill_ms"), 100);
	cr_assert_eq(int_at("devices.[1].bandwidth_one_time_burst"), 500);
	cr_assert_eq(int_at("devices.[1].ops_size"), 10);
	cr_assert_null(config_lookup(&lc, "devices.[1].ops_one_time_burst"));

	cr_assert_str_eq(str_at("devices.[2].plugin"), "virtio-net");
	cr_assert_str_eq(str_at("devices.[2].id"), "net-1", "interfaces and drives may share ids");
	cr_assert_str_eq(str_at("devices.[2].tap"), "tap0");
	cr_assert_str_eq(str_at("devices.[2].mac"), "06:00:AC:10:00:02");
	cr_assert_eq(int_at("devices.[2].rx_bandwidth_size"), 4096);
	cr_assert_eq(int_at("devices.[2].rx_bandwidth_refill_ms"), 10);
	cr_assert_eq(int_at("devices.[2].rx_bandwidth_one_time_burst"), 8);
	cr_assert_eq(int_at("devices.[2].tx_ops_size"), 7);
	cr_assert_eq(int_at("devices.[2].tx_ops_refill_ms"), 70);
	cr_assert_null(config_lookup(&lc, "devices.[2].tx_ops_one_time_burst"));
	cr_assert_null(config_lookup(&lc, "devices.[2].tx_bandwidth_size"));

	cr_assert_str_eq(str_at("devices.[3].plugin"), "virtio-vsock");
	cr_assert_str_eq(str_at("devices.[3].id"), "vsock");
	cr_assert_eq(int_at("devices.[3].guest_cid"), 3);
	{
		/* Relative paths are made absolute, as Firecracker opens them from its cwd. */
		char cwd[PATH_MAX], want[PATH_MAX + 16];

		cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
		snprintf(want, sizeof(want), "%s/v.sock", cwd);
		cr_assert_str_eq(str_at("devices.[3].uds_path"), want);
	}

	cr_assert_str_eq(str_at("devices.[4].plugin"), "virtio-balloon");
	cr_assert_str_eq(str_at("devices.[4].id"), "balloon");
	cr_assert_eq(int_at("devices.[4].amount_mib"), 64);
	cr_assert(bool_at("devices.[4].deflate_on_oom"));
	cr_assert_eq(int_at("devices.[4].stats_polling_interval_s"), 5);
	cr_assert(!bool_at("devices.[4].free_page_hinting"));
	cr_assert(!bool_at("devices.[4].free_page_reporting"));

	cr_assert_str_eq(str_at("devices.[5].plugin"), "virtio-rng");
	cr_assert_str_eq(str_at("devices.[5].id"), "entropy");
	cr_assert_eq(int_at("devices.[5].rate_bytes_per_sec"), 100);
	cr_assert_eq(int_at("devices.[5].burst_bytes"), 100);

	cr_assert_str_eq(str_at("devices.[6].plugin"), "pvpanic");
	cr_assert_str_eq(str_at("devices.[6].id"), "pv");
	cr_assert_eq(int_at("devices.[6].port"), 1285);
	cr_assert_str_eq(str_at("devices.[6].name"), "q\"\\");
	cr_assert(bool_at("devices.[6].on"));
	{
		double d = 0;

		cr_assert(config_lookup_float(&lc, "devices.[6].ratio", &d));
		cr_assert_float_eq(d, 0.25, 1e-12);
		/* A JSON real stays a real, even when it has no fraction. */
		cr_assert(config_lookup_float(&lc, "devices.[6].whole", &d),
			  "2.0 did not stay a float");
		cr_assert_float_eq(d, 2.0, 1e-12);
	}
}

Test(fc_model, root_partuuid_and_read_only)
{
	put_boot(", 'boot_args': 'console=ttyS0'");
	SET(0, fc_model_set_drive(&model, "rootfs", b_, err, sizeof(err)),
	    js("{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true, "
	       "'partuuid': '0eaa91a0-01', 'is_read_only': true}",
	       rootfs));
	translate();
	cr_assert_str_eq(str_at("boot.cmdline"), "console=ttyS0 root=PARTUUID=0eaa91a0-01 ro");
	cr_assert(bool_at("devices.[0].read_only"));
}

Test(fc_model, read_only_root)
{
	put_boot(", 'boot_args': ''");
	SET(0, fc_model_set_drive(&model, "rootfs", b_, err, sizeof(err)),
	    js("{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true, "
	       "'is_read_only': true}",
	       rootfs));
	translate();
	cr_assert_str_eq(str_at("boot.cmdline"), " root=/dev/vda ro");
}

Test(fc_model, escaping)
{
	json_t *b = json_pack("{s:s, s:s}", "kernel_image_path", odd, "boot_args",
			      "console=ttyS0 quiet init=\"/bin/sh\" x=a\\b\tc");

	cr_assert_eq(fc_model_set_boot(&model, b, err, sizeof(err)), 0, "%s", err);
	json_decref(b);
	b = json_pack("{s:s, s:s, s:b}", "drive_id", "odd", "path_on_host", odd, "is_root_device",
		      1);
	cr_assert_eq(fc_model_set_drive(&model, "odd", b, err, sizeof(err)), 0, "%s", err);
	json_decref(b);
	b = json_pack("{s:i, s:s}", "guest_cid", 3, "uds_path", "/run/\"v\\s\".sock");
	cr_assert_eq(fc_model_set_vsock(&model, b, err, sizeof(err)), 0, "%s", err);
	json_decref(b);
	b = json_pack("{s:s, s:s}", "iface_id", "n", "host_dev_name", "t\"a\\p");
	cr_assert_eq(fc_model_set_net(&model, "n", b, err, sizeof(err)), 0, "%s", err);
	json_decref(b);
	translate();
	cr_assert_str_eq(str_at("boot.kernel"), odd);
	cr_assert_str_eq(str_at("boot.cmdline"),
			 "console=ttyS0 quiet init=\"/bin/sh\" x=a\\b\tc root=/dev/vda rw");
	cr_assert_str_eq(str_at("devices.[0].path"), odd);
	cr_assert_str_eq(str_at("devices.[1].tap"), "t\"a\\p");
	cr_assert_str_eq(str_at("devices.[2].uds_path"), "/run/\"v\\s\".sock");
}

/* Numbers at the edges of int64: what libconfig reads back is what was sent, no overflow. */
Test(fc_model, huge_rate_limits)
{
	put_boot("");
	SET(0, fc_model_set_drive(&model, "d", b_, err, sizeof(err)),
	    js("{'drive_id': 'd', 'path_on_host': '%s', 'is_root_device': false, 'rate_limiter': "
	       "{'bandwidth': {'size': 9223372036854775807, 'refill_time': 1, 'one_time_burst': "
	       "9223372036854775807}, 'ops': {'size': 1, 'refill_time': 9223372036854775807}}}",
	       data));
	SET(0, fc_model_set_entropy(&model, b_, err, sizeof(err)),
	    js("{'rate_limiter': {'bandwidth': {'size': 9223372036854775807, 'refill_time': "
	       "1000}}}"));
	SET(0, fc_model_set_vsock(&model, b_, err, sizeof(err)),
	    js("{'guest_cid': 4294967295, 'uds_path': '/v'}"));
	SET(0, fc_model_set_balloon(&model, b_, err, sizeof(err)),
	    js("{'amount_mib': 9223372036854775807, 'deflate_on_oom': false, "
	       "'stats_polling_interval_s': 4294967296}"));
	translate();
	/* libconfig 1.5 wraps a bare integer above 2^31: these must come back whole. */
	cr_assert_eq(int_at("devices.[1].guest_cid"), 4294967295LL);
	cr_assert_eq(int_at("devices.[2].amount_mib"), LLONG_MAX);
	cr_assert_eq(int_at("devices.[2].stats_polling_interval_s"), 4294967296LL);
	cr_assert_eq(int_at("devices.[0].bandwidth_size"), LLONG_MAX);
	cr_assert_eq(int_at("devices.[0].bandwidth_one_time_burst"), LLONG_MAX);
	cr_assert_eq(int_at("devices.[0].ops_refill_ms"), LLONG_MAX);
	cr_assert_eq(int_at("devices.[3].rate_bytes_per_sec"), LLONG_MAX / 1000 * 1000);
}

Test(fc_model, machine_and_setters)
{
	SET(-1, fc_model_set_machine(&model, b_, false, err, sizeof(err)), json_array());
	SET(-1, fc_model_set_machine(&model, b_, true, err, sizeof(err)),
	    js("{'mem_size_mib': -1}"));
	SET(0, fc_model_set_machine(&model, b_, true, err, sizeof(err)), js("{'smt': false}"));
	SET(-1, fc_model_set_mmds(&model, b_, false, err, sizeof(err)), json_array());
	/* PATCH before any PUT makes the store. */
	SET(0, fc_model_set_mmds(&model, b_, true, err, sizeof(err)), js("{'a': 1}"));
	cr_assert_eq(json_integer_value(json_object_get(model.mmds, "a")), 1);
	SET(-1, fc_model_set_ember_device(&model, NULL, b_, err, sizeof(err)),
	    js("{'plugin': 'x'}"));
	cr_assert_not_null(strstr(err, "id: required"), "%s", err);
	SET(0, fc_model_set_ember_device(&model, NULL, b_, err, sizeof(err)),
	    js("{'id': 'x', 'plugin': 'x'}"));
}

Test(fc_model, limits)
{
	char id[16];

	for (int i = 0; i < 16; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		SET(0, fc_model_set_drive(&model, id, b_, err, sizeof(err)),
		    js("{'drive_id': '%s', 'path_on_host': '%s', 'is_root_device': false}", id,
		       data));
	}
	SET(-1, fc_model_set_drive(&model, "d16", b_, err, sizeof(err)),
	    js("{'drive_id': 'd16', 'path_on_host': '%s', 'is_root_device': false}", data));
	cr_assert_not_null(strstr(err, "at most 16"), "%s", err);
	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "n%d", i);
		SET(0, fc_model_set_net(&model, id, b_, err, sizeof(err)),
		    js("{'iface_id': '%s', 'host_dev_name': 'tap%d'}", id, i));
	}
	SET(-1, fc_model_set_net(&model, "n8", b_, err, sizeof(err)),
	    js("{'iface_id': 'n8', 'host_dev_name': 'tap8'}"));
	cr_assert_not_null(strstr(err, "at most 8"), "%s", err);
	put_boot("");
	translate();
	cr_assert_eq(device_count(), 24);
}

Test(fc_model, ids)
{
	cr_assert(fc_id_ok("a"));
	cr_assert(fc_id_ok("Az09_"));
	cr_assert(fc_id_ok("12345678901234567890123456789012"));
	cr_assert(!fc_id_ok(""));
	cr_assert(!fc_id_ok("123456789012345678901234567890123"));
	cr_assert(!fc_id_ok("a-b"));
	cr_assert(!fc_id_ok("a b"));
	cr_assert(!fc_id_ok("\xc3\xa9"));
}

Test(fc_model, rate_limiter_check)
{
	static const char *const good[] = {"{}", "{'bandwidth': null}",
					   "{'ops': {'size': 0, 'refill_time': 0}}"};
	static const char *const bad[] = {"[]", "{'bandwidth': []}",
					  "{'ops': {'size': 1.5, "
					  "'refill_time': 1}}",
					  "{'ops': {'size': 1, 'refill_time': 1, "
					  "'one_time_burst': -1}}"};

	cr_assert_eq(fc_rate_limiter_check(NULL, "x", err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		json_t *v = js("%s", good[i]);

		cr_assert_eq(fc_rate_limiter_check(v, "x", err, sizeof(err)), 0, "%s: %s", good[i],
			     err);
		json_decref(v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *v = js("%s", bad[i]);

		cr_assert_eq(fc_rate_limiter_check(v, "what", err, sizeof(err)), -1, "%s", bad[i]);
		cr_assert_eq(strncmp(err, "what", 4), 0, "%s", err);
		json_decref(v);
	}
}

/* ---- the --config-file JSON ---- */

Test(fc_model, load_json)
{
	json_t *root =
	    js("{'boot-source': {'kernel_image_path': '%s', 'boot_args': 'console=ttyS0'}, "
	       "'drives': [{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true, "
	       "'is_read_only': false}, {'drive_id': 'data', 'path_on_host': '%s', "
	       "'is_root_device': false}], "
	       "'machine-config': {'vcpu_count': 2, 'mem_size_mib': 1024, 'smt': false}, "
	       "'network-interfaces': [{'iface_id': 'eth0', 'host_dev_name': 'tap0', 'guest_mac': "
	       "'AA:FC:00:00:00:01'}], "
	       "'vsock': {'guest_cid': 3, 'uds_path': '/tmp/v.sock'}, 'balloon': null, "
	       "'logger': {'log_path': 'fc.log', 'level': 'Info'}, 'metrics': {'metrics_path': "
	       "'fc.metrics'}, 'mmds-config': {'network_interfaces': ['eth0']}, 'entropy': {}, "
	       "'cpu-config': null, 'ember-devices': [{'id': 'pv', 'plugin': 'pvpanic'}]}",
	       kernel, rootfs, data);

	cr_assert_eq(fc_model_load_json(&model, root, err, sizeof(err)), 0, "%s", err);
	json_decref(root);
	cr_assert_eq(json_integer_value(json_object_get(model.machine, "vcpu_count")), 2);
	cr_assert_eq(json_array_size(model.drives), 2);
	cr_assert_eq(json_array_size(model.nets), 1);
	cr_assert_null(model.balloon);
	cr_assert_not_null(model.logger);
	cr_assert_not_null(model.metrics);
	cr_assert_not_null(model.mmds_config);
	cr_assert_not_null(model.entropy);
	cr_assert_eq(json_array_size(model.ember_devices), 1);
	translate();
	cr_assert_str_eq(str_at("boot.cmdline"), "console=ttyS0 root=/dev/vda rw");
	cr_assert_eq(int_at("machine.memory_mib"), 1024);
	cr_assert_eq(device_count(), 6);
	cr_assert_str_eq(str_at("devices.[0].id"), "rootfs");
	cr_assert_str_eq(str_at("devices.[5].id"), "pv");
	{
		json_t *all = fc_model_vm_config(&model);

		cr_assert_str_eq(
		    json_string_value(json_object_get(
			json_array_get(json_object_get(all, "network-interfaces"), 0), "iface_id")),
		    "eth0");
		json_decref(all);
	}
}

Test(fc_model, load_json_refused)
{
	static const struct {
		const char *json, *error;
	} cases[] = {
	    {"[]", "expected a JSON object"},
	    {"{'boot_source': {}}", "unknown section \"boot_source\""},
	    {"{'snapshot': {}}", "unknown section"},
	    {"{'cpu-config': {}}", "cpu-config"},
	    {"{'drives': {}}", "drives: expected a list"},
	    {"{'network-interfaces': 1}", "network-interfaces: expected a list"},
	    {"{'ember-devices': {}}", "ember-devices: expected a list"},
	    {"{'machine-config': {'vcpu_count': 1}}", "machine-config"},
	    {"{'boot-source': {'kernel_image_path': '/nonexistent/k'}}", "kernel_image_path"},
	    {"{'drives': [{'drive_id': 'a', 'is_root_device': true}]}", "path_on_host"},
	    {"{'network-interfaces': [{'iface_id': 'e-0', 'host_dev_name': 't'}]}", "an id is"},
	    {"{'vsock': {'guest_cid': 1, 'uds_path': 'v'}}", "guest_cid"},
	    {"{'balloon': {'amount_mib': 1}}", "deflate_on_oom"},
	    {"{'entropy': {'x': 1}}", "entropy"},
	    {"{'logger': {'level': 'loud'}}", "logger: level"},
	    {"{'metrics': {}}", "metrics_path"},
	    {"{'mmds-config': {'network_interfaces': ['eth9']}}", "mmds-config"},
	    {"{'ember-devices': [{'plugin': 'p'}]}", "id: required"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fc_model m;
		json_t *root = js("%s", cases[i].json);

		cr_assert_eq(fc_model_init(&m, NULL, NULL), 0);
		cr_assert_eq(fc_model_load_json(&m, root, err, sizeof(err)), -1, "%s",
			     cases[i].json);
		cr_assert_not_null(strstr(err, cases[i].error), "%s: \"%s\" not in: %s",
				   cases[i].json, cases[i].error, err);
		json_decref(root);
		fc_model_free(&m);
	}
}
