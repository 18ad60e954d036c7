/* SPDX-License-Identifier: Apache-2.0 */
#include "vm_devices.h"

#include "layout.h"
#include "log.h"
#include "plugin_instance.h"
#include "plugin_loader.h"
#include "virtio/virtio_mmio.h"
#include "vm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define DEVICE_SLOT	0x1000ULL
#define DEVICE_GSI_LAST (LAYOUT_IOAPIC_PINS - 1)

/* A plugin's fd watch or one-shot timer, looked up by fd when the event loop fires. */
struct dev_handle {
	int id;
	int fd;
	bool is_timer;
	struct event_watch *watch;
	plugin_watch_cb watch_cb;
	plugin_timer_cb timer_cb;
	void *arg;
};

struct vm_device {
	struct vm *vm;
	struct plugin *plugin;
	struct plugin_options *opts;
	struct plugin_instance *pi;
	char name[PLUGIN_NAME_MAX + 12];
	uint64_t base;
	uint64_t size;
	unsigned gsi; /* 0: none */
	int irq_fd;
	int resample_fd;
	struct event_watch *resample_watch;
	unsigned queue_count;
	int *notify_fds;
	struct event_watch **notify_watches;

	pthread_mutex_t lock; /* guards handles; never held while calling into the plugin */
	struct dev_handle *handles;
	size_t handle_count;
	size_t handle_cap;
	int next_id;
};

static void platform_log(void *opaque, int level, const char *line)
{
	(void)opaque;
	if (level < 0 || level > 3)
		level = 0;
	log_msg((enum log_level)level, "%s", line);
}

