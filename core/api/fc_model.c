/* SPDX-License-Identifier: Apache-2.0 */
/* Firecracker's VM description and its translation into ember's (fc_model.h). */
#include "fc_model.h"

#include "strbuf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FC_ID_MAX     32
#define FC_VCPUS_MAX  32
#define FC_MEM_MIN    32 /* ember's smallest guest (config.h) */
#define FC_DRIVES_MAX 16
#define FC_NETS_MAX   8
#define FC_DEVS_MAX   16

__attribute__((format(printf, 3, 4))) static int fault(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* jansson's strict unpack, its message prefixed with the section. */
#define UNPACK(what, err, n, body, fmt, ...)                                            \
	({                                                                              \
		json_error_t je_;                                                       \
		int r_ = json_unpack_ex((body), &je_, JSON_STRICT, (fmt), __VA_ARGS__); \
		if (r_)                                                                 \
			fc_unpack_error(&je_, (what), (err), (n));                      \
		r_;                                                                     \
	})

void fc_unpack_error(const json_error_t *e, const char *what, char *err, size_t n)
{
	static const char unknown[] = "left unpacked: ", missing[] = "Object item not found: ";
	const char *p;

	if ((p = strstr(e->text, unknown)))
		fault(err, n, "%s: unknown field(s): %s", what, p + strlen(unknown));
	else if (!strncmp(e->text, missing, strlen(missing)))
		fault(err, n, "%s: %s: required", what, e->text + strlen(missing));
	else
		fault(err, n, "%s: %s", what, e->text);
}

bool fc_id_ok(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > FC_ID_MAX)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

int fc_model_init(struct fc_model *m, fc_have_plugin_fn have_plugin, void *opaque)
{
	memset(m, 0, sizeof(*m));
	m->machine = json_pack("{s:i, s:i, s:b, s:b, s:s}", "vcpu_count", 1, "mem_size_mib", 128,
			       "smt", 0, "track_dirty_pages", 0, "huge_pages", "None");
	m->drives = json_array();
	m->nets = json_array();
	m->ember_devices = json_array();
	m->have_plugin = have_plugin;
	m->have_plugin_opaque = opaque;
	if (!m->machine || !m->drives || !m->nets || !m->ember_devices) {
		fc_model_free(m);
		return -ENOMEM;
	}
	return 0;
}

void fc_model_free(struct fc_model *m)
{
	json_t **all[] = {&m->machine, &m->boot,	&m->drives,  &m->nets,
			  &m->vsock,   &m->balloon,	&m->entropy, &m->logger,
			  &m->metrics, &m->mmds_config, &m->mmds,    &m->ember_devices};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		json_decref(*all[i]);
		*all[i] = NULL;
	}
}

static void replace(json_t **slot, json_t *v)
{
	json_incref(v);
	json_decref(*slot);
	*slot = v;
}

static int need_plugin(const struct fc_model *m, const char *what, const char *plugin, char *err,
		       size_t n)
{
	if (!m->have_plugin || m->have_plugin(m->have_plugin_opaque, plugin))
		return 0;
	return fault(err, n, "%s: needs the %s plugin, which this ember does not have", what,
		     plugin);
}

