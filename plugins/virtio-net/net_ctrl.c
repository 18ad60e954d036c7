/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control queue (5.1.6.5): only VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET means something here (the
 * device offers neither CTRL_RX nor CTRL_MAC_ADDR, so a driver sends nothing else); any other
 * command is answered VIRTIO_NET_ERR. And the rate limiters both directions share.
 */
#include <errno.h>
#include <string.h>

#include "net.h"

static void set_pairs(struct ember_instance *dev, uint32_t pairs)
{
	dev->active_pairs = pairs;
	net_backend_set_pairs(dev, pairs);
	for (uint32_t i = 0; i < dev->pairs; i++) {
		net_rx_update_watch(&dev->qp[i]);
		if (i < pairs) {
			net_rx_pump(&dev->qp[i]);
			net_tx_serve(&dev->qp[i]);
		}
	}
}

static uint8_t run_command(struct ember_instance *dev, const struct ember_vq_chain *c)
{
	const struct ember_host *host = dev->host;
	uint8_t cmd[2];
	uint16_t pairs;

	if (host->chain_read(host, c, 0, cmd, sizeof(cmd)) != (int64_t)sizeof(cmd))
		return VIRTIO_NET_ERR;
	if (cmd[0] != VIRTIO_NET_CTRL_MQ || cmd[1] != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
	    !(dev->features & NET_BIT(VIRTIO_NET_F_MQ)))
		return VIRTIO_NET_ERR;
	if (host->chain_read(host, c, sizeof(cmd), &pairs, sizeof(pairs)) != (int64_t)sizeof(pairs))
		return VIRTIO_NET_ERR;
	if (pairs < 1 || pairs > dev->pairs) {
		host->log(host, EMBER_LOG_WARN, "control: %u queue pairs asked, %u offered", pairs,
			  dev->pairs);
		return VIRTIO_NET_ERR;
	}
	set_pairs(dev, pairs);
	return VIRTIO_NET_OK;
}

void net_ctrl_serve(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;
	bool pushed = false;

	for (;;) {
		struct ember_vq_chain *c;
		uint8_t ack;

		if (host->vq_pop(host, dev->ctrl_queue, &c) <= 0)
			break;
		if (!c->writable_bytes) {
			host->vq_push(host, c, 0);
			host->set_needs_reset(host,
					      "a control command with no room for its status");
			return;
		}
		ack = run_command(dev, c);
		/* The status byte is the last descriptor (5.1.6.5): the end of the writable part.
		 */
		host->chain_write(host, c, c->writable_bytes - 1, &ack, 1);
		host->vq_push(host, c, (uint32_t)c->writable_bytes);
		pushed = true;
	}
	if (pushed)
		host->vq_notify(host, dev->ctrl_queue);
}

/* ---- Rate limits ------------------------------------------------------------------------- */

void net_limit_set(struct net_limit *l, uint64_t size, uint64_t refill_ms, uint64_t one_time,
		   uint64_t now)
{
	uint64_t rate = 0;

	l->size = size;
	l->refill_ms = refill_ms ? refill_ms : 1;
	l->one_time_burst = one_time;
	if (size) {
		/* Options bound size below 2^44, so size * 1000 fits. */
		rate = size * 1000u / l->refill_ms;
		if (!rate)
			rate = 1;
	}
	tb_init(&l->tb, rate, size, now);
	l->one_time = size ? one_time : 0;
}

static bool limited(const struct net_limit *l)
{
	return l->tb.rate != 0;
}

/* Tokens wanted from the bucket after the one-time burst paid what it can. */
static uint64_t from_bucket(const struct net_limit *l, uint64_t need)
{
	return need > l->one_time ? need - l->one_time : 0;
}

static bool limit_ready(struct net_limit *l, uint64_t need, uint64_t now, uint64_t *wait)
{
	uint64_t b;

	if (!limited(l))
		return true;
	tb_refill(&l->tb, now);
	b = from_bucket(l, need);
	if (!b || tb_ready(&l->tb, b))
		return true;
	*wait = tb_wait_ns(&l->tb, b);
	return false;
}

static void limit_take(struct net_limit *l, uint64_t n)
{
	uint64_t b;

	if (!limited(l))
		return;
	b = from_bucket(l, n);
	l->one_time -= n - b;
	tb_take(&l->tb, b);
}

bool net_limit_ready(struct net_dir_limits *d, uint64_t now, uint64_t *wait_ns)
{
	uint64_t w1 = 0, w2 = 0;
	/* Both refill, whatever the first says. */
	bool bw = limit_ready(&d->bw, 1, now, &w1), ops = limit_ready(&d->ops, 1, now, &w2);
	bool ok = bw && ops;

	*wait_ns = w1 > w2 ? w1 : w2;
	return ok;
}

bool net_limit_admit(struct net_dir_limits *d, uint64_t bytes, uint64_t now, uint64_t *wait_ns)
{
	uint64_t w1 = 0, w2 = 0;
	bool bw = limit_ready(&d->bw, bytes, now, &w1), ops = limit_ready(&d->ops, 1, now, &w2);
	bool ok = bw && ops;

	*wait_ns = w1 > w2 ? w1 : w2;
	if (ok)
		net_limit_take(d, bytes);
	return ok;
}

void net_limit_take(struct net_dir_limits *d, uint64_t bytes)
{
	limit_take(&d->bw, bytes);
	limit_take(&d->ops, 1);
}

static void limit_refund(struct net_limit *l, uint64_t n)
{
	if (!limited(l))
		return;
	/* Back into the bucket, never above its size (the one-time burst stays spent). */
	if (n > l->tb.burst)
		n = l->tb.burst;
	l->tb.tokens += (int64_t)n;
	if (l->tb.tokens > (int64_t)l->tb.burst)
		l->tb.tokens = (int64_t)l->tb.burst;
}

void net_limit_refund(struct net_dir_limits *d, uint64_t bytes)
{
	limit_refund(&d->bw, bytes);
	limit_refund(&d->ops, 1);
}

static void rx_tokens(void *arg)
{
	struct ember_instance *dev = arg;

	dev->rx_limit.timer = -1;
	for (uint32_t i = 0; i < dev->pairs; i++)
		net_rx_pump(&dev->qp[i]);
}

static void tx_tokens(void *arg)
{
	struct ember_instance *dev = arg;

	dev->tx_limit.timer = -1;
	for (uint32_t i = 0; i < dev->pairs; i++)
		net_tx_serve(&dev->qp[i]);
}

void net_limit_wait(struct ember_instance *dev, struct net_dir_limits *d, uint64_t wait_ns)
{
	const struct ember_host *host = dev->host;
	bool rx = d == &dev->rx_limit;
	int id;

	if (d->timer >= 0)
		return;
	/* At least a microsecond: a zero wait from rounding would spin the loop. */
	if (wait_ns < 1000)
		wait_ns = 1000;
	id = host->timer_start(host, wait_ns, rx ? rx_tokens : tx_tokens, dev);
	if (id < 0) {
		host->log(host, EMBER_LOG_ERROR, "cannot start the rate-limit timer: %s",
			  strerror(-id));
		return;
	}
	d->timer = id;
}

void net_limit_cancel(struct ember_instance *dev, struct net_dir_limits *d)
{
	if (d->timer >= 0)
		dev->host->timer_cancel(dev->host, d->timer);
	d->timer = -1;
}