static void platform_irq_set(void *opaque, int level)
{
	struct vm_device *d = opaque;
	uint64_t one = 1;

	/*
	 * Each write is one interrupt: a pulse on a virtio (edge) line; on a plain device's level
	 * line KVM holds it until EOI and then asks through the resample fd whether to raise it
	 * again. So lowering is never ours to do.
	 */
	if (level && d->irq_fd >= 0 && write(d->irq_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("%s: interrupt: %s", d->name, strerror(errno));
}

static uint64_t platform_clock_ns(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void platform_guest_panic(void *opaque, uint32_t events)
{
	struct vm_device *d = opaque;

	(void)events;
	vm_request_stop(d->vm, VM_STOP_GUEST_PANIC);
}

/*
 * Copies out the handle whose fd (by_id false) or id (by_id true) is key, under the lock, so
 * that its callback runs without it; take also removes it from the table.
 */
static bool handle_find(struct vm_device *d, bool by_id, int key, struct dev_handle *out, bool take)
{
	bool found = false;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->handle_count; i++) {
		if ((by_id ? d->handles[i].id : d->handles[i].fd) != key)
			continue;
		*out = d->handles[i];
		if (take)
			d->handles[i] = d->handles[--d->handle_count];
		found = true;
		break;
	}
	pthread_mutex_unlock(&d->lock);
	return found;
}

static int handle_add(struct vm_device *d, struct dev_handle *h, uint32_t events, event_fn fn)
{
	int id;

	pthread_mutex_lock(&d->lock);
	if (d->handle_count == d->handle_cap) {
		size_t cap = d->handle_cap ? d->handle_cap * 2 : 8;
		struct dev_handle *n = realloc(d->handles, cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&d->lock);
			return -ENOMEM;
		}
		d->handles = n;
		d->handle_cap = cap;
	}
	id = h->id = d->next_id++;
	/* Registered under the lock, so the callback cannot fire before the handle exists. */
	h->watch = event_loop_watch(d->vm->loop, h->fd, events, fn, d);
	if (!h->watch) {
		int e = -errno;

		pthread_mutex_unlock(&d->lock);
		return e;
	}
	d->handles[d->handle_count++] = *h;
	pthread_mutex_unlock(&d->lock);
	return id;
}

static void on_watch(void *opaque, int fd, uint32_t events)
{
	struct vm_device *d = opaque;
	struct dev_handle h;

	if (handle_find(d, false, fd, &h, false))
		h.watch_cb(h.arg, h.id, events);
}

static int platform_watch_add(void *opaque, int fd, uint32_t events, plugin_watch_cb cb, void *arg)
{
	struct vm_device *d = opaque;
	struct dev_handle h = {.fd = fd, .watch_cb = cb, .arg = arg};

	return handle_add(d, &h, events, on_watch);
}

static void platform_watch_remove(void *opaque, int id)
{
	struct vm_device *d = opaque;
	struct dev_handle h;

	if (handle_find(d, true, id, &h, true))
		event_loop_unwatch(d->vm->loop, h.watch);
}

static void on_timer(void *opaque, int fd, uint32_t events)
{
	struct vm_device *d = opaque;
	struct dev_handle h;

	(void)events;
	if (!handle_find(d, false, fd, &h, true))
		return;
	event_loop_unwatch(d->vm->loop, h.watch);
	close(h.fd);
	h.timer_cb(h.arg, h.id);
}

static int platform_timer_start(void *opaque, uint64_t delay_ns, plugin_timer_cb cb, void *arg)
{
	struct vm_device *d = opaque;
	struct itimerspec its = {0};
	struct dev_handle h = {.is_timer = true, .timer_cb = cb, .arg = arg};
	int id;

	if (delay_ns == 0)
		delay_ns = 1; /* an all-zero it_value would disarm the timer */
	its.it_value.tv_sec = (time_t)(delay_ns / 1000000000ULL);
	its.it_value.tv_nsec = (long)(delay_ns % 1000000000ULL);
	h.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (h.fd < 0)
		return -errno;
	if (timerfd_settime(h.fd, 0, &its, NULL) < 0) {
		int e = -errno;

		close(h.fd);
		return e;
	}
	id = handle_add(d, &h, EPOLLIN, on_timer);
	if (id < 0)
		close(h.fd);
	return id;
}

static void platform_timer_cancel(void *opaque, int id)
{
	struct vm_device *d = opaque;
	struct dev_handle h;

	if (!handle_find(d, true, id, &h, true))
		return;
	event_loop_unwatch(d->vm->loop, h.watch);
	close(h.fd);
}

static const struct plugin_platform vm_platform = {
    .log = platform_log,
    .irq_set = platform_irq_set,
    .watch_add = platform_watch_add,
    .watch_remove = platform_watch_remove,
    .timer_start = platform_timer_start,
    .timer_cancel = platform_timer_cancel,
    .clock_ns = platform_clock_ns,
    .guest_panic = platform_guest_panic,
};

int vm_devices_prepare(struct vm_devices *ds, const struct vm_config *cfg)
{
	char err[1024];

	memset(ds, 0, sizeof(*ds));
	if (cfg->device_count == 0)
		return 0;
	ds->devs = calloc(cfg->device_count, sizeof(*ds->devs));
	if (!ds->devs) {
		log_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->device_count; i++) {
		struct vm_device *d = &ds->devs[i];
		const struct device_config *dc = &cfg->devices[i];

		ds->count = i + 1;
		d->irq_fd = d->resample_fd = -1;
		pthread_mutex_init(&d->lock, NULL);
		if (plugin_load_by_name(dc->plugin, (const char *const *)cfg->plugin_dirs,
					cfg->plugin_dir_count, &d->plugin, err, sizeof(err))) {
			log_error("%s:%d: devices[%zu].plugin: %s", cfg->file, dc->line, i, err);
			goto fail;
		}
		if (plugin_check_options(d->plugin, dc, cfg->file, i, &d->opts, err, sizeof(err))) {
			log_error("%s", err);
			goto fail;
		}
	}
	return 0;
fail:
	vm_devices_destroy(ds);
	return -1;
}

static void on_resample(void *opaque, int fd, uint32_t events)
{
	struct vm_device *d = opaque;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	if (plugin_instance_irq_pending(d->pi))
		platform_irq_set(d, 1);
}

static void on_notify(void *opaque, int fd, uint32_t events)
{
	struct vm_device *d = opaque;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	for (unsigned q = 0; q < d->queue_count; q++)
		if (d->notify_fds[q] == fd)
			plugin_instance_queue_notify(d->pi, q);
}

/*
 * Virtio lines are edge-triggered: a plain irqfd, each write one pulse. Plain devices hold a
 * level: the irqfd gets a resample fd, KVM lowers the line at EOI and signals it, and
 * on_resample raises it again while the device still wants it. Edge saves that wake-up of the
 * event loop per interrupt.
 */
static int wire_irq(struct vm_device *d, bool edge)
{
	struct kvm_irqfd irqfd = {.gsi = d->gsi};

	d->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irq_fd < 0)
		return -errno;
	irqfd.fd = (uint32_t)d->irq_fd;
	if (!edge) {
		d->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->resample_fd < 0)
			return -errno;
		irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
		irqfd.resamplefd = (uint32_t)d->resample_fd;
	}
	if (ioctl(d->vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	if (edge)
		return 0;
	d->resample_watch = event_loop_watch(d->vm->loop, d->resample_fd, EPOLLIN, on_resample, d);
	return d->resample_watch ? 0 : -errno;
}

/* One ioeventfd per queue: a QueueNotify write of q completes in KVM and wakes the loop. */
static int wire_notify(struct vm_device *d)
{
	d->notify_fds = malloc(d->queue_count * sizeof(*d->notify_fds));
	d->notify_watches = calloc(d->queue_count, sizeof(*d->notify_watches));
	if (!d->notify_fds || !d->notify_watches)
		return -ENOMEM;
	for (unsigned q = 0; q < d->queue_count; q++)
		d->notify_fds[q] = -1;
	for (unsigned q = 0; q < d->queue_count; q++) {
		struct kvm_ioeventfd ev = {
		    .datamatch = q,
		    .addr = d->base + VIRTIO_MMIO_QUEUE_NOTIFY,
		    .len = 4,
		    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		d->notify_fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->notify_fds[q] < 0)
			return -errno;
		ev.fd = d->notify_fds[q];
		if (ioctl(d->vm->vm_fd, KVM_IOEVENTFD, &ev) < 0)
			return -errno;
		d->notify_watches[q] =
		    event_loop_watch(d->vm->loop, d->notify_fds[q], EPOLLIN, on_notify, d);
		if (!d->notify_watches[q])
			return -errno;
	}
	return 0;
}

static int create_one(struct vm_devices *ds, struct vm_device *d, struct vm *vm, size_t index,
		      uint64_t *next_base, unsigned *next_gsi)
{
	struct plugin_instance_params params = {
	    .plugin = d->plugin,
	    .options = d->opts,
	    .name = d->name,
	    .mem = &vm->mem,
	    .platform = &vm_platform,
	    .platform_opaque = d,
	};
	unsigned same = 0;
	char err[512];
	int rc;

	d->vm = vm;
	for (size_t i = 0; i < index; i++)
		same += !strcmp(ds->devs[i].plugin->desc.name, d->plugin->desc.name);
	snprintf(d->name, sizeof(d->name), "%s.%u", d->plugin->desc.name, same);
	if (plugin_instance_create(&params, &d->pi, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	d->size = plugin_instance_window_size(d->pi);
	d->base = *next_base;
	if (d->size > LAYOUT_DEVICE_MMIO_GPA + LAYOUT_DEVICE_MMIO_SIZE - d->base) {
		log_error("%s: no room left for its %llu-byte window", d->name,
			  (unsigned long long)d->size);
		return -1;
	}
	*next_base += (d->size + DEVICE_SLOT - 1) & ~(DEVICE_SLOT - 1);
	if (plugin_instance_has_irq(d->pi)) {
		if (*next_gsi > DEVICE_GSI_LAST) {
			log_error("%s: no interrupt line left: at most %d devices with interrupts",
				  d->name, DEVICE_GSI_LAST - LAYOUT_DEVICE_GSI_BASE + 1);
			return -1;
		}
		d->gsi = (*next_gsi)++;
		if ((rc = wire_irq(d, d->plugin->desc.kind == EMBER_DEVICE_VIRTIO)) < 0) {
			log_error("%s: interrupt line %u: %s", d->name, d->gsi, strerror(-rc));
			return -1;
		}
	}
	{
		struct bus_region r = {
		    d->base, d->size, plugin_instance_mmio_read, plugin_instance_mmio_write,
		    d->pi,   d->name};

		if ((rc = bus_add(&vm->mmio, &r)) < 0) {
			log_error("%s: cannot map its window: %s", d->name, strerror(-rc));
			return -1;
		}
	}
	if (d->plugin->desc.kind == EMBER_DEVICE_VIRTIO) {
		d->queue_count = plugin_instance_queue_count(d->pi);
		if ((rc = wire_notify(d)) < 0) {
			log_error("%s: queue notifications: %s", d->name, strerror(-rc));
			return -1;
		}
	}
	if (plugin_instance_acpi_hid(d->pi)) {
		struct acpi_mmio_device *a = &ds->acpi[ds->acpi_count++];

		snprintf(a->hid, sizeof(a->hid), "%s", plugin_instance_acpi_hid(d->pi));
		a->uid = (uint32_t)index;
		a->base = d->base;
		a->size = (uint32_t)d->size;
		a->gsi = d->gsi;
		a->edge = d->plugin->desc.kind == EMBER_DEVICE_VIRTIO;
	}
	log_debug("%s: window %#llx+%#llx, gsi %u", d->name, (unsigned long long)d->base,
		  (unsigned long long)d->size, d->gsi);
	return 0;
}

int vm_devices_create(struct vm_devices *ds, struct vm *vm)
{
	uint64_t next_base = LAYOUT_DEVICE_MMIO_GPA;
	unsigned next_gsi = LAYOUT_DEVICE_GSI_BASE;

	if (ds->count == 0)
		return 0;
	ds->acpi = calloc(ds->count, sizeof(*ds->acpi));
	if (!ds->acpi) {
		log_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < ds->count; i++)
		if (create_one(ds, &ds->devs[i], vm, i, &next_base, &next_gsi))
			return -1;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void destroy_one(struct vm_device *d)
{
	if (d->pi) {
		unsigned leaks = plugin_instance_destroy(d->pi);

		if (leaks)
			log_warn("%s: the plugin left %u watch(es) or timer(s) behind", d->name,
				 leaks);
	}
	/* What the plugin left behind was removed by plugin_instance_destroy through us. */
	for (size_t i = 0; i < d->handle_count; i++) {
		event_loop_unwatch(d->vm->loop, d->handles[i].watch);
		if (d->handles[i].is_timer)
			close(d->handles[i].fd);
	}
	free(d->handles);
	for (unsigned q = 0; q < d->queue_count && d->notify_fds; q++) {
		if (d->notify_watches && d->notify_watches[q])
			event_loop_unwatch(d->vm->loop, d->notify_watches[q]);
		close_fd(&d->notify_fds[q]);
	}
	free(d->notify_fds);
	free(d->notify_watches);
	if (d->resample_watch)
		event_loop_unwatch(d->vm->loop, d->resample_watch);
	close_fd(&d->irq_fd);
	close_fd(&d->resample_fd);
	plugin_options_free(d->opts);
	if (d->plugin)
		plugin_unload(d->plugin);
	pthread_mutex_destroy(&d->lock);
}

void vm_devices_destroy(struct vm_devices *ds)
{
	for (size_t i = 0; i < ds->count; i++)
		destroy_one(&ds->devs[i]);
	free(ds->devs);
	free(ds->acpi);
	memset(ds, 0, sizeof(*ds));
}
