/*
 * A machine check taken while a guest ran. Both backends make it exit instead
 * of reaching the guest (VT-x: the exception bitmap's #MC bit, with CR4.MCE
 * kept on under the guest so that the event is an exception, not a shutdown;
 * AMD-V: the #MC exception intercept, and a shutdown with MCG_STATUS.MCIP set),
 * then ask mce_judge() what the banks say (SDM Vol. 3B 16.3 and 17.10, as
 * Linux's severity grading does for a user process):
 *   - the interrupted context cannot restart (MCG_STATUS.RIPV clear) or a bank
 *     says the processor context is corrupt (PCC): Ferry cannot trust the CPU
 *     either, and panics with the banks;
 *   - otherwise the error belongs to the guest's context: that guest stops
 *     (`machine check in guest context, bank N status 0x...`), the banks are
 *     cleared and Ferry and the other guests go on;
 *   - no valid bank: nothing to act on, the guest stops all the same (a #MC
 *     it was never meant to see).
 * A machine check while Ferry itself runs is a fatal exception (arch/x86/trap.c).
 *
 * mce_judge() is portable (arch/x86/mce.c, tests/unit/test_mce.c); the calls
 * that read and write the CPU's MSRs are image only (arch/x86/mce_hw.c).
 */
#ifndef FERRY_ARCH_X86_MCE_H
#define FERRY_ARCH_X86_MCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MCE_BANKS_MAX 32

struct mce_record {
	uint64_t mcg_status;
	unsigned banks;                   /* banks read (at most MCE_BANKS_MAX) */
	uint64_t status[MCE_BANKS_MAX];
	uint64_t addr[MCE_BANKS_MAX];     /* when the bank's ADDRV is set */
};

enum mce_verdict {
	MCE_STOP_GUEST,   /* the guest's context only: stop that guest, go on */
	MCE_HOST_FATAL,   /* the CPU cannot be trusted: panic */
};

/* The verdict, the bank that decided it (-1: none valid) and a reason for the guest's stop or the panic. */
enum mce_verdict mce_judge(const struct mce_record *r, int *bank, char *why, size_t cap);

/* True when this CPU has the machine-check architecture's MSRs (CPUID.1:EDX MCE and MCA). */
bool mce_supported(void);
/* Reads MCG_STATUS and every bank (nothing when !mce_supported()). */
void mce_collect(struct mce_record *r);
/* Clears the valid banks and MCG_STATUS (MCIP), so the next machine check is not a shutdown. */
void mce_clear(const struct mce_record *r);
/* A machine check is in progress (MCG_STATUS.MCIP): what tells a shutdown caused by one. */
bool mce_in_progress(void);
/*
 * What a backend calls when a machine check ended a guest's run: collects and
 * judges the banks, clears them when the guest alone is hit, counts the event.
 * The backend then stops the guest with why, or panics with it.
 */
enum mce_verdict mce_guest_event(char *why, size_t cap);
/* Machine checks taken in guest context since boot (`info`). */
uint64_t mce_guest_count(void);

#endif
