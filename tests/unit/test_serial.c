/* SPDX-License-Identifier: Apache-2.0 */
#include "serial_8250.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define REG_DATA 0
#define REG_IER	 1
#define REG_IIR	 2
#define REG_FCR	 2
#define REG_LCR	 3
#define REG_MCR	 4
#define REG_LSR	 5
#define REG_MSR	 6
#define REG_SCR	 7

#define LSR_DR	 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

struct fake_irq {
	unsigned gsi;
	int level;
	int calls;
};

struct fixture {
	int pipe[2];
	struct fake_irq irq;
	int rx_ready;
	struct serial_8250 *s;
};

static void record_irq(void *opaque, unsigned gsi, int level)
{
	struct fake_irq *irq = opaque;

	irq->gsi = gsi;
	irq->level = level;
	irq->calls++;
}

static void record_rx_ready(void *opaque)
{
	(*(int *)opaque)++;
}

static void setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	cr_assert_eq(pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC), 0);
	f->s = serial_create(f->pipe[1], 4, record_irq, &f->irq, record_rx_ready, &f->rx_ready);
	cr_assert_not_null(f->s);
}

static void teardown(struct fixture *f)
{
	serial_destroy(f->s);
	close(f->pipe[0]);
	close(f->pipe[1]);
}

static uint8_t rd(struct fixture *f, uint64_t reg)
{
	uint8_t v = 0xee;

	serial_io_read(f->s, reg, &v, 1);
	return v;
}

static void wr(struct fixture *f, uint64_t reg, uint8_t v)
{
	serial_io_write(f->s, reg, &v, 1);
}

/* What the UART wrote to its fd so far. */
static size_t drain_pipe(struct fixture *f, char *buf, size_t len)
{
	ssize_t n = read(f->pipe[0], buf, len);

	return n < 0 ? 0 : (size_t)n;
}

Test(serial, transmit_reaches_the_fd)
{
	struct fixture f;
	char out[16];
	const char *msg = "hi\n";

	setup(&f);
	for (const char *p = msg; *p; p++)
		wr(&f, REG_DATA, (uint8_t)*p);
	cr_assert_eq(drain_pipe(&f, out, sizeof(out)), 3);
	cr_assert_arr_eq(out, msg, 3);
	cr_assert_eq(rd(&f, REG_LSR), LSR_THRE | LSR_TEMT);
	/* No interrupt was enabled: the line never moved. */
	cr_assert_eq(f.irq.calls, 0);
	teardown(&f);
}

Test(serial, scratch_and_wide_reads)
{
	struct fixture f;
	uint8_t wide[4];

	setup(&f);
	wr(&f, REG_SCR, 0x5a);
	cr_assert_eq(rd(&f, REG_SCR), 0x5a);
	wr(&f, REG_SCR, 0xa5);
	cr_assert_eq(rd(&f, REG_SCR), 0xa5);
	wr(&f, REG_LCR, 0x03);
	cr_assert_eq(rd(&f, REG_LCR), 0x03);
	memset(wide, 0xff, sizeof(wide));
	serial_io_read(f.s, REG_SCR, wide, sizeof(wide));
	cr_assert_eq(wide[0], 0xa5);
	cr_assert_eq(wide[1], 0);
	cr_assert_eq(wide[3], 0);
	teardown(&f);
}

Test(serial, dlab_selects_the_divisor)
{
	struct fixture f;
	char out[4];

	setup(&f);
	wr(&f, REG_IER, 0x00);
	wr(&f, REG_LCR, 0x83);
	cr_assert_eq(rd(&f, REG_DATA), 0x0c, "divisor after reset is 12 (9600 baud)");
	cr_assert_eq(rd(&f, REG_IER), 0x00);
	wr(&f, REG_DATA, 0x01);
	wr(&f, REG_IER, 0x02);
	cr_assert_eq(rd(&f, REG_DATA), 0x01);
	cr_assert_eq(rd(&f, REG_IER), 0x02);
	/* Nothing was transmitted, and the interrupt enables did not change. */
	cr_assert_eq(drain_pipe(&f, out, sizeof(out)), 0);
	cr_assert_eq(f.irq.calls, 0);
	wr(&f, REG_LCR, 0x03);
	cr_assert_eq(rd(&f, REG_IER), 0x00);
	wr(&f, REG_DATA, 'z');
	cr_assert_eq(drain_pipe(&f, out, sizeof(out)), 1);
	cr_assert_eq(out[0], 'z');
	/* The divisor survives. */
	wr(&f, REG_LCR, 0x83);
	cr_assert_eq(rd(&f, REG_DATA), 0x01);
	cr_assert_eq(rd(&f, REG_IER), 0x02);
	teardown(&f);
}

