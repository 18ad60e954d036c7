/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loads the VM description (see config.h and docs/config.md). The file is checked completely
 * here, before anything is created, so that a typo fails at once with a message naming the key,
 * never half-way through building the VM. Only the first error found is reported: the file's
 * top level, then its profile (parsed, top level), then machine, boot, plugin_dirs and devices,
 * in the order docs/config.md lists.
 *
 * A profile is a second libconfig tree. Settings keep their own tree, so every message can name
 * the file and line a value was written on: the error helpers find a setting's file by the tree
 * it belongs to. The resolved devices get groups of their own (merged_lc), copies of the
 * settings with their source lines, because plugins check one group per device.
 */
#include "config.h"

#include "plugin_loader.h"
#include "profile.h"

#include "path.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_CMDLINE_MAX 65535 /* bytes, without the terminating NUL */
#define CONFIG_KEY_MAX	   64	 /* longest dotted key we build: "devices[4294967295].plugin" */

/* What every check needs to report an error. */
struct loader {
	const char *file; /* the VM's file as given, for messages and relative paths */
	const char *text; /* vm_config_load_text: the VM's text (file only names it) */
	struct vm_config *cfg;
	char *err;
	size_t err_size;
};

/* Article and name of a libconfig type, for "expected X, got Y". */
static const char *type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "an unknown type";
	}
}

bool vm_config_in_profile(const struct vm_config *cfg, const config_setting_t *s)
{
	while (s && config_setting_parent(s))
		s = config_setting_parent(s);
	return cfg->profile && s && s == cfg->profile_lc.root;
}

/* The main file of the tree that holds s (the root group too): the profile's, or the VM's. */
static const char *tree_file(const struct vm_config *cfg, const config_setting_t *s)
{
	return vm_config_in_profile(cfg, s) ? cfg->profile : cfg->file;
}

/*
 * Writes the name of the file that held a setting or error: src is libconfig's record of it,
 * NULL for a tree's main file (read from a stream), else an @include name as written, which
 * libconfig resolved against the main file's folder; we name it the same way so the path can be
 * opened.
 */
static int print_file(char *out, size_t size, const char *main_file, const char *src)
{
	const char *slash = strrchr(main_file, '/');

	if (!src)
		return snprintf(out, size, "%s", main_file);
	if (src[0] == '/' || !slash)
		return snprintf(out, size, "%s", src);
	return snprintf(out, size, "%.*s/%s", (int)(slash - main_file), main_file, src);
}

int vm_config_where(const struct vm_config *cfg, const config_setting_t *s, char *out, size_t size)
{
	unsigned line = config_setting_source_line(s) ? config_setting_source_line(s) : 1;
	int n = print_file(out, size, tree_file(cfg, s), config_setting_source_file(s));

	if (n < 0 || (size_t)n >= size)
		return n;
	return n + snprintf(out + n, size - (size_t)n, ":%u", line);
}

/* Appends to ld->err after the n bytes written (maybe more than fit); never overflows. */
__attribute__((format(printf, 3, 0))) static int append(const struct loader *ld, int n,
							const char *fmt, va_list ap)
{
	if (n < 0 || (size_t)n >= ld->err_size)
		return n;
	return n + vsnprintf(ld->err + n, ld->err_size - (size_t)n, fmt, ap);
}

__attribute__((format(printf, 3, 4))) static int append_f(const struct loader *ld, int n,
							  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	n = append(ld, n, fmt, ap);
	va_end(ap);
	return n;
}

/*
 * Writes "FILE:LINE: KEY: message" into ld->err and returns -1. s is the offending setting, or
 * for a missing key the group that should hold it; FILE is the file s is in. A root group has
 * no line: errors about it (a missing top-level section) say line 1.
 */
