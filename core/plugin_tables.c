/* SPDX-License-Identifier: Apache-2.0 */
/* The ABI 1.2 parts of a descriptor (plugin_tables.h). */
#include "plugin_tables.h"

#include <errno.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Bounds that keep a corrupt descriptor from making us read far into the plugin. */
#define TABLE_COUNT_MAX	 256u
#define TABLE_STRIDE_MAX 4096u
#define ACPI_ID_MAX	 16u

/* A _CID: an ACPI/PNP id or a compatible-id string such as "VMCLOCK" ([A-Z0-9_], 1..16). */
static bool valid_cid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ACPI_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

int plugin_check_acpi(const struct plugin *p, char *err, size_t size)
{
	const struct ember_plugin_desc *d = &p->desc;
	uint32_t res = d->acpi_resources;
	uint32_t known = EMBER_ACPI_RES_MMIO | EMBER_ACPI_RES_DEVMEM | EMBER_ACPI_RES_IRQ;

	if (d->acpi_cid && (!d->acpi_hid || !valid_cid(d->acpi_cid)))
		return plugin_fail(
		    err, size, "%s: acpi_cid needs an acpi_hid and must be [A-Z0-9_], 1..%u chars",
		    p->path, ACPI_ID_MAX);
	if (!res)
		return 0;
	if (res & ~known)
		return plugin_fail(err, size, "%s: acpi_resources has unknown bits (%#x)", p->path,
				   res & ~known);
	if (!d->acpi_hid)
		return plugin_fail(
		    err, size, "%s: acpi_resources without an acpi_hid (no ACPI node)", p->path);
	if ((res & EMBER_ACPI_RES_IRQ) && !(d->flags & EMBER_DESC_F_IRQ))
		return plugin_fail(err, size,
				   "%s: acpi_resources lists an interrupt the device lacks "
				   "(EMBER_DESC_F_IRQ)",
				   p->path);
	if ((res & EMBER_ACPI_RES_MMIO) && d->mmio_size == 0)
		return plugin_fail(err, size, "%s: acpi_resources lists a window of 0 bytes",
				   p->path);
	return 0;
}

static int check_controls(struct plugin *p, char *err, size_t size)
{
	struct ember_plugin_desc *d = &p->desc;
	const uint8_t *src = (const uint8_t *)d->controls;

	if (d->control_count == 0)
		return 0;
	if (d->control_count > TABLE_COUNT_MAX || !src ||
	    d->control_size < offsetof(struct ember_control, reserved) ||
	    d->control_size > TABLE_STRIDE_MAX)
		return plugin_fail(err, size, "%s: bad control table (%u entries of %u bytes)",
				   p->path, d->control_count, d->control_size);
	p->controls = calloc(d->control_count, sizeof(*p->controls));
	p->control_params = calloc(d->control_count, sizeof(*p->control_params));
	if (!p->controls || !p->control_params)
		return plugin_fail(err, size, "%s: out of memory", p->path);
	for (uint32_t i = 0; i < d->control_count; i++) {
		struct ember_control *ctl = &p->controls[i];
		char what[64];

		if (plugin_copy_struct(ctl, sizeof(*ctl), src + (size_t)i * d->control_size,
				       d->control_size) ||
		    ctl->reserved0 || !plugin_all_zero(ctl->reserved, sizeof(ctl->reserved)))
			return plugin_fail(err, size,
					   "%s: control %u has fields this ember does not know",
					   p->path, i);
		if (!plugin_valid_name(ctl->name, 31, false, true))
			return plugin_fail(err, size,
					   "%s: control %u has a bad name (want [a-z0-9_])",
					   p->path, i);
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(p->controls[j].name, ctl->name))
				return plugin_fail(err, size, "%s: control %s is declared twice",
						   p->path, ctl->name);
		snprintf(what, sizeof(what), "control %s parameter", ctl->name);
		if (plugin_copy_option_table(p->path, what, ctl->params, ctl->param_count,
					     ctl->param_size, &p->control_params[i], err, size))
			return -1;
		ctl->struct_size = sizeof(*ctl);
		ctl->params = p->control_params[i];
		ctl->param_size = sizeof(struct ember_option);
	}
	d->controls = p->controls;
	d->control_size = sizeof(struct ember_control);
	return 0;
}

