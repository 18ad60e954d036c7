/* SPDX-License-Identifier: Apache-2.0 */
#include "plugin_instance.h"

#include <ember/virtio.h>

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plugin_control.h"
#include "seccomp_install.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtqueue.h"

/* A watch or timer the plugin asked for; the platform knows it by id. */
struct pi_callback {
	struct pi_callback *next;
	int id;
	bool timer;
	int fd;
	ember_watch_fn watch_fn;
	ember_timer_fn timer_fn;
	void *arg;
};

/* Lines per level a plugin may log per interval before "N similar messages suppressed". */
#define PLUGIN_LOG_BURST       20
#define PLUGIN_LOG_INTERVAL_MS 5000

/* A thread started through thread_start; the handle is its id. */
struct pi_thread {
	struct pi_thread *next;
	uint64_t id;
	pthread_t thread;
	char name[16];
};

struct plugin_instance {
	struct ember_host host; /* first: a host pointer is the instance pointer */
	const struct plugin *plugin;
	const struct plugin_options *options;
	const struct guest_mem *mem;
	const struct plugin_platform *platform;
	void *popaque;
	char name[64];
	struct ember_instance *inst;
	pthread_mutex_t lock;
	struct pi_callback *callbacks;
	atomic_int irq_level; /* MMIO devices: the level last set */
	bool is_virtio;
	bool transport_up;
	bool creating;	      /* inside the plugin's create: vq_set_limits allowed */
	uint32_t queue_count; /* virtio: what this instance offers (vq_set_limits) */
	uint32_t queue_max_size;
	struct virtio_mmio transport;
	/* ABI 1.2 */
	bool has_devmem;
	uint64_t devmem_gpa, devmem_size;
	struct pi_thread *threads;		  /* started and not joined yet */
	const struct seccomp_prog *thread_filter; /* for threads thread_start starts; NULL: none */
	uint64_t next_thread_id;
	/* Queues whose pops hit the per-call budget, notified again from a timer (-1: none). */
	uint64_t renotify;
	int renotify_timer;
	/*
	 * A guest can make any plugin log at will (bad requests, resets): lines are limited per
	 * level, so debug lines that are never printed cannot use up the budget of warnings.
	 */
	struct log_ratelimit log_rl[EMBER_LOG_DEBUG + 1];
};

static struct plugin_instance *from_host(const struct ember_host *host)
{
	/* The table is the first member of the instance, which the host never hands out const. */
	return (struct plugin_instance *)(uintptr_t)host;
}

static void renotify(void *arg, int id);

/* Every call into the plugin: the lock, and for virtio a fresh pop budget. */
static void enter(struct plugin_instance *pi)
{
	pthread_mutex_lock(&pi->lock);
	seccomp_device_enter(pi->name, pi->plugin->desc.name);
	if (pi->transport_up)
		virtio_mmio_budget_reset(&pi->transport);
}

/* Queues cut short by the budget get another notify later, after the loop's other work. */
static void leave(struct plugin_instance *pi)
{
	if (pi->transport_up) {
		pi->renotify |= virtio_mmio_budget_take_hits(&pi->transport);
		if (pi->renotify && pi->renotify_timer < 0 && pi->platform->timer_start)
			pi->renotify_timer =
			    pi->platform->timer_start(pi->popaque, 0, renotify, pi);
	}
	seccomp_device_leave();
	pthread_mutex_unlock(&pi->lock);
}

static void renotify(void *arg, int id)
{
	struct plugin_instance *pi = arg;

	enter(pi);
	if (id == pi->renotify_timer) {
		uint64_t queues = pi->renotify;

		pi->renotify_timer = -1;
		pi->renotify = 0;
		for (uint32_t q = 0; queues; q++, queues >>= 1)
			if (queues & 1)
				virtio_mmio_queue_notify(&pi->transport, q);
	}
	leave(pi);
}

