/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The input format of ember-fuzz (see README.md here): an option header, then a stream of
 * operations, each one opcode byte (taken modulo FOP_COUNT) followed by its arguments. Every
 * multi-byte argument is little-endian; an input that ends early reads zeros. Shared by the
 * driver (fuzz_plugin.c) and the seed generator (gen_seeds.c).
 */
#ifndef EMBER_FUZZ_OPS_H
#define EMBER_FUZZ_OPS_H

#include <stdint.h>

enum fuzz_op {
	FOP_MMIO_READ,	/* off:u16 size:u8 - anywhere in the window, 1 + size % 8 bytes */
	FOP_MMIO_WRITE, /* off:u16 size:u8 val:u64 */
	FOP_REG_READ,	/* reg:u8 - virtio: register menu; MMIO device: its own window */
	FOP_REG_WRITE,	/* reg:u8 val:u32 */
	FOP_NEGOTIATE,	/* how:u8 (FNEG_*) - reset, ACK, DRIVER, features, FEATURES_OK */
	FOP_QUEUE,	/* q:u8 size:u8 [size:u16 when size & 0x80] layout:u8 [3 x u64 raw] */
	FOP_DRIVER_OK,	/* - Status |= DRIVER_OK */
	FOP_CHAIN,	/* q:u8 n:u8 how:u8 then n x segment (see FSEG_*) */
	FOP_DESC,	/* q:u8 idx:u16 place:u8 [addr:u64] len:u32 flags:u16 next:u16 */
	FOP_PUBLISH,	/* q:u8 head:u16 - one avail entry */
	FOP_AVAIL_IDX,	/* q:u8 idx:u16 - any avail index */
	FOP_KICK,	/* q:u8 how:u8 (bit0: through the ioeventfd path) */
	FOP_RING_CTL,	/* q:u8 what:u8 val:u16 - 0 used_event, 1 avail flags, 2 drain used */
	FOP_ADVANCE,	/* n:u8 exp:u8 - fake clock += (n + 1) * 10^(exp % 10) ns, timers fire */
	FOP_POLL,  /* wait:u8 - run the callbacks of ready watched fds (bit0: wait <= 5 ms first) */
	FOP_RESET, /* how:u8 - bit0 clear: Status = 0; set: VM reset */
	FOP_MEM,   /* where:u8 off:u16 len:u8 data[len] - fill guest RAM */
	FOP_INT_ACK, /* - read InterruptStatus, acknowledge it */
	FOP_CONFIG,  /* off:u16 size:u8 write:u8 val:u64 - device config space */
	FOP_COUNT
};

/* FOP_NEGOTIATE how bits. */
#define FNEG_NO_VERSION_1 0x01 /* leave VIRTIO_F_VERSION_1 out (refused) */
#define FNEG_EVENT_IDX	  0x02
#define FNEG_INDIRECT	  0x04
#define FNEG_DEVICE_BITS  0x08 /* every device-type bit offered */
#define FNEG_NO_RESET	  0x10 /* skip the Status = 0 first */
#define FNEG_UNOFFERED	  0x20 /* ask for a bit not offered (refused) */
#define FNEG_DRIVER_OK	  0x40 /* and set DRIVER_OK */

/* FOP_QUEUE layouts (layout & 7); bit 3: avail ring misaligned; bit 4: no QueueReady write. */
enum fuzz_layout {
	FLAY_PACKED,	  /* desc, avail, used back to back in the queue's area */
	FLAY_PAGE,	  /* used ring page-aligned */
	FLAY_RAM1,	  /* all three in the second RAM region */
	FLAY_USED_AT_END, /* used ring ends at the last byte of RAM */
	FLAY_DESC_AT_END, /* descriptor table ends at the end of region 0 */
	FLAY_STRADDLE,	  /* used ring across the two regions (refused) */
	FLAY_OVERLAP,	  /* all three rings at the same address */
	FLAY_RAW,	  /* three u64 addresses from the input */
};
#define FLAY_MISALIGN 0x08
#define FLAY_NOREADY  0x10

/* FOP_CHAIN how bits. */
#define FCH_INDIRECT  0x01 /* one indirect descriptor pointing at a table of the n segments */
#define FCH_NOPUBLISH 0x02
#define FCH_NOKICK    0x04

/*
 * A segment: len:u16 kind:u8 [addr:u64 when placement is FPL_RAW] fill:u8 data[fill] (fill and
 * data only for readable segments: min(fill, len) bytes are copied into the buffer).
 * kind bit 0: device-writable; bits 1..3: placement (FPL_*); bit 4: len *= 64.
 */
#define FSEG_WRITE	 0x01
#define FSEG_BIG	 0x10
#define FSEG_PLACE(kind) (((kind) >> 1) & 7)
enum fuzz_place {
	FPL_ALLOC,    /* the next free bytes of the data area, 8-aligned */
	FPL_ALLOC2,   /* the same */
	FPL_ALLOC3,   /* the same */
	FPL_ODD,      /* the data area, odd address */
	FPL_RAM0_END, /* ends at the last byte of region 0 */
	FPL_STRADDLE, /* across regions 0 and 1 (refused) */
	FPL_RAM1_END, /* ends at the last byte of RAM */
	FPL_RAW,      /* a u64 from the input */
};

/* At most this many queues get a driver-side view (their rings are written by ops). */
#define FUZZ_MAX_QUEUES 8

#endif
