/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vendor kit's public API (ember/harness.h): a thin layer over ember's own test harness
 * (harness.c, driver_vq.c), which runs ember's loader, option checks, host table, transport and
 * queues. What this file adds: return codes and messages instead of aborts, bounds checks on
 * what a test passes, and a driver-side virtqueue that keeps a free list (chains may complete
 * in any order).
 */
#include <ember/harness.h>
#include <ember/virtio.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver_vq.h"
#include "harness.h"
#include "virtio/virtio_mmio.h"

struct ember_harness_vq {
	struct ember_harness *eh;
	struct driver_vq dvq;
	uint32_t size;
	uint16_t *free_next;  /* per descriptor: the next free one */
	uint16_t *chain_next; /* per descriptor in flight: the next one of its chain */
	uint16_t *chain_len;  /* per head: ring descriptors of its chain; 0: not in flight */
	uint64_t *ind_gpa;    /* per head: its indirect table in guest RAM (reused) */
	uint32_t *ind_cap;    /* entries that table holds */
	uint32_t free_head;
	uint32_t free_count;
	unsigned in_flight;
};

struct ember_harness {
	struct harness h;
	char error[512];
	struct ember_harness_vq *vqs[EMBER_VIRTIO_MAX_QUEUES];
};

__attribute__((format(printf, 3, 4))) static int fail(struct ember_harness *eh, int rc,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(eh->error, sizeof(eh->error), fmt, ap);
	va_end(ap);
	return rc;
}

static int need_instance(struct ember_harness *eh)
{
	return eh->h.dev ? 0 : fail(eh, -EPERM, "no device instance (ember_harness_create first)");
}

static int need_virtio(struct ember_harness *eh)
{
	int rc = need_instance(eh);

	if (!rc && eh->h.plugin->desc.kind != EMBER_DEVICE_VIRTIO)
		rc = fail(eh, -EPERM, "%s is not a virtio device", eh->h.plugin->desc.name);
	return rc;
}

static bool access_len_ok(uint32_t len)
{
	return len == 1 || len == 2 || len == 4 || len == 8;
}

/* ---- Lifetime ---------------------------------------------------------------------------- */

int ember_harness_new(struct ember_harness **out)
{
	struct ember_harness *eh = calloc(1, sizeof(*eh));
	int rc;

	*out = NULL;
	if (!eh)
		return -ENOMEM;
	rc = harness_try_init(&eh->h);
	if (rc) {
		free(eh);
		return rc;
	}
	*out = eh;
	return 0;
}

static void vq_free(struct ember_harness_vq *vq)
{
	if (!vq)
		return;
	free(vq->free_next);
	free(vq->chain_next);
	free(vq->chain_len);
	free(vq->ind_gpa);
	free(vq->ind_cap);
	free(vq);
}

static void vqs_free(struct ember_harness *eh)
{
	for (size_t i = 0; i < EMBER_VIRTIO_MAX_QUEUES; i++) {
		vq_free(eh->vqs[i]);
		eh->vqs[i] = NULL;
	}
}

unsigned ember_harness_free(struct ember_harness *eh)
{
	unsigned leaks;

	if (!eh)
		return 0;
	vqs_free(eh);
	leaks = harness_fini(&eh->h);
	free(eh);
	return leaks;
}

const char *ember_harness_error(const struct ember_harness *eh)
{
	return eh->error;
}

/* ---- The plugin and its instance ----------------------------------------------------------- */

int ember_harness_load(struct ember_harness *eh, const char *path)
{
	char file[PATH_MAX];
	char err[512];

	if (eh->h.plugin)
		return fail(eh, -EBUSY, "a plugin is loaded already (%s)", eh->h.plugin->path);
	if (!path || !*path)
		return fail(eh, -EINVAL, "no plugin file given");
	/* dlopen searches the library path for a bare name: make it a file here. */
	if (snprintf(file, sizeof(file), "%s%s", strchr(path, '/') ? "" : "./", path) >=
	    (int)sizeof(file))
		return fail(eh, -EINVAL, "%s: path too long", path);
	if (access(file, F_OK))
		return fail(eh, -ENOENT, "%s: %s", path, strerror(errno));
	if (plugin_load_file(file, &eh->h.plugin, err, sizeof(err)))
		return fail(eh, -EINVAL, "%s", err);
	return 0;
}

