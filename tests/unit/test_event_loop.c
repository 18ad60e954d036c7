/* SPDX-License-Identifier: Apache-2.0 */
#include "event_loop.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct hits {
	struct event_loop *loop;
	struct event_watch *w;
	int fd;
	uint32_t events;
	int calls;
	int stop_after; /* stop the loop after this many calls; 0: never */
	int unwatch_self;
	int poke_at, poke_fd; /* at call poke_at, write a byte to poke_fd */
	int resume_at;	      /* at call resume_at, resume `resume` and pause this watch */
	struct event_watch *resume;
};

static void on_event(void *opaque, int fd, uint32_t events)
{
	struct hits *h = opaque;
	char buf[64];

	h->fd = fd;
	h->events = events;
	h->calls++;
	if (events & EPOLLIN)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	if (h->poke_at && h->calls == h->poke_at)
		cr_assert_eq(write(h->poke_fd, "p", 1), 1);
	if (h->resume_at && h->calls == h->resume_at) {
		cr_assert_eq(event_loop_modify(h->loop, h->resume, EPOLLIN), 0);
		cr_assert_eq(event_loop_modify(h->loop, h->w, 0), 0);
	}
	if (h->unwatch_self) {
		event_loop_unwatch(h->loop, h->w);
		h->w = NULL;
	}
	if (h->stop_after && h->calls >= h->stop_after)
		event_loop_stop(h->loop);
}

