/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net (virtio 1.x, 5.1) on a Linux tap. The instance and the contracts between its parts:
 *
 *   net_main.c    descriptor, options, metrics, syscalls, create/destroy/reset/activate, config
 *                 space, queue kicks, the runtime control
 *   net_backend.c the backend: opening or adopting the tap (one fd per queue pair with
 *                 IFF_MULTI_QUEUE), the offloads it accepts and the ones the guest negotiated,
 *                 attaching and detaching tap queues, the link going down
 *   net_hdr.c     struct virtio_net_hdr_v1 checks, the same for both directions
 *   net_rx.c      frames from the backend into the guest's receive buffers (zero copy, merged
 *                 buffers), and when the tap is polled
 *   net_tx.c      frames from the guest's transmit queues to the backend, batched per kick
 *   net_ctrl.c    the control queue (VIRTIO_NET_CTRL_MQ) and the rate limiters
 *
 * Threads: every function here runs with ember's instance lock held (ops, watch and timer
 * callbacks), so nothing locks. Nothing blocks: every fd is non-blocking and watched on ember's
 * event loop, so a kick on a vCPU thread costs at most one batch of writev/readv calls.
 *
 * Memory: everything is allocated at create (iovec arrays and chain lists per queue pair); the
 * data path allocates nothing, and frames are never copied: readv/writev go straight between
 * the tap and guest RAM mapped by ember (chain_map). The guest's virtio_net_hdr is copied once
 * (and checked on that copy), so a guest rewriting it in flight changes nothing.
 */
#ifndef EMBER_VIRTIO_NET_H
#define EMBER_VIRTIO_NET_H

#include <ember/virtio.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "token_bucket.h"

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN	9
#define VIRTIO_NET_F_GUEST_UFO	10
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_HOST_ECN	13
#define VIRTIO_NET_F_HOST_UFO	14
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_F_CTRL_VQ	17
#define VIRTIO_NET_F_MQ		22
#define VIRTIO_NET_F_GUEST_USO4 54
#define VIRTIO_NET_F_GUEST_USO6 55
#define VIRTIO_NET_F_HOST_USO	56
#define NET_BIT(f)		(1ULL << (f))

#define VIRTIO_NET_S_LINK_UP 1u

/* The header (5.1.6), little-endian; with VERSION_1 it always has num_buffers: 12 bytes. */
struct virtio_net_hdr_v1 {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
#define NET_HDR_BYTES 12u
_Static_assert(sizeof(struct virtio_net_hdr_v1) == NET_HDR_BYTES, "virtio_net_hdr_v1 layout");

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_F_DATA_VALID 2u
#define VIRTIO_NET_HDR_GSO_NONE	    0u
#define VIRTIO_NET_HDR_GSO_TCPV4    1u
#define VIRTIO_NET_HDR_GSO_UDP	    3u
#define VIRTIO_NET_HDR_GSO_TCPV6    4u
#define VIRTIO_NET_HDR_GSO_UDP_L4   5u
#define VIRTIO_NET_HDR_GSO_ECN	    0x80u

/* Config space (5.1.4): mac[6], le16 status, le16 max_virtqueue_pairs, le16 mtu. */
#define NET_CONFIG_SIZE 12u

/* Control queue (5.1.6.5). */
#define VIRTIO_NET_OK			0u
#define VIRTIO_NET_ERR			1u
#define VIRTIO_NET_CTRL_MQ		4u
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0u

#define NET_MAX_PAIRS  8u
#define NET_MAX_QUEUES (2u * NET_MAX_PAIRS + 1u)
#define NET_QUEUE_MAX  1024u
#define NET_ETH_HLEN   14u
#define NET_VLAN_HLEN  4u
#define NET_ETH_MIN    NET_ETH_HLEN
/* The largest segmentation-offload frame either way: an IP datagram of 64 KiB, Ethernet, VLAN. */
#define NET_GSO_FRAME_MAX (65535u + NET_ETH_HLEN + NET_VLAN_HLEN)
/* readv/writev take at most 1024 iovecs (UIO_MAXIOV). */
#define NET_IOV_MAX 1024u
/* Frames one rx callback moves before the loop's other work gets a turn. */
#define NET_RX_BATCH 64u
/* Chains one rx frame may span (merged buffers): a 64 KiB frame in 1.5 KiB buffers is 44. */
#define NET_RX_CHAINS_MAX 256u
/* How long the receive side waits for buffers that would hold a whole frame before it reads one
 * into what it holds (a ring whose buffers together are smaller than the largest frame). */
#define NET_RX_SHORT_WAIT_NS (2ULL * 1000000ULL)

/* TUNSETOFFLOAD bits (linux/if_tun.h), named here so the plugin needs no kernel header. */
/* The ioctls left after create, as numbers: a descriptor table needs constants (net_backend.c
 * checks them against linux/if_tun.h). */
#define NET_TUNSETOFFLOAD 0x400454d0u
#define NET_TUNSETQUEUE	  0x400454d9u
#define NET_TUN_F_CSUM	  0x01u
#define NET_TUN_F_TSO4	  0x02u
#define NET_TUN_F_TSO6	  0x04u
#define NET_TUN_F_USO4	  0x20u
#define NET_TUN_F_USO6	  0x40u

enum net_backend_kind {
	NET_BACKEND_TAP = 1,	  /* /dev/net/tun, opened or inherited */
	NET_BACKEND_SOCKET = 2,	  /* an inherited datagram socket: one frame per datagram */
	NET_BACKEND_LOOPBACK = 3, /* a socketpair of ours: what the guest sends comes back */
};

/* A rate limit in Firecracker's shape: a bucket of `size` refilled every refill_ms, plus a
 * one-time burst spent first and never refilled. size 0: no limit. */
struct net_limit {
	struct token_bucket tb;
	uint64_t one_time;
	/* As configured, for replies. */
	uint64_t size, refill_ms, one_time_burst;
};

struct net_dir_limits {
	struct net_limit bw;  /* bytes */
	struct net_limit ops; /* frames */
	int timer;	      /* waiting for tokens, or -1 */
};

/* Per queue pair counters (metrics q<N>_*). */
struct net_qstats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
};

