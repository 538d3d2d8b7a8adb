"""Ferry boots under UEFI in QEMU and Bochs and its console shell behaves (issue: boot)."""
import glob
import os
import random
import re

import pytest

from harness.machine import FerryMachine
from harness.paths import DEBUG_ESP_IMAGE, ROOT

BAD_CONFIG = """\
hostname = lab-a
colour = blue
this line is not a pair
migration_port = 70000
migration_key = 0123456789abcdef
"""

FEATURES = ("vmx", "ept", "ept_ad", "pml", "unrestricted", "vpid", "preemption_timer")
SVM_FEATURES = ("svm", "npt", "nrips", "decode_assists", "flush_by_asid", "vmcb_clean", "avic")


DEBUG_COMMANDS_SOURCE = os.path.join("kernel", "shell", "cmd_debug.c")   # the debug image's only


def commands_in_source(debug=False):
    """Every command name declared in a shell table anywhere in the sources (with the debug
    image's commands when debug is set)."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, "*", "**", "*.c"), recursive=True):
        if "/build/" in path or "/tests/" in path:
            continue
        if not debug and path.endswith(DEBUG_COMMANDS_SOURCE):
            continue
        text = open(path, encoding="latin-1").read()
        for table in re.finditer(r"struct shell_command \w+\[\] = \{(.*?)\n\};", text, re.S):
            names.update(re.findall(r'^\s*\{ "([a-z][a-z0-9-]*)",', table.group(1), re.M))
    return names


def features(info_text):
    line = re.search(r"^features: (.*)$", info_text, re.M).group(1)
    return dict(pair.split("=") for pair in line.split())


@pytest.fixture(scope="module")
def bochs(built):
    with FerryMachine(emulator="bochs", config_text=BAD_CONFIG, name="bochs") as m:
        m.wait_prompt(timeout=240)
        yield m


@pytest.fixture(scope="module")
def qemu(built):
    with FerryMachine(emulator="qemu", config_text=BAD_CONFIG, name="qemu") as m:
        m.wait_prompt(timeout=120)
        yield m


@pytest.mark.bochs
def test_bochs_info_reports_vtx_features(bochs):
    out = bochs.cmd("info")
    f = features(out)
    assert f["vendor"] == "intel", out
    for name in FEATURES:
        assert f[name] == "yes", out
    mem = dict(re.findall(r"(\w+_kib)=(\d+)", out))
    assert 0 < int(mem["free_kib"]) <= int(mem["total_kib"]), out
    assert 0 < int(mem["ferry_kib"]) < int(mem["total_kib"]), out
    assert "host: name=lab-a " in out


@pytest.mark.bochs
def test_bochs_help_lists_every_command(bochs):
    out = bochs.cmd("help")
    listed = set(re.findall(r"^  ([a-z][a-z0-9-]*) ", out, re.M))
    declared = commands_in_source()
    assert declared, "no command tables found in the sources"
    assert declared == listed, f"declared but not listed: {declared - listed}; " \
                               f"listed but not declared: {listed - declared}"
    for name in sorted(listed):
        usage = bochs.cmd(f"help {name}")
        assert usage.startswith(f"usage: {name}"), usage


@pytest.mark.bochs
def test_bochs_config_problems_are_reported_with_line_numbers(bochs):
    log = bochs.cmd("dmesg")
    assert "warning: ferry.cfg line 2: unknown key 'colour' ignored" in log
    assert "error: ferry.cfg line 3: expected 'key = value'" in log
    assert "error: ferry.cfg line 4: migration_port must be a number from 1 to 65535" in log
    # The good lines around the bad ones still took effect.
    assert "host lab-a: migration port 8002" in log
    assert "sets no migration_key" not in log
    assert "boot: leaving boot services" in log


@pytest.mark.bochs
def test_bochs_errors_for_unknown_commands_and_bad_arguments(bochs):
    assert bochs.cmd("frobnicate now").strip() == "error: unknown command 'frobnicate' (try help)"
    assert bochs.cmd("version extra").strip() == "usage: version"
    assert bochs.cmd("help nosuch").strip() == "error: unknown command 'nosuch' (try help)"
    assert bochs.cmd('help "unterminated').strip() == "error: unterminated quote"
    assert re.match(r"ferry version=\S+ git=\S+", bochs.cmd("version").strip())


@pytest.mark.bochs
def test_bochs_console_survives_garbage(bochs):
    rng = random.Random(2026)
    garbage = bytes(rng.randrange(256) for _ in range(16384))
    bochs.send_raw(garbage)
    bochs.send_raw(b"x" * 5000 + b"\r")                  # a line far over the limit
    bochs.send_raw(b"he\x00\x00lp\x01\x02 version\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\r")
    bochs.send_raw(b"\x1b[99;99" + b"\x15")               # an unfinished escape, then Ctrl-U
    bochs.expect(r"line too long \(at most 255 characters\); ignored", timeout=120)
    out = bochs.cmd("version", timeout=120)
    assert "ferry version=" in out
    assert "features:" in bochs.cmd("info")


@pytest.mark.bochs
def test_bochs_shutdown_powers_off(bochs):
    bochs.shutdown(timeout=120)
    assert bochs.powered_off_cleanly(), (bochs.exit_status, bochs.emulator_log())


@pytest.mark.qemu
def test_qemu_default_cpu_has_svm_without_nested_paging(qemu):
    # QEMU's default CPU (qemu64, AMD vendor) offers SVM but not NPT: Ferry says why no guest runs.
    f = features(qemu.cmd("info"))
    assert list(f) == ["vendor", *SVM_FEATURES], f
    assert f["vendor"] == "amd" and f["svm"] == "yes" and f["npt"] == "no", f
    assert "svm: guests cannot run on this host: the CPU lacks nested paging" in qemu.cmd("dmesg")


@pytest.mark.qemu
def test_qemu_mem_accounts_for_every_owner(qemu):
    out = qemu.cmd("mem")
    totals = dict(re.findall(r"(\w+_kib)=(\d+)", out))
    rows = {m[0]: int(m[1]) for m in re.findall(r"^\s*([\w-]+)\s+(\d+)\s+\d+\s*$", out, re.M)}
    assert "ferry" in rows, out
    assert int(totals["free_kib"]) < int(totals["total_kib"])
    # Every frame in use is charged to a registered owner: none is unaccounted for.
    used = int(totals["total_kib"]) - int(totals["free_kib"])
    assert sum(rows.values()) == used, out


@pytest.mark.qemu
def test_qemu_help_and_shutdown(qemu):
    help_text = qemu.cmd("help")
    assert "shutdown" in help_text
    # The production image cannot be made to fault on purpose: `crash` is in the debug image only.
    assert "crash" not in help_text
    assert "crash" in qemu.cmd("crash null")   # an unknown command, answered, and Ferry runs on
    assert "shutdown" in qemu.cmd("help")
    qemu.shutdown()
    assert qemu.powered_off_cleanly()


@pytest.mark.qemu
@pytest.mark.parametrize("kind,report", [
    ("null", r"exception 14 \(#PF page fault\).*\npage fault at 0x0 \(not present, read\)"),
    ("write-code", r"exception 14 \(#PF page fault\).*\npage fault at 0x\w+ \(protection, write\)"),
    ("exec-data", r"exception 14 \(#PF page fault\).*\npage fault at 0x\w+ \(protection, fetch\)"),
    ("stack", r"exception 8 \(#DF double fault\).*\nstack overflow: the boot stack ran into its guard page"),
    ("panic", r"FERRY PANIC: crash command: a deliberate panic"),
])
def test_qemu_crash_report(built, kind, report):
    with FerryMachine(emulator="qemu", name=f"crash-{kind}", esp=DEBUG_ESP_IMAGE) as m:
        m.wait_prompt(timeout=120)
        m.send_raw(f"crash {kind}\r".encode())
        m.expect(report, timeout=60)
        m.expect(r"rax=[0-9a-f]{16} rbx=[0-9a-f]{16}", timeout=30)
        m.expect(r"cr0=[0-9a-f]{16} cr2=[0-9a-f]{16}", timeout=30)
        m.expect(r"backtrace.*\n  #0  0x[0-9a-f]+ \(ferry\.efi\+0x[0-9a-f]+\)\n  #1 ", timeout=30)
        m.expect(r"Ferry stopped\.", timeout=30)
