/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ember check`'s device stage (core/device_check.c) on real config files and real plugins:
 * options that must be given or name a path that must exist (ABI 1.2 flags, in
 * core/plugin_options.c), a create that fails (virtio-blk on a missing image) reported with
 * the device's name and the plugin's reason in one line, the window and interrupt budget, and
 * a good config that creates and destroys everything without leaving an fd behind. No KVM.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <libconfig.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "device_check.h"
#include "plugin_loader.h"
#include "vm_stop.h"

#define TP_DIR	   EMBER_BUILD_ROOT "/tests/unit/plugins"
#define PLUGIN_DIR EMBER_BUILD_ROOT "/plugins"
#define KERNEL	   EMBER_SOURCE_ROOT "/tests/unit/config/files/vmlinuz"
/* Device i of a config written by write_config sits on this line. */
#define DEVICE_LINE(i) (5 + (i))

static char dir[64];
static char cfg_path[128];
static char err[1024];
static struct vm_config cfg;
static bool cfg_loaded;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ember-device-check-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cfg_path, sizeof(cfg_path), "%s/vm.cfg", dir);
}

static void teardown(void)
{
	char cmd[128];

	if (cfg_loaded)
		vm_config_free(&cfg);
	cfg_loaded = false;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* dir/NAME with size bytes (sparse): a disk image. */
static void make_file(const char *name, off_t size)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	cr_assert(fd >= 0, "%s", path);
	cr_assert_eq(ftruncate(fd, size), 0);
	close(fd);
}

/* Writes and loads dir/vm.cfg with the given devices, one per line from DEVICE_LINE(0). */
static void write_config(const char *const *devices)
{
	FILE *f = fopen(cfg_path, "w");

	cr_assert_not_null(f);
	fprintf(f, "machine = { vcpus = 1; memory_mib = 64; };\n");
	fprintf(f, "boot = { kernel = \"%s\"; };\n", KERNEL);
	fprintf(f, "plugin_dirs = [ \"%s\", \"%s\" ];\n", TP_DIR, PLUGIN_DIR);
	fprintf(f, "devices = (\n");
	for (size_t i = 0; devices[i]; i++)
		fprintf(f, "  %s%s\n", devices[i], devices[i + 1] ? "," : "");
	fprintf(f, ");\n");
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(vm_config_load(&cfg, cfg_path, err, sizeof(err)), 0, "%s", err);
	cfg_loaded = true;
}

static void check_refused(const char *const *devices, const char *expect)
{
	write_config(devices);
	cr_assert_eq(device_check(&cfg, err, sizeof(err)), EMBER_EXIT_USAGE, "accepted");
	cr_assert_str_eq(err, expect);
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

TestSuite(device_check, .init = setup, .fini = teardown);

Test(device_check, good_config_creates_and_destroys_cleanly)
{
	char expect_ok[1] = "";
	unsigned fds;

	make_file("disk.img", 1 << 20);
	write_config((const char *const[]){
	    "{ plugin = \"tp-good\"; count = 3; }",
	    "{ plugin = \"virtio-rng\"; }",
	    "{ plugin = \"virtio-blk\"; path = \"disk.img\"; }", /* beside the config */
	    "{ plugin = \"pvpanic\"; }",
	    "{ plugin = \"virtio-blk\"; path = \"disk.img\"; read_only = true; }",
	    NULL,
	});
	fds = count_fds();
	cr_assert_eq(device_check(&cfg, err, sizeof(err)), EMBER_EXIT_OK, "%s", err);
	cr_assert_str_eq(err, expect_ok);
	/* virtio-blk opened its image and an io_uring: destroy closed them, unload happened. */
	cr_assert_eq(count_fds(), fds, "fds leaked");
	/* Twice in one process: nothing of the first run stayed loaded or registered. */
	cr_assert_eq(device_check(&cfg, err, sizeof(err)), EMBER_EXIT_OK, "%s", err);
	cr_assert_eq(count_fds(), fds, "fds leaked");
}

Test(device_check, no_devices_is_fine)
{
	write_config((const char *const[]){NULL});
	cr_assert_eq(device_check(&cfg, err, sizeof(err)), EMBER_EXIT_OK, "%s", err);
}

Test(device_check, required_option_missing)
{
	char expect[512];

	snprintf(expect, sizeof(expect),
		 "%s:%d: devices[1].must: missing; plugin tp-required requires it", cfg_path,
		 DEVICE_LINE(1));
	check_refused((const char *const[]){"{ plugin = \"tp-good\"; }",
					    "{ plugin = \"tp-required\"; count = 1; }", NULL},
		      expect);
}

Test(device_check, unknown_plugin_is_refused_before_any_create)
{
	write_config((const char *const[]){"{ plugin = \"virtio-blk\"; path = \"missing.img\"; }",
					   "{ plugin = \"no-such-plugin\"; }", NULL});
	cr_assert_eq(device_check(&cfg, err, sizeof(err)), EMBER_EXIT_USAGE);
	/* The second device's load error wins over the first one's create: loads come first. */
	cr_assert(strstr(err, "devices[1].plugin: plugin \"no-such-plugin\" not found"), "%s", err);
}

Test(device_check, option_errors_come_before_any_create)
{
	char expect[512];

	/* devices[0] would fail its create; devices[1]'s bad option is found first. */
	snprintf(expect, sizeof(expect), "%s:%d: devices[1].must: 200 is outside 1..100", cfg_path,
		 DEVICE_LINE(1));
	check_refused((const char *const[]){"{ plugin = \"virtio-blk\"; path = \"no-such.img\"; }",
					    "{ plugin = \"tp-required\"; must = 200; }", NULL},
		      expect);
}

/* A create that fails: one line with the config, the device's index and name, the reason. */
Test(device_check, failed_create_names_the_device_and_the_reason)
{
	char expect[1024];
	unsigned fds;

	make_file("disk.img", 1 << 20);
	/* The plugin's own words (the path it could not open), not only an errno. */
	snprintf(expect, sizeof(expect),
		 "%s:%d: devices[2] (virtio-blk.1): path \"%s/no-such.img\": cannot open for "
		 "reading and writing: No such file or directory",
		 cfg_path, DEVICE_LINE(2), dir);
	write_config((const char *const[]){
	    "{ plugin = \"virtio-blk\"; path = \"disk.img\"; }",
	    "{ plugin = \"tp-good\"; }",
	    "{ plugin = \"virtio-blk\"; path = \"no-such.img\"; }",
	    "{ plugin = \"pvpanic\"; }",
	    NULL,
	});
	fds = count_fds();
	cr_assert_eq(device_check(&cfg, err, sizeof(err)), EMBER_EXIT_USAGE, "accepted");
	cr_assert_str_eq(err, expect);
	cr_assert_null(strchr(err, '\n'), "one line");
	/* virtio-blk.0 was created before the failure: it was destroyed again. */
	cr_assert_eq(count_fds(), fds, "fds leaked");
}

/* More devices with an interrupt than the IOAPIC has lines for: refused like `ember run`. */
Test(device_check, interrupt_lines_run_out)
{
	const char *devices[11];
	char expect[512];

	for (int i = 0; i < 10; i++)
		devices[i] = "{ plugin = \"virtio-rng\"; }";
	devices[10] = NULL;
	snprintf(expect, sizeof(expect),
		 "%s:%d: devices[8] (virtio-rng.8): no interrupt line left: at most 8 devices "
		 "with interrupts",
		 cfg_path, DEVICE_LINE(8));
	check_refused(devices, expect);
}

Test(device_check, instance_names_count_per_plugin)
{
	char name[DEVICE_NAME_MAX];

	write_config((const char *const[]){"{ plugin = \"virtio-blk\"; path = \"a\"; }",
					   "{ plugin = \"tp-good\"; }",
					   "{ plugin = \"virtio-blk\"; path = \"b\"; }", NULL});
	device_instance_name(&cfg, 0, name, sizeof(name));
	cr_assert_str_eq(name, "virtio-blk.0");
	device_instance_name(&cfg, 1, name, sizeof(name));
	cr_assert_str_eq(name, "tp-good.0");
	device_instance_name(&cfg, 2, name, sizeof(name));
	cr_assert_str_eq(name, "virtio-blk.1");
}

/* ---- the shared helpers, directly ---- */

Test(device_check, failure_line_without_a_plugin_line_uses_the_create_error)
{
	struct device_create_log l;
	char expect[512];

	write_config((const char *const[]){"{ plugin = \"tp-good\"; }", NULL});
	atomic_init(&l.active, false);
	device_create_log_start(&l);
	device_create_log_stop(&l, false);
	device_create_failed(err, sizeof(err), &cfg, 0, "tp-good.0", &l,
			     "tp-good.0: plugin tp-good could not create the device (Invalid "
			     "argument)");
	snprintf(expect, sizeof(expect),
		 "%s:%d: devices[0] (tp-good.0): plugin tp-good could not create the device "
		 "(Invalid argument)",
		 cfg_path, DEVICE_LINE(0));
	cr_assert_str_eq(err, expect);
}

static struct device_create_log thread_log;

static void *log_from_another_thread(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)device_create_log_hold(&thread_log, EMBER_LOG_ERROR,
							 "x.0: from a plugin thread");
}

Test(device_check, create_log_holds_the_first_error_of_the_creating_thread_only)
{
	pthread_t t;
	void *held = (void *)1;

	atomic_init(&thread_log.active, false);
	cr_assert_not(device_create_log_hold(&thread_log, EMBER_LOG_ERROR, "x.0: before create"));
	device_create_log_start(&thread_log);
	cr_assert_not(device_create_log_hold(&thread_log, EMBER_LOG_WARN, "x.0: a warning"));
	cr_assert_eq(pthread_create(&t, NULL, log_from_another_thread, NULL), 0);
	cr_assert_eq(pthread_join(t, &held), 0);
	cr_assert_null(held, "a plugin thread's line was held");
	cr_assert(device_create_log_hold(&thread_log, EMBER_LOG_ERROR, "x.0: the reason"));
	cr_assert_not(device_create_log_hold(&thread_log, EMBER_LOG_ERROR, "x.0: a second one"));
	device_create_log_stop(&thread_log, false);
	cr_assert_str_eq(thread_log.line, "x.0: the reason");
	cr_assert_not(device_create_log_hold(&thread_log, EMBER_LOG_ERROR, "x.0: after create"));
}

Test(device_check, slots_follow_the_layout)
{
	struct device_slots s;
	uint64_t base;
	unsigned gsi;
	char why[128];

	device_slots_init(&s);
	cr_assert_eq(device_slots_take(&s, 0x200, true, &base, &gsi, why, sizeof(why)), 0);
	cr_assert_eq(base, 0xd0000000ULL);
	cr_assert_eq(gsi, 16);
	/* No registers (ABI 1.2 mmio_size 0): no window, no slot. */
	cr_assert_eq(device_slots_take(&s, 0, false, &base, &gsi, why, sizeof(why)), 0);
	cr_assert_eq(base, 0);
	cr_assert_eq(device_slots_take(&s, 0x1001, false, &base, &gsi, why, sizeof(why)), 0);
	cr_assert_eq(base, 0xd0001000ULL, "4 KiB slots");
	cr_assert_eq(gsi, 0);
	cr_assert_eq(device_slots_take(&s, 0x10, true, &base, &gsi, why, sizeof(why)), 0);
	cr_assert_eq(base, 0xd0003000ULL, "a 0x1001-byte window takes two slots");
	cr_assert_eq(gsi, 17);
	/* The 256 MiB area: a window that no longer fits is refused, the next smaller one not. */
	cr_assert_eq(device_slots_take(&s, 0x10000000ULL, false, &base, &gsi, why, sizeof(why)),
		     -1);
	cr_assert_str_eq(why, "no room left for its 268435456-byte window");
	cr_assert_eq(
	    device_slots_take(&s, 0x10000000ULL - 0x4000, false, &base, &gsi, why, sizeof(why)), 0,
	    "the last window may end at the area's end");
	cr_assert_eq(device_slots_take(&s, 1, false, &base, &gsi, why, sizeof(why)), -1);
}

/* ---- option flags (core/plugin_options.c), on a plugin table made here ---- */

static const struct ember_option flag_options[] = {
    EMBER_OPTION_PATH_F("disk", NULL, EMBER_OPTION_PATH_EXISTS, "must exist"),
    EMBER_OPTION_PATH_F("sock", NULL, EMBER_OPTION_PATH_PARENT_EXISTS, "its folder must exist"),
    EMBER_OPTION_PATH_DEF("plain", NULL, "not checked"),
};
static const struct ember_option default_options[] = {
    EMBER_OPTION_PATH_F("dflt", "/nonexistent-ember/default.img", EMBER_OPTION_PATH_EXISTS,
			"a default that must exist"),
};
static const struct ember_option required_options[] = {
    EMBER_OPTION_INT_REQ("i", 0, 10, "int"),
    EMBER_OPTION_SIZE_REQ("sz", 0, 1 << 20, "size"),
    EMBER_OPTION_STRING_REQ("s", "string"),
    EMBER_OPTION_PATH_F("p", NULL, EMBER_OPTION_REQUIRED | EMBER_OPTION_PATH_EXISTS, "path"),
    {.struct_size = sizeof(struct ember_option),
     .type = EMBER_OPTION_BOOL,
     .name = "b",
     .help = "bool",
     .flags = EMBER_OPTION_REQUIRED},
};

/*
 * plugin_check_options for devices[0] of a config whose device is group_text, against a
 * plugin "tp-flags" documenting table. Returns its result; err has the line.
 */
static int check_flags(const struct ember_option *table, uint32_t count, const char *group_text,
		       struct plugin_options **out)
{
	struct plugin p = {.desc = {.name = "tp-flags", .options = table, .option_count = count}};
	char device[512];

	snprintf(device, sizeof(device), "{ plugin = \"tp-flags\"; %s }", group_text);
	if (cfg_loaded)
		vm_config_free(&cfg);
	cfg_loaded = false;
	write_config((const char *const[]){device, NULL});
	return plugin_check_options(&p, &cfg.devices[0], cfg.file, 0, out, err, sizeof(err));
}

static void flags_ok(const struct ember_option *table, uint32_t count, const char *group_text)
{
	struct plugin_options *o;

	cr_assert_eq(check_flags(table, count, group_text, &o), 0, "%s: %s", group_text, err);
	plugin_options_free(o);
}

/* Refused with exactly "CONFIG:LINE: devices[0].KEY: " and then the formatted rest. */
__attribute__((format(printf, 6, 7))) static void
flags_refused(const struct ember_option *table, uint32_t count, const char *group_text, int line,
	      const char *key, const char *rest_fmt, ...)
{
	struct plugin_options *o = (struct plugin_options *)1;
	char rest[512], expect[1024];
	va_list ap;

	va_start(ap, rest_fmt);
	vsnprintf(rest, sizeof(rest), rest_fmt, ap);
	va_end(ap);
	snprintf(expect, sizeof(expect), "%s:%d: devices[0].%s: %s", cfg_path, line, key, rest);
	cr_assert_eq(check_flags(table, count, group_text, &o), -1, "accepted: %s", group_text);
	cr_assert_null(o);
	cr_assert_str_eq(err, expect);
}

#define TABLE(t) t, EMBER_ARRAY_SIZE(t)

Test(device_check, path_exists)
{
	char link[256];

	make_file("disk.img", 512);
	flags_ok(TABLE(flag_options), "disk = \"disk.img\";");
	flags_ok(TABLE(flag_options), "disk = \"/dev/null\";");
	/* On the key's own line, the resolved path named. */
	flags_refused(TABLE(flag_options), "\n    disk = \"nope.img\";", DEVICE_LINE(0) + 1, "disk",
		      "\"%s/nope.img\" does not exist", dir);
	/* A component that is a file, not a folder, is "does not exist" too. */
	flags_refused(TABLE(flag_options), "disk = \"disk.img/x\";", DEVICE_LINE(0), "disk",
		      "\"%s/disk.img/x\" does not exist", dir);
	/* A dangling link names nothing. */
	snprintf(link, sizeof(link), "%s/dangling.img", dir);
	cr_assert_eq(symlink("nowhere.img", link), 0);
	flags_refused(TABLE(flag_options), "disk = \"dangling.img\";", DEVICE_LINE(0), "disk",
		      "\"%s/dangling.img\" does not exist", dir);
	/* Not given and no default: nothing to check. */
	flags_ok(TABLE(flag_options), "");
}

Test(device_check, path_parent_exists)
{
	char run[128];

	make_file("disk.img", 512);
	snprintf(run, sizeof(run), "%s/run", dir);
	cr_assert_eq(mkdir(run, 0755), 0);
	/* The file itself need not exist: the device creates it. */
	flags_ok(TABLE(flag_options), "sock = \"vm.sock\";");
	flags_ok(TABLE(flag_options), "sock = \"run/vm.sock\";");
	flags_ok(TABLE(flag_options), "sock = \"run/sub/\";");
	flags_ok(TABLE(flag_options), "sock = \"/vm.sock\";");
	flags_refused(TABLE(flag_options), "sock = \"nodir/vm.sock\";", DEVICE_LINE(0), "sock",
		      "\"%s/nodir/vm.sock\": folder \"%s/nodir\" does not exist", dir, dir);
	flags_refused(TABLE(flag_options), "sock = \"disk.img/vm.sock\";", DEVICE_LINE(0), "sock",
		      "\"%s/disk.img/vm.sock\": \"%s/disk.img\" is not a folder", dir, dir);
	/* Without a flag a path is not looked at. */
	flags_ok(TABLE(flag_options), "plain = \"nodir/nothing\";");
}

Test(device_check, a_default_path_is_checked_at_the_device_line)
{
	flags_refused(TABLE(default_options), "\n", DEVICE_LINE(0), "dflt",
		      "\"/nonexistent-ember/default.img\" (the default) does not exist");
}

Test(device_check, required_options_of_every_type)
{
	static const char *const given[] = {"i = 1;", "sz = \"4K\";", "s = \"x\";",
					    "p = \"disk.img\";", "b = false;"};
	char text[256];

	make_file("disk.img", 512);
	flags_ok(TABLE(required_options),
		 "i = 1; sz = \"4K\"; s = \"x\"; p = \"disk.img\"; b = false;");
	/* Each one left out in turn: reported at the device's line, naming key and plugin. */
	for (size_t skip = 0; skip < 5; skip++) {
		size_t n = 0;

		text[0] = '\0';
		for (size_t i = 0; i < 5; i++)
			if (i != skip)
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%s ", given[i]);
		flags_refused(TABLE(required_options), text, DEVICE_LINE(0),
			      required_options[skip].name, "missing; plugin tp-flags requires it");
	}
	/* Given, a required path must still exist. */
	flags_refused(TABLE(required_options), "i = 1; sz = 1; s = \"\"; p = \"nope\"; b = true;",
		      DEVICE_LINE(0), "p", "\"%s/nope\" does not exist", dir);
}
