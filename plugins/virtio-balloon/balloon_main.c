/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-balloon: options, runtime controls (the names the control plane maps Firecracker's
 * /balloon endpoints onto), metrics, the life cycle, config space, feature and queue numbering,
 * and the one discard path every source of free memory goes through (see balloon.h).
 *
 * Life cycle: create reads the options (amount_mib is the first target); activate numbers the
 * queues from the negotiated features and starts the statistics timer; a reset gives the held
 * statistics buffer back and empties the balloon (a new driver starts from nothing; the target
 * stays); destroy frees everything.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balloon.h"

#define PAGES_PER_MIB (1u << (20 - BALLOON_PAGE_SHIFT))

void balloon_warn(struct ember_instance *dev, const char *fmt, ...)
{
	uint64_t now = dev->host->clock_ns(dev->host);
	char line[256];
	va_list ap;

	if (dev->last_warn_ns && now - dev->last_warn_ns < BALLOON_WARN_NS)
		return;
	dev->last_warn_ns = now ? now : 1;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	dev->host->log(dev->host, EMBER_LOG_WARN, "%s (more such lines within 10 s are dropped)",
		       line);
}

uint64_t balloon_discard(struct ember_instance *dev, uint64_t gpa, uint64_t len)
{
	const struct ember_host *host = dev->host;
	uint64_t freed = 0;
	bool cuts;
	int rc;

	if (dev->grain == GRAIN_HUGE) {
		uint64_t lo = (gpa + BALLOON_HUGE - 1) & ~(uint64_t)(BALLOON_HUGE - 1);
		uint64_t hi = (gpa + len) & ~(uint64_t)(BALLOON_HUGE - 1);

		if (lo >= hi)
			return 0;
		gpa = lo;
		len = hi - lo;
	}
	cuts = gpa % BALLOON_HUGE || len % BALLOON_HUGE;
	rc = host->mem_discard(host, gpa, len, &freed);
	if (rc) {
		if (rc == -EFAULT) {
			dev->stats.refused++;
		} else {
			dev->stats.discard_errors++;
			balloon_warn(dev, "discarding %llu bytes at 0x%llx failed: %s",
				     (unsigned long long)len, (unsigned long long)gpa,
				     strerror(-rc));
		}
		return 0;
	}
	if (dev->grain == GRAIN_UNKNOWN && cuts)
		dev->grain = freed == len ? GRAIN_4K : GRAIN_HUGE;
	dev->stats.freed_bytes += freed;
	return freed;
}

static int read_options(struct ember_instance *dev)
{
	const struct ember_host *host = dev->host;
	int64_t mib, interval;

	if (host->opt_int(host, "amount_mib", &mib) ||
	    host->opt_bool(host, "deflate_on_oom", &dev->deflate_on_oom) ||
	    host->opt_int(host, "stats_polling_interval_s", &interval) ||
	    host->opt_bool(host, "free_page_reporting", &dev->reporting) ||
	    host->opt_bool(host, "free_page_hinting", &dev->hinting))
		return -EINVAL;
	dev->num_pages = (uint32_t)mib * PAGES_PER_MIB;
	dev->stats_interval_s = (uint32_t)interval;
	return 0;
}

static uint32_t queue_count(const struct ember_instance *dev)
{
	return 2u + (dev->stats_interval_s ? 1u : 0u) + (dev->hinting ? 1u : 0u) +
	       (dev->reporting ? 1u : 0u);
}

static void driver_state_reset(struct ember_instance *dev)
{
	dev->active = false;
	dev->features = 0;
	dev->stats_queue = dev->hint_queue = dev->report_queue = -1;
	dev->actual = 0;
	dev->poison = 0;
	dev->hint_cmd = BALLOON_CMD_DONE;
	dev->guest_cmd = BALLOON_CMD_STOP;
}

static void balloon_destroy(struct ember_instance *dev)
{
	balloon_stats_stop(dev);
	balloon_pages_free(dev);
	free(dev);
}

