/* SPDX-License-Identifier: Apache-2.0 */
#include "plugin_loader.h"

#include <ember/virtio.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "path.h"
#include "plugin_tables.h"
#include "virtio/virtio_mmio.h"

/*
 * The install folder relative to the executable's folder, and the build tree, from meson
 * (sdk/meson.build generates the header). The fallbacks keep a hand build working.
 */
#if __has_include("ember_build_paths.h")
#include "ember_build_paths.h"
#endif
#ifndef EMBER_PLUGIN_RELDIR
#define EMBER_PLUGIN_RELDIR "../lib/ember/plugins"
#endif

/* Upper bounds that keep a corrupt descriptor from making us read far into the plugin. */
#define STRUCT_SIZE_MAX	 4096u
#define OPTION_COUNT_MAX 256u
#define MMIO_SIZE_MAX	 0x10000u

int plugin_fail(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return -1;
}

/* Linux's copy_struct_from_user: zero-fill a smaller source, refuse a larger non-zero tail. */
int plugin_copy_struct(void *dst, size_t dst_size, const void *src, size_t src_size)
{
	const uint8_t *tail = (const uint8_t *)src + dst_size;

	memset(dst, 0, dst_size);
	memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
	for (size_t i = 0; src_size > dst_size && i < src_size - dst_size; i++)
		if (tail[i])
			return -E2BIG;
	return 0;
}

bool plugin_all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

bool plugin_valid_name(const char *s, size_t max, bool dash_ok, bool underscore_ok)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (dash_ok && c == '-' && i > 0) || (underscore_ok && c == '_')))
			return false;
	}
	return true;
}

const char *plugin_name_error(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0)
		return "empty; expected a plugin name such as \"virtio-rng\"";
	if (n > PLUGIN_NAME_MAX)
		return "longer than 31 characters";
	if (name[0] == '-')
		return "starts with '-'";
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return "expected only the characters a-z, 0-9 and '-'";
	}
	return NULL;
}

