/* SPDX-License-Identifier: Apache-2.0 */
#include "seccomp_filter.h"

#include <dirent.h>
#include <errno.h>
#include <linux/falloc.h>
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Which filters a baseline rule is in. */
#define ON_LOOP	  0x1u
#define ON_VCPU	  0x2u
#define ON_THREAD 0x4u
#define ON_OPS	  (ON_LOOP | ON_VCPU) /* where plugin ops and callbacks run */
#define ON_ALL	  (ON_LOOP | ON_VCPU | ON_THREAD)

#define LOW32 0xffffffffu
#define IOCTL(req)                                                                               \
	{                                                                                        \
		.arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = LOW32, .datum_b = (uint32_t)(req) \
	}
#define NO_EXEC                                                                        \
	{                                                                              \
		.arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = PROT_EXEC, .datum_b = 0 \
	}

struct base_rule {
	const char *name;
	unsigned on;
	unsigned argc;
	struct scmp_arg_cmp arg;
};

/*
 * What ember itself does on each kind of thread once the guest runs. Host services a plugin may
 * call from any op or callback (logging, guest memory, queues, watches, timers, clocks, irq) are
 * on every thread that runs ops; plugin threads get only what their services need (log,
 * irq_set, clock_ns, clock_pair) and the thread's own start and end.
 */
static const struct base_rule baseline[] = {
    /* memory, threads, time, signals: glibc itself (malloc, locks, thread start and exit) */
    {"read", ON_ALL, 0, {0}},
    {"write", ON_ALL, 0, {0}},
    {"poll", ON_ALL, 0, {0}}, /* log.c waits for room on stderr */
    {"readv", ON_ALL, 0, {0}},
    {"writev", ON_ALL, 0, {0}},
    {"close", ON_ALL, 0, {0}},
    {"futex", ON_ALL, 0, {0}},
    {"set_robust_list", ON_ALL, 0, {0}},
    {"rseq", ON_ALL, 0, {0}},
    {"sched_yield", ON_ALL, 0, {0}},
    {"mmap", ON_ALL, 1, NO_EXEC},
    {"mprotect", ON_ALL, 1, NO_EXEC},
    {"munmap", ON_ALL, 0, {0}},
    {"madvise", ON_ALL, 0, {0}},
    {"mremap", ON_ALL, 0, {0}},
    {"brk", ON_ALL, 0, {0}},
    {"rt_sigprocmask", ON_ALL, 0, {0}},
    {"rt_sigreturn", ON_ALL, 0, {0}},
    {"sigaltstack", ON_ALL, 0, {0}}, /* sanitizer runtimes, on signal delivery */
    {"getpid", ON_ALL, 0, {0}},
    {"gettid", ON_ALL, 0, {0}},
    {"clock_gettime", ON_ALL, 0, {0}},
    {"gettimeofday", ON_ALL, 0, {0}},
    {"clock_nanosleep", ON_ALL, 0, {0}},
    {"nanosleep", ON_ALL, 0, {0}},
    {"exit", ON_ALL, 0, {0}},
    {"exit_group", ON_ALL, 0, {0}},
    {"restart_syscall", ON_ALL, 0, {0}},
    /* thread_start from an op or a plugin thread: threads only (clone3 answers ENOSYS) */
    {"clone",
     ON_ALL,
     1,
     {.arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = CLONE_THREAD, .datum_b = CLONE_THREAD}},
    /* clock_pair (any thread): KVM_GET_CLOCK, and adjtimex's read of the TAI offset */
    {"ioctl", ON_ALL, 1, IOCTL(KVM_GET_CLOCK)},
    {"clock_adjtime",
     ON_ALL,
     1,
     {.arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = LOW32, .datum_b = CLOCK_REALTIME}},
    /* watches and timers (event_loop.c, vm_devices.c), the UART's and i8042's interrupt */
    {"epoll_ctl", ON_OPS, 0, {0}},
    {"timerfd_create", ON_OPS, 0, {0}},
    {"timerfd_settime", ON_OPS, 0, {0}},
    {"ioctl", ON_OPS, 1, IOCTL(KVM_IRQ_LINE)},
    /* mem_discard on a memfd backing (guest_mem.c): holes only, never a size change */
    {"fallocate",
     ON_OPS,
     1,
     {.arg = 1,
      .op = SCMP_CMP_MASKED_EQ,
      .datum_a = LOW32,
      .datum_b = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE}},
    /* vCPU threads: KVM_RUN, and the registers for the message of a vCPU that cannot go on */
    {"ioctl", ON_VCPU, 1, IOCTL(KVM_RUN)},
    {"ioctl", ON_VCPU, 1, IOCTL(KVM_GET_REGS)},
    {"ioctl", ON_VCPU, 1, IOCTL(KVM_GET_SREGS)},
    /* the event loop, and teardown on the same thread: unwiring devices, the terminal back */
    {"epoll_wait", ON_LOOP, 0, {0}},
    {"epoll_pwait", ON_LOOP, 0, {0}},
    {"ioctl", ON_LOOP, 1, IOCTL(KVM_IRQFD)},
    {"ioctl", ON_LOOP, 1, IOCTL(KVM_IOEVENTFD)},
    {"ioctl", ON_LOOP, 1, IOCTL(KVM_SET_USER_MEMORY_REGION)},
    /* pause and resume (vm_control.c): kvmclock put back, and each vCPU told it was paused */
    {"ioctl", ON_LOOP, 1, IOCTL(KVM_SET_CLOCK)},
    {"ioctl", ON_LOOP, 1, IOCTL(KVM_KVMCLOCK_CTRL)},
    {"ioctl", ON_LOOP, 1, IOCTL(TCGETS)},
    {"ioctl", ON_LOOP, 1, IOCTL(TCSETS)},
    {"ioctl", ON_LOOP, 1, IOCTL(TCSETSW)},
    {"ioctl", ON_LOOP, 1, IOCTL(TCSETSF)},
};

