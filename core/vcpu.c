/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vCPU threads: each runs KVM_RUN in a loop and dispatches port and MMIO exits to the buses.
 *
 * Stopping: vm_request_stop (any thread) only records the first reason in vm->stop_reason and
 * wakes the main loop; a vCPU thread checks that flag before each KVM_RUN, so one that asked
 * for the stop itself (a triple fault, a system event) ends on its own. The others are stopped
 * by the main thread once its loop returns (vm_teardown): vcpu_kick sets the thread's
 * run->immediate_exit and sends it SIGUSR1, whose handler does nothing and has no SA_RESTART.
 * A thread inside KVM_RUN comes back with EINTR; one that was about to enter it returns at
 * once because of immediate_exit, however late the signal came. Then it sees the flag and
 * ends. A thread blocked in a device handler instead (a console write to a full stdout) is
 * interrupted only by a signal that arrives while it blocks, so vcpu_join re-sends SIGUSR1
 * every 10 ms until the thread has ended; the UART gives the byte up on EINTR once the stop
 * flag is set (serial_set_stop).
 *
 * Pausing (vcpus_pause) uses the same kick: vm->pause_requested is set first, then every
 * thread is kicked; a thread sees the flag at the top of its loop and parks on park_cond until
 * a resume or a stop. The top of the loop also clears immediate_exit, before it reads either
 * flag (with a full fence between): a kick whose flag it did not see yet leaves immediate_exit
 * set, so the next KVM_RUN returns at once and the loop looks again. A kick can still be spent
 * on a thread in a device handler, so vcpus_pause re-kicks every 10 ms like vcpu_join.
 */
#include "boot_timer.h"
#include "log.h"
#include "vm_internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1
#define VCPU_REKICK_NS	 (10 * 1000 * 1000)

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

int vcpu_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned index)
{
	void *run;

	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0)
		return -errno;
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (run == MAP_FAILED) {
		int e = -errno;

		close(vcpu->fd);
		vcpu->fd = -1;
		return e;
	}
	vcpu->run = run;
	return 0;
}

static bool stopping(const struct vm *vm)
{
	return atomic_load(&vm->stop_reason) != VM_STOP_NONE;
}

/* Waits outside KVM_RUN while a pause is requested and no stop is. */
static void park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->park_lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->parked_cond);
	while (atomic_load(&vm->pause_requested) && !stopping(vm))
		pthread_cond_wait(&vm->park_cond, &vm->park_lock);
	vm->parked--;
	pthread_mutex_unlock(&vm->park_lock);
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&vcpu->vm->pio, run->io.port, data, run->io.size);
		else
			bus_read(&vcpu->vm->pio, run->io.port, data, run->io.size);
	}
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = run->mmio.len;

	/* 1 to 8 bytes: the bus splits a length other than 1, 2, 4 or 8 for the device (bus.c). */
	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write)
		bus_write(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		bus_read(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
}

static void handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(vcpu->vm, VM_STOP_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(vcpu->vm, VM_STOP_REBOOT);
		break;
	default:
		log_error("vCPU %u: unexpected system event %u", vcpu->index,
			  vcpu->run->system_event.type);
		vm_request_stop(vcpu->vm, VM_STOP_ERROR);
		break;
	}
}

