/* SPDX-License-Identifier: Apache-2.0 */
#include "i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PORT_DATA 0
#define PORT_CMD  4

#define STS_OBF	     0x01
#define STS_SYS	     0x04
#define STS_CMD	     0x08
#define STS_UNLOCKED 0x10 /* keyboard not inhibited by the keylock */
#define STS_AUX_OBF  0x20

#define CTR_KBD_INT 0x01
#define CTR_SYS	    0x04
#define CTR_KBD_OFF 0x10
#define CTR_AUX_OFF 0x20
#define CTR_XLATE   0x40

#define CMD_READ_CTR   0x20
#define CMD_WRITE_CTR  0x60
#define CMD_AUX_OFF    0xa7
#define CMD_AUX_ON     0xa8
#define CMD_AUX_TEST   0xa9
#define CMD_SELF_TEST  0xaa
#define CMD_KBD_TEST   0xab
#define CMD_KBD_OFF    0xad
#define CMD_KBD_ON     0xae
#define CMD_WRITE_OUT  0xd1
#define CMD_KBD_LOOP   0xd2
#define CMD_AUX_LOOP   0xd3
#define CMD_AUX_SEND   0xd4
#define CMD_PULSE_BASE 0xf0

#define KBD_SET_LEDS	 0xed
#define KBD_SCANSET	 0xf0
#define KBD_GET_ID	 0xf2
#define KBD_SET_RATE	 0xf3
#define KBD_ENABLE	 0xf4
#define KBD_DISABLE	 0xf5
#define KBD_SET_DEFAULTS 0xf6
#define KBD_ACK		 0xfa
#define KBD_RESEND	 0xfe
#define KBD_RESET	 0xff
#define KBD_SELF_OK	 0xaa
#define QUEUE_SIZE	 16

/* Scan code set 2, what the emulated keyboard sends before the controller translates it. */
#define SET2_EXTENDED 0xe0
#define SET2_BREAK    0xf0
#define SET2_LCTRL    0x14
#define SET2_LALT     0x11
#define SET2_DELETE   0x71 /* after SET2_EXTENDED */

struct i8042 {
	pthread_mutex_t lock;
	unsigned gsi;
	irq_line_fn irq;
	void *irq_opaque;
	vm_stop_fn stop;
	void *stop_opaque;
	uint8_t ctr;
	uint8_t status;
	uint8_t pending_cmd; /* a command waiting for its data byte, or 0 */
	uint8_t pending_kbd; /* a keyboard command waiting for its argument byte, or 0 */
	bool scanning;	     /* the keyboard sends keystrokes (the guest sent it 0xf4) */
	uint8_t queue[QUEUE_SIZE];
	unsigned head, count;
	int irq_level;
};

struct i8042 *i8042_create(unsigned gsi, irq_line_fn irq, void *irq_opaque, vm_stop_fn stop,
			   void *stop_opaque)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	pthread_mutex_init(&k->lock, NULL);
	k->gsi = gsi;
	k->irq = irq;
	k->irq_opaque = irq_opaque;
	k->stop = stop;
	k->stop_opaque = stop_opaque;
	k->ctr = CTR_KBD_INT | CTR_SYS | CTR_AUX_OFF | CTR_XLATE;
	k->status = STS_SYS | STS_UNLOCKED;
	return k;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static void push(struct i8042 *k, uint8_t v)
{
	if (k->count == QUEUE_SIZE)
		return;
	k->queue[(k->head + k->count) % QUEUE_SIZE] = v;
	k->count++;
}

static unsigned room(const struct i8042 *k)
{
	return QUEUE_SIZE - k->count;
}

/*
 * Whether a keystroke would reach a driver: the keyboard scans (a driver sent it 0xf4; unlike
 * a real keyboard it does not scan from power-on, so no keystroke can be taken for the reply
 * to a probe), its port is on and its interrupt enabled.
 */
static bool keyboard_ready(const struct i8042 *k)
{
	return k->scanning && !(k->ctr & CTR_KBD_OFF) && (k->ctr & CTR_KBD_INT);
}

/*
 * The keyboard's interrupt line follows the output buffer: high while a byte waits. Linux's
 * i8042 driver reads one byte per interrupt and IRQ 1 is edge-triggered, so when the guest
 * takes a byte and another is already queued the line drops and rises again (`pulse`), as a
 * real controller's does when it loads the next byte: a line left high would give no new edge
 * and the rest of the queue would wait for good.
 */
static void set_irq(struct i8042 *k, bool pulse)
{
	int level = k->count && (k->ctr & CTR_KBD_INT) && !(k->ctr & CTR_KBD_OFF);

	if (pulse && level && k->irq_level) {
		k->irq(k->irq_opaque, k->gsi, 0);
		k->irq(k->irq_opaque, k->gsi, 1);
		return;
	}
	if (level != k->irq_level) {
		k->irq_level = level;
		k->irq(k->irq_opaque, k->gsi, level);
	}
}

static void update_irq(struct i8042 *k)
{
	set_irq(k, false);
}

/* The argument byte of a keyboard command that takes one (LEDs, scan code set, rate). */
static void keyboard_argument(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	push(k, KBD_ACK);
	/*
	 * 0xf0 0x00 asks for the current set: always 2, untranslated (a real controller would
	 * translate the reply too; Linux asks only with translation off).
	 */
	if (cmd == KBD_SCANSET && v == 0)
		push(k, 0x02);
}

