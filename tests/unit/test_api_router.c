/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's API router (core/api/api_router.c): every endpoint and its error paths, driven
 * through api_handle with fake api_ops that record what they were asked and fail on demand.
 *
 * Every request goes through req(), which checks what any Firecracker client relies on before
 * the test looks at the answer: the status is 200, 204 or 400; a 204 has no body; a 200 or 400
 * body is JSON; a 400 body is an object with a string fault_message. And whenever a boot source
 * is set, the model's libconfig text must parse, so no accepted request can leave a model that
 * ember could not read.
 */
#include "api_router.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- fake ops ---- */

struct fake {
	char log[8192]; /* "name(id,request,args)\n" per call, in order */
	int fail;	/* -errno for the next call of any op (then cleared) */
	const char *err_text;
	const char *reply; /* device_control's reply text */
	bool no_net_plugin, no_rng_plugin;
	json_t *body_seen; /* set_logger / set_metrics: the body they got (a reference) */
};

static struct fake fake;

static void logf_call(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logf_call(const char *fmt, ...)
{
	size_t used = strlen(fake.log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fake.log + used, sizeof(fake.log) - used, fmt, ap);
	va_end(ap);
}

/* The failure asked for, once: its text goes to err. */
static int result(char *err, size_t n)
{
	int rc = fake.fail;

	fake.fail = 0;
	if (rc)
		snprintf(err, n, "%s", fake.err_text ? fake.err_text : "it failed");
	return rc;
}

static int op_start(void *o, char *err, size_t n)
{
	(void)o;
	logf_call("start\n");
	return result(err, n);
}

static int op_pause(void *o, char *err, size_t n)
{
	(void)o;
	logf_call("pause\n");
	return result(err, n);
}

static int op_resume(void *o, char *err, size_t n)
{
	(void)o;
	logf_call("resume\n");
	return result(err, n);
}

static int op_cad(void *o, char *err, size_t n)
{
	(void)o;
	logf_call("ctrl_alt_del\n");
	return result(err, n);
}

static int op_flush(void *o, char *err, size_t n)
{
	(void)o;
	logf_call("flush_metrics\n");
	return result(err, n);
}

static int op_control(void *o, const char *id, const char *name, const char *args, char *reply,
		      size_t n)
{
	(void)o;
	logf_call("control(%s,%s,%s)\n", id, name, args ? args : "-");
	if (fake.fail) {
		fake.fail = 0;
		/* As plugin_control: the reason is the reply. */
		snprintf(reply, n, "%s", fake.err_text ? fake.err_text : "it failed");
		return -EINVAL;
	}
	snprintf(reply, n, "%s", fake.reply ? fake.reply : "");
	return 0;
}

static json_t *op_devices(void *o)
{
	(void)o;
	logf_call("devices\n");
	return json_pack("[{s:s, s:s}]", "id", "rng0", "plugin", "virtio-rng");
}

static int op_set_logger(void *o, json_t *body, char *err, size_t n)
{
	(void)o;
	logf_call("set_logger\n");
	json_decref(fake.body_seen);
	fake.body_seen = json_incref(body);
	return result(err, n);
}

static int op_set_metrics(void *o, json_t *body, char *err, size_t n)
{
	(void)o;
	logf_call("set_metrics\n");
	json_decref(fake.body_seen);
	fake.body_seen = json_incref(body);
	return result(err, n);
}

static bool have_plugin(void *o, const char *plugin)
{
	(void)o;
	if (fake.no_net_plugin && !strcmp(plugin, "virtio-net"))
		return false;
	if (fake.no_rng_plugin && !strcmp(plugin, "virtio-rng"))
		return false;
	return true;
}

static const struct api_ops all_ops = {
    .start = op_start,
    .pause = op_pause,
    .resume = op_resume,
    .ctrl_alt_del = op_cad,
    .flush_metrics = op_flush,
    .device_control = op_control,
    .devices = op_devices,
    .set_logger = op_set_logger,
    .set_metrics = op_set_metrics,
};

/* ---- the API under test, temp files, requests ---- */

static struct api api;
static struct api_response resp;
static json_t *answer; /* resp.body parsed, NULL for a 204 */
static char dir[64], kernel[128], rootfs[128], data[128];

static void write_file(const char *path)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs("x", f);
	fclose(f);
}

static void setup(void)
{
	memset(&fake, 0, sizeof(fake));
	snprintf(dir, sizeof(dir), "/tmp/ember-api-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs.ext4", dir);
	snprintf(data, sizeof(data), "%s/data.img", dir);
	write_file(kernel);
	write_file(rootfs);
	write_file(data);
	cr_assert_eq(api_init(&api, "vm-1", NULL, &all_ops, have_plugin, NULL), 0);
}

static void teardown(void)
{
	free(resp.body);
	resp.body = NULL;
	json_decref(answer);
	answer = NULL;
	json_decref(fake.body_seen);
	api_fini(&api);
	unlink(kernel);
	unlink(rootfs);
	unlink(data);
	rmdir(dir);
}

TestSuite(api, .init = setup, .fini = teardown);

/* What every answer must be, whatever the request (the file's comment). */
static void check_answer(void)
{
	json_error_t e;

	cr_assert(resp.status == 200 || resp.status == 204 || resp.status == 400, "status %u",
		  resp.status);
	if (resp.status == 204) {
		cr_assert_null(resp.body, "a 204 with a body: %s", resp.body);
		return;
	}
	cr_assert_not_null(resp.body, "a %u without a body", resp.status);
	answer = json_loads(resp.body, JSON_REJECT_DUPLICATES, &e);
	cr_assert_not_null(answer, "not JSON (%s): %s", e.text, resp.body);
	if (resp.status == 400)
		cr_assert(json_is_string(json_object_get(answer, "fault_message")),
			  "a 400 without a string fault_message: %s", resp.body);
	if (api.model.boot) {
		char err[256];
		char *text = fc_model_libconfig(&api.model, err, sizeof(err));
		config_t lc;

		cr_assert_not_null(text, "%s", err);
		config_init(&lc);
		cr_assert(config_read_string(&lc, text), "libconfig: line %d: %s\n%s",
			  config_error_line(&lc), config_error_text(&lc), text);
		config_destroy(&lc);
		free(text);
	}
}

static unsigned req_len(const char *method, const char *path, const char *body, size_t len)
{
	free(resp.body);
	resp.body = NULL;
	json_decref(answer);
	answer = NULL;
	api_handle(&api, method, path, body, len, &resp);
	check_answer();
	return resp.status;
}

/* A request whose body is fmt with ' standing for " (JSON in C without a wall of escapes). */
static unsigned req(const char *method, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static unsigned req(const char *method, const char *path, const char *fmt, ...)
{
	char body[8192] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(body, sizeof(body), fmt, ap);
		va_end(ap);
		for (char *p = body; *p; p++)
			if (*p == '\'')
				*p = '"';
	}
	return req_len(method, path, body, strlen(body));
}

static const char *fault_message(void)
{
	cr_assert_eq(resp.status, 400);
	return json_string_value(json_object_get(answer, "fault_message"));
}

#define expect(status, ...) cr_assert_eq(req(__VA_ARGS__), (status), "%s", resp.body)
#define expect_ok(...)	    expect(204, __VA_ARGS__)
/* A 400 whose fault_message contains text. */
#define expect_fault(text, ...)                                                                  \
	do {                                                                                     \
		expect(400, __VA_ARGS__);                                                        \
		cr_assert_not_null(strstr(fault_message(), (text)), "\"%s\" not in: %s", (text), \
				   fault_message());                                             \
	} while (0)

static void put_boot(void)
{
	expect_ok("PUT", "/boot-source", "{'kernel_image_path': '%s'}", kernel);
}

/* InstanceStart, then what the service does once the VM is built. */
static void run_vm(void)
{
	put_boot();
	expect_ok("PUT", "/actions", "{'action_type': 'InstanceStart'}");
	api.phase = API_PHASE_RUNNING;
	fake.log[0] = '\0';
}

static const char *state(void)
{
	expect(200, "GET", "/", NULL);
	return json_string_value(json_object_get(answer, "state"));
}

