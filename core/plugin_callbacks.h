/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One device's fd watches and one-shot timers: the platform half of the host services
 * watch_add, watch_remove, timer_start and timer_cancel (plugin_instance.h), written once for
 * every embedding. The registry hands out ids, keeps the records and runs the callbacks; the
 * embedding supplies only the waiting part (struct plugin_callbacks_wait):
 *
 *   ember run   (vm_devices.c)        epoll on the event loop; a timerfd per timer
 *   the harness (tests/harness)       a fake clock moved by the test; poll(2) when it asks
 *   ember check (device_check.c)      nothing: records are kept but never fire
 *
 * Ids: 1, 2, 3, ... per registry, never reused (an id given to a wait->arm that failed is gone
 * too). Once INT_MAX has been handed out every add fails with -EOVERFLOW: an id never wraps to
 * a negative value (an error) or to an id that may still be live.
 *
 * Records sit in slots that never move while they are used (slot i stays slot i; the storage
 * may be reallocated, so nobody keeps a pointer to a slot outside the registry's lock). The
 * storage is either the registry's own, growing as needed (plugin_callbacks_init), or the
 * caller's fixed array (plugin_callbacks_init_fixed: full means -ENOSPC), which the caller may
 * read directly (the harness exposes it as struct harness's cbs).
 *
 * Threads: every function may be called from any thread. The registry's mutex guards the
 * records; it is held around wait->arm (so a record is complete before any dispatch can find
 * it) and never while a callback or wait->disarm runs, so callbacks may add and remove records.
 * A record removed from one thread while another dispatches it may still run once: callers
 * (plugin_instance's trampolines) ignore ids they no longer know, and the callback's arg must
 * stay valid until the embedding's teardown.
 *
 * Errors: negative errno values, as the platform table returns them.
 */
#ifndef EMBER_PLUGIN_CALLBACKS_H
#define EMBER_PLUGIN_CALLBACKS_H

#include "plugin_instance.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One watch or timer. */
struct plugin_cb {
	bool used;  /* the slot holds a record */
	bool timer; /* a one-shot timer; else an fd watch */
	int id;
	int fd;		      /* watch: the plugin's fd; timer: the embedding's (a timerfd) or -1 */
	uint32_t events;      /* watch: what it waits for (EPOLLIN, EPOLLOUT bits) */
	uint64_t deadline_ns; /* timer: when it is due, for an embedding that keeps its own clock */
	plugin_watch_cb watch_cb;
	plugin_timer_cb timer_cb;
	void *arg;
	void *wait; /* the embedding's handle for it (the VMM's event_watch); NULL: none */
};

/* The embedding's waiting part; both may be NULL (nothing to do). ctx: plugin_callbacks_init's. */
struct plugin_callbacks_wait {
	/*
	 * Starts waiting for cb: a watch for cb->fd to be ready for cb->events, a timer for
	 * delay_ns from now (set cb->fd, cb->deadline_ns and cb->wait as needed). Called with the
	 * registry's lock held: must not call back into the registry. Returns 0, or a negative
	 * errno after undoing what it did (the add then fails with it).
	 */
	int (*arm)(void *ctx, struct plugin_cb *cb, uint64_t delay_ns);
	/* Stops waiting for cb, which was just removed (or taken to run). Without the lock. */
	void (*disarm)(void *ctx, struct plugin_cb *cb);
};

struct plugin_callbacks {
	pthread_mutex_t lock;
	struct plugin_cb *slots;
	size_t cap;
	bool fixed;	 /* slots is the caller's array */
	int64_t next_id; /* > INT_MAX: ids are used up */
	const struct plugin_callbacks_wait *wait;
	void *wait_ctx;
};

/* A registry with storage of its own (growing), or over the caller's cap zeroed slots. */
void plugin_callbacks_init(struct plugin_callbacks *r, const struct plugin_callbacks_wait *wait,
			   void *ctx);
void plugin_callbacks_init_fixed(struct plugin_callbacks *r, struct plugin_cb *slots, size_t cap,
				 const struct plugin_callbacks_wait *wait, void *ctx);
/*
 * Disarms and drops every record still there (what no plugin_instance removed: the embedding's
 * own teardown), frees the registry's own storage and its lock. Returns how many there were.
 * Nothing may use r afterwards but plugin_callbacks_init*.
 */
unsigned plugin_callbacks_fini(struct plugin_callbacks *r);

/*
 * The platform services, for the embedding's plugin_platform functions to forward to. Adds
 * return the new id (> 0), or -ENOMEM / -ENOSPC (no room), -EOVERFLOW (ids used up) or arm's
 * error. Removing an id that is not there (fired, removed, or a timer's id given to
 * watch_remove) does nothing.
 */
int plugin_callbacks_watch_add(struct plugin_callbacks *r, int fd, uint32_t events,
			       plugin_watch_cb cb, void *arg);
void plugin_callbacks_watch_remove(struct plugin_callbacks *r, int id);
int plugin_callbacks_timer_start(struct plugin_callbacks *r, uint64_t delay_ns, plugin_timer_cb cb,
				 void *arg);
void plugin_callbacks_timer_cancel(struct plugin_callbacks *r, int id);

/*
 * Dispatch, from the embedding's waiting part. fd_ready: fd is ready with revents; a watch on
 * fd runs (and stays), a timer whose fd it is is removed, disarmed and then runs (one-shot:
 * gone before it runs). Returns false when no record has that fd (it went meanwhile).
 */
bool plugin_callbacks_fd_ready(struct plugin_callbacks *r, int fd, uint32_t revents);
/*
 * For an embedding with its own clock: removes the timer due first by until_ns (deadline <=
 * until_ns; among equal deadlines the lowest slot), disarms it and copies it to *out without
 * running it, so that the caller can move its clock to the deadline first. False: none due.
 */
bool plugin_callbacks_take_due(struct plugin_callbacks *r, uint64_t until_ns,
			       struct plugin_cb *out);
/* Runs cb's callback (a copy from take_due or plugin_callbacks_at) with revents for a watch. */
void plugin_callbacks_run(const struct plugin_cb *cb, uint32_t revents);

/* Iteration: a copy of slot i, true when it holds a record. Slots are 0 .. capacity - 1. */
bool plugin_callbacks_at(struct plugin_callbacks *r, size_t i, struct plugin_cb *out);
size_t plugin_callbacks_capacity(struct plugin_callbacks *r);
/* Watches plus timers registered now. */
unsigned plugin_callbacks_count(struct plugin_callbacks *r);

#endif
