/* PIT channel 0 as a periodic interrupt: the IDT, the 8259 PIC pair and the PIT. */
#include "ticker.h"
#include "port_io.h"

#define PIT_HZ              1193182u
#define PIT_CHANNEL0_DATA   0x40
#define PIT_COMMAND         0x43
/* Command: channel 0, lobyte then hibyte, mode 2 (rate generator), binary. */
#define PIT_CMD_CH0_MODE2   0x34

#define PIC1_COMMAND        0x20
#define PIC1_DATA           0x21
#define PIC2_COMMAND        0xA0
#define PIC2_DATA           0xA1
#define PIC_ICW1_INIT_ICW4  0x11
#define PIC_ICW4_8086       0x01
#define PIC_CASCADE_IRQ     2
#define PIC1_VECTOR_BASE    0x20 /* past the CPU exceptions */
#define PIC2_VECTOR_BASE    0x28
#define PIC1_MASK_ALL_BUT_IRQ0 0xFE
#define PIC2_MASK_ALL       0xFF

#define CODE_SELECTOR       0x08 /* entry.S's GDT */
#define GATE_INTERRUPT_32   0x8E /* present, DPL 0, 32-bit interrupt gate */
#define IDT_VECTORS         (PIC1_VECTOR_BASE + 1)

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t zero;
	uint8_t type;
	uint16_t offset_high;
} __attribute__((packed));

struct idt_descriptor {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

volatile uint32_t timer_ticks;
void timer_interrupt(void);

static struct idt_gate idt[IDT_VECTORS];

static void pic_remap_irq0_only(void)
{
	outb(PIC1_COMMAND, PIC_ICW1_INIT_ICW4);
	outb(PIC2_COMMAND, PIC_ICW1_INIT_ICW4);
	outb(PIC1_DATA, PIC1_VECTOR_BASE);
	outb(PIC2_DATA, PIC2_VECTOR_BASE);
	outb(PIC1_DATA, 1u << PIC_CASCADE_IRQ);
	outb(PIC2_DATA, PIC_CASCADE_IRQ);
	outb(PIC1_DATA, PIC_ICW4_8086);
	outb(PIC2_DATA, PIC_ICW4_8086);
	outb(PIC1_DATA, PIC1_MASK_ALL_BUT_IRQ0);
	outb(PIC2_DATA, PIC2_MASK_ALL);
}

void ticker_start(uint32_t hz)
{
	uint32_t handler = (uint32_t)(uintptr_t)timer_interrupt;
	struct idt_gate *gate = &idt[PIC1_VECTOR_BASE];
	gate->offset_low = (uint16_t)handler;
	gate->selector = CODE_SELECTOR;
	gate->type = GATE_INTERRUPT_32;
	gate->offset_high = (uint16_t)(handler >> 16);
	struct idt_descriptor descriptor = { sizeof(idt) - 1, (uint32_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(descriptor));

	pic_remap_irq0_only();
	uint16_t divisor = (uint16_t)(PIT_HZ / hz);
	outb(PIT_COMMAND, PIT_CMD_CH0_MODE2);
	outb(PIT_CHANNEL0_DATA, (uint8_t)(divisor & 0xFF));
	outb(PIT_CHANNEL0_DATA, (uint8_t)(divisor >> 8));
	__asm__ volatile("sti");
}