static json_int_t get_int(const char *path, const char *key)
{
	expect(200, "GET", path, NULL);
	cr_assert(json_is_integer(json_object_get(answer, key)), "%s", resp.body);
	return json_integer_value(json_object_get(answer, key));
}

/* ---- GET / and /version ---- */

Test(api, root_states)
{
	expect(200, "GET", "/", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(answer, "id")), "vm-1");
	cr_assert_str_eq(json_string_value(json_object_get(answer, "app_name")), "ember");
	cr_assert_str_eq(json_string_value(json_object_get(answer, "vmm_version")),
			 EMBER_FC_API_VERSION);
	cr_assert_str_eq(state(), "Not started");
	put_boot();
	expect_ok("PUT", "/actions", "{'action_type': 'InstanceStart'}");
	/* Accepted but not built yet: Kata polls until "Running", so not before it is. */
	cr_assert_str_eq(state(), "Not started");
	api.phase = API_PHASE_RUNNING;
	cr_assert_str_eq(state(), "Running");
	expect_ok("PATCH", "/vm", "{'state': 'Paused'}");
	cr_assert_str_eq(state(), "Paused");
	expect_ok("PATCH", "/vm", "{'state': 'Resumed'}");
	cr_assert_str_eq(state(), "Running");
}

Test(api, root_default_id_and_version)
{
	struct api other;
	struct api_response r;

	cr_assert_eq(api_init(&other, NULL, "9.9.9", NULL, NULL, NULL), 0);
	api_handle(&other, "GET", "/", "", 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "\"anonymous-instance\"") && strstr(r.body, "\"9.9.9\""), "%s",
		  r.body);
	free(r.body);
	api_fini(&other);
}

Test(api, version)
{
	expect(200, "GET", "/version", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(answer, "firecracker_version")),
			 EMBER_FC_API_VERSION);
	cr_assert_eq(json_object_size(answer), 1);
}

/* ---- machine-config ---- */

Test(api, machine_config_defaults)
{
	expect(200, "GET", "/machine-config", NULL);
	cr_assert_eq(json_integer_value(json_object_get(answer, "vcpu_count")), 1);
	cr_assert_eq(json_integer_value(json_object_get(answer, "mem_size_mib")), 128);
	cr_assert(json_is_false(json_object_get(answer, "smt")));
	cr_assert(json_is_false(json_object_get(answer, "track_dirty_pages")));
	cr_assert_str_eq(json_string_value(json_object_get(answer, "huge_pages")), "None");
}

Test(api, machine_config_put)
{
	/* firecracker-go-sdk's call, then its GET. */
	expect_ok("PUT", "/machine-config", "{'vcpu_count': 2, 'mem_size_mib': 512, 'smt': false}");
	cr_assert_eq(get_int("/machine-config", "vcpu_count"), 2);
	cr_assert_eq(get_int("/machine-config", "mem_size_mib"), 512);
	expect_ok("PUT", "/machine-config",
		  "{'vcpu_count': 32, 'mem_size_mib': 32, 'huge_pages': '2M', "
		  "'track_dirty_pages': true, 'cpu_template': 'None'}");
	expect(200, "GET", "/machine-config", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(answer, "huge_pages")), "2M");
	cr_assert(json_is_true(json_object_get(answer, "track_dirty_pages")));
	/* A PUT replaces the whole section: what it leaves out is back to the default. */
	expect_ok("PUT", "/machine-config", "{'vcpu_count': 1, 'mem_size_mib': 64}");
	expect(200, "GET", "/machine-config", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(answer, "huge_pages")), "None");
	expect_ok("PUT", "/machine-config",
		  "{'vcpu_count': 1, 'mem_size_mib': 64, 'huge_pages': 'None', 'cpu_template': "
		  "null}");
}

Test(api, machine_config_put_refused)
{
	expect_fault("mem_size_mib", "PUT", "/machine-config", "{'vcpu_count': 2}");
	expect_fault("vcpu_count", "PUT", "/machine-config", "{'mem_size_mib': 256}");
	expect_fault("vcpu_count", "PUT", "/machine-config",
		     "{'vcpu_count': 0, 'mem_size_mib': 256}");
	expect_fault("vcpu_count", "PUT", "/machine-config",
		     "{'vcpu_count': 33, 'mem_size_mib': 256}");
	expect_fault("vcpu_count", "PUT", "/machine-config",
		     "{'vcpu_count': -1, 'mem_size_mib': 256}");
	expect_fault("mem_size_mib", "PUT", "/machine-config",
		     "{'vcpu_count': 1, 'mem_size_mib': 31}");
	expect_fault("mem_size_mib", "PUT", "/machine-config",
		     "{'vcpu_count': 1, 'mem_size_mib': -1}");
	expect_fault("mem_size_mib", "PUT", "/machine-config",
		     "{'vcpu_count': 1, 'mem_size_mib': 1048577}");
	expect_fault("smt", "PUT", "/machine-config",
		     "{'vcpu_count': 2, 'mem_size_mib': 256, 'smt': true}");
	expect_fault("huge_pages", "PUT", "/machine-config",
		     "{'vcpu_count': 1, 'mem_size_mib': 256, 'huge_pages': '1G'}");
	expect_fault("machine-config: ", "PUT", "/machine-config",
		     "{'vcpu_count': 1, 'mem_size_mib': 256, 'huge_pages': 2}");
	expect_fault("cpu_template", "PUT", "/machine-config",
		     "{'vcpu_count': 1, 'mem_size_mib': 256, 'cpu_template': 'T2'}");
	expect_fault("machine-config: ", "PUT", "/machine-config",
		     "{'vcpu_count': '2', 'mem_size_mib': 256}");
	expect_fault("machine-config", "PUT", "/machine-config",
		     "{'vcpu_count': 1, 'mem_size_mib': 256, 'vcpus': 1}");
	/* Nothing refused changed anything. */
	cr_assert_eq(get_int("/machine-config", "vcpu_count"), 1);
	cr_assert_eq(get_int("/machine-config", "mem_size_mib"), 128);
}

Test(api, machine_config_patch)
{
	expect_ok("PATCH", "/machine-config", "{'mem_size_mib': 1024}");
	cr_assert_eq(get_int("/machine-config", "vcpu_count"), 1);
	cr_assert_eq(get_int("/machine-config", "mem_size_mib"), 1024);
	expect_ok("PATCH", "/machine-config", "{'vcpu_count': 4}");
	cr_assert_eq(get_int("/machine-config", "mem_size_mib"), 1024);
	expect_ok("PATCH", "/machine-config", "{}");
	expect_fault("vcpu_count", "PATCH", "/machine-config", "{'vcpu_count': -1}");
	expect_fault("smt", "PATCH", "/machine-config", "{'smt': true}");
	expect_fault("machine-config", "PATCH", "/machine-config", "{'bogus': 1}");
	cr_assert_eq(get_int("/machine-config", "vcpu_count"), 4);
}

Test(api, machine_config_after_start)
{
	run_vm();
	expect_fault("not supported after starting", "PUT", "/machine-config",
		     "{'vcpu_count': 2, 'mem_size_mib': 256}");
	expect_fault("not supported after starting", "PATCH", "/machine-config",
		     "{'vcpu_count': 2}");
	/* GET is any phase. */
	cr_assert_eq(get_int("/machine-config", "vcpu_count"), 1);
}

/* ---- boot-source ---- */

Test(api, boot_source)
{
	expect_fault("kernel_image_path", "PUT", "/boot-source",
		     "{'kernel_image_path': '%s/missing'}", dir);
	cr_assert_null(api.model.boot);
	expect_fault("initrd_path", "PUT", "/boot-source",
		     "{'kernel_image_path': '%s', 'initrd_path': '%s/none'}", kernel, dir);
	expect_fault("kernel_image_path", "PUT", "/boot-source", "{'boot_args': 'console=ttyS0'}");
	expect_fault("boot-source", "PUT", "/boot-source",
		     "{'kernel_image_path': '%s', 'kernel': 'x'}", kernel);
	expect_fault("boot-source", "PUT", "/boot-source", "{'kernel_image_path': 7}");
	expect_ok("PUT", "/boot-source",
		  "{'kernel_image_path': '%s', 'initrd_path': '%s', 'boot_args': 'console=ttyS0 "
		  "reboot=k panic=1 pci=off'}",
		  kernel, data);
	expect(200, "GET", "/vm/config", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(answer, "boot-source"),
							   "kernel_image_path")),
			 kernel);
	api.phase = API_PHASE_RUNNING;
	expect_fault("not supported after starting", "PUT", "/boot-source",
		     "{'kernel_image_path': '%s'}", kernel);
}

