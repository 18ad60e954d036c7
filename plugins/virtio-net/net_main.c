/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net: a network card for the guest on a Linux tap (see net.h for the parts). This file:
 * options, metrics, the runtime control, the syscalls declared for the sandbox, the device's
 * life cycle, config space and the queue kicks.
 *
 * Life cycle: create opens the backend (the tap's queues, its vnet header size, the offloads it
 * can take) before the guest runs; activate sets the tap's offloads to what the driver
 * negotiated and starts receiving on queue pair 0 (more after VQ_PAIRS_SET); a device reset
 * gives back every held buffer and clears the offloads, the backend and the rate-limit levels
 * stay; destroy closes everything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

static const char *const limit_opt[2][6] = {
    {"rx_bandwidth_size", "rx_bandwidth_refill_ms", "rx_bandwidth_one_time_burst", "rx_ops_size",
     "rx_ops_refill_ms", "rx_ops_one_time_burst"},
    {"tx_bandwidth_size", "tx_bandwidth_refill_ms", "tx_bandwidth_one_time_burst", "tx_ops_size",
     "tx_ops_refill_ms", "tx_ops_one_time_burst"},
};

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	/* A multicast address would make every station take the guest's frames. */
	if (mac[0] & 1u)
		return -EINVAL;
	return 0;
}

static int read_limits(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;
	uint64_t now = host->clock_ns(host);

	for (int d = 0; d < 2; d++) {
		struct net_dir_limits *l = d ? &dev->tx_limit : &dev->rx_limit;
		uint64_t v[6];

		for (int i = 0; i < 6; i++)
			if (host->opt_size(host, limit_opt[d][i], &v[i]))
				return -EINVAL;
		net_limit_set(&l->bw, v[0], v[1], v[2], now);
		net_limit_set(&l->ops, v[3], v[4], v[5], now);
	}
	return 0;
}

static int read_options(struct ember_instance *dev, const char **tap, int64_t *tap_fd,
			bool *loopback)
{
	const struct ember_host *host = dev->host;
	int64_t mtu, pairs, qsize;
	const char *mac;

	if (host->opt_string(host, "tap", tap) || host->opt_int(host, "tap_fd", tap_fd) ||
	    host->opt_bool(host, "loopback", loopback) || host->opt_string(host, "mac", &mac) ||
	    host->opt_int(host, "mtu", &mtu) || host->opt_int(host, "num_queues", &pairs) ||
	    host->opt_int(host, "queue_size", &qsize) ||
	    host->opt_bool(host, "offloads", &dev->offloads))
		return -EINVAL;
	if (mac && mac[0]) {
		if (parse_mac(mac, dev->mac)) {
			host->log(host, EMBER_LOG_ERROR,
				  "mac: '%s' is not a unicast address like 02:00:00:00:00:01", mac);
			return -EINVAL;
		}
		dev->has_mac = true;
	}
	if (qsize & (qsize - 1)) {
		host->log(host, EMBER_LOG_ERROR, "queue_size: %lld is not a power of two",
			  (long long)qsize);
		return -EINVAL;
	}
	dev->mtu = (uint16_t)mtu;
	dev->pairs = (uint32_t)pairs;
	dev->queue_size = (uint32_t)qsize;
	return read_limits(dev);
}

static int alloc_pair(struct net_queue_pair *qp)
{
	qp->rx_iov = calloc(NET_IOV_MAX, sizeof(*qp->rx_iov));
	qp->tx_iov = calloc(NET_IOV_MAX, sizeof(*qp->tx_iov));
	qp->rx_chains = calloc(NET_RX_CHAINS_MAX, sizeof(*qp->rx_chains));
	qp->rx_chain_niov = calloc(NET_RX_CHAINS_MAX, sizeof(*qp->rx_chain_niov));
	return qp->rx_iov && qp->tx_iov && qp->rx_chains && qp->rx_chain_niov ? 0 : -ENOMEM;
}

