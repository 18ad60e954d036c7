/* SPDX-License-Identifier: Apache-2.0 */
#include "i8042.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#define PORT_DATA 0
#define PORT_CMD  4

#define STS_OBF	     0x01
#define STS_SYS	     0x04
#define STS_CMD	     0x08
#define STS_UNLOCKED 0x10
#define STS_AUX_OBF  0x20

struct fixture {
	struct i8042 *k;
	int irq_level, irq_calls, irq_rises;
	unsigned irq_gsi;
	enum vm_stop_reason stops[4];
	int nstops;
};

static void record_irq(void *opaque, unsigned gsi, int level)
{
	struct fixture *f = opaque;

	f->irq_gsi = gsi;
	if (level && !f->irq_level)
		f->irq_rises++;
	f->irq_level = level;
	f->irq_calls++;
}

static void record_stop(void *opaque, enum vm_stop_reason reason)
{
	struct fixture *f = opaque;

	if (f->nstops < 4)
		f->stops[f->nstops] = reason;
	f->nstops++;
}

static void setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->k = i8042_create(1, record_irq, f, record_stop, f);
	cr_assert_not_null(f->k);
}

static uint8_t rd(struct fixture *f, uint64_t port)
{
	uint8_t v = 0xee;

	i8042_io_read(f->k, port, &v, 1);
	return v;
}

static void wr(struct fixture *f, uint64_t port, uint8_t v)
{
	i8042_io_write(f->k, port, &v, 1);
}

static uint8_t status(struct fixture *f)
{
	return rd(f, PORT_CMD);
}

static void expect_bytes(struct fixture *f, const uint8_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cr_assert(status(f) & STS_OBF, "no byte %zu (want %#x)", i, want[i]);
		cr_assert_eq(rd(f, PORT_DATA), want[i], "byte %zu", i);
	}
	cr_assert_eq(status(f) & STS_OBF, 0, "more bytes than expected");
}

Test(i8042, status_after_reset)
{
	struct fixture f;

	setup(&f);
	cr_assert_eq(status(&f) & STS_OBF, 0);
	cr_assert_eq(status(&f) & STS_UNLOCKED, STS_UNLOCKED);
	cr_assert_eq(status(&f) & STS_SYS, STS_SYS);
	cr_assert_eq(rd(&f, PORT_DATA), 0);
	cr_assert_eq(f.irq_calls, 0);
	cr_assert_eq(f.nstops, 0);
	i8042_destroy(f.k);
}

Test(i8042, self_test_and_port_tests)
{
	struct fixture f;
	uint8_t wide[2];

	setup(&f);
	wr(&f, PORT_CMD, 0xaa);
	cr_assert_eq(status(&f) & STS_CMD, STS_CMD);
	cr_assert_eq(status(&f) & (STS_OBF | STS_UNLOCKED), STS_OBF | STS_UNLOCKED);
	memset(wide, 0xff, sizeof(wide));
	i8042_io_read(f.k, PORT_DATA, wide, sizeof(wide));
	cr_assert_eq(wide[0], 0x55);
	cr_assert_eq(wide[1], 0);
	cr_assert_eq(status(&f) & STS_OBF, 0);
	wr(&f, PORT_CMD, 0xab);
	expect_bytes(&f, (const uint8_t[]){0x00}, 1);
	wr(&f, PORT_CMD, 0xa9);
	expect_bytes(&f, (const uint8_t[]){0xff}, 1);
	cr_assert_eq(f.nstops, 0);
	i8042_destroy(f.k);
}

