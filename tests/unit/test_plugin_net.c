/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-net plugin through the harness, without a tap: the backend is one end of a
 * SOCK_DGRAM socketpair handed over as tap_fd (one datagram = one frame with its 12-byte
 * virtio_net_hdr, as a tap with IFF_VNET_HDR reads and writes them) or the device's own
 * loopback. The test plays the guest driver (queues in harness RAM) and the peer (the other end
 * of the socketpair): option checks, features and config space, transmit and receive, merged
 * receive buffers, an empty receive ring, bad guest input, the control queue (multiqueue),
 * rate limits with the runtime control and across resets, a backend that goes away, leaks.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "driver_vq.h"
#include "harness.h"
#include "virtio/virtio_mmio.h"

#define F_VERSION_1  (1ULL << EMBER_VIRTIO_F_VERSION_1)
#define F_CSUM	     (1ULL << 0)
#define F_GUEST_CSUM (1ULL << 1)
#define F_MTU	     (1ULL << 3)
#define F_MAC	     (1ULL << 5)
#define F_GUEST_TSO4 (1ULL << 7)
#define F_HOST_TSO4  (1ULL << 11)
#define F_HOST_TSO6  (1ULL << 12)
#define F_GUEST_TSO6 (1ULL << 8)
#define F_GUEST_USO4 (1ULL << 54)
#define F_GUEST_USO6 (1ULL << 55)
#define F_HOST_USO   (1ULL << 56)
#define F_MRG_RXBUF  (1ULL << 15)
#define F_STATUS     (1ULL << 16)
#define F_CTRL_VQ    (1ULL << 17)
#define F_MQ	     (1ULL << 22)
#define HDR	     12u
#define MS	     1000000ULL
#define NEEDS_CSUM   1u
#define GSO_TCPV4    1u
#define GSO_UDP	     3u
#define GSO_TCPV6    4u
#define GSO_UDP_L4   5u

struct net_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};
_Static_assert(sizeof(struct net_hdr) == HDR, "header");

static struct harness h;
static struct driver_vq rxq, txq, rxq1, txq1, ctrlq;
static char err[512];
static int peer = -1; /* the test's end of the socketpair */
static uint64_t rx_gpa[1024];

static void teardown(void)
{
	if (peer >= 0)
		close(peer);
	peer = -1;
	cr_expect_eq(harness_fini(&h), 0, "leaks; log:\n%s", h.log);
}

TestSuite(net, .fini = teardown);

static int create(const char *opts)
{
	harness_init(&h);
	return harness_create_rc(&h, "virtio-net", opts, err, sizeof(err));
}

/* A socketpair backend: ember gets one end as tap_fd, the test keeps the other. */
static void create_socket(const char *extra)
{
	int sv[2];
	char opts[512];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	harness_init(&h);
	peer = sv[0];
	snprintf(opts, sizeof(opts), "tap_fd = %d; %s", sv[1], extra ? extra : "");
	cr_assert_eq(harness_create_rc(&h, "virtio-net", opts, err, sizeof(err)), 0, "%s", err);
}

