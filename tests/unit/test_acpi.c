/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi_build_tables: structure, checksums and pointers of every table, error paths, and a
 * round trip of the DSDT, FADT and MADT through ACPICA's iasl (disassemble, then recompile).
 * iasl must be on PATH (package acpica-tools); without it the iasl tests fail.
 */
#include "acpi_tables.h"
#include "layout.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define GPA	      LAYOUT_ACPI_GPA
#define HDR_LEN	      36

static uint8_t tables[LAYOUT_ACPI_SIZE];

static const struct acpi_mmio_device two_devices[] = {
    {.hid = "LNRO0005", .uid = 0, .base = 0xd0000000, .size = 0x1000, .gsi = 16, .edge = true},
    {.hid = "QEMU0001", .uid = 0, .base = 0xd0001000, .size = 0x1000, .gsi = 0},
    {.hid = "ACME0001", .uid = 0, .base = 0xd0002000, .size = 0x1000, .gsi = 17},
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint8_t sum_bytes(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static size_t build(unsigned vcpus, const struct acpi_mmio_device *devs, size_t ndevs)
{
	struct acpi_config cfg = {.vcpus = vcpus, .devices = devs, .device_count = ndevs};
	size_t used = 0;
	int err;

	memset(tables, 0, sizeof(tables));
	err = acpi_build_tables(&cfg, tables, sizeof(tables), GPA, &used);
	cr_assert_eq(err, 0, "acpi_build_tables: %d", err);
	cr_assert(used > 0 && used <= sizeof(tables));
	return used;
}

/* The table at guest address gpa, checked to lie in [0, used) with a valid checksum; sig NULL
 * accepts any signature. */
static const uint8_t *table_at(uint64_t gpa, size_t used, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	cr_assert(gpa >= GPA && gpa - GPA + HDR_LEN <= used, "table at 0x%llx is outside",
		  (unsigned long long)gpa);
	t = tables + (gpa - GPA);
	len = le32(t + 4);
	if (sig)
		cr_assert_arr_eq(t, sig, 4, "expected %s", sig);
	cr_assert(len >= HDR_LEN && gpa - GPA + len <= used, "%.4s length %u", t, len);
	cr_assert_eq(sum_bytes(t, len), 0, "%.4s checksum", t);
	return t;
}

static const uint8_t *xsdt_of(size_t used)
{
	return table_at(le64(tables + 24), used, "XSDT");
}

/* The table the XSDT lists with signature sig; fails when absent. */
static const uint8_t *find_table(size_t used, const char *sig)
{
	const uint8_t *x = xsdt_of(used);
	uint32_t n = (le32(x + 4) - HDR_LEN) / 8;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *t = table_at(le64(x + HDR_LEN + 8 * i), used, NULL);

		if (memcmp(t, sig, 4) == 0)
			return t;
	}
	cr_assert_fail("%s not in XSDT", sig);
	return NULL;
}

static const uint8_t *dsdt_of(size_t used)
{
	const uint8_t *fadt = find_table(used, "FACP");
	uint32_t dsdt32 = le32(fadt + 40);
	uint64_t x_dsdt = le64(fadt + 140);

	cr_assert(dsdt32 == 0 || dsdt32 == x_dsdt, "DSDT 0x%x vs X_DSDT 0x%llx", dsdt32,
		  (unsigned long long)x_dsdt);
	return table_at(x_dsdt, used, "DSDT");
}

Test(acpi, rsdp_at_offset_zero_with_both_checksums)
{
	size_t used = build(1, NULL, 0);

	cr_assert_arr_eq(tables, "RSD PTR ", 8);
	cr_assert_eq(tables[15], 2, "revision");
	cr_assert_eq(le32(tables + 20), 36, "length");
	cr_assert_eq(sum_bytes(tables, 20), 0, "ACPI 1.0 checksum");
	cr_assert_eq(sum_bytes(tables, 36), 0, "extended checksum");
	cr_assert_eq(le32(tables + 16), 0, "no RSDT");
	xsdt_of(used);
}

Test(acpi, xsdt_lists_fadt_then_madt)
{
	size_t used = build(2, two_devices, ARRAY_SIZE(two_devices));
	const uint8_t *x = xsdt_of(used);

	cr_assert_eq(le32(x + 4), HDR_LEN + 2 * 8);
	cr_assert_arr_eq(table_at(le64(x + 36), used, "FACP"), "FACP", 4);
	cr_assert_arr_eq(table_at(le64(x + 44), used, "APIC"), "APIC", 4);
}

Test(acpi, fadt_is_hw_reduced_revision_6)
{
	size_t used = build(1, NULL, 0);
	const uint8_t *f = find_table(used, "FACP");
	uint32_t flags = le32(f + 112);
	uint16_t boot = (uint16_t)(f[109] | f[110] << 8);

	cr_assert_eq(le32(f + 4), 276);
	cr_assert_eq(f[8], 6, "revision");
	cr_assert_eq(flags, (1u << 20) | (1u << 10) | (1u << 5) | (1u << 4), "flags 0x%x", flags);
	cr_assert_eq(boot, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 5), "boot arch 0x%x", boot);
	/* RESET_REG: SystemIO, 8 bits, at the reset port */
	cr_assert_eq(f[116], 1);
	cr_assert_eq(f[117], 8);
	cr_assert_eq(le64(f + 120), LAYOUT_ACPI_RESET_PORT);
	cr_assert_eq(f[128], LAYOUT_ACPI_RESET_VALUE);
	cr_assert_eq(f[244], 1);
	cr_assert_eq(f[245], 8);
	cr_assert_eq(le64(f + 248), LAYOUT_ACPI_SLEEP_CTL_PORT);
	cr_assert_eq(f[256], 1);
	cr_assert_eq(f[257], 8);
	cr_assert_eq(le64(f + 260), LAYOUT_ACPI_SLEEP_STS_PORT);
	cr_assert_arr_eq(f + 268, "EMBER", 5, "hypervisor vendor");
	dsdt_of(used);
}

