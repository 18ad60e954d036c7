/* SPDX-License-Identifier: Apache-2.0 */
/* Firecracker's endpoints over struct api (api_router.h). */
#include "api_router.h"

#include "strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_MAX 512

static const char *const not_after = "The requested operation is not supported after starting "
				     "the microVM.";
static const char *const not_before = "The requested operation is not supported before "
				      "starting the microVM.";

int api_init(struct api *api, const char *instance_id, const char *vmm_version,
	     const struct api_ops *ops, fc_have_plugin_fn have_plugin, void *have_plugin_opaque)
{
	memset(api, 0, sizeof(*api));
	snprintf(api->instance_id, sizeof(api->instance_id), "%s",
		 instance_id ? instance_id : "anonymous-instance");
	api->vmm_version = vmm_version;
	if (ops)
		api->ops = *ops;
	return fc_model_init(&api->model, have_plugin, have_plugin_opaque);
}

void api_fini(struct api *api)
{
	fc_model_free(&api->model);
}

static void answer_json(struct api_response *r, unsigned status, json_t *v)
{
	r->status = status;
	r->body = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (!r->body) {
		r->status = 400;
		r->body = strdup("{\"fault_message\":\"out of memory\"}");
	}
}

static bool utf8_ok(const char *s)
{
	json_t *v = json_string(s);

	json_decref(v);
	return v != NULL;
}

__attribute__((format(printf, 3, 4))) static void fault(struct api *api, struct api_response *r,
							const char *fmt, ...)
{
	char msg[ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api->counters.errors++;
	/* Messages echo the client's path and ids, cut at a byte count: bytes that are not
	 * UTF-8 become '?', else jansson refuses the string and the client reads "out of
	 * memory" instead of the reason. */
	if (!utf8_ok(msg))
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	answer_json(r, 400, json_pack("{s:s}", "fault_message", msg));
}

static void unpack_fault(struct api *api, struct api_response *r, const json_error_t *e,
			 const char *what)
{
	char msg[ERR_MAX];

	fc_unpack_error(e, what, msg, sizeof(msg));
	fault(api, r, "%s", msg);
}

static void no_content(struct api_response *r)
{
	r->status = 204;
	r->body = NULL;
}

/* The body as JSON (Firecracker refuses duplicate keys too), or NULL after a 400. */
static json_t *parse(struct api *api, const char *body, size_t len, struct api_response *r)
{
	json_error_t e;
	json_t *v;

	if (len == 0) {
		fault(api, r, "The request body is empty; a JSON object was expected.");
		return NULL;
	}
	v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (!v)
		fault(api, r, "The request body is not valid JSON: %s (line %d, column %d).",
		      e.text, e.line, e.column);
	else if (!json_is_object(v)) {
		json_decref(v);
		fault(api, r, "The request body must be a JSON object.");
		return NULL;
	}
	return v;
}

static bool pre_boot(struct api *api, struct api_response *r)
{
	if (api->phase == API_PHASE_CONFIGURING)
		return true;
	fault(api, r, "%s", not_after);
	return false;
}

static bool running(struct api *api, struct api_response *r)
{
	if (api->phase == API_PHASE_RUNNING)
		return true;
	fault(api, r, "%s", not_before);
	return false;
}

static const char *state_name(const struct api *api)
{
	if (api->phase != API_PHASE_RUNNING)
		return "Not started";
	return api->paused ? "Paused" : "Running";
}

/* A "PUT section" endpoint: parse, check the phase, hand to the model's setter. */
typedef int (*setter_fn)(struct fc_model *m, json_t *body, char *err, size_t n);

static void put_section(struct api *api, struct api_response *r, const char *body, size_t len,
			setter_fn set)
{
	char err[ERR_MAX];
	json_t *v;

	if (!pre_boot(api, r) || !(v = parse(api, body, len, r)))
		return;
	if (set(&api->model, v, err, sizeof(err)))
		fault(api, r, "%s", err);
	else
		no_content(r);
	json_decref(v);
}

static int set_machine_put(struct fc_model *m, json_t *b, char *e, size_t n)
{
	return fc_model_set_machine(m, b, false, e, n);
}

static int set_machine_patch(struct fc_model *m, json_t *b, char *e, size_t n)
{
	return fc_model_set_machine(m, b, true, e, n);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

json_t *api_reply_to_json(const char *reply)
{
	json_t *out = json_object();
	const char *p = reply;

	if (!out)
		return NULL;
	while (p && *p) {
		char name[64];
		size_t nl = 0;

		while (*p == '\n' || *p == ' ')
			p++;
		if (!*p)
			break;
		while ((p[nl] >= 'a' && p[nl] <= 'z') || (p[nl] >= '0' && p[nl] <= '9') ||
		       p[nl] == '_')
			nl++;
		if (nl == 0 || nl >= sizeof(name) || strncmp(p + nl, " = ", 3))
			goto bad;
		memcpy(name, p, nl);
		name[nl] = '\0';
		p += nl + 3;
		if (*p == '"') {
			struct strbuf s;

			strbuf_init(&s);
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1] == 'x') {
					/* plugin_control_reply_string's \xHH for control bytes. */
					int hi = hex_digit(p[2]),
					    lo = hi < 0 ? -1 : hex_digit(p[3]);

					if (lo < 0 || (hi == 0 && lo == 0))
						break;
					strbuf_putc(&s, (char)(hi * 16 + lo));
					p += 3;
					continue;
				}
				if (*p == '\\' && p[1])
					p++;
				strbuf_putc(&s, *p);
			}
			if (*p != '"' || s.failed) {
				strbuf_free(&s);
				goto bad;
			}
			p++;
			json_object_set_new(out, name, json_string(s.buf ? s.buf : ""));
			strbuf_free(&s);
		} else {
			char *end;
			long long v = strtoll(p, &end, 10);

			if (end == p)
				goto bad;
			if (*end == 'L')
				end++;
			p = end;
			json_object_set_new(out, name, json_integer(v));
		}
		if (*p != ';')
			goto bad;
		p++;
	}
	return out;
