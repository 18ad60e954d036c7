/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Receive: frames from the backend into the guest's buffers, without a copy.
 *
 * The fd is polled only while the queue pair holds buffer space for the largest frame the guest
 * may get (64 KiB with GUEST_TSO/USO, else the MTU): then one readv puts the next frame with its
 * vnet header straight into the held chains, and with merged buffers the chains it used get
 * num_buffers. Without that much space the fd is left alone (the tap queues frames, and drops
 * them itself when its queue is full) until the guest adds buffers; since everything it offered
 * was popped, its next addition kicks. A ring that can never hold a whole frame is read anyway
 * after NET_RX_SHORT_WAIT_NS, so nothing waits forever.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "net.h"

static bool mergeable(const struct ember_instance *dev)
{
	return dev->features & NET_BIT(VIRTIO_NET_F_MRG_RXBUF);
}

static bool usable(const struct net_queue_pair *qp)
{
	const struct ember_instance *dev = qp->dev;

	return dev->active && dev->link_up && qp->attached && qp->rx_fd >= 0 &&
	       qp->index < dev->active_pairs;
}

static uint64_t need_bytes(const struct ember_instance *dev)
{
	return (uint64_t)dev->hdr_len + dev->rx_frame_max;
}

static void rx_event(void *arg, int fd, uint32_t revents);

void net_rx_update_watch(struct net_queue_pair *qp)
{
	const struct ember_host *host = qp->dev->host;
	bool want = usable(qp) && !qp->rx_starved && qp->dev->rx_limit.timer < 0;

	if (want == (qp->rx_watch >= 0))
		return;
	if (!want) {
		host->watch_remove(host, qp->rx_watch);
		qp->rx_watch = -1;
		return;
	}
	qp->rx_watch = host->watch_add(host, qp->rx_fd, EMBER_WATCH_IN, rx_event, qp);
	if (qp->rx_watch < 0) {
		host->log(host, EMBER_LOG_ERROR, "queue pair %u: cannot watch the backend: %s",
			  qp->index, strerror(-qp->rx_watch));
		qp->rx_watch = -1;
	}
}

static void cancel_short(struct net_queue_pair *qp)
{
	if (qp->rx_short_timer >= 0)
		qp->dev->host->timer_cancel(qp->dev->host, qp->rx_short_timer);
	qp->rx_short_timer = -1;
	qp->rx_take_short = false;
}

static void short_expired(void *arg)
{
	struct net_queue_pair *qp = arg;

	qp->rx_short_timer = -1;
	qp->rx_take_short = true;
	qp->rx_starved = false;
	net_rx_update_watch(qp);
	net_rx_pump(qp);
}

/* Gives back every held chain unused (reset: ember only frees them). */
static void release_held(struct net_queue_pair *qp)
{
	const struct ember_host *host = qp->dev->host;

	for (uint32_t i = 0; i < qp->rx_held; i++)
		host->vq_push(host, qp->rx_chains[i], 0);
	qp->rx_held = qp->rx_niov = 0;
	qp->rx_cap = 0;
}

void net_rx_stop(struct net_queue_pair *qp)
{
	const struct ember_host *host = qp->dev->host;

	if (qp->rx_watch >= 0)
		host->watch_remove(host, qp->rx_watch);
	qp->rx_watch = -1;
	cancel_short(qp);
	release_held(qp);
	qp->rx_starved = false;
}

/*
 * Pops chains until the held space reaches a whole frame (one chain without merged buffers).
 * Returns 1 when there is enough (or the short wait ran out and something is held), 0 when
 * not, -1 when the device is in NEEDS_RESET now.
 */
