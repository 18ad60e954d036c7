/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acme-scratch: the smallest useful out-of-tree ember device. A plain MMIO window with one
 * 32-bit scratch register at offset 0 that the guest can write and read back; its power-on
 * value comes from the config:
 *
 *   devices = ( { plugin = "acme-scratch"; initial = 42; } );
 *
 * Built only against the installed SDK (pkg-config --cflags ember-sdk); see the Makefile.
 */
#include <ember/device.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ember_instance {
	const struct ember_host *host;
	uint32_t initial;
	uint32_t scratch;
};

static int scratch_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *s;
	int64_t initial;

	/* Checked against the option table below before create is called: cannot fail here. */
	if (host->opt_int(host, "initial", &initial))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->host = host;
	s->initial = s->scratch = (uint32_t)initial;
	host->log(host, EMBER_LOG_INFO, "scratch register starts at %u", s->initial);
	*out = s;
	return 0;
}

static void scratch_destroy(struct ember_instance *s)
{
	free(s);
}

static void scratch_reset(struct ember_instance *s)
{
	s->scratch = s->initial;
}

/* ember has checked that [offset, offset + len) lies inside the 4-byte window. */
static void scratch_read(struct ember_instance *s, uint64_t offset, void *data, uint32_t len)
{
	memcpy(data, (const uint8_t *)&s->scratch + offset, len);
}

static void scratch_write(struct ember_instance *s, uint64_t offset, const void *data, uint32_t len)
{
	memcpy((uint8_t *)&s->scratch + offset, data, len);
}

static const struct ember_option scratch_options[] = {
    EMBER_OPTION_INT_DEF("initial", 0, 0, 0xffffffffLL, "power-on value of the register"),
};

static const struct ember_device_ops scratch_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = scratch_create,
    .destroy = scratch_destroy,
    .reset = scratch_reset,
    .mmio_read = scratch_read,
    .mmio_write = scratch_write,
};

static const struct ember_plugin_desc scratch_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 0,
    .kind = EMBER_DEVICE_MMIO,
    .name = "acme-scratch",
    .vendor = "ACME Devices",
    .version = "0.1.0",
    .description = "a 32-bit scratch register (out-of-tree SDK example)",
    .mmio_size = 4,
    .acpi_hid = NULL, /* no guest driver binds it; the guest can still poke the window */
    .options = scratch_options,
    .option_count = EMBER_ARRAY_SIZE(scratch_options),
    .option_size = sizeof(struct ember_option),
    .ops = &scratch_ops,
};

EMBER_PLUGIN_DEFINE(scratch_desc)
