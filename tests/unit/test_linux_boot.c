/* SPDX-License-Identifier: Apache-2.0 */
#include "guest_mem.h"
#include "layout.h"
#include "linux_boot.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define E820_TYPE_RAM	   1
#define E820_TYPE_RESERVED 2

/* Everything a bzImage test varies; the rest of the setup header is filled as a 6.x kernel. */
struct bz_params {
	uint8_t setup_sects;
	uint16_t version;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	size_t payload_len;
};

static const struct bz_params bz_default = {
    .setup_sects = 4,
    .version = 0x020f,
    .xloadflags = XLF_KERNEL_64,
    .relocatable = 1,
    .pref_address = 0x1000000,
    .init_size = 0x400000,
    .cmdline_size = 2047,
    .initrd_addr_max = 0x7fffffff,
    .payload_len = 0x3000,
};

static uint8_t payload_byte(size_t i)
{
	return (uint8_t)(i * 31 + 7);
}

/* Builds a synthetic bzImage in a fresh allocation; *len gets its size. */
static uint8_t *make_bzimage(const struct bz_params *p, size_t *len)
{
	size_t setup = ((size_t)(p->setup_sects ? p->setup_sects : 4) + 1) * 512;
	struct setup_header h;
	uint8_t *img;

	*len = setup + p->payload_len;
	img = calloc(1, *len);
	cr_assert_not_null(img);
	memset(&h, 0, sizeof(h));
	h.setup_sects = p->setup_sects;
	h.boot_flag = 0xaa55;
	h.jump = 0x6aeb; /* jmp 0x26c: the header is 0x7b bytes */
	h.header = 0x53726448;
	h.version = p->version;
	h.loadflags = 0x01;
	h.initrd_addr_max = p->initrd_addr_max;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = p->relocatable;
	h.xloadflags = p->xloadflags;
	h.cmdline_size = p->cmdline_size;
	h.pref_address = p->pref_address;
	h.init_size = p->init_size;
	memcpy(img + 0x1f1, &h, sizeof(h));
	for (size_t i = 0; i < p->payload_len; i++)
		img[setup + i] = payload_byte(i);
	return img;
}

static void init_mem(struct guest_mem *m, uint64_t size)
{
	cr_assert_eq(guest_mem_init(m, size), 0);
}

/* -- e820 */

static void check_e820_sane(const struct boot_e820_entry *e, int n)
{
	for (int i = 0; i < n; i++) {
		cr_assert_gt(e[i].size, 0);
		cr_assert(e[i].type == E820_TYPE_RAM || e[i].type == E820_TYPE_RESERVED);
		if (i)
			cr_assert_leq(e[i - 1].addr + e[i - 1].size, e[i].addr,
				      "e820 entries %u and %u overlap or are unsorted", i - 1, i);
		/* No RAM over the ACPI tables or in the MMIO hole. */
		if (e[i].type == E820_TYPE_RAM) {
			cr_assert(e[i].addr + e[i].size <= LAYOUT_ACPI_GPA ||
				  e[i].addr >= LAYOUT_ACPI_GPA + LAYOUT_ACPI_SIZE);
			cr_assert(e[i].addr + e[i].size <= LAYOUT_MMIO_GAP_START ||
				  e[i].addr >= LAYOUT_MMIO_GAP_END);
		}
	}
}

Test(linux_boot, e820_256m)
{
	struct guest_mem m;
	struct boot_e820_entry e[8];
	int n;

	init_mem(&m, 256 * MiB);
	memset(e, 0xee, sizeof(e));
	n = linux_boot_e820(&m, NULL, 0, e, 8);
	cr_assert_eq(n, 3);
	check_e820_sane(e, n);
	cr_assert_eq(e[0].addr, 0);
	cr_assert_eq(e[0].size, LAYOUT_EBDA_START);
	cr_assert_eq(e[0].type, E820_TYPE_RAM);
	cr_assert_eq(e[1].addr, LAYOUT_ACPI_GPA);
	cr_assert_eq(e[1].addr + e[1].size, LAYOUT_HIMEM_START);
	cr_assert_eq(e[1].type, E820_TYPE_RESERVED);
	cr_assert_eq(e[2].addr, 1 * MiB);
	cr_assert_eq(e[2].size, 255 * MiB);
	cr_assert_eq(e[2].type, E820_TYPE_RAM);
	/* Nothing past the entries it reported. */
	cr_assert_eq(e[3].type, 0xeeeeeeeeu);
	guest_mem_free(&m);
}

