/*
 * Host tool: the MMIO instruction decoder (arch/x86/mmio_decode.c) over instructions read
 * from standard input, one a line as hex bytes ("8b 47 10"). Prints one line each:
 * "ok LENGTH SIZE load|store|store-imm REG DEST_SIZE", "notsup REASON" or "inval REASON".
 * tests/test_mmio_decode_objdump.py compares it with objdump over real kernel code.
 */
#include <stdio.h>
#include <stdlib.h>

#include "arch/x86/mmio_decode.h"
#include "kernel/lib/errors.h"

int main(void)
{
	char line[256];

	while (fgets(line, sizeof(line), stdin)) {
		uint8_t bytes[MMIO_INSN_MAX_BYTES];
		size_t n = 0;
		char *p = line, *end;
		unsigned long v;

		while (n < sizeof(bytes) && (v = strtoul(p, &end, 16), end != p)) {
			bytes[n++] = (uint8_t)v;
			p = end;
		}
		struct mmio_insn in;
		const char *why = NULL;
		int err = mmio_decode(bytes, n, &in, &why);
		if (err == 0)
			printf("ok %u %u %s %u %u\n", in.length, in.size,
			       !in.write ? "load" : in.has_imm ? "store-imm" : "store", in.reg, in.dest_size);
		else
			printf("%s %s\n", err == FERR_NOTSUP ? "notsup" : "inval", why);
	}
	return 0;
}
