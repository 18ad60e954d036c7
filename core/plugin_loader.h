/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding, loading and checking device plugins, and checking a device's options against what
 * its plugin documents.
 *
 * A plugin named N is the file N.so in the first folder that has it: the configured folders
 * in order, then the install folder (<libdir>/ember/plugins, found relative to the running
 * executable so that --prefix and DESTDIR staging work), then, only for an ember run from its
 * build tree, the build tree's plugins/. It is opened with dlopen(RTLD_NOW | RTLD_LOCAL), its one
 * entry called with the host's ABI version, and the descriptor, ops and option tables it
 * returns are checked and copied (copy_struct_from_user rule, see ember/device.h) before
 * anything uses them. A plugin that fails any check is closed again; the caller gets one line:
 *   FILE: what is wrong
 * Option errors are one line too:
 *   CONFIG_FILE:LINE: devices[N].OPTION: what is wrong
 *
 * Threads: main thread only (dlopen, listing, validation happen before the VM runs).
 */
#ifndef EMBER_PLUGIN_LOADER_H
#define EMBER_PLUGIN_LOADER_H

#include <ember/device.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

struct plugin {
	char *path;   /* the file it was loaded from; owned */
	void *handle; /* dlopen handle */
	/* Normalized copies: sized as this ember knows them, unknown parts checked zero. */
	struct ember_plugin_desc desc;
	struct ember_device_ops ops;
	struct ember_option *options; /* desc.option_count entries; owned */
	/* ABI 1.2 tables, checked and copied by plugin_tables.c; owned. */
	struct ember_control *controls;	      /* desc.control_count */
	struct ember_option **control_params; /* per control, its params (NULL when none) */
	struct ember_metric *metrics;	      /* desc.metric_count */
	struct ember_syscall_rule *syscalls;  /* desc.syscall_count */
	int *syscall_nrs;		      /* per rule, the number libseccomp resolved */
	/* desc.options, .ops, .controls, .metrics and .syscalls point at the copies; the strings
	 * point into the plugin. */
};

/* One option's value for one device: from the config, or the documented default. */
struct plugin_option_value {
	const struct ember_option *option; /* in the plugin's table */
	int64_t num;			   /* INT, SIZE, BOOL */
	char *str;			   /* STRING, owned (NULL when no default) */
	int given;			   /* 1 when the config set it */
};

struct plugin_options {
	struct plugin_option_value *values; /* one per documented option, same order */
	size_t count;
};

/* Longest plugin name (ember/device.h); names are [a-z0-9-]. */
#define PLUGIN_NAME_MAX 31

/*
 * The one rule for plugin names (they become file names and log prefixes): 1..31 characters of
 * a-z, 0-9 and '-', not starting with '-'. Returns NULL for a good name, else what is wrong.
 */
const char *plugin_name_error(const char *name);

/*
 * Loads and checks the plugin in file path. Returns 0 with *out set, or -1 with one line in err
 * (no file, no entry, ABI refused, bad descriptor: each message names the file and, for ABI
 * refusals, both versions). Nothing of a refused plugin stays loaded.
 */
int plugin_load_file(const char *path, struct plugin **out, char *err, size_t err_size);

/*
 * Finds plugin `name` (see the search order above; dirs may be NULL when ndirs is 0) and loads
 * it; its descriptor must carry the same name. Returns 0 or -1 with one line in err.
 */
int plugin_load_by_name(const char *name, const char *const *dirs, size_t ndirs,
			struct plugin **out, char *err, size_t err_size);

/* dlcloses the plugin. Only after every instance was destroyed and its threads joined. */
void plugin_unload(struct plugin *p);

/*
 * The install folder computed from /proc/self/exe, whether or not it exists. Returns 0, or -1
 * when it does not fit or /proc is missing.
 */
int plugin_install_dir(char *out, size_t size);

/*
 * Checks the device group of devices[index] in config_file against p's option table (unknown
 * key, wrong type, out of range, missing required) and returns every option's value with
 * defaults applied. Returns 0 with *out set, or -1 with one line in err. The result does not
 * point into the libconfig tree.
 */
int plugin_check_options(const struct plugin *p, const struct device_config *dev,
			 const char *config_file, size_t index, struct plugin_options **out,
			 char *err, size_t err_size);
void plugin_options_free(struct plugin_options *opts);

/* A size option's string form: "123", "64K", "1M", "2G", "1T" (powers of 1024). Returns 0,
 * -EINVAL or -ERANGE. */
int plugin_option_parse_size(const char *s, int64_t *out);

/* The value of option `name`, or NULL when p documents no such option. */
const struct plugin_option_value *plugin_option_find(const struct plugin_options *opts,
						     const char *name);

/*
 * `ember plugins`: calls fn once per *.so found in the search folders (sorted by file name
 * within a folder), with the loaded plugin or, when it was refused, NULL and the reason.
 * The plugin is unloaded after fn returns. Returns how many files were seen.
 */
typedef void (*plugin_list_fn)(void *arg, const char *path, const struct plugin *p,
			       const char *err);
size_t plugin_list(const char *const *dirs, size_t ndirs, plugin_list_fn fn, void *arg);

/* Writes a human-readable description of p (name, version, ABI, kind, options) to out. */
void plugin_describe(const struct plugin *p, FILE *out);

#endif
