/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control plane of one ember process: the API router (api_router.h) on its HTTP socket
 * (http_server.h), the metrics file (fc_metrics.h), and the glue to the VM (vm_control.h).
 *
 * Life: api_service_init (the socket listens from here on, when there is one);
 * api_service_serve_until_start (pre-boot: serves requests on the calling thread until
 * InstanceStart, or a stop signal); api_service_load (the model as a struct vm_config);
 * vm_run(&s->cfg, api_service_hooks(...)) (the running phase: the API is served on the VM's
 * event loop); api_service_fini (socket removed).
 *
 * Threads: the main thread only. Errors: 0 or -1 with one line in err.
 */
#ifndef EMBER_API_SERVICE_H
#define EMBER_API_SERVICE_H

#include "../config.h"
#include "../event_loop.h"
#include "../vm_control.h"
#include "api_router.h"
#include "fc_metrics.h"
#include "http_server.h"

#include <stdbool.h>

struct plugin_seen; /* api_service.c's cache of plugin lookups */

struct api_service {
	struct api api;
	struct http_server *http; /* NULL with --no-api */
	struct fc_metrics metrics;
	struct vm *vm; /* set between the hooks' started and stopping */
	struct event_loop *loop;
	struct event_watch *http_watch, *metrics_watch;
	int metrics_timer; /* timerfd, FC_METRICS_PERIOD_S */
	struct vm_config cfg;
	bool cfg_loaded;
	struct plugin_seen *seen;
	const char *plugin_dir; /* searched before ember's own folder (NULL: none) */
};

/* sock_path NULL: no API (--no-api). */
int api_service_init(struct api_service *s, const char *instance_id, const char *sock_path,
		     const char *plugin_dir, char *err, size_t n);
void api_service_fini(struct api_service *s);

/*
 * Pre-boot: serves the API until InstanceStart was accepted (returns 0) or a stop signal
 * (SIGINT, SIGTERM, SIGHUP) came (returns 1: end the process with status 0).
 */
int api_service_serve_until_start(struct api_service *s);

/* The model as ember's VM description (s->cfg), checked as ember run checks a file. */
int api_service_load(struct api_service *s, char *err, size_t n);

/* The logger and metrics sections a --config-file gave: opened and applied now. */
int api_service_apply_files(struct api_service *s, char *err, size_t n);

struct vm_run_hooks api_service_hooks(struct api_service *s, const char *vcpu_thread_prefix);

#endif
