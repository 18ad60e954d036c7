/* SPDX-License-Identifier: Apache-2.0 */
#include "linux_boot.h"

#include "layout.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SETUP_HDR_OFFSET   0x1f1
#define HDRS_MAGIC	   0x53726448 /* "HdrS" */
#define BOOT_FLAG_MAGIC	   0xaa55
#define MIN_BOOT_PROTOCOL  0x020c /* xloadflags and the 64-bit entry point */
#define STARTUP_64_OFFSET  0x200
#define LOADER_UNDEFINED   0xff
#define DEFAULT_INITRD_MAX 0x37ffffffULL
#define PAGE_SIZE_4K	   0x1000ULL

static int fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	return -1;
}

#define E820_TYPE_RAM	   1
#define E820_TYPE_RESERVED 2

int linux_boot_e820(const struct guest_mem *mem, const struct linux_boot_range *reserved,
		    size_t reserved_count, struct boot_e820_entry *out, unsigned max)
{
	struct boot_e820_entry map[E820_MAX_ENTRIES_ZEROPAGE];
	unsigned n = 0;

	if (reserved_count > E820_MAX_ENTRIES_ZEROPAGE - 4)
		return -ENOSPC;
	map[n++] = (struct boot_e820_entry){0, LAYOUT_EBDA_START, E820_TYPE_RAM};
	/* The legacy BIOS area, where the ACPI tables live, must never become RAM. */
	map[n++] = (struct boot_e820_entry){LAYOUT_ACPI_GPA, LAYOUT_HIMEM_START - LAYOUT_ACPI_GPA,
					    E820_TYPE_RESERVED};
	map[n++] = (struct boot_e820_entry){
	    LAYOUT_HIMEM_START, mem->regions[0].size - LAYOUT_HIMEM_START, E820_TYPE_RAM};
	if (mem->count > 1)
		map[n++] = (struct boot_e820_entry){mem->regions[1].gpa, mem->regions[1].size,
						    E820_TYPE_RAM};
	/* Insertion sort: a handful of entries, and the RAM entries are already in order. */
	for (size_t i = 0; i < reserved_count; i++) {
		struct boot_e820_entry e = {reserved[i].gpa, reserved[i].size, E820_TYPE_RESERVED};
		uint64_t end;
		unsigned j = n++;

		if (e.size == 0 || __builtin_add_overflow(e.addr, e.size, &end))
			return -EINVAL;
		for (; j > 0 && map[j - 1].addr > e.addr; j--)
			map[j] = map[j - 1];
		map[j] = e;
	}
	/*
	 * A reserved range over RAM would make Linux treat guest RAM as a device's, or the other
	 * way round: refuse any overlap. Ends cannot wrap: checked above, and RAM ends below 2^47.
	 */
	for (unsigned i = 1; i < n; i++)
		if (map[i - 1].addr + map[i - 1].size > map[i].addr)
			return -EINVAL;
	if (n > max)
		n = max;
	memcpy(out, map, n * sizeof(map[0]));
	return (int)n;
}

static int place_bzimage(const struct guest_mem *mem, const uint8_t *img, size_t len,
			 struct boot_params *bp, struct linux_boot_info *out, char *err,
			 size_t err_size)
{
	struct setup_header hdr;
	size_t hdr_len, setup_sects, pm_off, pm_len;
	uint64_t load, span;
	void *dst;

	memcpy(&hdr, img + SETUP_HDR_OFFSET, sizeof(hdr));
	if (hdr.version < MIN_BOOT_PROTOCOL)
		return fail(err, err_size, "boot protocol %u.%02u is too old (need 2.12)",
			    hdr.version >> 8, hdr.version & 0xff);
	if (!(hdr.xloadflags & XLF_KERNEL_64))
		return fail(err, err_size, "kernel has no 64-bit entry point");
	setup_sects = hdr.setup_sects ? hdr.setup_sects : 4;
	pm_off = (setup_sects + 1) * 512;
	if (pm_off >= len)
		return fail(err, err_size, "truncated bzImage (setup is %zu bytes, file %zu)",
			    pm_off, len);
	pm_len = len - pm_off;
	load = hdr.relocatable_kernel && hdr.pref_address ? hdr.pref_address : LAYOUT_HIMEM_START;
	/* Below 1 MiB live the zero page, the command line and the boot page tables. */
	if (load < LAYOUT_HIMEM_START)
		return fail(err, err_size, "kernel asks to be loaded at %#llx, below 1 MiB",
			    (unsigned long long)load);
	span = hdr.init_size > pm_len ? hdr.init_size : pm_len;
	dst = guest_mem_ptr(mem, load, span);
	if (!dst)
		return fail(err, err_size,
			    "kernel needs %llu MiB at %#llx: more than the VM's memory",
			    (unsigned long long)(span >> 20), (unsigned long long)load);
	guest_mem_advise_huge(mem, load, span);
	memcpy(dst, img + pm_off, pm_len);

	/* The header's own length: 0x202 plus the jump offset stored at 0x201. */
	hdr_len = 0x202 + img[0x201] - SETUP_HDR_OFFSET;
	if (hdr_len > sizeof(bp->hdr))
		hdr_len = sizeof(bp->hdr);
	memcpy(&bp->hdr, img + SETUP_HDR_OFFSET, hdr_len);
	out->entry = load + STARTUP_64_OFFSET;
	out->kernel_end = load + span;
	return 0;
}