int fc_model_set_machine(struct fc_model *m, json_t *body, bool patch, char *err, size_t n)
{
	json_int_t vcpus = -1, mem = -1;
	int smt = -1, dirty = -1;
	const char *huge = NULL;
	json_t *cpu_template = NULL;
	json_t *next;

	if (!json_is_object(body))
		return fault(err, n, "machine-config: expected a JSON object");
	if (patch) {
		if (UNPACK("machine-config", err, n, body, "{s?I, s?I, s?b, s?b, s?s, s?o}",
			   "vcpu_count", &vcpus, "mem_size_mib", &mem, "smt", &smt,
			   "track_dirty_pages", &dirty, "huge_pages", &huge, "cpu_template",
			   &cpu_template))
			return -1;
	} else if (UNPACK("machine-config", err, n, body, "{s:I, s:I, s?b, s?b, s?s, s?o}",
			  "vcpu_count", &vcpus, "mem_size_mib", &mem, "smt", &smt,
			  "track_dirty_pages", &dirty, "huge_pages", &huge, "cpu_template",
			  &cpu_template))
		return -1;
	/* Presence, not a sentinel value: a client's -1 is out of range, not "unchanged". */
	bool has_vcpus = json_object_get(body, "vcpu_count") != NULL;
	bool has_mem = json_object_get(body, "mem_size_mib") != NULL;

	if (has_vcpus && (vcpus < 1 || vcpus > FC_VCPUS_MAX))
		return fault(err, n, "machine-config: vcpu_count: %lld is out of range (1 to %d)",
			     (long long)vcpus, FC_VCPUS_MAX);
	if (has_mem && (mem < FC_MEM_MIN || mem > 1024 * 1024))
		return fault(err, n,
			     "machine-config: mem_size_mib: %lld is out of range (%d to %d)",
			     (long long)mem, FC_MEM_MIN, 1024 * 1024);
	if (smt == 1)
		return fault(err, n,
			     "machine-config: smt: ember gives each vCPU its own core; "
			     "simultaneous multithreading is not offered");
	if (huge && strcmp(huge, "None") && strcmp(huge, "2M"))
		return fault(err, n,
			     "machine-config: huge_pages: \"%s\": expected \"None\" or \"2M\"",
			     huge);
	if (cpu_template && !json_is_null(cpu_template) &&
	    !(json_is_string(cpu_template) && !strcmp(json_string_value(cpu_template), "None")))
		return fault(err, n,
			     "machine-config: cpu_template: only \"None\" is offered (the "
			     "guest sees the host's CPU, filtered by KVM)");
	next = patch ? json_deep_copy(m->machine)
		     : json_pack("{s:i, s:i, s:b, s:b, s:s}", "vcpu_count", 1, "mem_size_mib", 128,
				 "smt", 0, "track_dirty_pages", 0, "huge_pages", "None");
	if (!next)
		return fault(err, n, "machine-config: out of memory");
	if (has_vcpus)
		json_object_set_new(next, "vcpu_count", json_integer(vcpus));
	if (has_mem)
		json_object_set_new(next, "mem_size_mib", json_integer(mem));
	if (dirty != -1)
		json_object_set_new(next, "track_dirty_pages", json_boolean(dirty));
	if (huge)
		json_object_set_new(next, "huge_pages", json_string(huge));
	json_decref(m->machine);
	m->machine = next;
	return 0;
}

static int check_readable(const char *what, const char *field, const char *path, char *err,
			  size_t n)
{
	if (access(path, R_OK))
		return fault(err, n, "%s: %s: %s: %s", what, field, path, strerror(errno));
	return 0;
}

int fc_model_set_boot(struct fc_model *m, json_t *body, char *err, size_t n)
{
	const char *kernel, *args = NULL, *initrd = NULL;

	if (UNPACK("boot-source", err, n, body, "{s:s, s?s, s?s}", "kernel_image_path", &kernel,
		   "boot_args", &args, "initrd_path", &initrd))
		return -1;
	if (check_readable("boot-source", "kernel_image_path", kernel, err, n) ||
	    (initrd && check_readable("boot-source", "initrd_path", initrd, err, n)))
		return -1;
	replace(&m->boot, body);
	return 0;
}

static int check_bucket(json_t *tb, const char *what, char *err, size_t n)
{
	json_int_t size, refill, burst = 0;

	if (UNPACK(what, err, n, tb, "{s:I, s:I, s?I}", "size", &size, "refill_time", &refill,
		   "one_time_burst", &burst))
		return -1;
	if (size < 0 || refill < 0 || burst < 0)
		return fault(err, n, "%s: values must not be negative", what);
	return 0;
}

int fc_rate_limiter_check(json_t *rl, const char *what, char *err, size_t n)
{
	json_t *bw = NULL, *ops = NULL;
	char sub[96];

	if (!rl || json_is_null(rl))
		return 0;
	if (UNPACK(what, err, n, rl, "{s?o, s?o}", "bandwidth", &bw, "ops", &ops))
		return -1;
	snprintf(sub, sizeof(sub), "%s.bandwidth", what);
	if (bw && !json_is_null(bw) && check_bucket(bw, sub, err, n))
		return -1;
	snprintf(sub, sizeof(sub), "%s.ops", what);
	if (ops && !json_is_null(ops) && check_bucket(ops, sub, err, n))
		return -1;
	return 0;
}

/* Index of the element whose member key equals id, or -1. */
static ssize_t find_by(json_t *array, const char *key, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(array, i, v)
	{
		const char *s = json_string_value(json_object_get(v, key));

		if (s && !strcmp(s, id))
			return (ssize_t)i;
	}
	return -1;
}

static int put_in(json_t *array, const char *key, const char *id, json_t *body, size_t max,
		  const char *what, char *err, size_t n)
{
	ssize_t at = find_by(array, key, id);

	if (at >= 0)
		return json_array_set(array, (size_t)at, body) ? fault(err, n, "out of memory") : 0;
	if (json_array_size(array) >= max)
		return fault(err, n, "%s: at most %zu", what, max);
	return json_array_append(array, body) ? fault(err, n, "out of memory") : 0;
}

