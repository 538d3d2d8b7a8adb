/*
 * From an MMIO exit to the access it was: the half of an EPT violation or nested page
 * fault outside guest RAM that both backends share. The exit gives the data's
 * guest-physical address and the direction, never the instruction: it is fetched at the
 * guest's RIP through the guest's own page tables (guest_walk.h) and decoded against the
 * whitelist of mmio_decode.h. The backend then reports the access to the VM layer
 * (VCPU_EXIT_MMIO, arch/x86/vcpu.h) and completes it with mmio_load_result() and the
 * decoded length.
 *
 * Outcomes: the decoded instruction; a page fault the guest must see (the fetch of the
 * instruction, or of its rest on the next page, does not translate: the CPU would have
 * faulted there first, so the guest gets that #PF with CR2 = the address that failed);
 * or a refusal with a reason (not in the whitelist, a table outside guest RAM, legacy
 * paging), for which the backend stops the guest. Portable (image and host).
 */
#ifndef FERRY_ARCH_X86_MMIO_ACCESS_H
#define FERRY_ARCH_X86_MMIO_ACCESS_H

#include <stdint.h>

#include "arch/x86/guest_walk.h"
#include "arch/x86/mmio_decode.h"

/* A #PF to inject: CR2 and the error code. */
struct mmio_page_fault {
	uint64_t address;
	uint32_t error_code;
};

/*
 * Fetches and decodes the instruction at linear address rip under paging p, reading
 * guest-physical memory through read(ctx, ...). Returns 0 with *insn, FERR_NOENT with
 * *pf (inject it and let the guest retry), or another ferry_err with *why.
 */
int mmio_access_decode(const struct guest_paging *p, uint64_t rip, guest_phys_read_fn read, void *ctx,
		       struct mmio_insn *insn, struct mmio_page_fault *pf, const char **why);

#endif
