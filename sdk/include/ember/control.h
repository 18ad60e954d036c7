/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ABI 1.2: what a device offers the control plane while the VM runs: named runtime requests
 * (a new balloon target, a new rate limit, a new backing file) and named metrics.
 *
 * Both are declared in the descriptor as const tables, so ember can list them (`ember
 * plugins`), check a request's arguments exactly as it checks a config group (unknown name,
 * wrong type, out of range: refused before the plugin sees it), and route API requests by
 * device id without knowing any device type. Included by ember/device.h.
 */
#ifndef EMBER_CONTROL_H
#define EMBER_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ember_option;

/*
 * One runtime request. Its parameters are an option table (ember/device.h: types, bounds,
 * defaults, EMBER_OPTION_REQUIRED), read with the param_size stride like desc.options.
 */
struct ember_control {
	uint32_t struct_size; /* sizeof(struct ember_control) */
	uint32_t reserved0;
	const char *name; /* [a-z0-9_], unique in the device, e.g. "set_target" */
	const char *help; /* one line */
	const struct ember_option *params;
	uint32_t param_count;
	uint32_t param_size; /* sizeof(struct ember_option) */
	uint64_t reserved[2];
};

/* One checked argument: every declared parameter, in table order, defaults filled in. */
struct ember_control_arg {
	const char *name;
	uint32_t type;	 /* enum ember_option_type */
	uint32_t given;	 /* 1 when the request set it, 0 for a default */
	int64_t num;	 /* INT, SIZE, BOOL */
	const char *str; /* STRING, PATH (resolved); NULL when not given and no default */
};

/*
 * What ops.control gets. Owned by ember, valid during the call only. Answer with
 * host->reply_int / reply_string (named values for the requester), and on failure write one
 * line into message (NUL-terminated, message_size bytes) and return a negative errno.
 */
struct ember_control_call {
	uint32_t struct_size;
	uint32_t control_index; /* into desc.controls */
	const char *name;	/* desc.controls[control_index].name */
	const struct ember_control_arg *args;
	uint32_t arg_count; /* == that control's param_count */
	uint32_t message_size;
	char *message;
	void *host_private; /* ember's; the plugin does not touch it */
	uint64_t reserved[2];
};

enum ember_metric_kind {
	EMBER_METRIC_COUNTER = 1, /* only grows (events, bytes); reported as is */
	EMBER_METRIC_GAUGE = 2,	  /* a current level (bytes held, queue depth) */
};

/* One metric; its value comes from ops.metrics_read in table order. */
struct ember_metric {
	uint32_t struct_size; /* sizeof(struct ember_metric) */
	uint32_t kind;	      /* enum ember_metric_kind */
	const char *name;     /* [a-z0-9_], unique in the device, e.g. "read_bytes" */
	const char *help;     /* one line */
	const char *unit;     /* "bytes", "requests", ...; NULL for a plain count */
	uint64_t reserved[2];
};

#define EMBER_CONTROL_DEF(n, p, h)                                                     \
	{                                                                              \
		.struct_size = sizeof(struct ember_control), .name = (n), .help = (h), \
		.params = (p), .param_count = sizeof(p) / sizeof((p)[0]),              \
		.param_size = sizeof((p)[0])                                           \
	}
#define EMBER_METRIC_DEF(k, n, u, h)                                                               \
	{                                                                                          \
		.struct_size = sizeof(struct ember_metric), .kind = (k), .name = (n), .help = (h), \
		.unit = (u)                                                                        \
	}

#ifdef __cplusplus
#define EMBER_CONTROL_STATIC_ASSERT static_assert
#else
#define EMBER_CONTROL_STATIC_ASSERT _Static_assert
#endif
EMBER_CONTROL_STATIC_ASSERT(sizeof(struct ember_control) == 56, "ember_control layout");
EMBER_CONTROL_STATIC_ASSERT(sizeof(struct ember_control_arg) == 32, "ember_control_arg layout");
EMBER_CONTROL_STATIC_ASSERT(sizeof(struct ember_control_call) == 64, "ember_control_call layout");
EMBER_CONTROL_STATIC_ASSERT(sizeof(struct ember_metric) == 48, "ember_metric layout");

#ifdef __cplusplus
}
#endif

#endif
