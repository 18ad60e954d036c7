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

#define WINDOW(b, s)                                                 \
	{                                                            \
		.type = ACPI_RES_MEMORY32, .base = (b), .size = (s), \
	}
#define DEVMEM_RO(b, s)                                                                 \
	{                                                                               \
		.type = ACPI_RES_MEMORY32, .base = (b), .size = (s), .read_only = true, \
	}
#define IRQ(g, e)                                                    \
	{                                                            \
		.type = ACPI_RES_INTERRUPT, .gsi = (g), .edge = (e), \
	}

/* The 1.1 layout: a window, then the interrupt when there is one. */
static const struct acpi_mmio_device two_devices[] = {
    {.hid = "LNRO0005",
     .uid = 0,
     .res = {WINDOW(0xd0000000, 0x1000), IRQ(16, true)},
     .res_count = 2},
    {.hid = "QEMU0001", .uid = 0, .res = {WINDOW(0xd0001000, 0x1000)}, .res_count = 1},
    {.hid = "ACME0001",
     .uid = 0,
     .res = {WINDOW(0xd0002000, 0x1000), IRQ(17, false)},
     .res_count = 2},
};

/*
 * The DSDT for two_devices with 2 vCPUs, byte for byte as ember wrote it before _CID and
 * resource lists existed: the default layout must not change under a guest.
 */
static const uint8_t two_devices_dsdt[] = {
    0x44, 0x53, 0x44, 0x54, 0x40, 0x01, 0x00, 0x00, 0x02, 0x69, 0x45, 0x4d, 0x42, 0x45, 0x52, 0x20,
    0x45, 0x4d, 0x42, 0x52, 0x44, 0x53, 0x44, 0x54, 0x01, 0x00, 0x00, 0x00, 0x45, 0x4d, 0x42, 0x52,
    0x01, 0x00, 0x00, 0x00, 0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00,
    0x00, 0x10, 0x4e, 0x10, 0x5c, 0x5f, 0x53, 0x42, 0x5f, 0x5b, 0x82, 0x2b, 0x43, 0x4f, 0x4d, 0x31,
    0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x05, 0x01, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x01,
    0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01,
    0x08, 0x22, 0x10, 0x00, 0x79, 0x0e, 0x5b, 0x82, 0x2d, 0x50, 0x53, 0x32, 0x4b, 0x08, 0x5f, 0x48,
    0x49, 0x44, 0x0c, 0x41, 0xd0, 0x03, 0x03, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x18, 0x0a, 0x15,
    0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01, 0x47, 0x01, 0x64, 0x00, 0x64, 0x00, 0x01, 0x01,
    0x22, 0x02, 0x00, 0x79, 0x47, 0x5b, 0x82, 0x3a, 0x56, 0x30, 0x30, 0x30, 0x08, 0x5f, 0x48, 0x49,
    0x44, 0x0d, 0x4c, 0x4e, 0x52, 0x4f, 0x30, 0x30, 0x30, 0x35, 0x00, 0x08, 0x5f, 0x55, 0x49, 0x44,
    0x00, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x1a, 0x0a, 0x17, 0x86, 0x09, 0x00, 0x01, 0x00, 0x00,
    0x00, 0xd0, 0x00, 0x10, 0x00, 0x00, 0x89, 0x06, 0x00, 0x03, 0x01, 0x10, 0x00, 0x00, 0x00, 0x79,
    0x74, 0x5b, 0x82, 0x31, 0x50, 0x30, 0x30, 0x31, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x51, 0x45,
    0x4d, 0x55, 0x30, 0x30, 0x30, 0x31, 0x00, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x00, 0x08, 0x5f, 0x43,
    0x52, 0x53, 0x11, 0x11, 0x0a, 0x0e, 0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xd0, 0x00, 0x10,
    0x00, 0x00, 0x79, 0x07, 0x5b, 0x82, 0x3a, 0x44, 0x30, 0x30, 0x32, 0x08, 0x5f, 0x48, 0x49, 0x44,
    0x0d, 0x41, 0x43, 0x4d, 0x45, 0x30, 0x30, 0x30, 0x31, 0x00, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x00,
    0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x1a, 0x0a, 0x17, 0x86, 0x09, 0x00, 0x01, 0x00, 0x20, 0x00,
    0xd0, 0x00, 0x10, 0x00, 0x00, 0x89, 0x06, 0x00, 0x01, 0x01, 0x11, 0x00, 0x00, 0x00, 0x79, 0x55};

