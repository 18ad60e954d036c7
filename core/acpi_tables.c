/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI tables for a hardware-reduced x86-64 VM (ACPI 6.5): RSDP -> XSDT -> {FADT, MADT},
 * FADT -> DSDT. Layout in the buffer: RSDP at 0, then each table 8-byte aligned.
 *
 * Choices that matter to the guest (Linux 6.12):
 * - HW_REDUCED_ACPI: no PM1/GPE blocks, no SCI, no FACS; power-off goes through the FADT's
 *   sleep control register and the DSDT's \_S5, reset through RESET_REG. Linux then also
 *   drops the legacy 8259 and PIT setup, so the MADT has PCAT_COMPAT clear.
 * - No Interrupt Source Overrides: KVM's in-kernel IOAPIC wires ISA IRQ n to pin n, the
 *   defaults ACPI assumes, and a HW-reduced guest has no SCI to override.
 * - The FADT's IAPC_BOOT_ARCH has the 8042 bit set: Linux ignores the i8042 without it.
 */
#include "acpi_tables.h"

#include "aml.h"
#include "layout.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ACPI tables are little-endian");

#define ACPI_OEM_ID	  "EMBER "
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID	  "EMBR"
#define ACPI_CREATOR_REV  1
#define ACPI_TABLE_ALIGN  8

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI 6.5 table 5.4");

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* of the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* of all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "ACPI 6.5 table 5.3");
_Static_assert(offsetof(struct acpi_rsdp, length) == 20, "ACPI 6.5 table 5.3");

/* Generic Address Structure */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "ACPI 6.5 table 5.1");

#define ACPI_GAS_SYSTEM_IO   1
#define ACPI_GAS_ACCESS_BYTE 1

struct acpi_fadt {
	struct acpi_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_revision;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "ACPI 6.5 table 5.9");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "ACPI 6.5 table 5.9");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "ACPI 6.5 table 5.9");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "ACPI 6.5 table 5.9");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "ACPI 6.5 table 5.9");

/* FADT fixed feature flags (ACPI 6.5 table 5.10). */
#define FADT_F_PWR_BUTTON      (1u << 4) /* no fixed-feature power button */
#define FADT_F_SLP_BUTTON      (1u << 5) /* no fixed-feature sleep button */
#define FADT_F_RESET_REG_SUP   (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)
/* IA-PC boot architecture flags (ACPI 6.5 table 5.11). */
#define FADT_BOOT_8042	      (1u << 1)
#define FADT_BOOT_NO_VGA      (1u << 2)
#define FADT_BOOT_NO_MSI      (1u << 3)
#define FADT_BOOT_NO_CMOS_RTC (1u << 5)
#define FADT_REVISION	      6
#define FADT_MINOR_REVISION   5

struct acpi_madt {
	struct acpi_header header;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "ACPI 6.5 table 5.19");

struct acpi_madt_lapic {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "ACPI 6.5 table 5.23");

struct acpi_madt_ioapic {
	uint8_t type;
	uint8_t length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "ACPI 6.5 table 5.25");

#define MADT_REVISION	   5 /* ACPI 6.3+: LAPIC flags have the Online Capable bit */
#define MADT_TYPE_LAPIC	   0
#define MADT_TYPE_IOAPIC   1
#define MADT_LAPIC_ENABLED 1u
#define ACPI_MAX_VCPUS	   255	  /* xAPIC IDs 0..254 fit the 8-bit Local APIC entry */
#define XSDT_ENTRIES	   2	  /* FADT, MADT */
#define DSDT_REVISION	   2	  /* 64-bit AML integers */
#define DSDT_MAX_DEVICES   0x1000 /* device names carry three hex digits */

/* Where the tables go: buf sits at guest-physical gpa. */
struct acpi_writer {
	uint8_t *buf;
	size_t size;
	size_t len;
	uint64_t gpa;
};

