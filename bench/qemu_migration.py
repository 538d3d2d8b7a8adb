#!/usr/bin/env python3
"""QEMU's own live migration of a 64 MiB TCG guest: the reference beside Ferry's.

For each write rate (pages per second) this starts a source QEMU running the dirty guest
(tests/bench/qemu_dirty_guest/, built as build/bench/qemu_dirty_guest.elf) and a
destination QEMU waiting with `-incoming tcp:127.0.0.1:PORT`, sets the downtime target
and an unlimited bandwidth over QMP, migrates, polls `query-migrate` until the migration
ends, checks that the guest runs on at the destination, and measures the raw TCP
throughput of the same loopback just before, so that

    throughput_ratio = migration throughput / raw TCP throughput

compares with Ferry's ratio over `netbench` on its own link.

    rows = run_qemu_migration_bench(rates=(0, 5000, 20000))   # a list of dicts
    print(format_table(rows))

Standalone: `make bench-qemu-migration`, or `python3 bench/qemu_migration.py
--rates 0,5000,20000 [--json]`. docs/benchmarks.md describes every figure.

QMP is spoken over a Unix socket with the standard library only. Every QEMU runs in its
own process group and is killed with it whatever happens; the work folder is removed
(kept when FERRY_KEEP_LOGS=1).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DIRTY_GUEST = os.path.join(ROOT, "build", "bench", "qemu_dirty_guest.elf")

MIB = 1024 * 1024
MB = 1000 * 1000                   # throughputs are in MB/s (10^6 bytes per second)
GUEST_MIB = 64
DOWNTIME_TARGET_MS = 50            # Ferry's default `migrate ... downtime=` target
UNLIMITED_BANDWIDTH = 1 << 40      # bytes/s: far above any loopback
DEFAULT_RATES = (0, 5000, 20000)   # pages/s: idle, moderate, high
RAW_TCP_BYTES = 256 * MIB
WARMUP_S = 2.0                     # the guest writes this long before the migration starts
MIGRATION_TIMEOUT_S = 120.0
POLL_S = 0.05
BOOT_TIMEOUT_S = 30.0
RESUME_TIMEOUT_S = 5.0

READY = re.compile(r"dirty_guest: ready rate=(\d+) pages=(\d+) tsc_hz=(\d+)")
PROGRESS = re.compile(r"dirty_guest: seconds=(\d+) written=(\d+) pass=(\d+) sweeps=(\d+) corrupt=(\d+)")
VERIFY_WAIT_S = 30.0   # two sweeps of the guest's verifier (about 3.6 s each) on a busy machine
FINAL_STATES = ("completed", "failed", "cancelled")


class QmpError(RuntimeError):
    """QEMU answered a QMP command with an error, or the monitor went away."""


class Qmp:
    """A QMP client over a Unix socket: execute() returns the command's `return` value."""

    def __init__(self, path, timeout=BOOT_TIMEOUT_S, alive=lambda: True):
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline or not alive():
                    raise QmpError(f"no QMP monitor at {path}")
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.buffer = b""
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise QmpError(f"not a QMP greeting: {greeting}")
        self.execute("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise QmpError("QMP monitor closed")
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, **arguments):
        message = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.sock.sendall(json.dumps(message).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
            elif "error" in reply:
                raise QmpError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            elif "return" in reply:
                return reply["return"]

    def close(self):
        self.sock.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu_argv(kernel, rate, memory_mib, serial_path, qmp_path, incoming_port=None):
    """The command line of either end: identical but for -incoming on the destination."""
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-m", str(memory_mib),
            "-nodefaults", "-no-user-config", "-display", "none",
            "-kernel", kernel, "-append", f"rate={rate}",
            "-serial", f"file:{serial_path}",
            "-qmp", f"unix:{qmp_path},server=on,wait=off"]
    if incoming_port is not None:
        argv += ["-incoming", f"tcp:127.0.0.1:{incoming_port}"]
    return argv


class QemuProcess:
    """One QEMU in its own process group, with its serial output in a file."""

    def __init__(self, workdir, name, argv_for):
        self.name = name
        self.serial_path = os.path.join(workdir, f"{name}.serial")
        self.qmp_path = os.path.join(workdir, f"{name}.qmp")
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.argv = argv_for(self.serial_path, self.qmp_path)
        self.proc = None
        self.qmp = None

    def start(self):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.qmp = Qmp(self.qmp_path, alive=lambda: self.proc.poll() is None)

    def serial(self):
        try:
            with open(self.serial_path, encoding="latin-1") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log(self):
        try:
            with open(self.log_path, encoding="latin-1") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_serial(self, pattern, timeout, after=None):
        """The first match of `pattern` in the serial output (for which `after` holds)."""
        deadline = time.monotonic() + timeout
        while True:
            for match in pattern.finditer(self.serial()):
                if after is None or after(match):
                    return match
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} QEMU exited ({self.proc.returncode}):\n"
                                   f"{self.log()}\n{self.serial()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: no {pattern.pattern!r} on the serial port "
                                   f"within {timeout} s:\n{self.serial()}")
            time.sleep(0.1)

    def close(self):
        if self.qmp:
            self.qmp.close()
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc:
            self.proc.wait()