/* ---- drives ---- */

Test(api, drives_put)
{
	expect_ok("PUT", "/drives/data_1",
		  "{'drive_id': 'data_1', 'path_on_host': '%s', 'is_root_device': false, "
		  "'is_read_only': true, 'cache_type': 'Writeback', 'io_engine': 'Sync'}",
		  data);
	expect_ok("PUT", "/drives/rootfs",
		  "{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true, "
		  "'partuuid': '1234-01', 'cache_type': 'Unsafe', 'io_engine': 'Async'}",
		  rootfs);
	/* The same id again replaces, even the root device. */
	expect_ok("PUT", "/drives/rootfs",
		  "{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true}", rootfs);
	cr_assert_eq(json_array_size(api.model.drives), 2);
	cr_assert_null(json_object_get(json_array_get(api.model.drives, 1), "partuuid"));
	expect_fault("a root block device already exists (rootfs)", "PUT", "/drives/other",
		     "{'drive_id': 'other', 'path_on_host': '%s', 'is_root_device': true}", data);
	cr_assert_eq(json_array_size(api.model.drives), 2);
}

Test(api, drives_put_ids)
{
	static const char *const bad[] = {"/drives/bad-id", "/drives/", "/drives/a.b",
					  "/drives/0123456789012345678901234567890123",
					  "/drives/%C3%A9"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fault("an id is", "PUT", bad[i],
			     "{'drive_id': 'x', 'path_on_host': '%s', 'is_root_device': false}",
			     data);
	/* 32 is the longest. */
	expect_ok("PUT", "/drives/A1234567890123456789012345678_9Z",
		  "{'drive_id': 'A1234567890123456789012345678_9Z', 'path_on_host': '%s', "
		  "'is_root_device': false}",
		  data);
	expect_fault("differs", "PUT", "/drives/one",
		     "{'drive_id': 'two', 'path_on_host': '%s', 'is_root_device': false}", data);
	expect_fault("an id is", "PUT", "/drives/one",
		     "{'drive_id': 'o-e', 'path_on_host': '%s', 'is_root_device': false}", data);
	/* A sub-path is no drive. */
	expect_fault("Invalid request", "PUT", "/drives/a/b",
		     "{'drive_id': 'a', 'path_on_host': '%s', 'is_root_device': false}", data);
	expect_fault("Invalid request", "GET", "/drives/a", NULL);
	expect_fault("Invalid request", "DELETE", "/drives/a", NULL);
}

Test(api, drives_put_fields)
{
	expect_fault("drives", "PUT", "/drives/d",
		     "{'drive_id': 'd', 'path_on_host': '%s', 'is_root_device': false, 'bogus': 1}",
		     data);
	expect_fault("is_root_device", "PUT", "/drives/d",
		     "{'drive_id': 'd', 'path_on_host': '%s'}", data);
	expect_fault("drive_id", "PUT", "/drives/d",
		     "{'path_on_host': '%s', 'is_root_device': false}", data);
	expect_fault("path_on_host", "PUT", "/drives/d",
		     "{'drive_id': 'd', 'is_root_device': false}");
	expect_fault("path_on_host", "PUT", "/drives/d",
		     "{'drive_id': 'd', 'path_on_host': '%s/none', 'is_root_device': false}", dir);
	expect_fault("cache_type", "PUT", "/drives/d",
		     "{'drive_id': 'd', 'path_on_host': '%s', 'is_root_device': false, "
		     "'cache_type': 'None'}",
		     data);
	expect_fault("io_engine", "PUT", "/drives/d",
		     "{'drive_id': 'd', 'path_on_host': '%s', 'is_root_device': false, "
		     "'io_engine': 'Uring'}",
		     data);
	expect_fault("socket", "PUT", "/drives/d",
		     "{'drive_id': 'd', 'is_root_device': false, 'socket': '/x.sock'}");
	/* jansson's type messages do not name the key; the section at least. */
	expect_fault("drives: ", "PUT", "/drives/d",
		     "{'drive_id': 'd', 'path_on_host': '%s', 'is_root_device': 'yes'}", data);
	cr_assert_eq(json_array_size(api.model.drives), 0);
	api.phase = API_PHASE_RUNNING;
	expect_fault("not supported after starting", "PUT", "/drives/d",
		     "{'drive_id': 'd', 'path_on_host': '%s', 'is_root_device': false}", data);
}

Test(api, drives_rate_limiter_shapes)
{
	static const char *const good[] = {
	    "{}",
	    "null",
	    "{'bandwidth': {'size': 1000, 'refill_time': 100}}",
	    "{'ops': {'size': 10, 'refill_time': 1000, 'one_time_burst': 5}}",
	    "{'bandwidth': {'size': 0, 'refill_time': 0}, 'ops': null}",
	    /* int64's largest: the translation saturates rather than overflows. */
	    "{'bandwidth': {'size': 9223372036854775807, 'refill_time': 1, 'one_time_burst': 1}}",
	};
	static const char *const bad[] = {
	    "{'bandwidth': {'size': 1000}}",
	    "{'ops': {'refill_time': 1000}}",
	    "{'bandwidth': {'size': -1, 'refill_time': 100}}",
	    "{'bandwidth': {'size': 1, 'refill_time': 100, 'extra': 1}}",
	    "{'iops': {}}",
	    "5",
	    "{'bandwidth': 5}",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_ok("PUT", "/drives/d",
			  "{'drive_id': 'd', 'path_on_host': '%s', 'is_root_device': false, "
			  "'rate_limiter': %s}",
			  data, good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fault("rate_limiter", "PUT", "/drives/d",
			     "{'drive_id': 'd', 'path_on_host': '%s', 'is_root_device': false, "
			     "'rate_limiter': %s}",
			     data, bad[i]);
	/* A boot source makes req() check the libconfig of the huge limiter too. */
	put_boot();
}

Test(api, drives_patch)
{
	expect_ok("PUT", "/drives/rootfs",
		  "{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true}", rootfs);
	expect_fault("not supported before starting", "PATCH", "/drives/rootfs",
		     "{'drive_id': 'rootfs', 'path_on_host': '%s'}", data);
	run_vm();
	/* firecracker-containerd's placeholder swap. */
	expect_ok("PATCH", "/drives/rootfs", "{'drive_id': 'rootfs', 'path_on_host': '%s'}", data);
	{
		char want[256];

		snprintf(want, sizeof(want), "control(rootfs,swap_backing,path = \"%s\"; )\n",
			 data);
		cr_assert_str_eq(fake.log, want);
	}
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(api.model.drives, 0), "path_on_host")),
	    data);
	fake.log[0] = '\0';
	expect_ok("PATCH", "/drives/rootfs",
		  "{'drive_id': 'rootfs', 'rate_limiter': {'bandwidth': {'size': 1000, "
		  "'refill_time': 100, 'one_time_burst': 7}, 'ops': {'size': 5, 'refill_time': "
		  "10}}}");
	cr_assert_str_eq(fake.log,
			 "control(rootfs,set_rate_limit,bandwidth_size = 1000L; "
			 "bandwidth_refill_ms = 100L; bandwidth_one_time_burst = 7L; "
			 "ops_size = 5L; ops_refill_ms = 10L; ops_one_time_burst = 0L; )\n");
	/* Kata's empty limiter: everything off. */
	fake.log[0] = '\0';
	expect_ok("PATCH", "/drives/rootfs", "{'drive_id': 'rootfs', 'rate_limiter': {}}");
	cr_assert(strstr(fake.log, "set_rate_limit,bandwidth_size = 0L;"), "%s", fake.log);
	cr_assert_eq(api.counters.drive_patches, 3);
	/* Only the drive id: nothing to do, still a 204 and no device call. */
	fake.log[0] = '\0';
	expect_ok("PATCH", "/drives/rootfs", "{'drive_id': 'rootfs'}");
	cr_assert_str_eq(fake.log, "");
}

