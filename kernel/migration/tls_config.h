/*
 * This host's credentials and choices for the migration channel (tls.h), built
 * once from ferry.cfg and the files it names on the ESP, shared by every channel:
 *
 * - migration_key: the TLS pre-shared key of ECDHE-PSK suites (RFC 5489; the
 *   ephemeral ECDH gives forward secrecy, the PSK authenticates both ends).
 * - migration_cert + migration_key_file + migration_ca: this host's X.509
 *   certificate and private key (ECDSA or RSA), and the CA that must have signed
 *   every peer's certificate: ECDHE-ECDSA/ECDHE-RSA suites, each side requiring
 *   the other's certificate (mutual authentication, no fleet-wide secret).
 * - both: a peer may use either; certificates win when both sides have them.
 * - migration_cipher: chacha20-poly1305 (default), or none (the same key
 *   exchanges with the NULL cipher: authenticated by HMAC-SHA1, not encrypted).
 *
 * A channel offers (client) or accepts (server) only suites it holds credentials
 * for, so a host with a key only and one with certificates and the key still meet
 * on the PSK suite. The random generator is HMAC_DRBG (SHA-256), seeded and
 * reseeded from the caller's entropy callback.
 *
 * Portable (image and host). The parsed certificates and keys live on mbedTLS's
 * heap until mig_tls_config_free().
 */
#ifndef FERRY_MIGRATION_TLS_CONFIG_H
#define FERRY_MIGRATION_TLS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/config.h"
#include "mbedtls/hmac_drbg.h"
#include "mbedtls/pk.h"
#include "mbedtls/x509_crt.h"

#define MIG_TLS_PSK_MAX 128
#define MIG_TLS_WHY_MAX 160
/* The PSK identity both ends use: the key is the secret, the name only labels it. */
#define MIG_TLS_PSK_IDENTITY "ferry-migration"

/* What the host gives: its ferry.cfg values and ESP file contents (PEM or DER; may be NULL). */
struct mig_tls_settings {
	const uint8_t *psk;
	size_t psk_len;                         /* 0: no migration_key */
	const uint8_t *cert, *key, *ca;
	size_t cert_len, key_len, ca_len;
	enum config_cipher cipher;
	/* Entropy for the random generator (the image's entropy_fill); 0 or a ferry_err. */
	int (*random)(void *ctx, void *buf, size_t len);
	void *random_ctx;
};

#define MIG_TLS_SUITES_MAX 4

struct mig_tls_config {
	bool have_psk, have_certs;
	enum config_cipher cipher;
	uint8_t psk[MIG_TLS_PSK_MAX];
	size_t psk_len;
	mbedtls_x509_crt own_cert, ca;
	mbedtls_pk_context own_key;
	char subject[96];                       /* own certificate's subject, for the log */
	/*
	 * This host's suites, preferred first, 0-terminated. In TLS 1.2 a suite's
	 * signature algorithm is the server's: a client offers both (its own certificate,
	 * ECDSA or RSA, goes in its Certificate message), a server the one of its key.
	 */
	int client_suites[MIG_TLS_SUITES_MAX + 1];
	int server_suites[MIG_TLS_SUITES_MAX + 1];
	mbedtls_hmac_drbg_context drbg;
	int (*random)(void *ctx, void *buf, size_t len);
	void *random_ctx;
};

/*
 * Builds the config. 0, or a ferry_err with why filled (a file that does not parse,
 * a key that does not match its certificate, certificate files without all three,
 * no entropy). A config with neither PSK nor certificates is valid: its channels
 * refuse every peer (mig_tls_config_can_migrate() false).
 */
int mig_tls_config_init(struct mig_tls_config *c, const struct mig_tls_settings *s, char *why,
			size_t why_len);
void mig_tls_config_free(struct mig_tls_config *c);
bool mig_tls_config_can_migrate(const struct mig_tls_config *c);
/* A line for the log: "psk", "certificate CN=..., psk"... */
void mig_tls_config_describe(const struct mig_tls_config *c, char *out, size_t len);

#endif
