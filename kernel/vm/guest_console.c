/* A guest's console lines on Ferry's console; see guest_console.h. */
#include "kernel/vm/guest_console.h"
#include "kernel/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/guest_text.h"
#include "kernel/vm/vm_internal.h"

#include <string.h>

#define LINE_PREFIX_MAX (VM_NAME_MAX + 3)   /* "[NAME] " */
#define RENDERED_MAX    (VDEV_UART_LINE_MAX * GUEST_TEXT_MAX_EXPANSION)

/* The UART model's line callback: one `[NAME] line` for Ferry's console. */
static void print_guest_line(void *ctx, const char *line, size_t len)
{
	static char text[LINE_PREFIX_MAX + RENDERED_MAX + 2];
	struct vm *vm = ctx;

	/* A flooding guest's lines are counted, not rendered: the exit stays short. */
	if (console_drop_if_full(&vm->console, len + 1, 1))
		return;
	size_t n = fmt_snprintf(text, sizeof(text), "[%s] ", vm->name);

	n += guest_text_render_line((const uint8_t *)line, len, text + n, sizeof(text) - n - 1);
	text[n++] = '\n';
	console_emit(&vm->console, text, n);
}

void guest_console_init(struct vm *vm)
{
	fmt_snprintf(vm->console_name, sizeof(vm->console_name), "guest %s", vm->name);
	fmt_snprintf(vm->console_where, sizeof(vm->console_where), "`console %s`", vm->name);
	console_source_init(&vm->console, vm->console_name, vm->console_where,
			    GUEST_CONSOLE_BYTES_PER_S, GUEST_CONSOLE_BURST_BYTES);
	vdev_uart_init(&vm->uart, print_guest_line, vm);
}

void guest_console_fini(struct vm *vm)
{
	console_source_release(&vm->console);
}