Test(api, drives_patch_refused)
{
	run_vm();
	fake.fail = -EIO;
	fake.err_text = "swap_backing: cannot open /nope: No such file";
	expect_fault("rootfs: swap_backing: cannot open /nope", "PATCH", "/drives/rootfs",
		     "{'drive_id': 'rootfs', 'path_on_host': '/nope'}");
	expect_fault("differs", "PATCH", "/drives/rootfs",
		     "{'drive_id': 'root', 'path_on_host': '/x'}");
	expect_fault("drives", "PATCH", "/drives/rootfs",
		     "{'drive_id': 'rootfs', 'is_read_only': true}");
	expect_fault("drive_id", "PATCH", "/drives/rootfs", "{'path_on_host': '/x'}");
	expect_fault("rate_limiter", "PATCH", "/drives/rootfs",
		     "{'drive_id': 'rootfs', 'rate_limiter': {'ops': {'size': 1}}}");
	expect_fault("an id is", "PATCH", "/drives/root-fs",
		     "{'drive_id': 'root-fs', 'path_on_host': '/x'}");
	cr_assert_eq(api.counters.drive_patches, 0);
	/* Without device requests, a drive the model does not know is refused. */
	api.ops.device_control = NULL;
	expect_fault("no such drive", "PATCH", "/drives/rootfs",
		     "{'drive_id': 'rootfs', 'path_on_host': '/x'}");
}

/* ---- network-interfaces ---- */

Test(api, net_put)
{
	expect_ok("PUT", "/network-interfaces/1",
		  "{'iface_id': '1', 'host_dev_name': 'tap0', 'guest_mac': 'AA:FC:00:00:00:01', "
		  "'rx_rate_limiter': {}, 'tx_rate_limiter': {'bandwidth': {'size': 1, "
		  "'refill_time': 1}}}");
	expect_ok("PUT", "/network-interfaces/1", "{'iface_id': '1', 'host_dev_name': 'tap1'}");
	cr_assert_eq(json_array_size(api.model.nets), 1);
	expect_fault("guest_mac", "PUT", "/network-interfaces/2",
		     "{'iface_id': '2', 'host_dev_name': 'tap0', 'guest_mac': 'AA:FC:00:00:00'}");
	expect_fault("guest_mac", "PUT", "/network-interfaces/2",
		     "{'iface_id': '2', 'host_dev_name': 'tap0', 'guest_mac': "
		     "'AA:FC:00:00:00:01:'}");
	expect_fault("host_dev_name", "PUT", "/network-interfaces/2",
		     "{'iface_id': '2', 'host_dev_name': '0123456789abcdef'}");
	expect_fault("host_dev_name", "PUT", "/network-interfaces/2",
		     "{'iface_id': '2', 'host_dev_name': ''}");
	expect_fault("host_dev_name", "PUT", "/network-interfaces/2", "{'iface_id': '2'}");
	expect_fault("differs", "PUT", "/network-interfaces/2",
		     "{'iface_id': '3', 'host_dev_name': 'tap0'}");
	expect_fault("an id is", "PUT", "/network-interfaces/eth-0",
		     "{'iface_id': 'eth-0', 'host_dev_name': 'tap0'}");
	expect_fault("network-interfaces", "PUT", "/network-interfaces/2",
		     "{'iface_id': '2', 'host_dev_name': 'tap0', 'allow_mmds_requests': true}");
	expect_fault("rx_rate_limiter", "PUT", "/network-interfaces/2",
		     "{'iface_id': '2', 'host_dev_name': 'tap0', 'rx_rate_limiter': {'ops': 1}}");
	fake.no_net_plugin = true;
	expect_fault("virtio-net", "PUT", "/network-interfaces/2",
		     "{'iface_id': '2', 'host_dev_name': 'tap0'}");
	cr_assert_eq(json_array_size(api.model.nets), 1);
	expect_fault("Invalid request", "GET", "/network-interfaces/1", NULL);
	api.phase = API_PHASE_RUNNING;
	expect_fault("not supported after starting", "PUT", "/network-interfaces/1",
		     "{'iface_id': '1', 'host_dev_name': 'tap0'}");
}

Test(api, net_patch)
{
	expect_fault("not supported before starting", "PATCH", "/network-interfaces/1",
		     "{'iface_id': '1', 'rx_rate_limiter': {}}");
	run_vm();
	expect_ok("PATCH", "/network-interfaces/1",
		  "{'iface_id': '1', 'rx_rate_limiter': {'ops': {'size': 3, 'refill_time': 4}}, "
		  "'tx_rate_limiter': {}}");
	cr_assert_str_eq(fake.log,
			 "control(net-1,set_rate_limit,direction = \"rx\"; bandwidth_size = 0L; "
			 "ops_size = 3L; ops_refill_ms = 4L; ops_one_time_burst = 0L; )\n"
			 "control(net-1,set_rate_limit,direction = \"tx\"; bandwidth_size = 0L; "
			 "ops_size = 0L; )\n");
	cr_assert_eq(api.counters.net_patches, 1);
	fake.fail = -EINVAL;
	fake.err_text = "set_rate_limit: no such direction";
	expect_fault("1: set_rate_limit: no such direction", "PATCH", "/network-interfaces/1",
		     "{'iface_id': '1', 'tx_rate_limiter': {}}");
	expect_fault("differs", "PATCH", "/network-interfaces/1", "{'iface_id': '2'}");
	expect_fault("network-interfaces", "PATCH", "/network-interfaces/1",
		     "{'iface_id': '1', 'host_dev_name': 'tap0'}");
	expect_fault("tx_rate_limiter", "PATCH", "/network-interfaces/1",
		     "{'iface_id': '1', 'tx_rate_limiter': {'bandwidth': {}}}");
	expect_fault("an id is", "PATCH", "/network-interfaces/a.b", "{'iface_id': 'a.b'}");
	cr_assert_eq(api.counters.net_patches, 1);
	api.ops.device_control = NULL;
	expect_fault("not offered", "PATCH", "/network-interfaces/1",
		     "{'iface_id': '1', 'tx_rate_limiter': {}}");
}

/* ---- vsock, entropy ---- */

Test(api, vsock)
{
	expect_fault("guest_cid", "PUT", "/vsock", "{'guest_cid': 2, 'uds_path': 'v.sock'}");
	expect_fault("guest_cid", "PUT", "/vsock", "{'guest_cid': -3, 'uds_path': 'v.sock'}");
	expect_fault("guest_cid", "PUT", "/vsock",
		     "{'guest_cid': 4294967296, 'uds_path': 'v.sock'}");
	expect_fault("uds_path", "PUT", "/vsock", "{'guest_cid': 3}");
	expect_fault("uds_path", "PUT", "/vsock", "{'guest_cid': 3, 'uds_path': ''}");
	expect_fault("vsock", "PUT", "/vsock", "{'guest_cid': 3, 'uds_path': 'v', 'port': 1}");
	cr_assert_null(api.model.vsock);
	/* firecracker-go-sdk still sends the deprecated vsock_id. */
	expect_ok("PUT", "/vsock", "{'vsock_id': 'vsock0', 'guest_cid': 3, 'uds_path': 'v.sock'}");
	expect_ok("PUT", "/vsock", "{'guest_cid': 4294967295, 'uds_path': '/run/v.sock'}");
	put_boot();
	api.phase = API_PHASE_RUNNING;
	expect_fault("not supported after starting", "PUT", "/vsock",
		     "{'guest_cid': 3, 'uds_path': 'v.sock'}");
}

Test(api, entropy)
{
	expect_ok("PUT", "/entropy", "{}");
	expect_ok("PUT", "/entropy",
		  "{'rate_limiter': {'bandwidth': {'size': 1000, 'refill_time': 100}}}");
	expect_fault("entropy", "PUT", "/entropy", "{'rate': 1}");
	expect_fault("rate_limiter", "PUT", "/entropy", "{'rate_limiter': {'ops': {}}}");
	fake.no_rng_plugin = true;
	expect_fault("virtio-rng", "PUT", "/entropy", "{}");
	put_boot();
	api.phase = API_PHASE_RUNNING;
	expect_fault("not supported after starting", "PUT", "/entropy", "{}");
}

