/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blkperf: a small fio-like block benchmark on raw io_uring syscalls (no liburing), built
 * static by tools/bench --blk so that it runs in the bare guest initramfs (and in L1).
 *
 *   blkperf [-t SECS] [-T TESTS] DEVICE
 *   blkperf -f FILE -s MIB
 *
 * Each test opens DEVICE (a block device or a file) with O_DIRECT, so the guest's page cache is
 * bypassed and every I/O is a request to the (virtio) disk, and keeps QD requests in flight for
 * SECS seconds (default 5) from one thread: one io_uring with QD entries; whenever a completion
 * is reaped, the same slot is refilled and the batch of new SQEs goes in with the next
 * io_uring_enter(GETEVENTS, min_complete = 1) -- the method of fio's ioengine=io_uring with
 * iodepth=QD, direct=1. Random offsets are uniform over the device, aligned to the block size
 * (xorshift64); sequential offsets advance by the block size and wrap at the end. Write buffers
 * hold a non-zero pattern. After SECS, no new requests go in; the test ends when the last one
 * completes. Tests (-T: a comma-separated subset, default all, in this order):
 *
 *   randread-4k-qd1 randwrite-4k-qd1 randread-4k-qd32 randwrite-4k-qd32
 *   seqread-128k-qd8 seqwrite-128k-qd8
 *
 * One line per test on stdout:
 *   BLKPERF test=NAME bs=BYTES qd=N secs=S ios=N iops=X mib_s=Y lat_us=MEAN lat_max_us=MAX
 * latency = submit (just before the io_uring_enter that carries the SQE) to reap, per request;
 * iops = ios / S, S = first submit to last completion. "BLKPERF-END" after the last test.
 *
 * -f FILE -s MIB: write MIB MiB of a non-zero pseudo-random pattern to FILE (created or
 * truncated) and fdatasync it: a prefilled image whose every block holds data.
 * Exit status: 0 on success, 1 on an I/O error, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_QD 256

struct test {
	const char *name;
	unsigned int bs;
	unsigned int qd;
	int write;
	int random;
};

static const struct test tests[] = {
    {"randread-4k-qd1", 4096, 1, 0, 1},	   {"randwrite-4k-qd1", 4096, 1, 1, 1},
    {"randread-4k-qd32", 4096, 32, 0, 1},  {"randwrite-4k-qd32", 4096, 32, 1, 1},
    {"seqread-128k-qd8", 131072, 8, 0, 0}, {"seqwrite-128k-qd8", 131072, 8, 1, 0},
};

struct ring {
	int fd;
	unsigned int *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;
	unsigned int to_submit;
};

struct slot {
	void *buf;
	double t_submit;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t xorshift64(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static int ring_setup(struct ring *r, unsigned int entries)
{
	struct io_uring_params p;
	char *sq, *cq;

	memset(&p, 0, sizeof p);
	memset(r, 0, sizeof *r);
	r->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0) {
		perror("blkperf: io_uring_setup");
		return -1;
	}
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (r->cq_len > r->sq_len)
			r->sq_len = r->cq_len;
		r->cq_len = r->sq_len;
	}
	r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
			 IORING_OFF_SQ_RING);
	if (r->sq_map == MAP_FAILED)
		goto fail;
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		r->cq_map = r->sq_map;
	} else {
		r->cq_map = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
				 r->fd, IORING_OFF_CQ_RING);
		if (r->cq_map == MAP_FAILED)
			goto fail;
	}
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		       IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		goto fail;
	sq = r->sq_map;
	cq = r->cq_map;
	r->sq_head = (unsigned int *)(sq + p.sq_off.head);
	r->sq_tail = (unsigned int *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)(sq + p.sq_off.array);
	r->cq_head = (unsigned int *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned int *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned int *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
fail:
	perror("blkperf: mmap of the io_uring");
	return -1;
}

