"""Live migration of a running Linux guest between Ferry hosts (issue 14), on the AMD-V lab.

Two Ferry hosts under QEMU TCG (AMD-V, docs/svm.md), A (198.18.0.10, tap0) and B
(198.18.0.11, tap1), boot build/esp-linux.img; A creates the Linux guest `lx` (128 MiB)
and, through `console lx`, starts two background jobs in its shell (harness/linux_guest.py):

  - a counter printing `ferry-counter N UPTIME` once a guest second: after each move the
    numbers go on with no jump or repeat and the guest's uptime keeps rising;
  - a tmpfs writer filling /tmp/w with 256 KiB files of random bytes, each named by its
    SHA-1 (a file is renamed into place only once written); the verifier, run on the host
    where the guest is, stops the writer, recomputes every file's sum against its name,
    and lets it go on.

The guest moves A -> B -> A; on each host its shell answers, the files verify, the
writer goes on, and dmesg has no timer complaints. Then the two faults of
tests/test_migration.py with this guest: a destination killed during pre-copy, and B's
link cut as stop-and-copy starts; either way the guest runs on exactly one host, A.

Bochs/VT-x is not used here: a Linux boot there takes minutes and the migration engine's
VT-x path is covered by tests/test_migration.py (docs/testing.md says what runs where).
Needs root (the network lab).
"""
import contextlib
import os
import re
import signal
import subprocess

import pytest

from harness.linux_guest import GuestShell
from harness.machine import backend_emulator
from harness.migration import KEY, guests, parse_report, settled, wait_output
from harness.netlab import NetLab, netlab_available
from harness.paths import BUILD, ROOT, linux_guest_missing

AVAILABLE, WHY = netlab_available()
ESP_LINUX = os.path.join(BUILD, "esp-linux.img")
pytestmark = [pytest.mark.netlab, pytest.mark.qemu,
              pytest.mark.skipif(not AVAILABLE, reason=WHY),
              pytest.mark.skipif(linux_guest_missing() is not None, reason=str(linux_guest_missing()))]

BACKEND = os.environ.get("FERRY_LINUX_MIGRATION_BACKEND", "svm")
SLOWER = 4 if BACKEND == "vmx" else 1   # Bochs: a Linux boot and each move take minutes
# Bochs' link carries about 1.4 MB/s: 17 pages fit 50 ms, while the writer (and the kernel
# under it) dirtied 80-240 pages a round even throttled to 95% (the maximum then); downtime=
# gives the move a target that link can meet.
MIGRATE_OPTIONS = " downtime=500" if BACKEND == "vmx" else ""
BOOT_S = 300 * SLOWER
SLOW = 300 * SLOWER
STALL_S = 30                 # engine.h MIG_DEFAULT_REPLY_TIMEOUT_MS, in Ferry's clock
STALL_WAIT_S = 4 * STALL_S   # wall seconds: busy emulators run Ferry's clock slow
HOST_MIB = 512
# `[lx] ` when detached; bare while `console lx` shows the guest's bytes (then a line may land
# inside a typed one: the pattern does not anchor at a line start).
COUNTER = re.compile(r"ferry-counter (\d+) (\d+\.\d+)\r?\n")
TIMER_COMPLAINTS = ("clocksource watchdog", "rcu_sched detected stall", "RCU stall", "detected stalls on CPUs",
                    "watchdog: BUG", "Call Trace", "unchecked MSR access", "TSC found unstable")

START_COUNTER = ("(i=0; while true; do i=$((i + 1)); echo \"ferry-counter $i $(cut -d' ' -f1 /proc/uptime)\"; "
                 "sleep 1; done) &")
START_WRITER = ("(mkdir -p /tmp/w; n=0; while true; do n=$((n + 1)); "
                "dd if=/dev/urandom of=/tmp/w/tmp bs=4k count=64 2>/dev/null; "
                "h=$(sha1sum /tmp/w/tmp | cut -c1-40); rm -f /tmp/w/*.$((n % 32)); "
                "mv /tmp/w/tmp /tmp/w/$h.$((n % 32)); echo $n > /tmp/wn; done) &")
# The writer stopped while its files are read (it replaces them), and a second for what it
# had started to finish; then it goes on.
VERIFY = ("kill -STOP $(cat /tmp/wpid); sleep 1; ok=0; bad=0; for f in /tmp/w/*.*; do "
          "h=$(sha1sum $f | cut -c1-40); "
          "case ${f#/tmp/w/} in $h.*) ok=$((ok + 1));; *) bad=$((bad + 1));; esac; done; "
          "kill -CONT $(cat /tmp/wpid); echo \"verify ok=$ok bad=$bad written=$(cat /tmp/wn)\"")