Test(serial, loopback_echoes_and_mirrors_modem_lines)
{
	struct fixture f;
	char out[4];

	setup(&f);
	/* Outside loopback, the modem lines read as a connected terminal. */
	cr_assert_eq(rd(&f, REG_MSR), 0xb0);
	wr(&f, REG_MCR, 0x10);
	cr_assert_eq(rd(&f, REG_MSR), 0x00);
	wr(&f, REG_MCR, 0x11); /* DTR -> DSR */
	cr_assert_eq(rd(&f, REG_MSR), 0x20);
	wr(&f, REG_MCR, 0x12); /* RTS -> CTS */
	cr_assert_eq(rd(&f, REG_MSR), 0x10);
	wr(&f, REG_MCR, 0x14); /* OUT1 -> RI */
	cr_assert_eq(rd(&f, REG_MSR), 0x40);
	wr(&f, REG_MCR, 0x18); /* OUT2 -> DCD */
	cr_assert_eq(rd(&f, REG_MSR), 0x80);
	wr(&f, REG_MCR, 0x1f);
	cr_assert_eq(rd(&f, REG_MSR), 0xf0);
	cr_assert_eq(rd(&f, REG_MCR), 0x1f);

	wr(&f, REG_DATA, 0x42);
	wr(&f, REG_DATA, 0x43);
	cr_assert_eq(drain_pipe(&f, out, sizeof(out)), 0, "loopback leaked to the fd");
	cr_assert_eq(rd(&f, REG_LSR) & LSR_DR, LSR_DR);
	cr_assert_eq(rd(&f, REG_DATA), 0x42);
	cr_assert_eq(rd(&f, REG_DATA), 0x43);
	cr_assert_eq(rd(&f, REG_LSR) & LSR_DR, 0);

	wr(&f, REG_MCR, 0x0b);
	wr(&f, REG_DATA, 0x44);
	cr_assert_eq(drain_pipe(&f, out, sizeof(out)), 1);
	cr_assert_eq(out[0], 0x44);
	cr_assert_eq(rd(&f, REG_LSR) & LSR_DR, 0);
	teardown(&f);
}

Test(serial, thri_raises_and_iir_read_acknowledges)
{
	struct fixture f;

	setup(&f);
	cr_assert_eq(rd(&f, REG_IIR), 0x01);
	wr(&f, REG_IER, 0x02);
	cr_assert_eq(f.irq.calls, 1);
	cr_assert_eq(f.irq.level, 1);
	cr_assert_eq(f.irq.gsi, 4);
	cr_assert_eq(rd(&f, REG_IIR), 0x02);
	cr_assert_eq(f.irq.level, 0);
	cr_assert_eq(f.irq.calls, 2);
	cr_assert_eq(rd(&f, REG_IIR), 0x01);
	cr_assert_eq(f.irq.calls, 2);

	/* With the FIFO enabled, IIR carries 0xc0; each transmit re-arms THRE. */
	wr(&f, REG_FCR, 0x01);
	cr_assert_eq(rd(&f, REG_IIR), 0xc1);
	wr(&f, REG_DATA, 'a');
	cr_assert_eq(f.irq.level, 1);
	cr_assert_eq(rd(&f, REG_IIR), 0xc2);
	cr_assert_eq(f.irq.level, 0);
	cr_assert_eq(rd(&f, REG_IIR), 0xc1);

	/* Re-writing IER with THRI already on does not raise it again. */
	wr(&f, REG_IER, 0x02);
	cr_assert_eq(f.irq.level, 0);
	/* Disabling THRI drops a pending one. */
	wr(&f, REG_DATA, 'b');
	cr_assert_eq(f.irq.level, 1);
	wr(&f, REG_IER, 0x00);
	cr_assert_eq(f.irq.level, 0);
	teardown(&f);
}

