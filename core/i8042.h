/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal i8042 keyboard controller: enough for Linux's i8042 and atkbd drivers to probe it
 * without delays, and the controller's reset line (command 0xFE), which `reboot` uses.
 * There is no keyboard input. Bus handlers run on vCPU threads; a mutex serialises them.
 */
#ifndef EMBER_I8042_H
#define EMBER_I8042_H

#include "vm_stop.h"

#include <stdint.h>

struct i8042;

struct i8042 *i8042_create(unsigned gsi, irq_line_fn irq, void *irq_opaque, vm_stop_fn stop,
			   void *stop_opaque);
void i8042_destroy(struct i8042 *k);

/* Port handlers: the region covers ports 0x60-0x64; offsets 0 (data) and 4 (command/status). */
void i8042_io_read(void *k, uint64_t offset, void *data, uint32_t len);
void i8042_io_write(void *k, uint64_t offset, const void *data, uint32_t len);

#endif
