/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loader's internals shared by its files (not for the rest of the core): the struct-copy
 * rule, name checks, option tables, and the ABI 1.2 declarations of a descriptor (ACPI fields,
 * runtime controls, metrics, syscall rules). Every check fails with one line in err naming the
 * plugin file: `FILE: what is wrong`. Main thread only.
 */
#ifndef EMBER_PLUGIN_TABLES_H
#define EMBER_PLUGIN_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin_loader.h"

/* Writes one line into err (size bytes) and returns -1: the loader's way to fail. */
int plugin_fail(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Linux's copy_struct_from_user: zero-fill a smaller source; -E2BIG for a larger non-zero tail. */
int plugin_copy_struct(void *dst, size_t dst_size, const void *src, size_t src_size);
bool plugin_all_zero(const void *p, size_t n);
/* 1..max chars of [a-z0-9], plus '-' (not first) and/or '_' when allowed. */
bool plugin_valid_name(const char *s, size_t max, bool dash_ok, bool underscore_ok);

/*
 * Checks and copies an option table (count entries, stride bytes each) into *out (calloc'd,
 * NULL when count is 0). what names the table in messages ("option", "control set_target
 * parameter"). Returns 0 or -1.
 */
int plugin_copy_option_table(const char *path, const char *what, const void *table, uint32_t count,
			     uint32_t stride, struct ember_option **out, char *err, size_t size);

/* EMBER_DEVICE_MMIO: acpi_cid and acpi_resources against the rest of the descriptor. */
int plugin_check_acpi(const struct plugin *p, char *err, size_t size);

/* controls, metrics and syscalls: checked, copied into p, desc pointers moved to the copies. */
int plugin_check_tables(struct plugin *p, char *err, size_t size);
void plugin_free_tables(struct plugin *p);

#endif
