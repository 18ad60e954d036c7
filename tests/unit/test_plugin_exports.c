/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every plugin exports exactly its entry symbol and needs nothing of ember: read straight from
 * the ELF dynamic symbol table and DT_NEEDED list (no nm needed).
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct elf_file {
	const uint8_t *base;
	size_t size;
	const Elf64_Shdr *sh;
	unsigned shnum;
};

static void elf_open(const char *path, struct elf_file *f)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	const Elf64_Ehdr *eh;

	cr_assert(fd >= 0, "%s missing", path);
	cr_assert_eq(fstat(fd, &st), 0);
	f->size = (size_t)st.st_size;
	f->base = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	cr_assert_neq(f->base, MAP_FAILED);
	eh = (const Elf64_Ehdr *)(const void *)f->base;
	cr_assert_eq(memcmp(eh->e_ident, ELFMAG, SELFMAG), 0);
	cr_assert_eq(eh->e_ident[EI_CLASS], ELFCLASS64);
	cr_assert(eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) <= f->size);
	f->sh = (const Elf64_Shdr *)(const void *)(f->base + eh->e_shoff);
	f->shnum = eh->e_shnum;
}

static const Elf64_Shdr *find_section(const struct elf_file *f, uint32_t type)
{
	for (unsigned i = 0; i < f->shnum; i++)
		if (f->sh[i].sh_type == type)
			return &f->sh[i];
	return NULL;
}

static const char *str_at(const struct elf_file *f, const Elf64_Shdr *strtab, uint64_t off)
{
	cr_assert(strtab->sh_offset + off < f->size);
	return (const char *)f->base + strtab->sh_offset + off;
}

static bool allowed_library(const char *name)
{
	static const char *const ok[] = {"libc.so", "libasan.so", "libubsan.so", "ld-linux"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strncmp(name, ok[i], strlen(ok[i])))
			return true;
	return false;
}

static bool core_symbol(const char *name)
{
	static const char *const core[] = {"guest_mem_", "virtq_", "virtio_mmio_", "plugin_",
					   "log_",	 "bus_",   "vm_"};

	for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++)
		if (!strncmp(name, core[i], strlen(core[i])))
			return true;
	return false;
}

/*
 * The linker's bounds of the coverage sections of a -fsanitize-coverage build (the fuzz build
 * runs these tests too): not the plugin's own, and absent from every other build.
 */
static bool coverage_bound(const char *name)
{
	return !strncmp(name, "__start___sancov", 16) || !strncmp(name, "__stop___sancov", 15);
}

static void check_plugin(const char *path)
{
	struct elf_file f;
	const Elf64_Shdr *dynsym, *dynstr, *dynamic;
	unsigned exported = 0;

	elf_open(path, &f);
	dynsym = find_section(&f, SHT_DYNSYM);
	cr_assert_not_null(dynsym);
	dynstr = &f.sh[dynsym->sh_link];
	for (uint64_t i = 1; i < dynsym->sh_size / sizeof(Elf64_Sym); i++) {
		const Elf64_Sym *s =
		    (const Elf64_Sym *)(const void *)(f.base + dynsym->sh_offset) + i;
		const char *name = str_at(&f, dynstr, s->st_name);
		int bind = ELF64_ST_BIND(s->st_info);

		if (s->st_shndx == SHN_UNDEF) {
			cr_assert_not(core_symbol(name), "%s needs ember's %s", path, name);
			continue;
		}
		if ((bind != STB_GLOBAL && bind != STB_WEAK) || coverage_bound(name))
			continue;
		cr_assert_str_eq(name, "ember_plugin_entry", "%s exports %s", path, name);
		cr_assert_eq(ELF64_ST_TYPE(s->st_info), STT_FUNC);
		exported++;
	}
	cr_assert_eq(exported, 1, "%s exports %u symbols", path, exported);
	dynamic = find_section(&f, SHT_DYNAMIC);
	cr_assert_not_null(dynamic);
	for (const Elf64_Dyn *d = (const Elf64_Dyn *)(const void *)(f.base + dynamic->sh_offset);
	     d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_NEEDED)
			cr_assert(
			    allowed_library(str_at(&f, &f.sh[dynamic->sh_link], d->d_un.d_val)),
			    "%s needs %s", path,
			    str_at(&f, &f.sh[dynamic->sh_link], d->d_un.d_val));
	munmap((void *)(uintptr_t)f.base, f.size);
}

Test(exports, virtio_rng)
{
	check_plugin(EMBER_BUILD_ROOT "/plugins/virtio-rng.so");
}

Test(exports, pvpanic)
{
	check_plugin(EMBER_BUILD_ROOT "/plugins/pvpanic.so");
}

Test(exports, test_plugin)
{
	check_plugin(EMBER_BUILD_ROOT "/tests/unit/plugins/tp-good.so");
}
