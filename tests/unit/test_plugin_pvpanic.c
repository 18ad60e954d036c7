/* SPDX-License-Identifier: Apache-2.0 */
/* The pvpanic plugin (a plain MMIO device) through the harness. */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

static struct harness h;
static char err[512];

static void start(const char *options)
{
	harness_init(&h);
	cr_assert_eq(harness_create(&h, "pvpanic", options, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	cr_expect_eq(harness_fini(&h), 0);
}

TestSuite(pvpanic, .fini = teardown);

Test(pvpanic, window_and_acpi)
{
	start("");
	cr_assert_eq(plugin_instance_window_size(h.dev), 0x1000);
	cr_assert_str_eq(plugin_instance_acpi_hid(h.dev), "QEMU0001");
	cr_assert_not(plugin_instance_has_irq(h.dev));
}

Test(pvpanic, reads_supported_events)
{
	start("");
	cr_assert_eq(harness_read8(&h, 0), 3);
	cr_assert_eq(harness_read8(&h, 1), 0xff, "outside the 1-byte window");
	cr_assert_eq(harness_read32(&h, 0), 0xffffffffu, "a 4-byte access does not fit");
}

Test(pvpanic, events_option)
{
	start("events = 1;");
	cr_assert_eq(harness_read8(&h, 0), 1);
	harness_write8(&h, 0, 2); /* not offered: ignored */
	cr_assert_eq(h.panics, 0);
	cr_assert_not(harness_log_contains(&h, "crash kernel"));
}

Test(pvpanic, panic_is_reported)
{
	start("");
	harness_write8(&h, 0, 1);
	cr_assert_eq(h.panics, 1);
	cr_assert_eq(h.panic_events, 1);
	cr_assert(harness_log_contains(&h, "pvpanic.0: the guest reported a panic"), "%s", h.log);
}

Test(pvpanic, crash_loaded_is_logged_only)
{
	start("");
	harness_write8(&h, 0, 2);
	cr_assert_eq(h.panics, 0);
	cr_assert(harness_log_contains(&h, "crash kernel"), "%s", h.log);
	harness_write8(&h, 0, 0x80); /* unknown bits */
	cr_assert_eq(h.panics, 0);
}

Test(pvpanic, bad_events_option)
{
	harness_init(&h);
	cr_assert_eq(harness_create(&h, "pvpanic", "events = 4;", err, sizeof(err)), -1);
	cr_assert_str_eq(err, "harness.cfg:3: devices[0].events: 4 is outside 1..3");
}

Test(pvpanic, reset_and_cycles)
{
	start("");
	for (int i = 0; i < 20; i++) {
		plugin_instance_reset(h.dev);
		cr_assert_eq(harness_destroy(&h), 0);
		cr_assert_eq(harness_create(&h, "pvpanic", "", err, sizeof(err)), 0, "%s", err);
	}
}
