/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Installing a compiled seccomp filter on the calling thread, and reporting a violation.
 *
 * A filter is built once, before the guest runs (seccomp_filter.h), into a BPF program; a
 * thread installs it on itself with seccomp_install (no libseccomp call, no allocation: the
 * trampoline of a plugin thread may do it at any time). Filters stack: a thread is limited by
 * every filter it installed and every filter its creator had when it was created.
 *
 * Anything a filter does not allow traps (SIGSYS). The handler seccomp_report_init installs
 * writes one line to stderr and ends ember with EMBER_EXIT_SECCOMP (vm_stop.h):
 *   ember: error: seccomp: thread vcpu0 (device root, plugin virtio-blk) made a forbidden
 *   syscall: socket (41); ember stops
 * The thread is named by seccomp_thread_set; the device is the one whose op or callback runs
 * on that thread right now (seccomp_device_enter/leave, set by plugin_instance.c around every
 * call into a plugin), else the owner of a plugin thread, else none. All of this is per thread
 * (thread-local, no locks) and async-signal-safe to read.
 *
 * Errors: seccomp_install and seccomp_report_init return 0 or a negative errno.
 */
#ifndef EMBER_SECCOMP_INSTALL_H
#define EMBER_SECCOMP_INSTALL_H

#include <linux/filter.h>
#include <stddef.h>

/* A compiled filter: what SECCOMP_SET_MODE_FILTER takes. */
struct seccomp_prog {
	struct sock_filter *insns; /* owned by whoever built it */
	unsigned short len;	   /* instructions */
};

/*
 * Sets no_new_privs and installs prog on the calling thread (without TSYNC: other threads are
 * not touched). Returns 0, or a negative errno (-EINVAL for an empty program).
 */
int seccomp_install(const struct seccomp_prog *prog);

/*
 * Installs the SIGSYS handler for the whole process. names[nr] is the name of syscall nr (NULL
 * where unknown); the table must outlive the process's threads (it is read in the handler).
 * Main thread, before any filter is installed.
 */
int seccomp_report_init(const char *const *names, size_t count);

/* The calling thread's name in reports ("main", "vcpu0", a plugin thread's name); copied. */
void seccomp_thread_set(const char *name);
/* A plugin thread: the device and plugin it belongs to (strings must outlive the thread). */
void seccomp_thread_owner(const char *device, const char *plugin);
/* Around each call into a plugin on this thread (strings must outlive the call). */
void seccomp_device_enter(const char *device, const char *plugin);
void seccomp_device_leave(void);

/* The report line for syscall nr on the calling thread, as the handler writes it (tests). */
size_t seccomp_report_format(char *out, size_t size, long nr);

#endif
