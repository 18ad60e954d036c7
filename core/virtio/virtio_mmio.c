/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio_mmio.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bits 24..41 are reserved for the transport and extensions; a device may not offer them. */
#define TRANSPORT_RESERVED_BITS (((1ULL << 42) - 1) & ~((1ULL << 24) - 1))

static void tlog(struct virtio_mmio *t, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void tlog(struct virtio_mmio *t, int level, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!t->env.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->env.log(t->env.opaque, level, msg);
}

/*
 * tlog for what a driver can make happen again and again (all the transport's messages): rate-
 * limited per call site (log.h), or a guest looping on a bad register write floods ember's
 * stderr from its vCPU thread, under the device lock.
 */
#define tlog_guest(t, level, ...)                                                               \
	do {                                                                                    \
		static struct log_ratelimit rl_ = LOG_RATELIMIT_DEFAULT;                        \
		unsigned long suppressed_;                                                      \
		if (log_ratelimit_allow(&rl_, &suppressed_)) {                                  \
			if (suppressed_)                                                        \
				tlog(t, level, "%lu similar messages suppressed", suppressed_); \
			tlog(t, level, __VA_ARGS__);                                            \
		}                                                                               \
	} while (0)

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_mmio_env *env,
		     const struct ember_plugin_desc *desc, const struct ember_device_ops *ops,
		     struct ember_instance *inst)
{
	uint64_t dev_features = ops->virtio_features ? ops->virtio_features(inst) : 0;

	*t = (struct virtio_mmio){
	    .env = *env,
	    .ops = ops,
	    .inst = inst,
	    .pop_budget = VIRTIO_MMIO_POP_BUDGET,
	    .device_id = desc->virtio_device_id,
	    .config_size = desc->virtio_config_size,
	    .queue_count = desc->virtio_queue_count,
	    .device_features =
		(dev_features & ~TRANSPORT_RESERVED_BITS) | EMBER_VIRTIO_TRANSPORT_FEATURES,
	};
	t->queues = calloc(t->queue_count, sizeof(*t->queues));
	if (!t->queues)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->queue_count; i++)
		virtq_init(&t->queues[i], (uint16_t)i, desc->virtio_queue_max_size);
	return 0;
}

void virtio_mmio_free(struct virtio_mmio *t)
{
	for (uint32_t i = 0; t->queues && i < t->queue_count; i++)
		virtq_free(&t->queues[i]);
	free(t->queues);
	t->queues = NULL;
}

static void raise_interrupt(struct virtio_mmio *t, uint32_t bit)
{
	atomic_fetch_or(&t->interrupt_status, bit);
	if (t->env.set_irq)
		t->env.set_irq(t->env.opaque, 1);
}

bool virtio_mmio_irq_pending(const struct virtio_mmio *t)
{
	return atomic_load(&t->interrupt_status) != 0;
}

void virtio_mmio_set_needs_reset(struct virtio_mmio *t, const char *why)
{
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	tlog_guest(t, EMBER_LOG_ERROR, "device needs reset: %s", why);
	/* virtio 1.x 2.1.2: with DRIVER_OK set, NEEDS_RESET comes with a config notification. */
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_reset(struct virtio_mmio *t)
{
	/* Queues first: chains the device still holds become stale, so its reset op may push them.
	 */
	for (uint32_t i = 0; i < t->queue_count; i++)
		virtq_reset(&t->queues[i]);
	t->driver_features = 0;
	t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
	t->status = 0;
	if (atomic_exchange(&t->interrupt_status, 0) && t->env.set_irq)
		t->env.set_irq(t->env.opaque, 0);
	if (t->ops->reset)
		t->ops->reset(t->inst);
}

static struct virtq *selected_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->queue_count ? &t->queues[t->queue_sel] : NULL;
}

static bool driver_ok(const struct virtio_mmio *t)
{
	return (t->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) ==
	       VIRTIO_STATUS_DRIVER_OK;
}

void virtio_mmio_queue_notify(struct virtio_mmio *t, uint32_t index)
{
	if (index >= t->queue_count) {
		tlog_guest(t, EMBER_LOG_DEBUG, "notify of queue %u, which does not exist", index);
		return;
	}
	/* virtio 1.x 3.1.1: a device consumes no buffers before DRIVER_OK. */
	if (!driver_ok(t) || !t->queues[index].ready || !t->ops->queue_notify)
		return;
	t->ops->queue_notify(t->inst, index);
}

