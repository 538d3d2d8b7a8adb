# VT-x guests (docs/vmx.md): the portable parts (EPT builder and dirty scan, CPUID
# masks, the register file and its checks, the UART model, the snapshot codec) also
# build for the host and have unit tests; `make bench-ept` measures the EPT dirty-bit scan.
PORTABLE_SRCS += arch/x86/vmx/ept.c arch/x86/cpu_features.c arch/x86/cpu_state.c kernel/vdev/uart.c \
  kernel/vm/snapshot.c

BENCH_EPT := $(BUILD)/host/bench_ept
.PHONY: bench-ept
bench-ept: $(BENCH_EPT)
	$(BENCH_EPT)

$(BENCH_EPT): tests/bench/bench_ept.c arch/x86/vmx/ept.c arch/x86/vmx/ept.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -DFERRY_HOST -I. -Iinclude $< arch/x86/vmx/ept.c -o $@
