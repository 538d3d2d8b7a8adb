# Live migration (kernel/migration/): the portable engine, protocol, codec and auth.
# The image links it as an archive, so that its objects are built (and checked with
# the image's flags) on every build and enter ferry.efi as soon as the console
# commands reference the engine. Host tests, fuzzers and the benchmark use the
# same sources, with their own guests, transport and random bytes. The service, the
# guest and host ops over kernel/vm/ and the TCP transport are the image's side only.
MIGRATION_IMAGE_ONLY := kernel/migration/service.c kernel/migration/guest_ops.c \
  kernel/migration/mbedtls_platform.c \
  kernel/migration/transport.c
MIGRATION_SRCS := $(filter-out $(MIGRATION_IMAGE_ONLY),$(wildcard kernel/migration/*.c))
MIGRATION_IMAGE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(MIGRATION_SRCS))
MIGRATION_IMAGE_LIB  := $(BUILD)/obj/kernel/migration/libmigration.a

# The memory digest's CRC-32C (arch/x86/crc32c.c) is portable too; the image builds it with arch/x86.
PORTABLE_SRCS += $(MIGRATION_SRCS) arch/x86/crc32c.c
IMAGE_OBJS    += $(patsubst %.c,$(BUILD)/obj/%.o,$(MIGRATION_IMAGE_ONLY)) \
  $(MIGRATION_IMAGE_LIB) $(MBEDTLS_IMAGE_LIB)

$(MIGRATION_IMAGE_LIB): $(MIGRATION_IMAGE_OBJS)
	@rm -f $@
	@ar rcs $@ $^

.PHONY: fuzz-migration fuzz-migration-seeds bench-migration
# The fuzzers: the stream reader and codec, the destination after a valid handshake,
# and what an unauthenticated peer reaches on either side (machines and engine).
# Each run starts from the seed corpus kept in tests/fuzz/corpus/TARGET/ (valid
# frames and streams, written by the targets themselves: `make fuzz-migration-seeds`)
# and writes what it finds new to build/fuzz/corpus-TARGET/. -timeout turns an input
# that stalls into a finding.
FUZZ_SECONDS ?= 20
FUZZ_TIMEOUT ?= 10
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
  -DFERRY_HOST -I. -Iinclude $(MBEDTLS_INC) $(MBEDTLS_DEFINES)
FUZZ_SRCS    := $(MIGRATION_SRCS) $(MBEDTLS_SRCS) \
  kernel/lib/format.c kernel/lib/parse.c kernel/config.c arch/x86/cpu_features.c arch/x86/crc32c.c
FUZZ_NAMES   := fuzz_migration_codec fuzz_migration_dest fuzz_migration_preauth fuzz_migration_tls
FUZZ_TARGETS := $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_NAMES))
FUZZ_SEEDS   := tests/fuzz/corpus

$(FUZZ_TARGETS): $(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/migration_fuzz.h tests/fuzz/fuzz_seeds.h \
    tests/unit/migration_fakes.h tests/unit/tls_pipe.h $(FUZZ_SRCS) $(wildcard kernel/migration/*.h)
	@mkdir -p $(dir $@) $(BUILD)/fuzz/corpus-$*
	@echo "  FUZZCC  $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(FUZZ_SRCS) -o $@

fuzz-migration: $(FUZZ_TARGETS)
	@for t in $(FUZZ_NAMES); do \
	  echo "  FUZZ    $$t ($(FUZZ_SECONDS) s)"; \
	  $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) -max_len=300000 \
	    -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-$$t $(FUZZ_SEEDS)/$$t || exit 1; \
	done

fuzz-migration-seeds: $(FUZZ_TARGETS)
	@for t in $(FUZZ_NAMES); do \
	  rm -rf $(FUZZ_SEEDS)/$$t && mkdir -p $(FUZZ_SEEDS)/$$t && \
	  FERRY_FUZZ_SEEDS=$(FUZZ_SEEDS)/$$t $(BUILD)/fuzz/$$t -runs=0 $(FUZZ_SEEDS)/$$t >/dev/null 2>&1 \
	    || exit 1; \
	  echo "  SEEDS   $(FUZZ_SEEDS)/$$t: $$(ls $(FUZZ_SEEDS)/$$t | wc -l) inputs"; \
	done

BENCH_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -DFERRY_HOST -I. -Iinclude \
  $(MBEDTLS_INC) $(MBEDTLS_DEFINES)
$(BUILD)/bench/bench_migration: tests/bench/bench_migration.c $(MIGRATION_SRCS) \
    $(MBEDTLS_SRCS) kernel/lib/format.c kernel/lib/parse.c kernel/config.c arch/x86/cpu_features.c \
    arch/x86/crc32c.c
	@mkdir -p $(dir $@)
	@echo "  BENCHCC $@"
	@$(CC) $(BENCH_CFLAGS) $(filter %.c,$^) -o $@

bench-migration: $(BUILD)/bench/bench_migration
	$(BUILD)/bench/bench_migration

# The channel's encryption beside memcpy: mbedTLS as in the image, then with AES-NI.
.PHONY: bench-crypto
BENCH_CRYPTO_SRCS := tests/bench/bench_crypto.c $(MIGRATION_SRCS) $(MBEDTLS_SRCS) \
  kernel/lib/format.c kernel/lib/parse.c kernel/config.c arch/x86/cpu_features.c arch/x86/crc32c.c
$(BUILD)/bench/bench_crypto: $(BENCH_CRYPTO_SRCS) tests/unit/tls_pipe.h
	@mkdir -p $(dir $@)
	@echo "  BENCHCC $@"
	@$(CC) $(BENCH_CFLAGS) $(filter %.c,$^) -o $@
$(BUILD)/bench/bench_crypto_aesni: $(BENCH_CRYPTO_SRCS) $(MBEDTLS_DIR)/library/aesni.c
	@mkdir -p $(dir $@)
	@echo "  BENCHCC $@"
	@$(CC) $(BENCH_CFLAGS) -DFERRY_BENCH_AESNI $(filter %.c,$^) -o $@

bench-crypto: $(BUILD)/bench/bench_crypto $(BUILD)/bench/bench_crypto_aesni
	$(BUILD)/bench/bench_crypto
	$(BUILD)/bench/bench_crypto_aesni

# The channel's host test reads certificates made fresh by OpenSSL next to it.
TEST_CERTS := $(BUILD)/host/tls/ca.crt
$(TEST_CERTS): tests/tools/make_test_certs.sh
	@echo "  CERTS   $(dir $@)"
	@tests/tools/make_test_certs.sh $(dir $@)
$(BUILD)/host/test_migration_tls: $(TEST_CERTS) tests/unit/tls_pipe.h
