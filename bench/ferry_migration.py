#!/usr/bin/env python3
"""Ferry's live migration of a 64 MiB guest between two Ferry hosts: the Ferry half of the
migration benchmark, beside bench/qemu_migration.py.

Two Ferry hosts boot with the same migration_key on one link: under Bochs (VT-x,
`--backend vmx`, the default) on a Linux bridge in a private network namespace
(tests/harness/netlab.py, needs root) or else Bochs' own hub (bxhub); or under QEMU TCG
with AMD-V (`--backend svm`, docs/svm.md) on the bridge. On the AMD-V lab QEMU's half
runs with `max-bandwidth` set to the rate netbench measured on Ferry's link, and each
row also gives the downtime floor: the final round's bytes and the state over the link's
bandwidth, plus one round trip, both measured once before the first case with no guest
running (netbench, Ferry's `ping`), as the link is during the stop-and-copy. For each write rate (pages per second) a guest is created on host A (the
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
`python3 bench/ferry_migration.py --rates 0,25,100 [--with-qemu] [--json]`. With
`--ciphers chacha20-poly1305,none` (`make bench-migration-encryption`) every rate runs once
per migration_cipher, each on a fresh pair of hosts on the same lab: the cost of encryption.
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
from harness.machine import backend_emulator  # noqa: E402
from harness.migration import (KEY, counter_values, memtest_lines, parse_report,  # noqa: E402
                               settled, wait_memtest, wait_output)
from harness.netlab import HubLab, NetLab, netlab_available  # noqa: E402

MIB = 1024 * 1024
MB = 1000 * 1000
GUEST_MIB = 64                     # as QEMU's guest
WINDOW_MIB = 32                    # memtest's largest window (tests/guests/memtest.c)
DOWNTIME_TARGET_MS = 50            # Ferry's default target, QEMU's downtime-limit in its half
DEFAULT_RATES = (0, 25, 100)       # pages/s: idle, moderate, high, for a ~1.4 MB/s link
SVM_RATES = (0, 500, 2000)         # pages/s on the AMD-V lab's ~10 MB/s link: idle, a fifth, about all of it
PING_COUNT = 4
WARMUP_S = 2.0
NETBENCH_MIB = 8
BOOT_S = 300
CREATE_S = 240
MIGRATION_TIMEOUT_S = 900
NETBENCH = re.compile(r"netbench: sent bytes=(\d+) ms=(\d+) mb_per_s=([\d.]+)")
PING_RTT = re.compile(r"rtt min/avg/max = ([\d.]+)/([\d.]+)/([\d.]+) ms")


def open_lab(kind="auto", backend="vmx", hosts=2):
    """(lab, host factory, description): NetLab when it can be built (or kind="netlab"),
    else HubLab (Bochs only). The factory takes the host's index and its migration_cipher
    (None: the default, chacha20-poly1305)."""
    if kind == "auto":
        kind = "netlab" if netlab_available()[0] or backend != "vmx" else "hub"

    def config(cipher):
        return "migration_key = %s\n" % KEY + ("migration_cipher = %s\n" % cipher if cipher else "")
    if kind == "netlab":
        lab = NetLab()
        emulator = "bochs" if backend == "vmx" else backend_emulator(backend)
        what = "Bochs hosts" if backend == "vmx" else "QEMU TCG AMD-V hosts"
        return lab, (lambda i, cipher=None: lab.ferry(i, emulator=emulator, extra_config=config(cipher))), \
            "%s on a Linux bridge (netlab)" % what
    lab = HubLab(ports=hosts)
    return lab, (lambda i, cipher=None: lab.ferry(i, extra_config=config(cipher))), "Bochs hosts on bxhub"


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


def round_trip_ms(a, b_ip):
    """The average round trip of Ferry's `ping` from A to B, in ms (None if it failed)."""
    m = PING_RTT.search(a.cmd("ping %s %d" % (b_ip, PING_COUNT), timeout=60))
    return float(m.group(2)) if m else None


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
        "state_bytes": transferred - int(report.get("page_bytes", 0)),
        "round_rows": rows,
        "error": report.get("reason") or None,
        "migration_id": report.get("id"),
    }


def idle_link(a, b, b_ip, netbench_mib=NETBENCH_MIB):
    """(bytes/s, round trip ms) of the link with no guest running: what the stop-and-copy
    has, since the guest is paused then."""
    return netbench(a, b, b_ip, netbench_mib), round_trip_ms(a, b_ip)


def add_floor(row, link_bytes_per_s, rtt_ms):
    """The least downtime the link allows: the final round's bytes and the stream's
    non-page bytes (state, headers) at the idle link's rate, plus one round trip."""
    row["idle_link_MBps"] = link_bytes_per_s / MB
    row["rtt_ms"] = rtt_ms
    if rtt_ms is None or not link_bytes_per_s:
        return
    floor = (row["downtime_bytes"] + row["state_bytes"]) / link_bytes_per_s * 1000 + rtt_ms
    row["downtime_floor_ms"] = floor
    downtime = row["downtime_ms"]
    row["downtime_over_floor"] = downtime / floor if downtime is not None else None


def run_case(a, b, b_ip, rate, name, memory_mib=GUEST_MIB, window_mib=WINDOW_MIB,
             warmup_s=WARMUP_S, netbench_mib=NETBENCH_MIB, timeout_s=MIGRATION_TIMEOUT_S,
             idle_link=None):
    """One migration of a guest writing `rate` pages/s from A to B; returns its row.
    With idle_link ((bytes/s, rtt ms) of the link without guests) the row gets the floor."""
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
        if idle_link:
            add_floor(row, *idle_link)
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