__attribute__((format(printf, 3, 0))) static void vlog_line(struct plugin_instance *pi, int level,
							    const char *fmt, va_list ap)
{
	char line[512];
	unsigned long suppressed;
	int n;

	if (level < EMBER_LOG_ERROR)
		level = EMBER_LOG_ERROR;
	if (level > EMBER_LOG_DEBUG)
		level = EMBER_LOG_DEBUG;
	if (!log_ratelimit_allow(&pi->log_rl[level], &suppressed))
		return;
	if (suppressed) {
		snprintf(line, sizeof(line), "%s: %lu similar messages suppressed", pi->name,
			 suppressed);
		pi->platform->log(pi->popaque, level, line);
	}
	n = snprintf(line, sizeof(line), "%s: ", pi->name);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	pi->platform->log(pi->popaque, level, line);
}

__attribute__((format(printf, 3, 4))) static void host_log(const struct ember_host *host, int level,
							   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_line(from_host(host), level, fmt, ap);
	va_end(ap);
}

static void transport_log(void *opaque, int level, const char *msg)
{
	host_log(opaque, level, "%s", msg);
}

/* The option's value for a typed lookup: 0 with *out set, -ENOENT (not documented), -EINVAL. */
static int find_option(const struct ember_host *host, const char *name, uint32_t type,
		       const struct plugin_option_value **out)
{
	const struct plugin_option_value *v = plugin_option_find(from_host(host)->options, name);

	*out = v;
	if (!v)
		return -ENOENT;
	/* Paths are strings too, already resolved against the config's folder. */
	if (v->option->type == type ||
	    (type == EMBER_OPTION_STRING && v->option->type == EMBER_OPTION_PATH))
		return 0;
	return -EINVAL;
}

static int host_opt_int(const struct ember_host *host, const char *name, int64_t *out)
{
	const struct plugin_option_value *v;
	int rc = find_option(host, name, EMBER_OPTION_INT, &v);

	if (!rc)
		*out = v->num;
	return rc;
}

static int host_opt_bool(const struct ember_host *host, const char *name, bool *out)
{
	const struct plugin_option_value *v;
	int rc = find_option(host, name, EMBER_OPTION_BOOL, &v);

	if (!rc)
		*out = v->num != 0;
	return rc;
}

static int host_opt_string(const struct ember_host *host, const char *name, const char **out)
{
	const struct plugin_option_value *v;
	int rc = find_option(host, name, EMBER_OPTION_STRING, &v);

	if (!rc)
		*out = v->str;
	return rc;
}

static int host_opt_size(const struct ember_host *host, const char *name, uint64_t *out)
{
	const struct plugin_option_value *v;
	int rc = find_option(host, name, EMBER_OPTION_SIZE, &v);

	if (!rc)
		*out = (uint64_t)v->num;
	return rc;
}

static int host_mem_read(const struct ember_host *host, uint64_t gpa, void *dst, uint64_t len)
{
	return guest_mem_read(from_host(host)->mem, gpa, dst, len);
}

static int host_mem_write(const struct ember_host *host, uint64_t gpa, const void *src,
			  uint64_t len)
{
	return guest_mem_write(from_host(host)->mem, gpa, src, len);
}

static int host_mem_map(const struct ember_host *host, uint64_t gpa, uint64_t len,
			struct iovec *iov, uint32_t iov_cap)
{
	void *p;

	if (len == 0)
		return 0;
	if (iov_cap == 0)
		return -ENOBUFS;
	/* guest_mem regions are contiguous on the host: one checked range is one iovec. */
	p = guest_mem_ptr(from_host(host)->mem, gpa, len);
	if (!p)
		return -EFAULT;
	iov[0] = (struct iovec){.iov_base = p, .iov_len = len};
	return 1;
}

static void host_irq_set(const struct ember_host *host, int level)
{
	struct plugin_instance *pi = from_host(host);

	if (pi->is_virtio || !(pi->plugin->desc.flags & EMBER_DESC_F_IRQ))
		return; /* virtio devices interrupt through vq_notify/config_changed */
	atomic_store(&pi->irq_level, level != 0);
	if (pi->platform->irq_set)
		pi->platform->irq_set(pi->popaque, level != 0);
}

