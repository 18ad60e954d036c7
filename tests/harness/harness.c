/* SPDX-License-Identifier: Apache-2.0 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <libconfig.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * EMBER_BUILD_ROOT (ember's own tests): plugins named without a path are looked for in the build
 * tree first. Without it (the installed kit) only ember's own search applies.
 */

#define PAGE	     4096u
#define NSEC_PER_SEC 1000000000ULL

static void die(const char *what)
{
	fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
	abort();
}

static struct harness *H(void *opaque)
{
	return opaque;
}

static void fake_log(void *opaque, int level, const char *line)
{
	struct harness *h = H(opaque);
	size_t n = strlen(line);

	if (h->log_stderr || getenv("HARNESS_VERBOSE"))
		fprintf(stderr, "[%d] %s\n", level, line);
	if (h->log_len + n + 2 > sizeof(h->log))
		h->log_len = 0; /* keep the newest lines */
	memcpy(h->log + h->log_len, line, n);
	h->log_len += n;
	h->log[h->log_len++] = '\n';
	h->log[h->log_len] = '\0';
}

static void fake_irq_set(void *opaque, int level)
{
	struct harness *h = H(opaque);

	if (level)
		h->irq_raises++;
	h->irq_level = level;
}

/*
 * The registry's waiting part here: a timer is due at the fake clock plus its delay
 * (harness_advance fires it); a watch needs nothing until harness_poll polls its fd.
 */
static int fake_arm(void *ctx, struct plugin_cb *cb, uint64_t delay_ns)
{
	struct harness *h = H(ctx);

	if (cb->timer)
		cb->deadline_ns = h->now_ns + delay_ns;
	return 0;
}

static const struct plugin_callbacks_wait fake_wait = {.arm = fake_arm};

static int fake_watch_add(void *opaque, int fd, uint32_t events, plugin_watch_cb cb, void *arg)
{
	return plugin_callbacks_watch_add(&H(opaque)->callbacks, fd, events, cb, arg);
}

static void fake_watch_remove(void *opaque, int id)
{
	plugin_callbacks_watch_remove(&H(opaque)->callbacks, id);
}

static int fake_timer_start(void *opaque, uint64_t delay_ns, plugin_timer_cb cb, void *arg)
{
	return plugin_callbacks_timer_start(&H(opaque)->callbacks, delay_ns, cb, arg);
}

static void fake_timer_cancel(void *opaque, int id)
{
	plugin_callbacks_timer_cancel(&H(opaque)->callbacks, id);
}

static uint64_t fake_clock_ns(void *opaque)
{
	/* A plugin's own thread may read the clock while the test advances it. */
	return __atomic_load_n(&H(opaque)->now_ns, __ATOMIC_RELAXED);
}

static void fake_guest_panic(void *opaque, uint32_t events)
{
	struct harness *h = H(opaque);

	h->panics++;
	h->panic_events = events;
}

/* size bytes of RAM between two PROT_NONE guard pages; NULL with errno set on failure. */
static uint8_t *map_guarded(size_t size, size_t *map_size)
{
	uint8_t *p;

	*map_size = size + 2 * PAGE;
	p = mmap(NULL, *map_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + PAGE, size, PROT_READ | PROT_WRITE)) {
		int e = errno;

		munmap(p, *map_size);
		errno = e;
		return NULL;
	}
	return p;
}

static int fake_devmem_alloc(void *opaque, uint64_t size, bool guest_readonly, void **host,
			     uint64_t *gpa)
{
	struct harness *h = H(opaque);

	if (h->devmem_map)
		return -EBUSY;
	if (size == 0 || size % PAGE || size > (64ULL << 20))
		return -EINVAL;
	h->devmem_map = map_guarded(size, &h->devmem_map_size);
	if (!h->devmem_map)
		return -ENOMEM;
	h->devmem = h->devmem_map + PAGE;
	h->devmem_gpa = HARNESS_DEVMEM_GPA;
	h->devmem_size = size;
	h->devmem_readonly = guest_readonly;
	*host = h->devmem;
	*gpa = h->devmem_gpa;
	return 0;
}

static void devmem_free(struct harness *h)
{
	if (h->devmem_map)
		munmap(h->devmem_map, h->devmem_map_size);
	h->devmem_map = NULL;
	h->devmem_map_size = 0;
	h->devmem = NULL;
	h->devmem_gpa = h->devmem_size = 0;
	h->devmem_readonly = false;
}

