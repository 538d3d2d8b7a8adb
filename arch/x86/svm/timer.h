/*
 * The slice timer of the SVM backend: SVM has no preemption timer, so a host
 * interrupt ends a guest's slice. The local APIC timer, one-shot, is armed for
 * the slice's deadline; the INTR intercept makes its interrupt exit the guest
 * (APM Vol. 2, 15.21.1: with V_INTR_MASKING the host's RFLAGS.IF, set around
 * VMRUN by the entry stub, decides whether physical interrupts are taken);
 * then, with GIF set and Ferry's own IF still clear, svm_timer_disarm() opens a
 * one-instruction window in which the pending interrupt is taken by a stub that
 * counts it and signals EOI. Ferry otherwise keeps running with interrupts
 * masked, as everywhere else (docs/svm.md, "The slice timer").
 *
 * Image only; internal to arch/x86/svm/.
 */
#ifndef FERRY_ARCH_X86_SVM_TIMER_H
#define FERRY_ARCH_X86_SVM_TIMER_H

#include <stdint.h>

/* Finds, maps and calibrates the local APIC and installs the host interrupt stub. */
int svm_timer_init(const char **why);

/* Arms the one-shot timer to fire at (about) the host TSC value deadline_tsc. */
void svm_timer_arm(uint64_t deadline_tsc);

/* Stops the timer and takes any interrupt it (or anything else) left pending. Needs GIF set. */
void svm_timer_disarm(void);

/* "timer=lapic apic_hz=N x2apic=yes|no interrupts=N", for dmesg. */
const char *svm_timer_describe(void);

#endif
