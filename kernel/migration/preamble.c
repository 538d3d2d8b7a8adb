/*
 * The version hello and the refusal frames in front of TLS (preamble.h). The
 * layouts are protocol v1's HELLO and ABORT, frozen: they must stay readable by v1
 * peers whatever later versions do to the messages inside TLS.
 */
#include "kernel/migration/preamble.h"

#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/migration/wire.h"

/* Protocol v1's frame header (16 bytes) and the two frames the preamble uses. */
#define SPELLED_(number) #number
#define SPELLED(number) SPELLED_(number)   /* a macro's value as a string literal */
#define V1_TYPE_HELLO 1
#define V1_TYPE_ABORT 13
#define V1_FLAG_TAGGED 0x01
#define V1_TAG_BYTES 16
#define OFF_TYPE 0
#define OFF_FLAGS 1
#define OFF_RESERVED 2
#define OFF_LENGTH 4
#define OFF_SEQUENCE 8
/* v1's HELLO payload */
#define V1_HELLO_MAGIC 0x47494d46u          /* "FMIG" read as a little-endian u32 */
#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_ROLE 6
#define OFF_PAD 7
#define V1_ROLE_SOURCE 1
#define V1_REASON_MIN_BYTES 4

static const char *const reason_names[] = {
	[0] = "none", [1] = "version", [2] = "no-key", [3] = "auth", [4] = "memory",
	[5] = "cpu-features", [6] = "name-taken", [7] = "invalid-offer", [8] = "protocol",
	[9] = "checksum", [10] = "state", [11] = "cancelled", [12] = "timeout",
	[13] = "not-converged", [14] = "internal", [15] = "cpu-vendor",
};

const char *mig_preamble_reason_name(unsigned reason)
{
	return reason < sizeof(reason_names) / sizeof(reason_names[0]) ? reason_names[reason] : "unknown";
}

static void put_header(uint8_t *out, unsigned type, uint32_t length)
{
	memset(out, 0, MIG_PREAMBLE_HEADER_BYTES);
	out[OFF_TYPE] = (uint8_t)type;
	mig_put32(out + OFF_LENGTH, length);
}

void mig_preamble_hello(uint8_t out[MIG_PREAMBLE_HELLO_BYTES])
{
	uint8_t *p = out + MIG_PREAMBLE_HEADER_BYTES;

	put_header(out, V1_TYPE_HELLO, MIG_PREAMBLE_HELLO_PAYLOAD);
	memset(p, 0, MIG_PREAMBLE_HELLO_PAYLOAD);
	mig_put32(p + OFF_MAGIC, V1_HELLO_MAGIC);
	mig_put16(p + OFF_VERSION, MIG_PREAMBLE_VERSION);
	p[OFF_ROLE] = V1_ROLE_SOURCE;
}

size_t mig_preamble_abort(uint8_t *out, unsigned reason, const char *text)
{
	size_t n = strlen(text);

	if (n > MIG_PREAMBLE_TEXT_MAX)
		n = MIG_PREAMBLE_TEXT_MAX;
	put_header(out, V1_TYPE_ABORT, (uint32_t)(V1_REASON_MIN_BYTES + n));
	mig_put16(out + MIG_PREAMBLE_HEADER_BYTES, (uint16_t)reason);
	mig_put16(out + MIG_PREAMBLE_HEADER_BYTES + 2, (uint16_t)n);
	memcpy(out + MIG_PREAMBLE_HEADER_BYTES + V1_REASON_MIN_BYTES, text, n);
	return MIG_PREAMBLE_HEADER_BYTES + V1_REASON_MIN_BYTES + n;
}

static void refuse(struct mig_preamble_verdict *v, int err, unsigned reason, const char *text,
		   const char *why)
{
	v->err = err;
	v->reason = reason;
	fmt_snprintf(v->text, sizeof(v->text), "%s", text);
	fmt_snprintf(v->why, sizeof(v->why), "%s", why);
}

void mig_preamble_check(const uint8_t *in, size_t have, bool can_serve,
			struct mig_preamble_verdict *v)
{
	const uint8_t *p = in + MIG_PREAMBLE_HEADER_BYTES;

