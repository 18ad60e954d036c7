/* SPDX-License-Identifier: Apache-2.0 */
#include "x86_cpu.h"

#include "layout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CR0_PE	    (1ULL << 0)
#define CR0_ET	    (1ULL << 4)
#define CR0_PG	    (1ULL << 31)
#define CR4_PAE	    (1ULL << 5)
#define EFER_LME    (1ULL << 8)
#define EFER_LMA    (1ULL << 10)
#define PTE_PRESENT (1ULL << 0)
#define PTE_RW	    (1ULL << 1)
#define PTE_PS	    (1ULL << 7)

#define GDT_CODE_SEL 0x08
#define GDT_DATA_SEL 0x10
#define GDT_TSS_SEL  0x18

static int ioctl_rc(int rc)
{
	return rc < 0 ? -errno : 0;
}

int x86_write_boot_tables(const struct guest_mem *mem)
{
	/* null, 64-bit code, data, 64-bit TSS: flat, granular 4 GiB limits. */
	static const uint64_t gdt[] = {
	    0,
	    0x00af9b000000ffffULL,
	    0x00cf93000000ffffULL,
	    0x008f8b000000ffffULL,
	};
	uint64_t idt = 0, table[512];
	int rc = 0;

	rc |= guest_mem_write(mem, LAYOUT_GDT_GPA, gdt, sizeof(gdt));
	rc |= guest_mem_write(mem, LAYOUT_IDT_GPA, &idt, sizeof(idt));

	memset(table, 0, sizeof(table));
	table[0] = LAYOUT_PDPT_GPA | PTE_PRESENT | PTE_RW;
	rc |= guest_mem_write(mem, LAYOUT_PML4_GPA, table, sizeof(table));

	memset(table, 0, sizeof(table));
	for (unsigned i = 0; i < 4; i++)
		table[i] = (LAYOUT_PD_GPA + i * 0x1000ULL) | PTE_PRESENT | PTE_RW;
	rc |= guest_mem_write(mem, LAYOUT_PDPT_GPA, table, sizeof(table));

	/* Identity map the first 4 GiB in 2 MiB pages: enough for kernel, zero page and cmdline. */
	for (unsigned i = 0; i < 4; i++) {
		for (unsigned j = 0; j < 512; j++)
			table[j] = (((uint64_t)i * 512 + j) << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
		rc |= guest_mem_write(mem, LAYOUT_PD_GPA + i * 0x1000ULL, table, sizeof(table));
	}
	return rc ? -EFAULT : 0;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, uint8_t s, uint8_t l,
				       uint8_t db)
{
	return (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = selector,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = db,
	    .s = s,
	    .l = l,
	    .g = 1,
	};
}

int x86_setup_boot_regs(int vcpu_fd, uint64_t entry, uint64_t boot_params_gpa)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_segment data;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.gdt.base = LAYOUT_GDT_GPA;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = LAYOUT_IDT_GPA;
	sregs.idt.limit = 7;
	sregs.cs = flat_segment(GDT_CODE_SEL, 0xb, 1, 1, 0);
	data = flat_segment(GDT_DATA_SEL, 0x3, 1, 0, 1);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = flat_segment(GDT_TSS_SEL, 0xb, 0, 0, 0);
	sregs.cr3 = LAYOUT_PML4_GPA;
	sregs.cr4 = CR4_PAE;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry;
	regs.rsp = regs.rbp = LAYOUT_BOOT_STACK_GPA;
	regs.rsi = boot_params_gpa;
	return ioctl_rc(ioctl(vcpu_fd, KVM_SET_REGS, &regs));
}

