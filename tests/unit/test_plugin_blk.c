/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-blk plugin through the harness, on a real temporary file and a real io_uring:
 * reads and writes, flush, discard and write-zeroes on the file's blocks, read-only, GET_ID,
 * every kind of malformed request, the rate limits on the fake clock, resets and leaks.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "driver_vq.h"
#include "harness.h"
#include "virtio/virtio_mmio.h"

#define F_VERSION_1    (1ULL << EMBER_VIRTIO_F_VERSION_1)
#define F_EVENT_IDX    (1ULL << EMBER_VIRTIO_F_EVENT_IDX)
#define F_RO	       (1ULL << 5)
#define F_FLUSH	       (1ULL << 9)
#define F_MQ	       (1ULL << 12)
#define F_DISCARD      (1ULL << 13)
#define F_WRITE_ZEROES (1ULL << 14)
#define T_IN	       0
#define T_OUT	       1
#define T_FLUSH	       4
#define T_GET_ID       8
#define T_DISCARD      11
#define T_WRITE_ZEROES 13
#define S_OK	       0
#define S_IOERR	       1
#define S_UNSUPP       2
#define NO_STATUS      0xee /* what the status byte holds before the device answers */
#define DISK_BYTES     (4u << 20)
#define MS	       1000000ULL

static struct harness h;
static struct driver_vq vq;
static char err[512];
static char path[64];

