# Ferry's build. `make` builds build/ferry.efi; `make esp` lays out the EFI system
# partition (build/esp/ and build/esp.img); `make unit` builds the host unit tests;
# `make test` runs the whole suite through pytest. scripts/setup.sh installs the tools.

BUILD      := build
DEPS       := $(BUILD)/deps
EFI_INC    := /usr/include/efi
EFI_LIB    := /usr/lib
GIT_REV    := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
VERSION    := 0.1.0

CC         := gcc
LD         := ld
OBJCOPY    := objcopy

# ---- the freestanding image ------------------------------------------------------
IMAGE_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror \
  -ffreestanding -fno-stack-protector -fpic -fshort-wchar -mno-red-zone \
  -maccumulate-outgoing-args -fno-omit-frame-pointer -mgeneral-regs-only \
  -fno-strict-aliasing -fno-builtin -DEFI_FUNCTION_WRAPPER -DFERRY_IMAGE \
  -DFERRY_VERSION='"$(VERSION)"' -DFERRY_GIT_REV='"$(GIT_REV)"' \
  -I. -Iinclude -isystem include/libc -isystem $(EFI_INC) -isystem $(EFI_INC)/x86_64 \
  -MMD -MP

# kernel/migration/ enters the image through mk/migration.mk (an archive, plus its image-only files).
# The commands that exist only to test Ferry (`crash`) are in the debug image alone (below).
DEBUG_ONLY_SRCS := kernel/shell/cmd_debug.c
IMAGE_SRCS := $(filter-out kernel/migration/% $(DEBUG_ONLY_SRCS),\
  $(wildcard boot/*.c kernel/*.c kernel/*/*.c arch/x86/*.c arch/x86/*/*.c drivers/*.c net/*.c))
IMAGE_ASMS := $(wildcard arch/x86/*.S arch/x86/*/*.S)
IMAGE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(IMAGE_SRCS)) \
              $(patsubst %.S,$(BUILD)/obj/%.o,$(IMAGE_ASMS))

EFI_SECTIONS := -j .text -j .reloc -j .rodata -j .data -j .dynamic -j .dynsym -j .rela

# Host unit tests: every tests/unit/test_*.c is linked with the portable sources,
# compiled once (with ASan and UBSan) into build/host/libportable.a.
HOST_CFLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined \
  -fno-omit-frame-pointer -DFERRY_HOST -I. -Iinclude
PORTABLE_SRCS := kernel/lib/format.c kernel/lib/parse.c kernel/lib/tsc_rate.c kernel/clock.c kernel/poll.c kernel/config.c kernel/shell/cmdline.c \
  kernel/shell/line_editor.c kernel/frame_alloc.c kernel/log_ring.c arch/x86/vmx/caps.c

# Files the ESP carries besides ferry.efi and ferry.cfg (guest images are added by mk/guests.mk).
ESP_GUESTS :=

.PHONY: all esp unit guests test clean layers
all: $(BUILD)/ferry.efi

# The layering (docs/architecture.md) is checked over every #include before the image
# links: a back-edge fails the build.
LAYER_SOURCES := $(shell find boot kernel arch drivers net include -name '*.[chS]' 2>/dev/null)
layers: $(BUILD)/layers.ok
$(BUILD)/layers.ok: scripts/check_layers.py $(LAYER_SOURCES)
	@mkdir -p $(dir $@)
	@echo "  LAYERS  scripts/check_layers.py"
	@/usr/bin/python3 scripts/check_layers.py
	@touch $@

