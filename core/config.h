/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM description: a libconfig file, loaded and fully validated before anything starts.
 *
 *   profile = "serverless";        (optional: a template from conf/, or a path with a '/')
 *   machine = { vcpus = 2; memory_mib = 256; };   (memory_backing = "shared": optional)
 *   boot = { kernel = "vmlinuz"; initrd = "initrd.img"; cmdline = "console=ttyS0"; };
 *   devices = ( { plugin = "virtio-rng"; id = "rng"; ... }, { id = "root"; path = "r.img"; } );
 *   plugin_dirs = [ "plugins" ];   (optional: searched before ember's own plugin folder)
 *   sandbox = { seccomp = false; }; (optional, the VM's file only: seccomp off, for debugging)
 *
 * A profile holds machine, boot and devices; the file that names it overrides machine and boot
 * key by key, and its devices override (same id), drop ({ id = "x"; remove = true; }) or add to
 * the profile's (docs/config.md, "Profiles"). What this module hands on is the resolved VM: one
 * device list in the order devices are placed, each device with one group of options.
 *
 * Relative paths resolve against the VM file's folder, also those a profile gives (a profile is
 * a template). Every error is one line:
 *   FILE:LINE: KEY: what is wrong
 * where FILE:LINE is the setting's own place, the profile's file when it came from there, and
 * KEY its path in that file (devices[N] counts that file's list). Only the core reads libconfig
 * types; plugins see their group through the SDK's typed lookups.
 */
#ifndef EMBER_CONFIG_H
#define EMBER_CONFIG_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

#define CONFIG_VCPUS_MIN      1
#define CONFIG_VCPUS_MAX      64
#define CONFIG_MEMORY_MIB_MIN 32
#define CONFIG_MEMORY_MIB_MAX (1024 * 1024) /* 1 TiB */
#define CONFIG_ID_MAX	      32	    /* longest device id */

/*
 * One device of the resolved VM. Every pointer points into a libconfig tree the vm_config owns.
 * A device comes from the profile (profile_group set), from the VM's file (an addition:
 * file_group set), or from the profile with an override in the file (both set).
 */
struct device_config {
	const char *plugin;
	int line;		       /* line of home (below), in its file */
	const config_setting_t *group; /* the resolved group: plugin, then every option given,
					  the file's values over the profile's; no id */
	const char *id;		       /* NULL when the device has none */
	/*
	 * Where errors about the whole device point (a missing option, a failed create): the
	 * file's group when the file names the device, else the profile's; index is its position
	 * in that file's devices list, as error keys count it (devices[index]).
	 */
	const config_setting_t *home;
	unsigned index;
	const config_setting_t *profile_group; /* NULL: not from the profile */
	unsigned profile_index;
	const config_setting_t *file_group; /* NULL: the VM's file does not name it */
	unsigned file_index;
};

/* The settings the machine and boot values came from (in the file or its profile). */
struct vm_config_from {
	const config_setting_t *profile; /* NULL when there is none */
	const config_setting_t *vcpus;
	const config_setting_t *memory_mib;
	const config_setting_t *memory_backing; /* NULL when absent (anonymous) */
	const config_setting_t *kernel;
	const config_setting_t *initrd;	 /* NULL when absent */
	const config_setting_t *cmdline; /* NULL when absent */
};

struct vm_config {
	char *file; /* the path as given */
	unsigned vcpus;
	uint32_t memory_mib;
	enum guest_mem_backing memory_backing; /* machine.memory_backing, default anonymous */
	char *kernel;  /* absolute or resolved against the file's folder; exists and is readable */
	char *initrd;  /* same, or NULL when absent */
	char *cmdline; /* "" when absent */
	struct device_config *devices; /* resolved, in placement order: the profile's, then the
					  file's additions */
	size_t device_count;
	char **plugin_dirs; /* folders searched for plugins before ember's own; resolved */
	size_t plugin_dir_count;
	bool seccomp;	    /* sandbox.seccomp: per-thread seccomp filters (default true) */
	char *profile_name; /* as the file names it ("serverless", "../p.cfg"), or NULL */
	char *profile;	    /* the profile's file: found in ember's folder, or resolved */
	struct vm_config_from from;
	config_t lc;	     /* the file's tree */
	config_t profile_lc; /* the profile's tree (empty without a profile) */
	config_t merged_lc;  /* owns the devices' resolved groups */
};

/*
 * Loads, resolves and validates path. Returns 0, or -1 with one line (no trailing newline) in
 * err. On failure *out needs no vm_config_free.
 */
int vm_config_load(struct vm_config *out, const char *path, char *err, size_t err_size);
/*
 * The same for a VM description given as text (the Firecracker front-end's translation,
 * core/api/fc_model.h): name stands for the file in messages and relative paths resolve
 * against its folder; everything else is as for a file.
 */
int vm_config_load_text(struct vm_config *out, const char *name, const char *text, char *err,
			size_t err_size);
void vm_config_free(struct vm_config *cfg);

/*
 * "FILE:LINE" of setting s, a setting of cfg's file or profile trees, with FILE named as error
 * messages name it (an @include'd file beside the file that includes it). Returns what
 * snprintf returns.
 */
int vm_config_where(const struct vm_config *cfg, const config_setting_t *s, char *out, size_t size);
/* Whether s (in one of cfg's trees) is part of the profile rather than the VM's file. */
bool vm_config_in_profile(const struct vm_config *cfg, const config_setting_t *s);

/*
 * The setting that gave option `name` of dc: the file's override, else the profile's; NULL
 * when neither names it (the plugin's default applies). Also answers for "plugin".
 */
const config_setting_t *device_config_origin(const struct device_config *dc, const char *name);

/*
 * The one rule for device ids: 1..CONFIG_ID_MAX of a-z, A-Z, 0-9, '-', '_' (upper case for the
 * ids Firecracker's clients give drives and interfaces). NULL when good.
 */
const char *device_id_error(const char *id);

#endif