/*
 * SECCOMP_EXTRA_API: what a control plane serving requests on the event loop needs once its
 * listening socket exists (created before the filter, in the started hook): accepting and
 * talking on connections, socket options, non-blocking fds, watching them, writing answers and
 * metrics lines, and removing the socket file at the end. Some are in the baseline already; they
 * are listed anyway so that this list alone says what the control plane relies on.
 */
static const struct base_rule api_syscalls[] = {
    /* connections on the listening socket */
    {"accept4", ON_LOOP, 0, {0}},
    {"recvfrom", ON_LOOP, 0, {0}},
    {"sendto", ON_LOOP, 0, {0}},
    {"recvmsg", ON_LOOP, 0, {0}},
    {"sendmsg", ON_LOOP, 0, {0}},
    {"setsockopt", ON_LOOP, 0, {0}},
    {"getsockopt", ON_LOOP, 0, {0}},
    {"shutdown", ON_LOOP, 0, {0}},
    {"fcntl", ON_LOOP, 0, {0}}, /* O_NONBLOCK on accepted fds */
    /* watching them on the loop */
    {"epoll_ctl", ON_LOOP, 0, {0}},
    {"epoll_wait", ON_LOOP, 0, {0}},
    {"epoll_pwait", ON_LOOP, 0, {0}},
    /* replies and metrics lines (the files are opened before boot) */
    {"write", ON_LOOP, 0, {0}},
    {"writev", ON_LOOP, 0, {0}},
    {"close", ON_LOOP, 0, {0}},
    /* the socket file, removed when ember ends (teardown runs under this filter) */
    {"unlink", ON_LOOP, 0, {0}},
    {"unlinkat", ON_LOOP, 0, {0}},
};

/* Arguments the kernel reads as 32-bit ints: a plugin's EQ/NE test on them ignores the rest. */
static bool arg_is_32bit(const char *name, uint32_t index)
{
	static const struct {
		const char *name;
		uint32_t args; /* bit i: argument i */
	} ints[] = {
	    {"ioctl", 0x3},	 {"socket", 0x7},	 {"socketpair", 0x7},
	    {"fcntl", 0x3},	 {"kill", 0x3},		 {"tgkill", 0x7},
	    {"tkill", 0x3},	 {"prctl", 0x1},	 {"setsockopt", 0x7},
	    {"getsockopt", 0x7}, {"clock_adjtime", 0x1}, {"clock_gettime", 0x1},
	};

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (!strcmp(ints[i].name, name))
			return (ints[i].args >> index) & 1u;
	return false;
}

static unsigned kind_bit(enum seccomp_kind kind)
{
	switch (kind) {
	case SECCOMP_EVENT_LOOP:
		return ON_LOOP;
	case SECCOMP_VCPU:
		return ON_VCPU;
	case SECCOMP_PLUGIN_THREAD:
		return ON_THREAD;
	}
	return 0;
}