/* What each queue pair carried, once at the end: the per-queue view without a metrics reader. */
static void log_totals(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;

	for (uint32_t i = 0; i < dev->pairs; i++) {
		const struct net_qstats *q = &dev->qp[i].stats;

		host->log(host, EMBER_LOG_INFO,
			  "queue pair %u: rx %llu frames %llu bytes, tx %llu frames %llu bytes", i,
			  (unsigned long long)q->rx_packets, (unsigned long long)q->rx_bytes,
			  (unsigned long long)q->tx_packets, (unsigned long long)q->tx_bytes);
	}
	if (dev->stats.rx_dropped || dev->stats.tx_dropped)
		host->log(host, EMBER_LOG_INFO,
			  "dropped: %llu received, %llu sent (%llu malformed)",
			  (unsigned long long)dev->stats.rx_dropped,
			  (unsigned long long)dev->stats.tx_dropped,
			  (unsigned long long)dev->stats.tx_malformed);
}

static void net_destroy(struct ember_instance *dev)
{
	/* Not for create's failure path, which also ends here. */
	if (dev->link_up || dev->stats.link_down_events)
		log_totals(dev);
	for (uint32_t i = 0; i < NET_MAX_PAIRS; i++) {
		struct net_queue_pair *qp = &dev->qp[i];

		if (qp->rx_chains) {
			net_rx_stop(qp);
			net_tx_stop(qp);
		}
		free(qp->rx_iov);
		free(qp->tx_iov);
		free(qp->rx_chains);
		free(qp->rx_chain_niov);
	}
	net_limit_cancel(dev, &dev->rx_limit);
	net_limit_cancel(dev, &dev->tx_limit);
	net_backend_close(dev);
	free(dev);
}

static int net_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *dev = calloc(1, sizeof(*dev));
	const char *tap = NULL;
	int64_t tap_fd = -1;
	bool loopback = false;
	int rc;

	if (!dev)
		return -ENOMEM;
	dev->host = host;
	dev->rx_limit.timer = dev->tx_limit.timer = -1;
	dev->hdr_len = NET_HDR_BYTES;
	for (uint32_t i = 0; i < NET_MAX_PAIRS; i++) {
		struct net_queue_pair *qp = &dev->qp[i];

		qp->dev = dev;
		qp->index = i;
		qp->rx_fd = qp->tx_fd = qp->rx_watch = qp->tx_watch = qp->rx_short_timer = -1;
	}
	if ((rc = read_options(dev, &tap, &tap_fd, &loopback)))
		goto fail;
	if ((rc = host->vq_set_limits(host, 2 * dev->pairs + 1, dev->queue_size))) {
		host->log(host, EMBER_LOG_ERROR, "cannot offer %u queues of %u: %s",
			  2 * dev->pairs + 1, dev->queue_size, strerror(-rc));
		goto fail;
	}
	for (uint32_t i = 0; i < dev->pairs; i++)
		if ((rc = alloc_pair(&dev->qp[i])))
			goto fail;
	if ((rc = net_backend_open(dev, tap, tap_fd, loopback)))
		goto fail;
	dev->link_up = true;
	dev->active_pairs = 1;
	host->log(host, EMBER_LOG_INFO, "%s %s, %u queue pair%s of %u, mtu %u%s",
		  dev->kind == NET_BACKEND_TAP ? "tap" : "backend", dev->ifname, dev->pairs,
		  dev->pairs > 1 ? "s" : "", dev->queue_size, dev->mtu,
		  dev->offloads ? "" : ", no offloads");
	*out = dev;
	return 0;
fail:
	net_destroy(dev);
	return rc;
}