static bool is_hex_upper(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* An ACPI ID (4 letters or digits + 4 hex) or a PNP ID (3 letters + 4 hex). */
static bool valid_hid(const char *s)
{
	size_t n = strlen(s), head = n == 8 ? 4 : 3;

	if (n != 7 && n != 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = i < head ? ((c >= 'A' && c <= 'Z') || (n == 8 && c >= '0' && c <= '9'))
				   : is_hex_upper(c);
		if (!ok)
			return false;
	}
	return true;
}

/* The flag bits an option may carry, by type. */
static bool option_flags_ok(const struct ember_option *o)
{
	uint32_t path_bits = EMBER_OPTION_PATH_EXISTS | EMBER_OPTION_PATH_PARENT_EXISTS;

	if (o->flags & ~(EMBER_OPTION_REQUIRED | path_bits))
		return false;
	if (o->flags & path_bits)
		return o->type == EMBER_OPTION_PATH && (o->flags & path_bits) != path_bits;
	return true;
}

int plugin_copy_option_table(const char *path, const char *what, const void *table, uint32_t count,
			     uint32_t stride, struct ember_option **out, char *err, size_t size)
{
	const uint8_t *src = table;
	struct ember_option *opts;

	*out = NULL;
	if (count == 0)
		return 0;
	if (count > OPTION_COUNT_MAX || !table ||
	    stride < offsetof(struct ember_option, reserved) || stride > STRUCT_SIZE_MAX)
		return plugin_fail(err, size, "%s: bad %s table (%u entries of %u bytes)", path,
				   what, count, stride);
	opts = calloc(count, sizeof(*opts));
	if (!opts)
		return plugin_fail(err, size, "%s: out of memory", path);
	for (uint32_t i = 0; i < count; i++) {
		struct ember_option *o = &opts[i];
		const char *why = NULL;

		if (plugin_copy_struct(o, sizeof(*o), src + (size_t)i * stride, stride))
			why = "has non-zero fields this ember does not know";
		else if (!plugin_valid_name(o->name, 31, false, true) || !strcmp(o->name, "plugin"))
			why = "has a bad name (want [a-z0-9_], 1..31 chars, not \"plugin\")";
		else if (o->type < EMBER_OPTION_INT || o->type > EMBER_OPTION_PATH)
			why = "has an unknown type";
		else if (o->reserved0 || !plugin_all_zero(o->reserved, sizeof(o->reserved)))
			why = "has reserved fields set";
		else if (!option_flags_ok(o))
			why =
			    "has unknown flags, or path flags on a non-path option or both of them";
		else if ((o->type == EMBER_OPTION_INT || o->type == EMBER_OPTION_SIZE) &&
			 (o->min > o->max || (o->type == EMBER_OPTION_SIZE && o->min < 0) ||
			  (!(o->flags & EMBER_OPTION_REQUIRED) &&
			   (o->default_int < o->min || o->default_int > o->max))))
			why = "has a default outside min..max, or min > max";
		else if (o->type == EMBER_OPTION_BOOL && (o->default_int & ~1))
			why = "has a bool default other than 0 or 1";
		for (uint32_t j = 0; !why && j < i; j++)
			if (!strcmp(opts[j].name, o->name))
				why = "is documented twice";
		if (why) {
			plugin_fail(err, size, "%s: %s %u (%s) %s", path, what, i,
				    o->name && strlen(o->name) < 64 ? o->name : "?", why);
			free(opts);
			return -1;
		}
	}
	*out = opts;
	return 0;
}

static int check_options(struct plugin *p, char *err, size_t size)
{
	struct ember_plugin_desc *d = &p->desc;

	if (plugin_copy_option_table(p->path, "option", d->options, d->option_count, d->option_size,
				     &p->options, err, size))
		return -1;
	d->options = p->options;
	d->option_size = sizeof(struct ember_option);
	return 0;
}

static int check_ops(struct plugin *p, char *err, size_t size)
{
	const struct ember_device_ops *src = p->desc.ops;
	struct ember_device_ops *o = &p->ops;

	if (!src)
		return plugin_fail(err, size, "%s: descriptor has no ops table", p->path);
	if (src->struct_size < offsetof(struct ember_device_ops, reserved) ||
	    src->struct_size > STRUCT_SIZE_MAX)
		return plugin_fail(err, size, "%s: ops table size %u is not valid", p->path,
				   src->struct_size);
	if (plugin_copy_struct(o, sizeof(*o), src, src->struct_size))
		return plugin_fail(
		    err, size,
		    "%s: ops table of %u bytes has non-zero entries beyond the %zu this "
		    "ember knows",
		    p->path, src->struct_size, sizeof(*o));
	if (o->reserved0 || !plugin_all_zero(o->reserved, sizeof(o->reserved)))
		return plugin_fail(err, size, "%s: ops table has reserved entries set", p->path);
	if (o->save || o->restore)
		return plugin_fail(
		    err, size,
		    "%s: ops table sets save/restore, which this ember (ABI %u.%u) does not "
		    "call yet (snapshots)",
		    p->path, EMBER_ABI_MAJOR, EMBER_ABI_MINOR);
	if (!o->control != !p->desc.control_count)
		return plugin_fail(err, size,
				   "%s: ops.control and the descriptor's controls go together",
				   p->path);
	if (!o->metrics_read != !p->desc.metric_count)
		return plugin_fail(err, size,
				   "%s: ops.metrics_read and the descriptor's metrics go together",
				   p->path);
	if (!o->create || !o->destroy)
		return plugin_fail(err, size, "%s: ops table lacks create or destroy", p->path);
	if (p->desc.kind == EMBER_DEVICE_VIRTIO && !o->queue_notify)
		return plugin_fail(err, size, "%s: virtio device without queue_notify", p->path);
	/* A device without registers (mmio_size 0, ABI 1.2) has nothing to decode. */
	if (p->desc.kind == EMBER_DEVICE_MMIO && p->desc.mmio_size && !o->mmio_read &&
	    !o->mmio_write)
		return plugin_fail(err, size, "%s: MMIO device without mmio_read or mmio_write",
				   p->path);
	o->struct_size = sizeof(*o);
	p->desc.ops = o;
	return 0;
}

static int check_kind(struct plugin *p, char *err, size_t size)
{
	const struct ember_plugin_desc *d = &p->desc;
	uint32_t qmax = d->virtio_queue_max_size;

	if (d->kind == EMBER_DEVICE_VIRTIO) {
		if (d->virtio_device_id == 0 || d->virtio_queue_count == 0 ||
		    d->virtio_queue_count > EMBER_VIRTIO_MAX_QUEUES || qmax == 0 ||
		    qmax > EMBER_VIRTIO_MAX_QUEUE_SIZE || (qmax & (qmax - 1)) ||
		    d->virtio_config_size > VIRTIO_MMIO_CONFIG_MAX || d->mmio_size || d->acpi_hid ||
		    d->acpi_cid || d->acpi_resources)
			return plugin_fail(
			    err, size,
			    "%s: bad virtio fields (device id %u, %u queues of at most %u, "
			    "config %u bytes; mmio_size and the acpi fields must be unset)",
			    p->path, d->virtio_device_id, d->virtio_queue_count, qmax,
			    d->virtio_config_size);
		return 0;
	}
	if (d->kind == EMBER_DEVICE_MMIO) {
		/* Without registers (1.2) the device needs resources that do not include them. */
		bool windowless = d->mmio_size == 0 && d->acpi_resources &&
				  !(d->acpi_resources & EMBER_ACPI_RES_MMIO);

		if ((d->mmio_size == 0 && !windowless) || d->mmio_size > MMIO_SIZE_MAX ||
		    d->virtio_device_id || d->virtio_queue_count || qmax || d->virtio_config_size)
			return plugin_fail(
			    err, size,
			    "%s: bad MMIO fields (mmio_size %u, want 1..%u, or 0 with ACPI "
			    "resources that list no window; virtio fields must be zero)",
			    p->path, d->mmio_size, MMIO_SIZE_MAX);
		if (d->acpi_hid && !valid_hid(d->acpi_hid))
			return plugin_fail(err, size, "%s: acpi_hid is not an ACPI or PNP id",
					   p->path);
		return plugin_check_acpi(p, err, size);
	}
	return plugin_fail(err, size, "%s: unknown device kind %u", p->path, d->kind);
}

/* Negotiation first (its three words never move), then the descriptor's shape. */
static int check_desc(struct plugin *p, const struct ember_plugin_desc *src, char *err, size_t size)
{
	struct ember_plugin_desc *d = &p->desc;

	if (src->abi_major != EMBER_ABI_MAJOR)
		return plugin_fail(
		    err, size,
		    "%s: built for ember device ABI %u.%u, this ember has ABI %u.%u (the "
		    "major must match)",
		    p->path, src->abi_major, src->abi_minor_required, EMBER_ABI_MAJOR,
		    EMBER_ABI_MINOR);
	if (src->abi_minor_required > EMBER_ABI_MINOR)
		return plugin_fail(
		    err, size,
		    "%s: requires ember device ABI %u.%u or newer, this ember has ABI %u.%u",
		    p->path, src->abi_major, src->abi_minor_required, EMBER_ABI_MAJOR,
		    EMBER_ABI_MINOR);
	if (src->struct_size < offsetof(struct ember_plugin_desc, reserved) ||
	    src->struct_size > STRUCT_SIZE_MAX)
		return plugin_fail(err, size, "%s: descriptor size %u is not valid", p->path,
				   src->struct_size);
	if (plugin_copy_struct(d, sizeof(*d), src, src->struct_size))
		return plugin_fail(
		    err, size,
		    "%s: descriptor of %u bytes has non-zero fields beyond the %zu this "
		    "ember (ABI %u.%u) knows",
		    p->path, src->struct_size, sizeof(*d), EMBER_ABI_MAJOR, EMBER_ABI_MINOR);
	d->struct_size = sizeof(*d);
	if (d->reserved0 || !plugin_all_zero(d->reserved, sizeof(d->reserved)) ||
	    (d->flags & ~EMBER_DESC_F_IRQ) || (d->kind != EMBER_DEVICE_MMIO && d->flags))
		return plugin_fail(err, size, "%s: descriptor has reserved fields or flags set",
				   p->path);
	if (plugin_name_error(d->name))
		return plugin_fail(err, size, "%s: plugin name \"%.64s\": %s", p->path,
				   d->name ? d->name : "", plugin_name_error(d->name));
	if (!d->vendor || !d->version)
		return plugin_fail(err, size, "%s: descriptor lacks vendor or version", p->path);
	if (d->reserved1 || !plugin_all_zero(d->reserved2, sizeof(d->reserved2)))
		return plugin_fail(err, size, "%s: descriptor has reserved fields set", p->path);
	if (check_kind(p, err, size) || check_ops(p, err, size) || check_options(p, err, size) ||
	    plugin_check_tables(p, err, size))
		return -1;
	return 0;
}

int plugin_load_file(const char *path, struct plugin **out, char *err, size_t err_size)
{
	const struct ember_plugin_desc *src;
	ember_plugin_entry_fn entry;
	struct plugin *p;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(path))) {
		free(p);
		return plugin_fail(err, err_size, "%s: out of memory", path);
	}
	/* LOCAL: plugins never see each other's symbols; NOW: an unresolved symbol fails here. */
	p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle) {
		plugin_fail(err, err_size, "%s: cannot load: %s", path, dlerror());
		goto fail;
	}
	*(void **)(&entry) = dlsym(p->handle, EMBER_PLUGIN_ENTRY_NAME);
	if (!entry) {
		plugin_fail(err, err_size, "%s: not an ember plugin (no %s symbol)", path,
			    EMBER_PLUGIN_ENTRY_NAME);
		goto fail;
	}
	src = entry(EMBER_ABI_MAJOR, EMBER_ABI_MINOR);
	if (!src) {
		plugin_fail(err, err_size, "%s: the plugin declined ember device ABI %u.%u", path,
			    EMBER_ABI_MAJOR, EMBER_ABI_MINOR);
		goto fail;
	}
	if (check_desc(p, src, err, err_size))
		goto fail;
	*out = p;
	return 0;