/* ---- balloon ---- */

Test(api, balloon_pre_boot)
{
	expect_fault("no balloon", "GET", "/balloon", NULL);
	expect_fault("no balloon", "GET", "/balloon/statistics", NULL);
	expect_fault("deflate_on_oom", "PUT", "/balloon", "{'amount_mib': 0}");
	expect_fault("amount_mib", "PUT", "/balloon", "{'deflate_on_oom': true}");
	expect_fault("negative", "PUT", "/balloon", "{'amount_mib': -1, 'deflate_on_oom': true}");
	expect_fault("balloon", "PUT", "/balloon",
		     "{'amount_mib': 1, 'deflate_on_oom': true, 'bogus': 1}");
	expect_ok("PUT", "/balloon",
		  "{'amount_mib': 64, 'deflate_on_oom': true, 'stats_polling_interval_s': 1, "
		  "'free_page_hinting': false, 'free_page_reporting': true}");
	cr_assert_eq(get_int("/balloon", "amount_mib"), 64);
	expect_fault("not supported before starting", "GET", "/balloon/statistics", NULL);
	expect_fault("not supported before starting", "PATCH", "/balloon", "{'amount_mib': 32}");
	expect_fault("not supported before starting", "PATCH", "/balloon/statistics",
		     "{'stats_polling_interval_s': 5}");
	expect_fault("Invalid request", "DELETE", "/balloon", NULL);
	cr_assert_str_eq(fake.log, "");
}

Test(api, balloon_running)
{
	expect_ok("PUT", "/balloon", "{'amount_mib': 64, 'deflate_on_oom': false}");
	run_vm();
	expect_ok("PATCH", "/balloon", "{'amount_mib': 32}");
	cr_assert_str_eq(fake.log, "control(balloon,set_target,amount_mib = 32L;)\n");
	cr_assert_eq(json_integer_value(json_object_get(api.model.balloon, "amount_mib")), 32);
	fake.log[0] = '\0';
	expect_ok("PATCH", "/balloon/statistics", "{'stats_polling_interval_s': 5}");
	cr_assert_str_eq(fake.log,
			 "control(balloon,set_stats_interval,stats_polling_interval_s = 5L;)\n");
	fake.log[0] = '\0';
	expect_ok("PATCH", "/balloon/hinting/start", "{'acknowledge_on_stop': false}");
	expect_ok("PATCH", "/balloon/hinting/start", "{}"); /* the default: acknowledge */
	expect_ok("PATCH", "/balloon/hinting/stop", "{}");
	cr_assert_str_eq(fake.log, "control(balloon,hinting_start,acknowledge_on_stop = false;)\n"
				   "control(balloon,hinting_start,acknowledge_on_stop = true;)\n"
				   "control(balloon,hinting_stop,)\n");
	cr_assert_eq(api.counters.balloon_patches, 5);

	/* Once running, the device answers GETs. */
	fake.reply = "target_pages = 8192;\nactual_pages = 4096;\ntarget_mib = 32;\n"
		     "actual_mib = 16;\nfree_memory = 123456789012L;\n";
	expect(200, "GET", "/balloon/statistics", NULL);
	cr_assert_eq(json_integer_value(json_object_get(answer, "target_pages")), 8192);
	cr_assert_eq(json_integer_value(json_object_get(answer, "free_memory")), 123456789012LL);
	cr_assert_eq(json_object_size(answer), 5);
	fake.reply = "amount_mib = 32;\ndeflate_on_oom = 0;\n";
	cr_assert_eq(get_int("/balloon", "amount_mib"), 32);
	fake.reply = "acknowledged = \"no\";\n";
	expect(200, "GET", "/balloon/hinting/status", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(answer, "acknowledged")), "no");
}

Test(api, balloon_running_refused)
{
	run_vm();
	/* ember run's libconfig VM: no model, the device answers (here: it is not there). */
	fake.fail = -ENOENT;
	fake.err_text = "no device \"balloon\"";
	expect_fault("balloon: no device", "GET", "/balloon", NULL);
	fake.reply = "target_pages = ;\n";
	expect_fault("malformed reply", "GET", "/balloon/statistics", NULL);
	fake.fail = -EINVAL;
	fake.err_text = "statistics are off";
	expect_fault("statistics are off", "GET", "/balloon/statistics", NULL);
	expect_fault("negative", "PATCH", "/balloon", "{'amount_mib': -5}");
	expect_fault("negative", "PATCH", "/balloon/statistics",
		     "{'stats_polling_interval_s': -1}");
	expect_fault("amount_mib", "PATCH", "/balloon", "{}");
	expect_fault("balloon", "PATCH", "/balloon", "{'amount_mib': 1, 'deflate_on_oom': true}");
	expect_fault("balloon", "PATCH", "/balloon/hinting/stop", "{'x': 1}");
	expect_fault("Invalid request", "PATCH", "/balloon/other", "{}");
	expect_fault("Invalid request", "PUT", "/balloon/statistics", "{}");
	expect_fault("Invalid request", "GET", "/balloonx", NULL);
	fake.fail = -EIO;
	fake.err_text = "set_target: the guest has no driver";
	expect_fault("no driver", "PATCH", "/balloon", "{'amount_mib': 1}");
	cr_assert_eq(api.counters.balloon_patches, 0);
	api.ops.device_control = NULL;
	expect_fault("not offered", "GET", "/balloon", NULL);
	expect_fault("not supported after starting", "PUT", "/balloon",
		     "{'amount_mib': 64, 'deflate_on_oom': false}");
}

Test(api, reply_to_json_good)
{
	json_t *v = api_reply_to_json("a = 1;\nb_2 = \"x\\\"y\\\\z\";\n  c = -5L;\nd = \"\";");

	cr_assert_not_null(v);
	cr_assert_eq(json_integer_value(json_object_get(v, "a")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(v, "b_2")), "x\"y\\z");
	cr_assert_eq(json_integer_value(json_object_get(v, "c")), -5);
	cr_assert_str_eq(json_string_value(json_object_get(v, "d")), "");
	cr_assert_eq(json_object_size(v), 4);
	json_decref(v);
	v = api_reply_to_json("");
	cr_assert(json_is_object(v) && json_object_size(v) == 0);
	json_decref(v);
	v = api_reply_to_json(NULL);
	cr_assert(json_is_object(v) && json_object_size(v) == 0);
	json_decref(v);
	/* plugin_control_reply_string writes control bytes as \xHH: they come back as bytes. */
	v = api_reply_to_json("s = \"a\\x09b\\x1fc\";\n");
	cr_assert_not_null(v);
	cr_assert_str_eq(json_string_value(json_object_get(v, "s")), "a\tb\037c");
	json_decref(v);
}

Test(api, reply_to_json_malformed)
{
	static const char *const bad[] = {
	    "a = ;",
	    "a 1;",
	    "A = 1;",
	    "a = \"open;",
	    "a = 1",
	    "a = 1;;",
	    "= 1;",
	    "a = x;",
	    "a = 1 ;",
	    "a=1;",
	    "a = 12z;",
	    "a = \"x\"",
	    "a = true;",
	    "a-b = 1;",
	    "a = \"\\x4\";",
	    "a = 1;\nb",
	    "a_very_long_name_that_goes_on_and_on_and_on_for_more_than_sixty_four_bytes = 1;",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *v = api_reply_to_json(bad[i]);

		cr_assert_null(v, "accepted: %s", bad[i]);
	}
}

/* ---- actions, PATCH /vm ---- */

Test(api, actions_instance_start)
{
	expect_fault("action_type", "PUT", "/actions", "{}");
	expect_fault("actions", "PUT", "/actions", "{'action_type': 'InstanceStart', 'x': 1}");
	expect_fault("expected InstanceStart", "PUT", "/actions", "{'action_type': 'Reboot'}");
	fake.fail = -EINVAL;
	fake.err_text = "boot-source: not set";
	expect_fault("InstanceStart: boot-source: not set", "PUT", "/actions",
		     "{'action_type': 'InstanceStart'}");
	cr_assert_eq(api.phase, API_PHASE_CONFIGURING);
	/* Configuration still open after a refused start. */
	put_boot();
	expect_ok("PUT", "/actions", "{'action_type': 'InstanceStart'}");
	cr_assert_eq(api.phase, API_PHASE_STARTING);
	cr_assert_str_eq(fake.log, "start\nstart\n");
	expect_fault("not supported after starting", "PUT", "/actions",
		     "{'action_type': 'InstanceStart'}");
	api.phase = API_PHASE_RUNNING;
	expect_fault("not supported after starting", "PUT", "/actions",
		     "{'action_type': 'InstanceStart'}");
	expect_fault("Invalid request", "GET", "/actions", NULL);
	expect_fault("Invalid request", "PATCH", "/actions", "{'action_type': 'InstanceStart'}");
}

