/*
 * What the migration libFuzzer targets share (tests/fuzz/fuzz_migration_*.c): the
 * key and nonces every target and its seeds use, the trap that turns a broken
 * invariant into a finding, and the progress rule of every input loop: a feed of
 * bytes takes some, gives an event or fails (a feed that does none of these is the
 * stall of a 16-byte empty header, issue 12 item 1). Seeds: each target's
 * LLVMFuzzerInitialize() writes its seed inputs through fuzz_write_seed() when
 * FERRY_FUZZ_SEEDS names a folder; `make fuzz-migration-seeds` writes them into
 * tests/fuzz/corpus/TARGET/, where they are kept. Host only.
 */
#ifndef FERRY_TESTS_MIGRATION_FUZZ_H
#define FERRY_TESTS_MIGRATION_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz_seeds.h"
#include "kernel/migration/wire.h"

#define FUZZ_KEY "fuzzing key 0123"
/* A key no seed was made with: a peer the fuzzer plays can never prove it. */
#define FUZZ_SECRET_KEY "a key the fuzzer does not know 9f3c"

static const uint8_t fuzz_nonce_src[MIG_NONCE_BYTES] = { 1 };
static const uint8_t fuzz_nonce_dst[MIG_NONCE_BYTES] = { 2 };

#define FUZZ_CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* A feed of len > 0 bytes that took none, gave no event and did not fail. */
#define FUZZ_CHECK_PROGRESS(rc, used, len) FUZZ_CHECK(!((rc) == 0 && (used) == 0 && (len) > 0))

/* Each target's seeds (fuzz_write_seed), and its own set-up; run once before fuzzing. */
static void fuzz_initialize(void);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_initialize();
	return 0;
}

#endif
