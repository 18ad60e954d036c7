/* SPDX-License-Identifier: Apache-2.0 */
#include "jail_elf.h"
#include "jail_err.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files larger than this are refused (no library or monitor comes close). */
#define ELF_MAX_FILE (1ull << 30)

/* buf[off..off+len) lies inside buf[0..size), without overflow. */
static int in_file(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

/* A NUL-terminated string inside buf[off..off+max), copied into out; -1 if not terminated. */
static int copy_string(const uint8_t *buf, size_t size, uint64_t off, uint64_t max, char *out,
		       size_t out_size)
{
	const uint8_t *nul;
	size_t n;

	if (off >= size)
		return -1;
	if (max > size - off)
		max = size - off;
	nul = memchr(buf + off, '\0', (size_t)max);
	if (!nul)
		return -1;
	n = (size_t)(nul - (buf + off));
	if (n >= out_size)
		return -1;
	memcpy(out, buf + off, n + 1);
	return 0;
}

/* The file offset of virtual address vaddr through the PT_LOAD headers; -1 if none maps it. */
static int vaddr_to_offset(const uint8_t *buf, size_t size, const Elf64_Ehdr *eh, uint64_t vaddr,
			   uint64_t *off)
{
	for (uint16_t i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, buf + eh->e_phoff + (uint64_t)i * eh->e_phentsize, sizeof(ph));
		if (ph.p_type != PT_LOAD || vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz)
			continue;
		*off = ph.p_offset + (vaddr - ph.p_vaddr);
		return *off < size ? 0 : -1;
	}
	return -1;
}

static int parse_dynamic(const uint8_t *buf, size_t size, const Elf64_Ehdr *eh,
			 const Elf64_Phdr *dyn, struct jail_elf *out, char *err, size_t err_size)
{
	uint64_t strtab = 0, strsz = 0, stroff;
	uint64_t needed[JAIL_ELF_MAX_NEEDED];
	uint64_t rpath = UINT64_MAX, runpath = UINT64_MAX;
	size_t nneeded = 0;
	int have_strtab = 0;

	if (!in_file(size, dyn->p_offset, dyn->p_filesz))
		return jail_fail(err, err_size,
				 "its dynamic section lies past the end of the file");
	for (uint64_t o = 0; o + sizeof(Elf64_Dyn) <= dyn->p_filesz; o += sizeof(Elf64_Dyn)) {
		Elf64_Dyn d;

		memcpy(&d, buf + dyn->p_offset + o, sizeof(d));
		if (d.d_tag == DT_NULL)
			break;
		switch (d.d_tag) {
		case DT_STRTAB:
			strtab = d.d_un.d_ptr;
			have_strtab = 1;
			break;
		case DT_STRSZ:
			strsz = d.d_un.d_val;
			break;
		case DT_NEEDED:
			if (nneeded == JAIL_ELF_MAX_NEEDED)
				return jail_fail(err, err_size, "more than %d DT_NEEDED entries",
						 JAIL_ELF_MAX_NEEDED);
			needed[nneeded++] = d.d_un.d_val;
			break;
		case DT_RPATH:
			rpath = d.d_un.d_val;
			break;
		case DT_RUNPATH:
			runpath = d.d_un.d_val;
			break;
		default:
			break;
		}
	}
	if (!nneeded && rpath == UINT64_MAX && runpath == UINT64_MAX)
		return 0;
	if (!have_strtab || vaddr_to_offset(buf, size, eh, strtab, &stroff) ||
	    !in_file(size, stroff, strsz))
		return jail_fail(err, err_size, "its string table lies outside the file");
	for (size_t i = 0; i < nneeded; i++) {
		if (needed[i] >= strsz ||
		    copy_string(buf, size, stroff + needed[i], strsz - needed[i], out->needed[i],
				sizeof(out->needed[i])))
			return jail_fail(err, err_size, "DT_NEEDED entry %zu is not a string", i);
		if (!out->needed[i][0])
			return jail_fail(err, err_size, "DT_NEEDED entry %zu is empty", i);
	}
	out->nneeded = nneeded;
	if (rpath != UINT64_MAX &&
	    (rpath >= strsz ||
	     copy_string(buf, size, stroff + rpath, strsz - rpath, out->rpath, sizeof(out->rpath))))
		return jail_fail(err, err_size, "DT_RPATH is not a string");
	if (runpath != UINT64_MAX &&
	    (runpath >= strsz || copy_string(buf, size, stroff + runpath, strsz - runpath,
					     out->runpath, sizeof(out->runpath))))
		return jail_fail(err, err_size, "DT_RUNPATH is not a string");
	return 0;
}

