#!/usr/bin/env python3
"""Ferry's live migration of a 64 MiB guest between two Bochs Ferry hosts: the Ferry half
of the migration benchmark, beside bench/qemu_migration.py.

Two Ferry hosts boot under Bochs with the same migration_key on one link: a Linux bridge
in a private network namespace (tests/harness/netlab.py, needs root), or else Bochs' own
hub (bxhub). For each write rate (pages per second) a guest is created on host A (the
memtest guest stamping a 32 MiB window at that rate; the counter guest, which writes
almost nothing, for rate 0), writes for the warm-up, and is migrated to host B with
`migrate` (downtime target 50 ms, no bandwidth limit). Just before each migration Ferry's
`netbench` measures the raw TCP throughput of the same link, A to B, so that

    throughput_ratio = migration throughput / netbench throughput

compares with QEMU's migration throughput over raw TCP on its loopback. Each row has the
keys of qemu_migration's rows, so format_table() prints both halves with the same columns.

    rows = run_ferry_migration_bench(rates=(0, 25, 100))   # a list of dicts
    print(format_table(rows))

Standalone: `make bench-ferry-migration` (both halves, one run), or
`python3 bench/ferry_migration.py --rates 0,25,100 [--with-qemu] [--json]`.
docs/benchmarks.md describes every figure and how the rates were scaled to the link.
"""
import argparse
import json
import os
import re
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import qemu_migration  # noqa: E402
from harness.migration import (KEY, counter_values, memtest_lines, parse_report,  # noqa: E402
                               settled, wait_memtest, wait_output)
from harness.netlab import HubLab, NetLab, netlab_available  # noqa: E402

MIB = 1024 * 1024
MB = 1000 * 1000
GUEST_MIB = 64                     # as QEMU's guest
WINDOW_MIB = 32                    # memtest's largest window (tests/guests/memtest.c)
DOWNTIME_TARGET_MS = 50            # Ferry's default target, QEMU's downtime-limit in its half
DEFAULT_RATES = (0, 25, 100)       # pages/s: idle, moderate, high, for a ~1.4 MB/s link
WARMUP_S = 2.0
NETBENCH_MIB = 8
BOOT_S = 300
CREATE_S = 240
MIGRATION_TIMEOUT_S = 900
NETBENCH = re.compile(r"netbench: sent bytes=(\d+) ms=(\d+) mb_per_s=([\d.]+)")


def open_lab(kind="auto"):
    """(lab, host factory, description): NetLab when it can be built (or kind="netlab"),
    else HubLab."""
    if kind == "auto":
        kind = "netlab" if netlab_available()[0] else "hub"
    config = "migration_key = %s\n" % KEY
    if kind == "netlab":
        lab = NetLab()
        return lab, (lambda i: lab.ferry(i, emulator="bochs", extra_config=config)), \
            "Bochs hosts on a Linux bridge (netlab)"
    lab = HubLab(ports=2)
    return lab, (lambda i: lab.ferry(i, extra_config=config)), "Bochs hosts on bxhub"


def netbench(a, b, b_ip, mib=NETBENCH_MIB):
    """Bytes per second of Ferry's netbench from A to B over the lab's link."""
    b.send_raw(b"netbench recv\r")
    b.expect(r"listening on port 5001", timeout=60)
    out = a.cmd("netbench send %s %d" % (b_ip, mib), timeout=120 + 30 * mib)
    b.wait_prompt(timeout=60)
    m = NETBENCH.search(out)
    if not m:
        raise RuntimeError("netbench failed: " + out)
    return int(m.group(1)) / (int(m.group(2)) / 1000)


def guest_for(rate, memory_mib, window_mib):
    """(image, args) of the guest for `rate`: counter is idle, memtest writes `rate` pages/s."""
    if rate == 0:
        return "counter", "interval_ms=1000"
    return "memtest", "mib=%d rate=%d" % (window_mib, rate)


