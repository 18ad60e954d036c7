/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember's own messages go to stderr, one line each, prefixed "ember: " (stdout is the guest's
 * console). Safe from any thread: each message is written with a single write(2).
 */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level max);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
