/* SPDX-License-Identifier: Apache-2.0 */
#include "serial_8250.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
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

/*
 * Console output with back-pressure: stdout is a pipe nobody reads. The vCPU writing THR
 * blocks (no byte is dropped), but it must hold no UART lock meanwhile (the main thread's
 * console input and other vCPUs go on), and a stop request (the stop flag, then the vCPU kick
 * signal) must end the write within milliseconds, or SIGTERM hangs ember.
 */
static void kick_handler(int sig)
{
	(void)sig;
}

struct blocked {
	int pipe[2];
	struct fake_irq irq;
	atomic_int stop;
	struct serial_8250 *s;
	pthread_t writer;
	atomic_bool done;
};

static void blocked_setup(struct blocked *b)
{
	struct sigaction sa;
	char junk[4096];
	int flags;

	memset(b, 0, sizeof(*b));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART, as vcpu_signals_init */
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	cr_assert_eq(pipe2(b->pipe, O_CLOEXEC), 0);
	/* One page, then full: the next write blocks. */
	(void)fcntl(b->pipe[1], F_SETPIPE_SZ, 4096);
	flags = fcntl(b->pipe[1], F_GETFL);
	cr_assert_eq(fcntl(b->pipe[1], F_SETFL, flags | O_NONBLOCK), 0);
	memset(junk, '.', sizeof(junk));
	while (write(b->pipe[1], junk, sizeof(junk)) > 0 || errno == EINTR)
		;
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(fcntl(b->pipe[1], F_SETFL, flags), 0);
	atomic_init(&b->stop, 0);
	atomic_init(&b->done, false);
	b->s = serial_create(b->pipe[1], 4, record_irq, &b->irq, NULL, NULL);
	cr_assert_not_null(b->s);
	serial_set_stop(b->s, &b->stop);
}

static void *write_thr(void *arg)
{
	struct blocked *b = arg;
	uint8_t c = 'x';

	serial_io_write(b->s, REG_DATA, &c, 1);
	atomic_store(&b->done, true);
	return NULL;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Starts the writer and checks that it blocks (back-pressure: the byte waits, not dropped). */
static void start_blocked_writer(struct blocked *b)
{
	cr_assert_eq(pthread_create(&b->writer, NULL, write_thr, b), 0);
	usleep(50 * 1000);
	cr_assert_not(atomic_load(&b->done), "a THR write to a full pipe did not block");
}

/*
 * Joins the writer, kicking it like vcpu_join does (the signal may land before it enters
 * write(2)); fails unless it returns within limit_ms.
 */
static void join_kicking(struct blocked *b, double limit_ms)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!atomic_load(&b->done) && ms_since(&t0) < limit_ms) {
		pthread_kill(b->writer, SIGUSR1);
		usleep(5 * 1000);
	}
	cr_assert(atomic_load(&b->done),
		  "the blocked THR write ignored the stop request for %.0f ms", ms_since(&t0));
	pthread_join(b->writer, NULL);
}

struct timed_call {
	struct blocked *b;
	atomic_bool done;
	size_t space;
	uint8_t scr;
};

static void *console_input(void *arg)
{
	struct timed_call *c = arg;
	const uint8_t in = 'i';

	/* What the main thread's console handler and another vCPU do meanwhile. */
	c->space = serial_rx_space(c->b->s);
	serial_receive(c->b->s, &in, 1);
	serial_io_read(c->b->s, REG_SCR, &c->scr, 1);
	atomic_store(&c->done, true);
	return NULL;
}

Test(serial, blocked_transmit_holds_no_uart_lock)
{
	struct blocked b;
	struct timed_call c = {.b = &b};
	struct timespec t0;
	pthread_t t;

	blocked_setup(&b);
	start_blocked_writer(&b);
	atomic_init(&c.done, false);
	cr_assert_eq(pthread_create(&t, NULL, console_input, &c), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!atomic_load(&c.done) && ms_since(&t0) < 1000)
		usleep(1000);
	cr_assert(atomic_load(&c.done),
		  "console input blocked on the UART lock while a transmit waited on stdout");
	pthread_join(t, NULL);
	cr_assert_eq(c.space, 64);
	cr_assert_not(atomic_load(&b.done), "the transmit gave up without a stop request");
	atomic_store(&b.stop, 1);
	join_kicking(&b, 1000);
	serial_destroy(b.s);
	close(b.pipe[0]);
	close(b.pipe[1]);
}

Test(serial, stop_request_ends_a_blocked_transmit)
{
	struct blocked b;
	struct timespec t0;
	char buf[4096];
	ssize_t n;

	blocked_setup(&b);
	start_blocked_writer(&b);
	/* A kick without a stop request (a signal for another reason) keeps waiting. */
	pthread_kill(b.writer, SIGUSR1);
	usleep(20 * 1000);
	cr_assert_not(atomic_load(&b.done), "an EINTR without a stop request dropped the byte");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&b.stop, 1);
	join_kicking(&b, 500);
	cr_log_info("blocked transmit ended %.2f ms after the stop request", ms_since(&t0));
	/* The UART still works: the next transmit that fits goes out, stopping or not. */
	n = read(b.pipe[0], buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(write_thr(&b), NULL);
	n = read(b.pipe[0], buf, sizeof(buf));
	cr_assert_eq(n, 1, "a transmit that fits was dropped while stopping");
	cr_assert_eq(buf[0], 'x');
	serial_destroy(b.s);
	close(b.pipe[0]);
	close(b.pipe[1]);
}
