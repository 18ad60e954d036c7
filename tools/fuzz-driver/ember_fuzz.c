/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-fuzz: fuzzes one device plugin and says plainly what the run did.
 *
 *   ember-fuzz PLUGIN [SECONDS] [--options 'key = value; ...'] [--corpus DIR]... [--artifacts DIR]
 *              [--log FILE] [--jobs N] [--seeds-only] [-- LIBFUZZER-FLAGS...]
 *
 * The installed front-end of the op-stream driver (fuzz_plugin.c, README.md here). It always
 * exists, in every build, because it holds nothing that needs clang: the fuzzing itself is
 * ember-fuzz-engine (the driver linked with libFuzzer, built only with -Dfuzzing=true), which it
 * runs with a time limit, a corpus (seeded by ember-fuzz-seeds when empty), an artifact folder,
 * its output in a log, and a shared counter file (fuzz_stats.h). Without an engine it says so and
 * fails: a build that cannot fuzz must never report a pass.
 *
 * What it adds over running libFuzzer by hand is the verdict. The driver creates the device once
 * before any input (refused: exit 3 with the plugin's reason) and counts every input as reaching
 * the device or refused at create; a run where fewer than half got past create tested little and
 * fails (exit 4). A finding is reported in one line with the time to it, the reproducer and the
 * command that replays it.
 *
 * Exit status (README.md here): 0 no failure; 1 a finding; 2 bad command line, no such plugin, a
 * folder that cannot be made, a plugin that does not load; 3 the device cannot be created with
 * the options given; 4 fewer than half of the inputs reached the device (or none ran); 5 no
 * fuzzing engine in this ember; 6 the engine failed without a finding; 130 interrupted.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_stats.h"

#ifndef EMBER_BUILD_ROOT
#error "EMBER_BUILD_ROOT must be defined by the build"
#endif
#ifndef EMBER_FUZZ_ENGINE_RELDIR
#error "EMBER_FUZZ_ENGINE_RELDIR must be defined by the build"
#endif
#ifndef EMBER_FUZZ_PLUGIN_RELDIR
#error "EMBER_FUZZ_PLUGIN_RELDIR must be defined by the build"
#endif
#ifndef EMBER_FUZZ_HAVE_ENGINE
#error "EMBER_FUZZ_HAVE_ENGINE must be defined by the build"
#endif

enum {
	EX_PASS = 0,
	EX_FOUND = 1,
	EX_USAGE = FUZZ_EXIT_USAGE,
	EX_NO_CREATE = FUZZ_EXIT_NO_CREATE,
	EX_TOO_FEW = FUZZ_EXIT_REFUSED,
	EX_NO_ENGINE = 5,
	EX_ENGINE = 6,
	EX_INTERRUPTED = 130,
};

#define MAX_CORPUS    16
#define MAX_ARGS      (MAX_CORPUS + 96)
#define MIN_REACHED   50  /* percent of the inputs that must get past create */
#define INPUT_TIMEOUT 10  /* seconds, libFuzzer -timeout: a hang is a finding */
#define GRACE_S	      120 /* past SECONDS: start-up, corpus loading, symbolizing a report */

struct run {
	char so[PATH_MAX]; /* the plugin, absolute */
	char name[256];	   /* its file name without .so */
	unsigned seconds;
	const char *options; /* --options, else $EMBER_FUZZ_OPTIONS: shown in the replay command */
	char corpus[MAX_CORPUS][PATH_MAX];
	unsigned ncorpus;
	char artifacts[PATH_MAX];
	char log[PATH_MAX];
	char logdir[PATH_MAX]; /* the engine's working folder: libFuzzer -jobs writes fuzz-N.log */
	bool seeds_only;
	unsigned jobs;
	char **extra; /* after "--": libFuzzer flags */
	int nextra;
	const char *log_arg; /* as given; prepare() makes the folders */

	char dir[PATH_MAX]; /* this program's folder */
	char engine[PATH_MAX], seeds[PATH_MAX], replay[PATH_MAX];
	char stats_path[PATH_MAX];
	struct fuzz_stats *stats;
	uint64_t t0; /* CLOCK_MONOTONIC when the inputs started */
};

/* What the logs of a run say (the first of each, except where noted). */
struct verdict {
	char repro[PATH_MAX]; /* "Test unit written to" a crash-/leak-/timeout-/oom- file */
	const char *type;     /* crash, leak, timeout, out-of-memory */
	char driver[512];     /* "ember-fuzz: failure: ..." (a leak at destroy, ...) */
	char ubsan[512];      /* "...: runtime error: ..." */
	char summary[512];    /* "SUMMARY: ..." of a sanitizer or of libFuzzer */
	char libfuzzer[512];  /* "ERROR: libFuzzer: ..." */
	bool leak;	      /* LeakSanitizer */
	bool interrupted;
	char last_input[PATH_MAX]; /* replay: the input it was running (the last one named) */
	char cov[256];		   /* the last libFuzzer status line, shortened */
};

static volatile sig_atomic_t g_signal;
static char g_stats_path[PATH_MAX]; /* removed at exit, whichever way ember-fuzz ends */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("ember-fuzz: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static __attribute__((noreturn, format(printf, 2, 3))) void die(int status, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("ember-fuzz: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static __attribute__((noreturn)) void usage(int status)
{
	fprintf(
	    status ? stderr : stdout,
	    "usage: ember-fuzz PLUGIN [SECONDS] [--options 'key = value; ...'] [--corpus DIR]\n"
	    "                  [--artifacts DIR] [--log FILE] [--jobs N] [--seeds-only]\n"
	    "                  [-- LIBFUZZER-FLAGS...]\n"
	    "  PLUGIN        a plugin .so (built with clang -fsanitize=fuzzer-no-link,address),\n"
	    "                or the name of an installed one\n"
	    "  SECONDS       how long to fuzz (default 60)\n"
	    "  --options     the device's options, as in a VM config group (the input picks the\n"
	    "                numbers it leaves out; @SCRATCH@ is a fresh 1 MiB file per input)\n"
	    "  --corpus      inputs to start from and to add to (default "
	    "./ember-fuzz-NAME/corpus;\n"
	    "                seeded when empty); more than one: the first is written\n"
	    "  --artifacts   where reproducers go (default ./ember-fuzz-NAME/artifacts)\n"
	    "  --log         the engine's output (default ARTIFACTS/ember-fuzz.log)\n"
	    "  --jobs        libFuzzer processes in parallel (default 1)\n"
	    "  --seeds-only  run the corpus once, no fuzzing (needs no engine)\n"
	    "exit: 0 no failure, 1 a finding, 2 usage, 3 the device cannot be created with these\n"
	    "options, 4 fewer than half of the inputs reached the device, 5 no fuzzing engine,\n"
	    "6 the engine failed, 130 interrupted\n");
	exit(status);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool is_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

static bool is_exec(const char *path)
{
	return is_file(path) && !access(path, X_OK);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && !strcmp(s + n - t, tail);
}

/* A path into a PATH_MAX buffer; one that does not fit is an error, never a cut-off path. */
static void pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX)
		die(EX_USAGE, "%.64s...: path too long", out);
}

static void join(char *out, const char *dir, const char *name)
{
	pathf(out, "%s/%s", dir, name);
}

/* mkdir -p, then the absolute path (relative ones would break once the engine changes folder). */
static void make_dir(char *path)
{
	char buf[PATH_MAX], real[PATH_MAX];

	pathf(buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			die(EX_USAGE, "%s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		die(EX_USAGE, "%s: %s", buf, strerror(errno));
	if (!realpath(buf, real))
		die(EX_USAGE, "%s: %s", buf, strerror(errno));
	pathf(path, "%s", real);
}

static unsigned count_inputs(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;
	char path[PATH_MAX];

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			join(path, dir, e->d_name);
			n += is_file(path);
		}
	closedir(d);
	return n;
}

/* Single-quotes s for a shell when it has anything a shell would read specially. */
static const char *shell_quote(const char *s)
{
	static char bufs[4][8192];
	static unsigned next;
	char *out = bufs[next++ % 4];
	size_t n = 0;

	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
			    "_./=:,+-@%") == strlen(s))
		return s;
	out[n++] = '\'';
	for (; *s && n + 6 < sizeof(bufs[0]); s++) {
		if (*s == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else {
			out[n++] = *s;
		}
	}
	out[n++] = '\'';
	out[n] = '\0';
	return out;
}

/* -- where things are -- */

static void self_dir(struct run *r)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		die(EX_USAGE, "/proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	pathf(r->dir, "%s", exe[0] ? exe : "/");
}

static bool in_build_tree(const struct run *r)
{
	size_t n = strlen(EMBER_BUILD_ROOT);

	return !strncmp(r->dir, EMBER_BUILD_ROOT, n) && (r->dir[n] == '/' || !r->dir[n]);
}

/*
 * PLUGIN: a path (has a '/' or ends in .so), else the name of an installed plugin (the folder
 * ember itself uses, relative to this program) or, run from the build tree, of a built one.
 */
static void resolve_plugin(struct run *r, const char *arg)
{
	char cand[3][PATH_MAX], file[PATH_MAX];
	unsigned n = 0;
	const char *base;

	if (strchr(arg, '/') || ends_with(arg, ".so")) {
		if (!is_file(arg))
			die(EX_USAGE, "%s: no such file", arg);
		if (!realpath(arg, r->so))
			die(EX_USAGE, "%s: %s", arg, strerror(errno));
	} else {
		pathf(file, "%s.so", arg);
		pathf(cand[n++], "%s/%s/%s", r->dir, EMBER_FUZZ_PLUGIN_RELDIR, file);
		if (in_build_tree(r)) {
			pathf(cand[n++], "%s/plugins/%s", EMBER_BUILD_ROOT, file);
			pathf(cand[n++], "%s/tools/fuzz-driver/%s", EMBER_BUILD_ROOT, file);
		}
		for (unsigned i = 0; i < n && !r->so[0]; i++)
			if (is_file(cand[i]) && !realpath(cand[i], r->so))
				r->so[0] = '\0';
		if (!r->so[0])
			die(EX_USAGE,
			    "%s: no such plugin (looked for %s%s); give the path of its .so", arg,
			    cand[0], n > 1 ? " and in the build tree" : "");
	}
	base = strrchr(r->so, '/') + 1;
	snprintf(r->name, sizeof(r->name), "%.*s",
		 (int)(strlen(base) - (ends_with(base, ".so") ? 3 : 0)), base);
}

/*
 * Which hooks the plugin's dynamic symbols import: the fuzzer sees inside the plugin only with
 * coverage instrumentation (-fsanitize=fuzzer-no-link) and catches its memory errors only with
 * ASan. Reads the ELF .dynsym; returns false when the file is not an ELF64 it can read.
 */
static bool plugin_hooks(const char *path, bool *cov, bool *asan)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	const uint8_t *m;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	bool ok = false;

	*cov = *asan = false;
	if (fd < 0)
		return false;
	if (fstat(fd, &st) || (size_t)st.st_size < sizeof(Elf64_Ehdr)) {
		close(fd);
		return false;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return false;
	eh = (const Elf64_Ehdr *)(const void *)m;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > (uint64_t)st.st_size ||
	    (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > (uint64_t)st.st_size - eh->e_shoff)
		goto out;
	sh = (const Elf64_Shdr *)(const void *)(m + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *str;
		const Elf64_Sym *sym;

		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum)
			continue;
		str = &sh[sh[i].sh_link];
		if (sh[i].sh_offset > (uint64_t)st.st_size ||
		    sh[i].sh_size > (uint64_t)st.st_size - sh[i].sh_offset ||
		    str->sh_offset > (uint64_t)st.st_size ||
		    str->sh_size > (uint64_t)st.st_size - str->sh_offset)
			goto out;
		sym = (const Elf64_Sym *)(const void *)(m + sh[i].sh_offset);
		for (uint64_t j = 0; j < sh[i].sh_size / sizeof(Elf64_Sym); j++) {
			const char *name = (const char *)m + str->sh_offset + sym[j].st_name;
			size_t left;

			if (sym[j].st_name >= str->sh_size)
				continue;
			left = str->sh_size - sym[j].st_name;
			if (left > 16 && !strncmp(name, "__sanitizer_cov_", 16))
				*cov = true;
			if (left > 7 && !strncmp(name, "__asan_", 7))
				*asan = true;
		}
		ok = true;
	}
out:
	munmap((void *)(uintptr_t)m, (size_t)st.st_size);
	return ok;
}