/* A vmclock-style device: only a page of read-only device memory, with a _CID. */
static const struct acpi_mmio_device clock_device = {
    .hid = "AMZNC10C",
    .cid = "VMCLOCK",
    .uid = 3,
    .res = {DEVMEM_RO(LAYOUT_DEVICE_MEM_GPA, 0x1000)},
    .res_count = 1,
};

/* Every resource kind, in the order vm_devices writes them: window, device memory, interrupt. */
static const struct acpi_mmio_device full_device = {
    .hid = "EMBR0002",
    .uid = 1,
    .res = {WINDOW(0xd0003000, 0x1000),
	    {.type = ACPI_RES_MEMORY32, .base = 0xe0001000, .size = 0x2000},
	    IRQ(18, false)},
    .res_count = 3,
};

static struct acpi_mmio_device mmio_dev(const char *hid, uint64_t base, uint32_t size, uint32_t gsi)
{
	struct acpi_mmio_device d = {.res = {WINDOW(base, size)}, .res_count = 1};

	snprintf(d.hid, sizeof(d.hid), "%s", hid);
	if (gsi)
		d.res[d.res_count++] = (struct acpi_res)IRQ(gsi, false);
	return d;
}

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
	struct acpi_mmio_device bad[] = {
	    mmio_dev("LNRO0005", 0x100000000ULL, 0x1000, 16), /* above 4 GiB */
	    mmio_dev("LNRO0005", 0xfffff000ULL, 0x2000, 16),  /* crosses 4 GiB */
	    mmio_dev("lnro0005", 0xd0000000, 0x1000, 16),     /* bad _HID */
	    mmio_dev("LNRO0005", 0xd0000000, 0x1000, 4),      /* an ISA line */
	    mmio_dev("LNRO0005", 0xd0000000, 0x1000, 24),     /* no such pin */
	    mmio_dev("LNRO0005", 0xd0000000, 0, 16),	      /* empty window */
	    clock_device,				      /* lower-case _CID */
	    clock_device,				      /* _CID of 17 characters */
	    clock_device,				      /* too many resources */
	    clock_device,				      /* unknown resource type */
	};
	const struct acpi_mmio_device dup[] = {two_devices[0], two_devices[0]};

	snprintf(bad[6].cid, sizeof(bad[6].cid), "vmclock");
	memset(bad[7].cid, 'A', sizeof(bad[7].cid));
	bad[8].res_count = ACPI_DEVICE_MAX_RES + 1;
	bad[9].res[0].type = 0;
	cr_assert_eq(try_build(0, NULL, 0, GPA), -EINVAL);
	cr_assert_eq(try_build(256, NULL, 0, GPA), -EINVAL);
	cr_assert_eq(try_build(1, NULL, 0, GPA + 8), -EINVAL, "unaligned gpa");
	cr_assert_eq(try_build(1, NULL, 1, GPA), -EINVAL, "count without array");
	cr_assert_eq(try_build(1, dup, 2, GPA), -EINVAL, "duplicate _HID/_UID");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		cr_assert_eq(try_build(1, &bad[i], 1, GPA), -EINVAL, "bad device %zu", i);
	cr_assert_eq(acpi_build_tables(NULL, tables, sizeof(tables), GPA, &(size_t){0}), -EINVAL);
}