static void net_reset(struct ember_instance *dev)
{
	dev->active = false;
	for (uint32_t i = 0; i < dev->pairs; i++) {
		net_rx_stop(&dev->qp[i]);
		net_tx_stop(&dev->qp[i]);
	}
	/* The buckets keep their level (token_bucket.h); only the wake-ups go. */
	net_limit_cancel(dev, &dev->rx_limit);
	net_limit_cancel(dev, &dev->tx_limit);
	net_backend_set_offloads(dev, 0);
	dev->features = 0;
	dev->active_pairs = 1;
}

static uint64_t net_features(struct ember_instance *dev)
{
	uint64_t f = NET_BIT(VIRTIO_NET_F_MRG_RXBUF) | NET_BIT(VIRTIO_NET_F_STATUS) |
		     NET_BIT(VIRTIO_NET_F_CTRL_VQ) | NET_BIT(VIRTIO_NET_F_MTU);
	uint32_t rx_offl = NET_TUN_F_CSUM | NET_TUN_F_TSO4 | NET_TUN_F_USO4;

	if (dev->has_mac)
		f |= NET_BIT(VIRTIO_NET_F_MAC);
	if (dev->pairs > 1)
		f |= NET_BIT(VIRTIO_NET_F_MQ);
	if (!dev->offloads)
		return f;
	/* A tap takes checksum and TSO frames from us whatever its offloads are. */
	f |= NET_BIT(VIRTIO_NET_F_CSUM) | NET_BIT(VIRTIO_NET_F_HOST_TSO4) |
	     NET_BIT(VIRTIO_NET_F_HOST_TSO6);
	/* What it may hand us is what TUNSETOFFLOAD accepted (a socket passes frames as sent). */
	if (dev->kind == NET_BACKEND_TAP)
		rx_offl = dev->tun_offl;
	if (rx_offl & NET_TUN_F_CSUM)
		f |= NET_BIT(VIRTIO_NET_F_GUEST_CSUM);
	if (rx_offl & NET_TUN_F_TSO4)
		f |= NET_BIT(VIRTIO_NET_F_GUEST_TSO4) | NET_BIT(VIRTIO_NET_F_GUEST_TSO6);
	/* A kernel that can give UDP segmentation offload to a tap also takes it from one. */
	if (rx_offl & NET_TUN_F_USO4)
		f |= NET_BIT(VIRTIO_NET_F_GUEST_USO4) | NET_BIT(VIRTIO_NET_F_GUEST_USO6) |
		     NET_BIT(VIRTIO_NET_F_HOST_USO);
	return f;
}

/* Offloads that depend on another one the driver did not take are ignored (5.1.3.1). */
static uint64_t consistent(uint64_t f)
{
	if (!(f & NET_BIT(VIRTIO_NET_F_CSUM)))
		f &= ~(NET_BIT(VIRTIO_NET_F_HOST_TSO4) | NET_BIT(VIRTIO_NET_F_HOST_TSO6) |
		       NET_BIT(VIRTIO_NET_F_HOST_USO));
	if (!(f & NET_BIT(VIRTIO_NET_F_GUEST_CSUM)))
		f &= ~(NET_BIT(VIRTIO_NET_F_GUEST_TSO4) | NET_BIT(VIRTIO_NET_F_GUEST_TSO6) |
		       NET_BIT(VIRTIO_NET_F_GUEST_USO4) | NET_BIT(VIRTIO_NET_F_GUEST_USO6));
	if (!(f & NET_BIT(VIRTIO_NET_F_CTRL_VQ)))
		f &= ~NET_BIT(VIRTIO_NET_F_MQ);
	return f;
}

