/* The migration channel's shared credentials and suites; see tls_config.h. */
#include "kernel/migration/tls_config.h"

#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "mbedtls/platform.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/ssl_ciphersuites.h"

#define DRBG_PERSONALIZATION "ferry migration channel"
#define DER_SEQUENCE 0x30        /* a DER certificate or key starts with a SEQUENCE tag */

enum cert_kind { CERT_ECDSA, CERT_RSA, CERT_KINDS };

struct cipher_info {
	int cert_suites[CERT_KINDS];
	int psk_suite;
};

/*
 * The suites of each choice. mbedTLS 2.28 has no ECDHE-PSK AES-GCM suite (RFC 8442 is
 * not implemented); ChaCha20-Poly1305 is its fastest AEAD in general-purpose registers
 * anyway (docs/migration.md has the measurements). The NULL suites authenticate with
 * HMAC-SHA1: as a MAC (RFC 2104) SHA-1's collisions do not reach it, and it is the
 * fastest MAC mbedTLS offers there.
 */
static const struct cipher_info ciphers[] = {
	[CONFIG_CIPHER_CHACHA20_POLY1305] = {
		{ MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		  MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 },
		MBEDTLS_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
	},
	[CONFIG_CIPHER_NONE] = {
		{ MBEDTLS_TLS_ECDHE_ECDSA_WITH_NULL_SHA, MBEDTLS_TLS_ECDHE_RSA_WITH_NULL_SHA },
		MBEDTLS_TLS_ECDHE_PSK_WITH_NULL_SHA,
	},
};

static int fail(char *why, size_t why_len, int err, const char *what, int mbed)
{
	fmt_snprintf(why, why_len, "%s (mbedTLS -0x%04x)", what, (unsigned)-mbed);
	return err;
}

/*
 * mbedTLS parses PEM only from a NUL-terminated buffer whose length counts the NUL;
 * DER as it is. Copies the file with a NUL after it and calls parse on that.
 */
static int parse_file(const uint8_t *data, size_t len, int (*parse)(void *obj, const uint8_t *buf, size_t len),
		      void *obj)
{
	uint8_t *copy = mbedtls_calloc(1, len + 1);
	int ret;

	if (!copy)
		return MBEDTLS_ERR_PK_ALLOC_FAILED;
	memcpy(copy, data, len);
	ret = parse(obj, copy, len > 0 && copy[0] == DER_SEQUENCE ? len : len + 1);
	mbedtls_platform_zeroize(copy, len);
	mbedtls_free(copy);
	return ret;
}

static int parse_crt(void *obj, const uint8_t *buf, size_t len)
{
	return mbedtls_x509_crt_parse(obj, buf, len);
}

static int parse_key(void *obj, const uint8_t *buf, size_t len)
{
	return mbedtls_pk_parse_key(obj, buf, len, NULL, 0);
}

static int load_certs(struct mig_tls_config *c, const struct mig_tls_settings *s, char *why,
		      size_t why_len)
{
	uint32_t flags = 0;
	int ret;

	if (!s->cert && !s->key && !s->ca)
		return 0;
	if (!s->cert || !s->key || !s->ca) {
		fmt_snprintf(why, why_len,
			     "migration_cert, migration_key_file and migration_ca go together: certificates are off");
		return FERR_INVAL;
	}
	if ((ret = parse_file(s->cert, s->cert_len, parse_crt, &c->own_cert)) != 0)
		return fail(why, why_len, FERR_INVAL, "migration_cert: not a certificate", ret);
	if ((ret = parse_file(s->key, s->key_len, parse_key, &c->own_key)) != 0)
		return fail(why, why_len, FERR_INVAL, "migration_key_file: not an unencrypted private key", ret);
	if ((ret = parse_file(s->ca, s->ca_len, parse_crt, &c->ca)) != 0)
		return fail(why, why_len, FERR_INVAL, "migration_ca: not a certificate", ret);
	if ((ret = mbedtls_pk_check_pair(&c->own_cert.pk, &c->own_key)) != 0)
		return fail(why, why_len, FERR_INVAL, "migration_key_file does not match migration_cert", ret);
	if (!mbedtls_pk_can_do(&c->own_key, MBEDTLS_PK_ECDSA) && !mbedtls_pk_can_do(&c->own_key, MBEDTLS_PK_RSA)) {
		fmt_snprintf(why, why_len, "migration_key_file: only ECDSA and RSA keys are supported");
		return FERR_INVAL;
	}
	/* Peers trusting the same CA would refuse this host: say so now, not at the first migration. */
	if (mbedtls_x509_crt_verify(&c->own_cert, &c->ca, NULL, NULL, &flags, NULL, NULL) != 0) {
		fmt_snprintf(why, why_len, "migration_cert is not signed by migration_ca (verify flags 0x%x)",
			     (unsigned)flags);
		return FERR_AUTH;
	}
	mbedtls_x509_dn_gets(c->subject, sizeof(c->subject), &c->own_cert.subject);
	c->have_certs = true;
	return 0;
}

