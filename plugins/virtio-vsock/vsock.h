/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock (virtio 1.x, 5.10): stream sockets between the guest and host programs, carried
 * over Unix sockets the way Firecracker's hybrid vsock does it. The instance and the contracts
 * between its parts:
 *
 *   vsock_main.c  descriptor, options, metrics, syscalls, create/destroy/reset, config space,
 *                 queue kicks, the deadline timer
 *   vsock_conn.c  the connection table and state machine: packets from the guest (tx queue),
 *                 packets to the guest (rx queue: control first, then data, round-robin),
 *                 credit accounting on both sides
 *   vsock_host.c  the Unix-socket side: the listener on uds_path and the CONNECT line,
 *                 connecting to uds_path_PORT for the guest, reading, writing and buffering
 *
 * Threads: every function here runs with ember's instance lock held (ops and callbacks), so
 * nothing locks. Nothing blocks: every socket is non-blocking and watched on ember's event loop.
 *
 * Memory: the connection table (max_connections slots) is allocated at create; a connection's
 * guest-to-host buffer (conn_buffer_size bytes) only when a write to its Unix socket falls
 * short, and it lives until the connection closes. So the device holds at most
 * max_connections * conn_buffer_size bytes of guest data, because the guest may only send what
 * its credit (buf_alloc = conn_buffer_size) allows; a guest that sends more is reset.
 */
#ifndef EMBER_VIRTIO_VSOCK_H
#define EMBER_VIRTIO_VSOCK_H

#include <ember/virtio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Queues (5.10.2). */
#define VSOCK_RX_QUEUE	  0
#define VSOCK_TX_QUEUE	  1
#define VSOCK_EVENT_QUEUE 2
#define VSOCK_QUEUE_COUNT 3
#define VSOCK_QUEUE_SIZE  256u

/* Feature bits (5.10.3): stream sockets only; no SEQPACKET, no NO_IMPLIED_STREAM. */
#define VIRTIO_VSOCK_F_STREAM 0

#define VSOCK_CONFIG_SIZE 8u /* le64 guest_cid */

#define VSOCK_HOST_CID	  2u
#define VSOCK_TYPE_STREAM 1u

/* Operations (5.10.6). */
#define VSOCK_OP_REQUEST	1u
#define VSOCK_OP_RESPONSE	2u
#define VSOCK_OP_RST		3u
#define VSOCK_OP_SHUTDOWN	4u
#define VSOCK_OP_RW		5u
#define VSOCK_OP_CREDIT_UPDATE	6u
#define VSOCK_OP_CREDIT_REQUEST 7u

/* SHUTDOWN flags: the sender will receive no more (RCV), send no more (SEND). */
#define VSOCK_SHUTDOWN_RCV  1u
#define VSOCK_SHUTDOWN_SEND 2u

/* The packet header, little-endian (x86 only, like ember). */
struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));
#define VSOCK_HDR_BYTES 44u
_Static_assert(sizeof(struct vsock_hdr) == VSOCK_HDR_BYTES, "vsock_hdr layout");
_Static_assert(offsetof(struct vsock_hdr, len) == 24 && offsetof(struct vsock_hdr, op) == 30 &&
		   offsetof(struct vsock_hdr, fwd_cnt) == 40,
	       "vsock_hdr layout");

/* The most payload one packet carries, either way (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VSOCK_MAX_PAYLOAD (64u * 1024u)
/* Ports ember gives host-initiated connections: from 2^30 up, skipping those in use. */
#define VSOCK_HOST_PORT_FIRST (1u << 30)
/* The CONNECT line, newline included: "CONNECT 4294967295\n" is 19 bytes. */
#define VSOCK_LINE_MAX 32u
/* How long a closed connection may take to hand its buffered bytes to a slow host reader. */
#define VSOCK_DRAIN_NS (30ULL * 1000000000ULL)
/* RSTs for packets that belong to no connection, waiting for rx buffers (more are dropped). */
#define VSOCK_ORPHAN_MAX 32u
/* Connections accepted per listener callback at most (the rest wait for the next turn). */
#define VSOCK_ACCEPT_BATCH 16u

