/*
 * `console NAME` as an interactive attach, like `virsh console`: the bytes typed go to
 * the guest's serial port (its UART's receive FIFO) and the bytes it sends come back,
 * until Ctrl-] (0x1D) detaches and the `ferry> ` prompt returns. While attached the
 * shell's poller hands its turn to console_attach_poll() (kernel/shell/shell.c), so the
 * line editor sees nothing.
 *
 * Guest bytes are rendered for the operator's terminal by the one renderer,
 * guest_text_render() in GUEST_TEXT_TERMINAL mode (kernel/lib/guest_text.h: CR, LF, TAB,
 * BS and printable text pass, everything else is shown inert); a bare LF gets a CR
 * before it. Typed bytes wait in a queue while the guest's FIFO is full: none is dropped. The attach ends by itself when the guest is destroyed. Image only.
 */
#ifndef FERRY_SHELL_CONSOLE_ATTACH_H
#define FERRY_SHELL_CONSOLE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include "kernel/lib/guest_text.h"
#include "kernel/vm/vm.h"

#define CONSOLE_DETACH_BYTE 0x1d   /* Ctrl-] */

/* Attaches the console to vm (prints a header line first). */
void console_attach(struct vm *vm);
bool console_attach_active(void);
/* One turn: typed bytes to the guest, the guest's bytes to the console. */
void console_attach_poll(void);

/* A stream of guest bytes shown on the operator's terminal (the attach, and the
 * `console NAME` dump before it). */
struct guest_terminal {
	struct guest_text text;
	char prev;   /* the last byte shown: a bare LF gets a CR */
	char buf[256];   /* rendered, not yet written */
	size_t len;
};
void guest_terminal_init(struct guest_terminal *t);
void guest_terminal_show(struct guest_terminal *t, const char *bytes, size_t len);
/* Ends the stream (an unfinished UTF-8 sequence shown as "\xHH"). */
void guest_terminal_finish(struct guest_terminal *t);

#endif
