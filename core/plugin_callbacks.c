/* SPDX-License-Identifier: Apache-2.0 */
/* A device's fd watches and one-shot timers, for every embedding (plugin_callbacks.h). */
#include "plugin_callbacks.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CAP 8

static void init(struct plugin_callbacks *r, struct plugin_cb *slots, size_t cap, bool fixed,
		 const struct plugin_callbacks_wait *wait, void *ctx)
{
	static const struct plugin_callbacks_wait no_wait;

	*r = (struct plugin_callbacks){
	    .slots = slots,
	    .cap = cap,
	    .fixed = fixed,
	    .next_id = 1,
	    .wait = wait ? wait : &no_wait,
	    .wait_ctx = ctx,
	};
	pthread_mutex_init(&r->lock, NULL);
}

void plugin_callbacks_init(struct plugin_callbacks *r, const struct plugin_callbacks_wait *wait,
			   void *ctx)
{
	init(r, NULL, 0, false, wait, ctx);
}

void plugin_callbacks_init_fixed(struct plugin_callbacks *r, struct plugin_cb *slots, size_t cap,
				 const struct plugin_callbacks_wait *wait, void *ctx)
{
	init(r, slots, cap, true, wait, ctx);
}

static void disarm(struct plugin_callbacks *r, struct plugin_cb *cb)
{
	if (r->wait->disarm)
		r->wait->disarm(r->wait_ctx, cb);
}

unsigned plugin_callbacks_fini(struct plugin_callbacks *r)
{
	unsigned left = 0;

	/* Teardown: no other thread uses r any more, so no lock around disarm either. */
	for (size_t i = 0; i < r->cap; i++) {
		if (!r->slots[i].used)
			continue;
		r->slots[i].used = false;
		disarm(r, &r->slots[i]);
		left++;
	}
	if (!r->fixed)
		free(r->slots);
	r->slots = NULL;
	r->cap = 0;
	pthread_mutex_destroy(&r->lock);
	return left;
}

/* A free slot, growing the registry's own storage when there is none. Under the lock. */
static struct plugin_cb *free_slot(struct plugin_callbacks *r, int *err)
{
	struct plugin_cb *n;
	size_t old = r->cap, cap;

	for (size_t i = 0; i < r->cap; i++)
		if (!r->slots[i].used)
			return &r->slots[i];
	if (r->fixed) {
		*err = -ENOSPC;
		return NULL;
	}
	cap = old ? old * 2 : FIRST_CAP;
	n = realloc(r->slots, cap * sizeof(*n));
	if (!n) {
		*err = -ENOMEM;
		return NULL;
	}
	memset(n + old, 0, (cap - old) * sizeof(*n));
	r->slots = n;
	r->cap = cap;
	return &r->slots[old];
}

static int add(struct plugin_callbacks *r, struct plugin_cb *cb, uint64_t delay_ns)
{
	struct plugin_cb *slot;
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	if (r->next_id > INT_MAX) {
		rc = -EOVERFLOW;
		goto out;
	}
	slot = free_slot(r, &rc);
	if (!slot)
		goto out;
	cb->id = (int)r->next_id++;
	/* Armed under the lock: no dispatch finds the record before it is complete. */
	if (r->wait->arm && (rc = r->wait->arm(r->wait_ctx, cb, delay_ns)) < 0)
		goto out;
	cb->used = true;
	*slot = *cb;
	rc = cb->id;
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* Removes the record with id (of the kind asked for) into *out. */
static bool take(struct plugin_callbacks *r, int id, bool timer, struct plugin_cb *out)
{
	bool found = false;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->cap; i++) {
		struct plugin_cb *c = &r->slots[i];

		if (c->used && c->id == id && c->timer == timer) {
			*out = *c;
			c->used = false;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return found;
}

int plugin_callbacks_watch_add(struct plugin_callbacks *r, int fd, uint32_t events,
			       plugin_watch_cb cb, void *arg)
{
	struct plugin_cb c = {.fd = fd, .events = events, .watch_cb = cb, .arg = arg};

	return add(r, &c, 0);
}

void plugin_callbacks_watch_remove(struct plugin_callbacks *r, int id)
{
	struct plugin_cb c;

	if (take(r, id, false, &c))
		disarm(r, &c);
}

int plugin_callbacks_timer_start(struct plugin_callbacks *r, uint64_t delay_ns, plugin_timer_cb cb,
				 void *arg)
{
	struct plugin_cb c = {.timer = true, .fd = -1, .timer_cb = cb, .arg = arg};

	return add(r, &c, delay_ns);
}

void plugin_callbacks_timer_cancel(struct plugin_callbacks *r, int id)
{
	struct plugin_cb c;

	if (take(r, id, true, &c))
		disarm(r, &c);
}

void plugin_callbacks_run(const struct plugin_cb *cb, uint32_t revents)
{
	if (cb->timer)
		cb->timer_cb(cb->arg, cb->id);
	else
		cb->watch_cb(cb->arg, cb->id, revents);
}

bool plugin_callbacks_fd_ready(struct plugin_callbacks *r, int fd, uint32_t revents)
{
	struct plugin_cb c;
	bool found = false;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->cap; i++) {
		if (!r->slots[i].used || r->slots[i].fd != fd)
			continue;
		c = r->slots[i];
		if (c.timer)
			r->slots[i].used = false; /* one-shot: gone before it runs */
		found = true;
		break;
	}
	pthread_mutex_unlock(&r->lock);
	if (!found)
		return false;
	if (c.timer)
		disarm(r, &c);
	plugin_callbacks_run(&c, revents);
	return true;
}

bool plugin_callbacks_take_due(struct plugin_callbacks *r, uint64_t until_ns, struct plugin_cb *out)
{
	struct plugin_cb *due = NULL;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->cap; i++) {
		struct plugin_cb *c = &r->slots[i];

		if (c->used && c->timer && c->deadline_ns <= until_ns &&
		    (!due || c->deadline_ns < due->deadline_ns))
			due = c;
	}
	if (due) {
		*out = *due;
		due->used = false;
	}
	pthread_mutex_unlock(&r->lock);
	if (due)
		disarm(r, out);
	return due != NULL;
}

bool plugin_callbacks_at(struct plugin_callbacks *r, size_t i, struct plugin_cb *out)
{
	bool used = false;

	pthread_mutex_lock(&r->lock);
	if (i < r->cap && r->slots[i].used) {
		*out = r->slots[i];
		used = true;
	}
	pthread_mutex_unlock(&r->lock);
	return used;
}

size_t plugin_callbacks_capacity(struct plugin_callbacks *r)
{
	size_t cap;

	pthread_mutex_lock(&r->lock);
	cap = r->cap;
	pthread_mutex_unlock(&r->lock);
	return cap;
}

unsigned plugin_callbacks_count(struct plugin_callbacks *r)
{
	unsigned n = 0;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->cap; i++)
		n += r->slots[i].used;
	pthread_mutex_unlock(&r->lock);
	return n;
}
