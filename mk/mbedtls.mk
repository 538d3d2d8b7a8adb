# mbedTLS (Debian's 2.28 source in build/deps/mbedtls, fetched by scripts/setup.sh):
# only the files the migration stream needs (SHA-256, on which kernel/migration/auth.c
# builds HMAC; ChaCha20 and Poly1305 for message tags), configured by kernel/migration/mbedtls_config.h. The image gets them as
# an archive (MBEDTLS_IMAGE_LIB, linked by mk/migration.mk after its users); host unit
# tests compile them with the portable sources.
MBEDTLS_DIR     := $(DEPS)/mbedtls
MBEDTLS_FILES   := sha256.c chacha20.c poly1305.c platform_util.c
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