static void ring_free(struct ring *r)
{
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->sqes_len);
	if (r->cq_map && r->cq_map != MAP_FAILED && r->cq_map != r->sq_map)
		munmap(r->cq_map, r->cq_len);
	if (r->sq_map && r->sq_map != MAP_FAILED)
		munmap(r->sq_map, r->sq_len);
	close(r->fd);
}

/* Queue one read or write SQE (goes in with the next io_uring_enter). */
static void ring_queue(struct ring *r, int fd, int write, void *buf, unsigned int len, uint64_t off,
		       uint64_t user_data)
{
	unsigned int tail = *r->sq_tail, idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe = &r->sqes[idx];

	memset(sqe, 0, sizeof *sqe);
	sqe->opcode = write ? IORING_OP_WRITE : IORING_OP_READ;
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)buf;
	sqe->len = len;
	sqe->off = off;
	sqe->user_data = user_data;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	r->to_submit++;
}

static int ring_enter(struct ring *r, unsigned int min_complete)
{
	for (;;) {
		long n = syscall(__NR_io_uring_enter, r->fd, r->to_submit, min_complete,
				 min_complete ? IORING_ENTER_GETEVENTS : 0, NULL, 0);

		if (n >= 0) {
			r->to_submit -= (unsigned int)n;
			return 0;
		}
		if (errno != EINTR) {
			perror("blkperf: io_uring_enter");
			return -1;
		}
	}
}

static int run_test(const char *dev, uint64_t size, const struct test *t, double secs)
{
	struct slot slots[MAX_QD];
	uint64_t blocks = size / t->bs, next = 0, ios = 0;
	unsigned int inflight = 0, i;
	double t0, t_end, t_last, lat_sum = 0, lat_max = 0;
	struct ring r;
	int fd, rc = 1;

	if (blocks == 0) {
		fprintf(stderr, "blkperf: %s is smaller than one %u-byte block\n", dev, t->bs);
		return 1;
	}
	fd = open(dev, (t->write ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "blkperf: %s: %s\n", dev, strerror(errno));
		return 1;
	}
	if (ring_setup(&r, t->qd)) {
		close(fd);
		return 1;
	}
	for (i = 0; i < t->qd; i++) {
		if (posix_memalign(&slots[i].buf, 4096, t->bs)) {
			fprintf(stderr, "blkperf: out of memory\n");
			return 1;
		}
		memset(slots[i].buf, 0x5a ^ (int)i, t->bs);
	}
	t0 = now_s();
	t_end = t0 + secs;
	for (i = 0; i < t->qd; i++) {
		uint64_t blk = t->random ? xorshift64() % blocks : next++ % blocks;

		slots[i].t_submit = t0;
		ring_queue(&r, fd, t->write, slots[i].buf, t->bs, blk * t->bs, i);
		inflight++;
	}
	t_last = t0;
	while (inflight) {
		unsigned int head, tail;
		double tn, t_sub;

		t_sub = now_s();
		/* Requests queued since the last enter go in now: that is their submit time. */
		for (i = 0; i < t->qd && r.to_submit; i++)
			if (slots[i].t_submit < 0)
				slots[i].t_submit = t_sub;
		if (ring_enter(&r, 1))
			goto out;
		tn = now_s();
		head = *r.cq_head;
		tail = __atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE);
		for (; head != tail; head++) {
			struct io_uring_cqe *cqe = &r.cqes[head & *r.cq_mask];
			unsigned int s = (unsigned int)cqe->user_data;
			double lat = tn - slots[s].t_submit;

			if (cqe->res != (int)t->bs) {
				fprintf(stderr, "blkperf: %s %s: %s\n", t->name, dev,
					cqe->res < 0 ? strerror(-cqe->res) : "short transfer");
				__atomic_store_n(r.cq_head, head + 1, __ATOMIC_RELEASE);
				goto out;
			}
			ios++;
			lat_sum += lat;
			if (lat > lat_max)
				lat_max = lat;
			inflight--;
			if (tn < t_end) {
				uint64_t blk = t->random ? xorshift64() % blocks : next++ % blocks;

				slots[s].t_submit = -1;
				ring_queue(&r, fd, t->write, slots[s].buf, t->bs, blk * t->bs, s);
				inflight++;
			}
		}
		__atomic_store_n(r.cq_head, head, __ATOMIC_RELEASE);
		t_last = tn;
	}
	{
		double el = t_last - t0;

		printf("BLKPERF test=%s bs=%u qd=%u secs=%.3f ios=%llu iops=%.1f mib_s=%.2f "
		       "lat_us=%.1f lat_max_us=%.1f\n",
		       t->name, t->bs, t->qd, el, (unsigned long long)ios, (double)ios / el,
		       (double)ios * t->bs / el / 1048576.0, lat_sum / (double)ios * 1e6,
		       lat_max * 1e6);
		fflush(stdout);
	}
	rc = 0;
