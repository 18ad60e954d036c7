/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Golden tests for profiles (docs/config.md, "Profiles"), in tests/unit/config/profiles:
 *   good/NAME.cfg    must load; its resolved VM (machine, boot, every device with its merged
 *                    options and where each came from) must dump as NAME.expected;
 *   bad/NAME.cfg     must fail to load with exactly the one line in NAME.expected;
 *   check/NAME.cfg   loads, and `ember check`'s device stage (real plugins) must refuse it with
 *                    exactly the line in NAME.expected: errors that only a plugin's table or
 *                    create finds, named at the profile's or the file's line;
 *   print/NAME.cfg   copied as vm.cfg into a fresh folder with two sparse images (root.img,
 *                    scratch.img) and the test kernel (vmlinuz); `ember check --print` output
 *                    must be NAME.expected. print/shipped-P.cfg uses conf/P.cfg: every profile
 *                    in conf/ must have one (checked), so each resolves to a reviewed device set.
 *   templates/       the profiles the good, bad and check cases name.
 * Messages name paths relative to tests/unit/config/profiles; the build tree (where the shipped
 * profiles and the plugins are found) is written @BUILD@ in .expected files. Adding a case needs
 * no code change. EMBER_GOLDEN_WRITE=1 in the environment writes what each case produced into
 * its .expected file instead of comparing (then review the diff: that is the test).
 */
#include "config.h"
#include "device_check.h"
#include "profile.h"
#include "vm_stop.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GOLDEN_DIR EMBER_SOURCE_ROOT "/tests/unit/config/profiles"
#define FILES_DIR  EMBER_SOURCE_ROOT "/tests/unit/config/files"
#define CONF_DIR   EMBER_SOURCE_ROOT "/conf"
#define ERR_SIZE   2048

static const char *const shipped[] = {"ci-runner", "debug", "minimal", "serverless"};

static void enter_golden_dir(void)
{
	cr_assert_eq(chdir(GOLDEN_DIR), 0, "chdir %s: %s", GOLDEN_DIR, strerror(errno));
}

TestSuite(profiles, .init = enter_golden_dir);

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

/*
 * Compares got with the golden file expected_path, or, with EMBER_GOLDEN_WRITE=1 in the
 * environment, rewrites the golden with it.
 */
static void expect_golden(const char *path, const char *got, const char *expected_path)
{
	const char *w = getenv("EMBER_GOLDEN_WRITE");
	char *expected;

	if (w && !strcmp(w, "1")) {
		FILE *f = fopen(expected_path, "w");

		cr_assert_not_null(f, "%s: %s", expected_path, strerror(errno));
		fprintf(f, "%s\n", got);
		fclose(f);
		return;
	}
	expected = read_text(expected_path);
	cr_expect_str_eq(got, expected, "%s:\n got\n%s\n expected\n%s", path, got, expected);
	free(expected);
}

/* s with every occurrence of from replaced by to; malloc'ed. */
static char *replace_all(const char *s, const char *from, const char *to)
{
	char *buf = NULL;
	size_t size = 0, n = strlen(from);
	FILE *mem = open_memstream(&buf, &size);

	cr_assert_not_null(mem);
	while (*s) {
		if (n && !strncmp(s, from, n)) {
			fputs(to, mem);
			s += n;
		} else {
			fputc(*s++, mem);
		}
	}
	fclose(mem);
	return buf;
}

/* The build tree as @BUILD@ (both as meson names it and canonical), so goldens are portable. */
static char *portable(const char *s)
{
	char *real = realpath(EMBER_BUILD_ROOT, NULL);
	char *a = replace_all(s, EMBER_BUILD_ROOT, "@BUILD@");
	char *b = real ? replace_all(a, real, "@BUILD@") : strdup(a);

	free(real);
	free(a);
	cr_assert_not_null(b);
	return b;
}

static void origin(FILE *mem, const struct vm_config *cfg, const config_setting_t *s)
{
	char where[PATH_MAX + 32];

	if (!s) {
		fputs(" [default]", mem);
		return;
	}
	vm_config_where(cfg, s, where, sizeof(where));
	fprintf(mem, " [%s%s]", vm_config_in_profile(cfg, s) ? "profile " : "", where);
}

/* A value as libconfig writes it (only the scalar types and groups and lists, nested). */
static void value(FILE *mem, const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		fprintf(mem, "%lld", config_setting_get_int64(s));
		return;
	case CONFIG_TYPE_FLOAT:
		fprintf(mem, "%g", config_setting_get_float(s));
		return;
	case CONFIG_TYPE_BOOL:
		fputs(config_setting_get_bool(s) ? "true" : "false", mem);
		return;
	case CONFIG_TYPE_STRING:
		fprintf(mem, "\"%s\"", config_setting_get_string(s));
		return;
	default:
		fputs(config_setting_is_group(s) ? "{" : "(", mem);
		for (int i = 0; i < config_setting_length(s); i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

			if (config_setting_name(e))
				fprintf(mem, " %s =", config_setting_name(e));
			fputc(' ', mem);
			value(mem, e);
			fputc(';', mem);
		}
		fputs(config_setting_is_group(s) ? " }" : " )", mem);
	}
}