def measure_raw_tcp(nbytes=RAW_TCP_BYTES, chunk=MIB):
    """Bytes per second of one TCP stream pushing `nbytes` over 127.0.0.1."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    received = [0]
    done = threading.Event()

    def receive():
        conn, _ = listener.accept()
        with conn:
            buffer = bytearray(chunk)
            view = memoryview(buffer)
            while received[0] < nbytes:
                n = conn.recv_into(view)
                if not n:
                    break
                received[0] += n
        done.set()

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    payload = os.urandom(chunk)
    try:
        with socket.create_connection(listener.getsockname()) as sender:
            start = time.perf_counter()
            sent = 0
            while sent < nbytes:
                sender.sendall(payload[:min(chunk, nbytes - sent)])
                sent += min(chunk, nbytes - sent)
            done.wait(60)
            elapsed = time.perf_counter() - start
    finally:
        listener.close()
    if received[0] != nbytes:
        raise RuntimeError(f"raw TCP: received {received[0]} of {nbytes} bytes")
    return nbytes / elapsed


def _figures(info, rate, memory_mib, raw_tcp_bytes_per_s):
    """A row of figures from QEMU's final query-migrate answer."""
    ram = info.get("ram", {})
    guest_ram = memory_mib * MIB
    total_ms = info.get("total-time")
    downtime_ms = info.get("downtime")
    transferred = ram.get("transferred", 0)
    throughput = transferred / (total_ms / 1000) if total_ms else 0.0
    return {
        "rate_pages_per_s": rate,
        "status": info.get("status"),
        "rounds": ram.get("dirty-sync-count"),
        "total_time_ms": total_ms,
        "setup_time_ms": info.get("setup-time"),
        "downtime_ms": downtime_ms,
        "downtime_target_ms": DOWNTIME_TARGET_MS,
        "downtime_over_target": downtime_ms / DOWNTIME_TARGET_MS if downtime_ms is not None else None,
        "guest_ram_bytes": guest_ram,
        "ram_total_bytes": ram.get("total"),
        "ram_transferred_bytes": transferred,
        "normal_pages": ram.get("normal"),
        "normal_bytes": ram.get("normal-bytes"),
        "zero_pages": ram.get("duplicate"),
        "page_size": ram.get("page-size"),
        "precopy_bytes": ram.get("precopy-bytes"),
        "downtime_bytes": ram.get("downtime-bytes"),
        "qemu_mbps": ram.get("mbps"),
        "qemu_MBps": ram["mbps"] * 1e6 / 8 / MB if ram.get("mbps") is not None else None,
        "dirty_pages_rate": ram.get("dirty-pages-rate"),
        "throttle_percent": info.get("cpu-throttle-percentage", 0),
        "bytes_over_ram": transferred / guest_ram,
        "throughput_MBps": throughput / MB,
        "raw_tcp_MBps": raw_tcp_bytes_per_s / MB,
        "throughput_ratio": throughput / raw_tcp_bytes_per_s,
    }


