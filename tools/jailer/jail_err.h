/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How the jailer's steps report a failure: each writes one line (no prefix, no newline) into
 * the caller's buffer and returns -1; main() prints it as "ember-jailer: error: LINE".
 */
#ifndef EMBER_JAIL_ERR_H
#define EMBER_JAIL_ERR_H

#include <stddef.h>

int jail_fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
