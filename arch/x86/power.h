/*
 * Power-off and reset through the firmware's runtime services: ResetSystem with
 * EfiResetShutdown enters ACPI S5 (which ends Bochs and QEMU); EfiResetCold
 * reboots. When the firmware call returns, a reset falls back to the 0xCF9
 * reset control register; a power-off reports the failure.
 */
#ifndef FERRY_ARCH_X86_POWER_H
#define FERRY_ARCH_X86_POWER_H

void power_init(void *efi_runtime_services);
int power_off(void);      /* returns only on failure */
int power_reboot(void);   /* returns only on failure */

#endif