static struct pi_callback *take_callback(struct plugin_instance *pi, int id, bool timer,
					 bool unlink)
{
	for (struct pi_callback **pp = &pi->callbacks; *pp; pp = &(*pp)->next) {
		struct pi_callback *cb = *pp;

		if (cb->id == id && cb->timer == timer) {
			if (unlink)
				*pp = cb->next;
			return cb;
		}
	}
	return NULL;
}

/* Event-loop thread: run the plugin's callback under the device lock, if it still exists. */
static void watch_trampoline(void *arg, int id, uint32_t revents)
{
	struct plugin_instance *pi = arg;
	struct pi_callback *cb;

	enter(pi);
	cb = take_callback(pi, id, false, false);
	if (cb)
		cb->watch_fn(cb->arg, cb->fd, revents);
	leave(pi);
}

static void timer_trampoline(void *arg, int id)
{
	struct plugin_instance *pi = arg;
	struct pi_callback *cb;

	enter(pi);
	cb = take_callback(pi, id, true, true); /* one-shot: gone before it runs */
	if (cb) {
		cb->timer_fn(cb->arg);
		free(cb);
	}
	leave(pi);
}

static int host_watch_add(const struct ember_host *host, int fd, uint32_t events, ember_watch_fn fn,
			  void *arg)
{
	struct plugin_instance *pi = from_host(host);
	struct pi_callback *cb;
	int id;

	if (!pi->platform->watch_add)
		return -ENOSYS;
	if (fd < 0 || !fn)
		return -EINVAL;
	cb = calloc(1, sizeof(*cb));
	if (!cb)
		return -ENOMEM;
	id = pi->platform->watch_add(pi->popaque, fd, events, watch_trampoline, pi);
	if (id < 0) {
		free(cb);
		return id;
	}
	*cb = (struct pi_callback){pi->callbacks, id, false, fd, fn, NULL, arg};
	pi->callbacks = cb;
	return id;
}

static void host_watch_remove(const struct ember_host *host, int id)
{
	struct plugin_instance *pi = from_host(host);

	free(take_callback(pi, id, false, true));
	if (pi->platform->watch_remove)
		pi->platform->watch_remove(pi->popaque, id);
}

static int host_timer_start(const struct ember_host *host, uint64_t delay_ns, ember_timer_fn fn,
			    void *arg)
{
	struct plugin_instance *pi = from_host(host);
	struct pi_callback *cb;
	int id;

	if (!pi->platform->timer_start)
		return -ENOSYS;
	if (!fn)
		return -EINVAL;
	cb = calloc(1, sizeof(*cb));
	if (!cb)
		return -ENOMEM;
	id = pi->platform->timer_start(pi->popaque, delay_ns, timer_trampoline, pi);
	if (id < 0) {
		free(cb);
		return id;
	}
	*cb = (struct pi_callback){pi->callbacks, id, true, -1, NULL, fn, arg};
	pi->callbacks = cb;
	return id;
}

static void host_timer_cancel(const struct ember_host *host, int id)
{
	struct plugin_instance *pi = from_host(host);
	struct pi_callback *cb = take_callback(pi, id, true, true);

	/* Unknown ids (already fired, or never ours) are fine: cancelling is idempotent. */
	if (cb && pi->platform->timer_cancel)
		pi->platform->timer_cancel(pi->popaque, id);
	free(cb);
}

static uint64_t host_clock_ns(const struct ember_host *host)
{
	struct plugin_instance *pi = from_host(host);

	return pi->platform->clock_ns ? pi->platform->clock_ns(pi->popaque) : 0;
}

