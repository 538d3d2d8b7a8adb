"""Guests under each CPU virtualization backend (issues: VT-x with EPT; AMD-V with NPT).

The same checks run on every backend configuration: VT-x under Bochs (or QEMU+KVM with
nested VMX), AMD-V under QEMU TCG with the NPT dirty bits (npt-ad), and AMD-V again with
write-protect dirty tracking (npt-wp, ferry.cfg `svm_dirty`), which cross-checks the two
ways of finding written pages against what memtest says it wrote. One boot per
configuration serves every check (a module-scoped machine): a counter guest runs
throughout and each later check also proves that it keeps counting.
"""
import re
import time

import pytest

from harness.machine import FerryMachine, backend_emulator

SLOW = 240   # seconds: Bochs runs guests slowly


class Backend:
    """What a configuration runs on and what its console says where the backends differ."""

    def __init__(self, name, backend, dirty_mode, hypercall, violation, config=None):
        self.name = name
        self.backend = backend
        self.dirty_mode = dirty_mode      # `dirty NAME mode=`
        self.hypercall = hypercall        # the guests' hypercall instruction (vminfo exits, vmxinsn)
        self.violation = violation        # how a guest access outside its RAM is reported
        self.config = config              # ferry.cfg text, or None for the default


CONFIGS = [
    pytest.param(Backend("vmx", "vmx", "pml", "vmcall", "EPT violation"), id="vmx",
                 marks=pytest.mark.bochs),
    pytest.param(Backend("svm", "svm", "npt-ad", "vmmcall", "nested page fault"), id="svm",
                 marks=pytest.mark.qemu),
    pytest.param(Backend("svm-wp", "svm", "npt-wp", "vmmcall", "nested page fault",
                         config="svm_dirty = npt-wp\n"), id="svm-wp", marks=pytest.mark.qemu),
]


@pytest.fixture(scope="module", params=CONFIGS)
def ferry(request, built):
    b = request.param
    with FerryMachine(emulator=backend_emulator(b.backend), name=b.name, memory_mib=256,
                      config_text=b.config) as m:
        m.wait_prompt(timeout=300)
        m.b = b
        yield m


def free_kib(m):
    return int(re.search(r"free_kib=(\d+)", m.cmd("mem")).group(1))


def counts(m, name, start=0):
    return [int(n) for n in re.findall(r"\[%s\] counter (\d+)\n" % re.escape(name), m.text(start))]


def wait_count_above(m, name, value, timeout=SLOW):
    """Waits until guest `name` printed a counter line above `value`; returns that number."""
    deadline = time.monotonic() + timeout
    while True:
        m.expect(r"\[%s\] counter (\d+)\n" % re.escape(name), timeout=max(1, deadline - time.monotonic()))
        last = counts(m, name)[-1]
        if last > value:
            return last


def assert_counter_healthy(m, name="cnt"):
    seen = counts(m, name)
    assert seen == list(range(1, len(seen) + 1)), f"counter lines have gaps or repeats: {seen[-20:]}"
    wait_count_above(m, name, seen[-1])


def test_create_errors_are_clear(ferry):
    assert "error: cannot create 'x': unknown image" in ferry.cmd("create x nosuchimage")
    assert "memory must be a number of MiB from 16 to 1024" in ferry.cmd("create x counter memory=8")
    assert "memory must be a number of MiB" in ferry.cmd("create x counter memory=lots")
    assert "mac must be a unicast address" in ferry.cmd("create x counter mac=01:00:5e:00:00:01")
    assert "mac must be a unicast address" in ferry.cmd("create x counter mac=zz")
    assert "unknown option 'colour=red'" in ferry.cmd("create x counter colour=red")
    assert "not enough free memory" in ferry.cmd("create x counter memory=1024", timeout=SLOW)
    assert ferry.cmd("create").strip().startswith("usage: create NAME IMAGE")
    assert "error: no guest named 'nobody'" in ferry.cmd("destroy nobody")
    assert re.search(r"NAME\s+ID\s+STATE\s+MEM_MIB\s+EXITS", ferry.cmd("list"))


