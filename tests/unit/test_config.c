/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Golden tests for the config loader. Every tests/unit/config/good/NAME.cfg must load and dump
 * exactly as NAME.expected; every bad/NAME.cfg must fail with exactly the one line in
 * NAME.expected. The folders are listed at run time, so a new case is just two new files.
 * Paths are given relative to tests/unit/config ("bad/x.cfg"), so the expected messages do not
 * depend on where the tree is checked out.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GOLDEN_DIR     EMBER_SOURCE_ROOT "/tests/unit/config"
#define MIN_GOOD_CASES 11
#define MIN_BAD_CASES  40
#define ERR_SIZE       512

static void enter_golden_dir(void)
{
	cr_assert_eq(chdir(GOLDEN_DIR), 0, "chdir %s: %s", GOLDEN_DIR, strerror(errno));
}

TestSuite(config, .init = enter_golden_dir);

/* Reads a whole small file into a NUL-terminated buffer the caller frees; drops one final '\n'. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t size = 0;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	FILE *mem = open_memstream(&buf, &size);
	cr_assert_not_null(mem);
	for (int c; (c = fgetc(f)) != EOF;)
		fputc(c, mem);
	fclose(f);
	fclose(mem);
	if (size > 0 && buf[size - 1] == '\n')
		buf[size - 1] = '\0';
	return buf;
}

/* A stable text form of a loaded config, compared with good/NAME.expected. */
static char *dump_config(const struct vm_config *cfg)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&buf, &size);

	cr_assert_not_null(mem);
	fprintf(mem, "vcpus %u\nmemory_mib %u\nkernel %s\ninitrd %s\ncmdline \"%s\"\n", cfg->vcpus,
		cfg->memory_mib, cfg->kernel, cfg->initrd ? cfg->initrd : "(none)", cfg->cmdline);
	for (size_t i = 0; i < cfg->device_count; i++)
		fprintf(mem, "device %zu %s line %d\n", i, cfg->devices[i].plugin,
			cfg->devices[i].line);
	for (size_t i = 0; i < cfg->plugin_dir_count; i++)
		fprintf(mem, "plugin_dir %zu %s\n", i, cfg->plugin_dirs[i]);
	if (!cfg->seccomp)
		fprintf(mem, "seccomp off\n");
	if (cfg->memory_backing != GUEST_MEM_ANON) /* so the other golden files need no line */
		fprintf(mem, "memory_backing %s\n", guest_mem_backing_name(cfg->memory_backing));
	fclose(mem);
	if (size > 0 && buf[size - 1] == '\n')
		buf[size - 1] = '\0';
	return buf;
}

/* Calls check(folder/NAME.cfg, folder/NAME.expected) for each .cfg in folder; returns the count. */
static unsigned for_each_case(const char *folder, void (*check)(const char *, const char *))
{
	DIR *dir = opendir(folder);
	struct dirent *e;
	unsigned count = 0;

	cr_assert_not_null(dir, "%s: %s", folder, strerror(errno));
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		char cfg[512], expected[512];

		if (len < 5 || strcmp(e->d_name + len - 4, ".cfg") != 0)
			continue;
		snprintf(cfg, sizeof(cfg), "%s/%s", folder, e->d_name);
		snprintf(expected, sizeof(expected), "%s/%.*s.expected", folder, (int)(len - 4),
			 e->d_name);
		check(cfg, expected);
		count++;
	}
	closedir(dir);
	return count;
}

static void check_good(const char *path, const char *expected_path)
{
	struct vm_config cfg;
	char err[ERR_SIZE];

	if (vm_config_load(&cfg, path, err, sizeof(err)) != 0) {
		cr_expect_fail("%s: should load, failed with: %s", path, err);
		return;
	}
	char *expected = read_text(expected_path);
	char *got = dump_config(&cfg);

	cr_expect_str_eq(got, expected, "%s: loaded as\n%s\nexpected\n%s", path, got, expected);
	cr_expect_str_eq(cfg.file, path);
	free(got);
	free(expected);
	vm_config_free(&cfg);
}

static void check_bad(const char *path, const char *expected_path)
{
	struct vm_config cfg;
	char err[ERR_SIZE];
	char *expected = read_text(expected_path);

	memset(err, 'x', sizeof(err));
	cr_expect_eq(vm_config_load(&cfg, path, err, sizeof(err)), -1, "%s: should fail", path);
	cr_expect_str_eq(err, expected, "%s:\n got      \"%s\"\n expected \"%s\"", path, err,
			 expected);
	cr_expect_null(strchr(err, '\n'), "%s: message is more than one line", path);
	cr_expect_null(cfg.file, "%s: a failed load must leave nothing to free", path);
	free(expected);
}

Test(config, good_files)
{
	unsigned n = for_each_case("good", check_good);

	cr_expect_geq(n, MIN_GOOD_CASES, "only %u good cases ran", n);
}

Test(config, bad_files)
{
	unsigned n = for_each_case("bad", check_bad);

	cr_expect_geq(n, MIN_BAD_CASES, "only %u bad cases ran", n);
}

