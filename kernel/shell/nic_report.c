/* `vminfo`'s network card lines and `net`'s switch table; see nic_report.h. */
#include "kernel/shell/nic_report.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/vdev/virtio_net.h"
#include "kernel/vm/vm.h"
#include "net/net.h"

static const char *device_status(const struct virtio_net *n)
{
	uint32_t status = n->mmio.s.status;

	if (status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return "needs-reset";
	if (n->paused)
		return "paused";
	return status & VIRTIO_STATUS_DRIVER_OK ? "running" : "stopped";
}

static void print_mac(const char *key, const uint8_t *m)
{
	kprintf("%s=%02x:%02x:%02x:%02x:%02x:%02x", key, m[0], m[1], m[2], m[3], m[4], m[5]);
}

void print_vm_nic(const struct vm *vm)
{
	const struct virtio_net *n = vm_nic_device(vm);

	if (!n)
		return;
	const struct virtio_net_counters *c = &n->counters;
	const char *failure = virtio_net_failure(n);
	int port = vm_nic_port(vm);

	kprintf("nic: ");
	print_mac("mac", n->mac);
	if (port >= 0)
		kprintf(" port=%d", port);
	else
		kprintf(" port=none");
	kprintf(" status=%s", device_status(n));
	if (failure)
		kprintf(" failure=\"%s\"", failure);
	kprintf("\nnic: rx_frames=%llu rx_bytes=%llu tx_frames=%llu tx_bytes=%llu "
		"tx_stalls=%llu tx_budget_yields=%llu notifies=%llu interrupts=%llu resets=%llu "
		"needs_reset=%llu announces=%llu\n",
		(unsigned long long)c->rx_frames, (unsigned long long)c->rx_bytes,
		(unsigned long long)c->tx_frames, (unsigned long long)c->tx_bytes,
		(unsigned long long)c->tx_stalls,
		(unsigned long long)c->tx_budget_yields, (unsigned long long)n->mmio.counters.notifies,
		(unsigned long long)n->mmio.counters.interrupts, (unsigned long long)n->mmio.counters.resets,
		(unsigned long long)n->mmio.counters.needs_reset, (unsigned long long)c->announces);
	kprintf("nic_drops:");
	for (unsigned i = 0; i < VIRTIO_NET_RX_DROP_COUNT; i++)
		kprintf(" rx_%s=%llu", virtio_net_rx_drop_name(i), (unsigned long long)c->rx_drops[i]);
	for (unsigned i = 0; i < VIRTIO_NET_TX_DROP_COUNT; i++)
		kprintf(" tx_%s=%llu", virtio_net_tx_drop_name(i), (unsigned long long)c->tx_drops[i]);
	kprintf("\n");
	const struct vswitch *sw = net_vswitch();
	const struct vswitch_port *p = sw && port >= 0 ? vswitch_port(sw, port) : NULL;
	if (!p)
		return;
	kprintf("port: frames_in=%llu bytes_in=%llu frames_out=%llu bytes_out=%llu",
		(unsigned long long)p->frames_in, (unsigned long long)p->bytes_in,
		(unsigned long long)p->frames_out, (unsigned long long)p->bytes_out);
	for (unsigned i = 0; i < VSWITCH_DROP_COUNT; i++)
		kprintf(" drop_%s=%llu", vswitch_drop_name(i), (unsigned long long)p->drops[i]);
	kprintf("\n");
}

void print_switch_table(void)
{
	static struct vswitch_row rows[VSWITCH_TABLE_MAX];
	const struct vswitch *sw = net_vswitch();

	if (!sw)
		return;
	size_t count = vswitch_table(sw, clock_ms(), rows, VSWITCH_TABLE_MAX);
	for (size_t i = 0; i < count; i++) {
		kprintf("switch ");
		print_mac("mac", rows[i].mac);
		if (rows[i].where == VSWITCH_UPLINK)
			kprintf(" port=uplink age_ms=%llu\n", (unsigned long long)rows[i].age_ms);
		else
			kprintf(" port=%d%s\n", rows[i].where, rows[i].pinned ? " pinned" : "");
	}
}
