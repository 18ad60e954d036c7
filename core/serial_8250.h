/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A 16550A-compatible UART (COM1): transmit goes to an fd (ember's stdout), receive comes
 * from the main thread (ember's stdin when it is a terminal).
 *
 * Threads: serial_io_read/serial_io_write run on vCPU threads (bus handlers), serial_receive
 * and serial_rx_space on the main thread; a mutex inside serialises them. The mutex is never
 * held while a byte is written to out_fd: a THR write blocks its vCPU on a full out_fd
 * (back-pressure, nothing is dropped) but never the main thread or the other vCPUs.
 */
#ifndef EMBER_SERIAL_8250_H
#define EMBER_SERIAL_8250_H

#include "vm_stop.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct serial_8250;

/*
 * out_fd is borrowed. irq is called with the UART's interrupt level whenever it changes.
 * rx_ready is called (from a vCPU thread) when the receive FIFO drained and more input is
 * welcome; it may be NULL.
 */
struct serial_8250 *serial_create(int out_fd, unsigned gsi, irq_line_fn irq, void *irq_opaque,
				  void (*rx_ready)(void *opaque), void *rx_opaque);
void serial_destroy(struct serial_8250 *s);

/*
 * The VM's stop flag (vm->stop_reason: non-zero once a stop was requested), borrowed: it must
 * outlive s. Call on the main thread before any vCPU runs. A THR write blocked on a full
 * out_fd gives its byte up when a signal interrupts it (EINTR) and *stop is set; the stopping
 * thread must signal the writer after setting *stop, and again until it returns (vcpu_join
 * does). Without a flag (NULL, the default) a blocked write waits for room however long.
 */
void serial_set_stop(struct serial_8250 *s, const atomic_int *stop);

void serial_io_read(void *s, uint64_t offset, void *data, uint32_t len);
void serial_io_write(void *s, uint64_t offset, const void *data, uint32_t len);

/* Free bytes in the receive FIFO. */
size_t serial_rx_space(struct serial_8250 *s);
/* Queues up to len bytes of input; returns how many were taken. */
size_t serial_receive(struct serial_8250 *s, const uint8_t *buf, size_t len);

#endif
