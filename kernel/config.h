/*
 * ferry.cfg: the host's configuration, read from the ESP at boot.
 *
 * Portable (image and host). The file holds `key = value` lines; `#` starts a
 * comment, blank lines are ignored. Keys:
 *
 *   hostname        = NAME             letters, digits, '-', at most 31 characters
 *   address         = dhcp | A.B.C.D/N IPv4 address with prefix length, or DHCP
 *   gateway         = A.B.C.D          default route (optional)
 *   migration_port  = PORT             TCP port of the migration listener (1-65535)
 *   migration_key   = TEXT             pre-shared key, 16 to 128 printable characters
 *   migration_cert  = tls/FILE         this host's X.509 certificate (PEM or DER) on the ESP
 *   migration_key_file = tls/FILE      its private key (ECDSA or RSA, unencrypted)
 *   migration_ca    = tls/FILE         the CA certificate that signs every peer's certificate
 *   migration_cipher = chacha20-poly1305 | none
 *                                      the migration channel's cipher (none: authenticated,
 *                                      not encrypted; both ends must agree)
 *   svm_dirty       = npt-ad | npt-wp  how AMD-V hosts track guest writes (docs/svm.md)
 *
 * An unknown key gives a warning, a malformed line or value an error naming the
 * line; either way the default for that key stays and parsing goes on, so a bad
 * file never stops the boot. Every diagnostic goes to the report callback.
 */
#ifndef FERRY_CONFIG_H
#define FERRY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_HOSTNAME_MAX 31
#define CONFIG_KEY_MIN 16
#define CONFIG_KEY_MAX 128
#define CONFIG_DEFAULT_MIGRATION_PORT 8002
/* An ESP path of a migration_cert/key_file/ca file: "tls/" and a name (boot loads \tls\ whole). */
#define CONFIG_TLS_FOLDER "tls/"
#define CONFIG_PATH_MAX 39

enum config_cipher {
	CONFIG_CIPHER_CHACHA20_POLY1305,   /* the default */
	CONFIG_CIPHER_NONE,                /* the NULL cipher: authenticated, not encrypted */
};

/* The name of a migration_cipher value. */
const char *config_cipher_name(enum config_cipher c);

struct ferry_config {
	char hostname[CONFIG_HOSTNAME_MAX + 1];
	bool dhcp;
	uint32_t address;       /* host byte order; 0 when unset */
	uint8_t prefix_len;
	uint32_t gateway;       /* 0 when unset */
	uint16_t migration_port;
	char migration_key[CONFIG_KEY_MAX + 1];  /* empty: no PSK */
	char migration_cert[CONFIG_PATH_MAX + 1];      /* ESP paths; empty when unset */
	char migration_key_file[CONFIG_PATH_MAX + 1];
	char migration_ca[CONFIG_PATH_MAX + 1];
	enum config_cipher migration_cipher;
	bool svm_dirty_write_protect;   /* npt-wp instead of the NPT dirty bits (npt-ad) */
};

enum config_severity { CONFIG_WARNING, CONFIG_ERROR };

typedef void (*config_report_fn)(void *ctx, enum config_severity severity,
				 unsigned line, const char *message);

void config_defaults(struct ferry_config *cfg);

/* Parses text of length len into cfg (which should hold defaults); returns the error count. */
unsigned config_parse(struct ferry_config *cfg, const char *text, size_t len,
		      config_report_fn report, void *ctx);

/* Netmask of a prefix length (0-32), host byte order. */
uint32_t config_prefix_to_mask(uint8_t prefix_len);

#endif
