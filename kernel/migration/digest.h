/*
 * The memory digest of a migration's switchover (docs/migration.md "Memory digest"):
 * does the destination's RAM equal the source's as it stood at the pause?
 *
 * Each 4 KiB page has a 32-bit hash, of one of two functions the source picks for the
 * migration by timing both on its own CPU (the offer names it): crc32c, the CRC-32C of
 * the page's four 1 KiB quarters taken as four independent lanes (arch/x86/crc32c.h:
 * the SSE4.2 instruction where the CPU has it) folded by a CRC-32C of the four lane
 * values; or mix64, four 64-bit lanes over the page's words in turn, each word added
 * times one odd constant, rotated and multiplied by another (the round of xxHash64),
 * the lanes rotated, summed and avalanched. A CPU with the instruction runs crc32c at
 * memory speed; an emulator may run it at a tenth of that (QEMU's TCG calls a table
 * loop for it) and mix64's plain multiplies natively. The destination hashes every page as
 * it arrives (the last arrival of a page is its final version, so the hashes of the
 * final RAM are known without another pass); the source hashes its own RAM once the
 * guest is paused. Pages are compared through sums: a sum is the CRC-32C of the hashes
 * of group_pages consecutive pages (1: the page's hash itself). verify=before sends at
 * most MIG_DIGEST_GROUPS sums, a few hundred bytes during the downtime; verify=after
 * sends the hash of every page after the switchover, so that the pages that differ
 * are named exactly.
 *
 * A CRC is no defence against a forger (the channel's TLS is): it catches memory
 * that the migration got wrong, such as a write the dirty tracking missed. Portable.
 */
#ifndef FERRY_MIGRATION_DIGEST_H
#define FERRY_MIGRATION_DIGEST_H

#include <stdint.h>

#define MIG_DIGEST_GROUPS 256            /* verify=before: sums in the one message */

enum mig_hash { MIG_HASH_CRC32C = 0, MIG_HASH_MIX64 = 1, MIG_HASHES };
const char *mig_hash_name(unsigned hash);   /* "crc32c", "mix64" */

/* The hash of a page (data NULL: a page of zeros, as a ZERO record carries it). */
uint32_t mig_page_hash(unsigned hash, const uint8_t *data);

/* Pages per sum for verify=before: enough that `pages` need at most MIG_DIGEST_GROUPS sums. */
uint32_t mig_digest_group_pages(uint64_t pages);
/* Sums needed for `pages` at group_pages pages a sum. */
uint32_t mig_digest_sum_count(uint64_t pages, uint32_t group_pages);

/* The sum of count hashes (a group of pages); count 1 gives the hash itself. */
uint32_t mig_digest_sum(const uint32_t *hashes, uint32_t count);

#endif
