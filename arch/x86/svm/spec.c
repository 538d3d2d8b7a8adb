/*
 * Side channels and native events under AMD-V (the policy: arch/x86/spec_ctrl.h;
 * machine checks: arch/x86/mce.h):
 *  - a machine check while a guest runs never reaches it: the #MC exception
 *    intercept (APM 15.12) makes it an exit, and with the guest's CR4.MCE clear
 *    (Ferry does not offer MCE) the CPU shuts down instead, which the shutdown
 *    intercept turns into an exit with MCG_STATUS.MCIP set. Either way
 *    mce_guest_event() judges it: the guest stops, or Ferry panics when the CPU
 *    cannot be trusted.
 *  - host NMIs: the NMI intercept ends the run with the NMI still pending; STGI
 *    after the exit lets Ferry's own NMI handler take it (arch/x86/trap.c).
 *  - WBINVD (and WBNOINVD, F3 0F 09) intercepted and skipped: guests have no
 *    device that writes memory behind the caches (no pass-through, no
 *    non-coherent DMA), as KVM skips it without non-coherent DMA.
 * The speculation-control MSRs are msr.c's (spec_hw_guest_msr), the entry and
 * exit actions exit.c's (spec_hw_enter/exit) and entry.S's (RSB refill).
 * Image only.
 */
#include "arch/x86/svm/svm_vcpu.h"
#include "arch/x86/mce.h"
#include "arch/x86/svm/insn.h"
#include "arch/x86/svm/svm.h"
#include "kernel/panic.h"

#define OPCODE_TWO_BYTE   0x0f
#define OPCODE_WBINVD     0x09        /* 0F 09; with F3: WBNOINVD */
#define LENGTH_WBINVD     2
#define REX_FIRST         0x40
#define REX_LAST          0x4f

enum svm_exit_action svm_on_machine_check(struct vcpu *v, struct vcpu_exit *exit)
{
	char why[VCPU_STOP_REASON_MAX];

	if (mce_guest_event(why, sizeof(why)) == MCE_HOST_FATAL)
		panic("%s (guest %s): the processor context is not trustworthy", why, v->name);
	return svm_stop(v, exit, "%s", why);
}

static bool legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:   /* segment overrides */
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:              /* size, LOCK, REP */
		return true;
	default:
		return false;
	}
}

/* WBINVD's length with its prefixes, from NRIP or the bytes at RIP (TCG has no NRIP save). */
static unsigned wbinvd_length(const struct vcpu *v)
{
	uint8_t bytes[INSN_MAX_BYTES];
	unsigned n = svm_fetch_at_rip(v, bytes, sizeof(bytes)), i = 0;

	while (i < n && (legacy_prefix(bytes[i]) || (bytes[i] >= REX_FIRST && bytes[i] <= REX_LAST)))
		i++;
	if (i + 1 < n && bytes[i] == OPCODE_TWO_BYTE && bytes[i + 1] == OPCODE_WBINVD)
		return i + LENGTH_WBINVD;
	return LENGTH_WBINVD;   /* the bytes are gone (the guest rewrote them): the plain form */
}

enum svm_exit_action svm_on_wbinvd(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	(void)code, (void)exit;
	if (svm_host()->features.nrips && v->vmcb->control.next_rip)
		svm_skip_instruction(v, 0);
	else
		svm_skip_instruction(v, wbinvd_length(v));
	return SVM_RESUME;
}
