# AMD-V guests (docs/svm.md): the portable parts (capability decoding, the NPT
# builder and its dirty tracking, the VMCB format conversions, the instruction
# decoder) also build for the host and have unit tests; `make bench-npt`
# measures the NPT dirty scan of a 4 GiB guest beside a plain read of its leaves.
PORTABLE_SRCS += arch/x86/svm/caps.c arch/x86/svm/npt.c arch/x86/svm/vmcb_format.c arch/x86/svm/insn.c

BENCH_NPT := $(BUILD)/host/bench_npt
.PHONY: bench-npt
bench-npt: $(BENCH_NPT)
	$(BENCH_NPT)

$(BENCH_NPT): tests/bench/bench_npt.c arch/x86/svm/npt.c arch/x86/svm/npt.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	@$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -DFERRY_HOST -I. -Iinclude $< arch/x86/svm/npt.c -o $@

# Ferry's live migration of a 64 MiB guest between two AMD-V Ferry hosts under QEMU TCG
# at three write rates, then QEMU's own with max-bandwidth at Ferry's link rate, in one
# run (docs/benchmarks.md, "AMD-V"); needs root for the network lab.
.PHONY: bench-svm-migration
bench-svm-migration: $(DIRTY_GUEST_ELF) esp
	/usr/bin/python3 bench/ferry_migration.py --backend svm --with-qemu
