/* Host tests of the machine-check verdict (arch/x86/mce.c). */
#include "check.h"
#include "arch/x86/mce.h"
#include "arch/x86/x86.h"

#include <string.h>

static struct mce_record record(uint64_t mcg_status)
{
	struct mce_record r;

	memset(&r, 0, sizeof(r));
	r.mcg_status = mcg_status | MCG_STATUS_MCIP;
	r.banks = 6;
	return r;
}

TEST(an_uncorrected_error_in_a_restartable_guest_stops_the_guest)
{
	struct mce_record r = record(MCG_STATUS_RIPV | MCG_STATUS_EIPV);
	char why[160];
	int bank;

	r.status[1] = MCI_STATUS_VAL | MCI_STATUS_EN;                      /* corrected, elsewhere */
	r.status[3] = MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN | MCI_STATUS_ADDRV | 0x134;
	r.addr[3] = 0x12345000;
	CHECK_EQ_U(mce_judge(&r, &bank, why, sizeof(why)), MCE_STOP_GUEST);
	CHECK_EQ_I(bank, 3);
	CHECK_STR(why, "machine check in guest context, bank 3 status 0xb400000000000134 addr 0x12345000");
}

TEST(a_corrupt_context_or_no_restart_point_is_fatal)
{
	struct mce_record r = record(MCG_STATUS_RIPV);
	char why[160];
	int bank;

	r.status[0] = MCI_STATUS_VAL | MCI_STATUS_UC;
	r.status[4] = MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_PCC;
	CHECK_EQ_U(mce_judge(&r, &bank, why, sizeof(why)), MCE_HOST_FATAL);
	CHECK_EQ_I(bank, 4);
	r = record(0);   /* RIPV clear: nowhere to go back to */
	r.status[2] = MCI_STATUS_VAL | MCI_STATUS_UC;
	CHECK_EQ_U(mce_judge(&r, &bank, why, sizeof(why)), MCE_HOST_FATAL);
	CHECK_EQ_I(bank, 2);
}

TEST(no_valid_bank)
{
	struct mce_record r = record(MCG_STATUS_RIPV);
	char why[160];
	int bank;

	CHECK_EQ_U(mce_judge(&r, &bank, why, sizeof(why)), MCE_STOP_GUEST);
	CHECK_EQ_I(bank, -1);
	CHECK_STR(why, "machine check in guest context, no valid bank (mcg_status 0x5)");
	r = record(0);
	CHECK_EQ_U(mce_judge(&r, &bank, why, sizeof(why)), MCE_HOST_FATAL);
}

int main(void)
{
	return run_tests();
}