Test(i8042, read_and_write_ctr)
{
	struct fixture f;
	uint8_t ctr;

	setup(&f);
	wr(&f, PORT_CMD, 0x20);
	ctr = rd(&f, PORT_DATA);
	cr_assert_eq(ctr & 0x01, 0x01, "keyboard interrupt enabled after reset");
	cr_assert_eq(ctr & 0x10, 0, "keyboard enabled after reset");
	cr_assert_eq(ctr, 0x65);

	wr(&f, PORT_CMD, 0x60);
	wr(&f, PORT_DATA, 0x44);
	cr_assert_eq(status(&f) & STS_CMD, 0);
	cr_assert_eq(status(&f) & STS_OBF, 0, "writing the CTR answers nothing");
	wr(&f, PORT_CMD, 0x20);
	expect_bytes(&f, (const uint8_t[]){0x44}, 1);

	/* The aux and keyboard enable commands flip their CTR bits. */
	wr(&f, PORT_CMD, 0xa8);
	wr(&f, PORT_CMD, 0xad);
	wr(&f, PORT_CMD, 0x20);
	expect_bytes(&f, (const uint8_t[]){0x54}, 1);
	wr(&f, PORT_CMD, 0xa7);
	wr(&f, PORT_CMD, 0xae);
	wr(&f, PORT_CMD, 0x20);
	expect_bytes(&f, (const uint8_t[]){0x64}, 1);
	/* The data byte after 0x60 was consumed: the next one goes to the keyboard. */
	wr(&f, PORT_DATA, 0xf4);
	expect_bytes(&f, (const uint8_t[]){0xfa}, 1);
	i8042_destroy(f.k);
}

Test(i8042, keyboard_commands)
{
	struct fixture f;

	setup(&f);
	wr(&f, PORT_DATA, 0xff);
	expect_bytes(&f, (const uint8_t[]){0xfa, 0xaa}, 2);
	wr(&f, PORT_DATA, 0xf2);
	expect_bytes(&f, (const uint8_t[]){0xfa, 0xab, 0x83}, 3);
	wr(&f, PORT_DATA, 0xf5);
	expect_bytes(&f, (const uint8_t[]){0xfa}, 1);
	/* Keyboard echo loop (0xd2) and the missing aux port (0xd4). */
	wr(&f, PORT_CMD, 0xd2);
	wr(&f, PORT_DATA, 0x1c);
	expect_bytes(&f, (const uint8_t[]){0x1c}, 1);
	wr(&f, PORT_CMD, 0xd4);
	wr(&f, PORT_DATA, 0xff);
	expect_bytes(&f, (const uint8_t[]){0xfe}, 1);
	cr_assert_eq(f.nstops, 0);
	i8042_destroy(f.k);
}

Test(i8042, queue_overflow_keeps_the_first_bytes)
{
	static const uint8_t id[] = {0xfa, 0xab, 0x83};
	struct fixture f;
	int n = 0;

	setup(&f);
	for (int i = 0; i < 10; i++)
		wr(&f, PORT_DATA, 0xf2); /* 3 bytes each: 30 > 16 */
	while (status(&f) & STS_OBF) {
		uint8_t v = rd(&f, PORT_DATA);

		cr_assert_eq(v, id[n % 3], "byte %d", n);
		n++;
		cr_assert_leq(n, 16);
	}
	cr_assert_eq(n, 16);
	i8042_destroy(f.k);
}

Test(i8042, pulse_reset_line_reboots)
{
	struct fixture f;

	setup(&f);
	wr(&f, PORT_CMD, 0xff); /* pulse nothing */
	wr(&f, PORT_CMD, 0xf1);
	cr_assert_eq(f.nstops, 0);
	wr(&f, PORT_CMD, 0xfe);
	cr_assert_eq(f.nstops, 1);
	cr_assert_eq(f.stops[0], VM_STOP_REBOOT);
	i8042_destroy(f.k);
}

Test(i8042, output_port_write_reboots)
{
	struct fixture f;

	setup(&f);
	wr(&f, PORT_CMD, 0xd1);
	wr(&f, PORT_DATA, 0xdf); /* reset line stays high */
	cr_assert_eq(f.nstops, 0);
	cr_assert_eq(status(&f) & STS_OBF, 0);
	wr(&f, PORT_CMD, 0xd1);
	wr(&f, PORT_DATA, 0xfe);
	cr_assert_eq(f.nstops, 1);
	cr_assert_eq(f.stops[0], VM_STOP_REBOOT);
	/* The pending command is gone: 0xfe now goes to the keyboard, no second reboot. */
	wr(&f, PORT_DATA, 0xfe);
	cr_assert_eq(f.nstops, 1);
	i8042_destroy(f.k);
}

