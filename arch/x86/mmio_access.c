/* The shared half of MMIO exits: fetch at RIP, decode; see mmio_access.h. */
#include "arch/x86/mmio_access.h"
#include "kernel/lib/errors.h"

int mmio_access_decode(const struct guest_paging *p, uint64_t rip, guest_phys_read_fn read, void *ctx,
		       struct mmio_insn *insn, struct mmio_page_fault *pf, const char **why)
{
	uint8_t bytes[MMIO_INSN_MAX_BYTES];
	struct guest_walk_fault fault;
	int got = guest_fetch(p, rip, bytes, sizeof(bytes), read, ctx, &fault, why);

	if (got == FERR_NOENT) {
		*pf = (struct mmio_page_fault){ rip, fault.error_code };
		return FERR_NOENT;
	}
	if (got < 0)
		return got;
	int err = mmio_decode(bytes, (size_t)got, insn, why);
	if (err != FERR_INVAL || (size_t)got == sizeof(bytes))
		return err;
	/* The instruction goes on into a page that did not translate: that page's #PF. */
	uint64_t next = rip + (uint64_t)got, gpa;
	const char *walk_why;
	err = guest_translate(p, next, GUEST_ACCESS_FETCH, read, ctx, &gpa, &fault, &walk_why);
	if (err == FERR_NOENT) {
		*pf = (struct mmio_page_fault){ next, fault.error_code };
		return FERR_NOENT;
	}
	if (err)
		*why = walk_why;
	return err ? err : FERR_INVAL;   /* translated after all: the bytes themselves end short */
}
