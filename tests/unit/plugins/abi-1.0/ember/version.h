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
#define EMBER_ABI_MINOR 0

/* The name of the one symbol a plugin exports; never changes, so a refusal can name versions. */
#define EMBER_PLUGIN_ENTRY_NAME "ember_plugin_entry"

#endif