/* Reserves len bytes at the next aligned offset; returns the offset or SIZE_MAX if full. */
static size_t acpi_reserve(struct acpi_writer *w, size_t len)
{
	size_t off = (w->len + ACPI_TABLE_ALIGN - 1) & ~(size_t)(ACPI_TABLE_ALIGN - 1);

	if (off < w->len || off > w->size || len > w->size - off)
		return SIZE_MAX;
	memset(w->buf + off, 0, len);
	w->len = off + len;
	return off;
}

static uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

static void acpi_header_init(struct acpi_header *h, const char sig[4], uint32_t length,
			     uint8_t revision, const char table_id[8])
{
	memcpy(h->signature, sig, sizeof(h->signature));
	h->length = length;
	h->revision = revision;
	h->checksum = 0;
	memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, table_id, sizeof(h->oem_table_id));
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = ACPI_CREATOR_REV;
}

/* Sets the checksum of the table at off, whose header already holds its final length. */
static void acpi_table_seal(struct acpi_writer *w, size_t off)
{
	struct acpi_header h;

	memcpy(&h, w->buf + off, sizeof(h));
	w->buf[off + offsetof(struct acpi_header, checksum)] =
	    acpi_checksum(w->buf + off, h.length);
}

static struct acpi_gas acpi_gas_io8(uint16_t port)
{
	return (struct acpi_gas){
	    .space_id = ACPI_GAS_SYSTEM_IO,
	    .bit_width = 8,
	    .bit_offset = 0,
	    .access_size = ACPI_GAS_ACCESS_BYTE,
	    .address = port,
	};
}

static void build_fadt(struct acpi_writer *w, size_t off, uint64_t dsdt_gpa)
{
	struct acpi_fadt f;

	memset(&f, 0, sizeof(f));
	acpi_header_init(&f.header, "FACP", sizeof(f), FADT_REVISION, "EMBRFACP");
	f.flags =
	    FADT_F_HW_REDUCED_ACPI | FADT_F_RESET_REG_SUP | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON;
	f.iapc_boot_arch =
	    FADT_BOOT_8042 | FADT_BOOT_NO_VGA | FADT_BOOT_NO_MSI | FADT_BOOT_NO_CMOS_RTC;
	f.reset_reg = acpi_gas_io8(LAYOUT_ACPI_RESET_PORT);
	f.reset_value = LAYOUT_ACPI_RESET_VALUE;
	f.minor_revision = FADT_MINOR_REVISION;
	/* Only X_DSDT: a 32-bit DSDT of 0 can never disagree with it. */
	f.x_dsdt = dsdt_gpa;
	f.sleep_control_reg = acpi_gas_io8(LAYOUT_ACPI_SLEEP_CTL_PORT);
	f.sleep_status_reg = acpi_gas_io8(LAYOUT_ACPI_SLEEP_STS_PORT);
	memcpy(f.hypervisor_vendor_id, "EMBER\0\0\0", sizeof(f.hypervisor_vendor_id));
	memcpy(w->buf + off, &f, sizeof(f));
	acpi_table_seal(w, off);
}

static size_t madt_size(unsigned vcpus)
{
	return sizeof(struct acpi_madt) + vcpus * sizeof(struct acpi_madt_lapic) +
	       sizeof(struct acpi_madt_ioapic);
}

static void build_madt(struct acpi_writer *w, size_t off, unsigned vcpus)
{
	struct acpi_madt m = {.lapic_address = (uint32_t)LAYOUT_LAPIC_GPA, .flags = 0};
	struct acpi_madt_ioapic io = {
	    .type = MADT_TYPE_IOAPIC,
	    .length = sizeof(io),
	    /* The first ID after the CPUs' 0..vcpus-1, so IOAPIC and LAPIC IDs never clash. */
	    .ioapic_id = (uint8_t)vcpus,
	    .address = (uint32_t)LAYOUT_IOAPIC_GPA,
	    .gsi_base = 0,
	};
	size_t pos = off + sizeof(m);

	acpi_header_init(&m.header, "APIC", (uint32_t)madt_size(vcpus), MADT_REVISION, "EMBRAPIC");
	memcpy(w->buf + off, &m, sizeof(m));
	for (unsigned i = 0; i < vcpus; i++) {
		struct acpi_madt_lapic l = {
		    .type = MADT_TYPE_LAPIC,
		    .length = sizeof(l),
		    .processor_uid = (uint8_t)i,
		    .apic_id = (uint8_t)i,
		    .flags = MADT_LAPIC_ENABLED,
		};

		memcpy(w->buf + pos, &l, sizeof(l));
		pos += sizeof(l);
	}
	memcpy(w->buf + pos, &io, sizeof(io));
	acpi_table_seal(w, off);
}

