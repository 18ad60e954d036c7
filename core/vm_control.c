/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the control plane does to a running VM (vm_control.h): pause and resume with the guest
 * clock kept, Ctrl-Alt-Del, the devices' controls and metrics, a clean stop. Main thread only.
 */
#include "log.h"
#include "plugin_instance.h"
#include "vm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

static bool stopping(const struct vm *vm)
{
	return atomic_load(&vm->stop_reason) != VM_STOP_NONE;
}

/*
 * kvmclock is what the guest reads time from; left alone it would run on through the pause and
 * the guest would see the paused time pass at once. Saved once every vCPU is parked, so no
 * guest code runs between the reading and the pause.
 */
static void save_clock(struct vm *vm)
{
	memset(&vm->paused_clock, 0, sizeof(vm->paused_clock));
	vm->clock_saved = ioctl(vm->vm_fd, KVM_GET_CLOCK, &vm->paused_clock) == 0;
	if (!vm->clock_saved)
		log_warn("pause: KVM_GET_CLOCK: %s: the guest clock will jump by the paused time",
			 strerror(errno));
}

/*
 * Before the vCPUs run again: kvmclock where it stopped (flags 0: the saved value as it is,
 * not advanced by the realtime that passed, which KVM_CLOCK_REALTIME would ask for), and every
 * vCPU told it was paused, so that the guest's soft-lockup watchdog does not take the gap for
 * a hang. KVM_KVMCLOCK_CTRL answers EINVAL for a vCPU whose guest never enabled kvmclock:
 * then there is nothing to tell. The vCPUs are parked, so their ioctls wait for nothing.
 */
static void restore_clock(struct vm *vm)
{
	if (vm->clock_saved) {
		struct kvm_clock_data data = {.clock = vm->paused_clock.clock};

		if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &data) < 0)
			log_warn("resume: KVM_SET_CLOCK: %s: the guest clock jumps by the paused "
				 "time",
				 strerror(errno));
		vm->clock_saved = false;
	}
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		if (ioctl(vm->vcpus[i].fd, KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL)
			log_debug("resume: vCPU %u: KVM_KVMCLOCK_CTRL: %s", i, strerror(errno));
}

int vm_pause(struct vm *vm)
{
	int rc;

	if (stopping(vm))
		return -EBUSY;
	if (vm->paused)
		return 0;
	rc = vcpus_pause(vm);
	if (rc == -ETIMEDOUT)
		log_warn("pause: a vCPU did not stop within %d ms (blocked in a device: a console "
			 "nobody reads?); the VM goes on running",
			 VCPU_PAUSE_TIMEOUT_MS);
	if (rc)
		return rc;
	save_clock(vm);
	vm->paused = true;
	log_info("VM paused");
	return 0;
}

int vm_resume(struct vm *vm)
{
	if (stopping(vm))
		return -EBUSY;
	if (!vm->paused)
		return 0;
	restore_clock(vm);
	vm->paused = false;
	vcpus_resume(vm);
	log_info("VM resumed");
	return 0;
}

bool vm_is_paused(const struct vm *vm)
{
	return vm->paused;
}

int vm_send_ctrl_alt_del(struct vm *vm)
{
	if (stopping(vm))
		return -EBUSY;
	return i8042_send_ctrl_alt_del(vm->i8042);
}

size_t vm_device_count(const struct vm *vm)
{
	return vm->devices.count;
}

int vm_device_info(const struct vm *vm, size_t i, struct vm_device_info *out)
{
	const struct plugin_instance *pi = vm_devices_instance(&vm->devices, i);

	if (!pi)
		return -ENODEV;
	*out = (struct vm_device_info){
	    .id = vm_devices_id(&vm->devices, i),
	    .plugin = vm_devices_plugin_name(&vm->devices, i),
	    .metric_count = plugin_instance_metric_count(pi),
	};
	return 0;
}

const struct ember_metric *vm_device_metric(const struct vm *vm, size_t i, uint32_t m)
{
	const struct plugin_instance *pi = vm_devices_instance(&vm->devices, i);

	return pi ? plugin_instance_metric(pi, m) : NULL;
}

uint32_t vm_device_metrics_read(struct vm *vm, size_t i, uint64_t *values, uint32_t count)
{
	struct plugin_instance *pi = vm_devices_instance(&vm->devices, i);

	return pi ? plugin_instance_metrics_read(pi, values, count) : 0;
}

int vm_device_control(struct vm *vm, const char *id, const char *name, const char *args,
		      char *reply, size_t reply_size)
{
	long i = vm_devices_find(&vm->devices, id);
	struct plugin_instance *pi = i < 0 ? NULL : vm_devices_instance(&vm->devices, (size_t)i);

	if (!pi) {
		if (reply_size)
			snprintf(reply, reply_size, "no device with id %s", id);
		return -ENODEV;
	}
	return plugin_instance_control(pi, name, args, reply, reply_size);
}

void vm_request_shutdown(struct vm *vm)
{
	/* The exit status of a stop asked for from outside, as a signal's or the console's. */
	if (!stopping(vm))
		log_info("stopping the VM (shutdown requested)");
	vm_request_stop(vm, VM_STOP_SIGNAL);
}