Test(linux_boot, e820_4g)
{
	struct guest_mem m;
	struct boot_e820_entry e[8];
	int n;
	uint64_t ram = 0;

	init_mem(&m, 4 * GiB);
	n = linux_boot_e820(&m, NULL, 0, e, 8);
	cr_assert_eq(n, 4);
	check_e820_sane(e, n);
	cr_assert_eq(e[1].type, E820_TYPE_RESERVED);
	cr_assert_leq(e[1].addr, LAYOUT_ACPI_GPA);
	cr_assert_geq(e[1].addr + e[1].size, LAYOUT_ACPI_GPA + LAYOUT_ACPI_SIZE);
	cr_assert_eq(e[2].addr, 1 * MiB);
	cr_assert_eq(e[2].addr + e[2].size, 3 * GiB);
	cr_assert_eq(e[2].type, E820_TYPE_RAM);
	cr_assert_eq(e[3].addr, 4 * GiB);
	cr_assert_eq(e[3].size, 1 * GiB);
	cr_assert_eq(e[3].type, E820_TYPE_RAM);
	for (int i = 0; i < n; i++)
		if (e[i].type == E820_TYPE_RAM)
			ram += e[i].size;
	/* All RAM but the BIOS area below 1 MiB is reported. */
	cr_assert_eq(ram, 4 * GiB - (LAYOUT_HIMEM_START - LAYOUT_EBDA_START));
	guest_mem_free(&m);
}

Test(linux_boot, e820_respects_max)
{
	struct guest_mem m;
	struct boot_e820_entry e[4];

	init_mem(&m, 4 * GiB);
	memset(e, 0xee, sizeof(e));
	cr_assert_eq(linux_boot_e820(&m, NULL, 0, e, 2), 2);
	cr_assert_eq(e[2].type, 0xeeeeeeeeu);
	cr_assert_eq(e[3].type, 0xeeeeeeeeu);
	guest_mem_free(&m);
}

/* Device memory sits in the MMIO hole: each range becomes a reserved entry, in address order. */
Test(linux_boot, e820_lists_reserved_ranges_sorted)
{
	const struct linux_boot_range devmem[] = {
	    {LAYOUT_DEVICE_MEM_GPA + 0x3000, 0x1000},
	    {LAYOUT_DEVICE_MEM_GPA, 0x2000},
	};
	struct guest_mem m;
	struct boot_e820_entry e[8];
	int n;

	init_mem(&m, 4 * GiB);
	memset(e, 0xee, sizeof(e));
	n = linux_boot_e820(&m, devmem, 2, e, 8);
	cr_assert_eq(n, 6);
	check_e820_sane(e, n);
	cr_assert_eq(e[2].addr, 1 * MiB);
	cr_assert_eq(e[2].addr + e[2].size, 3 * GiB);
	cr_assert_eq(e[3].addr, LAYOUT_DEVICE_MEM_GPA);
	cr_assert_eq(e[3].size, 0x2000);
	cr_assert_eq(e[3].type, E820_TYPE_RESERVED);
	cr_assert_eq(e[4].addr, LAYOUT_DEVICE_MEM_GPA + 0x3000);
	cr_assert_eq(e[4].size, 0x1000);
	cr_assert_eq(e[4].type, E820_TYPE_RESERVED);
	cr_assert_eq(e[5].addr, 4 * GiB);
	cr_assert_eq(e[5].type, E820_TYPE_RAM);
	cr_assert_eq(e[6].type, 0xeeeeeeeeu);
	/* With 256 MiB the reserved range comes last, and max still cuts from the top. */
	guest_mem_free(&m);
	init_mem(&m, 256 * MiB);
	cr_assert_eq(linux_boot_e820(&m, devmem + 1, 1, e, 8), 4);
	cr_assert_eq(e[3].addr, LAYOUT_DEVICE_MEM_GPA);
	cr_assert_eq(linux_boot_e820(&m, devmem, 2, e, 3), 3);
	cr_assert_eq(e[2].addr, 1 * MiB);
	guest_mem_free(&m);
}

Test(linux_boot, e820_refuses_bad_reserved_ranges)
{
	const struct linux_boot_range bad[][2] = {
	    {{LAYOUT_DEVICE_MEM_GPA, 0}},   /* empty */
	    {{UINT64_MAX - 0xfff, 0x2000}}, /* wraps */
	    {{3 * GiB - 0x1000, 0x2000}},   /* into low RAM */
	    {{5 * GiB - 0x1000, 0x1000}},   /* inside high RAM */
	    {{LAYOUT_ACPI_GPA, 0x1000}},    /* over the BIOS area */
	    {{LAYOUT_DEVICE_MEM_GPA, 0x2000},
	     {LAYOUT_DEVICE_MEM_GPA + 0x1000, 0x1000}}, /* overlap */
	};
	struct guest_mem m;
	struct boot_e820_entry e[8];

	init_mem(&m, 4 * GiB);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t count = bad[i][1].size ? 2 : 1;

		memset(e, 0xee, sizeof(e));
		cr_assert_eq(linux_boot_e820(&m, bad[i], count, e, 8), -EINVAL, "case %zu", i);
		cr_assert_eq(e[0].type, 0xeeeeeeeeu, "case %zu wrote the map", i);
	}
	cr_assert_eq(linux_boot_e820(&m, bad[0], 200, e, 8), -ENOSPC);
	guest_mem_free(&m);
}

/* -- bzImage */