def run_case(rate, kernel=DIRTY_GUEST, memory_mib=GUEST_MIB, warmup_s=WARMUP_S,
             timeout_s=MIGRATION_TIMEOUT_S, auto_converge=True, raw_tcp_bytes=RAW_TCP_BYTES,
             max_bandwidth=UNLIMITED_BANDWIDTH):
    """Migrates one guest writing `rate` pages/s; returns its row (see _figures).
    max_bandwidth (bytes/s) caps the migration, to match another link's rate."""
    if not os.path.exists(kernel):
        raise FileNotFoundError(f"{kernel}: run `make bench-guests` first")
    keep = os.environ.get("FERRY_KEEP_LOGS") == "1"
    workdir = tempfile.mkdtemp(prefix=f"qemu-migration-{rate}-")
    port = free_port()
    source = QemuProcess(workdir, "source", lambda serial, qmp: qemu_argv(
        kernel, rate, memory_mib, serial, qmp))
    destination = QemuProcess(workdir, "destination", lambda serial, qmp: qemu_argv(
        kernel, rate, memory_mib, serial, qmp, incoming_port=port))
    wall_start = time.monotonic()
    try:
        source.start()
        ready = source.wait_serial(READY, BOOT_TIMEOUT_S)
        destination.start()
        if destination.qmp.execute("query-status")["status"] != "inmigrate":
            raise RuntimeError("destination QEMU is not waiting for an incoming migration")
        time.sleep(warmup_s)

        raw = measure_raw_tcp(raw_tcp_bytes)
        source.qmp.execute("migrate-set-capabilities", capabilities=[
            {"capability": "auto-converge", "state": auto_converge}])
        source.qmp.execute("migrate-set-parameters", **{
            "downtime-limit": DOWNTIME_TARGET_MS, "max-bandwidth": int(max_bandwidth)})
        source.qmp.execute("migrate", uri=f"tcp:127.0.0.1:{port}")
        deadline = time.monotonic() + timeout_s
        while True:
            info = source.qmp.execute("query-migrate")
            if info.get("status") in FINAL_STATES:
                break
            if time.monotonic() > deadline:
                source.qmp.execute("migrate_cancel")
                info["status"] = "timeout"
                break
            time.sleep(POLL_S)

        row = _figures(info, rate, memory_mib, raw)
        row["max_bandwidth_MBps"] = max_bandwidth / MB if max_bandwidth < UNLIMITED_BANDWIDTH else None
        row["error"] = info.get("error-desc")
        row["guest_rate_pages_per_s"] = int(ready.group(1))
        row["guest_window_pages"] = int(ready.group(2))
        progress = list(PROGRESS.finditer(source.serial()))
        # What the guest really wrote per second before and during the migration.
        row["guest_achieved_pages_per_s"] = (
            int(progress[-1].group(2)) / int(progress[-1].group(1)) if progress else None)
        row["guest_resumed"] = False
        if info.get("status") == "completed":
            # Resumed, not restarted: the guest's seconds count goes on from where the
            # source stopped, on the destination's serial port.
            last = max([int(m.group(1)) for m in progress], default=0)
            try:
                destination.wait_serial(PROGRESS, RESUME_TIMEOUT_S,
                                        after=lambda m: int(m.group(1)) > last)
                row["guest_resumed"] = (destination.qmp.execute("query-status")["status"] == "running"
                                        and not READY.search(destination.serial()))
                row["guest_corrupt"] = pages_found_wrong(destination, last)
            except RuntimeError as exc:   # a row that says so beats a run that stops
                row["error"] = "not resumed: %s" % str(exc).splitlines()[0]
        row["wall_s"] = time.monotonic() - wall_start
        return row
    finally:
        source.close()
        destination.close()
        if keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def pages_found_wrong(destination, last_second_on_source):
    """The pages the guest found wrong once its verifier has swept the whole window on the
    destination at least once (two sweep counts past its first line there)."""
    first = destination.wait_serial(PROGRESS, RESUME_TIMEOUT_S,
                                    after=lambda m: int(m.group(1)) > last_second_on_source)
    swept = destination.wait_serial(PROGRESS, VERIFY_WAIT_S,
                                    after=lambda m: int(m.group(4)) >= int(first.group(4)) + 2)
    return int(swept.group(5))


def run_qemu_migration_bench(rates=DEFAULT_RATES, **options):
    """One row per write rate, in order; options as run_case()."""
    return [run_case(rate, **options) for rate in rates]


COLUMNS = (
    ("rate/s", "rate_pages_per_s", "{}"),
    ("status", "status", "{}"),
    ("rounds", "rounds", "{}"),
    ("bytes/RAM", "bytes_over_ram", "{:.3f}"),
    ("MB/s", "throughput_MBps", "{:.0f}"),
    ("raw MB/s", "raw_tcp_MBps", "{:.0f}"),
    ("QEMU MB/s", "qemu_MBps", "{:.0f}"),
    ("ratio", "throughput_ratio", "{:.3f}"),
    ("downtime ms", "downtime_ms", "{}"),
    ("target ms", "downtime_target_ms", "{}"),
    ("throttle %", "throttle_percent", "{}"),
    ("corrupt", "guest_corrupt", "{}"),
    ("total ms", "total_time_ms", "{}"),
)


def format_table(rows, title="QEMU 7.2 TCG live migration, 64 MiB guest, loopback"):
    """An aligned table of the rows' headline figures."""
    cells = [[header for header, _, _ in COLUMNS]]
    for row in rows:
        cells.append(["-" if row.get(key) is None else fmt.format(row[key])
                      for _, key, fmt in COLUMNS])
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = [title] if title else []
    for line in cells:
        lines.append("  ".join(cell.rjust(width) for cell, width in zip(line, widths)))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default=",".join(map(str, DEFAULT_RATES)),
                        help="write rates in pages/s, comma-separated (default %(default)s)")
    parser.add_argument("--memory", type=int, default=GUEST_MIB, help="guest MiB")
    parser.add_argument("--warmup", type=float, default=WARMUP_S,
                        help="seconds the guest writes before the migration")
    parser.add_argument("--no-auto-converge", action="store_true",
                        help="leave QEMU's auto-converge capability off")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args(argv)
    start = time.monotonic()
    rows = run_qemu_migration_bench(
        rates=[int(r) for r in args.rates.split(",")], memory_mib=args.memory,
        warmup_s=args.warmup, auto_converge=not args.no_auto_converge)
    print(format_table(rows))
    print(f"benchmark time: {time.monotonic() - start:.1f} s")
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0 if all(row["status"] == "completed" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