bad:
	json_decref(out);
	return NULL;
}

/* Runs a device's runtime request; on success *reply_json (when asked) holds its reply. */
static int control(struct api *api, struct api_response *r, const char *id, const char *name,
		   const char *args, json_t **reply_json)
{
	/* Empty until the device writes: an op that fails without a word is still a string. */
	char reply[4096] = "";
	int rc;

	if (!api->ops.device_control) {
		fault(api, r, "Runtime device requests are not offered by this front-end.");
		return -1;
	}
	rc = api->ops.device_control(api->ops.opaque, id, name, args, reply, sizeof(reply));
	if (rc) {
		fault(api, r, "%s: %s", id, reply);
		return -1;
	}
	if (reply_json) {
		*reply_json = api_reply_to_json(reply);
		if (!*reply_json) {
			fault(api, r, "%s: %s: malformed reply from the device", id, name);
			return -1;
		}
	}
	return 0;
}

static void args_string(struct strbuf *b, const char *key, const char *value)
{
	strbuf_printf(b, "%s = \"", key);
	strbuf_escape(b, value);
	strbuf_puts(b, "\"; ");
}

/*
 * A bucket as the plugins' set_rate_limit parameters: KIND_size, _refill_ms, _one_time_burst.
 * A bucket the limiter leaves out (Kata sends "rate_limiter": {}) is size 0: no limit, and the
 * plugin's defaults for the rest.
 */