static void make_disk(uint8_t fill)
{
	int fd;
	uint8_t *buf = malloc(DISK_BYTES);

	snprintf(path, sizeof(path), "/tmp/ember-blk-test-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	memset(buf, fill, DISK_BYTES);
	cr_assert_eq(write(fd, buf, DISK_BYTES), (ssize_t)DISK_BYTES);
	cr_assert_eq(fsync(fd), 0);
	close(fd);
	free(buf);
}

static int create(const char *extra)
{
	char opts[1024];

	snprintf(opts, sizeof(opts), "path = \"%s\"; %s", path, extra ? extra : "");
	return harness_create(&h, "virtio-blk", opts, err, sizeof(err));
}

static uint64_t device_features(void)
{
	uint64_t f;

	harness_write32(&h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = harness_read32(&h, VIRTIO_MMIO_DEVICE_FEATURES);
	harness_write32(&h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)harness_read32(&h, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

/* A disk of 0x5a bytes, a device on it with `extra` options, queue 0 of 64 ready. */
static void start(const char *extra)
{
	harness_init(&h);
	make_disk(0x5a);
	cr_assert_eq(create(extra), 0, "%s", err);
	cr_assert(driver_negotiate(&h, device_features() & ~F_EVENT_IDX) &
		  VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 64);
	driver_ok(&h);
}

static void teardown(void)
{
	cr_expect_eq(harness_fini(&h), 0, "leaks; log:\n%s", h.log);
	if (path[0])
		unlink(path);
	path[0] = '\0';
}

static uint32_t config32(uint32_t off)
{
	return harness_read32(&h, VIRTIO_MMIO_CONFIG + off);
}

struct req {
	uint64_t hdr, data, status;
	uint32_t data_len;
};

/* Queues header + (data) + status on vq and kicks. data_write: the device writes the data. */
static struct req submit_on(struct driver_vq *q, uint32_t type, uint64_t sector, uint32_t data_len,
			    bool data_write)
{
	struct req r = {.data_len = data_len};
	struct driver_buf b[3];
	unsigned n = 0;
	uint8_t *hdr;

	r.hdr = harness_alloc(&h, 16, 8);
	hdr = harness_ptr(&h, r.hdr, 16);
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	b[n++] = (struct driver_buf){r.hdr, 16, false};
	if (data_len) {
		r.data = harness_alloc(&h, data_len, 8);
		b[n++] = (struct driver_buf){r.data, data_len, data_write};
	}
	r.status = harness_alloc(&h, 1, 1);
	*(uint8_t *)harness_ptr(&h, r.status, 1) = NO_STATUS;
	b[n++] = (struct driver_buf){r.status, 1, true};
	driver_vq_add(q, b, n);
	driver_vq_kick(q);
	return r;
}

static struct req submit(uint32_t type, uint64_t sector, uint32_t data_len, bool data_write)
{
	return submit_on(&vq, type, sector, data_len, data_write);
}

/* Polls the completion eventfd (real time: io_uring is real) until a used entry shows. */
static bool wait_used_tries(struct driver_vq *q, uint32_t *len, int tries)
{
	struct timespec t = {0, 100000};
	uint32_t id, dummy;

	for (int i = 0; i < tries; i++) {
		if (driver_vq_get_used(q, &id, len ? len : &dummy))
			return true;
		harness_poll(&h);
		nanosleep(&t, NULL);
	}
	return false;
}

static bool wait_used_on(struct driver_vq *q, uint32_t *len)
{
	return wait_used_tries(q, len, 20000);
}

/* A short look (~20 ms): for "nothing yet" checks and fake-clock loops. */
static bool peek_used(uint32_t *len)
{
	return wait_used_tries(&vq, len, 200);
}

static bool wait_used(uint32_t *len)
{
	return wait_used_on(&vq, len);
}

static uint8_t status_of(const struct req *r)
{
	return *(uint8_t *)harness_ptr(&h, r->status, 1);
}

/* Submits, waits, returns the status byte. */
static uint8_t run(uint32_t type, uint64_t sector, uint32_t data_len, bool data_write,
		   struct req *out)
{
	struct req r = submit(type, sector, data_len, data_write);

	cr_assert(wait_used(NULL), "no completion; log:\n%s", h.log);
	if (out)
		*out = r;
	return status_of(&r);
}

static void dwz_segment(struct req *r, uint64_t sector, uint32_t num, uint32_t flags)
{
	uint8_t *p = harness_ptr(&h, r->data, 16);

	memcpy(p, &sector, 8);
	memcpy(p + 8, &num, 4);
	memcpy(p + 12, &flags, 4);
}

/* Discard/write-zeroes need the segment in place before the kick: build by hand. */
static uint8_t run_dwz(uint32_t type, uint64_t sector, uint32_t num, uint32_t flags)
{
	struct driver_buf b[3];
	struct req r;
	uint8_t *hdr;

	r.hdr = harness_alloc(&h, 16, 8);
	hdr = harness_ptr(&h, r.hdr, 16);
	memcpy(hdr, &type, 4);
	r.data = harness_alloc(&h, 16, 8);
	dwz_segment(&r, sector, num, flags);
	r.status = harness_alloc(&h, 1, 1);
	b[0] = (struct driver_buf){r.hdr, 16, false};
	b[1] = (struct driver_buf){r.data, 16, false};
	b[2] = (struct driver_buf){r.status, 1, true};
	driver_vq_add(&vq, b, 3);
	driver_vq_kick(&vq);
	cr_assert(wait_used(NULL), "no completion; log:\n%s", h.log);
	return status_of(&r);
}

static void file_read(uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	cr_assert(fd >= 0);
	cr_assert_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static long long file_blocks(void)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	return (long long)st.st_blocks;
}

static bool needs_reset(void)
{
	return harness_read32(&h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET;
}

TestSuite(blk, .fini = teardown);

Test(blk, identity_features_and_config)
{
	uint64_t f;

	start("serial = \"abc\"; num_queues = 4;");
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_DEVICE_ID), 2);
	f = device_features();
	cr_assert_eq(f & (F_FLUSH | F_MQ | F_DISCARD | F_WRITE_ZEROES | F_RO),
		     F_FLUSH | F_MQ | F_DISCARD | F_WRITE_ZEROES);
	cr_assert(f & (1ULL << 1 | 1ULL << 2 | 1ULL << 6), "SIZE_MAX, SEG_MAX, BLK_SIZE");
	cr_assert_eq(config32(0), DISK_BYTES / 512, "capacity low");
	cr_assert_eq(config32(4), 0, "capacity high");
	cr_assert_eq(config32(12), 126, "seg_max");
	cr_assert_eq(config32(20), 512, "blk_size");
	cr_assert_eq(config32(32) >> 16, 4, "num_queues");
	cr_assert_eq(config32(40), 1, "max_discard_seg");
	cr_assert_eq(config32(56) & 0xff, 1, "write_zeroes_may_unmap");
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 3);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
}

Test(blk, write_then_read_round_trip)
{
	uint8_t pattern[8192], back[8192];
	struct req w, r;
	uint32_t len;

	start("");
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	w = submit(T_OUT, 8, sizeof(pattern), false);
	memcpy(harness_ptr(&h, w.data, sizeof(pattern)), pattern, sizeof(pattern));
	/* The kick happened before the data was in place: only the status counts here. */
	cr_assert(wait_used(NULL));
	cr_assert_eq(status_of(&w), S_OK);
	/* Write again now that the data is there (same sector). */
	{
		struct driver_buf b[3];

		b[0] = (struct driver_buf){w.hdr, 16, false};
		b[1] = (struct driver_buf){w.data, sizeof(pattern), false};
		b[2] = (struct driver_buf){w.status, 1, true};
		driver_vq_add(&vq, b, 3);
		driver_vq_kick(&vq);
		cr_assert(wait_used(&len));
		cr_assert_eq(len, 1);
	}
	file_read(8 * 512, back, sizeof(back));
	cr_assert_arr_eq(back, pattern, sizeof(pattern), "the file holds what the guest wrote");
	r = submit(T_IN, 8, sizeof(back), true);
	cr_assert(wait_used(&len));
	cr_assert_eq(status_of(&r), S_OK);
	cr_assert_eq(len, sizeof(back) + 1, "data + status");
	cr_assert_arr_eq(harness_ptr(&h, r.data, sizeof(back)), pattern, sizeof(pattern));
	/* The untouched part of the disk reads as the file's fill byte. */
	r = submit(T_IN, 0, 512, true);
	cr_assert(wait_used(NULL));
	cr_assert_eq(((uint8_t *)harness_ptr(&h, r.data, 512))[511], 0x5a);
}

Test(blk, read_split_over_descriptors_and_indirect)
{
	struct driver_buf b[4];
	uint64_t hdr, st;
	uint32_t type = T_IN, len;
	uint64_t sector = 1;

	start("");
	hdr = harness_alloc(&h, 16, 8);
	memcpy(harness_ptr(&h, hdr, 16), &type, 4);
	memcpy((uint8_t *)harness_ptr(&h, hdr, 16) + 8, &sector, 8);
	st = harness_alloc(&h, 1, 1);
	b[0] = (struct driver_buf){hdr, 16, false};
	b[1] = (struct driver_buf){harness_alloc(&h, 512, 8), 512, true};
	b[2] = (struct driver_buf){harness_alloc(&h, 1024, 8), 1024, true};
	b[3] = (struct driver_buf){st, 1, true};
	driver_vq_add_indirect(&vq, b, 4);
	driver_vq_kick(&vq);
	cr_assert(wait_used(&len));
	cr_assert_eq(len, 1537);
	cr_assert_eq(*(uint8_t *)harness_ptr(&h, st, 1), S_OK);
	cr_assert_eq(((uint8_t *)harness_ptr(&h, b[2].gpa, 1024))[1023], 0x5a);
}

Test(blk, flush_completes_after_writes)
{
	start("");
	cr_assert_eq(run(T_OUT, 0, 4096, false, NULL), S_OK);
	cr_assert_eq(run(T_FLUSH, 0, 0, false, NULL), S_OK);
	/* A flush queued right behind writes in one kick: all complete, the flush last-ish. */
	submit(T_OUT, 16, 4096, false);
	submit(T_OUT, 24, 4096, false);
	{
		struct req f = submit(T_FLUSH, 0, 0, false);

		for (int i = 0; i < 3; i++)
			cr_assert(wait_used(NULL));
		cr_assert_eq(status_of(&f), S_OK);
	}
}

Test(blk, unsafe_cache_flush_is_immediate)
{
	struct req f;

	start("cache = \"unsafe\";");
	f = submit(T_FLUSH, 0, 0, false);
	/* Answered inside the kick: no I/O, no poll needed. */
	cr_assert(driver_vq_get_used(&vq, &(uint32_t){0}, &(uint32_t){0}));
	cr_assert_eq(status_of(&f), S_OK);
}

Test(blk, discard_punches_a_hole)
{
	long long before, after;
	uint8_t back[512];

	start("");
	before = file_blocks();
	cr_assert_eq(run_dwz(T_DISCARD, 0, (2u << 20) / 512, 0), S_OK, "%s", h.log);
	after = file_blocks();
	cr_assert(after <= before - (2 << 20) / 512 + 16, "st_blocks %lld -> %lld", before, after);
	file_read(4096, back, sizeof(back));
	cr_assert_eq(back[0], 0);
}

Test(blk, write_zeroes_zeroes_and_may_unmap)
{
	uint8_t back[4096];
	long long before;

	start("");
	cr_assert_eq(run_dwz(T_WRITE_ZEROES, 8, 8, 0), S_OK);
	file_read(8 * 512, back, sizeof(back));
	for (size_t i = 0; i < sizeof(back); i++)
		cr_assert_eq(back[i], 0);
	file_read(16 * 512, back, 1);
	cr_assert_eq(back[0], 0x5a, "only the range is zeroed");
	before = file_blocks();
	cr_assert_eq(run_dwz(T_WRITE_ZEROES, 2048, 2048, 1 /* UNMAP */), S_OK);
	cr_assert(file_blocks() <= before - 2048 + 16, "unmap punched a hole");
}

Test(blk, discard_disabled_and_bad_segments)
{
	start("discard = false;");
	cr_assert_eq(device_features() & F_DISCARD, 0);
	cr_assert_eq(config32(56) & 0xff, 0, "write_zeroes_may_unmap");
	cr_assert_eq(run_dwz(T_DISCARD, 0, 8, 0), S_UNSUPP);
	cr_assert_eq(run_dwz(T_WRITE_ZEROES, 0, 8, 0x2), S_UNSUPP, "unknown flag");
	cr_assert_eq(run_dwz(T_WRITE_ZEROES, DISK_BYTES / 512 - 4, 8, 0), S_IOERR, "past the end");
	cr_assert_eq(run_dwz(T_WRITE_ZEROES, 0, 0, 0), S_OK, "empty range");
	cr_assert_eq(run(T_WRITE_ZEROES, 0, 32, false, NULL), S_IOERR, "two segments");
	cr_assert_eq(run(T_WRITE_ZEROES, 0, 8, false, NULL), S_IOERR, "half a segment");
	cr_assert_not(needs_reset());
}

Test(blk, discard_with_unmap_flag_is_unsupported)
{
	start("");
	cr_assert_eq(run_dwz(T_DISCARD, 0, 8, 1), S_UNSUPP);
}

Test(blk, read_only_serves_reads_and_refuses_writes)
{
	uint8_t back[512];

	start("read_only = true;");
	cr_assert(device_features() & F_RO);
	cr_assert_eq(device_features() & (F_DISCARD | F_WRITE_ZEROES), 0);
	cr_assert_eq(run(T_IN, 0, 512, true, NULL), S_OK);
	cr_assert_eq(run(T_OUT, 0, 512, false, NULL), S_IOERR);
	cr_assert_eq(run_dwz(T_WRITE_ZEROES, 0, 8, 0), S_IOERR);
	cr_assert_eq(run(T_FLUSH, 0, 0, false, NULL), S_OK);
	file_read(0, back, sizeof(back));
	cr_assert_eq(back[0], 0x5a, "the file is untouched");
}

Test(blk, get_id_returns_the_serial)
{
	struct req r;
	uint32_t len;

	start("serial = \"ember-disk-012345678\";"); /* exactly 20 bytes: no terminator */
	r = submit(T_GET_ID, 0, 20, true);
	cr_assert(driver_vq_get_used(&vq, &(uint32_t){0}, &len));
	cr_assert_eq(status_of(&r), S_OK);
	cr_assert_eq(len, 21);
	cr_assert_eq(memcmp(harness_ptr(&h, r.data, 20), "ember-disk-012345678", 20), 0);
}

/*
 * The used length is what the device wrote from the start of the writable part (virtio 1.x
 * 2.7.8: "the device MUST write at least len bytes ... beginning at the first device-writable
 * buffer"): the id bytes, then the status byte when it directly follows them.
 */
static uint32_t get_id_len(uint32_t buf_len)
{
	struct req r = submit(T_GET_ID, 0, buf_len, true);
	uint32_t len;

	cr_assert(driver_vq_get_used(&vq, &(uint32_t){0}, &len));
	cr_assert_eq(status_of(&r), S_OK);
	return len;
}

Test(blk, get_id_used_length_counts_the_bytes_written)
{
	struct req r;
	uint32_t len;

	start("serial = \"short\";");
	cr_assert_eq(get_id_len(20), 21, "20 bytes (\"short\", NUL-padded) and the status");
	cr_assert_eq(get_id_len(8), 9, "a short buffer: 8 id bytes and the status");
	cr_assert_eq(get_id_len(4096), 20,
		     "a long buffer: the 20 id bytes, not the unwritten byte 20 (status at 4096)");
	r = submit(T_GET_ID, 0, 64, true);
	cr_assert(driver_vq_get_used(&vq, &(uint32_t){0}, &len));
	cr_assert_eq(memcmp(harness_ptr(&h, r.data, 20), "short\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20),
		     0);
	cr_assert_eq(len, 20);
}

Test(blk, failed_request_reports_only_the_status_byte_written)
{
	struct req r;
	uint32_t len;

	start("");
	/* A read past the end: nothing of the data part is written, the status is at its end. */
	r = submit(T_IN, DISK_BYTES / 512, 512, true);
	cr_assert(wait_used(&len));
	cr_assert_eq(status_of(&r), S_IOERR);
	cr_assert_eq(len, 0, "the data part was not written");
	/* A failed write: the status byte is the whole writable part. */
	r = submit(T_OUT, DISK_BYTES / 512, 512, false);
	cr_assert(wait_used(&len));
	cr_assert_eq(status_of(&r), S_IOERR);
	cr_assert_eq(len, 1);
}

Test(blk, sectors_past_the_end_are_io_errors)
{
	start("");
	cr_assert_eq(run(T_IN, DISK_BYTES / 512 - 1, 512, true, NULL), S_OK, "last sector");
	cr_assert_eq(run(T_IN, DISK_BYTES / 512, 512, true, NULL), S_IOERR);
	cr_assert_eq(run(T_IN, DISK_BYTES / 512 - 1, 1024, true, NULL), S_IOERR, "spans the end");
	cr_assert_eq(run(T_OUT, UINT64_MAX / 256, 512, false, NULL), S_IOERR, "overflowing sector");
	cr_assert_eq(run(T_IN, 0, 100, true, NULL), S_IOERR, "not whole sectors");
	cr_assert_not(needs_reset());
}

Test(blk, unknown_type_is_unsupported)
{
	start("");
	cr_assert_eq(run(99, 0, 0, false, NULL), S_UNSUPP);
	cr_assert_eq(run(T_IN + 2 /* legacy SCSI */, 0, 0, false, NULL), S_UNSUPP);
	cr_assert_not(needs_reset());
}

/* Raw chains: each breaks the request structure, so the device asks for a reset. */
static void expect_reset_for(const struct driver_buf *b, unsigned n, const char *why)
{
	uint32_t len;

	driver_vq_add(&vq, b, n);
	driver_vq_kick(&vq);
	cr_assert(wait_used(&len), "the chain still comes back");
	cr_assert(needs_reset(), "%s: no NEEDS_RESET", why);
	cr_assert(harness_log_contains(&h, why), "%s not logged:\n%s", why, h.log);
}

Test(blk, short_header_needs_reset)
{
	struct driver_buf b[2];

	start("");
	b[0] = (struct driver_buf){harness_alloc(&h, 8, 8), 8, false};
	b[1] = (struct driver_buf){harness_alloc(&h, 1, 1), 1, true};
	expect_reset_for(b, 2, "without its 16-byte header");
}

Test(blk, no_status_byte_needs_reset)
{
	struct driver_buf b = {0, 16, false};

	start("");
	b.gpa = harness_alloc(&h, 16, 8);
	expect_reset_for(&b, 1, "without a status byte");
}

Test(blk, read_with_readable_data_needs_reset)
{
	struct driver_buf b[3];

	start("");
	b[0] = (struct driver_buf){harness_alloc(&h, 16, 8), 16, false}; /* type 0: IN */
	b[1] = (struct driver_buf){harness_alloc(&h, 512, 8), 512, false};
	b[2] = (struct driver_buf){harness_alloc(&h, 1, 1), 1, true};
	expect_reset_for(b, 3, "read request with device-readable data");
}

Test(blk, write_with_writable_data_needs_reset)
{
	struct driver_buf b[3];
	uint32_t type = T_OUT;

	start("");
	b[0] = (struct driver_buf){harness_alloc(&h, 16, 8), 16, false};
	memcpy(harness_ptr(&h, b[0].gpa, 4), &type, 4);
	b[1] = (struct driver_buf){harness_alloc(&h, 512, 8), 512, true};
	b[2] = (struct driver_buf){harness_alloc(&h, 1, 1), 1, true};
	expect_reset_for(b, 3, "write request with device-writable data");
}

Test(blk, device_recovers_after_reset)
{
	struct driver_buf b = {0, 16, false};

	start("");
	b.gpa = harness_alloc(&h, 16, 8);
	expect_reset_for(&b, 1, "without a status byte");
	cr_assert(driver_negotiate(&h, F_VERSION_1 | F_FLUSH) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 64);
	driver_ok(&h);
	cr_assert_not(needs_reset());
	cr_assert_eq(run(T_IN, 0, 512, true, NULL), S_OK);
}

Test(blk, several_queues)
{
	struct driver_vq q2;
	struct req r;

	harness_init(&h);
	make_disk(0x5a);
	cr_assert_eq(create("num_queues = 4;"), 0, "%s", err);
	cr_assert(driver_negotiate(&h, F_VERSION_1 | F_MQ) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 64);
	driver_vq_setup(&h, &q2, 2, 32);
	driver_ok(&h);
	r = submit_on(&q2, T_IN, 3, 512, true);
	cr_assert(wait_used_on(&q2, NULL));
	cr_assert_eq(status_of(&r), S_OK);
	cr_assert_eq(run(T_IN, 0, 512, true, NULL), S_OK);
}

Test(blk, ops_rate_limit_on_the_fake_clock)
{
	struct req r[4];
	uint32_t len;

	start("ops_per_sec = 10; ops_burst = 2;");
	for (int i = 0; i < 4; i++)
		r[i] = submit(T_IN, (uint64_t)i, 512, true);
	cr_assert(wait_used(&len));
	cr_assert(wait_used(&len), "the burst serves two at once");
	cr_assert_eq(status_of(&r[2]), NO_STATUS, "the third waits for a token");
	cr_assert_eq(harness_callbacks(&h), 2, "the completion watch and a refill timer");
	harness_advance(&h, 50 * MS);
	harness_poll(&h);
	cr_assert_eq(status_of(&r[2]), NO_STATUS);
	harness_advance(&h, 51 * MS);
	cr_assert(wait_used(&len), "a token after 100 ms");
	cr_assert_eq(status_of(&r[2]), S_OK);
	cr_assert_eq(status_of(&r[3]), NO_STATUS);
	harness_advance(&h, 100 * MS);
	cr_assert(wait_used(&len));
	cr_assert_eq(status_of(&r[3]), S_OK);
}

Test(blk, bandwidth_limit_on_the_fake_clock)
{
	uint64_t t0;
	int done = 0;
	uint32_t len;

	/* 64 KiB/s, bucket of 8 KiB: 16 reads of 8 KiB (128 KiB) take about 2 s (the first is
	 * free). */
	start("bandwidth_bytes_per_sec = \"64K\"; bandwidth_burst_bytes = \"8K\";");
	t0 = h.now_ns;
	for (int i = 0; i < 16; i++)
		submit(T_IN, (uint64_t)i * 16, 8192, true);
	while (done < 16) {
		if (peek_used(&len))
			done++;
		else
			harness_advance(&h, 10 * MS);
		if (h.now_ns - t0 > 5000 * MS)
			break;
	}
	cr_assert_eq(done, 16);
	cr_assert(h.now_ns - t0 >= 1800 * MS && h.now_ns - t0 <= 2000 * MS, "took %llu ms",
		  (unsigned long long)((h.now_ns - t0) / MS));
}

Test(blk, reset_and_destroy_with_requests_held_leak_nothing)
{
	start("ops_per_sec = 1; ops_burst = 1;");
	cr_assert_eq(run(T_IN, 0, 512, true, NULL), S_OK);
	submit(T_IN, 1, 512, true); /* waits for a token (back in the ring) */
	harness_write32(&h, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(harness_callbacks(&h), 1, "the timer is gone, the watch stays");
	cr_assert(driver_negotiate(&h, F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 64);
	driver_ok(&h);
	harness_advance(&h, 1000 * MS); /* the token spent before the reset comes back */
	cr_assert_eq(run(T_IN, 0, 512, true, NULL), S_OK);
	submit(T_IN, 1, 512, true); /* waits again when destroy comes: teardown checks leaks */
	submit(T_IN, 2, 512, true);
}

/* Resets the device the way a driver does (Status = 0) and brings queue 0 (of size) back. */
static void guest_reset(uint16_t size)
{
	harness_write32(&h, VIRTIO_MMIO_STATUS, 0);
	cr_assert(driver_negotiate(&h, device_features() & ~F_EVENT_IDX) &
		  VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, size);
	driver_ok(&h);
}

/* The buckets belong to the device, not to the driver's session: a reset grants no tokens. */
Test(blk, reset_keeps_the_ops_bucket_level)
{
	struct req r;
	uint32_t len;

	start("ops_per_sec = 10; ops_burst = 1;");
	cr_assert_eq(run(T_IN, 0, 512, true, NULL), S_OK, "the burst");
	guest_reset(64);
	r = submit(T_IN, 1, 512, true);
	cr_assert_not(peek_used(&len), "a reset refilled the bucket");
	cr_assert_eq(status_of(&r), NO_STATUS);
	harness_advance(&h, 101 * MS);
	cr_assert(wait_used(&len), "the token earned after 100 ms");
	cr_assert_eq(status_of(&r), S_OK);
}

Test(blk, reset_keeps_the_bandwidth_bucket_level)
{
	struct req r;
	uint32_t len;

	/* 64 KiB/s, 8 KiB bucket: a 64 KiB read leaves the bucket 56 KiB in debt (~0.9 s). */
	start("bandwidth_bytes_per_sec = \"64K\"; bandwidth_burst_bytes = \"8K\";");
	cr_assert_eq(run(T_IN, 0, 65536, true, NULL), S_OK);
	for (int i = 0; i < 5; i++)
		guest_reset(64);
	r = submit(T_IN, 0, 512, true);
	harness_advance(&h, 800 * MS);
	cr_assert_not(peek_used(&len), "resets paid the debt");
	harness_advance(&h, 100 * MS);
	cr_assert(wait_used(&len));
	cr_assert_eq(status_of(&r), S_OK);
}

/* WRITE_ZEROES and DISCARD cost what a write of their range costs (as in QEMU). */
static void expect_dwz_charged(uint32_t type)
{
	struct req r;
	uint32_t len;

	/* 64 KiB/s, 8 KiB bucket: 64 KiB of range leave the bucket 56 KiB in debt (~0.9 s). */
	start("bandwidth_bytes_per_sec = \"64K\"; bandwidth_burst_bytes = \"8K\";");
	cr_assert_eq(run_dwz(type, 0, 65536 / 512, 0), S_OK, "a full bucket serves it");
	r = submit(T_IN, 1024, 512, true);
	harness_advance(&h, 800 * MS);
	cr_assert_not(peek_used(&len), "type %u cost no bandwidth", type);
	cr_assert_eq(status_of(&r), NO_STATUS);
	harness_advance(&h, 100 * MS);
	cr_assert(wait_used(&len));
	cr_assert_eq(status_of(&r), S_OK);
}

Test(blk, write_zeroes_costs_bandwidth)
{
	expect_dwz_charged(T_WRITE_ZEROES);
}

Test(blk, discard_costs_bandwidth)
{
	expect_dwz_charged(T_DISCARD);
}

/* A 2 GiB write-zeroes (the most one request may ask) is paid for like a 2 GiB write. */
Test(blk, huge_write_zeroes_is_paid_for)
{
	struct req r;
	uint32_t len;

	harness_init(&h);
	make_disk(0x5a);
	cr_assert_eq(truncate(path, 3ULL << 30), 0);
	cr_assert_eq(create("bandwidth_bytes_per_sec = \"1G\";"), 0, "%s", err);
	cr_assert(driver_negotiate(&h, device_features() & ~F_EVENT_IDX) &
		  VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 64);
	driver_ok(&h);
	cr_assert_eq(run_dwz(T_WRITE_ZEROES, 0, 1u << 22, 1 /* UNMAP: a hole, not 2 GiB */), S_OK,
		     "%s", h.log);
	r = submit(T_IN, 0, 512, true);
	harness_advance(&h, 1900 * MS);
	cr_assert_not(peek_used(&len), "2 GiB at 1 GiB/s is free");
	harness_advance(&h, 100 * MS);
	cr_assert(wait_used(&len));
	cr_assert_eq(status_of(&r), S_OK);
}

Test(blk, destroy_with_io_in_flight_waits_and_frees)
{
	start("");
	for (int i = 0; i < 16; i++)
		submit(T_OUT, (uint64_t)i * 8, 4096, false);
	/* No poll: the completions are still in the ring when teardown destroys the device. */
}

/*
 * A driver owns at most `size` chains of its queue at a time, each with its own head; a head
 * made available again while the device still holds it is how a guest would get more requests
 * in flight than the queue size it chose. The device refuses it (NEEDS_RESET).
 */
Test(blk, head_made_available_twice_needs_reset)
{
	struct driver_buf b[3];
	uint16_t head;
	uint32_t type = T_IN;

	start("");
	b[0] = (struct driver_buf){harness_alloc(&h, 16, 8), 16, false};
	memcpy(harness_ptr(&h, b[0].gpa, 4), &type, 4);
	b[1] = (struct driver_buf){harness_alloc(&h, 512, 8), 512, true};
	b[2] = (struct driver_buf){harness_alloc(&h, 1, 1), 1, true};
	head = driver_vq_add(&vq, b, 3);
	for (int i = 0; i < 7; i++)
		driver_vq_publish(&vq, head);
	driver_vq_kick(&vq);
	cr_assert(needs_reset(), "8 requests in flight on one head");
	cr_assert(harness_log_contains(&h, "already in flight"), "%s", h.log);
	/* The device works again after the driver's reset. */
	guest_reset(64);
	cr_assert_eq(run(T_IN, 0, 512, true, NULL), S_OK);
}

/* The plugin's io_uring fd (the only one in this test process). */
static int ring_fd(void)
{
	char link[64], target[64];
	int found = -1;

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "io_uring")) {
			cr_assert_eq(found, -1, "two io_urings");
			found = fd;
		}
	}
	cr_assert(found >= 0, "no io_uring fd");
	return found;
}

/*
 * destroy must never return with I/O in flight, even when io_uring_enter fails with something
 * other than EINTR: here the ring's fd number is made to name /dev/null (the ring itself lives
 * on through its mappings), so every io_uring_enter fails with EOPNOTSUPP.
 */
Test(blk, destroy_waits_for_io_when_io_uring_enter_fails)
{
	int null_fd;

	start("");
	for (int i = 0; i < 16; i++) /* submitted: done, or still running in the kernel */
		submit(T_OUT, (uint64_t)i * 8, 4096, false);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	cr_assert(null_fd >= 0);
	cr_assert(dup2(null_fd, ring_fd()) >= 0);
	close(null_fd);
	for (int i = 0; i < 4; i++) /* prepared, never submitted */
		submit(T_IN, (uint64_t)i, 512, true);
	cr_assert(harness_log_contains(&h, "io_uring_submit"), "%s", h.log);
	cr_assert_eq(harness_destroy(&h), 0, "destroy left chains behind; log:\n%s", h.log);
}

/* queue_size and num_queues are what the guest sees: QueueNumMax, and the queues that exist. */
static void start_small(const char *extra, uint32_t size)
{
	harness_init(&h);
	make_disk(0x5a);
	cr_assert_eq(create(extra), 0, "%s", err);
	cr_assert(driver_negotiate(&h, device_features() & ~F_EVENT_IDX) &
		  VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, size);
	driver_ok(&h);
}

Test(blk, queue_size_and_num_queues_are_what_the_guest_sees)
{
	struct req r;
	uint32_t len;

	start_small("queue_size = 4; num_queues = 2;", 4);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 4);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 4);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "no third queue");
	/* A 4-entry ring carries requests one after another. */
	for (int i = 0; i < 6; i++) {
		r = submit(T_IN, (uint64_t)i, 512, true);
		cr_assert(wait_used(&len), "request %d completes", i);
		cr_assert_eq(status_of(&r), S_OK);
	}
}

