/*
 * The live-migration wire format, protocol v1 (docs/migration.md is the reference).
 *
 * Every message is a 16-byte header and a payload. The messages run inside the
 * channel's TLS (tls.h), whose records authenticate and number every byte, so they
 * carry no tag of their own (protocol 4; until 3 each carried a Poly1305 tag, flag
 * 0x01, now refused). All integers are little-endian. The header:
 *
 *   offset 0  u8  type      enum mig_type
 *   offset 1  u8  flags     zero
 *   offset 2  u16 reserved  zero
 *   offset 4  u32 length    payload bytes, at most mig_payload_max(type)
 *   offset 8  u64 sequence  0 for each side's first message, then +1 per message
 *
 * The decoder checks type, flags, reserved bits and the per-type length limits from
 * the header alone, before anything is buffered or copied, and checks every payload
 * field before the caller sees the message.
 *
 * Portable (image and host); no allocation, no I/O.
 */
#ifndef FERRY_MIGRATION_WIRE_H
#define FERRY_MIGRATION_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_features.h"
#include "kernel/vm/vm.h"

#define MIG_PROTO_VERSION 1
#define MIG_HELLO_MAGIC 0x47494d46u      /* "FMIG" read as a little-endian u32 */
#define MIG_HEADER_BYTES 16
#define MIG_NONCE_BYTES 32
#define MIG_AUTH_BYTES 32
#define MIG_PAGE_SIZE 4096u
#define MIG_PAGE_SHIFT 12
#define MIG_BATCH_MAX_PAGES 32
/*
 * Refusal and abort reasons (REFUSE, ABORT): the text field's longest content. A side
 * composes a reason as a prefix of at most MIG_TEXT_PREFIX_MAX characters ("guest state
 * refused: ", "destination CPU lacks ") before a detail: a VM layer's why (VM_WHY_MAX) or
 * the CPU words a guest needs (CPU_FEATURES_TEXT_MAX, the longest: all eight named), so
 * every reason a destination sends fits whole; the receiver refuses a longer one as a
 * protocol error. The source's report adds its own prefix (MIG_REPORT_REASON_MAX, report.h).
 */
#define MIG_TEXT_PREFIX_MAX 32
#define MIG_TEXT_DETAIL_MAX (VM_WHY_MAX > CPU_FEATURES_TEXT_MAX ? VM_WHY_MAX : CPU_FEATURES_TEXT_MAX)
#define MIG_TEXT_MAX (MIG_TEXT_PREFIX_MAX + MIG_TEXT_DETAIL_MAX)
#define MIG_NAME_BYTES (VM_NAME_MAX + 1) /* NUL-padded guest name */
#define MIG_MAC_BYTES 6

/* A page record: u32 page number, u8 kind, 3 zero bytes, then 4096 bytes when FULL. */
#define MIG_PAGE_RECORD_HEADER 8
#define MIG_PAGES_MAX_PAYLOAD (MIG_BATCH_MAX_PAGES * (MIG_PAGE_RECORD_HEADER + MIG_PAGE_SIZE))
/* The largest message on the wire: a full batch with its header. */
#define MIG_FRAME_MAX (MIG_HEADER_BYTES + MIG_PAGES_MAX_PAYLOAD)
/*
 * The largest message of the handshake, of a query and of everything a destination
 * sends (REFUSE and ABORT with their longest text): what a side buffers before it
 * has accepted a stream of pages. Every type but PAGES, STATE and DIGEST fits.
 */
#define MIG_SMALL_FRAME_MAX (MIG_HEADER_BYTES + MIG_REASON_MAX_BYTES)

/* No header flag is defined: a message with any set is refused. */
#define MIG_FLAGS_KNOWN 0u

enum mig_type {
	MIG_HELLO = 1,      /* both: version, role, nonce */
	MIG_AUTH = 2,       /* both: response to the peer's nonce */
	MIG_OFFER = 3,      /* source: the guest's description */
	MIG_ACCEPT = 4,     /* destination: shell created, memory reserved */
	MIG_REFUSE = 5,     /* destination: reason code + text */
	MIG_PAGES = 6,      /* source: up to MIG_BATCH_MAX_PAGES page records */
	MIG_ROUND_END = 7,  /* source: round number, page records and bytes of the round */
	MIG_STATE = 8,      /* source: the vCPU + device blob (opaque here) */
	MIG_DONE = 9,       /* source: stream checksum over every page record and the state */
	MIG_READY = 10,     /* destination: everything verified and loaded, guest not running */
	MIG_GO = 11,        /* source: switch over; the source never resumes on its own after this */
	MIG_RESUMED = 12,   /* destination: the guest runs here */
	MIG_ABORT = 13,     /* either: reason code + text; the migration ends */
	MIG_QUERY = 14,     /* source, instead of OFFER: did you run migration X? (in doubt) */
	MIG_ANSWER = 15,    /* destination: what it knows of migration X (enum mig_answer) */
	MIG_DIGEST = 16,    /* source: sums of its RAM at the pause (verify=before or after) */
	MIG_VERDICT = 17,   /* destination, verify=after: how its RAM compared with the sums */
	MIG_TYPE_COUNT
};

