/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loads the VM description (see config.h and docs/config.md). The file is checked completely
 * here, before anything is created, so that a typo fails at once with a message naming the key,
 * never half-way through building the VM. Only the first error found is reported: sections are
 * checked in the order top level, machine, boot, devices, and keys within a section in the
 * order listed in docs/config.md.
 */
#include "config.h"

#include "plugin_loader.h"

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
	const char *file; /* the path as given, for messages */
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

/*
 * Writes the name of the file that held a setting or error: src is libconfig's record of it,
 * NULL for the main file (read from a stream), else an @include name as written, which libconfig
 * resolved against the main file's folder; we name it the same way so the path can be opened.
 */
static int print_file(const struct loader *ld, const char *src)
{
	const char *slash = strrchr(ld->file, '/');

	if (!src)
		return snprintf(ld->err, ld->err_size, "%s", ld->file);
	if (src[0] == '/' || !slash)
		return snprintf(ld->err, ld->err_size, "%s", src);
	return snprintf(ld->err, ld->err_size, "%.*s/%s", (int)(slash - ld->file), ld->file, src);
}

/* Appends to ld->err what print_file wrote (n bytes, maybe more than fit); never overflows. */
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
 * for a missing key the group that should hold it. The root group has no line: errors about it
 * (a missing top-level section) say line 1.
 */
