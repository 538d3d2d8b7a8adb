/*
 * The list of command tables the shell knows, in `help` order. A module adds
 * its commands by exporting a table and naming it here.
 */
#include "kernel/shell/shell.h"
#include <stddef.h>

extern const struct shell_command system_commands[];
extern const struct shell_command debug_commands[];
extern const struct shell_command vm_commands[];
extern const struct shell_command pci_commands[];
extern const struct shell_command net_commands[];
extern const struct shell_command migrate_commands[];
extern const struct shell_command crypto_commands[];

const struct shell_command *const shell_command_tables[] = {
	system_commands,
	debug_commands,
	vm_commands,
	pci_commands,
	net_commands,
	migrate_commands,
	crypto_commands,
	NULL,
};
