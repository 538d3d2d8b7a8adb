#!/usr/bin/env python3
"""TCP throughput over the network lab, side by side in one run (`make bench-net`).

    tests/bench/bench_net.py [--emulator qemu|bochs] [--mib 32] [--repeat 1]

Builds a lab (tests/harness/netlab.py; needs root), boots two Ferry hosts, and moves
the netbench stream (net/bench_stream.h) over the same Linux bridge:
  Linux -> Linux   the lab's bridge namespace to a veth peer namespace (the reference)
  Ferry -> Linux   Ferry's netbench send to the Python peer on the veth namespace
  Linux -> Ferry   the Python peer to Ferry's netbench recv
  Ferry -> Ferry   netbench between the two Ferry hosts
and prints a table of MB/s with each path's ratio to Linux -> Linux. Absolute figures
on shared machines are noise; the ratios, measured in one run, are the result. Every
transfer's checksum is compared at both ends; a mismatch fails the run.
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from harness.netlab import PEER_IP, NetLab, netlab_available  # noqa: E402

PEER = os.path.join(os.path.dirname(__file__), "..", "netbench_peer.py")
NETBENCH = re.compile(rb"netbench: (?:sent|received) bytes=(\d+) ms=\d+ mb_per_s=([\d.]+) "
                      rb"crc32=(0x[0-9a-f]{8})")


def peer_recv(lab, ns):
    p = lab.popen([sys.executable, PEER, "recv"], ns=ns, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True)
    assert p.stderr.readline().strip() == "ready"
    return p


def ferry_result(match):
    return int(match.group(1)), float(match.group(2)), match.group(3).decode()


def check(a, b, what):
    if a[0] != b[0] or a[2] != b[2]:
        raise SystemExit(f"{what}: the ends disagree: {a} vs {b}")


def linux_to_linux(lab, peer_ns, mib):
    p = peer_recv(lab, peer_ns)
    sent = json.loads(lab.run([sys.executable, PEER, "send", PEER_IP, str(mib)],
                              timeout=600).stdout)
    got = json.loads(p.communicate(timeout=600)[0])
    check((sent["bytes"], 0, sent["crc32"]), (got["bytes"], 0, got["crc32"]), "linux->linux")
    return got["mb_per_s"]


def ferry_to_linux(lab, peer_ns, ferry, mib):
    p = peer_recv(lab, peer_ns)
    out = ferry.cmd("netbench send %s %d" % (PEER_IP, mib), timeout=3600).encode()
    got = json.loads(p.communicate(timeout=600)[0])
    m = NETBENCH.search(out)
    if not m:
        raise SystemExit("ferry->linux failed: %s" % out.decode())
    sent = ferry_result(m)
    check(sent, (got["bytes"], 0, got["crc32"]), "ferry->linux")
    return sent[1]


def linux_to_ferry(lab, ferry, ferry_ip, mib):
    ferry.send_raw(b"netbench recv\r")
    ferry.expect(r"listening on port", timeout=60)
    sent = json.loads(lab.run([sys.executable, PEER, "send", ferry_ip, str(mib)],
                              timeout=3600).stdout)
    got = ferry_result(ferry.expect(NETBENCH.pattern, timeout=600))
    ferry.wait_prompt(timeout=60)
    check(got, (sent["bytes"], 0, sent["crc32"]), "linux->ferry")
    return got[1]


def ferry_to_ferry(sender, receiver, receiver_ip, mib):
    receiver.send_raw(b"netbench recv\r")
    receiver.expect(r"listening on port", timeout=60)
    out = sender.cmd("netbench send %s %d" % (receiver_ip, mib), timeout=3600).encode()
    got = ferry_result(receiver.expect(NETBENCH.pattern, timeout=600))
    receiver.wait_prompt(timeout=60)
    m = NETBENCH.search(out)
    if not m:
        raise SystemExit("ferry->ferry failed: %s" % out.decode())
    sent = ferry_result(m)
    check(sent, got, "ferry->ferry")
    return got[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--emulator", default="qemu", choices=("qemu", "bochs"))
    ap.add_argument("--mib", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=1, help="runs per path; the best counts")
    a = ap.parse_args()
    ok, why = netlab_available()
    if not ok:
        print("bench-net: skipped: " + why)
        return 0
    results = {}
    with NetLab() as lab:
        peer_ns = lab.linux_peer()
        with lab.ferry(0, emulator=a.emulator) as f0, lab.ferry(1, emulator=a.emulator) as f1:
            f0.wait_prompt(timeout=300)
            f1.wait_prompt(timeout=300)
            runs = [
                ("Linux -> Linux", lambda: linux_to_linux(lab, peer_ns, a.mib)),
                ("Ferry -> Linux", lambda: ferry_to_linux(lab, peer_ns, f0, a.mib)),
                ("Linux -> Ferry", lambda: linux_to_ferry(lab, f0, lab.host_ip(0), a.mib)),
                ("Ferry -> Ferry", lambda: ferry_to_ferry(f0, f1, lab.host_ip(1), a.mib)),
            ]
            for name, fn in runs:
                results[name] = max(fn() for _ in range(a.repeat))
    base = results["Linux -> Linux"]
    print()
    print("TCP throughput over one Linux bridge, %d MiB per transfer, Ferry under %s"
          % (a.mib, a.emulator))
    print("%-28s %10s %16s" % ("path", "MB/s", "ratio to Linux"))
    for name, mbps in results.items():
        print("%-28s %10.2f %16.4f" % (name, mbps, mbps / base if base else 0.0))
    print("%-28s %10s %16.4f" % ("Ferry->Ferry / Ferry->Linux", "",
                                 results["Ferry -> Ferry"] / results["Ferry -> Linux"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
