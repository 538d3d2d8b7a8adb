/*
 * Which MAC addresses a guest may have on this host: the rule `create` (mac=
 * given or derived from the name) and an incoming migration's offer both pass
 * through. A guest's MAC is announced on the segment (RARP after a migration)
 * and owns a port of the virtual switch, so refused are:
 *   - a group (multicast or broadcast) address: I/G bit 0 of the first octet set;
 *   - the all-zero address;
 *   - the host's own NIC address (a RARP from it would take the host's traffic);
 *   - an address another guest here already has.
 * Portable (image and host: tests/unit/test_guest_mac.c); kernel/vm/vm.c supplies
 * the host's address and the guests'.
 */
#ifndef FERRY_VM_GUEST_MAC_H
#define FERRY_VM_GUEST_MAC_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_MAC_BYTES      6
#define GUEST_MAC_GROUP_BIT  0x01   /* IEEE 802: I/G, first octet bit 0 */
#define GUEST_MAC_WHY_MAX    96

/*
 * 0 when mac may be given to a guest here; FERR_INVAL with why (a sentence naming
 * the address and the reason) otherwise. host_mac may be all zeros (no NIC);
 * in_use holds `in_use_count` addresses of the guests here.
 */
int guest_mac_check(const uint8_t mac[GUEST_MAC_BYTES], const uint8_t host_mac[GUEST_MAC_BYTES],
		    const uint8_t (*in_use)[GUEST_MAC_BYTES], size_t in_use_count,
		    char why[GUEST_MAC_WHY_MAX]);

#endif