static void make_pipe(int p[2])
{
	cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

/* Runs the loop on this thread, with a watchdog that stops it after ms if it hangs. */
struct watchdog {
	struct event_loop *loop;
	int ms;
	int fired;
	int cancel;
	pthread_t thread;
};

static void *watchdog_main(void *opaque)
{
	struct watchdog *wd = opaque;

	for (int i = 0; i < wd->ms && !__atomic_load_n(&wd->cancel, __ATOMIC_SEQ_CST); i++) {
		struct timespec t = {0, 1000000};

		nanosleep(&t, NULL);
	}
	if (!__atomic_load_n(&wd->cancel, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&wd->fired, 1, __ATOMIC_SEQ_CST);
		event_loop_stop(wd->loop);
	}
	return NULL;
}

static int run_with_watchdog(struct event_loop *loop, int ms, int *fired)
{
	struct watchdog wd = {.loop = loop, .ms = ms};
	int rc;

	cr_assert_eq(pthread_create(&wd.thread, NULL, watchdog_main, &wd), 0);
	rc = event_loop_run(loop);
	__atomic_store_n(&wd.cancel, 1, __ATOMIC_SEQ_CST);
	pthread_join(wd.thread, NULL);
	*fired = wd.fired;
	return rc;
}

Test(event_loop, watch_fires_with_epollin)
{
	struct event_loop *loop = event_loop_create();
	struct hits h = {0};
	int p[2], fired;

	cr_assert_not_null(loop);
	make_pipe(p);
	h.loop = loop;
	h.stop_after = 1;
	h.w = event_loop_watch(loop, p[0], EPOLLIN, on_event, &h);
	cr_assert_not_null(h.w);
	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_eq(run_with_watchdog(loop, 5000, &fired), 0);
	cr_assert_eq(fired, 0, "the watch never fired");
	cr_assert_eq(h.calls, 1);
	cr_assert_eq(h.fd, p[0]);
	cr_assert(h.events & EPOLLIN);
	event_loop_unwatch(loop, h.w);
	event_loop_destroy(loop);
	close(p[0]);
	close(p[1]);
}

Test(event_loop, watch_refuses_a_bad_fd)
{
	struct event_loop *loop = event_loop_create();
	struct hits h = {0};

	cr_assert_not_null(loop);
	errno = 0;
	cr_assert_null(event_loop_watch(loop, -1, EPOLLIN, on_event, &h));
	cr_assert_eq(errno, EBADF);
	event_loop_destroy(loop);
}

struct stopper {
	struct event_loop *loop;
	int ms;
};

static void *stopper_main(void *opaque)
{
	struct stopper *s = opaque;
	struct timespec t = {0, (long)s->ms * 1000000};

	nanosleep(&t, NULL);
	event_loop_stop(s->loop);
	return NULL;
}

Test(event_loop, stop_from_another_thread, .timeout = 10)
{
	struct event_loop *loop = event_loop_create();
	struct stopper s = {.loop = loop, .ms = 50};
	pthread_t t;
	struct timespec a, b;

	cr_assert_not_null(loop);
	clock_gettime(CLOCK_MONOTONIC, &a);
	cr_assert_eq(pthread_create(&t, NULL, stopper_main, &s), 0);
	/* Nothing is watched: only the stop can end this. */
	cr_assert_eq(event_loop_run(loop), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_join(t, NULL);
	cr_assert_geq((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000, 40);
	event_loop_destroy(loop);
}

Test(event_loop, stop_before_run_returns_at_once, .timeout = 10)
{
	struct event_loop *loop = event_loop_create();

	cr_assert_not_null(loop);
	event_loop_stop(loop);
	event_loop_stop(loop);
	cr_assert_eq(event_loop_run(loop), 0);
	event_loop_destroy(loop);
}

Test(event_loop, unwatch_inside_callback)
{
	struct event_loop *loop = event_loop_create();
	struct hits self = {0}, ticker = {0};
	int p[2], q[2], fired;

	cr_assert_not_null(loop);
	make_pipe(p);
	make_pipe(q);
	self.loop = ticker.loop = loop;
	self.unwatch_self = 1;
	self.w = event_loop_watch(loop, p[0], EPOLLIN, on_event, &self);
	cr_assert_not_null(self.w);
	cr_assert_eq(write(p[1], "a", 1), 1);
	/*
	 * The write end of a pipe is always writable: it drives rounds. On its third call it
	 * makes p readable again, which must not reach the unwatched callback.
	 */
	ticker.w = event_loop_watch(loop, q[1], EPOLLOUT, on_event, &ticker);
	cr_assert_not_null(ticker.w);
	ticker.poke_at = 3;
	ticker.poke_fd = p[1];
	ticker.stop_after = 8;
	cr_assert_eq(run_with_watchdog(loop, 5000, &fired), 0);
	cr_assert_eq(fired, 0);
	cr_assert_eq(ticker.calls, 8);
	cr_assert_eq(self.calls, 1, "the callback ran %d times after its unwatch", self.calls - 1);
	cr_assert_null(self.w);
	event_loop_unwatch(loop, ticker.w);
	event_loop_destroy(loop);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

/* One callback unwatches another that is ready in the same round: it must not be called. */
struct pair {
	struct event_loop *loop;
	struct event_watch *a, *b;
	int a_calls, b_calls;
	int fd_a, fd_b;
};

static void pair_cb(void *opaque, int fd, uint32_t events)
{
	struct pair *pr = opaque;
	char buf[8];

	(void)events;
	if (read(fd, buf, sizeof(buf)) < 0)
		return;
	if (fd == pr->fd_a) {
		pr->a_calls++;
		if (pr->b) {
			event_loop_unwatch(pr->loop, pr->b);
			pr->b = NULL;
		}
	} else {
		pr->b_calls++;
		if (pr->a) {
			event_loop_unwatch(pr->loop, pr->a);
			pr->a = NULL;
		}
	}
	event_loop_stop(pr->loop);
}

Test(event_loop, unwatch_of_another_ready_watch)
{
	struct event_loop *loop = event_loop_create();
	struct pair pr = {0};
	int p[2], q[2], fired;

	cr_assert_not_null(loop);
	make_pipe(p);
	make_pipe(q);
	pr.loop = loop;
	pr.fd_a = p[0];
	pr.fd_b = q[0];
	pr.a = event_loop_watch(loop, p[0], EPOLLIN, pair_cb, &pr);
	pr.b = event_loop_watch(loop, q[0], EPOLLIN, pair_cb, &pr);
	cr_assert_eq(write(p[1], "a", 1), 1);
	cr_assert_eq(write(q[1], "b", 1), 1);
	cr_assert_eq(run_with_watchdog(loop, 5000, &fired), 0);
	cr_assert_eq(fired, 0);
	/* Whichever ran first removed the other before its turn. */
	cr_assert_eq(pr.a_calls + pr.b_calls, 1, "a=%d b=%d", pr.a_calls, pr.b_calls);
	event_loop_unwatch(loop, pr.a);
	event_loop_unwatch(loop, pr.b);
	event_loop_destroy(loop);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

Test(event_loop, modify_to_zero_pauses)
{
	struct event_loop *loop = event_loop_create();
	struct hits paused = {0}, ticker = {0};
	int p[2], q[2], fired;

	cr_assert_not_null(loop);
	make_pipe(p);
	make_pipe(q);
	paused.loop = ticker.loop = loop;
	paused.w = event_loop_watch(loop, p[0], EPOLLIN, on_event, &paused);
	cr_assert_not_null(paused.w);
	cr_assert_eq(event_loop_modify(loop, paused.w, 0), 0);
	cr_assert_eq(write(p[1], "x", 1), 1);
	/*
	 * A writable pipe end drives rounds; after 10 of them it resumes the paused watch and
	 * pauses itself. The resumed watch then fires for the byte that waited, and stops.
	 */
	ticker.w = event_loop_watch(loop, q[1], EPOLLOUT, on_event, &ticker);
	cr_assert_not_null(ticker.w);
	ticker.resume_at = 10;
	ticker.resume = paused.w;
	paused.stop_after = 1;
	cr_assert_eq(run_with_watchdog(loop, 5000, &fired), 0);
	cr_assert_eq(fired, 0, "the resumed watch never fired");
	cr_assert_eq(ticker.calls, 10, "a watch paused with modify(0) fired");
	cr_assert_eq(paused.calls, 1);
	cr_assert(paused.events & EPOLLIN);
	event_loop_unwatch(loop, paused.w);
	event_loop_unwatch(loop, ticker.w);
	event_loop_destroy(loop);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}
