/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker-shaped metrics: one JSON object per line, appended to a file or FIFO (--metrics-
 * path, PUT /metrics) every FC_METRICS_PERIOD_S and on FlushMetrics. Top level:
 *   "utc_timestamp_ms": wall clock of the line,
 *   "api_server": { requests, errors, pauses, resumes, drive_patches, net_patches, ... },
 *   "vmm": { paused, devices },
 *   "devices": { "<id>": { "plugin": "...", "<metric>": value, ... }, ... }
 * Counters (EMBER_METRIC_COUNTER, and the api_server group) are deltas since the previous line,
 * as Firecracker's are; gauges are the current value. The device metrics are what each plugin
 * declares (its page in docs/plugins/), so a vendor device's counters appear without ember knowing
 * it.
 *
 * Threads: main (event-loop) thread. A FIFO nobody reads does not block ember: the file is
 * non-blocking and a line that does not fit is dropped (counted in "lines_dropped").
 */
#ifndef EMBER_FC_METRICS_H
#define EMBER_FC_METRICS_H

#include "api_router.h"

#include <stddef.h>
#include <stdint.h>

#define FC_METRICS_PERIOD_S 60

struct vm;

struct fc_metrics {
	int fd;		/* -1: no metrics file */
	uint64_t *last; /* previous counter values, per device metric, in device order */
	size_t last_count;
	struct api_counters last_api;
	uint64_t lines_dropped;
};

void fc_metrics_init(struct fc_metrics *m);
/* Opens path for appending (a regular file is created 0600). 0 or -1 with err. */
int fc_metrics_open(struct fc_metrics *m, const char *path, char *err, size_t n);
/* Writes one line (vm may be NULL before boot: only the api_server group). 0 or -1 with err. */
int fc_metrics_write(struct fc_metrics *m, struct vm *vm, const struct api *api, char *err,
		     size_t n);
void fc_metrics_close(struct fc_metrics *m);

#endif
