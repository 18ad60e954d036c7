/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The x86-64 CPU state a Linux guest expects at its 64-bit entry point, and the per-vCPU
 * CPUID, MSRs and local APIC setup. Called on the main thread before the vCPU threads start.
 * Functions return 0 or a negative errno from the failing ioctl.
 */
#ifndef EMBER_X86_CPU_H
#define EMBER_X86_CPU_H

#include "guest_mem.h"

#include <linux/kvm.h>
#include <stdint.h>

/* Writes the boot GDT, IDT and identity page tables (first 4 GiB) into guest RAM. */
int x86_write_boot_tables(const struct guest_mem *mem);

/* Long mode, paging on, flat segments; rip = entry, rsi = boot_params. Only for the BSP. */
int x86_setup_boot_regs(int vcpu_fd, uint64_t entry, uint64_t boot_params_gpa);

/*
 * CPUID for vCPU index (its APIC ID) of count vCPUs, derived from KVM's supported set:
 * topology leaves rewritten so the guest sees count single-threaded cores in one package;
 * KVM's paravirtual leaves kept (kvmclock, PV EOI, ptp_kvm).
 */
int x86_setup_cpuid(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned index,
		    unsigned count);

/* MSRs a Linux guest expects at boot (MTRR default WB, fast strings, syscall MSRs zero). */
int x86_setup_msrs(int vcpu_fd);

/* FPU control words in their reset state. */
int x86_setup_fpu(int vcpu_fd);

/* LINT0 = ExtINT, LINT1 = NMI, as firmware leaves them. */
int x86_setup_lapic(int vcpu_fd);

/* KVM_GET_SUPPORTED_CPUID into a malloc'ed struct (caller frees), or NULL with errno set. */
struct kvm_cpuid2 *x86_supported_cpuid(int kvm_fd);

#endif