static void check_madt(unsigned vcpus)
{
	size_t used = build(vcpus, two_devices, ARRAY_SIZE(two_devices));
	const uint8_t *m = find_table(used, "APIC");
	uint32_t len = le32(m + 4);
	unsigned lapics = 0, ioapics = 0;

	cr_assert_eq(le32(m + 36), LAYOUT_LAPIC_GPA);
	for (uint32_t off = 44; off < len; off += m[off + 1]) {
		cr_assert(m[off + 1] >= 2 && off + m[off + 1] <= len, "bad entry at %u", off);
		if (m[off] == 0) {
			cr_assert_eq(m[off + 1], 8);
			cr_assert_eq(m[off + 2], lapics, "processor UID");
			cr_assert_eq(m[off + 3], lapics, "APIC ID");
			cr_assert_eq(le32(m + off + 4), 1, "enabled");
			lapics++;
		} else if (m[off] == 1) {
			cr_assert_eq(m[off + 1], 12);
			cr_assert_geq(m[off + 2], vcpus, "IOAPIC ID clashes with an APIC ID");
			cr_assert_eq(le32(m + off + 4), LAYOUT_IOAPIC_GPA);
			cr_assert_eq(le32(m + off + 8), 0, "GSI base");
			ioapics++;
		}
	}
	cr_assert_eq(lapics, vcpus);
	cr_assert_eq(ioapics, 1);
}

Test(acpi, madt_has_one_lapic_per_vcpu)
{
	check_madt(1);
	check_madt(2);
	check_madt(64);
	check_madt(255);
}

Test(acpi, every_short_buffer_is_enospc_and_untouched_beyond)
{
	struct acpi_config cfg = {.vcpus = 4, .devices = two_devices, .device_count = 2};
	size_t used = build(4, two_devices, 2), dummy;

	for (size_t size = 0; size < used; size++) {
		memset(tables, 0x5a, sizeof(tables));
		cr_assert_eq(acpi_build_tables(&cfg, tables, size, GPA, &dummy), -ENOSPC,
			     "size %zu", size);
		for (size_t i = size; i < used; i++)
			cr_assert_eq(tables[i], 0x5a, "size %zu: byte %zu written", size, i);
	}
}