enum vsock_conn_state {
	CONN_FREE = 0,
	CONN_HOST_LINE,	       /* accepted on uds_path, waiting for "CONNECT <port>\n" */
	CONN_HOST_REQUEST,     /* REQUEST for the guest pending or sent, waiting for RESPONSE */
	CONN_GUEST_CONNECTING, /* the guest's REQUEST: connect to uds_path_PORT in progress */
	CONN_ESTABLISHED,      /* data both ways (each direction may be shut) */
	CONN_RESETTING,	       /* Unix side closed; an RST for the guest is all that is left */
	CONN_DRAINING,	       /* guest side gone; buffered bytes still go to the Unix socket */
};

/* Control packets a connection owes the guest: at most one of each (bounded by design). */
#define PEND_REQUEST  0x1u
#define PEND_RESPONSE 0x2u
#define PEND_SHUTDOWN 0x4u
#define PEND_CREDIT   0x8u
#define PEND_RST      0x10u

struct vsock_conn {
	struct ember_instance *dev;
	enum vsock_conn_state state;
	bool host_initiated;
	bool known; /* the guest has heard of it (its REQUEST, or ours sent): RST on failure */
	int fd;	    /* the Unix socket, or -1 */
	int watch;  /* its watch id, or -1 */
	uint32_t watch_events;	 /* what the watch waits for (0: no watch) */
	uint32_t local_port;	 /* ember's side (src_port of what we send) */
	uint32_t peer_port;	 /* the guest's side */
	uint32_t pending;	 /* PEND_* */
	uint32_t shutdown_flags; /* VSOCK_SHUTDOWN_* sent or to send (sticky) */
	uint64_t deadline_ns;	 /* 0: none; see vsock_conn_expire */

	/* Shutdown state. */
	bool guest_no_send; /* the guest sent SHUTDOWN SEND (or reset): no more data from it */
	bool guest_no_rcv;  /* the guest sent SHUTDOWN RCV: nothing more goes to it */
	bool host_eof;	    /* the Unix socket's reader got EOF */
	bool wr_shut;	    /* shutdown(SHUT_WR) done on the Unix socket */
	bool readable;	    /* the watch saw the socket readable; cleared on EAGAIN */

	/* Guest -> host: what we advertise (buf_alloc = conn_buffer_size). */
	uint32_t rx_cnt;   /* payload bytes taken from the guest */
	uint32_t fwd_cnt;  /* of those, bytes written to the Unix socket */
	uint32_t fwd_told; /* fwd_cnt in the last packet the guest got */
	uint8_t *buf;	   /* ring of conn_buffer_size bytes, allocated on first use */
	uint32_t buf_head;
	uint32_t buf_len;

	/* Host -> guest: the guest's credit (from every packet it sends). */
	uint32_t tx_cnt; /* payload bytes given to the guest */
	uint32_t peer_buf_alloc;
	uint32_t peer_fwd_cnt;

	/* The CONNECT line being read, then the "OK <port>\n" line being written. */
	char line[VSOCK_LINE_MAX];
	uint32_t line_len;
	uint32_t line_off; /* OK line: bytes already written */
};

struct vsock_orphan {
	uint32_t local_port; /* ember's side: the guest's dst_port */
	uint32_t peer_port;
};

/* Metrics, in desc.metrics order (vsock_main.c). */
struct vsock_stats {
	uint64_t host_connections;  /* host-initiated connections established */
	uint64_t guest_connections; /* guest-initiated connections established */
	uint64_t refused;	    /* connections refused or failed before being established */
	uint64_t resets_sent;
	uint64_t bytes_guest_to_host; /* written to Unix sockets */
	uint64_t bytes_host_to_guest; /* given to the guest */
	uint64_t credit_violations;
	uint64_t packets_dropped;
};

struct ember_instance {
	const struct ember_host *host;
	/* Options, fixed at create. */
	uint64_t guest_cid;
	const char *uds_path;
	uint32_t max_conns;
	uint32_t buf_size; /* conn_buffer_size: buf_alloc advertised per connection */
	uint64_t connect_timeout_ns;

	/* The listener. */
	int listen_fd;
	int listen_watch;
	bool created_path; /* uds_path is ours to unlink at destroy */

	/* The connection table: max_conns slots that never move, the lowest free one taken. */
	struct vsock_conn *conns;
	uint32_t used;	    /* slots [used, max_conns) are all free: what scans look at */
	uint32_t open;	    /* slots not CONN_FREE */
	uint32_t rr;	    /* round-robin cursor for the rx queue */
	uint32_t next_port; /* next host-side port to try */

