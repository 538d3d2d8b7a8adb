# lwIP 2.1.3, built freestanding from Debian's source package, which
# scripts/setup.sh unpacks into build/deps/lwip (never copied into the repository).
# Only the core, IPv4 and the Ethernet layer are built: NO_SYS, raw API
# (configuration in net/lwipopts.h, platform port in net/arch/cc.h).
LWIP_DIR  := $(DEPS)/lwip/src
LWIP_SRCS := $(addprefix $(LWIP_DIR)/, \
  core/init.c core/def.c core/inet_chksum.c core/ip.c core/mem.c core/memp.c \
  core/netif.c core/pbuf.c core/raw.c core/stats.c core/sys.c core/tcp.c core/tcp_in.c \
  core/tcp_out.c core/timeouts.c core/udp.c \
  core/ipv4/dhcp.c core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c \
  core/ipv4/ip4_addr.c core/ipv4/ip4_frag.c netif/ethernet.c)
LWIP_OBJS := $(patsubst $(LWIP_DIR)/%.c,$(BUILD)/obj/lwip/%.o,$(LWIP_SRCS))

# Ferry's own sources that use lwIP find its headers and the port; lwIP itself
# is third-party code: built with Ferry's flags but its warnings do not fail the build.
IMAGE_CFLAGS += -Inet -isystem $(LWIP_DIR)/include
LWIP_CFLAGS  = $(filter-out -Werror -MMD -MP,$(IMAGE_CFLAGS)) -Inet/lwip_libc -w
IMAGE_OBJS   += $(LWIP_OBJS)
# Every lwIP pool request passes net/lwip_pools.c first, which makes the MEMP_NUM_* bounds real.
IMAGE_LDFLAGS += --wrap=memp_malloc --wrap=memp_free

$(BUILD)/obj/lwip/%.o: $(LWIP_DIR)/%.c net/lwipopts.h net/arch/cc.h
	@mkdir -p $(dir $@)
	@echo "  CC      lwip/$*.c"
	@$(CC) $(LWIP_CFLAGS) -c $< -o $@