static void find_tools(struct run *r)
{
	const char *env = getenv("EMBER_FUZZ_ENGINE");
	char cand[PATH_MAX];

	join(r->seeds, r->dir, "ember-fuzz-seeds");
	join(r->replay, r->dir, "ember-fuzz-replay");
	if (env && *env) {
		pathf(r->engine, "%s", env);
		return;
	}
	/* The build tree has all of them in one folder; an install puts the engine in libexec. */
	join(cand, r->dir, "ember-fuzz-engine");
	if (!is_exec(cand))
		pathf(cand, "%s/%s/ember-fuzz-engine", r->dir, EMBER_FUZZ_ENGINE_RELDIR);
	pathf(r->engine, "%s", cand);
}

/* How to name ember-fuzz-replay in the report: its bare name when PATH finds this one. */
static const char *replay_command(const struct run *r)
{
	const char *path = getenv("PATH");
	struct stat mine, other;
	char dir[PATH_MAX], cand[PATH_MAX];

	if (!path || stat(r->replay, &mine))
		return r->replay;
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)n, path);
		path += n + (path[n] == ':');
		if (!dir[0])
			continue;
		join(cand, dir, "ember-fuzz-replay");
		if (!stat(cand, &other))
			return other.st_dev == mine.st_dev && other.st_ino == mine.st_ino
				   ? "ember-fuzz-replay"
				   : r->replay;
	}
	return r->replay;
}