/* Registers for the message of a vCPU that cannot go on: what a bug report needs. */
static void log_vcpu_state(const struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs sr;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &sr) < 0)
		return;
	log_error("vCPU %u: rip=%#llx rsp=%#llx rflags=%#llx cr0=%#llx cr3=%#llx cr4=%#llx "
		  "efer=%#llx cs=%#x",
		  vcpu->index, (unsigned long long)r.rip, (unsigned long long)r.rsp,
		  (unsigned long long)r.rflags, (unsigned long long)sr.cr0,
		  (unsigned long long)sr.cr3, (unsigned long long)sr.cr4,
		  (unsigned long long)sr.efer, sr.cs.selector);
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		return true;
	case KVM_EXIT_HLT:
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		log_error("vCPU %u: triple fault: the guest's CPU reset itself", vcpu->index);
		log_vcpu_state(vcpu);
		vm_request_stop(vcpu->vm, VM_STOP_TRIPLE_FAULT);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(vcpu);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vCPU %u: KVM entry failed, hardware reason %#llx", vcpu->index,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		log_error("vCPU %u: KVM internal error, suberror %u", vcpu->index,
			  run->internal.suberror);
		for (uint32_t i = 0; i < run->internal.ndata && i < 16; i++)
			log_error("vCPU %u: internal data[%u]=%#llx", vcpu->index, i,
				  (unsigned long long)run->internal.data[i]);
		log_vcpu_state(vcpu);
		break;
	default:
		log_error("vCPU %u: unhandled KVM exit %u", vcpu->index, run->exit_reason);
		break;
	}
	vm_request_stop(vcpu->vm, VM_STOP_ERROR);
	return false;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	const char *prefix = vm->hooks && vm->hooks->vcpu_thread_prefix
				 ? vm->hooks->vcpu_thread_prefix
				 : "ember-vcpu";
	sigset_t set;
	char name[16];
	int rc;

	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* What ps and /proc show (at most 15 characters: the kernel's limit). */
	snprintf(name, sizeof(name), "%s%u", prefix, vcpu->index);
	pthread_setname_np(pthread_self(), name);
	/* Seccomp reports keep their own short name, whatever the prefix (seccomp_install.h). */
	snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
	seccomp_thread_set(name);
	/* Before the first KVM_RUN: nothing the guest drives runs here unfiltered. */
	if (vm->seccomp_on && (rc = seccomp_install(&vm->seccomp.vcpu))) {
		log_error("vCPU %u: cannot install its seccomp filter: %s", vcpu->index,
			  strerror(-rc));
		vm_request_stop(vm, VM_STOP_ERROR);
		return NULL;
	}

	if (vcpu->index == 0 && !atomic_exchange(&vm->first_run_logged, true))
		log_debug("start-up: first KVM_RUN after wall_ms=%.3f cpu_ms=%.3f",
			  boot_timer_wall_ms(), boot_timer_cpu_ms());
	for (;;) {
		vcpu->run->immediate_exit = 0;
		atomic_thread_fence(memory_order_seq_cst);
		if (stopping(vm))
			break;
		if (atomic_load(&vm->pause_requested)) {
			park(vcpu);
			continue;
		}
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_error("vCPU %u: KVM_RUN: %s", vcpu->index, strerror(errno));
			vm_request_stop(vm, VM_STOP_ERROR);
			break;
		}
		if (!handle_exit(vcpu))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int rc = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (rc)
		return -rc;
	vcpu->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	vcpu->run->immediate_exit = 1;
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

static void kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		vcpu_kick(&vm->vcpus[i]);
}

static struct timespec after_ns(long ns)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += ns;
	while (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void unpark(struct vm *vm)
{
	pthread_mutex_lock(&vm->park_lock);
	atomic_store(&vm->pause_requested, false);
	pthread_cond_broadcast(&vm->park_cond);
	pthread_mutex_unlock(&vm->park_lock);
}

int vcpus_pause(struct vm *vm)
{
	struct timespec give_up = after_ns(VCPU_PAUSE_TIMEOUT_MS * 1000000L), now;
	unsigned started = 0;
	int rc = 0;

	for (unsigned i = 0; i < vm->vcpu_count; i++)
		started += vm->vcpus[i].started;
	atomic_store(&vm->pause_requested, true);
	kick_all(vm);
	pthread_mutex_lock(&vm->park_lock);
	while (vm->parked < started && !rc) {
		struct timespec rekick = after_ns(VCPU_REKICK_NS);

		if (stopping(vm)) {
			rc = -EBUSY;
		} else if (pthread_cond_clockwait(&vm->parked_cond, &vm->park_lock, CLOCK_MONOTONIC,
						  &rekick) == ETIMEDOUT) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (!before(&now, &give_up)) {
				rc = -ETIMEDOUT;
				break;
			}
			/* Unlocked: a kick takes no lock, but parking threads need this one. */
			pthread_mutex_unlock(&vm->park_lock);
			kick_all(vm);
			pthread_mutex_lock(&vm->park_lock);
		}
	}
	/* A stop that came meanwhile wins: the parked threads must go on to end. */
	if (!rc && stopping(vm))
		rc = -EBUSY;
	pthread_mutex_unlock(&vm->park_lock);
	if (rc)
		unpark(vm);
	return rc;
}

void vcpus_resume(struct vm *vm)
{
	unpark(vm);
}

void vcpus_unpark_for_stop(struct vm *vm)
{
	/* Under the lock: a thread between its check of the stop flag and its wait gets it. */
	pthread_mutex_lock(&vm->park_lock);
	pthread_cond_broadcast(&vm->park_cond);
	pthread_mutex_unlock(&vm->park_lock);
}

/*
 * Waits for a kicked vCPU thread, kicking it again every 10 ms. One kick is not enough outside
 * KVM_RUN: a signal that lands while the thread is in a device handler but not yet inside the
 * blocking call (the write of a console byte to a full stdout) interrupts nothing, and the call
 * would then block for good. (KVM_RUN itself needs no repeat: immediate_exit makes it return
 * however late the signal came.)
 */
void vcpu_join(struct vcpu *vcpu)
{
	struct timespec deadline;

	if (!vcpu->started)
		return;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_nsec += VCPU_REKICK_NS;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		if (pthread_clockjoin_np(vcpu->thread, NULL, CLOCK_MONOTONIC, &deadline) !=
		    ETIMEDOUT)
			break;
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
	}
	vcpu->started = false;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