Test(i8042, irq_follows_the_queue)
{
	struct fixture f;

	setup(&f);
	wr(&f, PORT_DATA, 0xff);
	cr_assert_eq(f.irq_level, 1);
	cr_assert_eq(f.irq_gsi, 1);
	cr_assert_eq(f.irq_calls, 1);
	rd(&f, PORT_DATA);
	/* One byte still queued: the edge-triggered line drops and rises for it. */
	cr_assert_eq(f.irq_level, 1, "one byte still queued");
	cr_assert_eq(f.irq_calls, 3);
	rd(&f, PORT_DATA);
	cr_assert_eq(f.irq_level, 0);
	cr_assert_eq(f.irq_calls, 4);
	/* Status reads do not drain. */
	status(&f);
	cr_assert_eq(f.irq_calls, 4);

	/* With CTR bit 0 clear, bytes queue without an interrupt. */
	wr(&f, PORT_CMD, 0x60);
	wr(&f, PORT_DATA, 0x64);
	wr(&f, PORT_DATA, 0xf2);
	cr_assert_eq(f.irq_level, 0);
	cr_assert_eq(f.irq_calls, 4);
	cr_assert_eq(status(&f) & STS_OBF, STS_OBF);
	/* Enabling the interrupt with bytes queued raises it. */
	wr(&f, PORT_CMD, 0x60);
	wr(&f, PORT_DATA, 0x65);
	cr_assert_eq(f.irq_level, 1);
	expect_bytes(&f, (const uint8_t[]){0xfa, 0xab, 0x83}, 3);
	cr_assert_eq(f.irq_level, 0);

	/* A disabled keyboard (0xad) raises nothing either. */
	wr(&f, PORT_CMD, 0xad);
	wr(&f, PORT_CMD, 0xaa);
	cr_assert_eq(f.irq_level, 0);
	wr(&f, PORT_CMD, 0xae);
	cr_assert_eq(f.irq_level, 1);
	cr_assert_eq(rd(&f, PORT_DATA), 0x55);
	cr_assert_eq(f.irq_level, 0);
	i8042_destroy(f.k);
}

/* ---- the keyboard's keystrokes: Ctrl-Alt-Del ---- */

static const uint8_t cad_set1[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
static const uint8_t cad_set2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
				   0x71, 0xf0, 0x11, 0xf0, 0x14};

/* What atkbd does last when it binds: enable scanning (0xf4), then take the ACK. */
static void enable_keyboard(struct fixture *f)
{
	wr(f, PORT_DATA, 0xf4);
	expect_bytes(f, (const uint8_t[]){0xfa}, 1);
}

Test(i8042, ctrl_alt_del_needs_an_enabled_keyboard)
{
	struct fixture f;

	setup(&f);
	/* From power-on the keyboard does not scan until a driver asks. */
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), -ENODEV);
	cr_assert_eq(status(&f) & STS_OBF, 0);
	cr_assert_eq(f.irq_calls, 0);
	enable_keyboard(&f);
	/* Disabled scanning (0xf5), port off (0xad), interrupt off (CTR bit 0): refused. */
	wr(&f, PORT_DATA, 0xf5);
	expect_bytes(&f, (const uint8_t[]){0xfa}, 1);
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), -ENODEV);
	enable_keyboard(&f);
	wr(&f, PORT_CMD, 0xad);
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), -ENODEV);
	wr(&f, PORT_CMD, 0xae);
	wr(&f, PORT_CMD, 0x60);
	wr(&f, PORT_DATA, 0x64);
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), -ENODEV);
	wr(&f, PORT_CMD, 0x60);
	wr(&f, PORT_DATA, 0x65);
	cr_assert_eq(status(&f) & STS_OBF, 0, "nothing queued by a refused sequence");
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), 0);
	expect_bytes(&f, cad_set1, sizeof(cad_set1));
	/* A keyboard reset (0xff) leaves it scanning, as a real one after its self-test. */
	wr(&f, PORT_DATA, 0xff);
	expect_bytes(&f, (const uint8_t[]){0xfa, 0xaa}, 2);
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), 0);
	expect_bytes(&f, cad_set1, sizeof(cad_set1));
	cr_assert_eq(f.nstops, 0);
	i8042_destroy(f.k);
}

