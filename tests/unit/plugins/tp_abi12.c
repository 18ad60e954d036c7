/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test plugin for the ABI 1.2 host services (tests/unit/test_abi12.c): a virtio entropy-like
 * device whose runtime requests exercise vq_unpop, mem_discard, thread_start/join and replies,
 * with metrics and a syscall declaration. Variants (TP12_*) break one rule each for the loader.
 */
#include <ember/device.h>
#include <ember/virtio.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TP12_NAME
#define TP12_NAME "tp-abi12"
#endif

struct ember_instance {
	const struct ember_host *host;
	bool hold;	   /* unpop requests instead of serving them */
	uint64_t served;   /* metric */
	uint64_t unpopped; /* metric */
	atomic_int thread_ran;
	int timer, watch_fd, watch;
};

static void serve(struct ember_instance *d)
{
	const struct ember_host *h = d->host;
	struct ember_vq_chain *c;
	uint8_t fill[64];

	memset(fill, 0xab, sizeof(fill));
	while (h->vq_pop(h, 0, &c) == 1) {
		if (d->hold) {
			h->vq_unpop(h, c);
			d->unpopped++;
			break;
		}
		int64_t n = h->chain_write(h, c, 0, fill,
					   c->writable_bytes < sizeof(fill) ? c->writable_bytes
									    : sizeof(fill));
		h->vq_push(h, c, n > 0 ? (uint32_t)n : 0);
		d->served++;
	}
	h->vq_notify(h, 0);
}

static void queue_notify(struct ember_instance *d, uint32_t queue)
{
	(void)queue;
	serve(d);
}

static void never(void *arg)
{
	(void)arg;
}

static int create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *d = calloc(1, sizeof(*d));
	bool fail = false;

	if (!d)
		return -ENOMEM;
	d->host = host;
	host->opt_bool(host, "fail_create", &fail);
	if (fail) {
		/* Leaves a timer behind on purpose: ember must remove it. */
		d->timer = host->timer_start(host, 1000, never, d);
		host->log(host, EMBER_LOG_ERROR, "refusing to create, as asked");
		free(d);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

static void destroy(struct ember_instance *d)
{
	free(d);
}

static void *thread_main(void *arg)
{
	struct ember_instance *d = arg;

	atomic_store(&d->thread_ran, 1);
	return NULL;
}

/* Pops two chains and gives them back in the wrong order, then the right one. */
static int unpop_order(struct ember_instance *d, struct ember_control_call *call)
{
	const struct ember_host *h = d->host;
	struct ember_vq_chain *a, *b;

	if (h->vq_pop(h, 0, &a) != 1)
		return -EAGAIN;
	if (h->vq_pop(h, 0, &b) != 1) {
		h->vq_unpop(h, a);
		return -EAGAIN;
	}
	h->reply_int(h, call, "first_head", a->head);
	h->reply_int(h, call, "older_first", h->vq_unpop(h, a));
	h->reply_int(h, call, "newer", h->vq_unpop(h, b));
	h->reply_int(h, call, "older", h->vq_unpop(h, a));
	return 0;
}

__attribute__((unused)) static int control(struct ember_instance *d,
					   struct ember_control_call *call)
{
	const struct ember_host *h = d->host;

	if (!strcmp(call->name, "hold")) {
		d->hold = call->args[0].num != 0;
		if (!d->hold)
			serve(d);
		return h->reply_int(h, call, "served", (int64_t)d->served);
	}
	if (!strcmp(call->name, "unpop_order"))
		return unpop_order(d, call);
	if (!strcmp(call->name, "mislabel")) {
		struct ember_vq_chain *c;

		if (h->vq_pop(h, 0, &c) != 1)
			return -EAGAIN;
		/* A buggy plugin scribbles on the chain: ember must push by its own record. */
		c->queue = 7;
		h->vq_push(h, c, 0);
		h->vq_notify(h, 0);
		return 0;
	}
	if (!strcmp(call->name, "spam")) {
		/* What a guest can cause: one warning per bad request, as fast as it likes. */
		for (int64_t i = 0; i < call->args[0].num; i++)
			h->log(h, EMBER_LOG_WARN, "bad request %lld", (long long)i);
		return 0;
	}
	if (!strcmp(call->name, "discard")) {
		uint64_t freed = 0;
		int rc = h->mem_discard(h, (uint64_t)call->args[0].num, (uint64_t)call->args[1].num,
					&freed);

		if (rc) {
			snprintf(call->message, call->message_size, "mem_discard: %d", rc);
			return rc;
		}
		return h->reply_int(h, call, "freed", (int64_t)freed);
	}
	if (!strcmp(call->name, "thread")) {
		uint64_t t;
		int rc = h->thread_start(h, "tp-worker", thread_main, d, &t);

		if (!rc)
			rc = h->thread_join(h, t);
		if (rc)
			return rc;
		h->reply_string(h, call, "name", "tp-worker \"quoted\"");
		return h->reply_int(h, call, "ran", atomic_load(&d->thread_ran));
	}
	snprintf(call->message, call->message_size, "unexpected request %s", call->name);
	return -ENOTSUP;
}

static void metrics_read(struct ember_instance *d, uint64_t *values, uint32_t count)
{
	if (count >= 2) {
		values[0] = d->served;
		values[1] = d->unpopped;
	}
}

static uint64_t features(struct ember_instance *d)
{
	(void)d;
	return 0;
}

static const struct ember_option hold_params[] = {
    EMBER_OPTION_BOOL_DEF("on", 0, "unpop instead of serving"),
};
static const struct ember_option discard_params[] = {
    EMBER_OPTION_INT_REQ("gpa", 0, INT64_MAX, "guest-physical address"),
    EMBER_OPTION_SIZE_REQ("len", 0, INT64_MAX, "bytes"),
};
static const struct ember_option none_params[1] = {{0}};
static const struct ember_option spam_params[] = {
    EMBER_OPTION_INT_DEF("lines", 1, 0, 1000000, "warnings to log"),
};

static const struct ember_control controls[] = {
    EMBER_CONTROL_DEF("hold", hold_params, "hold requests back with vq_unpop"),
    EMBER_CONTROL_DEF("discard", discard_params, "mem_discard a range"),
    EMBER_CONTROL_DEF("spam", spam_params, "log many warnings"),
    {.struct_size = sizeof(struct ember_control),
     .name = "mislabel",
     .help = "bad chain field",
     .params = none_params,
     .param_count = 0,
     .param_size = sizeof(struct ember_option)},
    {.struct_size = sizeof(struct ember_control),
     .name = "unpop_order",
     .help = "unpop rules",
     .params = none_params,
     .param_count = 0,
     .param_size = sizeof(struct ember_option)},
    {.struct_size = sizeof(struct ember_control),
     .name = "thread",
     .help = "a thread",
     .params = none_params,
     .param_count = 0,
     .param_size = sizeof(struct ember_option)},
#ifdef TP12_DUP_CONTROL
    EMBER_CONTROL_DEF("hold", hold_params, "twice"),
#endif
};

static const struct ember_metric metrics[] = {
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "served", "requests", "requests served"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "unpopped", "requests", "requests given back"),
};

