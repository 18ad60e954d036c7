/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building, running and tearing down one VM. Every step either completes or unwinds what
 * came before it, so a failure anywhere leaves nothing running and one message on stderr.
 */
#include "vm.h"

#include "acpi_tables.h"
#include "boot_timer.h"
#include "layout.h"
#include "linux_boot.h"
#include "log.h"
#include "vm_internal.h"
#include "x86_cpu.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

void vm_request_stop(void *opaque, enum vm_stop_reason reason)
{
	struct vm *vm = opaque;
	int expected = VM_STOP_NONE;

	if (atomic_compare_exchange_strong(&vm->stop_reason, &expected, (int)reason))
		event_loop_stop(vm->loop);
}

static void vm_irq_line(void *opaque, unsigned gsi, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = {.irq = gsi, .level = (uint32_t)level};

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_warn("interrupt line %u: %s", gsi, strerror(errno));
}

static int open_kvm(struct vm *vm)
{
	static const struct {
		int cap;
		const char *name;
	} caps[] = {
	    {KVM_CAP_IRQCHIP, "in-kernel irqchip"},
	    {KVM_CAP_USER_MEMORY, "user memory"},
	    {KVM_CAP_SET_TSS_ADDR, "TSS address"},
	    {KVM_CAP_PIT2, "PIT"},
	    {KVM_CAP_EXT_CPUID, "CPUID"},
	    {KVM_CAP_IMMEDIATE_EXIT, "immediate exit"},
	    {KVM_CAP_IRQFD, "irqfd"},
	    {KVM_CAP_IOEVENTFD, "ioeventfd"},
	};
	int version;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		log_error("/dev/kvm: %s: ember needs KVM (a Linux host with virtualization enabled "
			  "and access to /dev/kvm)",
			  strerror(errno));
		return -1;
	}
	/*
	 * PVM (kvm_pvm) serves /dev/kvm without hardware virtualization and runs only guest
	 * kernels built for it; a stock kernel would die in its decompressor.
	 */
	if (access("/sys/module/kvm_pvm", F_OK) == 0 && access("/sys/module/kvm_amd", F_OK) &&
	    access("/sys/module/kvm_intel", F_OK)) {
		log_error("/dev/kvm is served by kvm_pvm, which runs only PVM guest kernels: ember "
			  "needs hardware-assisted KVM (kvm_intel or kvm_amd)");
		return -1;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		log_error("/dev/kvm: API version %d, ember needs %d", version, KVM_API_VERSION);
		return -1;
	}
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			log_error("/dev/kvm: KVM lacks %s support", caps[i].name);
			return -1;
		}
	}
	return 0;
}

