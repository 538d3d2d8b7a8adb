/* The interactive `console NAME`; see console_attach.h. */
#include "kernel/shell/console_attach.h"
#include "kernel/console.h"
#include "kernel/console_input.h"
#include "kernel/shell/shell.h"

#include <string.h>

#define TYPED_QUEUE_BYTES 256   /* typed bytes waiting for room in the guest's FIFO */
#define OUTPUT_CHUNK      256   /* guest bytes rendered per turn (a turn stays short) */
#define BYTES_PER_POLL    64    /* typed bytes taken per turn, as the shell takes them */

static struct {
	bool active;
	struct vm *vm;
	unsigned id;               /* the guest's id: a slot reused by another guest is not it */
	uint64_t pos;              /* how far its output has been shown */
	struct guest_terminal out; /* its bytes rendered (a UTF-8 sequence may span turns) */
	uint8_t typed[TYPED_QUEUE_BYTES];
	size_t typed_head, typed_count;
} attach;

static void flush(struct guest_terminal *t)
{
	if (t->len)
		console_write_raw(t->buf, t->len);
	t->len = 0;
}

/* Rendered guest bytes to the operator, raw, gathered so the console takes them in runs;
 * a bare LF (an ELF test guest's) gets a CR before it. In GUEST_TEXT_TERMINAL mode a CR
 * in the rendered text is the guest's own. */
static void terminal_sink(void *ctx, const char *s, size_t len)
{
	struct guest_terminal *t = ctx;

	for (size_t i = 0; i < len; t->prev = s[i], i++) {
		if (t->len + 2 > sizeof(t->buf))
			flush(t);
		if (s[i] == '\n' && t->prev != '\r')
			t->buf[t->len++] = '\r';
		t->buf[t->len++] = s[i];
	}
}

void guest_terminal_init(struct guest_terminal *t)
{
	guest_text_init(&t->text, GUEST_TEXT_TERMINAL);
	t->prev = '\n';
	t->len = 0;
}

void guest_terminal_show(struct guest_terminal *t, const char *bytes, size_t len)
{
	guest_text_render(&t->text, (const uint8_t *)bytes, len, terminal_sink, t);
	flush(t);
}

void guest_terminal_finish(struct guest_terminal *t)
{
	guest_text_finish(&t->text, terminal_sink, t);
	flush(t);
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
	guest_terminal_finish(&attach.out);
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
	guest_terminal_init(&attach.out);
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
	static char raw[OUTPUT_CHUNK];
	size_t n = vm_console_read(attach.vm, &attach.pos, raw, sizeof(raw));

	guest_terminal_show(&attach.out, raw, n);
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
