/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net-bench: the virtio-net plugin's own cost, without KVM. Drives the plugin through the test
 * harness (ember's real transport, virtqueues and host table over fake guest RAM) with one end of
 * a SOCK_DGRAM socketpair as its backend (tap_fd: one datagram is one frame with its vnet
 * header, as a tap reads and writes them), this program playing both the guest driver and the
 * peer, on one thread: so frames/s is what one core does, plugin + ember's queue code + the
 * socket syscalls (a tap's cost in the kernel differs; see BENCHMARKS.md).
 *
 *   net-bench [--frames N] [--batch B] [--size BYTES] [--rx]
 *
 * tx (default): each round queues B frames of BYTES on the transmit queue, kicks once and reads
 * the B datagrams from the peer end. --rx: the peer sends B datagrams, the harness runs the
 * plugin's watch until B receive buffers came back (merged buffers of 2 KiB), and they are
 * posted again. Prints frames/s (wall) and CPU µs per frame (user + system).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "driver_vq.h"
#include "harness.h"
#include "virtio/virtio_mmio.h"

#define HDR	    12u
#define F_MRG_RXBUF (1ULL << 15)
#define F_CSUM	    (1ULL << 0)

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
	static uint8_t buf[70000];
	struct driver_vq rxq, txq;
	long frames = 200000, batch = 32, size = 1500, done = 0;
	bool rx = false;
	char opts[128], err[512];
	uint64_t bufs[256];
	struct timespec t0, t1;
	double c0, c1;
	int sv[2];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--frames") && i + 1 < argc)
			frames = atol(argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			batch = atol(argv[++i]);
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rx"))
			rx = true;
		else {
			fprintf(stderr,
				"usage: %s [--frames N] [--batch 1..128] [--size BYTES] [--rx]\n",
				argv[0]);
			return 2;
		}
	}
	if (batch < 1 || batch > 128 || size < 14 || size > 1500 || frames < batch) {
		fprintf(stderr, "net-bench: batch 1..128, size 14..1500, frames >= batch\n");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv)) {
		perror("socketpair");
		return 1;
	}
	/* Room for a whole batch in the socket either way. */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){4 << 20}, sizeof(int));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &(int){4 << 20}, sizeof(int));
	harness_init(&h);
	snprintf(opts, sizeof(opts), "tap_fd = %d;", sv[1]);
	if (harness_create_rc(&h, "virtio-net", opts, err, sizeof(err))) {
		fprintf(stderr, "net-bench: %s\n", err);
		return 1;
	}
	driver_negotiate(&h, (1ULL << EMBER_VIRTIO_F_VERSION_1) | F_MRG_RXBUF | F_CSUM);
	driver_vq_setup(&h, &rxq, 0, 256);
	driver_vq_setup(&h, &txq, 1, 256);
	driver_ok(&h);
	for (long i = 0; i < 256; i++)
		bufs[i] = harness_alloc(&h, 2048, 64);
	memset(buf, 0x5a, sizeof(buf));
	if (rx)
		for (long i = 0; i < 256; i++) {
			struct driver_buf b = {bufs[i], 2048, true};

			driver_vq_add(&rxq, &b, 1);
		}
	if (rx)
		driver_vq_kick(&rxq);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	c0 = cpu_secs();
	while (done < frames) {
		uint32_t id, len;
		long got = 0;

		if (!rx) {
			for (long i = 0; i < batch; i++) {
				struct driver_buf b = {bufs[i], (uint32_t)(HDR + size), false};

				memset(harness_ptr(&h, bufs[i], HDR), 0, HDR);
				driver_vq_add(&txq, &b, 1);
			}
			driver_vq_kick(&txq);
			while (driver_vq_get_used(&txq, &id, &len))
				;
			for (long i = 0; i < batch; i++)
				if (recv(sv[0], buf, sizeof(buf), 0) > 0)
					got++;
		} else {
			memset(buf, 0, HDR);
			for (long i = 0; i < batch; i++)
				if (send(sv[0], buf, HDR + (size_t)size, 0) < 0)
					perror("send");
			while (got < batch) {
				harness_poll(&h);
				while (driver_vq_get_used(&rxq, &id, &len)) {
					struct driver_buf b = {bufs[id], 2048, true};

					driver_vq_add(&rxq, &b, 1);
					got++;
				}
			}
			driver_vq_kick(&rxq);
		}
		done += got;
	}
	c1 = cpu_secs();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("net-bench %s size=%ld batch=%ld frames=%ld: %.0f frames/s, %.2f CPU us/frame\n",
	       rx ? "rx" : "tx", size, batch, done, (double)done / secs(&t0, &t1),
	       (c1 - c0) * 1e6 / (double)done);
	close(sv[0]);
	harness_fini(&h);
	return 0;
}
