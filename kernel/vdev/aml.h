/*
 * A small encoder of ACPI Machine Language (ACPI 6.5 ch. 20 "ACPI Machine Language
 * Specification"; resource descriptors ch. 6.4), for the few constructs a guest's DSDT
 * needs: Scope, Device, Name with an integer, a string, an EISA ID or a package of
 * integers, and a ResourceTemplate holding IO, Memory32Fixed and extended Interrupt
 * descriptors.
 *
 * Writes into a caller's buffer. Scope, Device, Package and ResourceTemplate are opened
 * with *_begin and closed with aml_end(), which encodes the PkgLength (and a buffer's
 * size) once the body is known. Errors are sticky: a full buffer, a bad name or
 * unbalanced nesting sets `error`, after which nothing more is written; aml_finish()
 * reports it. Portable (image and host).
 */
#ifndef FERRY_VDEV_AML_H
#define FERRY_VDEV_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 8

enum aml_open_kind { AML_OPEN_SCOPE, AML_OPEN_DEVICE, AML_OPEN_PACKAGE, AML_OPEN_RESOURCES };

struct aml_writer {
	uint8_t *buf;
	size_t cap, len;
	const char *error;            /* the first problem, or NULL */
	struct {
		size_t body;          /* where the open object's body starts */
		enum aml_open_kind kind;
		unsigned count;       /* package elements */
	} open[AML_MAX_DEPTH];
	unsigned depth;
};

void aml_init(struct aml_writer *w, uint8_t *buf, size_t cap);

/* Names are ACPI name paths: an optional leading '\', then 1-4 character segments of
 * A-Z, 0-9 and '_' (not starting with a digit) joined by '.', e.g. "\\_SB_.COM1" or "_HID";
 * short segments are padded with '_'. */
void aml_scope_begin(struct aml_writer *w, const char *name);
void aml_device_begin(struct aml_writer *w, const char *name);
void aml_end(struct aml_writer *w);

void aml_name_integer(struct aml_writer *w, const char *name, uint64_t value);
void aml_name_string(struct aml_writer *w, const char *name, const char *value);
/* A compressed EISA ID (e.g. "PNP0501": three letters, four hex digits), as EisaId(). */
void aml_name_eisa_id(struct aml_writer *w, const char *name, const char *id);

/* Name(name, Package() { ... }) of integers added with aml_package_integer(). */
void aml_name_package_begin(struct aml_writer *w, const char *name);
void aml_package_integer(struct aml_writer *w, uint64_t value);

/* Name(name, ResourceTemplate() { ... }); aml_end() adds the end tag. */
void aml_name_resources_begin(struct aml_writer *w, const char *name);
/* IO(Decode16, base, base, 1, length): a fixed range of I/O ports. */
void aml_resource_io(struct aml_writer *w, uint16_t base, uint8_t length);
/* Memory32Fixed(ReadWrite, base, length). */
void aml_resource_memory32(struct aml_writer *w, uint32_t base, uint32_t length);
/* Interrupt(ResourceConsumer, Edge or Level, ActiveHigh or ActiveLow, Exclusive) {gsi}. */
void aml_resource_interrupt(struct aml_writer *w, uint32_t gsi, bool level, bool active_low);

/* The encoded length, or 0 with *why set when an error occurred or an object is open. */
size_t aml_finish(struct aml_writer *w, const char **why);

#endif
