/* Host tests of the physical frame allocator (kernel/frame_alloc.c). */
#include "check.h"
#include "kernel/lib/errors.h"
#include "kernel/frame_alloc.h"

#define FRAMES 4096
static uint64_t bitmap[FRAMES / 64];

static void setup(struct frame_allocator *fa)
{
	frame_alloc_init(fa, bitmap, FRAMES);
	frame_alloc_add_region(fa, 0, 256);                    /* frame 0 is never offered */
	frame_alloc_add_region(fa, 1024 * FRAME_SIZE, 1024);
	frame_alloc_add_region(fa, 3000 * FRAME_SIZE, 5000);   /* runs past the covered range */
}

TEST(regions_counted)
{
	struct frame_allocator fa;

	setup(&fa);
	CHECK_EQ_U(fa.total_frames, 255 + 1024 + (FRAMES - 3000));
	CHECK_EQ_U(fa.free_frames, fa.total_frames);
	CHECK(!frame_is_free(&fa, 0));
	CHECK(frame_is_free(&fa, FRAME_SIZE));
	CHECK(!frame_is_free(&fa, 256 * FRAME_SIZE));
	CHECK(!frame_is_free(&fa, (uint64_t)FRAMES * FRAME_SIZE));
	/* Adding a region twice does not count it twice. */
	frame_alloc_add_region(&fa, 1024 * FRAME_SIZE, 10);
	CHECK_EQ_U(fa.total_frames, 255 + 1024 + (FRAMES - 3000));
}

TEST(alloc_free_accounting)
{
	struct frame_allocator fa;
	struct frame_owner guest = { .name = "guest" }, ferry = { .name = "ferry" };
	uint64_t a, b;

	setup(&fa);
	uint64_t free0 = fa.free_frames;
	CHECK_EQ_U(frame_alloc(&fa, &guest, 100, 1, &a), 0);
	CHECK_EQ_U(frame_alloc(&fa, &ferry, 3, 1, &b), 0);
	CHECK(a != 0 && b != 0);
	CHECK(b >= a + 100 * FRAME_SIZE || b + 3 * FRAME_SIZE <= a);
	CHECK_EQ_U(guest.frames, 100);
	CHECK_EQ_U(ferry.frames, 3);
	CHECK_EQ_U(fa.free_frames, free0 - 103);
	for (uint64_t f = 0; f < 100; f++)
		CHECK(!frame_is_free(&fa, a + f * FRAME_SIZE));

	CHECK_EQ_U(frame_free(&fa, &guest, a, 100), 0);
	CHECK_EQ_U(guest.frames, 0);
	CHECK_EQ_U(guest.peak_frames, 100);
	CHECK_EQ_U(fa.free_frames, free0 - 3);
	CHECK_EQ_U(frame_free(&fa, &ferry, b, 3), 0);
	CHECK_EQ_U(fa.free_frames, free0);
}

TEST(double_free_and_bad_frees_refused)
{
	struct frame_allocator fa;
	struct frame_owner o = { .name = "o" }, other = { .name = "other" };
	uint64_t a;

	setup(&fa);
	CHECK_EQ_U(frame_alloc(&fa, &o, 4, 1, &a), 0);
	CHECK_EQ_I(frame_free(&fa, &other, a, 4), FERR_INVAL);   /* holds nothing */
	CHECK_EQ_I(frame_free(&fa, &o, a + 1, 1), FERR_INVAL);   /* unaligned */
	CHECK_EQ_I(frame_free(&fa, &o, a, 0), FERR_INVAL);
	CHECK_EQ_U(frame_free(&fa, &o, a, 4), 0);
	uint64_t free_now = fa.free_frames;
	CHECK_EQ_I(frame_free(&fa, &o, a, 4), FERR_INVAL);       /* double free */
	CHECK_EQ_U(fa.free_frames, free_now);
	CHECK_EQ_I(frame_free(&fa, &o, (uint64_t)FRAMES * FRAME_SIZE, 1), FERR_INVAL);
	CHECK_EQ_I(frame_free(&fa, &o, UINT64_MAX & ~(FRAME_SIZE - 1), 2), FERR_INVAL);
}

TEST(alignment_and_exhaustion)
{
	struct frame_allocator fa;
	struct frame_owner o = { .name = "o" };
	uint64_t a;

	setup(&fa);
	CHECK_EQ_U(frame_alloc(&fa, &o, 512, 512, &a), 0);
	CHECK_EQ_U(a % (512 * FRAME_SIZE), 0);
	CHECK_EQ_I(frame_alloc(&fa, &o, 1, 3, &a), FERR_INVAL);   /* not a power of two */
	CHECK_EQ_I(frame_alloc(&fa, &o, 0, 1, &a), FERR_INVAL);
	/* No run of 1500 contiguous frames exists, though more than 1500 are free. */
	CHECK(fa.free_frames > 1500);
	CHECK_EQ_I(frame_alloc(&fa, &o, 1500, 1, &a), FERR_NOMEM);
	/* Take everything one frame at a time, then fail cleanly. */
	uint64_t n = fa.free_frames;
	for (uint64_t i = 0; i < n; i++)
		CHECK_EQ_U(frame_alloc(&fa, &o, 1, 1, &a), 0);
	CHECK_EQ_U(fa.free_frames, 0);
	CHECK_EQ_I(frame_alloc(&fa, &o, 1, 1, &a), FERR_NOMEM);
}

TEST(claim_specific_frames)
{
	struct frame_allocator fa;
	struct frame_owner o = { .name = "o" };
	uint64_t a;

	setup(&fa);
	CHECK_EQ_U(frame_alloc_claim(&fa, &o, 1100 * FRAME_SIZE, 10), 0);
	CHECK_EQ_I(frame_alloc_claim(&fa, &o, 1105 * FRAME_SIZE, 10), FERR_INVAL);
	CHECK_EQ_I(frame_alloc_claim(&fa, &o, 300 * FRAME_SIZE, 1), FERR_INVAL);
	CHECK_EQ_U(o.frames, 10);
	for (int i = 0; i < 200; i++) {
		CHECK_EQ_U(frame_alloc(&fa, &o, 7, 1, &a), 0);
		CHECK(a + 7 * FRAME_SIZE <= 1100 * FRAME_SIZE || a >= 1110 * FRAME_SIZE);
	}
}

TEST(random_alloc_free_keeps_counts_consistent)
{
	struct frame_allocator fa;
	struct frame_owner o = { .name = "o" };
	struct { uint64_t phys, frames; } held[64];
	int count = 0;
	unsigned seed = 99;

	setup(&fa);
	uint64_t free0 = fa.free_frames;
	for (int step = 0; step < 20000; step++) {
		seed = seed * 1103515245u + 12345u;
		if (count < 64 && (seed >> 20) % 2) {
			uint64_t frames = 1 + (seed >> 8) % 40, phys;
			if (frame_alloc(&fa, &o, frames, 1ull << ((seed >> 4) % 4), &phys) == 0) {
				held[count].phys = phys;
				held[count].frames = frames;
				count++;
			}
		} else if (count) {
			int i = (int)((seed >> 8) % (unsigned)count);
			CHECK_EQ_U(frame_free(&fa, &o, held[i].phys, held[i].frames), 0);
			held[i] = held[--count];
		}
		uint64_t in_use = 0;
		for (int i = 0; i < count; i++)
			in_use += held[i].frames;
		if (fa.free_frames + in_use != free0 || o.frames != in_use) {
			CHECK(false);
			break;
		}
	}
}

int main(void)
{
	return run_tests();
}
