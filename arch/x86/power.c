/* Power-off and reset; see power.h. */
#include "arch/x86/power.h"
#include "arch/x86/cpu.h"
#include "kernel/clock.h"
#include "kernel/lib/errors.h"

#include <efi.h>

/* Reset control register of the PCH/PIIX (Intel 9-series datasheet, "RST_CNT"). */
#define RESET_CONTROL_PORT 0xcf9
#define RESET_CPU          0x04
#define RESET_SYSTEM       0x02
#define RESET_SETTLE_US    100000

static EFI_RUNTIME_SERVICES *runtime;

void power_init(void *efi_runtime_services)
{
	runtime = efi_runtime_services;
}

int power_off(void)
{
	if (!runtime)
		return FERR_NOTSUP;
	uefi_call_wrapper(runtime->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return FERR_IO;
}

int power_reboot(void)
{
	if (runtime)
		uefi_call_wrapper(runtime->ResetSystem, 4, EfiResetCold, EFI_SUCCESS, 0, NULL);
	outb(RESET_CONTROL_PORT, RESET_SYSTEM | RESET_CPU);
	clock_delay_us(RESET_SETTLE_US);
	return FERR_IO;
}