static void host_guest_panic(const struct ember_host *host, uint32_t events)
{
	struct plugin_instance *pi = from_host(host);

	host_log(host, EMBER_LOG_ERROR, "the guest reported a panic (events 0x%x)", events);
	if (pi->platform->guest_panic)
		pi->platform->guest_panic(pi->popaque, events);
}

static struct virtio_mmio *transport(const struct ember_host *host)
{
	struct plugin_instance *pi = from_host(host);

	return pi->transport_up ? &pi->transport : NULL;
}

static int host_vq_pop(const struct ember_host *host, uint32_t queue, struct ember_vq_chain **out)
{
	struct virtio_mmio *t = transport(host);

	*out = NULL;
	return t ? virtio_mmio_vq_pop(t, queue, out) : -ENOTSUP;
}

static void host_vq_push(const struct ember_host *host, struct ember_vq_chain *chain,
			 uint32_t written)
{
	struct virtio_mmio *t = transport(host);

	if (t)
		virtio_mmio_vq_push(t, chain, written);
}

static void host_vq_notify(const struct ember_host *host, uint32_t queue)
{
	struct virtio_mmio *t = transport(host);

	if (t)
		virtio_mmio_vq_notify(t, queue);
}

static int64_t host_chain_read(const struct ember_host *host, const struct ember_vq_chain *chain,
			       uint64_t offset, void *buf, uint64_t len)
{
	return virtq_chain_read(from_host(host)->mem, chain, offset, buf, len);
}

static int64_t host_chain_write(const struct ember_host *host, const struct ember_vq_chain *chain,
				uint64_t offset, const void *buf, uint64_t len)
{
	return virtq_chain_write(from_host(host)->mem, chain, offset, buf, len);
}

static int host_chain_map(const struct ember_host *host, const struct ember_vq_chain *chain,
			  int writable, struct iovec *iov, uint32_t iov_cap)
{
	return virtq_chain_map(from_host(host)->mem, chain, writable, iov, iov_cap);
}

static void host_config_changed(const struct ember_host *host)
{
	struct virtio_mmio *t = transport(host);

	if (t)
		virtio_mmio_config_changed(t);
}

static void host_set_needs_reset(const struct ember_host *host, const char *why)
{
	struct virtio_mmio *t = transport(host);

	if (t)
		virtio_mmio_set_needs_reset(t, why ? why : "the device asked for it");
}

static int host_vq_set_limits(const struct ember_host *host, uint32_t count, uint32_t max_size)
{
	struct plugin_instance *pi = from_host(host);
	const struct ember_plugin_desc *d = &pi->plugin->desc;

	if (!pi->creating || !pi->is_virtio)
		return -EPERM;
	if (count < 1 || count > d->virtio_queue_count || max_size < 1 ||
	    max_size > d->virtio_queue_max_size || (max_size & (max_size - 1)))
		return -EINVAL;
	pi->queue_count = count;
	pi->queue_max_size = max_size;
	return 0;
}

static int host_vq_unpop(const struct ember_host *host, struct ember_vq_chain *chain)
{
	struct virtio_mmio *t = transport(host);

	return t ? virtio_mmio_vq_unpop(t, chain) : -ENOTSUP;
}

static int host_mem_discard(const struct ember_host *host, uint64_t gpa, uint64_t len,
			    uint64_t *freed)
{
	*freed = 0;
	return guest_mem_discard(from_host(host)->mem, gpa, len, freed);
}

#define DEVMEM_MIN (4ULL << 10)
#define DEVMEM_MAX (16ULL << 20)

static int host_devmem_alloc(const struct ember_host *host, uint64_t size, uint32_t flags,
			     void **host_ptr, uint64_t *gpa)
{
	struct plugin_instance *pi = from_host(host);
	int rc;

	*host_ptr = NULL;
	*gpa = 0;
	if (!pi->creating)
		return -EPERM;
	if (size < DEVMEM_MIN || size > DEVMEM_MAX || size % DEVMEM_MIN ||
	    (flags & ~EMBER_DEVMEM_GUEST_READONLY))
		return -EINVAL;
	if (pi->has_devmem)
		return -EBUSY;
	if (!pi->platform->devmem_alloc)
		return -ENOTSUP;
	rc = pi->platform->devmem_alloc(pi->popaque, size, flags & EMBER_DEVMEM_GUEST_READONLY,
					host_ptr, gpa);
	if (rc)
		return rc;
	pi->has_devmem = true;
	pi->devmem_gpa = *gpa;
	pi->devmem_size = size;
	return 0;
}