Test(config, missing_file)
{
	struct vm_config cfg;
	char err[ERR_SIZE];

	cr_assert_eq(vm_config_load(&cfg, "bad/no-such-file.cfg", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "bad/no-such-file.cfg: cannot open: No such file or directory");
}

Test(config, directory_as_file)
{
	struct vm_config cfg;
	char err[ERR_SIZE];

	cr_assert_eq(vm_config_load(&cfg, "good", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "good: cannot open: Is a directory");
}

/* A short buffer gets a truncated but terminated message, never an overflow. */
Test(config, short_error_buffer)
{
	struct vm_config cfg;
	char err[16];

	memset(err, 'x', sizeof(err));
	cr_assert_eq(vm_config_load(&cfg, "bad/vcpus-zero.cfg", err, sizeof(err)), -1);
	cr_expect_str_eq(err, "bad/vcpus-zero.");
}

Test(config, free_is_safe_on_zeroed_and_twice)
{
	struct vm_config cfg;
	char err[ERR_SIZE];

	memset(&cfg, 0, sizeof(cfg));
	vm_config_free(&cfg);
	cr_assert_eq(vm_config_load(&cfg, "good/full.cfg", err, sizeof(err)), 0, "%s", err);
	vm_config_free(&cfg);
	vm_config_free(&cfg);
}

/* The device entries point into the tree the config owns, with their groups and options. */
Test(config, device_groups)
{
	struct vm_config cfg;
	char err[ERR_SIZE];
	const config_setting_t *rate;

	cr_assert_eq(vm_config_load(&cfg, "good/full.cfg", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.device_count, 3);
	rate = config_setting_get_member(cfg.devices[0].group, "rate_bytes_per_sec");
	cr_assert_not_null(rate);
	cr_expect_eq(config_setting_get_int(rate), 65536);
	cr_expect_eq((int)config_setting_source_line(cfg.devices[1].group), cfg.devices[1].line);
	vm_config_free(&cfg);
}

/* Writes a config into a fresh temporary folder; returns its path, which the caller frees. */
static char *write_temp_config(const char *boot_extra)
{
	char dir[] = "/tmp/ember-config-XXXXXX";
	char *path;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_geq(asprintf(&path, "%s/vm.cfg", dir), 0);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "machine = { vcpus = 1; memory_mib = 64; };\n");
	fprintf(f, "boot = {\n\tkernel = \"%s/files/vmlinuz\";\n%s};\n", GOLDEN_DIR, boot_extra);
	fclose(f);
	return path;
}

static void remove_temp_config(char *path)
{
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	free(path);
}

/* A cmdline of n bytes, as a boot group line. */
static char *cmdline_line(size_t n)
{
	char *s = malloc(n + 32);

	cr_assert_not_null(s);
	strcpy(s, "\tcmdline = \"");
	memset(s + strlen(s), 'a', n);
	strcpy(s + 12 + n, "\";\n");
	return s;
}

/* Absolute paths are kept as they are; 65535 bytes of cmdline is the most accepted. */
Test(config, absolute_kernel_and_longest_cmdline)
{
	char *line = cmdline_line(65535);
	char *path = write_temp_config(line);
	struct vm_config cfg;
	char err[ERR_SIZE];

	cr_assert_eq(vm_config_load(&cfg, path, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(cfg.kernel, GOLDEN_DIR "/files/vmlinuz");
	cr_expect_eq(strlen(cfg.cmdline), 65535);
	vm_config_free(&cfg);
	remove_temp_config(path);
	free(line);
}

Test(config, cmdline_too_long)
{
	char *line = cmdline_line(65536);
	char *path = write_temp_config(line);
	struct vm_config cfg;
	char err[ERR_SIZE], expected[ERR_SIZE];

	snprintf(expected, sizeof(expected),
		 "%s:4: boot.cmdline: too long (65536 bytes); expected at most 65535 bytes", path);
	cr_assert_eq(vm_config_load(&cfg, path, err, sizeof(err)), -1);
	cr_expect_str_eq(err, expected);
	remove_temp_config(path);
	free(line);
}

/*
 * access(R_OK) always succeeds for root, so as root the check runs with the real and effective
 * uid of nobody (the saved uid stays 0, to clean up afterwards).
 */
Test(config, unreadable_initrd)
{
	char *path = write_temp_config("\tinitrd = \"initrd.img\";\n");
	char *initrd, *dir, *expected, err[ERR_SIZE];
	struct vm_config cfg;
	bool dropped = false;

	cr_assert_geq(asprintf(&dir, "%.*s", (int)(strrchr(path, '/') - path), path), 0);
	cr_assert_geq(asprintf(&initrd, "%s/initrd.img", dir), 0);
	FILE *f = fopen(initrd, "w");

	cr_assert_not_null(f);
	fclose(f);
	cr_assert_eq(chmod(initrd, 0), 0);
	if (geteuid() == 0) {
		cr_assert_eq(chmod(dir, 0755), 0);
		cr_assert_eq(chmod(path, 0644), 0);
		cr_assert_eq(setresuid(65534, 65534, 0), 0);
		dropped = true;
	}
	cr_assert_geq(asprintf(&expected,
			       "%s:4: boot.initrd: %s: Permission denied; expected a readable "
			       "regular file",
			       path, initrd),
		      0);
	cr_assert_eq(vm_config_load(&cfg, path, err, sizeof(err)), -1);
	cr_expect_str_eq(err, expected);
	if (dropped)
		cr_assert_eq(setresuid(0, 0, 0), 0);
	unlink(initrd);
	free(initrd);
	free(dir);
	free(expected);
	remove_temp_config(path);
}