Test(blk, queue_size_must_be_a_power_of_two)
{
	harness_init(&h);
	make_disk(0x5a);
	cr_assert_neq(create("queue_size = 6;"), 0);
	cr_assert(strstr(h.log, "power of two"), "log:\n%s", h.log);
}

/*
 * Linux's request shapes (drivers/block/virtio_blk.c): the header, up to seg_max data segments
 * and the status byte in one chain. With INDIRECT_DESC (ember always offers it) Linux puts them
 * all in one indirect table behind a single ring descriptor; without it, in the ring itself.
 * ember's walker refuses a chain longer than the queue size (the indirect descriptor and its
 * table's entries both count), so seg_max must leave room for both shapes.
 */
static void linux_shape(uint32_t type, uint32_t nseg, uint32_t seg_bytes, bool indirect,
			uint64_t *data)
{
	struct driver_buf *b = calloc(nseg + 2, sizeof(*b));
	uint64_t hdr = harness_alloc(&h, 16, 8), sector = 8, st = harness_alloc(&h, 1, 1);
	uint32_t len;

	cr_assert(b);
	memcpy(harness_ptr(&h, hdr, 16), &type, 4);
	memcpy((uint8_t *)harness_ptr(&h, hdr, 16) + 8, &sector, 8);
	*(uint8_t *)harness_ptr(&h, st, 1) = NO_STATUS;
	b[0] = (struct driver_buf){hdr, 16, false};
	for (uint32_t i = 0; i < nseg; i++)
		b[1 + i] = (struct driver_buf){data[i], seg_bytes, type == T_IN};
	b[nseg + 1] = (struct driver_buf){st, 1, true};
	if (indirect)
		driver_vq_add_indirect(&vq, b, nseg + 2);
	else
		driver_vq_add(&vq, b, nseg + 2);
	driver_vq_kick(&vq);
	cr_assert_not(needs_reset(), "%s of %u segments (%s) on a queue of %u: NEEDS_RESET\n%s",
		      type == T_IN ? "read" : "write", nseg, indirect ? "indirect" : "direct",
		      vq.size, h.log);
	cr_assert(wait_used(&len), "no completion; log:\n%s", h.log);
	cr_assert_eq(*(uint8_t *)harness_ptr(&h, st, 1), S_OK);
	cr_assert_eq(len, type == T_IN ? nseg * seg_bytes + 1 : 1);
	free(b);
}

