/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's plugin devices: loading each plugin the config names and checking its options
 * (also for `ember check`, without KVM), then creating the instances, placing their MMIO windows
 * and interrupt lines, and wiring queue notifications (ioeventfd) and interrupts (irqfd with a
 * resample fd) to KVM and the event loop. Also the platform half of the host-services table:
 * logging, fd watches and timers on the event loop, the clock and guest-panic reports.
 *
 * Threads: prepare/create/destroy on the main thread; the rest as plugin_instance.h says.
 */
#ifndef EMBER_VM_DEVICES_H
#define EMBER_VM_DEVICES_H

#include "acpi_tables.h"
#include "config.h"

#include <stddef.h>

struct vm;
struct vm_device;

struct vm_devices {
	struct vm_device *devs;
	size_t count;
	struct acpi_mmio_device *acpi; /* one per device with an ACPI node */
	size_t acpi_count;
};

/*
 * Loads every plugin cfg names and checks its options. Returns 0, or -1 after logging one line
 * (FILE: what, or CONFIG:LINE: devices[N].KEY: what). Nothing stays loaded on failure.
 */
int vm_devices_prepare(struct vm_devices *ds, const struct vm_config *cfg);

/*
 * Creates the instances and wires them into vm (buses, KVM irqfd/ioeventfd, event loop) and
 * fills ds->acpi for the DSDT. Returns 0, or -1 after logging why.
 */
int vm_devices_create(struct vm_devices *ds, struct vm *vm);

/* Destroys the instances (after the vCPUs stopped) and unloads the plugins. */
void vm_devices_destroy(struct vm_devices *ds);

#endif
