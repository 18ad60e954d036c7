/* SPDX-License-Identifier: Apache-2.0 */
#include "i8042.h"

#include <pthread.h>
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

#define KBD_ACK	    0xfa
#define KBD_RESEND  0xfe
#define KBD_RESET   0xff
#define KBD_GET_ID  0xf2
#define KBD_SELF_OK 0xaa
#define QUEUE_SIZE  16

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

static void update_irq(struct i8042 *k)
{
	int level = k->count && (k->ctr & CTR_KBD_INT) && !(k->ctr & CTR_KBD_OFF);

	if (level != k->irq_level) {
		k->irq_level = level;
		k->irq(k->irq_opaque, k->gsi, level);
	}
}

/* A byte sent to the keyboard itself: answer as a plain AT keyboard would. */
static void keyboard_command(struct i8042 *k, uint8_t v)
{
	switch (v) {
	case KBD_RESET:
		push(k, KBD_ACK);
		push(k, KBD_SELF_OK);
		break;
	case KBD_GET_ID:
		push(k, KBD_ACK);
		push(k, 0xab);
		push(k, 0x83);
		break;
	default:
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
		update_irq(k);
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