static int gather(struct net_queue_pair *qp)
{
	struct ember_instance *dev = qp->dev;
	const struct ember_host *host = dev->host;
	uint64_t need = need_bytes(dev);

	while (qp->rx_held < NET_RX_CHAINS_MAX &&
	       (mergeable(dev) ? qp->rx_cap < need : !qp->rx_held)) {
		struct ember_vq_chain *c;
		int rc = host->vq_pop(host, net_rxq(qp->index), &c), n;

		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		if (c->readable_count || c->writable_bytes < (qp->rx_held ? 1 : dev->hdr_len)) {
			host->vq_push(host, c, 0);
			host->set_needs_reset(host,
					      "a receive buffer that is read-only or has no room "
					      "for the virtio-net header");
			return -1;
		}
		n = host->chain_map(host, c, 1, qp->rx_iov + qp->rx_niov,
				    NET_IOV_MAX - qp->rx_niov);
		if (n < 0) {
			/* More segments than readv takes: the next frame starts with it. */
			if (host->vq_unpop(host, c))
				host->vq_push(host, c, 0);
			break;
		}
		qp->rx_chains[qp->rx_held] = c;
		qp->rx_chain_niov[qp->rx_held] = (uint32_t)n;
		qp->rx_held++;
		qp->rx_niov += (uint32_t)n;
		qp->rx_cap += c->writable_bytes;
	}
	if (!qp->rx_held)
		return 0;
	if (!mergeable(dev) || qp->rx_cap >= need || qp->rx_held == NET_RX_CHAINS_MAX ||
	    qp->rx_niov == NET_IOV_MAX)
		return 1;
	return qp->rx_take_short ? 1 : 0;
}

/* The first `used` held chains were pushed (their memory is gone): the rest move to the front. */
static void drop_front(struct net_queue_pair *qp, uint32_t used)
{
	uint32_t iovs = 0;

	for (uint32_t i = 0; i < used; i++)
		iovs += qp->rx_chain_niov[i];
	memmove(qp->rx_chains, qp->rx_chains + used, (qp->rx_held - used) * sizeof(*qp->rx_chains));
	memmove(qp->rx_chain_niov, qp->rx_chain_niov + used,
		(qp->rx_held - used) * sizeof(*qp->rx_chain_niov));
	memmove(qp->rx_iov, qp->rx_iov + iovs, (qp->rx_niov - iovs) * sizeof(*qp->rx_iov));
	qp->rx_held -= used;
	qp->rx_niov -= iovs;
}

/* One frame from the backend into the held chains: its total length, 0 when none, <0 errno. */
static int64_t read_frame(struct net_queue_pair *qp)
{
	struct ember_instance *dev = qp->dev;
	ssize_t n;

	if (dev->kind == NET_BACKEND_TAP) {
		/* The tap returns the frame's full length even when the buffers were shorter. */
		n = readv(qp->rx_fd, qp->rx_iov, (int)qp->rx_niov);
	} else {
		struct msghdr msg = {.msg_iov = qp->rx_iov, .msg_iovlen = qp->rx_niov};

		/* MSG_TRUNC: the datagram's real length, so a cut frame is seen as one. */
		n = recvmsg(qp->rx_fd, &msg, MSG_TRUNC | MSG_DONTWAIT);
	}
	if (n < 0)
		return -errno;
	return n;
}

/* Pushes the chains that frame of n bytes used (n <= rx_cap). Returns how many. */
static uint32_t complete(struct net_queue_pair *qp, uint64_t n)
{
	struct ember_instance *dev = qp->dev;
	const struct ember_host *host = dev->host;
	uint64_t left = n;
	uint32_t used = 0;
	uint16_t nb;

	while (left && used < qp->rx_held) {
		uint64_t take = qp->rx_chains[used]->writable_bytes;

		if (take > left)
			take = left;
		left -= take;
		used++;
	}
	nb = (uint16_t)used;
	/* num_buffers is the device's to set (5.1.6.4): whatever the backend wrote is replaced. */
	host->chain_write(host, qp->rx_chains[0], offsetof(struct virtio_net_hdr_v1, num_buffers),
			  &nb, sizeof(nb));
	left = n;
	for (uint32_t i = 0; i < used; i++) {
		uint64_t take = qp->rx_chains[i]->writable_bytes;

		if (take > left)
			take = left;
		left -= take;
		qp->rx_cap -= qp->rx_chains[i]->writable_bytes;
		host->vq_push(host, qp->rx_chains[i], (uint32_t)take);
	}
	drop_front(qp, used);
	return used;
}