/* On a queue of qsize: seg_max as the guest reads it, then its largest requests both ways. */
static uint32_t largest_requests_are_served(uint32_t qsize)
{
	const uint32_t seg_bytes = 4096;
	char opts[64];
	uint64_t *data;
	uint32_t seg_max;

	snprintf(opts, sizeof(opts), "queue_size = %u;", qsize);
	start_small(opts, (uint16_t)qsize);
	seg_max = config32(12);
	cr_assert(seg_max >= 1 && seg_max <= 126, "seg_max %u", seg_max);
	data = calloc(seg_max, sizeof(*data));
	cr_assert(data);
	for (uint32_t i = 0; i < seg_max; i++) {
		data[i] = harness_alloc(&h, seg_bytes, 4096);
		memset(harness_ptr(&h, data[i], seg_bytes), (int)(i + 1), seg_bytes);
	}
	for (int indirect = 0; indirect < 2; indirect++) {
		linux_shape(T_OUT, seg_max, seg_bytes, indirect, data);
		for (uint32_t i = 0; i < seg_max; i++)
			memset(harness_ptr(&h, data[i], seg_bytes), 0, seg_bytes);
		linux_shape(T_IN, seg_max, seg_bytes, indirect, data);
		for (uint32_t i = 0; i < seg_max; i++)
			cr_assert_eq(
			    ((uint8_t *)harness_ptr(&h, data[i], seg_bytes))[seg_bytes - 1],
			    (uint8_t)(i + 1), "segment %u read back", i);
	}
	free(data);
	return seg_max;
}

