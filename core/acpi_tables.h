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

/* A device the DSDT describes with one Memory32Fixed window and at most one interrupt. */
struct acpi_mmio_device {
	char hid[9];   /* "LNRO0005" (virtio-mmio), "QEMU0001" (pvpanic), ...; NUL-terminated */
	uint32_t uid;  /* _UID, unique among devices with the same hid */
	uint64_t base; /* below 4 GiB */
	uint32_t size;
	uint32_t gsi; /* active-high IOAPIC line (16..23); 0 = no interrupt */
	bool edge;    /* edge-triggered (virtio: a pulse per notification); else level */
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