/* A set of message types (a reader's acceptable types): one bit per enum mig_type. */
#define MIG_TYPE_BIT(type) (1u << (type))

enum mig_role { MIG_ROLE_SOURCE = 1, MIG_ROLE_DEST = 2 };

/* Reason codes of REFUSE and ABORT. */
enum mig_reason {
	MIG_REASON_NONE = 0,
	MIG_REASON_VERSION = 1,     /* protocol version not supported */
	MIG_REASON_NO_KEY = 2,      /* no migration_key configured */
	MIG_REASON_AUTH = 3,        /* the peer's proof of the key was wrong */
	MIG_REASON_MEMORY = 4,      /* not enough free memory for the guest */
	MIG_REASON_CPU = 5,         /* the guest's CPU feature mask is not offered here */
	MIG_REASON_NAME = 6,        /* a guest of that name exists here */
	MIG_REASON_INVALID = 7,     /* a malformed or out-of-range offer */
	MIG_REASON_PROTOCOL = 8,    /* a message out of order or malformed */
	MIG_REASON_CHECKSUM = 9,    /* the stream checksum did not match */
	MIG_REASON_STATE = 10,      /* the vCPU/device state was refused by vm_snapshot_load */
	MIG_REASON_CANCELLED = 11,  /* an operator cancelled */
	MIG_REASON_TIMEOUT = 12,    /* the peer did not answer in time */
	MIG_REASON_NOT_CONVERGED = 13, /* pre-copy gave up: the guest dirties memory too fast */
	MIG_REASON_INTERNAL = 14,   /* a local failure (guest operation, resources) */
	MIG_REASON_VENDOR = 15,     /* the guest ran on a CPU of another vendor (VT-x vs AMD-V) */
	MIG_REASON_BUSY = 16,       /* the destination runs its maximum of incoming migrations */
	MIG_REASON_DIGEST = 17,     /* the destination's memory differs from the source's (verify=before) */
	MIG_REASON_COUNT
};

const char *mig_type_name(unsigned type);
const char *mig_reason_name(unsigned reason);

struct mig_header {
	uint8_t type;
	uint8_t flags;
	uint32_t length;
	uint64_t sequence;
};

struct mig_hello {
	uint32_t magic;
	uint16_t version;
	uint8_t role;
	uint8_t nonce[MIG_NONCE_BYTES];
};
#define MIG_HELLO_BYTES (4 + 2 + 1 + 1 + MIG_NONCE_BYTES)

/* How the source tracks dirty pages, for the reports: vcpu_dirty_mode() names (arch/x86/vcpu.h). */
enum mig_dirty_mode {
	MIG_DIRTY_EPT_AD = 0, MIG_DIRTY_PML = 1,      /* VT-x */
	MIG_DIRTY_NPT_AD = 2, MIG_DIRTY_NPT_WP = 3,   /* AMD-V */
	MIG_DIRTY_MODES
};
/* The code of a vcpu_dirty_mode() name (unknown names: MIG_DIRTY_EPT_AD), and back. */
unsigned mig_dirty_mode_code(const char *name);
const char *mig_dirty_mode_name(unsigned code);

/* Vendors an offer may name: enum vcpu_vendor (arch/x86/vcpu.h) up to AMD. */
#define MIG_VENDOR_MAX 2

/*
 * Whether and when the guest's memory is compared at the switchover (docs/migration.md
 * "Memory digest"): before, the destination resumes only if its RAM matches the
 * source's; after, the guest resumes at once and is paused at the destination if the
 * comparison that follows finds a difference.
 */
enum mig_verify { MIG_VERIFY_OFF = 0, MIG_VERIFY_BEFORE = 1, MIG_VERIFY_AFTER = 2, MIG_VERIFY_MODES };
const char *mig_verify_name(unsigned mode);   /* "off", "before", "after" */
#define MIG_HASH_MAX 1                   /* the page hashes an offer may name (digest.h) */

