/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ABI 1.2 runtime control: a request by name, its arguments checked against the control's
 * parameter table (like a config group against the option table), the plugin's ops.control,
 * and the reply it builds through ember_host.reply_int / reply_string.
 *
 * Arguments come as the inside of a libconfig group ("target_mib = 128; path = \"x\";"), the
 * form the control plane and the harness both produce. The reply is text: one "name = value;"
 * line per value (strings quoted), or on failure one line saying why.
 *
 * Threads: the caller holds the instance lock (plugin_instance_control does).
 */
#ifndef EMBER_PLUGIN_CONTROL_H
#define EMBER_PLUGIN_CONTROL_H

#include <ember/device.h>
#include <stddef.h>

#include "plugin_loader.h"

/*
 * Runs request `name` of plugin p on inst. Returns 0 with the reply's values in reply, or a
 * negative errno with one line in reply: -ENOENT (no such request), -EINVAL (arguments), or
 * what ops.control returned (its message).
 */
int plugin_control_run(const struct plugin *p, struct ember_instance *inst, const char *name,
		       const char *args, char *reply, size_t reply_size);

/* ember_host.reply_int / reply_string (the host table points here). */
int plugin_control_reply_int(const struct ember_host *host, struct ember_control_call *call,
			     const char *name, int64_t value);
int plugin_control_reply_string(const struct ember_host *host, struct ember_control_call *call,
				const char *name, const char *value);

#endif
