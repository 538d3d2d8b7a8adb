/* Host tests of the output ring (kernel/log_ring.c). */
#include "check.h"
#include "kernel/log_ring.h"

TEST(read_back_in_order)
{
	char storage[16], out[32];
	struct log_ring r;
	uint64_t pos = 0;

	log_ring_init(&r, storage, sizeof(storage));
	log_ring_write(&r, "hello ", 6);
	log_ring_write(&r, "world", 5);
	size_t n = log_ring_read(&r, &pos, out, sizeof(out));
	out[n] = '\0';
	CHECK_STR(out, "hello world");
	CHECK_EQ_U(pos, 11);
	CHECK_EQ_U(log_ring_read(&r, &pos, out, sizeof(out)), 0);
}

TEST(overwrites_oldest_and_reader_catches_up)
{
	char storage[8], out[32];
	struct log_ring r;
	uint64_t pos = 0;

	log_ring_init(&r, storage, sizeof(storage));
	log_ring_write(&r, "0123456789", 10);
	CHECK_EQ_U(log_ring_oldest(&r), 2);
	size_t n = log_ring_read(&r, &pos, out, sizeof(out));
	out[n] = '\0';
	CHECK_STR(out, "23456789");
	log_ring_write(&r, "abc", 3);
	n = log_ring_read(&r, &pos, out, sizeof(out));
	out[n] = '\0';
	CHECK_STR(out, "abc");
}

TEST(huge_write_keeps_the_tail)
{
	char storage[4], out[8];
	struct log_ring r;
	uint64_t pos = 0;

	log_ring_init(&r, storage, sizeof(storage));
	log_ring_write(&r, "abcdefghij", 10);
	CHECK_EQ_U(r.written, 10);
	size_t n = log_ring_read(&r, &pos, out, 2);
	CHECK_EQ_U(n, 2);
	CHECK(out[0] == 'g' && out[1] == 'h');
	n = log_ring_read(&r, &pos, out, 8);
	CHECK_EQ_U(n, 2);
	CHECK(out[0] == 'i' && out[1] == 'j');
}

int main(void)
{
	return run_tests();
}
