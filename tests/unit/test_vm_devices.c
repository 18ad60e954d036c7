/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ember run`'s device wiring (core/vm_devices.c) without KVM: real plugins from the build tree
 * created on a fake VM fd through struct vm_devices_host, whose KVM functions are recording
 * fakes here. Checks the windows (4 KiB slots from LAYOUT_DEVICE_MMIO_GPA in config order), the
 * GSIs (16.., at most 8 devices with interrupts), one ioeventfd per queue at base + 0x50 with
 * the queue as datamatch, edge irqfds for virtio and level ones with a resample fd for plain
 * devices, the ACPI nodes, device memory (its slot, range and bus region), guest-panic stops,
 * and the watch and timer registry (core/plugin_callbacks.c) on the real event loop, then the
 * registry on its own.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bus.h"
#include "config.h"
#include "event_loop.h"
#include "guest_mem.h"
#include "layout.h"
#include "plugin_callbacks.h"
#include "plugin_instance.h"
#include "vm_devices.h"

#define TP_DIR	   EMBER_BUILD_ROOT "/tests/unit/plugins"
#define PLUGIN_DIR EMBER_BUILD_ROOT "/plugins"
#define KERNEL	   EMBER_SOURCE_ROOT "/tests/unit/config/files/vmlinuz"
/* Device i of a config written by write_config sits on this line. */
#define DEVICE_LINE(i) (5 + (i))
#define MAX_REC	       32

/* What would have reached KVM. */
struct fake_kvm {
	struct kvm_irqfd irqfds[MAX_REC];
	size_t irqfd_count;
	struct kvm_ioeventfd ioeventfds[MAX_REC];
	size_t ioeventfd_count;
	struct kvm_userspace_memory_region slots[MAX_REC];
	size_t slot_count;
	bool readonly_mem; /* KVM_CAP_READONLY_MEM */
	int irqfd_error;   /* a negative errno for the next irqfd, or 0 */
};

static int fake_irqfd(const struct vm_devices_host *host, const struct kvm_irqfd *irqfd)
{
	struct fake_kvm *k = host->kvm_opaque;

	if (k->irqfd_error)
		return k->irqfd_error;
	cr_assert_lt(k->irqfd_count, MAX_REC);
	k->irqfds[k->irqfd_count++] = *irqfd;
	return 0;
}

static int fake_ioeventfd(const struct vm_devices_host *host, const struct kvm_ioeventfd *ev)
{
	struct fake_kvm *k = host->kvm_opaque;

	cr_assert_lt(k->ioeventfd_count, MAX_REC);
	k->ioeventfds[k->ioeventfd_count++] = *ev;
	return 0;
}

static int fake_set_memslot(const struct vm_devices_host *host,
			    const struct kvm_userspace_memory_region *region)
{
	struct fake_kvm *k = host->kvm_opaque;

	cr_assert_lt(k->slot_count, MAX_REC);
	k->slots[k->slot_count++] = *region;
	return 0;
}

static int fake_check_extension(const struct vm_devices_host *host, long cap)
{
	struct fake_kvm *k = host->kvm_opaque;

	return cap == KVM_CAP_READONLY_MEM && k->readonly_mem ? 1 : 0;
}

static const struct vm_devices_kvm fake_kvm_ops = {
    .irqfd = fake_irqfd,
    .ioeventfd = fake_ioeventfd,
    .set_memslot = fake_set_memslot,
    .check_extension = fake_check_extension,
};

static char dir[64];
static char cfg_path[128];
static char err[1024];
static struct vm_config cfg;
static bool cfg_loaded;
static struct fake_kvm kvm;
static struct vm_devices ds;
static struct vm_devices_host host;
static struct bus mmio;
static struct guest_mem mem;
static int stops, stop_reason;

static void record_stop(void *opaque, enum vm_stop_reason reason)
{
	(void)opaque;
	stops++;
	stop_reason = (int)reason;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ember-vm-devices-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cfg_path, sizeof(cfg_path), "%s/vm.cfg", dir);
	memset(&kvm, 0, sizeof(kvm));
	kvm.readonly_mem = true;
	memset(&mmio, 0, sizeof(mmio));
	cr_assert_eq(guest_mem_init(&mem, 64ULL << 20), 0);
	host = (struct vm_devices_host){
	    .kvm_fd = open("/dev/null", O_RDWR | O_CLOEXEC), /* a fake: only the fakes get it */
	    .vm_fd = open("/dev/null", O_RDWR | O_CLOEXEC),
	    .kvm = &fake_kvm_ops,
	    .kvm_opaque = &kvm,
	    .loop = event_loop_create(),
	    .mmio = &mmio,
	    .mem = &mem,
	    .stop = record_stop,
	};
	cr_assert(host.kvm_fd >= 0 && host.vm_fd >= 0);
	cr_assert_not_null(host.loop);
	stops = stop_reason = 0;
}

static void teardown(void)
{
	char cmd[128];

	vm_devices_destroy(&ds);
	bus_free(&mmio);
	event_loop_destroy(host.loop);
	close(host.kvm_fd);
	close(host.vm_fd);
	guest_mem_free(&mem);
	if (cfg_loaded)
		vm_config_free(&cfg);
	cfg_loaded = false;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Writes and loads dir/vm.cfg with the given devices, one per line from DEVICE_LINE(0). */
static void write_config(const char *const *devices)
{
	FILE *f = fopen(cfg_path, "w");

	cr_assert_not_null(f);
	fprintf(f, "machine = { vcpus = 1; memory_mib = 64; };\n");
	fprintf(f, "boot = { kernel = \"%s\"; };\n", KERNEL);
	fprintf(f, "plugin_dirs = [ \"%s\", \"%s\" ];\n", TP_DIR, PLUGIN_DIR);
	fprintf(f, "devices = (\n");
	for (size_t i = 0; devices[i]; i++)
		fprintf(f, "  %s%s\n", devices[i], devices[i + 1] ? "," : "");
	fprintf(f, ");\n");
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(vm_config_load(&cfg, cfg_path, err, sizeof(err)), 0, "%s", err);
	cfg_loaded = true;
}

/* dir/NAME with size bytes (sparse): a disk image. */
static void make_file(const char *name, off_t size)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	cr_assert(fd >= 0, "%s", path);
	cr_assert_eq(ftruncate(fd, size), 0);
	close(fd);
}

/* Prepares and creates the devices of devices[], with what ember logs meanwhile in log. */
static int create(const char *const *devices, char *log, size_t log_size)
{
	FILE *capture = tmpfile();
	int saved = dup(STDERR_FILENO), rc;
	size_t n;

	cr_assert(capture && saved >= 0);
	write_config(devices);
	cr_assert_eq(dup2(fileno(capture), STDERR_FILENO), STDERR_FILENO);
	rc = vm_devices_prepare(&ds, &cfg);
	cr_assert_eq(rc, 0, "prepare failed");
	rc = vm_devices_create(&ds, &host);
	cr_assert_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	rewind(capture);
	n = fread(log, 1, log_size - 1, capture);
	log[n] = '\0';
	fclose(capture);
	return rc;
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void expect_window(uint64_t base, const char *name)
{
	const struct bus_region *r = bus_find(&mmio, base, 4);

	cr_assert_not_null(r, "no window at %#llx", (unsigned long long)base);
	cr_assert_eq(r->base, base);
	cr_assert_eq(r->size, 0x1000, "%s: one 4 KiB slot", name);
	cr_assert_str_eq(r->name, name);
}

static void expect_mem_res(const struct acpi_res *r, uint64_t base, uint32_t size, bool ro)
{
	cr_assert_eq(r->type, ACPI_RES_MEMORY32);
	cr_assert_eq(r->base, base);
	cr_assert_eq(r->size, size);
	cr_assert_eq(r->read_only, ro);
}

static void expect_irq_res(const struct acpi_res *r, unsigned gsi, bool edge)
{
	cr_assert_eq(r->type, ACPI_RES_INTERRUPT);
	cr_assert_eq(r->gsi, gsi);
	cr_assert_eq(r->edge, edge);
}

static void expect_ioeventfd(size_t i, uint64_t addr, uint64_t datamatch)
{
	const struct kvm_ioeventfd *ev = &kvm.ioeventfds[i];

	cr_assert_eq(ev->addr, addr, "ioeventfd %zu at %#llx", i, (unsigned long long)ev->addr);
	cr_assert_eq(ev->datamatch, datamatch);
	cr_assert_eq(ev->len, 4);
	cr_assert_eq(ev->flags, KVM_IOEVENTFD_FLAG_DATAMATCH);
	cr_assert_geq(ev->fd, 0);
}

TestSuite(vm_devices, .init = setup, .fini = teardown);

Test(vm_devices, windows_interrupts_notifications_acpi_and_device_memory)
{
	const uint64_t w = LAYOUT_DEVICE_MMIO_GPA;
	char log[4096];
	unsigned fds;

	make_file("disk.img", 1 << 20);
	fds = count_fds();
	cr_assert_eq(create(
			 (const char *const[]){
			     "{ plugin = \"virtio-rng\"; }",
			     "{ plugin = \"pvpanic\"; }",
			     "{ plugin = \"tp-devmem\"; }",
			     "{ plugin = \"abi10-mmio\"; }",
			     "{ plugin = \"virtio-blk\"; path = \"disk.img\"; num_queues = 2; }",
			     "{ plugin = \"virtio-rng\"; }",
			     NULL,
			 },
			 log, sizeof(log)),
		     0, "%s", log);

	/* Windows: 4 KiB slots in config order; tp-devmem has no registers and takes none. */
	expect_window(w, "virtio-rng.0");
	expect_window(w + 0x1000, "pvpanic.0");
	expect_window(w + 0x2000, "abi10-mmio.0");
	expect_window(w + 0x3000, "virtio-blk.0");
	expect_window(w + 0x4000, "virtio-rng.1");
	cr_assert_null(bus_find(&mmio, w + 0x5000, 4));
	cr_assert_eq(mmio.count, 6, "five windows and the device memory");

	/* Interrupts: GSIs from 16 for the devices that have one; edge for virtio, else level. */
	cr_assert_eq(kvm.irqfd_count, 4);
	for (unsigned i = 0; i < 4; i++) {
		cr_assert_eq(kvm.irqfds[i].gsi, 16 + i);
		cr_assert_geq((int)kvm.irqfds[i].fd, 0);
	}
	cr_assert_eq(kvm.irqfds[0].flags, 0, "virtio: a plain irqfd (edge)");
	cr_assert_eq(kvm.irqfds[1].flags, KVM_IRQFD_FLAG_RESAMPLE, "plain device: level");
	cr_assert_neq(kvm.irqfds[1].resamplefd, kvm.irqfds[1].fd);
	cr_assert_eq(kvm.irqfds[2].flags, 0);
	cr_assert_eq(kvm.irqfds[3].flags, 0);

	/* One ioeventfd per queue on QueueNotify, datamatch = the queue. */
	cr_assert_eq(kvm.ioeventfd_count, 4);
	expect_ioeventfd(0, w + 0x50, 0);
	expect_ioeventfd(1, w + 0x3050, 0);
	expect_ioeventfd(2, w + 0x3050, 1);
	expect_ioeventfd(3, w + 0x4050, 0);
	cr_assert_neq(kvm.ioeventfds[1].fd, kvm.ioeventfds[2].fd);

	/* Device memory: its own read-only slot, the e820 range, a bus region dropping writes. */
	cr_assert_eq(kvm.slot_count, 1);
	cr_assert_eq(kvm.slots[0].slot, VM_SLOT_DEVMEM);
	cr_assert_eq(kvm.slots[0].flags, KVM_MEM_READONLY);
	cr_assert_eq(kvm.slots[0].guest_phys_addr, LAYOUT_DEVICE_MEM_GPA);
	cr_assert_eq(kvm.slots[0].memory_size, 0x1000);
	cr_assert_eq(memcmp((const void *)(uintptr_t)kvm.slots[0].userspace_addr, "EMBERDEV", 8), 0,
		     "the pages the plugin wrote");
	cr_assert_eq(ds.devmem_count, 1);
	cr_assert_eq(ds.devmem[0].gpa, LAYOUT_DEVICE_MEM_GPA);
	cr_assert_eq(ds.devmem[0].size, 0x1000);
	cr_assert_eq(ds.devmem_next, LAYOUT_DEVICE_MEM_GPA + 0x1000);
	cr_assert_str_eq(bus_find(&mmio, LAYOUT_DEVICE_MEM_GPA, 8)->name, "tp-devmem.0");

	/* ACPI: one node per device, _UID its index, _CRS as asked: window, memory, interrupt. */
	cr_assert_eq(ds.acpi_count, 6);
	cr_assert_str_eq(ds.acpi[0].hid, "LNRO0005");
	cr_assert_str_eq(ds.acpi[0].cid, "");
	cr_assert_eq(ds.acpi[0].uid, 0);
	cr_assert_eq(ds.acpi[0].res_count, 2);
	expect_mem_res(&ds.acpi[0].res[0], w, 0x1000, false);
	expect_irq_res(&ds.acpi[0].res[1], 16, true);
	cr_assert_str_eq(ds.acpi[1].hid, "QEMU0001");
	cr_assert_eq(ds.acpi[1].uid, 1);
	cr_assert_eq(ds.acpi[1].res_count, 1, "no interrupt");
	expect_mem_res(&ds.acpi[1].res[0], w + 0x1000, 0x1000, false);
	cr_assert_str_eq(ds.acpi[2].hid, "EMBR0001");
	cr_assert_eq(ds.acpi[2].uid, 2);
	cr_assert_eq(ds.acpi[2].res_count, 1, "only the device memory, as it asked");
	expect_mem_res(&ds.acpi[2].res[0], LAYOUT_DEVICE_MEM_GPA, 0x1000, true);
	cr_assert_str_eq(ds.acpi[3].hid, "EMBR0010");
	cr_assert_eq(ds.acpi[3].res_count, 2);
	expect_mem_res(&ds.acpi[3].res[0], w + 0x2000, 0x1000, false);
	expect_irq_res(&ds.acpi[3].res[1], 17, false);
	cr_assert_eq(ds.acpi[4].uid, 4);
	expect_mem_res(&ds.acpi[4].res[0], w + 0x3000, 0x1000, false);
	expect_irq_res(&ds.acpi[4].res[1], 18, true);
	cr_assert_eq(ds.acpi[5].uid, 5);
	expect_irq_res(&ds.acpi[5].res[1], 19, true);

	/* Destroy takes the device memory's slot away again and leaves no fd behind. */
	vm_devices_destroy(&ds);
	cr_assert_eq(kvm.slot_count, 2);
	cr_assert_eq(kvm.slots[1].slot, VM_SLOT_DEVMEM);
	cr_assert_eq(kvm.slots[1].memory_size, 0, "removed");
	cr_assert_eq(count_fds(), fds, "fds leaked");
}

/* The IOAPIC has 24 pins: 8 devices with interrupts; devices without one do not count. */
Test(vm_devices, a_ninth_device_with_an_interrupt_is_refused)
{
	const char *devices[12];
	char log[4096], expect[512];

	for (int i = 0; i < 10; i++)
		devices[i] = "{ plugin = \"virtio-rng\"; }";
	devices[4] = "{ plugin = \"pvpanic\"; }";
	devices[10] = "{ plugin = \"virtio-rng\"; }";
	devices[11] = NULL;
	cr_assert_eq(create(devices, log, sizeof(log)), VM_DEVICES_REFUSED, "%s", log);
	snprintf(
	    expect, sizeof(expect),
	    "ember: error: %s:%d: devices[9] (virtio-rng.8): no interrupt line left: at most 8 "
	    "devices with interrupts\n",
	    cfg_path, DEVICE_LINE(9));
	cr_assert_str_eq(log, expect);
	cr_assert_eq(kvm.irqfd_count, 8);
	for (unsigned i = 0; i < 8; i++)
		cr_assert_eq(kvm.irqfds[i].gsi, 16 + i);
}

Test(vm_devices, read_only_device_memory_needs_kvm_support)
{
	char log[4096], expect[512];

	kvm.readonly_mem = false;
	cr_assert_eq(
	    create((const char *const[]){"{ plugin = \"tp-devmem\"; }", NULL}, log, sizeof(log)),
	    VM_DEVICES_REFUSED, "%s", log);
	snprintf(expect, sizeof(expect),
		 "ember: error: tp-devmem.0: KVM cannot map memory read-only for the guest (no "
		 "KVM_CAP_READONLY_MEM)\n"
		 "ember: error: %s:%d: devices[0] (tp-devmem.0): devmem_alloc: %s\n",
		 cfg_path, DEVICE_LINE(0), strerror(ENOTSUP));
	cr_assert_str_eq(log, expect);
	cr_assert_eq(kvm.slot_count, 0);
	cr_assert_eq(ds.devmem_count, 0);
}

Test(vm_devices, a_kvm_failure_is_a_host_error)
{
	char log[4096];

	kvm.irqfd_error = -ENOSYS;
	cr_assert_eq(
	    create((const char *const[]){"{ plugin = \"virtio-rng\"; }", NULL}, log, sizeof(log)),
	    -1);
	cr_assert(strstr(log, "virtio-rng.0: interrupt line 16: Function not implemented"), "%s",
		  log);
}

Test(vm_devices, a_guest_panic_stops_the_vm)
{
	char log[4096];
	uint8_t panicked = 1;

	cr_assert_eq(
	    create((const char *const[]){"{ plugin = \"pvpanic\"; }", NULL}, log, sizeof(log)), 0,
	    "%s", log);
	cr_assert_eq(stops, 0);
	/* A vCPU's MMIO write: bus, instance lock, the plugin, then the host's stop callback. */
	cr_assert(bus_write(&mmio, LAYOUT_DEVICE_MMIO_GPA, &panicked, 1));
	cr_assert_eq(stops, 1);
	cr_assert_eq(stop_reason, VM_STOP_GUEST_PANIC);
}

static void *run_loop(void *loop)
{
	cr_assert_eq(event_loop_run(loop), 0);
	return NULL;
}

/* Waits up to ms for an eventfd's count; returns it (0: none came). */
static uint64_t wait_eventfd(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t v = 0;

	if (poll(&p, 1, ms) == 1 && read(fd, &v, sizeof(v)) != sizeof(v))
		v = 0;
	return v;
}

static uint32_t read32(uint64_t gpa)
{
	uint32_t v = 0;

	cr_assert(bus_read(&mmio, gpa, &v, sizeof(v)));
	return v;
}

static void write32(uint64_t gpa, uint32_t v)
{
	cr_assert(bus_write(&mmio, gpa, &v, sizeof(v)));
}

/*
 * The event loop's side: a level line re-raised from its resample fd while the device holds
 * it, and plugin timers (the registry over timerfds) firing there.
 */
Test(vm_devices, level_lines_resample_and_timers_fire_on_the_event_loop)
{
	const uint64_t w = LAYOUT_DEVICE_MMIO_GPA;
	_Atomic uint64_t *counter_at;
	uint64_t counter = 0, one = 1;
	char log[4096];
	pthread_t loop;
	int irq, resample;

	cr_assert_eq(create((const char *const[]){"{ plugin = \"abi10-mmio\"; }",
						  "{ plugin = \"tp-devmem\"; }", NULL},
			    log, sizeof(log)),
		     0, "%s", log);
	irq = (int)kvm.irqfds[0].fd;
	resample = (int)kvm.irqfds[0].resamplefd;
	/* The plugin stores it whole with release order (tp_devmem.c). */
	counter_at = (_Atomic uint64_t *)(uintptr_t)(kvm.slots[0].userspace_addr + 8);
	cr_assert_eq(pthread_create(&loop, NULL, run_loop, host.loop), 0);

	/* Raised: one write of the irqfd. KVM's EOI resample re-raises while it is held. */
	write32(w + 0x08, 1);
	cr_assert_eq(wait_eventfd(irq, 2000), 1);
	cr_assert_eq(write(resample, &one, sizeof(one)), (ssize_t)sizeof(one));
	cr_assert_eq(wait_eventfd(irq, 2000), 1, "re-raised after the resample");
	write32(w + 0x08, 0);
	cr_assert_eq(write(resample, &one, sizeof(one)), (ssize_t)sizeof(one));
	cr_assert_eq(wait_eventfd(irq, 200), 0, "lowered: no re-raise");

	/* A plugin timer of 1 ms: the registry's timerfd fires on the loop and raises the line. */
	write32(w + 0x0c, 1000);
	cr_assert_eq(wait_eventfd(irq, 2000), 1, "the timer raised the line");
	cr_assert_eq(read32(w + 0x10), 1, "fired once");
	cr_assert_eq(read32(w + 0x0c), 0, "one-shot: no longer armed");

	/* tp-devmem's 50 ms tick (started in create) moves its counter in device memory. */
	for (int i = 0; i < 200; i++) {
		counter = atomic_load_explicit(counter_at, memory_order_acquire);
		if (counter >= 3)
			break;
		usleep(10000);
	}
	cr_assert_geq(counter, 3, "ticks ran: counter %llu", (unsigned long long)counter);

	event_loop_stop(host.loop);
	cr_assert_eq(pthread_join(loop, NULL), 0);
}

/* ---- the registry (core/plugin_callbacks.c) ---- */

struct fake_wait {
	uint64_t now;
	int arm_error;	    /* for the next arm */
	unsigned disarms;   /* records disarmed */
	int ran[16];	    /* ids whose callbacks ran, in order */
	unsigned ran_count; /* entries in ran */
	struct plugin_callbacks *r;
	int add_from_callback; /* a callback adds a timer of this delay (0: none) */
	int remove_from_callback;
};

static int fw_arm(void *ctx, struct plugin_cb *cb, uint64_t delay_ns)
{
	struct fake_wait *f = ctx;
	int e = f->arm_error;

	f->arm_error = 0;
	cb->deadline_ns = f->now + delay_ns;
	return e;
}

static void fw_disarm(void *ctx, struct plugin_cb *cb)
{
	struct fake_wait *f = ctx;

	(void)cb;
	f->disarms++;
}

static const struct plugin_callbacks_wait fw_wait = {.arm = fw_arm, .disarm = fw_disarm};

static void fw_timer(void *arg, int id)
{
	struct fake_wait *f = arg;

	cr_assert_lt(f->ran_count, 16);
	f->ran[f->ran_count++] = id;
	if (f->add_from_callback) {
		int delay = f->add_from_callback;

		f->add_from_callback = 0;
		cr_assert_gt(plugin_callbacks_timer_start(f->r, (uint64_t)delay, fw_timer, f), 0);
	}
}

static void fw_watch(void *arg, int id, uint32_t revents)
{
	struct fake_wait *f = arg;

	cr_assert_eq(revents, 1);
	cr_assert_lt(f->ran_count, 16);
	f->ran[f->ran_count++] = id;
	if (f->remove_from_callback)
		plugin_callbacks_watch_remove(f->r, id); /* from inside its own callback */
}

Test(plugin_callbacks, ids_count_from_one_and_are_never_reused)
{
	struct plugin_callbacks r;
	struct fake_wait f = {.r = &r};

	plugin_callbacks_init(&r, &fw_wait, &f);
	cr_assert_eq(plugin_callbacks_watch_add(&r, 5, 1, fw_watch, &f), 1);
	cr_assert_eq(plugin_callbacks_timer_start(&r, 10, fw_timer, &f), 2);
	plugin_callbacks_watch_remove(&r, 1);
	cr_assert_eq(f.disarms, 1);
	plugin_callbacks_watch_remove(&r, 2); /* a timer's id: not a watch, nothing happens */
	plugin_callbacks_timer_cancel(&r, 1); /* gone already */
	cr_assert_eq(f.disarms, 1);
	cr_assert_eq(plugin_callbacks_watch_add(&r, 5, 1, fw_watch, &f), 3, "1 is not reused");
	/* A failed arm uses its id up too, and leaves nothing behind. */
	f.arm_error = -EBADF;
	cr_assert_eq(plugin_callbacks_watch_add(&r, 6, 1, fw_watch, &f), -EBADF);
	cr_assert_eq(plugin_callbacks_count(&r), 2);
	cr_assert_eq(plugin_callbacks_timer_start(&r, 1, fw_timer, &f), 5);
	/* Storage of its own grows past its first 8 slots. */
	for (int i = 0; i < 20; i++)
		cr_assert_eq(plugin_callbacks_timer_start(&r, 1, fw_timer, &f), 6 + i);
	cr_assert_eq(plugin_callbacks_count(&r), 23);
	cr_assert_geq(plugin_callbacks_capacity(&r), 23);
	cr_assert_eq(plugin_callbacks_fini(&r), 23, "what was left");
	cr_assert_eq(f.disarms, 24);
}

Test(plugin_callbacks, ids_run_out_instead_of_wrapping)
{
	struct plugin_callbacks r;
	struct fake_wait f = {.r = &r};

	plugin_callbacks_init(&r, &fw_wait, &f);
	r.next_id = INT_MAX - 1;
	cr_assert_eq(plugin_callbacks_timer_start(&r, 1, fw_timer, &f), INT_MAX - 1);
	cr_assert_eq(plugin_callbacks_watch_add(&r, 3, 1, fw_watch, &f), INT_MAX);
	cr_assert_eq(plugin_callbacks_timer_start(&r, 1, fw_timer, &f), -EOVERFLOW);
	cr_assert_eq(plugin_callbacks_watch_add(&r, 4, 1, fw_watch, &f), -EOVERFLOW);
	/* Freeing records gives no ids back. */
	plugin_callbacks_timer_cancel(&r, INT_MAX - 1);
	cr_assert_eq(plugin_callbacks_timer_start(&r, 1, fw_timer, &f), -EOVERFLOW);
	cr_assert_eq(plugin_callbacks_count(&r), 1);
	plugin_callbacks_fini(&r);
}

Test(plugin_callbacks, fixed_storage_refuses_when_full)
{
	struct plugin_cb slots[2] = {0};
	struct plugin_callbacks r;
	struct fake_wait f = {.r = &r};

	plugin_callbacks_init_fixed(&r, slots, 2, &fw_wait, &f);
	cr_assert_eq(plugin_callbacks_watch_add(&r, 3, 1, fw_watch, &f), 1);
	cr_assert_eq(plugin_callbacks_timer_start(&r, 7, fw_timer, &f), 2);
	cr_assert_eq(plugin_callbacks_timer_start(&r, 7, fw_timer, &f), -ENOSPC);
	/* The caller's slots are the records. */
	cr_assert(slots[0].used && !slots[0].timer && slots[0].fd == 3 && slots[0].id == 1);
	cr_assert(slots[1].used && slots[1].timer && slots[1].deadline_ns == 7);
	plugin_callbacks_watch_remove(&r, 1);
	cr_assert_not(slots[0].used);
	/* A refusal for want of room handed no id out; the freed slot is reused, its id not. */
	cr_assert_eq(plugin_callbacks_watch_add(&r, 4, 1, fw_watch, &f), 3);
	cr_assert_eq(slots[0].id, 3);
	cr_assert_eq(plugin_callbacks_fini(&r), 2);
}

Test(plugin_callbacks, due_timers_in_deadline_order_one_shot)
{
	struct plugin_callbacks r;
	struct fake_wait f = {.r = &r};
	struct plugin_cb due;
	int a, b, c, d;

	plugin_callbacks_init(&r, &fw_wait, &f);
	a = plugin_callbacks_timer_start(&r, 30, fw_timer, &f);
	b = plugin_callbacks_timer_start(&r, 10, fw_timer, &f);
	c = plugin_callbacks_timer_start(&r, 30, fw_timer, &f);
	d = plugin_callbacks_timer_start(&r, 50, fw_timer, &f);
	cr_assert_not(plugin_callbacks_take_due(&r, 9, &due));
	f.add_from_callback = 5; /* b's callback adds one due at 10 + 5 = 15 */
	while (plugin_callbacks_take_due(&r, 40, &due)) {
		f.now = due.deadline_ns;
		plugin_callbacks_run(&due, 0);
	}
	cr_assert_eq(f.ran_count, 4);
	cr_assert_eq(f.ran[0], b);
	cr_assert_eq(f.ran[1], d + 1, "added from inside a callback");
	cr_assert_eq(f.ran[2], a, "equal deadlines: the lower slot first");
	cr_assert_eq(f.ran[3], c);
	cr_assert_eq(f.disarms, 4);
	cr_assert_eq(plugin_callbacks_count(&r), 1, "d is not due yet");
	plugin_callbacks_fini(&r);
}

Test(plugin_callbacks, fd_ready_runs_watches_and_fires_timers_once)
{
	struct plugin_callbacks r;
	struct fake_wait f = {.r = &r};
	struct plugin_cb c;
	int w, t;

	plugin_callbacks_init(&r, &fw_wait, &f);
	w = plugin_callbacks_watch_add(&r, 40, 1, fw_watch, &f);
	t = plugin_callbacks_timer_start(&r, 1, fw_timer, &f);
	/* The embedding gives a timer its fd (the VMM: a timerfd) in arm; here, by hand. */
	for (size_t i = 0; i < plugin_callbacks_capacity(&r); i++)
		if (plugin_callbacks_at(&r, i, &c) && c.id == t)
			r.slots[i].fd = 41;
	cr_assert(plugin_callbacks_fd_ready(&r, 40, 1));
	cr_assert(plugin_callbacks_fd_ready(&r, 40, 1), "a watch stays");
	cr_assert_eq(f.disarms, 0);
	cr_assert(plugin_callbacks_fd_ready(&r, 41, 1));
	cr_assert_eq(f.disarms, 1, "the timer was disarmed");
	cr_assert_not(plugin_callbacks_fd_ready(&r, 41, 1), "one-shot");
	cr_assert_not(plugin_callbacks_fd_ready(&r, 42, 1));
	f.remove_from_callback = 1;
	cr_assert(plugin_callbacks_fd_ready(&r, 40, 1));
	cr_assert_not(plugin_callbacks_fd_ready(&r, 40, 1), "removed from its own callback");
	cr_assert_eq(f.ran_count, 4);
	cr_assert(f.ran[0] == w && f.ran[1] == w && f.ran[2] == t && f.ran[3] == w);
	cr_assert_eq(plugin_callbacks_fini(&r), 0);
}

/* What the control plane looks devices up by (vm_control.h): the config's id, else the name. */
Test(vm_devices, ids_plugins_and_instances_for_the_control_plane)
{
	char log[4096];

	cr_assert_eq(create(
			 (const char *const[]){
			     "{ plugin = \"virtio-rng\"; }",
			     "{ plugin = \"tp-abi12\"; id = \"stats\"; }",
			     "{ plugin = \"virtio-rng\"; id = \"rng-b\"; }",
			     NULL,
			 },
			 log, sizeof(log)),
		     0, "%s", log);
	cr_assert_str_eq(vm_devices_id(&ds, 0), "virtio-rng.0");
	cr_assert_str_eq(vm_devices_id(&ds, 1), "stats");
	cr_assert_str_eq(vm_devices_id(&ds, 2), "rng-b");
	cr_assert_null(vm_devices_id(&ds, 3));
	cr_assert_str_eq(vm_devices_plugin_name(&ds, 1), "tp-abi12");
	cr_assert_str_eq(vm_devices_plugin_name(&ds, 2), "virtio-rng");
	cr_assert_null(vm_devices_plugin_name(&ds, 3));
	cr_assert_eq(vm_devices_find(&ds, "stats"), 1);
	cr_assert_eq(vm_devices_find(&ds, "virtio-rng.0"), 0);
	cr_assert_eq(vm_devices_find(&ds, "rng-b"), 2);
	cr_assert_eq(vm_devices_find(&ds, "virtio-rng.1"), -1, "a device with an id has no other");
	cr_assert_eq(vm_devices_find(&ds, "nope"), -1);
	cr_assert_not_null(vm_devices_instance(&ds, 1));
	cr_assert_null(vm_devices_instance(&ds, 3));
	cr_assert_gt(plugin_instance_metric_count(vm_devices_instance(&ds, 1)), 0);
	cr_assert_eq(plugin_instance_metric_count(vm_devices_instance(&ds, 0)), 3,
		     "virtio-rng: bytes, requests, throttled");
}
