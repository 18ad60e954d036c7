/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small plugins for the loader tests, one source built in variants (tests/unit/plugins/
 * meson.build): a good MMIO device with every option type, and plugins that are wrong in one
 * way each (ABI major, required minor, no entry, larger descriptor, reserved fields, ...).
 */
#include <ember/device.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef TP_NAME
#define TP_NAME "tp-good"
#endif
#ifndef TP_ABI_MAJOR
#define TP_ABI_MAJOR EMBER_ABI_MAJOR
#endif
#ifndef TP_MINOR_REQUIRED
#define TP_MINOR_REQUIRED 0
#endif
#ifndef TP_COUNT_DEFAULT
#define TP_COUNT_DEFAULT 5
#endif

struct ember_instance {
	const struct ember_host *host;
	uint8_t reg;
};

static int tp_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->host = host;
	*out = d;
	return 0;
}

static void tp_destroy(struct ember_instance *d)
{
	free(d);
}

static void tp_read(struct ember_instance *d, uint64_t offset, void *data, uint32_t len)
{
	(void)offset;
	memset(data, d->reg, len);
}

static void tp_write(struct ember_instance *d, uint64_t offset, const void *data, uint32_t len)
{
	(void)offset;
	(void)len;
	d->reg = *(const uint8_t *)data;
}

static const struct ember_option tp_options[] = {
    EMBER_OPTION_INT_DEF("count", TP_COUNT_DEFAULT, 0, 10, "a small integer"),
    EMBER_OPTION_BOOL_DEF("verbose", 0, "a switch"),
    EMBER_OPTION_STRING_DEF("label", "none", "a string"),
    EMBER_OPTION_SIZE_DEF("buffer", 4096, 0, 1 << 20, "a size"),
#ifdef TP_REQUIRED
    {.struct_size = sizeof(struct ember_option),
     .type = EMBER_OPTION_INT,
     .name = "must",
     .help = "required",
     .min = 1,
     .max = 100,
     .flags = EMBER_OPTION_REQUIRED},
#endif
};

static const struct ember_device_ops tp_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = tp_create,
    .destroy = tp_destroy,
    .mmio_read = tp_read,
    .mmio_write = tp_write,
};

/* A descriptor from a "newer SDK": the 1.0 struct followed by one more member. */
static const struct {
	struct ember_plugin_desc d;
	uint64_t newer_member;
} tp_desc = {
    .d =
	{
	    .struct_size = sizeof(struct ember_plugin_desc)
#ifdef TP_BIG_DESC
			   + sizeof(uint64_t)
#endif
		,
	    .abi_major = TP_ABI_MAJOR,
	    .abi_minor_required = TP_MINOR_REQUIRED,
	    .kind = EMBER_DEVICE_MMIO,
	    .name = TP_NAME,
	    .vendor = "ember tests",
	    .version = "0.0.1",
	    .description = "a loader test plugin",
	    .mmio_size = 16,
	    .acpi_hid = "EMBR0001",
	    .options = tp_options,
	    .option_count = EMBER_ARRAY_SIZE(tp_options),
	    .option_size = sizeof(struct ember_option),
	    .ops = &tp_ops,
#ifdef TP_RESERVED
	    .reserved = {0, 1},
#endif
	},
#ifdef TP_BIG_DESC
    .newer_member = TP_BIG_DESC,
#endif
};

#ifdef TP_NO_ENTRY
/* Exports something, but not the entry. */
EMBER_EXPORT int not_an_entry(void);
EMBER_EXPORT int not_an_entry(void)
{
	return tp_desc.d.abi_major != 0;
}
#else
EMBER_PLUGIN_DEFINE(tp_desc.d)
#endif
