/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acme-console: a virtio console (virtio 1.x, 5.3) with one port and no MULTIPORT, built out of
 * tree against the installed ember SDK only. The guest's stock virtio_console driver binds it
 * and gives the port to user space as /dev/hvc0:
 *   - what the guest writes there arrives on the transmitq (queue 1) and is appended, with
 *     write(2), to the host file the `output` option names;
 *   - the optional `greeting` goes to the guest on the receiveq (queue 0), in the buffers its
 *     driver posts there, once the guest has written something (see receive() for why then):
 *     a program that holds /dev/hvc0 open, writes and reads gets it back.
 *
 * Beyond virtio-rng, it shows what a vendor device usually needs from ABI 1.2: a path option
 * that ember checks before anything starts, metrics, and the syscall it makes once the guest
 * runs, declared for ember's sandbox. A driver that breaks the console's rules gets NEEDS_RESET
 * and a log line; nothing the guest sends can crash ember. No globals: the state is the
 * instance's, and ember serializes every call into it.
 */
#include <ember/virtio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RX_QUEUE   0 /* receiveq, port 0: device -> guest */
#define TX_QUEUE   1 /* transmitq, port 0: guest -> device */
#define QUEUE_SIZE 64
#define CHUNK	   4096

struct ember_instance {
	const struct ember_host *host;
	int fd;		      /* the output file, O_APPEND */
	const char *output;   /* its name, for messages (ember's string, lives until destroy) */
	const char *greeting; /* ember's string too; NULL: none */
	size_t greeting_len;
	size_t greeting_sent; /* bytes of it the guest has; back to 0 on a reset */
	bool guest_wrote;     /* since the last reset: the guest's side of the port is up */
	bool write_failing;   /* log a failing output once, not once per buffer */
	uint64_t bytes_out;   /* metrics, in desc.metrics order */
	uint64_t bytes_in;
};

/* The driver broke the console's rules: give the chain back, stop the device, say why. */
static void reject(struct ember_instance *con, struct ember_vq_chain *chain, const char *why)
{
	const struct ember_host *host = con->host;

	host->log(host, EMBER_LOG_WARN,
		  "queue %u, descriptor %u (%llu readable, %llu writable bytes): %s", chain->queue,
		  chain->head, (unsigned long long)chain->readable_bytes,
		  (unsigned long long)chain->writable_bytes, why);
	host->vq_push(host, chain, 0);
	host->set_needs_reset(host, why);
}

/*
 * Appends len bytes to the output. A failing file (disk full, gone) is the host's problem, not
 * the guest's: the bytes are dropped, the console goes on, and the log says so once.
 */
static void append(struct ember_instance *con, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(con->fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!con->write_failing)
				con->host->log(con->host, EMBER_LOG_ERROR,
					       "cannot write to %s (%s): dropping console output",
					       con->output,
					       n < 0 ? strerror(errno) : "no progress");
			con->write_failing = true;
			return;
		}
		con->write_failing = false;
		con->bytes_out += (uint64_t)n;
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Host -> guest: what is left of the greeting, in as many receive buffers as it takes. The
 * console is a byte stream, so a small buffer just takes part of it. With no buffer posted
 * there is nothing to do: the driver's next kick on this queue brings us back here.
 *
 * Not before the guest has written: without VIRTIO_CONSOLE_F_MULTIPORT there is no "port open"
 * message, and Linux's driver posts its receive buffers before its interrupt handler knows the
 * port, so it frees what arrives that early (its debugfs shows bytes_received: 0). The guest's
 * first write is the first sure sign that its side is up and that someone holds /dev/hvc0.
 */
static void receive(struct ember_instance *con)
{
	const struct ember_host *host = con->host;
	struct ember_vq_chain *chain;
	bool pushed = false;

	while (con->guest_wrote && con->greeting_sent < con->greeting_len &&
	       host->vq_pop(host, RX_QUEUE, &chain) > 0) {
		size_t left = con->greeting_len - con->greeting_sent;
		int64_t n;

		/* virtio 1.x 5.3.6: receiveq buffers are device-writable only. */
		if (chain->readable_count || !chain->writable_bytes) {
			reject(con, chain, "a receive buffer is not device-writable only");
			break;
		}
		n = host->chain_write(host, chain, 0, con->greeting + con->greeting_sent, left);
		if (n <= 0) {
			reject(con, chain, "cannot write into a receive buffer");
			break;
		}
		con->greeting_sent += (size_t)n;
		con->bytes_in += (uint64_t)n;
		host->vq_push(host, chain, (uint32_t)n);
		pushed = true;
	}
	if (pushed)
		host->vq_notify(host, RX_QUEUE);
}