# Each module that needs build rules of its own (lwIP, mbedTLS, test guests...) keeps
# them in mk/NAME.mk; fragments append to IMAGE_OBJS, PORTABLE_SRCS and ESP_GUESTS.
include $(sort $(wildcard mk/*.mk))

# The files that print the version are rebuilt whenever the git revision changes, so
# that `version` and the boot line never name a stale revision.
GIT_REV_STAMP := $(BUILD)/git-rev.txt
$(shell mkdir -p $(BUILD); [ "$$(cat $(GIT_REV_STAMP) 2>/dev/null)" = "$(GIT_REV)" ] || echo "$(GIT_REV)" > $(GIT_REV_STAMP))
$(BUILD)/obj/boot/efi_main.o $(BUILD)/obj/kernel/shell/cmd_system.o $(BUILD)/obj/kernel/shell/shell.o: $(GIT_REV_STAMP)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(IMAGE_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) $(IMAGE_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

# libefi with its byte-at-a-time memcpy and memset made weak, so that the image's own
# (arch/x86/memops.c) are used everywhere, lwIP and mbedTLS included.
$(BUILD)/libefi.a: $(EFI_LIB)/libefi.a
	@mkdir -p $(dir $@)
	$(OBJCOPY) --weaken-symbol=memcpy --weaken-symbol=memset $< $@

# IMAGE_LDFLAGS: what mk/ fragments add to the link (mk/lwip.mk: its pool bounds).
LINK_IMAGE = $(LD) -nostdlib -shared -Bsymbolic -znocombreloc --no-undefined $(IMAGE_LDFLAGS) -T linker.ld \
  $(EFI_LIB)/crt0-efi-x86_64.o $(1) -L$(EFI_LIB) -lgnuefi $(BUILD)/libefi.a -o $@

$(BUILD)/ferry.so: $(BUILD)/layers.ok $(IMAGE_OBJS) $(BUILD)/libefi.a linker.ld
	$(call LINK_IMAGE,$(IMAGE_OBJS))

$(BUILD)/%.efi: $(BUILD)/%.so
	$(OBJCOPY) $(EFI_SECTIONS) --target efi-app-x86_64 --subsystem=10 $< $@

# ---- the debug image ----------------------------------------------------------------
# build/ferry-debug.efi (on build/esp-debug.img): the production image plus the commands
# that exist only to test Ferry (DEBUG_ONLY_SRCS), named in the shell's command tables
# when FERRY_DEBUG is set. The test suite boots it for the crash reports; an operator's
# host runs build/esp.img, which cannot be made to fault on purpose.
DEBUG_VARIANT_SRCS := kernel/shell/command_tables.c
DEBUG_VARIANT_OBJS := $(patsubst %.c,$(BUILD)/obj-debug/%.o,$(DEBUG_ONLY_SRCS) $(DEBUG_VARIANT_SRCS))
DEBUG_IMAGE_OBJS = $(filter-out $(patsubst %.c,$(BUILD)/obj/%.o,$(DEBUG_VARIANT_SRCS)),$(IMAGE_OBJS)) \
  $(DEBUG_VARIANT_OBJS)

$(BUILD)/obj-debug/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (debug)"
	@$(CC) $(IMAGE_CFLAGS) -DFERRY_DEBUG -c $< -o $@

$(BUILD)/ferry-debug.so: $(BUILD)/layers.ok $(DEBUG_IMAGE_OBJS) $(BUILD)/libefi.a linker.ld
	$(call LINK_IMAGE,$(DEBUG_IMAGE_OBJS))

# ---- the EFI system partition ------------------------------------------------------
# A FAT16 image with a CHS-friendly size (64 cylinders x 16 heads x 63 sectors), so
# that Bochs accepts it as a flat disk without geometry hints.
ESP_BLOCKS_KIB := 32256
# `make esp` lays out both: build/esp.img (production) and build/esp-debug.img.
esp: $(BUILD)/esp.img $(BUILD)/esp-debug.img
# $(call LAY_OUT_ESP,EFI): the ESP in $(basename $@)/ and the image $@, booting EFI.
LAY_OUT_ESP = rm -rf $(basename $@) && mkdir -p $(basename $@)/EFI/BOOT $(basename $@)/guests && \
  cp $(1) $(basename $@)/EFI/BOOT/BOOTX64.EFI && cp ferry.cfg $(basename $@)/ferry.cfg && \
  $(if $(ESP_GUESTS),cp $(ESP_GUESTS) $(basename $@)/guests/ &&) \
  rm -f $@.tmp && mkfs.fat -C -F 16 -n FERRY $@.tmp $(ESP_BLOCKS_KIB) >/dev/null && \
  mcopy -s -i $@.tmp $(basename $@)/* ::/ && mv $@.tmp $@
$(BUILD)/esp.img: $(BUILD)/ferry.efi $(ESP_GUESTS) ferry.cfg
	$(call LAY_OUT_ESP,$<)
$(BUILD)/esp-debug.img: $(BUILD)/ferry-debug.efi $(ESP_GUESTS) ferry.cfg
	$(call LAY_OUT_ESP,$<)

# ---- host unit tests of the portable modules ----------------------------------------
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/host/%,$(wildcard tests/unit/test_*.c))
unit: $(UNIT_TESTS)

PORTABLE_OBJS := $(patsubst %.c,$(BUILD)/host/obj/%.o,$(PORTABLE_SRCS))
PORTABLE_LIB  := $(BUILD)/host/libportable.a

$(BUILD)/host/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	@$(CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

$(PORTABLE_LIB): $(PORTABLE_OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/host/test_%: tests/unit/test_%.c tests/unit/check.h $(PORTABLE_LIB)
	@mkdir -p $(dir $@)
	@echo "  HOSTLD  $@"
	@$(CC) $(HOST_CFLAGS) -MMD -MP $< $(PORTABLE_LIB) -o $@

test:
	/usr/bin/python3 -m pytest -v tests

clean:
	rm -rf $(BUILD)/obj $(BUILD)/obj-debug $(BUILD)/host $(BUILD)/guests $(BUILD)/esp $(BUILD)/esp-debug $(BUILD)/*.efi $(BUILD)/*.so $(BUILD)/*.img $(BUILD)/libefi.a

# Objects that enter the image through an archive (mk/migration.mk, mk/mbedtls.mk) are not
# in IMAGE_OBJS themselves: their header dependencies must be read too, or a changed
# struct would leave stale objects in the archive.
-include $(patsubst %.o,%.d,$(filter %.o,$(IMAGE_OBJS) $(DEBUG_VARIANT_OBJS) $(PORTABLE_OBJS) $(MIGRATION_IMAGE_OBJS) $(MBEDTLS_IMAGE_OBJS)))
-include $(patsubst %,%.d,$(UNIT_TESTS))
