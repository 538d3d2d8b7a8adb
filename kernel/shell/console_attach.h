/*
 * `console NAME` as an interactive attach, like `virsh console`: the bytes typed go to
 * the guest's serial port (its UART's receive FIFO) and the bytes it sends come back,
 * until Ctrl-] (0x1D) detaches and the `ferry> ` prompt returns. While attached the
 * shell's poller hands its turn to console_attach_poll() (kernel/shell/shell.c), so the
 * line editor sees nothing.
 *
 * Guest bytes are rendered safely for the operator's terminal: printable ASCII and the
 * bytes a terminal session needs (CR, LF, TAB, BS) pass; other control bytes show in
 * caret notation (ESC as ^[, so no escape sequence reaches the terminal raw; DEL as ^?)
 * and bytes from 0x80 as \xNN; a bare LF gets a CR before it. Typed bytes wait in a queue while the guest's FIFO is
 * full: none is dropped. The attach ends by itself when the guest is destroyed. Image only.
 */
#ifndef FERRY_SHELL_CONSOLE_ATTACH_H
#define FERRY_SHELL_CONSOLE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include "kernel/vm/vm.h"

#define CONSOLE_DETACH_BYTE 0x1d   /* Ctrl-] */

/* Attaches the console to vm (prints a header line first). */
void console_attach(struct vm *vm);
bool console_attach_active(void);
/* One turn: typed bytes to the guest, the guest's bytes to the console. */
void console_attach_poll(void);

/* Renders guest bytes into out (cap bytes; up to 4 for each byte in, so it stops early
 * when cap is short); *prev is the byte before in[0] and is updated. Returns the length. */
size_t console_render_guest_bytes(const char *in, size_t len, char *out, size_t cap, char *prev);

#endif