static int host_clock_pair(const struct ember_host *host, uint32_t clock,
			   struct ember_clock_pair *out)
{
	struct plugin_instance *pi = from_host(host);
	struct ember_clock_pair pair = {.struct_size = sizeof(pair)};
	uint32_t want;
	int rc;

	if (clock != EMBER_CLOCK_REALTIME && clock != EMBER_CLOCK_TAI)
		return -EINVAL;
	if (!out || out->struct_size < offsetof(struct ember_clock_pair, reserved))
		return -EINVAL;
	if (!pi->platform->clock_pair)
		return -ENOTSUP;
	rc = pi->platform->clock_pair(pi->popaque, clock, &pair);
	if (rc)
		return rc;
	/* Copy what the caller's (maybe older, smaller) struct has room for. */
	want = out->struct_size < sizeof(pair) ? out->struct_size : (uint32_t)sizeof(pair);
	memcpy((uint8_t *)out + sizeof(out->struct_size),
	       (const uint8_t *)&pair + sizeof(pair.struct_size), want - sizeof(pair.struct_size));
	return 0;
}

/*
 * Block every signal in a plugin's thread: ember's signals are read by its signalfd only. The
 * thread names itself, unblocks SIGSYS (a blocked one would kill ember without the report) and
 * installs its filter before fn runs; a thread whose filter cannot be installed never runs fn.
 */
struct thread_start_arg {
	void *(*fn)(void *);
	void *arg;
	struct plugin_instance *pi;
	char name[16];
	sem_t ready; /* posted once the thread is filtered: thread_start returns then */
};

static void *thread_trampoline(void *p)
{
	struct thread_start_arg a = *(struct thread_start_arg *)p;
	sem_t *ready = &((struct thread_start_arg *)p)->ready;
	sigset_t sys;
	int rc;

	pthread_setname_np(pthread_self(), a.name);
	seccomp_thread_set(a.name);
	seccomp_thread_owner(a.pi->name, a.pi->plugin->desc.name);
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	rc = a.pi->thread_filter ? seccomp_install(a.pi->thread_filter) : 0;
	sem_post(ready); /* p is the starter's and gone after this */
	if (rc) {
		host_log(&a.pi->host, EMBER_LOG_ERROR,
			 "thread %s: cannot install its seccomp filter (%s): it does not run",
			 a.name, strerror(-rc));
		return NULL;
	}
	return a.fn(a.arg);
}

