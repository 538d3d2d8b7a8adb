/* A machine check in guest context: the verdict (portable); the MSRs are mce_hw.c. See mce.h. */
#include "arch/x86/mce.h"
#include "arch/x86/x86.h"
#include "kernel/lib/format.h"

enum mce_verdict mce_judge(const struct mce_record *r, int *bank, char *why, size_t cap)
{
	int chosen = -1;

	for (unsigned i = 0; i < r->banks && i < MCE_BANKS_MAX; i++) {
		uint64_t s = r->status[i];
		if (!(s & MCI_STATUS_VAL))
			continue;
		/* The worst first: a corrupt context, then an uncorrected error, then any. */
		if (chosen < 0 || (s & MCI_STATUS_PCC) ||
		    ((s & MCI_STATUS_UC) && !(r->status[chosen] & MCI_STATUS_PCC)))
			chosen = (int)i;
		if (s & MCI_STATUS_PCC)
			break;
	}
	*bank = chosen;
	if (chosen < 0) {
		fmt_snprintf(why, cap, "machine check in guest context, no valid bank (mcg_status 0x%llx)",
			     (unsigned long long)r->mcg_status);
		return r->mcg_status & MCG_STATUS_RIPV ? MCE_STOP_GUEST : MCE_HOST_FATAL;
	}
	uint64_t s = r->status[chosen];
	if (s & MCI_STATUS_ADDRV)
		fmt_snprintf(why, cap, "machine check in guest context, bank %d status 0x%llx addr 0x%llx",
			     chosen, (unsigned long long)s, (unsigned long long)r->addr[chosen]);
	else
		fmt_snprintf(why, cap, "machine check in guest context, bank %d status 0x%llx", chosen,
			     (unsigned long long)s);
	if (!(r->mcg_status & MCG_STATUS_RIPV) || (s & MCI_STATUS_PCC))
		return MCE_HOST_FATAL;
	return MCE_STOP_GUEST;
}
