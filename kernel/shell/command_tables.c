/*
 * The list of command tables the shell knows, in `help` order. A module adds
 * its commands by exporting a table and naming it here. The commands that exist
 * only to test Ferry (`crash`, kernel/shell/cmd_debug.c) are in the debug image
 * alone (FERRY_DEBUG: the Makefile's build/ferry-debug.efi).
 */
#include "kernel/shell/shell.h"
#include <stddef.h>

extern const struct shell_command system_commands[];
#ifdef FERRY_DEBUG
extern const struct shell_command debug_commands[];
#endif
extern const struct shell_command vm_commands[];
extern const struct shell_command pci_commands[];
extern const struct shell_command net_commands[];
extern const struct shell_command migrate_commands[];
extern const struct shell_command crypto_commands[];

const struct shell_command *const shell_command_tables[] = {
	system_commands,
#ifdef FERRY_DEBUG
	debug_commands,
#endif
	vm_commands,
	pci_commands,
	net_commands,
	migrate_commands,
	crypto_commands,
	NULL,
};