static int host_thread_start(const struct ember_host *host, const char *name, void *(*fn)(void *),
			     void *arg, uint64_t *handle)
{
	struct plugin_instance *pi = from_host(host);
	struct thread_start_arg a = {.fn = fn, .arg = arg, .pi = pi};
	struct pi_thread *t;
	sigset_t all, old;
	int rc;

	*handle = 0;
	if (!fn || !name || !*name)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	snprintf(t->name, sizeof(t->name), "%s", name);
	memcpy(a.name, t->name, sizeof(a.name));
	sem_init(&a.ready, 0, 0);
	/* The new thread inherits this mask, so no signal can reach it before it runs. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t->thread, NULL, thread_trampoline, &a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		sem_destroy(&a.ready);
		free(t);
		return -rc;
	}
	while (sem_wait(&a.ready) < 0 && errno == EINTR)
		;
	sem_destroy(&a.ready);
	t->id = ++pi->next_thread_id;
	t->next = pi->threads;
	pi->threads = t;
	*handle = t->id;
	return 0;
}

static int host_thread_join(const struct ember_host *host, uint64_t handle)
{
	struct plugin_instance *pi = from_host(host);

	for (struct pi_thread **pp = &pi->threads; *pp; pp = &(*pp)->next) {
		struct pi_thread *t = *pp;

		if (t->id == handle) {
			int rc = pthread_join(t->thread, NULL);

			*pp = t->next;
			free(t);
			return -rc;
		}
	}
	return -ENOENT;
}

static const struct ember_host host_template = {
    .struct_size = sizeof(struct ember_host),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor = EMBER_ABI_MINOR,
    .log = host_log,
    .opt_int = host_opt_int,
    .opt_bool = host_opt_bool,
    .opt_string = host_opt_string,
    .opt_size = host_opt_size,
    .mem_read = host_mem_read,
    .mem_write = host_mem_write,
    .mem_map = host_mem_map,
    .irq_set = host_irq_set,
    .watch_add = host_watch_add,
    .watch_remove = host_watch_remove,
    .timer_start = host_timer_start,
    .timer_cancel = host_timer_cancel,
    .clock_ns = host_clock_ns,
    .guest_panic = host_guest_panic,
    .vq_pop = host_vq_pop,
    .vq_push = host_vq_push,
    .vq_notify = host_vq_notify,
    .chain_read = host_chain_read,
    .chain_write = host_chain_write,
    .chain_map = host_chain_map,
    .config_changed = host_config_changed,
    .set_needs_reset = host_set_needs_reset,
    .vq_set_limits = host_vq_set_limits,
    .vq_unpop = host_vq_unpop,
    .mem_discard = host_mem_discard,
    .devmem_alloc = host_devmem_alloc,
    .clock_pair = host_clock_pair,
    .reply_int = plugin_control_reply_int,
    .reply_string = plugin_control_reply_string,
    .thread_start = host_thread_start,
    .thread_join = host_thread_join,
};

static void transport_irq(void *opaque, int level)
{
	struct plugin_instance *pi = opaque;

	if (pi->platform->irq_set)
		pi->platform->irq_set(pi->popaque, level);
}

/* Removes watches, timers and threads the plugin left behind; returns how many, logged. */
static unsigned release_leftovers(struct plugin_instance *pi)
{
	unsigned leaks = 0;

	while (pi->callbacks) {
		struct pi_callback *cb = pi->callbacks;

		host_log(&pi->host, EMBER_LOG_WARN, "plugin left a %s (id %d) behind",
			 cb->timer ? "timer" : "watch", cb->id);
		(cb->timer ? host_timer_cancel : host_watch_remove)(&pi->host, cb->id);
		leaks++;
	}
	while (pi->threads) {
		/* Unloading code a thread still runs would crash later: wait for it instead. */
		host_log(&pi->host, EMBER_LOG_WARN, "plugin left thread %s running; waiting for it",
			 pi->threads->name);
		host_thread_join(&pi->host, pi->threads->id);
		leaks++;
	}
	return leaks;
}

int plugin_instance_create(const struct plugin_instance_params *params,
			   struct plugin_instance **out, char *err, size_t err_size)
{
	const struct plugin *p = params->plugin;
	struct plugin_instance *pi;
	int rc;

	*out = NULL;
	pi = calloc(1, sizeof(*pi));
	if (!pi) {
		snprintf(err, err_size, "%s: out of memory", params->name);
		return -1;
	}
	pi->host = host_template;
	pi->host.instance_name = pi->name;
	pi->plugin = p;
	pi->options = params->options;
	pi->mem = params->mem;
	pi->platform = params->platform;
	pi->popaque = params->platform_opaque;
	pi->thread_filter = params->thread_filter;
	pi->is_virtio = p->desc.kind == EMBER_DEVICE_VIRTIO;
	snprintf(pi->name, sizeof(pi->name), "%s", params->name);
	pthread_mutex_init(&pi->lock, NULL);
	pi->renotify_timer = -1;
	for (size_t i = 0; i < EMBER_ARRAY_SIZE(pi->log_rl); i++)
		log_ratelimit_init(&pi->log_rl[i], PLUGIN_LOG_BURST, PLUGIN_LOG_INTERVAL_MS);

	pi->queue_count = p->desc.virtio_queue_count;
	pi->queue_max_size = p->desc.virtio_queue_max_size;
	pi->creating = true;
	rc = p->ops.create(&pi->host, &pi->inst);
	pi->creating = false;
	if (rc || !pi->inst) {
		snprintf(err, err_size, "%s: plugin %s could not create the device (%s)", pi->name,
			 p->desc.name, rc ? strerror(rc < 0 ? -rc : rc) : "no instance returned");
		goto fail_create;
	}
	if ((p->desc.acpi_resources & EMBER_ACPI_RES_DEVMEM) && !pi->has_devmem) {
		snprintf(err, err_size,
			 "%s: plugin %s lists device memory in ACPI but allocated none in create",
			 pi->name, p->desc.name);
		goto fail_transport;
	}
	if (pi->is_virtio) {
		struct virtio_mmio_env env = {
		    .mem = pi->mem,
		    .set_irq = transport_irq,
		    .log = transport_log,
		    .opaque = pi,
		};

		/* The descriptor with what the instance chose through vq_set_limits. */
		struct ember_plugin_desc desc = p->desc;

		desc.virtio_queue_count = (uint16_t)pi->queue_count;
		desc.virtio_queue_max_size = (uint16_t)pi->queue_max_size;
		if (virtio_mmio_init(&pi->transport, &env, &desc, &p->ops, pi->inst)) {
			snprintf(err, err_size, "%s: out of memory", pi->name);
			goto fail_transport;
		}
		pi->transport_up = true;
	}
	*out = pi;
	return 0;

fail_transport:
	p->ops.destroy(pi->inst);
fail_create:
	/* Whatever a failed create left registered must not fire into freed memory. */
	release_leftovers(pi);
	pthread_mutex_destroy(&pi->lock);
	free(pi);
	return -1;
}

unsigned plugin_instance_destroy(struct plugin_instance *pi)
{
	unsigned leaks = 0;
	uint32_t chains;

	if (!pi)
		return 0;
	seccomp_device_enter(pi->name, pi->plugin->desc.name);
	pi->plugin->ops.destroy(pi->inst);
	seccomp_device_leave();
	leaks += release_leftovers(pi);
	if (pi->renotify_timer >= 0 && pi->platform->timer_cancel)
		pi->platform->timer_cancel(pi->popaque, pi->renotify_timer);
	if (pi->transport_up) {
		chains = virtio_mmio_chains_live(&pi->transport);
		if (chains)
			host_log(&pi->host, EMBER_LOG_WARN,
				 "plugin kept %u descriptor chains past destroy", chains);
		leaks += chains;
		virtio_mmio_free(&pi->transport);
	}
	pthread_mutex_destroy(&pi->lock);
	free(pi);
	return leaks;
}

void plugin_instance_mmio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct plugin_instance *pi = opaque;
	const struct ember_device_ops *ops = &pi->plugin->ops;

	enter(pi);
	if (pi->is_virtio)
		virtio_mmio_read(&pi->transport, offset, data, len);
	else if (ops->mmio_read && offset + len <= pi->plugin->desc.mmio_size)
		ops->mmio_read(pi->inst, offset, data, len);
	else
		memset(data, 0xff, len);
	leave(pi);
}