fail:
	plugin_unload(p);
	return -1;
}

void plugin_unload(struct plugin *p)
{
	if (!p)
		return;
	if (p->handle)
		dlclose(p->handle);
	plugin_free_tables(p);
	free(p->options);
	free(p->path);
	free(p);
}

int plugin_install_dir(char *out, size_t size)
{
	char dir[PATH_MAX];
	int w;

	if (path_exe_dir(dir, sizeof(dir)))
		return -1;
	w = snprintf(out, size, "%s/%s", dir, EMBER_PLUGIN_RELDIR);
	return w < 0 || (size_t)w >= size ? -1 : 0;
}

/* The build tree's plugins/, for an ember (or a test) that runs from that build tree. */
static int build_tree_dir(char *out, size_t size)
{
#ifdef EMBER_BUILD_ROOT_DIR
	char dir[PATH_MAX];
	size_t root = strlen(EMBER_BUILD_ROOT_DIR);
	int w;

	if (path_exe_dir(dir, sizeof(dir)) || strncmp(dir, EMBER_BUILD_ROOT_DIR, root) ||
	    (dir[root] != '/' && dir[root] != '\0'))
		return -1;
	w = snprintf(out, size, "%s/plugins", EMBER_BUILD_ROOT_DIR);
	return w < 0 || (size_t)w >= size ? -1 : 0;
#else
	(void)out;
	(void)size;
	return -1;
#endif
}