out:
	/* Let every request still in flight finish before the buffers go. */
	while (rc && inflight) {
		unsigned int head, tail;

		r.to_submit = 0;
		if (ring_enter(&r, 1))
			break;
		head = *r.cq_head;
		tail = __atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE);
		for (; head != tail; head++)
			inflight--;
		__atomic_store_n(r.cq_head, head, __ATOMIC_RELEASE);
	}
	ring_free(&r);
	close(fd);
	for (i = 0; i < t->qd; i++)
		free(slots[i].buf);
	return rc;
}

static int dev_size(const char *dev, uint64_t *size)
{
	struct stat st;
	int fd = open(dev, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "blkperf: %s: %s\n", dev, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size)) {
			perror("blkperf: BLKGETSIZE64");
			rc = -1;
		}
	} else {
		*size = (uint64_t)st.st_size;
	}
	close(fd);
	return rc;
}

static int fill(const char *file, unsigned long mib)
{
	static uint64_t buf[1048576 / sizeof(uint64_t)];
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	unsigned long m;
	size_t i;

	if (fd < 0) {
		fprintf(stderr, "blkperf: %s: %s\n", file, strerror(errno));
		return 1;
	}
	for (m = 0; m < mib; m++) {
		for (i = 0; i < sizeof buf / sizeof buf[0]; i++)
			buf[i] = xorshift64() | 1;
		if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
			fprintf(stderr, "blkperf: writing %s: %s\n", file, strerror(errno));
			close(fd);
			return 1;
		}
	}
	if (fdatasync(fd) || close(fd)) {
		fprintf(stderr, "blkperf: syncing %s: %s\n", file, strerror(errno));
		return 1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: blkperf [-t SECS] [-T TEST,...] DEVICE\n"
			"       blkperf -f FILE -s MIB\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *only = NULL, *fill_file = NULL;
	unsigned long fill_mib = 0;
	double secs = 5;
	uint64_t size;
	size_t i;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "t:T:f:s:")) != -1) {
		switch (opt) {
		case 't':
			secs = strtod(optarg, NULL);
			if (!(secs > 0))
				usage();
			break;
		case 'T':
			only = optarg;
			break;
		case 'f':
			fill_file = optarg;
			break;
		case 's':
			fill_mib = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (fill_file) {
		if (!fill_mib || optind != argc)
			usage();
		return fill(fill_file, fill_mib);
	}
	if (optind != argc - 1)
		usage();
	if (dev_size(argv[optind], &size))
		return 1;
	for (i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		if (only) {
			const char *p = strstr(only, tests[i].name);
			size_t n = strlen(tests[i].name);

			if (!p || (p != only && p[-1] != ',') || (p[n] && p[n] != ','))
				continue;
		}
		if (run_test(argv[optind], size, &tests[i], secs))
			rc = 1;
	}
	/* Its own line: the runner stops the VM at the END marker and may cut that line short. */
	if (rc == 0)
		printf("BLKPERF-OK\n");
	printf("BLKPERF-END rc=%d\n", rc);
	return rc;
}
