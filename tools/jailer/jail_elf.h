/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a dynamically linked program needs inside the jail, read from its ELF files (no ldd):
 * the program interpreter (PT_INTERP) and the DT_NEEDED libraries, found the way the dynamic
 * loader finds them (DT_RPATH when there is no DT_RUNPATH, then DT_RUNPATH, with $ORIGIN, then
 * the standard folders JAIL_ELF_STD_DIRS), and the same for each library found, recursively.
 * Only 64-bit little-endian ELF files are read; every offset and size in them is checked
 * against the file's size, so a truncated or corrupt file is refused with a message.
 */
#ifndef EMBER_JAIL_ELF_H
#define EMBER_JAIL_ELF_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define JAIL_ELF_MAX_NEEDED 64
#define JAIL_ELF_NAME_MAX   256
#define JAIL_ELF_MAX_LIBS   128
/* Where the loader looks last (Debian's multiarch layout first), in its order. */
#define JAIL_ELF_STD_DIRS                                                                     \
	{                                                                                     \
		"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", \
		    "/lib", "/usr/lib"                                                        \
	}

struct jail_elf {
	uint16_t machine;
	int dynamic;	       /* has a PT_DYNAMIC segment */
	char interp[PATH_MAX]; /* "" when there is no PT_INTERP */
	char needed[JAIL_ELF_MAX_NEEDED][JAIL_ELF_NAME_MAX];
	size_t nneeded;
	char rpath[PATH_MAX]; /* "" when absent; ':'-separated */
	char runpath[PATH_MAX];
};

/* Parses the ELF image buf[0..size) into *out. -1 with a message (no file name) otherwise. */
int jail_elf_parse(const uint8_t *buf, size_t size, struct jail_elf *out, char *err,
		   size_t err_size);

/* jail_elf_parse on the file path; the message names the file. */
int jail_elf_read(const char *path, struct jail_elf *out, char *err, size_t err_size);

/*
 * The libraries (and interpreters) that the ELF files roots[0..nroots) need, directly or through
 * each other, as absolute host paths (as found, before any symlink is followed: the jail gets
 * each at that same path), each once, into paths[0..*count). A root that is no ELF file, or a
 * library found nowhere, is an error naming it (and who needs it).
 */
int jail_elf_closure(const char *const *roots, size_t nroots, char (*paths)[PATH_MAX],
		     size_t max_paths, size_t *count, char *err, size_t err_size);

#endif
