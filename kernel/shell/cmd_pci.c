/*
 * `lspci`: every PCI function drivers/pci.c found at boot (slot, vendor:device,
 * class code and its kind), then the count and the configuration mechanism in use.
 * It reads the PCI module's public list only.
 */
#include "drivers/pci.h"
#include "kernel/console.h"
#include "kernel/shell/shell.h"

#include <stddef.h>

static enum shell_status cmd_lspci(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return SHELL_USAGE;
	kprintf("%-9s %-9s %-8s %s\n", "SLOT", "ID", "CLASS", "KIND");
	for (unsigned i = 0; i < pci_device_count(); i++) {
		const struct pci_device *d = pci_device_at(i);
		kprintf("%02x:%02x.%x   %04x:%04x %02x%02x%02x   %s\n", d->bus, d->dev, d->fn,
			d->vendor, d->device, d->class_code, d->subclass, d->prog_if,
			pci_class_name(d->class_code));
	}
	kprintf("devices=%u mechanism=%s\n", pci_device_count(), pci_mechanism());
	return SHELL_OK;
}

const struct shell_command pci_commands[] = {
	{ "lspci", "", "PCI functions: slot, vendor:device, class", cmd_lspci },
	{ NULL, NULL, NULL, NULL },
};