Test(acpi, device_ending_at_4g_is_fine)
{
	struct acpi_mmio_device top = mmio_dev("LNRO0005", 0xfffff000ULL, 0x1000, 23);

	top.uid = 7;
	cr_assert_eq(try_build(1, &top, 1, GPA), 0);
	cr_assert_eq(try_build(1, &clock_device, 1, GPA), 0);
	cr_assert_eq(try_build(1, &full_device, 1, GPA), 0);
	/* The longest _CID the loader lets through. */
	memcpy(top.cid, "ABCDEFGHIJKLMNO_", 17);
	cr_assert_eq(try_build(1, &top, 1, GPA), 0);
}

Test(acpi, default_layout_dsdt_is_unchanged)
{
	size_t used = build(2, two_devices, ARRAY_SIZE(two_devices));
	const uint8_t *dsdt = dsdt_of(used);

	cr_assert_eq(le32(dsdt + 4), sizeof(two_devices_dsdt));
	cr_assert_arr_eq(dsdt, two_devices_dsdt, sizeof(two_devices_dsdt));
}

/* ---- decoding a device's _CRS from the DSDT ---- */

struct crs_item {
	uint8_t tag; /* large: the full tag byte (0x86 Memory32Fixed, 0x89 Interrupt); small: 0x79
			end */
	const uint8_t *body;
	uint16_t len;
};

/* An AML PkgLength at p: returns its value and sets *n to its size in bytes. */
static size_t pkg_length(const uint8_t *p, size_t *n)
{
	size_t extra = p[0] >> 6, v = extra ? (p[0] & 0x0f) : (p[0] & 0x3f);

	for (size_t i = 0; i < extra; i++)
		v |= (size_t)p[1 + i] << (4 + 8 * i);
	*n = 1 + extra;
	return v;
}

/*
 * The resource descriptors of Device(name)'s _CRS, up to and including the end tag; fails on
 * anything malformed. Returns how many it stored in items.
 */
static size_t crs_of(const uint8_t *dsdt, const char *name, struct crs_item *items, size_t max)
{
	uint32_t len = le32(dsdt + 4);
	const uint8_t *dev = NULL, *p, *buf_end;
	size_t n, count = 0, pl;

	for (uint32_t i = HDR_LEN; i + 4 <= len && !dev; i++)
		if (!memcmp(dsdt + i, name, 4))
			dev = dsdt + i;
	cr_assert_not_null(dev, "no device %s in the DSDT", name);
	for (p = dev; p + 4 <= dsdt + len && memcmp(p, "_CRS", 4); p++)
		;
	cr_assert(p + 4 <= dsdt + len, "%s has no _CRS", name);
	p += 4;
	cr_assert_eq(p[0], 0x11, "_CRS of %s is not a Buffer", name);
	pl = pkg_length(p + 1, &n);
	buf_end = p + 1 + pl;
	cr_assert(buf_end <= dsdt + len);
	p += 1 + n;
	/* BufferSize: a BytePrefix or WordPrefix integer. */
	cr_assert(p[0] == 0x0a || p[0] == 0x0b);
	p += p[0] == 0x0a ? 2 : 3;
	while (p < buf_end) {
		struct crs_item it = {.tag = p[0]};

		if (p[0] & 0x80) {
			it.len = (uint16_t)(p[1] | p[2] << 8);
			it.body = p + 3;
			p += 3 + it.len;
		} else {
			it.len = p[0] & 7;
			it.body = p + 1;
			p += 1 + it.len;
			if (it.tag == 0x79)
				cr_assert_eq(p, buf_end, "data after the end tag of %s", name);
		}
		cr_assert(p <= buf_end, "descriptor overruns the _CRS of %s", name);
		cr_assert_lt(count, max);
		items[count++] = it;
	}
	cr_assert_eq(items[count - 1].tag, 0x79, "%s: no end tag", name);
	return count;
}

