"""The Linux guest on a Ferry host, driven through `console NAME` (an interactive attach).

    shell = GuestShell(machine, "lx")
    shell.attach()                       # `console lx`, then a fresh busybox prompt
    out = shell.run("uname -r")          # the command's output, without echo and prompt
    shell.detach()                       # Ctrl-], back at `ferry> `

run() ends each command with `echo __FERRY_DONE_$((N + 1))__`: the typed line holds the
expression, only the output holds its value, so the end is found without mistaking the
echo for it. Guest bytes reach the console rendered (kernel/lib/guest_text.c, terminal mode):
busybox's cursor queries show as `^[[6n`, which clean() drops.
"""
import re
import time


CTRL_BRACKET = b"\x1d"   # Ctrl-]: detach
READY = r"ferry-guest: ready"
CURSOR_QUERY = re.compile(r"\^\[\[6n")


def clean(text):
    return CURSOR_QUERY.sub("", text).replace("\r", "")


class GuestShell:
    def __init__(self, machine, name):
        self.m = machine
        self.name = name
        self.n = 0

    def create(self, args="", timeout=900):
        """Creates the Linux guest and waits for its /init to say ready; returns the create output."""
        start = len(self.m.output)
        out = self.m.cmd(f"create {self.name} linux{(' ' + args) if args else ''}", timeout=120)
        self.m.search(r"\[%s\] %s" % (re.escape(self.name), READY), start, timeout)
        return out

    def attach(self, timeout=120):
        self.m.send_raw(f"console {self.name}\r".encode())
        self.m.expect(r"\[attached to %s: Ctrl-\] detaches\]" % re.escape(self.name), timeout)
        self.run("true", timeout)   # a fresh prompt, and the shell answers

    def run(self, command, timeout=120):
        """Types `command` into the guest's shell; returns what it printed."""
        self.n += 1
        marker = f"__FERRY_DONE_{self.n + 1000}__"
        joiner = " " if command.rstrip().endswith("&") else "; "   # `cmd &; echo` is not sh
        typed = f"{command}{joiner}echo __FERRY_DONE_$(({self.n} + 1000))__"
        begin = len(self.m.output)
        self.m.send_raw(typed.encode() + b"\r")
        end = self.m.search(re.escape(marker), begin, timeout)
        self.m.read_pos = end.end()
        # The output starts after the last echo of the typed line (busybox may redraw it).
        echoed = self.m.output.rfind(f"$(({self.n} + 1000))__".encode(), begin, end.start())
        start = echoed + len(f"$(({self.n} + 1000))__") if echoed >= 0 else begin
        return clean(self.m.output[start:end.start()].decode("latin-1")).strip("\n")

    def timed(self, command, timeout=120):
        """run(), and the host's seconds from the Enter key to the end marker."""
        t0 = time.monotonic()
        out = self.run(command, timeout)
        return out, time.monotonic() - t0

    def send(self, line):
        """Types a line without waiting (for commands that end the shell or the guest)."""
        self.m.send_raw(line.encode() + b"\r")

    def detach(self, timeout=60):
        self.m.send_raw(CTRL_BRACKET)
        self.m.expect(r"\[detached: Ctrl-\]\]", timeout)
        self.m.expect(re.escape("ferry> "), timeout)
