/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AML encoder; encodings from the ACPI 6.5 specification, chapters 6.4 (resource data types)
 * and 20 (AML grammar).
 */
#include "aml.h"

#include <errno.h>
#include <string.h>

/* AML opcodes (ACPI 6.5, 20.2). */
enum {
	AML_ZERO_OP = 0x00,
	AML_ONE_OP = 0x01,
	AML_NAME_OP = 0x08,
	AML_BYTE_PREFIX = 0x0a,
	AML_WORD_PREFIX = 0x0b,
	AML_DWORD_PREFIX = 0x0c,
	AML_STRING_PREFIX = 0x0d,
	AML_QWORD_PREFIX = 0x0e,
	AML_SCOPE_OP = 0x10,
	AML_BUFFER_OP = 0x11,
	AML_PACKAGE_OP = 0x12,
	AML_METHOD_OP = 0x14,
	AML_DUAL_NAME_PREFIX = 0x2e,
	AML_MULTI_NAME_PREFIX = 0x2f,
	AML_EXT_OP_PREFIX = 0x5b,
	AML_DEVICE_OP = 0x82, /* after AML_EXT_OP_PREFIX */
	AML_ROOT_CHAR = 0x5c,
	AML_PARENT_PREFIX_CHAR = 0x5e,
	AML_RETURN_OP = 0xa4,
};

/* Resource descriptor tags (ACPI 6.5, 6.4.2 small and 6.4.3 large items). */
enum {
	RES_IRQ_NOFLAGS = 0x22,	   /* small type 0x04, length 2 */
	RES_IO = 0x47,		   /* small type 0x08, length 7 */
	RES_END_TAG = 0x79,	   /* small type 0x0f, length 1 */
	RES_MEMORY32_FIXED = 0x86, /* large type 0x06 */
	RES_EXT_INTERRUPT = 0x89,  /* large type 0x09 */
};

#define AML_NAMESEG_LEN	  4
#define AML_MAX_SEGS	  255
#define AML_PKGLEN_MAX	  ((1u << 28) - 1)
#define AML_INT_MAX_BYTES 9

void aml_init(struct aml_buf *b, uint8_t *data, size_t cap)
{
	b->data = data;
	b->cap = cap;
	b->len = 0;
	b->err = 0;
}

int aml_error(const struct aml_buf *b)
{
	return b->err;
}

static void aml_fail(struct aml_buf *b, int err)
{
	if (!b->err)
		b->err = err;
}

/* Inserts n bytes at pos, moving what follows; the one place that writes into data. */
static void aml_insert(struct aml_buf *b, size_t pos, const void *bytes, size_t n)
{
	if (b->err)
		return;
	if (pos > b->len || n > b->cap - b->len) {
		aml_fail(b, pos > b->len ? -EINVAL : -ENOSPC);
		return;
	}
	memmove(b->data + pos + n, b->data + pos, b->len - pos);
	memcpy(b->data + pos, bytes, n);
	b->len += n;
}

void aml_append(struct aml_buf *b, const void *bytes, size_t n)
{
	aml_insert(b, b->len, bytes, n);
}

static void aml_byte(struct aml_buf *b, uint8_t v)
{
	aml_append(b, &v, 1);
}

static void aml_le(struct aml_buf *b, uint64_t v, size_t n)
{
	uint8_t out[8];

	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * i));
	aml_append(b, out, n);
}

