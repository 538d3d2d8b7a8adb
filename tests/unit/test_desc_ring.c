/* The descriptor ring shared by the e1000's RX and TX (drivers/desc_ring.h). */
#include "check.h"
#include "drivers/desc_ring.h"

#include <stdint.h>
#include <string.h>

#define SLOTS        8
#define DESC_BYTES   16
#define BUFFER_BYTES 2048
#define BUFFERS_PHYS 0x100000ull

static uint8_t descs[SLOTS * DESC_BYTES];
static uint8_t buffers[SLOTS * BUFFER_BYTES];

static void ring_init(struct desc_ring *r)
{
	desc_ring_init(r, SLOTS, descs, DESC_BYTES, buffers, BUFFERS_PHYS, BUFFER_BYTES);
}

TEST(init_lays_the_ring_over_its_memory_and_zeroes_the_descriptors)
{
	struct desc_ring r;
	memset(descs, 0xa5, sizeof(descs));
	ring_init(&r);
	for (unsigned i = 0; i < sizeof(descs); i++)
		CHECK_EQ_U(descs[i], 0);
	CHECK_EQ_U(desc_ring_in_flight(&r), 0);
	CHECK(!desc_ring_full(&r));
	CHECK(desc_ring_desc(&r, 0) == descs);
	CHECK(desc_ring_desc(&r, 3) == descs + 3 * DESC_BYTES);
	CHECK(desc_ring_buffer(&r, 0) == buffers);
	CHECK(desc_ring_buffer(&r, 7) == buffers + 7 * BUFFER_BYTES);
	CHECK_EQ_U(desc_ring_buffer_phys(&r, 0), BUFFERS_PHYS);
	CHECK_EQ_U(desc_ring_buffer_phys(&r, 5), BUFFERS_PHYS + 5 * BUFFER_BYTES);
}

TEST(counts_are_taken_modulo_the_size)
{
	struct desc_ring r;
	ring_init(&r);
	CHECK_EQ_U(desc_ring_slot(&r, 0), 0);
	CHECK_EQ_U(desc_ring_slot(&r, 7), 7);
	CHECK_EQ_U(desc_ring_slot(&r, 8), 0);
	CHECK_EQ_U(desc_ring_slot(&r, 13), 5);
	CHECK_EQ_U(desc_ring_slot(&r, UINT32_MAX), 7);
}

TEST(a_transmit_ring_fills_to_one_short_of_its_size)
{
	struct desc_ring r;
	ring_init(&r);
	unsigned handed = 0;
	while (!desc_ring_full(&r)) {
		r.prod++;
		handed++;
	}
	CHECK_EQ_U(handed, SLOTS - 1);
	CHECK_EQ_U(desc_ring_in_flight(&r), SLOTS - 1);
	/* The device's tail never meets its head (slot 0) while a slot is with it. */
	CHECK(desc_ring_slot(&r, r.prod) != desc_ring_slot(&r, r.cons));
	r.cons += 3;   /* three sent */
	CHECK(!desc_ring_full(&r));
	CHECK_EQ_U(desc_ring_in_flight(&r), SLOTS - 4);
}

TEST(a_receive_ring_gives_back_what_it_took)
{
	struct desc_ring r;
	ring_init(&r);
	desc_ring_fill(&r);
	CHECK_EQ_U(desc_ring_in_flight(&r), SLOTS - 1);
	CHECK_EQ_U(desc_ring_slot(&r, r.prod), SLOTS - 1);   /* RDT: all but one */
	r.cons += 5;                                          /* five frames taken */
	desc_ring_fill(&r);
	CHECK(desc_ring_full(&r));
	/* The tail stands on the last slot taken: the device may fill up to it. */
	CHECK_EQ_U(desc_ring_slot(&r, r.prod), 4);
}

TEST(counts_wrap_at_two_to_the_32)
{
	struct desc_ring r;
	ring_init(&r);
	r.prod = r.cons = UINT32_MAX - 2;
	for (unsigned i = 0; i < SLOTS - 1; i++) {
		CHECK(!desc_ring_full(&r));
		r.prod++;
	}
	CHECK(desc_ring_full(&r));
	CHECK_EQ_U(desc_ring_in_flight(&r), SLOTS - 1);
	CHECK_EQ_U(desc_ring_slot(&r, r.prod), 4);   /* (2^32 - 3 + 7) mod 8 */
	r.cons = r.prod;
	CHECK_EQ_U(desc_ring_in_flight(&r), 0);
}

int main(void)
{
	return run_tests();
}
