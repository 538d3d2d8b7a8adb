# The network (drivers/pci.c, drivers/e1000.c, net/): its portable parts are unit
# tested on the host; `make bench-net` measures TCP throughput in a network lab
# (needs root): Ferry->Linux and Ferry->Ferry beside Linux->Linux on the same bridge.
PORTABLE_SRCS += net/vswitch.c net/bench_stream.c net/lwip_heap.c net/net_addr.c net/tcp_isn.c

.PHONY: bench-net
bench-net: esp
	/usr/bin/python3 tests/bench/bench_net.py $(BENCH_NET_ARGS)
