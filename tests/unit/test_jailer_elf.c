/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jailer's ELF reader (tools/jailer/jail_elf.c) on real files: the built ember and a
 * plugin (their interpreter and libc are found, and liburing for virtio-blk), and on broken
 * copies of them: truncated at every header boundary, or with offsets pointing past the end,
 * each refused with a message and never a crash.
 */
#include "jail_elf.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EMBER  EMBER_BUILD_ROOT "/core/ember"
#define BLK_SO EMBER_BUILD_ROOT "/plugins/virtio-blk.so"

static char err[1024];

static uint8_t *slurp(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size);
	cr_assert_not_null(buf);
	cr_assert_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*size = (size_t)st.st_size;
	return buf;
}

static int has_needed(const struct jail_elf *e, const char *prefix)
{
	for (size_t i = 0; i < e->nneeded; i++)
		if (!strncmp(e->needed[i], prefix, strlen(prefix)))
			return 1;
	return 0;
}

Test(jailer_elf, reads_ember)
{
	struct jail_elf *e = malloc(sizeof(*e));

	cr_assert_eq(jail_elf_read(EMBER, e, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(e->machine, EM_X86_64);
	cr_assert(e->dynamic);
	cr_assert_str_eq(e->interp, "/lib64/ld-linux-x86-64.so.2");
	cr_assert(has_needed(e, "libc.so."));
	cr_assert(has_needed(e, "libconfig.so."));
	free(e);
}

Test(jailer_elf, reads_a_plugin)
{
	struct jail_elf *e = malloc(sizeof(*e));

	cr_assert_eq(jail_elf_read(BLK_SO, e, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(e->interp, ""); /* a shared object has no interpreter */
	cr_assert(has_needed(e, "liburing.so."));
	cr_assert(has_needed(e, "libc.so."));
	free(e);
}

static int listed(char (*paths)[PATH_MAX], size_t n, const char *suffix)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(paths[i]), s = strlen(suffix);

		if (l >= s && !strcmp(paths[i] + l - s, suffix))
			return 1;
	}
	return 0;
}

Test(jailer_elf, closure_of_ember_and_a_plugin)
{
	const char *roots[] = {EMBER, BLK_SO};
	char(*paths)[PATH_MAX] = calloc(JAIL_ELF_MAX_LIBS, PATH_MAX);
	size_t n;

	cr_assert_eq(jail_elf_closure(roots, 2, paths, JAIL_ELF_MAX_LIBS, &n, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert(listed(paths, n, "/ld-linux-x86-64.so.2"));
	cr_assert_str_eq(paths[0], "/lib64/ld-linux-x86-64.so.2"); /* at the path PT_INTERP names */
	cr_assert(listed(paths, n, "/libc.so.6"));
	cr_assert(listed(paths, n, "/libconfig.so.9"));
	cr_assert(listed(paths, n, "/liburing.so.2"));
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(paths[i][0], '/', "%s", paths[i]);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(paths[i], paths[j]); /* each once */
	}
	free(paths);
}

Test(jailer_elf, closure_refuses_a_non_elf_root)
{
	const char *roots[] = {EMBER_SOURCE_ROOT "/meson.build"};
	char(*paths)[PATH_MAX] = calloc(4, PATH_MAX);
	size_t n;

	cr_assert_eq(jail_elf_closure(roots, 1, paths, 4, &n, err, sizeof(err)), -1);
	cr_assert(strstr(err, "meson.build: not an ELF file"), "%s", err);
	free(paths);
}

/* Every truncation of the real file up to past its dynamic section is refused or parsed, never
 * read out of bounds (the ASan run checks the "never"): the short ones are refused. */
Test(jailer_elf, truncated_files)
{
	size_t size;
	uint8_t *full = slurp(EMBER, &size);
	struct jail_elf *e = malloc(sizeof(*e));
	size_t sizes[] = {0, 3, 4, 40, 63, 64, 65, 100, 200, 500, 1000, 4096, 8192, 16384};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && sizes[i] <= size; i++) {
		uint8_t *cut = malloc(sizes[i] ? sizes[i] : 1);
		int rc;

		memcpy(cut, full, sizes[i]);
		rc = jail_elf_parse(cut, sizes[i], e, err, sizeof(err));
		if (sizes[i] < 64 + 56) /* the ELF header and one program header */
			cr_assert_eq(rc, -1, "a %zu-byte file was accepted", sizes[i]);
		if (rc)
			cr_assert_neq(err[0], '\0');
		free(cut);
	}
	free(e);
	free(full);
}

Test(jailer_elf, corrupt_headers)
{
	size_t size;
	uint8_t *buf = slurp(EMBER, &size);
	uint8_t *copy = malloc(size);
	struct jail_elf *e = malloc(sizeof(*e));
	Elf64_Ehdr eh;

	memcpy(&eh, buf, sizeof(eh));

	/* program headers past the end */
	memcpy(copy, buf, size);
	((Elf64_Ehdr *)copy)->e_phoff = size - 8;
	cr_assert_eq(jail_elf_parse(copy, size, e, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "its program headers lie outside the file");

	/* a 32-bit file */
	memcpy(copy, buf, size);
	copy[EI_CLASS] = ELFCLASS32;
	cr_assert_eq(jail_elf_parse(copy, size, e, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "not a 64-bit little-endian ELF file");

	/* every program header's offset and size pointed past the end */
	for (uint16_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint8_t *at;

		memcpy(copy, buf, size);
		at = copy + eh.e_phoff + (size_t)i * eh.e_phentsize;
		memcpy(&ph, at, sizeof(ph));
		if (ph.p_type != PT_INTERP && ph.p_type != PT_DYNAMIC)
			continue;
		ph.p_offset = size - 4;
		ph.p_filesz = 4096;
		memcpy(at, &ph, sizeof(ph));
		cr_assert_eq(jail_elf_parse(copy, size, e, err, sizeof(err)), -1);
		ph.p_offset = UINT64_MAX - 8;
		memcpy(at, &ph, sizeof(ph));
		cr_assert_eq(jail_elf_parse(copy, size, e, err, sizeof(err)), -1);
	}

	/* an unterminated interpreter string */
	memcpy(copy, buf, size);
	for (uint16_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, copy + eh.e_phoff + (size_t)i * eh.e_phentsize, sizeof(ph));
		if (ph.p_type == PT_INTERP)
			memset(copy + ph.p_offset, 'x', ph.p_filesz);
	}
	cr_assert_eq(jail_elf_parse(copy, size, e, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "its PT_INTERP is not a string");

	/* garbage */
	memset(copy, 0xff, size);
	cr_assert_eq(jail_elf_parse(copy, size, e, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "not an ELF file");
	free(e);
	free(copy);
	free(buf);
}

Test(jailer_elf, missing_and_empty_files)
{
	struct jail_elf *e = malloc(sizeof(*e));
	char path[] = "/tmp/ember-jailer-elf-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_eq(jail_elf_read("/nonexistent/ember", e, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "/nonexistent/ember: No such file or directory");
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(jail_elf_read(path, e, err, sizeof(err)), -1);
	cr_assert(strstr(err, "not an ELF file"), "%s", err);
	unlink(path);
	free(e);
}