void net_rx_pump(struct net_queue_pair *qp)
{
	struct ember_instance *dev = qp->dev;
	const struct ember_host *host = dev->host;
	bool pushed = false;

	for (uint32_t frames = 0; frames < NET_RX_BATCH && usable(qp); frames++) {
		uint64_t now = host->clock_ns(host), wait;
		struct virtio_net_hdr_v1 h;
		const char *why;
		int64_t n;
		int g;

		if (!net_limit_ready(&dev->rx_limit, now, &wait)) {
			dev->stats.rx_throttled++;
			net_limit_wait(dev, &dev->rx_limit, wait);
			break;
		}
		g = gather(qp);
		if (g < 0)
			break;
		if (g == 0) {
			qp->rx_starved = true;
			if (qp->rx_held && qp->rx_short_timer < 0)
				qp->rx_short_timer = host->timer_start(host, NET_RX_SHORT_WAIT_NS,
								       short_expired, qp);
			break;
		}
		n = read_frame(qp);
		if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
			break;
		if (n == -EFAULT || n == -EINVAL || n == -EMSGSIZE || n == -ENOBUFS) {
			/* The kernel could not place the frame and dropped it. */
			dev->stats.rx_dropped++;
			continue;
		}
		if (n < 0) {
			net_backend_link_down(dev, "read", (int)-n);
			break;
		}
		qp->rx_take_short = false;
		if ((uint64_t)n > qp->rx_cap || (uint64_t)n < dev->hdr_len) {
			dev->stats.rx_dropped++;
			continue;
		}
		/* The header as the backend wrote it (it may span iovecs), checked on this copy. */
		for (uint32_t i = 0, off = 0; off < sizeof(h) && i < qp->rx_niov; i++) {
			size_t k = qp->rx_iov[i].iov_len;

			if (k > sizeof(h) - off)
				k = sizeof(h) - off;
			memcpy((uint8_t *)&h + off, qp->rx_iov[i].iov_base, k);
			off += (uint32_t)k;
		}
		why = net_hdr_check(&h, (uint64_t)n - dev->hdr_len, dev->features, false,
				    dev->rx_frame_max);
		if (why) {
			dev->stats.rx_dropped++;
			host->log(host, EMBER_LOG_WARN,
				  "queue pair %u: dropped a frame from %s: %s", qp->index,
				  dev->ifname, why);
			continue;
		}
		complete(qp, (uint64_t)n);
		pushed = true;
		dev->stats.rx_packets++;
		dev->stats.rx_bytes += (uint64_t)n - dev->hdr_len;
		qp->stats.rx_packets++;
		qp->stats.rx_bytes += (uint64_t)n - dev->hdr_len;
		net_limit_take(&dev->rx_limit, (uint64_t)n - dev->hdr_len);
	}
	if (pushed)
		host->vq_notify(host, net_rxq(qp->index));
	net_rx_update_watch(qp);
}

static void rx_event(void *arg, int fd, uint32_t revents)
{
	struct net_queue_pair *qp = arg;

	(void)fd;
	if ((revents & (EMBER_WATCH_ERR | EMBER_WATCH_HUP)) && !(revents & EMBER_WATCH_IN)) {
		net_backend_link_down(qp->dev, "poll", EIO);
		return;
	}
	net_rx_pump(qp);
}

void net_rx_kick(struct net_queue_pair *qp)
{
	qp->rx_starved = false;
	if (qp->rx_short_timer >= 0)
		cancel_short(qp);
	net_rx_pump(qp);
}
