"""Runs the test guests (tests/guests/) on the host, without VMX, through
build/host/guest_runner (tests/tools/guest_runner.c): the guest runs in user mode in a
ptrace'd child with its RAM at identity addresses, and the runner emulates port I/O,
VMCALL hypercalls, CR reads, LIDT/IRETQ and exception delivery through the guest's IDT.
This checks the guests' own logic and output formats (docs/guest-abi.md) before they
meet Ferry.
"""
import os
import re
import subprocess

import pytest

from harness.paths import BUILD

RUNNER = os.path.join(BUILD, "host", "guest_runner")
GUESTS = ["counter", "memtest", "wild", "vmxinsn", "triplefault", "ioflood"]
EXIT_GUEST_FAULT = 3
EXIT_TRIPLE_FAULT = 4
VMX_INSTRUCTIONS = ["vmxon", "vmclear", "vmptrld", "vmptrst", "vmread", "vmwrite",
                    "vmlaunch", "vmresume", "vmxoff", "invept", "invvpid"]
SVM_INSTRUCTIONS = ["vmrun", "vmload", "vmsave", "stgi", "clgi", "skinit", "invlpga"]
VIRT_INSTRUCTIONS = VMX_INSTRUCTIONS + SVM_INSTRUCTIONS


def host_hypercall_instruction():
    """What the guests' runtime picks on this host's CPU: VMMCALL on AMD and Hygon."""
    with open("/proc/cpuinfo") as f:
        vendor = re.search(r"^vendor_id\s*:\s*(\S+)", f.read(), re.M).group(1)
    return "vmmcall" if vendor in ("AuthenticAMD", "HygonGenuine") else "vmcall"


def run_guest(name, *options, time_limit=None, timeout=60):
    argv = [RUNNER, os.path.join(BUILD, "guests", name + ".elf"), *options]
    if time_limit:
        argv.append(f"time_limit={time_limit}")
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                            start_new_session=True)
    return result.returncode, result.stdout.splitlines(), result.stdout + result.stderr


@pytest.mark.parametrize("name", GUESTS)
def test_every_guest_image_loads(built, name):
    _, lines, output = run_guest(name, time_limit=1)
    assert any(line.startswith("runner: loaded entry=0x100000 ") for line in lines), output


def test_counter_counts_up_once_per_interval(built):
    rc, lines, output = run_guest("counter", "args=interval_ms=100", time_limit=2)
    assert rc == 0 and lines[-1] == "runner: time limit", output
    counts = [int(m.group(1)) for m in map(re.compile(r"^counter (\d+)$").match, lines) if m]
    # 2 s at 100 ms: the first line at once, then one per interval (never more).
    assert counts == list(range(1, len(counts) + 1)), output
    assert 3 <= len(counts) <= 22, output


MEMTEST_OK = re.compile(r"^memtest ok gen=(\d+) pages=(\d+) written=(\d+) passes=(\d+) corrupt=(\d+)$")
MEMTEST_WROTE = re.compile(r"^memtest wrote first=(\d+) count=(\d+)$")
MEMTEST_START = re.compile(r"^memtest start base=0x([0-9a-f]+) pages=(\d+) rate=(\d+)$")


def test_memtest_reports_its_writes_exactly(built):
    rc, lines, output = run_guest("memtest", "args=mib=1 rate=100 report_writes=1", time_limit=5)
    assert rc == 0, output
    assert not any("CORRUPT" in line for line in lines), output
    start = [MEMTEST_START.match(line) for line in lines if MEMTEST_START.match(line)]
    assert len(start) == 1 and int(start[0].group(2)) == 256, output
    pages = 256
    cursor, total = 0, pages           # the first fill wrote every page once
    oks = 0
    for i, line in enumerate(lines):
        wrote = MEMTEST_WROTE.match(line)
        if wrote:
            # Each range starts where the previous one ended (mod pages).
            assert int(wrote.group(1)) == cursor, output
            count = int(wrote.group(2))
            cursor = (cursor + count) % pages
            total += count
            ok = MEMTEST_OK.match(lines[i + 1])
            assert ok, output
            gen, ok_pages, written, passes, corrupt = map(int, ok.groups())
            assert (ok_pages, written, corrupt) == (pages, total, 0), output
            assert gen == 1 + written // pages, output   # the sweep being written now
            assert passes >= 1, output
            oks += 1
    assert oks >= 3, output
    assert total > pages, output        # rewriting went on


