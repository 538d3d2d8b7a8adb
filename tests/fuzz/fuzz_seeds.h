/*
 * Seeds for libFuzzer targets: each target's LLVMFuzzerInitialize() calls
 * fuzz_write_seed() for inputs worth starting from, and they are written into the
 * directory FERRY_FUZZ_SEEDS names. The Linux guest's targets (mk/linux.mk) write them
 * into the corpus the make target passes, so none of theirs lives in the repository;
 * the migration targets' are kept in tests/fuzz/corpus/ (mk/migration.mk,
 * `make fuzz-migration-seeds`). Without the variable nothing is written. Host only.
 */
#ifndef FERRY_TESTS_FUZZ_SEEDS_H
#define FERRY_TESTS_FUZZ_SEEDS_H

#include <stdio.h>
#include <stdlib.h>

static void fuzz_write_seed(const char *name, const void *data, size_t len)
{
	const char *dir = getenv("FERRY_FUZZ_SEEDS");
	char path[4096];
	FILE *f;

	if (!dir || !*dir)
		return;
	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(data, 1, len, f);
	fclose(f);
}

#endif