struct net_queue_pair {
	struct ember_instance *dev;
	uint32_t index;
	int rx_fd, tx_fd;   /* the same fd for a tap or socket; the loopback's two ends */
	int rx_watch;	    /* EMBER_WATCH_IN on rx_fd while the guest has buffers, or -1 */
	int tx_watch;	    /* EMBER_WATCH_OUT on tx_fd after a short write, or -1 */
	bool attached;	    /* the tap queue is attached (IFF_ATTACH_QUEUE) */
	bool rx_starved;    /* too little buffer space held for a frame: the fd is not polled */
	bool rx_take_short; /* the short wait ran out: read into what is held anyway */
	int rx_short_timer; /* the short wait, or -1 */
	bool tx_blocked;    /* the backend said EAGAIN: tx waits for tx_watch */
	/*
	 * Receive buffers popped and held until a frame fills them: a frame needs room for the
	 * largest frame the guest negotiated before the fd is read (zero copy: readv goes straight
	 * into them), and popping everything the guest offered is what makes its next addition
	 * kick (EVENT_IDX). Held chains go back at reset and destroy.
	 */
	struct ember_vq_chain **rx_chains; /* NET_RX_CHAINS_MAX */
	uint32_t *rx_chain_niov;	   /* iovecs of each, in rx_iov order */
	uint32_t rx_held, rx_niov;
	uint64_t rx_cap;      /* writable bytes held */
	struct iovec *rx_iov; /* NET_IOV_MAX */
	struct iovec *tx_iov; /* NET_IOV_MAX + 1: the header copy first */
	struct net_qstats stats;
};

/* Metrics, in desc.metrics order for the device-wide part (net_main.c). */
struct net_stats {
	uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
	uint64_t rx_dropped;   /* frames from the backend that no guest buffer could take */
	uint64_t tx_dropped;   /* guest frames refused (bad header, size) or lost by the backend */
	uint64_t tx_malformed; /* of those, refused for a bad header or size */
	uint64_t rx_throttled; /* times receive waited for rate-limit tokens */
	uint64_t tx_throttled;
	uint64_t link_down_events;
};

struct ember_instance {
	const struct ember_host *host;

	/* Options, fixed at create. */
	uint8_t mac[6];
	bool has_mac;
	uint16_t mtu;
	uint32_t pairs;	     /* num_queues: queue pairs offered */
	uint32_t queue_size; /* QueueNumMax of every queue */
	bool offloads;	     /* offer checksum and segmentation offloads */