static int check_path_id(const char *what, const char *path_id, const char *body_id, char *err,
			 size_t n)
{
	if (!fc_id_ok(body_id))
		return fault(err, n, "%s: \"%.40s\": an id is 1 to %d of A-Z, a-z, 0-9 and _", what,
			     body_id, FC_ID_MAX);
	if (path_id && strcmp(path_id, body_id))
		return fault(err, n,
			     "%s: the id in the path (%.40s) differs from the body's (%.40s)", what,
			     path_id, body_id);
	return 0;
}

int fc_model_set_drive(struct fc_model *m, const char *id, json_t *body, char *err, size_t n)
{
	const char *drive_id, *path = NULL, *partuuid = NULL, *cache = NULL, *engine = NULL;
	const char *socket = NULL;
	int root, ro = 0;
	json_t *rl = NULL;
	size_t i;
	json_t *d;

	if (UNPACK("drives", err, n, body, "{s:s, s:b, s?s, s?b, s?s, s?s, s?s, s?o, s?s}",
		   "drive_id", &drive_id, "is_root_device", &root, "path_on_host", &path,
		   "is_read_only", &ro, "partuuid", &partuuid, "cache_type", &cache, "io_engine",
		   &engine, "rate_limiter", &rl, "socket", &socket))
		return -1;
	if (check_path_id("drives", id, drive_id, err, n) ||
	    need_plugin(m, "drives", "virtio-blk", err, n))
		return -1;
	if (socket)
		return fault(err, n, "drives: socket: vhost-user drives are not offered");
	if (!path)
		return fault(err, n, "drives: path_on_host: required");
	if (cache && strcmp(cache, "Unsafe") && strcmp(cache, "Writeback"))
		return fault(err, n,
			     "drives: cache_type: \"%s\": expected \"Unsafe\" or \"Writeback\"",
			     cache);
	if (engine && strcmp(engine, "Sync") && strcmp(engine, "Async"))
		return fault(err, n, "drives: io_engine: \"%s\": expected \"Sync\" or \"Async\"",
			     engine);
	if (fc_rate_limiter_check(rl, "drives: rate_limiter", err, n) ||
	    check_readable("drives", "path_on_host", path, err, n))
		return -1;
	if (root)
		json_array_foreach(m->drives, i, d)
		{
			const char *other = json_string_value(json_object_get(d, "drive_id"));

			if (json_is_true(json_object_get(d, "is_root_device")) &&
			    strcmp(other, drive_id))
				return fault(err, n,
					     "drives: a root block device already exists (%s)",
					     other);
		}
	return put_in(m->drives, "drive_id", drive_id, body, FC_DRIVES_MAX, "drives", err, n);
}

static int check_mac(const char *mac)
{
	unsigned b[6];
	char end;

	return sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		      &end) == 6 &&
		       strlen(mac) == 17
		   ? 0
		   : -1;
}

int fc_model_set_net(struct fc_model *m, const char *id, json_t *body, char *err, size_t n)
{
	const char *iface, *tap, *mac = NULL;
	json_t *rx = NULL, *tx = NULL;

	if (UNPACK("network-interfaces", err, n, body, "{s:s, s:s, s?s, s?o, s?o}", "iface_id",
		   &iface, "host_dev_name", &tap, "guest_mac", &mac, "rx_rate_limiter", &rx,
		   "tx_rate_limiter", &tx))
		return -1;
	if (check_path_id("network-interfaces", id, iface, err, n) ||
	    need_plugin(m, "network-interfaces", "virtio-net", err, n))
		return -1;
	if (mac && check_mac(mac))
		return fault(err, n,
			     "network-interfaces: guest_mac: \"%.40s\": expected "
			     "xx:xx:xx:xx:xx:xx",
			     mac);
	if (!*tap || strlen(tap) >= 16)
		return fault(err, n,
			     "network-interfaces: host_dev_name: \"%.40s\": a tap name is 1 "
			     "to 15 bytes",
			     tap);
	if (fc_rate_limiter_check(rx, "network-interfaces: rx_rate_limiter", err, n) ||
	    fc_rate_limiter_check(tx, "network-interfaces: tx_rate_limiter", err, n))
		return -1;
	return put_in(m->nets, "iface_id", iface, body, FC_NETS_MAX, "network-interfaces", err, n);
}

