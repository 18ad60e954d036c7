/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz-planted: a device with a bug planted on purpose, to test the fuzzer rather than a device
 * (tests/fuzz/planted/check.sh). Built for the tests only, never installed.
 *
 * A 16-byte MMIO window of four 32-bit registers held in a heap buffer. A 32-bit write to the
 * command register (offset 8) whose opcode (bits 31..28) is PLANTED_OP_STORE stores a result into
 * a register the layout no longer has, one past the end of that buffer: ASan reports a
 * heap-buffer-overflow, and a build without ASan aborts right after, so the reproducer replays
 * to a failure in every build. The op-stream driver reaches it with one MMIO_WRITE or REG_WRITE,
 * and ember-fuzz-seeds writes every register with 32-bit accesses, so libFuzzer only has to find
 * 4 bits: seconds, reliably, which is what check.sh asserts (in 60 s at most). Measured on a
 * loaded 2-core machine, a full 32-bit magic value was found in 13 to 35 s or not within 60 s
 * (libFuzzer's table of recent comparisons is flooded by ember's own instrumented code), and an
 * 8-bit opcode in 25 s or not within 60 s: too flaky for a check that CI runs.
 *
 * Its options exercise the "a run that tests nothing must not be green" checks:
 *   token   required string: without it every create is refused, so ember-fuzz must stop at its
 *           first create and say so (exit 3) instead of reporting "no failure";
 *   layout  1..4, default 1: create refuses anything but 1, so inputs whose header picks another
 *           value are refused at create (counted apart from those that reached the device).
 */
#include <ember/device.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PLANTED_REGS	 4
#define PLANTED_CMD	 8	      /* offset of the command register */
#define PLANTED_OP_STORE 0xa	      /* command opcode, bits 31..28: store the result */
#define PLANTED_RESULT	 PLANTED_REGS /* the planted bug: one past the last register */
#define PLANTED_VERSION	 1

struct ember_instance {
	const struct ember_host *host;
	uint32_t *regs; /* PLANTED_REGS, on the heap so that ASan sees the overrun */
};

static int planted_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *dev;
	const char *token;
	int64_t layout;

	if (host->opt_string(host, "token", &token) || host->opt_int(host, "layout", &layout))
		return -EINVAL;
	if (layout != PLANTED_VERSION) {
		host->log(host, EMBER_LOG_ERROR, "layout %lld is not implemented (only 1)",
			  (long long)layout);
		return -ENOTSUP;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->regs = calloc(PLANTED_REGS, sizeof(*dev->regs));
	if (!dev->regs) {
		free(dev);
		return -ENOMEM;
	}
	dev->host = host;
	dev->regs[0] = (uint32_t)strlen(token);
	*out = dev;
	return 0;
}

static void planted_destroy(struct ember_instance *dev)
{
	free(dev->regs);
	free(dev);
}

static void planted_reset(struct ember_instance *dev)
{
	memset(dev->regs, 0, PLANTED_REGS * sizeof(*dev->regs));
}

static void planted_mmio_read(struct ember_instance *dev, uint64_t offset, void *data, uint32_t len)
{
	/* ember checked offset + len against mmio_size: always inside the registers. */
	memcpy(data, (const uint8_t *)dev->regs + offset, len);
}

static void planted_mmio_write(struct ember_instance *dev, uint64_t offset, const void *data,
			       uint32_t len)
{
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	if (offset == PLANTED_CMD && len == 4 && v >> 28 == PLANTED_OP_STORE) {
		/* The planted bug: ASan stops here; without ASan the abort() does. */
		dev->regs[PLANTED_RESULT] = v;
		abort();
	}
	memcpy((uint8_t *)dev->regs + offset, data, len);
}

static const struct ember_option planted_options[] = {
    EMBER_OPTION_STRING_REQ("token", "any string; required, so a run without it tests nothing"),
    EMBER_OPTION_INT_DEF("layout", PLANTED_VERSION, 1, 4,
			 "register layout; create refuses all but 1 (refused-at-create inputs)"),
};

static const struct ember_device_ops planted_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = planted_create,
    .destroy = planted_destroy,
    .reset = planted_reset,
    .mmio_read = planted_mmio_read,
    .mmio_write = planted_mmio_write,
};

static const struct ember_plugin_desc planted_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 0,
    .kind = EMBER_DEVICE_MMIO,
    .name = "fuzz-planted",
    .vendor = "ember tests",
    .version = "1.0.0",
    .description = "a device with a planted bug, for testing ember-fuzz",
    .mmio_size = PLANTED_REGS * 4,
    .options = planted_options,
    .option_count = EMBER_ARRAY_SIZE(planted_options),
    .option_size = sizeof(struct ember_option),
    .ops = &planted_ops,
};

EMBER_PLUGIN_DEFINE(planted_desc)
