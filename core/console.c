/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember's terminal as the guest's serial console. When stdin is a terminal it is put in raw
 * mode so every key reaches the guest (Ctrl-C included); Ctrl-A x stops the VM, Ctrl-A Ctrl-A
 * sends one Ctrl-A. When stdin is not a terminal, ember reads nothing from it: a VM started
 * from a script must not eat the script's input.
 *
 * All of this runs on the main thread except console_rx_ready, which a vCPU thread calls
 * when the UART's FIFO drained.
 *
 * Output needs no code here: the UART writes stdout itself, from the vCPU thread, blocking
 * while stdout is full (back-pressure). console_init gives it the VM's stop flag so that such a
 * write gives up once a stop is requested (serial_set_stop).
 */
#include "log.h"
#include "vm_internal.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define ESCAPE_KEY 0x01 /* Ctrl-A */

static void console_pause(struct vm *vm, bool paused)
{
	if (vm->console.stdin_watch)
		event_loop_modify(vm->loop, vm->console.stdin_watch, paused ? 0 : EPOLLIN);
}

/* Handles the escape sequence in place; returns the number of bytes left for the guest. */
static size_t filter_escape(struct vm *vm, uint8_t *buf, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = buf[i];

		if (vm->console.escape) {
			vm->console.escape = false;
			if (c == 'x' || c == 'X') {
				log_info("stopping the VM (Ctrl-A x)");
				vm_request_stop(vm, VM_STOP_SIGNAL);
				return out;
			}
			if (c != ESCAPE_KEY)
				continue;
		} else if (c == ESCAPE_KEY) {
			vm->console.escape = true;
			continue;
		}
		buf[out++] = c;
	}
	return out;
}

static void on_stdin(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	uint8_t buf[64];
	size_t space = serial_rx_space(vm->serial), n;
	ssize_t got;

	(void)events;
	if (space == 0) {
		console_pause(vm, true); /* resumed by console_rx_ready */
		return;
	}
	if (space > sizeof(buf))
		space = sizeof(buf);
	got = read(fd, buf, space);
	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (got <= 0) {
		event_loop_unwatch(vm->loop, vm->console.stdin_watch);
		vm->console.stdin_watch = NULL;
		return;
	}
	n = filter_escape(vm, buf, (size_t)got);
	serial_receive(vm->serial, buf, n);
}

static void on_ready(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) == sizeof(v))
		console_pause(vm, false);
}

void console_rx_ready(void *opaque)
{
	struct vm *vm = opaque;
	uint64_t one = 1;

	if (vm->console.ready_fd >= 0 && write(vm->console.ready_fd, &one, sizeof(one)) < 0)
		return; /* counter saturated: a wake-up is already pending */
}

int console_init(struct vm *vm)
{
	struct termios raw;

	vm->console.ready_fd = -1;
	/* Whatever stdout is: a pipe nobody reads must not make SIGTERM hang ember. */
	serial_set_stop(vm->serial, &vm->stop_reason);
	vm->console.is_tty = isatty(STDIN_FILENO);
	if (!vm->console.is_tty)
		return 0;
	if (tcgetattr(STDIN_FILENO, &vm->console.saved) < 0)
		return -errno;
	raw = vm->console.saved;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR; /* ember's own messages still start on a fresh line */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		return -errno;
	vm->console.ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->console.ready_fd < 0)
		return -errno;
	vm->console.ready_watch =
	    event_loop_watch(vm->loop, vm->console.ready_fd, EPOLLIN, on_ready, vm);
	vm->console.stdin_watch = event_loop_watch(vm->loop, STDIN_FILENO, EPOLLIN, on_stdin, vm);
	if (!vm->console.ready_watch || !vm->console.stdin_watch)
		return -errno;
	log_info("console: Ctrl-A x stops the VM");
	return 0;
}

void console_fini(struct vm *vm)
{
	if (!vm->console.is_tty)
		return;
	event_loop_unwatch(vm->loop, vm->console.stdin_watch);
	event_loop_unwatch(vm->loop, vm->console.ready_watch);
	vm->console.stdin_watch = vm->console.ready_watch = NULL;
	if (vm->console.ready_fd >= 0)
		close(vm->console.ready_fd);
	vm->console.ready_fd = -1;
	tcsetattr(STDIN_FILENO, TCSANOW, &vm->console.saved);
	vm->console.is_tty = false;
}
