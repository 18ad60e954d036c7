/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI tables for a hardware-reduced x86-64 VM: RSDP, XSDT, FADT, MADT, DSDT.
 *
 * A stock distro kernel finds CPUs, interrupt controllers, COM1, the i8042, power-off/reset
 * and every plugin device only through these tables. They are built once, on the main thread,
 * into a caller-owned buffer that is then copied into guest memory at LAYOUT_ACPI_GPA.
 */
#ifndef EMBER_ACPI_TABLES_H
#define EMBER_ACPI_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One entry of a device's _CRS. */
enum acpi_res_type {
	ACPI_RES_MEMORY32 = 1, /* Memory32Fixed: a register window or device memory */
	ACPI_RES_INTERRUPT,    /* Interrupt(ResourceConsumer, ...) with one GSI */
};

struct acpi_res {
	enum acpi_res_type type;
	/* ACPI_RES_MEMORY32: [base, base + size) below 4 GiB, size > 0. */
	uint64_t base;
	uint32_t size;
	bool read_only; /* the guest may only read it (ReadOnly instead of ReadWrite) */
	/* ACPI_RES_INTERRUPT: an active-high IOAPIC line 16..23. */
	uint32_t gsi;
	bool edge; /* edge-triggered (virtio: a pulse per notification); else level */
};

#define ACPI_DEVICE_MAX_RES 4

/*
 * A device the DSDT describes: _HID, an optional _CID, _UID and a _CRS that lists res[0 ..
 * res_count) in that order (res_count 0: an empty _CRS).
 */
struct acpi_mmio_device {
	char hid[9];  /* "LNRO0005" (virtio-mmio), "QEMU0001" (pvpanic), ...; NUL-terminated */
	char cid[17]; /* "" for none, else 1..16 of [A-Z0-9_], e.g. "VMCLOCK" (as the loader
		       * accepts; Linux's driver tables match at most 15) */
	uint32_t uid; /* _UID, unique among devices with the same hid */
	struct acpi_res res[ACPI_DEVICE_MAX_RES];
	unsigned res_count;
};

struct acpi_config {
	unsigned vcpus; /* 1..255; APIC IDs are 0..vcpus-1 */
	const struct acpi_mmio_device *devices;
	size_t device_count;
};

/*
 * Writes all tables into buf, which will sit at guest-physical address gpa. The RSDP is at
 * offset 0 (gpa must be 16-byte aligned). On success returns 0 and sets *used to the bytes
 * written; returns -ENOSPC when buf_size is too small, -EINVAL on a bad config.
 */
int acpi_build_tables(const struct acpi_config *cfg, uint8_t *buf, size_t buf_size, uint64_t gpa,
		      size_t *used);

#endif
