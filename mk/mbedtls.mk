# mbedTLS (Debian's 2.28 source in build/deps/mbedtls, fetched by scripts/setup.sh):
# the files of the migration channel's TLS 1.2 (kernel/migration/tls*.c: the record
# layer, ECDHE with PSKs or X.509 certificates, ChaCha20-Poly1305) and of the inner
# protocol's tags (kernel/migration/auth.c), configured by
# kernel/migration/mbedtls_config.h. The image gets them as an archive
# (MBEDTLS_IMAGE_LIB, linked by mk/migration.mk after its users); host unit tests
# compile them with the portable sources.
MBEDTLS_DIR     := $(DEPS)/mbedtls
MBEDTLS_FILES   := \
  ssl_tls.c ssl_msg.c ssl_cli.c ssl_srv.c ssl_ciphersuites.c \
  cipher.c cipher_wrap.c chacha20.c poly1305.c chachapoly.c aes.c gcm.c \
  md.c sha1.c sha256.c sha512.c hmac_drbg.c \
  bignum.c ecp.c ecp_curves.c ecdh.c ecdsa.c rsa.c rsa_internal.c \
  asn1parse.c asn1write.c oid.c pk.c pk_wrap.c pkparse.c pem.c base64.c x509.c x509_crt.c \
  platform.c platform_util.c constant_time.c memory_buffer_alloc.c
MBEDTLS_SRCS    := $(addprefix $(MBEDTLS_DIR)/library/,$(MBEDTLS_FILES))
MBEDTLS_DEFINES := -DMBEDTLS_CONFIG_FILE='"kernel/migration/mbedtls_config.h"'
MBEDTLS_INC     := -isystem $(MBEDTLS_DIR)/include
MBEDTLS_IMAGE_OBJS := $(patsubst $(MBEDTLS_DIR)/library/%.c,$(BUILD)/obj/mbedtls/%.o,$(MBEDTLS_SRCS))
MBEDTLS_IMAGE_LIB  := $(BUILD)/obj/mbedtls/libmbedtls-ferry.a

# Every translation unit may include mbedTLS headers through kernel/migration/auth.h.
IMAGE_CFLAGS  += $(MBEDTLS_INC) $(MBEDTLS_DEFINES)
HOST_CFLAGS   += $(MBEDTLS_INC) $(MBEDTLS_DEFINES)
PORTABLE_SRCS += $(MBEDTLS_SRCS)

# mbedTLS's common.h includes <assert.h>, which the freestanding image lacks: a shim.
$(BUILD)/obj/mbedtls/%.o: $(MBEDTLS_DIR)/library/%.c kernel/migration/mbedtls_config.h
	@mkdir -p $(dir $@)
	@echo "  CC      mbedtls/$*.c"
	@$(CC) $(IMAGE_CFLAGS) -isystem kernel/migration/mbedtls_shim -c $< -o $@

$(MBEDTLS_IMAGE_LIB): $(MBEDTLS_IMAGE_OBJS)
	@rm -f $@
	@ar rcs $@ $^