# The AMD-V lab by default; FERRY_LINUX_MIGRATION_BACKEND=vmx (BACKEND above) runs the same
# cases between two Bochs hosts by hand (tens of minutes: docs/testing.md).
@contextlib.contextmanager
def linux_host(lab, index):
    with lab.ferry(index, emulator=backend_emulator(BACKEND), esp=ESP_LINUX, memory_mib=HOST_MIB,
                   extra_config="migration_key = %s\n" % KEY) as m:
        m.wait_prompt(timeout=BOOT_S)
        yield m


@pytest.fixture(scope="module")
def lab(built):
    subprocess.run(["make", "-s", "-C", ROOT, "esp-linux"], check=True)
    with NetLab() as lab:
        with linux_host(lab, 0) as a, linux_host(lab, 1) as b:
            lab.a, lab.b = a, b
            shell = GuestShell(a, "lx")
            shell.create(timeout=BOOT_S)
            shell.attach()
            shell.run(START_COUNTER)
            shell.run(START_WRITER)
            shell.run("echo $! > /tmp/wpid")
            shell.detach()
            wait_output(a, r"\[lx\] ferry-counter \d+ ", 0, timeout=SLOW)
            yield lab


# What `console lx` shows of the guest's recent output before it attaches was seen before
# (whole lines only: the unfinished one is the live view's); only a line logged there as it
# came (`[lx] ...`) is new.
REPLAY = re.compile(r"console lx\r?\n.*?\[attached to lx: Ctrl-\] detaches\]", re.S)
# While attached the guest's bytes show raw; a line belongs to the view in which it ends
# (kernel/vm/vm.h). A detach in mid-line leaves the line's start on the terminal right
# before the marker, and the line is printed whole as `[lx] ...` when it ends: the cut
# start is not a line of its own.
CUT_BY_DETACH = re.compile(r"(^|\n)[^\r\n]+\r?\n(?=\[detached: )")


def _live_lines_only(replay):
    return "\n".join(line for line in replay.group(0).split("\n") if line.startswith("[lx] ")) + "\n"


def counters(m, start=0, end=None):
    text = m.text(start) if end is None else m.text(start)[:end - start]
    text = CUT_BY_DETACH.sub(r"\1", REPLAY.sub(_live_lines_only, text))
    return [(int(n), float(u)) for n, u in COUNTER.findall(text)]


def answer(out, pattern):
    """`pattern` on a line of its own in a command's output (counter lines may sit around it)."""
    return re.search(r"^%s$" % pattern, out, re.M)


def verify(m):
    """Attaches to lx on `m`, checks the shell, the files and dmesg; detaches. Returns the writer's count."""
    shell = GuestShell(m, "lx")
    shell.attach()
    out = shell.run("echo $((6 * 7))")
    assert answer(out, "42"), out
    out = shell.run(VERIFY)
    found = answer(out, r"verify ok=(\d+) bad=(\d+) written=(\d+)")
    assert found and int(found.group(1)) > 0 and found.group(2) == "0", out
    dmesg = shell.run("dmesg")
    for bad in TIMER_COMPLAINTS:
        assert bad not in dmesg, f"{bad!r} in dmesg on {m.name}:\n{dmesg[-4000:]}"
    shell.detach()
    return int(found.group(3))


def move(src, dest, dest_ip):
    dest_start = len(dest.output)
    out = src.cmd("migrate lx %s%s" % (dest_ip, MIGRATE_OPTIONS), timeout=SLOW)
    settled(dest, "lx", dest_start, timeout=SLOW)
    report = parse_report(out)
    if report["outcome"] == "failed" and "TSC runs at" in report["reason"]:
        # The refusal the platform requires (docs/linux-guest.md, "Migration"): the lab's
        # two hosts calibrated their TSCs more than 0.5% apart, which a loaded machine
        # does to QEMU hosts. The guest must run on where it was.
        assert guests(src).get("lx") == "running" and "lx" not in guests(dest), out
        pytest.skip("the hosts' calibrated TSC rates differ beyond the tolerance: " + report["reason"])
    assert report["outcome"] == "completed", out
    print(f"{src.name} -> {dest.name}: rounds={report['rounds']} "
          f"downtime_source_ms={report.get('downtime_source_ms')} total_bytes={report.get('total_bytes')}")
    assert guests(dest).get("lx") == "running", dest.cmd("list")
    assert "lx" not in guests(src), src.cmd("list")
    return dest_start