__attribute__((format(printf, 4, 5))) static int
fail(const struct loader *ld, const config_setting_t *s, const char *key, const char *fmt, ...)
{
	int n = vm_config_where(ld->cfg, s, ld->err, ld->err_size);
	va_list ap;

	n = append_f(ld, n, ": %s: ", key);
	va_start(ap, fmt);
	append(ld, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Refuses any member of group not in allowed (NULL-terminated); expected lists them for humans. */
static int check_known_keys(const struct loader *ld, const config_setting_t *group,
			    const char *prefix, const char *const *allowed, const char *expected)
{
	int count = group ? config_setting_length(group) : 0;

	for (int i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const char *const *a = allowed;

		while (*a && strcmp(*a, name) != 0)
			a++;
		if (!*a) {
			char key[CONFIG_KEY_MAX + 256];

			snprintf(key, sizeof(key), "%s%s", prefix, name);
			return fail(ld, s, key, "unknown key; expected %s", expected);
		}
	}
	return 0;
}

/*
 * A top-level section as the VM sees it: the file's own group and its profile's, either may be
 * missing. A key is the file's when the file's group has it, else the profile's; a key neither
 * has is reported in the file (at its group, else at line 1).
 */
struct section {
	const config_setting_t *own;
	const config_setting_t *tmpl;
	const config_setting_t *root; /* the file's root group */
};

static const config_setting_t *section_member(const struct section *sec, const char *name)
{
	const config_setting_t *s = sec->own ? config_setting_get_member(sec->own, name) : NULL;

	if (!s && sec->tmpl)
		s = config_setting_get_member(sec->tmpl, name);
	return s;
}

static const config_setting_t *section_missing_at(const struct section *sec)
{
	return sec->own ? sec->own : sec->root;
}

static const config_setting_t *profile_root(const struct loader *ld)
{
	return ld->cfg->profile ? config_root_setting(&ld->cfg->profile_lc) : NULL;
}

/*
 * Finds the section name in the file and its profile; at least one must have it. what describes
 * its contents for messages. The profile's part is checked first, as it is read first.
 */
static int get_section(const struct loader *ld, const char *name, const char *what,
		       struct section *sec)
{
	const config_setting_t *proot = profile_root(ld);

	sec->root = config_root_setting(&ld->cfg->lc);
	sec->own = config_setting_get_member(sec->root, name);
	sec->tmpl = proot ? config_setting_get_member(proot, name) : NULL;
	if (sec->tmpl && !config_setting_is_group(sec->tmpl))
		return fail(ld, sec->tmpl, name, "expected a group %s, got %s", what,
			    type_name(sec->tmpl));
	if (sec->own && !config_setting_is_group(sec->own))
		return fail(ld, sec->own, name, "expected a group %s, got %s", what,
			    type_name(sec->own));
	if (!sec->own && !sec->tmpl)
		return fail(ld, sec->root, name, "missing; expected a group %s", what);
	return 0;
}

/* Both parts of a section hold only the keys allowed. */
static int check_section_keys(const struct loader *ld, const struct section *sec,
			      const char *prefix, const char *const *allowed, const char *expected)
{
	return check_known_keys(ld, sec->tmpl, prefix, allowed, expected) ||
	       check_known_keys(ld, sec->own, prefix, allowed, expected);
}

/* Reads the required integer section.name (int or int64) and checks it is within [min, max]. */
static int get_int(const struct loader *ld, const struct section *sec, const char *key,
		   long long min, long long max, long long *out, const config_setting_t **from)
{
	const char *name = strrchr(key, '.') + 1;
	const config_setting_t *s = section_member(sec, name);

	if (!s)
		return fail(ld, section_missing_at(sec), key,
			    "missing; expected an integer between %lld and %lld", min, max);
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return fail(ld, s, key, "expected an integer between %lld and %lld, got %s", min,
			    max, type_name(s));
	*out = config_setting_get_int64(s);
	if (*out < min || *out > max)
		return fail(ld, s, key, "must be between %lld and %lld, got %lld", min, max, *out);
	*from = s;
	return 0;
}

/* machine.memory_backing: optional, "anonymous" (the default), "shared" or "hugetlb". */
static int get_backing(const struct loader *ld, const struct section *sec, struct vm_config *cfg)
{
	static const enum guest_mem_backing kinds[] = {GUEST_MEM_ANON, GUEST_MEM_SHARED,
						       GUEST_MEM_HUGETLB};
	const config_setting_t *s = section_member(sec, "memory_backing");
	const char *v;

	cfg->memory_backing = GUEST_MEM_ANON;
	cfg->from.memory_backing = s;
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, "machine.memory_backing",
			    "expected a string (\"anonymous\", \"shared\" or \"hugetlb\"), got %s",
			    type_name(s));
	v = config_setting_get_string(s);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(v, guest_mem_backing_name(kinds[i]))) {
			cfg->memory_backing = kinds[i];
			return 0;
		}
	return fail(ld, s, "machine.memory_backing",
		    "unknown backing \"%s\"; expected \"anonymous\", \"shared\" or \"hugetlb\"", v);
}

