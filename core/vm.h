/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One VM from a validated config: builds it (KVM, RAM, boot, ACPI, devices), runs it until
 * something stops it, tears it down, and returns the process exit status (enum ember_exit).
 * Called on the main thread, which then runs the event loop; one thread per vCPU.
 *
 * hooks (NULL: none; must outlive the call) join a control plane to the run, as
 * vm_control.h says: started once every vCPU thread runs, on the main thread, before the
 * event-loop filter is installed (not called when the VM fails before that, or a vCPU thread
 * cannot start); stopping after the loop ended, before teardown, whenever started was called.
 */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include "config.h"
#include "vm_control.h"

int vm_run(const struct vm_config *cfg, const struct vm_run_hooks *hooks);

#endif
