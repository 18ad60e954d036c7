/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hardware-reduced ACPI registers the FADT points at: sleep control (a write of SLP_EN
 * with the \_S5 sleep type powers the VM off), sleep status, and the reset register.
 * One port region of three bytes at LAYOUT_ACPI_SLEEP_CTL_PORT; stateless apart from the
 * stop callback, so it needs no lock.
 */
#ifndef EMBER_ACPI_PM_H
#define EMBER_ACPI_PM_H

#include "vm_stop.h"

#include <stdint.h>

struct acpi_pm {
	vm_stop_fn stop;
	void *stop_opaque;
};

void acpi_pm_io_read(void *pm, uint64_t offset, void *data, uint32_t len);
void acpi_pm_io_write(void *pm, uint64_t offset, const void *data, uint32_t len);

#endif
