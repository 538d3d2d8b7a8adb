#!/usr/bin/env python3
"""The Linux guest's benchmarks (issue 14, `make bench-linux`), side by side in one run.

    bench/linux.py [--backends svm,vmx] [--no-migration] [--json FILE]

Boot time. Debian's cloud kernel and Ferry's initramfs (build/esp-linux.img) boot to the
/init marker (`ferry-guest: init`, the first line /init prints) and to `ferry-guest:
ready` (the shell starts next):
  QEMU microvm   the same kernel and initramfs booted directly by QEMU TCG on the
                 platform Ferry offers (tests/harness/linux_oracle.py), from QEMU's start;
                 QEMU's own loader and ACPI tables;
  QEMU, Ferry's boot image
                 the memory image Ferry's loader and ACPI builder lay out (build/host/
                 linux_boot_image, tests/test_linux_oracle.py's second boot) run by QEMU
                 TCG with no hypervisor: the kernel does the same work as on Ferry (QEMU
                 7.2's microvm FADT does not say "no CMOS RTC", Ferry's does, so under
                 microvm the kernel spends seconds of its boot timing out on the RTC);
  Ferry AMD-V    a 128 MiB guest on Ferry under QEMU TCG (-cpu max,+svm,+npt), from
                 `create lx linux` at Ferry's prompt;
  Ferry VT-x     the same under Bochs (minutes).
Each Ferry row gives its ratio to both QEMU rows (medians of three boots in the same run;
`x layout` is the one with the same tables), the guest's own clock at `Run /init` (the
kernel's timestamp) and Ferry's clock (`info` uptime) across the boot. Both QEMU rows run
again at the end: how far the machine's load moved during the run.

Migration (the AMD-V lab, tests/harness/netlab.py; needs root). Host A creates a 128 MiB
Linux guest, lets it settle, and migrates it to B (default target 50 ms, no bandwidth
limit); B destroys it; the next case starts on A:
  idle              Ferry's command line (init_on_free=1: pages Linux frees are zeroed);
  idle, no zeroing  args="init_on_free=0" (the last word wins): freed pages keep their bytes;
  writer            a job rewriting a 4 MiB tmpfs file of random bytes every second.
A row: rounds, pages sent whole and as zero markers, page bytes over RAM, the source's
downtime beside the floor its report states (the final round's bytes and the state
over the measured link, plus a round trip), and the kernel's `mem auto-init` line,
which shows whether init_on_free took. docs/benchmarks.md ("Linux guest") has a run.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from harness.linux_guest import GuestShell  # noqa: E402
from harness.linux_oracle import QemuLinux, host_tsc_khz  # noqa: E402
from harness.machine import FerryMachine, backend_emulator  # noqa: E402
from harness.migration import KEY, parse_report, settled  # noqa: E402
from harness.netlab import NetLab, netlab_available  # noqa: E402
from harness.paths import BUILD, LINUX_INITRD, LINUX_KERNEL, ROOT, linux_guest_missing  # noqa: E402

ESP_LINUX = os.path.join(BUILD, "esp-linux.img")
MIB = 1 << 20
GUEST_MIB = 128
HOST_MIB = 512
ORACLE_RUNS = 3
# tests/test_linux_oracle.py's command line: Ferry's, less reboot=acpi; the TSC rate as
# Ferry gives it on AMD (microvm has no CPUID leaf 0x15).
ORACLE_CMDLINE = ("console=ttyS0 earlycon=uart8250,io,0x3f8 nokaslr tsc=reliable init_on_free=1 "
                  "8250.nr_uarts=1 tsc_early_khz=%d")
# Ferry's own boot image (kernel/vm/loader_linux.c, kernel/vdev/acpi.c) run by QEMU with no
# hypervisor between (tests/test_linux_oracle.py's second boot): Ferry's tables, no NIC.
BOOT_IMAGE_TOOL = os.path.join(BUILD, "host", "linux_boot_image")
ENTRY_STUB = os.path.join(BUILD, "host", "linux_entry_stub.bin")
FERRY_LAYOUT_MACHINE = "microvm,acpi=off,pic=off,pit=off,rtc=off"
BOOT_TIMEOUT_S = {"svm": 600, "vmx": 1800}
HOST_BOOT_S = {"svm": 300, "vmx": 900}
ORACLE_TIMEOUT_S = 240
SETTLE_S = 10             # after `ready`: the boot's last work done before an idle migration
WRITER_WARMUP_S = 10
MIGRATE_TIMEOUT_S = 1200
INIT = "ferry-guest: init"
READY = "ferry-guest: ready"
RUN_INIT = re.compile(r"\[\s*(\d+\.\d+)\] Run /init as init process")
MEM_AUTO_INIT = re.compile(r"mem auto-init: ([^\r\n]*)")
UPTIME_MS = re.compile(r"uptime_ms=(\d+)")

WRITER_SETUP = "dd if=/dev/urandom of=/tmp/src bs=64k count=64 2>/dev/null; cp /tmp/src /tmp/dst"
WRITER = ("(while true; do dd if=/tmp/src of=/tmp/dst bs=64k conv=notrunc 2>/dev/null; "
          "sleep 1; done) &")
CASES = (
    ("idle", "", False),
    ("idle, init_on_free=0", 'args="init_on_free=0"', False),
    ("writer 4 MiB/s", "", True),
)


# ---- boot time ---------------------------------------------------------------------------

def ferry_layout_args(work):
    """QEMU arguments that boot the guest files from the memory image Ferry's code lays out
    (Ferry's command line, reboot=acpi included; no virtio device, as the bench's guest)."""
    subprocess.run(["make", "-s", "-C", ROOT, os.path.relpath(BOOT_IMAGE_TOOL, ROOT),
                    os.path.relpath(ENTRY_STUB, ROOT)], check=True)
    cmdline = (ORACLE_CMDLINE % host_tsc_khz()) + " reboot=acpi"
    subprocess.run([BOOT_IMAGE_TOOL, LINUX_KERNEL, LINUX_INITRD, work, str(GUEST_MIB), cmdline],
                   check=True, capture_output=True)
    args = ["-bios", ENTRY_STUB]
    with open(os.path.join(work, "qemu.args")) as f:
        for line in f:
            args += ["-device", line.strip()]
    return args


def oracle_boot(layout_args=None):
    """One QEMU boot: seconds from QEMU's start to the /init marker and to ready. Without
    layout_args QEMU's microvm loads the kernel and builds its own ACPI tables; with them
    QEMU runs Ferry's boot image and tables."""
    t0 = time.monotonic()
    if layout_args is None:
        guest = QemuLinux(LINUX_KERNEL, LINUX_INITRD, ORACLE_CMDLINE % host_tsc_khz(),
                          memory_mib=GUEST_MIB, name="bench-linux-oracle")
    else:
        guest = QemuLinux(machine=FERRY_LAYOUT_MACHINE, extra_args=layout_args,
                          memory_mib=GUEST_MIB, name="bench-linux-layout")
    with guest as g:
        g.expect(re.escape(INIT), ORACLE_TIMEOUT_S)
        init_s = time.monotonic() - t0
        g.expect(re.escape(READY), ORACLE_TIMEOUT_S)
        ready_s = time.monotonic() - t0
        log = g.output.decode("latin-1")
        run_init = RUN_INIT.search(log)
    return {"init_s": init_s, "ready_s": ready_s,
            "guest_init_s": float(run_init.group(1)) if run_init else None, "log": log}


