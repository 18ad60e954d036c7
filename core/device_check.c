/* SPDX-License-Identifier: Apache-2.0 */
/* `ember check`'s devices, created on a platform without KVM (device_check.h). */
#include "device_check.h"

#include "guest_mem.h"
#include "layout.h"
#include "log.h"
#include "plugin_callbacks.h"
#include "plugin_instance.h"
#include "vm_stop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define DEVICE_SLOT	0x1000ULL
#define DEVICE_GSI_LAST (LAYOUT_IOAPIC_PINS - 1)

struct check;

struct check_device {
	struct check *chk;
	struct plugin *plugin;
	struct plugin_options *opts;
	struct plugin_instance *pi;
	char name[DEVICE_NAME_MAX];
	struct device_create_log create_log;
	/* Watches and timers: registered, never fired. */
	struct plugin_callbacks callbacks;
	void *devmem; /* from devmem_alloc; freed after destroy */
	uint64_t devmem_size;
	uint64_t base; /* where `ember run` puts its window (0: none) and its GSI (0: none) */
	unsigned gsi;
};

struct check {
	const struct vm_config *cfg;
	struct guest_mem mem;
	struct check_device *devs;
	size_t count; /* devices with a loaded plugin, hence to clean up */
	uint64_t next_devmem_gpa;
};

/* ---- shared with `ember run` (vm_devices.c) ---- */

void device_instance_name(const struct vm_config *cfg, size_t index, char *out, size_t size)
{
	unsigned same = 0;

	for (size_t i = 0; i < index; i++)
		same += !strcmp(cfg->devices[i].plugin, cfg->devices[index].plugin);
	snprintf(out, size, "%s.%u", cfg->devices[index].plugin, same);
}

/*
 * "FILE:LINE" of s (a setting of cfg), or of the device's home group when s is NULL, and
 * devices[N] as that file counts it. A device_config built by hand (no home) is the file's.
 */
static unsigned device_where(const struct vm_config *cfg, size_t index, const config_setting_t *s,
			     char *out, size_t size)
{
	const struct device_config *dc = &cfg->devices[index];

	if (!s)
		s = dc->home;
	if (!s) {
		snprintf(out, size, "%s:%d", cfg->file, dc->line);
		return (unsigned)index;
	}
	vm_config_where(cfg, s, out, size);
	if (dc->profile_group && vm_config_in_profile(cfg, s))
		return dc->profile_index;
	return dc->file_group ? dc->file_index : dc->index;
}

void device_error(char *out, size_t size, const struct vm_config *cfg, size_t index,
		  const char *name, const char *fmt, ...)
{
	char where[PATH_MAX + 32];
	unsigned n_in_file = device_where(cfg, index, NULL, where, sizeof(where));
	va_list ap;
	int n = snprintf(out, size, "%s: devices[%u] (%s): ", where, n_in_file, name);

	if (n < 0 || (size_t)n >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, size - (size_t)n, fmt, ap);
	va_end(ap);
}

int device_plugin_load(const struct vm_config *cfg, size_t index, struct plugin **out, char *err,
		       size_t err_size)
{
	const struct device_config *dc = &cfg->devices[index];
	char why[1024], where[PATH_MAX + 32];
	unsigned n;

	if (!plugin_load_by_name(dc->plugin, (const char *const *)cfg->plugin_dirs,
				 cfg->plugin_dir_count, out, why, sizeof(why)))
		return 0;
	n = device_where(cfg, index, device_config_origin(dc, "plugin"), where, sizeof(where));
	snprintf(err, err_size, "%s: devices[%u].plugin: %s", where, n, why);
	return -1;
}

/*
 * plugin_check_options words its errors "CONFIG:LINE: devices[INDEX].OPTION: rest" for the one
 * group it checks, naming the VM's file; the group is the merge of two files' settings, so the
 * prefix is rebuilt from the option's own setting (or the device's home for a missing one).
 * A message in any other form is passed on as it is.
 */
