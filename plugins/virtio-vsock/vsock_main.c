/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock: AF_VSOCK stream sockets for the guest, served by host programs over Unix
 * sockets (see vsock.h for the parts, vsock_host.c for the host protocol). This file: options,
 * metrics, the syscalls declared for the sandbox, the device's life cycle, config space, the
 * queue kicks and the one timer that carries every connection's deadline.
 *
 * Life cycle: create makes uds_path and listens on it (before the guest runs); a device reset
 * closes every connection (their Unix sockets too) and forgets what was owed to the old driver,
 * the listener stays; destroy closes everything and removes uds_path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vsock.h"

#define MS 1000000ULL

static void on_timer(void *arg)
{
	struct ember_instance *dev = arg;
	uint64_t now = dev->host->clock_ns(dev->host), next;

	dev->timer = -1;
	dev->timer_at = 0;
	vsock_listen_retry(dev, now);
	next = vsock_conn_expire(dev, now);
	if (dev->listen_paused && (!next || dev->listen_retry_at < next))
		next = dev->listen_retry_at;
	vsock_timer_want(dev, next);
}

void vsock_timer_want(struct ember_instance *dev, uint64_t at)
{
	const struct ember_host *host = dev->host;
	uint64_t now;
	int id;

	if (!at || (dev->timer >= 0 && dev->timer_at <= at))
		return; /* a deadline that passes first fires anyway and re-arms */
	if (dev->timer >= 0)
		host->timer_cancel(host, dev->timer);
	dev->timer = -1;
	now = host->clock_ns(host);
	id = host->timer_start(host, at > now ? at - now : 0, on_timer, dev);
	if (id < 0) {
		host->log(host, EMBER_LOG_ERROR, "cannot start a timer: %s", strerror(-id));
		return;
	}
	dev->timer = id;
	dev->timer_at = at;
}

static void cancel_timer(struct ember_instance *dev)
{
	if (dev->timer >= 0)
		dev->host->timer_cancel(dev->host, dev->timer);
	dev->timer = -1;
	dev->timer_at = 0;
}

static int read_options(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;
	int64_t cid, conns, timeout_ms;
	uint64_t size;

	if (host->opt_int(host, "guest_cid", &cid) ||
	    host->opt_string(host, "uds_path", &dev->uds_path) ||
	    host->opt_int(host, "max_connections", &conns) ||
	    host->opt_size(host, "conn_buffer_size", &size) ||
	    host->opt_int(host, "connect_timeout_ms", &timeout_ms))
		return -EINVAL;
	if (!dev->uds_path || !dev->uds_path[0]) {
		host->log(host, EMBER_LOG_ERROR, "uds_path: must name the socket to create");
		return -EINVAL;
	}
	dev->guest_cid = (uint64_t)cid;
	dev->max_conns = (uint32_t)conns;
	dev->buf_size = (uint32_t)size;
	dev->connect_timeout_ns = (uint64_t)timeout_ms * MS;
	return 0;
}

static void vsock_destroy(struct ember_instance *dev)
{
	if (dev->conns)
		vsock_conn_close_all(dev);
	cancel_timer(dev);
	vsock_listen_close(dev);
	free(dev->conns);
	free(dev);
}

static int vsock_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *dev = calloc(1, sizeof(*dev));
	int rc;

	if (!dev)
		return -ENOMEM;
	dev->host = host;
	dev->listen_fd = dev->listen_watch = dev->timer = -1;
	dev->next_port = VSOCK_HOST_PORT_FIRST;
	if ((rc = read_options(dev)))
		goto fail;
	dev->conns = calloc(dev->max_conns, sizeof(*dev->conns));
	if (!dev->conns) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = vsock_listen_open(dev)))
		goto fail;
	host->log(host, EMBER_LOG_INFO,
		  "guest cid %llu; host programs connect to %s, guest connections go to %s_PORT",
		  (unsigned long long)dev->guest_cid, dev->uds_path, dev->uds_path);
	*out = dev;
	return 0;
fail:
	vsock_destroy(dev);
	return rc;
}

static void vsock_reset(struct ember_instance *dev)
{
	/* The driver is gone with its rings: nothing owed to it can be sent any more. */
	vsock_conn_close_all(dev);
	dev->active = false;
	dev->rx_starved = false;
	if (!dev->listen_paused)
		cancel_timer(dev);
}

static int vsock_activate(struct ember_instance *dev, uint64_t features)
{
	(void)features;
	dev->active = true;
	dev->rx_starved = false;
	/* Host programs that connected before the driver was up get their REQUEST now. */
	vsock_rx_pump(dev);
	return 0;
}

static uint64_t vsock_features(struct ember_instance *dev)
{
	(void)dev;
	return 1ULL << VIRTIO_VSOCK_F_STREAM;
}

static void vsock_config_read(struct ember_instance *dev, uint32_t offset, void *data, uint32_t len)
{
	uint64_t cid = dev->guest_cid; /* le64; ember checked offset + len <= 8 */

	memcpy(data, (const uint8_t *)&cid + offset, len);
}

static void vsock_queue_notify(struct ember_instance *dev, uint32_t queue)
{
	switch (queue) {
	case VSOCK_RX_QUEUE:
		/* New buffers: sockets are read again, owed packets go first. */
		if (dev->rx_starved) {
			dev->rx_starved = false;
			vsock_conn_update_watches(dev);
		}
		vsock_rx_pump(dev);
		break;
	case VSOCK_TX_QUEUE:
		vsock_tx_serve(dev);
		break;
	default:
		/* The event queue: buffers for TRANSPORT_RESET events, which ember never sends. */
		break;
	}
}

