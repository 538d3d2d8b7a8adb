/*
 * Intel 8254x/8257x ("e1000") Ethernet driver: the 82540EM that Bochs and QEMU
 * emulate, and its siblings 82545EM and 82574L. References: Intel PCI/PCI-X
 * Family of Gigabit Ethernet Controllers Software Developer's Manual (8254x,
 * rev. 4.0: "8254x SDM" below) and the 82574 datasheet for its differences.
 *
 * Polled, no interrupts: legacy receive and transmit descriptors in rings that
 * Ferry owns (frames charged to the "nic" owner), one 2 KiB buffer per
 * descriptor, frames copied in and out. The MAC comes from the EEPROM (EERD), or
 * from RAL0/RAH0 when the EEPROM does not answer. The RX and TX rings are each a
 * struct desc_ring (drivers/desc_ring.h). Image only.
 */
#ifndef FERRY_DRIVERS_E1000_H
#define FERRY_DRIVERS_E1000_H

#include "drivers/nic.h"

/*
 * Finds the first supported controller on PCI (pci_init() first), resets and
 * starts it; *out is the driver's struct nic. FERR_NOENT when there is none,
 * FERR_NOMEM when its rings cannot be allocated, FERR_IO when it does not reset.
 */
int e1000_probe(struct nic **out);

#endif