static void reword_option_error(const struct vm_config *cfg, size_t index, const char *raw,
				char *err, size_t err_size)
{
	const struct device_config *dc = &cfg->devices[index];
	size_t flen = strlen(cfg->file), nlen;
	char mid[48], name[64], where[PATH_MAX + 32];
	const char *p = raw, *rest;
	const config_setting_t *s;
	unsigned n;

	snprintf(mid, sizeof(mid), ": devices[%zu].", index);
	if (strncmp(p, cfg->file, flen) || p[flen] != ':')
		goto as_is;
	p += flen + 1;
	p += strspn(p, "0123456789");
	if (strncmp(p, mid, strlen(mid)))
		goto as_is;
	p += strlen(mid);
	nlen = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-*");
	if (nlen == 0 || nlen >= sizeof(name) || strncmp(p + nlen, ": ", 2))
		goto as_is;
	memcpy(name, p, nlen);
	name[nlen] = '\0';
	rest = p + nlen + 2;
	s = device_config_origin(dc, name);
	n = device_where(cfg, index, s, where, sizeof(where));
	/* A required option of a profile's device that the VM's file leaves out: say where. */
	if (!s && !dc->file_group && dc->id && !strncmp(rest, "missing", 7))
		snprintf(err, err_size,
			 "%s: devices[%u].%s: %s; give it in %s: { id = \"%s\"; %s = ...; }", where,
			 n, name, rest, cfg->file, dc->id, name);
	else
		snprintf(err, err_size, "%s: devices[%u].%s: %s", where, n, name, rest);
	return;
as_is:
	snprintf(err, err_size, "%s", raw);
}

int device_options_check(const struct vm_config *cfg, size_t index, const struct plugin *p,
			 struct plugin_options **out, char *err, size_t err_size)
{
	char raw[1024];

	/* cfg->file: relative paths in options resolve against the VM's file, a profile's too. */
	if (!plugin_check_options(p, &cfg->devices[index], cfg->file, index, out, raw, sizeof(raw)))
		return 0;
	reword_option_error(cfg, index, raw, err, err_size);
	return -1;
}

void device_create_log_start(struct device_create_log *l)
{
	l->held = false;
	l->line[0] = '\0';
	l->thread = pthread_self();
	atomic_store(&l->active, true);
}

bool device_create_log_hold(struct device_create_log *l, int level, const char *line)
{
	/*
	 * Only the creating thread's lines: it is the one that reads l->line afterwards, so the
	 * copy needs no lock, and a plugin thread's line is not the create's reason anyway.
	 */
	if (level != EMBER_LOG_ERROR || !atomic_load(&l->active) || l->held ||
	    !pthread_equal(pthread_self(), l->thread))
		return false;
	snprintf(l->line, sizeof(l->line), "%s", line);
	l->held = true;
	return true;
}

void device_create_log_stop(struct device_create_log *l, bool created)
{
	atomic_store(&l->active, false);
	/* An error the plugin reported although it went on is still worth reading. */
	if (created && l->held)
		log_error("%s", l->line);
}

/* s without a leading "NAME: " (the instance prefix every plugin line and create err has). */
static const char *strip_name(const char *s, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(s, name, n) && s[n] == ':' && s[n + 1] == ' ' ? s + n + 2 : s;
}

void device_create_failed(char *out, size_t size, const struct vm_config *cfg, size_t index,
			  const char *name, const struct device_create_log *l,
			  const char *create_err)
{
	device_error(out, size, cfg, index, name, "%s",
		     strip_name(l->held ? l->line : create_err, name));
}

void device_slots_init(struct device_slots *s)
{
	s->next_base = LAYOUT_DEVICE_MMIO_GPA;
	s->next_gsi = LAYOUT_DEVICE_GSI_BASE;
}

