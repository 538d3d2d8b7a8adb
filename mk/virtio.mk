# virtio-net over virtio-mmio (docs/virtio-net.md): the split virtqueues, the transport and
# the device are portable, unit tested on the host (tests/unit/test_virtqueue.c,
# test_virtio_mmio.c, test_virtio_net.c) and fuzzed with hostile rings over a fake guest RAM:
#
#   make fuzz-virtio-net   [FUZZ_SECONDS=20]
PORTABLE_SRCS += kernel/vdev/virtqueue.c kernel/vdev/virtio_mmio.c kernel/vdev/virtio_net.c \
  kernel/vdev/virtio_net_state.c

VIRTIO_SRCS := kernel/vdev/virtqueue.c kernel/vdev/virtio_mmio.c kernel/vdev/virtio_net.c \
  kernel/vdev/virtio_net_state.c
VIRTIO_HDRS := kernel/vdev/virtqueue.h kernel/vdev/virtio_mmio.h kernel/vdev/virtio_net.h
VIRTIO_FUZZER := $(BUILD)/fuzz/fuzz_virtio_net
.PHONY: fuzz-virtio-net

$(VIRTIO_FUZZER): tests/fuzz/fuzz_virtio_net.c tests/fuzz/fuzz_seeds.h tests/unit/virtio_fixtures.h \
    $(VIRTIO_SRCS) $(VIRTIO_HDRS) net/vswitch.c net/vswitch.h
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	@clang -std=c11 -O1 -g -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -DFERRY_HOST -I. -Iinclude $< $(VIRTIO_SRCS) net/vswitch.c -o $@

fuzz-virtio-net: $(VIRTIO_FUZZER)
	@mkdir -p $(BUILD)/fuzz/corpus-$@
	FERRY_FUZZ_SEEDS=$(BUILD)/fuzz/corpus-$@ $< -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-$@

# The card's throughput beside Ferry's netbench on the same link (bench/virtio_net.py;
# root, QEMU TCG with AMD-V, the Debian guest's files).
.PHONY: bench-virtio-net
bench-virtio-net: esp-linux
	/usr/bin/python3 bench/virtio_net.py

# What a client sees of a live migration of the guest (lost pings, the echo stream's longest
# silence, whether it survives), Ferry's beside QEMU's on the same lab (bench/virtio_net_migration.py).
.PHONY: bench-virtio-net-migration
bench-virtio-net-migration: esp-linux
	/usr/bin/python3 bench/virtio_net_migration.py
