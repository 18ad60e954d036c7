/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A growing NUL-terminated string for building text (libconfig for the VM description, JSON
 * lines). An allocation failure sets failed and makes every later call a no-op, so callers
 * check once at the end. Not thread-safe; the caller owns buf (free it, or strbuf_free).
 */
#ifndef EMBER_STRBUF_H
#define EMBER_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf; /* NULL until something is written */
	size_t len, cap;
	bool failed;
};

void strbuf_init(struct strbuf *b);
void strbuf_free(struct strbuf *b);
void strbuf_puts(struct strbuf *b, const char *s);
void strbuf_putc(struct strbuf *b, char c);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s inside a libconfig (or C) string literal: quotes, backslashes and control bytes escaped. */
void strbuf_escape(struct strbuf *b, const char *s);

#endif
