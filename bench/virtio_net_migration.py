#!/usr/bin/env python3
"""What a client sees of a live migration: Ferry's beside QEMU's, the same Debian guest
with virtio-net, the same lab, one run (issue 15's second benchmark).

Both halves run on the network lab's bridge (tests/harness/netlab.py, needs root) with the
guest at 198.18.0.50 (MAC 52:54:00:18:01:50, 128 MiB) serving an echo (busybox `nc` through
a FIFO). The client streams seeded bytes through it (tests/harness/stream_probe.py: paced
2 KiB writes, every byte checked) and pings it every 10 ms while the guest moves A -> B and
back; each move is followed by a few seconds of quiet.

  ferry  two Ferry hosts under QEMU TCG with AMD-V (tap0, tap1) whose TSC rates agree;
         `migrate lx` each way; downtime as the source and the destination report it.
  qemu   two QEMU TCG processes running the guest directly (`-M microvm` with ACPI, the
         oracle's platform: tests/harness/linux_oracle.py) on qtap0 and qtap1; `migrate`
         over QMP on the namespace's loopback, `max-bandwidth` capped at the throughput
         Ferry's first migration had, `downtime-limit` 50 ms (Ferry's target), and
         auto-converge on (QEMU's throttle, as Ferry throttles); downtime as QEMU reports
         it. QEMU never gives up by itself: a move still running after 300 s is
         cancelled and reported as not converged, the guest running on where it was.
         The guest's card is QEMU's virtio-net-device; QEMU announces the guest's MAC
         after the move (self-announce), as Ferry sends RARP.

Per move: the downtime the hosts report, the longest run of lost pings (as ms: 10 ms
apart), the longest silence of the echo stream, and whether the stream came through
intact (no reset, every byte back, none different). The emulators set the absolute
figures; the two halves ran on the same machine and link, side by side.

`make bench-virtio-net-migration`, or `python3 bench/virtio_net_migration.py [--json]
[--only ferry|qemu] [--bandwidth-mbps N]`.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from harness import netns  # noqa: E402
from harness.linux_nic import agreeing_linux_hosts, guest_with_nic  # noqa: E402
from harness.linux_oracle import QemuLinux, host_tsc_khz  # noqa: E402
from harness.machine import ConsoleTimeout, free_port  # noqa: E402
from harness.migration import parse_report  # noqa: E402
from harness.netlab import PREFIX, NetLab  # noqa: E402
from harness.paths import LINUX_INITRD, LINUX_KERNEL  # noqa: E402
from harness.stream_probe import PING_EVERY_10_MS, EchoStream, ping_gaps, stop_ping  # noqa: E402
from qemu_migration import FINAL_STATES, Qmp  # noqa: E402

GUEST_MAC = "52:54:00:18:01:50"
GUEST_IP = "198.18.0.50"
GUEST_MIB = 128
ECHO_PORT = 5000
BOOT_S = 300
MIGRATE_S = 900
QEMU_MIGRATE_S = 300     # QEMU's migration is cancelled after this: it does not give up by itself
PROGRESS_S = 10
SHELL_S = 30
SETTLE_S = 3             # streaming before the first move, and between moves
QUIET_S = 5              # after the last move, before the stream is stopped
DOWNTIME_LIMIT_MS = 50   # Ferry's default downtime target (docs/migration.md)
PING_INTERVAL_MS = 10
# The oracle's command line (tests/test_linux_oracle.py), for QEMU's guest.
QEMU_CMDLINE = ("console=ttyS0 nokaslr tsc=reliable 8250.nr_uarts=1 tsc_early_khz=%d")
# `& true`: the shells' wrappers append `; echo MARKER`, and `cmd &;` is no sh.
ECHO_SERVER = ("rm -f /tmp/f; mkfifo /tmp/f", "cat /tmp/f | nc -l -p %d > /tmp/f & true" % ECHO_PORT)


def connect_when_listening(lab, timeout=60):
    """The client's connection to the guest's echo server, once its nc listens (it was
    started in the background a moment ago)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with netns.inside(lab.ns):
                return socket.create_connection((GUEST_IP, ECHO_PORT), timeout=timeout)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


