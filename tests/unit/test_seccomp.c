/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seccomp filters (core/seccomp_filter.c, core/seccomp_install.c): which rules each thread
 * kind gets when two plugins' declarations are merged with the baseline, and the argument rules
 * in force: each of those runs in a child that installs a filter, so a trap ends only the child,
 * whose exit status and report line are checked.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugin_loader.h"
#include "seccomp_filter.h"
#include "vm_stop.h"

#define PLUGIN_DIR EMBER_BUILD_ROOT "/plugins"

/* Plugin "alpha": getpriority on the event loop, sched_getaffinity in its own threads. */
static const struct ember_syscall_rule alpha_rules[] = {
    EMBER_SYSCALL("getpriority", EMBER_THREAD_EVENT_LOOP),
    EMBER_SYSCALL("sched_getaffinity", EMBER_THREAD_OWN),
};
/* Plugin "beta": socket(AF_UNIX) on vCPU threads. */
static const struct ember_syscall_rule beta_rules[] = {
    EMBER_SYSCALL_ARG_EQ("socket", EMBER_THREAD_VCPU, 0, AF_UNIX),
};
static int alpha_nrs[2], beta_nrs[1];
static struct seccomp_source sources[2];

static void setup_sources(void)
{
	alpha_nrs[0] = SCMP_SYS(getpriority);
	alpha_nrs[1] = SCMP_SYS(sched_getaffinity);
	beta_nrs[0] = SCMP_SYS(socket);
	sources[0] = (struct seccomp_source){"alpha", alpha_rules, alpha_nrs, 2};
	sources[1] = (struct seccomp_source){"beta", beta_rules, beta_nrs, 1};
}

/* The filter of kind as libseccomp's pseudo-code. */
static char *pfc(enum seccomp_kind kind, const struct seccomp_source *src, size_t n)
{
	char err[256], *text;
	int fd = memfd_create("pfc", MFD_CLOEXEC);
	off_t size;

	cr_assert_geq(fd, 0);
	cr_assert_eq(seccomp_filter_export_pfc(kind, src, n, getpid(), fd, err, sizeof(err)), 0,
		     "%s", err);
	size = lseek(fd, 0, SEEK_END);
	text = calloc(1, (size_t)size + 1);
	cr_assert_not_null(text);
	cr_assert_eq(pread(fd, text, (size_t)size, 0), size);
	close(fd);
	return text;
}

static bool has_syscall(const char *text, const char *name)
{
	char want[80];

	snprintf(want, sizeof(want), "# filter for syscall \"%s\"", name);
	return strstr(text, want) != NULL;
}

Test(seccomp, declarations_merge_per_thread_kind, .init = setup_sources)
{
	char *loop = pfc(SECCOMP_EVENT_LOOP, sources, 2);
	char *vcpu = pfc(SECCOMP_VCPU, sources, 2);
	char *thread = pfc(SECCOMP_PLUGIN_THREAD, &sources[0], 1);

	/* The baseline is everywhere; each kind has its own part. */
	cr_expect(has_syscall(loop, "futex") && has_syscall(vcpu, "futex") &&
		  has_syscall(thread, "futex"));
	cr_expect(has_syscall(loop, "epoll_wait"));
	cr_expect(!has_syscall(vcpu, "epoll_wait"));
	cr_expect(!has_syscall(thread, "epoll_ctl"));
	/* alpha's event-loop rule is on the event loop only, beta's vCPU rule on vCPUs only. */
	cr_expect(has_syscall(loop, "getpriority"));
	cr_expect(!has_syscall(vcpu, "getpriority"), "an EVENT_LOOP rule reached the vCPU filter");
	cr_expect(has_syscall(vcpu, "socket"));
	cr_expect(!has_syscall(loop, "socket"), "a VCPU rule reached the event-loop filter");
	/* OWN rules: the plugin's threads, and the creators' filters (threads inherit them). */
	cr_expect(has_syscall(thread, "sched_getaffinity"));
	cr_expect(has_syscall(loop, "sched_getaffinity") && has_syscall(vcpu, "sched_getaffinity"));
	cr_expect(!has_syscall(thread, "getpriority") && !has_syscall(thread, "socket"));
	free(loop);
	free(vcpu);
	free(thread);
}

