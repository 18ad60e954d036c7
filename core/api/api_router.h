/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's API, one request at a time: method, path and body in, status and JSON body out.
 * It knows Firecracker's endpoints, field rules, status codes and phase rules; what a request
 * does to the process goes through struct api_ops, so the router runs (and is unit-tested and
 * fuzzed) without a VM, without sockets and without KVM.
 *
 * Answers: 200 + JSON for a GET, 204 and no body for a PUT/PATCH that worked, 400 +
 * {"fault_message": "..."} for everything refused (bad JSON, unknown or missing fields, bad ids,
 * wrong phase, unknown path or method), as Firecracker's clients expect (firecracker-go-sdk
 * treats a 200 to a PUT as an error).
 *
 * Threads: the main thread (the pre-boot loop, then the VM's event loop); never blocks on the
 * guest. Every api_ops member may be NULL: the request then answers 400 saying it is not offered.
 */
#ifndef EMBER_API_ROUTER_H
#define EMBER_API_ROUTER_H

#include "fc_model.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Firecracker API version this front-end implements (GET /version, --version). */
#define EMBER_FC_API_VERSION "1.16.1"

enum api_phase {
	API_PHASE_CONFIGURING, /* pre-boot: PUTs build the model */
	API_PHASE_STARTING,    /* InstanceStart accepted; the VM is being built */
	API_PHASE_RUNNING,     /* the VM runs (or is paused: api.paused) */
};

/* Errors: 0, or a negative errno with one line in err (it becomes the fault_message). */
struct api_ops {
	void *opaque;
	/* InstanceStart: check the model as ember run checks a file; the VM starts once the 204
	 * has gone out (the caller's loop sees api.phase == API_PHASE_STARTING). */
	int (*start)(void *opaque, char *err, size_t n);
	int (*pause)(void *opaque, char *err, size_t n);
	int (*resume)(void *opaque, char *err, size_t n);
	int (*ctrl_alt_del)(void *opaque, char *err, size_t n);
	int (*flush_metrics)(void *opaque, char *err, size_t n);
	/* A device's runtime request (vm_control.h): reply is "name = value;" lines. */
	int (*device_control)(void *opaque, const char *id, const char *name, const char *args,
			      char *reply, size_t n);
	/* GET /ember/devices while running: a new reference to a JSON array. */
	json_t *(*devices)(void *opaque);
	/* PUT /logger, PUT /metrics: apply them (open the file, set the level). */
	int (*set_logger)(void *opaque, json_t *body, char *err, size_t n);
	int (*set_metrics)(void *opaque, json_t *body, char *err, size_t n);
};

/* Counted per request, for the metrics' api_server group. */
struct api_counters {
	uint64_t requests, errors, pauses, resumes, drive_patches, net_patches, balloon_patches;
};

struct api {
	struct fc_model model;
	enum api_phase phase;
	bool paused;
	char instance_id[65]; /* --id */
	const char *vmm_version;
	struct api_ops ops;
	struct api_counters counters;
};

struct api_response {
	unsigned status; /* 200, 204 or 400 */
	char *body;	 /* malloc'd JSON text; NULL for 204 */
};

/* Sets up api (model with Firecracker's defaults). 0 or -ENOMEM. */
int api_init(struct api *api, const char *instance_id, const char *vmm_version,
	     const struct api_ops *ops, fc_have_plugin_fn have_plugin, void *have_plugin_opaque);
void api_fini(struct api *api);

/*
 * Answers one request. method and path as in the request line (path without a query), body of
 * len bytes (not NUL-terminated; len 0 for none). Fills r; free r->body with free().
 */
void api_handle(struct api *api, const char *method, const char *path, const char *body, size_t len,
		struct api_response *r);

/* "name = value;" lines (plugin_control's reply) as a JSON object; NULL when malformed. */
json_t *api_reply_to_json(const char *reply);

#endif
