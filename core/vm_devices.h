/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's plugin devices: loading each plugin the config names and checking its options
 * (also for `ember check`, without KVM), then creating the instances, placing their MMIO windows
 * and interrupt lines, and wiring queue notifications (ioeventfd) and interrupts (irqfd with a
 * resample fd) to KVM and the event loop. Also the platform half of the host-services table:
 * logging, fd watches and timers on the event loop, the clock and guest-panic reports, device
 * memory (a KVM memory slot per device, placed from LAYOUT_DEVICE_MEM_GPA) and clock pairs
 * (KVM_GET_CLOCK with the host TSC, plus vCPU 0's TSC offset).
 *
 * Threads: prepare/create/destroy on the main thread; the rest as plugin_instance.h says.
 */
#ifndef EMBER_VM_DEVICES_H
#define EMBER_VM_DEVICES_H

#include "acpi_tables.h"
#include "config.h"
#include "linux_boot.h"

#include <stddef.h>
#include <stdint.h>

struct vm;
struct vm_device;
struct vm_clock;

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
};

/*
 * Loads every plugin cfg names and checks its options. Returns 0, or -1 after logging one line
 * (FILE: what, or CONFIG:LINE: devices[N].KEY: what). Nothing stays loaded on failure.
 */
int vm_devices_prepare(struct vm_devices *ds, const struct vm_config *cfg);

/* vm_devices_create's answer when the configuration itself cannot be built (a plugin refused
 * to create its device, too many devices): ember exits 2, like `ember check` would. */
#define VM_DEVICES_REFUSED (-2)

/*
 * Creates the instances and wires them into vm (buses, KVM irqfd/ioeventfd, event loop) and
 * fills ds->acpi for the DSDT. Returns 0, VM_DEVICES_REFUSED, or -1 (a host failure) after
 * logging why.
 */
int vm_devices_create(struct vm_devices *ds, struct vm *vm);

/*
 * Call once the vCPUs exist and are configured, before any of them runs: reads what clock_pair
 * needs from vCPU 0 (its TSC offset and frequency) while no thread is inside KVM_RUN, since a
 * vCPU ioctl from another thread would wait until that vCPU leaves KVM_RUN. Until then, and
 * where KVM cannot pair clocks, clock_pair answers -ENOTSUP and logs why once per device.
 * Nothing here fails the VM.
 */
void vm_devices_vcpus_ready(struct vm_devices *ds, struct vm *vm);

/*
 * Destroys the instances (after the vCPUs stopped), then removes each one's device memory from
 * the guest (its KVM memory slot) and unmaps it, and unloads the plugins.
 */
void vm_devices_destroy(struct vm_devices *ds);

#endif
