/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's plugin devices: loading each plugin the config names and checking its options
 * (also for `ember check`, without KVM), then creating the instances, placing their MMIO windows
 * and interrupt lines, and wiring queue notifications (ioeventfd) and interrupts (irqfd with a
 * resample fd) to KVM and the event loop. Also the platform half of the host-services table:
 * logging, fd watches and timers on the event loop (plugin_callbacks.h, over epoll and
 * timerfds), the clock and guest-panic reports, device memory (a KVM memory slot per device,
 * placed from LAYOUT_DEVICE_MEM_GPA) and clock pairs (KVM_GET_CLOCK with the host TSC, plus
 * vCPU 0's TSC offset).
 *
 * The VM reaches this file only through struct vm_devices_host: the fds, the event loop, the MMIO
 * bus, guest memory, a stop callback, and the few KVM ioctls that wire devices (irqfd,
 * ioeventfd, memory slots, capabilities) behind function pointers, so that a test can create
 * devices on a fake VM fd and record what would have reached KVM (tests/unit/test_vm_devices.c).
 *
 * Threads: prepare/create/vcpus_ready/destroy on the main thread; the rest as plugin_instance.h
 * says. Errors: create and prepare log one line and return -1 (or VM_DEVICES_REFUSED); the KVM
 * functions return 0 or a negative errno.
 */
#ifndef EMBER_VM_DEVICES_H
#define EMBER_VM_DEVICES_H

#include "acpi_tables.h"
#include "bus.h"
#include "config.h"
#include "event_loop.h"
#include "guest_mem.h"
#include "linux_boot.h"
#include "plugin_loader.h"
#include "seccomp_install.h"
#include "vm_stop.h"

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

/*
 * KVM memory slots: guest RAM region i (at most two, guest_mem.h) is slot i; device memory
 * takes VM_SLOT_DEVMEM and up, one slot per device that has some.
 */
#define VM_SLOT_DEVMEM 2

struct vm_device;
struct plugin_instance;
struct vm_clock;
struct vm_devices_host;

/*
 * The KVM ioctls that wire devices, each returning 0 (or for check_extension the capability's
 * value, > 0 when KVM has it) or a negative errno. Called on the main thread (irqfd, ioeventfd,
 * set_memslot and check_extension from create and destroy; nothing else calls them).
 */
struct vm_devices_kvm {
	/* KVM_IRQFD: flags 0 (edge) or KVM_IRQFD_FLAG_RESAMPLE (level, with resamplefd). */
	int (*irqfd)(const struct vm_devices_host *host, const struct kvm_irqfd *irqfd);
	/* KVM_IOEVENTFD: a 4-byte write of datamatch to addr (KVM_IOEVENTFD_FLAG_DATAMATCH). */
	int (*ioeventfd)(const struct vm_devices_host *host, const struct kvm_ioeventfd *ioeventfd);
	/* KVM_SET_USER_MEMORY_REGION: memory_size 0 removes the slot. */
	int (*set_memslot)(const struct vm_devices_host *host,
			   const struct kvm_userspace_memory_region *region);
	/* KVM_CHECK_EXTENSION on /dev/kvm (KVM_CAP_READONLY_MEM, KVM_CAP_ADJUST_CLOCK). */
	int (*check_extension)(const struct vm_devices_host *host, long cap);
};

/* The real ones: ioctls on host->vm_fd (check_extension: on host->kvm_fd). */
extern const struct vm_devices_kvm vm_devices_kvm_ioctls;

/* What the devices get from the VM. Everything must outlive vm_devices_destroy. */
struct vm_devices_host {
	int kvm_fd; /* /dev/kvm */
	int vm_fd;  /* the VM: what the KVM functions act on; clock_pair's KVM_GET_CLOCK */
	const struct vm_devices_kvm *kvm;
	void *kvm_opaque; /* for the KVM functions (a test's recording fake); unused by ember */
	struct event_loop *loop;
	struct bus *mmio;	     /* device windows and device memory are added here */
	const struct guest_mem *mem; /* guest RAM for the instances */
	vm_stop_fn stop;	     /* a guest panic: VM_STOP_GUEST_PANIC; any thread */
	void *stop_opaque;
	/* Per device (config order), the filter of the threads its plugin starts; NULL: none. */
	const struct seccomp_prog *thread_filters;
};

struct vm_devices {
	struct vm_device *devs;
	size_t count;
	struct acpi_mmio_device *acpi; /* one per device with an ACPI node */
	size_t acpi_count;
	/*
	 * Device memory (devmem_alloc) handed out during create, one range per device that has
	 * some, for the e820 map: ember reserves each range there. Bump-allocated from
	 * LAYOUT_DEVICE_MEM_GPA; devmem_next is the first free address.
	 */
	struct linux_boot_range *devmem;
	size_t devmem_count;
	uint64_t devmem_next;
	struct vm_clock *clock;	     /* what clock_pair needs from KVM (vm_devices.c) */
	const struct vm_config *cfg; /* from prepare: device names and messages (device_check.h) */
	struct vm_devices_host host; /* from create */
};

/*
 * Loads every plugin cfg names and checks its options. Returns 0, or -1 after logging one line
 * (FILE: what, or CONFIG:LINE: devices[N].KEY: what). Nothing stays loaded on failure; on
 * success vm_devices_destroy undoes it (also without a create).
 */
int vm_devices_prepare(struct vm_devices *ds, const struct vm_config *cfg);

/* After prepare: device i's plugin (i < ds->count), for the seccomp filters. */
const struct plugin *vm_devices_plugin(const struct vm_devices *ds, size_t i);

/*
 * After create, for the control plane (main thread; i < ds->count): device i's id (the config's
 * id, else its instance name, "virtio-rng.0"), its plugin's name, and its instance. find
 * answers the index of the device whose id is `id`, or -1.
 */
const char *vm_devices_id(const struct vm_devices *ds, size_t i);
const char *vm_devices_plugin_name(const struct vm_devices *ds, size_t i);
struct plugin_instance *vm_devices_instance(const struct vm_devices *ds, size_t i);
long vm_devices_find(const struct vm_devices *ds, const char *id);

/* vm_devices_create's answer when the configuration itself cannot be built (a plugin refused
 * to create its device, too many devices): ember exits 2, like `ember check` would. */
#define VM_DEVICES_REFUSED (-2)

/*
 * Creates the instances in config order and wires them in through host (copied): each gets
 * the next 4 KiB-aligned window from LAYOUT_DEVICE_MMIO_GPA on host->mmio, the next GSI from 16
 * when it has an interrupt (at most 8 devices), an irqfd (edge for virtio, level with a
 * resample fd watched on host->loop otherwise), one ioeventfd per virtio queue at
 * base + 0x50 (datamatch = the queue's index), and fills ds->acpi for the DSDT and ds->devmem
 * for the e820 map. Returns 0, VM_DEVICES_REFUSED, or -1 (a host failure) after logging why;
 * vm_devices_destroy then undoes whatever was done.
 */
int vm_devices_create(struct vm_devices *ds, const struct vm_devices_host *host);

/*
 * Call once the vCPUs exist and are configured, before any of them runs, with vCPU 0's fd (-1:
 * none): reads what clock_pair needs (its TSC offset and frequency) while no thread is inside
 * KVM_RUN, since a vCPU ioctl from another thread would wait until that vCPU leaves KVM_RUN.
 * Until then, and where KVM cannot pair clocks, clock_pair answers -ENOTSUP and logs why once
 * per device. Nothing here fails the VM.
 */
void vm_devices_vcpus_ready(struct vm_devices *ds, int vcpu0_fd);

/*
 * Destroys the instances (after the vCPUs stopped), then removes each one's device memory from
 * the guest (its KVM memory slot) and unmaps it, and unloads the plugins. ds is zeroed.
 */
void vm_devices_destroy(struct vm_devices *ds);

#endif