static void dsdt_com1(struct aml_buf *b)
{
	size_t dev = aml_device_begin(b, "COM1");
	size_t crs;

	aml_name_decl(b, "_HID");
	aml_eisaid(b, "PNP0501");
	aml_name_decl(b, "_UID");
	aml_integer(b, 1);
	aml_name_decl(b, "_CRS");
	crs = aml_resource_template_begin(b);
	aml_res_io(b, LAYOUT_COM1_PORT, LAYOUT_COM1_PORT, 1, 8);
	aml_res_irq_noflags(b, LAYOUT_COM1_IRQ);
	aml_resource_template_end(b, crs);
	aml_device_end(b, dev);
}

static void dsdt_i8042(struct aml_buf *b)
{
	size_t dev = aml_device_begin(b, "PS2K");
	size_t crs;

	aml_name_decl(b, "_HID");
	aml_eisaid(b, "PNP0303");
	aml_name_decl(b, "_CRS");
	crs = aml_resource_template_begin(b);
	aml_res_io(b, LAYOUT_I8042_DATA, LAYOUT_I8042_DATA, 1, 1);
	aml_res_io(b, LAYOUT_I8042_CMD, LAYOUT_I8042_CMD, 1, 1);
	aml_res_irq_noflags(b, LAYOUT_I8042_IRQ);
	aml_resource_template_end(b, crs);
	aml_device_end(b, dev);
}

/* "V" for virtio-mmio, "P" for pvpanic, "D" otherwise, then the device's index in hex. */
static void dsdt_device_name(const struct acpi_mmio_device *d, size_t index, char name[5])
{
	static const char hex[] = "0123456789ABCDEF";
	char prefix = 'D';

	if (strcmp(d->hid, "LNRO0005") == 0)
		prefix = 'V';
	else if (strcmp(d->hid, "QEMU0001") == 0)
		prefix = 'P';
	/* The index alone makes names unique; none can match COM1 or PS2K (not hex). */
	name[0] = prefix;
	name[1] = hex[(index >> 8) & 0xf];
	name[2] = hex[(index >> 4) & 0xf];
	name[3] = hex[index & 0xf];
	name[4] = '\0';
}

static void dsdt_resource(struct aml_buf *b, const struct acpi_res *r)
{
	switch (r->type) {
	case ACPI_RES_MEMORY32:
		aml_res_memory32_fixed(b, !r->read_only, (uint32_t)r->base, r->size);
		return;
	case ACPI_RES_INTERRUPT:
		/*
		 * Virtio devices are edge-triggered: every notification pulses the line (irqfd),
		 * and an edge that comes while the last one is in service waits in the LAPIC, so
		 * none is lost. Plain devices hold a level (irqfd with a resample fd re-raises it
		 * after EOI).
		 */
		aml_res_interrupt(b, AML_IRQ_CONSUMER | (r->edge ? AML_IRQ_EDGE : 0), r->gsi);
		return;
	}
}

static void dsdt_mmio_device(struct aml_buf *b, const struct acpi_mmio_device *d, size_t index)
{
	char name[5];
	size_t dev, crs;

	dsdt_device_name(d, index, name);
	dev = aml_device_begin(b, name);
	aml_name_decl(b, "_HID");
	aml_string(b, d->hid);
	if (d->cid[0]) {
		aml_name_decl(b, "_CID");
		aml_string(b, d->cid);
	}
	aml_name_decl(b, "_UID");
	aml_integer(b, d->uid);
	/* In the order given: a driver may take "the first memory resource" as its registers. */
	aml_name_decl(b, "_CRS");
	crs = aml_resource_template_begin(b);
	for (unsigned i = 0; i < d->res_count; i++)
		dsdt_resource(b, &d->res[i]);
	aml_resource_template_end(b, crs);
	aml_device_end(b, dev);
}