class Probe:
    """The client's echo stream and pings around the moves of one half."""

    def __init__(self, lab):
        self.lab = lab
        sock = connect_when_listening(lab)
        self.stream = EchoStream(sock)
        self.stream.start()
        self.ping = lab.popen(PING_EVERY_10_MS + [GUEST_IP], stdout=subprocess.PIPE, text=True)
        self.marks = []

    def mark(self):
        """How many bytes had come back, before and after each move."""
        self.marks.append(len(self.stream.received))

    def finish(self):
        time.sleep(QUIET_S)
        out = stop_ping(self.ping)
        self.stream.finish()
        sent, got, longest = ping_gaps(out)
        return {"stream_bytes_back_at_moves": self.marks, "pings_sent": sent, "pings_lost": sent - got, "longest_ping_gap_ms": longest * PING_INTERVAL_MS,
                "stream_longest_silence_ms": round(self.stream.longest_gap_s * 1000),
                "stream_bytes": len(self.stream.sent), "stream_bytes_back": len(self.stream.received),
                "stream_intact": self.stream.intact,
                "stream_error": self.stream.error, "stream_mismatch_at": self.stream.mismatch_at}


# ---- Ferry ------------------------------------------------------------------------------------
def ferry_move(src, dst, dest_ip):
    start = len(dst.output)
    out = src.cmd("migrate lx %s" % dest_ip, timeout=MIGRATE_S)
    report = parse_report(out)
    if report["outcome"] != "completed":
        raise RuntimeError("Ferry's migration did not complete: %s" % out[-3000:])
    dst.search(r"incoming migration of lx: running here", start, timeout=120)
    return {"downtime_source_ms": float(report["downtime_source_ms"]),
            "downtime_dest_ms": float(report["downtime_dest_ms"]),
            "downtime_floor_ms": float(report["downtime_floor_ms"]),
            "rounds": int(report["rounds"]), "total_bytes": int(report["total_bytes"]),
            "max_throttle_pct": int(report["max_throttle_pct"]),
            "throughput_kbps": int(report["throughput_kbps"])}


def run_ferry(lab):
    hosts = agreeing_linux_hosts(lab)
    if hosts is None:
        raise RuntimeError("the two Ferry hosts' TSC calibrations never agreed")
    a, b = hosts
    try:
        shell, _ = guest_with_nic(a, "lx", GUEST_MAC, GUEST_IP)
        shell.attach()
        for command in ECHO_SERVER:
            shell.run(command)
        shell.detach()
        if not lab.wait_ping(GUEST_IP, 120):
            raise RuntimeError("Ferry's guest never answered the client")
        probe = Probe(lab)
        time.sleep(SETTLE_S)
        moves = []
        for src, dst, index in ((a, b, 1), (b, a, 0)):
            probe.mark()
            moves.append(ferry_move(src, dst, lab.host_ip(index)))
            probe.mark()
            time.sleep(SETTLE_S)
        return {"moves": moves, **probe.finish()}
    finally:
        a.close()
        b.close()


# ---- QEMU -------------------------------------------------------------------------------------
class QemuGuest:
    """One QEMU running the Debian guest on a tap of the lab, with a QMP socket; with
    `incoming`, waiting for a migration on the namespace's loopback port."""

    def __init__(self, lab, tap, name, incoming=None):
        self.qmp_path = os.path.join(lab.workdir, "%s.qmp" % name)
        args = ["-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % tap,
                "-device", "virtio-net-device,netdev=n0,mac=%s" % GUEST_MAC,
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]
        if incoming:
            args += ["-incoming", "tcp:127.0.0.1:%d" % incoming]
        self.vm = QemuLinux(LINUX_KERNEL, LINUX_INITRD, QEMU_CMDLINE % host_tsc_khz(), memory_mib=GUEST_MIB,
                            extra_args=args, name=name, netns=lab.ns)
        self.vm.start()
        self.qmp = Qmp(self.qmp_path, alive=lambda: self.vm.proc.poll() is None)

    def close(self):
        self.qmp.close()
        self.vm.close()