static int balloon_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *dev = calloc(1, sizeof(*dev));
	int rc;

	if (!dev)
		return -ENOMEM;
	dev->host = host;
	dev->stats_timer = -1;
	dev->next_cmd = BALLOON_CMD_FIRST;
	driver_state_reset(dev);
	if ((rc = read_options(dev)) || (rc = balloon_pages_init(dev)))
		goto fail;
	rc = host->vq_set_limits(host, queue_count(dev), BALLOON_QUEUE_SIZE);
	if (rc) {
		host->log(host, EMBER_LOG_ERROR, "cannot offer %u queues: %s", queue_count(dev),
			  strerror(-rc));
		goto fail;
	}
	host->log(host, EMBER_LOG_INFO,
		  "target %u MiB; deflate on OOM %s, statistics every %u s, reporting %s, "
		  "hinting %s",
		  dev->num_pages / PAGES_PER_MIB, dev->deflate_on_oom ? "on" : "off",
		  dev->stats_interval_s, dev->reporting ? "on" : "off",
		  dev->hinting ? "on" : "off");
	*out = dev;
	return 0;
fail:
	balloon_destroy(dev);
	return rc;
}

static void balloon_reset(struct ember_instance *dev)
{
	balloon_stats_stop(dev);
	/* The old driver's balloon is gone with it: the next one starts with every page. */
	balloon_pages_clear(dev);
	dev->stat_seen = 0; /* its statistics too: only what the next driver reports is shown */
	driver_state_reset(dev);
}

static uint64_t balloon_features(struct ember_instance *dev)
{
	uint64_t f = 1ULL << BALLOON_F_MUST_TELL_HOST;

	if (dev->stats_interval_s)
		f |= 1ULL << BALLOON_F_STATS_VQ;
	if (dev->deflate_on_oom)
		f |= 1ULL << BALLOON_F_DEFLATE_ON_OOM;
	if (dev->hinting)
		f |= 1ULL << BALLOON_F_FREE_PAGE_HINT;
	if (dev->reporting)
		f |= 1ULL << BALLOON_F_REPORTING;
	/* Lets a guest that poisons or zeroes freed pages keep reporting (we check the value). */
	if (dev->hinting || dev->reporting)
		f |= 1ULL << BALLOON_F_PAGE_POISON;
	return f;
}

static int balloon_activate(struct ember_instance *dev, uint64_t features)
{
	int q = 2;

	dev->features = features;
	dev->stats_queue = features & (1ULL << BALLOON_F_STATS_VQ) ? q++ : -1;
	dev->hint_queue = features & (1ULL << BALLOON_F_FREE_PAGE_HINT) ? q++ : -1;
	dev->report_queue = features & (1ULL << BALLOON_F_REPORTING) ? q++ : -1;
	dev->active = true;
	balloon_stats_arm(dev);
	return 0;
}

static void balloon_config_read(struct ember_instance *dev, uint32_t offset, void *data,
				uint32_t len)
{
	const uint32_t cfg[4] = {dev->num_pages, dev->actual, dev->hint_cmd, dev->poison};

	memcpy(data, (const uint8_t *)cfg + offset, len); /* ember checked offset + len <= 16 */
}

static void balloon_config_write(struct ember_instance *dev, uint32_t offset, const void *data,
				 uint32_t len)
{
	uint32_t cfg[4] = {dev->num_pages, dev->actual, dev->hint_cmd, dev->poison};

	/* The driver writes actual and poison_val; the target and the command id are ours. */
	memcpy((uint8_t *)cfg + offset, data, len);
	dev->actual = cfg[1];
	dev->poison = cfg[3];
}

