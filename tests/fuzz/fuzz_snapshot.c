/*
 * libFuzzer target: the snapshot codec and its validation (kernel/vm/snapshot.c), the
 * bytes a migration's STATE message carries into a destination, with the Linux
 * platform's sections (local APIC, I/O APIC, platform) and the UART's. Any input either
 * fails to decode with a reason, or decodes to a state that re-encodes to bytes which
 * decode again to the same bytes; validation either accepts it or says why. A crash, a
 * sanitizer report or a broken invariant is a finding. Seeds: a plain guest's snapshot
 * and a Linux guest's with its models mid-flight. Host only.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/vm/snapshot.h"
#include "tests/fuzz/fuzz_seeds.h"
#include "tests/unit/x86_fixtures.h"

#define BLOB_BYTES 16384
#define SEED_GUEST_TSC 123456789ull
#define SEED_TSC_HZ 90000000ull
#define SEED_TIMER_VECTOR 0xec
#define SEED_UART_VECTOR 0x24
#define SEED_UART_GSI 4

static uint8_t again[BLOB_BYTES], twice[BLOB_BYTES];

static void seed_plain(struct vm_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	fresh_cpu(&s->cpu);
	s->guest_tsc = SEED_GUEST_TSC;
	s->tsc_hz = SEED_TSC_HZ;
	s->vendor = VCPU_VENDOR_INTEL;
	s->cpuid = (struct cpu_features){ .leaf1_ecx = 0x00982201, .leaf1_edx = 0x078bfbff };
	s->uart.lcr = 3;
	memcpy(s->uart_line, "counter 4", 9);
	s->uart_line_len = 9;
}

static void seed_linux(struct vm_snapshot *s)
{
	struct vdev_lapic lapic;
	struct vdev_ioapic ioapic;

	seed_plain(s);
	vdev_lapic_init(&lapic, 0, 4, NULL, NULL);
	lapic.s.svr = APIC_SVR_ENABLE | 0xff;
	lapic.s.lvt[LAPIC_LVT_TIMER] = APIC_TIMER_TSC_DEADLINE << APIC_LVT_TIMER_MODE_SHIFT | SEED_TIMER_VECTOR;
	vdev_lapic_write_tsc_deadline(&lapic, s->guest_tsc + 1000000);
	vdev_lapic_accept(&lapic, SEED_UART_VECTOR, false);
	vdev_lapic_take(&lapic);
	vdev_ioapic_init(&ioapic, 0, NULL, NULL);
	ioapic.s.redir[SEED_UART_GSI] = SEED_UART_VECTOR;
	s->has_platform = true;
	s->lapic = lapic.s;
	s->ioapic = ioapic.s;
	s->platform = (struct vm_snapshot_platform){ .halted = 1, .rtc_index = 0x0a, .tsc_per_tick = 4,
						     .crystal_hz = 22500000 };
	strcpy(s->platform.args, "console=ttyS0");
	s->uart.ier = UART_IER_ERBFI;
	s->uart.rx_count = 1;
	s->uart.rx[0] = 'l';
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static uint8_t blob[BLOB_BYTES];
	struct vm_snapshot s;
	long n;

	(void)argc;
	(void)argv;
	seed_plain(&s);
	n = vm_snapshot_encode(&s, blob, sizeof(blob));
	if (n > 0)
		fuzz_write_seed("plain", blob, (size_t)n);
	seed_linux(&s);
	n = vm_snapshot_encode(&s, blob, sizeof(blob));
	if (n > 0)
		fuzz_write_seed("linux", blob, (size_t)n);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm_snapshot s, back;
	struct x86_state_limits lim = bochs_limits();
	const char *why = NULL;
	long n, m;

	if (vm_snapshot_decode(data, size, &s, &why) != 0) {
		if (!why)
			__builtin_trap();   /* a refusal always says why */
		return 0;
	}
	why = NULL;
	if (vm_snapshot_validate(&s, &lim, &why) != 0 && !why)
		__builtin_trap();
	n = vm_snapshot_encode(&s, again, sizeof(again));
	if (n <= 0 || (size_t)n != size)
		__builtin_trap();   /* fixed-size sections: what decodes has the length it re-encodes to */
	if (vm_snapshot_decode(again, (size_t)n, &back, &why) != 0)
		__builtin_trap();
	m = vm_snapshot_encode(&back, twice, sizeof(twice));
	if (m != n || memcmp(again, twice, (size_t)n) != 0)
		__builtin_trap();
	return 0;
}