int fc_model_set_vsock(struct fc_model *m, json_t *body, char *err, size_t n)
{
	json_int_t cid;
	const char *uds, *vsock_id = NULL;

	if (UNPACK("vsock", err, n, body, "{s:I, s:s, s?s}", "guest_cid", &cid, "uds_path", &uds,
		   "vsock_id", &vsock_id))
		return -1;
	if (need_plugin(m, "vsock", "virtio-vsock", err, n))
		return -1;
	if (cid < 3 || cid > UINT32_MAX)
		return fault(err, n, "vsock: guest_cid: %lld: expected 3 to %u", (long long)cid,
			     UINT32_MAX);
	if (!*uds)
		return fault(err, n, "vsock: uds_path: empty");
	replace(&m->vsock, body);
	return 0;
}

int fc_model_set_balloon(struct fc_model *m, json_t *body, char *err, size_t n)
{
	json_int_t amount, interval = 0;
	int oom, hinting = 0, reporting = 0;

	if (UNPACK("balloon", err, n, body, "{s:I, s:b, s?I, s?b, s?b}", "amount_mib", &amount,
		   "deflate_on_oom", &oom, "stats_polling_interval_s", &interval,
		   "free_page_hinting", &hinting, "free_page_reporting", &reporting))
		return -1;
	if (need_plugin(m, "balloon", "virtio-balloon", err, n))
		return -1;
	if (amount < 0 || interval < 0)
		return fault(err, n,
			     "balloon: amount_mib and stats_polling_interval_s must not be "
			     "negative");
	replace(&m->balloon, body);
	return 0;
}

int fc_model_set_entropy(struct fc_model *m, json_t *body, char *err, size_t n)
{
	json_t *rl = NULL;

	if (UNPACK("entropy", err, n, body, "{s?o}", "rate_limiter", &rl) ||
	    need_plugin(m, "entropy", "virtio-rng", err, n) ||
	    fc_rate_limiter_check(rl, "entropy: rate_limiter", err, n))
		return -1;
	replace(&m->entropy, body);
	return 0;
}

int fc_model_set_logger(struct fc_model *m, json_t *body, char *err, size_t n)
{
	const char *path = NULL, *level = NULL, *module = NULL;
	int show_level = 0, show_origin = 0;
	static const char *const levels[] = {"error", "warning", "warn", "info",
					     "debug", "trace",	 "off"};
	bool ok = false;

	if (UNPACK("logger", err, n, body, "{s?s, s?s, s?b, s?b, s?s}", "log_path", &path, "level",
		   &level, "show_level", &show_level, "show_log_origin", &show_origin, "module",
		   &module))
		return -1;
	for (size_t i = 0; level && i < sizeof(levels) / sizeof(levels[0]); i++)
		ok |= !strcasecmp(level, levels[i]);
	if (level && !ok)
		return fault(err, n,
			     "logger: level: \"%.40s\": expected Error, Warning, Info, "
			     "Debug, Trace or Off",
			     level);
	replace(&m->logger, body);
	return 0;
}

int fc_model_set_metrics(struct fc_model *m, json_t *body, char *err, size_t n)
{
	const char *path;

	if (UNPACK("metrics", err, n, body, "{s:s}", "metrics_path", &path))
		return -1;
	replace(&m->metrics, body);
	return 0;
}

int fc_model_set_mmds_config(struct fc_model *m, json_t *body, char *err, size_t n)
{
	json_t *ifaces;
	const char *version = NULL, *ipv4 = NULL;
	int imds = 0;
	size_t i;
	json_t *v;

	if (UNPACK("mmds-config", err, n, body, "{s:o, s?s, s?s, s?b}", "network_interfaces",
		   &ifaces, "version", &version, "ipv4_address", &ipv4, "imds_compat", &imds))
		return -1;
	if (!json_is_array(ifaces))
		return fault(err, n, "mmds-config: network_interfaces: expected a list of ids");
	json_array_foreach(ifaces, i, v)
	{
		if (!json_is_string(v) || find_by(m->nets, "iface_id", json_string_value(v)) < 0)
			return fault(err, n,
				     "mmds-config: network_interfaces[%zu]: not an interface "
				     "of this VM",
				     i);
	}
	if (version && strcmp(version, "V1") && strcmp(version, "V2"))
		return fault(err, n, "mmds-config: version: \"%.10s\": expected \"V1\" or \"V2\"",
			     version);
	replace(&m->mmds_config, body);
	return 0;
}

/* RFC 7396 merge patch: objects merge member by member, null removes a member. */
static int merge_patch(json_t *to, json_t *from, int depth)
{
	const char *k;
	json_t *v;

	if (depth > 32)
		return -1;
	json_object_foreach(from, k, v)
	{
		json_t *cur = json_object_get(to, k);

		if (json_is_null(v))
			json_object_del(to, k);
		else if (json_is_object(v)) {
			/* A new object is merged into an empty one, so its own nulls drop out too
			 * (RFC 7396: MergePatch of a non-object target starts from {}). */
			if (!json_is_object(cur)) {
				cur = json_object();
				if (json_object_set_new(to, k, cur))
					return -1;
			}
			if (merge_patch(cur, v, depth + 1))
				return -1;
		} else if (json_object_set_new(to, k, json_deep_copy(v)))
			return -1;
	}
	return 0;
}