static void balloon_queue_notify(struct ember_instance *dev, uint32_t queue)
{
	if (queue == BALLOON_INFLATE_QUEUE || queue == BALLOON_DEFLATE_QUEUE)
		balloon_pages_serve(dev, queue, queue == BALLOON_DEFLATE_QUEUE);
	else if ((int)queue == dev->stats_queue)
		balloon_stats_serve(dev);
	else if ((int)queue == dev->hint_queue)
		balloon_hint_serve(dev);
	else if ((int)queue == dev->report_queue)
		balloon_report_serve(dev);
	/* A queue of a feature the driver did not take: it has nothing to say there. */
}

/* Controls, in desc.controls order. */
enum {
	CTL_SET_TARGET,
	CTL_SET_STATS_INTERVAL,
	CTL_CONFIG,
	CTL_STATISTICS,
	CTL_HINTING_START,
	CTL_HINTING_STATUS,
	CTL_HINTING_STOP,
};

__attribute__((format(printf, 3, 4))) static int refuse(struct ember_control_call *call, int rc,
							const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(call->message, call->message_size, fmt, ap);
	va_end(ap);
	return rc;
}

static int reply(struct ember_instance *dev, struct ember_control_call *call, const char *name,
		 int64_t v)
{
	return dev->host->reply_int(dev->host, call, name, v);
}

static int control_statistics(struct ember_instance *dev, struct ember_control_call *call)
{
	int rc;

	if (!dev->stats_interval_s)
		return refuse(call, -ENOTSUP,
			      "statistics are off: the device was created with "
			      "stats_polling_interval_s = 0");
	rc = reply(dev, call, "target_pages", dev->num_pages);
	rc = rc ? rc : reply(dev, call, "actual_pages", dev->actual);
	rc = rc ? rc : reply(dev, call, "target_mib", dev->num_pages / PAGES_PER_MIB);
	rc = rc ? rc : reply(dev, call, "actual_mib", dev->actual / PAGES_PER_MIB);
	for (unsigned t = 0; !rc && t < BALLOON_STAT_TAGS; t++)
		if (dev->stat_seen & (1u << t))
			rc =
			    reply(dev, call, balloon_stat_name(t),
				  (int64_t)(dev->stat_values[t] > INT64_MAX ? INT64_MAX
									    : dev->stat_values[t]));
	return rc;
}

static int control_hinting_start(struct ember_instance *dev, struct ember_control_call *call)
{
	if (!dev->hinting)
		return refuse(call, -ENOTSUP,
			      "free page hinting is off: the device was created with "
			      "free_page_hinting = false");
	if (!dev->active || dev->hint_queue < 0)
		return refuse(call, -EBUSY, "the guest's driver has not taken free page hinting");
	dev->hint_ack_on_stop = call->args[0].num != 0;
	dev->hint_cmd = dev->next_cmd;
	dev->next_cmd = dev->next_cmd == UINT32_MAX ? BALLOON_CMD_FIRST : dev->next_cmd + 1;
	dev->host->config_changed(dev->host);
	return reply(dev, call, "host_cmd", dev->hint_cmd);
}