static int load_machine(const struct loader *ld, struct vm_config *cfg)
{
	static const char *const keys[] = {"vcpus", "memory_mib", "memory_backing", NULL};
	struct section machine;
	long long vcpus, mib;

	if (get_section(ld, "machine", "{ vcpus = N; memory_mib = N; }", &machine) ||
	    check_section_keys(ld, &machine, "machine.", keys,
			       "vcpus, memory_mib or memory_backing") ||
	    get_int(ld, &machine, "machine.vcpus", CONFIG_VCPUS_MIN, CONFIG_VCPUS_MAX, &vcpus,
		    &cfg->from.vcpus) ||
	    get_int(ld, &machine, "machine.memory_mib", CONFIG_MEMORY_MIB_MIN,
		    CONFIG_MEMORY_MIB_MAX, &mib, &cfg->from.memory_mib))
		return -1;
	/*
	 * 2 MiB is the unit of guest RAM: the boot page tables map it in 2 MiB pages and the host
	 * may back it with 2 MiB huge pages, so an odd size would leave a partial page.
	 */
	if (mib % 2 != 0)
		return fail(ld, cfg->from.memory_mib, "machine.memory_mib",
			    "must be a multiple of 2 (guest RAM comes in 2 MiB units), got %lld",
			    mib);
	if (get_backing(ld, &machine, cfg))
		return -1;
	cfg->vcpus = (unsigned)vcpus;
	cfg->memory_mib = (uint32_t)mib;
	return 0;
}

/* Reads the optional string section.name into *out, NULL when absent; *setting is its setting. */
static int get_string(const struct loader *ld, const struct section *sec, const char *key,
		      const char *what, const config_setting_t **setting, const char **out)
{
	const char *name = strrchr(key, '.') + 1;
	const config_setting_t *s = section_member(sec, name);

	*setting = s;
	*out = NULL;
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, key, "expected a string (%s), got %s", what, type_name(s));
	*out = config_setting_get_string(s);
	return 0;
}

/*
 * Resolves s's path against the VM file's folder (also for a profile's path: a profile is a
 * template) into *out and checks it names a readable regular file (links followed).
 */
