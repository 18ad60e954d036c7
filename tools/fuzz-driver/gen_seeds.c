/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-fuzz-seeds PLUGIN OUTDIR: writes seed inputs for ember-fuzz (fuzz_ops.h) made of valid
 * driver traffic for the plugin's descriptor: the virtio handshake, queue set-up, chains of the
 * usual shapes (direct, indirect, readable header + writable data + status byte), kicks, clock
 * advances, resets, config space; for MMIO devices, reads of every offset of the window and
 * aligned 16/32/64-bit writes to every register. A few
 * seeds break the rules on purpose (loops, index jumps, rings outside RAM) so the fuzzer starts
 * from both sides. tools/fuzz --seeds regenerates tests/fuzz/corpus/ with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver_vq.h"
#include "fuzz_ops.h"
#include "plugin_loader.h"
#include "virtio/virtio_mmio.h"

#ifndef EMBER_BUILD_ROOT
#error "EMBER_BUILD_ROOT must be defined by the build"
#endif

struct out {
	uint8_t b[8192];
	size_t n;
};

static const struct plugin *P;
static const char *outdir;
static unsigned written;

static void e8(struct out *o, unsigned v)
{
	if (o->n < sizeof(o->b))
		o->b[o->n++] = (uint8_t)v;
}

static void e16(struct out *o, unsigned v)
{
	e8(o, v & 0xff);
	e8(o, (v >> 8) & 0xff);
}

static void e32(struct out *o, uint32_t v)
{
	e16(o, v & 0xffff);
	e16(o, v >> 16);
}

static void e64(struct out *o, uint64_t v)
{
	e32(o, (uint32_t)v);
	e32(o, (uint32_t)(v >> 32));
}

/* The option header: mode (0 default, 1 min, 2 max, 3 min + pick) and pick per option. */
static void header(struct out *o, unsigned mode, unsigned pick)
{
	o->n = 0;
	for (uint32_t i = 0; i < P->desc.option_count; i++) {
		e8(o, mode);
		e16(o, pick);
	}
}

/*
 * A header that gives every number option a small value of its own range: the least power of
 * two that is at least max(min, target). A size that must be a power of two (a queue size) stays
 * valid whatever its minimum, a rate limit becomes small, and the seed reaches the device
 * instead of being refused at create. Options whose range does not hold it keep their default;
 * bools are false (what the old single pick gave them).
 */
static void header_small(struct out *o, uint64_t target)
{
	o->n = 0;
	for (uint32_t i = 0; i < P->desc.option_count; i++) {
		const struct ember_option *opt = &P->options[i];
		uint64_t floor =
		    opt->min > 0 && (uint64_t)opt->min > target ? (uint64_t)opt->min : target;
		uint64_t v = 1;

		while (v < floor && v < (1ULL << 62))
			v <<= 1;
		if (opt->type == EMBER_OPTION_BOOL) {
			e8(o, 3);
			e16(o, 0);
		} else if ((opt->type == EMBER_OPTION_INT || opt->type == EMBER_OPTION_SIZE) &&
			   opt->min >= 0 && v <= (uint64_t)opt->max &&
			   v - (uint64_t)opt->min < 65536) {
			e8(o, 3);
			e16(o, (unsigned)(v - (uint64_t)opt->min));
		} else {
			e8(o, 0);
			e16(o, 0);
		}
	}
}