int ember_harness_create(struct ember_harness *eh, const char *options)
{
	char err[512];
	int rc;

	if (!eh->h.plugin)
		return fail(eh, -EPERM, "no plugin loaded (ember_harness_load first)");
	if (eh->h.dev)
		return fail(eh, -EBUSY, "%s.0 exists already (ember_harness_destroy first)",
			    eh->h.plugin->desc.name);
	rc = harness_create_rc(&eh->h, eh->h.plugin->desc.name, options, err, sizeof(err));
	if (rc)
		return fail(eh, rc, "%s", err);
	return 0;
}

unsigned ember_harness_destroy(struct ember_harness *eh)
{
	vqs_free(eh);
	return eh->h.dev ? harness_destroy(&eh->h) : 0;
}

int ember_harness_reset(struct ember_harness *eh)
{
	int rc = need_instance(eh);

	if (!rc)
		plugin_instance_reset(eh->h.dev);
	return rc;
}

const struct ember_host *ember_harness_host(const struct ember_harness *eh)
{
	return eh->h.dev ? plugin_instance_host(eh->h.dev) : NULL;
}

/* ---- MMIO ---------------------------------------------------------------------------------- */

static int window_check(struct ember_harness *eh, uint64_t offset, uint32_t len)
{
	uint64_t window;
	int rc = need_instance(eh);

	if (rc)
		return rc;
	if (!access_len_ok(len))
		return fail(eh, -EINVAL, "MMIO access of %u bytes (1, 2, 4 or 8)", len);
	window = plugin_instance_window_size(eh->h.dev);
	if (offset >= window || len > window - offset)
		return fail(eh, -EINVAL, "MMIO access at 0x%llx+%u outside the 0x%llx-byte window",
			    (unsigned long long)offset, len, (unsigned long long)window);
	return 0;
}

int ember_harness_mmio_read(struct ember_harness *eh, uint64_t offset, uint32_t len,
			    uint64_t *value)
{
	int rc = window_check(eh, offset, len);

	*value = ~0ULL;
	if (rc)
		return rc;
	*value = 0; /* little-endian host: the low len bytes are the access */
	eh->h.mmio_read(eh->h.mmio_opaque, offset, value, len);
	return 0;
}

int ember_harness_mmio_write(struct ember_harness *eh, uint64_t offset, uint32_t len,
			     uint64_t value)
{
	int rc = window_check(eh, offset, len);

	if (!rc)
		eh->h.mmio_write(eh->h.mmio_opaque, offset, &value, len);
	return rc;
}

/* ---- Guest RAM ----------------------------------------------------------------------------- */

int ember_harness_ram(const struct ember_harness *eh, unsigned i, uint64_t *gpa, uint64_t *size)
{
	if (i >= eh->h.mem.count)
		return -EINVAL;
	*gpa = eh->h.mem.regions[i].gpa;
	*size = eh->h.mem.regions[i].size;
	return 0;
}

/* Where an allocation would start, or 0 when it does not fit. */
static uint64_t alloc_fit(const struct ember_harness *eh, uint64_t from, uint64_t size,
			  uint64_t align)
{
	const struct guest_mem_region *r0 = &eh->h.mem.regions[0];
	uint64_t end = r0->gpa + r0->size;
	uint64_t gpa;

	if (from > end || align > end - from)
		return 0;
	gpa = (from + align - 1) & ~(align - 1);
	if (size == 0 || gpa > end || size > end - gpa)
		return 0;
	return gpa;
}

uint64_t ember_harness_alloc(struct ember_harness *eh, uint64_t size, uint64_t align)
{
	if (align == 0)
		align = 1;
	if (align & (align - 1)) {
		fail(eh, -EINVAL, "alignment %llu is not a power of two",
		     (unsigned long long)align);
		return 0;
	}
	if (!alloc_fit(eh, eh->h.alloc_next, size, align)) {
		fail(eh, -ENOSPC, "guest RAM full: no room for %llu bytes",
		     (unsigned long long)size);
		return 0;
	}
	return harness_alloc(&eh->h, size, align);
}

void *ember_harness_ptr(struct ember_harness *eh, uint64_t gpa, uint64_t len)
{
	return harness_ptr(&eh->h, gpa, len);
}

int ember_harness_mem_read(struct ember_harness *eh, uint64_t gpa, void *dst, uint64_t len)
{
	if (guest_mem_read(&eh->h.mem, gpa, dst, len))
		return fail(eh, -EFAULT, "0x%llx+%llu is not guest RAM", (unsigned long long)gpa,
			    (unsigned long long)len);
	return 0;
}

