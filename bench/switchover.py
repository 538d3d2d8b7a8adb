#!/usr/bin/env python3
"""The switchover benchmark of issue 13 (docs/benchmarks.md "Switchover"): a 64 MiB witness
guest migrated between two Ferry hosts at three write rates, with verify=off, before and
after, and once beside a spinning neighbour; optionally the injected fault (a fault-injection
image, `make esp-faults`) and QEMU's own migration at the same link rate, in the same run.

Every row gives the rounds, bytes over RAM, the migration's throughput over netbench's on
the same link just before, the downtime by the source, the destination and the guest (the
witness guest's longest gap in its own progress, by the hypercall clock), the floor and the
estimate from the source's report, the throttle, the digest's mode, result and time. The
neighbour rows give the spinning guest's loops per second during the migration over before
it, and the migration's throughput over the same case without the neighbour.

    make bench-switchover                  # the AMD-V lab (QEMU TCG), 2-3 minutes idle
    make bench-switchover-bochs            # the Bochs VT-x lab, about 15 minutes
    python3 bench/switchover.py --backend svm --rates 5,500 --verify off,after --json out.json

The JSON (default build/bench/switchover-BACKEND.json) has {"ferry": rows, "qemu": rows,
"lab": ...}; bench/plot_switchover.py draws its per-round dirty pages and bytes as SVG.
"""
import argparse
import contextlib
import json
import os
import re
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import ferry_migration  # noqa: E402
import qemu_migration  # noqa: E402
from harness.machine import backend_emulator  # noqa: E402
from harness.migration import (KEY, guests, parse_report, parse_reports, pump,  # noqa: E402
                               settled, wait_output, witness_lines)
from harness.netlab import NetLab  # noqa: E402

MB = 1000 * 1000
GUEST_MIB = 64
WINDOW_MIB = 32                 # the witness guest's largest window
RATES = {"svm": (5, 500, 2000), "vmx": (5, 25, 100)}   # pages/s: idle, a fraction of the link, most of it
VERIFY_MODES = ("off", "before", "after")
WARMUP_S = 2.0
NEIGHBOUR_S = 3.0               # the spinning guest's baseline before the migration
BOOT_S = 300
SLOW_S = 240
MIGRATION_TIMEOUT_S = 900
FAULTS_ESP = os.path.join(ROOT, "build", "faults", "esp.img")
# A corrupted copy always differs from the source's page; a dropped one only when the
# guest changed it after its last send (docs/migration.md), which left rows void.
FAULT = "corrupt-page"
# The source's report: where its downtime went, each step in ms from the pause.
PAUSE_STEPS = ("paused_collected_ms", "paused_saved_ms", "paused_done_ms", "paused_acked_ms",
               "paused_ready_ms")
SPIN_LOOPS = re.compile(r"\[(?P<name>[\w-]+)\] spin loops=(?P<loops>\d+)\n")


def spin_loops(machine, name, start=0, end=None):
    text = machine.text(start)
    if end is not None:
        text = text[:end - start]
    return [int(m.group("loops")) for m in SPIN_LOOPS.finditer(text) if m.group("name") == name]


@contextlib.contextmanager
def hosts(backend, esp=None):
    """Two Ferry hosts of `backend` on a Linux bridge (netlab, root), booted to their prompts."""
    config = "migration_key = %s\n" % KEY
    kw = {"esp": esp} if esp else {}
    emulator = backend_emulator(backend)
    with NetLab() as lab:
        with lab.ferry(0, emulator=emulator, extra_config=config, **kw) as a, \
                lab.ferry(1, emulator=emulator, extra_config=config, **kw) as b:
            a.wait_prompt(timeout=BOOT_S)
            b.wait_prompt(timeout=BOOT_S)
            yield lab, a, b


def remove(machine, name):
    """Destroys `name` on `machine`, settling a kept source copy first (mismatch, in doubt)."""
    if name not in guests(machine):
        return
    out = machine.cmd("destroy %s" % name, timeout=SLOW_S)
    if "is migrating" in out:
        machine.cmd("migrate-resolve %s source" % name, timeout=SLOW_S)
        machine.cmd("destroy %s" % name, timeout=SLOW_S)


def wait_witness(machine, name, start, count, timeout=SLOW_S):
    """The witness's first `count` ok lines, and why it stopped if Ferry stopped it first
    (a corrupted page-table page ends in a triple fault, for one)."""
    stopped = re.compile(r"guest %s stopped: ([^\n]*)" % re.escape(name))
    deadline = time.monotonic() + timeout
    lines = witness_lines(machine, name, start)
    while len(lines) < count and time.monotonic() < deadline:
        m = stopped.search(machine.text(start))
        if m:
            return lines, m.group(1)
        pump(machine, seconds=0.5)
        lines = witness_lines(machine, name, start)
    return lines, None


