/* SPDX-License-Identifier: Apache-2.0 */
#include "jail_err.h"

#include <stdarg.h>
#include <stdio.h>

int jail_fail(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (err && err_size) {
		va_start(ap, fmt);
		vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	return -1;
}