	/* The backend. */
	enum net_backend_kind kind;
	char ifname[16];   /* the tap's name, for messages */
	uint32_t tun_offl; /* TUN_F_* the tap accepts (probed at create) */
	uint32_t tun_offl_set;
	bool link_up;
	struct net_queue_pair qp[NET_MAX_PAIRS];

	/* The driver. */
	bool active; /* DRIVER_OK since the last reset */
	uint64_t features;
	uint32_t active_pairs; /* VQ_PAIRS_SET, 1 until the driver says more */
	uint32_t ctrl_queue;   /* 2 * max_virtqueue_pairs with MQ, else 2 */
	uint32_t hdr_len;      /* NET_HDR_BYTES */
	uint32_t rx_frame_max; /* bytes after the header the guest may be given */
	uint32_t tx_frame_max; /* bytes after the header the guest may send */

	struct net_dir_limits rx_limit, tx_limit;

	struct net_stats stats;
};

/* net_hdr.c */
/*
 * May a frame of `len` bytes after header h go between a driver that negotiated `features` and
 * the backend? `from_guest`: the guest transmits it (HOST_* features apply), else it receives
 * it (GUEST_*). frame_max: the largest frame without segmentation offload. Returns NULL, or a
 * short reason for the log.
 */
const char *net_hdr_check(const struct virtio_net_hdr_v1 *h, uint64_t len, uint64_t features,
			  bool from_guest, uint32_t frame_max);

/* net_backend.c */
/* Opens the backend the options name into dev->qp[*].rx_fd/tx_fd. 0 or a negative errno. */
int net_backend_open(struct ember_instance *dev, const char *tap, int64_t tap_fd, bool loopback);
void net_backend_close(struct ember_instance *dev);
/* Sets the tap's offloads from the negotiated features (0 at reset); logs failures. */
void net_backend_set_offloads(struct ember_instance *dev, uint64_t features);
/* Attaches tap queues [0, pairs) and detaches the rest (IFF_MULTI_QUEUE only). */
void net_backend_set_pairs(struct ember_instance *dev, uint32_t pairs);
/* The backend failed (gone, EIO): one log line, the link goes down, the fds stop being polled. */
void net_backend_link_down(struct ember_instance *dev, const char *what, int err);

/* net_rx.c */
/* Moves frames from the backend into queue pair qp's receive buffers (bounded per call). */
void net_rx_pump(struct net_queue_pair *qp);
/* Polls rx_fd exactly when the guest can take frames (active, link up, not starved, tokens). */
void net_rx_update_watch(struct net_queue_pair *qp);
/* The guest added receive buffers. */
void net_rx_kick(struct net_queue_pair *qp);
void net_rx_stop(struct net_queue_pair *qp); /* reset, destroy: no watch, no timer */

/* net_tx.c */
/* Sends what the guest queued on qp's transmit queue (bounded per call). */
void net_tx_serve(struct net_queue_pair *qp);
void net_tx_stop(struct net_queue_pair *qp);

/* net_ctrl.c */
void net_ctrl_serve(struct ember_instance *dev);
/* (Re)configures one limit; size 0 removes it. Only at create and from the control: a device
 * reset keeps the level (see token_bucket.h). */
void net_limit_set(struct net_limit *l, uint64_t size, uint64_t refill_ms, uint64_t one_time,
		   uint64_t now);
/*
 * May a frame of `bytes` go now under d? On no, *wait_ns says when to try again. On yes the
 * tokens are taken (the byte bucket may go into debt: the next frames pay for it).
 */
bool net_limit_admit(struct net_dir_limits *d, uint64_t bytes, uint64_t now, uint64_t *wait_ns);
/* Before reading a frame of unknown size: is there a token of each kind? */
bool net_limit_ready(struct net_dir_limits *d, uint64_t now, uint64_t *wait_ns);
void net_limit_take(struct net_dir_limits *d, uint64_t bytes);
/* A frame admitted but not sent after all (the backend said EAGAIN): its tokens go back. */
void net_limit_refund(struct net_dir_limits *d, uint64_t bytes);
/* Waits for tokens (one timer per direction): then every queue pair of that direction runs. */
void net_limit_wait(struct ember_instance *dev, struct net_dir_limits *d, uint64_t wait_ns);
void net_limit_cancel(struct ember_instance *dev, struct net_dir_limits *d);

static inline uint32_t net_rxq(uint32_t pair)
{
	return 2 * pair;
}
static inline uint32_t net_txq(uint32_t pair)
{
	return 2 * pair + 1;
}

#endif