Test(api, actions_running_only)
{
	expect_fault("not supported before starting", "PUT", "/actions",
		     "{'action_type': 'SendCtrlAltDel'}");
	expect_fault("not supported before starting", "PUT", "/actions",
		     "{'action_type': 'FlushMetrics'}");
	cr_assert_str_eq(fake.log, "");
	run_vm();
	expect_ok("PUT", "/actions", "{'action_type': 'SendCtrlAltDel'}");
	expect_ok("PUT", "/actions", "{'action_type': 'FlushMetrics'}");
	cr_assert_str_eq(fake.log, "ctrl_alt_del\nflush_metrics\n");
	fake.fail = -EIO;
	fake.err_text = "the metrics file is gone";
	expect_fault("FlushMetrics: the metrics file is gone", "PUT", "/actions",
		     "{'action_type': 'FlushMetrics'}");
	fake.fail = -EIO;
	expect_fault("SendCtrlAltDel: ", "PUT", "/actions", "{'action_type': 'SendCtrlAltDel'}");
}

Test(api, actions_not_offered)
{
	memset(&api.ops, 0, sizeof(api.ops));
	expect_fault("not offered", "PUT", "/actions", "{'action_type': 'InstanceStart'}");
	cr_assert_eq(api.phase, API_PHASE_CONFIGURING);
	api.phase = API_PHASE_RUNNING;
	expect_fault("not offered", "PUT", "/actions", "{'action_type': 'SendCtrlAltDel'}");
	expect_fault("not offered", "PUT", "/actions", "{'action_type': 'FlushMetrics'}");
	expect_fault("vm: Paused", "PATCH", "/vm", "{'state': 'Paused'}");
	cr_assert_str_eq(state(), "Running");
}

Test(api, patch_vm)
{
	expect_fault("not supported before starting", "PATCH", "/vm", "{'state': 'Paused'}");
	run_vm();
	expect_fault("expected \"Paused\" or \"Resumed\"", "PATCH", "/vm", "{'state': 'Stopped'}");
	expect_fault("state", "PATCH", "/vm", "{}");
	expect_fault("vm", "PATCH", "/vm", "{'state': 'Paused', 'x': 1}");
	expect_fault("vm: ", "PATCH", "/vm", "{'state': 1}");
	fake.fail = -EBUSY;
	fake.err_text = "a vCPU does not stop";
	expect_fault("vm: Paused: a vCPU does not stop", "PATCH", "/vm", "{'state': 'Paused'}");
	cr_assert_str_eq(state(), "Running");
	expect_ok("PATCH", "/vm", "{'state': 'Paused'}");
	fake.fail = -EIO;
	expect_fault("vm: Resumed", "PATCH", "/vm", "{'state': 'Resumed'}");
	cr_assert_str_eq(state(), "Paused");
	expect_ok("PATCH", "/vm", "{'state': 'Resumed'}");
	cr_assert_eq(api.counters.pauses, 1);
	cr_assert_eq(api.counters.resumes, 1);
	cr_assert_str_eq(fake.log, "pause\npause\nresume\nresume\n");
	expect_fault("Invalid request", "PUT", "/vm", "{'state': 'Paused'}");
	expect_fault("Invalid request", "GET", "/vm", NULL);
}

/* ---- logger, metrics ---- */

Test(api, logger)
{
	static const char *const levels[] = {"Error", "Warning", "warn", "INFO",
					     "Debug", "trace",	 "Off"};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		expect_ok("PUT", "/logger",
			  "{'log_path': 'fc.log', 'level': '%s', 'show_level': true, "
			  "'show_log_origin': false}",
			  levels[i]);
	cr_assert_str_eq(json_string_value(json_object_get(fake.body_seen, "level")), "Off");
	expect_ok("PUT", "/logger", "{}");
	expect_ok("PUT", "/logger", "{'module': 'api_server'}");
	expect_fault("level", "PUT", "/logger", "{'level': 'Verbose'}");
	expect_fault("logger: ", "PUT", "/logger", "{'level': 3}");
	expect_fault("logger", "PUT", "/logger", "{'log_path': 'x', 'colour': true}");
	fake.fail = -EACCES;
	fake.err_text = "logger: log_path: fc.log: Permission denied";
	expect_fault("Permission denied", "PUT", "/logger", "{'log_path': 'fc.log'}");
	/* A logger that could not be applied is not the configuration's. */
	cr_assert_str_eq(json_string_value(json_object_get(api.model.logger, "module")),
			 "api_server");
	expect(200, "GET", "/vm/config", NULL);
	cr_assert_null(json_object_get(json_object_get(answer, "logger"), "log_path"));
	api.ops.set_logger = NULL;
	expect_ok("PUT", "/logger", "{'level': 'Info'}");
	api.phase = API_PHASE_RUNNING;
	expect_fault("not supported after starting", "PUT", "/logger", "{'level': 'Info'}");
}

Test(api, metrics)
{
	expect_ok("PUT", "/metrics", "{'metrics_path': 'metrics.fifo'}");
	cr_assert_str_eq(fake.log, "set_metrics\n");
	cr_assert_str_eq(json_string_value(json_object_get(fake.body_seen, "metrics_path")),
			 "metrics.fifo");
	expect_fault("metrics_path", "PUT", "/metrics", "{}");
	expect_fault("metrics", "PUT", "/metrics", "{'metrics_path': 'm', 'x': 1}");
	fake.fail = -ENOENT;
	fake.err_text = "metrics: metrics_path: /no/m: No such file or directory";
	expect_fault("No such file", "PUT", "/metrics", "{'metrics_path': '/no/m'}");
	cr_assert_str_eq(json_string_value(json_object_get(api.model.metrics, "metrics_path")),
			 "metrics.fifo");
	api.phase = API_PHASE_RUNNING;
	expect_fault("not supported after starting", "PUT", "/metrics", "{'metrics_path': 'm'}");
	expect_fault("Invalid request", "GET", "/metrics", NULL);
}

/* ---- mmds ---- */

Test(api, mmds)
{
	expect_fault("not initialized", "GET", "/mmds", NULL);
	expect_fault("not initialized", "PATCH", "/mmds", "{'a': 1}");
	expect_ok("PUT", "/mmds",
		  "{'latest': {'meta-data': {'ami-id': 'ami-1', 'hostname': 'vm'}}, 'gone': 1, "
		  "'list': [1, 2]}");
	expect(200, "GET", "/mmds", NULL);
	cr_assert_str_eq(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(answer, "latest"), "meta-data"), "ami-id")),
	    "ami-1");
	/* RFC 7396: null removes, objects merge member by member, anything else replaces. */
	expect_ok("PATCH", "/mmds",
		  "{'latest': {'meta-data': {'hostname': null, 'zone': 'a'}}, 'gone': null, "
		  "'list': [3], 'new': {'x': null, 'y': {'z': null, 'w': 1}}}");
	expect(200, "GET", "/mmds", NULL);
	{
		json_error_t e;
		json_t *want = json_loads("{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1\", "
					  "\"zone\": \"a\"}}, \"list\": [3], \"new\": {\"y\": "
					  "{\"w\": 1}}}",
					  0, &e);

		cr_assert_not_null(want, "%s", e.text);
		cr_assert(json_equal(answer, want), "%s", resp.body);
		json_decref(want);
	}
	/* PUT replaces the whole store. */
	expect_ok("PUT", "/mmds", "{}");
	expect(200, "GET", "/mmds", NULL);
	cr_assert_eq(json_object_size(answer), 0);
	expect_fault("JSON object", "PUT", "/mmds", "[1]");
	expect_fault("JSON", "PATCH", "/mmds", "null");
	/* The store works in every phase (the guest reads it while running). */
	run_vm();
	expect_ok("PATCH", "/mmds", "{'k': 'v'}");
	expect_ok("PUT", "/mmds", "{'k': 'w'}");
	expect_fault("Invalid request", "DELETE", "/mmds", NULL);
}