static int create_vm(struct vm *vm, const struct vm_config *cfg)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	uint64_t identity = LAYOUT_KVM_IDENTITY_MAP_GPA;
	int max_vcpus, size;

	max_vcpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_vcpus > 0 && cfg->vcpus > (unsigned)max_vcpus) {
		log_error("%s: machine.vcpus: this host's KVM allows at most %d vCPUs", cfg->file,
			  max_vcpus);
		return -1;
	}
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0) {
		log_error("/dev/kvm: KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	vm->run_size = (size_t)size;
	do
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0) {
		log_error("/dev/kvm: cannot create a VM: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS_GPA) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		log_error("KVM: cannot set up the VM's interrupt controllers: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int setup_memory(struct vm *vm, const struct vm_config *cfg)
{
	int rc =
	    guest_mem_init_backed(&vm->mem, (uint64_t)cfg->memory_mib << 20, cfg->memory_backing);

	if (rc && cfg->memory_backing == GUEST_MEM_HUGETLB) {
		char where[4096 + 32];

		/* Only a given key selects huge pages, so it has a place in the file. */
		vm_config_where(cfg, cfg->from.memory_backing, where, sizeof(where));
		log_error(
		    "%s: machine.memory_backing: cannot map %u MiB of guest RAM in 2 MiB huge "
		    "pages: %s (the host's pool: /proc/sys/vm/nr_hugepages)",
		    where, cfg->memory_mib, strerror(-rc));
		return -1;
	}
	if (rc) {
		log_error("%s: machine.memory_mib: cannot map %u MiB of %s guest RAM: %s",
			  cfg->file, cfg->memory_mib, guest_mem_backing_name(cfg->memory_backing),
			  strerror(-rc));
		return -1;
	}
	for (unsigned i = 0; i < vm->mem.count; i++) {
		const struct guest_mem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region region = {
		    .slot = i,
		    .guest_phys_addr = r->gpa,
		    .memory_size = r->size,
		    .userspace_addr = (uintptr_t)r->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
			log_error("KVM: cannot register guest RAM: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int setup_acpi(struct vm *vm, const struct vm_config *cfg)
{
	struct acpi_config acpi = {
	    .vcpus = cfg->vcpus,
	    .devices = vm->devices.acpi,
	    .device_count = vm->devices.acpi_count,
	};
	uint8_t *buf = guest_mem_ptr(&vm->mem, LAYOUT_ACPI_GPA, LAYOUT_ACPI_SIZE);
	size_t used;
	int rc;

	if (!buf)
		return -1;
	rc = acpi_build_tables(&acpi, buf, LAYOUT_ACPI_SIZE, LAYOUT_ACPI_GPA, &used);
	if (rc) {
		log_error("cannot build the ACPI tables: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

static int load_guest(struct vm *vm, const struct vm_config *cfg, struct linux_boot_info *boot)
{
	struct linux_boot_args args = {
	    .kernel_path = cfg->kernel,
	    .initrd_path = cfg->initrd,
	    .cmdline = cfg->cmdline,
	    .rsdp_gpa = LAYOUT_ACPI_GPA,
	    /* Device memory exists by now: the devices were created before the guest loads. */
	    .reserved = vm->devices.devmem,
	    .reserved_count = vm->devices.devmem_count,
	};
	char err[512];

	if (x86_write_boot_tables(&vm->mem) < 0) {
		log_error("guest RAM too small for the boot page tables");
		return -1;
	}
	if (linux_boot_load(&vm->mem, &args, boot, err, sizeof(err))) {
		log_error("%s: boot: %s", cfg->file, err);
		return -1;
	}
	return 0;
}

static int add_region(struct bus *bus, uint64_t base, uint64_t size, bus_read_fn rd,
		      bus_write_fn wr, void *opaque, const char *name)
{
	struct bus_region r = {base, size, rd, wr, opaque, name};
	int rc = bus_add(bus, &r);

	if (rc)
		log_error("cannot place %s at %#llx: %s", name, (unsigned long long)base,
			  strerror(-rc));
	return rc;
}

static int setup_core_devices(struct vm *vm)
{
	vm->serial =
	    serial_create(STDOUT_FILENO, LAYOUT_COM1_IRQ, vm_irq_line, vm, console_rx_ready, vm);
	vm->i8042 = i8042_create(LAYOUT_I8042_IRQ, vm_irq_line, vm, vm_request_stop, vm);
	vm->pm = (struct acpi_pm){.stop = vm_request_stop, .stop_opaque = vm};
	if (!vm->serial || !vm->i8042) {
		log_error("out of memory");
		return -1;
	}
	if (add_region(&vm->pio, LAYOUT_COM1_PORT, 8, serial_io_read, serial_io_write, vm->serial,
		       "COM1") ||
	    add_region(&vm->pio, LAYOUT_I8042_DATA, LAYOUT_I8042_CMD - LAYOUT_I8042_DATA + 1,
		       i8042_io_read, i8042_io_write, vm->i8042, "i8042") ||
	    add_region(&vm->pio, LAYOUT_ACPI_SLEEP_CTL_PORT,
		       LAYOUT_ACPI_RESET_PORT - LAYOUT_ACPI_SLEEP_CTL_PORT + 1, acpi_pm_io_read,
		       acpi_pm_io_write, &vm->pm, "ACPI PM") ||
	    add_region(&vm->mmio, LAYOUT_BOOT_TIMER_GPA, LAYOUT_BOOT_TIMER_SIZE, NULL,
		       boot_timer_mmio_write, NULL, "boot timer"))
		return -1;
	return 0;
}

/* The plugin devices see the VM only through this (vm_devices.h). */
static int create_devices(struct vm *vm)
{
	const struct vm_devices_host host = {
	    .thread_filters = vm->seccomp_on ? vm->seccomp.threads : NULL,
	    .kvm_fd = vm->kvm_fd,
	    .vm_fd = vm->vm_fd,
	    .kvm = &vm_devices_kvm_ioctls,
	    .loop = vm->loop,
	    .mmio = &vm->mmio,
	    .mem = &vm->mem,
	    .stop = vm_request_stop,
	    .stop_opaque = vm,
	};

	return vm_devices_create(&vm->devices, &host);
}

/* Returns 0, or a negative errno with *step naming what failed. */
static int configure_vcpu(struct vm *vm, struct vcpu *v, const struct kvm_cpuid2 *cpuid,
			  const struct linux_boot_info *boot, const char **step)
{
	int rc;

	*step = "CPUID";
	if ((rc = x86_setup_cpuid(v->fd, cpuid, v->index, vm->vcpu_count)))
		return rc;
	*step = "MSRs";
	if ((rc = x86_setup_msrs(v->fd)))
		return rc;
	*step = "FPU";
	if ((rc = x86_setup_fpu(v->fd)))
		return rc;
	*step = "local APIC";
	if ((rc = x86_setup_lapic(v->fd)))
		return rc;
	/* Only the boot CPU starts at the kernel; the others wait for the guest's INIT/SIPI. */
	*step = "registers";
	if (v->index == 0)
		return x86_setup_boot_regs(v->fd, boot->entry, boot->boot_params_gpa);
	return 0;
}

static int setup_vcpus(struct vm *vm, const struct linux_boot_info *boot)
{
	struct kvm_cpuid2 *cpuid = x86_supported_cpuid(vm->kvm_fd);
	int rc = 0;

	if (!cpuid) {
		log_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return -1;
	}
	vm->vcpus = calloc(vm->vcpu_count, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		free(cpuid);
		return -1;
	}
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned i = 0; i < vm->vcpu_count && !rc; i++) {
		const char *step = "create";

		rc = vcpu_create(vm, &vm->vcpus[i], i);
		if (!rc)
			rc = configure_vcpu(vm, &vm->vcpus[i], cpuid, boot, &step);
		if (rc)
			log_error("vCPU %u: %s: %s", i, step, strerror(-rc));
	}
	free(cpuid);
	return rc ? -1 : 0;
}

static void on_signal(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("stopping the VM (%s)", strsignal((int)si.ssi_signo));
	vm_request_stop(vm, VM_STOP_SIGNAL);
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

/*
 * First thing: every thread ember or a plugin starts (a plugin may start one in create)
 * inherits this mask, so only the signalfd ever sees the stop signals and teardown always runs.
 */
static int block_stop_signals(void)
{
	sigset_t set;

	stop_signals(&set);
	return pthread_sigmask(SIG_BLOCK, &set, NULL) ? -1 : 0;
}

static int setup_signals(struct vm *vm)
{
	sigset_t set;

	stop_signals(&set);
	if (vcpu_signals_init())
		return -1;
	signal(SIGPIPE, SIG_IGN);
	vm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->signal_fd < 0)
		return -1;
	vm->signal_watch = event_loop_watch(vm->loop, vm->signal_fd, EPOLLIN, on_signal, vm);
	return vm->signal_watch ? 0 : -1;
}

static int exit_status(enum vm_stop_reason reason)
{
	switch (reason) {
	case VM_STOP_POWEROFF:
		log_info("guest powered off");
		return EMBER_EXIT_OK;
	case VM_STOP_REBOOT:
		log_info("guest rebooted: VM stopped");
		return EMBER_EXIT_OK;
	case VM_STOP_SIGNAL:
		return EMBER_EXIT_OK;
	case VM_STOP_GUEST_PANIC:
		return EMBER_EXIT_GUEST_PANIC;
	case VM_STOP_TRIPLE_FAULT:
		return EMBER_EXIT_TRIPLE_FAULT;
	default:
		return EMBER_EXIT_ERROR;
	}
}

/*
 * The filters are built once the plugins are loaded (what they declare) and before any device
 * exists (a plugin may start a thread in create, which installs its filter at once).
 */
static int setup_seccomp(struct vm *vm, const struct vm_config *cfg)
{
	const struct plugin **plugins;
	int rc;

	if (!cfg->seccomp) {
		log_warn("seccomp is off (--no-seccomp or sandbox.seccomp = false): nothing limits "
			 "what a compromised device or vCPU thread can do");
		return 0;
	}
	plugins = calloc(vm->devices.count + 1, sizeof(*plugins));
	if (!plugins) {
		log_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < vm->devices.count; i++)
		plugins[i] = vm_devices_plugin(&vm->devices, i);
	rc = seccomp_filters_build_extra(&vm->seccomp, plugins, vm->devices.count,
					 vm->hooks && vm->hooks->api_syscalls ? SECCOMP_EXTRA_API
									      : 0);
	free(plugins);
	vm->seccomp_on = rc == 0;
	return rc;
}

/*
 * The main thread's filter, after the vCPU threads exist (a thread inherits its creator's
 * filter, and theirs must not be narrowed by the event loop's) and before the loop dispatches
 * anything the guest drives. Teardown then runs under it too.
 */
static int enter_event_loop_filter(struct vm *vm)
{
	int rc;

	seccomp_thread_set("main");
	if (!vm->seccomp_on)
		return 0;
	rc = seccomp_install(&vm->seccomp.event_loop);
	if (rc)
		log_error("cannot install the event loop's seccomp filter: %s", strerror(-rc));
	return rc;
}

static void vm_teardown(struct vm *vm)
{
	if (vm->vcpus) {
		/* A paused VM stops too: its parked threads see the stop flag once woken. */
		vcpus_unpark_for_stop(vm);
		for (unsigned i = 0; i < vm->vcpu_count; i++)
			vcpu_kick(&vm->vcpus[i]);
		for (unsigned i = 0; i < vm->vcpu_count; i++)
			vcpu_join(&vm->vcpus[i]);
		for (unsigned i = 0; i < vm->vcpu_count; i++)
			vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
	}
	console_fini(vm);
	vm_devices_destroy(&vm->devices);
	if (vm->loop) {
		event_loop_unwatch(vm->loop, vm->signal_watch);
		event_loop_destroy(vm->loop);
	}
	if (vm->signal_fd >= 0)
		close(vm->signal_fd);
	serial_destroy(vm->serial);
	i8042_destroy(vm->i8042);
	bus_free(&vm->mmio);
	bus_free(&vm->pio);
	guest_mem_free(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	seccomp_filters_free(&vm->seccomp);
	pthread_cond_destroy(&vm->parked_cond);
	pthread_cond_destroy(&vm->park_cond);
	pthread_mutex_destroy(&vm->park_lock);
}

int vm_run(const struct vm_config *cfg, const struct vm_run_hooks *hooks)
{
	struct vm vm = {
	    .kvm_fd = -1,
	    .vm_fd = -1,
	    .signal_fd = -1,
	    .vcpu_count = cfg->vcpus,
	    .hooks = hooks,
	};
	struct linux_boot_info boot;
	char err[512];
	int status = EMBER_EXIT_ERROR;
	bool started = false;
	int rc;

	atomic_init(&vm.stop_reason, VM_STOP_NONE);
	atomic_init(&vm.pause_requested, false);
	pthread_mutex_init(&vm.park_lock, NULL);
	pthread_cond_init(&vm.park_cond, NULL);
	pthread_cond_init(&vm.parked_cond, NULL);
	if (block_stop_signals()) {
		log_error("cannot block the stop signals: %s", strerror(errno));
		return EMBER_EXIT_ERROR;
	}
	vm.loop = event_loop_create();
	if (!vm.loop) {
		log_error("cannot create the event loop: %s", strerror(errno));
		return EMBER_EXIT_ERROR;
	}
	if (vm_devices_prepare(&vm.devices, cfg)) {
		status = EMBER_EXIT_USAGE;
		goto out;
	}
	if (setup_seccomp(&vm, cfg))
		goto out;
	if (open_kvm(&vm) || create_vm(&vm, cfg) || setup_memory(&vm, cfg) ||
	    setup_core_devices(&vm))
		goto out;
	rc = create_devices(&vm);
	if (rc) {
		/* A device its plugin refuses is a configuration error, as `ember check` says. */
		if (rc == VM_DEVICES_REFUSED)
			status = EMBER_EXIT_USAGE;
		goto out;
	}
	if (vm.seccomp_on && seccomp_check_threads(err, sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	if (setup_acpi(&vm, cfg) || load_guest(&vm, cfg, &boot) || setup_vcpus(&vm, &boot))
		goto out;
	/* Before any vCPU runs: clock_pair reads vCPU 0's TSC offset now (vm_devices.h). */
	vm_devices_vcpus_ready(&vm.devices, vm.vcpu_count ? vm.vcpus[0].fd : -1);
	if (setup_signals(&vm) || console_init(&vm) < 0) {
		log_error("cannot set up signals or the console: %s", strerror(errno));
		goto out;
	}
	rc = 0;
	for (unsigned i = 0; i < vm.vcpu_count && !rc; i++) {
		rc = vcpu_start(&vm.vcpus[i]);
		if (rc) {
			log_error("vCPU %u: cannot start its thread: %s", i, strerror(-rc));
			vm_request_stop(&vm, VM_STOP_ERROR);
		}
	}
	/* Unfiltered yet: what the hook sets up (a listening socket) needs more than the loop. */
	if (!rc && hooks && hooks->started) {
		hooks->started(hooks->opaque, &vm, vm.loop);
		started = true;
	}
	if (enter_event_loop_filter(&vm))
		vm_request_stop(&vm, VM_STOP_ERROR);
	else if (event_loop_run(vm.loop) < 0) {
		log_error("event loop: %s", strerror(errno));
		vm_request_stop(&vm, VM_STOP_ERROR);
	}
	if (started && hooks->stopping)
		hooks->stopping(hooks->opaque);
	status = exit_status((enum vm_stop_reason)atomic_load(&vm.stop_reason));
out:
	vm_teardown(&vm);
	return status;
}