def ferry_uptime_ms(m):
    found = UPTIME_MS.search(m.cmd("info"))
    return int(found.group(1)) if found else None


def ferry_boot(backend, esp):
    """A Ferry host of `backend`; one `create lx linux` timed to the markers."""
    with FerryMachine(emulator=backend_emulator(backend), esp=esp, name="bench-linux-%s" % backend,
                      memory_mib=HOST_MIB) as m:
        m.wait_prompt(timeout=HOST_BOOT_S[backend])
        before = ferry_uptime_ms(m)
        start = len(m.output)
        t0 = time.monotonic()
        m.send_raw(b"create lx linux\r")
        m.search(r"\[lx\] %s" % re.escape(INIT), start, BOOT_TIMEOUT_S[backend])
        init_s = time.monotonic() - t0
        m.search(r"\[lx\] %s" % re.escape(READY), start, BOOT_TIMEOUT_S[backend])
        ready_s = time.monotonic() - t0
        after = ferry_uptime_ms(m)
        text = m.text(start)
        run_init = RUN_INIT.search(text)
        m.cmd("destroy lx", timeout=60)
    return {"init_s": init_s, "ready_s": ready_s, "log": text,
            "guest_init_s": float(run_init.group(1)) if run_init else None,
            "ferry_clock_s": (after - before) / 1000 if before is not None and after is not None else None}


