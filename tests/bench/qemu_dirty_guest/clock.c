/* TSC calibration against PIT channel 2, whose output is readable in port 0x61. */
#include "clock.h"
#include "port_io.h"

#define PIT_HZ               1193182u
#define PIT_CHANNEL2_DATA    0x42
#define PIT_COMMAND          0x43
/* Command: channel 2, lobyte then hibyte, mode 0 (interrupt on terminal count), binary. */
#define PIT_CMD_CH2_MODE0    0xB0
#define SYSTEM_CONTROL_B     0x61
#define CONTROL_B_GATE2      0x01 /* gate of channel 2 */
#define CONTROL_B_SPEAKER    0x02 /* speaker data enable: kept off */
#define CONTROL_B_OUT2       0x20 /* channel 2's output, read-only */

#define CALIBRATION_PER_SECOND 20u /* a 50 ms window */

uint64_t clock_div_u64_u32(uint64_t numerator, uint32_t divisor)
{
	uint32_t high = (uint32_t)(numerator >> 32);
	uint32_t low = (uint32_t)numerator;
	uint32_t quotient_high = high / divisor;
	uint32_t remainder = high % divisor;
	uint32_t quotient_low;
	/* remainder < divisor, so the 64/32 divide cannot overflow. */
	__asm__("divl %2" : "=a"(quotient_low), "+d"(remainder) : "rm"(divisor), "a"(low));
	return ((uint64_t)quotient_high << 32) | quotient_low;
}

uint64_t clock_calibrate_tsc_hz(void)
{
	uint16_t count = (uint16_t)(PIT_HZ / CALIBRATION_PER_SECOND);
	uint8_t control = inb(SYSTEM_CONTROL_B);

	outb(SYSTEM_CONTROL_B, (uint8_t)((control & ~(CONTROL_B_SPEAKER | CONTROL_B_GATE2))));
	outb(PIT_COMMAND, PIT_CMD_CH2_MODE0);
	outb(PIT_CHANNEL2_DATA, (uint8_t)(count & 0xFF));
	outb(PIT_CHANNEL2_DATA, (uint8_t)(count >> 8));
	/* Raising the gate starts the count; OUT2 goes high when it reaches zero. */
	outb(SYSTEM_CONTROL_B, (uint8_t)((control & ~CONTROL_B_SPEAKER) | CONTROL_B_GATE2));
	uint64_t start = rdtsc();
	while (!(inb(SYSTEM_CONTROL_B) & CONTROL_B_OUT2))
		;
	uint64_t elapsed = rdtsc() - start;
	outb(SYSTEM_CONTROL_B, (uint8_t)(control & ~(CONTROL_B_SPEAKER | CONTROL_B_GATE2)));
	return elapsed * CALIBRATION_PER_SECOND;
}