static void activate(struct virtio_mmio *t)
{
	int rc = t->ops->activate ? t->ops->activate(t->inst, t->driver_features) : 0;
	char why[64];

	if (rc) {
		snprintf(why, sizeof(why), "activation failed (%s)", strerror(-rc));
		virtio_mmio_set_needs_reset(t, why);
		return;
	}
	/* Buffers made available before DRIVER_OK were not served: look at every queue once. */
	for (uint32_t i = 0; i < t->queue_count; i++)
		virtio_mmio_queue_notify(t, i);
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t next, added;

	if (v == 0) {
		virtio_mmio_reset(t);
		return;
	}
	/* NEEDS_RESET is the device's bit: keep ours, ignore the driver's. */
	next = (v & ~VIRTIO_STATUS_NEEDS_RESET) | (t->status & VIRTIO_STATUS_NEEDS_RESET);
	if (t->status & ~next) {
		tlog_guest(t, EMBER_LOG_WARN,
			   "driver cleared status bits 0x%x without a reset; ignored",
			   t->status & ~next);
		return;
	}
	added = next & ~t->status;
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		bool subset = !(t->driver_features & ~t->device_features);
		bool modern = t->driver_features & (1ULL << EMBER_VIRTIO_F_VERSION_1);

		/* The driver reads Status back and sees FEATURES_OK missing (virtio 1.x 3.1.1). */
		if (!subset || !modern) {
			tlog_guest(t, EMBER_LOG_WARN, "driver features 0x%llx refused (%s)",
				   (unsigned long long)t->driver_features,
				   subset ? "no VIRTIO_F_VERSION_1" : "not offered");
			next &= ~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(next & VIRTIO_STATUS_FEATURES_OK)) {
		tlog_guest(t, EMBER_LOG_WARN, "DRIVER_OK without FEATURES_OK; ignored");
		next &= ~VIRTIO_STATUS_DRIVER_OK;
	}
	t->status = next;
	if ((added & next & VIRTIO_STATUS_DRIVER_OK) && !(next & VIRTIO_STATUS_NEEDS_RESET))
		activate(t);
}