static int check_metrics(struct plugin *p, char *err, size_t size)
{
	struct ember_plugin_desc *d = &p->desc;
	const uint8_t *src = (const uint8_t *)d->metrics;

	if (d->metric_count == 0)
		return 0;
	if (d->metric_count > TABLE_COUNT_MAX || !src ||
	    d->metric_size < offsetof(struct ember_metric, reserved) ||
	    d->metric_size > TABLE_STRIDE_MAX)
		return plugin_fail(err, size, "%s: bad metric table (%u entries of %u bytes)",
				   p->path, d->metric_count, d->metric_size);
	p->metrics = calloc(d->metric_count, sizeof(*p->metrics));
	if (!p->metrics)
		return plugin_fail(err, size, "%s: out of memory", p->path);
	for (uint32_t i = 0; i < d->metric_count; i++) {
		struct ember_metric *m = &p->metrics[i];

		if (plugin_copy_struct(m, sizeof(*m), src + (size_t)i * d->metric_size,
				       d->metric_size) ||
		    !plugin_all_zero(m->reserved, sizeof(m->reserved)))
			return plugin_fail(err, size,
					   "%s: metric %u has fields this ember does not know",
					   p->path, i);
		if (!plugin_valid_name(m->name, 63, false, true))
			return plugin_fail(
			    err, size, "%s: metric %u has a bad name (want [a-z0-9_])", p->path, i);
		if (m->kind != EMBER_METRIC_COUNTER && m->kind != EMBER_METRIC_GAUGE)
			return plugin_fail(err, size, "%s: metric %s has an unknown kind %u",
					   p->path, m->name, m->kind);
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(p->metrics[j].name, m->name))
				return plugin_fail(err, size, "%s: metric %s is declared twice",
						   p->path, m->name);
		m->struct_size = sizeof(*m);
	}
	d->metrics = p->metrics;
	d->metric_size = sizeof(struct ember_metric);
	return 0;
}

static const char *syscall_rule_error(const struct ember_syscall_rule *r)
{
	if (!r->threads || (r->threads & ~EMBER_THREAD_ALL))
		return "names no thread kind, or an unknown one";
	if (r->arg_count > EMBER_SYSCALL_MAX_ARGS)
		return "has more than 3 argument tests";
	for (uint32_t i = 0; i < EMBER_SYSCALL_MAX_ARGS; i++) {
		const struct ember_syscall_arg *a = &r->args[i];

		if (i >= r->arg_count) {
			if (a->index || a->op || a->value || a->mask)
				return "has an argument test beyond arg_count";
			continue;
		}
		if (a->index > 5)
			return "tests an argument index above 5";
		if (a->op < EMBER_ARG_EQ || a->op > EMBER_ARG_MASKED_EQ)
			return "has an unknown argument test";
		if (a->op != EMBER_ARG_MASKED_EQ && a->mask)
			return "sets a mask on a test other than EMBER_ARG_MASKED_EQ";
	}
	return NULL;
}

static int check_syscalls(struct plugin *p, char *err, size_t size)
{
	struct ember_plugin_desc *d = &p->desc;
	const uint8_t *src = (const uint8_t *)d->syscalls;

	if (d->syscall_count == 0)
		return 0;
	if (d->syscall_count > TABLE_COUNT_MAX || !src ||
	    d->syscall_size < offsetof(struct ember_syscall_rule, reserved) ||
	    d->syscall_size > TABLE_STRIDE_MAX)
		return plugin_fail(err, size, "%s: bad syscall table (%u entries of %u bytes)",
				   p->path, d->syscall_count, d->syscall_size);
	p->syscalls = calloc(d->syscall_count, sizeof(*p->syscalls));
	p->syscall_nrs = calloc(d->syscall_count, sizeof(*p->syscall_nrs));
	if (!p->syscalls || !p->syscall_nrs)
		return plugin_fail(err, size, "%s: out of memory", p->path);
	for (uint32_t i = 0; i < d->syscall_count; i++) {
		struct ember_syscall_rule *r = &p->syscalls[i];
		const char *why;

		if (plugin_copy_struct(r, sizeof(*r), src + (size_t)i * d->syscall_size,
				       d->syscall_size) ||
		    r->reserved0 || !plugin_all_zero(r->reserved, sizeof(r->reserved)))
			return plugin_fail(err, size,
					   "%s: syscall rule %u has fields this ember does not "
					   "know",
					   p->path, i);
		if (!r->name || !plugin_valid_name(r->name, 63, false, true))
			return plugin_fail(err, size, "%s: syscall rule %u has a bad name", p->path,
					   i);
		p->syscall_nrs[i] = seccomp_syscall_resolve_name(r->name);
		if (p->syscall_nrs[i] == __NR_SCMP_ERROR)
			return plugin_fail(err, size,
					   "%s: syscall rule %u names \"%s\", which is not a "
					   "system call here",
					   p->path, i, r->name);
		why = syscall_rule_error(r);
		if (why)
			return plugin_fail(err, size, "%s: syscall rule %u (%s) %s", p->path, i,
					   r->name, why);
		r->struct_size = sizeof(*r);
	}
	d->syscalls = p->syscalls;
	d->syscall_size = sizeof(struct ember_syscall_rule);
	return 0;
}

int plugin_check_tables(struct plugin *p, char *err, size_t size)
{
	return check_controls(p, err, size) || check_metrics(p, err, size) ||
		       check_syscalls(p, err, size)
		   ? -1
		   : 0;
}

void plugin_free_tables(struct plugin *p)
{
	for (uint32_t i = 0; p->control_params && i < p->desc.control_count; i++)
		free(p->control_params[i]);
	free(p->control_params);
	free(p->controls);
	free(p->metrics);
	free(p->syscalls);
	free(p->syscall_nrs);
	p->control_params = NULL;
	p->controls = NULL;
	p->metrics = NULL;
	p->syscalls = NULL;
	p->syscall_nrs = NULL;
}