struct kvm_cpuid2 *x86_supported_cpuid(int kvm_fd)
{
	for (unsigned n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	errno = E2BIG;
	return NULL;
}

static unsigned order_base_2(unsigned n)
{
	unsigned s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

static void fix_topology(struct kvm_cpuid_entry2 *e, unsigned index, unsigned count)
{
	switch (e->function) {
	case 0x1:
		/* APIC ID, logical processors per package; we are a hypervisor. */
		e->ebx = (e->ebx & 0xffff) | (index << 24) | ((count & 0xff) << 16);
		if (count > 1)
			e->edx |= 1u << 28;
		else
			e->edx &= ~(1u << 28);
		e->ecx |= 1u << 31;
		break;
	case 0x4: {
		unsigned level = (e->eax >> 5) & 0x7;
		unsigned sharing = level >= 3 ? count - 1 : 0;

		e->eax &= 0x3fff;
		e->eax |= (sharing & 0xfff) << 14;
		e->eax |= ((count - 1) & 0x3f) << 26;
		break;
	}
	case 0xb:
	case 0x1f:
		/* Level 0: one thread per core; level 1: count cores in one package. */
		if (e->index == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = (1u << 8) | 0;
		} else if (e->index == 1) {
			e->eax = order_base_2(count);
			e->ebx = count;
			e->ecx = (2u << 8) | 1;
		} else {
			e->eax = 0;
			e->ebx = 0;
			e->ecx = e->index;
		}
		e->edx = index;
		break;
	case 0x80000008:
		/* AMD: cores per package - 1, and the APIC ID width that covers them. */
		e->ecx = (e->ecx & ~0xf0ffu) | (order_base_2(count) << 12) | ((count - 1) & 0xff);
		break;
	default:
		break;
	}
}

int x86_setup_cpuid(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned index, unsigned count)
{
	size_t bytes = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(bytes);
	int rc;

	if (!c)
		return -ENOMEM;
	memcpy(c, supported, bytes);
	for (unsigned i = 0; i < c->nent; i++)
		fix_topology(&c->entries[i], index, count);
	rc = ioctl_rc(ioctl(vcpu_fd, KVM_SET_CPUID2, c));
	free(c);
	return rc;
}

int x86_setup_msrs(int vcpu_fd)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} boot_msrs[] = {
	    {0x174, 0},		       /* IA32_SYSENTER_CS */
	    {0x175, 0},		       /* IA32_SYSENTER_ESP */
	    {0x176, 0},		       /* IA32_SYSENTER_EIP */
	    {0xc0000081, 0},	       /* STAR */
	    {0xc0000082, 0},	       /* LSTAR */
	    {0xc0000083, 0},	       /* CSTAR */
	    {0xc0000084, 0},	       /* SYSCALL_MASK */
	    {0xc0000102, 0},	       /* KERNEL_GS_BASE */
	    {0x1a0, 1},		       /* IA32_MISC_ENABLE: fast strings */
	    {0x2ff, (1u << 11) | 0x6}, /* MTRR default type: enabled, write-back */
	};
	enum { N = sizeof(boot_msrs) / sizeof(boot_msrs[0]) };
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + N * sizeof(msrs->entries[0]));
	int rc;

	if (!msrs)
		return -ENOMEM;
	msrs->nmsrs = N;
	for (unsigned i = 0; i < N; i++) {
		msrs->entries[i].index = boot_msrs[i].index;
		msrs->entries[i].data = boot_msrs[i].value;
	}
	rc = ioctl(vcpu_fd, KVM_SET_MSRS, msrs);
	rc = rc < 0 ? -errno : rc == N ? 0 : -EINVAL;
	free(msrs);
	return rc;
}

int x86_setup_fpu(int vcpu_fd)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	return ioctl_rc(ioctl(vcpu_fd, KVM_SET_FPU, &fpu));
}

#define APIC_LVT_LINT0	 0x350
#define APIC_LVT_LINT1	 0x360
#define APIC_MODE_NMI	 0x4
#define APIC_MODE_EXTINT 0x7

static void set_lvt_mode(struct kvm_lapic_state *lapic, unsigned reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &lapic->regs[reg], sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&lapic->regs[reg], &v, sizeof(v));
}

int x86_setup_lapic(int vcpu_fd)
{
	struct kvm_lapic_state lapic;

	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	set_lvt_mode(&lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	set_lvt_mode(&lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
	return ioctl_rc(ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic));
}
