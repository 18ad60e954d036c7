/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-fuzz: runs any device plugin through ember's own loader, host table, virtio-mmio
 * transport and virtqueues (core/) over the test harness's fake platform (tests/harness/), driven
 * by a stream of operations taken from the fuzzer's input (fuzz_ops.h, README.md here).
 *
 * Every input: harness_init, create (options from the input header), the operations, destroy,
 * harness_fini. A leaked watch, timer, descriptor chain or fd aborts(); ASan/LSan/UBSan report the
 * rest. The plugin is loaded once per process: $EMBER_FUZZ_PLUGIN (a name from the build tree's
 * plugins/ or a path to a .so). Base options: $EMBER_FUZZ_OPTIONS, else, for a program run from
 * the build tree, tests/fuzz/options/NAME.cfg when it exists; "@SCRATCH@" in them becomes a
 * fresh 1 MiB file.
 *
 * Before the first input the device is created once from the base options alone: when that is
 * refused (a required option missing, say), every input would be refused too and the run would
 * test nothing, so the process stops with the reason and FUZZ_EXIT_NO_CREATE. Inputs are counted
 * (fuzz_stats.h): started, reached the device, refused at create; ember-fuzz reads the counts.
 *
 * Built three ways from this one file: with libFuzzer (ember-fuzz, -Dfuzzing=true), with AFL++'s
 * libFuzzer-compatible driver, and with replay_main.c (ember-fuzz-replay, every build).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "driver_vq.h"
#include "fuzz_ops.h"
#include "fuzz_stats.h"
#include "harness.h"
#include "virtio/virtio_mmio.h"

#ifndef EMBER_BUILD_ROOT
#error "EMBER_BUILD_ROOT must be defined by the build"
#endif
#ifndef EMBER_SOURCE_ROOT
#error "EMBER_SOURCE_ROOT must be defined by the build"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAGE	     4096ULL
#define RAM0_END     (HARNESS_RAM0_GPA + HARNESS_RAM0_SIZE)
#define RAM1_END     (HARNESS_RAM1_GPA + HARNESS_RAM1_SIZE)
#define RINGS_BASE   (HARNESS_RAM0_GPA + PAGE)
#define RINGS_END    (HARNESS_RAM0_GPA + (2ULL << 20))
#define DATA_BASE    RINGS_END
#define DATA_END     (RAM0_END - PAGE)
#define SCRATCH_SIZE (1ULL << 20)

/* The input, consumed front to back; past its end every read is zero. */
struct in {
	const uint8_t *p;
	size_t n;
};

/* The driver's view of one queue. */
struct fq {
	bool set; /* rings programmed; d/a/u are host views when they are RAM */
	uint16_t size;
	uint64_t desc, avail, used;
	uint8_t *d, *a, *u;
	uint16_t avail_idx, next_desc, used_seen;
};

struct fuzz {
	struct harness h;
	bool virtio;
	uint64_t window;    /* bytes of the MMIO slot */
	uint32_t mmio_size; /* MMIO device: its window; virtio: 0x100 + config */
	uint32_t nq;	    /* queues of the device */
	uint32_t managed;   /* queues with a driver view */
	uint16_t qmax;
	uint64_t area; /* ring bytes per managed queue */
	uint64_t data_next;
	struct fq q[FUZZ_MAX_QUEUES];
};

static struct plugin *g_plugin;
static char g_base_options[2048];
static char g_options_from[600]; /* where the base options came from, for messages */
static char g_scratch[256];
static struct fuzz F;
/* In this process, or in the $EMBER_FUZZ_STATS file shared with ember-fuzz (fuzz_stats.h). */
static struct fuzz_stats g_local_stats;
static struct fuzz_stats *g_stats = &g_local_stats;

