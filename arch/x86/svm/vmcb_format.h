/*
 * The VMCB's formats against Ferry's portable ones (arch/x86/cpu_state.h keeps
 * the VMCS formats of arch/x86/x86.h), one function pair per field kind, each
 * direction the inverse of the other on every value the CPU can produce:
 *
 * - segment attributes: the VMCB's 12 bits (descriptor bits 47:40 in 7:0, 55:52
 *   in 11:8; APM Vol. 2, 15.5.1 and table B-2) against the 17-bit access
 *   rights (the same bits at 7:0 and 15:12, bit 16 "unusable"; SDM Vol. 3C
 *   24.4.1). The VMCB has no "unusable": a segment whose P bit is clear is one.
 * - events: EVENTINJ and EXITINTINFO (APM 15.20) against the interruption
 *   information (SDM 24.8.3): the layout is shared; the types differ past 3. An
 *   interrupted INTn, INT3 or INTO is dropped, since its instruction runs again.
 * - the interrupt shadow: one VMCB bit (INTERRUPT_SHADOW, offset 068h) against
 *   VMX's blocking by STI and by MOV SS.
 *
 * Portable (image and host).
 */
#ifndef FERRY_ARCH_X86_SVM_VMCB_FORMAT_H
#define FERRY_ARCH_X86_SVM_VMCB_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

/* Access rights (AR_*) to VMCB attributes, and back. */
uint16_t svm_attrib_from_access(uint32_t access);
uint32_t svm_access_from_attrib(uint16_t attrib);

/*
 * A pending event in interruption-information format (0: none) to EVENTINJ, its
 * error code to *inj_error. Only external interrupts, NMIs and hardware
 * exceptions carry over; anything else gives 0.
 */
uint32_t svm_event_from_intr_info(uint32_t info, uint32_t error, uint32_t *inj_error);
/*
 * An EVENTINJ or EXITINTINFO value to interruption information (0: nothing to
 * deliver again), its error code to *error.
 */
uint32_t svm_intr_info_from_event(uint32_t event, uint32_t event_error, uint32_t *error);

/* INTERRUPTIBILITY_* to the VMCB's interrupt-state word, and back (given the guest's RFLAGS). */
uint32_t svm_int_state_from_interruptibility(uint32_t interruptibility);
uint32_t svm_interruptibility_from_int_state(uint32_t int_state, uint64_t rflags);

#endif
