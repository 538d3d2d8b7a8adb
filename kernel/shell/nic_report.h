/*
 * What `vminfo` and `net` show of guests' network cards and the virtual switch: a guest's
 * virtio-net counters and its switch port's (print_vm_nic), and the switch's table
 * (print_switch_table). Key=value lines, stable for the tests (docs/virtio-net.md).
 * Image only.
 */
#ifndef FERRY_SHELL_NIC_REPORT_H
#define FERRY_SHELL_NIC_REPORT_H

struct vm;

/* Nothing when the guest has no network card. */
void print_vm_nic(const struct vm *vm);
/* One `switch mac=... port=N pinned` or `switch mac=... port=uplink age_ms=N` line a row. */
void print_switch_table(void);

#endif