static void dsdt_body(struct aml_buf *b, const struct acpi_config *cfg)
{
	size_t pkg, sb;

	/* \_S5: SLP_TYP for the sleep control register; the other three values are unused. */
	aml_name_decl(b, "_S5_");
	pkg = aml_package_begin(b, 4);
	aml_integer(b, LAYOUT_ACPI_S5_TYPE);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_package_end(b, pkg);

	sb = aml_scope_begin(b, "\\_SB_");
	dsdt_com1(b);
	dsdt_i8042(b);
	for (size_t i = 0; i < cfg->device_count; i++)
		dsdt_mmio_device(b, &cfg->devices[i], i);
	aml_scope_end(b, sb);
}

/* Builds the DSDT at the next aligned offset into *off_out; returns 0 or a negative errno. */
static int build_dsdt(struct acpi_writer *w, const struct acpi_config *cfg, size_t *off_out)
{
	struct acpi_header h;
	struct aml_buf b;
	size_t off = acpi_reserve(w, sizeof(h));

	if (off == SIZE_MAX)
		return -ENOSPC;
	aml_init(&b, w->buf + w->len, w->size - w->len);
	dsdt_body(&b, cfg);
	if (aml_error(&b))
		return aml_error(&b);
	if (b.len > UINT32_MAX - sizeof(h))
		return -ENOSPC;
	w->len += b.len;
	acpi_header_init(&h, "DSDT", (uint32_t)(sizeof(h) + b.len), DSDT_REVISION, "EMBRDSDT");
	memcpy(w->buf + off, &h, sizeof(h));
	acpi_table_seal(w, off);
	*off_out = off;
	return 0;
}

static void build_xsdt(struct acpi_writer *w, size_t off, const uint64_t entries[XSDT_ENTRIES])
{
	struct acpi_header h;

	acpi_header_init(&h, "XSDT", sizeof(h) + XSDT_ENTRIES * sizeof(uint64_t), 1, "EMBRXSDT");
	memcpy(w->buf + off, &h, sizeof(h));
	memcpy(w->buf + off + sizeof(h), entries, XSDT_ENTRIES * sizeof(uint64_t));
	acpi_table_seal(w, off);
}

static void build_rsdp(struct acpi_writer *w, uint64_t xsdt_gpa)
{
	struct acpi_rsdp r;

	memset(&r, 0, sizeof(r));
	memcpy(r.signature, "RSD PTR ", sizeof(r.signature));
	memcpy(r.oem_id, ACPI_OEM_ID, sizeof(r.oem_id));
	r.revision = 2;
	r.rsdt_address = 0; /* XSDT only: one root table, no 32/64-bit disagreement possible */
	r.length = sizeof(r);
	r.xsdt_address = xsdt_gpa;
	r.checksum = acpi_checksum((const uint8_t *)&r, offsetof(struct acpi_rsdp, length));
	r.extended_checksum = acpi_checksum((const uint8_t *)&r, sizeof(r));
	memcpy(w->buf, &r, sizeof(r));
}

/* An _HID string: a PNP ID (3 letters + 4 hex digits) or an ACPI ID (4 [A-Z0-9] + 4 hex). */
static bool hid_valid(const char hid[9])
{
	size_t len = strnlen(hid, 9);
	size_t vendor;

	if (len != 7 && len != 8)
		return false;
	vendor = len - 4;
	for (size_t i = 0; i < vendor; i++) {
		bool letter = hid[i] >= 'A' && hid[i] <= 'Z';
		bool digit = hid[i] >= '0' && hid[i] <= '9';

		if (!letter && !(digit && len == 8))
			return false;
	}
	for (size_t i = vendor; i < len; i++) {
		bool hex = (hid[i] >= '0' && hid[i] <= '9') || (hid[i] >= 'A' && hid[i] <= 'F');

		if (!hex)
			return false;
	}
	return true;
}