static int net_activate(struct ember_instance *dev, uint64_t features)
{
	const uint64_t guest_gso =
	    NET_BIT(VIRTIO_NET_F_GUEST_TSO4) | NET_BIT(VIRTIO_NET_F_GUEST_TSO6) |
	    NET_BIT(VIRTIO_NET_F_GUEST_USO4) | NET_BIT(VIRTIO_NET_F_GUEST_USO6);
	uint32_t plain = (uint32_t)dev->mtu + NET_ETH_HLEN + NET_VLAN_HLEN;

	dev->features = consistent(features);
	dev->tx_frame_max = plain;
	dev->rx_frame_max = dev->features & guest_gso ? NET_GSO_FRAME_MAX : plain;
	dev->ctrl_queue = dev->features & NET_BIT(VIRTIO_NET_F_MQ) ? 2 * dev->pairs : 2;
	dev->active_pairs = 1;
	net_backend_set_offloads(dev, dev->features);
	net_backend_set_pairs(dev, 1);
	dev->active = true;
	net_rx_pump(&dev->qp[0]);
	return 0;
}

static void net_config_read(struct ember_instance *dev, uint32_t offset, void *data, uint32_t len)
{
	uint8_t cfg[NET_CONFIG_SIZE];
	uint16_t status = dev->link_up ? VIRTIO_NET_S_LINK_UP : 0;
	uint16_t pairs = (uint16_t)dev->pairs, mtu = dev->mtu;

	memcpy(cfg, dev->mac, 6); /* zeros without MAC: the driver then picks one */
	memcpy(cfg + 6, &status, 2);
	memcpy(cfg + 8, &pairs, 2);
	memcpy(cfg + 10, &mtu, 2);
	memcpy(data, cfg + offset, len); /* ember checked offset + len <= NET_CONFIG_SIZE */
}

static void net_queue_notify(struct ember_instance *dev, uint32_t queue)
{
	uint32_t pair = queue / 2;

	if ((dev->features & NET_BIT(VIRTIO_NET_F_CTRL_VQ)) && queue == dev->ctrl_queue) {
		net_ctrl_serve(dev);
		return;
	}
	if (pair >= dev->pairs)
		return;
	if (queue & 1)
		net_tx_serve(&dev->qp[pair]);
	else
		net_rx_kick(&dev->qp[pair]);
}

/* ---- Runtime control: set_rate_limit ---------------------------------------------------- */

static const struct ember_control_arg *arg(const struct ember_control_call *call, const char *n)
{
	for (uint32_t i = 0; i < call->arg_count; i++)
		if (!strcmp(call->args[i].name, n))
			return &call->args[i];
	return NULL;
}

static int net_control(struct ember_instance *dev, struct ember_control_call *call)
{
	static const char *const names[6] = {
	    "bandwidth_size", "bandwidth_refill_ms", "bandwidth_one_time_burst",
	    "ops_size",	      "ops_refill_ms",	     "ops_one_time_burst",
	};
	const struct ember_host *host = dev->host;
	const struct ember_control_arg *a[6], *dir = arg(call, "direction");
	struct net_dir_limits *d;
	uint64_t now = host->clock_ns(host);

	if (!dir || !dir->str || (strcmp(dir->str, "rx") && strcmp(dir->str, "tx"))) {
		snprintf(call->message, call->message_size, "direction: \"rx\" or \"tx\"");
		return -EINVAL;
	}
	d = dir->str[0] == 'r' ? &dev->rx_limit : &dev->tx_limit;
	for (int i = 0; i < 6; i++)
		if (!(a[i] = arg(call, names[i]))) {
			snprintf(call->message, call->message_size, "%s: missing", names[i]);
			return -EINVAL;
		}
	/* A bucket is replaced as a whole when any of its parameters is given (Firecracker's
	 * PATCH); one whose parameters are all absent keeps its setting and its level. */
	if (a[0]->given || a[1]->given || a[2]->given)
		net_limit_set(&d->bw, (uint64_t)a[0]->num, (uint64_t)a[1]->num, (uint64_t)a[2]->num,
			      now);
	if (a[3]->given || a[4]->given || a[5]->given)
		net_limit_set(&d->ops, (uint64_t)a[3]->num, (uint64_t)a[4]->num,
			      (uint64_t)a[5]->num, now);
	host->log(host, EMBER_LOG_INFO,
		  "%s rate limit: %llu bytes per %llu ms (burst %llu), %llu frames per %llu ms "
		  "(burst %llu)",
		  dir->str, (unsigned long long)d->bw.size, (unsigned long long)d->bw.refill_ms,
		  (unsigned long long)d->bw.one_time_burst, (unsigned long long)d->ops.size,
		  (unsigned long long)d->ops.refill_ms, (unsigned long long)d->ops.one_time_burst);
	/* Whatever waited under the old limit is looked at again under the new one. */
	net_limit_cancel(dev, d);
	for (uint32_t i = 0; i < dev->pairs; i++) {
		if (d == &dev->rx_limit)
			net_rx_pump(&dev->qp[i]);
		else
			net_tx_serve(&dev->qp[i]);
	}
	host->reply_int(host, call, "bandwidth_size", (int64_t)d->bw.size);
	host->reply_int(host, call, "bandwidth_refill_ms", (int64_t)d->bw.refill_ms);
	host->reply_int(host, call, "bandwidth_one_time_burst", (int64_t)d->bw.one_time_burst);
	host->reply_int(host, call, "ops_size", (int64_t)d->ops.size);
	host->reply_int(host, call, "ops_refill_ms", (int64_t)d->ops.refill_ms);
	host->reply_int(host, call, "ops_one_time_burst", (int64_t)d->ops.one_time_burst);
	return 0;
}

