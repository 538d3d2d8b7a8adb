# Benchmarks (bench/, docs/benchmarks.md). The QEMU reference guest of the migration
# benchmark (tests/bench/qemu_dirty_guest/) is a 32-bit Multiboot ELF that QEMU boots
# with -kernel: build/bench/qemu_dirty_guest.elf.
DIRTY_GUEST_DIR    := tests/bench/qemu_dirty_guest
DIRTY_GUEST_ELF    := $(BUILD)/bench/qemu_dirty_guest.elf
DIRTY_GUEST_SRCS   := $(wildcard $(DIRTY_GUEST_DIR)/*.c) $(wildcard $(DIRTY_GUEST_DIR)/*.S)
DIRTY_GUEST_OBJS   := $(patsubst $(DIRTY_GUEST_DIR)/%,$(BUILD)/bench/obj/%.o,$(DIRTY_GUEST_SRCS))
DIRTY_GUEST_CFLAGS := -std=c11 -O2 -m32 -march=i686 -Wall -Wextra -Werror -ffreestanding \
  -fno-stack-protector -fno-pic -fno-builtin -mgeneral-regs-only -fno-asynchronous-unwind-tables \
  -MMD -MP

.PHONY: bench-guests bench-qemu-migration bench-ferry-migration
bench-guests: $(DIRTY_GUEST_ELF)

$(BUILD)/bench/obj/%.c.o: $(DIRTY_GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC32    $<"
	@$(CC) $(DIRTY_GUEST_CFLAGS) -c $< -o $@

$(BUILD)/bench/obj/%.S.o: $(DIRTY_GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	@echo "  AS32    $<"
	@$(CC) $(DIRTY_GUEST_CFLAGS) -c $< -o $@

$(DIRTY_GUEST_ELF): $(DIRTY_GUEST_OBJS) $(DIRTY_GUEST_DIR)/guest.ld
	@echo "  LD32    $@"
	@$(LD) -m elf_i386 -nostdlib -static --build-id=none -z noexecstack --no-warn-rwx-segments -T $(DIRTY_GUEST_DIR)/guest.ld \
	  $(DIRTY_GUEST_OBJS) -o $@

# QEMU's own live migration of a 64 MiB TCG guest at three write rates (a table).
bench-qemu-migration: $(DIRTY_GUEST_ELF)
	/usr/bin/python3 bench/qemu_migration.py

# Ferry's live migration of a 64 MiB guest between two Bochs Ferry hosts at three write
# rates (netbench on the same link as the raw figure), then QEMU's half, in one run.
bench-ferry-migration: $(DIRTY_GUEST_ELF) esp
	/usr/bin/python3 bench/ferry_migration.py --with-qemu

# The switchover (issue 13, docs/benchmarks.md "Switchover"): a 64 MiB witness guest at three
# write rates with verify=off/before/after, beside a spinning neighbour, the injected fault
# (a fault-injection image), QEMU's migration at the same link rate; JSON and an SVG plot.
.PHONY: bench-switchover bench-switchover-bochs
bench-switchover: $(DIRTY_GUEST_ELF) esp esp-faults
	/usr/bin/python3 bench/switchover.py --backend svm --faults --with-qemu \
	  --json $(BUILD)/bench/switchover-svm.json --svg $(BUILD)/bench/switchover-svm.svg
bench-switchover-bochs: $(DIRTY_GUEST_ELF) esp esp-faults
	/usr/bin/python3 bench/switchover.py --backend vmx --faults --with-qemu \
	  --json $(BUILD)/bench/switchover-vmx.json --svg $(BUILD)/bench/switchover-vmx.svg

# The cost of the channel's encryption: Ferry's migration on the AMD-V lab with the default
# cipher (ChaCha20-Poly1305) and with migration_cipher = none, on the same lab, one table each.
.PHONY: bench-migration-encryption
bench-migration-encryption: $(DIRTY_GUEST_ELF) esp
	/usr/bin/python3 bench/ferry_migration.py --backend svm --ciphers chacha20-poly1305,none

# The Linux guest (issue 14, docs/benchmarks.md "Linux guest"): boot time to /init on each
# backend beside QEMU microvm booting the same kernel and initramfs, and migration of a
# 128 MiB Linux guest (idle, idle with init_on_free=0, with a memory writer) on the AMD-V
# lab (needs root). The Bochs boot takes minutes.
.PHONY: bench-linux
bench-linux: esp-linux
	/usr/bin/python3 bench/linux.py --json $(BUILD)/bench/linux.json

-include $(DIRTY_GUEST_OBJS:.o=.d)

clean: clean-bench
.PHONY: clean-bench
clean-bench:
	rm -rf $(BUILD)/bench