/* A _CID string: [A-Z0-9_], 1..16 characters, as plugin_loader accepts acpi_cid. */
static bool cid_valid(const char cid[17])
{
	size_t len = strnlen(cid, 17);

	if (len == 17)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = cid[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static int res_validate(const struct acpi_res *r)
{
	uint64_t end;

	switch (r->type) {
	case ACPI_RES_MEMORY32:
		if (r->size == 0 || __builtin_add_overflow(r->base, (uint64_t)r->size, &end) ||
		    end > (1ULL << 32))
			return -EINVAL; /* Memory32Fixed */
		return 0;
	case ACPI_RES_INTERRUPT:
		/* ISA lines 1-15 are edge-triggered and owned by COM1, the i8042 and friends. */
		if (r->gsi < LAYOUT_DEVICE_GSI_BASE || r->gsi >= LAYOUT_IOAPIC_PINS)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

static int device_validate(const struct acpi_mmio_device *d)
{
	if (!hid_valid(d->hid) || !cid_valid(d->cid) || d->res_count > ACPI_DEVICE_MAX_RES)
		return -EINVAL;
	for (unsigned i = 0; i < d->res_count; i++)
		if (res_validate(&d->res[i]))
			return -EINVAL;
	return 0;
}

static int config_validate(const struct acpi_config *cfg)
{
	if (cfg->vcpus < 1 || cfg->vcpus > ACPI_MAX_VCPUS)
		return -EINVAL;
	if (cfg->device_count > DSDT_MAX_DEVICES || (cfg->device_count && !cfg->devices))
		return -EINVAL;
	for (size_t i = 0; i < cfg->device_count; i++) {
		const struct acpi_mmio_device *d = &cfg->devices[i];

		if (device_validate(d))
			return -EINVAL;
		/* _HID + _UID identify a device to the OS: no two may be equal. */
		for (size_t j = 0; j < i; j++)
			if (cfg->devices[j].uid == d->uid && !strcmp(cfg->devices[j].hid, d->hid))
				return -EINVAL;
	}
	return 0;
}

static uint64_t acpi_gpa(const struct acpi_writer *w, size_t off)
{
	return w->gpa + off;
}

int acpi_build_tables(const struct acpi_config *cfg, uint8_t *buf, size_t buf_size, uint64_t gpa,
		      size_t *used)
{
	struct acpi_writer w = {.buf = buf, .size = buf_size, .len = 0, .gpa = gpa};
	size_t rsdp, xsdt, fadt, madt, dsdt = 0;
	uint64_t entries[XSDT_ENTRIES], end;
	int err;

	if (!cfg || !buf || !used || gpa % 16 != 0)
		return -EINVAL;
	err = config_validate(cfg);
	if (err)
		return err;
	/* Whatever fits in the buffer must be addressable at gpa. */
	if (__builtin_add_overflow(gpa, (uint64_t)buf_size, &end))
		return -EINVAL;

	rsdp = acpi_reserve(&w, sizeof(struct acpi_rsdp));
	xsdt = acpi_reserve(&w, sizeof(struct acpi_header) + sizeof(entries));
	fadt = acpi_reserve(&w, sizeof(struct acpi_fadt));
	madt = acpi_reserve(&w, madt_size(cfg->vcpus));
	if (rsdp == SIZE_MAX || xsdt == SIZE_MAX || fadt == SIZE_MAX || madt == SIZE_MAX)
		return -ENOSPC;
	err = build_dsdt(&w, cfg, &dsdt);
	if (err)
		return err;

	build_fadt(&w, fadt, acpi_gpa(&w, dsdt));
	build_madt(&w, madt, cfg->vcpus);
	entries[0] = acpi_gpa(&w, fadt);
	entries[1] = acpi_gpa(&w, madt);
	build_xsdt(&w, xsdt, entries);
	build_rsdp(&w, acpi_gpa(&w, xsdt));
	*used = w.len;
	return 0;
}