/* ---- Metrics ------------------------------------------------------------------------------ */

#define NET_DEV_METRICS 13u

static void net_metrics_read(struct ember_instance *dev, uint64_t *values, uint32_t count)
{
	const struct net_stats *s = &dev->stats;
	const uint64_t v[NET_DEV_METRICS] = {
	    s->rx_bytes,     s->rx_packets,	  s->tx_bytes,
	    s->tx_packets,   s->rx_dropped,	  s->tx_dropped,
	    s->tx_malformed, s->rx_throttled,	  s->tx_throttled,
	    dev->link_up,    s->link_down_events, dev->active ? dev->active_pairs : 0,
	    dev->pairs,
	};
	uint32_t i;

	for (i = 0; i < count && i < NET_DEV_METRICS; i++)
		values[i] = v[i];
	for (uint32_t p = 0; p < NET_MAX_PAIRS; p++) {
		const struct net_qstats *q = &dev->qp[p].stats;
		const uint64_t qv[4] = {q->rx_packets, q->rx_bytes, q->tx_packets, q->tx_bytes};

		for (uint32_t k = 0; k < 4 && i < count; k++)
			values[i++] = qv[k];
	}
}

#define NET_QUEUE_METRICS(n)                                                        \
	EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "q" #n "_rx_packets", "packets",     \
			 "frames given to the guest on queue pair " #n),            \
	    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "q" #n "_rx_bytes", "bytes",     \
			     "bytes given to the guest on queue pair " #n),         \
	    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "q" #n "_tx_packets", "packets", \
			     "guest frames sent on queue pair " #n),                \
	    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "q" #n "_tx_bytes", "bytes",     \
			     "guest bytes sent on queue pair " #n)