int jail_elf_parse(const uint8_t *buf, size_t size, struct jail_elf *out, char *err,
		   size_t err_size)
{
	Elf64_Ehdr eh;
	int have_dynamic = 0;
	Elf64_Phdr dyn = {0};

	memset(out, 0, sizeof(*out));
	if (size < 4 || memcmp(buf, ELFMAG, SELFMAG))
		return jail_fail(err, err_size, "not an ELF file");
	if (size < sizeof(eh))
		return jail_fail(err, err_size, "truncated ELF header");
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return jail_fail(err, err_size, "not a 64-bit little-endian ELF file");
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return jail_fail(err, err_size, "not an executable or shared object (e_type %u)",
				 eh.e_type);
	if (eh.e_phnum == 0 || eh.e_phnum == PN_XNUM || eh.e_phentsize < sizeof(Elf64_Phdr) ||
	    !in_file(size, eh.e_phoff, (uint64_t)eh.e_phnum * eh.e_phentsize))
		return jail_fail(err, err_size, "its program headers lie outside the file");
	out->machine = eh.e_machine;
	for (uint16_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, buf + eh.e_phoff + (uint64_t)i * eh.e_phentsize, sizeof(ph));
		if (ph.p_type == PT_INTERP) {
			if (!in_file(size, ph.p_offset, ph.p_filesz) ||
			    copy_string(buf, size, ph.p_offset, ph.p_filesz, out->interp,
					sizeof(out->interp)))
				return jail_fail(err, err_size, "its PT_INTERP is not a string");
			if (out->interp[0] != '/')
				return jail_fail(err, err_size,
						 "its interpreter %s is not an absolute path",
						 out->interp);
		} else if (ph.p_type == PT_DYNAMIC && !have_dynamic) {
			dyn = ph;
			have_dynamic = 1;
		}
	}
	out->dynamic = have_dynamic;
	return have_dynamic ? parse_dynamic(buf, size, &eh, &dyn, out, err, err_size) : 0;
}

int jail_elf_read(const char *path, struct jail_elf *out, char *err, size_t err_size)
{
	struct stat st;
	void *map;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return jail_fail(err, err_size, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return jail_fail(err, err_size, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > ELF_MAX_FILE) {
		close(fd);
		return jail_fail(err, err_size, "%s: larger than 1 GiB", path);
	}
	if (st.st_size == 0) {
		close(fd);
		return jail_fail(err, err_size, "%s: not an ELF file (empty)", path);
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return jail_fail(err, err_size, "%s: mmap: %s", path, strerror(errno));
	rc = jail_elf_parse(map, (size_t)st.st_size, out, err, err_size);
	munmap(map, (size_t)st.st_size);
	if (rc && err && err_size) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		jail_fail(err, err_size, "%s: %s", path, why);
	}
	return rc;
}

/* The closure's work list: every file found so far (roots first), each read once. */
struct closure {
	char (*paths)[PATH_MAX];
	size_t max, count;
	size_t nroots;
	const char *const *roots;
};

static int seen(const struct closure *c, const char *path)
{
	for (size_t i = 0; i < c->nroots; i++)
		if (!strcmp(c->roots[i], path))
			return 1;
	for (size_t i = 0; i < c->count; i++)
		if (!strcmp(c->paths[i], path))
			return 1;
	return 0;
}

static int add_path(struct closure *c, const char *path, char *err, size_t err_size)
{
	if (seen(c, path))
		return 0;
	if (c->count == c->max)
		return jail_fail(err, err_size, "more than %zu libraries needed", c->max);
	snprintf(c->paths[c->count++], PATH_MAX, "%s", path);
	return 0;
}

/* dir with $ORIGIN / ${ORIGIN} replaced by origin, into out; -1 if it does not fit. */
static int expand_origin(const char *dir, size_t len, const char *origin, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		size_t skip = 0;

		if (!strncmp(dir + i, "${ORIGIN}", 9) && i + 9 <= len)
			skip = 9;
		else if (!strncmp(dir + i, "$ORIGIN", 7) && i + 7 <= len)
			skip = 7;
		if (skip) {
			size_t n = strlen(origin);

			if (o + n >= size)
				return -1;
			memcpy(out + o, origin, n);
			o += n;
			i += skip;
			continue;
		}
		if (o + 1 >= size)
			return -1;
		out[o++] = dir[i++];
	}
	out[o] = '\0';
	return 0;
}