def qemu_move(src, port, bandwidth_bytes_per_s, name):
    """QEMU's migration from src to the destination listening on port: auto-converge on
    (QEMU's throttle, as Ferry throttles a guest that outruns the link), the bandwidth cap
    and Ferry's downtime target. Returns its figures; `status` says how it ended."""
    src.qmp.execute("migrate-set-capabilities", capabilities=[{"capability": "auto-converge", "state": True}])
    src.qmp.execute("migrate-set-parameters", **{"max-bandwidth": bandwidth_bytes_per_s,
                                                 "downtime-limit": DOWNTIME_LIMIT_MS})
    src.qmp.execute("migrate", uri="tcp:127.0.0.1:%d" % port)
    deadline = time.monotonic() + QEMU_MIGRATE_S
    next_progress = time.monotonic() + PROGRESS_S
    max_throttle = 0
    while True:
        info = src.qmp.execute("query-migrate")
        ram = info.get("ram", {})
        max_throttle = max(max_throttle, info.get("cpu-throttle-percentage", 0))
        if info.get("status") in FINAL_STATES:
            break
        if time.monotonic() > next_progress:
            next_progress += PROGRESS_S
            print("[qemu] %s: %s, %.1f MB sent, round %s, throttle %s%%" % (
                name, info.get("status"), ram.get("transferred", 0) / 1e6, ram.get("dirty-sync-count"),
                info.get("cpu-throttle-percentage", 0)), file=sys.stderr, flush=True)
        if time.monotonic() > deadline:
            src.qmp.execute("migrate_cancel")
            info = dict(info, status="did not converge in %d s (cancelled)" % QEMU_MIGRATE_S)
            break
        time.sleep(0.1)
    return {"status": info["status"], "downtime_ms": info.get("downtime"), "total_ms": info.get("total-time"),
            "rounds": ram.get("dirty-sync-count"), "total_bytes": ram.get("transferred", 0),
            "throttle_pct": max_throttle}


def run_qemu(lab, bandwidth_bytes_per_s):
    for tap in ("qtap0", "qtap1"):
        lab.add_tap(tap)
    guests = []
    try:
        a = QemuGuest(lab, "qtap0", "qemu-a")
        guests.append(a)
        a.vm.expect(r"ferry-guest: ready", BOOT_S)
        a.vm.shell("ip link set eth0 up && ip addr add %s/%d dev eth0" % (GUEST_IP, PREFIX))
        for command in ECHO_SERVER:
            a.vm.shell(command)
        if not lab.wait_ping(GUEST_IP, 120):
            raise RuntimeError("QEMU's guest never answered the client")
        probe = Probe(lab)
        time.sleep(SETTLE_S)
        moves = []
        src = a
        for tap, name, move in (("qtap1", "qemu-b", "A->B"), ("qtap0", "qemu-a2", "B->A")):
            port = free_port(lab.ns)
            dst = QemuGuest(lab, tap, name, incoming=port)
            guests.append(dst)
            probe.mark()
            moves.append(qemu_move(src, port, bandwidth_bytes_per_s, move))
            probe.mark()
            if moves[-1]["status"] != "completed":
                break   # the guest runs on where it was; what the client saw is still measured
            src.close()   # paused after the move, as QEMU leaves it; its tap goes quiet
            guests.remove(src)
            src = dst
            time.sleep(SETTLE_S)
        result = {"moves": moves, **probe.finish()}
        if not result["stream_intact"]:
            # The guest's side of the connection, for the record (busybox netstat), if its
            # shell answers at all.
            try:
                result["guest_netstat"] = src.vm.shell("netstat -tn; ps | grep -v grep | grep -E 'nc|cat'",
                                                       timeout=SHELL_S)
            except ConsoleTimeout:
                result["guest_netstat"] = "(the guest's shell did not answer on its console in %d s)" % SHELL_S
        return result
    finally:
        for g in guests:
            g.close()


