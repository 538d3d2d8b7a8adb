/* Page hashes and their sums for the switchover's memory digest; see digest.h. */
#include "kernel/migration/digest.h"

#include <stdbool.h>

#include "arch/x86/crc32c.h"
#include "kernel/migration/wire.h"

#include <string.h>

#define LANE_BYTES (MIG_PAGE_SIZE / CRC32C_LANES)
#define MIX_LANES 4
#define WORD_BYTES 8
/* xxHash64's primes (odd, with well-spread bits) and its round's rotation. */
#define MIX_PRIME1 0x9e3779b185ebca87ull
#define MIX_PRIME2 0xc2b2ae3d27d4eb4full
#define MIX_PRIME3 0x165667b19e3779f9ull
#define MIX_ROUND_ROTATE 31

_Static_assert(LANE_BYTES % WORD_BYTES == 0, "a lane is whole 8-byte words");

static uint32_t zero_page_hash[MIG_HASHES];
static bool zero_page_hash_known[MIG_HASHES];

const char *mig_hash_name(unsigned hash)
{
	return hash == MIG_HASH_CRC32C ? "crc32c" : hash == MIG_HASH_MIX64 ? "mix64" : "?";
}

static uint32_t crc32c_page(const uint8_t *data)
{
	uint32_t lanes[CRC32C_LANES] = { ~0u, ~0u, ~0u, ~0u };
	uint8_t bytes[sizeof(lanes)];

	crc32c_update_lanes(lanes, data, LANE_BYTES);
	for (unsigned i = 0; i < CRC32C_LANES; i++)
		mig_put32(bytes + 4 * i, lanes[i]);
	return crc32c(bytes, sizeof(bytes));
}

static inline uint64_t rotl64(uint64_t x, unsigned n)
{
	return x << n | x >> (64 - n);
}

static uint32_t mix64_page(const uint8_t *data)
{
	uint64_t lane[MIX_LANES] = { MIX_PRIME1, MIX_PRIME2, MIX_PRIME3, MIX_PRIME1 ^ MIX_PRIME2 };

	for (size_t at = 0; at < MIG_PAGE_SIZE; at += MIX_LANES * WORD_BYTES)
		for (unsigned i = 0; i < MIX_LANES; i++) {
			uint64_t w;
			memcpy(&w, data + at + i * WORD_BYTES, sizeof(w));
			lane[i] = rotl64(lane[i] + w * MIX_PRIME2, MIX_ROUND_ROTATE) * MIX_PRIME1;
		}
	uint64_t h = rotl64(lane[0], 1) + rotl64(lane[1], 7) + rotl64(lane[2], 12) + rotl64(lane[3], 18);
	h ^= h >> 33;
	h *= MIX_PRIME2;
	h ^= h >> 29;
	h *= MIX_PRIME3;
	h ^= h >> 32;
	return (uint32_t)(h ^ h >> 32);
}

uint32_t mig_page_hash(unsigned hash, const uint8_t *data)
{
	static const uint8_t zeros[MIG_PAGE_SIZE];

	if (hash >= MIG_HASHES)
		hash = MIG_HASH_CRC32C;
	if (!data) {
		if (!zero_page_hash_known[hash]) {
			zero_page_hash[hash] = mig_page_hash(hash, zeros);
			zero_page_hash_known[hash] = true;
		}
		return zero_page_hash[hash];
	}
	return hash == MIG_HASH_MIX64 ? mix64_page(data) : crc32c_page(data);
}

uint32_t mig_digest_group_pages(uint64_t pages)
{
	uint64_t group = (pages + MIG_DIGEST_GROUPS - 1) / MIG_DIGEST_GROUPS;

	return group ? (uint32_t)group : 1;
}

uint32_t mig_digest_sum_count(uint64_t pages, uint32_t group_pages)
{
	return (uint32_t)((pages + group_pages - 1) / group_pages);
}

uint32_t mig_digest_sum(const uint32_t *hashes, uint32_t count)
{
	uint32_t sum = ~0u;
	uint8_t bytes[4];

	if (count == 1)
		return hashes[0];
	for (uint32_t i = 0; i < count; i++) {
		mig_put32(bytes, hashes[i]);
		sum = crc32c_update(sum, bytes, sizeof(bytes));
	}
	return ~sum;
}