static const uint16_t virtio_regs[] = {
    VIRTIO_MMIO_MAGIC_VALUE,	  VIRTIO_MMIO_VERSION,
    VIRTIO_MMIO_DEVICE_ID,	  VIRTIO_MMIO_VENDOR_ID,
    VIRTIO_MMIO_DEVICE_FEATURES,  VIRTIO_MMIO_DEVICE_FEATURES_SEL,
    VIRTIO_MMIO_DRIVER_FEATURES,  VIRTIO_MMIO_DRIVER_FEATURES_SEL,
    VIRTIO_MMIO_QUEUE_SEL,	  VIRTIO_MMIO_QUEUE_NUM_MAX,
    VIRTIO_MMIO_QUEUE_NUM,	  VIRTIO_MMIO_QUEUE_READY,
    VIRTIO_MMIO_QUEUE_NOTIFY,	  VIRTIO_MMIO_INTERRUPT_STATUS,
    VIRTIO_MMIO_INTERRUPT_ACK,	  VIRTIO_MMIO_STATUS,
    VIRTIO_MMIO_QUEUE_DESC_LOW,	  VIRTIO_MMIO_QUEUE_DESC_HIGH,
    VIRTIO_MMIO_QUEUE_DRIVER_LOW, VIRTIO_MMIO_QUEUE_DRIVER_HIGH,
    VIRTIO_MMIO_QUEUE_DEVICE_LOW, VIRTIO_MMIO_QUEUE_DEVICE_HIGH,
    VIRTIO_MMIO_SHM_SEL,	  VIRTIO_MMIO_SHM_LEN_LOW,
    VIRTIO_MMIO_SHM_LEN_LOW + 4,  VIRTIO_MMIO_SHM_LEN_LOW + 8,
    VIRTIO_MMIO_SHM_BASE_HIGH,	  VIRTIO_MMIO_CONFIG_GENERATION,
    VIRTIO_MMIO_CONFIG,
};

static uint8_t u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t u16(struct in *in)
{
	uint16_t lo = u8(in);

	return (uint16_t)(lo | (uint16_t)u8(in) << 8);
}

static uint32_t u32(struct in *in)
{
	uint32_t lo = u16(in);

	return lo | (uint32_t)u16(in) << 16;
}

static uint64_t u64(struct in *in)
{
	uint64_t lo = u32(in);

	return lo | (uint64_t)u32(in) << 32;
}

/* Copies up to len input bytes to dst (NULL: skips them); the rest of dst is left alone. */
static void take(struct in *in, void *dst, size_t len)
{
	size_t n = len < in->n ? len : in->n;

	if (dst && n)
		memcpy(dst, in->p, n);
	in->p += n;
	in->n -= n;
}

/* "ember-fuzz: failure: " is what ember-fuzz looks for to name the kind of a finding. */
static __attribute__((noreturn)) void fail(const char *what)
{
	fprintf(stderr, "ember-fuzz: failure: %s\n--- device log ---\n%s------------------\n", what,
		F.h.log);
	abort();
}

/* -- the device's window -- */

/*
 * Window accesses go through ember's bus, as a vCPU's MMIO exit does: it splits the odd widths
 * KVM produces (3, 5, 6, 7 bytes) into the 1, 2, 4 or 8 that device.h promises handlers.
 */
static void window_access(uint64_t off, void *data, uint32_t len, bool write)
{
	struct bus_region r = {0, F.window, F.h.mmio_read, F.h.mmio_write, F.h.mmio_opaque, "fuzz"};
	struct bus b = {&r, 1, 1};

	if (off + len > F.window)
		return;
	if (write)
		bus_write(&b, off, data, len);
	else
		bus_read(&b, off, data, len);
}

static void mmio_write(uint64_t off, uint64_t val, uint32_t len)
{
	window_access(off, &val, len, true);
}

static uint64_t mmio_read(uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	window_access(off, &v, len, false);
	return v;
}

static void w32(uint64_t off, uint32_t v)
{
	mmio_write(off, v, 4);
}

static uint32_t r32(uint64_t off)
{
	return (uint32_t)mmio_read(off, 4);
}

/* Register accesses: 1, 2, 4 or 8 bytes. */
static uint32_t size_of(uint8_t code)
{
	return 1u << (code & 3);
}

/* Raw window accesses: any width KVM can deliver, 1..8 bytes. */
static uint32_t raw_size_of(uint8_t code)
{
	return 1u + code % 8u;
}

/* An offset that keeps [off, off + len) inside the window. */
static uint64_t clamp_off(uint64_t off, uint32_t len)
{
	if (F.window < len) /* ABI 1.2: a device without registers has no window at all */
		return 0;
	off %= F.window;
	return off + len > F.window ? F.window - len : off;
}

/* -- guest RAM as the driver lays it out -- */

static void *ram(uint64_t gpa, uint64_t len)
{
	return len ? harness_ptr(&F.h, gpa, len) : NULL;
}

static uint64_t data_alloc(uint64_t len, uint64_t align)
{
	uint64_t gpa = (F.data_next + align - 1) & ~(align - 1);

	if (len > DATA_END - DATA_BASE)
		return gpa; /* larger than the area: runs past it (checked by ember) */
	if (gpa + len > DATA_END)
		gpa = DATA_BASE;
	F.data_next = gpa + len;
	return gpa;
}

