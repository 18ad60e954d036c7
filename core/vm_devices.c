/* SPDX-License-Identifier: Apache-2.0 */
#include "vm_devices.h"

#include "device_check.h"

#include "layout.h"
#include "log.h"
#include "plugin_callbacks.h"
#include "plugin_instance.h"
#include "plugin_loader.h"
#include "virtio/virtio_mmio.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define DEVICE_SLOT    0x1000ULL
#define NSEC_PER_SEC   1000000000ULL
#define KVM_CLOCK_PAIR (KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)

_Static_assert(sizeof(((struct guest_mem *)0)->regions) / sizeof(struct guest_mem_region) <=
		   VM_SLOT_DEVMEM,
	       "device memory slots would collide with guest RAM's");

enum vm_clock_state {
	VM_CLOCK_PENDING = 0, /* the vCPUs do not exist yet */
	VM_CLOCK_READY,
	VM_CLOCK_UNAVAILABLE, /* why says why */
};

/*
 * What clock_pair needs, written once on the main thread by vm_devices_vcpus_ready before
 * state is stored (release); readers on any thread load state (acquire) first.
 */
struct vm_clock {
	atomic_int state; /* enum vm_clock_state */
	int vm_fd;
	uint64_t tsc_offset; /* guest TSC - host TSC (modulo 2^64), vCPU 0's */
	uint64_t tsc_hz;
	char why[160];
};

struct vm_device {
	struct vm_devices *ds;
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

	/* The plugin's watches and timers: epoll on the event loop, a timerfd per timer. */
	struct plugin_callbacks callbacks;

	/* devmem_alloc: NULL host when the device has none. */
	void *devmem_host;
	uint64_t devmem_gpa;
	uint64_t devmem_size;
	uint32_t devmem_slot;
	bool devmem_readonly;
	atomic_bool clock_refused_logged;    /* clock_pair said why it cannot, once */
	struct device_create_log create_log; /* the plugin's reason when its create fails */
};

static void platform_log(void *opaque, int level, const char *line)
{
	struct vm_device *d = opaque;

	if (device_create_log_hold(&d->create_log, level, line))
		return;
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
	if (d->ds->host.stop)
		d->ds->host.stop(d->ds->host.stop_opaque, VM_STOP_GUEST_PANIC);
}

/* The event loop found a watched fd (or a timer's timerfd) ready: the registry dispatches. */
static void on_callback_fd(void *opaque, int fd, uint32_t events)
{
	struct vm_device *d = opaque;

	plugin_callbacks_fd_ready(&d->callbacks, fd, events);
}

/*
 * The registry's waiting part in the VMM (under its lock): a watch is the plugin's fd on the
 * event loop; a timer is a one-shot timerfd on it, closed again when it fires or is cancelled.
 */
static int callbacks_arm(void *ctx, struct plugin_cb *cb, uint64_t delay_ns)
{
	struct vm_device *d = ctx;
	int e;

	if (cb->timer) {
		struct itimerspec its = {0};

		if (delay_ns == 0)
			delay_ns = 1; /* an all-zero it_value would disarm the timer */
		its.it_value.tv_sec = (time_t)(delay_ns / NSEC_PER_SEC);
		its.it_value.tv_nsec = (long)(delay_ns % NSEC_PER_SEC);
		cb->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (cb->fd < 0)
			return -errno;
		if (timerfd_settime(cb->fd, 0, &its, NULL) < 0)
			goto fail;
	}
	cb->wait = event_loop_watch(d->ds->host.loop, cb->fd, cb->timer ? EPOLLIN : cb->events,
				    on_callback_fd, d);
	if (cb->wait)
		return 0;
fail:
	e = -errno;
	if (cb->timer)
		close(cb->fd);
	return e;
}

static void callbacks_disarm(void *ctx, struct plugin_cb *cb)
{
	struct vm_device *d = ctx;

	event_loop_unwatch(d->ds->host.loop, cb->wait);
	if (cb->timer)
		close(cb->fd);
}

static const struct plugin_callbacks_wait vmm_wait = {
    .arm = callbacks_arm,
    .disarm = callbacks_disarm,
};

static int platform_watch_add(void *opaque, int fd, uint32_t events, plugin_watch_cb cb, void *arg)
{
	struct vm_device *d = opaque;

	return plugin_callbacks_watch_add(&d->callbacks, fd, events, cb, arg);
}

