/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest-physical and port layout of an ember x86-64 VM.
 *
 * One place for every fixed address, so that the boot code, the ACPI tables and the device
 * models agree. Nothing here is ABI for plugins: they get their window from the core.
 */
#ifndef EMBER_LAYOUT_H
#define EMBER_LAYOUT_H

/* Low memory used while booting (all below 640 KiB, all identity mapped). */
#define LAYOUT_GDT_GPA	      0x500ULL
#define LAYOUT_IDT_GPA	      0x520ULL
#define LAYOUT_BOOT_STACK_GPA 0x8ff0ULL
#define LAYOUT_ZERO_PAGE_GPA  0x7000ULL /* struct boot_params */
#define LAYOUT_PML4_GPA	      0x9000ULL
#define LAYOUT_PDPT_GPA	      0xa000ULL
#define LAYOUT_PD_GPA	      0xb000ULL /* four pages: 4 GiB of 2 MiB pages */
#define LAYOUT_CMDLINE_GPA    0x20000ULL
#define LAYOUT_CMDLINE_MAX    0x10000ULL /* including the terminating NUL */
#define LAYOUT_EBDA_START     0x9fc00ULL /* e820: RAM ends here in the first MiB */

/* ACPI tables live in the legacy BIOS area so that a scan of 0xe0000-0xfffff also finds the RSDP.
 */
#define LAYOUT_ACPI_GPA	 0xe0000ULL
#define LAYOUT_ACPI_SIZE 0x20000ULL

#define LAYOUT_HIMEM_START 0x100000ULL	/* 1 MiB */
#define LAYOUT_KERNEL_GPA  0x1000000ULL /* 16 MiB, the usual pref_address */

/* The 32-bit MMIO hole: RAM beyond it continues at 4 GiB. */
#define LAYOUT_MMIO_GAP_START 0xc0000000ULL
#define LAYOUT_MMIO_GAP_END   0x100000000ULL

/* Guest writes the byte BOOT_TIMER_MAGIC here to have ember log its boot time. */
#define LAYOUT_BOOT_TIMER_GPA  0xc0000000ULL
#define LAYOUT_BOOT_TIMER_SIZE 0x1000ULL
#define BOOT_TIMER_MAGIC       123

/* Device windows handed to plugins (virtio-mmio and others), one slot each. */
#define LAYOUT_DEVICE_MMIO_GPA	0xd0000000ULL
#define LAYOUT_DEVICE_MMIO_SIZE 0x10000000ULL /* 256 MiB of slots */

/*
 * Device memory (ABI 1.2 devmem_alloc): pages a plugin shares with the guest as memory, one
 * KVM memory slot each, handed out upwards in 4 KiB steps. Inside the MMIO hole, above the
 * device windows and below the IOAPIC/LAPIC, KVM's TSS and identity map (0xfffbc000..): never
 * RAM, and each allocation is listed as reserved in the e820 map.
 */
#define LAYOUT_DEVICE_MEM_GPA  0xe0000000ULL
#define LAYOUT_DEVICE_MEM_SIZE 0x10000000ULL /* 256 MiB */

/* Pages KVM needs below 4 GiB on Intel (VMX real-mode TSS: 3 pages; EPT identity map: 1). */
#define LAYOUT_KVM_IDENTITY_MAP_GPA 0xfffbc000ULL
#define LAYOUT_KVM_TSS_GPA	    0xfffbd000ULL

#define LAYOUT_IOAPIC_GPA 0xfec00000ULL
#define LAYOUT_LAPIC_GPA  0xfee00000ULL

_Static_assert(LAYOUT_DEVICE_MMIO_GPA + LAYOUT_DEVICE_MMIO_SIZE <= LAYOUT_DEVICE_MEM_GPA &&
		   LAYOUT_DEVICE_MEM_GPA + LAYOUT_DEVICE_MEM_SIZE <= LAYOUT_IOAPIC_GPA,
	       "device memory overlaps the device windows or the interrupt controllers");

/* Ports. */
#define LAYOUT_COM1_PORT  0x3f8
#define LAYOUT_COM1_IRQ	  4
#define LAYOUT_I8042_DATA 0x60
#define LAYOUT_I8042_CMD  0x64
#define LAYOUT_I8042_IRQ  1
/* HW-reduced ACPI sleep and reset registers (FADT X_SLEEP_CONTROL/STATUS, RESET_REG). */
#define LAYOUT_ACPI_SLEEP_CTL_PORT 0x600
#define LAYOUT_ACPI_SLEEP_STS_PORT 0x601
#define LAYOUT_ACPI_RESET_PORT	   0x602
#define LAYOUT_ACPI_RESET_VALUE	   0x01
/* The sleep type the DSDT's \_S5 names; writing SLP_EN with it powers the VM off. */
#define LAYOUT_ACPI_S5_TYPE 5

/* First GSI given to plugin devices; 0-15 are the legacy ISA lines. */
#define LAYOUT_DEVICE_GSI_BASE 16
#define LAYOUT_IOAPIC_PINS     24

#endif