def test_counter_keeps_counting(ferry):
    out = ferry.cmd('create cnt counter memory=16 args="interval_ms=100"', timeout=SLOW)
    assert re.search(r"created cnt id=\d+ memory_mib=16 mac=02:", out), out
    ferry.expect(r"\[cnt\] counter 1\n", timeout=SLOW)
    wait_count_above(ferry, "cnt", 5)
    assert_counter_healthy(ferry)
    # a second create with the same name is refused
    assert "a guest with that name exists" in ferry.cmd("create cnt counter")
    info = ferry.cmd("vminfo cnt")
    assert "state=running" in info and re.search(r"exits: total=\d+ .*%s=\d+" % ferry.b.hypercall, info), info
    assert re.search(r"io: uart_bytes=[1-9]\d*", info), info
    assert "cpuid: leaf1.ecx=" in info


def test_memtest_runs_many_generations_and_two_guests_run_at_once(ferry):
    ferry.cmd('create mt memtest memory=16 args="mib=2 rate=0"', timeout=SLOW)
    ferry.expect(r"\[mt\] memtest start base=0x[0-9a-f]+ pages=512", timeout=SLOW)
    gen = 0
    deadline = time.monotonic() + 2 * SLOW
    while gen < 8 and time.monotonic() < deadline:
        gen = int(ferry.expect(r"\[mt\] memtest ok gen=(\d+) ", timeout=SLOW).group(1))
    assert gen >= 8
    assert "CORRUPT" not in ferry.text()
    listing = ferry.cmd("list")
    assert re.search(r"^cnt\s+\d+\s+running\s+16\s+\d+", listing, re.M), listing
    assert re.search(r"^mt\s+\d+\s+running\s+16\s+\d+", listing, re.M), listing
    assert_counter_healthy(ferry)


def test_pause_stops_output_and_unpause_resumes(ferry):
    assert "paused cnt" in ferry.cmd("pause cnt")
    # Lines the guest made before the pause may still be on their way (or held back while
    # the command was typed): let them arrive first.
    time.sleep(2)
    assert re.search(r"^cnt\s+\d+\s+paused", ferry.cmd("list"), re.M)
    paused_at = len(ferry.output)
    last = counts(ferry, "cnt")[-1]
    time.sleep(8)
    ferry.cmd("list")
    assert counts(ferry, "cnt", paused_at) == [], "a paused guest printed"
    assert "error: 'cnt' is paused" in ferry.cmd("pause cnt")
    resumed_at = len(ferry.output)
    assert "unpaused cnt" in ferry.cmd("unpause cnt")
    wait_count_above(ferry, "cnt", last)
    assert counts(ferry, "cnt", resumed_at)[0] == last + 1
    assert_counter_healthy(ferry)


def wrote_lines(m, name, start, end):
    return [(int(a), int(c)) for a, c in
            re.findall(r"\[%s\] memtest wrote first=(\d+) count=(\d+)\n" % name,
                       m.text(start)[:end - start])]


def dirty_pages(out):
    m = re.search(r"dirty \S+ mode=(\S+) count=(\d+) pages=(\S*)", out)
    assert m, out
    assert "..." not in m.group(3), out
    pages = set()
    for part in filter(None, m.group(3).split(",")):
        a, _, b = part.partition("-")
        pages.update(range(int(a), int(b or a) + 1))
    assert len(pages) == int(m.group(2)), out
    return m.group(1), pages


