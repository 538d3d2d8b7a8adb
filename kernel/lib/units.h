/*
 * Units of time and size, one home for each: nanoseconds per second and their
 * kin, KiB/MiB/GiB, and the 4 KiB page that x86 paging, EPT/NPT, the frame
 * allocator and the migration stream all count in.
 */
#ifndef FERRY_LIB_UNITS_H
#define FERRY_LIB_UNITS_H

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull
#define US_PER_MS 1000ull
#define US_PER_S  1000000ull
#define MS_PER_S  1000ull

#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define MIB_SHIFT 20

/* Decimal units for rates (MB/s in reports, as network people count). */
#define KB_DECIMAL 1000ull
#define MB_DECIMAL 1000000ull

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1ull << PAGE_SHIFT)
#define PAGE_MASK  (PAGE_SIZE - 1)

#endif