Test(blk, largest_requests_fit_the_smallest_queue)
{
	cr_assert_eq(largest_requests_are_served(4), 1);
}

Test(blk, largest_requests_fit_a_queue_of_128)
{
	cr_assert_eq(largest_requests_are_served(128), 125);
}

Test(blk, largest_requests_fit_a_queue_of_8)
{
	cr_assert_eq(largest_requests_are_served(8), 5);
}

Test(blk, seg_max_is_capped_on_the_largest_queue)
{
	cr_assert_eq(largest_requests_are_served(256), 126);
}

Test(blk, queue_too_small_for_a_request_is_refused)
{
	harness_init(&h);
	make_disk(0x5a);
	cr_assert_eq(create("queue_size = 2;"), -1);
	cr_assert(strstr(err, "2 is outside 4..256"), "%s", err);
}

Test(blk, config_errors_name_the_device_and_path)
{
	harness_init(&h);
	snprintf(path, sizeof(path), "/nonexistent/ember-disk.img");
	cr_assert_eq(create(""), -1);
	cr_assert(strstr(err, "virtio-blk.0"), "%s", err);
	cr_assert(harness_log_contains(&h, "virtio-blk.0: path \"/nonexistent/ember-disk.img\": "
					   "cannot open for reading and writing: No such file"),
		  "%s", h.log);
	path[0] = '\0';
	make_disk(0);
	cr_assert_eq(create("serial = \"this-serial-is-too-long-for-virtio\";"), -1);
	cr_assert(harness_log_contains(&h, "longer than 20 bytes"), "%s", h.log);
	cr_assert_eq(create("cache = \"none\";"), -1);
	cr_assert(harness_log_contains(&h, "must be \"writeback\" or \"unsafe\""), "%s", h.log);
	cr_assert_eq(create("queue_size = 512;"), -1);
	cr_assert(strstr(err, "512 is outside 4..256"), "%s", err);
	cr_assert_eq(create("num_queues = 0;"), -1);
	cr_assert_eq(harness_create(&h, "virtio-blk", "", err, sizeof(err)), -1,
		     "path is required");
}