/* -- the command line -- */

static unsigned number(const char *s, const char *what, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > max || *s == '-')
		die(EX_USAGE, "%s: expected a whole number between 1 and %u, got \"%s\"", what, max,
		    s);
	return (unsigned)v;
}

/* "--name VALUE" or "--name=VALUE": true with *val set (and *i past VALUE). */
static bool option_value(const char *name, int argc, char **argv, int *i, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) || (a[n] != '\0' && a[n] != '='))
		return false;
	if (a[n] == '=') {
		*val = a + n + 1;
		return true;
	}
	if (*i + 1 >= argc)
		die(EX_USAGE, "%s needs a value", name);
	*val = argv[++*i];
	return true;
}

static void parse(struct run *r, int argc, char **argv)
{
	const char *plugin = NULL, *artifacts = NULL, *log = NULL;
	const char *corpus[MAX_CORPUS];
	unsigned ncorpus = 0, positional = 0;
	char work[PATH_MAX];

	if (argc < 2)
		usage(EX_USAGE);
	r->seconds = 60;
	r->jobs = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;

#define OPT(name) option_value(name, argc, argv, &i, &val)
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(EX_PASS);
		} else if (!strcmp(a, "--")) {
			r->extra = argv + i + 1;
			r->nextra = argc - i - 1;
			break;
		} else if (!strcmp(a, "--seeds-only")) {
			r->seeds_only = true;
		} else if (OPT("--options")) {
			r->options = val;
		} else if (OPT("--corpus")) {
			if (ncorpus == MAX_CORPUS)
				die(EX_USAGE, "at most %d --corpus folders", MAX_CORPUS);
			corpus[ncorpus++] = val;
		} else if (OPT("--artifacts")) {
			artifacts = val;
		} else if (OPT("--log")) {
			log = val;
		} else if (OPT("--jobs")) {
			r->jobs = number(val, "--jobs", 256);
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "ember-fuzz: unknown option %s\n", a);
			usage(EX_USAGE);
		} else if (positional == 0) {
			plugin = a;
			positional++;
		} else if (positional == 1) {
			r->seconds = number(a, "SECONDS", 10000000);
			positional++;
		} else {
			fprintf(stderr, "ember-fuzz: unexpected argument %s\n", a);
			usage(EX_USAGE);
		}