static uint64_t place(struct in *in, uint8_t placement, uint64_t len)
{
	switch (placement) {
	case FPL_ODD:
		return data_alloc(len + 1, 8) + 1;
	case FPL_RAM0_END:
		return RAM0_END - len;
	case FPL_STRADDLE:
		return RAM0_END - len / 2;
	case FPL_RAM1_END:
		return RAM1_END - len;
	case FPL_RAW:
		return u64(in);
	default:
		return data_alloc(len, 8);
	}
}

static void put_desc(uint8_t *at, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	if (!at)
		return;
	memcpy(at, &addr, 8);
	memcpy(at + 8, &len, 4);
	memcpy(at + 12, &flags, 2);
	memcpy(at + 14, &next, 2);
}

static struct fq *queue_view(uint8_t qi)
{
	struct fq *q = F.managed ? &F.q[qi % F.managed] : NULL;

	return q && q->set && q->d && q->a && q->size ? q : NULL;
}

static void store16(uint8_t *at, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)at, v, __ATOMIC_RELEASE);
}

static void publish(struct fq *q, uint16_t head)
{
	store16(q->a + 4 + 2u * (q->avail_idx % q->size), head);
	q->avail_idx++;
	store16(q->a + 2, q->avail_idx);
}

/* -- operations -- */