/*
 * A stable text form of a resolved config, compared with good/NAME.expected. It also asserts what
 * every resolved group must be: no id or remove key, each option a copy (same line) of the
 * setting its origin names.
 */
static char *dump_config(const struct vm_config *cfg)
{
	char *buf = NULL, where[PATH_MAX + 32];
	size_t size = 0;
	FILE *mem = open_memstream(&buf, &size);

	cr_assert_not_null(mem);
	fprintf(mem, "profile %s", cfg->profile_name ? cfg->profile_name : "(none)");
	if (cfg->profile)
		fprintf(mem, " = %s", cfg->profile);
	fprintf(mem, "\nvcpus %u", cfg->vcpus);
	origin(mem, cfg, cfg->from.vcpus);
	fprintf(mem, "\nmemory_mib %u", cfg->memory_mib);
	origin(mem, cfg, cfg->from.memory_mib);
	fprintf(mem, "\nkernel %s", cfg->kernel);
	origin(mem, cfg, cfg->from.kernel);
	fprintf(mem, "\ninitrd %s", cfg->initrd ? cfg->initrd : "(none)");
	if (cfg->initrd)
		origin(mem, cfg, cfg->from.initrd);
	fprintf(mem, "\ncmdline \"%s\"", cfg->cmdline);
	origin(mem, cfg, cfg->from.cmdline);
	fputc('\n', mem);
	for (size_t i = 0; i < cfg->device_count; i++) {
		const struct device_config *dc = &cfg->devices[i];

		vm_config_where(cfg, dc->home, where, sizeof(where));
		fprintf(mem, "device %zu %s id %s home %s devices[%u]\n", i, dc->plugin,
			dc->id ? dc->id : "(none)", where, dc->index);
		cr_expect_eq(dc->line, (int)config_setting_source_line(dc->home));
		cr_expect_eq((int)config_setting_source_line(dc->group), dc->line);
		if (dc->profile_group) {
			vm_config_where(cfg, dc->profile_group, where, sizeof(where));
			fprintf(mem, "  profile %s devices[%u]\n", where, dc->profile_index);
		}
		if (dc->file_group) {
			vm_config_where(cfg, dc->file_group, where, sizeof(where));
			fprintf(mem, "  file %s devices[%u]\n", where, dc->file_index);
		}
		for (int j = 0; j < config_setting_length(dc->group); j++) {
			const config_setting_t *s = config_setting_get_elem(dc->group, (unsigned)j);
			const config_setting_t *from =
			    device_config_origin(dc, config_setting_name(s));

			cr_expect(strcmp(config_setting_name(s), "id") &&
				      strcmp(config_setting_name(s), "remove"),
				  "device %zu: %s in the resolved group", i,
				  config_setting_name(s));
			cr_assert_not_null(from, "device %zu: %s has no origin", i,
					   config_setting_name(s));
			cr_expect_eq(config_setting_source_line(s),
				     config_setting_source_line(from));
			fprintf(mem, "  %s = ", config_setting_name(s));
			value(mem, s);
			origin(mem, cfg, from);
			fputc('\n', mem);
		}
	}
	fclose(mem);
	if (size > 0 && buf[size - 1] == '\n')
		buf[size - 1] = '\0';
	return buf;
}

/* Calls check(folder/NAME.cfg, folder/NAME.expected) for each .cfg in folder; returns the count. */
static unsigned for_each_case(const char *folder, void (*check)(const char *, const char *))
{
	struct dirent **names;
	int n = scandir(folder, &names, NULL, alphasort);
	unsigned count = 0;

	cr_assert_geq(n, 0, "%s: %s", folder, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		char cfg[512], expected[512];

		if (len > 4 && !strcmp(name + len - 4, ".cfg")) {
			snprintf(cfg, sizeof(cfg), "%s/%s", folder, name);
			snprintf(expected, sizeof(expected), "%s/%.*s.expected", folder,
				 (int)(len - 4), name);
			check(cfg, expected);
			count++;
		}
		free(names[i]);
	}
	free(names);
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
	char *got = dump_config(&cfg);

	expect_golden(path, got, expected_path);
	free(got);
	vm_config_free(&cfg);
}