static int fake_clock_pair(void *opaque, uint32_t clock, struct ember_clock_pair *out)
{
	struct harness *h = H(opaque);
	uint64_t now = __atomic_load_n(&h->now_ns, __ATOMIC_RELAXED);
	uint64_t since = now > h->clock_at_ns ? now - h->clock_at_ns : 0;
	uint64_t ns;

	if (clock != EMBER_CLOCK_REALTIME && clock != EMBER_CLOCK_TAI)
		return -EINVAL;
	if (!h->clock.tsc_hz)
		return -ENOTSUP;
	ns = h->clock.nsec + since % NSEC_PER_SEC;
	out->flags = h->clock.flags;
	/* since * tsc_hz / 1e9 without 128-bit division (no libgcc helper in the kit). */
	out->guest_tsc = h->clock.guest_tsc + since / NSEC_PER_SEC * h->clock.tsc_hz +
			 since % NSEC_PER_SEC * (h->clock.tsc_hz / NSEC_PER_SEC) +
			 since % NSEC_PER_SEC * (h->clock.tsc_hz % NSEC_PER_SEC) / NSEC_PER_SEC;
	out->sec = h->clock.sec + (int64_t)(since / NSEC_PER_SEC) + (int64_t)(ns / NSEC_PER_SEC);
	out->nsec = (uint32_t)(ns % NSEC_PER_SEC);
	if (clock == EMBER_CLOCK_TAI)
		out->sec += h->clock.tai_offset;
	out->tai_offset = h->clock.tai_offset;
	out->tsc_hz = h->clock.tsc_hz;
	return 0;
}

const struct plugin_platform harness_platform = {
    .log = fake_log,
    .irq_set = fake_irq_set,
    .watch_add = fake_watch_add,
    .watch_remove = fake_watch_remove,
    .timer_start = fake_timer_start,
    .timer_cancel = fake_timer_cancel,
    .clock_ns = fake_clock_ns,
    .guest_panic = fake_guest_panic,
    .devmem_alloc = fake_devmem_alloc,
    .clock_pair = fake_clock_pair,
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

int harness_try_init(struct harness *h)
{
	*h = (struct harness){0};
	h->maps[0] = map_guarded(HARNESS_RAM0_SIZE, &h->map_sizes[0]);
	h->maps[1] = h->maps[0] ? map_guarded(HARNESS_RAM1_SIZE, &h->map_sizes[1]) : NULL;
	if (!h->maps[1]) {
		int e = errno ? errno : ENOMEM;

		if (h->maps[0])
			munmap(h->maps[0], h->map_sizes[0]);
		*h = (struct harness){0};
		return -e;
	}
	h->mem.regions[0] = (struct guest_mem_region){
	    .gpa = HARNESS_RAM0_GPA, .size = HARNESS_RAM0_SIZE, .host = h->maps[0] + PAGE};
	h->mem.regions[1] = (struct guest_mem_region){
	    .gpa = HARNESS_RAM1_GPA, .size = HARNESS_RAM1_SIZE, .host = h->maps[1] + PAGE};
	h->mem.count = 2;
	h->mem.ram_bytes = HARNESS_RAM0_SIZE + HARNESS_RAM1_SIZE;
	h->alloc_next = HARNESS_RAM0_GPA + PAGE; /* leave the first page unused */
	h->now_ns = 1000000000ULL;		 /* a clock that is not zero */
	plugin_callbacks_init_fixed(&h->callbacks, h->cbs, HARNESS_MAX_CBS, &fake_wait, h);
	/* A plausible pair: 2 GHz TSC, 2023-11-14 22:13:20 UTC, TAI - UTC = 37 s. */
	h->clock = (struct ember_clock_pair){
	    .struct_size = sizeof(struct ember_clock_pair),
	    .flags = EMBER_CLOCK_PAIR_PRECISE,
	    .guest_tsc = 1ULL << 40,
	    .sec = 1700000000,
	    .tai_offset = 37,
	    .tsc_hz = 2000000000ULL,
	};
	h->clock_at_ns = h->now_ns;
	h->fds_at_init = count_fds();
	return 0;
}

void harness_init(struct harness *h)
{
	int rc = harness_try_init(h);

	if (rc) {
		errno = -rc;
		die("mapping guest RAM");
	}
}

unsigned harness_destroy(struct harness *h)
{
	unsigned leaks = plugin_instance_destroy(h->dev);

	h->dev = NULL;
	plugin_options_free(h->options);
	h->options = NULL;
	devmem_free(h); /* the platform's, freed once the instance is gone */
	return leaks;
}

unsigned harness_fini(struct harness *h)
{
	unsigned leaks = harness_destroy(h);
	int fds;

	plugin_unload(h->plugin);
	h->plugin = NULL;
	leaks += plugin_callbacks_fini(&h->callbacks); /* those still registered */
	for (int i = 0; i < 2; i++)
		if (h->maps[i])
			munmap(h->maps[i], h->map_sizes[i]);
	fds = count_fds();
	if (fds > h->fds_at_init)
		leaks += (unsigned)(fds - h->fds_at_init);
	return leaks;
}

static int load_options(struct harness *h, const char *name, const char *options, char *err,
			size_t err_size)
{
	char *text;
	config_t cfg;
	struct device_config dev;
	int rc = -1;

	if (asprintf(&text, "devices = (\n{ plugin = \"%s\";\n%s\n} );\n", name,
		     options ? options : "") < 0) {
		snprintf(err, err_size, "harness: out of memory");
		return -1;
	}
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		snprintf(err, err_size, "harness.cfg:%d: %s", config_error_line(&cfg),
			 config_error_text(&cfg));
		goto out;
	}
	dev.group = config_setting_get_elem(config_lookup(&cfg, "devices"), 0);
	dev.plugin = name;
	dev.line = config_setting_source_line(dev.group);
	rc = plugin_check_options(h->plugin, &dev, "harness.cfg", 0, &h->options, err, err_size);
out:
	config_destroy(&cfg);
	free(text);
	return rc;
}