/* Encodes value in the shortest form into out; returns the number of bytes. */
static size_t aml_encode_integer(uint64_t value, uint8_t out[AML_INT_MAX_BYTES])
{
	size_t n;

	if (value <= 1) {
		out[0] = value ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	if (value <= UINT8_MAX) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (value <= UINT16_MAX) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (value <= UINT32_MAX) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(value >> (8 * i));
	return 1 + n;
}

void aml_integer(struct aml_buf *b, uint64_t value)
{
	uint8_t enc[AML_INT_MAX_BYTES];

	aml_append(b, enc, aml_encode_integer(value, enc));
}

void aml_string(struct aml_buf *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		/* AsciiCharList is 0x01-0x7f; keep it printable so the DSDT stays readable. */
		if (*p < 0x20 || *p > 0x7e) {
			aml_fail(b, -EINVAL);
			return;
		}
	}
	aml_byte(b, AML_STRING_PREFIX);
	aml_append(b, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml_buf *b, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		aml_fail(b, -EINVAL);
		return;
	}
	/* Three letters of five bits each ('A' = 1), then four hex digits. */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(b, -EINVAL);
			return;
		}
		v = (v << 5) | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);

		if (d < 0) {
			aml_fail(b, -EINVAL);
			return;
		}
		v = (v << 4) | (uint32_t)d;
	}
	/* The ID is stored big-endian in the integer: "PNP0501" -> 0x0105d041. */
	aml_integer(b, __builtin_bswap32(v));
}

static bool nameseg_char_ok(char c, bool first)
{
	if (c == '_' || (c >= 'A' && c <= 'Z'))
		return true;
	return !first && c >= '0' && c <= '9';
}

/* Parses one NameSeg from *p into seg (padded with '_'), advancing *p past it. */
static bool parse_nameseg(const char **p, char seg[AML_NAMESEG_LEN])
{
	size_t n = 0;

	while (**p && **p != '.') {
		if (n == AML_NAMESEG_LEN || !nameseg_char_ok(**p, n == 0))
			return false;
		seg[n++] = *(*p)++;
	}
	if (n == 0)
		return false;
	memset(seg + n, '_', AML_NAMESEG_LEN - n);
	return true;
}

