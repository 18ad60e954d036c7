/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal i8042 keyboard controller: enough for Linux's i8042 and atkbd drivers to probe it
 * without delays, the controller's reset line (command 0xFE), which `reboot` uses, and one
 * keystroke sequence from the host: Ctrl-Alt-Del.
 *
 * Output buffer: the controller's replies and the keyboard's bytes share one queue of 16 bytes,
 * read one at a time from port 0x60 (status bit 0 says a byte waits). IRQ 1 is high while a
 * byte waits, the keyboard interrupt is enabled (CTR bit 0) and the port is on (CTR bit 4
 * clear); after each read that leaves bytes queued it drops and rises again, so that the
 * edge-triggered line interrupts once per byte. The keyboard speaks scan code set 2; with CTR
 * bit 6 (translation, on from reset, as PC firmware leaves it) the controller turns that into
 * set 1, as Linux's atkbd then expects. No mouse.
 *
 * Threads: the port handlers run on vCPU threads, i8042_send_ctrl_alt_del on any thread; a
 * mutex serialises them. The irq and stop callbacks are called with it held.
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

/*
 * Queues Ctrl, Alt and Delete pressed and released (set 2: 14 11 e0 71 e0 f0 71 f0 11 f0 14;
 * translated: 1d 38 e0 53 e0 d3 b8 9d) and raises IRQ 1. All or nothing. Returns 0; -ENODEV
 * while no driver listens: the guest has not enabled the keyboard (command 0xf4; a reset 0xff
 * also enables it, 0xf5 disables it), or it turned the port (0xad) or its interrupt (CTR bit 0)
 * off; -EAGAIN when the queue has no room for the whole sequence (the guest has not read the
 * previous one yet).
 */
int i8042_send_ctrl_alt_del(struct i8042 *k);

#endif
