"""Ferry's console on a slow serial line (issue 12, item 3).

Emulators' UARTs are instant, so a console that waited on the UART inside a VM exit looked
fine in every test while a guest's 4096-newline PRINT froze a real host for seconds. Here
QEMU's serial port drains at SLOW_LINE bytes a second (harness/slow_serial.py: the 16550
holds THRE clear until the line has taken its bytes), and a guest floods the console
without pause. Ferry must keep answering commands, keep other guests running, drop the
flood's excess with a count and a notice, and carry on once the flooder is gone.
One boot under QEMU/AMD-V (marker qemu).
"""
import re

import pytest

from harness.machine import FerryMachine, backend_emulator

SLOW_LINE = 2000   # bytes a second: about 19200 baud, slower than any console Ferry is run on
SLOW = 180


def exits(m, name):
    return int(re.search(r"exits: total=(\d+)", m.cmd(f"vminfo {name}", timeout=SLOW)).group(1))


@pytest.mark.qemu
def test_a_flood_on_a_slow_line_freezes_neither_ferry_nor_its_guests(built):
    with FerryMachine(emulator=backend_emulator("svm"), name="slowline",
                      serial_bytes_per_s=SLOW_LINE) as m:
        m.wait_prompt(timeout=300)
        m.cmd("create cnt counter memory=16", timeout=SLOW)
        m.expect(r"\[cnt\] counter 1\n", timeout=SLOW)
        m.cmd('create fl hostile memory=16 args="mode=flood"', timeout=SLOW)
        m.expect(r"console: guest fl: \d+ lines \(\d+ bytes\) dropped; `console fl` has them",
                 timeout=SLOW)
        # Every command is answered, and the other guest runs on between them.
        seen = [exits(m, "cnt") for _ in range(3)]
        assert seen == sorted(seen) and seen[0] < seen[-1], seen
        assert re.search(r"^fl\s+\d+\s+running", m.cmd("list", timeout=SLOW), re.M)
        info = m.cmd("vminfo fl", timeout=SLOW)
        assert int(re.search(r"console: dropped_lines=(\d+)", info).group(1)) > 0, info
        assert "guest fl: created" in m.cmd("dmesg", timeout=SLOW)
        # The flooder gone, the counter's lines come through again, in order and without gaps.
        m.cmd("destroy fl", timeout=SLOW)
        last = int(m.expect(r"\[cnt\] counter (\d+)\n", timeout=SLOW).group(1))
        nxt = int(m.expect(r"\[cnt\] counter (\d+)\n", timeout=SLOW).group(1))
        assert nxt == last + 1
        assert "\x1b]52" not in m.text() and "\x07" not in m.text()
