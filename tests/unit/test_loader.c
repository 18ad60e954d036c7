/* SPDX-License-Identifier: Apache-2.0 */
/* The plugin loader: ABI negotiation, descriptor checks, search order, option validation. */
#include <criterion/criterion.h>
#include <dirent.h>

#define EMBER_STR_(x) #x
#define EMBER_STR(x)  EMBER_STR_(x)
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin_loader.h"

#define TP_DIR	   EMBER_BUILD_ROOT "/tests/unit/plugins"
#define PLUGIN_DIR EMBER_BUILD_ROOT "/plugins"

static char err[512];

static struct plugin *load_ok(const char *file)
{
	struct plugin *p = NULL;

	cr_assert_eq(plugin_load_file(file, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(p);
	return p;
}

static void load_refused(const char *file, const char *const *expect)
{
	struct plugin *p = (struct plugin *)1;

	cr_assert_eq(plugin_load_file(file, &p, err, sizeof(err)), -1, "%s loaded", file);
	cr_assert_null(p);
	cr_assert(strstr(err, file), "message names the file: %s", err);
	for (; *expect; expect++)
		cr_assert(strstr(err, *expect), "\"%s\" lacks \"%s\"", err, *expect);
	cr_assert_null(strchr(err, '\n'), "one line");
}

Test(loader, loads_virtio_rng)
{
	struct plugin *p = load_ok(PLUGIN_DIR "/virtio-rng.so");

	cr_assert_str_eq(p->desc.name, "virtio-rng");
	cr_assert_eq(p->desc.kind, EMBER_DEVICE_VIRTIO);
	cr_assert_eq(p->desc.virtio_device_id, 4);
	cr_assert_eq(p->desc.option_count, 3);
	cr_assert_eq(p->desc.ops, &p->ops, "the core uses its checked copy");
	plugin_unload(p);
}

Test(loader, refuses_wrong_major)
{
	load_refused(TP_DIR "/tp-major2.so",
		     (const char *const[]){"built for ember device ABI 2.0",
					   "has ABI 1." EMBER_STR(EMBER_ABI_MINOR), NULL});
}

Test(loader, refuses_too_new_minor)
{
	load_refused(TP_DIR "/tp-minor99.so",
		     (const char *const[]){"requires ember device ABI 1.99",
					   "has ABI 1." EMBER_STR(EMBER_ABI_MINOR), NULL});
}

Test(loader, refuses_missing_entry)
{
	load_refused(TP_DIR "/tp-noentry.so", (const char *const[]){"no ember_plugin_entry", NULL});
}

Test(loader, refuses_larger_descriptor_with_nonzero_tail)
{
	load_refused(TP_DIR "/tp-bigdesc-nonzero.so",
		     (const char *const[]){"232 bytes", "beyond the 224", NULL});
}

Test(loader, accepts_larger_descriptor_with_zero_tail)
{
	plugin_unload(load_ok(TP_DIR "/tp-bigdesc-zero.so"));
}

Test(loader, refuses_reserved_fields)
{
	load_refused(TP_DIR "/tp-reserved.so", (const char *const[]){"reserved", NULL});
}

Test(loader, refuses_bad_option_table)
{
	load_refused(TP_DIR "/tp-baddefault.so",
		     (const char *const[]){"option 0 (count)", "default outside", NULL});
}

Test(loader, refuses_non_elf_and_missing_files)
{
	char path[] = "/tmp/ember-junk-XXXXXX.so";
	int fd = mkstemps(path, 3);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "junk", 4), 4);
	close(fd);
	load_refused(path, (const char *const[]){"cannot load", NULL});
	unlink(path);
	load_refused("/nonexistent/x.so", (const char *const[]){"cannot load", NULL});
}