static void op_negotiate(uint8_t how)
{
	uint64_t offered, want;

	if (!(how & FNEG_NO_RESET))
		w32(VIRTIO_MMIO_STATUS, 0);
	w32(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	w32(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = r32(VIRTIO_MMIO_DEVICE_FEATURES);
	w32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)r32(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	want = 0;
	if (!(how & FNEG_NO_VERSION_1))
		want |= 1ULL << EMBER_VIRTIO_F_VERSION_1;
	if (how & FNEG_EVENT_IDX)
		want |= 1ULL << EMBER_VIRTIO_F_EVENT_IDX;
	if (how & FNEG_INDIRECT)
		want |= 1ULL << EMBER_VIRTIO_F_INDIRECT_DESC;
	if (how & FNEG_DEVICE_BITS)
		want |= (1ULL << 24) - 1;
	want &= offered;
	if (how & FNEG_UNOFFERED)
		want |= ~offered & (1ULL << 60);
	w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	w32(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	w32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	w32(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	w32(VIRTIO_MMIO_STATUS,
	    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (how & FNEG_DRIVER_OK)
		w32(VIRTIO_MMIO_STATUS, r32(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	if (!(how & FNEG_NO_RESET))
		for (uint32_t i = 0; i < F.managed; i++)
			F.q[i].set = false;
}

static void op_queue(struct in *in)
{
	uint8_t qi = u8(in), sz = u8(in), layout;
	uint32_t index = qi % (F.nq + 1); /* F.nq itself: a queue that does not exist */
	unsigned log2max = (unsigned)__builtin_ctz(F.qmax ? F.qmax : 1);
	uint32_t size = sz & 0x80 ? u16(in) : 1u << ((sz & 0x7f) % (log2max + 1));
	uint64_t dbytes = 16ULL * size, abytes = 6ULL + 2ULL * size, ubytes = 6ULL + 8ULL * size;
	uint64_t base = RINGS_BASE + (index % (F.managed ? F.managed : 1)) * F.area;
	uint64_t desc, avail, used;

	layout = u8(in);
	desc = base;
	avail = desc + dbytes;
	used = (avail + abytes + 3) & ~3ULL;
	switch (layout & 7) {
	case FLAY_PAGE:
		used = (avail + abytes + PAGE - 1) & ~(PAGE - 1);
		break;
	case FLAY_RAM1:
		desc = HARNESS_RAM1_GPA;
		avail = desc + dbytes;
		used = (avail + abytes + 3) & ~3ULL;
		break;
	case FLAY_USED_AT_END:
		used = (RAM1_END - ubytes) & ~3ULL;
		break;
	case FLAY_DESC_AT_END:
		desc = RAM0_END - dbytes;
		break;
	case FLAY_STRADDLE:
		used = (RAM0_END - ubytes / 2) & ~3ULL;
		break;
	case FLAY_OVERLAP:
		avail = used = desc;
		break;
	case FLAY_RAW:
		desc = u64(in);
		avail = u64(in);
		used = u64(in);
		break;
	default:
		break;
	}
	if (layout & FLAY_MISALIGN)
		avail |= 1;
	w32(VIRTIO_MMIO_QUEUE_SEL, index);
	w32(VIRTIO_MMIO_QUEUE_NUM, size);
	w32(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	w32(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	w32(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	w32(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	w32(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	w32(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	if (index < F.managed && size && size <= 0xffff) {
		struct fq *q = &F.q[index];

		*q = (struct fq){.set = true, .size = (uint16_t)size};
		q->desc = desc;
		q->avail = avail;
		q->used = used;
		q->d = ram(desc, dbytes);
		q->a = ram(avail, abytes);
		q->u = ram(used, ubytes);
		/* A driver zeroes its rings before handing them over. */
		if (q->u)
			memset(q->u, 0, ubytes);
		if (q->a)
			memset(q->a, 0, abytes);
	}
	if (!(layout & FLAY_NOREADY))
		w32(VIRTIO_MMIO_QUEUE_READY, 1);
}

static void kick(uint32_t queue, uint8_t how)
{
	if (how & 1)
		plugin_instance_queue_notify(F.h.dev, queue);
	else
		w32(VIRTIO_MMIO_QUEUE_NOTIFY, queue);
}

static void op_chain(struct in *in)
{
	uint8_t qi = u8(in), n = (uint8_t)(1 + u8(in) % 16), how = u8(in);
	struct fq *q = queue_view(qi);
	uint8_t *table = NULL;
	uint16_t head = q ? (uint16_t)(q->next_desc % q->size) : 0;

	if (q && (how & FCH_INDIRECT)) {
		uint64_t tgpa = data_alloc(16ULL * n, 16);

		table = ram(tgpa, 16ULL * n);
		put_desc(q->d + 16u * head, tgpa, 16u * n, VQ_DESC_F_INDIRECT, 0);
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t len = u16(in);
		uint8_t kind = u8(in);
		uint16_t flags = (uint16_t)(kind & FSEG_WRITE ? VQ_DESC_F_WRITE : 0);
		uint64_t gpa;
		uint8_t fill = 0;

		if (kind & FSEG_BIG)
			len *= 64;
		gpa = place(in, FSEG_PLACE(kind), len);
		if (!(kind & FSEG_WRITE)) {
			fill = u8(in);
			take(in, ram(gpa, fill < len ? fill : len), fill < len ? fill : len);
			if (fill > len)
				take(in, NULL, (size_t)(fill - len));
		}
		if (!q)
			continue;
		if (i + 1 < n)
			flags |= VQ_DESC_F_NEXT;
		if (table) {
			put_desc(table + 16u * i, gpa, len, flags, (uint16_t)(i + 1));
		} else {
			uint16_t idx = (uint16_t)((head + i) % q->size);

			put_desc(q->d + 16u * idx, gpa, len, flags,
				 (uint16_t)((idx + 1) % q->size));
		}
	}
	if (!q)
		return;
	q->next_desc = (uint16_t)(q->next_desc + (table ? 1 : n));
	if (!(how & FCH_NOPUBLISH))
		publish(q, head);
	if (!(how & FCH_NOKICK))
		kick(qi % F.managed, how >> 4);
}

static void op_desc(struct in *in)
{
	uint8_t qi = u8(in);
	uint16_t idx = u16(in);
	uint8_t placement = u8(in);
	uint64_t addr = placement == FPL_RAW ? u64(in) : 0;
	uint32_t len = u32(in);
	uint16_t flags = u16(in), next = u16(in);
	struct fq *q = queue_view(qi);

	if (placement != FPL_RAW)
		addr = place(in, placement % FPL_RAW, len % (1u << 20));
	if (q)
		put_desc(q->d + 16u * (idx % q->size), addr, len, flags, next);
}

static void op_ring_ctl(struct in *in)
{
	uint8_t qi = u8(in), what = u8(in);
	uint16_t val = u16(in);
	struct fq *q = queue_view(qi);

	if (!q)
		return;
	switch (what % 3) {
	case 0: /* used_event, after the avail ring */
		store16(q->a + 4 + 2u * q->size, val);
		break;
	case 1:
		store16(q->a, val);
		break;
	default: /* the driver consumes what the device published */
		if (q->u)
			q->used_seen =
			    __atomic_load_n((uint16_t *)(void *)(q->u + 2), __ATOMIC_ACQUIRE);
		break;
	}
}

static void op_mem(struct in *in)
{
	uint8_t where = u8(in);
	uint16_t off = u16(in);
	uint8_t len = u8(in);
	uint64_t gpa;

	switch (where % 3) {
	case 0:
		gpa = DATA_BASE + (uint64_t)off * 16;
		break;
	case 1:
		gpa = RINGS_BASE + (where / 3 % (F.managed ? F.managed : 1)) * F.area + off;
		break;
	default:
		gpa = HARNESS_RAM1_GPA + (uint64_t)off * 16;
		break;
	}
	take(in, ram(gpa, len), len);
}

static void op_config(struct in *in)
{
	uint16_t off = u16(in);
	uint32_t len = size_of(u8(in));
	uint8_t write = u8(in);
	uint64_t val = u64(in);
	uint64_t at;

	if (F.virtio)
		at = VIRTIO_MMIO_CONFIG + off % (F.mmio_size - VIRTIO_MMIO_CONFIG + 8);
	else
		at = off % (F.mmio_size + 8);
	at = clamp_off(at, len);
	if (write & 1)
		mmio_write(at, val, len);
	else
		(void)mmio_read(at, len);
}

/* Waits up to 5 ms for one of the watched fds to become ready (async I/O completing). */
static void wait_ready(void)
{
	struct pollfd fds[HARNESS_MAX_CBS];
	nfds_t n = 0;

	for (size_t i = 0; i < HARNESS_MAX_CBS; i++)
		if (F.h.cbs[i].used && !F.h.cbs[i].timer)
			fds[n++] = (struct pollfd){.fd = F.h.cbs[i].fd,
						   .events = (short)F.h.cbs[i].events};
	if (n)
		(void)poll(fds, n, 5);
}

static uint64_t reg_offset(uint8_t reg, uint32_t *len)
{
	if (F.virtio) {
		*len = 4;
		return virtio_regs[reg % EMBER_ARRAY_SIZE(virtio_regs)];
	}
	*len = size_of(reg >> 6);
	return clamp_off(reg % F.mmio_size, *len);
}

static void run_op(struct in *in)
{
	uint8_t op = u8(in) % FOP_COUNT;
	uint32_t len;
	uint64_t off;

	switch (op) {
	case FOP_MMIO_READ:
		off = u16(in);
		len = raw_size_of(u8(in));
		(void)mmio_read(clamp_off(off, len), len);
		break;
	case FOP_MMIO_WRITE:
		off = u16(in);
		len = raw_size_of(u8(in));
		mmio_write(clamp_off(off, len), u64(in), len);
		break;
	case FOP_REG_READ:
		off = reg_offset(u8(in), &len);
		(void)mmio_read(off, len);
		break;
	case FOP_REG_WRITE:
		off = reg_offset(u8(in), &len);
		mmio_write(off, u32(in), len);
		break;
	case FOP_NEGOTIATE:
		op_negotiate(u8(in));
		break;
	case FOP_QUEUE:
		op_queue(in);
		break;
	case FOP_DRIVER_OK:
		w32(VIRTIO_MMIO_STATUS, r32(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
		break;
	case FOP_CHAIN:
		op_chain(in);
		break;
	case FOP_DESC:
		op_desc(in);
		break;
	case FOP_PUBLISH: {
		struct fq *q = queue_view(u8(in));
		uint16_t head = u16(in);

		if (q)
			publish(q, head);
		break;
	}
	case FOP_AVAIL_IDX: {
		struct fq *q = queue_view(u8(in));
		uint16_t idx = u16(in);

		if (q) {
			q->avail_idx = idx;
			store16(q->a + 2, idx);
		}
		break;
	}
	case FOP_KICK: {
		uint8_t qi = u8(in);

		kick(qi % (F.nq + 2), u8(in));
		break;
	}
	case FOP_RING_CTL:
		op_ring_ctl(in);
		break;
	case FOP_ADVANCE: {
		uint64_t ns = 1ULL + u8(in);

		for (uint8_t e = u8(in) % 10; e; e--)
			ns *= 10;
		harness_advance(&F.h, ns);
		break;
	}
	case FOP_POLL:
		if (u8(in) & 1)
			wait_ready();
		harness_poll(&F.h);
		break;
	case FOP_RESET:
		if (u8(in) & 1)
			plugin_instance_reset(F.h.dev);
		else
			w32(VIRTIO_MMIO_STATUS, 0);
		for (uint32_t i = 0; i < F.managed; i++)
			F.q[i].set = false;
		break;
	case FOP_MEM:
		op_mem(in);
		break;
	case FOP_INT_ACK:
		w32(VIRTIO_MMIO_INTERRUPT_ACK, r32(VIRTIO_MMIO_INTERRUPT_STATUS));
		break;
	case FOP_CONFIG:
		op_config(in);
		break;
	default:
		break;
	}
}

/* -- options: the header picks a value for each documented option the base text leaves out -- */

static bool base_sets(const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(g_base_options, name); p; p = strstr(p + 1, name)) {
		const char *e = p + n;

		if ((p == g_base_options || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
					      (p[-1] >= '0' && p[-1] <= '9'))) &&
		    (*e == ' ' || *e == '=' || *e == ':' || *e == '\t'))
			return true;
	}
	return false;
}

static void build_options(struct in *in, char *text, size_t size)
{
	size_t len = (size_t)snprintf(text, size, "%s\n", g_base_options);

	for (uint32_t i = 0; i < g_plugin->desc.option_count; i++) {
		const struct ember_option *o = &g_plugin->options[i];
		uint8_t mode = u8(in);
		uint16_t pick = u16(in);
		int64_t v;

		/* Strings and paths have no range to pick from: only the base options set them. */
		if ((o->type != EMBER_OPTION_INT && o->type != EMBER_OPTION_SIZE &&
		     o->type != EMBER_OPTION_BOOL) ||
		    base_sets(o->name) || (mode % 4 == 0 && !(o->flags & EMBER_OPTION_REQUIRED)) ||
		    len >= size)
			continue;
		if (o->type == EMBER_OPTION_BOOL) {
			v = mode % 4 == 3 ? pick & 1 : mode % 4 == 2;
			len += (size_t)snprintf(text + len, size - len, "%s = %s;\n", o->name,
						v ? "true" : "false");
			continue;
		}
		switch (mode % 4) {
		case 1:
			v = o->min;
			break;
		case 2:
			v = o->max;
			break;
		default: {
			uint64_t span = (uint64_t)o->max - (uint64_t)o->min + 1;

			v = (int64_t)((uint64_t)o->min + (span ? pick % span : pick));
			break;
		}
		}
		len += (size_t)snprintf(text + len, size - len, "%s = %lldL;\n", o->name,
					(long long)v);
	}
}

/* -- set-up, once per process -- */

static void remove_scratch(void)
{
	if (g_scratch[0])
		unlink(g_scratch);
}

/*
 * Whether this program runs from the build tree. Only then are the source tree's option files
 * read: an installed ember-fuzz behaves the same on a vendor's machine as on this one.
 */
static bool in_build_tree(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t root = strlen(EMBER_BUILD_ROOT);

	if (n <= 0)
		return false;
	exe[n] = '\0';
	return !strncmp(exe, EMBER_BUILD_ROOT, root) && exe[root] == '/';
}

static void load_base_options(const char *name)
{
	const char *env = getenv("EMBER_FUZZ_OPTIONS");
	char path[512], text[sizeof(g_base_options)] = "";
	char *at;

	snprintf(g_options_from, sizeof(g_options_from), "none given");
	if (env) {
		snprintf(text, sizeof(text), "%s", env);
		snprintf(g_options_from, sizeof(g_options_from), "$EMBER_FUZZ_OPTIONS");
	} else if (in_build_tree()) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/tests/fuzz/options/%s.cfg", EMBER_SOURCE_ROOT,
			 name);
		f = fopen(path, "r");
		if (f) {
			size_t n = fread(text, 1, sizeof(text) - 1, f);

			text[n] = '\0';
			fclose(f);
			snprintf(g_options_from, sizeof(g_options_from), "%.500s", path);
		}
	}
	at = strstr(text, "@SCRATCH@");
	if (at) {
		const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
		int fd;

		snprintf(g_scratch, sizeof(g_scratch), "%s/ember-fuzz-XXXXXX", tmp);
		fd = mkstemp(g_scratch);
		if (fd < 0) {
			perror("ember-fuzz: mkstemp");
			exit(2);
		}
		close(fd);
		atexit(remove_scratch);
		*at = '\0';
		snprintf(g_base_options, sizeof(g_base_options), "%s\"%s\"%s", text, g_scratch,
			 at + strlen("@SCRATCH@"));
	} else {
		snprintf(g_base_options, sizeof(g_base_options), "%s", text);
	}
}

/* $EMBER_FUZZ_STATS: count into that file (made and sized by ember-fuzz), shared by processes. */
static void map_stats(void)
{
	const char *path = getenv("EMBER_FUZZ_STATS");
	struct stat st;
	void *m;
	int fd;

	if (!path || !*path)
		return;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || st.st_size < FUZZ_STATS_FILE_SIZE) {
		fprintf(stderr, "ember-fuzz: EMBER_FUZZ_STATS=%s: %s\n", path,
			fd < 0 ? strerror(errno) : "not a stats file of ember-fuzz");
		exit(FUZZ_EXIT_USAGE);
	}
	m = mmap(NULL, FUZZ_STATS_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd); /* the mapping stays; no fd left for the per-input fd count to see */
	if (m == MAP_FAILED) {
		fprintf(stderr, "ember-fuzz: EMBER_FUZZ_STATS=%s: mmap: %s\n", path,
			strerror(errno));
		exit(FUZZ_EXIT_USAGE);
	}
	g_stats = m;
	__atomic_store_n(&g_stats->magic, FUZZ_STATS_MAGIC, __ATOMIC_RELAXED);
}

const struct fuzz_stats *fuzz_driver_stats(void)
{
	return g_stats;
}

/* The last line the device logged (its reason: create's own error is often just an errno). */
static const char *last_log_line(int *len)
{
	const char *end = F.h.log + strnlen(F.h.log, sizeof(F.h.log));
	const char *start;

	while (end > F.h.log && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	for (start = end; start > F.h.log && start[-1] != '\n'; start--)
		;
	*len = (int)(end - start);
	return end > start ? start : NULL;
}

static void note_refusal(const char *err)
{
	char msg[FUZZ_STATS_MSG_MAX];
	int len, n;
	const char *line = last_log_line(&len);

	n = line ? snprintf(msg, sizeof(msg), "%s; device log: %.*s", err, len, line)
		 : snprintf(msg, sizeof(msg), "%s", err);

	if (n >= (int)sizeof(msg)) /* a hint for a person: cut, and say so */
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	memcpy(g_stats->last_refusal, msg, strlen(msg) + 1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Sets up the harness and creates the device from in's header; 0, or -1 with err set. */
static int create_device(struct in *in, char *err, size_t err_size)
{
	static char options[4096];

	if (g_scratch[0] && truncate(g_scratch, 0) | truncate(g_scratch, (off_t)SCRATCH_SIZE))
		fail("cannot reset the scratch file");
	build_options(in, options, sizeof(options));
	harness_init(&F.h);
	F.h.plugin = g_plugin;
	if (harness_create(&F.h, g_plugin->desc.name, options, err, err_size)) {
		F.h.plugin = NULL; /* loaded once per process */
		if (harness_fini(&F.h))
			fail("a refused create leaked resources");
		return -1;
	}
	return 0;
}

static const char *type_name(uint32_t type)
{
	switch (type) {
	case EMBER_OPTION_INT:
		return "int";
	case EMBER_OPTION_BOOL:
		return "bool";
	case EMBER_OPTION_SIZE:
		return "size";
	case EMBER_OPTION_PATH:
		return "path";
	default:
		return "string";
	}
}

/* The options on one line, comments and runs of blanks left out: a message, not a file. */
static void flatten(char *out, size_t size, const char *text)
{
	size_t n = 0;
	bool blank = true, comment = false, quoted = false;

	for (const char *c = text; *c && n + 1 < size; c++) {
		if (*c == '\n')
			comment = false;
		if (*c == '#' && !quoted)
			comment = true;
		if (comment)
			continue;
		if (*c == '"')
			quoted = !quoted;
		if (!quoted && (*c == ' ' || *c == '\t' || *c == '\n')) {
			blank = true;
			continue;
		}
		if (blank && n && n + 2 < size)
			out[n++] = ' ';
		blank = false;
		out[n++] = *c;
	}
	out[n] = '\0';
}

/*
 * One create from the base options alone (an empty header: every option at its default, a
 * required number at its minimum), before any input. Refused: no input could get further, so
 * stop with the plugin's reason instead of a run that reports nothing because it tested nothing.
 * Leaks are left to the inputs, which fail on them with a reproducer.
 */
static void precheck(void)
{
	struct in in = {NULL, 0};
	char err[512], flat[sizeof(g_base_options)];
	bool missing = false;

	if (!create_device(&in, err, sizeof(err))) {
		(void)harness_destroy(&F.h);
		F.h.plugin = NULL;
		(void)harness_fini(&F.h);
		return;
	}
	flatten(flat, sizeof(flat), g_base_options);
	fprintf(stderr, "ember-fuzz: %s cannot be created with the options given: %s\n",
		g_plugin->desc.name, err);
	/* One prefixed line each: ember-fuzz shows the driver's "ember-fuzz: " lines. */
	for (const char *l = F.h.log; *l;) {
		int n = (int)strcspn(l, "\n");

		if (n)
			fprintf(stderr, "ember-fuzz: device log: %.*s\n", n, l);
		l += n + (l[n] == '\n');
	}
	fprintf(stderr, "ember-fuzz: options (%s): %s\n", g_options_from, flat[0] ? flat : "none");
	for (uint32_t i = 0; i < g_plugin->desc.option_count; i++) {
		const struct ember_option *o = &g_plugin->options[i];

		if ((o->flags & EMBER_OPTION_REQUIRED) && !base_sets(o->name)) {
			fprintf(stderr, "%s%s (%s)",
				missing ? ", " : "ember-fuzz: required, not given: ", o->name,
				type_name(o->type));
			missing = true;
		}
	}
	if (missing)
		fprintf(stderr, "\n");
	fprintf(stderr, "ember-fuzz: give the options the device needs: ember-fuzz --options "
			"'key = value; ...' (or $EMBER_FUZZ_OPTIONS)\n");
	exit(FUZZ_EXIT_NO_CREATE);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dirs[] = {EMBER_BUILD_ROOT "/plugins"};
	const char *name = getenv("EMBER_FUZZ_PLUGIN");
	char err[512];
	int rc;

	(void)argc;
	(void)argv;
	if (g_plugin)
		return 0;
	if (!name || !*name) {
		fprintf(stderr,
			"ember-fuzz: set EMBER_FUZZ_PLUGIN to a plugin name or a .so path\n");
		exit(2);
	}
	rc = strchr(name, '/') ? plugin_load_file(name, &g_plugin, err, sizeof(err))
			       : plugin_load_by_name(name, dirs, 1, &g_plugin, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "ember-fuzz: %s\n", err);
		/* dlopen names the first missing symbol: say what it means for sanitizer builds. */
		if (strstr(err, "__asan_") || strstr(err, "__ubsan_") ||
		    strstr(err, "__sanitizer_") || strstr(err, "__sancov_"))
			fprintf(stderr,
				"ember-fuzz: the plugin was built with sanitizers and this "
				"program was not: use the ember-fuzz tools of an ember built "
				"with -Dfuzzing=true (tools/fuzz-driver/README.md)\n");
		exit(FUZZ_EXIT_USAGE);
	}
	map_stats();
	load_base_options(g_plugin->desc.name);
	precheck();
	return 0;
}

static void start(void)
{
	const struct ember_plugin_desc *d = &g_plugin->desc;

	F.virtio = d->kind == EMBER_DEVICE_VIRTIO;
	F.window = plugin_instance_window_size(F.h.dev);
	F.mmio_size = F.virtio ? VIRTIO_MMIO_CONFIG + d->virtio_config_size : d->mmio_size;
	if (!F.mmio_size)
		F.mmio_size = 1;
	F.nq = F.virtio ? d->virtio_queue_count : 0;
	F.managed = F.nq < FUZZ_MAX_QUEUES ? F.nq : FUZZ_MAX_QUEUES;
	F.qmax = d->virtio_queue_max_size;
	F.area = F.managed ? ((RINGS_END - RINGS_BASE) / F.managed) & ~(PAGE - 1) : 0;
	F.data_next = DATA_BASE;
	memset(F.q, 0, sizeof(F.q));
}

/* EMBER_FUZZ_VERBOSE: where the input got the device (for checking seeds by hand). */
static void report(void)
{
	fprintf(stderr, "ember-fuzz: status 0x%x, %u interrupts, %u panics, %u callbacks",
		r32(VIRTIO_MMIO_STATUS), F.h.irq_raises, F.h.panics, harness_callbacks(&F.h));
	for (uint32_t i = 0; i < F.managed; i++)
		if (F.q[i].set && F.q[i].u)
			fprintf(stderr, ", queue %u: %u avail, %u used", i, F.q[i].avail_idx,
				*(uint16_t *)(void *)(F.q[i].u + 2));
	fprintf(stderr, "\n%s", F.h.log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	char err[512], msg[128];
	unsigned leaks;

	LLVMFuzzerInitialize(NULL, NULL);
	/* Counted before anything can fail, so that a finding's count includes its input. */
	__atomic_store_n(&g_stats->last_input_ns, now_ns(), __ATOMIC_RELAXED);
	__atomic_fetch_add(&g_stats->inputs, 1, __ATOMIC_RELAXED);
	if (create_device(&in, err, sizeof(err))) {
		__atomic_fetch_add(&g_stats->refused, 1, __ATOMIC_RELAXED);
		note_refusal(err);
		if (getenv("EMBER_FUZZ_VERBOSE"))
			fprintf(stderr, "ember-fuzz: not created: %s\n", g_stats->last_refusal);
		/* -1: libFuzzer keeps no input that never reached the device in the corpus. */
		return -1;
	}
	__atomic_fetch_add(&g_stats->reached, 1, __ATOMIC_RELAXED);
	start();
	while (in.n)
		run_op(&in);
	if (getenv("EMBER_FUZZ_VERBOSE"))
		report();
	leaks = harness_destroy(&F.h);
	F.h.plugin = NULL;
	leaks += harness_fini(&F.h);
	if (leaks) {
		snprintf(msg, sizeof(msg),
			 "%u resources leaked at destroy (watches, timers, chains, fds)", leaks);
		fail(msg);
	}
	return 0;
}
