/*
 * A guest's console as Ferry shows it. Each line the guest's UART model
 * completes (kernel/vdev/uart.c: THR writes and the PRINT hypercall) becomes
 * `[NAME] line` on Ferry's console, its bytes rendered by guest_text_render()
 * (kernel/lib/guest_text.h: control bytes, escape sequences and bidi overrides
 * shown, never sent), and charged to the guest's own console source
 * (kernel/console.h): GUEST_CONSOLE_BYTES_PER_S with bursts of
 * GUEST_CONSOLE_BURST_BYTES. Lines over it are dropped from Ferry's console and
 * counted (`vminfo`'s console line); the guest's ring keeps them for `console
 * NAME`, and the next line that passes says how many were left out.
 *
 * The cost of a guest's output is charged to its slice: the lines are rendered
 * and queued inside the guest's own VM exit (an OUT to THR, a PRINT), which
 * vm_run_slice() counts against the slice's deadline, and queueing never waits
 * for the UART; the line itself is sent later by the console's drain poller.
 * Image only (the pieces are portable: the renderer, the console, the UART model).
 */
#ifndef FERRY_VM_GUEST_CONSOLE_H
#define FERRY_VM_GUEST_CONSOLE_H

#include <stddef.h>

struct vm;

#define GUEST_CONSOLE_BYTES_PER_S 4096
#define GUEST_CONSOLE_BURST_BYTES 16384

/* Sets up vm's console source (after its name is set) and attaches its UART model's lines. */
void guest_console_init(struct vm *vm);
/* Before vm's slot is reused: its lines still queued are charged to nobody. */
void guest_console_fini(struct vm *vm);

#endif