def assert_counter_continues(lines):
    """Counter lines across hosts: 1, 2, 3, ... with no jump or repeat; uptime rising."""
    numbers = [n for n, _ in lines]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), lines
    uptimes = [u for _, u in lines]
    gaps = [b - a for a, b in zip(uptimes, uptimes[1:])]
    assert all(0 < g < 30 for g in gaps), gaps


def test_a_running_linux_guest_moves_to_b_and_back(lab):
    a, b = lab.a, lab.b
    written_a = verify(a)
    b_start = move(a, b, lab.host_ip(1))
    wait_output(b, r"\[lx\] ferry-counter \d+ ", b_start, timeout=SLOW)
    written_b = verify(b)
    assert written_b > written_a, (written_a, written_b)   # the writer goes on on B
    assert "ferry-guest: init" not in b.text(b_start)      # resumed, not booted again
    wait_output(b, r"\[lx\] ferry-counter \d+ [^\n]*\n[^\n]*\[lx\] ferry-counter \d+ ", b_start, timeout=SLOW)

    a_start = move(b, a, lab.host_ip(0))
    wait_output(a, r"\[lx\] ferry-counter \d+ ", a_start, timeout=SLOW)
    written_back = verify(a)
    assert written_back > written_b, (written_b, written_back)
    on_a_before, on_b, on_a_after = counters(a, 0, a_start), counters(b, b_start), counters(a, a_start)
    assert on_a_before and len(on_b) >= 2 and on_a_after, (on_a_before, on_b, on_a_after)
    assert_counter_continues(on_a_before + on_b + on_a_after)


def stop_counter_check(m, start):
    """The counter goes on on `m` from `start` on, at least two more lines."""
    wait_output(m, r"\[lx\] ferry-counter \d+ [^\n]*\n(?:[^\n]*\n)*?[^\n]*\[lx\] ferry-counter \d+ ",
                start, timeout=SLOW)


@pytest.mark.long
def test_destination_killed_during_precopy_leaves_the_guest_on_a(lab):
    a = lab.a
    begin = len(a.output)
    with linux_host(lab, 5) as victim:
        start = len(a.output)
        a.send_raw(b"migrate lx %s bandwidth=1\r" % lab.host_ip(5).encode())
        wait_output(a, r"migrate: lx round=0 remaining=\d+", start, timeout=SLOW)
        wait_output(victim, r"incoming migration of lx \(128 MiB\): accepted", 0, timeout=60)
        os.killpg(victim.proc.pid, signal.SIGKILL)
        wait_output(a, r"migration lx: failed: [^\n]*\n", start, timeout=STALL_WAIT_S)
        wait_output(a, r"guest lx runs here\n", start, timeout=60)
        a.wait_prompt(timeout=30)
    assert guests(a).get("lx") == "running", a.cmd("list")
    assert "logging=no" in a.cmd("vminfo lx")
    verify(a)
    stop_counter_check(a, len(a.output))
    assert "lx" not in guests(lab.b)
    assert_counter_continues(counters(a, begin))


@pytest.mark.long
def test_link_cut_during_stop_and_copy_leaves_the_guest_on_a(lab):
    """A 20 s downtime target at 2 MB/s: stop-and-copy carries the writer's dirty pages for
    seconds; B's link is cut as it starts. READY cannot have come, so A resumes the guest."""
    a, b = lab.a, lab.b
    a_start, b_start = len(a.output), len(b.output)
    a.send_raw(b"migrate lx %s downtime=20000 bandwidth=2\r" % lab.host_ip(1).encode())
    wait_output(a, r"migration lx: stop-and-copy, \d+ pages", a_start, timeout=SLOW)
    with lab.link_cut("tap1"):
        wait_output(a, r"migration lx: (failed|in-doubt)[^\n]*\n", a_start, timeout=STALL_WAIT_S)
        end = wait_output(a, r"guest lx (runs here|is paused here[^\n]*)\n", a_start, timeout=60)
        wait_output(b, r"migration lx: failed: [^\n]*", b_start, timeout=STALL_WAIT_S)
    a.wait_prompt(timeout=30)
    assert "guest lx runs here" in end.group(0).decode(), end.group(0)
    assert guests(a).get("lx") == "running", a.cmd("list")
    assert "lx" not in guests(b), b.cmd("list")
    verify(a)
    stop_counter_check(a, len(a.output))
    assert_counter_continues(counters(a, a_start))
