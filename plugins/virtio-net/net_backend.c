/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend: a tap (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, one fd per queue pair with
 * IFF_MULTI_QUEUE), opened by name at create or inherited as an fd; or, without a tap, a
 * datagram socket carrying one frame (with its 12-byte virtio_net_hdr) per datagram, inherited,
 * or a socketpair of the device's own whose frames come straight back (tests, fuzzing).
 *
 * Everything that needs privileges or /dev happens in create, which ember runs on the main
 * thread before any seccomp filter exists. After that only TUNSETOFFLOAD (activate, reset) and
 * TUNSETQUEUE (the control queue) remain, declared in net_main.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"

#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)

_Static_assert(NET_TUNSETOFFLOAD == TUNSETOFFLOAD && NET_TUNSETQUEUE == TUNSETQUEUE,
	       "ioctl numbers declared for the sandbox");
_Static_assert(NET_TUN_F_CSUM == TUN_F_CSUM && NET_TUN_F_TSO4 == TUN_F_TSO4 &&
		   NET_TUN_F_TSO6 == TUN_F_TSO6,
	       "TUNSETOFFLOAD bits");

static int tap_open_queue(struct ember_instance *dev, const char *name, bool mq)
{
	const struct ember_host *host = dev->host;
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int err;

	if (fd < 0) {
		err = errno;
		host->log(host, EMBER_LOG_ERROR, "cannot open /dev/net/tun: %s", strerror(err));
		return -err;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)(TAP_FLAGS | (mq ? IFF_MULTI_QUEUE : 0));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		host->log(host, EMBER_LOG_ERROR, "tap %s: cannot attach (TUNSETIFF%s): %s%s", name,
			  mq ? " with IFF_MULTI_QUEUE" : "", strerror(err),
			  err == EINVAL ? " (a tap made with other flags, e.g. without multi_queue "
					  "for num_queues > 1?)"
					: "");
		close(fd);
		return -err;
	}
	return fd;
}

/* The vnet header and the offloads this tap accepts: probed once, left off until activate. */
static int tap_setup(struct ember_instance *dev, int fd)
{
	const struct ember_host *host = dev->host;
	int hdr = NET_HDR_BYTES;
	static const uint32_t probes[] = {
	    NET_TUN_F_CSUM,
	    NET_TUN_F_CSUM | NET_TUN_F_TSO4 | NET_TUN_F_TSO6,
	    NET_TUN_F_CSUM | NET_TUN_F_USO4 | NET_TUN_F_USO6,
	};

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int err = errno;

		host->log(host, EMBER_LOG_ERROR, "tap %s: TUNSETVNETHDRSZ: %s", dev->ifname,
			  strerror(err));
		return -err;
	}
	dev->tun_offl = 0;
	for (size_t i = 0; i < EMBER_ARRAY_SIZE(probes); i++)
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)probes[i]) == 0)
			dev->tun_offl |= probes[i];
	if (ioctl(fd, TUNSETOFFLOAD, 0UL) < 0)
		host->log(host, EMBER_LOG_WARN, "tap %s: cannot clear offloads: %s", dev->ifname,
			  strerror(errno));
	return 0;
}