/* The EMBER_THREAD_* bits whose rules go into kind's filter (see the header on stacking). */
static uint32_t kind_threads(enum seccomp_kind kind)
{
	switch (kind) {
	case SECCOMP_EVENT_LOOP:
		return EMBER_THREAD_EVENT_LOOP | EMBER_THREAD_OWN;
	case SECCOMP_VCPU:
		return EMBER_THREAD_VCPU | EMBER_THREAD_OWN;
	case SECCOMP_PLUGIN_THREAD:
		return EMBER_THREAD_OWN;
	}
	return 0;
}

const char *seccomp_kind_name(enum seccomp_kind kind)
{
	switch (kind) {
	case SECCOMP_EVENT_LOOP:
		return "event-loop";
	case SECCOMP_VCPU:
		return "vcpu";
	case SECCOMP_PLUGIN_THREAD:
		return "plugin-thread";
	}
	return "?";
}

struct seccomp_source seccomp_source_of(const struct plugin *p)
{
	return (struct seccomp_source){
	    .plugin = p->desc.name,
	    .rules = p->desc.syscall_count ? p->desc.syscalls : NULL,
	    .nrs = p->syscall_nrs,
	    .count = p->desc.syscall_count,
	};
}

/* The rules of table[0..n) that are on kind's filter. */
static int add_rules(scmp_filter_ctx ctx, enum seccomp_kind kind, const struct base_rule *table,
		     size_t n, char *err, size_t err_size)
{
	unsigned bit = kind_bit(kind);
	int rc;

	for (size_t i = 0; i < n; i++) {
		const struct base_rule *b = &table[i];
		int nr = seccomp_syscall_resolve_name(b->name);

		if (!(b->on & bit))
			continue;
		if (nr == __NR_SCMP_ERROR) {
			snprintf(err, err_size, "seccomp: no syscall %s on this architecture",
				 b->name);
			return -1;
		}
		rc = b->argc ? seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &b->arg)
			     : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc < 0) {
			snprintf(err, err_size, "seccomp: baseline rule for %s: %s", b->name,
				 strerror(-rc));
			return -1;
		}
	}
	return 0;
}