# ---- the table ------------------------------------------------------------------------------
def print_rows(result):
    print("%-6s %-5s %-10s %8s %8s %8s %7s %8s %9s" % ("HV", "MOVE", "status", "down_ms", "floor_ms",
                                                      "rounds", "MB", "sent/RAM", "throttle%"))
    for hv in ("ferry", "qemu"):
        if hv not in result:
            continue
        for name, move in zip(("A->B", "B->A"), result[hv]["moves"]):
            down = move.get("downtime_source_ms", move.get("downtime_ms"))
            floor = move.get("downtime_floor_ms")
            print("%-6s %-5s %-10s %8s %8s %8s %7.1f %8.2f %9s" % (
                hv, name, move.get("status", "completed")[:10], "-" if down is None else "%.1f" % down,
                "-" if floor is None else "%.1f" % floor, move["rounds"], move["total_bytes"] / 1e6,
                move["total_bytes"] / (GUEST_MIB << 20), move.get("throttle_pct", move.get("max_throttle_pct", "-"))))
        for move in result[hv]["moves"]:
            if move.get("status", "completed") != "completed":
                print("%-6s status: %s" % (hv, move["status"]))
    print()
    print("%-6s %11s %10s %16s %18s %14s" % ("HV", "pings_sent", "pings_lost", "longest_gap_ms",
                                               "stream_silence_ms", "stream_intact"))
    for hv in ("ferry", "qemu"):
        if hv in result:
            r = result[hv]
            print("%-6s %11d %10d %16d %18d %14s" % (hv, r["pings_sent"], r["pings_lost"], r["longest_ping_gap_ms"],
                                                     r["stream_longest_silence_ms"],
                                                     "yes" if r["stream_intact"] else "NO (%s)" % (
                                                         r["stream_error"] or "mismatch at %s" % r["stream_mismatch_at"])))
    for hv in ("ferry", "qemu"):
        if hv in result:
            r = result[hv]
            print("%-6s stream: %d bytes sent, %d back; back before/after each move: %s"
                  % (hv, r["stream_bytes"], r["stream_bytes_back"], r["stream_bytes_back_at_moves"]))
            if "guest_netstat" in r:
                print("%-6s the guest's side afterwards:\n%s" % (hv, r["guest_netstat"].rstrip()))
    if "bandwidth_bytes_per_s" in result:
        print("\nQEMU's max-bandwidth: %.2f MB/s (Ferry's first migration's throughput)"
              % (result["bandwidth_bytes_per_s"] / 1e6))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("ferry", "qemu"))
    ap.add_argument("--bandwidth-mbps", type=float,
                    help="QEMU's max-bandwidth in MB/s (default: Ferry's measured throughput)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = {}
    bandwidth = int(args.bandwidth_mbps * 1e6) if args.bandwidth_mbps else None
    if args.only != "qemu":
        with NetLab() as lab:
            result["ferry"] = run_ferry(lab)
        bandwidth = bandwidth or result["ferry"]["moves"][0]["throughput_kbps"] * 1000   # KB/s (report.h)
    if args.only != "ferry":
        bandwidth = bandwidth or 4 * 1000 * 1000
        result["bandwidth_bytes_per_s"] = bandwidth
        with NetLab() as lab:
            result["qemu"] = run_qemu(lab, bandwidth)
    if args.json:
        print(json.dumps(result))
    else:
        print_rows(result)


if __name__ == "__main__":
    main()
