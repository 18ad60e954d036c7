/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes Firecracker's API router (core/api/api_router.c) and the VM model under it: each input
 * is a sequence of requests to one fresh struct api, so phase changes (configure, InstanceStart,
 * running, paused) are exercised, with fake api_ops that succeed or fail as the input says.
 *
 * Input: requests separated by a line "%%"; a request is one line "METHOD PATH [FLAGS]", then
 * its body (the rest, any bytes). FLAGS (decimal) picks what the fake ops do for it:
 *   1  the next process op fails (start, pause, resume, ctrl_alt_del, flush, logger, metrics)
 *   2  device_control fails            4  device_control answers a malformed reply
 *   8  the devices op returns NULL    16  no plugin is available (have_plugin says no)
 *  32  no ops at all (every member NULL: "not offered")
 *  64  an accepted InstanceStart is not built yet (the phase stays STARTING for this request)
 * Two pseudo-methods stand for ember's command line, before any request: CONFIG-FILE (the body
 * is Firecracker's --config-file JSON; it boots at once, so the API then serves the running
 * phase, as Kata uses it) and METADATA (--metadata: the body is the MMDS store).
 *
 * After every request the answer is checked, and a broken rule aborts (libFuzzer's finding):
 * the status is 200 (GET only), 204 (PUT/PATCH only, no body) or 400; a body is JSON; a 400's is
 * an object with a non-empty fault_message string; the request and error counters move by one;
 * the phase only moves forward; a refused request with no successful effect leaves the model
 * as it was; a reply the fake device wrote well is never called malformed; and once a boot
 * source is set the model's libconfig text parses with libconfig and says what the model says
 * (vCPUs, memory, kernel, one device per drive, interface and device section). Leaks are
 * ASan's (LeakSanitizer at the end of every input under libFuzzer). With $EMBER_FUZZ_API_TRACE
 * set, each request and its answer go to stderr (to read a reproducer).
 */
#include "fuzz_api.h"

#include "api_router.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_REQUESTS 48
#define MAX_LINE     4096

enum {
	FLAG_OP_FAILS = 1,
	FLAG_CONTROL_FAILS = 2,
	FLAG_BAD_REPLY = 4,
	FLAG_NO_DEVICES = 8,
	FLAG_NO_PLUGINS = 16,
	FLAG_NO_OPS = 32,
	FLAG_NOT_BUILT = 64,
};

#define CHECK(cond, ...)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "fuzz-api: broken: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__);                     \
			fputc('\n', stderr);                              \
			abort();                                          \
		}                                                         \
	} while (0)

static struct fuzz_api_stats local_stats;
static struct fuzz_api_stats *stats = &local_stats;

/* The request being answered: its flags, and what the fake ops did during it. */
static unsigned flags;
static unsigned effects; /* ops that succeeded: a refused request may then have changed state */
static bool wrote_good_reply;
static bool trace; /* $EMBER_FUZZ_API_TRACE: each request and its answer on stderr */

const struct fuzz_api_stats *fuzz_api_stats(void)
{
	return stats;
}

/* ---- fake ops ---- */

static int op_result(char *err, size_t n)
{
	if (flags & FLAG_OP_FAILS) {
		flags &= ~(unsigned)FLAG_OP_FAILS;
		snprintf(err, n, "the fake op failed \"as asked\" \xc3\xa9");
		return -EIO;
	}
	effects++;
	return 0;
}

static int op_plain(void *o, char *err, size_t n)
{
	(void)o;
	return op_result(err, n);
}

static int op_with_body(void *o, json_t *body, char *err, size_t n)
{
	(void)o;
	CHECK(json_is_object(body), "set_logger/set_metrics got a non-object");
	return op_result(err, n);
}

/* plugin_control_reply_string's quoting, so the router's parser meets what devices write. */
static void quote(char *out, size_t size, const char *s)
{
	size_t n = 0;

	for (; s && *s && n + 5 < size; s++) {
		if (*s == '"' || *s == '\\') {
			out[n++] = '\\';
			out[n++] = *s;
		} else if ((unsigned char)*s < 0x20) {
			n += (size_t)snprintf(out + n, size - n, "\\x%02x", (unsigned char)*s);
		} else
			out[n++] = *s;
	}
	out[n] = '\0';
}