/* The bundled plugins' declarations load and compile; the sizes are in the test's log. */
Test(seccomp, bundled_plugins_compile)
{
	static const char *const names[] = {"virtio-blk", "virtio-rng", "pvpanic", "vmclock"};
	const struct plugin *plugins[4];
	struct plugin *p[4];
	struct seccomp_filters f;
	char err[512];

	for (size_t i = 0; i < 4; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s.so", PLUGIN_DIR, names[i]);
		cr_assert_eq(plugin_load_file(path, &p[i], err, sizeof(err)), 0, "%s", err);
		plugins[i] = p[i];
	}
	cr_assert_eq(seccomp_filters_build(&f, plugins, 4), 0);
	cr_expect_eq(f.thread_count, 4);
	cr_log_info("BPF instructions: event-loop %u, vcpu %u", f.event_loop.len, f.vcpu.len);
	for (size_t i = 0; i < 4; i++) {
		cr_expect_gt(f.threads[i].len, 0);
		cr_log_info("BPF instructions: plugin-thread of %s %u", names[i], f.threads[i].len);
	}
	cr_expect_lt(f.event_loop.len, BPF_MAXINSNS);
	seccomp_filters_free(&f);
	{
		struct seccomp_filters none;

		cr_assert_eq(seccomp_filters_build(&none, NULL, 0), 0);
		cr_log_info("BPF instructions without plugins: event-loop %u, vcpu %u",
			    none.event_loop.len, none.vcpu.len);
		seccomp_filters_free(&none);
	}
	for (size_t i = 0; i < 4; i++)
		plugin_unload(p[i]);
}

Test(seccomp, report_line_names_the_syscall)
{
	char line[256];
	size_t count;
	const char *const *names = seccomp_syscall_names(&count);

	seccomp_report_init(names, count);
	seccomp_thread_set("vcpu0");
	seccomp_device_enter("blk0", "virtio-blk");
	seccomp_report_format(line, sizeof(line), SCMP_SYS(socket));
	cr_expect_str_eq(line, "ember: error: seccomp: thread vcpu0 (device blk0, plugin "
			       "virtio-blk) made a forbidden syscall: socket (41); ember stops\n");
	seccomp_device_leave();
	seccomp_report_format(line, sizeof(line), 100000);
	cr_expect_str_eq(line, "ember: error: seccomp: thread vcpu0 made a forbidden syscall: "
			       "unknown (100000); ember stops\n");
}

/* The calls a child makes under a filter. */
enum probe {
	PROBE_DECLARED,	    /* getpriority: alpha declared it for the event loop */
	PROBE_UNDECLARED,   /* socket on the event loop: only beta's vCPUs may */
	PROBE_MMAP_RW,	    /* mmap without PROT_EXEC */
	PROBE_MMAP_EXEC,    /* mmap with PROT_EXEC */
	PROBE_IOCTL_LISTED, /* KVM_IRQ_LINE with garbage in the upper half: the low 32 bits count */
	PROBE_IOCTL_OTHER,  /* an ioctl the event loop does not use */
	PROBE_KILL_SELF,    /* kill(getpid(), 0) */
	PROBE_KILL_OTHER,   /* kill(parent, 0) */
	PROBE_CLONE3,	    /* clone3: ENOSYS, so glibc uses clone */
	PROBE_DEVICE,	    /* forbidden inside a device's op: the report names it */
};

