/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm-probe: exit 0 when /dev/kvm can run a stock guest here, else print why and exit 1.
 *
 * Opening /dev/kvm and creating a VM is not enough: some hosts offer a /dev/kvm that runs only
 * paravirtualized guests (e.g. PVM, which falls back to its instruction emulator for anything
 * else and fails on the first VEX-encoded instruction a stock kernel executes). So the probe also
 * runs a few 32-bit protected-mode instructions, including BMI2's SHLX when the host CPU has it,
 * and expects them to report 8 on port 0x10.
 *
 * kvm-probe --hold: create one VM with an irqchip and one never-run vCPU and keep them until
 * killed. While they exist, creating and destroying the others does not flip KVM's static keys
 * (the preempt notifiers, the LAPIC's software-disabled count), i.e. does not make the kernel
 * patch its own code; under QEMU's multi-threaded TCG (nested mode) that patching now and then
 * oopses L1 ("Oops: int3" in __schedule or __apic_accept_irq). L1's /init runs this first.
 *
 * Build: cc -O2 -o kvm-probe kvm-probe.c
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "kvm-probe: %s\n", what);
	return 1;
}

static int hold(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);

	if (vm < 0)
		return fail("--hold: cannot create a VM");
	/* A vCPU whose in-kernel LAPIC stays software-disabled holds KVM's LAPIC static keys too.
	 */
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 || ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		fprintf(stderr, "kvm-probe: --hold: no irqchip or vCPU; holding the bare VM\n");
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--hold") == 0)
		return hold();
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("cannot open /dev/kvm");
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return fail("unexpected KVM_GET_API_VERSION");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM failed");

	/* mov eax,1; mov ecx,3; shlx eax,eax,ecx (or shl eax,cl); out 0x10,al; hlt */
	static const uint8_t shlx[] = {0xb8, 1,	   0,	 0,    0,    0xb9, 3,	 0,    0,
				       0,    0xc4, 0xe2, 0x71, 0xf7, 0xc0, 0xe6, 0x10, 0xf4};
	static const uint8_t shl[] = {0xb8, 1,	  0,	0,    0,    0xb9, 3,	0,    0,
				      0,    0xd3, 0xe0, 0x90, 0x90, 0x90, 0xe6, 0x10, 0xf4};
	__builtin_cpu_init();
	const uint8_t *code = __builtin_cpu_supports("bmi2") ? shlx : shl;

	size_t size = 0x10000;
	uint8_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap failed");
	memcpy(mem + 0x1000, code, sizeof(shlx));
	struct kvm_userspace_memory_region region = {
	    .slot = 0, .guest_phys_addr = 0, .memory_size = size, .userspace_addr = (uintptr_t)mem};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION failed");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU failed");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE failed");
	struct kvm_run *run =
	    mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap of kvm_run failed");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS failed");
	struct kvm_segment seg = {.base = 0,
				  .limit = 0xffffffff,
				  .selector = 0x10,
				  .type = 3,
				  .present = 1,
				  .dpl = 0,
				  .db = 1,
				  .s = 1,
				  .l = 0,
				  .g = 1};
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
	seg.type = 11;
	seg.selector = 0x8;
	sregs.cs = seg;
	sregs.cr0 |= 1; /* protected mode, no paging */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS failed");
	struct kvm_regs regs = {.rip = 0x1000, .rflags = 2, .rsp = 0x8000};
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS failed");

	for (int i = 0; i < 16; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return fail("KVM_RUN failed");
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0x10) {
				uint8_t v = *((uint8_t *)run + run->io.data_offset);
				if (v == 8)
					return 0;
				return fail("the test guest computed a wrong value");
			}
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			return fail(
			    "KVM cannot run the test guest natively (internal error / emulation "
			    "failure: a paravirt-only /dev/kvm such as PVM?)");
		case KVM_EXIT_HLT:
			return fail("the test guest halted early");
		default:
			break;
		}
	}
	return fail("the test guest did not finish");
}