#undef OPT
	}
	if (!plugin)
		usage(EX_USAGE);
	self_dir(r);
	resolve_plugin(r, plugin);
	if (!r->options && getenv("EMBER_FUZZ_OPTIONS"))
		r->options = getenv("EMBER_FUZZ_OPTIONS");

	pathf(work, "ember-fuzz-%s", r->name);
	if (!ncorpus) {
		join(r->corpus[0], work, "corpus");
		r->ncorpus = 1;
	}
	for (unsigned i = 0; i < ncorpus; i++)
		pathf(r->corpus[r->ncorpus++], "%s", corpus[i]);
	if (artifacts)
		pathf(r->artifacts, "%s", artifacts);
	else
		join(r->artifacts, work, "artifacts");
	r->log_arg = log;
}

/* The folders (made, then absolute: the engine runs in the log's folder) and a fresh log. */
static void prepare(struct run *r)
{
	const char *log = r->log_arg;
	int fd;

	for (unsigned i = 0; i < r->ncorpus; i++)
		make_dir(r->corpus[i]);
	make_dir(r->artifacts);
	if (log) {
		char *slash;

		pathf(r->logdir, "%s", log);
		slash = strrchr(r->logdir, '/');
		if (slash)
			*slash = '\0';
		else
			pathf(r->logdir, ".");
		make_dir(r->logdir);
		join(r->log, r->logdir, strrchr(log, '/') ? strrchr(log, '/') + 1 : log);
	} else {
		pathf(r->logdir, "%s", r->artifacts);
		join(r->log, r->logdir, "ember-fuzz.log");
	}
	/* Truncated: the verdict is read from this run's log only. */
	fd = open(r->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(EX_USAGE, "%s: %s", r->log, strerror(errno));
	close(fd);
}

/* -- running the tools -- */

static void on_signal(int sig)
{
	g_signal = sig;
}

/*
 * Runs argv with its output appended to the log, in its own process group (so that the
 * watchdog can end libFuzzer's workers too). SIGINT/SIGTERM/SIGHUP to ember-fuzz are passed on
 * as SIGINT, which libFuzzer answers by stopping cleanly. limit_s (0: none) is the watchdog.
 * Returns the wait status; *overran when the watchdog killed it.
 */
static int run_child(const struct run *r, char *const argv[], unsigned limit_s, bool *overran)
{
	uint64_t start = now_ns();
	bool forwarded = false, killed = false;
	int fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	pid_t pid;

	if (fd < 0)
		die(EX_USAGE, "%s: %s", r->log, strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die(EX_ENGINE, "fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
		    chdir(r->logdir))
			_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "ember-fuzz: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid); /* both sides: whichever runs first */
	close(fd);
	for (;;) {
		struct timespec tick = {0, 20 * 1000 * 1000};
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return status;
		if (w < 0 && errno != EINTR)
			die(EX_ENGINE, "waitpid: %s", strerror(errno));
		if (g_signal && !forwarded) {
			kill(-pid, SIGINT);
			forwarded = true;
		}
		if (limit_s && !killed && now_ns() - start > (uint64_t)limit_s * 1000000000ULL) {
			kill(-pid, SIGKILL);
			killed = *overran = true;
		}
		nanosleep(&tick, NULL);
	}
}

static void remove_stats(void)
{
	if (g_stats_path[0])
		unlink(g_stats_path);
}

static void make_stats(struct run *r)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	pathf(r->stats_path, "%s/ember-fuzz-stats-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(r->stats_path);
	if (fd >= 0) {
		pathf(g_stats_path, "%s", r->stats_path);
		atexit(remove_stats);
	}
	if (fd < 0 || ftruncate(fd, FUZZ_STATS_FILE_SIZE))
		die(EX_USAGE, "%s: %s", r->stats_path, strerror(errno));
	r->stats = mmap(NULL, FUZZ_STATS_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (r->stats == MAP_FAILED)
		die(EX_USAGE, "mmap %s: %s", r->stats_path, strerror(errno));
	setenv("EMBER_FUZZ_STATS", r->stats_path, 1);
}

static void environment(const struct run *r)
{
	setenv("EMBER_FUZZ_PLUGIN", r->so, 1);
	if (r->options)
		setenv("EMBER_FUZZ_OPTIONS", r->options, 1);
	/* What tools/fuzz always used: every report ends the run, leaks included. */
	setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1:symbolize=1", 0);
	setenv("UBSAN_OPTIONS", "halt_on_error=1:abort_on_error=1:print_stacktrace=1", 0);
}

static void seed(struct run *r)
{
	char *argv[] = {r->seeds, r->so, r->corpus[0], NULL};
	bool overran = false;
	int status;

	if (count_inputs(r->corpus[0]))
		return;
	if (!is_exec(r->seeds)) {
		say("warning: no %s: starting from an empty corpus", r->seeds);
		return;
	}
	status = run_child(r, argv, 600, &overran);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		say("warning: ember-fuzz-seeds failed (log %s): starting from an empty corpus",
		    r->log);
	else
		say("seeded %s with %u inputs (ember-fuzz-seeds)", r->corpus[0],
		    count_inputs(r->corpus[0]));
}

/* -- reading the logs -- */

static void copy_line(char *dst, size_t size, const char *src)
{
	size_t n = strcspn(src, "\r\n");

	while (n && (src[n - 1] == ' ' || src[n - 1] == '\t'))
		n--;
	snprintf(dst, size, "%.*s", (int)n, src);
}

static const char *artifact_type(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	if (!strncmp(base, "crash-", 6))
		return "crash";
	if (!strncmp(base, "leak-", 5))
		return "leak";
	if (!strncmp(base, "timeout-", 8))
		return "timeout";
	if (!strncmp(base, "oom-", 4))
		return "out-of-memory";
	return NULL; /* slow-unit- and the like: not failures */
}

/* "#123 DONE cov: 45 ft: 67 corp: 8/90b ... exec/s: 1234 ..." -> "cov 45, ft 67, ..." */
static void status_line(struct verdict *v, const char *line)
{
	unsigned long long execs = 0, cov = 0, ft = 0, corp = 0, rate = 0;
	const char *p;

	if (sscanf(line, "#%llu", &execs) != 1 || !strstr(line, " cov: "))
		return;
	sscanf(strstr(line, " cov: "), " cov: %llu", &cov);
	if ((p = strstr(line, " ft: ")))
		sscanf(p, " ft: %llu", &ft);
	if ((p = strstr(line, " corp: ")))
		sscanf(p, " corp: %llu", &corp);
	if ((p = strstr(line, " exec/s: ")))
		sscanf(p, " exec/s: %llu", &rate);
	snprintf(v->cov, sizeof(v->cov),
		 "coverage %llu edges, %llu features; corpus %llu inputs; %llu exec/s", cov, ft,
		 corp, rate);
}

static void scan_file(struct verdict *v, const char *path, bool echo_driver)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	const char *p;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if ((p = strstr(line, "Test unit written to ")) && !v->repro[0]) {
			char file[PATH_MAX];

			copy_line(file, sizeof(file), p + strlen("Test unit written to "));
			if (artifact_type(file)) {
				pathf(v->repro, "%s", file);
				v->type = artifact_type(file);
			}
		} else if (!strncmp(line, "ember-fuzz: failure: ", 21)) {
			if (!v->driver[0])
				copy_line(v->driver, sizeof(v->driver), line + 21);
		} else if (!strncmp(line, "ember-fuzz: ", 12) && echo_driver) {
			/* The driver's own reasons (create refused, plugin not loadable). */
			fputs(line, stdout);
		} else if (!strncmp(line, "ember-fuzz-replay: input ", 25)) {
			copy_line(v->last_input, sizeof(v->last_input), line + 25);
			if ((p = strstr(v->last_input, " (")))
				v->last_input[p - v->last_input] = '\0';
		} else if (strstr(line, "runtime error: ") && !v->ubsan[0]) {
			copy_line(v->ubsan, sizeof(v->ubsan), line);
		} else if (!strncmp(line, "SUMMARY: ", 9) && !v->summary[0]) {
			copy_line(v->summary, sizeof(v->summary), line + 9);
		} else if ((p = strstr(line, "ERROR: libFuzzer: ")) && !v->libfuzzer[0]) {
			copy_line(v->libfuzzer, sizeof(v->libfuzzer), p + 18);
		} else if (strstr(line, "ERROR: LeakSanitizer:")) {
			v->leak = true;
		} else if (strstr(line, "libFuzzer: run interrupted")) {
			v->interrupted = true;
		} else if (line[0] == '#') {
			status_line(v, line);
		}
	}
	fclose(f);
}

/* The main log, then the per-job logs libFuzzer -jobs writes into the engine's folder. */
static void scan_logs(const struct run *r, struct verdict *v, bool echo_driver)
{
	char path[PATH_MAX];

	memset(v, 0, sizeof(*v));
	scan_file(v, r->log, echo_driver);
	for (unsigned j = 0; r->jobs > 1 && j < r->jobs; j++) {
		pathf(path, "%s/fuzz-%u.log", r->logdir, j);
		scan_file(v, path, echo_driver);
	}
	fflush(stdout);
}

static bool has_finding(const struct verdict *v)
{
	return v->repro[0] || v->driver[0] || v->ubsan[0] || v->summary[0] || v->libfuzzer[0] ||
	       v->leak;
}

/*
 * What went wrong, most specific first: the driver's reason, UBSan, a sanitizer's summary,
 * libFuzzer's error, how the process ended.
 */
static void detail_of(const struct verdict *v, int status, char *detail, size_t size)
{
	if (v->driver[0])
		snprintf(detail, size, "%s", v->driver);
	else if (v->ubsan[0])
		snprintf(detail, size, "UndefinedBehaviorSanitizer: %s", v->ubsan);
	else if (v->summary[0])
		snprintf(detail, size, "%s", v->summary);
	else if (v->libfuzzer[0])
		snprintf(detail, size, "libFuzzer: %s", v->libfuzzer);
	else if (WIFSIGNALED(status))
		snprintf(detail, size, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(detail, size, "exit status %d", WEXITSTATUS(status));
}

/* The kind of a finding: "crash: AddressSanitizer: heap-buffer-overflow ... in f", say. */
static void describe(const struct verdict *v, int status, char *out, size_t size)
{
	const char *type = v->type;
	char detail[600];

	if (!type)
		type = v->leak ? "leak" : strstr(v->libfuzzer, "timeout") ? "timeout" : "crash";
	/* The driver aborts on resources kept past destroy: libFuzzer saw a crash, it is a leak. */
	if (!strcmp(type, "crash") && strstr(v->driver, " leaked "))
		type = "leak";
	detail_of(v, status, detail, sizeof(detail));
	snprintf(out, size, "%s: %s", type, detail);
}

/* -- the verdict -- */

static int found(const struct run *r, const struct verdict *v, int status, const char *repro,
		 double wall_s)
{
	uint64_t last = __atomic_load_n(&r->stats->last_input_ns, __ATOMIC_RELAXED);
	double at = last > r->t0 ? (double)(last - r->t0) / 1e9 : wall_s;
	char kind[700], opts[8300] = "";

	describe(v, status, kind, sizeof(kind));
	if (r->options && *r->options)
		snprintf(opts, sizeof(opts), " --options %s", shell_quote(r->options));
	say("log: %s", r->log);
	if (repro && *repro)
		say("FOUND after %.1f s (%llu inputs): %s; reproducer: %s; replay: %s %s %s%s", at,
		    (unsigned long long)r->stats->inputs, kind, repro, replay_command(r),
		    shell_quote(r->so), shell_quote(repro), opts);
	else
		say("FOUND after %.1f s (%llu inputs): %s; reproducer: none (the engine failed "
		    "before it could write one; see the log)",
		    at, (unsigned long long)r->stats->inputs, kind);
	return EX_FOUND;
}

/* No finding: passes only when enough inputs got past create. */
static int counted(const struct run *r, const struct verdict *v, double wall_s)
{
	unsigned long long inputs = r->stats->inputs, reached = r->stats->reached;
	unsigned long long refused = r->stats->refused;

	if (v->cov[0])
		say("engine: %s", v->cov);
	if (r->stats->magic != FUZZ_STATS_MAGIC) {
		say("FAILED: the driver reported no counts (log %s)", r->log);
		return EX_ENGINE;
	}
	if (v->interrupted || g_signal) {
		say("interrupted after %.1f s, %llu inputs (%llu reached the device)", wall_s,
		    inputs, reached);
		return EX_INTERRUPTED;
	}
	if (!inputs) {
		say("FAILED: no input ran in %.1f s (log %s)", wall_s, r->log);
		return EX_TOO_FEW;
	}
	if (reached * 100 < inputs * MIN_REACHED) {
		say("FAILED: only %llu of %llu inputs (%.1f%%) reached the device; %llu were "
		    "refused "
		    "at create, the last: %s",
		    reached, inputs, 100.0 * (double)reached / (double)inputs, refused,
		    r->stats->last_refusal[0] ? r->stats->last_refusal : "(no message)");
		say("a run that refuses most inputs at create tests almost nothing; the likely "
		    "cause: "
		    "an option the device needs is missing from --options (or "
		    "$EMBER_FUZZ_OPTIONS), "
		    "so each input picks its value (give it to pin it); else the plugin keeps "
		    "state "
		    "from one instance to the next (the check before the run created it once)");
		return EX_TOO_FEW;
	}
	say("no failure in %.1f s, %llu inputs (%llu reached the device)", wall_s, inputs, reached);
	return EX_PASS;
}

/* Exits the driver uses before any input ran: its reasons are in the log, echoed here. */
static int early_exit(const struct run *r, int status)
{
	struct verdict v;

	if (!WIFEXITED(status))
		return -1;
	if (WEXITSTATUS(status) == FUZZ_EXIT_NO_CREATE) {
		scan_logs(r, &v, true);
		say("FAILED: no input ran: %s cannot be created with the options given", r->name);
		return EX_NO_CREATE;
	}
	if (WEXITSTATUS(status) == FUZZ_EXIT_USAGE || WEXITSTATUS(status) == 127) {
		scan_logs(r, &v, true);
		say("FAILED: the %s did not start (log %s)", r->seeds_only ? "replay" : "engine",
		    r->log);
		return WEXITSTATUS(status) == 127 ? EX_ENGINE : EX_USAGE;
	}
	return -1;
}

static int fuzz(struct run *r)
{
	static char final_stats[] =
	    "-print_final_stats=1"; /* libFuzzer's input count on a finding */
	char *argv[MAX_ARGS + 64];
	char *owned[8];
	int n = 0, nowned = 0, status, rc;
	bool overran = false;
	struct verdict v;
	double wall;

	argv[n++] = r->engine;
#define FLAG(...)                                              \
	do {                                                   \
		if (asprintf(&owned[nowned], __VA_ARGS__) < 0) \
			die(EX_ENGINE, "out of memory");       \
		argv[n++] = owned[nowned++];                   \
	} while (0)
	FLAG("-max_total_time=%u", r->seconds);
	FLAG("-timeout=%u", INPUT_TIMEOUT);
	FLAG("-rss_limit_mb=%u", 2048);
	FLAG("-artifact_prefix=%s/", r->artifacts);
	if (r->jobs > 1) {
		FLAG("-jobs=%u", r->jobs);
		FLAG("-workers=%u", r->jobs);
	}
#undef FLAG
	argv[n++] = final_stats;
	for (int i = 0; i < r->nextra && n < MAX_ARGS; i++)
		argv[n++] = r->extra[i];
	for (unsigned i = 0; i < r->ncorpus; i++)
		argv[n++] = r->corpus[i];
	argv[n] = NULL;
	/* Per-job logs of an earlier run would be read as this run's. */
	for (unsigned j = 0; j < r->jobs; j++) {
		char old[PATH_MAX];

		pathf(old, "%s/fuzz-%u.log", r->logdir, j);
		unlink(old);
	}

	say("fuzzing %s for %u s: corpus %s, artifacts %s, log %s", r->so, r->seconds, r->corpus[0],
	    r->artifacts, r->log);
	r->t0 = now_ns();
	status = run_child(r, argv, r->seconds + GRACE_S, &overran);
	wall = (double)(now_ns() - r->t0) / 1e9;
	for (int i = 0; i < nowned; i++)
		free(owned[i]);
	if (!overran && (rc = early_exit(r, status)) >= 0)
		return rc;
	scan_logs(r, &v, false);
	if (has_finding(&v))
		return found(r, &v, status, v.repro, wall);
	if (overran) {
		say("FAILED: the engine ran %u s past its %u s and was killed, without a finding "
		    "(log %s)",
		    GRACE_S, r->seconds, r->log);
		return EX_ENGINE;
	}
	if (!WIFEXITED(status) || (WEXITSTATUS(status) && !v.interrupted && !g_signal)) {
		char detail[600];

		detail_of(&v, status, detail, sizeof(detail));
		say("FAILED: the engine ended with %s and no finding (log %s)", detail, r->log);
		return EX_ENGINE;
	}
	return counted(r, &v, wall);
}

/* --seeds-only: the corpus once through ember-fuzz-replay (one process: one create check). */
static int seeds_only(struct run *r)
{
	char *argv[MAX_CORPUS + 4];
	int n = 0, status, rc;
	bool overran = false;
	struct verdict v;
	double wall;

	argv[n++] = r->replay;
	argv[n++] = r->so;
	for (unsigned i = 0; i < r->ncorpus; i++)
		argv[n++] = r->corpus[i];
	argv[n] = NULL;
	say("running the corpus %s once (--seeds-only: no fuzzing), log %s", r->corpus[0], r->log);
	r->t0 = now_ns();
	status = run_child(r, argv, 0, &overran);
	wall = (double)(now_ns() - r->t0) / 1e9;
	if ((rc = early_exit(r, status)) >= 0)
		return rc;
	scan_logs(r, &v, false);
	/* 0 and 4 (too few reached) are replay's verdicts on the counts; counted() decides. */
	if (WIFEXITED(status) &&
	    (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 4 || WEXITSTATUS(status) == 77))
		return counted(r, &v, wall);
	return found(r, &v, status, v.last_input, wall);
}

int main(int argc, char **argv)
{
	struct run r = {0};
	struct sigaction sa = {.sa_handler = on_signal};
	bool cov, asan;
	int rc;

	parse(&r, argc, argv);
	find_tools(&r);
	if (!r.seeds_only && !is_exec(r.engine)) {
		say("FAILED: no fuzzing engine: %s %s", r.engine,
		    EMBER_FUZZ_HAVE_ENGINE ? "is missing"
					   : "does not exist: this ember was built without "
					     "-Dfuzzing=true (libFuzzer needs clang)");
		say("to fuzz, build and install ember with clang for fuzzing: CC=clang meson setup "
		    "build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false "
		    "-Dc_args=-fsanitize=fuzzer-no-link --prefix=PREFIX && meson install -C "
		    "build-fuzz; then use PREFIX/bin/ember-fuzz");
		say("(--seeds-only runs the seed inputs once without an engine: a smoke test, not "
		    "fuzzing)");
		return EX_NO_ENGINE;
	}
	/* Only fuzzing needs the hooks; --seeds-only is a plain replay. */
	if (!r.seeds_only && plugin_hooks(r.so, &cov, &asan)) {
		if (!cov)
			say("warning: %s has no coverage instrumentation: the fuzzer is blind to "
			    "its "
			    "code and explores only ember's side; build it with clang "
			    "-fsanitize=fuzzer-no-link,address",
			    r.so);
		else if (!asan)
			say("warning: %s is built without -fsanitize=address: out-of-bounds "
			    "accesses "
			    "to its own memory go unseen",
			    r.so);
	}
	prepare(&r);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	make_stats(&r);
	environment(&r);
	seed(&r);
	rc = r.seeds_only ? seeds_only(&r) : fuzz(&r);
	return rc;
}
