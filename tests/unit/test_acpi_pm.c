/* SPDX-License-Identifier: Apache-2.0 */
#include "acpi_pm.h"
#include "layout.h"

#include <criterion/criterion.h>
#include <string.h>

#define OFF_CTL	  (LAYOUT_ACPI_SLEEP_CTL_PORT - LAYOUT_ACPI_SLEEP_CTL_PORT)
#define OFF_STS	  (LAYOUT_ACPI_SLEEP_STS_PORT - LAYOUT_ACPI_SLEEP_CTL_PORT)
#define OFF_RESET (LAYOUT_ACPI_RESET_PORT - LAYOUT_ACPI_SLEEP_CTL_PORT)
#define SLP_EN	  0x20

struct recorder {
	enum vm_stop_reason last;
	int calls;
};

static void record_stop(void *opaque, enum vm_stop_reason reason)
{
	struct recorder *r = opaque;

	r->last = reason;
	r->calls++;
}

static void wr(struct acpi_pm *pm, uint64_t off, uint8_t v)
{
	acpi_pm_io_write(pm, off, &v, 1);
}

Test(acpi_pm, offsets_match_the_layout)
{
	cr_assert_eq(OFF_CTL, 0);
	cr_assert_eq(OFF_STS, 1);
	cr_assert_eq(OFF_RESET, 2);
}

Test(acpi_pm, s5_with_slp_en_powers_off)
{
	struct recorder r = {0};
	struct acpi_pm pm = {.stop = record_stop, .stop_opaque = &r};

	wr(&pm, OFF_CTL, (LAYOUT_ACPI_S5_TYPE << 2) | SLP_EN);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.last, VM_STOP_POWEROFF);
	cr_assert_eq((5 << 2) | 0x20, 0x34);
	r = (struct recorder){0};
	wr(&pm, OFF_CTL, 0x34);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.last, VM_STOP_POWEROFF);
	/* Bits outside SLP_TYP and SLP_EN do not matter. */
	r = (struct recorder){0};
	wr(&pm, OFF_CTL, 0x34 | 0x83);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.last, VM_STOP_POWEROFF);
}

Test(acpi_pm, other_sleep_writes_do_nothing)
{
	struct recorder r = {0};
	struct acpi_pm pm = {.stop = record_stop, .stop_opaque = &r};

	/* S5 without SLP_EN. */
	wr(&pm, OFF_CTL, LAYOUT_ACPI_S5_TYPE << 2);
	/* SLP_EN with every other sleep type. */
	for (uint8_t typ = 0; typ < 8; typ++)
		if (typ != LAYOUT_ACPI_S5_TYPE)
			wr(&pm, OFF_CTL, (uint8_t)((typ << 2) | SLP_EN));
	/* S5 + SLP_EN at the status or reset offset. */
	wr(&pm, OFF_STS, 0x34);
	wr(&pm, OFF_RESET, 0x34);
	cr_assert_eq(r.calls, 0, "unexpected stop %d", r.last);
}

Test(acpi_pm, reset_value_reboots)
{
	struct recorder r = {0};
	struct acpi_pm pm = {.stop = record_stop, .stop_opaque = &r};

	wr(&pm, OFF_RESET, LAYOUT_ACPI_RESET_VALUE);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(r.last, VM_STOP_REBOOT);
}

Test(acpi_pm, other_reset_writes_do_nothing)
{
	struct recorder r = {0};
	struct acpi_pm pm = {.stop = record_stop, .stop_opaque = &r};

	for (unsigned v = 0; v < 256; v++)
		if (v != LAYOUT_ACPI_RESET_VALUE)
			wr(&pm, OFF_RESET, (uint8_t)v);
	/* The reset value at the other offsets. */
	wr(&pm, OFF_CTL, LAYOUT_ACPI_RESET_VALUE);
	wr(&pm, OFF_STS, LAYOUT_ACPI_RESET_VALUE);
	wr(&pm, 3, LAYOUT_ACPI_RESET_VALUE);
	cr_assert_eq(r.calls, 0, "unexpected stop %d", r.last);
}

Test(acpi_pm, status_reads_woken)
{
	struct acpi_pm pm = {0};
	uint8_t v[2];

	memset(v, 0xff, sizeof(v));
	acpi_pm_io_read(&pm, OFF_STS, v, sizeof(v));
	cr_assert_eq(v[0], 0x80);
	cr_assert_eq(v[1], 0);
}
