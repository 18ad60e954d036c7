/* SPDX-License-Identifier: Apache-2.0 */
#include "acpi_pm.h"

#include "layout.h"

#include <string.h>

#define SLP_EN	   0x20
#define SLP_TYP(v) (((v) >> 2) & 0x7)
#define WAK_STS	   0x80
#define OFF_CTL	   (LAYOUT_ACPI_SLEEP_CTL_PORT - LAYOUT_ACPI_SLEEP_CTL_PORT)
#define OFF_RESET  (LAYOUT_ACPI_RESET_PORT - LAYOUT_ACPI_SLEEP_CTL_PORT)

void acpi_pm_io_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, len);
	/* Sleep status reads "woken": no sleep state other than S5 exists to wait in. */
	*(uint8_t *)data = WAK_STS;
}

void acpi_pm_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)len;
	if (offset == OFF_CTL && (v & SLP_EN) && SLP_TYP(v) == LAYOUT_ACPI_S5_TYPE)
		pm->stop(pm->stop_opaque, VM_STOP_POWEROFF);
	else if (offset == OFF_RESET && v == LAYOUT_ACPI_RESET_VALUE)
		pm->stop(pm->stop_opaque, VM_STOP_REBOOT);
}
