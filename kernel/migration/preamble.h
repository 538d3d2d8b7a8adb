/*
 * The clear-text exchange in front of the migration channel's TLS (protocol v2):
 * what lets Ferry hosts of different protocol versions refuse each other clearly.
 *
 * The source's first 56 bytes are protocol v1's HELLO frame, frozen here as v1
 * defined it (wire.h of v1, docs/migration.md): a 16-byte header (u8 type 1, u8
 * flags 0, u16 0, u32 length 40, u64 sequence 0) and the payload (u32 magic "FMIG",
 * u16 version, u8 role 1, u8 0, 32 bytes that v1 used as a nonce and v2 sends as
 * zeros), with version MIG_PREAMBLE_VERSION. Then the source's TLS ClientHello
 * follows at once. A destination that accepts the hello says nothing in clear:
 * its TLS ServerHello is the answer. One that refuses (another version, no
 * credentials, not a source) answers with protocol v1's ABORT frame (type 13,
 * flags 0, sequence 0, payload u16 reason, u16 text length, text) and closes.
 *
 * So a v1 destination reads a HELLO of version 2 and answers, in its own words,
 * ABORT version ("destination speaks protocol v1 only"); a v2 destination reads
 * a v1 source's HELLO (version 1) and answers ABORT version ("... protocol v2 ...");
 * a v2 source that reads an ABORT frame where the ServerHello should be reports
 * its reason and text. Nothing here is secret or authenticated: a forged refusal
 * can only stop a migration, as a forged TCP reset can.
 *
 * Portable (image and host), sans-IO: the channel (tls.c) moves the bytes.
 */
#ifndef FERRY_MIGRATION_PREAMBLE_H
#define FERRY_MIGRATION_PREAMBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * 2: the migration channel over TLS 1.2; 3: GO carries the source's save-to-GO time;
 * 4: the messages inside TLS carry no Poly1305 tag of their own (wire.h).
 */
#define MIG_PREAMBLE_VERSION 4               /* a plain number: the refusal's text spells it */
#define MIG_PREAMBLE_HEADER_BYTES 16
#define MIG_PREAMBLE_HELLO_PAYLOAD 40
#define MIG_PREAMBLE_HELLO_BYTES (MIG_PREAMBLE_HEADER_BYTES + MIG_PREAMBLE_HELLO_PAYLOAD)
#define MIG_PREAMBLE_TEXT_MAX 96
/* The largest refusal frame: header, reason, text length, text. */
#define MIG_PREAMBLE_ABORT_MAX (MIG_PREAMBLE_HEADER_BYTES + 4 + MIG_PREAMBLE_TEXT_MAX)
/*
 * The first byte of a TLS record is its ContentType (RFC 5246 section 6.2.1):
 * change_cipher_spec 20, alert 21, handshake 22, application_data 23. v1's frame
 * types are 1-13: the two never meet.
 */
#define MIG_PREAMBLE_TLS_FIRST_TYPE 20
#define MIG_PREAMBLE_TLS_HANDSHAKE 22
#define MIG_PREAMBLE_TLS_LAST_TYPE 23

/* Reason codes of a refusal: protocol v1's (wire.h), which a v1 peer names. */
#define MIG_PREAMBLE_REASON_VERSION 1
#define MIG_PREAMBLE_REASON_NO_KEY 2
#define MIG_PREAMBLE_REASON_PROTOCOL 8

/* The source's version hello. */
void mig_preamble_hello(uint8_t out[MIG_PREAMBLE_HELLO_BYTES]);

/* A refusal frame; returns its length (at most MIG_PREAMBLE_ABORT_MAX). */
size_t mig_preamble_abort(uint8_t *out, unsigned reason, const char *text);

/* What the destination decides about the bytes it got so far. */
struct mig_preamble_verdict {
	int err;                                 /* 0: go on; else the ferry_err of the refusal */
	unsigned reason;                         /* the refusal's reason code */
	char text[MIG_PREAMBLE_TEXT_MAX + 1];    /* the refusal's text (sent) */
	char why[MIG_PREAMBLE_TEXT_MAX + 48];    /* this side's words for its log */
};

/*
 * Destination: checks the first `have` bytes (at least the 16 of the header, or all
 * MIG_PREAMBLE_HELLO_BYTES) of what a source sent. *v says go on (err 0) or what to
 * refuse with. Checking the header alone lets a stranger be refused at once.
 * can_serve: this host holds credentials to open TLS with.
 */
void mig_preamble_check(const uint8_t *in, size_t have, bool can_serve,
			struct mig_preamble_verdict *v);

/*
 * Source: the destination's first bytes were not TLS. From the 16 header bytes,
 * how many bytes the whole refusal frame has (0: it is not one).
 */
size_t mig_preamble_refusal_bytes(const uint8_t header[MIG_PREAMBLE_HEADER_BYTES]);
/* Source: reads a whole refusal frame; false when malformed. text gets the printable text. */
bool mig_preamble_read_refusal(const uint8_t *frame, size_t len, unsigned *reason,
			       char text[MIG_PREAMBLE_TEXT_MAX + 1]);

/* A reason code's name as v1 printed it ("version", "no-key"...). */
const char *mig_preamble_reason_name(unsigned reason);

#endif