Test(blk, directory_is_not_a_disk)
{
	harness_init(&h);
	cr_assert_eq(harness_create(&h, "virtio-blk", "path = \"/tmp\"; read_only = true;", err,
				    sizeof(err)),
		     -1);
	cr_assert(harness_log_contains(&h, "not a regular file or a block device"), "%s", h.log);
}

/* -- runtime controls: swap_backing, set_rate_limit, info -- */

static char reply[2048];
static char path2[64];

static int control(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int control(const char *name, const char *fmt, ...)
{
	char args[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return plugin_instance_control(h.dev, name, args, reply, sizeof(reply));
}

/* A value of the last reply ("name = 123;"); aborts the test when it is not there. */
static long long reply_value(const char *name)
{
	char key[64];
	const char *p;
	long long v;

	snprintf(key, sizeof(key), "%s = ", name);
	p = strstr(reply, key);
	cr_assert(p, "no %s in the reply:\n%s", name, reply);
	cr_assert_eq(sscanf(p + strlen(key), "%lld", &v), 1, "%s", reply);
	return v;
}

static long long info_value(const char *name)
{
	cr_assert_eq(control("info", "%s", ""), 0, "%s", reply);
	return reply_value(name);
}

/* A second image of `bytes` bytes of `fill` in path2 (removed by swap_teardown). */
static void make_second(uint64_t bytes, uint8_t fill)
{
	uint8_t *buf = malloc(bytes ? bytes : 1);
	int fd;

	snprintf(path2, sizeof(path2), "/tmp/ember-blk-swap-XXXXXX");
	fd = mkstemp(path2);
	cr_assert(fd >= 0);
	memset(buf, fill, bytes);
	cr_assert_eq(write(fd, buf, bytes), (ssize_t)bytes);
	close(fd);
	free(buf);
}

static void swap_teardown(void)
{
	teardown();
	if (path2[0])
		unlink(path2);
	path2[0] = '\0';
}

static uint32_t generation(void)
{
	return harness_read32(&h, VIRTIO_MMIO_CONFIG_GENERATION);
}

/* Polls (real time: the barrier is real I/O) until the swap in progress is done. */
static void wait_swap(void)
{
	struct timespec t = {0, 100000};

	for (int i = 0; i < 20000 && info_value("swap_pending"); i++) {
		harness_poll(&h);
		nanosleep(&t, NULL);
	}
	cr_assert_eq(info_value("swap_pending"), 0, "the swap never finished; log:\n%s", h.log);
}

static uint8_t read_byte(uint64_t sector)
{
	struct req r;

	cr_assert_eq(run(T_IN, sector, 512, true, &r), S_OK, "%s", h.log);
	return ((uint8_t *)harness_ptr(&h, r.data, 512))[0];
}

TestSuite(blk_control, .fini = swap_teardown);

Test(blk_control, swap_to_a_bigger_file_changes_the_capacity_and_tells_the_driver)
{
	uint32_t gen, isr;
	unsigned raises;

	start("");
	make_second(2 * DISK_BYTES, 0xa5);
	gen = generation();
	raises = h.irq_raises;
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path2), 0, "%s", reply);
	cr_assert_eq(reply_value("size_bytes"), 2 * DISK_BYTES);
	wait_swap();
	cr_assert_eq(config32(0), 2 * DISK_BYTES / 512, "capacity in config space");
	cr_assert_neq(generation(), gen, "config generation");
	cr_assert_gt(h.irq_raises, raises, "no interrupt");
	isr = harness_read32(&h, VIRTIO_MMIO_INTERRUPT_STATUS);
	cr_assert(isr & 0x2, "InterruptStatus %#x: no configuration change", isr);
	/* Reads come from the new file, past the old end too. */
	cr_assert_eq(read_byte(0), 0xa5);
	cr_assert_eq(read_byte(DISK_BYTES / 512 + 100), 0xa5);
	cr_assert_eq(run(T_IN, 2 * DISK_BYTES / 512, 512, true, NULL), S_IOERR, "the new end");
	cr_expect_eq(control("info", "%s", ""), 0);
	cr_assert(strstr(reply, path2), "%s", reply);
	cr_assert_eq(reply_value("size_bytes"), 2 * DISK_BYTES);
	cr_assert(harness_log_contains(&h, "replaced by"), "%s", h.log);
}

/*
 * Writes in flight when the swap comes finish on the old file (and are synced before it is
 * closed); a request made after the swap was asked for waits for it and runs on the new file.
 */
Test(blk_control, requests_in_flight_finish_on_the_old_file)
{
	struct req w[8], r;
	uint8_t back[4096];

	start("");
	make_second(DISK_BYTES, 0xa5);
	for (int i = 0; i < 8; i++)
		w[i] = submit(T_OUT, 64 + (uint64_t)i * 8, 4096, false); /* zeros */
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path2), 0, "%s", reply);
	cr_assert_eq(info_value("swap_pending"), 1, "the barrier completes only when polled");
	r = submit(T_IN, 64, 512, true);
	cr_assert_eq(status_of(&r), NO_STATUS, "a request started during the swap");
	for (int i = 0; i < 9; i++)
		cr_assert(wait_used(NULL), "request %d; log:\n%s", i, h.log);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(status_of(&w[i]), S_OK);
	cr_assert_eq(status_of(&r), S_OK);
	cr_assert_eq(((uint8_t *)harness_ptr(&h, r.data, 512))[0], 0xa5, "read the new file");
	file_read(64 * 512, back, sizeof(back));
	cr_assert_eq(back[0], 0, "the writes are in the old file");
	cr_assert_eq(back[4095], 0);
	cr_assert_not(harness_log_contains(&h, "fsync of"), "%s", h.log);
	wait_swap();
	{
		int fd = open(path2, O_RDONLY);

		cr_assert(fd >= 0);
		cr_assert_eq(pread(fd, back, sizeof(back), 64 * 512), (ssize_t)sizeof(back));
		close(fd);
		cr_assert_eq(back[0], 0xa5, "the new file is untouched");
	}
}