static int place_elf(const struct guest_mem *mem, const uint8_t *img, size_t len,
		     struct boot_params *bp, struct linux_boot_info *out, char *err,
		     size_t err_size)
{
	Elf64_Ehdr eh;
	uint64_t end = 0, ph_bytes, ph_last;
	unsigned loaded = 0;

	if (len < sizeof(eh))
		return fail(err, err_size, "truncated ELF header");
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return fail(err, err_size, "ELF kernel is not x86-64");
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return fail(err, err_size, "ELF program header size %u is wrong", eh.e_phentsize);
	ph_bytes = (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr);
	if (__builtin_add_overflow(eh.e_phoff, ph_bytes, &ph_last) || ph_last > len)
		return fail(err, err_size, "ELF program headers lie outside the file");
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t file_end, mem_end;
		uint8_t *dst;

		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz ||
		    __builtin_add_overflow(ph.p_offset, ph.p_filesz, &file_end) || file_end > len)
			return fail(err, err_size, "ELF segment %u lies outside the file", i);
		dst = guest_mem_ptr(mem, ph.p_paddr, ph.p_memsz);
		if (!dst || ph.p_paddr < LAYOUT_HIMEM_START)
			return fail(err, err_size,
				    "ELF segment %u (%#llx, %llu bytes) does not fit in guest RAM",
				    i, (unsigned long long)ph.p_paddr,
				    (unsigned long long)ph.p_memsz);
		guest_mem_advise_huge(mem, ph.p_paddr, ph.p_memsz);
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		mem_end = ph.p_paddr + ph.p_memsz;
		if (mem_end > end)
			end = mem_end;
		loaded++;
	}
	if (!loaded)
		return fail(err, err_size, "ELF kernel has no loadable segment");
	if (!guest_mem_ptr(mem, eh.e_entry, 1))
		return fail(err, err_size, "ELF entry point %#llx is not in guest RAM",
			    (unsigned long long)eh.e_entry);
	/* A vmlinux has no setup header: give the kernel the fields a bzImage would carry. */
	bp->hdr.boot_flag = BOOT_FLAG_MAGIC;
	bp->hdr.header = HDRS_MAGIC;
	bp->hdr.version = MIN_BOOT_PROTOCOL;
	bp->hdr.kernel_alignment = 0x1000000;
	bp->hdr.initrd_addr_max = DEFAULT_INITRD_MAX;
	out->entry = eh.e_entry;
	out->kernel_end = end;
	return 0;
}

int linux_boot_place_kernel(const struct guest_mem *mem, const uint8_t *img, size_t len,
			    struct boot_params *bp, struct linux_boot_info *out, char *err,
			    size_t err_size)
{
	if (len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0)
		return place_elf(mem, img, len, bp, out, err, err_size);
	if (len >= SETUP_HDR_OFFSET + sizeof(struct setup_header)) {
		uint16_t boot_flag;
		uint32_t magic;

		memcpy(&boot_flag, img + 0x1fe, sizeof(boot_flag));
		memcpy(&magic, img + 0x202, sizeof(magic));
		if (boot_flag == BOOT_FLAG_MAGIC && magic == HDRS_MAGIC)
			return place_bzimage(mem, img, len, bp, out, err, err_size);
	}
	return fail(err, err_size, "not a bzImage or an ELF vmlinux");
}

