/* The interactive `console NAME`; see console_attach.h. */
#include "kernel/shell/console_attach.h"
#include "kernel/console.h"
#include "kernel/console_input.h"
#include "kernel/shell/shell.h"

#include <string.h>

#define TYPED_QUEUE_BYTES 256   /* typed bytes waiting for room in the guest's FIFO */
#define OUTPUT_CHUNK      256   /* guest bytes rendered per turn (a turn stays short) */
#define RENDER_MAX        5     /* "\xNN", or CR LF */
#define ASCII_DEL         0x7f
#define ASCII_CARET_BASE  0x40  /* ^@ for 0x00, ^[ for 0x1B */
#define ASCII_ESC         0x1b
#define BYTES_PER_POLL    64    /* typed bytes taken per turn, as the shell takes them */

static struct {
	bool active;
	struct vm *vm;
	unsigned id;               /* the guest's id: a slot reused by another guest is not it */
	uint64_t pos;              /* how far its output has been shown */
	char prev;                 /* the last byte rendered (a CR before an LF) */
	uint8_t typed[TYPED_QUEUE_BYTES];
	size_t typed_head, typed_count;
} attach;

size_t console_render_guest_bytes(const char *in, size_t len, char *out, size_t cap, char *prev)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (size_t i = 0; i < len && n + RENDER_MAX <= cap; *prev = in[i], i++) {
		uint8_t c = (uint8_t)in[i];
		if (c == '\n' && *prev != '\r')
			out[n++] = '\r';   /* a bare LF (an ELF test guest's) starts a line too */
		if ((c >= ' ' && c < ASCII_DEL) || c == '\r' || c == '\n' || c == '\t' || c == '\b') {
			out[n++] = (char)c;
		} else if (c < ' ' || c == ASCII_DEL) {
			out[n++] = '^';
			out[n++] = c == ASCII_DEL ? '?' : (char)(c + ASCII_CARET_BASE);
		} else {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 0xf];
		}
	}
	return n;
}

static bool still_there(void)
{
	struct vm_info info;

	if (vm_find(vm_name(attach.vm)) != attach.vm)
		return false;
	vm_get_info(attach.vm, &info);
	return info.id == attach.id;
}

static void detach(const char *why)
{
	if (still_there())
		vm_console_set_attached(attach.vm, false);
	attach.active = false;
	kprintf("\n[detached: %s]\n", why);
	console_puts(SHELL_PROMPT);
}

void console_attach(struct vm *vm)
{
	struct vm_info info;

	vm_get_info(vm, &info);
	memset(&attach, 0, sizeof(attach));
	attach.vm = vm;
	attach.id = info.id;
	attach.pos = vm_console_position(vm);
	attach.active = true;
	vm_console_set_attached(vm, true);
	kprintf("[attached to %s: Ctrl-] detaches]\n", vm_name(vm));
}

bool console_attach_active(void)
{
	return attach.active;
}

/* Typed bytes into the queue (Ctrl-] detaches), then as many as fit into the guest. */
static bool take_input(void)
{
	uint8_t byte;

	for (int i = 0; i < BYTES_PER_POLL && attach.typed_count < TYPED_QUEUE_BYTES && console_read_byte(&byte); i++) {
		if (byte == CONSOLE_DETACH_BYTE)
			return false;
		attach.typed[(attach.typed_head + attach.typed_count) % TYPED_QUEUE_BYTES] = byte;
		attach.typed_count++;
	}
	while (attach.typed_count && vm_console_write(attach.vm, attach.typed[attach.typed_head])) {
		attach.typed_head = (attach.typed_head + 1) % TYPED_QUEUE_BYTES;
		attach.typed_count--;
	}
	return true;
}

static void show_output(void)
{
	static char raw[OUTPUT_CHUNK], shown[OUTPUT_CHUNK * RENDER_MAX];
	size_t n = vm_console_read(attach.vm, &attach.pos, raw, sizeof(raw));

	if (n)
		console_write_raw(shown, console_render_guest_bytes(raw, n, shown, sizeof(shown), &attach.prev));
}

void console_attach_poll(void)
{
	if (!attach.active)
		return;
	if (!still_there()) {
		detach("the guest is gone");
		return;
	}
	show_output();
	if (!take_input())
		detach("Ctrl-]");
}
