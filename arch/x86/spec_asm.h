/*
 * Speculation controls in the VM entry stubs (arch/x86/vmx/entry.S,
 * arch/x86/svm/entry.S); the policy is arch/x86/spec_ctrl.h. Assembler only.
 *
 * SPEC_FILL_RSB: after a VM exit, before the first RET, the return stack buffer
 * may hold entries the guest planted; 32 CALLs whose return addresses are then
 * dropped replace them with entries that point at a speculation trap (PAUSE;
 * LFENCE in a loop), as Linux's __FILL_RETURN_BUFFER does. 32 covers the
 * deepest RSB of any part that has one.
 *
 * SPEC_CLEAR_CPU_BUFFERS: VERW with a valid writable data selector in memory
 * clears the CPU buffers on parts that enumerate MD_CLEAR (Intel's MDS
 * guidance); run last before VMLAUNCH/VMRESUME when spec_verw_on_entry is set.
 * It changes ZF and nothing else.
 */
#ifndef FERRY_ARCH_X86_SPEC_ASM_H
#define FERRY_ARCH_X86_SPEC_ASM_H

#define SPEC_RSB_ENTRIES 32

.macro SPEC_FILL_RSB scratch
	movq $(SPEC_RSB_ENTRIES / 2), \scratch
.Lfill_rsb_loop\@:
	call .Lfill_rsb_call1\@
.Lfill_rsb_trap1\@:
	pause
	lfence
	jmp .Lfill_rsb_trap1\@
.Lfill_rsb_call1\@:
	call .Lfill_rsb_call2\@
.Lfill_rsb_trap2\@:
	pause
	lfence
	jmp .Lfill_rsb_trap2\@
.Lfill_rsb_call2\@:
	decq \scratch
	jnz .Lfill_rsb_loop\@
	addq $(8 * SPEC_RSB_ENTRIES), %rsp
	lfence
.endm

.macro SPEC_CLEAR_CPU_BUFFERS
	cmpb $0, spec_verw_on_entry(%rip)
	je .Lno_verw\@
	verw spec_verw_selector(%rip)
.Lno_verw\@:
.endm

#endif