def run_case(lab, a, b, rate, verify, name, neighbour=False, fault=None):
    """One migration of a witness guest writing `rate` pages/s; returns its row."""
    b_ip = lab.host_ip(1)
    spin_start = None
    if neighbour:
        out = a.cmd('create %s-spin spin memory=16' % name, timeout=SLOW_S)
        if "created" not in out:
            raise RuntimeError(out)
        wait_output(a, r"\[%s-spin\] spin loops=" % name, 0, timeout=SLOW_S)
        spin_start = len(a.output)
        time.sleep(NEIGHBOUR_S)
    start = len(a.output)
    out = a.cmd('create %s witness memory=%d args="mib=%d rate=%d"' % (name, GUEST_MIB, WINDOW_MIB, rate),
                timeout=SLOW_S)
    if "created %s" % name not in out:
        raise RuntimeError(out)
    try:
        wait_output(a, r"\[%s\] witness ok " % name, start, timeout=SLOW_S)
        time.sleep(WARMUP_S)
        raw = ferry_migration.netbench(a, b, b_ip)
        spin_before = spin_loops(a, name + "-spin", spin_start) if neighbour else []
        b_start, migrate_start = len(b.output), len(a.output)
        options = "verify=%s" % verify + (" fault=%s" % fault if fault else "")
        out = a.cmd("migrate %s %s %s" % (name, b_ip, options), timeout=MIGRATION_TIMEOUT_S)
        report = parse_report(out)
        settled(b, name, b_start, timeout=SLOW_S)
        row = ferry_migration.row_from_report(report, rate, GUEST_MIB, raw)
        row.update({
            "verify": verify, "fault": fault, "neighbour": neighbour,
            "digest": report.get("digest"), "hash": report.get("hash"),
            "verify_ms": report.get("verify_ms"),
            "downtime_floor_ms": report.get("downtime_floor_ms"),
            "estimate_ms": report.get("estimate_ms"),
            "link_MBps": report.get("link_kbps", 0) * 1000 / MB,
            "rtt_ms": report.get("rtt_ms"), "dest_load_ms": report.get("dest_load_ms"),
            "final_bytes": report.get("final_bytes"),
        })
        for step in PAUSE_STEPS:
            row[step] = report.get(step)
        floor = row["downtime_floor_ms"]
        if floor and row["downtime_ms"] is not None:
            row["downtime_over_floor"] = row["downtime_ms"] / floor
        dest = parse_reports(b.cmd("migrations %s" % report["id"]))
        row["dest_digest"] = dest[0].get("digest") if dest else None
        if neighbour:
            during = spin_loops(a, name + "-spin", migrate_start)
            if spin_before and during:
                row["neighbour_loops_ratio"] = (sum(during) / len(during)) / (sum(spin_before) / len(spin_before))
        # The guest's own view: the first ok line on whichever host runs it.
        runs_on_b = report["outcome"] in ("completed", "mismatch")
        host, host_start = (b, b_start) if runs_on_b else (a, migrate_start)
        if report["outcome"] == "mismatch":
            b.cmd("unpause %s" % name, timeout=SLOW_S)   # let the witness look at its memory
        lines, stopped = wait_witness(host, name, host_start, 2)
        row["downtime_guest_ms"] = lines[0]["gap_us"] / 1000 if lines else None
        row["guest_corrupt"] = sum(x["corrupt"] for x in lines)
        if stopped:
            row["guest_stopped"] = stopped
            row["guest_corrupt"] = "stopped"
        row["guest_on"] = "B" if runs_on_b else "A"
        return row
    finally:
        for m in (a, b):
            remove(m, name)
        if neighbour:
            remove(a, name + "-spin")


