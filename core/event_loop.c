/* SPDX-License-Identifier: Apache-2.0 */
#include "event_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct event_watch {
	int fd;
	event_fn fn;
	void *opaque;
	bool dead;
	struct event_watch *next_dead;
};

struct event_loop {
	int epfd;
	int wake_fd;
	atomic_bool stopping; /* lock-free, so event_loop_stop stays async-signal-safe */
	pthread_mutex_t lock;
	struct event_watch *graveyard; /* unwatched, freed by the loop between rounds */
};

struct event_loop *event_loop_create(void)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	if (!loop)
		return NULL;
	atomic_init(&loop->stopping, false);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->wake_fd < 0 ||
	    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0) {
		int e = errno;

		if (loop->epfd >= 0)
			close(loop->epfd);
		if (loop->wake_fd >= 0)
			close(loop->wake_fd);
		free(loop);
		errno = e;
		return NULL;
	}
	pthread_mutex_init(&loop->lock, NULL);
	return loop;
}

static void free_graveyard(struct event_loop *loop)
{
	struct event_watch *w;

	pthread_mutex_lock(&loop->lock);
	w = loop->graveyard;
	loop->graveyard = NULL;
	pthread_mutex_unlock(&loop->lock);
	while (w) {
		struct event_watch *next = w->next_dead;

		free(w);
		w = next;
	}
}

void event_loop_destroy(struct event_loop *loop)
{
	if (!loop)
		return;
	free_graveyard(loop);
	close(loop->epfd);
	close(loop->wake_fd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

struct event_watch *event_loop_watch(struct event_loop *loop, int fd, uint32_t events, event_fn fn,
				     void *opaque)
{
	struct event_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = {.events = events};

	if (!w)
		return NULL;
	w->fd = fd;
	w->fn = fn;
	w->opaque = opaque;
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;

		free(w);
		errno = e;
		return NULL;
	}
	return w;
}

int event_loop_modify(struct event_loop *loop, struct event_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? -errno : 0;
}

void event_loop_unwatch(struct event_loop *loop, struct event_watch *w)
{
	if (!w)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	pthread_mutex_lock(&loop->lock);
	w->dead = true;
	w->next_dead = loop->graveyard;
	loop->graveyard = w;
	pthread_mutex_unlock(&loop->lock);
}

void event_loop_stop(struct event_loop *loop)
{
	uint64_t one = 1;

	atomic_store(&loop->stopping, true);
	if (write(loop->wake_fd, &one, sizeof(one)) < 0)
		return; /* the counter is already non-zero: the loop wakes anyway */
}

int event_loop_run(struct event_loop *loop)
{
	struct epoll_event evs[16];

	while (!atomic_load(&loop->stopping)) {
		int n = epoll_wait(loop->epfd, evs, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct event_watch *w = evs[i].data.ptr;
			bool dead;

			if (!w) {
				uint64_t v;

				if (read(loop->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					return -errno;
				continue;
			}
			/* A watch unwatched earlier in this round is in the graveyard, not freed.
			 */
			pthread_mutex_lock(&loop->lock);
			dead = w->dead;
			pthread_mutex_unlock(&loop->lock);
			if (!dead)
				w->fn(w->opaque, w->fd, evs[i].events);
		}
		free_graveyard(loop);
	}
	return 0;
}
