/* SPDX-License-Identifier: Apache-2.0 */
#include "seccomp_install.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vm_stop.h"

/* Who this thread is, for the report; read by the SIGSYS handler on the same thread. */
static _Thread_local char thread_name[16];
static _Thread_local const char *owner_device, *owner_plugin;
static _Thread_local const char *current_device, *current_plugin;

static const char *const *syscall_names;
static size_t syscall_name_count;

int seccomp_install(const struct seccomp_prog *prog)
{
	struct sock_fprog fprog;

	if (!prog || !prog->insns || !prog->len)
		return -EINVAL;
	fprog.len = prog->len;
	fprog.filter = prog->insns;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		return -errno;
	return 0;
}

void seccomp_thread_set(const char *name)
{
	size_t n = strlen(name);

	if (n >= sizeof(thread_name))
		n = sizeof(thread_name) - 1;
	memcpy(thread_name, name, n);
	thread_name[n] = '\0';
}

void seccomp_thread_owner(const char *device, const char *plugin)
{
	owner_device = device;
	owner_plugin = plugin;
}

void seccomp_device_enter(const char *device, const char *plugin)
{
	current_device = device;
	current_plugin = plugin;
}

void seccomp_device_leave(void)
{
	current_device = NULL;
	current_plugin = NULL;
}

/* Async-signal-safe string building: no stdio, no allocation. */
struct line {
	char *buf;
	size_t size, len;
};

static void put(struct line *l, const char *s)
{
	while (*s && l->len + 1 < l->size)
		l->buf[l->len++] = *s++;
	if (l->size)
		l->buf[l->len] = '\0';
}

static void put_num(struct line *l, long v)
{
	char digits[24];
	size_t i = sizeof(digits) - 1;
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;

	digits[i] = '\0';
	do
		digits[--i] = (char)('0' + u % 10);
	while ((u /= 10) && i > 1);
	if (v < 0)
		digits[--i] = '-';
	put(l, &digits[i]);
}

size_t seccomp_report_format(char *out, size_t size, long nr)
{
	struct line l = {out, size, 0};
	const char *dev = current_device ? current_device : owner_device;
	const char *plugin = current_device ? current_plugin : owner_plugin;
	const char *name = nr >= 0 && (size_t)nr < syscall_name_count ? syscall_names[nr] : NULL;

	put(&l, "ember: error: seccomp: thread ");
	put(&l, thread_name[0] ? thread_name : "unnamed");
	if (dev) {
		put(&l, " (device ");
		put(&l, dev);
		if (plugin) {
			put(&l, ", plugin ");
			put(&l, plugin);
		}
		put(&l, ")");
	}
	put(&l, " made a forbidden syscall: ");
	put(&l, name ? name : "unknown");
	put(&l, " (");
	put_num(&l, nr);
	put(&l, "); ember stops\n");
	return l.len;
}

static void on_sigsys(int sig, siginfo_t *info, void *uctx)
{
	char line[256];
	size_t n = seccomp_report_format(line, sizeof(line), info->si_syscall);
	const char *p = line;

	(void)sig;
	(void)uctx;
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
	_exit(EMBER_EXIT_SECCOMP);
}

int seccomp_report_init(const char *const *names, size_t count)
{
	struct sigaction sa;

	syscall_names = names;
	syscall_name_count = count;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}