struct mig_offer {
	uint64_t migration_id;          /* chosen by the source, shown on both ends */
	char name[MIG_NAME_BYTES];      /* NUL-terminated, 1..VM_NAME_MAX of [A-Za-z0-9_-] */
	uint32_t memory_mib;            /* VM_MIN_MEMORY_MIB..VM_MAX_MEMORY_MIB */
	uint8_t mac[MIG_MAC_BYTES];
	uint16_t page_size;             /* MIG_PAGE_SIZE */
	uint8_t dirty_mode;             /* enum mig_dirty_mode, for the reports */
	uint8_t vendor;                 /* enum vcpu_vendor of the CPU the guest ran on (0: unknown) */
	struct cpu_features features;   /* the guest's CPUID mask */
	uint8_t verify;                 /* enum mig_verify */
	uint8_t hash;                   /* the digest's page hash, enum mig_hash (digest.h) */
};
#define MIG_OFFER_BYTES (8 + MIG_NAME_BYTES + 4 + MIG_MAC_BYTES + 2 + 1 + 1 + 8 * 4 + 2)

struct mig_reason_msg {              /* REFUSE and ABORT */
	uint16_t reason;
	char text[MIG_TEXT_MAX + 1];    /* NUL-terminated, printable ASCII */
};
#define MIG_REASON_MIN_BYTES 4
#define MIG_REASON_MAX_BYTES (4 + MIG_TEXT_MAX)

#define MIG_ROUND_FINAL 0x1u          /* the stop-and-copy round: the guest is paused */
struct mig_round_end {
	uint32_t round;
	uint32_t flags;
	uint64_t pages;                 /* page records sent in the round */
	uint64_t bytes;                 /* wire bytes of its PAGES messages */
};
#define MIG_ROUND_END_BYTES 24

struct mig_done {
	uint64_t page_records;          /* over the whole migration */
	uint64_t state_bytes;
	uint64_t checksum;              /* stream_sum.h over every page record and the state */
};
#define MIG_DONE_BYTES (8 + 8 + 8)

struct mig_resumed {
	uint64_t dest_downtime_ns;      /* last pre-copy round end to resume, on the destination */
	uint64_t dest_load_ns;          /* DONE received to READY queued: checks, digest, state load */
};
#define MIG_RESUMED_BYTES 16

/*
 * The memory digest's two messages (kernel/migration/digest.h). DIGEST (source): sums
 * [first, first + count) of its memory, each the digest of group_pages pages: u32 first,
 * u32 group_pages, u32 count, count x u32. VERDICT (destination, verify=after): how many
 * sums differed, naming the first page of the first few: u32 differing, u32 named,
 * named x u32. A VERDICT is small, as everything a destination sends.
 */
enum mig_digest_kind { MIG_DIGEST_SUMS = 1, MIG_DIGEST_VERDICT = 2 };   /* which of the two */
#define MIG_DIGEST_SUMS_MAX 8192         /* sums in one DIGEST */
#define MIG_DIGEST_NAMED_MAX 16          /* pages a VERDICT names */
#define MIG_DIGEST_MIN_BYTES (12 + 4)
#define MIG_DIGEST_MAX_BYTES (12 + 4 * MIG_DIGEST_SUMS_MAX)
#define MIG_VERDICT_MIN_BYTES 8
#define MIG_VERDICT_MAX_BYTES (8 + 4 * MIG_DIGEST_NAMED_MAX)

struct mig_digest {                  /* DIGEST or VERDICT, decoded */
	uint8_t kind;                   /* enum mig_digest_kind: from the message's type */
	/* SUMS */
	uint32_t first, group_pages, count;
	const uint8_t *entries;         /* count little-endian u32s, in the caller's buffer */
	/* VERDICT */
	uint32_t differing, named;
	uint32_t pages[MIG_DIGEST_NAMED_MAX];
};

/*
 * GO: u64 nanoseconds from the source's save of the guest's state to GO, by the source's
 * clock. The destination, which measures the round trip (READY to GO) and its own load,
 * works out from it how long the guest stood between the save and its load there, and
 * moves the guest's clock on by that (engine_dst.c): no shared clock between the hosts.
 */
#define MIG_GO_BYTES 8

#define MIG_QUERY_BYTES 8            /* u64 migration id */

/* What a destination answers about a migration id (ANSWER). */
enum mig_answer {
	MIG_ANSWER_NONE = 0,            /* not on the wire: no answer (yet) */
	MIG_ANSWER_RAN = 1,             /* it resumed that migration's guest: the guest is its */
	MIG_ANSWER_NEVER_RAN = 2,       /* it never ran it and never will (shell discarded) */
	MIG_ANSWER_UNKNOWN = 3,         /* it has no record of that migration */
	MIG_ANSWER_COUNT
};
struct mig_answer_msg {
	uint64_t migration_id;
	uint8_t answer;                 /* enum mig_answer, RAN..UNKNOWN */
};
#define MIG_ANSWER_BYTES (8 + 1 + 3)   /* id, answer, 3 zero bytes */
const char *mig_answer_name(unsigned answer);