def run_bench(backend, rates, modes, neighbour=True, faults=False):
    rows = []
    with hosts(backend) as (lab, a, b):
        for i, rate in enumerate(rates):
            for mode in modes:
                rows.append(run_case(lab, a, b, rate, mode, "sw%d%s" % (i, mode[:2])))
        if neighbour:
            rate = rates[len(rates) // 2]
            for mode in ("off",):
                rows.append(run_case(lab, a, b, rate, mode, "swn%s" % mode[:2], neighbour=True))
    if faults:
        with hosts(backend, esp=FAULTS_ESP) as (lab, a, b):
            rate = rates[len(rates) // 2]
            for mode in VERIFY_MODES:
                rows.append(run_case(lab, a, b, rate, mode, "swf%s" % mode[:2], fault=FAULT))
    for row in rows:
        row["lab"] = "%s hosts on a Linux bridge" % ("QEMU TCG AMD-V" if backend == "svm" else "Bochs VT-x")
        if row["neighbour"]:
            alone = [r for r in rows if not r["neighbour"] and not r["fault"] and
                     r["rate_pages_per_s"] == row["rate_pages_per_s"] and r["verify"] == row["verify"]]
            if alone and alone[0]["throughput_MBps"]:
                row["throughput_vs_alone"] = row["throughput_MBps"] / alone[0]["throughput_MBps"]
    return rows


COLUMNS = (
    ("rate/s", "rate_pages_per_s", "{}"), ("verify", "verify", "{}"), ("case", "case", "{}"),
    ("status", "status", "{}"), ("rounds", "rounds", "{}"), ("sent/RAM", "bytes_over_RAM", "{:.2f}"),
    ("MB/s", "throughput_MBps", "{:.2f}"), ("/netbench", "throughput_ratio", "{:.2f}"),
    ("src ms", "downtime_ms", "{:.1f}"), ("dst ms", "downtime_dest_ms", "{:.1f}"),
    ("guest ms", "downtime_guest_ms", "{:.1f}"), ("floor ms", "downtime_floor_ms", "{:.1f}"),
    ("/floor", "downtime_over_floor", "{:.2f}"), ("est ms", "estimate_ms", "{:.1f}"),
    ("throttle", "throttle_percent", "{}%"), ("digest", "digest", "{}"),
    ("hash", "hash", "{}"), ("verify ms", "verify_ms", "{:.1f}"), ("corrupt", "guest_corrupt", "{}"),
)


def case_name(row):
    if row.get("fault"):
        return row["fault"]
    if row.get("neighbour"):
        ratio = row.get("throughput_vs_alone")
        return "spin%s" % ("(%.2f)" % ratio if ratio else "")
    return "-"


def aligned(title, cells):
    """The title, then the rows of cells (strings, the first row the heads), right-aligned."""
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    return "\n".join([title] + ["  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in cells])


def format_pause_steps(rows):
    """Where each source's downtime went: ms from the pause to each step, then to RESUMED."""
    head = ["rate/s", "verify", "case", "collected", "saved", "done", "acked", "ready", "resumed",
            "floor"]
    cells = [head]
    for row in rows:
        if row.get("paused_ready_ms") is None:
            continue
        values = [row.get(k) for k in PAUSE_STEPS] + [row.get("downtime_ms"), row.get("downtime_floor_ms")]
        cells.append([str(row["rate_pages_per_s"]), row["verify"], case_name(row)] +
                     ["-" if v is None else "%.1f" % v for v in values])
    return aligned("Where the source's downtime went (ms from the pause; acked 0: READY came first)", cells)


def format_table(rows, title):
    cells = [[h for h, _, _ in COLUMNS]]
    for row in rows:
        row = dict(row, case=case_name(row), bytes_over_RAM=row.get("bytes_over_ram"))
        line = []
        for _, key, fmt in COLUMNS:
            value = row.get(key)
            line.append("-" if value is None else fmt.format(value))
        cells.append(line)
    return aligned(title, cells)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("svm", "vmx"), default="svm")
    parser.add_argument("--rates", default=None, help="pages/s, comma-separated")
    parser.add_argument("--verify", default=",".join(VERIFY_MODES))
    parser.add_argument("--no-neighbour", action="store_true")
    parser.add_argument("--faults", action="store_true",
                        help="also the injected fault with each verify mode (needs make esp-faults)")
    parser.add_argument("--with-qemu", action="store_true",
                        help="QEMU's migration at the same rates, capped at the link Ferry measured")
    parser.add_argument("--json", default=None, help="where to write the rows (default build/bench/...)")
    parser.add_argument("--svg", default=None, help="also draw the per-round plot here")
    args = parser.parse_args(argv)
    start = time.monotonic()
    rates = [int(r) for r in args.rates.split(",")] if args.rates else list(RATES[args.backend])
    rows = run_bench(args.backend, rates, args.verify.split(","), neighbour=not args.no_neighbour,
                     faults=args.faults)
    print(format_table(rows, "Ferry switchover, %d MiB witness guest, %s" % (GUEST_MIB, rows[0]["lab"])))
    print(format_pause_steps(rows))
    for row in rows:
        if row.get("neighbour_loops_ratio") is not None:
            print("spinning neighbour: the migration kept %.2f of its throughput alone; the spinner "
                  "kept %.2f of its loops per second" % (row.get("throughput_vs_alone") or 0,
                                                          row["neighbour_loops_ratio"]))
        if row.get("guest_stopped"):
            print("rate %s, verify=%s, %s: the witness was stopped on %s: %s" % (
                row["rate_pages_per_s"], row["verify"], case_name(row), row["guest_on"], row["guest_stopped"]))
    qemu_rows = []
    if args.with_qemu:
        link = min(r["raw_tcp_MBps"] for r in rows) * MB
        qemu_rows = qemu_migration.run_qemu_migration_bench(rates=rates, max_bandwidth=link)
        print()
        print(qemu_migration.format_table(
            qemu_rows, title="QEMU TCG live migration, 64 MiB guest, max-bandwidth %.1f MB/s" % (link / MB)))
    print("benchmark time: %.1f s" % (time.monotonic() - start))
    path = args.json or os.path.join(ROOT, "build", "bench", "switchover-%s.json" % args.backend)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"ferry": rows, "qemu": qemu_rows, "backend": args.backend}, f, indent=2)
    print("rows: %s" % path)
    if args.svg:
        import plot_switchover
        plot_switchover.plot(path, args.svg)
        print("plot: %s" % args.svg)
    ok = all(r["status"] == "completed" for r in rows if not r.get("fault"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
