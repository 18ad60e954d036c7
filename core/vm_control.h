/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the control plane (core/api/) may do to a running VM, and how it joins vm_run.
 *
 * vm_run calls hooks->started on the main thread once every vCPU thread has been started and
 * before the event-loop filter is installed and the loop runs: the control plane watches its
 * fds on `loop` there. hooks->stopping runs on the main thread after the loop has ended and
 * before anything is torn down; after it returns the struct vm is gone, so the control plane
 * drops its pointer there.
 *
 * Threads: every function below runs on the main (event-loop) thread only, from an event-loop
 * callback, so none races with teardown. None waits for the guest: vm_pause returns once every
 * vCPU thread is out of KVM_RUN and parked (bounded: a vCPU thread leaves KVM_RUN at once on
 * its kick signal). Errors: 0, or a negative errno with one line in err where there is one.
 */
#ifndef EMBER_VM_CONTROL_H
#define EMBER_VM_CONTROL_H

#include "event_loop.h"

#include <ember/control.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

struct vm_run_hooks {
	void *opaque;
	void (*started)(void *opaque, struct vm *vm, struct event_loop *loop);
	void (*stopping)(void *opaque);
	/*
	 * Thread names: vCPU threads are named "<vcpu_thread_prefix><index>" (e.g. "fc_vcpu " for
	 * the Firecracker front-end, whose clients find vCPU threads by name). NULL: "ember-vcpu".
	 */
	const char *vcpu_thread_prefix;
	/* Extra syscalls the event loop needs for the control plane (seccomp_filter.h). */
	bool api_syscalls;
};

/*
 * Pause: every vCPU leaves KVM_RUN and waits; the guest clock (kvmclock) is saved, and on
 * resume restored, so the guest's clock does not jump by the paused time (KVM_SET_CLOCK, and
 * KVM_KVMCLOCK_CTRL on each vCPU so its watchdogs do not fire). Pausing a paused VM and
 * resuming a running one are no-ops that return 0. -EBUSY: the VM is stopping.
 */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
bool vm_is_paused(const struct vm *vm);

/*
 * Ctrl-Alt-Del through the i8042 keyboard controller: the make and break scancodes go to the
 * guest's atkbd driver as a real keyboard's would (Linux then signals init, or reboots at once
 * with kernel.ctrl-alt-del = 1). -ENODEV when the guest has not enabled the keyboard;
 * -EAGAIN while the guest has not yet read the previous sequence (i8042.h); -EBUSY: stopping.
 */
int vm_send_ctrl_alt_del(struct vm *vm);

/*
 * The VM's devices, in placement order, for listing and metrics. vm_device_info: -ENODEV for
 * i >= vm_device_count; vm_device_metric: NULL for such an i or m; vm_device_metrics_read: 0
 * for such an i, or when count is below the device's metric_count (plugin_instance.h).
 */
size_t vm_device_count(const struct vm *vm);
struct vm_device_info {
	const char *id;	    /* the config's id, or the instance name ("virtio-rng.0") without one */
	const char *plugin; /* the plugin's name */
	uint32_t metric_count;
};
int vm_device_info(const struct vm *vm, size_t i, struct vm_device_info *out);
/* The i-th device's metric m (its description), and a snapshot of all its values. */
const struct ember_metric *vm_device_metric(const struct vm *vm, size_t i, uint32_t m);
uint32_t vm_device_metrics_read(struct vm *vm, size_t i, uint64_t *values, uint32_t count);

/*
 * Runs runtime request `name` on the device with id `id` (plugin_instance_control: args as the
 * inside of a libconfig group, reply as "name = value;" lines). -ENODEV: no such device.
 */
int vm_device_control(struct vm *vm, const char *id, const char *name, const char *args,
		      char *reply, size_t reply_size);

/* Asks the VM to stop as a guest reboot would (exit status 0), paused or not. */
void vm_request_shutdown(struct vm *vm);

#endif