def test_dirty_agrees_with_memtest_writes(ferry):
    ferry.cmd('create dm memtest memory=16 args="mib=1 rate=20 report_writes=1"', timeout=SLOW)
    start = ferry.expect(r"\[dm\] memtest start base=0x([0-9a-f]+) pages=(\d+) ", timeout=SLOW)
    base_page, area = int(start.group(1), 16) // 4096, int(start.group(2))
    assert "logging=started" in ferry.cmd("dirty dm")
    after_start = len(ferry.output)
    # Guest lines made while the command was typed are shown after it: allow one such line,
    # so the second line after the command was made after the start, and the third line's
    # pages were all written after it.
    for _ in range(3):
        ferry.expect(r"\[dm\] memtest wrote first=\d+ count=\d+\n", timeout=SLOW)
    before_collect = len(ferry.output)
    mode, dirty = dirty_pages(ferry.cmd("dirty dm"))
    assert mode == ferry.b.dirty_mode
    lines = wrote_lines(ferry, "dm", after_start, before_collect)
    (a1, _), (a2, c2) = lines[0], lines[-1]
    assert c2 > 0
    written_after_start = {base_page + (a2 + i) % area for i in range(c2)}
    missing = written_after_start - dirty
    assert not missing, f"pages memtest wrote but dirty did not report: {sorted(missing)[:20]}"
    # Nothing far outside what memtest wrote: its own data and stack lie below the area, and
    # inside the area only pages from the first range shown after the start up to a little
    # past the last one (memtest goes on writing until the second call).
    window = {base_page + (a1 + i) % area for i in range(sum(c for _, c in lines) + 200)}
    stray = {p for p in dirty if p >= base_page and p not in window}
    assert not stray, f"dirty reported area pages memtest did not write: {sorted(stray)[:20]}"
    assert not [p for p in dirty if p >= base_page + area], "pages past the area reported dirty"
    # A quick second call reports only what was written since the last one.
    _, again = dirty_pages(ferry.cmd("dirty dm"))
    assert len(again) < len(dirty) + 50
    assert f"mode={ferry.b.dirty_mode} logging=yes" in ferry.cmd("vminfo dm")
    assert "destroyed dm" in ferry.cmd("destroy dm")


def test_destroy_returns_free_memory(ferry):
    before = free_kib(ferry)
    ferry.cmd('create tmp memtest memory=32 args="mib=1"', timeout=SLOW)
    ferry.expect(r"\[tmp\] memtest start", timeout=SLOW)
    ferry.cmd("dirty tmp")
    assert free_kib(ferry) <= before - 32 * 1024
    assert re.search(r"guest:tmp\s+\d+", ferry.cmd("mem"))
    assert "destroyed tmp" in ferry.cmd("destroy tmp")
    assert free_kib(ferry) == before
    assert "guest:tmp" not in ferry.cmd("mem")
    assert "no guest named 'tmp'" in ferry.cmd("vminfo tmp")


@pytest.mark.parametrize("name,image,args,message", [
    ("wr", "wild", "mode=read", r"guest wr stopped: {violation} at GPA 0xc0000000 \(read\)"),
    ("ww", "wild", "mode=write gpa=0x40000000", r"guest ww stopped: {violation} at GPA 0x40000000 \(write\)"),
    ("tf", "triplefault", "", r"guest tf stopped: triple fault"),
])
def test_hostile_guest_is_stopped_and_others_run_on(ferry, name, image, args, message):
    before = free_kib(ferry)
    ferry.cmd(f'create {name} {image} memory=16 args="{args}"', timeout=SLOW)
    ferry.expect(message.format(violation=ferry.b.violation), timeout=SLOW)
    assert re.search(rf"^{name}\s+\d+\s+stopped", ferry.cmd("list"), re.M)
    info = ferry.cmd(f"vminfo {name}")
    assert "stopped: " in info
    assert f"error: '{name}' is stopped" in ferry.cmd(f"unpause {name}")
    ferry.cmd(f"destroy {name}")
    assert free_kib(ferry) == before
    assert_counter_healthy(ferry)