/* dir/name if it is an ELF file for the same machine; 0 and the path in out, else -1. */
static int try_dir(const char *dir, const char *name, uint16_t machine, char *out,
		   struct jail_elf *tmp)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return -1;
	if (access(out, F_OK) || jail_elf_read(out, tmp, NULL, 0))
		return -1;
	return tmp->machine == machine ? 0 : -1;
}

/* Each folder of the ':'-separated list, as try_dir. */
static int try_list(const char *list, const char *origin, const char *name, uint16_t machine,
		    char *out, struct jail_elf *tmp)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ":");
		char dir[PATH_MAX];

		if (n && !expand_origin(p, n, origin, dir, sizeof(dir)) &&
		    !try_dir(dir, name, machine, out, tmp))
			return 0;
		p += n;
		if (*p == ':')
			p++;
	}
	return -1;
}

static int find_library(const char *name, const struct jail_elf *from, const char *from_path,
			char *out, struct jail_elf *tmp)
{
	static const char *const std_dirs[] = JAIL_ELF_STD_DIRS;
	char real[PATH_MAX], origin[PATH_MAX];
	char *slash;

	if (strchr(name, '/')) {
		if (name[0] != '/' || snprintf(out, PATH_MAX, "%s", name) >= PATH_MAX)
			return -1;
		return jail_elf_read(out, tmp, NULL, 0) ? -1 : 0;
	}
	if (!realpath(from_path, real))
		snprintf(real, sizeof(real), "%s", from_path);
	snprintf(origin, sizeof(origin), "%s", real);
	slash = strrchr(origin, '/');
	if (slash)
		*(slash == origin ? slash + 1 : slash) = '\0';
	if (!from->runpath[0] && from->rpath[0] &&
	    !try_list(from->rpath, origin, name, from->machine, out, tmp))
		return 0;
	if (from->runpath[0] && !try_list(from->runpath, origin, name, from->machine, out, tmp))
		return 0;
	for (size_t i = 0; i < sizeof(std_dirs) / sizeof(std_dirs[0]); i++)
		if (!try_dir(std_dirs[i], name, from->machine, out, tmp))
			return 0;
	return -1;
}

/* Adds what the ELF file at path needs; files added are read in turn by the caller's loop. */
static int add_needs(struct closure *c, const char *path, struct jail_elf *e, struct jail_elf *tmp,
		     char *err, size_t err_size)
{
	char found[PATH_MAX];

	if (e->interp[0]) {
		if (access(e->interp, F_OK))
			return jail_fail(err, err_size, "%s: its interpreter %s: %s", path,
					 e->interp, strerror(errno));
		if (add_path(c, e->interp, err, err_size))
			return -1;
	}
	for (size_t i = 0; i < e->nneeded; i++) {
		if (find_library(e->needed[i], e, path, found, tmp))
			return jail_fail(err, err_size,
					 "%s needs %s, which is in none of its DT_RUNPATH/DT_RPATH "
					 "folders nor the standard ones",
					 path, e->needed[i]);
		if (add_path(c, found, err, err_size))
			return -1;
	}
	return 0;
}

int jail_elf_closure(const char *const *roots, size_t nroots, char (*paths)[PATH_MAX],
		     size_t max_paths, size_t *count, char *err, size_t err_size)
{
	struct closure c = {paths, max_paths, 0, nroots, roots};
	struct jail_elf *e = malloc(2 * sizeof(*e));
	int rc = -1;

	*count = 0;
	if (!e)
		return jail_fail(err, err_size, "out of memory");
	for (size_t i = 0; i < nroots; i++)
		if (jail_elf_read(roots[i], &e[0], err, err_size) ||
		    add_needs(&c, roots[i], &e[0], &e[1], err, err_size))
			goto out;
	/* paths grows while it is walked: each library's own needs join the end. */
	for (size_t i = 0; i < c.count; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s", c.paths[i]);
		if (jail_elf_read(path, &e[0], err, err_size) ||
		    add_needs(&c, path, &e[0], &e[1], err, err_size))
			goto out;
	}
	rc = 0;
out:
	*count = c.count;
	free(e);
	return rc;
}
