/*
 * The migration channel's cryptography at the console: `keygen` prints a fresh
 * random migration_key line for ferry.cfg (256 bits from the entropy source,
 * arch/x86/entropy.h, as 64 hex digits: within the key's 16-128 printable
 * characters, and as strong as the TLS PSK can use); `cryptobench [MIB]` times the
 * channel's primitives on this CPU beside memcpy (kernel/migration/crypto_bench.h), to
 * compare emulators and hosts with `make bench-crypto` on the build machine.
 */
#include "arch/x86/entropy.h"
#include "kernel/console.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/parse.h"
#include "kernel/lib/wipe.h"
#include "kernel/clock.h"
#include "kernel/migration/crypto_bench.h"
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

#define CRYPTOBENCH_DEFAULT_MIB 4
#define CRYPTOBENCH_MAX_MIB 256
#define CRYPTOBENCH_BUF (16 * CRYPTO_BENCH_PIECE)       /* 256 KiB, walked round and round */
#define MB 1000000ull
#define NS_PER_S 1000000000ull
#define PER_MILLE 1000ull

static uint8_t bench_buf[CRYPTOBENCH_BUF];

static enum shell_status cmd_cryptobench(int argc, char **argv)
{
	struct crypto_bench_row rows[CRYPTO_BENCH_CASES];
	uint64_t mib = CRYPTOBENCH_DEFAULT_MIB;

	if (argc > 2)
		return SHELL_USAGE;
	if (argc == 2 && !parse_u64(argv[1], 1, CRYPTOBENCH_MAX_MIB, &mib)) {
		shell_error("MIB must be a number from 1 to %d", CRYPTOBENCH_MAX_MIB);
		return SHELL_FAILED;
	}
	for (size_t i = 0; i < sizeof(bench_buf); i++)
		bench_buf[i] = (uint8_t)(i * 131 + (i >> 12));
	crypto_bench_run(bench_buf, sizeof(bench_buf), mib << 20, clock_ns, rows);
	kprintf("cryptobench: %llu MiB per case in %u-byte pieces, general registers only\n",
		(unsigned long long)mib, (unsigned)CRYPTO_BENCH_PIECE);
	kprintf("%-30s %12s %10s\n", "CASE", "MB/S", "VS_MEMCPY");
	for (unsigned k = 0; k < CRYPTO_BENCH_CASES; k++) {
		uint64_t ns = rows[k].ns ? rows[k].ns : 1;
		uint64_t mb_milli = rows[k].bytes * NS_PER_S / ns * PER_MILLE / MB;
		uint64_t ratio_milli = rows[0].ns * PER_MILLE / ns;
		kprintf("%-30s %8llu.%03llu %6llu.%03llux\n", rows[k].name,
			(unsigned long long)(mb_milli / PER_MILLE), (unsigned long long)(mb_milli % PER_MILLE),
			(unsigned long long)(ratio_milli / PER_MILLE), (unsigned long long)(ratio_milli % PER_MILLE));
	}
	return SHELL_OK;
}

const struct shell_command crypto_commands[] = {
	{ "cryptobench", "[MIB]", "time the migration channel's ciphers and MACs beside memcpy", cmd_cryptobench },
	{ "keygen", "", "print a fresh random migration_key line for ferry.cfg", cmd_keygen },
	{ NULL, NULL, NULL, NULL },
};