int device_slots_take(struct device_slots *s, uint64_t window_size, bool irq, uint64_t *base,
		      unsigned *gsi, char *why, size_t why_size)
{
	uint64_t end = LAYOUT_DEVICE_MMIO_GPA + LAYOUT_DEVICE_MMIO_SIZE;

	if (window_size > end - s->next_base) {
		snprintf(why, why_size, "no room left for its %llu-byte window",
			 (unsigned long long)window_size);
		return -1;
	}
	if (irq && s->next_gsi > DEVICE_GSI_LAST) {
		snprintf(why, why_size,
			 "no interrupt line left: at most %d devices with interrupts",
			 DEVICE_GSI_LAST - LAYOUT_DEVICE_GSI_BASE + 1);
		return -1;
	}
	/* A device without registers (mmio_size 0, ABI 1.2) gets no window and takes no slot. */
	*base = window_size ? s->next_base : 0;
	*gsi = irq ? s->next_gsi++ : 0;
	/* Rounded up after the test: the last window may end exactly at the area's end. */
	s->next_base += (window_size + DEVICE_SLOT - 1) & ~(DEVICE_SLOT - 1);
	return 0;
}

/* ---- the platform without KVM ---- */

static void check_log(void *opaque, int level, const char *line)
{
	struct check_device *d = opaque;

	if (device_create_log_hold(&d->create_log, level, line))
		return;
	if (level < 0 || level > 3)
		level = 0;
	log_msg((enum log_level)level, "%s", line);
}

/* No guest: nobody to interrupt, and no guest can report a panic. */
static void check_irq_set(void *opaque, int level)
{
	(void)opaque;
	(void)level;
}

static void check_guest_panic(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;
}

/*
 * Watches and timers are registered as `ember run` registers them, and never fire: nothing
 * runs after create in a check, so the waiting part is only this. A closed fd is refused as
 * the event loop would refuse it, so a plugin that passes one fails here too.
 */
static int check_arm(void *ctx, struct plugin_cb *cb, uint64_t delay_ns)
{
	(void)ctx;
	(void)delay_ns;
	return !cb->timer && fcntl(cb->fd, F_GETFD) < 0 ? -EBADF : 0;
}

static const struct plugin_callbacks_wait check_wait = {.arm = check_arm};

static int check_watch_add(void *opaque, int fd, uint32_t events, plugin_watch_cb cb, void *arg)
{
	struct check_device *d = opaque;

	return plugin_callbacks_watch_add(&d->callbacks, fd, events, cb, arg);
}

static void check_watch_remove(void *opaque, int id)
{
	struct check_device *d = opaque;

	plugin_callbacks_watch_remove(&d->callbacks, id);
}

static int check_timer_start(void *opaque, uint64_t delay_ns, plugin_timer_cb cb, void *arg)
{
	struct check_device *d = opaque;

	return plugin_callbacks_timer_start(&d->callbacks, delay_ns, cb, arg);
}

static void check_timer_cancel(void *opaque, int id)
{
	struct check_device *d = opaque;

	plugin_callbacks_timer_cancel(&d->callbacks, id);
}

