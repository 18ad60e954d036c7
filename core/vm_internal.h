/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's parts, shared by vm.c (build, run, teardown), vcpu.c (the vCPU threads, parking),
 * console.c (stdin to the UART) and vm_control.c (what a control plane does, vm_control.h);
 * nothing else includes this header. The plugin devices
 * (vm_devices.c) get only what struct vm_devices_host hands them, and the core devices
 * (serial_8250.c, i8042.c, acpi_pm.c) only their callbacks. Not a public interface.
 */
#ifndef EMBER_VM_INTERNAL_H
#define EMBER_VM_INTERNAL_H

#include "acpi_pm.h"
#include "bus.h"
#include "event_loop.h"
#include "guest_mem.h"
#include "i8042.h"
#include "seccomp_filter.h"
#include "serial_8250.h"
#include "vm_control.h"
#include "vm_devices.h"
#include "vm_stop.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <termios.h>

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

struct console {
	struct event_watch *stdin_watch;
	struct event_watch *ready_watch;
	int ready_fd; /* eventfd: the UART has room again */
	bool is_tty;
	bool escape; /* the previous byte was the escape key (Ctrl-A) */
	struct termios saved;
};

struct vm {
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	struct guest_mem mem;
	struct bus mmio;
	struct bus pio;
	struct vcpu *vcpus;
	unsigned vcpu_count;
	struct event_loop *loop;
	struct serial_8250 *serial;
	struct i8042 *i8042;
	struct acpi_pm pm;
	struct vm_devices devices;
	struct console console;
	int signal_fd;
	struct event_watch *signal_watch;
	atomic_int stop_reason; /* enum vm_stop_reason; the first request wins */
	atomic_bool first_run_logged;
	/*
	 * Pause (vcpu.c): while pause_requested, vCPU threads park outside KVM_RUN on park_cond;
	 * parked counts them (under park_lock) and parked_cond tells vcpus_pause of each one.
	 * A stop request ends the parking (vcpus_unpark_for_stop).
	 */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;
	pthread_cond_t parked_cond;
	atomic_bool pause_requested;
	unsigned parked;
	/* Main thread only (vm_control.c): paused, and kvmclock as it was when pausing. */
	bool paused;
	bool clock_saved;
	struct kvm_clock_data paused_clock;
	const struct vm_run_hooks *hooks; /* NULL: none */
	/* Built after the plugins load when the config and command line leave seccomp on. */
	bool seccomp_on;
	struct seccomp_filters seccomp;
};

/* Requests a stop (any thread). */
void vm_request_stop(void *vm, enum vm_stop_reason reason);

/* vcpu.c */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned index);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
/* Installs the no-op signal handler used to kick vCPUs out of KVM_RUN. */
int vcpu_signals_init(void);
/*
 * Main thread. vcpus_pause parks every started vCPU thread outside KVM_RUN and returns 0 once
 * all are parked; -EBUSY when a stop comes first, -ETIMEDOUT when one does not park within
 * VCPU_PAUSE_TIMEOUT_MS (it is blocked in a device handler: a console write to a full stdout):
 * both undo the pause. vcpus_resume lets them run again. vcpus_unpark_for_stop wakes parked
 * threads once a stop was requested, so that they end (teardown, before the joins).
 */
#define VCPU_PAUSE_TIMEOUT_MS 1000
int vcpus_pause(struct vm *vm);
void vcpus_resume(struct vm *vm);
void vcpus_unpark_for_stop(struct vm *vm);

/* console.c */
int console_init(struct vm *vm);
void console_fini(struct vm *vm);
void console_rx_ready(void *vm);

#endif