/* A byte sent to the keyboard itself: answer as a plain AT keyboard would. */
static void keyboard_command(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_kbd;

	k->pending_kbd = 0;
	if (cmd) {
		keyboard_argument(k, cmd, v);
		return;
	}
	switch (v) {
	case KBD_RESET:
		/* A keyboard scans again after its self-test. */
		k->scanning = true;
		push(k, KBD_ACK);
		push(k, KBD_SELF_OK);
		break;
	case KBD_GET_ID:
		push(k, KBD_ACK);
		push(k, 0xab);
		push(k, 0x83);
		break;
	case KBD_ENABLE:
		k->scanning = true;
		push(k, KBD_ACK);
		break;
	case KBD_DISABLE:
		k->scanning = false;
		push(k, KBD_ACK);
		break;
	case KBD_SET_LEDS:
	case KBD_SCANSET:
	case KBD_SET_RATE:
		k->pending_kbd = v;
		push(k, KBD_ACK);
		break;
	default: /* KBD_SET_DEFAULTS and the rest: nothing to change here */
		push(k, KBD_ACK);
		break;
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		break;
	case CMD_WRITE_OUT:
		if (!(v & 0x01))
			k->stop(k->stop_opaque, VM_STOP_REBOOT);
		break;
	case CMD_KBD_LOOP:
		push(k, v);
		break;
	case CMD_AUX_LOOP:
	case CMD_AUX_SEND:
		/* No mouse: anything sent to the aux port goes unanswered but for a resend. */
		push(k, KBD_RESEND);
		break;
	default:
		keyboard_command(k, v);
		break;
	}
}

static void command_write(struct i8042 *k, uint8_t v)
{
	switch (v) {
	case CMD_READ_CTR:
		push(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUT:
	case CMD_KBD_LOOP:
	case CMD_AUX_LOOP:
	case CMD_AUX_SEND:
		k->pending_cmd = v;
		break;
	case CMD_AUX_OFF:
		k->ctr |= CTR_AUX_OFF;
		break;
	case CMD_AUX_ON:
		k->ctr &= (uint8_t)~CTR_AUX_OFF;
		break;
	case CMD_AUX_TEST:
		push(k, 0xff); /* no aux port: clock line stuck */
		break;
	case CMD_SELF_TEST:
		push(k, 0x55);
		break;
	case CMD_KBD_TEST:
		push(k, 0x00);
		break;
	case CMD_KBD_OFF:
		k->ctr |= CTR_KBD_OFF;
		break;
	case CMD_KBD_ON:
		k->ctr &= (uint8_t)~CTR_KBD_OFF;
		break;
	default:
		/* 0xf0-0xff pulse output lines; bit 0 low pulses the CPU reset line. */
		if (v >= CMD_PULSE_BASE && !(v & 0x01))
			k->stop(k->stop_opaque, VM_STOP_REBOOT);
		break;
	}
}

void i8042_io_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct i8042 *k = opaque;
	uint8_t v = 0;

	pthread_mutex_lock(&k->lock);
	if (offset == PORT_CMD) {
		v = k->status | (k->count ? STS_OBF : 0);
	} else if (offset == PORT_DATA && k->count) {
		v = k->queue[k->head];
		k->head = (k->head + 1) % QUEUE_SIZE;
		k->count--;
		set_irq(k, true);
	}
	pthread_mutex_unlock(&k->lock);
	memset(data, 0, len);
	*(uint8_t *)data = v;
}

void i8042_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct i8042 *k = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)len;
	pthread_mutex_lock(&k->lock);
	if (offset == PORT_CMD) {
		k->status |= STS_CMD;
		command_write(k, v);
	} else if (offset == PORT_DATA) {
		k->status &= (uint8_t)~STS_CMD;
		data_write(k, v);
	}
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

/*
 * The set 1 code the controller sends for set 2 code c when translating (CTR bit 6), for the
 * keys the keyboard can send; 0 for any other. A set 2 break prefix (0xf0) is not passed on:
 * it sets bit 7 of the next translated code instead.
 */
static uint8_t set1_of(uint8_t c)
{
	switch (c) {
	case SET2_LCTRL:
		return 0x1d;
	case SET2_LALT:
		return 0x38;
	case SET2_DELETE:
		return 0x53;
	default:
		return 0;
	}
}

/* How many bytes the set 2 sequence codes[0..n) becomes in the guest's output buffer. */
static unsigned output_len(const struct i8042 *k, const uint8_t *codes, size_t n)
{
	unsigned len = 0;

	for (size_t i = 0; i < n; i++)
		if (!(k->ctr & CTR_XLATE) || codes[i] != SET2_BREAK)
			len++;
	return len;
}

/* Queues set 2 codes as the keyboard sends them, translated when the CTR asks for it. */
static void keyboard_send(struct i8042 *k, const uint8_t *codes, size_t n)
{
	bool brk = false;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = codes[i];

		if (!(k->ctr & CTR_XLATE) || c == SET2_EXTENDED) {
			push(k, c);
		} else if (c == SET2_BREAK) {
			brk = true;
		} else {
			push(k, (uint8_t)(set1_of(c) | (brk ? 0x80 : 0)));
			brk = false;
		}
	}
}

int i8042_send_ctrl_alt_del(struct i8042 *k)
{
	static const uint8_t seq[] = {
	    SET2_LCTRL,	   SET2_LALT,  SET2_EXTENDED, SET2_DELETE, /* pressed */
	    SET2_EXTENDED, SET2_BREAK, SET2_DELETE,		   /* Delete released */
	    SET2_BREAK,	   SET2_LALT,				   /* Alt released */
	    SET2_BREAK,	   SET2_LCTRL,				   /* Ctrl released */
	};
	int rc = 0;

	pthread_mutex_lock(&k->lock);
	if (!keyboard_ready(k))
		rc = -ENODEV;
	else if (output_len(k, seq, sizeof(seq)) > room(k))
		rc = -EAGAIN; /* all or nothing: half a sequence would leave keys held down */
	else
		keyboard_send(k, seq, sizeof(seq));
	if (!rc)
		update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return rc;
}
