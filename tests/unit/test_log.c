/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log_ratelimited: a guest that triggers one log line in a loop must not be able to write
 * megabytes to ember's stderr (each line a blocking write on a vCPU thread). Each source lets
 * a burst through per interval and later says how many lines it held back.
 */
#include "boot_timer.h"
#include "layout.h"
#include "log.h"
#include "virtio/virtio_mmio.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SUPPRESSED " similar messages suppressed"

/* stderr goes to a memory file for the test; collect() reads it back. */
struct capture {
	int fd, saved;
};

static void capture_start(struct capture *c)
{
	c->fd = memfd_create("stderr", MFD_CLOEXEC);
	cr_assert_geq(c->fd, 0);
	/* Lines from several threads must all land, none over another. */
	cr_assert_eq(fcntl(c->fd, F_SETFL, O_APPEND), 0);
	c->saved = dup(STDERR_FILENO);
	cr_assert_geq(c->saved, 0);
	cr_assert_geq(dup2(c->fd, STDERR_FILENO), 0);
}

/* Restores stderr; returns what was written, NUL-terminated (caller frees). */
static char *capture_end(struct capture *c)
{
	off_t size = lseek(c->fd, 0, SEEK_END);
	char *buf = malloc((size_t)size + 1);

	cr_assert_not_null(buf);
	cr_assert_eq(pread(c->fd, buf, (size_t)size, 0), size);
	buf[size] = '\0';
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	close(c->fd);
	return buf;
}

struct tally {
	unsigned lines;		  /* every line */
	unsigned messages;	  /* lines of the message itself */
	unsigned suppress_lines;  /* "N similar messages suppressed" lines */
	unsigned long suppressed; /* the sum of their N */
};

static struct tally count(const char *out, const char *prefix)
{
	struct tally t = {0};

	for (const char *p = out; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		unsigned long n;
		char tail[64];

		t.lines++;
		if (sscanf(p, "ember: warning: %lu%63[^\n]", &n, tail) == 2 &&
		    !strcmp(tail, SUPPRESSED)) {
			t.suppress_lines++;
			t.suppressed += n;
		} else if (!strncmp(p, prefix, strlen(prefix))) {
			t.messages++;
		}
		p += len + (nl ? 1 : 0);
	}
	return t;
}

Test(log, ten_thousand_calls_give_a_burst_and_a_count)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(5, 1000);
	struct capture c;
	struct tally t;
	char *out;

	capture_start(&c);
	for (int i = 0; i < 10000; i++)
		log_ratelimited(&rl, LOG_WARN, "guest poked register %d", i);
	out = capture_end(&c);
	t = count(out, "ember: warning: guest poked register ");
	cr_assert_leq(t.lines, 5 + 1, "10000 calls wrote %u lines (burst 5):\n%.400s", t.lines,
		      out);
	cr_assert_geq(t.messages, 5, "the burst did not get through");
	free(out);

	/* After the interval the next line goes out, with the count of those held back. */
	usleep(1100 * 1000);
	capture_start(&c);
	log_ratelimited(&rl, LOG_WARN, "guest poked register %d", 10000);
	out = capture_end(&c);
	t = count(out, "ember: warning: guest poked register 10000");
	cr_assert_eq(t.messages, 1, "no line after the interval:\n%s", out);
	cr_assert_eq(t.suppress_lines, 1, "no suppressed-count line:\n%s", out);
	cr_assert(strstr(out, SUPPRESSED "\nember: warning: guest poked register 10000\n"),
		  "the count does not come right before the line it precedes:\n%s", out);
	free(out);
}

struct worker {
	struct log_ratelimit *rl;
	int calls;
};

static void *spam(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->calls; i++)
		log_ratelimited(w->rl, LOG_WARN, "vcpu message %d", i);
	return NULL;
}

/* Four vCPU threads on one source: the limit holds, and no line is lost from the count. */
Test(log, threads_share_one_limit_and_the_count_is_exact)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(8, 1000);
	struct worker w = {.rl = &rl, .calls = 2500};
	pthread_t th[4];
	struct capture c;
	struct tally a, b;
	char *out;

	capture_start(&c);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, spam, &w), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	out = capture_end(&c);
	a = count(out, "ember: warning: vcpu message ");
	cr_assert_leq(a.lines, 8 + 4 + 1, "10000 calls from 4 threads wrote %u lines (burst 8)",
		      a.lines);
	free(out);
	usleep(1100 * 1000);
	capture_start(&c);
	log_ratelimited(&rl, LOG_WARN, "vcpu message %d", -1);
	out = capture_end(&c);
	b = count(out, "ember: warning: vcpu message ");
	cr_assert_eq(b.suppress_lines, 1);
	cr_assert_eq(a.messages + a.suppressed + b.messages + b.suppressed, 10001,
		     "%u + %lu + %u + %lu lines: some were neither written nor counted", a.messages,
		     a.suppressed, b.messages, b.suppressed);
	free(out);
}