static void args_bucket(struct strbuf *b, json_t *rl, const char *kind)
{
	json_t *tb = json_object_get(rl, kind);

	if (!json_is_object(tb)) {
		strbuf_printf(b, "%s_size = 0L; ", kind);
		return;
	}
	strbuf_printf(b, "%s_size = %lldL; %s_refill_ms = %lldL; %s_one_time_burst = %lldL; ", kind,
		      (long long)json_integer_value(json_object_get(tb, "size")), kind,
		      (long long)json_integer_value(json_object_get(tb, "refill_time")), kind,
		      (long long)json_integer_value(json_object_get(tb, "one_time_burst")));
}

/* control() with arguments built in b (freed here); an allocation failure answers 400. */
static int control_args(struct api *api, struct api_response *r, const char *id, const char *name,
			struct strbuf *b)
{
	int rc = -1;

	if (b->failed)
		fault(api, r, "out of memory");
	else
		rc = control(api, r, id, name, b->buf, NULL);
	strbuf_free(b);
	return rc;
}

static void patch_drive(struct api *api, struct api_response *r, const char *id, const char *body,
			size_t len)
{
	const char *drive_id, *path = NULL;
	json_t *rl = NULL, *v, *stored;
	char err[ERR_MAX];
	json_error_t e;
	ssize_t at = -1;
	size_t i;

	if (!running(api, r) || !(v = parse(api, body, len, r)))
		return;
	if (json_unpack_ex(v, &e, JSON_STRICT, "{s:s, s?s, s?o}", "drive_id", &drive_id,
			   "path_on_host", &path, "rate_limiter", &rl)) {
		unpack_fault(api, r, &e, "drives");
		goto out;
	}
	if (strcmp(drive_id, id)) {
		fault(api, r, "drives: the id in the path (%s) differs from the body's (%.40s)", id,
		      drive_id);
		goto out;
	}
	json_array_foreach(api->model.drives, i, stored)
	{
		if (!strcmp(json_string_value(json_object_get(stored, "drive_id")), id))
			at = (ssize_t)i;
	}
	if (at < 0 && !api->ops.device_control) {
		fault(api, r, "drives: %s: no such drive", id);
		goto out;
	}
	if (fc_rate_limiter_check(rl, "drives: rate_limiter", err, sizeof(err))) {
		fault(api, r, "%s", err);
		goto out;
	}
	/* NULL when the model does not know the drive (ember run): the device still answers. */
	stored = at >= 0 ? json_array_get(api->model.drives, (size_t)at) : NULL;
	if (path) {
		struct strbuf b;
		int rc;

		strbuf_init(&b);
		args_string(&b, "path", path);
		rc = control_args(api, r, id, "swap_backing", &b);
		if (rc)
			goto out;
		if (stored)
			json_object_set_new(stored, "path_on_host", json_string(path));
	}
	if (rl) {
		struct strbuf b;
		int rc;

		strbuf_init(&b);
		args_bucket(&b, rl, "bandwidth");
		args_bucket(&b, rl, "ops");
		rc = control_args(api, r, id, "set_rate_limit", &b);
		if (rc)
			goto out;
		if (stored)
			json_object_set(stored, "rate_limiter", rl);
	}
	api->counters.drive_patches++;
	no_content(r);
out:
	json_decref(v);
}

static void patch_net(struct api *api, struct api_response *r, const char *id, const char *body,
		      size_t len)
{
	const char *iface;
	json_t *rx = NULL, *tx = NULL, *v;
	char err[ERR_MAX];
	json_error_t e;

	if (!running(api, r) || !(v = parse(api, body, len, r)))
		return;
	if (json_unpack_ex(v, &e, JSON_STRICT, "{s:s, s?o, s?o}", "iface_id", &iface,
			   "rx_rate_limiter", &rx, "tx_rate_limiter", &tx)) {
		unpack_fault(api, r, &e, "network-interfaces");
		goto out;
	}
	if (strcmp(iface, id)) {
		fault(api, r,
		      "network-interfaces: the id in the path (%s) differs from the body's "
		      "(%.40s)",
		      id, iface);
		goto out;
	}
	if (fc_rate_limiter_check(rx, "network-interfaces: rx_rate_limiter", err, sizeof(err)) ||
	    fc_rate_limiter_check(tx, "network-interfaces: tx_rate_limiter", err, sizeof(err))) {
		fault(api, r, "%s", err);
		goto out;
	}
	char net_id[80];

	snprintf(net_id, sizeof(net_id), FC_NET_ID_PREFIX "%s", id);
	for (int d = 0; d < 2; d++) {
		json_t *rl = d ? tx : rx;
		struct strbuf b;
		int rc;

		if (!rl)
			continue;
		strbuf_init(&b);
		strbuf_printf(&b, "direction = \"%s\"; ", d ? "tx" : "rx");
		args_bucket(&b, rl, "bandwidth");
		args_bucket(&b, rl, "ops");
		rc = control_args(api, r, net_id, "set_rate_limit", &b);
		if (rc)
			goto out;
	}
	api->counters.net_patches++;
	no_content(r);
out:
	json_decref(v);
}

