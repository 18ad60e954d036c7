/* SPDX-License-Identifier: Apache-2.0 */
/* Runtime requests to a device (plugin_control.h). */
#include "plugin_control.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_tables.h"

#define REPLY_VALUES_MAX 32
#define MESSAGE_MAX	 256

/* What ember_control_call.host_private points at while ops.control runs. */
struct control_reply {
	char *buf;
	size_t size, len;
	unsigned values;
	char names[REPLY_VALUES_MAX][32];
};

__attribute__((format(printf, 3, 4))) static int say(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int take_arg(const struct ember_option *o, const config_setting_t *s,
		    struct ember_control_arg *a, const char *req, char *out, size_t size)
{
	int type = config_setting_type(s);
	bool integer = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;

	switch (o->type) {
	case EMBER_OPTION_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			return say(out, size, "%s.%s: expected true or false", req, o->name);
		a->num = config_setting_get_bool(s);
		return 0;
	case EMBER_OPTION_STRING:
	case EMBER_OPTION_PATH:
		if (type != CONFIG_TYPE_STRING ||
		    (o->type == EMBER_OPTION_PATH && !*config_setting_get_string(s)))
			return say(out, size, "%s.%s: expected a %s", req, o->name,
				   o->type == EMBER_OPTION_PATH ? "path" : "string");
		a->str = config_setting_get_string(s);
		return 0;
	case EMBER_OPTION_INT:
		if (!integer)
			return say(out, size, "%s.%s: expected an integer", req, o->name);
		a->num = config_setting_get_int64(s);
		break;
	case EMBER_OPTION_SIZE:
		if (integer)
			a->num = config_setting_get_int64(s);
		else if (type != CONFIG_TYPE_STRING ||
			 plugin_option_parse_size(config_setting_get_string(s), &a->num))
			return say(out, size, "%s.%s: expected a size (like 65536, \"64K\")", req,
				   o->name);
		break;
	default:
		return say(out, size, "%s.%s: unknown parameter type", req, o->name);
	}
	if (a->num < o->min || a->num > o->max)
		return say(out, size, "%s.%s: %lld is outside %lld..%lld", req, o->name,
			   (long long)a->num, (long long)o->min, (long long)o->max);
	return 0;
}

/* Fills args[] (one per parameter, defaults first) from the libconfig text. */
static int check_args(const struct ember_control *c, config_t *lc, const char *text,
		      struct ember_control_arg *args, char *out, size_t size)
{
	const config_setting_t *root;
	int n;

	for (uint32_t i = 0; i < c->param_count; i++) {
		const struct ember_option *o = &c->params[i];

		args[i] = (struct ember_control_arg){.name = o->name,
						     .type = o->type,
						     .num = o->default_int,
						     .str = o->default_string};
	}
	if (text && *text && !config_read_string(lc, text))
		return say(out, size, "%s: bad arguments: %s", c->name, config_error_text(lc));
	root = config_root_setting(lc);
	n = root ? config_setting_length(root) : 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);
		uint32_t j = 0;

		while (j < c->param_count && strcmp(c->params[j].name, name ? name : ""))
			j++;
		if (j == c->param_count)
			return say(out, size, "%s: no parameter \"%s\"", c->name,
				   name ? name : "?");
		if (take_arg(&c->params[j], s, &args[j], c->name, out, size))
			return -EINVAL;
		args[j].given = 1;
	}
	for (uint32_t i = 0; i < c->param_count; i++)
		if ((c->params[i].flags & EMBER_OPTION_REQUIRED) && !args[i].given)
			return say(out, size, "%s.%s: missing; the request requires it", c->name,
				   c->params[i].name);
	return 0;
}