int fc_model_set_mmds(struct fc_model *m, json_t *body, bool patch, char *err, size_t n)
{
	if (!json_is_object(body))
		return fault(err, n, "mmds: expected a JSON object");
	if (!patch || !m->mmds) {
		json_t *copy = json_deep_copy(body);

		if (!copy)
			return fault(err, n, "mmds: out of memory");
		json_decref(m->mmds);
		m->mmds = copy;
		return 0;
	}
	/* Into a copy: a refused patch leaves the store as it was, not half merged. */
	json_t *next = json_deep_copy(m->mmds);

	if (!next)
		return fault(err, n, "mmds: out of memory");
	if (merge_patch(next, body, 0)) {
		json_decref(next);
		return fault(err, n, "mmds: nested too deeply (or out of memory)");
	}
	json_decref(m->mmds);
	m->mmds = next;
	return 0;
}

int fc_model_set_ember_device(struct fc_model *m, const char *id, json_t *body, char *err, size_t n)
{
	const char *body_id = NULL, *plugin;
	json_t *options = NULL;
	const char *k;
	json_t *v;

	if (UNPACK("ember-devices", err, n, body, "{s?s, s:s, s?o}", "id", &body_id, "plugin",
		   &plugin, "options", &options))
		return -1;
	if (!body_id)
		body_id = id;
	if (!body_id)
		return fault(err, n, "ember-devices: id: required");
	if (check_path_id("ember-devices", id, body_id, err, n))
		return -1;
	if (!*plugin || strchr(plugin, '"') || strchr(plugin, '\\'))
		return fault(err, n, "ember-devices: plugin: \"%.40s\": not a plugin name", plugin);
	if (need_plugin(m, "ember-devices", plugin, err, n))
		return -1;
	if (options && !json_is_object(options))
		return fault(err, n, "ember-devices: options: expected a JSON object");
	json_object_foreach(options, k, v)
	{
		/* A libconfig name starts with a letter, else the VM text would not parse. */
		bool name_ok = *k >= 'a' && *k <= 'z';

		for (const char *p = k + !!*k; *p; p++)
			name_ok &=
			    (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
		if (!name_ok)
			return fault(err, n,
				     "ember-devices: options: \"%.40s\": not an option name", k);
		if (!json_is_string(v) && !json_is_integer(v) && !json_is_boolean(v) &&
		    !json_is_real(v))
			return fault(err, n,
				     "ember-devices: options.%s: expected a string, number "
				     "or boolean",
				     k);
		if (!strcmp(k, "plugin") || !strcmp(k, "id") || !strcmp(k, "remove"))
			return fault(err, n, "ember-devices: options.%s: reserved", k);
	}
	if (find_by(m->drives, "drive_id", body_id) >= 0 ||
	    find_by(m->nets, "iface_id", body_id) >= 0 || !strcmp(body_id, "vsock") ||
	    !strcmp(body_id, "balloon") || !strcmp(body_id, "entropy"))
		return fault(err, n, "ember-devices: id %s: another device has it", body_id);
	{
		json_t *opts = options ? json_incref(options) : json_object();
		json_t *stored =
		    json_pack("{s:s, s:s, s:o}", "id", body_id, "plugin", plugin, "options", opts);
		int rc;

		if (!stored)
			return fault(err, n, "out of memory");
		rc = put_in(m->ember_devices, "id", body_id, stored, FC_DEVS_MAX, "ember-devices",
			    err, n);
		json_decref(stored);
		return rc;
	}
}

int fc_model_load_json(struct fc_model *m, json_t *root, char *err, size_t n)
{
	static const char *const known[] = {"machine-config",
					    "boot-source",
					    "drives",
					    "network-interfaces",
					    "vsock",
					    "balloon",
					    "entropy",
					    "logger",
					    "metrics",
					    "mmds-config",
					    "ember-devices",
					    "cpu-config",
					    NULL};
	const char *k;
	json_t *v, *sec;
	size_t i;

	if (!json_is_object(root))
		return fault(err, n, "expected a JSON object at the top");
	json_object_foreach(root, k, v)
	{
		bool ok = false;

		for (const char *const *p = known; *p; p++)
			ok |= !strcmp(k, *p);
		if (!ok)
			return fault(err, n, "unknown section \"%.40s\"", k);
	}
	if ((sec = json_object_get(root, "cpu-config")) && !json_is_null(sec))
		return fault(err, n, "cpu-config: custom CPU templates are not offered");
	if ((sec = json_object_get(root, "logger")) && fc_model_set_logger(m, sec, err, n))
		return -1;
	if ((sec = json_object_get(root, "metrics")) && fc_model_set_metrics(m, sec, err, n))
		return -1;
	if ((sec = json_object_get(root, "machine-config")) &&
	    fc_model_set_machine(m, sec, false, err, n))
		return -1;
	if ((sec = json_object_get(root, "boot-source")) && fc_model_set_boot(m, sec, err, n))
		return -1;
	if ((sec = json_object_get(root, "drives"))) {
		if (!json_is_array(sec))
			return fault(err, n, "drives: expected a list");
		json_array_foreach(sec, i, v)
		{
			if (fc_model_set_drive(m, NULL, v, err, n))
				return -1;
		}
	}
	if ((sec = json_object_get(root, "network-interfaces"))) {
		if (!json_is_array(sec))
			return fault(err, n, "network-interfaces: expected a list");
		json_array_foreach(sec, i, v)
		{
			if (fc_model_set_net(m, NULL, v, err, n))
				return -1;
		}
	}
	if ((sec = json_object_get(root, "vsock")) && !json_is_null(sec) &&
	    fc_model_set_vsock(m, sec, err, n))
		return -1;
	if ((sec = json_object_get(root, "balloon")) && !json_is_null(sec) &&
	    fc_model_set_balloon(m, sec, err, n))
		return -1;
	if ((sec = json_object_get(root, "entropy")) && !json_is_null(sec) &&
	    fc_model_set_entropy(m, sec, err, n))
		return -1;
	if ((sec = json_object_get(root, "mmds-config")) && !json_is_null(sec) &&
	    fc_model_set_mmds_config(m, sec, err, n))
		return -1;
	if ((sec = json_object_get(root, "ember-devices"))) {
		if (!json_is_array(sec))
			return fault(err, n, "ember-devices: expected a list");
		json_array_foreach(sec, i, v)
		{
			if (fc_model_set_ember_device(m, NULL, v, err, n))
				return -1;
		}
	}
	return 0;
}

/* ---- the libconfig text ---- */

static void put_path(struct strbuf *b, const char *key, const char *path)
{
	char cwd[PATH_MAX];

	strbuf_printf(b, "%s = \"", key);
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd))) {
		strbuf_escape(b, cwd);
		strbuf_putc(b, '/');
	}
	strbuf_escape(b, path);
	strbuf_puts(b, "\"; ");
}