def oracle_reference(what, layout_args=None):
    """A QEMU row: the median of ORACLE_RUNS boots."""
    runs = [oracle_boot(layout_args) for _ in range(ORACLE_RUNS)]
    clocks = [r["guest_init_s"] for r in runs if r["guest_init_s"] is not None]
    return {"what": "%s (median of %d)" % (what, ORACLE_RUNS),
            "init_s": statistics.median(r["init_s"] for r in runs),
            "ready_s": statistics.median(r["ready_s"] for r in runs),
            "guest_init_s": statistics.median(clocks) if clocks else None, "runs": runs}


def ferry_row(backend, esp, ref, same):
    row = ferry_boot(backend, esp)
    row["what"] = "Ferry %s" % ("AMD-V (QEMU TCG)" if backend == "svm" else "VT-x (Bochs)")
    row["ratio_init"] = row["init_s"] / ref["init_s"]
    row["ratio_ready"] = row["ready_s"] / ref["ready_s"]
    row["ratio_init_same"] = row["init_s"] / same["init_s"]
    return row


def fmt(value, spec):
    return format(value, spec) if value is not None else "-"


def format_boots(rows):
    lines = ["%-46s %8s %8s %8s %8s %8s %9s %8s" % ("boot to", "/init s", "ready s", "x init",
                                                   "x ready", "x layout", "guest s", "ferry s")]
    for r in rows:
        lines.append("%-46s %8.1f %8.1f %8s %8s %8s %9s %8s" % (
            r["what"], r["init_s"], r["ready_s"], fmt(r.get("ratio_init"), ".2f"),
            fmt(r.get("ratio_ready"), ".2f"), fmt(r.get("ratio_init_same"), ".2f"),
            fmt(r.get("guest_init_s"), ".2f"),
            fmt(r.get("ferry_clock_s"), ".1f")))
    return "\n".join(lines)


# ---- migration ------------------------------------------------------------------------------

def migration_case(lab, a, b, what, args, writer):
    shell = GuestShell(a, "lx")
    start = len(a.output)
    shell.create(args, timeout=BOOT_TIMEOUT_S["svm"])
    auto_init = MEM_AUTO_INIT.search(a.text(start))
    if writer:
        shell.attach()
        shell.run(WRITER_SETUP, timeout=300)
        shell.run(WRITER)
        shell.detach()
        time.sleep(WRITER_WARMUP_S)
    else:
        time.sleep(SETTLE_S)
    b_start = len(b.output)
    out = a.cmd("migrate lx %s" % lab.host_ip(1), timeout=MIGRATE_TIMEOUT_S)
    settled(b, "lx", b_start, timeout=MIGRATE_TIMEOUT_S)
    report = parse_report(out)
    if report["outcome"] == "completed":
        b.cmd("destroy lx", timeout=60)
    else:
        a.cmd("destroy lx", timeout=60)
    rounds = report.get("round", [])
    ram = int(report.get("ram_bytes", GUEST_MIB * MIB)) or GUEST_MIB * MIB
    zero = sum(r["zero"] for r in rounds)
    pages = int(report.get("pages", 0))
    return {
        "case": what, "status": report["outcome"], "reason": report.get("reason", ""),
        "rounds": report.get("rounds"), "pages": pages, "zero_pages": zero,
        "whole_pages": pages - zero, "page_bytes": report.get("page_bytes"),
        "total_bytes": report.get("total_bytes"),
        "bytes_over_ram": int(report.get("page_bytes", 0)) / ram,
        "downtime_ms": report.get("downtime_source_ms"),
        "floor_ms": report.get("downtime_floor_ms"),
        "time_ms": report.get("time_ms"), "max_throttle_pct": report.get("max_throttle_pct"),
        "link_kbps": report.get("link_kbps"),
        "mem_auto_init": auto_init.group(1).strip() if auto_init else None,
        "report": out,
    }