static void check_bad(const char *path, const char *expected_path)
{
	struct vm_config cfg;
	char err[ERR_SIZE], *got;

	memset(err, 'x', sizeof(err));
	cr_expect_eq(vm_config_load(&cfg, path, err, sizeof(err)), -1, "%s: should fail", path);
	got = portable(err);
	expect_golden(path, got, expected_path);
	cr_expect_null(strchr(err, '\n'), "%s: message is more than one line", path);
	cr_expect_null(cfg.file, "%s: a failed load must leave nothing to free", path);
	free(got);
}

static void check_refused(const char *path, const char *expected_path)
{
	struct vm_config cfg;
	char err[ERR_SIZE], *got;

	if (vm_config_load(&cfg, path, err, sizeof(err)) != 0) {
		cr_expect_fail("%s: should load, failed with: %s", path, err);
		return;
	}
	cr_expect_eq(device_check(&cfg, err, sizeof(err)), EMBER_EXIT_USAGE, "%s: accepted", path);
	got = portable(err);
	expect_golden(path, got, expected_path);
	cr_expect_null(strchr(err, '\n'), "%s: message is more than one line", path);
	free(got);
	vm_config_free(&cfg);
}

Test(profiles, good_files)
{
	cr_expect_geq(for_each_case("good", check_good), 9);
}

Test(profiles, bad_files)
{
	cr_expect_geq(for_each_case("bad", check_bad), 34);
}

Test(profiles, check_refusals)
{
	cr_expect_geq(for_each_case("check", check_refused), 8);
}

/* ---- `ember check --print` ---- */

static void write_file(const char *path, const char *text, off_t size)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);

	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	if (text)
		cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	else
		cr_assert_eq(ftruncate(fd, size), 0);
	close(fd);
}