int ember_harness_mem_write(struct ember_harness *eh, uint64_t gpa, const void *src, uint64_t len)
{
	if (guest_mem_write(&eh->h.mem, gpa, src, len))
		return fail(eh, -EFAULT, "0x%llx+%llu is not guest RAM", (unsigned long long)gpa,
			    (unsigned long long)len);
	return 0;
}

void *ember_harness_devmem(struct ember_harness *eh, uint64_t *gpa, uint64_t *size, uint32_t *flags)
{
	const struct harness *h = &eh->h;

	if (gpa)
		*gpa = h->devmem ? h->devmem_gpa : 0;
	if (size)
		*size = h->devmem ? h->devmem_size : 0;
	if (flags)
		*flags = h->devmem && h->devmem_readonly ? EMBER_DEVMEM_GUEST_READONLY : 0;
	return h->devmem;
}

/* ---- The fake platform --------------------------------------------------------------------- */

uint64_t ember_harness_now(const struct ember_harness *eh)
{
	return eh->h.now_ns;
}

unsigned ember_harness_advance(struct ember_harness *eh, uint64_t ns)
{
	unsigned before = eh->h.timers_fired;

	harness_advance(&eh->h, ns);
	return eh->h.timers_fired - before;
}

unsigned ember_harness_poll(struct ember_harness *eh)
{
	return harness_poll(&eh->h);
}

unsigned ember_harness_pending(const struct ember_harness *eh)
{
	return harness_callbacks(&eh->h);
}

int ember_harness_set_clock_pair(struct ember_harness *eh, const struct ember_clock_pair *pair)
{
	if (!pair)
		return fail(eh, -EINVAL, "no clock pair given");
	if (pair->nsec >= 1000000000u)
		return fail(eh, -EINVAL, "clock pair nsec %u is not below 1e9", pair->nsec);
	eh->h.clock = *pair;
	eh->h.clock.struct_size = sizeof(eh->h.clock);
	eh->h.clock_at_ns = eh->h.now_ns;
	return 0;
}

unsigned ember_harness_irq_raises(const struct ember_harness *eh)
{
	return eh->h.irq_raises;
}

int ember_harness_irq_level(const struct ember_harness *eh)
{
	return eh->h.irq_level;
}

unsigned ember_harness_panics(const struct ember_harness *eh, uint32_t *events)
{
	if (events)
		*events = eh->h.panic_events;
	return eh->h.panics;
}

const char *ember_harness_log(const struct ember_harness *eh)
{
	return eh->h.log;
}

bool ember_harness_log_contains(const struct ember_harness *eh, const char *needle)
{
	return harness_log_contains(&eh->h, needle);
}

void ember_harness_log_clear(struct ember_harness *eh)
{
	harness_log_clear(&eh->h);
}

void ember_harness_set_log_stderr(struct ember_harness *eh, bool on)
{
	eh->h.log_stderr = on;
}

/* ---- Runtime control and metrics ----------------------------------------------------------- */

int ember_harness_control(struct ember_harness *eh, const char *name, const char *args, char *reply,
			  size_t reply_size)
{
	char line[512];
	int rc = need_instance(eh);

	if (reply && reply_size)
		reply[0] = '\0';
	if (rc) {
		if (reply && reply_size)
			snprintf(reply, reply_size, "%s", eh->error);
		return rc;
	}
	if (!name)
		return fail(eh, -EINVAL, "no control name given");
	if (reply && reply_size) {
		rc = plugin_instance_control(eh->h.dev, name, args, reply, reply_size);
		if (rc)
			fail(eh, rc, "%s", reply);
		return rc;
	}
	/* No reply wanted: ember still needs room for the failure's message. */
	rc = plugin_instance_control(eh->h.dev, name, args, line, sizeof(line));
	if (rc)
		fail(eh, rc, "%s", line);
	return rc;
}

/* All of the instance's metric values, malloc'ed (NULL with *n 0 when it has none). */
static int metrics_all(struct ember_harness *eh, uint64_t **values, uint32_t *n)
{
	int rc = need_instance(eh);

	*values = NULL;
	*n = 0;
	if (rc)
		return rc;
	*n = plugin_instance_metric_count(eh->h.dev);
	if (*n == 0)
		return 0;
	*values = calloc(*n, sizeof(**values));
	if (!*values)
		return fail(eh, -ENOMEM, "out of memory");
	if (plugin_instance_metrics_read(eh->h.dev, *values, *n) != *n)
		memset(*values, 0, *n * sizeof(**values)); /* no metrics_read op: all zero */
	return 0;
}