static int balloon_control(struct ember_instance *dev, struct ember_control_call *call)
{
	int64_t v;
	int rc;

	switch (call->control_index) {
	case CTL_SET_TARGET:
		dev->num_pages = (uint32_t)call->args[0].num * PAGES_PER_MIB;
		if (dev->active)
			dev->host->config_changed(dev->host);
		return reply(dev, call, "amount_mib", call->args[0].num);
	case CTL_SET_STATS_INTERVAL:
		v = call->args[0].num;
		if (!dev->stats_interval_s != !v)
			return refuse(call, -EINVAL,
				      "statistics cannot be switched %s at run time (the queue is "
				      "fixed at create): stats_polling_interval_s %s",
				      v ? "on" : "off", v ? "must stay 0" : "must stay above 0");
		dev->stats_interval_s = (uint32_t)v;
		balloon_stats_arm(dev);
		return reply(dev, call, "stats_polling_interval_s", v);
	case CTL_CONFIG:
		rc = reply(dev, call, "amount_mib", dev->num_pages / PAGES_PER_MIB);
		rc = rc ? rc : reply(dev, call, "deflate_on_oom", dev->deflate_on_oom);
		rc = rc ? rc : reply(dev, call, "stats_polling_interval_s", dev->stats_interval_s);
		rc = rc ? rc : reply(dev, call, "free_page_hinting", dev->hinting);
		return rc ? rc : reply(dev, call, "free_page_reporting", dev->reporting);
	case CTL_STATISTICS:
		return control_statistics(dev, call);
	case CTL_HINTING_START:
		return control_hinting_start(dev, call);
	case CTL_HINTING_STATUS:
		if (!dev->hinting)
			return refuse(call, -ENOTSUP, "free page hinting is off");
		rc = reply(dev, call, "host_cmd", dev->hint_cmd);
		return rc ? rc : reply(dev, call, "guest_cmd", dev->guest_cmd);
	case CTL_HINTING_STOP:
		if (!dev->hinting)
			return refuse(call, -ENOTSUP, "free page hinting is off");
		if (dev->hint_cmd != BALLOON_CMD_DONE) {
			dev->hint_cmd = BALLOON_CMD_DONE;
			if (dev->active)
				dev->host->config_changed(dev->host);
		}
		return reply(dev, call, "host_cmd", dev->hint_cmd);
	}
	return refuse(call, -EINVAL, "unknown control");
}

static void balloon_metrics_read(struct ember_instance *dev, uint64_t *values, uint32_t count)
{
	const struct balloon_stats_counters *s = &dev->stats;
	const uint64_t v[] = {
	    dev->pages,	 dev->num_pages, dev->actual,	    s->inflated,
	    s->deflated, s->freed_bytes, s->reported_bytes, s->hinted_bytes,
	    s->refused,	 s->malformed,	 s->stats_updates,  s->discard_errors,
	};

	for (uint32_t i = 0; i < count && i < EMBER_ARRAY_SIZE(v); i++)
		values[i] = v[i];
}

static const struct ember_option balloon_options[] = {
    EMBER_OPTION_INT_DEF("amount_mib", 0, 0, BALLOON_MIB_MAX,
			 "the first target: MiB the guest is asked to give to the balloon"),
    EMBER_OPTION_BOOL_DEF("deflate_on_oom", 0,
			  "the guest may take pages back from the balloon when it runs out"),
    EMBER_OPTION_INT_DEF("stats_polling_interval_s", 0, 0, 3600,
			 "seconds between statistics requests; 0: no statistics queue"),
    EMBER_OPTION_BOOL_DEF("free_page_reporting", 0,
			  "the guest reports free memory by itself, and the host discards it"),
    EMBER_OPTION_BOOL_DEF("free_page_hinting", 0,
			  "hinting runs (hinting_start) discard the free memory the guest hints"),
};

static const struct ember_option set_target_params[] = {
    EMBER_OPTION_INT_REQ("amount_mib", 0, BALLOON_MIB_MAX, "the new target in MiB"),
};
static const struct ember_option set_interval_params[] = {
    EMBER_OPTION_INT_REQ("stats_polling_interval_s", 0, 3600,
			 "seconds between statistics requests (not 0 <-> non-zero)"),
};
static const struct ember_option hint_start_params[] = {
    EMBER_OPTION_BOOL_DEF("acknowledge_on_stop", 1,
			  "tell the guest it may reuse its hinted pages as soon as it stops"),
};
#define CONTROL_NO_PARAMS(n, h)                                                        \
	{                                                                              \
		.struct_size = sizeof(struct ember_control), .name = (n), .help = (h), \
		.param_size = sizeof(struct ember_option)                              \
	}