uint64_t linux_boot_initrd_gpa(const struct guest_mem *mem, const struct boot_params *bp,
			       uint64_t kernel_end, uint64_t size)
{
	uint64_t top = mem->regions[0].size;
	uint64_t max = bp->hdr.initrd_addr_max ? bp->hdr.initrd_addr_max : DEFAULT_INITRD_MAX;
	uint64_t floor = (kernel_end + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
	uint64_t gpa;

	if (max < UINT64_MAX && top > max + 1)
		top = max + 1;
	if (size == 0 || size > top)
		return 0;
	gpa = (top - size) & ~(PAGE_SIZE_4K - 1);
	return gpa >= floor ? gpa : 0;
}

static int map_file(const char *path, const uint8_t **data, size_t *len, char *err, size_t err_size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		return fail(err, err_size, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return fail(err, err_size, "%s: not a non-empty regular file", path);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail(err, err_size, "%s: %s", path, strerror(errno));
	*data = p;
	*len = (size_t)st.st_size;
	return 0;
}

static int load_initrd(const struct guest_mem *mem, const char *path, struct boot_params *bp,
		       struct linux_boot_info *out, char *err, size_t err_size)
{
	const uint8_t *data;
	size_t len;
	uint64_t gpa;

	if (map_file(path, &data, &len, err, err_size))
		return -1;
	gpa = linux_boot_initrd_gpa(mem, bp, out->kernel_end, len);
	if (!gpa) {
		munmap((void *)(uintptr_t)data, len);
		return fail(err, err_size, "%s: initrd of %zu MiB does not fit in guest RAM", path,
			    len >> 20);
	}
	guest_mem_advise_huge(mem, gpa, len);
	guest_mem_write(mem, gpa, data, len);
	munmap((void *)(uintptr_t)data, len);
	bp->hdr.ramdisk_image = (uint32_t)gpa;
	bp->hdr.ramdisk_size = (uint32_t)len;
	bp->ext_ramdisk_image = (uint32_t)(gpa >> 32);
	bp->ext_ramdisk_size = (uint32_t)((uint64_t)len >> 32);
	out->initrd_gpa = gpa;
	out->initrd_size = len;
	return 0;
}

int linux_boot_load(const struct guest_mem *mem, const struct linux_boot_args *args,
		    struct linux_boot_info *out, char *err, size_t err_size)
{
	struct boot_params bp;
	const uint8_t *img;
	size_t img_len, cmd_len = strlen(args->cmdline);
	int rc;

	memset(&bp, 0, sizeof(bp));
	memset(out, 0, sizeof(*out));
	if (map_file(args->kernel_path, &img, &img_len, err, err_size))
		return -1;
	rc = linux_boot_place_kernel(mem, img, img_len, &bp, out, err, err_size);
	munmap((void *)(uintptr_t)img, img_len);
	if (rc) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		return fail(err, err_size, "%s: %s", args->kernel_path, why);
	}
	if (cmd_len + 1 > LAYOUT_CMDLINE_MAX ||
	    (bp.hdr.cmdline_size && cmd_len > bp.hdr.cmdline_size))
		return fail(err, err_size,
			    "command line of %zu bytes is longer than the kernel's %u", cmd_len,
			    bp.hdr.cmdline_size);
	guest_mem_write(mem, LAYOUT_CMDLINE_GPA, args->cmdline, cmd_len + 1);
	bp.hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE_GPA;
	bp.hdr.type_of_loader = LOADER_UNDEFINED;
	bp.hdr.vid_mode = 0xffff;
	if (args->initrd_path && load_initrd(mem, args->initrd_path, &bp, out, err, err_size))
		return -1;
	bp.acpi_rsdp_addr = args->rsdp_gpa;
	rc = linux_boot_e820(mem, args->reserved, args->reserved_count, bp.e820_table,
			     E820_MAX_ENTRIES_ZEROPAGE);
	if (rc < 0)
		return fail(err, err_size, "e820 map: %s",
			    rc == -ENOSPC ? "too many reserved ranges"
					  : "a reserved range is empty or overlaps RAM or another");
	bp.e820_entries = (uint8_t)rc;
	out->boot_params_gpa = LAYOUT_ZERO_PAGE_GPA;
	if (guest_mem_write(mem, LAYOUT_ZERO_PAGE_GPA, &bp, sizeof(bp)))
		return fail(err, err_size, "guest RAM too small for the zero page");
	return 0;
}