static uint64_t offered(void)
{
	uint64_t f;

	harness_write32(&h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = harness_read32(&h, VIRTIO_MMIO_DEVICE_FEATURES);
	harness_write32(&h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)harness_read32(&h, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

static void bring_up(uint64_t features, uint16_t qsize)
{
	cr_assert(driver_negotiate(&h, F_VERSION_1 | features) & VIRTIO_STATUS_FEATURES_OK);
	driver_vq_setup(&h, &rxq, 0, qsize);
	driver_vq_setup(&h, &txq, 1, qsize);
	if (features & F_MQ) {
		driver_vq_setup(&h, &rxq1, 2, qsize);
		driver_vq_setup(&h, &txq1, 3, qsize);
		driver_vq_setup(&h, &ctrlq, 4, 16);
	} else if (features & F_CTRL_VQ) {
		driver_vq_setup(&h, &ctrlq, 2, 16);
	}
	driver_ok(&h);
}

static uint32_t status(void)
{
	return harness_read32(&h, VIRTIO_MMIO_STATUS);
}

static uint64_t metric(const char *name)
{
	uint64_t v[64];
	uint32_t n = plugin_instance_metrics_read(h.dev, v, 64);

	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(plugin_instance_metric(h.dev, i)->name, name))
			return v[i];
	cr_assert_fail("no metric %s", name);
	return 0;
}

static int control(const char *args, char *reply, size_t size)
{
	return plugin_instance_control(h.dev, "set_rate_limit", args, reply, size);
}

/* ---- The guest's side ---------------------------------------------------------------------- */

static void rx_post(struct driver_vq *q, unsigned n, uint32_t size)
{
	for (unsigned i = 0; i < n; i++) {
		struct driver_buf b = {harness_alloc(&h, size, 8), size, true};
		uint16_t head = driver_vq_add(q, &b, 1);

		rx_gpa[head] = b.gpa;
	}
	driver_vq_kick(q);
}

/* A frame of len bytes (pattern from seed) after header hd, in two descriptors like Linux. */
static void tx_frame_on(struct driver_vq *q, const struct net_hdr *hd, uint32_t hdr_bytes,
			uint32_t len, uint8_t seed)
{
	struct driver_buf b[2];
	unsigned n = 0;

	b[n] =
	    (struct driver_buf){harness_alloc(&h, hdr_bytes ? hdr_bytes : 1, 8), hdr_bytes, false};
	memcpy(harness_ptr(&h, b[n].gpa, hdr_bytes), hd, hdr_bytes < HDR ? hdr_bytes : HDR);
	n++;
	if (len) {
		uint8_t *p;

		b[n] = (struct driver_buf){harness_alloc(&h, len, 8), len, false};
		p = harness_ptr(&h, b[n].gpa, len);
		for (uint32_t i = 0; i < len; i++)
			p[i] = (uint8_t)(seed + i);
		n++;
	}
	driver_vq_add(q, b, n);
	driver_vq_kick(q);
}

static void tx_frame(const struct net_hdr *hd, uint32_t len, uint8_t seed)
{
	tx_frame_on(&txq, hd, HDR, len, seed);
}

static unsigned used_count(struct driver_vq *q)
{
	uint32_t id, len;
	unsigned n = 0;

	while (driver_vq_get_used(q, &id, &len))
		n++;
	return n;
}

/* The next frame the peer got, -1 when none. */
static ssize_t peer_recv(uint8_t *buf, size_t cap)
{
	return recv(peer, buf, cap, MSG_DONTWAIT);
}

static void peer_send(const struct net_hdr *hd, uint32_t len, uint8_t seed)
{
	uint8_t buf[70000];

	memcpy(buf, hd, HDR);
	for (uint32_t i = 0; i < len; i++)
		buf[HDR + i] = (uint8_t)(seed + i);
	cr_assert_eq(send(peer, buf, HDR + len, 0), (ssize_t)(HDR + len));
}

static void settle(void)
{
	struct timespec t = {0, 100000};

	for (int i = 0; i < 20; i++) {
		harness_poll(&h);
		nanosleep(&t, NULL);
	}
}

/* ---- Options and config space -------------------------------------------------------------- */

Test(net, options_are_checked)
{
	cr_assert_neq(create(""), 0);
	cr_assert(strstr(h.log, "exactly one backend"), "%s", h.log);
	harness_fini(&h);
	cr_assert_neq(create("loopback = true; tap = \"x\";"), 0);
	harness_fini(&h);
	cr_assert_neq(create("loopback = true; mac = \"02:00:00:00:00\";"), 0);
	cr_assert(strstr(h.log, "not a unicast address"), "%s", h.log);
	harness_fini(&h);
	cr_assert_neq(create("loopback = true; mac = \"01:00:5e:00:00:01\";"), 0);
	harness_fini(&h);
	cr_assert_neq(create("loopback = true; queue_size = 300;"), 0);
	cr_assert(strstr(h.log, "power of two"), "%s", h.log);
	harness_fini(&h);
	cr_assert_eq(create("loopback = true; num_queues = 9;"), -EINVAL, "%s", err);
	harness_fini(&h);
	cr_assert_eq(create("loopback = true; mtu = 67;"), -EINVAL, "%s", err);
	harness_fini(&h);
	cr_assert_neq(create("tap_fd = 1000;"), 0);
	cr_assert(strstr(h.log, "not an open fd"), "%s", h.log);
	harness_fini(&h);
	{
		int p[2];
		char o[64];

		cr_assert_eq(pipe(p), 0);
		snprintf(o, sizeof(o), "tap_fd = %d;", p[0]);
		cr_assert_neq(create(o), 0);
		cr_assert(strstr(h.log, "neither a tap nor a datagram socket"), "%s", h.log);
		close(p[0]);
		close(p[1]);
		harness_fini(&h);
	}
	cr_assert_eq(create("loopback = true;"), 0, "%s", err);
}

Test(net, tap_fd_is_one_queue_pair)
{
	int sv[2];
	char o[64];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	snprintf(o, sizeof(o), "tap_fd = %d; num_queues = 2;", sv[1]);
	cr_assert_neq(create(o), 0);
	cr_assert(strstr(h.log, "num_queues must be 1"), "%s", h.log);
	close(sv[0]);
	close(sv[1]);
}

Test(net, features_follow_the_options)
{
	uint64_t f;

	cr_assert_eq(create("loopback = true;"), 0, "%s", err);
	f = offered();
	cr_assert(f & F_VERSION_1);
	cr_assert(f & F_CSUM && f & F_GUEST_CSUM && f & F_HOST_TSO4 && f & F_GUEST_TSO4);
	cr_assert(f & F_MRG_RXBUF && f & F_STATUS && f & F_CTRL_VQ && f & F_MTU);
	cr_assert(!(f & F_MAC), "MAC offered without a mac option");
	cr_assert(!(f & F_MQ));
	harness_fini(&h);

	cr_assert_eq(create("loopback = true; offloads = false; num_queues = 2; "
			    "mac = \"02:aa:bb:cc:dd:ee\";"),
		     0, "%s", err);
	f = offered();
	cr_assert(!(f & (F_CSUM | F_GUEST_CSUM | F_HOST_TSO4 | F_HOST_TSO6 | F_GUEST_TSO4)));
	cr_assert(f & F_MAC && f & F_MQ);
}

Test(net, config_space_has_mac_status_pairs_mtu)
{
	static const uint8_t mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};

	cr_assert_eq(create("loopback = true; num_queues = 3; mtu = 4000; "
			    "mac = \"02:aa:bb:cc:dd:ee\";"),
		     0, "%s", err);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(harness_read8(&h, VIRTIO_MMIO_CONFIG + (uint64_t)i), mac[i]);
	cr_assert_eq(harness_read8(&h, VIRTIO_MMIO_CONFIG + 6), 1, "link up");
	cr_assert_eq(harness_read8(&h, VIRTIO_MMIO_CONFIG + 8), 3);
	cr_assert_eq(harness_read8(&h, VIRTIO_MMIO_CONFIG + 10), 4000 & 0xff);
	cr_assert_eq(harness_read8(&h, VIRTIO_MMIO_CONFIG + 11), 4000 >> 8);
	harness_write32(&h, VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(harness_read32(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
}

/* ---- Transmit -------------------------------------------------------------------------------- */

Test(net, tx_writes_header_and_frame)
{
	struct net_hdr hd = {0};
	uint8_t buf[4096];

	create_socket("");
	bring_up(F_CSUM | F_MRG_RXBUF, 64);
	hd.num_buffers = 77; /* ignored on transmit */
	tx_frame(&hd, 1000, 3);
	cr_assert_eq(used_count(&txq), 1);
	cr_assert_eq(peer_recv(buf, sizeof(buf)), HDR + 1000);
	cr_assert_eq(buf[HDR], 3);
	cr_assert_eq(buf[HDR + 999], (uint8_t)(3 + 999));
	cr_assert_eq(((struct net_hdr *)buf)->num_buffers, 0);
	cr_assert_eq(metric("tx_packets"), 1);
	cr_assert_eq(metric("tx_bytes"), 1000);
	cr_assert_eq(metric("q0_tx_packets"), 1);
	cr_assert(h.irq_raises >= 1, "the used chain was signalled");
}

Test(net, tx_segmentation_frames_pass_when_negotiated)
{
	struct net_hdr hd = {.flags = NEEDS_CSUM,
			     .gso_type = GSO_TCPV4,
			     .hdr_len = 54,
			     .gso_size = 1448,
			     .csum_start = 34,
			     .csum_offset = 16};
	static uint8_t buf[70000];

	create_socket("");
	bring_up(F_CSUM | F_HOST_TSO4, 64);
	tx_frame(&hd, 60000, 1);
	cr_assert_eq(used_count(&txq), 1);
	cr_assert_eq(peer_recv(buf, sizeof(buf)), HDR + 60000);
	cr_assert_eq(((struct net_hdr *)buf)->gso_size, 1448);
	cr_assert_eq(metric("tx_malformed"), 0);
}

Test(net, bad_tx_headers_drop_the_frame_and_ember_goes_on)
{
	const struct net_hdr bad[] = {
	    /* TSO4 not negotiated (only CSUM) */
	    {.flags = NEEDS_CSUM, .gso_type = GSO_TCPV4, .hdr_len = 54, .gso_size = 1448},
	    /* UFO is never offered */
	    {.flags = NEEDS_CSUM, .gso_type = GSO_UDP, .gso_size = 1000},
	    /* an unknown type */
	    {.gso_type = 9},
	    /* checksum field outside the frame */
	    {.flags = NEEDS_CSUM, .csum_start = 500, .csum_offset = 6},
	    /* unknown flags */
	    {.flags = 0x40},
	    /* ECN without segmentation */
	    {.gso_type = 0x80},
	};
	struct net_hdr ok = {0};
	uint8_t buf[4096];

	create_socket("");
	bring_up(F_CSUM, 64);
	for (size_t i = 0; i < EMBER_ARRAY_SIZE(bad); i++)
		tx_frame(&bad[i], 400, 0);
	/* Larger than the MTU allows without segmentation. */
	tx_frame(&ok, 1500 + 18 + 1, 0);
	/* Shorter than an Ethernet header. */
	tx_frame(&ok, 10, 0);
	/* A chain with no room for the header. */
	tx_frame_on(&txq, &ok, 8, 0, 0);
	cr_assert_eq(used_count(&txq), EMBER_ARRAY_SIZE(bad) + 3, "every chain comes back");
	cr_assert_eq(peer_recv(buf, sizeof(buf)), -1, "nothing reached the backend");
	cr_assert_eq(metric("tx_malformed"), EMBER_ARRAY_SIZE(bad) + 3);
	cr_assert(harness_log_contains(&h, "segmentation type not negotiated"), "%s", h.log);
	cr_assert(harness_log_contains(&h, "larger than the MTU"), "%s", h.log);
	cr_assert(harness_log_contains(&h, "no room for the header"), "%s", h.log);
	cr_assert(!(status() & VIRTIO_STATUS_NEEDS_RESET));
	/* The device still works. */
	tx_frame(&ok, 100, 0);
	cr_assert_eq(peer_recv(buf, sizeof(buf)), HDR + 100);
}

/* ---- Receive --------------------------------------------------------------------------------- */

Test(net, rx_frame_lands_in_a_buffer)
{
	struct net_hdr hd = {.num_buffers = 9}, got;
	uint32_t id, len;

	create_socket("");
	bring_up(0, 64);
	rx_post(&rxq, 4, 2048);
	peer_send(&hd, 700, 5);
	settle();
	cr_assert(driver_vq_get_used(&rxq, &id, &len), "no frame; log:\n%s", h.log);
	cr_assert_eq(len, HDR + 700);
	memcpy(&got, harness_ptr(&h, rx_gpa[id], HDR), HDR);
	cr_assert_eq(got.num_buffers, 1, "num_buffers is the device's");
	cr_assert_eq(*(uint8_t *)harness_ptr(&h, rx_gpa[id] + HDR + 699, 1), (uint8_t)(5 + 699));
	cr_assert_eq(metric("rx_packets"), 1);
	cr_assert_eq(metric("rx_bytes"), 700);
}

Test(net, rx_merged_buffers_carry_num_buffers)
{
	struct net_hdr hd = {0}, got;
	uint32_t id, len, total = 0, first = 0;
	unsigned chains = 0;

	create_socket("mtu = 4000;");
	bring_up(F_MRG_RXBUF, 64);
	/* 4030 bytes must be held before a read: 8 buffers of 512 (the
	 * rest stay posted, and 2 held plus 8 more serve the next frame). */
	rx_post(&rxq, 16, 512);
	peer_send(&hd, 3000, 7);
	settle();
	while (driver_vq_get_used(&rxq, &id, &len)) {
		if (!chains)
			first = id;
		chains++;
		total += len;
	}
	cr_assert_eq(total, HDR + 3000, "log:\n%s", h.log);
	cr_assert_eq(chains, 6);
	memcpy(&got, harness_ptr(&h, rx_gpa[first], HDR), HDR);
	cr_assert_eq(got.num_buffers, 6);
	/* The held rest serves the next frame. */
	peer_send(&hd, 100, 1);
	settle();
	cr_assert_eq(used_count(&rxq), 1, "rx %llu dropped %llu log:\n%s",
		     (unsigned long long)metric("rx_packets"),
		     (unsigned long long)metric("rx_dropped"), h.log);
}

Test(net, rx_waits_for_buffers_and_resumes_on_the_kick)
{
	struct net_hdr hd = {0};

	create_socket("");
	bring_up(F_MRG_RXBUF, 64);
	peer_send(&hd, 200, 1);
	peer_send(&hd, 300, 2);
	settle();
	cr_assert_eq(metric("rx_packets"), 0);
	cr_assert_eq(metric("rx_dropped"), 0, "frames wait in the backend, not dropped");
	/* Enough for one whole frame (1530 bytes) in 2 buffers: both frames, one after another. */
	rx_post(&rxq, 4, 1024);
	settle();
	cr_assert_eq(metric("rx_packets"), 2, "log:\n%s", h.log);
}

Test(net, rx_short_ring_is_read_after_the_wait)
{
	struct net_hdr hd = {0};

	create_socket("");
	bring_up(F_MRG_RXBUF, 64);
	/* Less than a whole frame in all: read anyway after the short wait. */
	rx_post(&rxq, 1, 600);
	peer_send(&hd, 100, 1);
	settle();
	cr_assert_eq(metric("rx_packets"), 0);
	harness_advance(&h, 3 * MS);
	settle();
	cr_assert_eq(metric("rx_packets"), 1, "log:\n%s", h.log);
}

Test(net, rx_frame_too_big_for_the_buffers_is_dropped)
{
	struct net_hdr hd = {0};

	create_socket("");
	bring_up(0, 64);
	rx_post(&rxq, 2, 256);
	peer_send(&hd, 1000, 1);
	peer_send(&hd, 100, 1);
	settle();
	cr_assert_eq(metric("rx_dropped"), 1);
	cr_assert_eq(metric("rx_packets"), 1);
}

Test(net, rx_backend_header_the_guest_did_not_negotiate_is_dropped)
{
	struct net_hdr hd = {.flags = NEEDS_CSUM,
			     .gso_type = GSO_TCPV4,
			     .gso_size = 1448,
			     .hdr_len = 54,
			     .csum_start = 34,
			     .csum_offset = 16};

	create_socket("");
	bring_up(F_MRG_RXBUF, 64); /* no GUEST_TSO4, no GUEST_CSUM */
	rx_post(&rxq, 8, 2048);
	peer_send(&hd, 1000, 1);
	settle();
	cr_assert_eq(metric("rx_dropped"), 1);
	cr_assert_eq(metric("rx_packets"), 0);
	cr_assert(harness_log_contains(&h, "dropped a frame"), "%s", h.log);
}

Test(net, rx_buffer_without_room_for_the_header_needs_reset)
{
	struct net_hdr hd = {0};

	create_socket("");
	bring_up(0, 64);
	rx_post(&rxq, 1, 8);
	peer_send(&hd, 100, 1);
	settle();
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
	/* The driver resets; ember goes on. */
	harness_write32(&h, VIRTIO_MMIO_STATUS, 0);
	bring_up(0, 64);
	rx_post(&rxq, 2, 2048);
	settle();
	cr_assert_eq(metric("rx_packets"), 1, "the frame waited in the backend");
}

Test(net, loopback_and_gso_both_ways)
{
	struct net_hdr hd = {.flags = NEEDS_CSUM,
			     .gso_type = GSO_TCPV4,
			     .gso_size = 1448,
			     .hdr_len = 54,
			     .csum_start = 34,
			     .csum_offset = 16};
	uint32_t total = 0, id, len;

	cr_assert_eq(create("loopback = true;"), 0, "%s", err);
	bring_up(F_CSUM | F_GUEST_CSUM | F_HOST_TSO4 | F_GUEST_TSO4 | F_MRG_RXBUF, 256);
	rx_post(&rxq, 64, 4096);
	tx_frame(&hd, 50000, 9);
	settle();
	while (driver_vq_get_used(&rxq, &id, &len))
		total += len;
	cr_assert_eq(total, HDR + 50000, "log:\n%s", h.log);
}

Test(net, every_segmentation_type_offered_works_both_ways)
{
	static const uint8_t types[] = {GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4};
	uint64_t f;

	cr_assert_eq(create("loopback = true;"), 0, "%s", err);
	f = offered();
	cr_assert(f & F_HOST_USO && f & F_GUEST_USO4 && f & F_GUEST_USO6 && f & F_GUEST_TSO6);
	bring_up(F_CSUM | F_GUEST_CSUM | F_HOST_TSO4 | F_HOST_TSO6 | F_HOST_USO | F_GUEST_TSO4 |
		     F_GUEST_TSO6 | F_GUEST_USO4 | F_GUEST_USO6 | F_MRG_RXBUF,
		 256);
	rx_post(&rxq, 96, 4096);
	for (size_t i = 0; i < EMBER_ARRAY_SIZE(types); i++) {
		struct net_hdr hd = {.flags = NEEDS_CSUM,
				     .gso_type = types[i],
				     .gso_size = 1400,
				     .hdr_len = 62,
				     .csum_start = 54,
				     .csum_offset = 6};
		uint32_t total = 0, id, len;

		tx_frame(&hd, 20000, (uint8_t)i);
		settle();
		while (driver_vq_get_used(&rxq, &id, &len))
			total += len;
		cr_assert_eq(total, HDR + 20000, "type %u; log:\n%s", types[i], h.log);
	}
	cr_assert_eq(metric("tx_malformed"), 0);
	cr_assert_eq(metric("rx_dropped"), 0);
	cr_assert_eq(metric("rx_packets"), 3);
}

Test(net, segmentation_the_guest_did_not_take_is_refused)
{
	struct net_hdr hd = {.flags = NEEDS_CSUM,
			     .gso_type = GSO_UDP_L4,
			     .gso_size = 1400,
			     .hdr_len = 42,
			     .csum_start = 34,
			     .csum_offset = 6};

	/* HOST_USO offered but not taken: a USO frame from the guest is malformed. */
	cr_assert_eq(create("loopback = true;"), 0, "%s", err);
	bring_up(F_CSUM | F_HOST_TSO4, 64);
	tx_frame(&hd, 5000, 0);
	cr_assert_eq(used_count(&txq), 1);
	cr_assert_eq(metric("tx_malformed"), 1);
	hd.gso_type = GSO_TCPV6;
	tx_frame(&hd, 5000, 0);
	cr_assert_eq(metric("tx_malformed"), 2);
}

/* ---- Control queue and multiqueue ------------------------------------------------------------ */

static uint8_t ctrl(uint8_t cls, uint8_t cmd, uint16_t arg)
{
	uint8_t out[4] = {cls, cmd, (uint8_t)arg, (uint8_t)(arg >> 8)};
	struct driver_buf b[2] = {{harness_alloc(&h, 4, 8), 4, false},
				  {harness_alloc(&h, 1, 8), 1, true}};
	uint32_t id, len;

	memcpy(harness_ptr(&h, b[0].gpa, 4), out, 4);
	*(uint8_t *)harness_ptr(&h, b[1].gpa, 1) = 0xff;
	driver_vq_add(&ctrlq, b, 2);
	driver_vq_kick(&ctrlq);
	cr_assert(driver_vq_get_used(&ctrlq, &id, &len));
	return *(uint8_t *)harness_ptr(&h, b[1].gpa, 1);
}

Test(net, mq_pairs_set_and_both_pairs_carry_frames)
{
	struct net_hdr hd = {0};

	cr_assert_eq(create("loopback = true; num_queues = 2;"), 0, "%s", err);
	bring_up(F_MRG_RXBUF | F_CTRL_VQ | F_MQ, 64);
	cr_assert_eq(metric("queue_pairs_active"), 1);
	cr_assert_eq(ctrl(4, 0, 3), 1, "3 pairs of 2: VIRTIO_NET_ERR");
	cr_assert_eq(ctrl(9, 9, 0), 1, "unknown class: VIRTIO_NET_ERR");
	cr_assert_eq(ctrl(4, 0, 2), 0, "VIRTIO_NET_OK");
	cr_assert_eq(metric("queue_pairs_active"), 2);
	rx_post(&rxq, 4, 2048);
	rx_post(&rxq1, 4, 2048);
	tx_frame_on(&txq, &hd, HDR, 100, 0);
	tx_frame_on(&txq1, &hd, HDR, 200, 0);
	settle();
	cr_assert_eq(metric("q0_tx_packets"), 1);
	cr_assert_eq(metric("q1_tx_packets"), 1);
	cr_assert_eq(metric("q0_rx_packets"), 1);
	cr_assert_eq(metric("q1_rx_packets"), 1);
	cr_assert_eq(metric("q1_rx_bytes"), 200);
}

Test(net, ctrl_without_room_for_the_status_needs_reset)
{
	struct driver_buf b = {0, 2, false};

	cr_assert_eq(create("loopback = true;"), 0, "%s", err);
	bring_up(F_CTRL_VQ, 64);
	b.gpa = harness_alloc(&h, 2, 8);
	driver_vq_add(&ctrlq, &b, 1);
	driver_vq_kick(&ctrlq);
	cr_assert(status() & VIRTIO_STATUS_NEEDS_RESET);
}

/* ---- Rate limits ----------------------------------------------------------------------------- */

Test(net, tx_rate_limit_waits_and_the_control_lifts_it)
{
	struct net_hdr hd = {0};
	uint8_t buf[4096];
	char reply[512];

	/* 1000 bytes per second, bucket 1000: the first frame goes, the second waits. */
	create_socket("tx_bandwidth_size = 1000;");
	bring_up(0, 64);
	tx_frame(&hd, 900, 0);
	tx_frame(&hd, 900, 0);
	cr_assert_eq(peer_recv(buf, sizeof(buf)), HDR + 900);
	cr_assert_eq(peer_recv(buf, sizeof(buf)), -1, "the second frame waits for tokens");
	cr_assert_eq(metric("tx_throttled"), 1);
	harness_advance(&h, 1000 * MS);
	cr_assert_eq(peer_recv(buf, sizeof(buf)), HDR + 900, "sent once the bucket refilled");
	/* Empty again: a third frame waits, and lifting the limit sends it at once. */
	tx_frame(&hd, 900, 0);
	cr_assert_eq(peer_recv(buf, sizeof(buf)), -1);
	cr_assert_eq(control("direction = \"tx\"; bandwidth_size = 0;", reply, sizeof(reply)), 0,
		     "%s", reply);
	cr_assert(strstr(reply, "bandwidth_size = 0"), "%s", reply);
	cr_assert_eq(peer_recv(buf, sizeof(buf)), HDR + 900);
	cr_assert_eq(used_count(&txq), 3);
}

Test(net, tx_rate_limit_holds_its_rate_over_many_frames)
{
	static uint8_t buf[70000];
	uint64_t frame[16], t0, sent = 0;
	unsigned queued = 0, used = 0;

	/* 1 MiB/s with a 1 MiB bucket: 4 MiB in 64 KiB frames take (4 - 1) MiB / 1 MiB/s = 3 s. */
	create_socket("mtu = 65535; tx_bandwidth_size = \"1M\"; tx_bandwidth_refill_ms = 1000;");
	bring_up(0, 64);
	for (int i = 0; i < 16; i++)
		frame[i] = harness_alloc(&h, HDR + 65536, 8); /* zero: a plain header */
	t0 = h.now_ns;
	while (sent < (4u << 20)) {
		while (queued < 64 && queued - used < 16) {
			struct driver_buf b = {frame[queued % 16], HDR + 65536, false};

			driver_vq_add(&txq, &b, 1);
			queued++;
		}
		driver_vq_kick(&txq);
		while (peer_recv(buf, sizeof(buf)) == HDR + 65536)
			sent += 65536;
		/* The socket holds only a few 64 KiB datagrams: EAGAIN, then the fd's watch. */
		harness_poll(&h);
		used += used_count(&txq);
		if (sent < (4u << 20))
			harness_advance(&h, 10 * MS);
		cr_assert(h.now_ns - t0 < 10000 * MS, "stuck at %llu bytes",
			  (unsigned long long)sent);
	}
	cr_assert(h.now_ns - t0 >= 2950 * MS && h.now_ns - t0 <= 3050 * MS, "4 MiB took %llu ms",
		  (unsigned long long)((h.now_ns - t0) / MS));
}

Test(net, rate_limit_level_survives_a_guest_reset)
{
	struct net_hdr hd = {0};
	uint8_t buf[4096];

	create_socket("tx_ops_size = 1; tx_ops_refill_ms = 1000;");
	bring_up(0, 64);
	tx_frame(&hd, 100, 0);
	cr_assert_eq(peer_recv(buf, sizeof(buf)), HDR + 100);
	/* A reset must not hand the guest a fresh bucket. */
	harness_write32(&h, VIRTIO_MMIO_STATUS, 0);
	bring_up(0, 64);
	tx_frame(&hd, 100, 0);
	cr_assert_eq(peer_recv(buf, sizeof(buf)), -1, "the bucket kept its level");
	harness_advance(&h, 1000 * MS);
	cr_assert_eq(peer_recv(buf, sizeof(buf)), HDR + 100);
}

Test(net, rx_rate_limit_holds_frames_in_the_backend)
{
	struct net_hdr hd = {0};
	char reply[512];

	create_socket("rx_ops_size = 2; rx_ops_refill_ms = 1000;");
	bring_up(0, 64);
	rx_post(&rxq, 8, 2048);
	for (int i = 0; i < 5; i++)
		peer_send(&hd, 100, 0);
	settle();
	cr_assert_eq(metric("rx_packets"), 2);
	harness_advance(&h, 1000 * MS);
	settle();
	cr_assert_eq(metric("rx_packets"), 4);
	cr_assert_eq(control("direction = \"rx\"; ops_size = 0;", reply, sizeof(reply)), 0, "%s",
		     reply);
	settle();
	cr_assert_eq(metric("rx_packets"), 5);
	cr_assert_eq(metric("rx_dropped"), 0);
}

Test(net, control_arguments_are_checked)
{
	char reply[512];

	cr_assert_eq(create("loopback = true;"), 0, "%s", err);
	cr_assert_eq(control("direction = \"up\";", reply, sizeof(reply)), -EINVAL);
	cr_assert(strstr(reply, "direction"), "%s", reply);
	cr_assert_neq(control("bandwidth_size = 5;", reply, sizeof(reply)), 0, "direction missing");
	cr_assert_neq(control("direction = \"rx\"; bandwidth_refill_ms = 0;", reply, sizeof(reply)),
		      0);
	cr_assert_eq(control("direction = \"rx\"; bandwidth_size = \"1M\"; "
			     "bandwidth_one_time_burst = 4096;",
			     reply, sizeof(reply)),
		     0, "%s", reply);
	cr_assert(strstr(reply, "bandwidth_size = 1048576"), "%s", reply);
	cr_assert(strstr(reply, "bandwidth_one_time_burst = 4096"), "%s", reply);
}

/* ---- The backend goes away ------------------------------------------------------------------- */

Test(net, backend_gone_takes_the_link_down)
{
	struct net_hdr hd = {0};

	create_socket("");
	bring_up(F_STATUS, 64);
	close(peer);
	peer = -1;
	tx_frame(&hd, 100, 0);
	settle();
	cr_assert_eq(used_count(&txq), 1);
	cr_assert_eq(metric("link_up"), 0, "log:\n%s", h.log);
	cr_assert_eq(harness_read8(&h, VIRTIO_MMIO_CONFIG + 6), 0, "status: link down");
	cr_assert(harness_log_contains(&h, "the link stays down"), "%s", h.log);
	/* Frames after that are dropped, not stuck. */
	tx_frame(&hd, 100, 0);
	cr_assert_eq(used_count(&txq), 1);
	cr_assert(!(status() & VIRTIO_STATUS_NEEDS_RESET));
}

Test(net, reset_gives_back_held_buffers)
{
	cr_assert_eq(create("loopback = true;"), 0, "%s", err);
	bring_up(F_MRG_RXBUF, 64);
	rx_post(&rxq, 8, 1024);
	settle();
	harness_write32(&h, VIRTIO_MMIO_STATUS, 0);
	bring_up(F_MRG_RXBUF, 64);
	rx_post(&rxq, 8, 1024);
	settle();
	/* teardown counts chains and watches left behind */
}
