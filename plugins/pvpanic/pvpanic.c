/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pvpanic: QEMU's panic device over MMIO (ACPI _HID QEMU0001, Linux driver pvpanic-mmio).
 * One byte register at offset 0: reading it returns the events the device supports; the
 * guest writes PANICKED when it panics, CRASH_LOADED when a kdump kernel takes over.
 *
 * Also the SDK's example of a plain (non-virtio) device: the plugin decodes its own window.
 */
#include <ember/device.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PVPANIC_PANICKED     0x1u
#define PVPANIC_CRASH_LOADED 0x2u

struct ember_instance {
	const struct ember_host *host;
	uint8_t events; /* supported, as the guest reads them */
	bool crash_loaded_logged;
};

static int pvpanic_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *dev;
	int64_t events;

	if (host->opt_int(host, "events", &events))
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->host = host;
	dev->events = (uint8_t)events;
	*out = dev;
	return 0;
}

static void pvpanic_destroy(struct ember_instance *dev)
{
	free(dev);
}

static void pvpanic_mmio_read(struct ember_instance *dev, uint64_t offset, void *data, uint32_t len)
{
	/* The window is one byte, so ember only passes offset 0 and len 1. */
	(void)offset;
	memset(data, 0, len);
	((uint8_t *)data)[0] = dev->events;
}

static void pvpanic_mmio_write(struct ember_instance *dev, uint64_t offset, const void *data,
			       uint32_t len)
{
	uint8_t v = ((const uint8_t *)data)[0] & dev->events;

	(void)offset;
	(void)len;
	if (v & PVPANIC_PANICKED) {
		dev->host->guest_panic(dev->host, v);
	} else if ((v & PVPANIC_CRASH_LOADED) && !dev->crash_loaded_logged) {
		/*
		 * Once per VM: a guest can write the register in a loop, and each line would be a
		 * blocking write to ember's stderr. No lock: ember serialises calls into the
		 * instance.
		 */
		dev->crash_loaded_logged = true;
		dev->host->log(dev->host, EMBER_LOG_WARN,
			       "the guest crashed and loaded its crash kernel");
	}
}

static const struct ember_option pvpanic_options[] = {
    EMBER_OPTION_INT_DEF("events", PVPANIC_PANICKED | PVPANIC_CRASH_LOADED, 1, 3,
			 "events offered to the guest: 1 panicked, 2 crash kernel loaded"),
};

static const struct ember_device_ops pvpanic_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = pvpanic_create,
    .destroy = pvpanic_destroy,
    .mmio_read = pvpanic_mmio_read,
    .mmio_write = pvpanic_mmio_write,
};

static const struct ember_plugin_desc pvpanic_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 0,
    .kind = EMBER_DEVICE_MMIO,
    .name = "pvpanic",
    .vendor = "ember",
    .version = "1.0.0",
    .description = "guest panic notification (QEMU pvpanic over MMIO)",
    .mmio_size = 1,
    .acpi_hid = "QEMU0001",
    .options = pvpanic_options,
    .option_count = EMBER_ARRAY_SIZE(pvpanic_options),
    .option_size = sizeof(struct ember_option),
    .ops = &pvpanic_ops,
};

EMBER_PLUGIN_DEFINE(pvpanic_desc)
