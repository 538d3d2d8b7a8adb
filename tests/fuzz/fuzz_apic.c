/*
 * libFuzzer target for the local APIC and I/O APIC models (kernel/vdev/lapic.c,
 * ioapic.c), wired to each other as the integration will wire them: arbitrary bytes are a
 * program of guest register accesses, device lines, MSR writes, interrupt acknowledges and
 * time steps. A crash, a sanitizer report, a state the models' own validators refuse, or
 * a pending vector below 16 is a bug.
 *
 * Each operation is one opcode byte and eight argument bytes (missing ones read as 0).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_seeds.h"
#include "kernel/lib/errors.h"
#include "kernel/vdev/ioapic.h"
#include "kernel/vdev/lapic.h"

enum op {
	OP_LAPIC_READ, OP_LAPIC_WRITE, OP_IOAPIC_READ, OP_IOAPIC_WRITE, OP_SET_IRQ, OP_TAKE,
	OP_ADVANCE, OP_TSC_DEADLINE, OP_APIC_BASE, OP_ACCEPT, OP_COUNT
};

#define OP_BYTES 9

static struct vdev_lapic apic;
static struct vdev_ioapic io;

static void to_lapic(void *ctx, const struct vdev_ioapic_msg *msg)
{
	(void)ctx;
	if (vdev_lapic_matches(&apic, msg->dest, msg->logical))
		vdev_lapic_accept(&apic, msg->vector, msg->level);
}

static void lapic_eoi(void *ctx, uint8_t vector)
{
	(void)ctx;
	vdev_ioapic_eoi(&io, vector);
}

static uint64_t arg(const uint8_t *p, unsigned from, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[from + i] << (8 * i);
	return v;
}

static void check(void)
{
	const char *why;
	int v = vdev_lapic_pending(&apic);

	if (vdev_lapic_check_state(&apic.s, &why) != 0 || vdev_ioapic_check_state(&io.s, &why) != 0)
		abort();
	if (v >= 0 && v < APIC_FIRST_LEGAL_VECTOR)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Linux's bring-up: enable, LDR, route GSI 4, a deadline, a line, an acknowledge. */
	static const uint8_t boot[][OP_BYTES] = {
		{ OP_LAPIC_WRITE, 0xf0, 0x00, 4, 0xff, 0x01, 0, 0, 0 },
		{ OP_LAPIC_WRITE, 0xd0, 0x00, 4, 0, 0, 0, 0x01, 0 },
		{ OP_LAPIC_WRITE, 0x20, 0x03, 4, 0xec, 0x00, 0x04, 0, 0 },
		{ OP_TSC_DEADLINE, 0x00, 0x10, 0, 0, 0, 0, 0, 0 },
		{ OP_IOAPIC_WRITE, 0x00, 0, 4, 0x18, 0, 0, 0, 0 },
		{ OP_IOAPIC_WRITE, 0x10, 0, 4, 0x21, 0x08, 0, 0, 0 },
		{ OP_IOAPIC_WRITE, 0x00, 0, 4, 0x19, 0, 0, 0, 0 },
		{ OP_IOAPIC_WRITE, 0x10, 0, 4, 0, 0, 0, 0x01, 0 },
		{ OP_SET_IRQ, 4, 1, 0, 0, 0, 0, 0, 0 },
		{ OP_ADVANCE, 0x00, 0x20, 0, 0, 0, 0, 0, 0 },
		{ OP_TAKE, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ OP_LAPIC_WRITE, 0xb0, 0x00, 4, 0, 0, 0, 0, 0 },
	};
	fuzz_write_seed("boot", boot, sizeof(boot));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t now = 0;

	if (vdev_lapic_init(&apic, 0, 1 + (size % VDEV_LAPIC_MAX_TSC_PER_TICK), lapic_eoi, NULL) != 0)
		abort();
	vdev_ioapic_init(&io, 0, to_lapic, NULL);
	for (size_t at = 0; at < size; at += OP_BYTES) {
		uint8_t p[OP_BYTES] = { 0 };
		uint32_t value;
		const char *why;

		memcpy(p, data + at, size - at < OP_BYTES ? size - at : OP_BYTES);
		uint32_t offset = (uint32_t)arg(p, 1, 2) & 0x1fff;   /* reaches past the page */
		unsigned width = p[3] & 0xf;
		uint32_t v32 = (uint32_t)arg(p, 4, 4);
		switch (p[0] % OP_COUNT) {
		case OP_LAPIC_READ:
			vdev_lapic_read(&apic, offset, width, now, &value, &why);
			break;
		case OP_LAPIC_WRITE:
			vdev_lapic_write(&apic, offset, width, v32, now, &why);
			break;
		case OP_IOAPIC_READ:
			vdev_ioapic_read(&io, offset, width, &value, &why);
			break;
		case OP_IOAPIC_WRITE:
			vdev_ioapic_write(&io, offset, width, v32, &why);
			break;
		case OP_SET_IRQ:
			vdev_ioapic_set_irq(&io, p[1], p[2] & 1);
			break;
		case OP_TAKE:
			vdev_lapic_take(&apic);
			break;
		case OP_ADVANCE:
			now += arg(p, 1, 8) >> (p[8] & 0x3f);
			vdev_lapic_advance(&apic, now);
			break;
		case OP_TSC_DEADLINE:
			vdev_lapic_write_tsc_deadline(&apic, arg(p, 1, 8));
			break;
		case OP_APIC_BASE:
			vdev_lapic_write_apic_base(&apic, arg(p, 1, 8), &why);
			break;
		case OP_ACCEPT:
			vdev_lapic_accept(&apic, p[1], p[2] & 1);
			break;
		}
		vdev_lapic_read_tsc_deadline(&apic);
		vdev_lapic_next_deadline(&apic);
		check();
	}
	return 0;
}