static const struct ember_metric net_metrics[] = {
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "rx_bytes", "bytes",
		     "frame bytes given to the guest (without the vnet header)"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "rx_packets", "packets", "frames given to the guest"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "tx_bytes", "bytes",
		     "guest frame bytes written to the backend (without the vnet header)"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "tx_packets", "packets",
		     "guest frames written to the backend"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "rx_dropped", "packets",
		     "backend frames no guest buffer could take, or with a bad header"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "tx_dropped", "packets",
		     "guest frames not sent (malformed, refused by the backend, link down)"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "tx_malformed", "packets",
		     "guest frames dropped for a bad vnet header, size or queue"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "rx_throttled", NULL,
		     "times receive waited for rate-limit tokens"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "tx_throttled", NULL,
		     "times transmit waited for rate-limit tokens"),
    EMBER_METRIC_DEF(EMBER_METRIC_GAUGE, "link_up", NULL, "1 while the backend works"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "link_down_events", NULL,
		     "times the backend failed and the link went down"),
    EMBER_METRIC_DEF(EMBER_METRIC_GAUGE, "queue_pairs_active", "queues",
		     "queue pairs the driver uses (0 before DRIVER_OK)"),
    EMBER_METRIC_DEF(EMBER_METRIC_GAUGE, "queue_pairs", "queues", "queue pairs offered"),
    NET_QUEUE_METRICS(0),
    NET_QUEUE_METRICS(1),
    NET_QUEUE_METRICS(2),
    NET_QUEUE_METRICS(3),
    NET_QUEUE_METRICS(4),
    NET_QUEUE_METRICS(5),
    NET_QUEUE_METRICS(6),
    NET_QUEUE_METRICS(7),
};
_Static_assert(EMBER_ARRAY_SIZE(net_metrics) == NET_DEV_METRICS + 4 * NET_MAX_PAIRS,
	       "one group of queue metrics per queue pair");

/* ---- Options ------------------------------------------------------------------------------ */

#define LIMIT_MAX (1LL << 40)
#define LIMIT_OPTIONS(d, what)                                                             \
	EMBER_OPTION_SIZE_DEF(d "_bandwidth_size", 0, 0, LIMIT_MAX,                        \
			      what " bandwidth bucket in bytes (0: no limit)"),            \
	    EMBER_OPTION_SIZE_DEF(d "_bandwidth_refill_ms", 1000, 1, 86400000,             \
				  "milliseconds to refill the " what " bandwidth bucket"), \
	    EMBER_OPTION_SIZE_DEF(d "_bandwidth_one_time_burst", 0, 0, LIMIT_MAX,          \
				  "extra " what " bytes allowed once, before the bucket"), \
	    EMBER_OPTION_SIZE_DEF(d "_ops_size", 0, 0, LIMIT_MAX,                          \
				  what " frame bucket in frames (0: no limit)"),           \
	    EMBER_OPTION_SIZE_DEF(d "_ops_refill_ms", 1000, 1, 86400000,                   \
				  "milliseconds to refill the " what " frame bucket"),     \
	    EMBER_OPTION_SIZE_DEF(d "_ops_one_time_burst", 0, 0, LIMIT_MAX,                \
				  "extra " what " frames allowed once, before the bucket")

static const struct ember_option net_options[] = {
    EMBER_OPTION_STRING_DEF("tap", NULL,
			    "tap interface to attach to (created when missing; needs "
			    "CAP_NET_ADMIN)"),
    EMBER_OPTION_INT_DEF("tap_fd", -1, -1, 0x7fffffff,
			 "an open tap fd inherited from the parent (ember owns it), or a "
			 "datagram socket with one frame per datagram"),
    EMBER_OPTION_BOOL_DEF("loopback", 0,
			  "no tap: frames the guest sends come back to it (tests, fuzzing)"),
    EMBER_OPTION_STRING_DEF("mac", NULL,
			    "the guest's MAC address, e.g. 02:00:00:00:00:01 (unset: the guest "
			    "picks one)"),
    EMBER_OPTION_INT_DEF("mtu", 1500, 68, 65535, "the MTU the guest is told (VIRTIO_NET_F_MTU)"),
    EMBER_OPTION_INT_DEF("num_queues", 1, 1, NET_MAX_PAIRS,
			 "queue pairs (more than 1: multiqueue, one tap queue each)"),
    EMBER_OPTION_INT_DEF("queue_size", 256, 64, NET_QUEUE_MAX,
			 "entries per virtqueue, a power of two"),
    EMBER_OPTION_BOOL_DEF("offloads", 1,
			  "offer checksum and segmentation offloads (false: the guest does it)"),
    LIMIT_OPTIONS("rx", "receive"),
    LIMIT_OPTIONS("tx", "transmit"),
};