Test(loader, search_order_and_names)
{
	char tmp[] = "/tmp/ember-plugins-XXXXXX", link[600];
	const char *dirs[2];
	struct plugin *p;

	cr_assert_not_null(mkdtemp(tmp));
	dirs[0] = tmp;
	dirs[1] = TP_DIR;
	/* Found in the second folder. */
	cr_assert_eq(plugin_load_by_name("tp-good", dirs, 2, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(p->path, TP_DIR "/tp-good.so");
	plugin_unload(p);
	/* The first folder wins. */
	snprintf(link, sizeof(link), "%s/tp-good.so", tmp);
	cr_assert_eq(symlink(TP_DIR "/tp-good.so", link), 0);
	cr_assert_eq(plugin_load_by_name("tp-good", dirs, 2, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(p->path, link);
	plugin_unload(p);
	unlink(link);
	/* A file whose descriptor carries another name is refused. */
	snprintf(link, sizeof(link), "%s/other.so", tmp);
	cr_assert_eq(symlink(TP_DIR "/tp-good.so", link), 0);
	cr_assert_eq(plugin_load_by_name("other", dirs, 2, &p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "names plugin \"tp-good\", not \"other\""), "%s", err);
	unlink(link);
	rmdir(tmp);
	cr_assert_eq(plugin_load_by_name("nope", dirs, 2, &p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "plugin \"nope\" not found"), "%s", err);
	cr_assert_eq(plugin_load_by_name("../etc/x", dirs, 2, &p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "expected only the characters a-z, 0-9 and '-'"), "%s", err);
	cr_assert_eq(plugin_load_by_name("_x", dirs, 2, &p, err, sizeof(err)), -1);
	cr_assert_eq(plugin_load_by_name("-x", dirs, 2, &p, err, sizeof(err)), -1);
	cr_assert(strstr(err, "starts with"), "%s", err);
}

Test(loader, build_tree_is_searched_for_a_build_tree_binary)
{
	struct plugin *p;

	cr_assert_eq(plugin_load_by_name("pvpanic", NULL, 0, &p, err, sizeof(err)), 0, "%s", err);
	plugin_unload(p);
}

Test(loader, install_dir_is_relative_to_the_executable)
{
	char dir[4096];

	cr_assert_eq(plugin_install_dir(dir, sizeof(dir)), 0);
	cr_assert(strstr(dir, EMBER_BUILD_ROOT "/tests/unit/"), "%s", dir);
	cr_assert(strstr(dir, "/ember/plugins"), "%s", dir);
}

Test(loader, sdk_version_matches_pkg_config)
{
	char v[16];

	snprintf(v, sizeof(v), "%d.%d", EMBER_ABI_MAJOR, EMBER_ABI_MINOR);
	cr_assert_str_eq(v, EMBER_SDK_ABI_VERSION, "sdk/meson.build and ember/version.h");
}

struct listing {
	unsigned good, refused;
	bool saw_major2;
};

static void count_listing(void *arg, const char *path, const struct plugin *p, const char *e)
{
	struct listing *l = arg;

	if (p) {
		l->good++;
	} else {
		l->refused++;
		if (strstr(path, "tp-major2") && strstr(e, "ABI 2.0"))
			l->saw_major2 = true;
	}
}

/* The .so files in a folder: the build tree's real plugins, however many there are. */
static size_t count_so(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	cr_assert_not_null(d, "%s", dir);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		n += len > 3 && !strcmp(e->d_name + len - 3, ".so");
	}
	closedir(d);
	return n;
}

Test(loader, listing)
{
	const char *dirs[] = {TP_DIR};
	struct listing l = {0};
	size_t n = plugin_list(dirs, 1, count_listing, &l);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct plugin *p = load_ok(PLUGIN_DIR "/virtio-rng.so");

	/* Every test plugin + the build tree's real ones; at least the 6 broken loader variants
	 * of test_plugin.c are refused (other test plugins have broken variants too). */
	cr_assert_geq(count_so(PLUGIN_DIR), 2);
	cr_assert_geq(count_so(TP_DIR), 9);
	cr_assert_eq(n, count_so(TP_DIR) + count_so(PLUGIN_DIR), "%zu", n);
	cr_assert_geq(l.refused, 6);
	cr_assert(l.saw_major2);
	plugin_describe(p, f);
	fclose(f);
	cr_assert(strstr(text, "virtio-rng 1.0.0 (ember), ABI 1.2, virtio device 4"), "%s", text);
	cr_assert(strstr(text, "request_max_bytes (size, default 65536"), "%s", text);
	free(text);
	plugin_unload(p);
}

/* Options: the device group of a small config against tp-good's (or tp-required's) table. */
static struct plugin *opt_plugin;
static config_t opt_cfg;

static int check(const char *plugin, const char *group_text, struct plugin_options **out)
{
	char text[1024];
	struct device_config dev;

	opt_plugin = load_ok(plugin);
	config_init(&opt_cfg);
	snprintf(text, sizeof(text), "devices = (\n  { plugin = \"x\";\n%s\n  }\n);\n", group_text);
	cr_assert_eq(config_read_string(&opt_cfg, text), CONFIG_TRUE);
	dev.group = config_setting_get_elem(config_lookup(&opt_cfg, "devices"), 0);
	dev.plugin = "x";
	dev.line = config_setting_source_line(dev.group);
	return plugin_check_options(opt_plugin, &dev, "vm.cfg", 0, out, err, sizeof(err));
}

static void opt_fini(void)
{
	config_destroy(&opt_cfg);
	plugin_unload(opt_plugin);
}

static void option_refused(const char *group_text, const char *expect)
{
	struct plugin_options *o = (struct plugin_options *)1;

	cr_assert_eq(check(TP_DIR "/tp-good.so", group_text, &o), -1, "accepted: %s", group_text);
	cr_assert_null(o);
	cr_assert_str_eq(err, expect);
}

TestSuite(options, .fini = opt_fini);

Test(options, defaults_apply)
{
	struct plugin_options *o;

	cr_assert_eq(check(TP_DIR "/tp-good.so", "", &o), 0, "%s", err);
	cr_assert_eq(plugin_option_find(o, "count")->num, 5);
	cr_assert_eq(plugin_option_find(o, "verbose")->num, 0);
	cr_assert_str_eq(plugin_option_find(o, "label")->str, "none");
	cr_assert_eq(plugin_option_find(o, "buffer")->num, 4096);
	cr_assert_null(plugin_option_find(o, "nope"));
	plugin_options_free(o);
}

Test(options, values_and_sizes)
{
	struct plugin_options *o;

	cr_assert_eq(check(TP_DIR "/tp-good.so",
			   "count = 10; verbose = true; label = \"hi\"; buffer = \"64K\";", &o),
		     0, "%s", err);
	cr_assert_eq(plugin_option_find(o, "count")->num, 10);
	cr_assert_eq(plugin_option_find(o, "verbose")->num, 1);
	cr_assert_str_eq(plugin_option_find(o, "label")->str, "hi");
	cr_assert_eq(plugin_option_find(o, "buffer")->num, 65536);
	plugin_options_free(o);
}

Test(options, unknown_key)
{
	option_refused("    bogus = 1;", "vm.cfg:3: devices[0].bogus: plugin tp-good has no such "
					 "option (it has: count, verbose, label, buffer)");
}

Test(options, wrong_types)
{
	option_refused("count = \"5\";", "vm.cfg:3: devices[0].count: expected an integer");
}

Test(options, bool_type)
{
	option_refused("verbose = 1;", "vm.cfg:3: devices[0].verbose: expected true or false");
}

Test(options, out_of_range)
{
	option_refused("\n\ncount = 11;", "vm.cfg:5: devices[0].count: 11 is outside 0..10");
}

Test(options, bad_size)
{
	option_refused("buffer = \"12Q\";",
		       "vm.cfg:3: devices[0].buffer: \"12Q\" is not a size (like 65536, \"64K\", "
		       "\"1M\")");
}

Test(options, size_too_large)
{
	option_refused("buffer = \"2M\";",
		       "vm.cfg:3: devices[0].buffer: 2097152 is outside 0..1048576");
}

Test(options, required_missing)
{
	struct plugin_options *o;

	cr_assert_eq(check(TP_DIR "/tp-required.so", "count = 1;", &o), -1);
	cr_assert_str_eq(err, "vm.cfg:2: devices[0].must: missing; plugin tp-required requires it");
}

/* EMBER_OPTION_PATH (ABI 1.1): virtio-blk's path resolves against the config file's folder. */
static int check_blk_path(const char *config_file, const char *group_text,
			  struct plugin_options **out)
{
	char text[512];
	struct device_config dev;

	opt_plugin = load_ok(PLUGIN_DIR "/virtio-blk.so");
	config_init(&opt_cfg);
	snprintf(text, sizeof(text), "devices = (\n  { plugin = \"virtio-blk\"; %s }\n);\n",
		 group_text);
	cr_assert_eq(config_read_string(&opt_cfg, text), CONFIG_TRUE);
	dev.group = config_setting_get_elem(config_lookup(&opt_cfg, "devices"), 0);
	dev.plugin = "virtio-blk";
	dev.line = config_setting_source_line(dev.group);
	return plugin_check_options(opt_plugin, &dev, config_file, 0, out, err, sizeof(err));
}

Test(options, path_resolves_against_the_config_folder)
{
	struct plugin_options *o;

	cr_assert_eq(check_blk_path("conf/vm.cfg", "path = \"disk.img\";", &o), 0, "%s", err);
	cr_assert_str_eq(plugin_option_find(o, "path")->str, "conf/disk.img");
	plugin_options_free(o);
	opt_fini();
	cr_assert_eq(check_blk_path("conf/vm.cfg", "path = \"/srv/disk.img\";", &o), 0, "%s", err);
	cr_assert_str_eq(plugin_option_find(o, "path")->str, "/srv/disk.img");
	plugin_options_free(o);
	opt_fini();
	cr_assert_eq(check_blk_path("vm.cfg", "path = \"disk.img\";", &o), 0, "%s", err);
	cr_assert_str_eq(plugin_option_find(o, "path")->str, "disk.img");
	plugin_options_free(o);
	opt_fini();
	o = (struct plugin_options *)1;
	cr_assert_eq(check_blk_path("conf/vm.cfg", "path = \"\";", &o), -1);
	cr_assert_str_eq(err,
			 "conf/vm.cfg:2: devices[0].path: expected a path (a non-empty string)");
	opt_fini();
	cr_assert_eq(check_blk_path("conf/vm.cfg", "path = 5;", &o), -1);
	cr_assert_str_eq(err,
			 "conf/vm.cfg:2: devices[0].path: expected a path (a non-empty string)");
}