def test_virtualization_instructions_raise_ud_in_the_guest(ferry):
    ferry.cmd("create vx vmxinsn memory=16", timeout=SLOW)
    ferry.expect(r"\[vx\] vmxinsn: done", timeout=SLOW)
    lines = re.findall(r"\[vx\] vmxinsn: (.*)\n", ferry.text())
    for insn in ("vmxon", "vmclear", "vmptrld", "vmptrst", "vmread", "vmwrite", "vmlaunch",
                 "vmresume", "vmxoff", "invept", "invvpid",
                 "vmrun", "vmload", "vmsave", "stgi", "clgi", "skinit", "invlpga"):
        assert f"#UD on {insn}" in lines, lines
    assert f"{ferry.b.hypercall} 999 -> -6" in lines, lines
    # Control and debug registers: what Ferry hides cannot be turned on; the rest works.
    for bit in ("vmxe", "smxe", "pcide", "osxsave", "pke"):
        assert f"#GP on cr4.{bit}" in lines, lines
    assert "#UD on dr4" in lines and "#GP on dr6.high" in lines, lines
    assert "cr4 pge toggled" in lines and "dr roundtrip ok" in lines, lines
    assert re.search(r"^vx\s+\d+\s+running", ferry.cmd("list"), re.M)
    ferry.cmd("destroy vx")
    assert_counter_healthy(ferry)


def test_io_flood_is_counted_and_contained(ferry):
    ferry.cmd("create io ioflood memory=16", timeout=SLOW)
    ferry.expect(r"\[io\] ioflood n=100000 ones=50000", timeout=2 * SLOW)
    info = ferry.cmd("vminfo io")
    reads = int(re.search(r"other_reads=(\d+)", info).group(1))
    writes = int(re.search(r"other_writes=(\d+)", info).group(1))
    assert reads >= 50000 and writes >= 50000, info
    assert_counter_healthy(ferry)
    ferry.cmd("destroy io")


# ---- a hostile guest kernel (tests/guests/hostile.c) ----------------------------------
SPEC_CTRL_ENUMERATED = 1 << 26   # CPUID.(7,0).EDX: IBRS and IBPB (IA32_SPEC_CTRL, IA32_PRED_CMD)
FERR_RANGE, FERR_TOOBIG, FERR_PERM = -5, -12, -13


def hostile_results(m, name):
    """The guest's `hostile: PROBE RESULT` lines as a dict (a probe run twice keeps both, in order)."""
    results = {}
    for probe, result in re.findall(r"\[%s\] hostile: (.+) (\S+)\n" % re.escape(name), m.text()):
        results.setdefault(probe, []).append(result)
    return results


def test_hostile_guest_probes_get_clean_answers(ferry):
    if ferry.b.name == "svm-wp":
        pytest.skip("nothing here depends on the dirty-tracking mode")
    lspci = ferry.cmd("lspci")
    ferry.cmd("create h hostile memory=16", timeout=SLOW)
    ferry.expect(r"\[h\] hostile: done", timeout=SLOW)
    r = hostile_results(ferry, "h")
    # Port I/O to PCI configuration space reaches no device: all ones, the host's functions untouched.
    assert r["pci-read"] == ["0xffffffff"] and r["pci-write"] == ["ok"], r
    assert ferry.cmd("lspci") == lspci
    # MSRs: SPEC_CTRL follows what the CPU enumerates; a non-canonical LSTAR is refused and not kept.
    if int(r["cpuid7.edx"][0], 16) & SPEC_CTRL_ENUMERATED:
        assert r["rdmsr spec_ctrl"] == ["0x0", "0x1"] and r["wrmsr spec_ctrl"] == ["ok", "ok"], r
        assert r["wrmsr spec_ctrl.reserved"] == ["#GP"] and r["wrmsr pred_cmd"] == ["ok"], r
    else:
        assert r["rdmsr spec_ctrl"] == ["#GP", "#GP"] and r["wrmsr pred_cmd"] == ["#GP"], r
    assert len(r["rdmsr apic_base"]) == 1 and len(r["wrmsr apic_base"]) == 1, r
    assert r["wrmsr lstar.noncanonical"] == ["#GP"], r
    assert r["rdmsr lstar"] != ["0x8000000000000000"], r
    # PRINT: the last bytes of RAM print; past the end, wrapping or over the limit is refused.
    assert r["print ram_end"] == ["0"] and "[h] edge-of-ram-ok!\n" in ferry.text(), r
    for probe in ("past_end", "at_end", "wrap"):
        assert r[f"print {probe}"] == [str(FERR_RANGE)], (probe, r)
    assert r["print at_end.empty"] == ["0"] and r["print too_long"] == [str(FERR_TOOBIG)], r
    # Control bytes from PRINT and from the UART are shown, never sent (item 5).
    shown = re.findall(r"\[h\] controls: (.*)\n", ferry.text())
    assert len(shown) == 2 and all("esc=^[[2J^[[31mred" in s and "bell=^G" in s and
                                   "c1=<U+009B>" in s and "rlo=<U+202E>" in s for s in shown), shown
    assert "\x1b]52" not in ferry.text() and "\x07" not in ferry.text()
    # WBINVD is trapped and skipped; hypercalls from CPL 3 are refused and leak nothing.
    assert r["wbinvd"] == ["ok"], r
    assert r["cpl3 print"] == [str(FERR_PERM)] and r["cpl3 clock"] == [str(FERR_PERM)], r
    assert "cpl3-leak" not in ferry.text()
    info = ferry.cmd("vminfo h")
    assert "hypercalls_refused=2" in info and re.search(r"wbinvd=1\b", info), info
    assert re.search(r"^h\s+\d+\s+running", ferry.cmd("list"), re.M)
    # MACs (item 8): the zero address and one a guest here already has are refused.
    mac = re.search(r"mac=(\S+)", info).group(1)
    assert "is the zero address" in ferry.cmd("create z counter memory=16 mac=00:00:00:00:00:00")
    assert f"mac {mac} is in use by another guest here" in ferry.cmd(f"create z counter memory=16 mac={mac}")
    assert "no guest named 'z'" in ferry.cmd("vminfo z")
    ferry.cmd("destroy h")
    assert_counter_healthy(ferry)


