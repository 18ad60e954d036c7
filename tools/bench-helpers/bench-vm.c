/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-vm: start a VM monitor (ember or QEMU) N times at once and time the guests' consoles.
 * Built static by tools/bench, so that it also runs in a bare L1 (busybox + copied files).
 *
 *   bench-vm [-n N] [-m MARKER] [-t SECS] [-e ERRFILE] [-o OUTFILE] [-K]
 *            [-i IDLE_MARKER -g GUEST_MIB [-w WAIT_MS] [-s SAMPLES] [-p PERIOD_MS] [-v]] -- CMD
 * ARG...
 *
 * Each copy runs CMD with stdin = /dev/null, stdout = a pipe read here, stderr = ERRFILE
 * (ERRFILE.I for copy I when N > 1; /dev/null without -e). The clock (CLOCK_MONOTONIC) starts
 * just before each fork + exec. The first console line holding MARKER (default
 * "ember-guest: init", printed by the guest's /init as its first action) stops that copy's
 * clock; with -K the copy is then killed (SIGKILL), else it runs until it exits. Copies still
 * running after SECS (default 300) are killed. With -o, the console (stdout) of each copy is also
 * written to OUTFILE (OUTFILE.I when N > 1).
 *
 * With -i (one copy only): once a console line holds IDLE_MARKER, wait WAIT_MS (2000), then
 * read /proc/PID/smaps SAMPLES (5) times, PERIOD_MS (1000) apart, and kill the copy. Guest RAM
 * is every anonymous mapping (no path) at least GUEST_MIB MiB in size or marked MADV_DONTDUMP;
 * everything else counts as the monitor's overhead.
 *
 * Output on stdout, one line each:
 *   vm I marker_ms=X exit=S          X = -1 when the marker never came; S = exit status, or
 *                                    "sig<N>" when killed by a signal
 *   mem sample=J rss_kib=A guest_kib=B overhead_kib=C guest_maps=K
 *   many n=N reached=R last_ms=T per_s=R/T   the rate of guests reaching init: T is when the
 *                                    last one did, or when the run ended if some never did
 *   map rss_kib=A perms=P name=NAME  with -v: each mapping with Rss > 0 in the last sample
 * Exit status: 0 when every copy reached its marker, 1 otherwise, 2 on a usage error.
 *
 *   bench-vm -H
 * Holds an empty KVM VM (no vCPU, no memory) until killed. Every KVM VM that is created while no
 * other exists flips a static key in the host kernel's scheduler (KVM's preempt notifiers), which
 * patches kernel text; an L1 kernel under QEMU's multi-threaded software CPU sometimes oopses
 * on that patching ("Oops: int3" in __schedule). One VM held for the whole run means no patching.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_VMS	      64
#define LINE_MAX_KEEP 512

struct vm {
	pid_t pid;
	int fd;	  /* read end of the console pipe; -1 once closed */
	int copy; /* console copy (-o), or -1 */
	struct timespec t0;
	double marker_ms; /* -1 until seen */
	int idle_seen;
	struct timespec idle_at;
	int status;
	int exited;
	char line[LINE_MAX_KEEP]; /* the current console line (its start) */
	size_t len;
};

static double ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* -H: hold one empty VM so that creating and destroying the measured ones patches no text. */
static int hold_vm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;

	if (kvm < 0 || (vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0) {
		perror("bench-vm: holding a KVM VM");
		return 1;
	}
	for (;;)
		pause();
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench-vm [-n N] [-m MARKER] [-t SECS] [-e ERRFILE] [-o OUTFILE] [-K] "
		"[-i IDLE_MARKER -g GUEST_MIB [-w MS] [-s N] [-p MS] [-v]] -- CMD ARG...\n"
		"       bench-vm -H\n");
	exit(2);
}

/*
 * Sum the smaps of PID: total Rss, and the Rss of guest RAM: anonymous mappings at least
 * guest_kib in size (QEMU's RAM block), or anonymous mappings marked MADV_DONTDUMP ("dd" in
 * VmFlags: ember's guest RAM, which madvise may have split into several mappings). A mapping's
 * block ends with its VmFlags line, so each mapping is classified there.
 */