Test(serial, receive_raises_rdi_and_drains)
{
	struct fixture f;
	const uint8_t in[] = {'a', 'b', 'c'};

	setup(&f);
	cr_assert_eq(serial_rx_space(f.s), 64);
	/* Without IER bit 0, input is queued silently. */
	cr_assert_eq(serial_receive(f.s, in, 1), 1);
	cr_assert_eq(f.irq.calls, 0);
	cr_assert_eq(rd(&f, REG_LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	cr_assert_eq(rd(&f, REG_DATA), 'a');
	cr_assert_eq(f.rx_ready, 1);
	cr_assert_eq(rd(&f, REG_DATA), 0, "an empty RBR reads 0");
	cr_assert_eq(f.rx_ready, 1, "rx_ready fired without anything drained");

	wr(&f, REG_IER, 0x01);
	cr_assert_eq(f.irq.calls, 0);
	cr_assert_eq(serial_receive(f.s, in, sizeof(in)), sizeof(in));
	cr_assert_eq(serial_rx_space(f.s), 61);
	cr_assert_eq(f.irq.level, 1);
	cr_assert_eq(rd(&f, REG_IIR), 0x04);
	cr_assert_eq(rd(&f, REG_LSR) & LSR_DR, LSR_DR);
	cr_assert_eq(rd(&f, REG_DATA), 'a');
	cr_assert_eq(rd(&f, REG_DATA), 'b');
	cr_assert_eq(f.rx_ready, 1, "rx_ready before the FIFO drained");
	cr_assert_eq(f.irq.level, 1);
	cr_assert_eq(rd(&f, REG_DATA), 'c');
	cr_assert_eq(f.rx_ready, 2);
	cr_assert_eq(f.irq.level, 0);
	cr_assert_eq(rd(&f, REG_LSR) & LSR_DR, 0);
	cr_assert_eq(rd(&f, REG_IIR), 0x01);
	cr_assert_eq(serial_rx_space(f.s), 64);
	teardown(&f);
}

Test(serial, rdi_takes_priority_over_thri)
{
	struct fixture f;
	const uint8_t in = 'q';

	setup(&f);
	wr(&f, REG_IER, 0x03);
	cr_assert_eq(serial_receive(f.s, &in, 1), 1);
	cr_assert_eq(rd(&f, REG_IIR), 0x04);
	/* Reading IIR while RDI shows did not acknowledge THRE. */
	cr_assert_eq(rd(&f, REG_DATA), 'q');
	cr_assert_eq(f.irq.level, 1);
	cr_assert_eq(rd(&f, REG_IIR), 0x02);
	cr_assert_eq(f.irq.level, 0);
	teardown(&f);
}

Test(serial, fifo_capacity_and_overrun)
{
	struct fixture f;
	uint8_t in[100];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i + 1);
	setup(&f);
	cr_assert_eq(serial_rx_space(f.s), 64);
	cr_assert_eq(serial_receive(f.s, in, 10), 10);
	cr_assert_eq(serial_rx_space(f.s), 54);
	cr_assert_eq(serial_receive(f.s, in + 10, 90), 54, "a full FIFO must take fewer bytes");
	cr_assert_eq(serial_rx_space(f.s), 0);
	cr_assert_eq(serial_receive(f.s, in + 64, 36), 0);
	cr_assert_eq(serial_rx_space(f.s), 0);
	/* Loopback into a full FIFO drops the byte. */
	wr(&f, REG_MCR, 0x10);
	wr(&f, REG_DATA, 0xee);
	wr(&f, REG_MCR, 0x00);
	cr_assert_eq(rd(&f, REG_DATA), 1);
	cr_assert_eq(serial_rx_space(f.s), 1);
	cr_assert_eq(serial_receive(f.s, in + 64, 36), 1);
	cr_assert_eq(serial_rx_space(f.s), 0);
	/* FIFO order survives the wrap-around. */
	for (size_t i = 1; i < 65; i++)
		cr_assert_eq(rd(&f, REG_DATA), in[i], "byte %zu", i);
	cr_assert_eq(rd(&f, REG_LSR) & LSR_DR, 0);
	cr_assert_eq(f.rx_ready, 1);
	cr_assert_eq(serial_rx_space(f.s), 64);
	teardown(&f);
}

/*
 * The console stops reading stdin while the FIFO is full and resumes on rx_ready. A guest that
 * empties the FIFO through FCR (Linux does so when it opens the port) must get input again.
 */
Test(serial, fcr_clear_empties_the_fifo_and_signals_rx_ready)
{
	struct fixture f;
	uint8_t in[64];

	memset(in, 'k', sizeof(in));
	setup(&f);
	wr(&f, REG_IER, 0x01);
	cr_assert_eq(serial_receive(f.s, in, sizeof(in)), 64);
	cr_assert_eq(serial_rx_space(f.s), 0);
	cr_assert_eq(f.irq.level, 1);
	wr(&f, REG_FCR, 0x03);
	cr_assert_eq(serial_rx_space(f.s), 64);
	cr_assert_eq(rd(&f, REG_LSR) & LSR_DR, 0);
	cr_assert_eq(f.irq.level, 0);
	cr_assert_eq(f.rx_ready, 1,
		     "FCR cleared a full FIFO but rx_ready never fired: input stalls");
	teardown(&f);
}