Test(linux_boot, bzimage_placed_at_pref_address)
{
	struct guest_mem m;
	struct boot_params bp;
	struct linux_boot_info info = {0};
	char err[256] = "";
	size_t len;
	uint8_t *img = make_bzimage(&bz_default, &len);
	const uint8_t *k;

	init_mem(&m, 256 * MiB);
	memset(&bp, 0, sizeof(bp));
	cr_assert_eq(linux_boot_place_kernel(&m, img, len, &bp, &info, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(info.entry, 0x1000000 + 0x200);
	cr_assert_eq(info.kernel_end, 0x1000000 + 0x400000);
	k = guest_mem_ptr(&m, 0x1000000, bz_default.payload_len);
	cr_assert_not_null(k);
	for (size_t i = 0; i < bz_default.payload_len; i++)
		cr_assert_eq(k[i], payload_byte(i), "byte %zu of the kernel", i);
	/* The setup sectors themselves are not loaded. */
	cr_assert_eq(*(const uint8_t *)guest_mem_ptr(&m, 0x1000000 + bz_default.payload_len, 1), 0);
	/* The setup header is copied into boot_params. */
	cr_assert_eq(memcmp(&bp.hdr, img + 0x1f1, sizeof(bp.hdr)), 0);
	cr_assert_eq(bp.hdr.boot_flag, 0xaa55);
	cr_assert_eq(bp.hdr.header, 0x53726448);
	cr_assert_eq(bp.hdr.version, 0x020f);
	cr_assert_eq(bp.hdr.init_size, 0x400000);
	cr_assert_eq(bp.hdr.pref_address, 0x1000000);
	cr_assert_eq(bp.hdr.cmdline_size, 2047);
	free(img);
	guest_mem_free(&m);
}

Test(linux_boot, bzimage_setup_offset_and_payload_bigger_than_init_size)
{
	struct guest_mem m;
	struct boot_params bp;
	struct linux_boot_info info = {0};
	char err[256] = "";
	struct bz_params p = bz_default;
	size_t len;
	uint8_t *img;
	const uint8_t *k;

	/* 0 setup sectors means 4; a payload larger than init_size sets the kernel's end. */
	p.setup_sects = 0;
	p.init_size = 0x1000;
	p.payload_len = 0x2345;
	img = make_bzimage(&p, &len);
	cr_assert_eq(len, 5 * 512 + 0x2345);
	init_mem(&m, 64 * MiB);
	memset(&bp, 0, sizeof(bp));
	cr_assert_eq(linux_boot_place_kernel(&m, img, len, &bp, &info, err, sizeof(err)), 0, "%s",
		     err);
	k = guest_mem_ptr(&m, 0x1000000, p.payload_len);
	cr_assert_not_null(k);
	cr_assert_eq(k[0], payload_byte(0));
	cr_assert_eq(k[p.payload_len - 1], payload_byte(p.payload_len - 1));
	cr_assert_eq(info.kernel_end, 0x1000000 + 0x2345);
	free(img);

	/* 10 setup sectors: the protected-mode code starts at 11 * 512. */
	p = bz_default;
	p.setup_sects = 10;
	img = make_bzimage(&p, &len);
	memset(&bp, 0, sizeof(bp));
	cr_assert_eq(linux_boot_place_kernel(&m, img, len, &bp, &info, err, sizeof(err)), 0, "%s",
		     err);
	k = guest_mem_ptr(&m, 0x1000000, 2);
	cr_assert_eq(k[0], payload_byte(0));
	cr_assert_eq(k[1], payload_byte(1));
	cr_assert_eq(bp.hdr.setup_sects, 10);
	free(img);
	guest_mem_free(&m);
}

Test(linux_boot, bzimage_not_relocatable_loads_at_1m)
{
	struct guest_mem m;
	struct boot_params bp;
	struct linux_boot_info info = {0};
	char err[256] = "";
	struct bz_params p = bz_default;
	size_t len;
	uint8_t *img;

	p.relocatable = 0;
	img = make_bzimage(&p, &len);
	init_mem(&m, 64 * MiB);
	memset(&bp, 0, sizeof(bp));
	cr_assert_eq(linux_boot_place_kernel(&m, img, len, &bp, &info, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(info.entry, LAYOUT_HIMEM_START + 0x200);
	cr_assert_eq(*(const uint8_t *)guest_mem_ptr(&m, LAYOUT_HIMEM_START, 1), payload_byte(0));
	free(img);
	guest_mem_free(&m);
}

Test(linux_boot, bzimage_short_header_copies_only_its_length)
{
	struct guest_mem m;
	struct boot_params bp;
	struct linux_boot_info info = {0};
	char err[256] = "";
	size_t len;
	uint8_t *img = make_bzimage(&bz_default, &len);

	/* A jump of 0x5a: the header ends at 0x25c, inside pref_address and before init_size. */
	img[0x201] = 0x5a;
	init_mem(&m, 64 * MiB);
	memset(&bp, 0xcc, sizeof(bp));
	cr_assert_eq(linux_boot_place_kernel(&m, img, len, &bp, &info, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(bp.hdr.version, 0x020f);
	cr_assert_eq(bp.hdr.cmdline_size, 2047);
	/* init_size (at 0x260) is past the header's end: boot_params keeps what it had. */
	cr_assert_eq(bp.hdr.init_size, 0xccccccccu);
	/* The placement still used the full header. */
	cr_assert_eq(info.kernel_end, 0x1000000 + 0x400000);
	free(img);
	guest_mem_free(&m);
}

static void expect_refused(const uint8_t *img, size_t len, uint64_t ram, const char *why)
{
	struct guest_mem m;
	struct boot_params bp;
	struct linux_boot_info info = {0};
	char err[256] = "";

	init_mem(&m, ram);
	memset(&bp, 0, sizeof(bp));
	cr_assert_eq(linux_boot_place_kernel(&m, img, len, &bp, &info, err, sizeof(err)), -1,
		     "expected a refusal mentioning \"%s\"", why);
	cr_assert(strstr(err, why), "message \"%s\" does not mention \"%s\"", err, why);
	guest_mem_free(&m);
}

Test(linux_boot, bzimage_refusals)
{
	struct bz_params p;
	size_t len;
	uint8_t *img;

	p = bz_default;
	p.version = 0x020b;
	img = make_bzimage(&p, &len);
	expect_refused(img, len, 256 * MiB, "too old");
	free(img);

	p = bz_default;
	p.xloadflags = 0x02;
	img = make_bzimage(&p, &len);
	expect_refused(img, len, 256 * MiB, "64-bit");
	free(img);

	/* 30 setup sectors announced, 4 present: nothing left for the kernel. */
	p = bz_default;
	img = make_bzimage(&p, &len);
	img[0x1f1] = 30;
	expect_refused(img, len, 256 * MiB, "truncated");
	/* Exactly the setup and not one byte of kernel. */
	img[0x1f1] = 4;
	expect_refused(img, 5 * 512, 256 * MiB, "truncated");
	free(img);

	p = bz_default;
	p.init_size = 0x10000000; /* 256 MiB at 16 MiB in a 256 MiB VM */
	img = make_bzimage(&p, &len);
	expect_refused(img, len, 256 * MiB, "more than");
	free(img);

	/* A kernel that would run into the MMIO hole. */
	p = bz_default;
	p.pref_address = LAYOUT_MMIO_GAP_START - 0x200000;
	img = make_bzimage(&p, &len);
	expect_refused(img, len, 4 * GiB, "more than");
	free(img);

	/* A pref_address inside the boot area would overwrite the zero page and page tables. */
	p = bz_default;
	p.pref_address = 0x8000;
	img = make_bzimage(&p, &len);
	expect_refused(img, len, 256 * MiB, "below 1 MiB");
	free(img);
}

Test(linux_boot, garbage_refused)
{
	uint8_t junk[4096];
	size_t len;
	uint8_t *img;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 17);
	expect_refused(junk, sizeof(junk), 64 * MiB, "not a bzImage");
	expect_refused(junk, 1, 64 * MiB, "not a bzImage");
	memset(junk, 0, sizeof(junk));
	expect_refused(junk, sizeof(junk), 64 * MiB, "not a bzImage");

	/* The boot flag without "HdrS", and "HdrS" without the boot flag. */
	img = make_bzimage(&bz_default, &len);
	img[0x202] = 'X';
	expect_refused(img, len, 64 * MiB, "not a bzImage");
	img[0x202] = 'H';
	img[0x1fe] = 0;
	expect_refused(img, len, 64 * MiB, "not a bzImage");
	/* A header cut short. */
	img[0x1fe] = 0x55;
	expect_refused(img, 0x200, 64 * MiB, "not a bzImage");
	free(img);

	/* The ELF magic and nothing else. */
	memcpy(junk, ELFMAG, SELFMAG);
	expect_refused(junk, SELFMAG + 4, 64 * MiB, "truncated ELF");
}

/* -- ELF vmlinux */

struct elf_image {
	uint8_t bytes[0x3000];
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
};

/* Two PT_LOAD segments and a PT_NOTE; the second has a .bss (p_memsz > p_filesz). */
static void make_elf(struct elf_image *e)
{
	Elf64_Ehdr eh = {0};
	Elf64_Phdr ph[3] = {0};

	memset(e->bytes, 0, sizeof(e->bytes));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = 0x1000080;
	eh.e_phoff = sizeof(Elf64_Ehdr);
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 3;
	ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
			     .p_offset = 0x1000,
			     .p_vaddr = 0xffffffff81000000ULL,
			     .p_paddr = 0x1000000,
			     .p_filesz = 0x800,
			     .p_memsz = 0x800};
	/* A note with a bogus offset: not PT_LOAD, so never read. */
	ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0xffffffffffff0000ULL, .p_filesz = 64};
	ph[2] = (Elf64_Phdr){.p_type = PT_LOAD,
			     .p_offset = 0x2000,
			     .p_vaddr = 0xffffffff81200000ULL,
			     .p_paddr = 0x1200000,
			     .p_filesz = 0x100,
			     .p_memsz = 0x3000};
	memcpy(e->bytes, &eh, sizeof(eh));
	memcpy(e->bytes + sizeof(eh), ph, sizeof(ph));
	for (size_t i = 0; i < 0x800; i++)
		e->bytes[0x1000 + i] = payload_byte(i);
	for (size_t i = 0; i < 0x100; i++)
		e->bytes[0x2000 + i] = (uint8_t)~payload_byte(i);
	e->eh = (Elf64_Ehdr *)e->bytes;
	e->ph = (Elf64_Phdr *)(e->bytes + sizeof(eh));
}

Test(linux_boot, elf_loads_segments_at_paddr)
{
	struct guest_mem m;
	struct boot_params bp;
	struct linux_boot_info info = {0};
	char err[256] = "";
	static struct elf_image e;
	const uint8_t *seg;

	make_elf(&e);
	init_mem(&m, 64 * MiB);
	/* Old contents where the .bss goes, to see it zeroed. */
	memset(guest_mem_ptr(&m, 0x1200000, 0x4000), 0xcc, 0x4000);
	memset(&bp, 0, sizeof(bp));
	cr_assert_eq(
	    linux_boot_place_kernel(&m, e.bytes, sizeof(e.bytes), &bp, &info, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(info.entry, 0x1000080);
	cr_assert_eq(info.kernel_end, 0x1203000);
	seg = guest_mem_ptr(&m, 0x1000000, 0x800);
	for (size_t i = 0; i < 0x800; i++)
		cr_assert_eq(seg[i], payload_byte(i), "segment 0 byte %zu", i);
	seg = guest_mem_ptr(&m, 0x1200000, 0x4000);
	for (size_t i = 0; i < 0x100; i++)
		cr_assert_eq(seg[i], (uint8_t)~payload_byte(i), "segment 2 byte %zu", i);
	for (size_t i = 0x100; i < 0x3000; i++)
		cr_assert_eq(seg[i], 0, "segment 2 .bss byte %#zx not zeroed", i);
	/* Past p_memsz is left alone. */
	cr_assert_eq(seg[0x3000], 0xcc);
	/* A vmlinux gets a made-up setup header. */
	cr_assert_eq(bp.hdr.boot_flag, 0xaa55);
	cr_assert_eq(bp.hdr.header, 0x53726448);
	cr_assert_geq(bp.hdr.version, 0x020c);
	cr_assert_neq(bp.hdr.initrd_addr_max, 0);
	guest_mem_free(&m);
}

static void expect_elf_refused(struct elf_image *e, size_t len, const char *why)
{
	expect_refused(e->bytes, len, 64 * MiB, why);
	make_elf(e);
}

Test(linux_boot, elf_refusals)
{
	static struct elf_image e;

	make_elf(&e);
	/* Segment data past the end of the file. */
	e.ph[2].p_filesz = 0x1001;
	e.ph[2].p_memsz = 0x2000;
	expect_elf_refused(&e, sizeof(e.bytes), "outside the file");
	expect_elf_refused(&e, 0x2080, "outside the file");
	/* p_offset + p_filesz wraps. */
	e.ph[0].p_offset = UINT64_MAX - 0x10;
	expect_elf_refused(&e, sizeof(e.bytes), "outside the file");
	/* More file data than memory. */
	e.ph[0].p_memsz = 0x7ff;
	expect_elf_refused(&e, sizeof(e.bytes), "outside the file");
	/* Segments beyond RAM, across its end, wrapping, and below 1 MiB. */
	e.ph[2].p_paddr = 64 * MiB;
	expect_elf_refused(&e, sizeof(e.bytes), "does not fit");
	e.ph[2].p_paddr = 64 * MiB - 0x1000;
	expect_elf_refused(&e, sizeof(e.bytes), "does not fit");
	e.ph[2].p_paddr = UINT64_MAX - 0x100;
	expect_elf_refused(&e, sizeof(e.bytes), "does not fit");
	e.ph[0].p_paddr = LAYOUT_ZERO_PAGE_GPA;
	expect_elf_refused(&e, sizeof(e.bytes), "does not fit");
	/* Wrong machine or class. */
	e.eh->e_machine = EM_386;
	expect_elf_refused(&e, sizeof(e.bytes), "not x86-64");
	e.eh->e_ident[EI_CLASS] = ELFCLASS32;
	expect_elf_refused(&e, sizeof(e.bytes), "not x86-64");
	/* Program header size and table bounds. */
	e.eh->e_phentsize = sizeof(Elf64_Phdr) - 8;
	expect_elf_refused(&e, sizeof(e.bytes), "program header size");
	e.eh->e_phentsize = sizeof(Elf64_Phdr) + 8;
	expect_elf_refused(&e, sizeof(e.bytes), "program header size");
	e.eh->e_phoff = sizeof(e.bytes) - sizeof(Elf64_Phdr);
	expect_elf_refused(&e, sizeof(e.bytes), "program headers");
	e.eh->e_phoff = UINT64_MAX - 8;
	expect_elf_refused(&e, sizeof(e.bytes), "program headers");
	/* Nothing to load, or an entry point outside RAM. */
	e.ph[0].p_type = PT_NULL;
	e.ph[2].p_memsz = 0;
	e.ph[2].p_filesz = 0;
	expect_elf_refused(&e, sizeof(e.bytes), "no loadable segment");
	e.eh->e_entry = 0xffffffff81000000ULL;
	expect_elf_refused(&e, sizeof(e.bytes), "entry point");
	e.eh->e_entry = LAYOUT_MMIO_GAP_START;
	expect_elf_refused(&e, sizeof(e.bytes), "entry point");
	/* A truncated header. */
	expect_elf_refused(&e, sizeof(Elf64_Ehdr) - 1, "truncated ELF header");
}

/* -- initrd placement */

static void check_initrd(const struct guest_mem *m, uint32_t addr_max, uint64_t kernel_end,
			 uint64_t size)
{
	struct boot_params bp;
	uint64_t gpa, max = addr_max ? addr_max : 0x37ffffff;

	memset(&bp, 0, sizeof(bp));
	bp.hdr.initrd_addr_max = addr_max;
	gpa = linux_boot_initrd_gpa(m, &bp, kernel_end, size);
	cr_assert_neq(gpa, 0, "initrd of %#llx bytes not placed", (unsigned long long)size);
	cr_assert_eq(gpa & 0xfff, 0, "initrd at %#llx is not page aligned",
		     (unsigned long long)gpa);
	cr_assert_geq(gpa, kernel_end);
	cr_assert_leq(gpa + size - 1, max);
	cr_assert_leq(gpa + size, LAYOUT_MMIO_GAP_START);
	cr_assert_not_null(guest_mem_ptr(m, gpa, size));
	/* As high as it goes: one page up would not fit any more. */
	cr_assert(gpa + 0x1000 + size - 1 > max || gpa + 0x1000 + size > m->regions[0].size,
		  "initrd at %#llx is not placed as high as possible", (unsigned long long)gpa);
}

Test(linux_boot, initrd_placement)
{
	struct guest_mem small, big;
	struct boot_params bp;

	init_mem(&small, 256 * MiB);
	init_mem(&big, 4 * GiB);
	check_initrd(&small, 0x7fffffff, 0x1400000, 0x1234);
	cr_assert_eq(linux_boot_initrd_gpa(&small,
					   &(struct boot_params){.hdr.initrd_addr_max = 0x7fffffff},
					   0x1400000, 0x1234),
		     (256 * MiB - 0x1234) & ~0xfffULL);
	check_initrd(&small, 0x7fffffff, 0x1400000, 16 * MiB);
	check_initrd(&small, 0, 0x1400000, 0x10000);
	/* initrd_addr_max below the top of RAM caps the placement. */
	check_initrd(&small, 0x3ffffff, 0x1400000, 0x10000);
	cr_assert_eq(linux_boot_initrd_gpa(&small,
					   &(struct boot_params){.hdr.initrd_addr_max = 0x3ffffff},
					   0x1400000, 0x10000),
		     0x4000000 - 0x10000);
	/* With 4 GiB it stays below the hole even when the kernel allows all of 32 bits. */
	check_initrd(&big, 0xffffffff, 0x1400000, 0x100000);
	check_initrd(&big, 0x7fffffff, 0x1400000, 0x100000);
	check_initrd(&big, 0, 0x1400000, 0x100000);
	cr_assert_eq(linux_boot_initrd_gpa(&big, &(struct boot_params){.hdr.initrd_addr_max = 0},
					   0x1400000, 0x100000),
		     0x38000000 - 0x100000);
	/* Exactly fills the space after the kernel, rounded up to a page. */
	memset(&bp, 0, sizeof(bp));
	bp.hdr.initrd_addr_max = 0xffffffff;
	cr_assert_eq(linux_boot_initrd_gpa(&small, &bp, 254 * MiB, 2 * MiB), 254 * MiB);
	cr_assert_eq(linux_boot_initrd_gpa(&small, &bp, 254 * MiB - 100, 2 * MiB), 254 * MiB);
	/* Cannot fit: 0. */
	cr_assert_eq(linux_boot_initrd_gpa(&small, &bp, 254 * MiB, 2 * MiB + 1), 0);
	cr_assert_eq(linux_boot_initrd_gpa(&small, &bp, 254 * MiB + 1, 2 * MiB), 0);
	cr_assert_eq(linux_boot_initrd_gpa(&small, &bp, 0x1400000, 256 * MiB), 0);
	cr_assert_eq(linux_boot_initrd_gpa(&small, &bp, 0x1400000, UINT64_MAX), 0);
	cr_assert_eq(linux_boot_initrd_gpa(&small, &bp, 0x1400000, 0), 0);
	cr_assert_eq(linux_boot_initrd_gpa(&big, &bp, 3 * GiB - 0x1000, 0x2000), 0);
	bp.hdr.initrd_addr_max = 0x3ffffff;
	cr_assert_eq(linux_boot_initrd_gpa(&small, &bp, 0x4000000, 0x1000), 0);
	guest_mem_free(&small);
	guest_mem_free(&big);
}

/* -- linux_boot_load, end to end */

static void write_temp(char *path, const void *data, size_t len)
{
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

Test(linux_boot, load_end_to_end)
{
	struct guest_mem m;
	struct boot_params bp;
	struct boot_e820_entry e820[8];
	struct linux_boot_info info;
	char kpath[] = "/tmp/ember-test-kernel-XXXXXX";
	char ipath[] = "/tmp/ember-test-initrd-XXXXXX";
	char err[512] = "";
	const char *cmdline = "console=ttyS0 reboot=k panic=-1";
	uint8_t initrd[0x2345];
	size_t klen;
	uint8_t *img = make_bzimage(&bz_default, &klen);
	int n;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
	write_temp(kpath, img, klen);
	write_temp(ipath, initrd, sizeof(initrd));
	init_mem(&m, 256 * MiB);
	memset(&info, 0xa5, sizeof(info));
	cr_assert_eq(linux_boot_load(&m,
				     &(struct linux_boot_args){.kernel_path = kpath,
							       .initrd_path = ipath,
							       .cmdline = cmdline,
							       .rsdp_gpa = 0xe0000},
				     &info, err, sizeof(err)),
		     0, "%s", err);
	unlink(kpath);
	unlink(ipath);

	cr_assert_eq(info.entry, 0x1000200);
	cr_assert_eq(info.boot_params_gpa, LAYOUT_ZERO_PAGE_GPA);
	cr_assert_eq(info.kernel_end, 0x1400000);
	cr_assert_eq(info.initrd_size, sizeof(initrd));
	cr_assert_eq(info.initrd_gpa, (256 * MiB - sizeof(initrd)) & ~0xfffULL);

	cr_assert_str_eq((const char *)guest_mem_ptr(&m, LAYOUT_CMDLINE_GPA, strlen(cmdline) + 1),
			 cmdline);
	cr_assert_eq(guest_mem_read(&m, LAYOUT_ZERO_PAGE_GPA, &bp, sizeof(bp)), 0);
	cr_assert_eq(bp.hdr.type_of_loader, 0xff);
	cr_assert_eq(bp.hdr.cmd_line_ptr, LAYOUT_CMDLINE_GPA);
	cr_assert_eq(bp.hdr.ramdisk_image, info.initrd_gpa);
	cr_assert_eq(bp.hdr.ramdisk_size, sizeof(initrd));
	cr_assert_eq(bp.ext_ramdisk_image, 0);
	cr_assert_eq(bp.ext_ramdisk_size, 0);
	cr_assert_eq(bp.acpi_rsdp_addr, 0xe0000);
	cr_assert_eq(bp.hdr.boot_flag, 0xaa55);
	cr_assert_eq(bp.hdr.header, 0x53726448);
	cr_assert_eq(bp.hdr.init_size, 0x400000);
	cr_assert_arr_eq(guest_mem_ptr(&m, info.initrd_gpa, sizeof(initrd)), initrd,
			 sizeof(initrd));
	cr_assert_eq(*(const uint8_t *)guest_mem_ptr(&m, 0x1000000, 1), payload_byte(0));

	n = linux_boot_e820(&m, NULL, 0, e820, 8);
	cr_assert_eq(bp.e820_entries, n);
	cr_assert_eq(bp.e820_entries, 3);
	cr_assert_eq(memcmp(bp.e820_table, e820, n * sizeof(e820[0])), 0);
	cr_assert_eq(bp.e820_table[2].addr, LAYOUT_HIMEM_START);
	cr_assert_eq(bp.e820_table[2].type, E820_TYPE_RAM);
	free(img);
	guest_mem_free(&m);
}

/* The zero page's e820 map carries the reserved ranges the caller gives (device memory). */
Test(linux_boot, load_reserves_device_memory_in_the_zero_page)
{
	const struct linux_boot_range devmem = {LAYOUT_DEVICE_MEM_GPA, 0x1000};
	const struct linux_boot_range over_ram = {0x2000000, 0x1000};
	struct guest_mem m;
	struct boot_params bp;
	struct linux_boot_info info;
	char kpath[] = "/tmp/ember-test-kernel-XXXXXX";
	char err[512] = "";
	size_t klen;
	uint8_t *img = make_bzimage(&bz_default, &klen);
	struct linux_boot_args args = {
	    .kernel_path = kpath, .cmdline = "", .reserved = &devmem, .reserved_count = 1};

	write_temp(kpath, img, klen);
	init_mem(&m, 256 * MiB);
	cr_assert_eq(linux_boot_load(&m, &args, &info, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(guest_mem_read(&m, LAYOUT_ZERO_PAGE_GPA, &bp, sizeof(bp)), 0);
	cr_assert_eq(bp.e820_entries, 4);
	cr_assert_eq(bp.e820_table[3].addr, LAYOUT_DEVICE_MEM_GPA);
	cr_assert_eq(bp.e820_table[3].size, 0x1000);
	cr_assert_eq(bp.e820_table[3].type, E820_TYPE_RESERVED);
	/* A range over RAM is refused with a message, not written into the map. */
	args.reserved = &over_ram;
	cr_assert_eq(linux_boot_load(&m, &args, &info, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "e820"), "%s", err);
	unlink(kpath);
	free(img);
	guest_mem_free(&m);
}

Test(linux_boot, load_without_initrd)
{
	struct guest_mem m;
	struct boot_params bp;
	struct linux_boot_info info;
	char kpath[] = "/tmp/ember-test-kernel-XXXXXX";
	char err[512] = "";
	size_t klen;
	uint8_t *img = make_bzimage(&bz_default, &klen);

	write_temp(kpath, img, klen);
	init_mem(&m, 4 * GiB);
	cr_assert_eq(linux_boot_load(&m,
				     &(struct linux_boot_args){
					 .kernel_path = kpath, .cmdline = "", .rsdp_gpa = 0xe0010},
				     &info, err, sizeof(err)),
		     0, "%s", err);
	unlink(kpath);
	cr_assert_eq(info.initrd_gpa, 0);
	cr_assert_eq(info.initrd_size, 0);
	cr_assert_eq(guest_mem_read(&m, LAYOUT_ZERO_PAGE_GPA, &bp, sizeof(bp)), 0);
	cr_assert_eq(bp.hdr.ramdisk_image, 0);
	cr_assert_eq(bp.hdr.ramdisk_size, 0);
	cr_assert_eq(bp.acpi_rsdp_addr, 0xe0010);
	cr_assert_eq(bp.e820_entries, 4);
	cr_assert_eq(bp.e820_table[3].addr, 4 * GiB);
	cr_assert_eq(*(const char *)guest_mem_ptr(&m, LAYOUT_CMDLINE_GPA, 1), '\0');
	free(img);
	guest_mem_free(&m);
}

Test(linux_boot, load_refuses_long_cmdline)
{
	struct guest_mem m;
	struct linux_boot_info info;
	char kpath[] = "/tmp/ember-test-kernel-XXXXXX";
	char err[512] = "";
	char cmdline[64];
	struct bz_params p = bz_default;
	size_t klen;
	uint8_t *img;

	p.cmdline_size = 16;
	img = make_bzimage(&p, &klen);
	write_temp(kpath, img, klen);
	init_mem(&m, 64 * MiB);

	/* 16 characters fit (cmdline_size does not count the NUL), 17 do not. */
	memset(cmdline, 'a', 16);
	cmdline[16] = '\0';
	cr_assert_eq(
	    linux_boot_load(&m, &(struct linux_boot_args){.kernel_path = kpath, .cmdline = cmdline},
			    &info, err, sizeof(err)),
	    0, "%s", err);
	cmdline[16] = 'b';
	cmdline[17] = '\0';
	err[0] = '\0';
	cr_assert_eq(
	    linux_boot_load(&m, &(struct linux_boot_args){.kernel_path = kpath, .cmdline = cmdline},
			    &info, err, sizeof(err)),
	    -1);
	cr_assert(strstr(err, "command line"), "%s", err);
	unlink(kpath);
	free(img);
	guest_mem_free(&m);
}

Test(linux_boot, load_refusals)
{
	struct guest_mem m;
	struct linux_boot_info info;
	char kpath[] = "/tmp/ember-test-kernel-XXXXXX";
	char ipath[] = "/tmp/ember-test-initrd-XXXXXX";
	char epath[] = "/tmp/ember-test-empty-XXXXXX";
	char err[512] = "";
	static uint8_t initrd[4 * MiB];
	struct bz_params p = bz_default;
	size_t klen;
	uint8_t *img;

	/* The kernel's init_size leaves 2 MiB of a 32 MiB VM: a 4 MiB initrd cannot fit. */
	p.init_size = 14 * MiB;
	img = make_bzimage(&p, &klen);
	write_temp(kpath, img, klen);
	write_temp(ipath, initrd, sizeof(initrd));
	write_temp(epath, "", 0);
	init_mem(&m, 32 * MiB);

	cr_assert_eq(linux_boot_load(&m,
				     &(struct linux_boot_args){.kernel_path = kpath,
							       .initrd_path = ipath,
							       .cmdline = "x"},
				     &info, err, sizeof(err)),
		     -1);
	cr_assert(strstr(err, ipath) && strstr(err, "does not fit"), "%s", err);

	cr_assert_eq(
	    linux_boot_load(&m, &(struct linux_boot_args){.kernel_path = epath, .cmdline = "x"},
			    &info, err, sizeof(err)),
	    -1);
	cr_assert(strstr(err, epath), "%s", err);

	cr_assert_eq(linux_boot_load(&m,
				     &(struct linux_boot_args){
					 .kernel_path = "/nonexistent/vmlinuz", .cmdline = "x"},
				     &info, err, sizeof(err)),
		     -1);
	cr_assert(strstr(err, "/nonexistent/vmlinuz"), "%s", err);

	cr_assert_eq(
	    linux_boot_load(&m, &(struct linux_boot_args){.kernel_path = "/tmp", .cmdline = "x"},
			    &info, err, sizeof(err)),
	    -1);
	cr_assert(strstr(err, "regular file"), "%s", err);

	/* A kernel refusal names the file and says why. */
	cr_assert_eq(
	    linux_boot_load(&m, &(struct linux_boot_args){.kernel_path = ipath, .cmdline = "x"},
			    &info, err, sizeof(err)),
	    -1);
	cr_assert(strstr(err, ipath) && strstr(err, "not a bzImage"), "%s", err);

	unlink(kpath);
	unlink(ipath);
	unlink(epath);
	free(img);
	guest_mem_free(&m);
}