static int add_base(scmp_filter_ctx ctx, enum seccomp_kind kind, unsigned extras, int tgid,
		    char *err, size_t err_size)
{
	const struct scmp_arg_cmp own = {
	    .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = LOW32, .datum_b = (uint32_t)tgid};
	int rc;

	if (add_rules(ctx, kind, baseline, sizeof(baseline) / sizeof(baseline[0]), err, err_size))
		return -1;
	if ((extras & SECCOMP_EXTRA_API) &&
	    add_rules(ctx, kind, api_syscalls, sizeof(api_syscalls) / sizeof(api_syscalls[0]), err,
		      err_size))
		return -1;
	/* Signals only to ember itself: vCPU kicks (pthread_kill), raise and abort. */
	rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, &own);
	if (!rc)
		rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, &own);
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc < 0) {
		snprintf(err, err_size, "seccomp: baseline signal rules: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

static int add_plugin_rule(scmp_filter_ctx ctx, const struct seccomp_source *s,
			   const struct ember_syscall_rule *r, int nr, char *err, size_t err_size)
{
	struct scmp_arg_cmp cmp[EMBER_SYSCALL_MAX_ARGS + 1];
	unsigned n = 0;
	bool tests_prot = false;
	int rc;

	for (uint32_t i = 0; i < r->arg_count && i < EMBER_SYSCALL_MAX_ARGS; i++) {
		const struct ember_syscall_arg *a = &r->args[i];
		bool low32 = arg_is_32bit(r->name, a->index);
		struct scmp_arg_cmp c = {.arg = a->index, .datum_a = a->value};

		tests_prot |= a->index == 2;
		switch (a->op) {
		case EMBER_ARG_EQ:
		case EMBER_ARG_NE:
			if (low32) {
				c.op = a->op == EMBER_ARG_EQ ? SCMP_CMP_MASKED_EQ : SCMP_CMP_NE;
				c.datum_a = a->op == EMBER_ARG_EQ ? LOW32 : a->value;
				c.datum_b = a->op == EMBER_ARG_EQ ? (uint32_t)a->value : 0;
			} else {
				c.op = a->op == EMBER_ARG_EQ ? SCMP_CMP_EQ : SCMP_CMP_NE;
			}
			break;
		case EMBER_ARG_LE:
			c.op = SCMP_CMP_LE;
			break;
		default: /* EMBER_ARG_MASKED_EQ (plugin_tables.c refused anything else) */
			c.op = SCMP_CMP_MASKED_EQ;
			c.datum_a = a->mask;
			c.datum_b = a->value;
			break;
		}
		cmp[n++] = c;
	}
	if (!tests_prot && (!strcmp(r->name, "mmap") || !strcmp(r->name, "mprotect")))
		cmp[n++] = (struct scmp_arg_cmp)NO_EXEC;
	rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
	if (rc < 0) {
		snprintf(err, err_size, "seccomp: plugin %s: rule for %s: %s", s->plugin, r->name,
			 strerror(-rc));
		return -1;
	}
	return 0;
}

static scmp_filter_ctx build_ctx(enum seccomp_kind kind, unsigned extras,
				 const struct seccomp_source *sources, size_t count, int tgid,
				 char *err, size_t err_size)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	uint32_t want = kind_threads(kind);

	if (!ctx) {
		snprintf(err, err_size, "seccomp: cannot start a filter (out of memory)");
		return NULL;
	}
	if (add_base(ctx, kind, extras, tgid, err, err_size))
		goto fail;
	for (size_t i = 0; i < count; i++) {
		const struct seccomp_source *s = &sources[i];

		for (uint32_t j = 0; j < s->count; j++)
			if ((s->rules[j].threads & want) &&
			    add_plugin_rule(ctx, s, &s->rules[j], s->nrs[j], err, err_size))
				goto fail;
	}
	return ctx;
fail:
	seccomp_release(ctx);
	return NULL;
}

int seccomp_filter_build(enum seccomp_kind kind, const struct seccomp_source *sources, size_t count,
			 int tgid, struct seccomp_prog *out, char *err, size_t err_size)
{
	return seccomp_filter_build_extra(kind, 0, sources, count, tgid, out, err, err_size);
}

int seccomp_filter_build_extra(enum seccomp_kind kind, unsigned extras,
			       const struct seccomp_source *sources, size_t count, int tgid,
			       struct seccomp_prog *out, char *err, size_t err_size)
{
	scmp_filter_ctx ctx = build_ctx(kind, extras, sources, count, tgid, err, err_size);
	int fd = -1, rc;
	struct stat st;
	void *buf = NULL;

	*out = (struct seccomp_prog){0};
	if (!ctx)
		return -1;
	fd = memfd_create("ember-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		snprintf(err, err_size, "seccomp: memfd_create: %s", strerror(errno));
		goto fail;
	}
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % (off_t)sizeof(struct sock_filter) ||
	    st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		snprintf(err, err_size, "seccomp: cannot compile the %s filter: %s",
			 seccomp_kind_name(kind), rc < 0 ? strerror(-rc) : "bad size");
		goto fail;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf || pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		snprintf(err, err_size, "seccomp: cannot read the compiled %s filter",
			 seccomp_kind_name(kind));
		goto fail;
	}
	out->insns = buf;
	out->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
	close(fd);
	seccomp_release(ctx);
	return 0;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return -1;
}

int seccomp_filter_export_pfc(enum seccomp_kind kind, const struct seccomp_source *sources,
			      size_t count, int tgid, int fd, char *err, size_t err_size)
{
	return seccomp_filter_export_pfc_extra(kind, 0, sources, count, tgid, fd, err, err_size);
}

int seccomp_filter_export_pfc_extra(enum seccomp_kind kind, unsigned extras,
				    const struct seccomp_source *sources, size_t count, int tgid,
				    int fd, char *err, size_t err_size)
{
	scmp_filter_ctx ctx = build_ctx(kind, extras, sources, count, tgid, err, err_size);
	int rc;

	if (!ctx)
		return -1;
	rc = seccomp_export_pfc(ctx, fd);
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, err_size, "seccomp: cannot export the %s filter: %s",
			 seccomp_kind_name(kind), strerror(-rc));
		return -1;
	}
	return 0;
}

void seccomp_prog_free(struct seccomp_prog *prog)
{
	free(prog->insns);
	*prog = (struct seccomp_prog){0};
}

/* Above every x86-64 syscall number (the highest is in the 460s). */
#define SYSCALL_NAMES_MAX 512

const char *const *seccomp_syscall_names(size_t *count)
{
	static const char *names[SYSCALL_NAMES_MAX];
	static bool built;

	if (!built) {
		for (int nr = 0; nr < SYSCALL_NAMES_MAX; nr++)
			names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		built = true;
	}
	*count = SYSCALL_NAMES_MAX;
	return names;
}