/*
 * Linux's ptp_vmclock refuses a _CRS with anything but exactly one memory resource: a device
 * with only device memory gets one Memory32Fixed, read-only here, and the end tag.
 */
Test(acpi, devmem_only_node_has_exactly_one_memory_resource)
{
	struct crs_item it[8];
	size_t used = build(1, &clock_device, 1);
	size_t n = crs_of(dsdt_of(used), "D000", it, ARRAY_SIZE(it));

	cr_assert_eq(n, 2, "%zu descriptors", n);
	cr_assert_eq(it[0].tag, 0x86, "Memory32Fixed");
	cr_assert_eq(it[0].len, 9);
	cr_assert_eq(it[0].body[0], 0, "read-only");
	cr_assert_eq(le32(it[0].body + 1), LAYOUT_DEVICE_MEM_GPA);
	cr_assert_eq(le32(it[0].body + 5), 0x1000);
}

Test(acpi, resources_come_in_the_order_given)
{
	const struct acpi_mmio_device devs[] = {two_devices[0], full_device};
	struct crs_item it[8];
	size_t used = build(1, devs, ARRAY_SIZE(devs));
	size_t n = crs_of(dsdt_of(used), "D001", it, ARRAY_SIZE(it));

	cr_assert_eq(n, 4, "%zu descriptors", n);
	cr_assert_eq(it[0].tag, 0x86);
	cr_assert_eq(it[0].body[0], 1, "the window is read/write");
	cr_assert_eq(le32(it[0].body + 1), 0xd0003000);
	cr_assert_eq(it[1].tag, 0x86);
	cr_assert_eq(it[1].body[0], 1, "writable device memory");
	cr_assert_eq(le32(it[1].body + 1), 0xe0001000);
	cr_assert_eq(le32(it[1].body + 5), 0x2000);
	cr_assert_eq(it[2].tag, 0x89, "Extended Interrupt");
	cr_assert_eq(it[2].body[0], 0x01, "consumer, level, active-high");
	cr_assert_eq(it[2].body[1], 1);
	cr_assert_eq(le32(it[2].body + 2), 18);
	/* The virtio device before it keeps its window and edge-triggered line. */
	n = crs_of(dsdt_of(used), "V000", it, ARRAY_SIZE(it));
	cr_assert_eq(n, 3);
	cr_assert_eq(it[1].tag, 0x89);
	cr_assert_eq(it[1].body[0], 0x03, "consumer, edge");
}

Test(acpi, empty_resource_list_is_an_empty_crs)
{
	struct acpi_mmio_device d = {.hid = "EMBR0003"};
	struct crs_item it[4];
	size_t used = build(1, &d, 1);

	cr_assert_eq(crs_of(dsdt_of(used), "D000", it, ARRAY_SIZE(it)), 1);
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

Test(acpi, cid_and_devmem_node_disassembles_and_recompiles_cleanly, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	static const char *const expect[] = {
	    "Name (_HID, \"AMZNC10C\")",
	    "Name (_CID, \"VMCLOCK\")",
	    "Memory32Fixed (ReadOnly,",
	    "0xE0000000",
	    "EMBR0002",
	    "Memory32Fixed (ReadWrite,\n                    0xE0001000"};
	const struct acpi_mmio_device devs[] = {clock_device, full_device};
	size_t used = build(1, devs, ARRAY_SIZE(devs));
	const uint8_t *dsdt = dsdt_of(used), *cid;
	size_t n = le32(dsdt + 4);

	/* A device without _CID has none: only one in the whole table. */
	cid = memmem(dsdt, n, "_CID", 4);
	cr_assert_not_null(cid);
	cr_assert_null(memmem(cid + 4, n - (size_t)(cid + 4 - dsdt), "_CID", 4));
	iasl_round_trip("dsdt", dsdt, expect, ARRAY_SIZE(expect));
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
