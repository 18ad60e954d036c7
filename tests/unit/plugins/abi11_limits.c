/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A plugin as a vendor wrote it for ember device ABI 1.1, compiled against the frozen 1.1
 * headers (abi-1.1/, never sdk/include): a virtio device (entropy id) that uses both things 1.1
 * added. It narrows its queues with vq_set_limits (options `queues`, `queue_size`), checked with
 * EMBER_HOST_HAS as the 1.1 SDK asks, and reads the file named by the EMBER_OPTION_PATH option
 * `source` once at create; every buffer the guest makes available, on any queue, gets that
 * file's first bytes. tests/unit/test_abi_compat.c uses it.
 */
#include <ember/virtio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if EMBER_ABI_MAJOR != 1 || EMBER_ABI_MINOR != 1
#error "abi11_limits.c must be built against tests/unit/plugins/abi-1.1 only"
#endif

#define MAX_QUEUES     4
#define MAX_QUEUE_SIZE 256
#define SOURCE_MAX     4096

struct ember_instance {
	const struct ember_host *host;
	uint8_t data[SOURCE_MAX];
	size_t len;
};

/* Reads up to SOURCE_MAX bytes of path. Returns 0 or a negative errno. */
static int read_source(struct ember_instance *d, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = read(fd, d->data, sizeof(d->data));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	d->len = (size_t)n;
	return 0;
}

static int limits_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *d;
	int64_t queues, size;
	const char *source;
	int rc;

	if (host->opt_int(host, "queues", &queues) || host->opt_int(host, "queue_size", &size) ||
	    host->opt_string(host, "source", &source))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = host;
	rc = read_source(d, source);
	if (rc) {
		host->log(host, EMBER_LOG_ERROR, "cannot read %s: %s", source, strerror(-rc));
		free(d);
		return rc;
	}
	/*
	 * With abi_minor_required = 1 the check cannot fail on a host that loaded us, but it is
	 * what the 1.1 SDK taught: the macro as the 1.1 headers spell it must hold against a
	 * newer, larger host table too.
	 */
	if (EMBER_HOST_HAS(host, vq_set_limits)) {
		rc = host->vq_set_limits(host, (uint32_t)queues, (uint32_t)size);
		if (rc) {
			host->log(host, EMBER_LOG_ERROR, "vq_set_limits(%lld, %lld): %d",
				  (long long)queues, (long long)size, rc);
			free(d);
			return rc;
		}
		host->log(host, EMBER_LOG_INFO,
			  "vq_set_limits: %lld queues of %lld, %zu bytes of %s", (long long)queues,
			  (long long)size, d->len, source);
	} else {
		host->log(host, EMBER_LOG_WARN, "host lacks vq_set_limits: %d queues of %d",
			  MAX_QUEUES, MAX_QUEUE_SIZE);
	}
	*out = d;
	return 0;
}

static void limits_destroy(struct ember_instance *d)
{
	free(d);
}

static void limits_queue_notify(struct ember_instance *d, uint32_t queue)
{
	const struct ember_host *host = d->host;
	struct ember_vq_chain *chain;
	bool pushed = false;

	while (host->vq_pop(host, queue, &chain) > 0) {
		int64_t put = host->chain_write(host, chain, 0, d->data, d->len);

		host->vq_push(host, chain, put > 0 ? (uint32_t)put : 0);
		pushed = true;
	}
	if (pushed)
		host->vq_notify(host, queue);
}

static const struct ember_option limits_options[] = {
    EMBER_OPTION_INT_DEF("queues", 2, 1, MAX_QUEUES, "queues the guest sees"),
    EMBER_OPTION_INT_DEF("queue_size", 64, 1, MAX_QUEUE_SIZE,
			 "entries per queue at most (a power of two)"),
    /* The 1.1 headers have no _REQ helpers for paths: spelled out as a 1.1 plugin did. */
    {.struct_size = sizeof(struct ember_option),
     .type = EMBER_OPTION_PATH,
     .name = "source",
     .help = "file whose first bytes fill every buffer",
     .flags = EMBER_OPTION_REQUIRED},
};

static const struct ember_device_ops limits_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = limits_create,
    .destroy = limits_destroy,
    .queue_notify = limits_queue_notify,
};

static const struct ember_plugin_desc limits_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 1, /* vq_set_limits and EMBER_OPTION_PATH */
    .kind = EMBER_DEVICE_VIRTIO,
    .name = "abi11-limits",
    .vendor = "ember tests",
    .version = "1.1.0",
    .description = "ABI 1.1 virtio device: vq_set_limits and a path option",
    .virtio_device_id = EMBER_VIRTIO_ID_RNG,
    .virtio_queue_count = MAX_QUEUES,
    .virtio_queue_max_size = MAX_QUEUE_SIZE,
    .options = limits_options,
    .option_count = EMBER_ARRAY_SIZE(limits_options),
    .option_size = sizeof(struct ember_option),
    .ops = &limits_ops,
};

EMBER_PLUGIN_DEFINE(limits_desc)
