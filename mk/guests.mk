# Test guests (tests/guests/): freestanding ELF64 programs that Ferry starts in
# 64-bit long mode. Each tests/guests/NAME.c becomes build/guests/NAME.elf, linked
# with the guest runtime (guest_rt.c, and guest_trap.c for the guests that take
# exceptions or enter user mode) and put on the ESP under \guests\.
GUEST_CFLAGS := -std=c11 -O2 -Wall -Wextra -Werror -ffreestanding -fno-stack-protector \
  -fno-pic -mno-red-zone -mgeneral-regs-only -fno-builtin -nostdlib -Itests/guests -Iinclude
GUEST_RUNTIME := tests/guests/guest_rt.c tests/guests/guest_trap.c
GUEST_NAMES  := $(basename $(notdir $(filter-out $(GUEST_RUNTIME),$(wildcard tests/guests/*.c))))
GUEST_ELFS   := $(patsubst %,$(BUILD)/guests/%.elf,$(GUEST_NAMES))
ESP_GUESTS   += $(GUEST_ELFS)

guests: $(GUEST_ELFS)

# Every guest header counts for every guest: they are few and small (memtest.h, say, is
# shared by memtest, witness and a host unit test).
GUEST_HEADERS := $(wildcard tests/guests/*.h include/ferry/*.h)

$(BUILD)/guests/%.elf: tests/guests/%.c $(GUEST_RUNTIME) $(GUEST_HEADERS) tests/guests/guest.ld
	@mkdir -p $(dir $@)
	@echo "  GUEST   $@"
	@$(CC) $(GUEST_CFLAGS) -static -Wl,-T,tests/guests/guest.ld -Wl,--build-id=none \
	  $< $(GUEST_RUNTIME) -o $@