static void actions(struct api *api, struct api_response *r, const char *body, size_t len)
{
	const char *type;
	char err[ERR_MAX] = "";
	json_error_t e;
	json_t *v;
	int rc;

	if (!(v = parse(api, body, len, r)))
		return;
	if (json_unpack_ex(v, &e, JSON_STRICT, "{s:s}", "action_type", &type)) {
		unpack_fault(api, r, &e, "actions");
		goto out;
	}
	if (!strcmp(type, "InstanceStart")) {
		if (!pre_boot(api, r))
			goto out;
		if (!api->ops.start) {
			fault(api, r, "InstanceStart is not offered by this front-end.");
			goto out;
		}
		rc = api->ops.start(api->ops.opaque, err, sizeof(err));
		if (rc) {
			fault(api, r, "InstanceStart: %s", err);
			goto out;
		}
		api->phase = API_PHASE_STARTING;
		no_content(r);
	} else if (!strcmp(type, "SendCtrlAltDel") || !strcmp(type, "FlushMetrics")) {
		bool cad = type[0] == 'S';
		int (*fn)(void *, char *, size_t) =
		    cad ? api->ops.ctrl_alt_del : api->ops.flush_metrics;

		if (!running(api, r))
			goto out;
		if (!fn) {
			fault(api, r, "%s is not offered by this front-end.", type);
			goto out;
		}
		rc = fn(api->ops.opaque, err, sizeof(err));
		if (rc)
			fault(api, r, "%s: %s", type, err);
		else
			no_content(r);
	} else
		fault(api, r,
		      "actions: action_type: \"%.40s\": expected InstanceStart, "
		      "SendCtrlAltDel or FlushMetrics",
		      type);
out:
	json_decref(v);
}

static void patch_vm(struct api *api, struct api_response *r, const char *body, size_t len)
{
	const char *state;
	char err[ERR_MAX] = "";
	json_error_t e;
	json_t *v;
	int rc = 0;

	if (!running(api, r) || !(v = parse(api, body, len, r)))
		return;
	if (json_unpack_ex(v, &e, JSON_STRICT, "{s:s}", "state", &state)) {
		unpack_fault(api, r, &e, "vm");
		goto out;
	}
	if (strcmp(state, "Paused") && strcmp(state, "Resumed")) {
		fault(api, r, "vm: state: \"%.40s\": expected \"Paused\" or \"Resumed\"", state);
		goto out;
	}
	if (state[0] == 'P') {
		rc = api->ops.pause ? api->ops.pause(api->ops.opaque, err, sizeof(err)) : -ENOTSUP;
		if (!rc) {
			api->paused = true;
			api->counters.pauses++;
		}
	} else {
		rc =
		    api->ops.resume ? api->ops.resume(api->ops.opaque, err, sizeof(err)) : -ENOTSUP;
		if (!rc) {
			api->paused = false;
			api->counters.resumes++;
		}
	}
	if (rc)
		fault(api, r, "vm: %s: %s", state, *err ? err : strerror(-rc));
	else
		no_content(r);
out:
	json_decref(v);
}

