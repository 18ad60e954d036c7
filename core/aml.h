/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small AML (ACPI Machine Language) encoder: just what ember's DSDT needs.
 *
 * Contract:
 * - Every function appends to a caller-owned struct aml_buf. Errors are sticky: the first
 *   failure (-ENOSPC when the buffer is full, -EINVAL for a malformed name, EISA ID, IRQ...)
 *   is kept in buf->err, later calls do nothing, and the caller checks aml_error() once at
 *   the end. Nothing is ever written past buf->cap.
 * - Objects with a PkgLength (Scope, Device, Method, Package, Buffer) come in begin/end pairs:
 *   begin returns a mark, end takes it. end computes the length and inserts the shortest
 *   PkgLength encoding (1 to 4 bytes) in front of the body, so pairs must nest properly.
 * - Names are ASL-style paths: an optional "\" (root) or "^" prefixes, then NameSegs of 1-4
 *   characters [A-Z0-9_] separated by '.', each padded with '_' to 4 ("_SB.COM1" -> _SB_.COM1).
 * - Integers are written in the shortest encoding (ZeroOp, OneOp, Byte/Word/DWord/QWord).
 * - Resource descriptors (aml_res_*) go between aml_resource_template_begin/end, which wraps
 *   them in a Buffer and appends the End Tag with a correct checksum.
 * Single-threaded; no allocation.
 */
#ifndef EMBER_AML_H
#define EMBER_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml_buf {
	uint8_t *data;
	size_t cap;
	size_t len;
	int err; /* 0, -ENOSPC or -EINVAL; sticky */
};

void aml_init(struct aml_buf *b, uint8_t *data, size_t cap);
int aml_error(const struct aml_buf *b);

/* Raw bytes, for data the encoder has no helper for. */
void aml_append(struct aml_buf *b, const void *bytes, size_t n);

/* Data objects. */
void aml_integer(struct aml_buf *b, uint64_t value);
void aml_string(struct aml_buf *b, const char *s); /* printable ASCII only */
/* A compressed EISA ID ("PNP0501") as the DWord integer ASL's EISAID() produces. */
void aml_eisaid(struct aml_buf *b, const char *id);
void aml_name_string(struct aml_buf *b, const char *path);

/* Name(path, <value>): the caller appends exactly one data object after this. */
void aml_name_decl(struct aml_buf *b, const char *path);

/* Package(count) { <count data objects> } */
size_t aml_package_begin(struct aml_buf *b, uint8_t count);
void aml_package_end(struct aml_buf *b, size_t mark);

size_t aml_scope_begin(struct aml_buf *b, const char *path);
void aml_scope_end(struct aml_buf *b, size_t mark);

size_t aml_device_begin(struct aml_buf *b, const char *path);
void aml_device_end(struct aml_buf *b, size_t mark);

/* Method(path, argc, Serialized or NotSerialized) { ... }; argc 0..7. */
size_t aml_method_begin(struct aml_buf *b, const char *path, unsigned argc, bool serialized);
void aml_method_end(struct aml_buf *b, size_t mark);
/* Return(<value>): the caller appends one term after this. */
void aml_return(struct aml_buf *b);

/* ResourceTemplate() { <aml_res_* descriptors> } */
size_t aml_resource_template_begin(struct aml_buf *b);
void aml_resource_template_end(struct aml_buf *b, size_t mark);

/* IO(Decode16, min, max, align, len) */
void aml_res_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags() { irq }: edge, active-high, exclusive ISA IRQ 0..15. */
void aml_res_irq_noflags(struct aml_buf *b, unsigned irq);
/* Memory32Fixed(ReadWrite or ReadOnly, base, len) */
void aml_res_memory32_fixed(struct aml_buf *b, bool writable, uint32_t base, uint32_t len);

/* Flags of Interrupt() (Extended Interrupt Descriptor); zero = producer, level, high, excl. */
#define AML_IRQ_CONSUMER   (1u << 0)
#define AML_IRQ_EDGE	   (1u << 1)
#define AML_IRQ_ACTIVE_LOW (1u << 2)
#define AML_IRQ_SHARED	   (1u << 3)
#define AML_IRQ_WAKE	   (1u << 4)
/* Interrupt(flags...) { gsi } with one interrupt number and no resource source. */
void aml_res_interrupt(struct aml_buf *b, unsigned flags, uint32_t gsi);

#endif
