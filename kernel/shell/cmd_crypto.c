/*
 * The migration channel's cryptography at the console: `keygen` prints a fresh
 * random migration_key line for ferry.cfg (256 bits from the entropy source,
 * arch/x86/entropy.h, as 64 hex digits: within the key's 16-128 printable
 * characters, and as strong as the TLS PSK can use).
 */
#include "arch/x86/entropy.h"
#include "kernel/console.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/wipe.h"
#include "kernel/shell/shell.h"

#include <stdint.h>

#define KEYGEN_BYTES 32

static enum shell_status cmd_keygen(int argc, char **argv)
{
	uint8_t key[KEYGEN_BYTES];
	struct entropy_status e;

	(void)argv;
	if (argc != 1)
		return SHELL_USAGE;
	int err = entropy_fill(key, sizeof(key));
	if (err) {
		shell_error("no healthy entropy source for a key (%s; see info)", err_name(err));
		return SHELL_FAILED;
	}
	entropy_get_status(&e);
	kprintf("migration_key = ");
	for (unsigned i = 0; i < sizeof(key); i++)
		kprintf("%02x", key[i]);
	kprintf("\n# 256 bits from %s: put the same line in ferry.cfg on every host that migrates with this one\n",
		entropy_source_name(e.source));
	secure_wipe(key, sizeof(key));
	return SHELL_OK;
}

const struct shell_command crypto_commands[] = {
	{ "keygen", "", "print a fresh random migration_key line for ferry.cfg", cmd_keygen },
	{ NULL, NULL, NULL, NULL },
};