int seccomp_filters_build(struct seccomp_filters *f, const struct plugin *const *plugins,
			  size_t count)
{
	return seccomp_filters_build_extra(f, plugins, count, 0);
}

int seccomp_filters_build_extra(struct seccomp_filters *f, const struct plugin *const *plugins,
				size_t count, unsigned extras)
{
	struct seccomp_source *all = calloc(count + 1, sizeof(*all));
	const char *const *names;
	size_t name_count;
	char err[512];
	int tgid = getpid(), rc;

	memset(f, 0, sizeof(*f));
	f->threads = calloc(count + 1, sizeof(*f->threads));
	if (!all || !f->threads) {
		free(all);
		free(f->threads);
		f->threads = NULL;
		log_error("seccomp: out of memory");
		return -1;
	}
	for (size_t i = 0; i < count; i++)
		all[i] = seccomp_source_of(plugins[i]);
	if (seccomp_filter_build_extra(SECCOMP_EVENT_LOOP, extras, all, count, tgid, &f->event_loop,
				       err, sizeof(err)) ||
	    seccomp_filter_build_extra(SECCOMP_VCPU, extras, all, count, tgid, &f->vcpu, err,
				       sizeof(err)))
		goto fail;
	log_debug("seccomp: event-loop filter %u BPF instructions, vcpu filter %u",
		  f->event_loop.len, f->vcpu.len);
	for (size_t i = 0; i < count; i++) {
		if (seccomp_filter_build(SECCOMP_PLUGIN_THREAD, &all[i], 1, tgid, &f->threads[i],
					 err, sizeof(err)))
			goto fail;
		f->thread_count = i + 1;
		log_debug("seccomp: plugin-thread filter of %s: %u BPF instructions", all[i].plugin,
			  f->threads[i].len);
	}
	names = seccomp_syscall_names(&name_count);
	rc = seccomp_report_init(names, name_count);
	if (rc) {
		snprintf(err, sizeof(err), "seccomp: cannot install the SIGSYS handler: %s",
			 strerror(-rc));
		goto fail;
	}
	free(all);
	return 0;
fail:
	log_error("%s", err);
	free(all);
	seccomp_filters_free(f);
	return -1;
}

/* Whether /proc/self/task/TID/status says Seccomp: 0; its Name into name. */
static bool thread_unfiltered(const char *tid, char *name, size_t size)
{
	char path[300], line[128];
	bool unfiltered = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	f = fopen(path, "re");
	if (!f)
		return false; /* gone meanwhile */
	snprintf(name, size, "?");
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Name:", 5))
			snprintf(name, size, "%.*s", (int)strcspn(line + 6, "\n"), line + 6);
		else if (!strncmp(line, "Seccomp:", 8))
			unfiltered = atoi(line + 8) == 0;
	}
	fclose(f);
	return unfiltered;
}

int seccomp_check_threads(char *err, size_t err_size)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char self[24], name[32];
	int rc = 0;

	if (!d) {
		/*
		 * No /proc at all (ember-jailer's jail mounts none): the check cannot run. A raw
		 * thread would still be refused outside the jail, where plugins are tested.
		 */
		if (errno == ENOENT && access("/proc/self", F_OK))
			return 0;
		snprintf(err, err_size, "seccomp: /proc/self/task: %s", strerror(errno));
		return -1;
	}
	snprintf(self, sizeof(self), "%d", getpid());
	while (!rc && (e = readdir(d))) {
		bool unfiltered = e->d_name[0] != '.' && strcmp(e->d_name, self);

		/* A thread joined a moment ago may still be listed while the kernel ends it. */
		for (int i = 0; unfiltered && i < 20; i++) {
			unfiltered = thread_unfiltered(e->d_name, name, sizeof(name));
			if (unfiltered && i < 19)
				nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
		}
		if (!unfiltered)
			continue;
		snprintf(err, err_size,
			 "seccomp: thread %s (%s) was started without thread_start and would run "
			 "unfiltered while the guest runs: a plugin must start its threads with "
			 "host->thread_start (or run with --no-seccomp)",
			 name, e->d_name);
		rc = -1;
	}
	closedir(d);
	return rc;
}

void seccomp_filters_free(struct seccomp_filters *f)
{
	seccomp_prog_free(&f->event_loop);
	seccomp_prog_free(&f->vcpu);
	for (size_t i = 0; i < f->thread_count; i++)
		seccomp_prog_free(&f->threads[i]);
	free(f->threads);
	memset(f, 0, sizeof(*f));
}