/* /balloon and its sub-paths (sub: "" or "/statistics", "/hinting/start", ...). */
static void balloon(struct api *api, struct api_response *r, const char *method, const char *sub,
		    const char *body, size_t len)
{
	json_t *v = NULL, *reply = NULL;
	json_error_t e;

	if (!strcmp(sub, "") && !strcmp(method, "PUT")) {
		put_section(api, r, body, len, fc_model_set_balloon);
		return;
	}
	/* Before boot only the model knows; once running, the device answers (ember run's
	 * libconfig VM has no model of its devices). */
	if (!api->model.balloon && api->phase != API_PHASE_RUNNING) {
		fault(api, r, "balloon: no balloon device is configured (PUT /balloon first)");
		return;
	}
	if (!strcmp(sub, "") && !strcmp(method, "GET")) {
		if (api->phase == API_PHASE_RUNNING) {
			if (control(api, r, "balloon", "config", NULL, &reply))
				return;
			answer_json(r, 200, reply);
		} else
			answer_json(r, 200, json_incref(api->model.balloon));
		return;
	}
	if (!strcmp(sub, "/statistics") && !strcmp(method, "GET")) {
		if (!running(api, r) || control(api, r, "balloon", "statistics", NULL, &reply))
			return;
		answer_json(r, 200, reply);
		return;
	}
	if (!strcmp(sub, "/hinting/status") && !strcmp(method, "GET")) {
		if (!running(api, r) || control(api, r, "balloon", "hinting_status", NULL, &reply))
			return;
		answer_json(r, 200, reply);
		return;
	}
	if (strcmp(method, "PATCH")) {
		fault(api, r, "Invalid request method and/or path: %s /balloon%s.", method, sub);
		return;
	}
	if (!running(api, r) || !(v = parse(api, body, len, r)))
		return;
	{
		char args[128];
		const char *name;
		json_int_t num = 0;
		int flag = 0, rc;

		if (!strcmp(sub, "")) {
			rc = json_unpack_ex(v, &e, JSON_STRICT, "{s:I}", "amount_mib", &num);
			name = "set_target";
			snprintf(args, sizeof(args), "amount_mib = %lldL;", (long long)num);
		} else if (!strcmp(sub, "/statistics")) {
			rc = json_unpack_ex(v, &e, JSON_STRICT, "{s:I}", "stats_polling_interval_s",
					    &num);
			name = "set_stats_interval";
			snprintf(args, sizeof(args), "stats_polling_interval_s = %lldL;",
				 (long long)num);
		} else if (!strcmp(sub, "/hinting/start")) {
			flag = 1; /* acknowledge_on_stop's default, as the device's */
			rc = json_unpack_ex(v, &e, JSON_STRICT, "{s?b}", "acknowledge_on_stop",
					    &flag);
			name = "hinting_start";
			snprintf(args, sizeof(args), "acknowledge_on_stop = %s;",
				 flag ? "true" : "false");
		} else if (!strcmp(sub, "/hinting/stop")) {
			rc = json_unpack_ex(v, &e, JSON_STRICT, "{}");
			name = "hinting_stop";
			args[0] = '\0';
		} else {
			fault(api, r, "Invalid request method and/or path: %s /balloon%s.", method,
			      sub);
			goto out;
		}
		if (rc) {
			unpack_fault(api, r, &e, "balloon");
			goto out;
		}
		if (num < 0) {
			fault(api, r, "balloon: values must not be negative");
			goto out;
		}
		if (control(api, r, "balloon", name, args, NULL))
			goto out;
		if (!strcmp(name, "set_target") && api->model.balloon)
			json_object_set_new(api->model.balloon, "amount_mib", json_integer(num));
		api->counters.balloon_patches++;
		no_content(r);
	}
out:
	json_decref(v);
}