static int try_build(unsigned vcpus, const struct acpi_mmio_device *devs, size_t n, uint64_t gpa)
{
	struct acpi_config cfg = {.vcpus = vcpus, .devices = devs, .device_count = n};
	size_t used;

	return acpi_build_tables(&cfg, tables, sizeof(tables), gpa, &used);
}

Test(acpi, bad_configs_are_einval)
{
	const struct acpi_mmio_device above_4g = {"LNRO0005", 0, 0x100000000ULL, 0x1000, 16, false};
	const struct acpi_mmio_device crosses_4g = {"LNRO0005", 0,  0xfffff000ULL,
						    0x2000,	16, false};
	const struct acpi_mmio_device bad_hid = {"lnro0005", 0, 0xd0000000, 0x1000, 16, false};
	const struct acpi_mmio_device isa_gsi = {"LNRO0005", 0, 0xd0000000, 0x1000, 4, false};
	const struct acpi_mmio_device no_pin = {"LNRO0005", 0, 0xd0000000, 0x1000, 24, false};
	const struct acpi_mmio_device empty = {"LNRO0005", 0, 0xd0000000, 0, 16, false};
	const struct acpi_mmio_device dup[] = {two_devices[0], two_devices[0]};
	const struct acpi_mmio_device *bad[] = {&above_4g, &crosses_4g, &bad_hid,
						&isa_gsi,  &no_pin,	&empty};

	cr_assert_eq(try_build(0, NULL, 0, GPA), -EINVAL);
	cr_assert_eq(try_build(256, NULL, 0, GPA), -EINVAL);
	cr_assert_eq(try_build(1, NULL, 0, GPA + 8), -EINVAL, "unaligned gpa");
	cr_assert_eq(try_build(1, NULL, 1, GPA), -EINVAL, "count without array");
	cr_assert_eq(try_build(1, dup, 2, GPA), -EINVAL, "duplicate _HID/_UID");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		cr_assert_eq(try_build(1, bad[i], 1, GPA), -EINVAL, "bad device %zu", i);
	cr_assert_eq(acpi_build_tables(NULL, tables, sizeof(tables), GPA, &(size_t){0}), -EINVAL);
}

Test(acpi, device_ending_at_4g_is_fine)
{
	const struct acpi_mmio_device top = {"LNRO0005", 7, 0xfffff000ULL, 0x1000, 23, false};

	cr_assert_eq(try_build(1, &top, 1, GPA), 0);
}

/* ---- iasl round trips ---- */

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ember-acpi-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

/* tmpdir holds only files that iasl and acpiexec wrote: no subdirectories. */
static void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	cr_assert_eq(rmdir(tmpdir), 0, "%s not empty", tmpdir);
}