/* Starts the next element of the devices list (libconfig wants commas only between). */
static void next_device(struct strbuf *b, unsigned *count)
{
	strbuf_puts(b, (*count)++ ? ",\n  { " : "  { ");
}

static void put_string(struct strbuf *b, const char *key, const char *value)
{
	strbuf_printf(b, "%s = \"", key);
	strbuf_escape(b, value);
	strbuf_puts(b, "\"; ");
}

/* A token bucket {size per refill_time ms, one_time_burst} as a rate per second and a burst. */
static void bucket_rate(json_t *tb, long long *per_sec, long long *burst)
{
	long long size = json_integer_value(json_object_get(tb, "size"));
	long long refill = json_integer_value(json_object_get(tb, "refill_time"));
	long long extra = json_integer_value(json_object_get(tb, "one_time_burst"));

	*per_sec = 0;
	*burst = 0;
	if (size <= 0 || refill <= 0)
		return;
	/* Saturating: a client's huge bucket means "no practical limit", not an overflow. */
	if (__builtin_mul_overflow(size, 1000LL, per_sec))
		*per_sec = size / refill > LLONG_MAX / 1000 ? LLONG_MAX : size / refill * 1000;
	else
		*per_sec /= refill;
	if (*per_sec < 1)
		*per_sec = 1;
	if (extra < 0 || __builtin_add_overflow(size, extra, burst))
		*burst = extra < 0 ? size : LLONG_MAX;
}

/* A bandwidth bucket as a rate and a burst (virtio-rng's options). */
static void put_rate(struct strbuf *b, json_t *rl, const char *rate_key, const char *burst_key)
{
	json_t *tb = json_object_get(rl, "bandwidth");
	long long rate, burst;

	if (!json_is_object(tb))
		return;
	bucket_rate(tb, &rate, &burst);
	if (rate)
		strbuf_printf(b, "%s = %lldL; %s = %lldL; ", rate_key, rate, burst_key, burst);
}

