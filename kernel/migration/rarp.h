/*
 * The RARP announcement a destination broadcasts after a switchover (as vMotion and
 * QEMU do): a reverse request (RFC 903) from the guest's MAC, so that switches move
 * the MAC to the destination's port. Portable.
 */
#ifndef FERRY_MIGRATION_RARP_H
#define FERRY_MIGRATION_RARP_H

#include <stddef.h>
#include <stdint.h>

#define RARP_ETHERTYPE 0x8035
#define RARP_FRAME_BYTES 60        /* the Ethernet minimum, without the FCS */

/* Builds the frame into out (RARP_FRAME_BYTES); returns its length. */
size_t rarp_build_announce(uint8_t out[RARP_FRAME_BYTES], const uint8_t mac[6]);

/* Delays (ms after resume) of the announcements: growing intervals. */
#define RARP_ANNOUNCE_COUNT 5
extern const uint32_t rarp_announce_ms[RARP_ANNOUNCE_COUNT];

#endif
