/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static enum log_level log_max = LOG_INFO;

void log_set_level(enum log_level max)
{
	log_max = max;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {
	    [LOG_ERROR] = "ember: error: ",
	    [LOG_WARN] = "ember: warning: ",
	    [LOG_INFO] = "ember: ",
	    [LOG_DEBUG] = "ember: debug: ",
	};
	char line[1024];
	va_list ap;
	int n;

	if (level > log_max)
		return;
	n = snprintf(line, sizeof(line), "%s", prefix[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per message so lines from different threads never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