static uint64_t check_clock_ns(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Real, zeroed memory (the plugin may write it in create), at the next address of the device
 * memory area, refused when that is full, as `ember run` hands them out; no guest maps it.
 * Whether KVM can map it read-only for the guest is a question only `ember run` can answer.
 */
static int check_devmem_alloc(void *opaque, uint64_t size, bool guest_readonly, void **host,
			      uint64_t *gpa)
{
	struct check_device *d = opaque;
	struct check *chk = d->chk;
	void *p;

	(void)guest_readonly;
	if (d->devmem)
		return -EBUSY;
	if (size == 0 || size % DEVICE_SLOT)
		return -EINVAL;
	if (size > LAYOUT_DEVICE_MEM_GPA + LAYOUT_DEVICE_MEM_SIZE - chk->next_devmem_gpa) {
		char line[256];

		/* Through the device's log, so that it is the reason of the failed create. */
		snprintf(line, sizeof(line), "%s: no room left for %llu bytes of device memory",
			 d->name, (unsigned long long)size);
		check_log(d, EMBER_LOG_ERROR, line);
		return -ENOMEM;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	d->devmem = p;
	d->devmem_size = size;
	*host = p;
	*gpa = chk->next_devmem_gpa;
	chk->next_devmem_gpa += size;
	return 0;
}

/* The guest TSC exists only with KVM. */
static int check_clock_pair(void *opaque, uint32_t clock, struct ember_clock_pair *out)
{
	(void)opaque;
	(void)clock;
	(void)out;
	return -ENOTSUP;
}

static const struct plugin_platform check_platform = {
    .log = check_log,
    .irq_set = check_irq_set,
    .watch_add = check_watch_add,
    .watch_remove = check_watch_remove,
    .timer_start = check_timer_start,
    .timer_cancel = check_timer_cancel,
    .clock_ns = check_clock_ns,
    .guest_panic = check_guest_panic,
    .devmem_alloc = check_devmem_alloc,
    .clock_pair = check_clock_pair,
};

/* ---- the check ---- */

/* Loads devices[i]'s plugin and checks its options, worded as `ember run` words it. */
static int prepare_one(struct check *chk, size_t i, char *err, size_t err_size)
{
	struct check_device *d = &chk->devs[i];

	if (device_plugin_load(chk->cfg, i, &d->plugin, err, err_size))
		return -1;
	chk->count = i + 1;
	return device_options_check(chk->cfg, i, d->plugin, &d->opts, err, err_size);
}

static int create_one(struct check *chk, size_t i, struct device_slots *slots, char *err,
		      size_t err_size)
{
	struct check_device *d = &chk->devs[i];
	struct plugin_instance_params params = {
	    .plugin = d->plugin,
	    .options = d->opts,
	    .name = d->name,
	    .mem = &chk->mem,
	    .platform = &check_platform,
	    .platform_opaque = d,
	};
	char why[512];
	uint64_t base;
	unsigned gsi;
	int rc;

	device_instance_name(chk->cfg, i, d->name, sizeof(d->name));
	device_create_log_start(&d->create_log);
	rc = plugin_instance_create(&params, &d->pi, why, sizeof(why));
	device_create_log_stop(&d->create_log, rc == 0);
	if (rc) {
		device_create_failed(err, err_size, chk->cfg, i, d->name, &d->create_log, why);
		return -1;
	}
	if (device_slots_take(slots, plugin_instance_window_size(d->pi),
			      plugin_instance_has_irq(d->pi), &base, &gsi, why, sizeof(why))) {
		device_error(err, err_size, chk->cfg, i, d->name, "%s", why);
		return -1;
	}
	d->base = base;
	d->gsi = gsi;
	log_debug("%s: created (window %#llx+%#llx, gsi %u; not started: ember check)", d->name,
		  (unsigned long long)base, (unsigned long long)plugin_instance_window_size(d->pi),
		  gsi);
	return 0;
}

/* In config order, as vm_devices_destroy does; the platform's memory after the instance. */
static void check_fini(struct check *chk)
{
	for (size_t i = 0; i < chk->count; i++) {
		struct check_device *d = &chk->devs[i];

		if (d->pi) {
			unsigned leaks = plugin_instance_destroy(d->pi);

			if (leaks)
				log_warn("%s: the plugin left %u watch(es) or timer(s) behind",
					 d->name, leaks);
		}
		if (d->devmem)
			munmap(d->devmem, d->devmem_size);
		plugin_options_free(d->opts);
		plugin_unload(d->plugin);
	}
	/* Every device's (those never loaded too): what the plugins left went with destroy. */
	for (size_t i = 0; chk->devs && i < chk->cfg->device_count; i++)
		plugin_callbacks_fini(&chk->devs[i].callbacks);
	free(chk->devs);
	guest_mem_free(&chk->mem);
}

/* ---- `ember check --print`: the resolved VM (docs/config.md, "ember check --print") ---- */

/* s as a libconfig string: quoted, '"' and '\\' escaped, other bytes outside ' '..'~' as \xNN. */
static void print_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* "[FILE:LINE]", "[profile FILE:LINE]" for the profile's settings, "[default]" for NULL. */
static void print_origin(FILE *out, const struct vm_config *cfg, const config_setting_t *s)
{
	char where[PATH_MAX + 32];

	if (!s) {
		fputs("  [default]\n", out);
		return;
	}
	vm_config_where(cfg, s, where, sizeof(where));
	fprintf(out, "  [%s%s]\n", vm_config_in_profile(cfg, s) ? "profile " : "", where);
}

static void print_string(FILE *out, const struct vm_config *cfg, const char *key, const char *value,
			 const config_setting_t *from)
{
	fprintf(out, "%s = ", key);
	if (!value) {
		fputs("none\n", out);
		return;
	}
	print_quoted(out, value);
	print_origin(out, cfg, from);
}

static void print_option(FILE *out, const struct vm_config *cfg, size_t i,
			 const struct plugin_option_value *v)
{
	const struct ember_option *o = v->option;

	fprintf(out, "devices[%zu].%s = ", i, o->name);
	switch (o->type) {
	case EMBER_OPTION_BOOL:
		fputs(v->num ? "true" : "false", out);
		break;
	case EMBER_OPTION_STRING:
	case EMBER_OPTION_PATH:
		if (v->str)
			print_quoted(out, v->str);
		else
			fputs("none", out);
		break;
	default: /* INT, SIZE: sizes in bytes, whatever suffix the file used */
		fprintf(out, "%lld", (long long)v->num);
		break;
	}
	print_origin(out, cfg, device_config_origin(&cfg->devices[i], o->name));
}

static void print_device(FILE *out, const struct check *chk, size_t i)
{
	const struct vm_config *cfg = chk->cfg;
	const struct device_config *dc = &cfg->devices[i];
	const struct check_device *d = &chk->devs[i];
	char where[PATH_MAX + 32];
	uint64_t size = plugin_instance_window_size(d->pi);

	fprintf(out, "devices[%zu] = ", i);
	print_quoted(out, d->name);
	fputs("  [", out);
	if (dc->profile_group) {
		vm_config_where(cfg, dc->profile_group, where, sizeof(where));
		fprintf(out, "profile %s%s", where, dc->file_group ? ", " : "");
	}
	if (dc->file_group) {
		vm_config_where(cfg, dc->file_group, where, sizeof(where));
		fputs(where, out);
	}
	fputs("]\n", out);
	snprintf(where, sizeof(where), "devices[%zu].plugin", i);
	print_string(out, cfg, where, dc->plugin, device_config_origin(dc, "plugin"));
	fprintf(out, "devices[%zu].plugin_file = ", i);
	print_quoted(out, d->plugin->path);
	fputc('\n', out);
	snprintf(where, sizeof(where), "devices[%zu].id", i);
	print_string(out, cfg, where, dc->id, device_config_origin(dc, "id"));
	if (size)
		fprintf(out, "devices[%zu].window = %#llx+%#llx\n", i, (unsigned long long)d->base,
			(unsigned long long)size);
	else
		fprintf(out, "devices[%zu].window = none\n", i);
	if (d->gsi)
		fprintf(out, "devices[%zu].gsi = %u\n", i, d->gsi);
	else
		fprintf(out, "devices[%zu].gsi = none\n", i);
	for (size_t j = 0; j < d->opts->count; j++)
		print_option(out, cfg, i, &d->opts->values[j]);
}

/* After every device was created: the placement is known, the options are checked. */
static void print_vm(FILE *out, const struct check *chk)
{
	const struct vm_config *cfg = chk->cfg;
	const config_setting_t *dirs = config_lookup(&cfg->lc, "plugin_dirs");

	fputs("config = ", out);
	print_quoted(out, cfg->file);
	fputc('\n', out);
	print_string(out, cfg, "profile", cfg->profile_name, cfg->from.profile);
	if (cfg->profile) {
		fputs("profile.file = ", out);
		print_quoted(out, cfg->profile);
		fputc('\n', out);
	}
	fprintf(out, "machine.vcpus = %u", cfg->vcpus);
	print_origin(out, cfg, cfg->from.vcpus);
	fprintf(out, "machine.memory_mib = %u", cfg->memory_mib);
	print_origin(out, cfg, cfg->from.memory_mib);
	print_string(out, cfg, "machine.memory_backing",
		     guest_mem_backing_name(cfg->memory_backing), cfg->from.memory_backing);
	print_string(out, cfg, "boot.kernel", cfg->kernel, cfg->from.kernel);
	print_string(out, cfg, "boot.initrd", cfg->initrd, cfg->from.initrd);
	print_string(out, cfg, "boot.cmdline", cfg->cmdline, cfg->from.cmdline);
	for (size_t i = 0; i < cfg->plugin_dir_count; i++) {
		fprintf(out, "plugin_dirs[%zu] = ", i);
		print_quoted(out, cfg->plugin_dirs[i]);
		print_origin(out, cfg, config_setting_get_elem(dirs, (unsigned)i));
	}
	fprintf(out, "devices = %zu\n", cfg->device_count);
	for (size_t i = 0; i < cfg->device_count; i++)
		print_device(out, chk, i);
}

/* The check; with print set, the resolved VM is written there once every device was created. */
static int run_check(const struct vm_config *cfg, FILE *print, char *err, size_t err_size)
{
	struct check chk = {.cfg = cfg, .next_devmem_gpa = LAYOUT_DEVICE_MEM_GPA};
	struct device_slots slots;
	int status = EMBER_EXIT_USAGE;
	int rc;

	if (err_size)
		err[0] = '\0';
	if (cfg->device_count == 0) {
		if (print)
			print_vm(print, &chk);
		return EMBER_EXIT_OK;
	}
	/* Plugins may keep guest_mem pointers (mem_map) in create: it must be real, and sized. */
	rc = guest_mem_init(&chk.mem, (uint64_t)cfg->memory_mib << 20);
	if (rc) {
		snprintf(err, err_size, "%s: cannot map %u MiB of guest RAM for the devices: %s",
			 cfg->file, cfg->memory_mib, strerror(-rc));
		return EMBER_EXIT_ERROR;
	}
	chk.devs = calloc(cfg->device_count, sizeof(*chk.devs));
	if (!chk.devs) {
		snprintf(err, err_size, "%s: out of memory", cfg->file);
		status = EMBER_EXIT_ERROR;
		goto out;
	}
	for (size_t i = 0; i < cfg->device_count; i++) {
		chk.devs[i].chk = &chk;
		plugin_callbacks_init(&chk.devs[i].callbacks, &check_wait, &chk.devs[i]);
		atomic_init(&chk.devs[i].create_log.active, false);
	}
	/* Every plugin and its options first, then every create: the order `ember run` has. */
	for (size_t i = 0; i < cfg->device_count; i++)
		if (prepare_one(&chk, i, err, err_size))
			goto out;
	device_slots_init(&slots);
	for (size_t i = 0; i < cfg->device_count; i++)
		if (create_one(&chk, i, &slots, err, err_size))
			goto out;
	status = EMBER_EXIT_OK;
	if (print)
		print_vm(print, &chk);
out:
	check_fini(&chk);
	return status;
}

int device_check(const struct vm_config *cfg, char *err, size_t err_size)
{
	return run_check(cfg, NULL, err, err_size);
}

int device_check_print(const struct vm_config *cfg, FILE *out, char *err, size_t err_size)
{
	return run_check(cfg, out, err, err_size);
}
