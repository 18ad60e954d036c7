/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Why a VM stopped, and the process exit status each reason maps to. Core devices and
 * vCPU threads request a stop through a callback; the first request wins.
 */
#ifndef EMBER_VM_STOP_H
#define EMBER_VM_STOP_H

enum vm_stop_reason {
	VM_STOP_NONE = 0,
	VM_STOP_POWEROFF,     /* ACPI S5 from the guest */
	VM_STOP_REBOOT,	      /* i8042 or ACPI reset from the guest */
	VM_STOP_SIGNAL,	      /* SIGINT / SIGTERM / SIGHUP to ember */
	VM_STOP_ERROR,	      /* an internal or KVM error */
	VM_STOP_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN: the guest crashed its CPU */
	VM_STOP_GUEST_PANIC,  /* the guest reported a panic (pvpanic) */
};

/* Exit statuses of `ember run`, documented in the README. */
enum ember_exit {
	EMBER_EXIT_OK = 0,
	EMBER_EXIT_ERROR = 1,
	EMBER_EXIT_USAGE = 2,
	EMBER_EXIT_GUEST_PANIC = 3,
	EMBER_EXIT_TRIPLE_FAULT = 4,
	/* A thread made a syscall its filter forbids (seccomp_install.h); as Firecracker. */
	EMBER_EXIT_SECCOMP = 148,
};

/* Requests a stop. Callable from any thread, any number of times. */
typedef void (*vm_stop_fn)(void *opaque, enum vm_stop_reason reason);

/* Sets an interrupt line to level (edge-triggered ISA lines see a rising edge on 0 -> 1). */
typedef void (*irq_line_fn)(void *opaque, unsigned gsi, int level);

#endif
