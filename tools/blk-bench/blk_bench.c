/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk-bench: the virtio-blk plugin's own cost, without KVM. Drives the plugin through the test
 * harness (ember's real transport, virtqueues and host table over fake guest RAM) against a
 * file in the page cache, so what is measured is the plugin + ember's queue code + io_uring,
 * not a disk.
 *
 *   blk-bench [--requests N] [--depth D] [--size BYTES] [--write] [--file PATH]
 *
 * Each round queues D requests of BYTES at random sectors, kicks once, and reaps them through
 * the completion eventfd. Prints requests/s (wall), CPU µs per request (user + system of the
 * whole process, io_uring workers included). Under `valgrind --tool=callgrind` the instruction
 * count per request is the total divided by N (see BENCHMARKS.md).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "driver_vq.h"
#include "harness.h"
#include "virtio/virtio_mmio.h"

#define DISK_BYTES (64ULL << 20)

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static double cpu_secs(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	static struct harness h;
	struct driver_vq vq;
	long requests = 200000, depth = 32, size = 4096;
	bool write = false;
	const char *file = NULL;
	char path[256], opts[512], err[512];
	uint64_t hdr[256], data[256], status[256];
	struct timespec t0, t1;
	double c0, c1;
	long done = 0;
	unsigned seed = 1;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--requests") && i + 1 < argc)
			requests = atol(argv[++i]);
		else if (!strcmp(argv[i], "--depth") && i + 1 < argc)
			depth = atol(argv[++i]);
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = atol(argv[++i]);
		else if (!strcmp(argv[i], "--write"))
			write = true;
		else if (!strcmp(argv[i], "--file") && i + 1 < argc)
			file = argv[++i];
		else {
			fprintf(stderr,
				"usage: %s [--requests N] [--depth 1..256] [--size BYTES] "
				"[--write] [--file PATH]\n",
				argv[0]);
			return 2;
		}
	}
	if (depth < 1 || depth > 256 || size < 512 || size % 512 || size > 65536 ||
	    requests < depth) {
		fprintf(stderr, "blk-bench: depth 1..256, size 512..65536 in sectors, "
				"requests >= depth\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s", file ? file : "/tmp/ember-blk-bench-XXXXXX");
	fd = file ? open(path, O_RDWR | O_CREAT, 0600) : mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)DISK_BYTES)) {
		perror(path);
		return 1;
	}
	/* Fill once so reads hit the page cache, not holes. */
	{
		static char buf[1 << 20];

		memset(buf, 0x5a, sizeof(buf));
		for (uint64_t off = 0; off < DISK_BYTES; off += sizeof(buf))
			if (pwrite(fd, buf, sizeof(buf), (off_t)off) != (ssize_t)sizeof(buf))
				return 1;
	}
	close(fd);

	harness_init(&h);
	snprintf(opts, sizeof(opts), "path = \"%s\";", path);
	if (harness_create(&h, "virtio-blk", opts, err, sizeof(err))) {
		fprintf(stderr, "blk-bench: %s\n%s", err, h.log);
		return 1;
	}
	driver_negotiate(&h, 1ULL << EMBER_VIRTIO_F_VERSION_1 | 1ULL << 9 /* FLUSH */);
	driver_vq_setup(&h, &vq, 0, 256);
	driver_ok(&h);
	for (long i = 0; i < depth; i++) {
		hdr[i] = harness_alloc(&h, 16, 16);
		data[i] = harness_alloc(&h, (uint64_t)size, 4096);
		status[i] = harness_alloc(&h, 1, 1);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	c0 = cpu_secs();
	while (done < requests) {
		long inflight = 0;

		for (long i = 0; i < depth; i++) {
			uint8_t *p = harness_ptr(&h, hdr[i], 16);
			uint32_t type = write ? 1 : 0;
			uint64_t sector = (uint64_t)(rand_r(&seed) %
						     (int)((DISK_BYTES - (uint64_t)size) / 4096)) *
					  8;
			struct driver_buf b[3] = {{hdr[i], 16, false},
						  {data[i], (uint32_t)size, !write},
						  {status[i], 1, true}};

			memcpy(p, &type, 4);
			memcpy(p + 8, &sector, 8);
			driver_vq_add(&vq, b, 3);
			inflight++;
		}
		driver_vq_kick(&vq); /* one kick per batch, as a guest with EVENT_IDX would */
		while (inflight) {
			uint32_t id, len;

			while (driver_vq_get_used(&vq, &id, &len))
				inflight--, done++;
			if (inflight)
				harness_poll(&h);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	c1 = cpu_secs();
	printf("blk-bench: %ld %s of %ld bytes, depth %ld: %.0f requests/s, %.2f us CPU/request\n",
	       done, write ? "writes" : "reads", size, depth, (double)done / secs(&t0, &t1),
	       (c1 - c0) * 1e6 / (double)done);
	harness_fini(&h);
	if (!file)
		unlink(path);
	return 0;
}