def test_memtest_detects_injected_corruption(built):
    # Page 5, byte 0x40 (word 8) of the memtest area, 1.5 s in.
    rc, lines, output = run_guest("memtest", "args=mib=1 rate=20", "corrupt_ms=1500",
                                  "corrupt_offset=0x5040", time_limit=4)
    assert rc == 0, output
    injected = [re.match(r"^runner: corrupted gpa=0x([0-9a-f]+)$", line) for line in lines]
    injected = [int(m.group(1), 16) for m in injected if m]
    base = int([MEMTEST_START.match(line) for line in lines if MEMTEST_START.match(line)][0].group(1), 16)
    assert injected == [base + 0x5040], output
    corrupt = [line for line in lines if line.startswith("memtest CORRUPT ")]
    assert len(corrupt) == 1, output
    assert re.match(rf"^memtest CORRUPT page=5 gpa=0x{base + 0x5040:x} word=8 "
                    r"expected=0x[0-9a-f]+ found=0x[0-9a-f]+$", corrupt[0]), output
    expected, found = (int(v, 16) for v in re.findall(r"=0x([0-9a-f]+)", corrupt[0])[1:])
    assert expected ^ found == 0xffffffffffffffff, output    # the runner flipped every bit
    last_ok = [MEMTEST_OK.match(line) for line in lines if MEMTEST_OK.match(line)][-1]
    assert int(last_ok.group(5)) == 1, output


def test_memtest_rejects_an_area_larger_than_ram(built):
    rc, lines, output = run_guest("memtest", "args=mib=32", "ram_mib=8", time_limit=5)
    assert any(re.match(r"^memtest error: mib=32 does not fit \(free \d+ MiB, at most 32\)$", line)
               for line in lines), output
    assert lines[-1] == "runner: guest halted", output


@pytest.mark.parametrize("mode", ["read", "write"])
def test_wild_touches_far_outside_ram(built, mode):
    rc, lines, output = run_guest("wild", f"args=mode={mode}", time_limit=5)
    assert f"wild: touching 0xc0000000 mode={mode}" in lines, output
    assert rc == EXIT_GUEST_FAULT and re.match(r"^runner: guest fault sig=11 rip=0x[0-9a-f]+ addr=0xc0000000$",
                                               lines[-1]), output
    assert not any("survived" in line for line in lines), output


def test_ioflood_counts_all_ones_reads(built):
    rc, lines, output = run_guest("ioflood", "args=count=100000", time_limit=50, timeout=90)
    assert rc == 0, output
    # Half the accesses are reads of unknown ports, and those read all ones.
    assert "ioflood n=100000 ones=50000" in lines, output
    assert "ioflood done n=100000 ones=50000" in lines, output


def test_vmxinsn_survives_each_faulting_instruction(built):
    # At CPL 3 on the host every VMX and SVM instruction faults (#UD, or #GP for some on
    # hosts with VMX or SVM on); the guest's handlers must report each one and resume after it.
    rc, lines, output = run_guest("vmxinsn", time_limit=10)
    assert rc == 0, output
    body = [line for line in lines if line.startswith("vmxinsn: ")]
    assert body[0] == "vmxinsn: start", output
    for name, line in zip(VIRT_INSTRUCTIONS, body[1:]):
        assert re.match(rf"^vmxinsn: #(UD|GP) on {name}$", line), output
    # The control- and debug-register checks follow: the runner ignores CR writes and
    # faults DR moves, so only Ferry gives them meaning (tests/test_vmx.py checks them).
    hypercall = host_hypercall_instruction()
    assert body[-2] == f"vmxinsn: {hypercall} 999 -> -6", output   # FERR_NOTSUP
    assert body[-1] == "vmxinsn: done", output
    assert lines[-1] == "runner: guest halted", output


def test_triplefault_triple_faults(built):
    rc, lines, output = run_guest("triplefault", time_limit=5)
    assert "triplefault: ud2 with an empty IDT" in lines, output
    assert rc == EXIT_TRIPLE_FAULT and re.match(r"^runner: triple fault vector=6 rip=0x[0-9a-f]+$", lines[-1]), output
    assert not any("survived" in line for line in lines), output