/* Lines of a level that is not logged neither print nor use up the burst. */
Test(log, disabled_levels_do_not_use_the_burst)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(3, 60000);
	struct capture c;
	struct tally t;
	char *out;

	log_set_level(LOG_INFO);
	capture_start(&c);
	for (int i = 0; i < 100; i++)
		log_ratelimited(&rl, LOG_DEBUG, "debug %d", i);
	for (int i = 0; i < 3; i++)
		log_ratelimited(&rl, LOG_WARN, "warn %d", i);
	out = capture_end(&c);
	t = count(out, "ember: warning: warn ");
	cr_assert_eq(t.lines, 3, "got:\n%s", out);
	cr_assert_eq(t.messages, 3);
	free(out);
}

/* The decision alone, for sinks other than log_msg (a plugin instance's log). */
Test(log, allow_counts_what_it_refuses)
{
	struct log_ratelimit rl;
	unsigned long n = 99;
	int allowed = 0;

	log_ratelimit_init(&rl, 3, 200);
	for (int i = 0; i < 10; i++)
		if (log_ratelimit_allow(&rl, &n)) {
			allowed++;
			cr_assert_eq(n, 0);
		}
	cr_assert_eq(allowed, 3);
	usleep(250 * 1000);
	cr_assert(log_ratelimit_allow(&rl, &n));
	cr_assert_eq(n, 7);
	cr_assert(log_ratelimit_allow(&rl, &n));
	cr_assert_eq(n, 0);
}

/* A guest-triggered line in the core: the boot marker, written by the guest in a loop. */
Test(log, boot_timer_marker_is_rate_limited)
{
	const uint8_t magic = BOOT_TIMER_MAGIC;
	struct capture c;
	struct tally t;
	char *out;

	capture_start(&c);
	for (int i = 0; i < 10000; i++)
		boot_timer_mmio_write(NULL, 0, &magic, 1);
	out = capture_end(&c);
	t = count(out, "ember: boot-timer: wall_ms=");
	cr_assert_geq(t.messages, 1, "the first boot marker must always be logged:\n%.300s", out);
	cr_assert_leq(t.lines, 10 + 1, "10000 boot markers wrote %u lines", t.lines);
	free(out);
}

static void count_line(void *opaque, int level, const char *msg)
{
	(void)level;
	if (!strstr(msg, SUPPRESSED))
		++*(int *)opaque;
}

/* The virtio transport's guest-triggered lines: a driver clearing Status bits in a loop. */
Test(log, virtio_transport_lines_are_rate_limited)
{
	static const struct ember_device_ops ops = {.struct_size = sizeof(ops)};
	static const struct ember_plugin_desc desc = {
	    .struct_size = sizeof(desc),
	    .kind = EMBER_DEVICE_VIRTIO,
	    .virtio_device_id = 42,
	    .virtio_queue_count = 1,
	    .virtio_queue_max_size = 16,
	};
	int lines = 0;
	struct virtio_mmio_env env = {.log = count_line, .opaque = &lines};
	struct virtio_mmio t;
	uint32_t v = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	cr_assert_eq(virtio_mmio_init(&t, &env, &desc, &ops, NULL), 0);
	virtio_mmio_write(&t, VIRTIO_MMIO_STATUS, &v, 4);
	v = VIRTIO_STATUS_ACKNOWLEDGE;
	for (int i = 0; i < 10000; i++)
		virtio_mmio_write(&t, VIRTIO_MMIO_STATUS, &v, 4);
	cr_assert_geq(lines, 1, "the first one must be logged");
	cr_assert_leq(lines, 10 + 1, "10000 bad Status writes logged %d lines", lines);
	virtio_mmio_free(&t);
}

/* A stderr nobody reads (a full pipe) costs a line a bounded wait, never a hang. */
Test(log, a_full_stderr_pipe_drops_lines_instead_of_hanging)
{
	int p[2], saved = dup(STDERR_FILENO);
	struct timespec t0, t1;
	char buf[65536];
	ssize_t n;
	double secs;

	cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
	while (write(p[1], buf, sizeof(buf)) > 0)
		;				  /* fill it: the reader never reads */
	cr_assert_eq(fcntl(p[1], F_SETFL, 0), 0); /* ember's stderr blocks, as it would */
	cr_assert_geq(dup2(p[1], STDERR_FILENO), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	log_msg(LOG_WARN, "nobody reads this");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert_lt(secs, 2.0, "a log line blocked %.1f s on a full stderr", secs);
	cr_assert_eq(log_dropped_lines(), 1);
	/* Once there is room again, the next line says what was lost. */
	while (read(p[0], buf, sizeof(buf)) > 0 && fcntl(p[0], F_SETFL, O_NONBLOCK) == 0)
		;
	log_msg(LOG_WARN, "readable again");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert(strstr(buf, "1 log lines dropped"), "%s", buf);
	cr_assert(strstr(buf, "readable again"), "%s", buf);
	cr_assert_eq(log_dropped_lines(), 0);
}
