/* SPDX-License-Identifier: Apache-2.0 */
#include "serial_8250.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

enum {
	UART_RX_TX = 0,
	UART_IER = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define IER_RDI	     0x01
#define IER_THRI     0x02
#define IIR_NO_INT   0x01
#define IIR_THRI     0x02
#define IIR_RDI	     0x04
#define IIR_FIFO_ON  0xc0
#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB     0x80
#define MCR_LOOP     0x10
#define LSR_DR	     0x01
#define LSR_THRE     0x20
#define LSR_TEMT     0x40
#define MSR_CTS	     0x10
#define MSR_DSR	     0x20
#define MSR_RI	     0x40
#define MSR_DCD	     0x80
#define RX_FIFO_SIZE 64

struct serial_8250 {
	pthread_mutex_t lock; /* the registers and the FIFO; never held across a write(2) */
	int out_fd;
	const atomic_int *stop; /* non-zero once the VM is stopping; NULL: never */
	unsigned gsi;
	irq_line_fn irq;
	void *irq_opaque;
	void (*rx_ready)(void *opaque);
	void *rx_opaque;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thre_pending;
	int irq_level;
	uint8_t rx[RX_FIFO_SIZE];
	unsigned rx_head, rx_count;
};

struct serial_8250 *serial_create(int out_fd, unsigned gsi, irq_line_fn irq, void *irq_opaque,
				  void (*rx_ready)(void *opaque), void *rx_opaque)
{
	struct serial_8250 *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->gsi = gsi;
	s->irq = irq;
	s->irq_opaque = irq_opaque;
	s->rx_ready = rx_ready;
	s->rx_opaque = rx_opaque;
	s->dll = 0x0c; /* 9600 baud, as after a PC reset */
	return s;
}

void serial_set_stop(struct serial_8250 *s, const atomic_int *stop)
{
	s->stop = stop;
}

void serial_destroy(struct serial_8250 *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static uint8_t serial_iir(const struct serial_8250 *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thre_pending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

/* Called with the lock held, after any state change. */
static void serial_update_irq(struct serial_8250 *s)
{
	int level = !(serial_iir(s) & IIR_NO_INT);

	if (level != s->irq_level) {
		s->irq_level = level;
		s->irq(s->irq_opaque, s->gsi, level);
	}
}

static void rx_push(struct serial_8250 *s, uint8_t c)
{
	if (s->rx_count == RX_FIFO_SIZE)
		return; /* overrun: a real UART drops the byte too */
	s->rx[(s->rx_head + s->rx_count) % RX_FIFO_SIZE] = c;
	s->rx_count++;
}

/*
 * Sends one byte of guest output, called without the lock. The write blocks: a slow reader of
 * the console slows the guest rather than losing output. A stop request must still end it, or
 * a stdout nobody reads makes ember unstoppable: the main thread sets the stop flag and then
 * signals each vCPU (vcpu_kick, again and again until the thread ends: vcpu_join), the signal
 * interrupts the write (EINTR, no SA_RESTART), and the byte is given up. An EINTR for any other
 * reason keeps waiting. Without the lock held, the main thread's console input and the other
 * vCPUs' register accesses go on while this vCPU waits.
 */
static void transmit(struct serial_8250 *s, uint8_t c)
{
	while (write(s->out_fd, &c, 1) < 0 && errno == EINTR)
		if (s->stop && atomic_load(s->stop))
			return;
}

static uint8_t serial_read_reg(struct serial_8250 *s, uint64_t reg, bool *drained)
{
	uint8_t v;

	switch (reg) {
	case UART_RX_TX:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (!s->rx_count)
			return 0;
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
		s->rx_count--;
		*drained = s->rx_count == 0;
		return v;
	case UART_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR_FCR:
		v = serial_iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thre_pending = false; /* reading IIR acknowledges THRE */
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return (s->rx_count ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
	case UART_MSR:
		if (s->mcr & MCR_LOOP)
			return (uint8_t)(((s->mcr & 0x01) ? MSR_DSR : 0) |
					 ((s->mcr & 0x02) ? MSR_CTS : 0) |
					 ((s->mcr & 0x04) ? MSR_RI : 0) |
					 ((s->mcr & 0x08) ? MSR_DCD : 0));
		return MSR_DCD | MSR_DSR | MSR_CTS;
	default:
		return s->scr;
	}
}

/*
 * Returns true when the write emptied a receive FIFO that held input. *tx is set when the
 * caller must transmit v (after dropping the lock) and then mark the holding register empty.
 */
static bool serial_write_reg(struct serial_8250 *s, uint64_t reg, uint8_t v, bool *tx)
{
	switch (reg) {
	case UART_RX_TX:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return false;
		}
		if (s->mcr & MCR_LOOP) {
			rx_push(s, v);
			s->thre_pending = true;
		} else {
			*tx = true;
		}
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return false;
		}
		/* Enabling THRI while the holder is empty raises it at once, as on a 16550. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thre_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_IIR_FCR:
		s->fcr = v;
		if ((v & FCR_CLEAR_RX) && s->rx_count) {
			s->rx_count = 0;
			return true;
		}
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		break; /* LSR and MSR are read-only */
	}
	return false;
}

void serial_io_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct serial_8250 *s = opaque;
	uint8_t *out = data;
	bool drained = false;

	pthread_mutex_lock(&s->lock);
	out[0] = serial_read_reg(s, offset, &drained);
	for (uint32_t i = 1; i < len; i++)
		out[i] = 0;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (drained && s->rx_ready)
		s->rx_ready(s->rx_opaque);
}

void serial_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct serial_8250 *s = opaque;
	uint8_t v = *(const uint8_t *)data;
	bool drained, tx = false;

	(void)len;
	pthread_mutex_lock(&s->lock);
	drained = serial_write_reg(s, offset, v, &tx);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (tx) {
		transmit(s, v);
		/*
		 * THRE once the byte is out, as on a 16550: a driver that sends the next byte from
		 * its THRE interrupt on another vCPU cannot overtake this one.
		 */
		pthread_mutex_lock(&s->lock);
		s->thre_pending = true;
		serial_update_irq(s);
		pthread_mutex_unlock(&s->lock);
	}
	if (drained && s->rx_ready)
		s->rx_ready(s->rx_opaque);
}

size_t serial_rx_space(struct serial_8250 *s)
{
	size_t space;

	pthread_mutex_lock(&s->lock);
	space = RX_FIFO_SIZE - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return space;
}

size_t serial_receive(struct serial_8250 *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_count < RX_FIFO_SIZE)
		rx_push(s, buf[n++]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}