struct search_path {
	const char *dirs[64];
	size_t count;
	char install[PATH_MAX];
	char build[PATH_MAX];
};

static void search_path_init(struct search_path *s, const char *const *dirs, size_t ndirs)
{
	s->count = 0;
	for (size_t i = 0; i < ndirs && s->count < EMBER_ARRAY_SIZE(s->dirs) - 2; i++)
		s->dirs[s->count++] = dirs[i];
	if (!plugin_install_dir(s->install, sizeof(s->install)))
		s->dirs[s->count++] = s->install;
	if (!build_tree_dir(s->build, sizeof(s->build)))
		s->dirs[s->count++] = s->build;
}

int plugin_load_by_name(const char *name, const char *const *dirs, size_t ndirs,
			struct plugin **out, char *err, size_t err_size)
{
	struct search_path s;
	char path[PATH_MAX];

	*out = NULL;
	if (plugin_name_error(name))
		return plugin_fail(err, err_size, "plugin name \"%.64s\": %s", name,
				   plugin_name_error(name));
	search_path_init(&s, dirs, ndirs);
	for (size_t i = 0; i < s.count; i++) {
		int w = snprintf(path, sizeof(path), "%s/%s.so", s.dirs[i], name);

		if (w < 0 || (size_t)w >= sizeof(path) || access(path, F_OK))
			continue;
		if (plugin_load_file(path, out, err, err_size))
			return -1;
		if (strcmp((*out)->desc.name, name)) {
			plugin_fail(err, err_size, "%s: descriptor names plugin \"%s\", not \"%s\"",
				    path, (*out)->desc.name, name);
			plugin_unload(*out);
			*out = NULL;
			return -1;
		}
		return 0;
	}
	return plugin_fail(
	    err, err_size, "plugin \"%s\" not found (looked for %s.so in %zu folders%s%s)", name,
	    name, s.count, s.count ? ", the last " : "", s.count ? s.dirs[s.count - 1] : "");
}

static int is_plugin_file(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 3 && !strcmp(e->d_name + n - 3, ".so");
}

