/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The connection table and the vsock state machine (virtio 1.x 5.10.6): what the guest sends
 * on the tx queue, what the device owes it on the rx queue, and the credit on both sides.
 *
 * A connection is keyed by (local_port, peer_port): ember's port and the guest's. The table is
 * a fixed array of max_connections slots, so a connection's address never changes and is the
 * arg of its watch. Packets for the guest are never queued: a connection keeps at most one of
 * each control packet as a PEND_* bit, and its data stays in the Unix socket until an rx buffer
 * and credit are there. Only RSTs for packets of no connection sit in a small ring of their
 * own (VSOCK_ORPHAN_MAX; beyond it they are dropped, the guest's connect times out).
 *
 * Bad guest input (a short or oversized packet, wrong CIDs, an unknown type or op, a reply for
 * no connection, more data than its credit) is answered with RST where the spec has a
 * connection to reset, or dropped, with a log line (ember's log is rate-limited per instance):
 * never a crash, never NEEDS_RESET, since a guest's bad socket is not a broken device.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsock.h"

static uint64_t now_ns(const struct ember_instance *dev)
{
	return dev->host->clock_ns(dev->host);
}

/* Slots whose ports identify a connection (a host connection before its CONNECT line has
 * none; a draining one has left the guest's port space). */
static bool keyed(const struct vsock_conn *c)
{
	return c->state != CONN_FREE && c->state != CONN_HOST_LINE && c->state != CONN_DRAINING;
}

struct vsock_conn *vsock_conn_alloc(struct ember_instance *dev)
{
	if (dev->open >= dev->max_conns)
		return NULL;
	for (uint32_t i = 0; i < dev->max_conns; i++) {
		struct vsock_conn *c = &dev->conns[i];

		if (c->state != CONN_FREE)
			continue;
		memset(c, 0, sizeof(*c));
		c->dev = dev;
		c->fd = -1;
		c->watch = -1;
		dev->open++;
		if (i >= dev->used)
			dev->used = i + 1;
		return c;
	}
	return NULL;
}

struct vsock_conn *vsock_conn_find(struct ember_instance *dev, uint32_t local, uint32_t peer)
{
	for (uint32_t i = 0; i < dev->used; i++) {
		struct vsock_conn *c = &dev->conns[i];

		if (keyed(c) && c->local_port == local && c->peer_port == peer)
			return c;
	}
	return NULL;
}

static void drop_socket(struct ember_instance *dev, struct vsock_conn *c)
{
	if (c->watch >= 0)
		dev->host->watch_remove(dev->host, c->watch);
	c->watch = -1;
	c->watch_events = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	dev->buffered -= c->buf_len;
	free(c->buf);
	c->buf = NULL;
	c->buf_len = c->buf_head = 0;
}

void vsock_conn_free(struct ember_instance *dev, struct vsock_conn *c)
{
	if (c->state == CONN_FREE)
		return;
	drop_socket(dev, c);
	c->state = CONN_FREE;
	dev->open--;
	while (dev->used && dev->conns[dev->used - 1].state == CONN_FREE)
		dev->used--;
}

void vsock_conn_close_all(struct ember_instance *dev)
{
	for (uint32_t i = dev->used; i-- > 0;)
		vsock_conn_free(dev, &dev->conns[i]);
	dev->orphan_head = dev->orphan_count = 0;
	dev->rr = 0;
}

void vsock_conn_reset(struct ember_instance *dev, struct vsock_conn *c)
{
	if (c->state == CONN_FREE || c->state == CONN_RESETTING)
		return;
	if (!c->known) {
		/* The guest never heard of it: nothing to reset on its side. */
		vsock_conn_free(dev, c);
		return;
	}
	drop_socket(dev, c);
	c->state = CONN_RESETTING;
	c->pending = PEND_RST;
	c->deadline_ns = 0;
}

static uint32_t credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool ok_pending(const struct vsock_conn *c)
{
	return c->state == CONN_ESTABLISHED && c->line_off < c->line_len;
}

/* May the device read this connection's socket for the guest now? */
static bool can_read(const struct ember_instance *dev, const struct vsock_conn *c)
{
	return c->state == CONN_ESTABLISHED && !c->host_eof && !c->guest_no_rcv && dev->active &&
	       !dev->rx_starved && !(c->pending & (PEND_REQUEST | PEND_RESPONSE)) && credit(c) > 0;
}

void vsock_conn_update_watch(struct ember_instance *dev, struct vsock_conn *c)
{
	const struct ember_host *host = dev->host;
	uint32_t want = 0;
	int id;

	if (c->fd >= 0) {
		switch (c->state) {
		case CONN_HOST_LINE:
			want = EMBER_WATCH_IN;
			break;
		case CONN_GUEST_CONNECTING:
		case CONN_DRAINING:
			want = EMBER_WATCH_OUT;
			break;
		case CONN_ESTABLISHED:
			if (can_read(dev, c))
				want |= EMBER_WATCH_IN;
			if (c->buf_len || ok_pending(c))
				want |= EMBER_WATCH_OUT;
			break;
		default:
			break;
		}
	}
	if (want == c->watch_events)
		return;
	if (c->watch >= 0)
		host->watch_remove(host, c->watch);
	c->watch = -1;
	c->watch_events = 0;
	if (!want)
		return;
	id = host->watch_add(host, c->fd, want, vsock_host_event, c);
	if (id < 0) {
		host->log(host, EMBER_LOG_ERROR, "port %u: cannot watch its socket: %s",
			  c->local_port, strerror(-id));
		vsock_conn_reset(dev, c);
		return;
	}
	c->watch = id;
	c->watch_events = want;
}

void vsock_conn_update_watches(struct ember_instance *dev)
{
	for (uint32_t i = 0; i < dev->used; i++)
		if (dev->conns[i].state == CONN_ESTABLISHED)
			vsock_conn_update_watch(dev, &dev->conns[i]);
}

void vsock_conn_credit_check(struct ember_instance *dev, struct vsock_conn *c)
{
	uint32_t view_free;

	if (c->state != CONN_ESTABLISHED || c->guest_no_send || c->fwd_cnt == c->fwd_told)
		return;
	/* What the guest believes it may still send: what we told it, not what we have. */
	view_free = dev->buf_size - (c->rx_cnt - c->fwd_told);
	if (view_free < dev->buf_size / 2)
		c->pending |= PEND_CREDIT;
}

void vsock_conn_check_done(struct ember_instance *dev, struct vsock_conn *c)
{
	bool to_host_done, to_guest_done;

	if (c->state != CONN_ESTABLISHED)
		return;
	/* The guest sends no more and all it sent is out: the host program reads EOF. */
	if (c->guest_no_send && !c->buf_len && !ok_pending(c) && !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
	to_host_done = c->guest_no_send && !c->buf_len && !ok_pending(c);
	to_guest_done = c->guest_no_rcv || c->host_eof;
	/* Both directions shut: the close sequence ends with our RST (5.10.6.6). */
	if (to_host_done && to_guest_done)
		vsock_conn_reset(dev, c);
}

void vsock_orphan_rst(struct ember_instance *dev, uint32_t local, uint32_t peer)
{
	for (uint32_t i = 0; i < dev->orphan_count; i++) {
		const struct vsock_orphan *o =
		    &dev->orphans[(dev->orphan_head + i) % VSOCK_ORPHAN_MAX];

		if (o->local_port == local && o->peer_port == peer)
			return; /* one RST says it */
	}
	if (dev->orphan_count == VSOCK_ORPHAN_MAX) {
		dev->stats.packets_dropped++;
		return;
	}
	dev->orphans[(dev->orphan_head + dev->orphan_count) % VSOCK_ORPHAN_MAX] =
	    (struct vsock_orphan){.local_port = local, .peer_port = peer};
	dev->orphan_count++;
}

/* ---- Packets from the guest (tx queue) ---------------------------------------------------- */

static void drop(struct ember_instance *dev, const struct ember_vq_chain *chain, const char *why)
{
	dev->stats.packets_dropped++;
	dev->host->log(dev->host, EMBER_LOG_WARN, "tx descriptor %u (%llu bytes): %s: dropped",
		       chain->head, (unsigned long long)chain->readable_bytes, why);
}

static void protocol_error(struct ember_instance *dev, struct vsock_conn *c, const char *why)
{
	dev->stats.packets_dropped++;
	dev->host->log(dev->host, EMBER_LOG_WARN, "guest port %u -> port %u: %s: connection reset",
		       c->peer_port, c->local_port, why);
	vsock_conn_reset(dev, c);
}

/* The guest's REQUEST: a connection to the host program listening on uds_path_PORT. */
static void guest_request(struct ember_instance *dev, const struct vsock_hdr *h)
{
	struct vsock_conn *c = vsock_conn_find(dev, h->dst_port, h->src_port);

	if (c) {
		if (c->state != CONN_RESETTING)
			protocol_error(dev, c, "REQUEST for a connection that exists");
		return;
	}
	c = vsock_conn_alloc(dev);
	if (!c) {
		dev->stats.refused++;
		dev->host->log(dev->host, EMBER_LOG_WARN,
			       "guest port %u -> port %u: max_connections (%u) reached: RST",
			       h->src_port, h->dst_port, dev->max_conns);
		vsock_orphan_rst(dev, h->dst_port, h->src_port);
		return;
	}
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->known = true;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->state = CONN_GUEST_CONNECTING;
	vsock_host_connect(dev, c);
}

static void guest_rst(struct ember_instance *dev, struct vsock_conn *c)
{
	if (c->state == CONN_HOST_REQUEST) {
		/* Nobody listens on that guest port: the host program sees its socket close. */
		dev->stats.refused++;
		vsock_conn_free(dev, c);
		return;
	}
	if (c->state == CONN_ESTABLISHED && (c->buf_len || ok_pending(c))) {
		/* What the guest sent before its RST still goes to the host program. */
		c->state = CONN_DRAINING;
		c->pending = 0;
		c->deadline_ns = now_ns(dev) + VSOCK_DRAIN_NS;
		vsock_timer_want(dev, c->deadline_ns);
		vsock_conn_update_watch(dev, c);
		return;
	}
	vsock_conn_free(dev, c);
}

static void guest_shutdown(struct ember_instance *dev, struct vsock_conn *c, uint32_t flags)
{
	if (c->state != CONN_ESTABLISHED) {
		protocol_error(dev, c, "SHUTDOWN before the connection was established");
		return;
	}
	if (flags & VSOCK_SHUTDOWN_SEND)
		c->guest_no_send = true;
	if ((flags & VSOCK_SHUTDOWN_RCV) && !c->guest_no_rcv) {
		/* Nothing more goes to the guest: the host program's writes fail (EPIPE). */
		c->guest_no_rcv = true;
		shutdown(c->fd, SHUT_RD);
	}
	vsock_conn_check_done(dev, c);
}

static void guest_data(struct ember_instance *dev, struct vsock_conn *c,
		       const struct ember_vq_chain *chain, uint32_t len)
{
	uint64_t owed = (uint32_t)(c->rx_cnt - c->fwd_told);

	if (c->state != CONN_ESTABLISHED || c->guest_no_send) {
		protocol_error(dev, c,
			       c->guest_no_send ? "RW after SHUTDOWN SEND"
						: "RW before the connection was established");
		return;
	}
	if (owed + len > dev->buf_size) {
		dev->stats.credit_violations++;
		dev->host->log(dev->host, EMBER_LOG_WARN,
			       "guest port %u -> port %u: %u bytes beyond its credit (%u of %u "
			       "outstanding): connection reset",
			       c->peer_port, c->local_port, (uint32_t)(owed + len - dev->buf_size),
			       (uint32_t)owed, dev->buf_size);
		vsock_conn_reset(dev, c);
		return;
	}
	if (!len)
		return;
	c->rx_cnt += len;
	if (vsock_host_send(dev, c, chain, VSOCK_HDR_BYTES, len)) {
		vsock_conn_reset(dev, c);
		return;
	}
	vsock_conn_credit_check(dev, c);
}

static void tx_packet(struct ember_instance *dev, const struct ember_vq_chain *chain)
{
	const struct ember_host *host = dev->host;
	struct vsock_hdr h;
	struct vsock_conn *c;

	if (chain->readable_bytes < VSOCK_HDR_BYTES ||
	    host->chain_read(host, chain, 0, &h, VSOCK_HDR_BYTES) != VSOCK_HDR_BYTES) {
		drop(dev, chain, "shorter than a packet header");
		return;
	}
	if (h.src_cid != dev->guest_cid || h.dst_cid != VSOCK_HOST_CID) {
		dev->stats.packets_dropped++;
		host->log(host, EMBER_LOG_WARN,
			  "packet from cid %llu to cid %llu (guest_cid %llu, host 2): dropped",
			  (unsigned long long)h.src_cid, (unsigned long long)h.dst_cid,
			  (unsigned long long)dev->guest_cid);
		return;
	}
	if (h.len > VSOCK_MAX_PAYLOAD || h.len > chain->readable_bytes - VSOCK_HDR_BYTES) {
		dev->stats.packets_dropped++;
		host->log(host, EMBER_LOG_WARN,
			  "packet with len %u: more than its %llu payload bytes or %u: dropped",
			  h.len, (unsigned long long)(chain->readable_bytes - VSOCK_HDR_BYTES),
			  VSOCK_MAX_PAYLOAD);
		return;
	}
	if (h.type != VSOCK_TYPE_STREAM) {
		dev->stats.packets_dropped++;
		host->log(host, EMBER_LOG_WARN, "packet of socket type %u (only 1, stream): %s",
			  h.type, h.op == VSOCK_OP_RST ? "dropped" : "RST");
		if (h.op != VSOCK_OP_RST)
			vsock_orphan_rst(dev, h.dst_port, h.src_port);
		return;
	}
	if (h.op == VSOCK_OP_REQUEST) {
		guest_request(dev, &h);
		return;
	}
	c = vsock_conn_find(dev, h.dst_port, h.src_port);
	if (!c) {
		/* An RST for nothing needs no answer (5.10.6.6); anything else gets one. */
		if (h.op != VSOCK_OP_RST) {
			dev->stats.packets_dropped++;
			/*
			 * Credit and shutdown packets for a connection ember just reset are the
			 * guest's normal race with that RST: not worth a line by default.
			 */
			host->log(host,
				  h.op == VSOCK_OP_CREDIT_UPDATE ||
					  h.op == VSOCK_OP_CREDIT_REQUEST ||
					  h.op == VSOCK_OP_SHUTDOWN
				      ? EMBER_LOG_DEBUG
				      : EMBER_LOG_INFO,
				  "op %u from guest port %u for port %u: no such connection: RST",
				  h.op, h.src_port, h.dst_port);
			vsock_orphan_rst(dev, h.dst_port, h.src_port);
		}
		return;
	}
	if (c->state == CONN_RESETTING) {
		/* Our RST is on its way; the guest's crosses it. */
		if (h.op == VSOCK_OP_RST)
			vsock_conn_free(dev, c);
		return;
	}
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	switch (h.op) {
	case VSOCK_OP_RESPONSE:
		if (c->state == CONN_HOST_REQUEST && c->known)
			vsock_host_accepted(dev, c);
		else
			protocol_error(dev, c, "RESPONSE out of turn");
		break;
	case VSOCK_OP_RST:
		guest_rst(dev, c);
		return;
	case VSOCK_OP_SHUTDOWN:
		guest_shutdown(dev, c, h.flags);
		break;
	case VSOCK_OP_RW:
		guest_data(dev, c, chain, h.len);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break; /* the credit fields above were the point */
	case VSOCK_OP_CREDIT_REQUEST:
		if (c->state == CONN_ESTABLISHED)
			c->pending |= PEND_CREDIT;
		break;
	default:
		protocol_error(dev, c, "unknown op");
		break;
	}
	vsock_conn_update_watch(dev, c);
}

void vsock_tx_serve(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;
	struct ember_vq_chain *chain;
	bool pushed = false;

	/* ember's pop budget bounds this loop; it notifies the queue again when it cut it short. */
	while (host->vq_pop(host, VSOCK_TX_QUEUE, &chain) > 0) {
		tx_packet(dev, chain);
		host->vq_push(host, chain, 0);
		pushed = true;
	}
	if (pushed)
		host->vq_notify(host, VSOCK_TX_QUEUE);
	vsock_rx_pump(dev);
}

/* ---- Packets for the guest (rx queue) ----------------------------------------------------- */

static void header_for(const struct ember_instance *dev, const struct vsock_conn *c,
		       struct vsock_hdr *h, uint16_t op)
{
	*h = (struct vsock_hdr){
	    .src_cid = VSOCK_HOST_CID,
	    .dst_cid = dev->guest_cid,
	    .src_port = c->local_port,
	    .dst_port = c->peer_port,
	    .type = VSOCK_TYPE_STREAM,
	    .op = op,
	    .buf_alloc = dev->buf_size,
	    .fwd_cnt = c->fwd_cnt,
	};
}

/* A control packet the connection owes, most urgent first; 0 when none. */
static uint16_t next_control(struct vsock_conn *c, uint32_t *bit)
{
	static const struct {
		uint32_t bit;
		uint16_t op;
	} order[] = {
	    {PEND_RST, VSOCK_OP_RST},
	    {PEND_REQUEST, VSOCK_OP_REQUEST},
	    {PEND_RESPONSE, VSOCK_OP_RESPONSE},
	    {PEND_SHUTDOWN, VSOCK_OP_SHUTDOWN},
	    {PEND_CREDIT, VSOCK_OP_CREDIT_UPDATE},
	};

	for (size_t i = 0; i < EMBER_ARRAY_SIZE(order); i++) {
		if (c->pending & order[i].bit) {
			*bit = order[i].bit;
			return order[i].op;
		}
	}
	return 0;
}

/*
 * Fills an rx chain (device-writable, at least a header) for c. Returns the bytes written, 0
 * when c had nothing after all (the caller gives the chain back), -1 when the chain could not
 * be written.
 */
static int64_t fill_conn(struct ember_instance *dev, struct vsock_conn *c,
			 const struct ember_vq_chain *chain)
{
	const struct ember_host *host = dev->host;
	struct vsock_hdr h;
	uint32_t bit = 0, max;
	uint16_t op;
	int64_t n;

	if (c->state == CONN_FREE)
		return 0;
	op = next_control(c, &bit);
	if (op) {
		header_for(dev, c, &h, op);
		if (op == VSOCK_OP_SHUTDOWN)
			h.flags = c->shutdown_flags;
		if (host->chain_write(host, chain, 0, &h, VSOCK_HDR_BYTES) != VSOCK_HDR_BYTES)
			return -1;
		c->pending &= ~bit;
		c->fwd_told = c->fwd_cnt;
		c->pending &= ~PEND_CREDIT; /* every header carries fwd_cnt */
		if (op == VSOCK_OP_RST) {
			dev->stats.resets_sent++;
			vsock_conn_free(dev, c);
		} else if (op == VSOCK_OP_REQUEST) {
			c->known = true;
		} else {
			vsock_conn_update_watch(dev, c); /* RESPONSE: reading may start */
		}
		return VSOCK_HDR_BYTES;
	}
	max = credit(c);
	if (max > VSOCK_MAX_PAYLOAD)
		max = VSOCK_MAX_PAYLOAD;
	if (max > chain->writable_bytes - VSOCK_HDR_BYTES)
		max = (uint32_t)(chain->writable_bytes - VSOCK_HDR_BYTES);
	if (!max)
		return -1; /* a buffer with room for a header only cannot carry data */
	n = vsock_host_recv(dev, c, chain, VSOCK_HDR_BYTES, max);
	if (n == -EAGAIN) {
		c->readable = false;
		return 0;
	}
	if (n < 0) {
		host->log(host, EMBER_LOG_INFO, "port %u: reading its socket failed: %s: RST",
			  c->local_port, strerror((int)-n));
		vsock_conn_reset(dev, c);
		return 0; /* the RST goes in the next buffer */
	}
	if (n == 0) {
		/* The host program shut its side: the guest reads EOF (or, both shut, RST). */
		c->host_eof = true;
		c->readable = false;
		vsock_conn_check_done(dev, c);
		if (c->state == CONN_ESTABLISHED) {
			c->shutdown_flags |= VSOCK_SHUTDOWN_SEND;
			c->pending |= PEND_SHUTDOWN;
			vsock_conn_update_watch(dev, c);
		}
		return fill_conn(dev, c, chain);
	}
	header_for(dev, c, &h, VSOCK_OP_RW);
	h.len = (uint32_t)n;
	if (host->chain_write(host, chain, 0, &h, VSOCK_HDR_BYTES) != VSOCK_HDR_BYTES)
		return -1;
	c->tx_cnt += (uint32_t)n;
	c->fwd_told = c->fwd_cnt;
	c->pending &= ~PEND_CREDIT;
	dev->stats.bytes_host_to_guest += (uint64_t)n;
	if (!credit(c))
		vsock_conn_update_watch(dev, c); /* until the guest's next fwd_cnt */
	return VSOCK_HDR_BYTES + n;
}

static int64_t fill_orphan(struct ember_instance *dev, const struct ember_vq_chain *chain)
{
	const struct vsock_orphan *o = &dev->orphans[dev->orphan_head];
	struct vsock_hdr h = {
	    .src_cid = VSOCK_HOST_CID,
	    .dst_cid = dev->guest_cid,
	    .src_port = o->local_port,
	    .dst_port = o->peer_port,
	    .type = VSOCK_TYPE_STREAM,
	    .op = VSOCK_OP_RST,
	    .buf_alloc = dev->buf_size,
	};

	dev->orphan_head = (dev->orphan_head + 1) % VSOCK_ORPHAN_MAX;
	dev->orphan_count--;
	if (dev->host->chain_write(dev->host, chain, 0, &h, VSOCK_HDR_BYTES) != VSOCK_HDR_BYTES)
		return -1;
	dev->stats.resets_sent++;
	return VSOCK_HDR_BYTES;
}

/*
 * The next connection with something for the guest, round-robin from dev->rr: control packets
 * before data (they are few and unblock the peer), data only where the socket was seen readable
 * and the guest has credit. *data says which.
 */
static struct vsock_conn *next_work(struct ember_instance *dev, bool *data)
{
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t k = 0; k < dev->used; k++) {
			struct vsock_conn *c = &dev->conns[(dev->rr + k) % dev->used];

			if (c->state == CONN_FREE)
				continue;
			if (pass == 0 ? c->pending != 0 : c->readable && can_read(dev, c)) {
				*data = pass == 1;
				return c;
			}
		}
	}
	return NULL;
}

void vsock_rx_pump(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;
	bool pushed = false;

	if (!dev->active)
		return;
	for (;;) {
		struct ember_vq_chain *chain;
		struct vsock_conn *c = NULL;
		bool data = false;
		int64_t n;
		int rc;

		if (!dev->orphan_count && !(c = next_work(dev, &data)))
			break;
		rc = host->vq_pop(host, VSOCK_RX_QUEUE, &chain);
		if (rc <= 0) {
			/*
			 * No buffer (or this call's pop budget is spent, and ember notifies the
			 * queue again): stop reading sockets until the queue's next kick.
			 */
			if (rc == 0 && !dev->rx_starved) {
				dev->rx_starved = true;
				vsock_conn_update_watches(dev);
			}
			break;
		}
		if (dev->rx_starved) {
			dev->rx_starved = false;
			vsock_conn_update_watches(dev);
		}
		if (chain->readable_count || chain->writable_bytes < VSOCK_HDR_BYTES) {
			dev->stats.packets_dropped++;
			host->log(host, EMBER_LOG_WARN,
				  "rx descriptor %u: not a device-writable buffer of at least %u "
				  "bytes: returned unused",
				  chain->head, VSOCK_HDR_BYTES);
			host->vq_push(host, chain, 0);
			pushed = true;
			continue;
		}
		if (c)
			dev->rr = (uint32_t)(c - dev->conns + 1);
		n = c ? fill_conn(dev, c, chain) : fill_orphan(dev, chain);
		if (n < 0) {
			/* Unusable for this packet: the guest gets it back empty. */
			dev->stats.packets_dropped++;
			host->vq_push(host, chain, 0);
			pushed = true;
			if (c && data)
				c->readable = false; /* so the loop moves on */
			continue;
		}
		if (n == 0) {
			if (host->vq_unpop(host, chain)) {
				host->vq_push(host, chain, 0);
				pushed = true;
			}
			continue;
		}
		host->vq_push(host, chain, (uint32_t)n);
		pushed = true;
	}
	if (pushed)
		host->vq_notify(host, VSOCK_RX_QUEUE);
}

uint64_t vsock_conn_expire(struct ember_instance *dev, uint64_t now)
{
	const struct ember_host *host = dev->host;
	uint64_t next = 0;

	for (uint32_t i = 0; i < dev->used; i++) {
		struct vsock_conn *c = &dev->conns[i];

		if (c->state == CONN_FREE || !c->deadline_ns)
			continue;
		if (c->deadline_ns > now) {
			if (!next || c->deadline_ns < next)
				next = c->deadline_ns;
			continue;
		}
		c->deadline_ns = 0;
		switch (c->state) {
		case CONN_HOST_LINE:
			dev->stats.refused++;
			host->log(host, EMBER_LOG_INFO,
				  "host connection: no CONNECT line in time: closed");
			vsock_conn_free(dev, c);
			break;
		case CONN_HOST_REQUEST:
		case CONN_GUEST_CONNECTING:
			dev->stats.refused++;
			host->log(host, EMBER_LOG_INFO, "port %u -> guest port %u: %s in time: %s",
				  c->local_port, c->peer_port,
				  c->state == CONN_HOST_REQUEST ? "the guest did not answer"
								: "the host program did not accept",
				  c->known ? "RST" : "closed");
			vsock_conn_reset(dev, c);
			break;
		case CONN_DRAINING:
			host->log(
			    host, EMBER_LOG_INFO,
			    "port %u: the host program did not take %u buffered bytes in time: "
			    "closed",
			    c->local_port, c->buf_len);
			vsock_conn_free(dev, c);
			break;
		default:
			break;
		}
	}
	vsock_rx_pump(dev);
	return next;
}
