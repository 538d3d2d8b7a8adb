# The Linux guest (docs/linux-guest.md): its portable parts (the bzImage loader, the ACPI
# tables and their AML encoder, the local APIC and I/O APIC models, the MMIO instruction
# decoder and the guest page-table walker) build for the image and have host unit tests;
# the hostile-input ones have libFuzzer targets.
#
#   make linux-guest        build/guests/vmlinuz and initramfs.cpio.gz from what
#                           scripts/guest-linux.sh fetched into build/deps/linux
#   make esp-linux          build/esp-linux.img: build/esp.img plus both under \guests\
#                           (a separate image: every boot reads all of \guests\ into memory)
#   make fuzz-linux-loader | fuzz-mmio-decode | fuzz-apic | fuzz-snapshot   [FUZZ_SECONDS=20]
PORTABLE_SRCS += kernel/vm/loader_linux.c kernel/vdev/acpi.c kernel/vdev/aml.c \
  kernel/vdev/lapic.c kernel/vdev/ioapic.c arch/x86/mmio_decode.c arch/x86/guest_walk.c

LINUX_GUEST_FILES := $(BUILD)/guests/vmlinuz $(BUILD)/guests/initramfs.cpio.gz
ESP_LINUX         := $(BUILD)/esp-linux.img
.PHONY: linux-guest esp-linux fuzz-linux-loader fuzz-mmio-decode fuzz-apic fuzz-snapshot

linux-guest: $(LINUX_GUEST_FILES)
$(LINUX_GUEST_FILES) &: scripts/guest-linux.sh scripts/mkcpio.py tests/guests/linux/init
	scripts/guest-linux.sh build

# The ESP's FAT16 has room for both (about 15 MB) beside Ferry and the test guests; mcopy
# fails the build with "Disk full" should that change (ESP_BLOCKS_KIB in the Makefile).
esp-linux: $(ESP_LINUX)
$(ESP_LINUX): $(BUILD)/esp.img $(LINUX_GUEST_FILES)
	cp $(BUILD)/esp.img $@.tmp
	mcopy -o -i $@.tmp $(LINUX_GUEST_FILES) ::/guests/
	mv $@.tmp $@

# Host tool: the ACPI tables as files, for iasl (tests/test_acpi_tables.py).
ACPI_TABLES_TOOL := $(BUILD)/host/acpi_tables
unit: $(ACPI_TABLES_TOOL)
$(ACPI_TABLES_TOOL): tests/tools/acpi_tables.c kernel/vdev/acpi.c kernel/vdev/aml.c \
    kernel/vdev/acpi.h kernel/vdev/aml.h kernel/vdev/platform.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(CC) $(HOST_CFLAGS) $(filter %.c,$^) -o $@

# libFuzzer targets: the loader over hostile bzImages, the decoder and walker over
# hostile instruction bytes and page tables, the APIC models over hostile register
# traffic, the snapshot codec over hostile STATE bytes (the platform's sections). Each target writes its own seeds into its corpus (FERRY_FUZZ_SEEDS) and runs
# FUZZ_SECONDS.
LINUX_FUZZ_CFLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=all -DFERRY_HOST -I. -Iinclude
LINUX_FUZZ_SRCS_fuzz_linux_loader := kernel/vm/loader_linux.c
LINUX_FUZZ_SRCS_fuzz_mmio_decode  := arch/x86/mmio_decode.c arch/x86/guest_walk.c
LINUX_FUZZ_SRCS_fuzz_apic         := kernel/vdev/lapic.c kernel/vdev/ioapic.c
LINUX_FUZZ_SRCS_fuzz_snapshot     := kernel/vm/snapshot.c arch/x86/cpu_state.c arch/x86/cpu_features.c \
  kernel/vdev/uart.c kernel/vdev/lapic.c kernel/vdev/ioapic.c kernel/lib/format.c \
  kernel/vdev/virtio_net_state.c arch/x86/spec_ctrl.c
LINUX_FUZZERS := $(BUILD)/fuzz/fuzz_linux_loader $(BUILD)/fuzz/fuzz_mmio_decode $(BUILD)/fuzz/fuzz_apic \
  $(BUILD)/fuzz/fuzz_snapshot

$(LINUX_FUZZERS): $(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_seeds.h \
    $(LINUX_FUZZ_SRCS_fuzz_linux_loader) $(LINUX_FUZZ_SRCS_fuzz_mmio_decode) \
    $(LINUX_FUZZ_SRCS_fuzz_apic) $(LINUX_FUZZ_SRCS_fuzz_snapshot) tests/unit/x86_fixtures.h $(wildcard kernel/vm/loader_linux.h arch/x86/mmio_decode.h \
    arch/x86/guest_walk.h arch/x86/apic.h kernel/vdev/lapic.h kernel/vdev/ioapic.h kernel/vm/snapshot.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	@clang $(LINUX_FUZZ_CFLAGS) $< $(LINUX_FUZZ_SRCS_$*) -o $@

fuzz-linux-loader: $(BUILD)/fuzz/fuzz_linux_loader
fuzz-mmio-decode: $(BUILD)/fuzz/fuzz_mmio_decode
fuzz-apic: $(BUILD)/fuzz/fuzz_apic
fuzz-snapshot: $(BUILD)/fuzz/fuzz_snapshot
fuzz-linux-loader fuzz-mmio-decode fuzz-apic fuzz-snapshot:
	@mkdir -p $(BUILD)/fuzz/corpus-$@
	FERRY_FUZZ_SEEDS=$(BUILD)/fuzz/corpus-$@ $< -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-$@

# The platform oracle (tests/test_linux_oracle.py): Ferry's loader and ACPI tables laid out
# by a host tool, entered by a 64 KiB firmware stub that QEMU runs as its BIOS.
LINUX_BOOT_IMAGE_TOOL := $(BUILD)/host/linux_boot_image
LINUX_ENTRY_STUB      := $(BUILD)/host/linux_entry_stub.bin
STUB_ROM_BASE         := 0xffff0000
unit: $(LINUX_BOOT_IMAGE_TOOL) $(LINUX_ENTRY_STUB)
$(LINUX_BOOT_IMAGE_TOOL): tests/tools/linux_boot_image.c kernel/vm/loader_linux.c kernel/vdev/acpi.c \
    kernel/vdev/aml.c kernel/vm/loader_linux.h kernel/vdev/acpi.h kernel/vdev/platform.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(CC) $(HOST_CFLAGS) $(filter %.c,$^) -o $@

$(LINUX_ENTRY_STUB): tests/tools/linux_entry_stub.S
	@mkdir -p $(dir $@)
	@echo "  STUB    $@"
	@$(CC) -c $< -o $@.o
	@$(LD) -m elf_x86_64 -nostdlib -static --build-id=none -Ttext=$(STUB_ROM_BASE) $@.o -o $@.elf
	@$(OBJCOPY) -O binary -j .text $@.elf $@

# Host tool: the MMIO decoder over hex lines, for tests/test_mmio_decode_objdump.py.
MMIO_DECODE_TOOL := $(BUILD)/host/mmio_decode_tool
unit: $(MMIO_DECODE_TOOL)
$(MMIO_DECODE_TOOL): tests/tools/mmio_decode_tool.c arch/x86/mmio_decode.c arch/x86/mmio_decode.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(CC) $(HOST_CFLAGS) $(filter %.c,$^) -o $@