static void get_devices(struct api *api, struct api_response *r)
{
	if (api->phase == API_PHASE_RUNNING && api->ops.devices) {
		json_t *list = api->ops.devices(api->ops.opaque);

		if (!list) {
			fault(api, r, "out of memory");
			return;
		}
		answer_json(r, 200, list);
		return;
	}
	answer_json(r, 200, json_incref(api->model.ember_devices));
}

/* Splits "/drives/ID" style paths: returns ID when path starts with prefix, else NULL. */
static const char *path_id(const char *path, const char *prefix, char *id, size_t size)
{
	size_t n = strlen(prefix);
	const char *rest;

	if (strncmp(path, prefix, n))
		return NULL;
	rest = path + n;
	if (strlen(rest) >= size || strchr(rest, '/'))
		return NULL;
	memcpy(id, rest, strlen(rest) + 1);
	return id;
}

static bool is(const char *method, const char *path, const char *m, const char *p)
{
	return !strcmp(method, m) && !strcmp(path, p);
}

/* PUT/PATCH of a section through a setter that also takes a patch flag (mmds). */
static void mmds(struct api *api, struct api_response *r, bool patch, const char *body, size_t len)
{
	char err[ERR_MAX];
	json_t *v = parse(api, body, len, r);

	if (!v)
		return;
	if (fc_model_set_mmds(&api->model, v, patch, err, sizeof(err)))
		fault(api, r, "%s", err);
	else
		no_content(r);
	json_decref(v);
}

/* PUT /logger, /metrics: the model's section (slot) is set only once apply worked too, so
 * GET /vm/config never shows a logger that could not be opened. */
static void put_with_side_effect(struct api *api, struct api_response *r, const char *body,
				 size_t len, setter_fn set, json_t **slot,
				 int (*apply)(void *, json_t *, char *, size_t))
{
	char err[ERR_MAX];
	json_t *v, *old;

	if (!pre_boot(api, r) || !(v = parse(api, body, len, r)))
		return;
	old = json_incref(*slot);
	if (set(&api->model, v, err, sizeof(err)))
		fault(api, r, "%s", err);
	else if (apply && apply(api->ops.opaque, v, err, sizeof(err))) {
		fault(api, r, "%s", err);
		json_decref(*slot);
		*slot = json_incref(old);
	} else
		no_content(r);
	json_decref(old);
	json_decref(v);
}

/* The PUT (and PATCH) of a "/SECTION/{id}" path: the id rule, the phase, the model's setter. */
typedef int (*id_setter_fn)(struct fc_model *m, const char *id, json_t *body, char *err, size_t n);
typedef void (*id_patch_fn)(struct api *api, struct api_response *r, const char *id,
			    const char *body, size_t len);

static void by_id(struct api *api, struct api_response *r, const char *method, const char *path,
		  const char *id, const char *body, size_t len, const char *what, id_setter_fn set,
		  id_patch_fn patch)
{
	char err[ERR_MAX];
	json_t *v;

	if (!fc_id_ok(id)) {
		fault(api, r, "%s: \"%.40s\": an id is 1 to 32 of A-Z, a-z, 0-9 and _", what, id);
	} else if (!strcmp(method, "PUT")) {
		if (pre_boot(api, r) && (v = parse(api, body, len, r))) {
			if (set(&api->model, id, v, err, sizeof(err)))
				fault(api, r, "%s", err);
			else
				no_content(r);
			json_decref(v);
		}
	} else if (patch && !strcmp(method, "PATCH")) {
		patch(api, r, id, body, len);
	} else {
		fault(api, r, "Invalid request method and/or path: %s %.100s.", method, path);
	}
}

void api_handle(struct api *api, const char *method, const char *path, const char *body, size_t len,
		struct api_response *r)
{
	char id[64];

