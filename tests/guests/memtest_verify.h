/*
 * A stamped page checked inside a test guest (memtest, witness): a bad page is
 * reported on the console as `WHO CORRUPT page=... gpa=... word=... expected=...
 * found=...` (the line tests look for) and repaired with the same generation, so that
 * one corruption is one line. Guest-side only: the host unit test uses memtest.h.
 */
#ifndef FERRY_GUEST_MEMTEST_VERIFY_H
#define FERRY_GUEST_MEMTEST_VERIFY_H

#include <stdbool.h>

#include "guest_rt.h"
#include "memtest.h"

/* words: the page at guest-physical page_gpa. Returns true when the page was corrupt. */
static inline bool memtest_verify_page(const char *who, volatile uint64_t *words, uint64_t page_gpa,
				       uint32_t page, uint64_t gen)
{
	uint64_t bad = memtest_check(words, page, gen);

	if (bad == MEMTEST_PAGE_WORDS)
		return false;
	guest_printf("%s CORRUPT page=%u gpa=0x%lx word=%lu expected=0x%lx found=0x%lx\n",
		     who, page, (unsigned long)(page_gpa + bad * sizeof(uint64_t)), (unsigned long)bad,
		     (unsigned long)memtest_expected(page, gen, bad), (unsigned long)words[bad]);
	memtest_stamp(words, page, gen);
	return true;
}

#endif