/*
 * A rate limiter in its own shape, as virtio-blk and virtio-net take it: for each bucket
 * PREFIXbandwidth_size, _refill_ms and _one_time_burst (the same for ops). PREFIX is "" for a
 * drive, "rx_" or "tx_" for an interface. Every integer that may pass 2^31 carries an L:
 * libconfig 1.5 wraps a bare one silently.
 */
static void put_buckets(struct strbuf *b, json_t *rl, const char *prefix)
{
	static const char *const kinds[] = {"bandwidth", "ops"};

	for (size_t k = 0; k < 2; k++) {
		json_t *tb = json_object_get(rl, kinds[k]);

		if (!json_is_object(tb))
			continue;
		strbuf_printf(b, "%s%s_size = %lldL; %s%s_refill_ms = %lldL; ", prefix, kinds[k],
			      (long long)json_integer_value(json_object_get(tb, "size")), prefix,
			      kinds[k],
			      (long long)json_integer_value(json_object_get(tb, "refill_time")));
		if (json_object_get(tb, "one_time_burst"))
			strbuf_printf(
			    b, "%s%s_one_time_burst = %lldL; ", prefix, kinds[k],
			    (long long)json_integer_value(json_object_get(tb, "one_time_burst")));
	}
}

static void put_drive(struct strbuf *b, json_t *d, unsigned *count)
{
	const char *cache = json_string_value(json_object_get(d, "cache_type"));

	next_device(b, count);
	strbuf_puts(b, "plugin = \"virtio-blk\"; ");
	put_string(b, "id", json_string_value(json_object_get(d, "drive_id")));
	put_path(b, "path", json_string_value(json_object_get(d, "path_on_host")));
	if (json_is_true(json_object_get(d, "is_read_only")))
		strbuf_puts(b, "read_only = true; ");
	if (cache && !strcmp(cache, "Unsafe"))
		strbuf_puts(b, "cache = \"unsafe\"; ");
	put_buckets(b, json_object_get(d, "rate_limiter"), "");
	strbuf_puts(b, "}");
}