/* In a fresh folder: vm.cfg (the case), root.img and scratch.img, vmlinuz and initrd.img. */
static void check_print(const char *path, const char *expected_path)
{
	char dir[] = "/tmp/ember-profiles-XXXXXX", cwd[PATH_MAX], cmd[128], err[ERR_SIZE];
	char *text = read_text(path), *out = NULL, *got, *with_newline;
	char expected[PATH_MAX + 512];
	size_t out_size = 0;
	struct vm_config cfg;
	FILE *mem;
	int status;

	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	/* The golden is named from here: the case runs in a folder of its own. */
	snprintf(expected, sizeof(expected), "%s/%s", cwd, expected_path);
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(chdir(dir), 0);
	/* read_text dropped the final newline, which a trailing comment needs. */
	cr_assert_geq(asprintf(&with_newline, "%s\n", text), 0);
	write_file("vm.cfg", with_newline, 0);
	write_file("root.img", NULL, 4 << 20);
	write_file("scratch.img", NULL, 4 << 20);
	cr_assert_eq(symlink(FILES_DIR "/vmlinuz", "vmlinuz"), 0);
	cr_assert_eq(symlink(FILES_DIR "/initrd.img", "initrd.img"), 0);
	cr_assert_eq(vm_config_load(&cfg, "vm.cfg", err, sizeof(err)), 0, "%s: %s", path, err);
	mem = open_memstream(&out, &out_size);
	cr_assert_not_null(mem);
	status = device_check_print(&cfg, mem, err, sizeof(err));
	fclose(mem);
	cr_expect_eq(status, EMBER_EXIT_OK, "%s: %s", path, err);
	if (out_size > 0 && out[out_size - 1] == '\n')
		out[out_size - 1] = '\0';
	got = portable(out);
	expect_golden(path, got, expected);
	vm_config_free(&cfg);
	cr_assert_eq(chdir(cwd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	free(got);
	free(out);
	free(text);
	free(with_newline);
}

Test(profiles, print_files)
{
	cr_expect_geq(for_each_case("print", check_print), 6);
}

/* A refused check prints nothing: --print shows only a VM that would start. */
Test(profiles, print_nothing_when_refused)
{
	struct vm_config cfg;
	char err[ERR_SIZE], *out = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&out, &size);

	cr_assert_eq(vm_config_load(&cfg, "check/profile-option.cfg", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(device_check_print(&cfg, mem, err, sizeof(err)), EMBER_EXIT_USAGE);
	fclose(mem);
	cr_expect_eq(size, 0, "printed: %s", out);
	free(out);
	vm_config_free(&cfg);
}

/* ---- the shipped profiles ---- */

/* Every conf/NAME.cfg has its print/shipped-NAME.cfg golden, and is listed in shipped[]. */
Test(profiles, every_shipped_profile_has_a_golden)
{
	struct dirent **names;
	int n = scandir(CONF_DIR, &names, NULL, alphasort);
	size_t found = 0;

	cr_assert_geq(n, 0, "%s: %s", CONF_DIR, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		char golden[256];
		bool known = false;

		if (len > 4 && !strcmp(name + len - 4, ".cfg")) {
			snprintf(golden, sizeof(golden), "print/shipped-%.*s.expected",
				 (int)(len - 4), name);
			cr_expect_eq(access(golden, R_OK), 0, "conf/%s has no golden %s", name,
				     golden);
			for (size_t j = 0; j < sizeof(shipped) / sizeof(shipped[0]); j++)
				known |= !strncmp(shipped[j], name, len - 4) &&
					 strlen(shipped[j]) == len - 4;
			cr_expect(known, "conf/%s is not in this test's list", name);
			found++;
		}
		free(names[i]);
	}
	free(names);
	cr_expect_eq(found, sizeof(shipped) / sizeof(shipped[0]));
}

struct listed {
	char names[8][PROFILE_NAME_MAX + 1];
	char purposes[8][512];
	size_t count;
};

static void on_profile(void *arg, const char *dir, const char *name, const char *purpose,
		       const char *shadowed)
{
	struct listed *l = arg;
	char *want = realpath(EMBER_BUILD_ROOT "/conf", NULL);

	cr_expect_str_eq(dir, want ? want : "(none)");
	cr_expect_null(shadowed);
	cr_assert_lt(l->count, 8);
	snprintf(l->names[l->count], sizeof(l->names[0]), "%s", name);
	snprintf(l->purposes[l->count], sizeof(l->purposes[0]), "%s", purpose);
	l->count++;
	free(want);
}

/*
 * A test run from the build tree finds the build's copy of conf/ (and no installed folder):
 * each shipped profile once, sorted, with its first comment line as purpose, and the copy is
 * the source's (a stale copy would test old profiles).
 */
Test(profiles, list_and_find_the_build_copy)
{
	struct listed l = {.count = 0};
	char err[ERR_SIZE], *path, src[PATH_MAX], purpose[512];

	cr_assert_eq(profile_list(on_profile, &l), 4);
	cr_assert_eq(l.count, 4);
	for (size_t i = 0; i < 4; i++) {
		char *a, *b;

		cr_expect_str_eq(l.names[i], shipped[i]);
		snprintf(src, sizeof(src), CONF_DIR "/%s.cfg", shipped[i]);
		cr_assert_eq(profile_purpose(src, purpose, sizeof(purpose)), 0);
		cr_expect_str_eq(l.purposes[i], purpose);
		cr_expect_gt(strlen(purpose), 20, "%s: purpose \"%s\"", shipped[i], purpose);
		cr_expect_neq(purpose[0], '#');
		cr_assert_eq(profile_find(shipped[i], &path, err, sizeof(err)), 0, "%s", err);
		a = read_text(path);
		b = read_text(src);
		cr_expect_str_eq(a, b, "%s is not a copy of %s: rebuild", path, src);
		free(a);
		free(b);
		free(path);
	}
}

Test(profiles, find_refuses_unknown)
{
	static char sentinel[] = "x";
	char err[ERR_SIZE], *path = sentinel, *got;

	cr_assert_eq(profile_find("no-such", &path, err, sizeof(err)), -1);
	cr_expect_null(path);
	got = portable(err);
	cr_expect_str_eq(
	    got, "no profile \"no-such\" (looked for no-such.cfg in "
		 "@BUILD@/tests/unit/../share/ember/profiles and @BUILD@/conf; `ember profiles` "
		 "lists them)");
	free(got);
}

Test(profiles, purpose_is_the_first_comment_line)
{
	char dir[] = "/tmp/ember-purpose-XXXXXX", path[64], purpose[64];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.cfg", dir);
	write_file(path, "\n  //   Two spaces in, then the purpose.  \r\n# not this\n", 0);
	cr_assert_eq(profile_purpose(path, purpose, sizeof(purpose)), 0);
	cr_expect_str_eq(purpose, "Two spaces in, then the purpose.");
	write_file(path, "machine = { vcpus = 1; };\n", 0);
	cr_expect_eq(profile_purpose(path, purpose, sizeof(purpose)), -1);
	unlink(path);
	cr_expect_eq(profile_purpose(path, purpose, sizeof(purpose)), -1);
	rmdir(dir);
}

Test(profiles, name_rule)
{
	cr_expect_null(profile_name_error("ci-runner"));
	cr_expect_null(profile_name_error("a_1"));
	cr_expect_not_null(profile_name_error(""));
	cr_expect_not_null(profile_name_error("-a"));
	cr_expect_not_null(profile_name_error("A"));
	cr_expect_not_null(profile_name_error("a.cfg"));
	cr_expect_null(device_id_error("scratch_0-1"));
	cr_expect_not_null(device_id_error("x y"));
	cr_expect_null(device_id_error("abcdefghijklmnopqrstuvwxyz012345"));
	cr_expect_not_null(device_id_error("abcdefghijklmnopqrstuvwxyz0123456"));
}