static void platform_watch_remove(void *opaque, int id)
{
	struct vm_device *d = opaque;

	plugin_callbacks_watch_remove(&d->callbacks, id);
}

static int platform_timer_start(void *opaque, uint64_t delay_ns, plugin_timer_cb cb, void *arg)
{
	struct vm_device *d = opaque;

	return plugin_callbacks_timer_start(&d->callbacks, delay_ns, cb, arg);
}

static void platform_timer_cancel(void *opaque, int id)
{
	struct vm_device *d = opaque;

	plugin_callbacks_timer_cancel(&d->callbacks, id);
}

/* Maps (size: the device memory's) or removes (size 0) the device memory's KVM memory slot. */
static int devmem_slot(const struct vm_device *d, uint64_t size)
{
	struct kvm_userspace_memory_region region = {
	    .slot = d->devmem_slot,
	    .flags = d->devmem_readonly ? KVM_MEM_READONLY : 0,
	    .guest_phys_addr = d->devmem_gpa,
	    .memory_size = size,
	    .userspace_addr = (uintptr_t)d->devmem_host,
	};

	return d->ds->host.kvm->set_memslot(&d->ds->host, &region);
}

/*
 * Device memory: fresh anonymous pages (zeroed), mapped for the guest at the next free 4 KiB
 * step of the device-memory window through their own KVM memory slot. Read-only slots make
 * guest writes exit as MMIO writes, which the bus region added here drops. Main thread, inside
 * the plugin's create (plugin_instance checked the size, the flags and "once").
 */