def run_ferry_migration_bench(rates=DEFAULT_RATES, lab_kind="auto", backend="vmx", floor=False,
                              ciphers=(None,), **options):
    """One row per write rate, in order, on one pair of hosts; options as run_case().
    With floor, the idle link is measured first and every row gets its downtime floor.
    With several ciphers (migration_cipher values; None: the default), a fresh pair of
    hosts per cipher on the same lab runs every rate, and each row names its cipher."""
    lab, ferry, description = open_lab(lab_kind, backend, hosts=2 * len(ciphers))
    rows = []
    with lab:
        for k, cipher in enumerate(ciphers):
            with ferry(2 * k, cipher) as a, ferry(2 * k + 1, cipher) as b:
                a.wait_prompt(timeout=BOOT_S)
                b.wait_prompt(timeout=BOOT_S)
                b_ip = lab.host_ip(2 * k + 1)
                link = idle_link(a, b, b_ip) if floor else None
                for i, rate in enumerate(rates):
                    row = run_case(a, b, b_ip, rate, "bench%d" % i, idle_link=link, **options)
                    row["lab"] = description
                    row["cipher"] = cipher or "chacha20-poly1305"
                    rows.append(row)
    return rows


# qemu_migration's columns (same headers and keys), with decimals for figures that are
# small on a ~1 MB/s link.
FINER = {"throughput_MBps": "{:.2f}", "raw_tcp_MBps": "{:.2f}", "downtime_ms": "{:.1f}",
         "total_time_ms": "{:.0f}"}
COLUMNS = tuple((header, key, FINER.get(key, fmt)) for header, key, fmt in qemu_migration.COLUMNS)
# On the AMD-V lab: the downtime floor beside the downtime, and the idle link it comes from.
FLOOR_COLUMNS = COLUMNS + (("floor ms", "downtime_floor_ms", "{:.1f}"),
                           ("/floor", "downtime_over_floor", "{:.2f}"),
                           ("idle MB/s", "idle_link_MBps", "{:.1f}"),
                           ("rtt ms", "rtt_ms", "{:.2f}"))


def format_table(rows, title="Ferry live migration", columns=COLUMNS):
    """An aligned table of the rows' headline figures, columns as qemu_migration's."""
    saved = qemu_migration.COLUMNS
    qemu_migration.COLUMNS = columns
    try:
        return qemu_migration.format_table(rows, title=title)
    finally:
        qemu_migration.COLUMNS = saved


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("vmx", "svm"), default="vmx",
                        help="vmx: Bochs VT-x hosts; svm: QEMU TCG AMD-V hosts (needs root)")
    parser.add_argument("--rates", default=None,
                        help="write rates in pages/s, comma-separated (default %s for vmx, "
                        "%s for svm)" % (",".join(map(str, DEFAULT_RATES)), ",".join(map(str, SVM_RATES))))
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
    parser.add_argument("--qemu-rates", default=None,
                        help="QEMU's write rates (default: the same as Ferry's with --backend svm, "
                        "else %s)" % ",".join(map(str, qemu_migration.DEFAULT_RATES)))
    parser.add_argument("--ciphers", default=None,
                        help="migration_cipher values, comma-separated (chacha20-poly1305, none): "
                        "every rate once per cipher, each on a fresh pair of hosts on the same lab, "
                        "one table per cipher (default: the hosts' default cipher only)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args(argv)
    start = time.monotonic()
    svm = args.backend == "svm"
    rates = args.rates or ",".join(map(str, SVM_RATES if svm else DEFAULT_RATES))
    ciphers = args.ciphers.split(",") if args.ciphers else [None]
    rows = run_ferry_migration_bench(
        rates=[int(r) for r in rates.split(",")], lab_kind=args.lab, backend=args.backend,
        floor=svm, ciphers=ciphers, memory_mib=args.memory, window_mib=args.window,
        warmup_s=args.warmup, netbench_mib=args.netbench_mib)
    for cipher in ciphers:
        part = [r for r in rows if r["cipher"] == (cipher or "chacha20-poly1305")]
        title = "Ferry live migration, %d MiB guest, %s, netbench as raw" % (args.memory, part[0]["lab"])
        if args.ciphers:
            title += ", migration_cipher = %s" % part[0]["cipher"]
        print(format_table(part, title=title, columns=FLOOR_COLUMNS if svm else COLUMNS))
    qemu_rows = []
    if args.with_qemu:
        # On the AMD-V lab QEMU is held to the link rate Ferry measured, so both move data
        # at the same pace; on Bochs' ~1 MB/s link that would take minutes a case.
        link = min(r["raw_tcp_MBps"] for r in rows) * MB if svm else None
        options = {"max_bandwidth": link} if link else {}
        qemu_rates = args.qemu_rates or (rates if svm else ",".join(map(str, qemu_migration.DEFAULT_RATES)))
        qemu_rows = qemu_migration.run_qemu_migration_bench(
            rates=[int(r) for r in qemu_rates.split(",")], **options)
        print()
        qemu_title = "QEMU 7.2 TCG live migration, 64 MiB guest, loopback"
        if link:
            qemu_title += ", max-bandwidth %.1f MB/s (Ferry's link)" % (link / MB)
        print(qemu_migration.format_table(qemu_rows, title=qemu_title))
    print("benchmark time: %.1f s" % (time.monotonic() - start))
    if args.json:
        print(json.dumps({"ferry": rows, "qemu": qemu_rows}, indent=2))
    ok = all(r["status"] == "completed" and r["guest_resumed"] for r in rows)
    return 0 if ok and all(r["status"] == "completed" for r in qemu_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