static int smaps_sample(pid_t pid, unsigned long guest_kib, unsigned long *rss,
			unsigned long *guest, int *guest_maps, int verbose)
{
	char cur_perms[8] = "", cur_name[512] = "";
	char path[64], buf[1024];
	unsigned long cur_kib = 0, cur_size_kib = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	*rss = *guest = 0;
	*guest_maps = 0;
	while (fgets(buf, sizeof buf, f)) {
		unsigned long lo, hi, kib;
		char perms[8], name[512] = "";
		int n;

		/* A mapping header: "lo-hi perms offset dev inode [name]". */
		if (sscanf(buf, "%lx-%lx %7s %*s %*s %*s%n", &lo, &hi, perms, &n) == 3) {
			sscanf(buf + n, " %511[^\n]", name);
			cur_size_kib = (hi - lo) / 1024;
			cur_kib = 0;
			snprintf(cur_perms, sizeof cur_perms, "%s", perms);
			snprintf(cur_name, sizeof cur_name, "%s", name[0] ? name : "[anon]");
			continue;
		}
		if (sscanf(buf, "Rss: %lu kB", &kib) == 1) {
			cur_kib = kib;
			*rss += kib;
			continue;
		}
		if (strncmp(buf, "VmFlags:", 8) == 0) {
			int anon = strcmp(cur_name, "[anon]") == 0;
			int in_guest = anon && (cur_size_kib >= guest_kib || strstr(buf, " dd"));

			*guest_maps += in_guest;
			if (in_guest)
				*guest += cur_kib;
			if (verbose && cur_kib)
				printf("map rss_kib=%lu perms=%s guest=%d name=%s\n", cur_kib,
				       cur_perms, in_guest, cur_name);
		}
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	const char *marker = "ember-guest: init", *idle_marker = NULL, *errfile = NULL;
	const char *outfile = NULL;
	int n = 1, timeout_s = 300, kill_at_marker = 0, samples = 5, wait_ms = 2000;
	int period_ms = 1000, opt, failed = 0, running, reached = 0, verbose = 0;
	unsigned long guest_mib = 0;
	double last_ms = 0;
	static struct vm vms[MAX_VMS];
	struct timespec start;

	while ((opt = getopt(argc, argv, "+n:m:t:e:o:Ki:g:w:s:p:vH")) != -1) {
		switch (opt) {
		case 'H':
			return hold_vm();
		case 'n':
			n = atoi(optarg);
			break;
		case 'm':
			marker = optarg;
			break;
		case 't':
			timeout_s = atoi(optarg);
			break;
		case 'e':
			errfile = optarg;
			break;
		case 'o':
			outfile = optarg;
			break;
		case 'K':
			kill_at_marker = 1;
			break;
		case 'i':
			idle_marker = optarg;
			break;
		case 'g':
			guest_mib = strtoul(optarg, NULL, 0);
			break;
		case 'w':
			wait_ms = atoi(optarg);
			break;
		case 's':
			samples = atoi(optarg);
			break;
		case 'p':
			period_ms = atoi(optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || n < 1 || n > MAX_VMS || timeout_s < 1 ||
	    (idle_marker && (n != 1 || guest_mib == 0)))
		usage();
	signal(SIGPIPE, SIG_IGN);

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int i = 0; i < n; i++) {
		struct vm *v = &vms[i];
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0) {
			perror("bench-vm: pipe");
			return 2;
		}
		v->marker_ms = -1;
		v->fd = p[0];
		v->copy = -1;
		if (outfile) {
			char name[4096];

			if (n > 1)
				snprintf(name, sizeof name, "%s.%d", outfile, i);
			else
				snprintf(name, sizeof name, "%s", outfile);
			v->copy = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		}
		clock_gettime(CLOCK_MONOTONIC, &v->t0);
		v->pid = fork();
		if (v->pid < 0) {
			perror("bench-vm: fork");
			return 2;
		}
		if (v->pid == 0) {
			char name[4096];
			int in = open("/dev/null", O_RDONLY), err;

			if (errfile && n > 1)
				snprintf(name, sizeof name, "%s.%d", errfile, i);
			else
				snprintf(name, sizeof name, "%s", errfile ? errfile : "/dev/null");
			err = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (in < 0 || err < 0 || dup2(in, 0) < 0 || dup2(p[1], 1) < 0 ||
			    dup2(err, 2) < 0)
				_exit(127);
			execvp(argv[optind], argv + optind);
			dprintf(2, "bench-vm: exec %s: %s\n", argv[optind], strerror(errno));
			_exit(127);
		}
		close(p[1]);
	}

	running = n;
	while (running > 0) {
		struct pollfd pfd[MAX_VMS];
		int map[MAX_VMS], np = 0, wait_for = 200;

		for (int i = 0; i < n; i++) {
			if (vms[i].fd >= 0) {
				pfd[np] = (struct pollfd){.fd = vms[i].fd, .events = POLLIN};
				map[np++] = i;
			}
		}
		if (np > 0 && poll(pfd, (nfds_t)np, wait_for) < 0 && errno != EINTR) {
			perror("bench-vm: poll");
			break;
		}
		if (np == 0)
			usleep(wait_for * 1000);
		for (int k = 0; k < np; k++) {
			struct vm *v = &vms[map[k]];
			char buf[4096];
			ssize_t got;

			if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = read(v->fd, buf, sizeof buf);
			if (got <= 0) {
				close(v->fd);
				v->fd = -1;
				continue;
			}
			if (v->copy >= 0 && write(v->copy, buf, (size_t)got) < 0) {
				close(v->copy);
				v->copy = -1;
			}
			for (ssize_t j = 0; j < got; j++) {
				char c = buf[j];

				if (c == '\n' || c == '\r') {
					v->len = 0;
					v->line[0] = '\0';
					continue;
				}
				if (v->len + 1 < sizeof v->line) {
					v->line[v->len++] = c;
					v->line[v->len] = '\0';
				}
				if (v->marker_ms < 0 && strstr(v->line, marker)) {
					v->marker_ms = ms_since(&v->t0);
					reached++;
					last_ms = ms_since(&start);
					if (kill_at_marker)
						kill(v->pid, SIGKILL);
				}
				if (idle_marker && !v->idle_seen && strstr(v->line, idle_marker)) {
					v->idle_seen = 1;
					clock_gettime(CLOCK_MONOTONIC, &v->idle_at);
				}
			}
		}
		/* Memory samples, once the guest idles. */
		if (idle_marker && vms[0].idle_seen && !vms[0].exited &&
		    ms_since(&vms[0].idle_at) >= wait_ms) {
			for (int s = 0; s < samples; s++) {
				unsigned long rss, guest;
				int maps;

				if (s > 0)
					usleep((useconds_t)period_ms * 1000);
				if (smaps_sample(vms[0].pid, guest_mib * 1024, &rss, &guest, &maps,
						 verbose && s == samples - 1) == 0)
					printf("mem sample=%d rss_kib=%lu guest_kib=%lu "
					       "overhead_kib=%lu "
					       "guest_maps=%d\n",
					       s, rss, guest, rss - guest, maps);
				else
					printf("mem sample=%d error=%s\n", s, strerror(errno));
				fflush(stdout);
			}
			kill(vms[0].pid, SIGKILL);
			idle_marker = NULL;
		}
		/* Reap, and enforce the time limit. */
		for (int i = 0; i < n; i++) {
			struct vm *v = &vms[i];
			int st;

			if (v->exited)
				continue;
			if (waitpid(v->pid, &st, WNOHANG) == v->pid) {
				v->exited = 1;
				v->status = st;
				running--;
				continue;
			}
			if (ms_since(&start) > timeout_s * 1e3)
				kill(v->pid, SIGKILL);
		}
	}
	for (int i = 0; i < n; i++) {
		struct vm *v = &vms[i];
		char st[32];

		if (WIFEXITED(v->status))
			snprintf(st, sizeof st, "%d", WEXITSTATUS(v->status));
		else
			snprintf(st, sizeof st, "sig%d", WTERMSIG(v->status));
		printf("vm %d marker_ms=%.1f exit=%s\n", i, v->marker_ms, st);
		failed |= v->marker_ms < 0;
	}
	if (reached < n)
		last_ms = ms_since(&start);
	if (n > 1)
		printf("many n=%d reached=%d last_ms=%.1f per_s=%.3f\n", n, reached, last_ms,
		       reached && last_ms > 0 ? reached / (last_ms / 1e3) : 0.0);
	return failed;
}
