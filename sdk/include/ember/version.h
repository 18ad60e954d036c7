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
#define EMBER_ABI_MINOR 2

/*
 * History:
 *   1.0  the first ABI
 *   1.1  ember_host.vq_set_limits (was reserved[0]): per-instance virtio queue count and size;
 *        option type EMBER_OPTION_PATH (resolved against the config file's folder)
 *   1.2  ember_host (was reserved[0..6], then appended): vq_unpop, mem_discard, devmem_alloc,
 *        clock_pair, reply_int, reply_string, thread_start, thread_join;
 *        ember_device_ops (was reserved[0..3]): save, restore (planned, must stay NULL),
 *        control, metrics_read; descriptor (appended): acpi_cid, acpi_resources, controls,
 *        metrics, syscalls; mmio_size 0 for a plain device without registers; option flags
 *        EMBER_OPTION_PATH_EXISTS / _PARENT_EXISTS; vq_pop may stop at a per-kick budget
 */

/* The name of the one symbol a plugin exports; never changes, so a refusal can name versions. */
#define EMBER_PLUGIN_ENTRY_NAME "ember_plugin_entry"

#endif
