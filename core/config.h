/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM description: a libconfig file, loaded and fully validated before anything starts.
 *
 *   machine = { vcpus = 2; memory_mib = 256; };
 *   boot = { kernel = "vmlinuz"; initrd = "initrd.img"; cmdline = "console=ttyS0"; };
 *   devices = ( { plugin = "virtio-rng"; ... }, ... );
 *   plugin_dirs = [ "plugins" ];   (optional: searched before ember's own plugin folder)
 *
 * Relative paths resolve against the config file's folder. Every error is one line:
 *   FILE:LINE: KEY: what is wrong
 * Only the core reads libconfig types; plugins see their group through the SDK's typed lookups.
 */
#ifndef EMBER_CONFIG_H
#define EMBER_CONFIG_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_VCPUS_MIN      1
#define CONFIG_VCPUS_MAX      64
#define CONFIG_MEMORY_MIB_MIN 32
#define CONFIG_MEMORY_MIB_MAX (1024 * 1024) /* 1 TiB */

struct device_config {
	const char *plugin;	       /* points into the libconfig tree */
	int line;		       /* line of the device's group */
	const config_setting_t *group; /* the device's whole group, plugin key included */
};

struct vm_config {
	char *file; /* the path as given */
	unsigned vcpus;
	uint32_t memory_mib;
	char *kernel;  /* absolute or resolved against the file's folder; exists and is readable */
	char *initrd;  /* same, or NULL when absent */
	char *cmdline; /* "" when absent */
	struct device_config *devices;
	size_t device_count;
	char **plugin_dirs; /* folders searched for plugins before ember's own; resolved */
	size_t plugin_dir_count;
	config_t lc; /* owns the tree that devices[] point into */
};

/*
 * Loads and validates path. Returns 0, or -1 with one line (no trailing newline) in err.
 * On failure *out needs no vm_config_free.
 */
int vm_config_load(struct vm_config *out, const char *path, char *err, size_t err_size);
void vm_config_free(struct vm_config *cfg);

#endif