static int get_file(const struct loader *ld, const config_setting_t *s, const char *key,
		    const char *path, char **out)
{
	struct stat st;

	if (path[0] == '\0')
		return fail(ld, s, key, "empty; expected the path of a readable regular file");
	*out = path_resolve(ld->file, path);
	if (!*out)
		return fail(ld, s, key, "out of memory");
	if (stat(*out, &st) != 0 || (S_ISREG(st.st_mode) && access(*out, R_OK) != 0))
		return fail(ld, s, key, "%s: %s; expected a readable regular file", *out,
			    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(ld, s, key, "%s: not a regular file; expected a readable regular file",
			    *out);
	return 0;
}

static int load_boot(const struct loader *ld, struct vm_config *cfg)
{
	static const char *const keys[] = {"kernel", "initrd", "cmdline", NULL};
	struct section boot;
	const config_setting_t *s;
	const char *kernel, *initrd, *cmdline;

	if (get_section(ld, "boot", "{ kernel = \"PATH\"; ... }", &boot) ||
	    check_section_keys(ld, &boot, "boot.", keys, "kernel, initrd or cmdline"))
		return -1;

	if (get_string(ld, &boot, "boot.kernel", "a file path", &s, &kernel))
		return -1;
	if (!kernel)
		return fail(ld, section_missing_at(&boot), "boot.kernel",
			    "missing; expected the path of the kernel image");
	if (get_file(ld, s, "boot.kernel", kernel, &cfg->kernel))
		return -1;
	cfg->from.kernel = s;

	if (get_string(ld, &boot, "boot.initrd", "a file path", &s, &initrd))
		return -1;
	if (initrd && get_file(ld, s, "boot.initrd", initrd, &cfg->initrd))
		return -1;
	cfg->from.initrd = s;

	if (get_string(ld, &boot, "boot.cmdline", "the kernel command line", &s, &cmdline))
		return -1;
	if (cmdline && strlen(cmdline) > CONFIG_CMDLINE_MAX)
		return fail(ld, s, "boot.cmdline",
			    "too long (%zu bytes); expected at most %d bytes", strlen(cmdline),
			    CONFIG_CMDLINE_MAX);
	cfg->from.cmdline = s;
	cfg->cmdline = strdup(cmdline ? cmdline : "");
	if (!cfg->cmdline)
		return fail(ld, section_missing_at(&boot), "boot.cmdline", "out of memory");
	return 0;
}

/* Never echo control bytes into a terminal: the first one of s, or 0. */
static unsigned char control_byte(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return (unsigned char)*s;
	return 0;
}

/* One rule for plugin names, the loader's (plugin_loader.h), so a config it accepts loads. */
static int check_plugin_name(const struct loader *ld, const config_setting_t *s, const char *key,
			     const char *name)
{
	const char *why = plugin_name_error(name);

	if (!why)
		return 0;
	if (control_byte(name))
		return fail(ld, s, key, "invalid byte 0x%02x; %s", control_byte(name), why);
	if (!*name)
		return fail(ld, s, key, "%s", why);
	return fail(ld, s, key, "\"%.64s\": %s", name, why);
}

const char *device_id_error(const char *id)
{
	size_t n = strlen(id);

	if (n == 0)
		return "empty; expected 1 to 32 of a-z, A-Z, 0-9, '-' and '_'";
	if (n > CONFIG_ID_MAX)
		return "too long; expected 1 to 32 of a-z, A-Z, 0-9, '-' and '_'";
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return "expected only a-z, A-Z, 0-9, '-' and '_'";
	return NULL;
}

/* ---- devices ---- */

/* One element of a devices list, the file's or the profile's, as checked. */
struct entry {
	const config_setting_t *group;
	const char *plugin; /* NULL: an override or removal that leaves it to the profile */
	const char *id;	    /* NULL: none */
	bool remove;
	unsigned index;
	struct entry *match; /* the profile's entry of the same id, for the file's entries */
	struct entry *by;    /* the file's entry that overrides or removes this profile entry */
};

struct device_list {
	const config_setting_t *list;
	struct entry *entries;
	unsigned count;
};

/*
 * The optional list `name` of root: *count 0 when absent or empty. libconfig arrays hold only
 * scalars, so an array is accepted too (it is how "[]" and lists of strings are written).
 * Returns -1 with the message when `name` is something else; `shape` completes "expected a list".
 */
static int get_list(const struct loader *ld, const config_setting_t *root, const char *name,
		    const char *shape, const config_setting_t **out, unsigned *count)
{
	const config_setting_t *s = config_setting_get_member(root, name);

	*out = s;
	*count = 0;
	if (!s)
		return 0;
	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return fail(ld, s, name, "expected a list %s, got %s", shape, type_name(s));
	*count = (unsigned)config_setting_length(s);
	return 0;
}

/* "root, scratch" (the profile's ids), for hints; "none" when it has none. */
static void profile_ids(const struct device_list *tmpl, char *out, size_t size)
{
	size_t n = 0;

	snprintf(out, size, "none");
	for (unsigned i = 0; i < tmpl->count && n < size; i++)
		if (tmpl->entries[i].id)
			n += (size_t)snprintf(out + n, size - n, "%s%s", n ? ", " : "",
					      tmpl->entries[i].id);
}

static struct entry *find_id(struct device_list *l, unsigned before, const char *id)
{
	for (unsigned i = 0; i < before; i++)
		if (l->entries[i].id && !strcmp(l->entries[i].id, id))
			return &l->entries[i];
	return NULL;
}

/* The optional id of e's group: valid, and unique within its list. */
static int get_id(const struct loader *ld, struct device_list *l, struct entry *e)
{
	char key[CONFIG_KEY_MAX];
	const config_setting_t *s = config_setting_get_member(e->group, "id");
	const struct entry *other;
	const char *why;

	snprintf(key, sizeof(key), "devices[%u].id", e->index);
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, key, "expected a string (the device's id), got %s",
			    type_name(s));
	e->id = config_setting_get_string(s);
	why = device_id_error(e->id);
	if (why && control_byte(e->id))
		return fail(ld, s, key, "invalid byte 0x%02x; %s", control_byte(e->id), why);
	if (why)
		return fail(ld, s, key, "\"%.40s\": %s", e->id, why);
	other = find_id(l, e->index, e->id);
	if (other)
		return fail(ld, s, key,
			    "\"%s\" already names devices[%u] (line %u); ids are unique", e->id,
			    other->index, config_setting_source_line(other->group));
	return 0;
}

/* remove = true: only in the file, with an id of the profile's, and nothing else but the id. */
static int get_remove(const struct loader *ld, struct device_list *tmpl, struct entry *e,
		      bool in_profile)
{
	char key[CONFIG_KEY_MAX], ids[256];
	const config_setting_t *s = config_setting_get_member(e->group, "remove");
	int count = config_setting_length(e->group);

	snprintf(key, sizeof(key), "devices[%u].remove", e->index);
	if (!s)
		return 0;
	if (in_profile || !ld->cfg->profile)
		return fail(ld, s, key,
			    "only in a VM's file that names a profile, to drop one of the "
			    "profile's devices");
	if (config_setting_type(s) != CONFIG_TYPE_BOOL || !config_setting_get_bool(s))
		return fail(ld, s, key, "expected true (leave remove out to keep the device)");
	if (!e->id)
		return fail(ld, s, key, "needs an id: the profile's device to drop");
	if (!e->match) {
		profile_ids(tmpl, ids, sizeof(ids));
		snprintf(key, sizeof(key), "devices[%u].id", e->index);
		return fail(ld, config_setting_get_member(e->group, "id"), key,
			    "profile %s has no device \"%s\" to remove (its ids: %s)",
			    ld->cfg->profile_name, e->id, ids);
	}
	for (int i = 0; i < count; i++) {
		const config_setting_t *m = config_setting_get_elem(e->group, (unsigned)i);
		const char *name = config_setting_name(m);

		if (strcmp(name, "id") && strcmp(name, "remove")) {
			snprintf(key, sizeof(key), "devices[%u].%s", e->index, name);
			return fail(ld, m, key, "not with remove = true, which takes only the id");
		}
	}
	e->remove = true;
	return 0;
}