Test(api, mmds_deep_patch_is_all_or_nothing)
{
	char body[4096];
	size_t n = 0;

	expect_ok("PUT", "/mmds", "{'keep': 1}");
	/* Deeper than the merge goes: refused, and the store is as it was. */
	n += (size_t)snprintf(body + n, sizeof(body) - n, "{\"keep\": null, ");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "\"a\": {");
	for (int i = 0; i < 40; i++)
		body[n++] = '}';
	body[n++] = '}';
	body[n] = '\0';
	cr_assert_eq(req_len("PATCH", "/mmds", body, n), 400, "%s", resp.body);
	expect(200, "GET", "/mmds", NULL);
	cr_assert_eq(json_integer_value(json_object_get(answer, "keep")), 1, "%s", resp.body);
	cr_assert_eq(json_object_size(answer), 1, "%s", resp.body);
}

Test(api, mmds_config)
{
	expect_fault("network_interfaces[0]", "PUT", "/mmds/config",
		     "{'network_interfaces': ['eth0']}");
	expect_ok("PUT", "/network-interfaces/eth0",
		  "{'iface_id': 'eth0', 'host_dev_name': 'tap0'}");
	expect_ok("PUT", "/mmds/config",
		  "{'network_interfaces': ['eth0'], 'version': 'V2', 'ipv4_address': "
		  "'169.254.169.254', 'imds_compat': false}");
	expect_ok("PUT", "/mmds/config", "{'network_interfaces': []}");
	expect_fault("network_interfaces[1]", "PUT", "/mmds/config",
		     "{'network_interfaces': ['eth0', 'eth1']}");
	expect_fault("network_interfaces[0]", "PUT", "/mmds/config", "{'network_interfaces': [1]}");
	expect_fault("network_interfaces", "PUT", "/mmds/config", "{'network_interfaces': 'eth0'}");
	expect_fault("network_interfaces", "PUT", "/mmds/config", "{'version': 'V1'}");
	expect_fault("version", "PUT", "/mmds/config",
		     "{'network_interfaces': ['eth0'], 'version': 'V3'}");
	expect_fault("mmds-config", "PUT", "/mmds/config",
		     "{'network_interfaces': ['eth0'], 'token_ttl': 1}");
	put_boot();
	api.phase = API_PHASE_RUNNING;
	expect_fault("not supported after starting", "PUT", "/mmds/config",
		     "{'network_interfaces': ['eth0']}");
}

/* ---- GET /vm/config ---- */

Test(api, vm_config_shape)
{
	static const char *const keys[] = {
	    "machine-config", "boot-source", "drives",	     "network-interfaces",
	    "vsock",	      "balloon",     "logger",	     "metrics",
	    "mmds-config",    "entropy",     "ember-devices"};

	expect(200, "GET", "/vm/config", NULL);
	cr_assert_eq(json_object_size(answer), sizeof(keys) / sizeof(keys[0]), "%s", resp.body);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_assert_not_null(json_object_get(answer, keys[i]), "%s", keys[i]);
	cr_assert(json_is_null(json_object_get(answer, "boot-source")));
	cr_assert(json_is_null(json_object_get(answer, "vsock")));
	cr_assert(json_is_array(json_object_get(answer, "drives")));
	cr_assert_eq(json_integer_value(
			 json_object_get(json_object_get(answer, "machine-config"), "vcpu_count")),
		     1);

	put_boot();
	expect_ok("PUT", "/drives/rootfs",
		  "{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true}", rootfs);
	expect_ok("PUT", "/network-interfaces/1", "{'iface_id': '1', 'host_dev_name': 'tap0'}");
	expect_ok("PUT", "/vsock", "{'guest_cid': 3, 'uds_path': 'v.sock'}");
	expect_ok("PUT", "/entropy", "{}");
	expect_ok("PUT", "/ember/devices/pv", "{'plugin': 'pvpanic'}");
	expect(200, "GET", "/vm/config", NULL);
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(answer, "drives"), 0), "drive_id")),
			 "rootfs");
	cr_assert_eq(json_array_size(json_object_get(answer, "network-interfaces")), 1);
	cr_assert_eq(
	    json_integer_value(json_object_get(json_object_get(answer, "vsock"), "guest_cid")), 3);
	cr_assert(json_is_object(json_object_get(answer, "entropy")));
	cr_assert_eq(json_array_size(json_object_get(answer, "ember-devices")), 1);
	expect_fault("Invalid request", "PUT", "/vm/config", "{}");
}

/* ---- ember's own devices ---- */

Test(api, ember_devices)
{
	expect(200, "GET", "/ember/devices", NULL);
	cr_assert(json_is_array(answer) && json_array_size(answer) == 0);
	expect_ok("PUT", "/ember/devices/pv",
		  "{'id': 'pv', 'plugin': 'pvpanic', 'options': {'port': 1285, 'name': 'x', "
		  "'on': true, 'ratio': 0.5}}");
	expect_ok("PUT", "/ember/devices/clock", "{'plugin': 'vmclock'}");
	expect(200, "GET", "/ember/devices", NULL);
	cr_assert_eq(json_array_size(answer), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(answer, 1), "id")),
			 "clock");
	cr_assert(json_is_object(json_object_get(json_array_get(answer, 1), "options")));
	/* Same id: replaced. */
	expect_ok("PUT", "/ember/devices/pv", "{'plugin': 'pvpanic', 'options': {}}");
	cr_assert_eq(json_array_size(api.model.ember_devices), 2);

	/* Running: the VM's devices, from ops. */
	run_vm();
	expect(200, "GET", "/ember/devices", NULL);
	cr_assert_str_eq(fake.log, "devices\n");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(answer, 0), "id")),
			 "rng0");
	expect_fault("not supported after starting", "PUT", "/ember/devices/x",
		     "{'plugin': 'pvpanic'}");
}

Test(api, ember_devices_refused)
{
	static const char *const bad_names[] = {"Bad", "a-b", "", "a.b", "1st", "_x"};
	static const char *const bad_values[] = {"{}", "[]", "null", "[1]"};
	static const char *const reserved[] = {"plugin", "id", "remove"};

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		expect_fault("not an option name", "PUT", "/ember/devices/d",
			     "{'plugin': 'p', 'options': {'%s': 1}}", bad_names[i]);
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++)
		expect_fault("expected a string, number or boolean", "PUT", "/ember/devices/d",
			     "{'plugin': 'p', 'options': {'x': %s}}", bad_values[i]);
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		expect_fault("reserved", "PUT", "/ember/devices/d",
			     "{'plugin': 'p', 'options': {'%s': 'x'}}", reserved[i]);
	expect_fault("options: expected a JSON object", "PUT", "/ember/devices/d",
		     "{'plugin': 'p', 'options': [1]}");
	expect_fault("plugin", "PUT", "/ember/devices/d", "{'options': {}}");
	expect_fault("not a plugin name", "PUT", "/ember/devices/d", "{'plugin': ''}");
	expect_fault("not a plugin name", "PUT", "/ember/devices/d", "{'plugin': 'a\\\"b'}");
	expect_fault("differs", "PUT", "/ember/devices/d", "{'id': 'e', 'plugin': 'p'}");
	expect_fault("an id is", "PUT", "/ember/devices/d-1", "{'plugin': 'p'}");
	expect_fault("ember-devices", "PUT", "/ember/devices/d", "{'plugin': 'p', 'x': 1}");
	fake.no_rng_plugin = true;
	expect_fault("needs the virtio-rng plugin", "PUT", "/ember/devices/d",
		     "{'plugin': 'virtio-rng'}");
	/* Ids are one namespace in ember's VM: a drive's, the fixed devices'. */
	expect_ok("PUT", "/drives/disk",
		  "{'drive_id': 'disk', 'path_on_host': '%s', "
		  "'is_root_device': false}",
		  data);
	expect_fault("another device has it", "PUT", "/ember/devices/disk", "{'plugin': 'p'}");
	expect_fault("another device has it", "PUT", "/ember/devices/vsock", "{'plugin': 'p'}");
	expect_fault("another device has it", "PUT", "/ember/devices/balloon", "{'plugin': 'p'}");
	expect_fault("another device has it", "PUT", "/ember/devices/entropy", "{'plugin': 'p'}");
	cr_assert_eq(json_array_size(api.model.ember_devices), 0);
	expect_fault("Invalid request", "GET", "/ember/devices/disk", NULL);
	expect_fault("Invalid request", "PUT", "/ember/devices", "{}");
}

