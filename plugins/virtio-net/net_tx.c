/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transmit: every frame the guest queued, checked and written to the backend in one writev
 * whose first iovec is the checked copy of its vnet header and whose others point into guest
 * RAM (no copy of the frame). A kick sends until the queue is empty or ember's pop budget for
 * the call is spent (ember then notifies again from the event loop). A frame that must wait
 * (rate limit, a backend that said EAGAIN) goes back to the ring with vq_unpop and is sent
 * first when the timer or the fd says so.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "net.h"

enum tx_verdict { TX_SENT, TX_DROPPED, TX_WAIT };

static void tx_writable(void *arg, int fd, uint32_t revents);

static void drop(struct ember_instance *dev, bool malformed)
{
	dev->stats.tx_dropped++;
	if (malformed)
		dev->stats.tx_malformed++;
}

/* The mapped readable part of c, without its first `skip` bytes, after iov[0]. */
static int frame_iov(struct net_queue_pair *qp, const struct ember_vq_chain *c, uint32_t skip)
{
	const struct ember_host *host = qp->dev->host;
	struct iovec *iov = qp->tx_iov + 1;
	int n = host->chain_map(host, c, 0, iov, NET_IOV_MAX - 1), first = 0;

	if (n < 0)
		return n;
	while (first < n && skip >= iov[first].iov_len)
		skip -= (uint32_t)iov[first++].iov_len;
	if (first < n) {
		iov[first].iov_base = (uint8_t *)iov[first].iov_base + skip;
		iov[first].iov_len -= skip;
	}
	if (first)
		memmove(iov, iov + first, (size_t)(n - first) * sizeof(*iov));
	return n - first;
}

static enum tx_verdict send_one(struct net_queue_pair *qp, const struct ember_vq_chain *c)
{
	struct ember_instance *dev = qp->dev;
	const struct ember_host *host = dev->host;
	struct virtio_net_hdr_v1 h;
	uint64_t len, now, wait;
	const char *why;
	ssize_t w;
	int n;

	if (!dev->link_up) {
		drop(dev, false);
		return TX_DROPPED;
	}
	if (!qp->attached || qp->index >= dev->active_pairs) {
		host->log(host, EMBER_LOG_WARN, "queue pair %u: a frame on a queue pair not in use",
			  qp->index);
		drop(dev, true);
		return TX_DROPPED;
	}
	if (c->readable_bytes < dev->hdr_len ||
	    host->chain_read(host, c, 0, &h, sizeof(h)) != (int64_t)sizeof(h)) {
		host->log(
		    host, EMBER_LOG_WARN,
		    "queue pair %u: a transmit chain of %llu bytes has no room for the header",
		    qp->index, (unsigned long long)c->readable_bytes);
		drop(dev, true);
		return TX_DROPPED;
	}
	len = c->readable_bytes - dev->hdr_len;
	why = net_hdr_check(&h, len, dev->features, true, dev->tx_frame_max);
	if (why) {
		host->log(host, EMBER_LOG_WARN,
			  "queue pair %u: dropped a guest frame of %llu bytes: %s (flags %#x, "
			  "gso_type %#x, gso_size %u, hdr_len %u)",
			  qp->index, (unsigned long long)len, why, h.flags, h.gso_type, h.gso_size,
			  h.hdr_len);
		drop(dev, true);
		return TX_DROPPED;
	}
	now = host->clock_ns(host);
	if (!net_limit_admit(&dev->tx_limit, len, now, &wait)) {
		dev->stats.tx_throttled++;
		net_limit_wait(dev, &dev->tx_limit, wait);
		return TX_WAIT;
	}
	n = frame_iov(qp, c, dev->hdr_len);
	if (n < 0) {
		host->log(host, EMBER_LOG_WARN, "queue pair %u: a frame in more than %u pieces",
			  qp->index, NET_IOV_MAX - 1);
		drop(dev, true);
		return TX_DROPPED;
	}
	h.num_buffers = 0;
	qp->tx_iov[0].iov_base = &h;
	qp->tx_iov[0].iov_len = sizeof(h);
	if (dev->kind == NET_BACKEND_TAP) {
		w = writev(qp->tx_fd, qp->tx_iov, n + 1);
	} else {
		struct msghdr msg = {.msg_iov = qp->tx_iov, .msg_iovlen = (size_t)n + 1};

		w = sendmsg(qp->tx_fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	if (w < 0) {
		int err = errno;

		if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == EINTR) {
			/* Sent later, paid then: the guest must not pay twice for one frame. */
			net_limit_refund(&dev->tx_limit, len);
			qp->tx_blocked = true;
			qp->tx_watch =
			    host->watch_add(host, qp->tx_fd, EMBER_WATCH_OUT, tx_writable, qp);
			if (qp->tx_watch < 0) {
				qp->tx_watch = -1;
				qp->tx_blocked = false;
				drop(dev, false);
				return TX_DROPPED;
			}
			return TX_WAIT;
		}
		if (err == EINVAL || err == EMSGSIZE || err == EFAULT) {
			host->log(host, EMBER_LOG_WARN, "queue pair %u: %s refused a frame: %s",
				  qp->index, dev->ifname, strerror(err));
			drop(dev, false);
			return TX_DROPPED;
		}
		net_backend_link_down(dev, "write", err);
		drop(dev, false);
		return TX_DROPPED;
	}
	dev->stats.tx_packets++;
	dev->stats.tx_bytes += len;
	qp->stats.tx_packets++;
	qp->stats.tx_bytes += len;
	return TX_SENT;
}

void net_tx_serve(struct net_queue_pair *qp)
{
	struct ember_instance *dev = qp->dev;
	const struct ember_host *host = dev->host;
	uint32_t queue = net_txq(qp->index);
	bool pushed = false;

	if (!dev->active || qp->tx_blocked || dev->tx_limit.timer >= 0)
		return;
	for (;;) {
		struct ember_vq_chain *c;
		int rc = host->vq_pop(host, queue, &c);

		if (rc <= 0)
			break;
		if (send_one(qp, c) == TX_WAIT) {
			if (host->vq_unpop(host, c) == 0)
				break;
			host->vq_push(host, c, 0); /* cannot happen: c is the newest pop */
			pushed = true;
			break;
		}
		host->vq_push(host, c, 0);
		pushed = true;
	}
	if (pushed)
		host->vq_notify(host, queue);
}

static void tx_writable(void *arg, int fd, uint32_t revents)
{
	struct net_queue_pair *qp = arg;
	const struct ember_host *host = qp->dev->host;

	(void)fd;
	host->watch_remove(host, qp->tx_watch);
	qp->tx_watch = -1;
	qp->tx_blocked = false;
	if ((revents & (EMBER_WATCH_ERR | EMBER_WATCH_HUP)) && !(revents & EMBER_WATCH_OUT)) {
		net_backend_link_down(qp->dev, "poll", EIO);
		return;
	}
	net_tx_serve(qp);
}

void net_tx_stop(struct net_queue_pair *qp)
{
	const struct ember_host *host = qp->dev->host;

	if (qp->tx_watch >= 0)
		host->watch_remove(host, qp->tx_watch);
	qp->tx_watch = -1;
	qp->tx_blocked = false;
}