static int platform_devmem_alloc(void *opaque, uint64_t size, bool guest_readonly, void **host,
				 uint64_t *gpa)
{
	struct vm_device *d = opaque;
	struct vm_devices *ds = d->ds;
	uint64_t base = ds->devmem_next;
	struct bus_region r = {.base = base, .size = size, .opaque = d, .name = d->name};
	void *p;
	int rc;

	if (d->devmem_host)
		return -EBUSY;
	if (size == 0 || size % DEVICE_SLOT)
		return -EINVAL;
	/* base stays inside the window, so the subtraction cannot wrap. */
	if (size > LAYOUT_DEVICE_MEM_GPA + LAYOUT_DEVICE_MEM_SIZE - base) {
		char line[256];

		/* Through the device's log, so that it is the reason of the failed create. */
		snprintf(line, sizeof(line), "%s: no room left for %llu bytes of device memory",
			 d->name, (unsigned long long)size);
		platform_log(d, EMBER_LOG_ERROR, line);
		return -ENOMEM;
	}
	if (ds->devmem_count >= ds->count)
		return -EBUSY; /* one range per device: cannot happen past the check above */
	if (guest_readonly && ds->host.kvm->check_extension(&ds->host, KVM_CAP_READONLY_MEM) <= 0) {
		log_error("%s: KVM cannot map memory read-only for the guest (no "
			  "KVM_CAP_READONLY_MEM)",
			  d->name);
		return -ENOTSUP;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	d->devmem_host = p;
	d->devmem_gpa = base;
	d->devmem_size = size;
	d->devmem_slot = VM_SLOT_DEVMEM + (uint32_t)ds->devmem_count;
	d->devmem_readonly = guest_readonly;
	if ((rc = devmem_slot(d, size)) < 0) {
		log_error("%s: KVM cannot map its device memory: %s", d->name, strerror(-rc));
		goto fail;
	}
	if ((rc = bus_add(ds->host.mmio, &r)) < 0) {
		log_error("%s: device memory at %#llx: %s", d->name, (unsigned long long)base,
			  strerror(-rc));
		devmem_slot(d, 0);
		goto fail;
	}
	ds->devmem[ds->devmem_count++] = (struct linux_boot_range){base, size};
	ds->devmem_next = base + size;
	*host = p;
	*gpa = base;
	log_debug("%s: device memory %#llx+%#llx%s", d->name, (unsigned long long)base,
		  (unsigned long long)size, guest_readonly ? " (read-only for the guest)" : "");
	return 0;
fail:
	munmap(p, size);
	d->devmem_host = NULL;
	return rc;
}

static int clock_refuse(struct vm_device *d, const char *why)
{
	if (!atomic_exchange(&d->clock_refused_logged, true))
		log_warn("%s: clock_pair: %s", d->name, why);
	return -ENOTSUP;
}

/*
 * One instant on the host's clock and the guest's TSC: KVM_GET_CLOCK reads the host's
 * CLOCK_REALTIME and TSC together in the kernel (only when KVM runs on a TSC clocksource with
 * its master clock; then it sets both flags), and the guest's TSC is the host's plus vCPU 0's
 * offset: unscaled, vm_devices_vcpus_ready made sure. The sum wraps modulo 2^64 like the
 * hardware's. Any thread: KVM_GET_CLOCK is a VM ioctl and waits for no vCPU.
 */
static int platform_clock_pair(void *opaque, uint32_t clock, struct ember_clock_pair *out)
{
	struct vm_device *d = opaque;
	struct vm_clock *c = d->ds->clock;
	struct kvm_clock_data data;
	struct timex tx;

	if (clock != EMBER_CLOCK_REALTIME && clock != EMBER_CLOCK_TAI)
		return -EINVAL;
	switch (c ? atomic_load_explicit(&c->state, memory_order_acquire) : VM_CLOCK_PENDING) {
	case VM_CLOCK_READY:
		break;
	case VM_CLOCK_PENDING:
		return clock_refuse(d, "the vCPUs do not exist yet: ask after create (e.g. from a "
				       "timer)");
	default:
		return clock_refuse(d, c->why);
	}
	memset(&data, 0, sizeof(data));
	if (ioctl(c->vm_fd, KVM_GET_CLOCK, &data) < 0)
		return clock_refuse(d, "KVM_GET_CLOCK failed");
	/*
	 * Only with KVM's master clock: it comes on once the vCPUs have run (and stays off on a
	 * host whose clocksource is not the TSC), so a refusal here may be transient: debug only.
	 */
	if ((data.flags & KVM_CLOCK_PAIR) != KVM_CLOCK_PAIR) {
		log_debug("%s: clock_pair: KVM_GET_CLOCK gave no (realtime, host TSC) pair "
			  "(flags %#x): the host's clocksource is not the TSC, or KVM's master "
			  "clock is not on yet",
			  d->name, data.flags);
		return -ENOTSUP;
	}
	/* modes 0 only reads; tai is what CLOCK_TAI adds to CLOCK_REALTIME (0: never set). */
	memset(&tx, 0, sizeof(tx));
	if (adjtimex(&tx) < 0)
		return clock_refuse(d, "adjtimex cannot read the TAI offset");
	*out = (struct ember_clock_pair){
	    .struct_size = out->struct_size,
	    .flags = EMBER_CLOCK_PAIR_PRECISE,
	    .guest_tsc = data.host_tsc + c->tsc_offset,
	    .sec = (int64_t)(data.realtime / NSEC_PER_SEC),
	    .nsec = (uint32_t)(data.realtime % NSEC_PER_SEC),
	    .tai_offset = (int32_t)tx.tai,
	    .tsc_hz = c->tsc_hz,
	};
	if (clock == EMBER_CLOCK_TAI)
		out->sec += tx.tai;
	return 0;
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
    .devmem_alloc = platform_devmem_alloc,
    .clock_pair = platform_clock_pair,
};

/* ---- the real KVM ioctls (vm_devices.h) ---- */

static int kvm_irqfd(const struct vm_devices_host *host, const struct kvm_irqfd *irqfd)
{
	return ioctl(host->vm_fd, KVM_IRQFD, irqfd) < 0 ? -errno : 0;
}

static int kvm_ioeventfd(const struct vm_devices_host *host, const struct kvm_ioeventfd *ioeventfd)
{
	return ioctl(host->vm_fd, KVM_IOEVENTFD, ioeventfd) < 0 ? -errno : 0;
}

static int kvm_set_memslot(const struct vm_devices_host *host,
			   const struct kvm_userspace_memory_region *region)
{
	return ioctl(host->vm_fd, KVM_SET_USER_MEMORY_REGION, region) < 0 ? -errno : 0;
}

static int kvm_check_extension(const struct vm_devices_host *host, long cap)
{
	int rc = ioctl(host->kvm_fd, KVM_CHECK_EXTENSION, cap);

	return rc < 0 ? -errno : rc;
}

const struct vm_devices_kvm vm_devices_kvm_ioctls = {
    .irqfd = kvm_irqfd,
    .ioeventfd = kvm_ioeventfd,
    .set_memslot = kvm_set_memslot,
    .check_extension = kvm_check_extension,
};

int vm_devices_prepare(struct vm_devices *ds, const struct vm_config *cfg)
{
	char err[1024];

	memset(ds, 0, sizeof(*ds));
	ds->cfg = cfg;
	if (cfg->device_count == 0)
		return 0;
	ds->devs = calloc(cfg->device_count, sizeof(*ds->devs));
	if (!ds->devs) {
		log_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->device_count; i++) {
		struct vm_device *d = &ds->devs[i];

		ds->count = i + 1;
		d->ds = ds;
		d->irq_fd = d->resample_fd = -1;
		atomic_init(&d->create_log.active, false);
		plugin_callbacks_init(&d->callbacks, &vmm_wait, d);
		/* The same loading and checks as `ember check`: messages name where a value was
		 * written, in the VM's file or its profile. */
		if (device_plugin_load(cfg, i, &d->plugin, err, sizeof(err)) ||
		    device_options_check(cfg, i, d->plugin, &d->opts, err, sizeof(err))) {
			log_error("%s", err);
			goto fail;
		}
	}
	return 0;
fail:
	vm_devices_destroy(ds);
	return -1;
}

const struct plugin *vm_devices_plugin(const struct vm_devices *ds, size_t i)
{
	return i < ds->count ? ds->devs[i].plugin : NULL;
}

const char *vm_devices_id(const struct vm_devices *ds, size_t i)
{
	const char *id;

	if (i >= ds->count)
		return NULL;
	id = ds->cfg->devices[i].id;
	return id ? id : ds->devs[i].name;
}

const char *vm_devices_plugin_name(const struct vm_devices *ds, size_t i)
{
	return i < ds->count ? ds->devs[i].plugin->desc.name : NULL;
}

struct plugin_instance *vm_devices_instance(const struct vm_devices *ds, size_t i)
{
	return i < ds->count ? ds->devs[i].pi : NULL;
}

long vm_devices_find(const struct vm_devices *ds, const char *id)
{
	for (size_t i = 0; i < ds->count; i++)
		if (!strcmp(vm_devices_id(ds, i), id))
			return (long)i;
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
	const struct vm_devices_host *host = &d->ds->host;
	struct kvm_irqfd irqfd = {.gsi = d->gsi};
	int rc;

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
	if ((rc = host->kvm->irqfd(host, &irqfd)) < 0)
		return rc;
	if (edge)
		return 0;
	d->resample_watch = event_loop_watch(host->loop, d->resample_fd, EPOLLIN, on_resample, d);
	return d->resample_watch ? 0 : -errno;
}

/* One ioeventfd per queue: a QueueNotify write of q completes in KVM and wakes the loop. */
static int wire_notify(struct vm_device *d)
{
	const struct vm_devices_host *host = &d->ds->host;
	int rc;

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
		if ((rc = host->kvm->ioeventfd(host, &ev)) < 0)
			return rc;
		d->notify_watches[q] =
		    event_loop_watch(host->loop, d->notify_fds[q], EPOLLIN, on_notify, d);
		if (!d->notify_watches[q])
			return -errno;
	}
	return 0;
}