enum mig_page_kind { MIG_PAGE_ZERO = 0, MIG_PAGE_FULL = 1 };

struct mig_page_rec {
	uint32_t page;                  /* guest page number (GPA >> 12) */
	uint8_t kind;                   /* enum mig_page_kind */
	const uint8_t *data;            /* MIG_PAGE_SIZE bytes for FULL, NULL for ZERO */
};

/* A decoded message; pointers refer to the caller's buffer. */
struct mig_msg {
	struct mig_header header;
	const uint8_t *payload;
	union {
		struct mig_hello hello;
		const uint8_t *auth;            /* MIG_AUTH_BYTES */
		struct mig_offer offer;
		struct mig_reason_msg reason;   /* REFUSE, ABORT */
		struct mig_round_end round_end;
		struct mig_done done;
		struct mig_resumed resumed;
		uint64_t query_id;              /* QUERY: the migration asked about */
		uint64_t go_since_save_ns;      /* GO */
		struct mig_answer_msg answer;
		struct mig_digest digest;       /* DIGEST and VERDICT */
		uint32_t page_count;            /* PAGES: records in the batch */
	} u;
};

/* Little-endian helpers. */
static inline void mig_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void mig_put32(uint8_t *p, uint32_t v)
{
	mig_put16(p, (uint16_t)v);
	mig_put16(p + 2, (uint16_t)(v >> 16));
}
static inline void mig_put64(uint8_t *p, uint64_t v)
{
	mig_put32(p, (uint32_t)v);
	mig_put32(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t mig_get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t mig_get32(const uint8_t *p)
{
	return (uint32_t)mig_get16(p) | ((uint32_t)mig_get16(p + 2) << 16);
}
static inline uint64_t mig_get64(const uint8_t *p)
{
	return (uint64_t)mig_get32(p) | ((uint64_t)mig_get32(p + 4) << 32);
}

/* Entry i of a decoded SUMS message. */
static inline uint32_t mig_digest_entry(const struct mig_digest *d, uint32_t i)
{
	return mig_get32(d->entries + 4 * (size_t)i);
}

/* Smallest and largest payload a message of this type may carry (0, 0 for unknown types). */
size_t mig_payload_min(unsigned type);
size_t mig_payload_max(unsigned type);

void mig_header_encode(uint8_t *out, const struct mig_header *h);
/* Decodes and checks a header: known type, known flags, zero reserved, length in limits. */
int mig_header_decode(const uint8_t *in, struct mig_header *h);

/*
 * Checks and decodes the payload of msg->header's type (msg->header and
 * msg->payload set by the caller). PAGES: every record well formed and its page
 * number below page_limit. Returns 0 or FERR_PROTO.
 */
int mig_payload_decode(struct mig_msg *msg, uint64_t page_limit);

/* Payload encoders: write into out (sized for the type's maximum), return the length. */
size_t mig_encode_hello(uint8_t *out, const struct mig_hello *m);
size_t mig_encode_offer(uint8_t *out, const struct mig_offer *m);
size_t mig_encode_reason(uint8_t *out, unsigned reason, const char *text);
size_t mig_encode_round_end(uint8_t *out, const struct mig_round_end *m);
size_t mig_encode_done(uint8_t *out, const struct mig_done *m);
size_t mig_encode_resumed(uint8_t *out, const struct mig_resumed *m);
size_t mig_encode_query(uint8_t *out, uint64_t migration_id);
size_t mig_encode_go(uint8_t *out, uint64_t since_save_ns);
size_t mig_encode_answer(uint8_t *out, const struct mig_answer_msg *m);
/* DIGEST: count sums from first; VERDICT: differing, and the first `named` pages of it. */
size_t mig_encode_digest_sums(uint8_t *out, uint32_t first, uint32_t group_pages, uint32_t count,
			      const uint32_t *entries);
size_t mig_encode_digest_verdict(uint8_t *out, uint32_t differing, uint32_t named,
				 const uint32_t *pages);

/* Appends one page record (data NULL: a zero-page marker); returns its length. */
size_t mig_encode_page(uint8_t *out, uint32_t page, const uint8_t *data);

/*
 * Walks the records of a PAGES payload that mig_payload_decode() accepted:
 * *offset starts at 0; returns true and fills rec while records remain.
 */
bool mig_pages_next(const uint8_t *payload, size_t length, size_t *offset, struct mig_page_rec *rec);

/* True when the page holds only zero bytes. */
bool mig_page_is_zero(const uint8_t *page);

/* A guest name valid on the wire: 1..VM_NAME_MAX of [A-Za-z0-9_-]. */
bool mig_name_valid(const char *name);

#endif
