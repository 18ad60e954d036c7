/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The version of the ember device ABI these headers describe.
 *
 * A host accepts a plugin when the majors are equal and the minor the plugin requires is at most
 * the host's minor. A minor release only appends members to structs (each struct carries its
 * size) and gives meaning to reserved fields that were zero; a major release may change anything.
 */
#ifndef EMBER_VERSION_H
#define EMBER_VERSION_H

#define EMBER_ABI_MAJOR 1
#define EMBER_ABI_MINOR 1

/*
 * History:
 *   1.0  the first ABI
 *   1.1  ember_host.vq_set_limits (was reserved[0]): per-instance virtio queue count and size;
 *        option type EMBER_OPTION_PATH (resolved against the config file's folder)
 */

/* The name of the one symbol a plugin exports; never changes, so a refusal can name versions. */
#define EMBER_PLUGIN_ENTRY_NAME "ember_plugin_entry"

#endif