/*
 * The device's DSDT node: _HID, _CID when it has one, _UID = its index, and a _CRS with what
 * plugin_instance_acpi_resources asks for, always in the order window, device memory,
 * interrupt. Linux's ptp_vmclock, for one, refuses a _CRS with anything but exactly one memory
 * resource, so nothing is ever added beyond what the device asked for. Returns 0, or -1 after
 * logging why (the device asked for a resource it does not have).
 */
static int acpi_node(struct vm_devices *ds, const struct vm_device *d, size_t index)
{
	struct acpi_mmio_device a = {.uid = (uint32_t)index};
	uint32_t want = plugin_instance_acpi_resources(d->pi);
	const char *cid = plugin_instance_acpi_cid(d->pi);
	uint64_t gpa, size;

	if ((size_t)snprintf(a.hid, sizeof(a.hid), "%s", plugin_instance_acpi_hid(d->pi)) >=
		sizeof(a.hid) ||
	    (cid && (size_t)snprintf(a.cid, sizeof(a.cid), "%s", cid) >= sizeof(a.cid))) {
		log_error("%s: ACPI _HID or _CID too long", d->name);
		return -1;
	}
	if (want & EMBER_ACPI_RES_MMIO) {
		if (!d->size) {
			log_error("%s: its ACPI node lists a register window it does not have",
				  d->name);
			return -1;
		}
		a.res[a.res_count++] = (struct acpi_res){
		    .type = ACPI_RES_MEMORY32, .base = d->base, .size = (uint32_t)d->size};
	}
	if (want & EMBER_ACPI_RES_DEVMEM) {
		if (!plugin_instance_devmem(d->pi, &gpa, &size) || size > UINT32_MAX) {
			log_error("%s: its ACPI node lists device memory it did not allocate",
				  d->name);
			return -1;
		}
		a.res[a.res_count++] = (struct acpi_res){.type = ACPI_RES_MEMORY32,
							 .base = gpa,
							 .size = (uint32_t)size,
							 .read_only = d->devmem_readonly};
	}
	if (want & EMBER_ACPI_RES_IRQ) {
		if (!d->gsi) {
			log_error("%s: its ACPI node lists an interrupt it does not have", d->name);
			return -1;
		}
		a.res[a.res_count++] = (struct acpi_res){
		    .type = ACPI_RES_INTERRUPT,
		    .gsi = d->gsi,
		    .edge = d->plugin->desc.kind == EMBER_DEVICE_VIRTIO,
		};
	}
	ds->acpi[ds->acpi_count++] = a;
	return 0;
}

