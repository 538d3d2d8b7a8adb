/*
 * libFuzzer target for the guest loader: arbitrary bytes as the ELF image, loaded
 * into a 4 MiB guest RAM buffer. Any crash, sanitizer report or write outside the
 * buffer is a bug; on success the entry state must point inside RAM.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/vm/loader_elf.h"

#define FUZZ_RAM_BYTES (4ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static int ram_dirty = 1;
	struct guest_entry_state entry;
	const char *why = NULL;

	if (!ram)
		ram = malloc(FUZZ_RAM_BYTES);
	/* A rejected image writes nothing, so RAM needs zeroing only after a load. */
	if (ram_dirty)
		memset(ram, 0, FUZZ_RAM_BYTES);
	int err = guest_load_elf(data, size, ram, FUZZ_RAM_BYTES, "fuzz=1", 1000000, &entry, &why);
	ram_dirty = err == 0;
	if (err == 0) {
		if (entry.cpu.rip < GUEST_IMAGE_MIN_GPA || entry.cpu.rip >= FUZZ_RAM_BYTES ||
		    entry.cpu.rsp > FUZZ_RAM_BYTES || entry.free_start > FUZZ_RAM_BYTES || why)
			abort();
	} else if ((err != FERR_INVAL && err != FERR_NOMEM) || !why || !*why) {
		abort();
	}
	return 0;
}
