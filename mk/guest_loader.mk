# Guest loader (kernel/vm/loader_elf.c): portable, so it has host unit tests and a
# libFuzzer target. `make fuzz-guest-loader [FUZZ_SECONDS=20]` fuzzes it with clang.
PORTABLE_SRCS += kernel/vm/loader_elf.c

FUZZ_SECONDS ?= 20
FUZZ_GUEST_LOADER := $(BUILD)/host/fuzz_guest_loader
.PHONY: fuzz-guest-loader fuzz-guest-loader-bin guest-runner

fuzz-guest-loader-bin: $(FUZZ_GUEST_LOADER)
LOADER_SRCS := kernel/vm/loader_elf.c arch/x86/cpu_state.c
$(FUZZ_GUEST_LOADER): tests/fuzz/fuzz_guest_loader.c $(LOADER_SRCS) kernel/vm/loader_elf.h
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	@clang -std=c11 -O1 -g -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -DFERRY_HOST -I. -Iinclude $< $(LOADER_SRCS) -o $@

fuzz-guest-loader: $(FUZZ_GUEST_LOADER) $(BUILD)/guests/counter.elf
	@mkdir -p $(BUILD)/fuzz/guest_loader_corpus
	@cp $(BUILD)/guests/counter.elf $(BUILD)/fuzz/guest_loader_corpus/seed_counter.elf
	$(FUZZ_GUEST_LOADER) -max_total_time=$(FUZZ_SECONDS) -max_len=16384 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/guest_loader_corpus

# Host stand-in that runs a guest image without VMX (tests/tools/guest_runner.c).
GUEST_RUNNER := $(BUILD)/host/guest_runner
guest-runner: $(GUEST_RUNNER)
unit: $(GUEST_RUNNER)
$(GUEST_RUNNER): tests/tools/guest_runner.c $(LOADER_SRCS) kernel/vm/loader_elf.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -DFERRY_HOST -I. -Iinclude \
	  $< $(LOADER_SRCS) -o $@
$(BUILD)/guests/memtest.elf: tests/guests/memtest.h