/* Runs probe in a child under the event-loop filter; returns its status and report line. */
static int run_probe(enum probe probe, char *report, size_t size)
{
	int pipefd[2], status;
	pid_t pid;
	ssize_t n;

	setup_sources();
	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct seccomp_prog prog;
		char err[256];
		size_t count;
		const char *const *names = seccomp_syscall_names(&count);
		pid_t parent = getppid();
		void *m;
		long rc = 0;

		dup2(pipefd[1], STDERR_FILENO);
		if (seccomp_filter_build(SECCOMP_EVENT_LOOP, sources, 2, getpid(), &prog, err,
					 sizeof(err)) ||
		    seccomp_report_init(names, count))
			_exit(90);
		seccomp_thread_set("main");
		if (seccomp_install(&prog))
			_exit(91);
		switch (probe) {
		case PROBE_DECLARED:
			errno = 0;
			rc = getpriority(PRIO_PROCESS, 0) == -1 && errno ? -1 : 0;
			break;
		case PROBE_UNDECLARED:
			rc = socket(AF_INET, SOCK_DGRAM, 0);
			break;
		case PROBE_MMAP_RW:
		case PROBE_MMAP_EXEC:
			m = mmap(NULL, 4096,
				 PROT_READ | (probe == PROBE_MMAP_EXEC ? PROT_EXEC : PROT_WRITE),
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			rc = m == MAP_FAILED ? -1 : 0;
			break;
		case PROBE_IOCTL_LISTED:
			rc = syscall(SYS_ioctl, -1, (1ul << 32) | KVM_IRQ_LINE, 0) == -1 &&
				     errno == EBADF
				 ? 0
				 : -1;
			break;
		case PROBE_IOCTL_OTHER:
			rc = ioctl(-1, FIONREAD, NULL);
			break;
		case PROBE_KILL_SELF:
			rc = kill(getpid(), 0);
			break;
		case PROBE_KILL_OTHER:
			rc = kill(parent, 0);
			break;
		case PROBE_CLONE3:
			rc = syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS ? 0 : -1;
			break;
		case PROBE_DEVICE:
			seccomp_device_enter("rng0", "virtio-rng");
			rc = socket(AF_INET, SOCK_DGRAM, 0);
			break;
		}
		_exit(rc < 0 ? 1 : 0);
	}
	close(pipefd[1]);
	n = read(pipefd[0], report, size - 1);
	report[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "the child did not exit (status %#x)", status);
	return WEXITSTATUS(status);
}

static void expect_allowed(enum probe probe)
{
	char report[512];

	cr_expect_eq(run_probe(probe, report, sizeof(report)), 0, "probe %d: %s", probe, report);
	cr_expect_str_empty(report);
}

static void expect_trapped(enum probe probe, const char *syscall_part)
{
	char report[512], want[160];

	cr_expect_eq(run_probe(probe, report, sizeof(report)), EMBER_EXIT_SECCOMP, "probe %d: %s",
		     probe, report);
	snprintf(want, sizeof(want),
		 "ember: error: seccomp: thread main made a forbidden syscall: %s; ember stops\n",
		 syscall_part);
	cr_expect_str_eq(report, want);
}

Test(seccomp, declared_syscall_allowed)
{
	expect_allowed(PROBE_DECLARED);
}

Test(seccomp, undeclared_syscall_traps)
{
	expect_trapped(PROBE_UNDECLARED, "socket (41)");
}

Test(seccomp, mmap_without_exec_only)
{
	expect_allowed(PROBE_MMAP_RW);
	expect_trapped(PROBE_MMAP_EXEC, "mmap (9)");
}

Test(seccomp, ioctl_by_low_32_bits_of_the_number)
{
	expect_allowed(PROBE_IOCTL_LISTED);
	expect_trapped(PROBE_IOCTL_OTHER, "ioctl (16)");
}

Test(seccomp, signals_only_to_own_process)
{
	expect_allowed(PROBE_KILL_SELF);
	expect_trapped(PROBE_KILL_OTHER, "kill (62)");
}

Test(seccomp, clone3_answers_enosys)
{
	expect_allowed(PROBE_CLONE3);
}

Test(seccomp, report_names_the_device_and_plugin)
{
	char report[512];

	cr_expect_eq(run_probe(PROBE_DEVICE, report, sizeof(report)), EMBER_EXIT_SECCOMP);
	cr_expect_str_eq(report,
			 "ember: error: seccomp: thread main (device rng0, plugin "
			 "virtio-rng) made a forbidden syscall: socket (41); ember stops\n");
}