@pytest.mark.long_on_bochs
def test_console_flood_is_dropped_counted_and_the_console_answers(ferry):
    if ferry.b.name == "svm-wp":
        pytest.skip("nothing here depends on the dirty-tracking mode")
    ferry.cmd('create fl hostile memory=16 args="mode=flood"', timeout=SLOW)
    ferry.expect(r"console: guest fl: \d+ lines \(\d+ bytes\) dropped; `console fl` has them", timeout=SLOW)
    # The console answers every command while the guest floods, and other guests run on.
    for _ in range(3):
        assert re.search(r"^fl\s+\d+\s+running", ferry.cmd("list", timeout=SLOW), re.M)
    dropped = int(re.search(r"console: dropped_lines=(\d+)", ferry.cmd("vminfo fl")).group(1))
    assert dropped > 0
    assert_counter_healthy(ferry)
    ferry.cmd("destroy fl")
    assert "\x1b]52" not in ferry.text() and "\x07" not in ferry.text()


def test_snapshot_round_trip_runs_on(ferry):
    last = counts(ferry, "cnt")[-1]
    out = ferry.cmd("snapshot cnt cnt2", timeout=SLOW)
    assert re.search(r"snapshot cnt -> cnt2 state_bytes=\d+", out), out
    assert "no guest named 'cnt'" in ferry.cmd("vminfo cnt")
    nxt = wait_count_above(ferry, "cnt2", 0)
    resumed_from = counts(ferry, "cnt") + counts(ferry, "cnt2")
    assert resumed_from == list(range(1, len(resumed_from) + 1)), resumed_from[-10:]
    assert nxt > last

    gen = int(re.findall(r"\[mt\] memtest ok gen=(\d+) ", ferry.text())[-1])
    assert "snapshot mt -> mt2" in ferry.cmd("snapshot mt mt2", timeout=SLOW)
    newer = int(ferry.expect(r"\[mt2\] memtest ok gen=(\d+) ", timeout=SLOW).group(1))
    newer = int(ferry.expect(r"\[mt2\] memtest ok gen=(\d+) ", timeout=SLOW).group(1))
    assert newer > gen
    assert "CORRUPT" not in ferry.text()
    assert re.search(r"^mt2\s+\d+\s+running", ferry.cmd("list"), re.M)