static int op_control(void *o, const char *id, const char *name, const char *args, char *reply,
		      size_t n)
{
	char quoted[512];

	(void)o;
	CHECK(id && *id && name && *name, "device_control without an id or a request name");
	if (flags & FLAG_CONTROL_FAILS) {
		snprintf(reply, n, "%s: the fake device refused", name);
		return -EINVAL;
	}
	if (flags & FLAG_BAD_REPLY) {
		snprintf(reply, n, "target_pages = ;\n");
		return 0;
	}
	quote(quoted, sizeof(quoted), args);
	snprintf(reply, n,
		 "target_pages = 16384;\nactual_pages = -3;\nfree_memory = 123456789012L;\n"
		 "request = \"%s\";\nargs = \"%s\";\n",
		 name, quoted);
	wrote_good_reply = true;
	effects++;
	return 0;
}

static json_t *op_devices(void *o)
{
	(void)o;
	if (flags & FLAG_NO_DEVICES)
		return NULL;
	return json_pack("[{s:s, s:s}]", "id", "rng0", "plugin", "virtio-rng");
}

static bool have_plugin(void *o, const char *plugin)
{
	(void)o;
	CHECK(plugin && *plugin, "have_plugin without a name");
	return !(flags & FLAG_NO_PLUGINS);
}

static const struct api_ops fake_ops = {
    .start = op_plain,
    .pause = op_plain,
    .resume = op_plain,
    .ctrl_alt_del = op_plain,
    .flush_metrics = op_plain,
    .device_control = op_control,
    .devices = op_devices,
    .set_logger = op_with_body,
    .set_metrics = op_with_body,
};

/* ---- set-up ---- */

