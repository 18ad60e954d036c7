/* SPDX-License-Identifier: Apache-2.0 */
/* A device's config group against its plugin's option table (plugin_loader.h). */
#include "path.h"
#include "plugin_loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct option_ctx {
	const struct plugin *p;
	const struct device_config *dev;
	const char *file;
	size_t index;
	char *err;
	size_t err_size;
};

__attribute__((format(printf, 4, 5))) static int opt_fail(const struct option_ctx *c,
							  const config_setting_t *s,
							  const char *name, const char *fmt, ...)
{
	int line = s ? config_setting_source_line(s) : 0;
	size_t n;
	va_list ap;

	snprintf(c->err, c->err_size, "%s:%d: devices[%zu].%s: ", c->file,
		 line > 0 ? line : c->dev->line, c->index, name);
	n = strlen(c->err);
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->err_size - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* "123", "64K", "1M", "2G", "1T" (powers of 1024). Returns 0 or -EINVAL / -ERANGE. */
int plugin_option_parse_size(const char *s, int64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *c = s;

	if (*c < '0' || *c > '9')
		return -EINVAL;
	for (; *c >= '0' && *c <= '9'; c++)
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *c - '0', &v))
			return -ERANGE;
	switch (*c) {
	case 'k':
	case 'K':
		mult = 1ULL << 10;
		break;
	case 'M':
		mult = 1ULL << 20;
		break;
	case 'G':
		mult = 1ULL << 30;
		break;
	case 'T':
		mult = 1ULL << 40;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (*c && c[1])
		return -EINVAL;
	if (__builtin_mul_overflow(v, mult, &v) || v > INT64_MAX)
		return -ERANGE;
	*out = (int64_t)v;
	return 0;
}

static bool is_integer(const config_setting_t *s)
{
	int t = config_setting_type(s);

	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

/*
 * A path option's path (folder == NULL) or its folder failed stat() with errno. ENOENT and
 * ENOTDIR (a component is not a folder) both mean "not there" to an operator.
 */
static int path_refused(const struct option_ctx *c, const config_setting_t *s,
			const struct plugin_option_value *v, const char *folder)
{
	int e = errno;
	/* A default is reported at the device's line; say so, or the operator looks for a key. */
	const char *dflt = s ? "" : " (the default)";
	const char *name = v->option->name;
	bool missing = e == ENOENT || e == ENOTDIR;

	if (!folder)
		return missing ? opt_fail(c, s, name, "\"%s\"%s does not exist", v->str, dflt)
			       : opt_fail(c, s, name, "\"%s\"%s: %s", v->str, dflt, strerror(e));
	return missing ? opt_fail(c, s, name, "\"%s\"%s: folder \"%s\" does not exist", v->str,
				  dflt, folder)
		       : opt_fail(c, s, name, "\"%s\"%s: folder \"%s\": %s", v->str, dflt, folder,
				  strerror(e));
}

/*
 * EMBER_OPTION_PATH_EXISTS / _PARENT_EXISTS, on the resolved path (v->str; s is NULL for a
 * default). Checked here rather than left to the plugin's create so that a missing file is a
 * config error like any other: one line with file, line and key, before anything is created.
 * stat() follows links, so a dangling link does not exist. It is no promise that the file is
 * still there at create: the plugin still handles its own open failing.
 */
static int check_path(const struct option_ctx *c, const config_setting_t *s,
		      const struct plugin_option_value *v)
{
	uint32_t flags = v->option->flags;
	struct stat st;
	char *copy, *slash;
	const char *folder;
	size_t n;
	int rc = 0;

	if (v->option->type != EMBER_OPTION_PATH || !v->str)
		return 0;
	if (flags & EMBER_OPTION_PATH_EXISTS)
		return stat(v->str, &st) ? path_refused(c, s, v, NULL) : 0;
	if (!(flags & EMBER_OPTION_PATH_PARENT_EXISTS))
		return 0;
	/* The folder part: "a/b" and "a/b/" live in "a", "b" in ".", "/b" in "/". */
	copy = strdup(v->str);
	if (!copy)
		return opt_fail(c, s, v->option->name, "out of memory");
	for (n = strlen(copy); n > 1 && copy[n - 1] == '/'; n--)
		copy[n - 1] = '\0';
	slash = strrchr(copy, '/');
	folder = slash ? copy : ".";
	if (slash)
		slash[slash == copy] = '\0'; /* keep the root's own slash */
	if (stat(folder, &st))
		rc = path_refused(c, s, v, folder);
	else if (!S_ISDIR(st.st_mode))
		rc = opt_fail(c, s, v->option->name, "\"%s\"%s: \"%s\" is not a folder", v->str,
			      s ? "" : " (the default)", folder);
	free(copy);
	return rc;
}

static int take_value(const struct option_ctx *c, const config_setting_t *s,
		      struct plugin_option_value *v)
{
	const struct ember_option *o = v->option;
	const char *str;

	switch (o->type) {
	case EMBER_OPTION_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return opt_fail(c, s, o->name, "expected true or false");
		v->num = config_setting_get_bool(s);
		return 0;
	case EMBER_OPTION_STRING:
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return opt_fail(c, s, o->name, "expected a string");
		free(v->str);
		v->str = strdup(config_setting_get_string(s));
		return v->str ? 0 : opt_fail(c, s, o->name, "out of memory");
	case EMBER_OPTION_PATH:
		if (config_setting_type(s) != CONFIG_TYPE_STRING || !*config_setting_get_string(s))
			return opt_fail(c, s, o->name, "expected a path (a non-empty string)");
		free(v->str);
		v->str = path_resolve(c->file, config_setting_get_string(s));
		return v->str ? check_path(c, s, v) : opt_fail(c, s, o->name, "out of memory");
	case EMBER_OPTION_INT:
		if (!is_integer(s))
			return opt_fail(c, s, o->name, "expected an integer");
		v->num = config_setting_get_int64(s);
		break;
	case EMBER_OPTION_SIZE:
		if (is_integer(s)) {
			v->num = config_setting_get_int64(s);
		} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
			str = config_setting_get_string(s);
			if (plugin_option_parse_size(str, &v->num))
				return opt_fail(
				    c, s, o->name,
				    "\"%s\" is not a size (like 65536, \"64K\", \"1M\")", str);
		} else {
			return opt_fail(c, s, o->name, "expected a size (like 65536, \"64K\")");
		}
		break;
	default:
		return opt_fail(c, s, o->name, "option has an unknown type");
	}
	if (v->num < o->min || v->num > o->max)
		return opt_fail(c, s, o->name, "%lld is outside %lld..%lld", (long long)v->num,
				(long long)o->min, (long long)o->max);
	return 0;
}