static void put_option(struct strbuf *b, const char *k, json_t *v)
{
	if (json_is_string(v))
		put_string(b, k, json_string_value(v));
	else if (json_is_integer(v))
		strbuf_printf(b, "%s = %lldL; ", k, (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		strbuf_printf(b, "%s = %s; ", k, json_is_true(v) ? "true" : "false");
	else if (json_is_real(v)) {
		char num[40];

		/* libconfig reads "2" as an integer: keep a real a real ("2.0"). */
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		strbuf_printf(b, "%s = %s%s; ", k, num, strpbrk(num, ".en") ? "" : ".0");
	}
}

char *fc_model_libconfig(const struct fc_model *m, char *err, size_t n)
{
	struct strbuf b;
	const char *args, *root_id = NULL;
	json_t *d, *root = NULL;
	unsigned count = 0;
	size_t i;

	if (!m->boot) {
		fault(err, n, "boot-source: not set (PUT /boot-source first)");
		return NULL;
	}
	strbuf_init(&b);
	strbuf_printf(&b, "machine = { vcpus = %lld; memory_mib = %lld; ",
		      (long long)json_integer_value(json_object_get(m->machine, "vcpu_count")),
		      (long long)json_integer_value(json_object_get(m->machine, "mem_size_mib")));
	if (!strcmp(json_string_value(json_object_get(m->machine, "huge_pages")), "2M"))
		strbuf_puts(&b, "memory_backing = \"hugetlb\"; ");
	strbuf_puts(&b, "};\nboot = { ");
	put_path(&b, "kernel", json_string_value(json_object_get(m->boot, "kernel_image_path")));
	if (json_object_get(m->boot, "initrd_path"))
		put_path(&b, "initrd", json_string_value(json_object_get(m->boot, "initrd_path")));
	args = json_string_value(json_object_get(m->boot, "boot_args"));
	json_array_foreach(m->drives, i, d)
	{
		if (json_is_true(json_object_get(d, "is_root_device"))) {
			root = d;
			root_id = json_string_value(json_object_get(d, "drive_id"));
		}
	}
	strbuf_puts(&b, "cmdline = \"");
	/* Firecracker's default command line, less its i8042 flags: ember's controller is real. */
	strbuf_escape(&b, args ? args : "console=ttyS0 reboot=k panic=1 pci=off");
	if (root) {
		const char *partuuid = json_string_value(json_object_get(root, "partuuid"));

		strbuf_puts(&b, partuuid ? " root=PARTUUID=" : " root=/dev/vda");
		if (partuuid)
			strbuf_escape(&b, partuuid);
		strbuf_puts(&b,
			    json_is_true(json_object_get(root, "is_read_only")) ? " ro" : " rw");
	}
	strbuf_puts(&b, "\"; };\ndevices = (\n");
	/* The root drive first: it becomes /dev/vda, which root= names. */
	if (root)
		put_drive(&b, root, &count);
	json_array_foreach(m->drives, i, d)
	{
		const char *id = json_string_value(json_object_get(d, "drive_id"));

		if (!root_id || strcmp(id, root_id))
			put_drive(&b, d, &count);
	}
	json_array_foreach(m->nets, i, d)
	{
		const char *mac = json_string_value(json_object_get(d, "guest_mac"));

		next_device(&b, &count);
		strbuf_puts(&b, "plugin = \"virtio-net\"; ");
		/* "net-": Firecracker's clients give drives and interfaces the same ids ("1"). */
		strbuf_puts(&b, "id = \"" FC_NET_ID_PREFIX);
		strbuf_escape(&b, json_string_value(json_object_get(d, "iface_id")));
		strbuf_puts(&b, "\"; ");
		put_string(&b, "tap", json_string_value(json_object_get(d, "host_dev_name")));
		if (mac)
			put_string(&b, "mac", mac);
		put_buckets(&b, json_object_get(d, "rx_rate_limiter"), "rx_");
		put_buckets(&b, json_object_get(d, "tx_rate_limiter"), "tx_");
		strbuf_puts(&b, "}");
	}
	if (m->vsock) {
		next_device(&b, &count);
		strbuf_printf(
		    &b, "plugin = \"virtio-vsock\"; id = \"vsock\"; guest_cid = %lldL; ",
		    (long long)json_integer_value(json_object_get(m->vsock, "guest_cid")));
		put_path(&b, "uds_path", json_string_value(json_object_get(m->vsock, "uds_path")));
		strbuf_puts(&b, "}");
	}
	if (m->balloon) {
		json_t *bl = m->balloon;

		next_device(&b, &count);
		strbuf_printf(
		    &b,
		    "plugin = \"virtio-balloon\"; id = \"balloon\"; amount_mib = %lldL; "
		    "deflate_on_oom = %s; stats_polling_interval_s = %lldL; "
		    "free_page_hinting = %s; free_page_reporting = %s; }",
		    (long long)json_integer_value(json_object_get(bl, "amount_mib")),
		    json_is_true(json_object_get(bl, "deflate_on_oom")) ? "true" : "false",
		    (long long)json_integer_value(json_object_get(bl, "stats_polling_interval_s")),
		    json_is_true(json_object_get(bl, "free_page_hinting")) ? "true" : "false",
		    json_is_true(json_object_get(bl, "free_page_reporting")) ? "true" : "false");
	}
	if (m->entropy) {
		next_device(&b, &count);
		strbuf_puts(&b, "plugin = \"virtio-rng\"; id = \"entropy\"; ");
		put_rate(&b, json_object_get(m->entropy, "rate_limiter"), "rate_bytes_per_sec",
			 "burst_bytes");
		strbuf_puts(&b, "}");
	}
	json_array_foreach(m->ember_devices, i, d)
	{
		const char *k;
		json_t *v;

		next_device(&b, &count);
		put_string(&b, "plugin", json_string_value(json_object_get(d, "plugin")));
		put_string(&b, "id", json_string_value(json_object_get(d, "id")));
		json_object_foreach(json_object_get(d, "options"), k, v)
		{
			put_option(&b, k, v);
		}
		strbuf_puts(&b, "}");
	}
	strbuf_puts(&b, count ? "\n);\n" : ");\n");
	if (b.failed) {
		strbuf_free(&b);
		fault(err, n, "out of memory");
		return NULL;
	}
	return b.buf;
}

json_t *fc_model_vm_config(const struct fc_model *m)
{
	json_t *out = json_object();

	if (!out)
		return NULL;
	json_object_set(out, "machine-config", m->machine);
	json_object_set(out, "boot-source", m->boot ? m->boot : json_null());
	json_object_set(out, "drives", m->drives);
	json_object_set(out, "network-interfaces", m->nets);
	json_object_set(out, "vsock", m->vsock ? m->vsock : json_null());
	json_object_set(out, "balloon", m->balloon ? m->balloon : json_null());
	json_object_set(out, "logger", m->logger ? m->logger : json_null());
	json_object_set(out, "metrics", m->metrics ? m->metrics : json_null());
	json_object_set(out, "mmds-config", m->mmds_config ? m->mmds_config : json_null());
	json_object_set(out, "entropy", m->entropy ? m->entropy : json_null());
	json_object_set(out, "ember-devices", m->ember_devices);
	return out;
}