/* The control plane's set (SECCOMP_EXTRA_API): on the event loop, and only when asked for. */
Test(seccomp, api_syscalls_only_on_request, .init = setup_sources)
{
	static const char *const api[] = {"accept4", "recvfrom",   "sendto",	 "recvmsg",
					  "sendmsg", "setsockopt", "getsockopt", "shutdown",
					  "fcntl",   "unlink"};
	char err[256], *plain, *with, *vcpu;
	int fd[3];

	for (int i = 0; i < 3; i++)
		cr_assert_geq(fd[i] = memfd_create("pfc", MFD_CLOEXEC), 0);
	cr_assert_eq(seccomp_filter_export_pfc(SECCOMP_EVENT_LOOP, sources, 2, getpid(), fd[0], err,
					       sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(seccomp_filter_export_pfc_extra(SECCOMP_EVENT_LOOP, SECCOMP_EXTRA_API, sources,
						     2, getpid(), fd[1], err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(seccomp_filter_export_pfc_extra(SECCOMP_VCPU, SECCOMP_EXTRA_API, sources, 2,
						     getpid(), fd[2], err, sizeof(err)),
		     0, "%s", err);
	{
		char *texts[3];

		for (int i = 0; i < 3; i++) {
			off_t size = lseek(fd[i], 0, SEEK_END);

			texts[i] = calloc(1, (size_t)size + 1);
			cr_assert_not_null(texts[i]);
			cr_assert_eq(pread(fd[i], texts[i], (size_t)size, 0), size);
			close(fd[i]);
		}
		plain = texts[0];
		with = texts[1];
		vcpu = texts[2];
	}
	for (size_t i = 0; i < sizeof(api) / sizeof(api[0]); i++) {
		cr_expect(has_syscall(with, api[i]), "%s missing with SECCOMP_EXTRA_API", api[i]);
		cr_expect(!has_syscall(plain, api[i]), "%s on the loop without the API", api[i]);
		cr_expect(!has_syscall(vcpu, api[i]), "%s reached the vCPU filter", api[i]);
	}
	free(plain);
	free(with);
	free(vcpu);
}

/*
 * Under the event-loop filter with the API set: the calls a control plane and pause/resume make
 * (bad fds: only the filter's verdict matters) run; without the set, accept4 traps.
 */
static int run_api_probe(unsigned extras)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct seccomp_prog prog;
		char err[256];
		size_t count;
		const char *const *names = seccomp_syscall_names(&count);
		int ok = 1;

		if (seccomp_filter_build_extra(SECCOMP_EVENT_LOOP, extras, sources, 2, getpid(),
					       &prog, err, sizeof(err)) ||
		    seccomp_report_init(names, count))
			_exit(90);
		/* The report would go to the test's stderr: not needed, the status says it. */
		close(STDERR_FILENO);
		if (seccomp_install(&prog))
			_exit(91);
		ok &= ioctl(-1, KVM_SET_CLOCK, NULL) == -1 && errno == EBADF;
		ok &= ioctl(-1, KVM_KVMCLOCK_CTRL, 0) == -1 && errno == EBADF;
		ok &= ioctl(-1, KVM_GET_CLOCK, NULL) == -1 && errno == EBADF;
		ok &= accept4(-1, NULL, NULL, SOCK_CLOEXEC) == -1 && errno == EBADF;
		ok &= shutdown(-1, SHUT_RDWR) == -1 && errno == EBADF;
		_exit(ok ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "the child did not exit (status %#x)", status);
	return WEXITSTATUS(status);
}

Test(seccomp, api_syscalls_run_under_the_loop_filter, .init = setup_sources)
{
	cr_expect_eq(run_api_probe(SECCOMP_EXTRA_API), 0);
	cr_expect_eq(run_api_probe(0), EMBER_EXIT_SECCOMP, "accept4 allowed without the API set");
}