/*
 * The plugin of e: required, except in the file's override of a profile's device, where it may
 * be left out but must otherwise be the profile's.
 */
static int get_plugin(const struct loader *ld, struct device_list *tmpl, struct entry *e)
{
	char key[CONFIG_KEY_MAX], ids[256], where[PATH_MAX + 32];
	const config_setting_t *s = config_setting_get_member(e->group, "plugin");

	snprintf(key, sizeof(key), "devices[%u].plugin", e->index);
	if (!s && e->match)
		return 0;
	if (!s && e->id && tmpl) {
		profile_ids(tmpl, ids, sizeof(ids));
		return fail(ld, e->group, key,
			    "missing; expected the plugin name as a string (id \"%s\" is not one "
			    "of profile %s's devices: %s)",
			    e->id, ld->cfg->profile_name, ids);
	}
	if (!s)
		return fail(ld, e->group, key, "missing; expected the plugin name as a string");
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, key, "expected a string (a plugin name), got %s", type_name(s));
	e->plugin = config_setting_get_string(s);
	if (check_plugin_name(ld, s, key, e->plugin))
		return -1;
	if (e->match && strcmp(e->plugin, e->match->plugin)) {
		vm_config_where(ld->cfg, e->match->group, where, sizeof(where));
		return fail(ld, s, key,
			    "\"%s\", but the profile's device \"%s\" (%s) is a %s device; an "
			    "override cannot change the plugin",
			    e->plugin, e->id, where, e->match->plugin);
	}
	return 0;
}

/*
 * Checks every element of one devices list: the profile's (tmpl NULL, in_profile) or the file's
 * (whose ids are matched against tmpl's).
 */
static int load_list(const struct loader *ld, const config_setting_t *root, struct device_list *l,
		     struct device_list *tmpl, bool in_profile)
{
	if (get_list(ld, root, "devices", "( { plugin = \"NAME\"; ... }, ... )", &l->list,
		     &l->count))
		return -1;
	if (l->count == 0)
		return 0;
	l->entries = calloc(l->count, sizeof(*l->entries));
	if (!l->entries)
		return fail(ld, l->list, "devices", "out of memory");
	for (unsigned i = 0; i < l->count; i++) {
		struct entry *e = &l->entries[i];
		char key[CONFIG_KEY_MAX];

		e->group = config_setting_get_elem(l->list, i);
		e->index = i;
		snprintf(key, sizeof(key), "devices[%u]", i);
		if (!config_setting_is_group(e->group))
			return fail(ld, e->group, key,
				    "expected a group { plugin = \"NAME\"; ... }, got %s",
				    type_name(e->group));
		if (get_id(ld, l, e))
			return -1;
		if (e->id && tmpl)
			e->match = find_id(tmpl, tmpl->count, e->id);
		if (get_remove(ld, tmpl, e, in_profile) || (!e->remove && get_plugin(ld, tmpl, e)))
			return -1;
		if (e->match)
			e->match->by = e;
	}
	return 0;
}

/*
 * Copies src (any type, nested groups and lists too) into parent, keeping its source line and
 * file: a plugin's option errors then name the line the value was written on. libconfig 1.5 has
 * no setter for those; they are fields of its public struct, read by config_setting_source_*.
 */
