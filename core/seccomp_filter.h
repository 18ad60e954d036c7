/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building ember's seccomp filters with libseccomp, one per thread kind, from ember's baseline
 * for that kind plus what the loaded plugins declare (ember/sandbox.h):
 * - SECCOMP_EVENT_LOOP: the main thread from just before the event loop runs (guest-driven
 *   callbacks, then teardown: device destroy, joins, unmapping); EMBER_THREAD_EVENT_LOOP rules;
 * - SECCOMP_VCPU: each vCPU thread from before its first KVM_RUN; EMBER_THREAD_VCPU rules;
 * - SECCOMP_PLUGIN_THREAD: a thread one plugin started with thread_start, from before its
 *   function runs; that plugin's EMBER_THREAD_OWN rules only.
 * A thread started from an op or callback (after the guest started) is also under its
 * creator's filter (filters stack and are inherited), so the event-loop and vCPU filters also
 * allow every plugin's EMBER_THREAD_OWN rules: such a thread's effective rules stay those of
 * its plugin-thread filter.
 *
 * Everything else traps (SIGSYS, reported by seccomp_install.c) except clone3, which fails with
 * ENOSYS so that glibc falls back to clone, whose flags the filter can check (threads only).
 * Argument rules: ioctl request numbers, socket families, signal targets and clock ids are
 * compared on their low 32 bits (the kernel ignores the upper half); mmap and mprotect never
 * with PROT_EXEC (also added to a plugin's mmap/mprotect rule that does not test argument 2);
 * tgkill and kill only to ember's own process.
 *
 * Threads: main thread, before the guest runs. Errors: -1 with one line in err.
 */
#ifndef EMBER_SECCOMP_FILTER_H
#define EMBER_SECCOMP_FILTER_H

#include <ember/sandbox.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin_loader.h"
#include "seccomp_install.h"

enum seccomp_kind {
	SECCOMP_EVENT_LOOP,
	SECCOMP_VCPU,
	SECCOMP_PLUGIN_THREAD,
};

/* One plugin's declarations (normalized, as plugin_tables.c keeps them). */
struct seccomp_source {
	const char *plugin;			/* its name, for messages */
	const struct ember_syscall_rule *rules; /* count entries */
	const int *nrs;				/* per rule, the resolved syscall number */
	uint32_t count;
};

/*
 * Rule sets beyond the baseline that the embedding asks for (bit flags, "extras" below).
 * SECCOMP_EXTRA_API: the event loop serves a control plane (vm_run_hooks.api_syscalls):
 * accept4, recvfrom, sendto, recvmsg, sendmsg, setsockopt, getsockopt, shutdown, fcntl,
 * epoll_ctl, epoll_wait, epoll_pwait, write, writev, close, openat (the api_syscalls table in
 * seccomp_filter.c). No other filter changes.
 */
#define SECCOMP_EXTRA_API 0x1u

/* The source of plugin p. */
struct seccomp_source seccomp_source_of(const struct plugin *p);

/*
 * Compiles the filter of kind from the baseline and the rules of sources[0..count) that apply
 * to kind. tgid is the process signals may go to (getpid()). Returns 0 with *out set (free with
 * seccomp_prog_free), or -1 with one line in err.
 */
int seccomp_filter_build(enum seccomp_kind kind, const struct seccomp_source *sources, size_t count,
			 int tgid, struct seccomp_prog *out, char *err, size_t err_size);
/* The same with the extra rule sets in extras (SECCOMP_EXTRA_*). */
int seccomp_filter_build_extra(enum seccomp_kind kind, unsigned extras,
			       const struct seccomp_source *sources, size_t count, int tgid,
			       struct seccomp_prog *out, char *err, size_t err_size);
/* The same filter as libseccomp's readable pseudo-code (PFC), written to fd (tests, debugging). */
int seccomp_filter_export_pfc(enum seccomp_kind kind, const struct seccomp_source *sources,
			      size_t count, int tgid, int fd, char *err, size_t err_size);
int seccomp_filter_export_pfc_extra(enum seccomp_kind kind, unsigned extras,
				    const struct seccomp_source *sources, size_t count, int tgid,
				    int fd, char *err, size_t err_size);
void seccomp_prog_free(struct seccomp_prog *prog);

/* "event-loop", "vcpu", "plugin-thread". */
const char *seccomp_kind_name(enum seccomp_kind kind);

/*
 * Every syscall name of this architecture by number, for the SIGSYS report (built on the first
 * call; the table lives as long as the process). Sets *count to the table's length.
 */
const char *const *seccomp_syscall_names(size_t *count);

/* The VM's filters: one for the event loop, one for every vCPU, one per device's own threads. */
struct seccomp_filters {
	struct seccomp_prog event_loop;
	struct seccomp_prog vcpu;
	struct seccomp_prog *threads; /* per device, in config order */
	size_t thread_count;
};

/*
 * Builds all of them for the devices whose plugins are plugins[0..count) (one per device) and
 * installs the SIGSYS reporter. Logs each filter's size at debug level. Returns 0, or -1 after
 * logging one line.
 */
int seccomp_filters_build(struct seccomp_filters *f, const struct plugin *const *plugins,
			  size_t count);
/* The same with the extra rule sets in extras (SECCOMP_EXTRA_*) on the filters they touch. */
int seccomp_filters_build_extra(struct seccomp_filters *f, const struct plugin *const *plugins,
				size_t count, unsigned extras);
void seccomp_filters_free(struct seccomp_filters *f);

/*
 * After the devices are created, before the vCPUs start: every thread but the main one must
 * already be filtered (thread_start threads are when thread_start returns). A thread a plugin
 * started in create with its own pthread_create and left running is not: returns -1 with one
 * line naming it in err, else 0. Without /proc (a jail) there is nothing to read: 0.
 */
int seccomp_check_threads(char *err, size_t err_size);

#endif