void plugin_instance_mmio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct plugin_instance *pi = opaque;
	const struct ember_device_ops *ops = &pi->plugin->ops;

	enter(pi);
	if (pi->is_virtio)
		virtio_mmio_write(&pi->transport, offset, data, len);
	else if (ops->mmio_write && offset + len <= pi->plugin->desc.mmio_size)
		ops->mmio_write(pi->inst, offset, data, len);
	leave(pi);
}

void plugin_instance_queue_notify(struct plugin_instance *pi, uint32_t queue)
{
	if (!pi->is_virtio)
		return;
	enter(pi);
	virtio_mmio_queue_notify(&pi->transport, queue);
	leave(pi);
}

void plugin_instance_reset(struct plugin_instance *pi)
{
	enter(pi);
	if (pi->is_virtio)
		virtio_mmio_reset(&pi->transport);
	else if (pi->plugin->ops.reset)
		pi->plugin->ops.reset(pi->inst);
	leave(pi);
}

uint32_t plugin_instance_queue_count(const struct plugin_instance *pi)
{
	return pi->is_virtio ? pi->queue_count : 0;
}

bool plugin_instance_irq_pending(struct plugin_instance *pi)
{
	if (pi->is_virtio)
		return virtio_mmio_irq_pending(&pi->transport);
	return atomic_load(&pi->irq_level) != 0;
}