/* Guest -> host: each transmit buffer is copied out in chunks and appended to the output. */
static void transmit(struct ember_instance *con)
{
	const struct ember_host *host = con->host;
	struct ember_vq_chain *chain;
	bool pushed = false;
	uint8_t buf[CHUNK];

	while (host->vq_pop(host, TX_QUEUE, &chain) > 0) {
		/* virtio 1.x 5.3.6: transmitq buffers are device-readable only. */
		if (chain->writable_count) {
			reject(con, chain, "a transmit buffer has device-writable parts");
			break;
		}
#ifdef ACME_CONSOLE_PLANTED_BUG
		/* For the kit's own check only: a crash the fuzzer must find. */
		if (chain->readable_bytes % 16 == 3)
			*(volatile int *)(uintptr_t)chain->readable_count = 0;
#endif
		for (uint64_t off = 0; off < chain->readable_bytes;) {
			int64_t n = host->chain_read(host, chain, off, buf, sizeof(buf));

			if (n <= 0)
				break;
			append(con, buf, (size_t)n);
			off += (uint64_t)n;
		}
		/* The driver waits for each buffer back (hvc's put_chars): push it at once. */
		host->vq_push(host, chain, 0);
		pushed = true;
	}
	if (!pushed)
		return;
	host->vq_notify(host, TX_QUEUE);
	con->guest_wrote = true;
	receive(con); /* the greeting may go now */
}

static int console_create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *con = calloc(1, sizeof(*con));

	if (!con)
		return -ENOMEM;
	con->host = host;
	/* ember checked both against the option table; output is required, so it is set. */
	if (host->opt_string(host, "output", &con->output) ||
	    host->opt_string(host, "greeting", &con->greeting)) {
		free(con);
		return -EINVAL;
	}
	con->greeting_len = con->greeting ? strlen(con->greeting) : 0;
	/* create runs before the guest and outside the sandbox: open what the device needs. */
	con->fd = open(con->output, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (con->fd < 0) {
		int e = errno;

		host->log(host, EMBER_LOG_ERROR, "cannot open %s: %s", con->output, strerror(e));
		free(con);
		return -e;
	}
	host->log(host, EMBER_LOG_INFO, "guest output goes to %s; greeting of %zu bytes",
		  con->output, con->greeting_len);
	*out = con;
	return 0;
}

static void console_destroy(struct ember_instance *con)
{
	/* No chain is ever kept between calls, so there is none to push back. */
	close(con->fd);
	free(con);
}

static void console_reset(struct ember_instance *con)
{
	/* A new driver (reboot, module reload) gets the greeting again, after its first write. */
	con->greeting_sent = 0;
	con->guest_wrote = false;
}

static void console_queue_notify(struct ember_instance *con, uint32_t queue)
{
	if (queue == TX_QUEUE)
		transmit(con);
	else
		receive(con);
}

static void console_metrics_read(struct ember_instance *con, uint64_t *values, uint32_t count)
{
	/* count is what desc.metrics declares: both, in that order. */
	(void)count;
	values[0] = con->bytes_out;
	values[1] = con->bytes_in;
}

static const struct ember_option console_options[] = {
    /* ember resolves it against the config's folder and refuses a missing folder up front. */
    EMBER_OPTION_PATH_F("output", NULL, EMBER_OPTION_REQUIRED | EMBER_OPTION_PATH_PARENT_EXISTS,
			"file the guest's /dev/hvc0 output is appended to (created if missing)"),
    EMBER_OPTION_STRING_DEF("greeting", NULL,
			    "text given to the guest after its first write to /dev/hvc0"),
};

static const struct ember_metric console_metrics[] = {
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "bytes_out", "bytes",
		     "bytes the guest wrote to the console, appended to output"),
    EMBER_METRIC_DEF(EMBER_METRIC_COUNTER, "bytes_in", "bytes",
		     "bytes given to the guest (the greeting)"),
};

/* queue_notify runs on a vCPU thread (MMIO kick) or on the event loop (ioeventfd kick). */
static const struct ember_syscall_rule console_syscalls[] = {
    EMBER_SYSCALL("write", EMBER_THREAD_VCPU | EMBER_THREAD_EVENT_LOOP),
};

static const struct ember_device_ops console_ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = console_create,
    .destroy = console_destroy,
    .reset = console_reset,
    .queue_notify = console_queue_notify,
    .metrics_read = console_metrics_read,
};

static const struct ember_plugin_desc console_desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 2, /* metrics, syscalls and PATH_PARENT_EXISTS are ABI 1.2 */
    .kind = EMBER_DEVICE_VIRTIO,
    .name = "acme-console",
    .vendor = "ACME Devices",
    .version = "0.1.0",
    .description = "virtio console: guest output to a file, an optional greeting",
    .virtio_device_id = EMBER_VIRTIO_ID_CONSOLE,
    .virtio_queue_count = 2, /* no VIRTIO_CONSOLE_F_MULTIPORT: port 0's two queues only */
    .virtio_queue_max_size = QUEUE_SIZE,
    /* No feature bits (no F_SIZE, no F_EMERG_WRITE), so no config space either. */
    .options = console_options,
    .option_count = EMBER_ARRAY_SIZE(console_options),
    .option_size = sizeof(struct ember_option),
    .ops = &console_ops,
    .metrics = console_metrics,
    .metric_count = EMBER_ARRAY_SIZE(console_metrics),
    .metric_size = sizeof(struct ember_metric),
    .syscalls = console_syscalls,
    .syscall_count = EMBER_ARRAY_SIZE(console_syscalls),
    .syscall_size = sizeof(struct ember_syscall_rule),
};

EMBER_PLUGIN_DEFINE(console_desc)
