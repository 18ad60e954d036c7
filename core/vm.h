/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One VM from a validated config: builds it (KVM, RAM, boot, ACPI, devices), runs it until
 * something stops it, tears it down, and returns the process exit status (enum ember_exit).
 * Called on the main thread, which then runs the event loop; one thread per vCPU.
 */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include "config.h"

int vm_run(const struct vm_config *cfg);

#endif