/* This host's suites, preferred first: certificates, then the PSK. */
static void pick_suites(struct mig_tls_config *c)
{
	const struct cipher_info *ci = &ciphers[(unsigned)c->cipher < sizeof(ciphers) / sizeof(ciphers[0])
						? c->cipher : CONFIG_CIPHER_CHACHA20_POLY1305];
	unsigned n = 0, m = 0;

	if (c->have_certs) {
		c->client_suites[n++] = ci->cert_suites[CERT_ECDSA];
		c->client_suites[n++] = ci->cert_suites[CERT_RSA];
		c->server_suites[m++] = ci->cert_suites[mbedtls_pk_can_do(&c->own_key, MBEDTLS_PK_ECDSA)
							? CERT_ECDSA : CERT_RSA];
	}
	if (c->have_psk) {
		c->client_suites[n++] = ci->psk_suite;
		c->server_suites[m++] = ci->psk_suite;
	}
	c->client_suites[n] = 0;
	c->server_suites[m] = 0;
}

static int drbg_entropy(void *ctx, unsigned char *buf, size_t len)
{
	const struct mig_tls_config *c = ctx;

	return c->random(c->random_ctx, buf, len) ? MBEDTLS_ERR_HMAC_DRBG_ENTROPY_SOURCE_FAILED : 0;
}

int mig_tls_config_init(struct mig_tls_config *c, const struct mig_tls_settings *s, char *why,
			size_t why_len)
{
	int ret, err;

	memset(c, 0, sizeof(*c));
	mbedtls_x509_crt_init(&c->own_cert);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_pk_init(&c->own_key);
	mbedtls_hmac_drbg_init(&c->drbg);
	why[0] = '\0';
	c->cipher = s->cipher;
	c->random = s->random;
	c->random_ctx = s->random_ctx;
	if (s->psk_len > MIG_TLS_PSK_MAX) {
		fmt_snprintf(why, why_len, "migration_key is longer than %d bytes", MIG_TLS_PSK_MAX);
		return FERR_INVAL;
	}
	if (s->psk_len) {
		memcpy(c->psk, s->psk, s->psk_len);
		c->psk_len = s->psk_len;
		c->have_psk = true;
	}
	err = load_certs(c, s, why, why_len);
	if (err) {
		/* The key alone still serves: the certificates are off, the host says why. */
		mbedtls_x509_crt_free(&c->own_cert);
		mbedtls_x509_crt_free(&c->ca);
		mbedtls_pk_free(&c->own_key);
		c->have_certs = false;
	}
	pick_suites(c);
	ret = mbedtls_hmac_drbg_seed(&c->drbg, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
				     drbg_entropy, c, (const unsigned char *)DRBG_PERSONALIZATION,
				     sizeof(DRBG_PERSONALIZATION) - 1);
	if (ret) {
		fmt_snprintf(why, why_len, "no entropy to seed the channel's random generator");
		c->have_psk = c->have_certs = false;
		c->client_suites[0] = c->server_suites[0] = 0;
		return FERR_NOTSUP;
	}
	return err;
}

void mig_tls_config_free(struct mig_tls_config *c)
{
	mbedtls_x509_crt_free(&c->own_cert);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_pk_free(&c->own_key);
	mbedtls_hmac_drbg_free(&c->drbg);
	mbedtls_platform_zeroize(c->psk, sizeof(c->psk));
	c->have_psk = c->have_certs = false;
}

bool mig_tls_config_can_migrate(const struct mig_tls_config *c)
{
	return c->client_suites[0] != 0;
}

void mig_tls_config_describe(const struct mig_tls_config *c, char *out, size_t len)
{
	fmt_snprintf(out, len, "%s%s%s%s, cipher %s",
		     c->have_certs ? "certificate " : "", c->have_certs ? c->subject : "",
		     c->have_certs && c->have_psk ? " and " : "",
		     c->have_psk ? "migration_key (PSK)" : c->have_certs ? "" : "no credentials",
		     config_cipher_name(c->cipher));
}