	r->status = 400;
	r->body = NULL;
	api->counters.requests++;
	if (is(method, path, "GET", "/")) {
		answer_json(r, 200,
			    json_pack("{s:s, s:s, s:s, s:s}", "id", api->instance_id, "state",
				      state_name(api), "vmm_version",
				      api->vmm_version ? api->vmm_version : EMBER_FC_API_VERSION,
				      "app_name", "ember"));
	} else if (is(method, path, "GET", "/version")) {
		answer_json(r, 200,
			    json_pack("{s:s}", "firecracker_version", EMBER_FC_API_VERSION));
	} else if (is(method, path, "GET", "/machine-config")) {
		answer_json(r, 200, json_incref(api->model.machine));
	} else if (is(method, path, "PUT", "/machine-config")) {
		put_section(api, r, body, len, set_machine_put);
	} else if (is(method, path, "PATCH", "/machine-config")) {
		put_section(api, r, body, len, set_machine_patch);
	} else if (is(method, path, "PUT", "/boot-source")) {
		put_section(api, r, body, len, fc_model_set_boot);
	} else if (path_id(path, "/drives/", id, sizeof(id))) {
		by_id(api, r, method, path, id, body, len, "drives", fc_model_set_drive,
		      patch_drive);
	} else if (path_id(path, "/network-interfaces/", id, sizeof(id))) {
		by_id(api, r, method, path, id, body, len, "network-interfaces", fc_model_set_net,
		      patch_net);
	} else if (path_id(path, "/ember/devices/", id, sizeof(id)) && !strcmp(method, "PUT")) {
		by_id(api, r, method, path, id, body, len, "ember-devices",
		      fc_model_set_ember_device, NULL);
	} else if (is(method, path, "GET", "/ember/devices")) {
		get_devices(api, r);
	} else if (is(method, path, "PUT", "/vsock")) {
		put_section(api, r, body, len, fc_model_set_vsock);
	} else if (!strncmp(path, "/balloon", 8) && (path[8] == '\0' || path[8] == '/')) {
		balloon(api, r, method, path + 8, body, len);
	} else if (is(method, path, "PUT", "/entropy")) {
		put_section(api, r, body, len, fc_model_set_entropy);
	} else if (is(method, path, "PUT", "/actions")) {
		actions(api, r, body, len);
	} else if (is(method, path, "PATCH", "/vm")) {
		patch_vm(api, r, body, len);
	} else if (is(method, path, "GET", "/vm/config")) {
		answer_json(r, 200, fc_model_vm_config(&api->model));
	} else if (is(method, path, "PUT", "/logger")) {
		put_with_side_effect(api, r, body, len, fc_model_set_logger, &api->model.logger,
				     api->ops.set_logger);
	} else if (is(method, path, "PUT", "/metrics")) {
		put_with_side_effect(api, r, body, len, fc_model_set_metrics, &api->model.metrics,
				     api->ops.set_metrics);
	} else if (is(method, path, "GET", "/mmds")) {
		if (api->model.mmds)
			answer_json(r, 200, json_incref(api->model.mmds));
		else
			fault(api, r, "The MMDS data store is not initialized.");
	} else if (is(method, path, "PUT", "/mmds")) {
		mmds(api, r, false, body, len);
	} else if (is(method, path, "PATCH", "/mmds")) {
		if (!api->model.mmds)
			fault(api, r, "The MMDS data store is not initialized.");
		else
			mmds(api, r, true, body, len);
	} else if (is(method, path, "PUT", "/mmds/config")) {
		put_section(api, r, body, len, fc_model_set_mmds_config);
	} else if (!strcmp(path, "/snapshot/create") || !strcmp(path, "/snapshot/load")) {
		fault(api, r, "Snapshots are not offered yet: %s %s cannot be served.", method,
		      path);
	} else if (!strcmp(path, "/cpu-config")) {
		fault(api, r,
		      "Custom CPU templates are not offered: the guest sees the host's CPU "
		      "as KVM filters it.");
	} else {
		fault(api, r, "Invalid request method and/or path: %s %.100s.", method, path);
	}
}