static int open_tap_name(struct ember_instance *dev, const char *name)
{
	bool mq = dev->pairs > 1;
	int rc;

	if (strlen(name) >= IFNAMSIZ) {
		dev->host->log(dev->host, EMBER_LOG_ERROR, "tap: '%s' is longer than %d characters",
			       name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", name);
	for (uint32_t i = 0; i < dev->pairs; i++) {
		int fd = tap_open_queue(dev, name, mq);

		if (fd < 0)
			return fd;
		dev->qp[i].rx_fd = dev->qp[i].tx_fd = fd;
		dev->qp[i].attached = true;
	}
	if ((rc = tap_setup(dev, dev->qp[0].rx_fd)))
		return rc;
	/* Every queue's fd carries its own header size. */
	for (uint32_t i = 1; i < dev->pairs; i++) {
		int hdr = NET_HDR_BYTES;

		if (ioctl(dev->qp[i].rx_fd, TUNSETVNETHDRSZ, &hdr) < 0)
			return -errno;
	}
	dev->kind = NET_BACKEND_TAP;
	return 0;
}

static int adopt_fd(struct ember_instance *dev, int fd)
{
	const struct ember_host *host = dev->host;
	struct ifreq ifr;
	int type = 0, rc;
	socklen_t tl = sizeof(type);

	if (fcntl(fd, F_GETFD) < 0) {
		host->log(host, EMBER_LOG_ERROR, "tap_fd %d: not an open fd", fd);
		return -EBADF;
	}
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) == 0) {
		if ((ifr.ifr_flags & TAP_FLAGS) != TAP_FLAGS) {
			host->log(host, EMBER_LOG_ERROR,
				  "tap_fd %d (%s): needs IFF_TAP, IFF_NO_PI and IFF_VNET_HDR", fd,
				  ifr.ifr_name);
			return -EINVAL;
		}
		snprintf(dev->ifname, sizeof(dev->ifname), "%s", ifr.ifr_name);
		dev->kind = NET_BACKEND_TAP;
		if ((rc = tap_setup(dev, fd)))
			return rc;
	} else if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
		   (type == SOCK_DGRAM || type == SOCK_SEQPACKET)) {
		snprintf(dev->ifname, sizeof(dev->ifname), "fd%d", fd);
		dev->kind = NET_BACKEND_SOCKET;
	} else {
		host->log(host, EMBER_LOG_ERROR,
			  "tap_fd %d: neither a tap nor a datagram socket (TUNGETIFF: %s)", fd,
			  strerror(errno));
		return -EINVAL;
	}
	/* Ours from now on; non-blocking because the event loop polls it. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	dev->qp[0].rx_fd = dev->qp[0].tx_fd = fd;
	dev->qp[0].attached = true;
	return 0;
}

static int open_loopback(struct ember_instance *dev)
{
	for (uint32_t i = 0; i < dev->pairs; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
		dev->qp[i].tx_fd = sv[0];
		dev->qp[i].rx_fd = sv[1];
		dev->qp[i].attached = true;
	}
	snprintf(dev->ifname, sizeof(dev->ifname), "loopback");
	dev->kind = NET_BACKEND_LOOPBACK;
	return 0;
}

int net_backend_open(struct ember_instance *dev, const char *tap, int64_t tap_fd, bool loopback)
{
	const struct ember_host *host = dev->host;
	int given = (tap && tap[0]) + (tap_fd >= 0) + loopback;

	if (given != 1) {
		host->log(host, EMBER_LOG_ERROR,
			  "name exactly one backend: tap (a name), tap_fd (an inherited fd) or "
			  "loopback = true (%d given)",
			  given);
		return -EINVAL;
	}
	if (tap_fd >= 0 && dev->pairs > 1) {
		host->log(host, EMBER_LOG_ERROR,
			  "tap_fd: one fd is one queue pair; num_queues must be 1 (or use tap)");
		return -EINVAL;
	}
	if (loopback)
		return open_loopback(dev);
	if (tap_fd >= 0)
		return adopt_fd(dev, (int)tap_fd);
	return open_tap_name(dev, tap);
}

void net_backend_close(struct ember_instance *dev)
{
	for (uint32_t i = 0; i < NET_MAX_PAIRS; i++) {
		struct net_queue_pair *qp = &dev->qp[i];

		if (qp->tx_fd >= 0 && qp->tx_fd != qp->rx_fd)
			close(qp->tx_fd);
		if (qp->rx_fd >= 0)
			close(qp->rx_fd);
		qp->rx_fd = qp->tx_fd = -1;
	}
}

void net_backend_set_offloads(struct ember_instance *dev, uint64_t f)
{
	uint32_t want = 0;

	if (dev->kind != NET_BACKEND_TAP)
		return;
	if (f & NET_BIT(VIRTIO_NET_F_GUEST_CSUM)) {
		want |= NET_TUN_F_CSUM;
		if (f & NET_BIT(VIRTIO_NET_F_GUEST_TSO4))
			want |= NET_TUN_F_TSO4;
		if (f & NET_BIT(VIRTIO_NET_F_GUEST_TSO6))
			want |= NET_TUN_F_TSO6;
		if (f & NET_BIT(VIRTIO_NET_F_GUEST_USO4))
			want |= NET_TUN_F_USO4;
		if (f & NET_BIT(VIRTIO_NET_F_GUEST_USO6))
			want |= NET_TUN_F_USO6;
	}
	want &= dev->tun_offl;
	/* Offloads belong to the tap, not to a queue: queue 0's fd is always attached (a
	 * detached queue's fd refuses the ioctl with EBADFD). */
	if (want == dev->tun_offl_set || dev->qp[0].rx_fd < 0)
		return;
	if (ioctl(dev->qp[0].rx_fd, TUNSETOFFLOAD, (unsigned long)want) < 0) {
		dev->host->log(dev->host, EMBER_LOG_WARN, "tap %s: TUNSETOFFLOAD %#x: %s",
			       dev->ifname, want, strerror(errno));
		return;
	}
	dev->tun_offl_set = want;
}

void net_backend_set_pairs(struct ember_instance *dev, uint32_t pairs)
{
	if (dev->kind != NET_BACKEND_TAP || dev->pairs < 2)
		return;
	/* Queue 0 stays attached: a tap without queues drops its carrier. */
	for (uint32_t i = 1; i < dev->pairs; i++) {
		struct net_queue_pair *qp = &dev->qp[i];
		bool want = i < pairs;
		struct ifreq ifr;

		if (qp->attached == want || qp->rx_fd < 0)
			continue;
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = (short)(want ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE);
		if (ioctl(qp->rx_fd, TUNSETQUEUE, &ifr) < 0) {
			dev->host->log(dev->host, EMBER_LOG_WARN, "tap %s: %s queue %u: %s",
				       dev->ifname, want ? "attaching" : "detaching", i,
				       strerror(errno));
			continue;
		}
		qp->attached = want;
	}
}

void net_backend_link_down(struct ember_instance *dev, const char *what, int err)
{
	const struct ember_host *host = dev->host;

	if (!dev->link_up)
		return;
	dev->link_up = false;
	dev->stats.link_down_events++;
	host->log(host, EMBER_LOG_ERROR, "%s %s: %s: %s; the link stays down",
		  dev->kind == NET_BACKEND_TAP ? "tap" : "backend", dev->ifname, what,
		  strerror(err));
	for (uint32_t i = 0; i < dev->pairs; i++) {
		net_rx_stop(&dev->qp[i]);
		net_tx_stop(&dev->qp[i]);
	}
	if (dev->features & NET_BIT(VIRTIO_NET_F_STATUS))
		host->config_changed(host);
}