static void make_file(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", FUZZ_API_DIR, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

/* The counters in $EMBER_FUZZ_STATS (fuzz_stats.h), so tools/fuzz can tell a run that tested
 * nothing; a file it cannot use is a failed run, not a silent one. */
static void map_stats(void)
{
	const char *path = getenv("EMBER_FUZZ_STATS");
	struct stat st;
	void *p;
	int fd;

	if (!path || !*path)
		return;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || st.st_size < FUZZ_STATS_FILE_SIZE) {
		fprintf(stderr, "fuzz-api: EMBER_FUZZ_STATS=%s: not a %d-byte file\n", path,
			FUZZ_STATS_FILE_SIZE);
		exit(FUZZ_EXIT_USAGE);
	}
	p = mmap(NULL, FUZZ_STATS_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		perror("fuzz-api: mmap EMBER_FUZZ_STATS");
		exit(FUZZ_EXIT_USAGE);
	}
	stats = p;
	stats->base.magic = FUZZ_STATS_MAGIC;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const files[] = {"vmlinux",	 "initrd.img", "rootfs.ext4",
					    "data0.img", "data1.img",  "q\"b\\s.img"};

	(void)argc;
	(void)argv;
	if (mkdir(FUZZ_API_DIR, 0700) && errno != EEXIST) {
		perror("fuzz-api: mkdir " FUZZ_API_DIR);
		exit(FUZZ_EXIT_USAGE);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		make_file(files[i]);
	map_stats();
	trace = getenv("EMBER_FUZZ_API_TRACE") != NULL;
	return 0;
}

/* ---- checks ---- */

static json_int_t int_member(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* The model's libconfig text parses, and says what the model says. */
static void check_libconfig(const struct fc_model *m)
{
	char err[512];
	char *text = fc_model_libconfig(m, err, sizeof(err));
	const config_setting_t *devs;
	const char *kernel = NULL;
	int vcpus = 0, mem = 0;
	size_t want;
	config_t lc;

	CHECK(text, "fc_model_libconfig with a boot source: %s", err);
	config_init(&lc);
	CHECK(config_read_string(&lc, text), "libconfig line %d: %s\n%s", config_error_line(&lc),
	      config_error_text(&lc), text);
	CHECK(config_lookup_int(&lc, "machine.vcpus", &vcpus) &&
		  vcpus == int_member(m->machine, "vcpu_count"),
	      "machine.vcpus\n%s", text);
	CHECK(config_lookup_int(&lc, "machine.memory_mib", &mem) &&
		  mem == int_member(m->machine, "mem_size_mib"),
	      "machine.memory_mib\n%s", text);
	CHECK(config_lookup_string(&lc, "boot.kernel", &kernel) && *kernel, "boot.kernel\n%s",
	      text);
	devs = config_lookup(&lc, "devices");
	want = json_array_size(m->drives) + json_array_size(m->nets) + !!m->vsock + !!m->balloon +
	       !!m->entropy + json_array_size(m->ember_devices);
	CHECK(devs && config_setting_is_list(devs) && (size_t)config_setting_length(devs) == want,
	      "%zu devices expected\n%s", want, text);
	for (int i = 0; i < config_setting_length(devs); i++) {
		const config_setting_t *d = config_setting_get_elem(devs, (unsigned)i);
		const char *plugin = NULL, *id = NULL;

		CHECK(config_setting_lookup_string(d, "plugin", &plugin) &&
			  config_setting_lookup_string(d, "id", &id) && *plugin && *id,
		      "devices.[%d] without a plugin or an id\n%s", i, text);
	}
	config_destroy(&lc);
	free(text);
}

/* A copy of what a request may change, to see that a refused one changed nothing. */
struct snapshot {
	json_t *config, *mmds;
	enum api_phase phase;
	bool paused;
};

static void take(struct snapshot *s, const struct api *api)
{
	s->config = fc_model_vm_config(&api->model);
	s->mmds = api->model.mmds ? json_deep_copy(api->model.mmds) : NULL;
	s->phase = api->phase;
	s->paused = api->paused;
	CHECK(s->config, "GET /vm/config's JSON");
}

static void drop(struct snapshot *s)
{
	json_decref(s->config);
	json_decref(s->mmds);
}

static bool same_json(json_t *a, json_t *b)
{
	return (!a && !b) || (a && b && json_equal(a, b));
}

static void check_answer(const struct api *api, const char *method, const char *path,
			 const struct api_response *r, const struct snapshot *before,
			 const struct api_counters *counted)
{
	json_error_t e;
	json_t *body = NULL;

	CHECK(r->status == 200 || r->status == 204 || r->status == 400, "status %u", r->status);
	CHECK(api->counters.requests == counted->requests + 1, "requests counted");
	CHECK(api->counters.errors == counted->errors + (r->status == 400), "errors counted");
	CHECK(api->phase >= before->phase, "the phase went back");
	if (r->status == 204) {
		CHECK(!r->body, "a 204 with a body: %s", r->body);
		CHECK(!strcmp(method, "PUT") || !strcmp(method, "PATCH"), "204 to %s %s", method,
		      path);
	} else {
		CHECK(r->body, "a %u without a body", r->status);
		body = json_loads(r->body, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
		CHECK(body, "%s: not JSON: %s", e.text, r->body);
	}
	if (r->status == 200) {
		CHECK(!strcmp(method, "GET"), "200 to %s %s", method, path);
		CHECK(json_is_object(body) || json_is_array(body), "a 200 that is no object: %s",
		      r->body);
	}
	if (r->status == 400) {
		const char *msg = json_string_value(json_object_get(body, "fault_message"));

		CHECK(json_is_object(body) && msg && *msg, "a 400 without a fault_message: %s",
		      r->body);
		CHECK(!wrote_good_reply || !strstr(msg, "malformed reply"),
		      "a well-formed reply called malformed: %s", msg);
		if (!effects) {
			json_t *now = fc_model_vm_config(&api->model);

			CHECK(now && json_equal(now, before->config),
			      "a refused %s %s changed the model: %s", method, path, r->body);
			CHECK(same_json(api->model.mmds, before->mmds),
			      "a refused %s %s changed the MMDS store", method, path);
			CHECK(api->phase == before->phase && api->paused == before->paused,
			      "a refused %s %s changed the phase", method, path);
			json_decref(now);
		}
	}
	json_decref(body);
	if (api->model.boot)
		check_libconfig(&api->model);
	stats->requests++;
	if (r->status == 200)
		stats->answered_200++;
	else if (r->status == 204)
		stats->answered_204++;
	else
		stats->answered_400++;
}

/* ---- one input ---- */

struct request {
	char method[32];
	char path[MAX_LINE];
	unsigned flags;
	const uint8_t *body;
	size_t len;
};

/* Splits one request; false when its first line is no "METHOD PATH [FLAGS]". */
static bool parse_request(const uint8_t *p, size_t n, struct request *q)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t line = nl ? (size_t)(nl - p) : n;
	char text[MAX_LINE + 64], *sp, *end;

	if (line == 0 || line >= sizeof(text) || memchr(p, '\0', line))
		return false;
	memcpy(text, p, line);
	text[line] = '\0';
	sp = strchr(text, ' ');
	if (!sp || sp == text || (size_t)(sp - text) >= sizeof(q->method))
		return false;
	*sp++ = '\0';
	memcpy(q->method, text, (size_t)(sp - text));
	end = strchr(sp, ' ');
	q->flags = 0;
	if (end) {
		*end++ = '\0';
		q->flags = (unsigned)strtoul(end, NULL, 10);
	}
	if (strlen(sp) >= sizeof(q->path))
		return false;
	snprintf(q->path, sizeof(q->path), "%s", sp);
	q->body = nl ? nl + 1 : p + n;
	q->len = nl ? n - line - 1 : 0;
	return true;
}

/* The command line's pseudo-requests (fc_frontend.c's order). False: the process would exit. */
static bool command_line(struct api *api, const struct request *q, const char *body)
{
	char err[512];
	json_error_t e;
	json_t *v = json_loadb(body, q->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	int rc;

	if (!v)
		return false;
	if (!strcmp(q->method, "CONFIG-FILE"))
		rc = fc_model_load_json(&api->model, v, err, sizeof(err));
	else
		rc = fc_model_set_mmds(&api->model, v, false, err, sizeof(err));
	json_decref(v);
	if (rc) {
		CHECK(*err, "%s refused without a reason", q->method);
		return false;
	}
	if (api->model.boot)
		check_libconfig(&api->model);
	if (!strcmp(q->method, "CONFIG-FILE"))
		api->phase = API_PHASE_RUNNING;
	return true;
}

static void one_request(struct api *api, const struct request *q, const char *body)
{
	struct api_counters counted = api->counters;
	struct api_response r;
	struct snapshot before;

	flags = q->flags;
	effects = 0;
	wrote_good_reply = false;
	/* As the service: once InstanceStart's 204 is out, the VM is built and runs. */
	if (api->phase == API_PHASE_STARTING && !(flags & FLAG_NOT_BUILT))
		api->phase = API_PHASE_RUNNING;
	if (flags & FLAG_NO_OPS)
		memset(&api->ops, 0, sizeof(api->ops));
	take(&before, api);
	api_handle(api, q->method, q->path, body, q->len, &r);
	if (trace)
		fprintf(stderr, "fuzz-api: %s %s (flags %u): %u %s\n", q->method, q->path, q->flags,
			r.status, r.body ? r.body : "");
	check_answer(api, q->method, q->path, &r, &before, &counted);
	drop(&before);
	free(r.body);
	api->ops = fake_ops;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n%%\n";
	const uint8_t *p = data, *end = data + size;
	/* The command line comes first, in fc_frontend.c's order: --config-file, --metadata. */
	enum { NOTHING_YET, CONFIG_FILE, METADATA, REQUESTS } stage = NOTHING_YET;
	bool reached = false;
	struct api api;

	stats->base.inputs++;
	if (api_init(&api, "fuzz-api", NULL, &fake_ops, have_plugin, NULL))
		abort();
	for (unsigned count = 0; p <= end && count < MAX_REQUESTS; count++) {
		const uint8_t *next = memmem(p, (size_t)(end - p), sep, sizeof(sep) - 1);
		size_t n = next ? (size_t)(next - p) : (size_t)(end - p);
		struct request q;

		if (parse_request(p, n, &q)) {
			/* The body on its own allocation: an over-read is ASan's to see. */
			char *body = q.len ? malloc(q.len) : NULL;

			if (q.len && !body)
				abort();
			if (q.len)
				memcpy(body, q.body, q.len);
			if (!strcmp(q.method, "CONFIG-FILE") || !strcmp(q.method, "METADATA")) {
				bool config = q.method[0] == 'C';
				bool go_on = (config ? stage == NOTHING_YET : stage < METADATA) &&
					     command_line(&api, &q, body ? body : "");

				free(body);
				if (!go_on)
					break;
				/* flintlock's whole run: the model, no request. */
				reached = true;
				stage = config ? CONFIG_FILE : METADATA;
				if (!next)
					break;
				p = next + sizeof(sep) - 1;
				continue;
			}
			stage = REQUESTS;
			reached = true;
			one_request(&api, &q, body);
			free(body);
		}
		if (!next)
			break;
		p = next + sizeof(sep) - 1;
	}
	api_fini(&api);
	if (reached)
		stats->base.reached++;
	else
		stats->base.refused++;
	/* Inputs that reach no handler teach libFuzzer nothing: kept out of the corpus. */
	return reached ? 0 : -1;
}