__attribute__((format(printf, 4, 5))) static int
fail(const struct loader *ld, const config_setting_t *s, const char *key, const char *fmt, ...)
{
	unsigned line = config_setting_source_line(s) ? config_setting_source_line(s) : 1;
	int n = print_file(ld, config_setting_source_file(s));
	va_list ap;

	n = append_f(ld, n, ":%u: %s: ", line, key);
	va_start(ap, fmt);
	append(ld, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Refuses any member of group not in allowed (NULL-terminated); expected lists them for humans. */
static int check_known_keys(const struct loader *ld, const config_setting_t *group,
			    const char *prefix, const char *const *allowed, const char *expected)
{
	int count = config_setting_length(group);

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

/* Finds the required group name at the top level; what describes its contents for messages. */
static int get_group(const struct loader *ld, const config_setting_t *root, const char *name,
		     const char *what, const config_setting_t **out)
{
	const config_setting_t *s = config_setting_get_member(root, name);

	if (!s)
		return fail(ld, root, name, "missing; expected a group %s", what);
	if (!config_setting_is_group(s))
		return fail(ld, s, name, "expected a group %s, got %s", what, type_name(s));
	*out = s;
	return 0;
}

/* Reads the required integer group.name (int or int64) and checks it is within [min, max]. */
static int get_int(const struct loader *ld, const config_setting_t *group, const char *key,
		   long long min, long long max, long long *out)
{
	const char *name = strrchr(key, '.') + 1;
	const config_setting_t *s = config_setting_get_member(group, name);

	if (!s)
		return fail(ld, group, key, "missing; expected an integer between %lld and %lld",
			    min, max);
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return fail(ld, s, key, "expected an integer between %lld and %lld, got %s", min,
			    max, type_name(s));
	*out = config_setting_get_int64(s);
	if (*out < min || *out > max)
		return fail(ld, s, key, "must be between %lld and %lld, got %lld", min, max, *out);
	return 0;
}

static int load_machine(const struct loader *ld, const config_setting_t *root,
			struct vm_config *cfg)
{
	static const char *const keys[] = {"vcpus", "memory_mib", NULL};
	const config_setting_t *machine;
	long long vcpus, mib;

	if (get_group(ld, root, "machine", "{ vcpus = N; memory_mib = N; }", &machine) ||
	    check_known_keys(ld, machine, "machine.", keys, "vcpus or memory_mib") ||
	    get_int(ld, machine, "machine.vcpus", CONFIG_VCPUS_MIN, CONFIG_VCPUS_MAX, &vcpus) ||
	    get_int(ld, machine, "machine.memory_mib", CONFIG_MEMORY_MIB_MIN, CONFIG_MEMORY_MIB_MAX,
		    &mib))
		return -1;
	/*
	 * 2 MiB is the unit of guest RAM: the boot page tables map it in 2 MiB pages and the host
	 * may back it with 2 MiB huge pages, so an odd size would leave a partial page.
	 */
	if (mib % 2 != 0)
		return fail(
		    ld, config_setting_get_member(machine, "memory_mib"), "machine.memory_mib",
		    "must be a multiple of 2 (guest RAM comes in 2 MiB units), got %lld", mib);
	cfg->vcpus = (unsigned)vcpus;
	cfg->memory_mib = (uint32_t)mib;
	return 0;
}

/* Reads the optional string group.name into *out, NULL when absent; *setting is its setting. */
static int get_string(const struct loader *ld, const config_setting_t *group, const char *key,
		      const char *what, const config_setting_t **setting, const char **out)
{
	const char *name = strrchr(key, '.') + 1;
	const config_setting_t *s = config_setting_get_member(group, name);

	*setting = s;
	*out = NULL;
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, key, "expected a string (%s), got %s", what, type_name(s));
	*out = config_setting_get_string(s);
	return 0;
}

/* Resolves s's path into *out and checks it names a readable regular file (links followed). */
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

static int load_boot(const struct loader *ld, const config_setting_t *root, struct vm_config *cfg)
{
	static const char *const keys[] = {"kernel", "initrd", "cmdline", NULL};
	const config_setting_t *boot, *s;
	const char *kernel, *initrd, *cmdline;

	if (get_group(ld, root, "boot", "{ kernel = \"PATH\"; ... }", &boot) ||
	    check_known_keys(ld, boot, "boot.", keys, "kernel, initrd or cmdline"))
		return -1;

	if (get_string(ld, boot, "boot.kernel", "a file path", &s, &kernel))
		return -1;
	if (!kernel)
		return fail(ld, boot, "boot.kernel",
			    "missing; expected the path of the kernel image");
	if (get_file(ld, s, "boot.kernel", kernel, &cfg->kernel))
		return -1;

	if (get_string(ld, boot, "boot.initrd", "a file path", &s, &initrd))
		return -1;
	if (initrd && get_file(ld, s, "boot.initrd", initrd, &cfg->initrd))
		return -1;

	if (get_string(ld, boot, "boot.cmdline", "the kernel command line", &s, &cmdline))
		return -1;
	if (cmdline && strlen(cmdline) > CONFIG_CMDLINE_MAX)
		return fail(ld, s, "boot.cmdline",
			    "too long (%zu bytes); expected at most %d bytes", strlen(cmdline),
			    CONFIG_CMDLINE_MAX);
	cfg->cmdline = strdup(cmdline ? cmdline : "");
	if (!cfg->cmdline)
		return fail(ld, boot, "boot.cmdline", "out of memory");
	return 0;
}

/* One rule for plugin names, the loader's (plugin_loader.h), so a config it accepts loads. */
static int check_plugin_name(const struct loader *ld, const config_setting_t *s, const char *key,
			     const char *name)
{
	const char *why = plugin_name_error(name);

	if (!why)
		return 0;
	/* Never echo control bytes into a terminal. */
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return fail(ld, s, key, "invalid byte 0x%02x; %s", (unsigned char)*p, why);
	if (!*name)
		return fail(ld, s, key, "%s", why);
	return fail(ld, s, key, "\"%.64s\": %s", name, why);
}

/* Collects one element of devices: only the plugin name is checked here, the rest by the plugin. */
static int load_device(const struct loader *ld, const config_setting_t *dev, unsigned index,
		       struct device_config *out)
{
	char key[CONFIG_KEY_MAX];
	const config_setting_t *s;
	const char *plugin;

	snprintf(key, sizeof(key), "devices[%u]", index);
	if (!config_setting_is_group(dev))
		return fail(ld, dev, key, "expected a group { plugin = \"NAME\"; ... }, got %s",
			    type_name(dev));
	snprintf(key, sizeof(key), "devices[%u].plugin", index);
	if (get_string(ld, dev, key, "a plugin name", &s, &plugin))
		return -1;
	if (!plugin)
		return fail(ld, dev, key, "missing; expected the plugin name as a string");
	if (check_plugin_name(ld, s, key, plugin))
		return -1;
	out->plugin = plugin;
	out->line = config_setting_source_line(dev);
	out->group = dev;
	return 0;
}

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

static int load_devices(const struct loader *ld, const config_setting_t *root,
			struct vm_config *cfg)
{
	const config_setting_t *devices;
	unsigned count;

	if (get_list(ld, root, "devices", "( { plugin = \"NAME\"; ... }, ... )", &devices, &count))
		return -1;
	if (count == 0)
		return 0;
	cfg->devices = calloc(count, sizeof(*cfg->devices));
	if (!cfg->devices)
		return fail(ld, devices, "devices", "out of memory");
	for (unsigned i = 0; i < count; i++) {
		if (load_device(ld, config_setting_get_elem(devices, i), i, &cfg->devices[i]))
			return -1;
		cfg->device_count = i + 1;
	}
	return 0;
}

/*
 * Parses the file. We open it ourselves so that a missing file reports errno rather than
 * libconfig's generic "file I/O error"; @include paths resolve against the file's folder, like
 * kernel and initrd.
 */
static int parse_file(const struct loader *ld, config_t *lc)
{
	const char *slash = strrchr(ld->file, '/');
	struct stat st;
	FILE *f;
	int ok;

	f = fopen(ld->file, "r");
	if (!f) {
		snprintf(ld->err, ld->err_size, "%s: cannot open: %s", ld->file, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		snprintf(ld->err, ld->err_size, "%s: cannot open: %s", ld->file, strerror(EISDIR));
		return -1;
	}
	if (slash) {
		char *dir = strndup(ld->file, slash == ld->file ? 1 : (size_t)(slash - ld->file));

		if (!dir) {
			fclose(f);
			snprintf(ld->err, ld->err_size, "%s: out of memory", ld->file);
			return -1;
		}
		config_set_include_dir(lc, dir); /* copies dir */
		free(dir);
	}
	ok = config_read(lc, f);
	fclose(f);
	if (!ok) {
		int n = print_file(ld, config_error_file(lc));

		append_f(ld, n, ":%d: %s", config_error_line(lc), config_error_text(lc));
		return -1;
	}
	return 0;
}

/* plugin_dirs = [ "DIR", ... ]: folders searched for plugins before ember's own. */
static int load_plugin_dirs(const struct loader *ld, const config_setting_t *root,
			    struct vm_config *cfg)
{
	const config_setting_t *dirs;
	unsigned count;

	if (get_list(ld, root, "plugin_dirs", "of folders [ \"DIR\", ... ]", &dirs, &count))
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

static int load_all(const struct loader *ld, struct vm_config *cfg)
{
	static const char *const keys[] = {"machine", "boot", "devices", "plugin_dirs", NULL};
	const config_setting_t *root;

	if (parse_file(ld, &cfg->lc))
		return -1;
	root = config_root_setting(&cfg->lc);
	if (check_known_keys(ld, root, "", keys, "machine, boot, devices or plugin_dirs") ||
	    load_machine(ld, root, cfg) || load_boot(ld, root, cfg) ||
	    load_plugin_dirs(ld, root, cfg) || load_devices(ld, root, cfg))
		return -1;
	return 0;
}

int vm_config_load(struct vm_config *out, const char *path, char *err, size_t err_size)
{
	struct loader ld = {.file = path, .err = err, .err_size = err_size};

	memset(out, 0, sizeof(*out));
	if (err_size > 0)
		err[0] = '\0';
	config_init(&out->lc);
	out->file = strdup(path);
	if (!out->file) {
		snprintf(err, err_size, "%s: out of memory", path);
		config_destroy(&out->lc);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if (load_all(&ld, out)) {
		vm_config_free(out);
		return -1;
	}
	return 0;
}

/* Safe on a zeroed struct and after a failed load (both leave file NULL). */
void vm_config_free(struct vm_config *cfg)
{
	if (!cfg->file)
		return;
	free(cfg->devices);
	for (size_t i = 0; i < cfg->plugin_dir_count; i++)
		free(cfg->plugin_dirs[i]);
	free(cfg->plugin_dirs);
	free(cfg->cmdline);
	free(cfg->initrd);
	free(cfg->kernel);
	free(cfg->file);
	config_destroy(&cfg->lc);
	memset(cfg, 0, sizeof(*cfg));
}