int ember_harness_metrics(struct ember_harness *eh, uint64_t *values, uint32_t count)
{
	uint64_t *all;
	uint32_t n;
	int rc = metrics_all(eh, &all, &n);

	if (rc)
		return rc;
	if (count > n)
		count = n;
	if (count)
		memcpy(values, all, count * sizeof(*values));
	free(all);
	return (int)count;
}

int ember_harness_metric(struct ember_harness *eh, const char *name, uint64_t *value)
{
	uint64_t *all;
	uint32_t n;
	int rc = metrics_all(eh, &all, &n);

	if (rc)
		return rc;
	rc = fail(eh, -ENOENT, "%s declares no metric '%s'", eh->h.plugin->desc.name,
		  name ? name : "");
	for (uint32_t i = 0; name && i < n; i++)
		if (!strcmp(plugin_instance_metric(eh->h.dev, i)->name, name)) {
			*value = all[i];
			eh->error[0] = '\0';
			rc = 0;
			break;
		}
	free(all);
	return rc;
}

/* ---- The virtio driver --------------------------------------------------------------------- */

int ember_harness_virtio_features(struct ember_harness *eh, uint64_t *features)
{
	int rc = need_virtio(eh);

	*features = 0;
	if (rc)
		return rc;
	harness_write32(&eh->h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	*features = (uint64_t)harness_read32(&eh->h, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	harness_write32(&eh->h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	*features |= harness_read32(&eh->h, VIRTIO_MMIO_DEVICE_FEATURES);
	return 0;
}

int ember_harness_virtio_negotiate(struct ember_harness *eh, uint64_t features)
{
	int rc = need_virtio(eh);

	if (rc)
		return rc;
	if (!(driver_negotiate(&eh->h, features) & VIRTIO_STATUS_FEATURES_OK))
		return fail(eh, -EINVAL,
			    "the device refused features 0x%llx (FEATURES_OK not kept)",
			    (unsigned long long)features);
	return 0;
}

/* The rings driver_vq_alloc makes for size entries fit in what is left of region 0. */
static bool rings_fit(const struct ember_harness *eh, uint32_t size)
{
	uint64_t at = alloc_fit(eh, eh->h.alloc_next, 16ULL * size, 16);

	at = at ? alloc_fit(eh, at + 16ULL * size, 6 + 2ULL * size, 2) : 0;
	at = at ? alloc_fit(eh, at + 6 + 2ULL * size, 6 + 8ULL * size, 4) : 0;
	return at != 0;
}

static int vq_arrays(struct ember_harness_vq *vq, uint32_t size)
{
	free(vq->free_next);
	free(vq->chain_next);
	free(vq->chain_len);
	free(vq->ind_gpa);
	free(vq->ind_cap);
	vq->free_next = calloc(size, sizeof(*vq->free_next));
	vq->chain_next = calloc(size, sizeof(*vq->chain_next));
	vq->chain_len = calloc(size, sizeof(*vq->chain_len));
	vq->ind_gpa = calloc(size, sizeof(*vq->ind_gpa));
	vq->ind_cap = calloc(size, sizeof(*vq->ind_cap));
	if (!vq->free_next || !vq->chain_next || !vq->chain_len || !vq->ind_gpa || !vq->ind_cap)
		return -ENOMEM;
	for (uint32_t i = 0; i < size; i++)
		vq->free_next[i] = (uint16_t)(i + 1);
	vq->size = size;
	vq->free_head = 0;
	vq->free_count = size;
	vq->in_flight = 0;
	return 0;
}

int ember_harness_vq_setup(struct ember_harness *eh, uint32_t index, uint32_t size,
			   struct ember_harness_vq **out)
{
	struct ember_harness_vq *vq;
	uint32_t max;
	int rc = need_virtio(eh);

	*out = NULL;
	if (rc)
		return rc;
	if (index >= plugin_instance_queue_count(eh->h.dev))
		return fail(eh, -EINVAL, "%s offers %u queues, no queue %u",
			    eh->h.plugin->desc.name, plugin_instance_queue_count(eh->h.dev), index);
	harness_write32(&eh->h, VIRTIO_MMIO_QUEUE_SEL, index);
	max = harness_read32(&eh->h, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (size == 0 || size > max || (size & (size - 1)))
		return fail(eh, -EINVAL, "queue %u: size %u is not a power of two in 1..%u", index,
			    size, max);
	if (!rings_fit(eh, size))
		return fail(eh, -ENOSPC, "guest RAM full: no room for the rings of queue %u",
			    index);
	vq = eh->vqs[index];
	if (!vq) {
		vq = calloc(1, sizeof(*vq));
		if (!vq)
			return fail(eh, -ENOMEM, "out of memory");
		eh->vqs[index] = vq;
		vq->eh = eh;
	}
	if (vq_arrays(vq, size))
		return fail(eh, -ENOMEM, "out of memory");
	driver_vq_setup(&eh->h, &vq->dvq, index, (uint16_t)size);
	if (harness_read32(&eh->h, VIRTIO_MMIO_QUEUE_READY) != 1)
		return fail(eh, -EINVAL, "queue %u: the device did not take it (status 0x%x)",
			    index, harness_read32(&eh->h, VIRTIO_MMIO_STATUS));
	*out = vq;
	return 0;
}

int ember_harness_driver_ok(struct ember_harness *eh)
{
	uint32_t status;
	int rc = need_virtio(eh);

	if (rc)
		return rc;
	driver_ok(&eh->h);
	status = harness_read32(&eh->h, VIRTIO_MMIO_STATUS);
	if ((status & VIRTIO_STATUS_NEEDS_RESET) || !(status & VIRTIO_STATUS_DRIVER_OK))
		return fail(eh, -EIO, "DRIVER_OK refused: status 0x%x", status);
	return 0;
}

uint32_t ember_harness_virtio_status(struct ember_harness *eh)
{
	if (!eh->h.dev || eh->h.plugin->desc.kind != EMBER_DEVICE_VIRTIO)
		return 0;
	return harness_read32(&eh->h, VIRTIO_MMIO_STATUS);
}

int ember_harness_virtio_irq_ack(struct ember_harness *eh, uint32_t *status)
{
	uint32_t bits;
	int rc = need_virtio(eh);

	if (status)
		*status = 0;
	if (rc)
		return rc;
	bits = harness_read32(&eh->h, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (bits)
		harness_write32(&eh->h, VIRTIO_MMIO_INTERRUPT_ACK, bits);
	if (status)
		*status = bits;
	return 0;
}

static int config_check(struct ember_harness *eh, uint32_t offset, uint32_t len)
{
	int rc = need_virtio(eh);

	if (rc)
		return rc;
	if (!access_len_ok(len))
		return fail(eh, -EINVAL, "config access of %u bytes (1, 2, 4 or 8)", len);
	if (offset >= VIRTIO_MMIO_CONFIG_MAX || len > VIRTIO_MMIO_CONFIG_MAX - offset)
		return fail(eh, -EINVAL, "config access at 0x%x+%u outside config space", offset,
			    len);
	return 0;
}

int ember_harness_virtio_config_read(struct ember_harness *eh, uint32_t offset, uint32_t len,
				     uint64_t *value)
{
	int rc = config_check(eh, offset, len);

	*value = ~0ULL;
	if (rc)
		return rc;
	*value = 0;
	eh->h.mmio_read(eh->h.mmio_opaque, VIRTIO_MMIO_CONFIG + offset, value, len);
	return 0;
}

int ember_harness_virtio_config_write(struct ember_harness *eh, uint32_t offset, uint32_t len,
				      uint64_t value)
{
	int rc = config_check(eh, offset, len);

	if (!rc)
		eh->h.mmio_write(eh->h.mmio_opaque, VIRTIO_MMIO_CONFIG + offset, &value, len);
	return rc;
}

static uint16_t buf_flags(const struct ember_harness_buf *b, bool more)
{
	return (uint16_t)(((b->flags & EMBER_HARNESS_BUF_WRITE) ? VQ_DESC_F_WRITE : 0) |
			  (more ? VQ_DESC_F_NEXT : 0));
}

/* The indirect table for head, big enough for n entries (reused across chains of that head). */
static int indirect_table(struct ember_harness_vq *vq, uint16_t head, unsigned n, uint64_t *gpa)
{
	if (vq->ind_cap[head] < n) {
		uint64_t at = ember_harness_alloc(vq->eh, 16ULL * n, 16);

		if (!at)
			return -ENOSPC;
		vq->ind_gpa[head] = at;
		vq->ind_cap[head] = n;
	}
	*gpa = vq->ind_gpa[head];
	return 0;
}

int ember_harness_vq_add(struct ember_harness_vq *vq, const struct ember_harness_buf *bufs,
			 unsigned n, uint32_t flags)
{
	struct ember_harness *eh = vq->eh;
	bool indirect = flags & EMBER_HARNESS_VQ_INDIRECT;
	uint32_t need = indirect ? 1 : n;
	uint16_t head = (uint16_t)vq->free_head;
	uint32_t d = vq->free_head;

	if (n == 0 || n > vq->size || (flags & ~EMBER_HARNESS_VQ_INDIRECT))
		return fail(eh, -EINVAL, "queue %u: a chain of %u buffers (1..%u), flags 0x%x",
			    vq->dvq.index, n, vq->size, flags);
	if (need > vq->free_count)
		return fail(eh, -ENOSPC, "queue %u: %u free descriptors, %u needed", vq->dvq.index,
			    vq->free_count, need);
	if (indirect) {
		uint64_t table;
		uint8_t *t;

		if (indirect_table(vq, head, n, &table))
			return fail(eh, -ENOSPC, "guest RAM full: no room for an indirect table");
		t = ember_harness_ptr(eh, table, 16ULL * n);
		for (unsigned i = 0; i < n; i++)
			driver_desc_write(t + 16ULL * i, bufs[i].gpa, bufs[i].len,
					  buf_flags(&bufs[i], i + 1 < n),
					  (uint16_t)(i + 1 < n ? i + 1 : 0));
		driver_vq_set_desc(&vq->dvq, head, table, 16 * n, VQ_DESC_F_INDIRECT, 0);
		d = vq->free_next[head];
	} else {
		for (unsigned i = 0; i < n; i++) {
			uint16_t me = (uint16_t)d;
			uint32_t next;

			d = vq->free_next[me];
			next = i + 1 < n ? d : 0;
			driver_vq_set_desc(&vq->dvq, me, bufs[i].gpa, bufs[i].len,
					   buf_flags(&bufs[i], i + 1 < n), (uint16_t)next);
			vq->chain_next[me] = (uint16_t)next;
		}
	}
	vq->free_head = d;
	vq->free_count -= need;
	vq->chain_len[head] = (uint16_t)need;
	vq->in_flight++;
	driver_vq_publish(&vq->dvq, head);
	return head;
}

int ember_harness_vq_kick(struct ember_harness_vq *vq)
{
	int rc = need_virtio(vq->eh);

	if (!rc)
		driver_vq_kick(&vq->dvq);
	return rc;
}

int ember_harness_vq_used(struct ember_harness_vq *vq, uint32_t *id, uint32_t *len)
{
	uint32_t d;

	if (!driver_vq_get_used(&vq->dvq, id, len))
		return 0;
	if (*id >= vq->size || !vq->chain_len[*id])
		return fail(vq->eh, -EIO, "queue %u: the device used id %u, not a chain in flight",
			    vq->dvq.index, *id);
	d = *id;
	for (uint32_t k = vq->chain_len[*id]; k; k--) {
		uint32_t next = vq->chain_next[d];

		vq->free_next[d] = (uint16_t)vq->free_head;
		vq->free_head = d;
		d = next;
	}
	vq->free_count += vq->chain_len[*id];
	vq->chain_len[*id] = 0;
	vq->in_flight--;
	return 1;
}

unsigned ember_harness_vq_in_flight(const struct ember_harness_vq *vq)
{
	return vq->in_flight;
}

void ember_harness_vq_set_used_event(struct ember_harness_vq *vq, uint16_t used_event)
{
	driver_vq_set_used_event(&vq->dvq, used_event);
}

void ember_harness_vq_set_no_interrupt(struct ember_harness_vq *vq, bool on)
{
	driver_vq_set_avail_flags(&vq->dvq, on ? 1 : 0);
}

void ember_harness_vq_rings(const struct ember_harness_vq *vq, uint64_t *desc, uint64_t *avail,
			    uint64_t *used)
{
	if (desc)
		*desc = vq->dvq.desc;
	if (avail)
		*avail = vq->dvq.avail;
	if (used)
		*used = vq->dvq.used;
}