int harness_create(struct harness *h, const char *name, const char *options, char *err,
		   size_t err_size)
{
	return harness_create_rc(h, name, options, err, err_size) ? -1 : 0;
}

int harness_create_rc(struct harness *h, const char *name, const char *options, char *err,
		      size_t err_size)
{
#ifdef EMBER_BUILD_ROOT
	const char *dirs[] = {EMBER_BUILD_ROOT "/plugins", EMBER_BUILD_ROOT "/tests/unit/plugins"};
	const size_t ndirs = 2;
#else
	const char *const *dirs = NULL;
	const size_t ndirs = 0;
#endif
	struct plugin_instance_params params;
	char inst_name[64];

	if (!h->plugin) {
		int rc = strchr(name, '/')
			     ? plugin_load_file(name, &h->plugin, err, err_size)
			     : plugin_load_by_name(name, dirs, ndirs, &h->plugin, err, err_size);
		if (rc)
			return -EINVAL;
	}
	if (load_options(h, h->plugin->desc.name, options, err, err_size))
		return -EINVAL;
	snprintf(inst_name, sizeof(inst_name), "%s.0", h->plugin->desc.name);
	params = (struct plugin_instance_params){
	    .plugin = h->plugin,
	    .options = h->options,
	    .name = inst_name,
	    .mem = &h->mem,
	    .platform = &harness_platform,
	    .platform_opaque = h,
	};
	if (plugin_instance_create(&params, &h->dev, err, err_size)) {
		plugin_options_free(h->options);
		h->options = NULL;
		devmem_free(h); /* a create that failed after devmem_alloc */
		return -EIO;
	}
	h->mmio_read = plugin_instance_mmio_read;
	h->mmio_write = plugin_instance_mmio_write;
	h->mmio_opaque = h->dev;
	return 0;
}

uint64_t harness_alloc(struct harness *h, uint64_t size, uint64_t align)
{
	uint64_t gpa = (h->alloc_next + align - 1) & ~(align - 1);

	if (gpa + size > HARNESS_RAM0_GPA + HARNESS_RAM0_SIZE) {
		errno = ENOMEM;
		die("guest RAM allocator");
	}
	h->alloc_next = gpa + size;
	memset(harness_ptr(h, gpa, size), 0, size);
	return gpa;
}

void *harness_ptr(struct harness *h, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(&h->mem, gpa, len);
}

uint32_t harness_read32(struct harness *h, uint64_t offset)
{
	uint32_t v = 0;

	h->mmio_read(h->mmio_opaque, offset, &v, sizeof(v));
	return v;
}

void harness_write32(struct harness *h, uint64_t offset, uint32_t v)
{
	h->mmio_write(h->mmio_opaque, offset, &v, sizeof(v));
}

uint8_t harness_read8(struct harness *h, uint64_t offset)
{
	uint8_t v = 0;

	h->mmio_read(h->mmio_opaque, offset, &v, sizeof(v));
	return v;
}

void harness_write8(struct harness *h, uint64_t offset, uint8_t v)
{
	h->mmio_write(h->mmio_opaque, offset, &v, sizeof(v));
}

void harness_advance(struct harness *h, uint64_t ns)
{
	uint64_t end = h->now_ns + ns;
	struct plugin_cb due;

	/* One-shot: the registry drops each timer before it runs, as in the VMM. */
	while (plugin_callbacks_take_due(&h->callbacks, end, &due)) {
		if (due.deadline_ns > h->now_ns)
			__atomic_store_n(&h->now_ns, due.deadline_ns, __ATOMIC_RELAXED);
		h->timers_fired++;
		plugin_callbacks_run(&due, 0);
	}
	__atomic_store_n(&h->now_ns, end, __ATOMIC_RELAXED);
}

unsigned harness_poll(struct harness *h)
{
	unsigned ran = 0;
	struct plugin_cb c;

	for (size_t i = 0; i < HARNESS_MAX_CBS; i++) {
		struct pollfd p;

		if (!plugin_callbacks_at(&h->callbacks, i, &c) || c.timer)
			continue;
		p = (struct pollfd){.fd = c.fd, .events = (short)c.events};
		if (poll(&p, 1, 0) == 1 && p.revents) {
			plugin_callbacks_run(&c, (uint32_t)p.revents);
			ran++;
		}
	}
	return ran;
}

unsigned harness_callbacks(const struct harness *h)
{
	unsigned n = 0;

	/* The registry's slots are ours to read (single-threaded, plugin_callbacks.h). */
	for (size_t i = 0; i < HARNESS_MAX_CBS; i++)
		n += h->cbs[i].used;
	return n;
}

bool harness_log_contains(const struct harness *h, const char *needle)
{
	return strstr(h->log, needle) != NULL;
}

void harness_log_clear(struct harness *h)
{
	h->log_len = 0;
	h->log[0] = '\0';
}