static int unknown_option(const struct option_ctx *c, const config_setting_t *s, const char *name)
{
	char known[256] = "";
	size_t n = 0;

	for (uint32_t i = 0; i < c->p->desc.option_count && n < sizeof(known); i++)
		n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", i ? ", " : "",
				      c->p->desc.options[i].name);
	return opt_fail(c, s, name, "plugin %s has no such option (it has: %s)", c->p->desc.name,
			c->p->desc.option_count ? known : "none");
}

int plugin_check_options(const struct plugin *p, const struct device_config *dev,
			 const char *config_file, size_t index, struct plugin_options **out,
			 char *err, size_t err_size)
{
	struct option_ctx c = {p, dev, config_file, index, err, err_size};
	struct plugin_options *opts;
	int count = dev->group ? config_setting_length(dev->group) : 0;

	*out = NULL;
	opts = calloc(1, sizeof(*opts));
	if (!opts || (p->desc.option_count &&
		      !(opts->values = calloc(p->desc.option_count, sizeof(*opts->values))))) {
		free(opts);
		return opt_fail(&c, NULL, "plugin", "out of memory");
	}
	opts->count = p->desc.option_count;
	for (size_t i = 0; i < opts->count; i++) {
		struct plugin_option_value *v = &opts->values[i];

		v->option = &p->desc.options[i];
		v->num = v->option->default_int;
		if ((v->option->type == EMBER_OPTION_STRING ||
		     v->option->type == EMBER_OPTION_PATH) &&
		    v->option->default_string && !(v->str = strdup(v->option->default_string)))
			goto fail_oom;
	}
	for (int i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(dev->group, (unsigned)i);
		const char *name = config_setting_name(s);
		struct plugin_option_value *v = NULL;

		if (!name || !strcmp(name, "plugin"))
			continue;
		for (size_t j = 0; j < opts->count && !v; j++)
			if (!strcmp(opts->values[j].option->name, name))
				v = &opts->values[j];
		if (!v) {
			unknown_option(&c, s, name);
			goto fail;
		}
		if (take_value(&c, s, v))
			goto fail;
		v->given = 1;
	}
	for (size_t i = 0; i < opts->count; i++) {
		const struct plugin_option_value *v = &opts->values[i];

		if ((v->option->flags & EMBER_OPTION_REQUIRED) && !v->given) {
			opt_fail(&c, NULL, v->option->name, "missing; plugin %s requires it",
				 p->desc.name);
			goto fail;
		}
		if (!v->given && check_path(&c, NULL, v))
			goto fail;
	}
	*out = opts;
	return 0;
fail_oom:
	opt_fail(&c, NULL, "plugin", "out of memory");
fail:
	plugin_options_free(opts);
	return -1;
}

void plugin_options_free(struct plugin_options *opts)
{
	if (!opts)
		return;
	for (size_t i = 0; i < opts->count; i++)
		free(opts->values[i].str);
	free(opts->values);
	free(opts);
}

const struct plugin_option_value *plugin_option_find(const struct plugin_options *opts,
						     const char *name)
{
	for (size_t i = 0; opts && name && i < opts->count; i++)
		if (!strcmp(opts->values[i].option->name, name))
			return &opts->values[i];
	return NULL;
}