Test(i8042, ctrl_alt_del_translated_set1)
{
	struct fixture f;

	setup(&f);
	enable_keyboard(&f);
	f.irq_calls = f.irq_rises = 0;
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), 0);
	cr_assert_eq(f.irq_level, 1);
	cr_assert_eq(f.irq_gsi, 1);
	for (size_t i = 0; i < sizeof(cad_set1); i++) {
		uint8_t st = status(&f);

		cr_assert_eq(st & STS_OBF, STS_OBF, "byte %zu", i);
		cr_assert_eq(st & STS_AUX_OBF, 0, "keyboard bytes are not the mouse's");
		cr_assert_eq(f.irq_level, 1, "IRQ 1 up while byte %zu waits", i);
		cr_assert_eq(rd(&f, PORT_DATA), cad_set1[i], "byte %zu", i);
	}
	cr_assert_eq(status(&f) & STS_OBF, 0);
	cr_assert_eq(f.irq_level, 0, "IRQ 1 down once the buffer is empty");
	/* One rising edge per byte: the driver reads one byte per interrupt. */
	cr_assert_eq(f.irq_rises, (int)sizeof(cad_set1));
	i8042_destroy(f.k);
}

Test(i8042, ctrl_alt_del_untranslated_set2)
{
	struct fixture f;

	setup(&f);
	/* i8042.direct: the driver clears the translation bit (CTR 0x25). */
	wr(&f, PORT_CMD, 0x60);
	wr(&f, PORT_DATA, 0x25);
	enable_keyboard(&f);
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), 0);
	expect_bytes(&f, cad_set2, sizeof(cad_set2));
	i8042_destroy(f.k);
}

Test(i8042, slow_reader_loses_nothing_and_the_queue_is_bounded)
{
	struct fixture f;

	setup(&f);
	enable_keyboard(&f);
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), 0);
	/* 16 bytes of room, 8 used: a second sequence fits, a third does not (all or nothing). */
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), 0);
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), -EAGAIN);
	/* The guest reads slowly, a few bytes at a time with status polls in between. */
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(cad_set1); i++) {
			status(&f);
			cr_assert_eq(rd(&f, PORT_DATA), cad_set1[i], "round %d byte %zu", round, i);
			if (round == 0 && i == 3)
				/* Half read: still no room for 8 more. */
				cr_assert_eq(i8042_send_ctrl_alt_del(f.k), -EAGAIN);
		}
	}
	cr_assert_eq(status(&f) & STS_OBF, 0);
	cr_assert_eq(f.irq_level, 0);
	/* Room again once read. */
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), 0);
	expect_bytes(&f, cad_set1, sizeof(cad_set1));
	i8042_destroy(f.k);
}

Test(i8042, keyboard_command_arguments)
{
	struct fixture f;

	setup(&f);
	/* LEDs (0xed) and typematic rate (0xf3): the argument is acknowledged, not run. */
	wr(&f, PORT_DATA, 0xed);
	wr(&f, PORT_DATA, 0xff); /* an argument, not a reset */
	expect_bytes(&f, (const uint8_t[]){0xfa, 0xfa}, 2);
	wr(&f, PORT_DATA, 0xf3);
	wr(&f, PORT_DATA, 0x00);
	expect_bytes(&f, (const uint8_t[]){0xfa, 0xfa}, 2);
	/* Scan code set: 0xf0 0x00 asks which (2). */
	wr(&f, PORT_DATA, 0xf0);
	wr(&f, PORT_DATA, 0x00);
	expect_bytes(&f, (const uint8_t[]){0xfa, 0xfa, 0x02}, 3);
	wr(&f, PORT_DATA, 0xf0);
	wr(&f, PORT_DATA, 0x02);
	expect_bytes(&f, (const uint8_t[]){0xfa, 0xfa}, 2);
	/* The argument of 0xed was not a keyboard reset: scanning is still off. */
	cr_assert_eq(i8042_send_ctrl_alt_del(f.k), -ENODEV);
	i8042_destroy(f.k);
}