static config_setting_t *copy_setting(config_setting_t *parent, const config_setting_t *src)
{
	int type = config_setting_type(src);
	config_setting_t *dst = config_setting_add(parent, config_setting_name(src), type);
	bool ok = true;

	if (!dst)
		return NULL;
	dst->line = src->line;
	dst->file = src->file;
	switch (type) {
	case CONFIG_TYPE_INT:
		ok = config_setting_set_int(dst, config_setting_get_int(src));
		break;
	case CONFIG_TYPE_INT64:
		ok = config_setting_set_int64(dst, config_setting_get_int64(src));
		break;
	case CONFIG_TYPE_FLOAT:
		ok = config_setting_set_float(dst, config_setting_get_float(src));
		break;
	case CONFIG_TYPE_BOOL:
		ok = config_setting_set_bool(dst, config_setting_get_bool(src));
		break;
	case CONFIG_TYPE_STRING:
		ok = config_setting_set_string(dst, config_setting_get_string(src));
		break;
	default: /* group, list, array */
		for (int i = 0; ok && i < config_setting_length(src); i++)
			ok = copy_setting(dst, config_setting_get_elem(src, (unsigned)i)) != NULL;
		break;
	}
	return ok ? dst : NULL;
}

/* Keys of a device group that are not the plugin's options. */
static bool is_device_key(const char *name)
{
	return !strcmp(name, "plugin") || !strcmp(name, "id") || !strcmp(name, "remove");
}

const config_setting_t *device_config_origin(const struct device_config *dc, const char *name)
{
	const config_setting_t *s =
	    dc->file_group ? config_setting_get_member(dc->file_group, name) : NULL;

	if (!s && dc->profile_group)
		s = config_setting_get_member(dc->profile_group, name);
	return s;
}

/*
 * The resolved group of dc in merged_lc: plugin, the profile's options in its order with the
 * file's values over them, then the file's other options in its order.
 */
static int merge_group(const struct loader *ld, config_setting_t *list, struct device_config *dc)
{
	const config_setting_t *parts[] = {dc->profile_group, dc->file_group};
	config_setting_t *g = config_setting_add(list, NULL, CONFIG_TYPE_GROUP);
	bool ok = g != NULL;

	if (ok) {
		g->line = dc->home->line;
		g->file = dc->home->file;
		ok = copy_setting(g, device_config_origin(dc, "plugin")) != NULL;
	}
	for (size_t p = 0; ok && p < 2; p++) {
		for (int i = 0; ok && parts[p] && i < config_setting_length(parts[p]); i++) {
			const config_setting_t *s = config_setting_get_elem(parts[p], (unsigned)i);
			const char *name = config_setting_name(s);

			/* The file's values were taken in the profile's pass. */
			if (is_device_key(name) || config_setting_get_member(g, name))
				continue;
			ok = copy_setting(g, device_config_origin(dc, name)) != NULL;
		}
	}
	dc->group = g;
	if (!ok)
		return fail(ld, dc->home, "devices", "out of memory");
	return 0;
}

static void set_device(struct device_config *dc, const struct entry *t, const struct entry *f)
{
	dc->profile_group = t ? t->group : NULL;
	dc->profile_index = t ? t->index : 0;
	dc->file_group = f ? f->group : NULL;
	dc->file_index = f ? f->index : 0;
	dc->home = f ? f->group : t->group;
	dc->index = f ? f->index : t->index;
	dc->line = (int)config_setting_source_line(dc->home);
	dc->plugin = t ? t->plugin : f->plugin;
	dc->id = t ? t->id : f->id;
}

/*
 * devices: the profile's list, then the file's, each checked whole; then the resolved list, in
 * the order devices are placed: the profile's devices (less those removed), then the file's
 * additions.
 */