static void save(const struct out *o, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%02u-%s", outdir, written, name);
	f = fopen(path, "wb");
	if (!f || fwrite(o->b, 1, o->n, f) != o->n || fclose(f)) {
		fprintf(stderr, "ember-fuzz-seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	written++;
}

static unsigned queues(void)
{
	unsigned n = P->desc.virtio_queue_count;

	return n < FUZZ_MAX_QUEUES ? n : FUZZ_MAX_QUEUES;
}

/* FOP_QUEUE for queue q with a size of min(64, max) at a valid layout. */
static void queue(struct out *o, unsigned q, unsigned layout)
{
	unsigned log2 = 0;

	while ((2u << log2) <= P->desc.virtio_queue_max_size && (2u << log2) <= 64)
		log2++;
	e8(o, FOP_QUEUE);
	e8(o, q);
	e8(o, log2);
	e8(o, layout);
}

static void start(struct out *o, unsigned features, unsigned layout)
{
	e8(o, FOP_NEGOTIATE);
	e8(o, features);
	for (unsigned q = 0; q < queues(); q++)
		queue(o, q, layout);
	e8(o, FOP_DRIVER_OK);
}

static void seg(struct out *o, unsigned len, unsigned kind, const void *data, unsigned fill)
{
	e16(o, len);
	e8(o, kind);
	if (!(kind & FSEG_WRITE)) {
		e8(o, fill);
		for (unsigned i = 0; i < fill; i++)
			e8(o, data ? ((const uint8_t *)data)[i] : (uint8_t)i);
	}
}

static void chain_begin(struct out *o, unsigned q, unsigned n, unsigned how)
{
	e8(o, FOP_CHAIN);
	e8(o, q);
	e8(o, n - 1);
	e8(o, how);
}

/* A request the way block-like devices take it: 16-byte header, data, one status byte. */
static void request(struct out *o, unsigned q, uint32_t type, uint64_t sector, unsigned data_len,
		    bool data_in, unsigned how)
{
	uint8_t hdr[16] = {0};

	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	chain_begin(o, q, data_len ? 3 : 2, how);
	seg(o, 16, 0, hdr, 16);
	if (data_len)
		seg(o, data_len, data_in ? FSEG_WRITE : 0, NULL, data_in ? 0 : 32);
	seg(o, 1, FSEG_WRITE, NULL, 0);
}

static void drain(struct out *o, unsigned q)
{
	e8(o, FOP_POLL);
	e8(o, 1);
	e8(o, FOP_RING_CTL);
	e8(o, q);
	e8(o, 2);
	e16(o, 0);
	e8(o, FOP_INT_ACK);
}

static void advance(struct out *o, unsigned n, unsigned exp)
{
	e8(o, FOP_ADVANCE);
	e8(o, n);
	e8(o, exp);
}

static void virtio_seeds(void)
{
	struct out o;

	/* One writable buffer per queue. */
	header(&o, 0, 0);
	start(&o, 0, FLAY_PACKED);
	for (unsigned q = 0; q < queues(); q++) {
		chain_begin(&o, q, 1, 0);
		seg(&o, 256, FSEG_WRITE, NULL, 0);
		drain(&o, q);
	}
	save(&o, "write-buffer");

	/* EVENT_IDX + INDIRECT, every device feature, indirect and direct chains, used_event. */
	header(&o, 0, 0);
	start(&o, FNEG_EVENT_IDX | FNEG_INDIRECT | FNEG_DEVICE_BITS, FLAY_PAGE);
	for (unsigned q = 0; q < queues(); q++) {
		e8(&o, FOP_RING_CTL);
		e8(&o, q);
		e8(&o, 0);
		e16(&o, 1);
		request(&o, q, 0, 0, 512, true, FCH_INDIRECT);
		request(&o, q, 0, 1, 4096, true, 0);
		drain(&o, q);
	}
	save(&o, "features-indirect");

	/* Block-like requests: in, out, flush, get id, discard, an unknown type, past the end. */
	header(&o, 0, 0);
	start(&o, FNEG_INDIRECT | FNEG_DEVICE_BITS, FLAY_PACKED);
	request(&o, 0, 1, 0, 512, false, 0);
	drain(&o, 0);
	request(&o, 0, 0, 0, 512, true, 0);
	drain(&o, 0);
	request(&o, 0, 4, 0, 0, false, 0);
	drain(&o, 0);
	request(&o, 0, 8, 0, 20, true, FCH_INDIRECT);
	drain(&o, 0);
	request(&o, 0, 11, 0, 16, false, 0);
	drain(&o, 0);
	request(&o, 0, 0xff, 0, 512, true, 0);
	drain(&o, 0);
	request(&o, 0, 0, 1ULL << 40, 512, true, 0);
	drain(&o, 0);
	save(&o, "requests");

	/* Small option values (rate limits), many buffers, the clock moving, timers firing. */
	header_small(&o, 128);
	start(&o, FNEG_EVENT_IDX, FLAY_PACKED);
	for (unsigned i = 0; i < 6; i++) {
		request(&o, 0, i & 1, i, 512, !(i & 1), 0);
		advance(&o, 100, 6);
		drain(&o, 0);
	}
	advance(&o, 9, 9);
	drain(&o, 0);
	save(&o, "rate-limited");

	/* Resets with buffers in flight: the driver's, then the VM's. */
	header_small(&o, 16);
	start(&o, 0, FLAY_PACKED);
	request(&o, 0, 0, 0, 4096, true, 0);
	request(&o, 0, 1, 8, 512, false, FCH_NOKICK);
	e8(&o, FOP_RESET);
	e8(&o, 0);
	start(&o, FNEG_INDIRECT, FLAY_RAM1);
	request(&o, 0, 1, 8, 512, false, FCH_INDIRECT);
	e8(&o, FOP_RESET);
	e8(&o, 1);
	save(&o, "resets");

	/* Broken rules: a loop, an index jump, buffers at and across the ends of RAM. */
	header(&o, 0, 0);
	start(&o, FNEG_INDIRECT, FLAY_DESC_AT_END);
	chain_begin(&o, 0, 2, 0);
	seg(&o, 64, FSEG_WRITE | (FPL_RAM0_END << 1), NULL, 0);
	seg(&o, 64, FSEG_WRITE | (FPL_RAM1_END << 1), NULL, 0);
	e8(&o, FOP_DESC);
	e8(&o, 0);
	e16(&o, 5);
	e8(&o, FPL_ALLOC);
	e32(&o, 64);
	e16(&o, VQ_DESC_F_NEXT | VQ_DESC_F_WRITE);
	e16(&o, 5);
	e8(&o, FOP_PUBLISH);
	e8(&o, 0);
	e16(&o, 5);
	e8(&o, FOP_KICK);
	e8(&o, 0);
	e8(&o, 1);
	e8(&o, FOP_REG_READ);
	e8(&o, 15); /* Status: NEEDS_RESET */
	start(&o, 0, FLAY_USED_AT_END);
	e8(&o, FOP_AVAIL_IDX);
	e8(&o, 0);
	e16(&o, 1000);
	e8(&o, FOP_KICK);
	e8(&o, 0);
	e8(&o, 0);
	start(&o, 0, FLAY_STRADDLE);
	start(&o, 0, FLAY_OVERLAP);
	chain_begin(&o, 0, 1, 0);
	seg(&o, 64, FSEG_WRITE | (FPL_STRADDLE << 1), NULL, 0);
	save(&o, "broken-rules");

	/* Registers and config space, every offset. */
	header(&o, 0, 0);
	for (unsigned r = 0; r < 29; r++) {
		e8(&o, FOP_REG_READ);
		e8(&o, r);
	}
	for (unsigned off = 0; off < P->desc.virtio_config_size + 4; off += 4) {
		e8(&o, FOP_CONFIG);
		e16(&o, off);
		e8(&o, 2);
		e8(&o, 0);
		e64(&o, 0);
	}
	start(&o, FNEG_DEVICE_BITS, FLAY_PACKED);
	for (unsigned off = 0; off < P->desc.virtio_config_size; off++) {
		e8(&o, FOP_CONFIG);
		e16(&o, off);
		e8(&o, 0);
		e8(&o, 1);
		e64(&o, 0x5a);
	}
	save(&o, "config");
}

static void mmio_seeds(void)
{
	uint32_t size = P->desc.mmio_size;
	struct out o;

	header(&o, 0, 0);
	for (uint32_t off = 0; off < size && off < 64; off++) {
		e8(&o, FOP_MMIO_READ);
		e16(&o, off);
		e8(&o, 0);
	}
	e8(&o, FOP_MMIO_READ);
	e16(&o, size);
	e8(&o, 3); /* 4 bytes: window accesses are 1 + size % 8 bytes */
	save(&o, "reads");

	/*
	 * Aligned writes of each width to every offset, each read back: device registers are
	 * mostly 32-bit, so the fuzzer starts from accesses that reach a register's decoding
	 * (and only has to find the value: libFuzzer's comparison tracing solves constants).
	 */
	for (unsigned code = 1; code < 4; code++) {
		uint32_t width = 1u << code;
		char name[32];

		if (width > size)
			continue;
		header(&o, 0, 0);
		for (uint32_t off = 0; off + width <= size && off < 256; off += width) {
			e8(&o, FOP_MMIO_WRITE);
			e16(&o, off);
			e8(&o, (uint8_t)(width - 1));
			e64(&o, 1 + off / width);
			e8(&o, FOP_MMIO_READ);
			e16(&o, off);
			e8(&o, (uint8_t)(width - 1));
		}
		snprintf(name, sizeof(name), "writes-%u", 8 * width);
		save(&o, name);
	}

	for (unsigned v = 1; v < 4; v++) {
		char name[32];

		header(&o, v == 3 ? 1 : 0, 0);
		e8(&o, FOP_MMIO_WRITE);
		e16(&o, 0);
		e8(&o, 0);
		e64(&o, v);
		e8(&o, FOP_ADVANCE);
		e8(&o, 1);
		e8(&o, 9);
		e8(&o, FOP_POLL);
		e8(&o, 0);
		e8(&o, FOP_RESET);
		e8(&o, 1);
		e8(&o, FOP_REG_READ);
		e8(&o, 0);
		snprintf(name, sizeof(name), "write-%u", v);
		save(&o, name);
	}
}

int main(int argc, char **argv)
{
	const char *dirs[] = {EMBER_BUILD_ROOT "/plugins"};
	struct plugin *p;
	char err[512];
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: ember-fuzz-seeds PLUGIN|FILE.so OUTDIR\n");
		return 2;
	}
	rc = strchr(argv[1], '/') ? plugin_load_file(argv[1], &p, err, sizeof(err))
				  : plugin_load_by_name(argv[1], dirs, 1, &p, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "ember-fuzz-seeds: %s\n", err);
		return 1;
	}
	P = p;
	outdir = argv[2];
	if (p->desc.kind == EMBER_DEVICE_VIRTIO)
		virtio_seeds();
	else
		mmio_seeds();
	printf("ember-fuzz-seeds: %u seeds for %s in %s\n", written, p->desc.name, outdir);
	plugin_unload(p);
	return 0;
}