Test(blk_control, failed_swaps_keep_the_old_backing)
{
	uint32_t gen;

	start("");
	gen = generation();
	cr_assert_eq(control("swap_backing", "path = \"/nonexistent/ember-disk.img\";"), -ENOENT);
	cr_assert(strstr(reply, "swap_backing: path \"/nonexistent/ember-disk.img\": cannot open "
				"for reading and writing: No such file or directory"),
		  "%s", reply);
	cr_assert_eq(control("swap_backing", "path = \"/tmp\"; read_only = true;"), -EINVAL);
	cr_assert(strstr(reply, "not a regular file or a block device"), "%s", reply);
	cr_assert_eq(control("swap_backing", "%s", ""), -EINVAL);
	cr_assert(strstr(reply, "path: missing"), "%s", reply);
	cr_assert_eq(control("swap_backing", "path = 5;"), -EINVAL);
	/* The old file still serves, and the guest heard of nothing. */
	cr_assert_eq(read_byte(0), 0x5a);
	cr_assert_eq(config32(0), DISK_BYTES / 512);
	cr_assert_eq(generation(), gen);
	cr_assert_eq(info_value("swap_pending"), 0);
	cr_assert(strstr(reply, path), "%s", reply);
	cr_assert_eq(reply_value("size_bytes"), DISK_BYTES);
}

Test(blk_control, a_second_swap_waits_for_the_first)
{
	start("");
	make_second(DISK_BYTES, 0xa5);
	submit(T_OUT, 0, 4096, false);
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path2), 0, "%s", reply);
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path), -EBUSY);
	cr_assert(strstr(reply, "still waits for the requests in flight"), "%s", reply);
	wait_swap();
	cr_assert(wait_used(NULL), "the write");
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path), 0, "%s", reply);
	wait_swap();
	cr_assert_eq(read_byte(8), 0x5a, "back on the first file");
}

Test(blk_control, read_only_swap_refuses_writes)
{
	uint8_t back[512];

	start("");
	make_second(DISK_BYTES, 0xa5);
	cr_assert_eq(control("swap_backing", "path = \"%s\"; read_only = true;", path2), 0, "%s",
		     reply);
	wait_swap();
	cr_assert_eq(info_value("read_only"), 1);
	cr_assert_eq(run(T_OUT, 0, 512, false, NULL), S_IOERR);
	cr_assert_eq(run_dwz(T_WRITE_ZEROES, 0, 8, 0), S_IOERR);
	cr_assert_eq(read_byte(0), 0xa5);
	/* Without read_only the drive keeps its mode. */
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path), 0, "%s", reply);
	wait_swap();
	cr_assert_eq(info_value("read_only"), 1);
	cr_assert_eq(run(T_OUT, 0, 512, false, NULL), S_IOERR);
	file_read(0, back, sizeof(back));
	cr_assert_eq(back[0], 0x5a, "the file is untouched");
	cr_assert_eq(control("swap_backing", "path = \"%s\"; read_only = false;", path), 0, "%s",
		     reply);
	wait_swap();
	cr_assert_eq(info_value("read_only"), 0);
	cr_assert_eq(run(T_OUT, 0, 512, false, NULL), S_OK);
}

Test(blk_control, read_only_file_cannot_be_swapped_in_for_writing)
{
	start("");
	make_second(DISK_BYTES, 0xa5);
	cr_assert_eq(chmod(path2, 0400), 0);
	/* Root writes read-only files: as root, this test's own process drops to nobody (each
	 * Criterion test runs in a process of its own), so the refusal is really exercised. */
	if (geteuid() == 0)
		cr_assert(setresgid(65534, 65534, 65534) == 0 &&
			  setresuid(65534, 65534, 65534) == 0);
	cr_assert_neq(access(path2, W_OK), 0, "the file must not be writable now");
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path2), -EACCES);
	cr_assert(strstr(reply, "cannot open for reading and writing: Permission denied"), "%s",
		  reply);
	cr_assert_eq(read_byte(0), 0x5a);
}

/* Kata and firecracker-containerd boot with placeholder drives and swap the real disks in. */
Test(blk_control, zero_length_placeholder_then_the_real_disk)
{
	harness_init(&h);
	snprintf(path, sizeof(path), "/tmp/ember-blk-test-XXXXXX");
	close(mkstemp(path));
	cr_assert_eq(create(""), 0, "%s", err);
	cr_assert(driver_negotiate(&h, device_features() & ~F_EVENT_IDX) &
		  VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &vq, 0, 64);
	driver_ok(&h);
	cr_assert_eq(config32(0), 0, "an empty disk");
	cr_assert_eq(run(T_IN, 0, 512, true, NULL), S_IOERR);
	make_second(DISK_BYTES, 0xa5);
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path2), 0, "%s", reply);
	wait_swap();
	cr_assert_eq(config32(0), DISK_BYTES / 512);
	cr_assert_eq(read_byte(5), 0xa5);
	/* And back to the placeholder, as firecracker-containerd does when a container goes. */
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path), 0, "%s", reply);
	cr_assert_eq(reply_value("size_bytes"), 0);
	wait_swap();
	cr_assert_eq(config32(0), 0);
}

Test(blk_control, a_partial_last_sector_is_out_of_reach)
{
	start("");
	make_second(3 * 512 + 100, 0xa5);
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path2), 0, "%s", reply);
	cr_assert_eq(reply_value("size_bytes"), 3 * 512);
	cr_assert(harness_log_contains(&h, "the last 100 bytes are not a whole sector"), "%s",
		  h.log);
	wait_swap();
	cr_assert_eq(config32(0), 3);
}

Test(blk_control, destroy_during_a_swap_leaks_nothing)
{
	start("");
	make_second(DISK_BYTES, 0xa5);
	for (int i = 0; i < 8; i++)
		submit(T_OUT, (uint64_t)i * 8, 4096, false);
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path2), 0, "%s", reply);
	/* No poll: teardown destroys with the barrier in the ring and counts fds. */
}

Test(blk_control, reset_during_a_swap)
{
	start("");
	make_second(DISK_BYTES, 0xa5);
	submit(T_OUT, 0, 4096, false);
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path2), 0, "%s", reply);
	guest_reset(64);
	wait_swap();
	cr_assert_eq(read_byte(0), 0xa5, "the new driver session uses the new file");
}

/* A swap while a request waits for tokens: it runs on the new file once both allow it. */
Test(blk_control, swap_while_a_request_waits_for_tokens)
{
	struct req r;

	start("ops_size = 1; ops_refill_ms = 100;");
	make_second(DISK_BYTES, 0xa5);
	cr_assert_eq(read_byte(0), 0x5a);
	r = submit(T_IN, 0, 512, true);
	cr_assert_eq(control("swap_backing", "path = \"%s\";", path2), 0, "%s", reply);
	wait_swap();
	cr_assert_eq(status_of(&r), NO_STATUS, "the swap granted a token");
	harness_advance(&h, 101 * MS);
	cr_assert(wait_used(NULL));
	cr_assert_eq(status_of(&r), S_OK);
	cr_assert_eq(((uint8_t *)harness_ptr(&h, r.data, 512))[0], 0xa5);
}