static int create_one(struct vm_devices *ds, struct vm_device *d, size_t index,
		      struct device_slots *slots)
{
	struct plugin_instance_params params = {
	    .plugin = d->plugin,
	    .options = d->opts,
	    .name = d->name,
	    .mem = ds->host.mem,
	    .platform = &vm_platform,
	    .platform_opaque = d,
	    .thread_filter = ds->host.thread_filters ? &ds->host.thread_filters[index] : NULL,
	};
	char err[512], line[1024];
	int rc;

	device_instance_name(ds->cfg, index, d->name, sizeof(d->name));
	device_create_log_start(&d->create_log);
	rc = plugin_instance_create(&params, &d->pi, err, sizeof(err));
	device_create_log_stop(&d->create_log, rc == 0);
	if (rc) {
		device_create_failed(line, sizeof(line), ds->cfg, index, d->name, &d->create_log,
				     err);
		log_error("%s", line);
		return VM_DEVICES_REFUSED;
	}
	d->size = plugin_instance_window_size(d->pi);
	if (device_slots_take(slots, d->size, plugin_instance_has_irq(d->pi), &d->base, &d->gsi,
			      err, sizeof(err))) {
		device_error(line, sizeof(line), ds->cfg, index, d->name, "%s", err);
		log_error("%s", line);
		return VM_DEVICES_REFUSED;
	}
	if (d->gsi) {
		if ((rc = wire_irq(d, d->plugin->desc.kind == EMBER_DEVICE_VIRTIO)) < 0) {
			log_error("%s: interrupt line %u: %s", d->name, d->gsi, strerror(-rc));
			return -1;
		}
	}
	if (d->size) {
		struct bus_region r = {
		    d->base, d->size, plugin_instance_mmio_read, plugin_instance_mmio_write,
		    d->pi,   d->name};

		if ((rc = bus_add(ds->host.mmio, &r)) < 0) {
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
	if (plugin_instance_acpi_hid(d->pi) && acpi_node(ds, d, index))
		return -1;
	log_debug("%s: window %#llx+%#llx, gsi %u", d->name, (unsigned long long)d->base,
		  (unsigned long long)d->size, d->gsi);
	return 0;
}

int vm_devices_create(struct vm_devices *ds, const struct vm_devices_host *host)
{
	struct device_slots slots;

	ds->host = *host;
	if (ds->count == 0)
		return 0;
	ds->acpi = calloc(ds->count, sizeof(*ds->acpi));
	ds->devmem = calloc(ds->count, sizeof(*ds->devmem));
	ds->clock = calloc(1, sizeof(*ds->clock));
	if (!ds->acpi || !ds->devmem || !ds->clock) {
		log_error("out of memory");
		return -1;
	}
	ds->devmem_next = LAYOUT_DEVICE_MEM_GPA;
	atomic_init(&ds->clock->state, VM_CLOCK_PENDING);
	ds->clock->vm_fd = host->vm_fd;
	device_slots_init(&slots);
	for (size_t i = 0; i < ds->count; i++) {
		int rc = create_one(ds, &ds->devs[i], i, &slots);

		if (rc)
			return rc;
	}
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
	/*
	 * What the plugin left behind was removed by plugin_instance_destroy through us; fini
	 * drops anything else (nothing, today) the same way.
	 */
	plugin_callbacks_fini(&d->callbacks);
	/* The instance is gone, so nothing writes the pages any more; the vCPUs stopped too. */
	if (d->devmem_host) {
		int rc = devmem_slot(d, 0);

		if (rc < 0)
			log_warn("%s: cannot remove its device memory from the guest: %s", d->name,
				 strerror(-rc));
		munmap(d->devmem_host, d->devmem_size);
		d->devmem_host = NULL;
	}
	for (unsigned q = 0; q < d->queue_count && d->notify_fds; q++) {
		if (d->notify_watches && d->notify_watches[q])
			event_loop_unwatch(d->ds->host.loop, d->notify_watches[q]);
		close_fd(&d->notify_fds[q]);
	}
	free(d->notify_fds);
	free(d->notify_watches);
	if (d->resample_watch)
		event_loop_unwatch(d->ds->host.loop, d->resample_watch);
	close_fd(&d->irq_fd);
	close_fd(&d->resample_fd);
	plugin_options_free(d->opts);
	if (d->plugin)
		plugin_unload(d->plugin);
}

void vm_devices_destroy(struct vm_devices *ds)
{
	for (size_t i = 0; i < ds->count; i++)
		destroy_one(&ds->devs[i]);
	free(ds->devs);
	free(ds->acpi);
	free(ds->devmem);
	free(ds->clock);
	memset(ds, 0, sizeof(*ds));
}

/*
 * Reads vCPU 0's TSC offset and frequency for clock_pair. The guest's TSC is the host's plus
 * that offset only while KVM does not scale it: ember never sets a TSC frequency, so the
 * vCPU's must equal the VM's default (the host's); otherwise pairs are refused rather than
 * wrong. The offset changes only when the guest writes its TSC (Linux does not) or on a host
 * whose TSC is unstable, where KVM_GET_CLOCK gives no host TSC anyway.
 */
void vm_devices_vcpus_ready(struct vm_devices *ds, int vcpu0_fd)
{
	struct vm_clock *c = ds->clock;
	uint64_t offset = 0;
	struct kvm_device_attr attr = {
	    .group = KVM_VCPU_TSC_CTRL,
	    .attr = KVM_VCPU_TSC_OFFSET,
	    .addr = (uintptr_t)&offset,
	};
	int caps, khz, vm_khz, fd = vcpu0_fd;

	if (!c)
		return; /* no devices */
	caps = ds->host.kvm->check_extension(&ds->host, KVM_CAP_ADJUST_CLOCK);
	if (caps < 0 || (caps & KVM_CLOCK_PAIR) != KVM_CLOCK_PAIR)
		snprintf(c->why, sizeof(c->why),
			 "this KVM cannot read its clock with the host TSC (KVM_CAP_ADJUST_CLOCK "
			 "lacks KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)");
	else if (fd < 0)
		snprintf(c->why, sizeof(c->why), "the VM has no vCPU 0");
	else if (ioctl(fd, KVM_HAS_DEVICE_ATTR, &attr) < 0 ||
		 ioctl(fd, KVM_GET_DEVICE_ATTR, &attr) < 0)
		snprintf(c->why, sizeof(c->why),
			 "this KVM cannot report the vCPU's TSC offset (KVM_VCPU_TSC_OFFSET): %s",
			 strerror(errno));
	else if ((khz = ioctl(fd, KVM_GET_TSC_KHZ, 0)) <= 0)
		snprintf(c->why, sizeof(c->why), "KVM_GET_TSC_KHZ: %s",
			 khz < 0 ? strerror(errno) : "no TSC frequency");
	/* The VM's default is the host's frequency (KVM_CAP_VM_TSC_CONTROL, Linux 6.0+). */
	else if ((vm_khz = ioctl(ds->host.vm_fd, KVM_GET_TSC_KHZ, 0)) > 0 && vm_khz != khz)
		snprintf(c->why, sizeof(c->why),
			 "the guest's TSC runs at %d kHz, scaled from the host's %d kHz (not "
			 "supported)",
			 khz, vm_khz);
	else {
		c->tsc_offset = offset;
		c->tsc_hz = (uint64_t)khz * 1000;
		log_debug("clock_pair: guest TSC = host TSC + %lld, %llu Hz", (long long)offset,
			  (unsigned long long)c->tsc_hz);
		atomic_store_explicit(&c->state, VM_CLOCK_READY, memory_order_release);
		return;
	}
	log_debug("clock_pair unavailable: %s", c->why);
	atomic_store_explicit(&c->state, VM_CLOCK_UNAVAILABLE, memory_order_release);
}