uint64_t plugin_instance_window_size(const struct plugin_instance *pi)
{
	if (pi->is_virtio)
		return VIRTIO_MMIO_WINDOW;
	/* 0 for a device without registers (ABI 1.2): it gets no window. */
	return ((uint64_t)pi->plugin->desc.mmio_size + 0xfff) & ~0xfffULL;
}

const char *plugin_instance_acpi_hid(const struct plugin_instance *pi)
{
	return pi->is_virtio ? VIRTIO_MMIO_ACPI_HID : pi->plugin->desc.acpi_hid;
}

bool plugin_instance_has_irq(const struct plugin_instance *pi)
{
	return pi->is_virtio || (pi->plugin->desc.flags & EMBER_DESC_F_IRQ);
}

const char *plugin_instance_name(const struct plugin_instance *pi)
{
	return pi->name;
}

const struct ember_host *plugin_instance_host(const struct plugin_instance *pi)
{
	return &pi->host;
}

bool plugin_instance_devmem(const struct plugin_instance *pi, uint64_t *gpa, uint64_t *size)
{
	*gpa = pi->devmem_gpa;
	*size = pi->devmem_size;
	return pi->has_devmem;
}

const char *plugin_instance_acpi_cid(const struct plugin_instance *pi)
{
	return pi->is_virtio ? NULL : pi->plugin->desc.acpi_cid;
}

uint32_t plugin_instance_acpi_resources(const struct plugin_instance *pi)
{
	uint32_t res = pi->is_virtio ? 0 : pi->plugin->desc.acpi_resources;

	if (res)
		return res;
	/* The 1.1 rule: the window, then the interrupt when the device has one. */
	return EMBER_ACPI_RES_MMIO | (plugin_instance_has_irq(pi) ? EMBER_ACPI_RES_IRQ : 0);
}

int plugin_instance_control(struct plugin_instance *pi, const char *name, const char *args,
			    char *reply, size_t reply_size)
{
	int rc;

	enter(pi);
	rc = plugin_control_run(pi->plugin, pi->inst, name, args, reply, reply_size);
	leave(pi);
	return rc;
}

uint32_t plugin_instance_metric_count(const struct plugin_instance *pi)
{
	return pi->plugin->desc.metric_count;
}

const struct ember_metric *plugin_instance_metric(const struct plugin_instance *pi, uint32_t i)
{
	return i < pi->plugin->desc.metric_count ? &pi->plugin->desc.metrics[i] : NULL;
}

uint32_t plugin_instance_metrics_read(struct plugin_instance *pi, uint64_t *values, uint32_t count)
{
	uint32_t n = pi->plugin->desc.metric_count;

	if (!pi->plugin->ops.metrics_read || n == 0)
		return 0;
	if (count < n)
		return 0;
	memset(values, 0, n * sizeof(*values));
	enter(pi);
	pi->plugin->ops.metrics_read(pi->inst, values, n);
	leave(pi);
	return n;
}