static void vsock_metrics_read(struct ember_instance *dev, uint64_t *values, uint32_t count)
{
	const struct vsock_stats *s = &dev->stats;
	const uint64_t v[] = {
	    dev->open,
	    s->host_connections,
	    s->guest_connections,
	    s->refused,
	    s->resets_sent,
	    s->bytes_guest_to_host,
	    s->bytes_host_to_guest,
	    s->credit_violations,
	    s->packets_dropped,
	    dev->buffered,
	};

	for (uint32_t i = 0; i < count && i < EMBER_ARRAY_SIZE(v); i++)
		values[i] = v[i];
}

static const struct ember_option vsock_options[] = {
    EMBER_OPTION_INT_REQ("guest_cid", 3, 0xfffffffeLL,
			 "the guest's context id (3 .. 2^32 - 2; 0, 1, 2 and -1 are reserved)"),
    EMBER_OPTION_PATH_F("uds_path", NULL, EMBER_OPTION_REQUIRED | EMBER_OPTION_PATH_PARENT_EXISTS,
			"Unix socket ember creates for host programs; guest connections to port "
			"P go to uds_path_P"),
    EMBER_OPTION_INT_DEF("max_connections", 256, 1, 4096,
			 "connections open at once; more are refused (RST or closed)"),
    EMBER_OPTION_SIZE_DEF("conn_buffer_size", 128 * 1024, 4 * 1024, 64 * 1024 * 1024,
			  "guest-to-host bytes buffered per connection (its credit, buf_alloc)"),
    EMBER_OPTION_INT_DEF("connect_timeout_ms", 5000, 100, 60000,
			 "time for a CONNECT line, a guest answer or a host accept"),
};

static const struct ember_metric vsock_metrics[] = {
    EMBER_METRIC_DEF(EMBER_METRIC_GAUGE, "connections_open", "connections",
		     "connections in the table now, in any state"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "connections_host", "connections",
		     "host-initiated connections established (CONNECT answered OK)"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "connections_guest", "connections",
		     "guest-initiated connections established to uds_path_PORT"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "connections_refused", "connections",
		     "connections refused or failed before being established"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "resets_sent", "packets",
		     "RST packets sent to the guest"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "bytes_guest_to_host", "bytes",
		     "guest stream bytes written to Unix sockets"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "bytes_host_to_guest", "bytes",
		     "Unix socket bytes given to the guest"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "credit_violations", "connections",
		     "connections reset for sending beyond their credit"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "packets_dropped", "packets",
		     "malformed or unanswerable guest packets and unusable rx buffers"),
    EMBER_METRIC_DEF(EMBER_METRIC_GAUGE, "buffered_bytes", "bytes",
		     "guest bytes waiting in connection buffers for slow host readers"),
};

/* After the guest starts: queue kicks (vCPU or event loop) and watch/timer callbacks. */
#define VSOCK_THREADS (EMBER_THREAD_VCPU | EMBER_THREAD_EVENT_LOOP)
static const struct ember_syscall_rule vsock_syscalls[] = {
    /* Guest-initiated connections: AF_UNIX sockets only. */
    {.struct_size = sizeof(struct ember_syscall_rule),
     .threads = VSOCK_THREADS,
     .name = "socket",
     .arg_count = 1,
     .args =
	 {{.index = 0, .op = EMBER_ARG_MASKED_EQ, .value = 1 /* AF_UNIX */, .mask = 0xffffffffu}}},
    EMBER_SYSCALL("connect", VSOCK_THREADS),
    EMBER_SYSCALL("getsockopt", VSOCK_THREADS),	       /* SO_ERROR of a connect in progress */
    EMBER_SYSCALL("accept4", EMBER_THREAD_EVENT_LOOP), /* the listener's watch */
    EMBER_SYSCALL("recvmsg", VSOCK_THREADS),	       /* reads, and the CONNECT line's peek */
    EMBER_SYSCALL("sendmsg", VSOCK_THREADS),	       /* writes, MSG_NOSIGNAL */
    EMBER_SYSCALL("shutdown", VSOCK_THREADS),
    EMBER_SYSCALL("close", VSOCK_THREADS),
    EMBER_SYSCALL("unlink", EMBER_THREAD_EVENT_LOOP), /* destroy removes uds_path */
};

static const struct ember_device_ops vsock_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = vsock_create,
    .destroy = vsock_destroy,
    .reset = vsock_reset,
    .virtio_features = vsock_features,
    .config_read = vsock_config_read,
    .activate = vsock_activate,
    .queue_notify = vsock_queue_notify,
    .metrics_read = vsock_metrics_read,
};

static const struct ember_plugin_desc vsock_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 2, /* PATH_PARENT_EXISTS, metrics, syscalls, the pop budget */
    .kind = EMBER_DEVICE_VIRTIO,
    .name = "virtio-vsock",
    .vendor = "ember",
    .version = "1.0.0",
    .description = "AF_VSOCK streams to host programs over Unix sockets (hybrid vsock)",
    .virtio_device_id = EMBER_VIRTIO_ID_VSOCK,
    .virtio_queue_count = VSOCK_QUEUE_COUNT,
    .virtio_queue_max_size = VSOCK_QUEUE_SIZE,
    .virtio_config_size = VSOCK_CONFIG_SIZE,
    .options = vsock_options,
    .option_count = EMBER_ARRAY_SIZE(vsock_options),
    .option_size = sizeof(struct ember_option),
    .ops = &vsock_ops,
    .metrics = vsock_metrics,
    .metric_count = EMBER_ARRAY_SIZE(vsock_metrics),
    .metric_size = sizeof(struct ember_metric),
    .syscalls = vsock_syscalls,
    .syscall_count = EMBER_ARRAY_SIZE(vsock_syscalls),
    .syscall_size = sizeof(struct ember_syscall_rule),
};

EMBER_PLUGIN_DEFINE(vsock_desc)