int plugin_control_run(const struct plugin *p, struct ember_instance *inst, const char *name,
		       const char *args, char *reply, size_t reply_size)
{
	const struct ember_plugin_desc *d = &p->desc;
	const struct ember_control *c = NULL;
	struct ember_control_arg *argv = NULL;
	struct control_reply acc = {.buf = reply, .size = reply_size};
	char message[MESSAGE_MAX] = "";
	struct ember_control_call call;
	uint32_t index = 0;
	config_t lc;
	int rc;

	if (reply_size)
		reply[0] = '\0';
	for (; index < d->control_count && !c; index++)
		if (!strcmp(d->controls[index].name, name ? name : ""))
			c = &d->controls[index];
	if (!c || !p->ops.control) {
		say(reply, reply_size, "plugin %s has no request \"%s\"", d->name,
		    name ? name : "");
		return -ENOENT;
	}
	if (c->param_count && !(argv = calloc(c->param_count, sizeof(*argv)))) {
		say(reply, reply_size, "out of memory");
		return -ENOMEM;
	}
	config_init(&lc);
	rc = check_args(c, &lc, args, argv, reply, reply_size);
	if (!rc) {
		call = (struct ember_control_call){
		    .struct_size = sizeof(call),
		    .control_index = index - 1,
		    .name = c->name,
		    .args = argv,
		    .arg_count = c->param_count,
		    .message_size = sizeof(message),
		    .message = message,
		    .host_private = &acc,
		};
		rc = p->ops.control(inst, &call);
		call.host_private = NULL;
		if (rc > 0)
			rc = -EIO; /* the contract says negative errno; a positive one is a bug */
		if (rc) {
			message[sizeof(message) - 1] = '\0';
			say(reply, reply_size, "%s: %s", c->name,
			    message[0] ? message : strerror(-rc));
		}
	}
	config_destroy(&lc);
	free(argv);
	return rc;
}

/* Appends "name = <value>;\n" unless the name is bad, repeated, or the reply is full. */
static int reply_add(struct ember_control_call *call, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reply_add(struct ember_control_call *call, const char *name, const char *fmt, ...)
{
	struct control_reply *r = call ? call->host_private : NULL;
	va_list ap;
	int w;

	if (!r)
		return -EPERM;
	if (!plugin_valid_name(name, sizeof(r->names[0]) - 1, false, true))
		return -EINVAL;
	for (unsigned i = 0; i < r->values; i++)
		if (!strcmp(r->names[i], name))
			return -EINVAL;
	if (r->values == REPLY_VALUES_MAX || r->len >= r->size)
		return -ENOSPC;
	w = snprintf(r->buf + r->len, r->size - r->len, "%s = ", name);
	if (w < 0 || (size_t)w >= r->size - r->len)
		goto full;
	r->len += (size_t)w;
	va_start(ap, fmt);
	w = vsnprintf(r->buf + r->len, r->size - r->len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= r->size - r->len)
		goto full;
	r->len += (size_t)w;
	snprintf(r->names[r->values++], sizeof(r->names[0]), "%s", name);
	return 0;
full:
	/* Never leave half a line behind. */
	r->buf[r->len = (size_t)(strrchr(r->buf, '\n') ? strrchr(r->buf, '\n') - r->buf + 1 : 0)] =
	    '\0';
	return -ENOSPC;
}

int plugin_control_reply_int(const struct ember_host *host, struct ember_control_call *call,
			     const char *name, int64_t value)
{
	(void)host;
	return reply_add(call, name, "%lld;\n", (long long)value);
}

int plugin_control_reply_string(const struct ember_host *host, struct ember_control_call *call,
				const char *name, const char *value)
{
	char quoted[512];
	size_t n = 0;

	(void)host;
	if (!value)
		return -EINVAL;
	/* libconfig string syntax: escape quotes, backslashes and control characters. */
	for (const char *c = value; *c && n + 5 < sizeof(quoted); c++) {
		if (*c == '"' || *c == '\\') {
			quoted[n++] = '\\';
			quoted[n++] = *c;
		} else if ((unsigned char)*c < 0x20) {
			n += (size_t)snprintf(quoted + n, sizeof(quoted) - n, "\\x%02x",
					      (unsigned char)*c);
		} else {
			quoted[n++] = *c;
		}
	}
	quoted[n] = '\0';
	return reply_add(call, name, "\"%s\";\n", quoted);
}