/* ---- what is not offered, what is not there, what is not JSON ---- */

Test(api, snapshots_and_cpu_config)
{
	expect_fault("Snapshots are not offered", "PUT", "/snapshot/create",
		     "{'snapshot_path': 's', 'mem_file_path': 'm'}");
	expect_fault("Snapshots are not offered", "PUT", "/snapshot/load",
		     "{'snapshot_path': 's', 'mem_backend': {}}");
	expect_fault("CPU templates", "PUT", "/cpu-config", "{}");
}

Test(api, unknown_paths_and_methods)
{
	static const char *const reqs[][2] = {
	    {"GET", "/nope"},
	    {"POST", "/actions"},
	    {"DELETE", "/machine-config"},
	    {"PUT", "/"},
	    {"GET", ""},
	    {"GET", "version"},
	    {"PATCH", "/boot-source"},
	    {"GET", "/boot-source"},
	    {"HEAD", "/"},
	    {"PUT", "/version"},
	    {"PATCH", "/entropy"},
	    {"GET", "/vsock"},
	    {"PUT", "/drives"},
	    {"GET", "/mmds/config"},
	    {"get", "/"},
	};

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		expect_fault("Invalid request method and/or path", reqs[i][0], reqs[i][1], "{}");
	cr_assert_eq(api.counters.errors, sizeof(reqs) / sizeof(reqs[0]));
	cr_assert_eq(api.counters.requests, sizeof(reqs) / sizeof(reqs[0]));
}

Test(api, bodies_that_are_not_objects)
{
	expect_fault("empty", "PUT", "/machine-config", NULL);
	expect_fault("empty", "PUT", "/actions", NULL);
	expect_fault("not valid JSON", "PUT", "/machine-config", "{");
	expect_fault("not valid JSON", "PUT", "/machine-config", "{'vcpu_count': 1,}");
	expect_fault("not valid JSON", "PUT", "/machine-config", "{} {}");
	expect_fault("not valid JSON", "PUT", "/mmds", "{'a': 'b");
	expect_fault("must be a JSON object", "PUT", "/machine-config", "[]");
	/* jansson refuses a scalar at the top before the object check sees it. */
	expect_fault("not valid JSON", "PUT", "/actions", "'InstanceStart'");
	expect_fault("not valid JSON", "PUT", "/boot-source", "1");
	expect_fault("not valid JSON", "PUT", "/mmds", "null");
	/* Firecracker (serde) refuses a repeated key rather than keeping one of them. */
	expect_fault("duplicate", "PUT", "/machine-config",
		     "{'vcpu_count': 1, 'mem_size_mib': 256, 'vcpu_count': 2}");
	expect_fault("duplicate", "PUT", "/mmds", "{'a': {'b': 1, 'b': 2}}");
	/* A body is its length, not its first NUL. */
	cr_assert_eq(req_len("PUT", "/actions", "{}\0{}", 5), 400);
	cr_assert_eq(req_len("PUT", "/actions", "{\"action_type\": \"Instance\0Start\"}", 33), 400);
	cr_assert_eq(req_len("PUT", "/mmds", "{\"a\": \"\\u0000\"}", 15), 400);
	/* Invalid UTF-8 is not JSON. */
	cr_assert_eq(req_len("PUT", "/mmds", "{\"a\": \"\xff\"}", 10), 400);
	expect_fault("not valid JSON", "PUT", "/mmds", "\xef\xbb\xbf{}");
	cr_assert_eq(api.counters.errors, api.counters.requests);
	cr_assert_null(api.model.mmds);
}

Test(api, fault_messages_are_valid_utf8)
{
	/* The path and ids are echoed back; whatever bytes came in, the answer is JSON. */
	cr_assert_eq(req("GET", "/n\xffo\xc3", NULL), 400);
	cr_assert_not_null(strstr(fault_message(), "Invalid request"), "%s", resp.body);
	cr_assert_eq(req("PUT", "/drives/\xe2\x82", "{}"), 400);
	cr_assert_not_null(strstr(fault_message(), "an id is"), "%s", resp.body);
	/* Cut at 40 bytes in the middle of a two-byte character. */
	cr_assert_eq(req("PUT", "/drives/d",
			 "{'drive_id': 'd', 'path_on_host': '%s', 'is_root_device': false, "
			 "'cache_type': 'a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
			 "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'}",
			 data),
		     400);
	cr_assert_null(strstr(fault_message(), "out of memory"), "%s", resp.body);
	cr_assert_eq(req("PATCH", "/drives/d",
			 "{'drive_id': 'd\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'}"),
		     400);
	cr_assert_null(strstr(fault_message(), "out of memory"), "%s", resp.body);
}

/* firecracker-go-sdk's boot sequence (the reference's order), each answer as it expects. */
Test(api, go_sdk_sequence)
{
	expect(200, "GET", "/machine-config", NULL);
	expect_ok("PUT", "/logger",
		  "{'log_path': 'fc.log', 'level': 'Debug', 'show_level': true, "
		  "'show_log_origin': true}");
	expect_ok("PUT", "/metrics", "{'metrics_path': 'fc.metrics'}");
	expect_ok("PUT", "/machine-config", "{'vcpu_count': 2, 'mem_size_mib': 256, 'smt': false}");
	expect(200, "GET", "/machine-config", NULL);
	expect_ok("PUT", "/boot-source",
		  "{'kernel_image_path': '%s', 'boot_args': 'console=ttyS0 reboot=k panic=1 "
		  "pci=off'}",
		  kernel);
	expect_ok("PUT", "/drives/0",
		  "{'drive_id': '0', 'path_on_host': '%s', 'is_root_device': false, "
		  "'is_read_only': false}",
		  data);
	expect_ok("PUT", "/drives/root_drive",
		  "{'drive_id': 'root_drive', 'path_on_host': '%s', 'is_root_device': true, "
		  "'is_read_only': false}",
		  rootfs);
	expect_ok("PUT", "/network-interfaces/1",
		  "{'iface_id': '1', 'host_dev_name': 'tap0', 'guest_mac': '06:00:AC:10:00:02'}");
	expect_ok("PUT", "/vsock", "{'vsock_id': 'vsock0', 'guest_cid': 3, 'uds_path': 'v.sock'}");
	expect_ok("PUT", "/mmds/config", "{'network_interfaces': ['1'], 'version': 'V2'}");
	expect_ok("PUT", "/balloon",
		  "{'amount_mib': 0, 'deflate_on_oom': true, "
		  "'stats_polling_interval_s': 1}");
	expect_ok("PUT", "/mmds", "{'latest': {'meta-data': {'instance-id': 'i-1'}}}");
	expect_ok("PUT", "/actions", "{'action_type': 'InstanceStart'}");
	api.phase = API_PHASE_RUNNING;
	expect(200, "GET", "/version", NULL);
	cr_assert_str_eq(state(), "Running");
	expect_ok("PATCH", "/drives/0", "{'drive_id': '0', 'path_on_host': '%s'}", rootfs);
	expect_ok("PATCH", "/network-interfaces/1", "{'iface_id': '1', 'rx_rate_limiter': {}}");
	expect_ok("PATCH", "/balloon", "{'amount_mib': 16}");
	expect_ok("PATCH", "/balloon/statistics", "{'stats_polling_interval_s': 2}");
	expect_ok("PATCH", "/vm", "{'state': 'Paused'}");
	expect_ok("PATCH", "/vm", "{'state': 'Resumed'}");
	expect(200, "GET", "/vm/config", NULL);
	expect_ok("PUT", "/actions", "{'action_type': 'SendCtrlAltDel'}");
	cr_assert_eq(api.counters.errors, 0);
}