def row_from_report(report, rate, memory_mib, raw_bytes_per_s):
    """A row with qemu_migration's keys (and Ferry's own extras) from a source report."""
    guest_ram = memory_mib * MIB
    total_ms = float(report.get("time_ms", 0.0))
    transferred = int(report.get("total_bytes", 0))
    throughput = transferred / (total_ms / 1000) if total_ms else 0.0
    downtime = report.get("downtime_source_ms")
    rows = report.get("round", [])
    return {
        "rate_pages_per_s": rate,
        "status": report["outcome"],
        "rounds": report.get("rounds"),
        "total_time_ms": round(total_ms, 3),
        "downtime_ms": downtime,
        "downtime_dest_ms": report.get("downtime_dest_ms"),
        "downtime_target_ms": report.get("downtime_target_ms"),
        "downtime_over_target": (downtime / report["downtime_target_ms"]
                                 if downtime is not None and report.get("downtime_target_ms") else None),
        "guest_ram_bytes": guest_ram,
        "ram_total_bytes": report.get("ram_bytes"),
        "ram_transferred_bytes": transferred,
        "page_bytes": report.get("page_bytes"),
        "pages": report.get("pages"),
        "zero_pages": sum(r["zero"] for r in rows),
        "normal_pages": report.get("pages", 0) - sum(r["zero"] for r in rows),
        "precopy_bytes": sum(r["bytes"] for r in rows if not r["final"]),
        "downtime_bytes": sum(r["bytes"] for r in rows if r["final"]),
        "qemu_mbps": None,
        "qemu_MBps": None,
        "throttle_percent": report.get("max_throttle_pct"),
        "bytes_over_ram": transferred / guest_ram,
        "throughput_MBps": throughput / MB,
        "raw_tcp_MBps": raw_bytes_per_s / MB,
        "throughput_ratio": throughput / raw_bytes_per_s if raw_bytes_per_s else None,
        "dirty_mode": report.get("dirty_mode"),
        "round_rows": rows,
        "error": report.get("reason") or None,
        "migration_id": report.get("id"),
    }


def run_case(a, b, b_ip, rate, name, memory_mib=GUEST_MIB, window_mib=WINDOW_MIB,
             warmup_s=WARMUP_S, netbench_mib=NETBENCH_MIB, timeout_s=MIGRATION_TIMEOUT_S):
    """One migration of a guest writing `rate` pages/s from A to B; returns its row."""
    wall_start = time.monotonic()
    image, args = guest_for(rate, memory_mib, window_mib)
    start = len(a.output)
    out = a.cmd('create %s %s memory=%d args="%s"' % (name, image, memory_mib, args), timeout=CREATE_S)
    if "created %s" % name not in out:
        raise RuntimeError(out)
    b_start = len(b.output)
    try:
        first = r"\[%s\] (memtest ok|counter 1\n)" % name
        wait_output(a, first, start, timeout=CREATE_S)
        time.sleep(warmup_s)
        raw = netbench(a, b, b_ip, netbench_mib)
        settle_from = len(b.output)
        out = a.cmd("migrate %s %s" % (name, b_ip), timeout=timeout_s)
        report = parse_report(out)
        settled(b, name, settle_from, timeout=CREATE_S)
        row = row_from_report(report, rate, memory_mib, raw)
        row["guest_image"] = image
        row["guest_window_pages"] = window_mib * 256 if image == "memtest" else 0
        row["guest_resumed"] = False
        if report["outcome"] == "completed":
            # Resumed, not restarted: memtest's write count, or the counter, goes on on B.
            if image == "memtest":
                wait_memtest(b, name, b_start, count=1, timeout=CREATE_S)
                before = memtest_lines(a, name, start)
                after = memtest_lines(b, name, b_start)
                row["guest_resumed"] = bool(
                    before and after and after[0]["written"] > before[-1]["written"]
                    and "[%s] memtest start" % name not in b.text(b_start)
                    and all(x["corrupt"] == 0 for x in before + after))
                if len(before) >= 2:
                    seconds = len(before) - 1
                    row["guest_achieved_pages_per_s"] = \
                        (before[-1]["written"] - before[0]["written"]) / seconds
            else:
                wait_output(b, r"\[%s\] counter \d+\n" % name, b_start, timeout=CREATE_S)
                before = counter_values(a, name, start)
                after = counter_values(b, name, b_start)
                row["guest_resumed"] = bool(before and after and after[0] == before[-1] + 1)
        row["wall_s"] = time.monotonic() - wall_start
        return row
    finally:
        for m in (a, b):
            if re.search(r"^%s\s" % name, m.cmd("list"), re.M):
                m.cmd("destroy %s" % name, timeout=CREATE_S)