static void write_file(const char *name, const void *p, size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(p, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

/* Reads tmpdir/name into a NUL-terminated malloc'ed string. */
static char *read_file(const char *name)
{
	char path[128], *s;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s missing", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	cr_assert_not_null(s);
	cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

#define MAX_ARGS 8

/*
 * Runs args (NULL-terminated; args[0] found via PATH) in tmpdir with stdout and stderr in
 * tmpdir/tool.log; fails unless it exits 0; returns the log.
 */
static char *run_tool(const char *const args[])
{
	int status;
	char *log;
	pid_t pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		char *argv[MAX_ARGS] = {NULL};
		int fd;

		/* execvp wants mutable strings. */
		for (size_t i = 0; i + 1 < MAX_ARGS && args[i]; i++)
			argv[i] = strdup(args[i]);
		if (chdir(tmpdir) != 0)
			_exit(126);
		fd = open("tool.log", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_neq(WEXITSTATUS(status), 127, "%s not found on PATH (install acpica-tools)",
		      args[0]);
	log = read_file("tool.log");
	cr_assert_eq(WEXITSTATUS(status), 0, "%s %s exited %d:\n%s", args[0], args[1],
		     WEXITSTATUS(status), log);
	return log;
}

static void assert_no_complaints(const char *what, const char *log)
{
	cr_assert_null(strstr(log, "Warning"), "%s warned:\n%s", what, log);
	cr_assert_null(strstr(log, "Error"), "%s error:\n%s", what, log);
	cr_assert_null(strstr(log, "Exception"), "%s exception:\n%s", what, log);
}

/* Disassembles name.dat, checks for expected strings, recompiles it with no errors or warnings. */
static void iasl_round_trip(const char *name, const uint8_t *table, const char *const *expect,
			    size_t nexpect)
{
	char dat[32], dsl[32];
	char *log, *text;

	snprintf(dat, sizeof(dat), "%s.dat", name);
	snprintf(dsl, sizeof(dsl), "%s.dsl", name);
	write_file(dat, table, le32(table + 4));
	log = run_tool((const char *const[]){"iasl", "-d", dat, NULL});
	assert_no_complaints("iasl -d", log);
	free(log);
	text = read_file(dsl);
	for (size_t i = 0; i < nexpect; i++)
		cr_assert_not_null(strstr(text, expect[i]), "%s lacks \"%s\":\n%s", dsl, expect[i],
				   text);
	free(text);
	log = run_tool((const char *const[]){"iasl", dsl, NULL});
	cr_assert_not_null(strstr(log, " 0 Errors"), "recompiling %s:\n%s", dsl, log);
	cr_assert_not_null(strstr(log, " 0 Warnings"), "recompiling %s:\n%s", dsl, log);
	free(log);
}

Test(acpi, dsdt_disassembles_and_recompiles_cleanly, .init = make_tmpdir, .fini = remove_tmpdir)
{
	static const char *const expect[] = {
	    "_S5_", "\\_SB", "COM1", "PNP0501", "PS2K", "PNP0303", "V000", "LNRO0005", "P001",
	    "QEMU0001", "0xD0000000", "0x00000010", "IRQNoFlags",
	    /* virtio is edge-triggered, a plain device with an interrupt level-triggered */
	    "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )",
	    "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, )"};
	size_t used = build(2, two_devices, ARRAY_SIZE(two_devices));

	iasl_round_trip("dsdt", dsdt_of(used), expect, ARRAY_SIZE(expect));
}

Test(acpi, fadt_disassembles_and_recompiles_cleanly, .init = make_tmpdir, .fini = remove_tmpdir)
{
	static const char *const expect[] = {"Hardware Reduced", "8042 Present", "EMBER"};
	size_t used = build(1, NULL, 0);

	iasl_round_trip("facp", find_table(used, "FACP"), expect, ARRAY_SIZE(expect));
}

Test(acpi, madt_disassembles_and_recompiles_cleanly, .init = make_tmpdir, .fini = remove_tmpdir)
{
	static const char *const expect[] = {"Processor Local APIC", "I/O APIC", "FEC00000"};
	size_t used = build(4, NULL, 0);

	iasl_round_trip("apic", find_table(used, "APIC"), expect, ARRAY_SIZE(expect));
}

/* acpiexec loads the tables with ACPICA, the interpreter Linux uses, and evaluates \\_S5. */
Test(acpi, acpica_loads_tables_without_complaint, .init = make_tmpdir, .fini = remove_tmpdir)
{
	size_t used = build(2, two_devices, ARRAY_SIZE(two_devices));
	const uint8_t *fadt = find_table(used, "FACP"), *madt = find_table(used, "APIC");
	const uint8_t *dsdt = dsdt_of(used);
	char *log;

	write_file("facp.dat", fadt, le32(fadt + 4));
	write_file("apic.dat", madt, le32(madt + 4));
	write_file("dsdt.dat", dsdt, le32(dsdt + 4));
	log = run_tool((const char *const[]){"acpiexec", "-b", "evaluate \\_S5", "facp.dat",
					     "apic.dat", "dsdt.dat", NULL});
	assert_no_complaints("acpiexec", log);
	cr_assert_not_null(strstr(log, "1 ACPI AML tables successfully acquired and loaded"), "%s",
			   log);
	cr_assert_not_null(strstr(log, "[Integer] = 0000000000000005"), "\\_S5:\n%s", log);
	free(log);
}
