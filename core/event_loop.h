/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The core's event loop: epoll on the main thread. Watches fds and runs timers; device code
 * (and plugin host services) hang their completions here rather than blocking vCPU threads.
 *
 * Threads: event_loop_run runs on one thread (the main thread) and calls every callback
 * there. event_loop_watch/modify/unwatch may be called from any thread and never wait for a
 * callback. Unwatching on the loop thread (from a callback too) means the callback never runs
 * again. Unwatching from another thread may race with a dispatch that already started: the
 * callback may then run once more, so its opaque must stay valid until the owner's teardown
 * (the watch itself is freed only between rounds of the loop, never under a running callback).
 */
#ifndef EMBER_EVENT_LOOP_H
#define EMBER_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct event_loop;
struct event_watch;

/* events: EPOLLIN / EPOLLOUT bits as returned by epoll. */
typedef void (*event_fn)(void *opaque, int fd, uint32_t events);

struct event_loop *event_loop_create(void);
void event_loop_destroy(struct event_loop *loop);

/* Watches fd (level-triggered). Returns a handle, or NULL with errno set. fd stays the caller's. */
struct event_watch *event_loop_watch(struct event_loop *loop, int fd, uint32_t events, event_fn fn,
				     void *opaque);
/* Changes the events a watch waits for (0 pauses it). */
int event_loop_modify(struct event_loop *loop, struct event_watch *w, uint32_t events);
void event_loop_unwatch(struct event_loop *loop, struct event_watch *w);

/*
 * Runs until event_loop_stop (at once if it was called before). Returns 0, or a negative
 * errno if epoll itself failed. A loop runs once: stop is not undone.
 */
int event_loop_run(struct event_loop *loop);
/* Makes event_loop_run return after the current callbacks. Any thread, async-signal-safe. */
void event_loop_stop(struct event_loop *loop);

#endif
