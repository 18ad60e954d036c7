/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ember check`'s device stage: every device of a config is loaded, checked and created exactly
 * as `ember run` creates it (the same plugin_instance_create, the same checked options, the same
 * instance names PLUGIN.N, the same window and interrupt-line budget), then destroyed again, on
 * a platform without KVM. So a device that would fail to start (a missing disk image, a bad
 * option only the plugin can judge) fails `ember check` too, on a host without /dev/kvm.
 *
 * The platform behind the instances: guest RAM of the configured size mapped with
 * MAP_NORESERVE (guest_mem_init: untouched, it costs nothing), fd watches and timers kept in
 * the same registry as `ember run`'s (plugin_callbacks.h) but never fired, CLOCK_MONOTONIC,
 * device memory from mmap at addresses of the device memory area (never mapped for a guest),
 * no clock pair (-ENOTSUP), log lines to ember's log.
 * Plugins may open files, make io_uring instances, start threads: everything their create and
 * destroy do, nothing a guest would make them do.
 *
 * The helpers after device_check are the parts both embeddings share so that `ember run`
 * (core/vm_devices.c) and `ember check` name devices, place them and word a device's failure
 * identically.
 *
 * Errors: one line in err, no newline, as the rest of the config checks:
 *   FILE:LINE: devices[N].KEY: what is wrong      (plugin not found or refused, bad option)
 *   FILE:LINE: devices[N] (NAME): what is wrong   (the device could not be created or placed)
 * FILE:LINE is where the key was written, in the VM's file or its profile (config.h); devices[N]
 * counts that file's list. For the whole device (NAME) it is the device's home group.
 * Threads: main thread only.
 */
#ifndef EMBER_DEVICE_CHECK_H
#define EMBER_DEVICE_CHECK_H

#include "config.h"
#include "plugin_loader.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Creates and destroys every device of cfg as described above. Returns EMBER_EXIT_OK (0),
 * EMBER_EXIT_USAGE when a device is refused (nothing stays loaded or created), or
 * EMBER_EXIT_ERROR when this host cannot run the check (the RAM mapping failed); err then has
 * the one line. Lines a plugin logs go to ember's log as they come, except the first error line
 * of a failing create, which becomes the reason in err (so a failure is one line).
 */
int device_check(const struct vm_config *cfg, char *err, size_t err_size);

/*
 * `ember check --print`: device_check, then, when it passed, the resolved VM written to out in
 * the documented format (docs/config.md, "ember check --print"): one "KEY = VALUE" line per
 * value, with "  [FILE:LINE]", "  [profile FILE:LINE]" or "  [default]" after a value the files
 * give or the plugin defaults; the device's window and GSI are the ones `ember run` assigns.
 * Nothing is written when the check fails.
 */
int device_check_print(const struct vm_config *cfg, FILE *out, char *err, size_t err_size);

/*
 * The two config stages `ember run` (vm_devices.c) and `ember check` share, so that both word a
 * refused device identically, naming the file and line each setting came from:
 * device_plugin_load finds and loads cfg->devices[index]'s plugin (plugin_load_by_name);
 * device_options_check checks its options against p's table (plugin_check_options, paths
 * relative to the VM's file). Each returns 0, or -1 with the one line in err.
 */
int device_plugin_load(const struct vm_config *cfg, size_t index, struct plugin **out, char *err,
		       size_t err_size);
int device_options_check(const struct vm_config *cfg, size_t index, const struct plugin *p,
			 struct plugin_options **out, char *err, size_t err_size);

/* Room for a device name: the plugin's, '.', a count, the NUL. */
#define DEVICE_NAME_MAX (PLUGIN_NAME_MAX + 12)

/*
 * The instance name of cfg->devices[index]: "PLUGIN.N", N counting the earlier devices of the
 * same plugin (virtio-blk.0, virtio-blk.1). The config's plugin name is the descriptor's (the
 * loader refuses a plugin whose descriptor names another).
 */
void device_instance_name(const struct vm_config *cfg, size_t index, char *out, size_t size);

/*
 * Formats the one line for a device that cannot be made, into out:
 *   FILE:LINE: devices[N] (NAME): WHY
 * FILE:LINE is the device's home group (config.h: the VM file's when it names the device, else
 * the profile's) and N its index in that file.
 */
__attribute__((format(printf, 6, 7))) void device_error(char *out, size_t size,
							const struct vm_config *cfg, size_t index,
							const char *name, const char *fmt, ...);

/*
 * What a plugin logs while its create runs. A plugin that fails create has logged why (the
 * ABI asks it to) and returns an errno; plugin_instance_create's err only says "could not
 * create the device (errno)". The first error line the plugin logs on the creating thread is
 * held back and becomes the reason of the failure line, so the operator reads one line that
 * names the device, the config and the plugin's own words (e.g. the path it could not open).
 *
 * Use: device_create_log_start before plugin_instance_create; the platform's log calls
 * device_create_log_hold first and prints the line itself only when that returns false (any
 * thread); device_create_log_stop after create returned, which prints a held line when the
 * create succeeded after all; on failure, device_create_failed formats the line.
 */
struct device_create_log {
	atomic_bool active; /* inside create; read by the platform's log on any thread */
	pthread_t thread;   /* the thread running create: only its lines are held */
	bool held;
	char line[512]; /* "NAME: what the plugin said" */
};

void device_create_log_start(struct device_create_log *l);
/* True when line (level: enum ember_log_level) was held back: the caller must not print it. */
bool device_create_log_hold(struct device_create_log *l, int level, const char *line);
void device_create_log_stop(struct device_create_log *l, bool created);
/*
 * The line for devices[index] (NAME) whose create failed with create_err (plugin_instance_create's
 * err): device_error with the held line, or create_err when the plugin said nothing, as WHY
 * (without its leading "NAME: ", which the prefix already says).
 */
void device_create_failed(char *out, size_t size, const struct vm_config *cfg, size_t index,
			  const char *name, const struct device_create_log *l,
			  const char *create_err);

/*
 * Where the devices go, in config order: the next 4 KiB-aligned window from
 * LAYOUT_DEVICE_MMIO_GPA, the next GSI from LAYOUT_DEVICE_GSI_BASE for a device with an
 * interrupt. device_slots_take returns 0 with *base (and *gsi, 0 for none) set, or -1 with why
 * in why ("no room left for its 4096-byte window", "no interrupt line left: ...").
 */
struct device_slots {
	uint64_t next_base;
	unsigned next_gsi;
};

void device_slots_init(struct device_slots *s);
int device_slots_take(struct device_slots *s, uint64_t window_size, bool irq, uint64_t *base,
		      unsigned *gsi, char *why, size_t why_size);

#endif