static int load_devices(const struct loader *ld, struct vm_config *cfg)
{
	struct device_list tmpl = {0}, own = {0};
	config_setting_t *list;
	size_t n = 0;
	int rc = -1;

	if (cfg->profile && load_list(ld, profile_root(ld), &tmpl, NULL, true))
		goto out;
	if (load_list(ld, config_root_setting(&cfg->lc), &own, cfg->profile ? &tmpl : NULL, false))
		goto out;
	for (unsigned i = 0; i < tmpl.count; i++)
		n += !tmpl.entries[i].by || !tmpl.entries[i].by->remove;
	for (unsigned i = 0; i < own.count; i++)
		n += !own.entries[i].match;
	rc = 0;
	if (n == 0)
		goto out;
	rc = -1;
	list =
	    config_setting_add(config_root_setting(&cfg->merged_lc), "devices", CONFIG_TYPE_LIST);
	cfg->devices = calloc(n, sizeof(*cfg->devices));
	if (!list || !cfg->devices) {
		fail(ld, config_root_setting(&cfg->lc), "devices", "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < tmpl.count; i++) {
		const struct entry *t = &tmpl.entries[i];

		if (t->by && t->by->remove)
			continue;
		set_device(&cfg->devices[cfg->device_count], t, t->by);
		if (merge_group(ld, list, &cfg->devices[cfg->device_count++]))
			goto out;
	}
	for (unsigned i = 0; i < own.count; i++) {
		if (own.entries[i].match)
			continue;
		set_device(&cfg->devices[cfg->device_count], NULL, &own.entries[i]);
		if (merge_group(ld, list, &cfg->devices[cfg->device_count++]))
			goto out;
	}
	rc = 0;
out:
	free(tmpl.entries);
	free(own.entries);
	return rc;
}

/* ---- files, profile, plugin folders ---- */

/*
 * Parses file into lc; messages name it as given. We open it ourselves so that a missing file
 * reports errno rather than libconfig's generic "file I/O error"; @include paths resolve against
 * the file's folder, like kernel and initrd.
 */
static int parse_file(const struct loader *ld, config_t *lc, const char *file)
{
	const char *slash = strrchr(file, '/');
	struct stat st;
	FILE *f;
	int ok;

	/* The VM's own text, when it was given as text; a profile is always a file. */
	if (ld->text && file == ld->file)
		f = fmemopen((void *)(uintptr_t)ld->text, strlen(ld->text), "r"); /* read only */
	else
		f = fopen(file, "r");
	if (!f) {
		snprintf(ld->err, ld->err_size, "%s: cannot open: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		snprintf(ld->err, ld->err_size, "%s: cannot open: %s", file, strerror(EISDIR));
		return -1;
	}
	if (slash) {
		char *dir = strndup(file, slash == file ? 1 : (size_t)(slash - file));

		if (!dir) {
			fclose(f);
			snprintf(ld->err, ld->err_size, "%s: out of memory", file);
			return -1;
		}
		config_set_include_dir(lc, dir); /* copies dir */
		free(dir);
	}
	ok = config_read(lc, f);
	fclose(f);
	if (!ok) {
		int n = print_file(ld->err, ld->err_size, file, config_error_file(lc));

		append_f(ld, n, ":%d: %s", config_error_line(lc), config_error_text(lc));
		return -1;
	}
	return 0;
}

/*
 * profile = "NAME" (ember's profile folder) or "PATH" (with a '/', relative to the file's
 * folder): found, parsed, and its top level checked. One level: a profile names no profile.
 */
static int load_profile(const struct loader *ld, struct vm_config *cfg)
{
	static const char *const keys[] = {"machine", "boot", "devices", NULL};
	const config_setting_t *s =
	    config_setting_get_member(config_root_setting(&cfg->lc), "profile");
	const config_setting_t *proot, *m;
	const char *name, *why;
	char err[1024];
	struct stat st;

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, "profile",
			    "expected a string (a profile name or a path with a '/'), got %s",
			    type_name(s));
	name = config_setting_get_string(s);
	if (control_byte(name))
		return fail(ld, s, "profile", "invalid byte 0x%02x in the profile's name",
			    control_byte(name));
	cfg->from.profile = s;
	cfg->profile_name = strdup(name);
	if (!cfg->profile_name)
		return fail(ld, s, "profile", "out of memory");
	if (strchr(name, '/')) {
		cfg->profile = path_resolve(ld->file, name);
		if (!cfg->profile)
			return fail(ld, s, "profile", "out of memory");
		if (stat(cfg->profile, &st) != 0)
			return fail(ld, s, "profile", "%s: %s; expected a profile file",
				    cfg->profile, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return fail(ld, s, "profile",
				    "%s: not a regular file; expected a profile file",
				    cfg->profile);
	} else if ((why = profile_name_error(name))) {
		return fail(ld, s, "profile", "\"%.64s\": %s", name, why);
	} else if (profile_find(name, &cfg->profile, err, sizeof(err))) {
		return fail(ld, s, "profile", "%s", err);
	}
	if (parse_file(ld, &cfg->profile_lc, cfg->profile))
		return -1;
	proot = config_root_setting(&cfg->profile_lc);
	if ((m = config_setting_get_member(proot, "profile")))
		return fail(ld, m, "profile",
			    "a profile cannot name another profile (profiles are one level)");
	if ((m = config_setting_get_member(proot, "plugin_dirs")))
		return fail(ld, m, "plugin_dirs",
			    "not in a profile; plugin folders belong to the VM's file");
	return check_known_keys(ld, proot, "", keys, "machine, boot or devices");
}

/* plugin_dirs = [ "DIR", ... ]: folders searched for plugins before ember's own. */
static int load_plugin_dirs(const struct loader *ld, struct vm_config *cfg)
{
	const config_setting_t *dirs;
	unsigned count;

	if (get_list(ld, config_root_setting(&cfg->lc), "plugin_dirs",
		     "of folders [ \"DIR\", ... ]", &dirs, &count))
		return -1;
	if (count == 0)
		return 0;
	cfg->plugin_dirs = calloc(count, sizeof(*cfg->plugin_dirs));
	if (!cfg->plugin_dirs)
		return fail(ld, dirs, "plugin_dirs", "out of memory");
	for (unsigned i = 0; i < count; i++) {
		const config_setting_t *d = config_setting_get_elem(dirs, i);
		char key[32];
		struct stat st;
		char *path;

		snprintf(key, sizeof(key), "plugin_dirs[%u]", i);
		if (config_setting_type(d) != CONFIG_TYPE_STRING || !*config_setting_get_string(d))
			return fail(ld, d, key, "expected the path of a folder, got %s",
				    type_name(d));
		path = path_resolve(ld->file, config_setting_get_string(d));
		if (!path)
			return fail(ld, d, key, "out of memory");
		cfg->plugin_dirs[i] = path;
		cfg->plugin_dir_count = i + 1;
		if (stat(path, &st) != 0)
			return fail(ld, d, key, "%s: %s; expected a folder", path, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return fail(ld, d, key, "%s: not a folder", path);
	}
	return 0;
}

/* sandbox = { seccomp = BOOL; }: optional, the VM's file only (a profile has no such key). */
static int load_sandbox(const struct loader *ld, struct vm_config *cfg)
{
	static const char *const keys[] = {"seccomp", NULL};
	const config_setting_t *g =
	    config_setting_get_member(config_root_setting(&cfg->lc), "sandbox");
	const config_setting_t *s;

	cfg->seccomp = true;
	if (!g)
		return 0;
	if (!config_setting_is_group(g))
		return fail(ld, g, "sandbox", "expected a group { seccomp = BOOL; }, got %s",
			    type_name(g));
	if (check_known_keys(ld, g, "sandbox.", keys, "seccomp"))
		return -1;
	s = config_setting_get_member(g, "seccomp");
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(ld, s, "sandbox.seccomp", "expected true or false, got %s",
			    type_name(s));
	cfg->seccomp = config_setting_get_bool(s) != 0;
	return 0;
}

static int load_all(const struct loader *ld, struct vm_config *cfg)
{
	static const char *const keys[] = {"profile",	  "machine", "boot", "devices",
					   "plugin_dirs", "sandbox", NULL};

	if (parse_file(ld, &cfg->lc, ld->file))
		return -1;
	if (check_known_keys(ld, config_root_setting(&cfg->lc), "", keys,
			     "profile, machine, boot, devices, plugin_dirs or sandbox") ||
	    load_profile(ld, cfg) || load_machine(ld, cfg) || load_boot(ld, cfg) ||
	    load_plugin_dirs(ld, cfg) || load_sandbox(ld, cfg) || load_devices(ld, cfg))
		return -1;
	return 0;
}

static int load(struct vm_config *out, const char *path, const char *text, char *err,
		size_t err_size)
{
	struct loader ld = {
	    .file = path, .text = text, .cfg = out, .err = err, .err_size = err_size};

	memset(out, 0, sizeof(*out));
	if (err_size > 0)
		err[0] = '\0';
	config_init(&out->lc);
	config_init(&out->profile_lc);
	config_init(&out->merged_lc);
	out->file = strdup(path);
	if (!out->file) {
		snprintf(err, err_size, "%s: out of memory", path);
		vm_config_free(out);
		return -1;
	}
	if (load_all(&ld, out)) {
		vm_config_free(out);
		return -1;
	}
	return 0;
}

int vm_config_load(struct vm_config *out, const char *path, char *err, size_t err_size)
{
	return load(out, path, NULL, err, err_size);
}

int vm_config_load_text(struct vm_config *out, const char *name, const char *text, char *err,
			size_t err_size)
{
	return load(out, name, text, err, err_size);
}

/* Safe on a zeroed struct, after a failed load and twice (each leaves file NULL). */
void vm_config_free(struct vm_config *cfg)
{
	if (!cfg->file && !cfg->lc.root)
		return;
	free(cfg->devices);
	for (size_t i = 0; i < cfg->plugin_dir_count; i++)
		free(cfg->plugin_dirs[i]);
	free(cfg->plugin_dirs);
	free(cfg->cmdline);
	free(cfg->initrd);
	free(cfg->kernel);
	free(cfg->profile);
	free(cfg->profile_name);
	free(cfg->file);
	config_destroy(&cfg->merged_lc);
	config_destroy(&cfg->profile_lc);
	config_destroy(&cfg->lc);
	memset(cfg, 0, sizeof(*cfg));
}
