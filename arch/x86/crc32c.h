/*
 * CRC-32C (Castagnoli: polynomial 0x1EDC6F41, reflected 0x82F63B78), the checksum
 * the SSE4.2 CRC32 instruction computes (Intel SDM Vol. 2A, "CRC32 - Accumulate CRC32
 * Value"). The instruction works on general registers, so it is usable under
 * -mgeneral-regs-only; where CPUID.01H:ECX.SSE4_2 is clear (or a test asks for it) a
 * byte-table loop computes the same values. Ferry uses it to digest guest memory at a
 * migration's switchover (kernel/migration/digest.h).
 *
 * crc32c_update() continues a CRC without the initial and final inversions: the
 * standard CRC-32C of a buffer is ~crc32c_update(~0u, buf, len) (crc32c()). The four-
 * lane form runs four independent CRCs side by side: the instruction's latency is
 * three cycles and its throughput one a cycle, so four chains keep it busy where one
 * would wait. Portable (image and host; x86-64 only).
 */
#ifndef FERRY_ARCH_X86_CRC32C_H
#define FERRY_ARCH_X86_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRC32C_LANES 4

/* Continues crc over len bytes (no inversions). */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len);
/* The standard CRC-32C of a buffer ("123456789" gives 0xE3069283). */
uint32_t crc32c(const void *data, size_t len);
/*
 * Continues the four CRCs crc[i] over lane i, the len bytes at data + i * len (len a
 * multiple of 8): four buffers laid end to end, digested in parallel.
 */
void crc32c_update_lanes(uint32_t crc[CRC32C_LANES], const void *data, size_t len);
/* True when the CRC32 instruction is in use. */
bool crc32c_hardware(void);
/* For tests: use the table even where the instruction exists (false: the instruction if any). */
void crc32c_force_software(bool software);

#endif
