/* SPDX-License-Identifier: Apache-2.0 */
/* Firecracker-shaped metrics lines (fc_metrics.h). */
#include "fc_metrics.h"

#include "../vm_control.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void fc_metrics_init(struct fc_metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

int fc_metrics_open(struct fc_metrics *m, const char *path, char *err, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(err, n, "metrics: metrics_path: %s: %s", path, strerror(errno));
		return -1;
	}
	if (m->fd >= 0)
		close(m->fd);
	m->fd = fd;
	return 0;
}

static json_t *api_group(struct fc_metrics *m, const struct api *api)
{
	const struct api_counters *c = &api->counters, *l = &m->last_api;
	json_t *g = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "requests",
			      (json_int_t)(c->requests - l->requests), "errors",
			      (json_int_t)(c->errors - l->errors), "pauses",
			      (json_int_t)(c->pauses - l->pauses), "resumes",
			      (json_int_t)(c->resumes - l->resumes), "drive_patches",
			      (json_int_t)(c->drive_patches - l->drive_patches), "net_patches",
			      (json_int_t)(c->net_patches - l->net_patches), "balloon_patches",
			      (json_int_t)(c->balloon_patches - l->balloon_patches));

	m->last_api = *c;
	return g;
}

/* Every device's metrics; counters as deltas against m->last (grown as needed). */
static json_t *device_groups(struct fc_metrics *m, struct vm *vm)
{
	json_t *all = json_object();
	size_t slot = 0;

	for (size_t i = 0; all && i < vm_device_count(vm); i++) {
		struct vm_device_info info;
		uint64_t values[64];
		uint32_t count;
		json_t *g;

		if (vm_device_info(vm, i, &info))
			continue;
		g = json_pack("{s:s}", "plugin", info.plugin);
		count = vm_device_metrics_read(vm, i, values, 64);
		if (slot + count > m->last_count) {
			uint64_t *p = realloc(m->last, (slot + count) * sizeof(*p));

			if (!p) {
				json_decref(g);
				break;
			}
			memset(p + m->last_count, 0, (slot + count - m->last_count) * sizeof(*p));
			m->last = p;
			m->last_count = slot + count;
		}
		for (uint32_t k = 0; g && k < count; k++) {
			const struct ember_metric *d = vm_device_metric(vm, i, k);
			uint64_t v = values[k];

			if (!d)
				continue;
			if (d->kind == EMBER_METRIC_COUNTER) {
				uint64_t prev = m->last[slot + k];

				m->last[slot + k] = v;
				v = v >= prev ? v - prev : v;
			}
			json_object_set_new(g, d->name, json_integer((json_int_t)v));
		}
		slot += count;
		if (g)
			json_object_set_new(all, info.id, g);
	}
	return all;
}

int fc_metrics_write(struct fc_metrics *m, struct vm *vm, const struct api *api, char *err,
		     size_t n)
{
	struct timespec now;
	json_t *line;
	char *text;
	size_t len;
	ssize_t w;

	if (m->fd < 0) {
		snprintf(err, n, "no metrics file is set (PUT /metrics or --metrics-path)");
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	line = json_pack("{s:I, s:o}", "utc_timestamp_ms",
			 (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, "api_server",
			 api_group(m, api));
	if (line && vm) {
		json_object_set_new(line, "vmm",
				    json_pack("{s:b, s:I, s:I}", "paused", vm_is_paused(vm),
					      "devices", (json_int_t)vm_device_count(vm),
					      "lines_dropped", (json_int_t)m->lines_dropped));
		json_object_set_new(line, "devices", device_groups(m, vm));
	}
	text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	json_decref(line);
	if (!text) {
		snprintf(err, n, "metrics: out of memory");
		return -1;
	}
	len = strlen(text);
	text[len++] = '\n'; /* json_dumps left room: its NUL */
	w = write(m->fd, text, len);
	free(text);
	if (w != (ssize_t)len) {
		m->lines_dropped++;
		snprintf(err, n, "metrics: the line was not written: %s",
			 w < 0 ? strerror(errno) : "short write");
		return -1;
	}
	return 0;
}

void fc_metrics_close(struct fc_metrics *m)
{
	if (m->fd >= 0)
		close(m->fd);
	free(m->last);
	fc_metrics_init(m);
}
