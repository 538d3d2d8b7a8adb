/* Test-guest runtime (contract in guest_rt.h). */
#include <stdarg.h>

#include "guest_rt.h"

#define UART_LSR_OFFSET 5
#define UART_LSR_THR_EMPTY (1u << 5)
/* A UART that never reports ready must not hang the guest: give up waiting after this. */
#define UART_READY_SPINS 100000

const struct ferry_boot_params *boot_params;
int hypercall_is_vmmcall;

/* CPUID leaf 0 vendor strings (EBX, EDX, ECX) of the CPUs whose virtualization is SVM. */
#define VENDOR_AMD_EBX   0x68747541u   /* "Auth" */
#define VENDOR_AMD_EDX   0x69746e65u   /* "enti" */
#define VENDOR_AMD_ECX   0x444d4163u   /* "cAMD" */
#define VENDOR_HYGON_EBX 0x6f677948u   /* "Hygo" */
#define VENDOR_HYGON_EDX 0x6e65476eu   /* "nGen" */
#define VENDOR_HYGON_ECX 0x656e6975u   /* "uine" */

/* Entry (docs/guest-abi.md): RSI = boot parameters, RSP = top of the stack. */
__asm__(".section .text.start, \"ax\"\n"
	".globl _start\n"
	"_start:\n"
	"	mov %rsi, %rdi\n"
	"	and $-16, %rsp\n"
	"	call guest_rt_start\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n"
	".text\n");

void guest_rt_start(const struct ferry_boot_params *bp);
static int vendor_uses_svm(void)
{
	uint32_t eax, ebx, ecx, edx;

	__asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0), "c"(0));
	return (ebx == VENDOR_AMD_EBX && edx == VENDOR_AMD_EDX && ecx == VENDOR_AMD_ECX) ||
	       (ebx == VENDOR_HYGON_EBX && edx == VENDOR_HYGON_EDX && ecx == VENDOR_HYGON_ECX);
}

const char *hypercall_instruction(void)
{
	return hypercall_is_vmmcall ? "vmmcall" : "vmcall";
}

void guest_rt_start(const struct ferry_boot_params *bp)
{
	boot_params = bp;
	hypercall_is_vmmcall = vendor_uses_svm();
	guest_main();
	guest_halt();
}

void guest_halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void *memset(void *dst, int c, size_t n)
{
	volatile uint8_t *d = dst;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	volatile uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

void uart_putc(char c)
{
	for (int spins = 0; spins < UART_READY_SPINS; spins++)
		if (inb(FERRY_UART_PORT + UART_LSR_OFFSET) & UART_LSR_THR_EMPTY)
			break;
	outb(FERRY_UART_PORT, (uint8_t)c);
}

void uart_puts(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

static void put_number(uint64_t v, unsigned base, int negative, int width, char pad)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (negative)
		digits[n++] = '-';
	while (width-- > n)
		uart_putc(pad);
	while (n)
		uart_putc(digits[--n]);
}

void guest_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			uart_putc(*fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		int width = 0, is_long = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == 'l') {
			is_long = 1;
			fmt++;
		}
		switch (*fmt) {
		case 'u':
			put_number(is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10, 0, width, pad);
			break;
		case 'x':
			put_number(is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, 0, width, pad);
			break;
		case 'd': {
			long v = is_long ? va_arg(ap, long) : va_arg(ap, int);
			put_number(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10, v < 0, width, pad);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			uart_puts(s ? s : "(null)");
			break;
		}
		case 'c':
			uart_putc((char)va_arg(ap, int));
			break;
		case '%':
			uart_putc('%');
			break;
		default:
			uart_putc('?');
			if (!*fmt)
				fmt--;
			break;
		}
	}
	va_end(ap);
}

int arg_get(const char *key, char *out, size_t out_size)
{
	const char *p = boot_params->cmdline;
	size_t key_len = strlen(key);
	const char *end = p + FERRY_CMDLINE_MAX;

	while (p < end && *p) {
		while (p < end && *p == ' ')
			p++;
		const char *word = p;
		while (p < end && *p && *p != ' ')
			p++;
		size_t word_len = (size_t)(p - word);
		if (word_len > key_len && word[key_len] == '=') {
			size_t i = 0;
			for (; i < key_len && word[i] == key[i]; i++)
				;
			if (i == key_len) {
				size_t n = 0;
				for (const char *v = word + key_len + 1; v < p && n + 1 < out_size; v++)
					out[n++] = *v;
				if (out_size)
					out[n] = '\0';
				return 1;
			}
		}
	}
	return 0;
}

uint64_t arg_u64(const char *key, uint64_t fallback)
{
	char text[32];
	uint64_t v = 0;
	unsigned base = 10;
	const char *p = text;

	if (!arg_get(key, text, sizeof(text)) || !text[0])
		return fallback;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (; *p; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return fallback;
		v = v * base + d;
	}
	return v;
}

int arg_is(const char *key, const char *value, int fallback_if_absent)
{
	char text[32];

	if (!arg_get(key, text, sizeof(text)))
		return fallback_if_absent;
	size_t i = 0;
	for (; value[i] && text[i] == value[i]; i++)
		;
	return value[i] == '\0' && text[i] == '\0';
}