size_t plugin_list(const char *const *dirs, size_t ndirs, plugin_list_fn fn, void *arg)
{
	struct search_path s;
	size_t seen = 0;

	search_path_init(&s, dirs, ndirs);
	for (size_t i = 0; i < s.count; i++) {
		struct dirent **names;
		int n = scandir(s.dirs[i], &names, is_plugin_file, alphasort);

		for (int j = 0; j < n; j++) {
			char path[PATH_MAX], err[512];
			struct plugin *p = NULL;
			int w = snprintf(path, sizeof(path), "%s/%s", s.dirs[i], names[j]->d_name);

			if (w > 0 && (size_t)w < sizeof(path)) {
				int rc = plugin_load_file(path, &p, err, sizeof(err));

				fn(arg, path, rc ? NULL : p, rc ? err : NULL);
				plugin_unload(p);
				seen++;
			}
			free(names[j]);
		}
		if (n >= 0)
			free(names);
	}
	return seen;
}

static const char *option_type_name(uint32_t type)
{
	switch (type) {
	case EMBER_OPTION_INT:
		return "int";
	case EMBER_OPTION_BOOL:
		return "bool";
	case EMBER_OPTION_STRING:
		return "string";
	case EMBER_OPTION_SIZE:
		return "size";
	case EMBER_OPTION_PATH:
		return "path";
	default:
		return "?";
	}
}

void plugin_describe(const struct plugin *p, FILE *out)
{
	const struct ember_plugin_desc *d = &p->desc;

	fprintf(out, "%s %s (%s), ABI %u.%u, ", d->name, d->version, d->vendor, d->abi_major,
		d->abi_minor_required);
	if (d->kind == EMBER_DEVICE_VIRTIO)
		fprintf(out, "virtio device %u, %u queue(s)\n", d->virtio_device_id,
			d->virtio_queue_count);
	else
		fprintf(out, "MMIO device, %u bytes%s%s\n", d->mmio_size,
			d->acpi_hid ? ", ACPI " : "", d->acpi_hid ? d->acpi_hid : "");
	if (d->description)
		fprintf(out, "  %s\n", d->description);
	for (uint32_t i = 0; i < d->option_count; i++) {
		const struct ember_option *o = &d->options[i];

		fprintf(out, "  %s (%s", o->name, option_type_name(o->type));
		if (o->flags & EMBER_OPTION_REQUIRED)
			fprintf(out, ", required");
		else if (o->type == EMBER_OPTION_STRING || o->type == EMBER_OPTION_PATH)
			fprintf(out, ", default \"%s\"",
				o->default_string ? o->default_string : "");
		else if (o->type == EMBER_OPTION_BOOL)
			fprintf(out, ", default %s", o->default_int ? "true" : "false");
		else
			fprintf(out, ", default %lld", (long long)o->default_int);
		if (o->type == EMBER_OPTION_INT || o->type == EMBER_OPTION_SIZE)
			fprintf(out, ", %lld..%lld", (long long)o->min, (long long)o->max);
		fprintf(out, "): %s\n", o->help ? o->help : "");
	}
	for (uint32_t i = 0; i < d->control_count; i++) {
		const struct ember_control *c = &d->controls[i];

		fprintf(out, "  control %s(", c->name);
		for (uint32_t j = 0; j < c->param_count; j++)
			fprintf(out, "%s%s %s%s", j ? ", " : "",
				option_type_name(c->params[j].type), c->params[j].name,
				c->params[j].flags & EMBER_OPTION_REQUIRED ? "" : "?");
		fprintf(out, "): %s\n", c->help ? c->help : "");
	}
	for (uint32_t i = 0; i < d->metric_count; i++) {
		const struct ember_metric *m = &d->metrics[i];

		fprintf(out, "  metric %s (%s%s%s): %s\n", m->name,
			m->kind == EMBER_METRIC_COUNTER ? "counter" : "gauge", m->unit ? ", " : "",
			m->unit ? m->unit : "", m->help ? m->help : "");
	}
	if (d->syscall_count) {
		fprintf(out, "  syscalls beyond ember's baseline (/threads: vCPU, loop, own):");
		for (uint32_t i = 0; i < d->syscall_count; i++) {
			const struct ember_syscall_rule *r = &d->syscalls[i];

			/* name, "+args" when constrained, and where: v(CPU), l(oop), o(wn). */
			fprintf(out, " %s%s/%s%s%s", r->name, r->arg_count ? "+args" : "",
				r->threads & EMBER_THREAD_VCPU ? "v" : "",
				r->threads & EMBER_THREAD_EVENT_LOOP ? "l" : "",
				r->threads & EMBER_THREAD_OWN ? "o" : "");
		}
		fprintf(out, "\n");
	}
}