	memset(v, 0, sizeof(*v));
	if (have < MIG_PREAMBLE_HEADER_BYTES)
		return;
	if (in[OFF_TYPE] == MIG_PREAMBLE_TLS_HANDSHAKE) {
		refuse(v, FERR_PROTO, MIG_PREAMBLE_REASON_PROTOCOL, "send Ferry's version hello before TLS",
		       "the peer started TLS without Ferry's version hello");
		return;
	}
	if (in[OFF_TYPE] != V1_TYPE_HELLO || in[OFF_FLAGS] != 0 || mig_get16(in + OFF_RESERVED) != 0 ||
	    mig_get32(in + OFF_LENGTH) != MIG_PREAMBLE_HELLO_PAYLOAD || mig_get64(in + OFF_SEQUENCE) != 0) {
		refuse(v, FERR_PROTO, MIG_PREAMBLE_REASON_PROTOCOL, "expected a HELLO",
		       "the peer is not a Ferry migration source (its first bytes are no HELLO)");
		return;
	}
	if (have < MIG_PREAMBLE_HELLO_BYTES)
		return;
	unsigned version = mig_get16(p + OFF_VERSION);
	if (mig_get32(p + OFF_MAGIC) != V1_HELLO_MAGIC || p[OFF_PAD] != 0) {
		refuse(v, FERR_PROTO, MIG_PREAMBLE_REASON_PROTOCOL, "malformed HELLO",
		       "the peer's HELLO is malformed");
	} else if (p[OFF_ROLE] != V1_ROLE_SOURCE) {
		refuse(v, FERR_PROTO, MIG_PREAMBLE_REASON_PROTOCOL, "peer is not a migration source",
		       "the peer is not a migration source");
	} else if (version != MIG_PREAMBLE_VERSION) {
		char why[MIG_PREAMBLE_TEXT_MAX + 48];
		fmt_snprintf(why, sizeof(why),
			     "the source speaks protocol v%u; this host speaks v%u (TLS) only", version,
			     MIG_PREAMBLE_VERSION);
		refuse(v, FERR_NOTSUP, MIG_PREAMBLE_REASON_VERSION,
		       "destination speaks protocol v" SPELLED(MIG_PREAMBLE_VERSION) " (TLS) only: upgrade the source", why);
	} else if (!can_serve) {
		refuse(v, FERR_AUTH, MIG_PREAMBLE_REASON_NO_KEY, "destination has no migration_key configured",
		       "refused: no migration_key (nor certificates) in ferry.cfg");
	}
}

size_t mig_preamble_refusal_bytes(const uint8_t header[MIG_PREAMBLE_HEADER_BYTES])
{
	uint32_t length = mig_get32(header + OFF_LENGTH);

	if (header[OFF_TYPE] != V1_TYPE_ABORT || (header[OFF_FLAGS] & ~V1_FLAG_TAGGED) != 0 ||
	    mig_get16(header + OFF_RESERVED) != 0 || length < V1_REASON_MIN_BYTES ||
	    length > V1_REASON_MIN_BYTES + MIG_PREAMBLE_TEXT_MAX)
		return 0;
	/* A v1 peer that had already derived keys tags its ABORT: the tag is read and ignored. */
	return MIG_PREAMBLE_HEADER_BYTES + length + (header[OFF_FLAGS] ? V1_TAG_BYTES : 0);
}

bool mig_preamble_read_refusal(const uint8_t *frame, size_t len, unsigned *reason,
			       char text[MIG_PREAMBLE_TEXT_MAX + 1])
{
	if (len < MIG_PREAMBLE_HEADER_BYTES || mig_preamble_refusal_bytes(frame) != len)
		return false;
	const uint8_t *p = frame + MIG_PREAMBLE_HEADER_BYTES;
	size_t length = mig_get32(frame + OFF_LENGTH);
	size_t n = mig_get16(p + 2);

	if (V1_REASON_MIN_BYTES + n != length)
		return false;
	*reason = mig_get16(p);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[V1_REASON_MIN_BYTES + i];
		text[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	text[n] = '\0';
	return true;
}
