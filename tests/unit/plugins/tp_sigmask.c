/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test plugin for tests/e2e/cases/plugin-threads.sh: in create it starts one thread with plain
 * pthread_create (as a 1.1 plugin would) and one through host->thread_start (ABI 1.2); each
 * logs whether SIGTERM is blocked in it. ember must have blocked the stop signals before any
 * create, so a signal can never land in a plugin's thread and skip teardown.
 */
#include <ember/device.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

struct ember_instance {
	const struct ember_host *host;
	pthread_t raw;
	uint64_t hosted;
};

static void *report(void *arg)
{
	struct ember_instance *d = arg;
	sigset_t now;

	pthread_sigmask(SIG_SETMASK, NULL, &now);
	d->host->log(d->host, EMBER_LOG_INFO, "thread: SIGTERM %s",
		     sigismember(&now, SIGTERM) ? "blocked" : "NOT blocked");
	return NULL;
}

static int create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	d->host = host;
	if (pthread_create(&d->raw, NULL, report, d)) {
		free(d);
		return -1;
	}
	pthread_join(d->raw, NULL);
	if (host->thread_start(host, "tp-sigmask", report, d, &d->hosted) ||
	    host->thread_join(host, d->hosted)) {
		free(d);
		return -1;
	}
	*out = d;
	return 0;
}

static void destroy(struct ember_instance *d)
{
	free(d);
}

static void rd(struct ember_instance *d, uint64_t off, void *data, uint32_t len)
{
	(void)d;
	(void)off;
	for (uint32_t i = 0; i < len; i++)
		((uint8_t *)data)[i] = 0;
}

static const struct ember_device_ops ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = create,
    .destroy = destroy,
    .mmio_read = rd,
};

static const struct ember_plugin_desc desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 2,
    .kind = EMBER_DEVICE_MMIO,
    .name = "tp-sigmask",
    .vendor = "ember tests",
    .version = "1",
    .mmio_size = 4,
    .ops = &ops,
};

EMBER_PLUGIN_DEFINE(desc)