def run_migrations(esp):
    ok, why = netlab_available()
    if not ok:
        print("migration: skipped (%s)" % why)
        return []
    rows = []
    with NetLab() as lab:
        def host(i):
            return lab.ferry(i, emulator=backend_emulator("svm"), esp=esp, memory_mib=HOST_MIB,
                             extra_config="migration_key = %s\n" % KEY)
        with host(0) as a, host(1) as b:
            a.wait_prompt(timeout=HOST_BOOT_S["svm"])
            b.wait_prompt(timeout=HOST_BOOT_S["svm"])
            for what, args, writer in CASES:
                rows.append(migration_case(lab, a, b, what, args, writer))
                print(format_migrations(rows[-1:]), flush=True)
    return rows


def format_migrations(rows):
    lines = ["%-22s %9s %6s %8s %8s %9s %8s %9s %8s %6s %8s %9s  %s" % (
        "128 MiB Linux guest", "status", "rounds", "whole", "zero", "bytes/RAM", "down ms",
        "floor ms", "/floor", "thr %", "total ms", "link MB/s", "mem auto-init")]
    for r in rows:
        down, floor = r.get("downtime_ms"), r.get("floor_ms")
        link = r.get("link_kbps")
        lines.append("%-22s %9s %6s %8d %8d %9.3f %8s %9s %8s %6s %8s %9s  %s" % (
            r["case"], r["status"], r["rounds"], r["whole_pages"], r["zero_pages"],
            r["bytes_over_ram"], fmt(down, ".1f"), fmt(floor, ".1f"),
            fmt(down / floor if down is not None and floor else None, ".2f"),
            fmt(r.get("max_throttle_pct"), "d"), fmt(r.get("time_ms"), ".0f"),
            fmt(link / 1000 if link else None, ".1f"), r.get("mem_auto_init") or "-"))
        if r["status"] != "completed":
            lines.append("    reason: %s" % r["reason"])
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backends", default="svm,vmx", help="Ferry backends to boot on (svm, vmx)")
    ap.add_argument("--no-migration", action="store_true")
    ap.add_argument("--json", help="write every figure to this file")
    opts = ap.parse_args()
    missing = linux_guest_missing()
    if missing:
        raise SystemExit("bench-linux: %s" % missing)
    work = tempfile.mkdtemp(prefix="bench-linux-")
    try:
        # One image for the whole run, whatever is rebuilt meanwhile.
        esp = os.path.join(work, "esp-linux.img")
        shutil.copyfile(ESP_LINUX, esp)
        backends = [b for b in opts.backends.split(",") if b]
        layout = ferry_layout_args(work)
        ref = oracle_reference("QEMU microvm")
        same = oracle_reference("QEMU, Ferry's boot image", layout)
        boots = [ref, same]
        print(format_boots(boots), flush=True)
        migrations = []
        # AMD-V first, its migrations next, Bochs (minutes) last; QEMU again at the end shows
        # how much the machine's load moved during the run.
        for backend in sorted(backends, key=lambda b: b != "svm"):
            boots.append(ferry_row(backend, esp, ref, same))
            print(format_boots(boots[-1:]), flush=True)
            if backend == "svm" and not opts.no_migration:
                migrations = run_migrations(esp)
        if not opts.no_migration and "svm" not in backends:
            migrations = run_migrations(esp)
        boots.append(oracle_reference("QEMU microvm, again at the end"))
        boots.append(oracle_reference("QEMU, Ferry's boot image, again", layout))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(format_boots(boots))
    if migrations:
        print()
        print(format_migrations(migrations))
    if opts.json:
        os.makedirs(os.path.dirname(os.path.abspath(opts.json)), exist_ok=True)
        with open(opts.json, "w") as f:
            json.dump({"boot": boots, "migration": migrations}, f, indent=1)


if __name__ == "__main__":
    main()