void aml_name_string(struct aml_buf *b, const char *path)
{
	char segs[AML_MAX_SEGS][AML_NAMESEG_LEN];
	size_t nsegs = 0;
	const char *p = path;

	if (*p == '\\')
		aml_byte(b, *p++);
	else
		while (*p == '^')
			aml_byte(b, *p++);
	while (*p) {
		if (nsegs == AML_MAX_SEGS || !parse_nameseg(&p, segs[nsegs++]))
			goto bad;
		if (*p == '.' && *++p == '\0')
			goto bad; /* trailing dot */
	}
	if (nsegs == 0)
		goto bad; /* a bare prefix names nothing we need */
	if (nsegs == 2) {
		aml_byte(b, AML_DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		aml_byte(b, AML_MULTI_NAME_PREFIX);
		aml_byte(b, (uint8_t)nsegs);
	}
	aml_append(b, segs, nsegs * AML_NAMESEG_LEN);
	return;
bad:
	aml_fail(b, -EINVAL);
}

void aml_name_decl(struct aml_buf *b, const char *path)
{
	aml_byte(b, AML_NAME_OP);
	aml_name_string(b, path);
}

/*
 * PkgLength counts itself: one byte holds up to 63, otherwise bits 7-6 of the lead byte give
 * the number (1-3) of following bytes, its bits 3-0 the low nibble, the others the rest.
 */
static size_t aml_encode_pkglen(size_t body, uint8_t out[4])
{
	size_t n, total;

	if (body + 1 < 64) {
		out[0] = (uint8_t)(body + 1);
		return 1;
	}
	for (n = 2; n <= 4; n++) {
		total = body + n;
		if (total < (1u << (4 + 8 * (n - 1))))
			break;
	}
	out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
	for (size_t i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

/* Closes an object opened at mark: puts the PkgLength of everything after mark at mark. */
static void aml_pkg_end(struct aml_buf *b, size_t mark)
{
	uint8_t enc[4];

	if (b->err)
		return;
	if (mark > b->len || b->len - mark > AML_PKGLEN_MAX - 4) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_insert(b, mark, enc, aml_encode_pkglen(b->len - mark, enc));
}

size_t aml_package_begin(struct aml_buf *b, uint8_t count)
{
	size_t mark;

	aml_byte(b, AML_PACKAGE_OP);
	mark = b->len;
	aml_byte(b, count);
	return mark;
}

void aml_package_end(struct aml_buf *b, size_t mark)
{
	aml_pkg_end(b, mark);
}

size_t aml_scope_begin(struct aml_buf *b, const char *path)
{
	size_t mark;

	aml_byte(b, AML_SCOPE_OP);
	mark = b->len;
	aml_name_string(b, path);
	return mark;
}

void aml_scope_end(struct aml_buf *b, size_t mark)
{
	aml_pkg_end(b, mark);
}

size_t aml_device_begin(struct aml_buf *b, const char *path)
{
	size_t mark;

	aml_byte(b, AML_EXT_OP_PREFIX);
	aml_byte(b, AML_DEVICE_OP);
	mark = b->len;
	aml_name_string(b, path);
	return mark;
}

void aml_device_end(struct aml_buf *b, size_t mark)
{
	aml_pkg_end(b, mark);
}

size_t aml_method_begin(struct aml_buf *b, const char *path, unsigned argc, bool serialized)
{
	size_t mark;

	if (argc > 7)
		aml_fail(b, -EINVAL);
	aml_byte(b, AML_METHOD_OP);
	mark = b->len;
	aml_name_string(b, path);
	/* MethodFlags: bits 2-0 ArgCount, bit 3 SerializeFlag, bits 7-4 SyncLevel (0). */
	aml_byte(b, (uint8_t)((argc & 7) | (serialized ? 8 : 0)));
	return mark;
}

void aml_method_end(struct aml_buf *b, size_t mark)
{
	aml_pkg_end(b, mark);
}

void aml_return(struct aml_buf *b)
{
	aml_byte(b, AML_RETURN_OP);
}

size_t aml_resource_template_begin(struct aml_buf *b)
{
	aml_byte(b, AML_BUFFER_OP);
	return b->len;
}

void aml_resource_template_end(struct aml_buf *b, size_t mark)
{
	uint8_t size_enc[AML_INT_MAX_BYTES];
	uint8_t sum = RES_END_TAG;

	if (b->err)
		return;
	if (mark > b->len) {
		aml_fail(b, -EINVAL);
		return;
	}
	/* The End Tag's checksum makes the bytes of the whole template sum to zero. */
	for (size_t i = mark; i < b->len; i++)
		sum = (uint8_t)(sum + b->data[i]);
	aml_byte(b, RES_END_TAG);
	aml_byte(b, (uint8_t)-sum);
	/* DefBuffer := BufferOp PkgLength BufferSize ByteList; the size precedes the bytes. */
	aml_insert(b, mark, size_enc, aml_encode_integer(b->len - mark, size_enc));
	aml_pkg_end(b, mark);
}

void aml_res_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	const uint8_t d[] = {
	    RES_IO,	  1, /* Information: bit 0 = 16-bit decode */
	    (uint8_t)min, (uint8_t)(min >> 8),
	    (uint8_t)max, (uint8_t)(max >> 8),
	    align,	  len,
	};

	aml_append(b, d, sizeof(d));
}

void aml_res_irq_noflags(struct aml_buf *b, unsigned irq)
{
	if (irq > 15) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_byte(b, RES_IRQ_NOFLAGS);
	aml_le(b, 1u << irq, 2); /* IRQ mask: bit n = IRQ n */
}

void aml_res_memory32_fixed(struct aml_buf *b, bool writable, uint32_t base, uint32_t len)
{
	aml_byte(b, RES_MEMORY32_FIXED);
	aml_le(b, 9, 2);	       /* length of what follows */
	aml_byte(b, writable ? 1 : 0); /* Information: bit 0 = read/write */
	aml_le(b, base, 4);
	aml_le(b, len, 4);
}

void aml_res_interrupt(struct aml_buf *b, unsigned flags, uint32_t gsi)
{
	if (flags & ~0x1fu) {
		aml_fail(b, -EINVAL);
		return;
	}
	aml_byte(b, RES_EXT_INTERRUPT);
	aml_le(b, 2 + 4, 2); /* flags + table length + one DWord interrupt number */
	aml_byte(b, (uint8_t)flags);
	aml_byte(b, 1); /* Interrupt Table Length */
	aml_le(b, gsi, 4);
}