static const struct ember_control balloon_controls[] = {
    [CTL_SET_TARGET] = EMBER_CONTROL_DEF("set_target", set_target_params,
					 "ask the guest for a new balloon size (PATCH /balloon)"),
    [CTL_SET_STATS_INTERVAL] = EMBER_CONTROL_DEF("set_stats_interval", set_interval_params,
						 "a new statistics polling interval"),
    [CTL_CONFIG] = CONTROL_NO_PARAMS("config", "the balloon's settings (GET /balloon)"),
    [CTL_STATISTICS] = CONTROL_NO_PARAMS(
	"statistics", "target, actual and the guest's last statistics (GET /balloon/statistics)"),
    [CTL_HINTING_START] = EMBER_CONTROL_DEF("hinting_start", hint_start_params,
					    "start a free page hinting run with a new command id"),
    [CTL_HINTING_STATUS] =
	CONTROL_NO_PARAMS("hinting_status", "the host's and the guest's last command ids"),
    [CTL_HINTING_STOP] =
	CONTROL_NO_PARAMS("hinting_stop", "end the run: the guest may reuse its hinted pages"),
};

static const struct ember_metric balloon_metrics[] = {
    EMBER_METRIC_DEF(EMBER_METRIC_GAUGE, "balloon_pages", "pages",
		     "4 KiB frames in the balloon now"),
    EMBER_METRIC_DEF(EMBER_METRIC_GAUGE, "target_pages", "pages", "the target (num_pages)"),
    EMBER_METRIC_DEF(EMBER_METRIC_GAUGE, "actual_pages", "pages",
		     "the balloon size the guest reports (actual)"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "inflated_pages", "pages",
		     "frames the guest put in the balloon"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "deflated_pages", "pages", "frames the guest took back"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "freed_bytes", "bytes",
		     "bytes the backing released for discards (balloon, reports, hints); "
		     "anonymous RAM counts every byte discarded"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "reported_bytes", "bytes",
		     "free memory the guest reported"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "hinted_bytes", "bytes",
		     "free memory the guest hinted in a current run"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "discards_refused", NULL,
		     "frames or blocks not discarded: not RAM, not in the balloon, stale hint, "
		     "poisoned"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "malformed_buffers", "buffers",
		     "guest buffers ignored as malformed"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "stats_updates", "buffers",
		     "statistics buffers the guest sent"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "discard_errors", NULL,
		     "discards the host failed (other than not RAM)"),
};

static const struct ember_device_ops balloon_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = balloon_create,
    .destroy = balloon_destroy,
    .reset = balloon_reset,
    .virtio_features = balloon_features,
    .config_read = balloon_config_read,
    .config_write = balloon_config_write,
    .activate = balloon_activate,
    .queue_notify = balloon_queue_notify,
    .control = balloon_control,
    .metrics_read = balloon_metrics_read,
};

static const struct ember_plugin_desc balloon_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 2, /* mem_discard, controls, metrics, the pop budget */
    .kind = EMBER_DEVICE_VIRTIO,
    .name = "virtio-balloon",
    .vendor = "ember",
    .version = "1.0.0",
    .description = "memory balloon: inflate/deflate, statistics, free page reporting and hinting",
    .virtio_device_id = EMBER_VIRTIO_ID_BALLOON,
    .virtio_queue_count = BALLOON_QUEUE_MAX,
    .virtio_queue_max_size = BALLOON_QUEUE_SIZE,
    .virtio_config_size = BALLOON_CONFIG_SIZE,
    .options = balloon_options,
    .option_count = EMBER_ARRAY_SIZE(balloon_options),
    .option_size = sizeof(struct ember_option),
    .ops = &balloon_ops,
    .controls = balloon_controls,
    .control_count = EMBER_ARRAY_SIZE(balloon_controls),
    .control_size = sizeof(struct ember_control),
    .metrics = balloon_metrics,
    .metric_count = EMBER_ARRAY_SIZE(balloon_metrics),
    .metric_size = sizeof(struct ember_metric),
};

EMBER_PLUGIN_DEFINE(balloon_desc)
