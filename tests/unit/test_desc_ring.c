/* Descriptor ring index arithmetic (drivers/desc_ring.h). */
#include "check.h"
#include "drivers/desc_ring.h"

TEST(next_and_prev_wrap)
{
	CHECK_EQ_U(ring_next(0, 8), 1);
	CHECK_EQ_U(ring_next(7, 8), 0);
	CHECK_EQ_U(ring_prev(0, 8), 7);
	CHECK_EQ_U(ring_prev(5, 8), 4);
}

TEST(used_and_free_keep_one_slot_empty)
{
	CHECK_EQ_U(ring_used(0, 0, 8), 0);
	CHECK_EQ_U(ring_free(0, 0, 8), 7);
	CHECK_EQ_U(ring_used(5, 2, 8), 3);
	CHECK_EQ_U(ring_used(1, 6, 8), 3);     /* wrapped */
	CHECK_EQ_U(ring_free(1, 6, 8), 4);
	CHECK(ring_full(7, 0, 8));
	CHECK(ring_full(2, 3, 8));
	CHECK(!ring_full(3, 3, 8));
}

TEST(filling_a_ring_stops_one_short)
{
	unsigned head = 5, tail = 5, filled = 0;
	while (!ring_full(head, tail, 256)) {
		head = ring_next(head, 256);
		filled++;
	}
	CHECK_EQ_U(filled, 255);
	CHECK_EQ_U(ring_used(head, tail, 256), 255);
	CHECK_EQ_U(ring_free(head, tail, 256), 0);
}

int main(void)
{
	return run_tests();
}