Test(blk_control, set_rate_limit_limits_and_removing_it_unblocks)
{
	struct req r[4];

	start("");
	cr_assert_eq(control("set_rate_limit", "ops_size = 2; ops_refill_ms = 1000;"), 0, "%s",
		     reply);
	for (int i = 0; i < 4; i++)
		r[i] = submit(T_IN, (uint64_t)i, 512, true);
	cr_assert(wait_used(NULL));
	cr_assert(wait_used(NULL), "a full bucket of two");
	cr_assert_not(peek_used(NULL));
	cr_assert_eq(status_of(&r[2]), NO_STATUS);
	harness_advance(&h, 400 * MS);
	cr_assert_not(peek_used(NULL), "2 per second: one every 500 ms");
	harness_advance(&h, 101 * MS);
	cr_assert(wait_used(NULL));
	cr_assert_eq(status_of(&r[2]), S_OK);
	cr_assert_eq(status_of(&r[3]), NO_STATUS);
	/* No limit any more: the waiting request goes now, not when the old timer fires. */
	cr_assert_eq(control("set_rate_limit", "%s", ""), 0, "%s", reply);
	cr_assert(wait_used(NULL), "still waiting for a removed bucket");
	cr_assert_eq(status_of(&r[3]), S_OK);
	cr_assert_eq(harness_callbacks(&h), 1, "the refill timer is gone");
	for (int i = 0; i < 8; i++)
		cr_assert_eq(run(T_IN, (uint64_t)i, 512, true, NULL), S_OK);
}

Test(blk_control, set_rate_limit_bandwidth_on_the_fake_clock)
{
	uint64_t t0;
	int done = 0;

	/* 8 KiB every 125 ms (64 KiB/s): 16 reads of 8 KiB take about 2 s (the first is free). */
	start("");
	cr_assert_eq(
	    control("set_rate_limit", "bandwidth_size = \"8K\"; bandwidth_refill_ms = 125;"), 0,
	    "%s", reply);
	t0 = h.now_ns;
	for (int i = 0; i < 16; i++)
		submit(T_IN, (uint64_t)i * 16, 8192, true);
	while (done < 16 && h.now_ns - t0 <= 5000 * MS) {
		if (peek_used(NULL))
			done++;
		else
			harness_advance(&h, 10 * MS);
	}
	cr_assert_eq(done, 16);
	cr_assert(h.now_ns - t0 >= 1800 * MS && h.now_ns - t0 <= 2000 * MS, "took %llu ms",
		  (unsigned long long)((h.now_ns - t0) / MS));
}

Test(blk_control, one_time_burst_is_spent_once)
{
	struct req r[5];

	start("");
	cr_assert_eq(control("set_rate_limit",
			     "ops_size = 1; ops_refill_ms = 1000; ops_one_time_burst = 2;"),
		     0, "%s", reply);
	for (int i = 0; i < 5; i++)
		r[i] = submit(T_IN, (uint64_t)i, 512, true);
	for (int i = 0; i < 3; i++)
		cr_assert(wait_used(NULL), "the bucket and the one-time burst: %d", i);
	cr_assert_eq(status_of(&r[3]), NO_STATUS);
	harness_advance(&h, 900 * MS);
	cr_assert_not(peek_used(NULL));
	harness_advance(&h, 101 * MS);
	cr_assert(wait_used(NULL));
	cr_assert_eq(status_of(&r[3]), S_OK);
	harness_advance(&h, 1001 * MS);
	cr_assert(wait_used(NULL), "the burst is not refilled: one per second");
	cr_assert_eq(status_of(&r[4]), S_OK);
}

/* Limits set at run time hold across guest resets like those from the config. */
Test(blk_control, set_rate_limit_survives_resets)
{
	struct req r;

	start("");
	cr_assert_eq(control("set_rate_limit", "ops_size = 1; ops_refill_ms = 100;"), 0, "%s",
		     reply);
	cr_assert_eq(run(T_IN, 0, 512, true, NULL), S_OK, "the bucket");
	for (int i = 0; i < 3; i++)
		guest_reset(64);
	r = submit(T_IN, 1, 512, true);
	cr_assert_not(peek_used(NULL), "a reset refilled the bucket");
	harness_advance(&h, 101 * MS);
	cr_assert(wait_used(NULL));
	cr_assert_eq(status_of(&r), S_OK);
}

Test(blk_control, set_rate_limit_checks_its_arguments)
{
	start("");
	cr_assert_eq(control("set_rate_limit", "ops_size = -1;"), -EINVAL);
	cr_assert(strstr(reply, "ops_size: -1 is outside"), "%s", reply);
	cr_assert_eq(control("set_rate_limit", "bandwidth = 5;"), -EINVAL);
	cr_assert(strstr(reply, "no parameter \"bandwidth\""), "%s", reply);
	cr_assert_eq(control("set_rate_limit", "ops_refill_ms = 3600001;"), -EINVAL);
	cr_assert_eq(info_value("ops_size"), 0, "a refused request changes nothing");
}

Test(blk_control, info_reflects_the_state)
{
	start(
	    "read_only = true; bandwidth_bytes_per_sec = \"64K\"; bandwidth_burst_bytes = \"8K\";");
	cr_assert_eq(control("info", "%s", ""), 0, "%s", reply);
	cr_assert(strstr(reply, "path = \""), "%s", reply);
	cr_assert(strstr(reply, path), "%s", reply);
	cr_assert_eq(reply_value("size_bytes"), DISK_BYTES);
	cr_assert_eq(reply_value("read_only"), 1);
	/* The per-second options as the same bucket: 8 KiB refilled in 125 ms. */
	cr_assert_eq(reply_value("bandwidth_size"), 8192);
	cr_assert_eq(reply_value("bandwidth_refill_ms"), 125);
	cr_assert_eq(reply_value("bandwidth_one_time_burst"), 0);
	cr_assert_eq(reply_value("ops_size"), 0);
	cr_assert_eq(reply_value("swap_pending"), 0);
	cr_assert_eq(control("set_rate_limit",
			     "ops_size = 100; ops_refill_ms = 500; ops_one_time_burst = 7; "
			     "bandwidth_size = 1048576; bandwidth_refill_ms = 1000;"),
		     0, "%s", reply);
	cr_assert_eq(info_value("ops_size"), 100);
	cr_assert_eq(reply_value("ops_refill_ms"), 500);
	cr_assert_eq(reply_value("ops_one_time_burst"), 7);
	cr_assert_eq(reply_value("bandwidth_size"), 1048576);
	cr_assert_eq(reply_value("bandwidth_refill_ms"), 1000);
	cr_assert_eq(control("info", "x = 1;"), -EINVAL, "info takes no parameters");
}

/* The config takes the same Firecracker-shaped buckets; one bucket in two shapes is refused. */
Test(blk_control, firecracker_shaped_options_at_create)
{
	struct req r[3];

	start("ops_size = 2; ops_refill_ms = 1000;");
	cr_assert_eq(info_value("ops_size"), 2);
	cr_assert_eq(reply_value("ops_refill_ms"), 1000);
	for (int i = 0; i < 3; i++)
		r[i] = submit(T_IN, (uint64_t)i, 512, true);
	cr_assert(wait_used(NULL));
	cr_assert(wait_used(NULL));
	cr_assert_eq(status_of(&r[2]), NO_STATUS);
	harness_advance(&h, 501 * MS);
	cr_assert(wait_used(NULL));
	cr_assert_eq(harness_destroy(&h), 0);
	cr_assert_neq(create("ops_size = 2; ops_per_sec = 5;"), 0);
	cr_assert(harness_log_contains(&h, "ops_size: give it or ops_per_sec/ops_burst, not both"),
		  "%s", h.log);
	cr_assert_neq(create("bandwidth_size = \"1M\"; bandwidth_burst_bytes = \"8K\";"), 0);
	cr_assert(harness_log_contains(&h, "bandwidth_size: give it or"), "%s", h.log);
	/* size 0 or refill 0: no limit, as in Firecracker (Kata sends empty limiters). */
	cr_assert_eq(create("ops_size = 1; ops_refill_ms = 0;"), 0, "%s", err);
}
