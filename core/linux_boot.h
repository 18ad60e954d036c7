/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading a Linux x86-64 kernel (bzImage or ELF vmlinux), its initrd and command line into
 * guest RAM, and filling the zero page (struct boot_params, e820 map, ACPI RSDP pointer)
 * for the 64-bit boot protocol (Documentation/arch/x86/boot.rst).
 *
 * Runs once on the main thread before any vCPU starts. Errors come back as one line in err;
 * nothing here exits or aborts, whatever the files contain.
 */
#ifndef EMBER_LINUX_BOOT_H
#define EMBER_LINUX_BOOT_H

#include "guest_mem.h"

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>

struct linux_boot_info {
	uint64_t entry;		  /* 64-bit entry point (guest-physical) */
	uint64_t boot_params_gpa; /* goes in %rsi */
	uint64_t kernel_end;	  /* first byte after the kernel's init_size */
	uint64_t initrd_gpa;	  /* 0 when there is no initrd */
	uint64_t initrd_size;
};

/* A guest-physical range [gpa, gpa + size). */
struct linux_boot_range {
	uint64_t gpa;
	uint64_t size;
};

struct linux_boot_args {
	const char *kernel_path;
	const char *initrd_path; /* NULL: none */
	const char *cmdline;
	uint64_t rsdp_gpa;
	/* Ranges outside RAM the e820 map lists as reserved (device memory); may be NULL/0. */
	const struct linux_boot_range *reserved;
	size_t reserved_count;
};

int linux_boot_load(const struct guest_mem *mem, const struct linux_boot_args *args,
		    struct linux_boot_info *out, char *err, size_t err_size);

/*
 * Parts exposed for unit tests.
 */

/*
 * The e820 map for mem: low RAM, the reserved BIOS/ACPI area, RAM from 1 MiB and above 4 GiB,
 * plus each of reserved[0 .. reserved_count) as reserved (type 2), sorted by address. Writes
 * the lowest min(entries, max) entries to out and returns how many it wrote, or -EINVAL when a
 * reserved range is empty, wraps, or overlaps RAM, the BIOS area or another range (nothing
 * written), or -ENOSPC when the map would exceed E820_MAX_ENTRIES_ZEROPAGE entries.
 */
int linux_boot_e820(const struct guest_mem *mem, const struct linux_boot_range *reserved,
		    size_t reserved_count, struct boot_e820_entry *out, unsigned max);

/*
 * Places a kernel image (bzImage or ELF) from img into guest RAM and fills bp's setup header.
 * Returns 0 or -1 with a message in err.
 */
int linux_boot_place_kernel(const struct guest_mem *mem, const uint8_t *img, size_t len,
			    struct boot_params *bp, struct linux_boot_info *out, char *err,
			    size_t err_size);

/* Where an initrd of size bytes goes: the highest page-aligned spot that fits, or 0. */
uint64_t linux_boot_initrd_gpa(const struct guest_mem *mem, const struct boot_params *bp,
			       uint64_t kernel_end, uint64_t size);

#endif