def run_ferry_migration_bench(rates=DEFAULT_RATES, lab_kind="auto", **options):
    """One row per write rate, in order, on one pair of hosts; options as run_case()."""
    lab, ferry, description = open_lab(lab_kind)
    rows = []
    with lab:
        with ferry(0) as a, ferry(1) as b:
            a.wait_prompt(timeout=BOOT_S)
            b.wait_prompt(timeout=BOOT_S)
            for i, rate in enumerate(rates):
                row = run_case(a, b, lab.host_ip(1), rate, "bench%d" % i, **options)
                row["lab"] = description
                rows.append(row)
    return rows


# qemu_migration's columns (same headers and keys), with decimals for figures that are
# small on a ~1 MB/s link.
FINER = {"throughput_MBps": "{:.2f}", "raw_tcp_MBps": "{:.2f}", "downtime_ms": "{:.1f}",
         "total_time_ms": "{:.0f}"}
COLUMNS = tuple((header, key, FINER.get(key, fmt)) for header, key, fmt in qemu_migration.COLUMNS)


def format_table(rows, title="Ferry live migration"):
    """An aligned table of the rows' headline figures, columns as qemu_migration's."""
    saved = qemu_migration.COLUMNS
    qemu_migration.COLUMNS = COLUMNS
    try:
        return qemu_migration.format_table(rows, title=title)
    finally:
        qemu_migration.COLUMNS = saved


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default=",".join(map(str, DEFAULT_RATES)),
                        help="write rates in pages/s, comma-separated (default %(default)s)")
    parser.add_argument("--memory", type=int, default=GUEST_MIB, help="guest MiB (default 64)")
    parser.add_argument("--window", type=int, default=WINDOW_MIB,
                        help="MiB memtest keeps stamped (default 32, its maximum)")
    parser.add_argument("--warmup", type=float, default=WARMUP_S,
                        help="seconds the guest writes before the migration")
    parser.add_argument("--netbench-mib", type=int, default=NETBENCH_MIB,
                        help="MiB netbench moves before each migration")
    parser.add_argument("--lab", choices=("auto", "netlab", "hub"), default="auto")
    parser.add_argument("--with-qemu", action="store_true",
                        help="also run QEMU's half (bench/qemu_migration.py) in the same run")
    parser.add_argument("--qemu-rates", default=",".join(map(str, qemu_migration.DEFAULT_RATES)))
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args(argv)
    start = time.monotonic()
    rows = run_ferry_migration_bench(
        rates=[int(r) for r in args.rates.split(",")], lab_kind=args.lab, memory_mib=args.memory,
        window_mib=args.window, warmup_s=args.warmup, netbench_mib=args.netbench_mib)
    title = "Ferry live migration, %d MiB guest, %s, netbench as raw" % (args.memory, rows[0]["lab"])
    print(format_table(rows, title=title))
    qemu_rows = []
    if args.with_qemu:
        qemu_rows = qemu_migration.run_qemu_migration_bench(
            rates=[int(r) for r in args.qemu_rates.split(",")])
        print()
        print(qemu_migration.format_table(qemu_rows))
    print("benchmark time: %.1f s" % (time.monotonic() - start))
    if args.json:
        print(json.dumps({"ferry": rows, "qemu": qemu_rows}, indent=2))
    ok = all(r["status"] == "completed" and r["guest_resumed"] for r in rows)
    return 0 if ok and all(r["status"] == "completed" for r in qemu_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