static void write_queue_ready(struct virtio_mmio *t, struct virtq *q, uint32_t v)
{
	char why[200];

	if (v == 0) {
		if (q->ready && driver_ok(t)) {
			/*
			 * virtio 1.x has no per-queue stop without VIRTIO_F_RING_RESET, and the
			 * driver may reuse the queue's buffers at once: the plugin must drop
			 * every request it still works on, which only its reset op promises.
			 * The device is then dead to the driver until it resets it.
			 */
			for (uint32_t i = 0; i < t->queue_count; i++)
				virtq_reset(&t->queues[i]);
			if (t->ops->reset)
				t->ops->reset(t->inst);
			virtio_mmio_set_needs_reset(t, "the driver disabled a queue while the "
						       "device was running");
			return;
		}
		virtq_reset(q);
		return;
	}
	if (q->ready || (t->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	if (!(t->status & VIRTIO_STATUS_FEATURES_OK)) {
		tlog_guest(t, EMBER_LOG_WARN, "queue %u made ready before FEATURES_OK; ignored",
			   q->index);
		return;
	}
	if (virtq_enable(q, t->env.mem, t->driver_features)) {
		snprintf(why, sizeof(why), "queue %u: %s", q->index,
			 virtq_error(q)[0] ? virtq_error(q) : "out of memory");
		virtio_mmio_set_needs_reset(t, why);
	}
}

static void set_half(uint64_t *reg, bool high, uint32_t v)
{
	if (high)
		*reg = (*reg & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*reg = (*reg & ~0xffffffffULL) | v;
}

static uint32_t read_register(struct virtio_mmio *t, uint64_t offset)
{
	struct virtq *q = selected_queue(t);

	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->device_features_sel < 2
			   ? (uint32_t)(t->device_features >> (32 * t->device_features_sel))
			   : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? q->max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return atomic_load(&t->interrupt_status);
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_LOW + 4:
	case VIRTIO_MMIO_SHM_LEN_LOW + 8:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffu; /* no shared memory regions (virtio 1.x 4.2.2) */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	default:
		return 0;
	}
}

static void write_register(struct virtio_mmio *t, uint64_t offset, uint32_t v)
{
	struct virtq *q = selected_queue(t);
	/* Queue addresses and size are fixed while the queue is ready (virtio 1.x 4.2.2.2). */
	struct virtq *setup = q && !q->ready ? q : NULL;

	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->driver_features_sel < 2 && !(t->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&t->driver_features, t->driver_features_sel == 1, v);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (setup)
			setup->size = v > 0xffff ? 0 : (uint16_t)v; /* 0: refused at enable */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (q)
			write_queue_ready(t, q, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		virtio_mmio_queue_notify(t, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		if (!(atomic_fetch_and(&t->interrupt_status, ~v) & ~v) && t->env.set_irq)
			t->env.set_irq(t->env.opaque, 0);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (setup)
			set_half(&setup->desc_gpa, offset == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if (setup)
			set_half(&setup->avail_gpa, offset == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if (setup)
			set_half(&setup->used_gpa, offset == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, v);
		break;
	default:
		break; /* read-only or unknown registers: writes are ignored */
	}
}

void virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, void *data, uint32_t len)
{
	uint32_t v;

	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG;

		if (off + len <= t->config_size && t->ops->config_read)
			t->ops->config_read(t->inst, (uint32_t)off, data, len);
		else
			memset(data, 0, len);
		return;
	}
	/* virtio 1.x 4.2.2.2: registers are read and written 32 bits at a time, aligned. */
	if (len != 4 || offset % 4) {
		memset(data, 0, len);
		return;
	}
	v = read_register(t, offset);
	memcpy(data, &v, sizeof(v));
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset, const void *data, uint32_t len)
{
	uint32_t v;

	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG;

		if (off + len <= t->config_size && t->ops->config_write)
			t->ops->config_write(t->inst, (uint32_t)off, data, len);
		return;
	}
	if (len != 4 || offset % 4)
		return;
	memcpy(&v, data, sizeof(v));
	write_register(t, offset, v);
}

int virtio_mmio_vq_pop(struct virtio_mmio *t, uint32_t queue, struct ember_vq_chain **out)
{
	int rc;

	*out = NULL;
	if (queue >= t->queue_count)
		return -EINVAL;
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return -EIO;
	if (!driver_ok(t))
		return 0;
	if (t->pop_budget == 0) {
		/* Say "empty" for now; the caller's entry notifies this queue again later. */
		t->budget_hit |= 1ULL << queue;
		return 0;
	}
	rc = virtq_pop(&t->queues[queue], out);
	if (rc == 1)
		t->pop_budget--;
	if (rc == -EIO)
		virtio_mmio_set_needs_reset(t, virtq_error(&t->queues[queue]));
	return rc;
}

/* The chain's queue from ember's record of the pop (chain->queue is the plugin's to read). */
static struct virtq *chain_queue(struct virtio_mmio *t, const struct ember_vq_chain *chain)
{
	struct virtq *q = virtq_chain_owner(chain);

	return q && q >= t->queues && q < t->queues + t->queue_count ? q : NULL;
}

void virtio_mmio_vq_push(struct virtio_mmio *t, struct ember_vq_chain *chain, uint32_t written)
{
	struct virtq *q = chain_queue(t, chain);

	if (q)
		virtq_push(q, chain, written);
}

int virtio_mmio_vq_unpop(struct virtio_mmio *t, struct ember_vq_chain *chain)
{
	struct virtq *q = chain_queue(t, chain);

	return q ? virtq_unpop(q, chain) : -EINVAL;
}

void virtio_mmio_vq_notify(struct virtio_mmio *t, uint32_t queue)
{
	if (queue < t->queue_count && virtq_need_interrupt(&t->queues[queue]))
		raise_interrupt(t, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_budget_reset(struct virtio_mmio *t)
{
	t->pop_budget = VIRTIO_MMIO_POP_BUDGET;
}

uint64_t virtio_mmio_budget_take_hits(struct virtio_mmio *t)
{
	uint64_t hits = t->budget_hit;

	t->budget_hit = 0;
	return hits;
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->config_generation++;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}

uint32_t virtio_mmio_chains_live(const struct virtio_mmio *t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->queue_count; i++)
		n += t->queues[i].chains_live;
	return n;
}