static const struct ember_option rate_params[] = {
    EMBER_OPTION_STRING_REQ("direction", "\"rx\" (to the guest) or \"tx\" (from the guest)"),
    EMBER_OPTION_SIZE_DEF("bandwidth_size", 0, 0, LIMIT_MAX, "bytes per refill (0: no limit)"),
    EMBER_OPTION_SIZE_DEF("bandwidth_refill_ms", 1000, 1, 86400000, "refill time"),
    EMBER_OPTION_SIZE_DEF("bandwidth_one_time_burst", 0, 0, LIMIT_MAX, "extra bytes, once"),
    EMBER_OPTION_SIZE_DEF("ops_size", 0, 0, LIMIT_MAX, "frames per refill (0: no limit)"),
    EMBER_OPTION_SIZE_DEF("ops_refill_ms", 1000, 1, 86400000, "refill time"),
    EMBER_OPTION_SIZE_DEF("ops_one_time_burst", 0, 0, LIMIT_MAX, "extra frames, once"),
};

static const struct ember_control net_controls[] = {
    EMBER_CONTROL_DEF("set_rate_limit", rate_params,
		      "replace one direction's bandwidth and/or frame bucket"),
};

/* After the guest starts: activate/reset (status writes), kicks, watch and timer callbacks. */
#define NET_THREADS (EMBER_THREAD_VCPU | EMBER_THREAD_EVENT_LOOP)
static const struct ember_syscall_rule net_syscalls[] = {
    /* The tap's offloads follow the driver (activate, reset). */
    EMBER_SYSCALL_ARG_EQ("ioctl", NET_THREADS, 1, NET_TUNSETOFFLOAD),
    /* Multiqueue: tap queues attached and detached as the driver sets its queue pairs. */
    EMBER_SYSCALL_ARG_EQ("ioctl", NET_THREADS, 1, NET_TUNSETQUEUE),
    /* Socket backends (an inherited datagram socket, loopback): MSG_TRUNC and MSG_NOSIGNAL. */
    EMBER_SYSCALL("recvmsg", NET_THREADS),
    EMBER_SYSCALL("sendmsg", NET_THREADS),
};

static const struct ember_device_ops net_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = net_create,
    .destroy = net_destroy,
    .reset = net_reset,
    .virtio_features = net_features,
    .config_read = net_config_read,
    .activate = net_activate,
    .queue_notify = net_queue_notify,
    .control = net_control,
    .metrics_read = net_metrics_read,
};

static const struct ember_plugin_desc net_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 2, /* vq_unpop, controls, metrics, syscalls, the pop budget */
    .kind = EMBER_DEVICE_VIRTIO,
    .name = "virtio-net",
    .vendor = "ember",
    .version = "1.0.0",
    .description = "network card on a Linux tap: offloads, merged buffers, multiqueue, rate "
		   "limits",
    .virtio_device_id = EMBER_VIRTIO_ID_NET,
    .virtio_queue_count = NET_MAX_QUEUES,
    .virtio_queue_max_size = NET_QUEUE_MAX,
    .virtio_config_size = NET_CONFIG_SIZE,
    .options = net_options,
    .option_count = EMBER_ARRAY_SIZE(net_options),
    .option_size = sizeof(struct ember_option),
    .ops = &net_ops,
    .controls = net_controls,
    .control_count = EMBER_ARRAY_SIZE(net_controls),
    .control_size = sizeof(struct ember_control),
    .metrics = net_metrics,
    .metric_count = EMBER_ARRAY_SIZE(net_metrics),
    .metric_size = sizeof(struct ember_metric),
    .syscalls = net_syscalls,
    .syscall_count = EMBER_ARRAY_SIZE(net_syscalls),
    .syscall_size = sizeof(struct ember_syscall_rule),
};

EMBER_PLUGIN_DEFINE(net_desc)
