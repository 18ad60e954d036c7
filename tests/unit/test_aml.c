/* SPDX-License-Identifier: Apache-2.0 */
/* The AML encoder against byte sequences from the ACPI 6.5 specification. */
#include "aml.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#define BUF_CAP 8192

static uint8_t data[BUF_CAP];
static struct aml_buf b;

static void setup(void)
{
	memset(data, 0xaa, sizeof(data));
	aml_init(&b, data, sizeof(data));
}

TestSuite(aml, .init = setup);

static void expect_bytes(const uint8_t *want, size_t n)
{
	cr_assert_eq(aml_error(&b), 0);
	cr_assert_eq(b.len, n, "encoded %zu bytes, want %zu", b.len, n);
	cr_assert_arr_eq(data, want, n);
}

#define EXPECT(...)                                    \
	do {                                           \
		const uint8_t want_[] = {__VA_ARGS__}; \
		expect_bytes(want_, sizeof(want_));    \
	} while (0)

Test(aml, integers_use_shortest_encoding)
{
	aml_integer(&b, 0);
	aml_integer(&b, 1);
	aml_integer(&b, 2);
	aml_integer(&b, 0xff);
	aml_integer(&b, 0x100);
	aml_integer(&b, 0x10000);
	aml_integer(&b, 0x100000000ULL);
	EXPECT(0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff, 0x0b, 0x00, 0x01, 0x0c, 0x00, 0x00, 0x01, 0x00,
	       0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);
}

Test(aml, string_and_eisaid)
{
	aml_string(&b, "LNRO0005");
	aml_eisaid(&b, "PNP0501");
	EXPECT(0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00, 0x0c, 0x41, 0xd0, 0x05, 0x01);
}

Test(aml, bad_eisaid_is_einval)
{
	aml_eisaid(&b, "pnp0501");
	cr_assert_eq(aml_error(&b), -EINVAL);
}

Test(aml, name_strings)
{
	aml_name_string(&b, "_HID");
	aml_name_string(&b, "\\_SB");
	aml_name_string(&b, "\\_SB.COM1");
	aml_name_string(&b, "^A.B.C");
	EXPECT('_', 'H', 'I', 'D', '\\', '_', 'S', 'B', '_', '\\', 0x2e, '_', 'S', 'B', '_', 'C',
	       'O', 'M', '1', '^', 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_',
	       '_');
}

Test(aml, bad_names_are_einval)
{
	const char *bad[] = {"", "\\", "TOOLONG", "1ABC", "A..B", "AB.", "ab", "A-B"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup();
		aml_name_string(&b, bad[i]);
		cr_assert_eq(aml_error(&b), -EINVAL, "name \"%s\" accepted", bad[i]);
	}
}

Test(aml, name_package)
{
	size_t pkg;

	aml_name_decl(&b, "_S5_");
	pkg = aml_package_begin(&b, 2);
	aml_integer(&b, 5);
	aml_integer(&b, 0);
	aml_package_end(&b, pkg);
	/* PkgLength 5 = itself + NumElements + 0x0a 0x05 + 0x00 */
	EXPECT(0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00);
}

/* Bytes of PkgLength for a Package whose body (NumElements + elements) is body bytes. */
static size_t pkglen_bytes_for_body(size_t body)
{
	size_t mark;

	setup();
	mark = aml_package_begin(&b, 0);
	for (size_t i = 1; i < body; i++) /* NumElements counts as one byte of the body */
		aml_integer(&b, 0);
	aml_package_end(&b, mark);
	cr_assert_eq(aml_error(&b), 0);
	return b.len - 1 - body; /* minus PackageOp and body */
}

Test(aml, pkglength_boundaries)
{
	cr_assert_eq(pkglen_bytes_for_body(62), 1);
	cr_assert_eq(pkglen_bytes_for_body(63), 2); /* 63 + 1 = 64 does not fit 6 bits */
	cr_assert_eq(pkglen_bytes_for_body(4093), 2);
	cr_assert_eq(pkglen_bytes_for_body(4094), 3); /* 4094 + 2 = 4096 does not fit 12 bits */
}

Test(aml, pkglength_two_byte_layout)
{
	size_t mark = aml_package_begin(&b, 0);

	for (int i = 0; i < 99; i++)
		aml_integer(&b, 0);
	aml_package_end(&b, mark);
	/* body 100 + 2 = 102 = 0x66: lead byte 0x40 | 0x6, then 0x66 >> 4 */
	cr_assert_eq(data[1], 0x46);
	cr_assert_eq(data[2], 0x06);
}

Test(aml, device_with_resources)
{
	size_t dev = aml_device_begin(&b, "COM1");
	size_t crs;

	aml_name_decl(&b, "_CRS");
	crs = aml_resource_template_begin(&b);
	aml_res_io(&b, 0x3f8, 0x3f8, 1, 8);
	aml_res_irq_noflags(&b, 4);
	aml_resource_template_end(&b, crs);
	aml_device_end(&b, dev);
	EXPECT(0x5b, 0x82, 0x1b, 'C', 'O', 'M', '1', 0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a,
	       0x0d, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79, 0x0e);
}

Test(aml, resource_template_checksum_sums_to_zero)
{
	size_t crs = aml_resource_template_begin(&b);
	uint8_t sum = 0;

	aml_res_memory32_fixed(&b, true, 0xd0000000, 0x1000);
	aml_res_interrupt(&b, AML_IRQ_CONSUMER, 16);
	aml_resource_template_end(&b, crs);
	cr_assert_eq(aml_error(&b), 0);
	/* Buffer: 0x11 PkgLength(1) BufferSize(0x0a n) then the template */
	cr_assert_eq(data[0], 0x11);
	cr_assert_eq(data[2], 0x0a);
	cr_assert_eq(data[3], 12 + 9 + 2);
	cr_assert_eq(data[4], 0x86);
	cr_assert_eq(data[16], 0x89);
	cr_assert_eq(data[19], 0x01); /* consumer, level, active-high, exclusive */
	for (size_t i = 4; i < b.len; i++)
		sum = (uint8_t)(sum + data[i]);
	cr_assert_eq(sum, 0);
}

Test(aml, bad_irq_is_einval)
{
	aml_res_irq_noflags(&b, 16);
	cr_assert_eq(aml_error(&b), -EINVAL);
}

Test(aml, overflow_is_enospc_and_stays_in_bounds)
{
	for (size_t cap = 0; cap < 40; cap++) {
		size_t dev;

		memset(data, 0xaa, sizeof(data));
		aml_init(&b, data, cap);
		dev = aml_device_begin(&b, "\\_SB.V000");
		aml_name_decl(&b, "_HID");
		aml_string(&b, "LNRO0005");
		aml_device_end(&b, dev);
		if (cap < 28)
			cr_assert_eq(aml_error(&b), -ENOSPC, "cap %zu", cap);
		else
			cr_assert_eq(aml_error(&b), 0, "cap %zu", cap);
		for (size_t i = cap; i < sizeof(data); i++)
			cr_assert_eq(data[i], 0xaa, "wrote byte %zu past cap %zu", i, cap);
	}
}