	struct vsock_orphan orphans[VSOCK_ORPHAN_MAX];
	uint32_t orphan_head, orphan_count;

	bool listen_paused; /* out of fds: the listener waits for listen_retry_at */
	uint64_t listen_retry_at;

	bool active;	 /* DRIVER_OK since the last reset */
	bool rx_starved; /* the rx queue had no buffer: sockets are not read until its kick */

	int timer; /* the deadline timer, or -1 */
	uint64_t timer_at;

	uint64_t buffered; /* bytes held in connection buffers (a gauge) */
	struct vsock_stats stats;
};

/* vsock_main.c: (re)arms the deadline timer so that it fires by `at` (0: nothing to do). */
void vsock_timer_want(struct ember_instance *dev, uint64_t at);

/* vsock_conn.c */
struct vsock_conn *vsock_conn_alloc(struct ember_instance *dev);
struct vsock_conn *vsock_conn_find(struct ember_instance *dev, uint32_t local, uint32_t peer);
/* Closes the socket, frees the buffer and the slot (no packet for the guest). */
void vsock_conn_free(struct ember_instance *dev, struct vsock_conn *c);
/* Every connection freed, every pending packet forgotten (device reset, destroy). */
void vsock_conn_close_all(struct ember_instance *dev);
/* Ends the connection with an RST for the guest: the Unix socket closes now. */
void vsock_conn_reset(struct ember_instance *dev, struct vsock_conn *c);
/* Sets what the connection's watch waits for from its state (remove + add: no modify). */
void vsock_conn_update_watch(struct ember_instance *dev, struct vsock_conn *c);
/* Every connection's watch again (the rx queue ran dry or came back). */
void vsock_conn_update_watches(struct ember_instance *dev);
/* After progress on either direction: closes a connection both sides have finished. */
void vsock_conn_check_done(struct ember_instance *dev, struct vsock_conn *c);
/* Credit update owed when the guest's view of our free space got small and we have more. */
void vsock_conn_credit_check(struct ember_instance *dev, struct vsock_conn *c);
/* A packet that belongs to no connection gets an RST (bounded: more are dropped). */
void vsock_orphan_rst(struct ember_instance *dev, uint32_t local, uint32_t peer);
/* The tx queue: every packet the guest sent. */
void vsock_tx_serve(struct ember_instance *dev);
/* The rx queue: control packets first, then data, connections served round-robin. */
void vsock_rx_pump(struct ember_instance *dev);
/* The deadline timer fired: connections past their deadline time out. Returns the next
 * deadline of any connection (0: none). */
uint64_t vsock_conn_expire(struct ember_instance *dev, uint64_t now);

/* vsock_host.c */
/* Creates uds_path (replacing a stale socket) and listens on it. 0 or a negative errno. */
int vsock_listen_open(struct ember_instance *dev);
void vsock_listen_close(struct ember_instance *dev);
/* The deadline timer: a listener paused for lack of fds listens again. */
void vsock_listen_retry(struct ember_instance *dev, uint64_t now);
/* The guest's REQUEST to host port `port`: connects to uds_path_PORT for c. */
void vsock_host_connect(struct ember_instance *dev, struct vsock_conn *c);
/* The watch callback of every connection's socket. */
void vsock_host_event(void *arg, int fd, uint32_t revents);
/*
 * Guest payload for the Unix socket: writes what it can straight from the chain (readable part
 * from offset `off`, `len` bytes), buffers the rest. Returns 0, or -1 when the Unix side
 * failed (the caller resets the connection).
 */
int vsock_host_send(struct ember_instance *dev, struct vsock_conn *c,
		    const struct ember_vq_chain *chain, uint64_t off, uint32_t len);
/* Writes the OK line and buffered bytes out; 0, or -1 when the Unix side failed. */
int vsock_host_flush(struct ember_instance *dev, struct vsock_conn *c);
/*
 * Reads up to `max` bytes from the Unix socket into the chain's writable part at `off`. Returns
 * the count, 0 at EOF, -EAGAIN when nothing is there, or another negative errno.
 */
int64_t vsock_host_recv(struct ember_instance *dev, struct vsock_conn *c,
			const struct ember_vq_chain *chain, uint64_t off, uint32_t max);
/* The guest answered RESPONSE: "OK <port>\n" goes to the host program, the stream starts. */
void vsock_host_accepted(struct ember_instance *dev, struct vsock_conn *c);

#endif