static const struct ember_syscall_rule syscalls[] = {
#ifdef TP12_BAD_SYSCALL
    EMBER_SYSCALL("no_such_syscall", EMBER_THREAD_EVENT_LOOP),
#else
    EMBER_SYSCALL("getrandom", EMBER_THREAD_EVENT_LOOP | EMBER_THREAD_VCPU),
#endif
    EMBER_SYSCALL_ARG_EQ("ioctl", EMBER_THREAD_OWN, 1, 0x5401),
};

#ifdef TP12_SAVE
static int fake_save(struct ember_instance *d, struct ember_state *st)
{
	(void)d;
	(void)st;
	return 0;
}
#endif

static const struct ember_device_ops ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = create,
    .destroy = destroy,
    .virtio_features = features,
    .queue_notify = queue_notify,
#ifndef TP12_NO_CONTROL_OP
    .control = control,
#endif
    .metrics_read = metrics_read,
#ifdef TP12_SAVE
    .save = fake_save,
#endif
};

static const struct ember_option options[] = {
    EMBER_OPTION_BOOL_DEF("fail_create", 0, "make create fail after starting a timer"),
};

static const struct ember_plugin_desc desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 2,
    .kind = EMBER_DEVICE_VIRTIO,
    .name = TP12_NAME,
    .vendor = "ember tests",
    .version = "1",
    .virtio_device_id = EMBER_VIRTIO_ID_RNG,
    .virtio_queue_count = 1,
    .virtio_queue_max_size = 1024,
    .options = options,
    .option_count = EMBER_ARRAY_SIZE(options),
    .option_size = sizeof(struct ember_option),
    .ops = &ops,
    .controls = controls,
    .control_count = EMBER_ARRAY_SIZE(controls),
    .control_size = sizeof(struct ember_control),
    .metrics = metrics,
    .metric_count = EMBER_ARRAY_SIZE(metrics),
    .metric_size = sizeof(struct ember_metric),
    .syscalls = syscalls,
    .syscall_count = EMBER_ARRAY_SIZE(syscalls),
    .syscall_size = sizeof(struct ember_syscall_rule),
#ifdef TP12_VIRTIO_ACPI
    .acpi_resources = EMBER_ACPI_RES_IRQ,
#endif
};

EMBER_PLUGIN_DEFINE(desc)
