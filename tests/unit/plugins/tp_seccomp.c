/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test plugin for the seccomp filters (tests/e2e/cases/seccomp-violation.sh and
 * seccomp-threads.sh). In create it starts a thread of its own (thread_start) that sleeps until
 * destroy, and a timer; the timer's callback, on the event loop once the guest runs, opens an
 * AF_INET socket and closes it again. Built twice: tp-seccomp declares nothing, so ember stops
 * with its seccomp report; tp-seccomp-ok (-DTPS_DECLARE) declares socket(AF_INET) for the
 * event loop and runs fine.
 */
#include <ember/device.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef TPS_NAME
#define TPS_NAME "tp-seccomp"
#endif
/* Long enough for the guest's kernel to be running. */
#define TPS_DELAY_NS (1500ull * 1000 * 1000)

struct ember_instance {
	const struct ember_host *host;
	uint64_t thread;
	atomic_bool stop;
	int timer;
};

static void *idle(void *arg)
{
	struct ember_instance *d = arg;
	const struct timespec tick = {0, 20 * 1000 * 1000};

	while (!atomic_load(&d->stop))
		nanosleep(&tick, NULL);
	return NULL;
}

static void on_timer(void *arg)
{
	struct ember_instance *d = arg;
	int fd;

	d->timer = -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	d->host->log(d->host, EMBER_LOG_INFO, "socket(AF_INET): %s", fd >= 0 ? "opened" : "failed");
	if (fd >= 0)
		close(fd);
}

static int create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -1;
	d->host = host;
	atomic_init(&d->stop, false);
	rc = host->thread_start(host, "tp-seccomp", idle, d, &d->thread);
	if (rc) {
		free(d);
		return rc;
	}
	d->timer = host->timer_start(host, TPS_DELAY_NS, on_timer, d);
	if (d->timer < 0) {
		atomic_store(&d->stop, true);
		host->thread_join(host, d->thread);
		free(d);
		return -1;
	}
	*out = d;
	return 0;
}

static void destroy(struct ember_instance *d)
{
	if (d->timer >= 0)
		d->host->timer_cancel(d->host, d->timer);
	atomic_store(&d->stop, true);
	d->host->thread_join(d->host, d->thread);
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

#ifdef TPS_DECLARE
static const struct ember_syscall_rule syscalls[] = {
    EMBER_SYSCALL_ARG_EQ("socket", EMBER_THREAD_EVENT_LOOP, 0, AF_INET),
};
#endif

static const struct ember_plugin_desc desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 2,
    .kind = EMBER_DEVICE_MMIO,
    .name = TPS_NAME,
    .vendor = "ember tests",
    .version = "1",
    .mmio_size = 4,
    .ops = &ops,
#ifdef TPS_DECLARE
    .syscalls = syscalls,
    .syscall_count = EMBER_ARRAY_SIZE(syscalls),
    .syscall_size = sizeof(struct ember_syscall_rule),
#endif
};

EMBER_PLUGIN_DEFINE(desc)
