#!/usr/bin/env python3
"""TCP throughput of a Debian guest's virtio-net card beside Ferry's own netbench, on the
same link, in one run (issue 15's first benchmark).

One Ferry host under QEMU TCG with AMD-V on the lab's bridge (tests/harness/netlab.py,
needs root), a Linux guest `lx` with `mac=` (198.18.0.50). Each figure is the Linux
client's measurement (tests/netbench_peer.py: bytes over the seconds from accept or
connect to EOF), MIB MiB each:

    guest_to_client   busybox `dd if=/dev/zero | nc` in the guest -> the client
    client_to_guest   the client -> `nc -l > /dev/null` in the guest
    ferry_to_client   Ferry's `netbench send` -> the client (Ferry's own stack, same NIC)
    client_to_ferry   the client -> Ferry's `netbench recv`

and the ratios guest/ferry each way. The emulator sets the absolute figures; the ratios
are what compares (docs/virtio-net.md). Standalone: `make bench-virtio-net`, or
`python3 bench/virtio_net.py [--mib 8] [--json]`.
"""
import argparse
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from harness.linux_nic import guest_with_nic, linux_host  # noqa: E402
from harness.netlab import BRIDGE_IP, NetLab  # noqa: E402

PEER = os.path.join(ROOT, "tests", "netbench_peer.py")
GUEST_MAC = "52:54:00:18:01:50"
GUEST_IP = "198.18.0.50"
PORT = 5001
GUEST_PORT = 5003


def peer_recv(lab):
    p = lab.popen([sys.executable, PEER, "recv", "--port", str(PORT)], stdout=-1, stderr=-1, text=True)
    assert p.stderr.readline().strip() == "ready"
    return p


def run(mib):
    with NetLab() as lab:
        host = linux_host(lab, 0)
        try:
            shell, _ = guest_with_nic(host, "lx", GUEST_MAC, GUEST_IP)
            rows = {}
            p = peer_recv(lab)
            shell.attach()
            shell.run("dd if=/dev/zero bs=65536 count=%d 2>/dev/null | nc %s %d" % (mib * 16, BRIDGE_IP, PORT),
                      timeout=120 + 30 * mib)
            rows["guest_to_client"] = json.loads(p.communicate(timeout=120)[0])["mb_per_s"]
            shell.run("nc -l -p %d < /dev/null > /dev/null &" % GUEST_PORT)
            shell.detach()
            out = lab.run([sys.executable, PEER, "send", "%s:%d" % (GUEST_IP, GUEST_PORT), str(mib)],
                          timeout=120 + 30 * mib)
            rows["client_to_guest"] = json.loads(out.stdout)["mb_per_s"]
            p = peer_recv(lab)
            host.cmd("netbench send %s %d" % (BRIDGE_IP, mib), timeout=120 + 10 * mib)
            rows["ferry_to_client"] = json.loads(p.communicate(timeout=120)[0])["mb_per_s"]
            host.send_raw(b"netbench recv\r")
            host.expect(r"listening on port 5001", timeout=30)
            out = lab.run([sys.executable, PEER, "send", lab.host_ip(0), str(mib)], timeout=120 + 10 * mib)
            rows["client_to_ferry"] = json.loads(out.stdout)["mb_per_s"]
            host.wait_prompt(timeout=60)
        finally:
            host.close()
    rows["ratio_out"] = rows["guest_to_client"] / rows["ferry_to_client"]
    rows["ratio_in"] = rows["client_to_guest"] / rows["client_to_ferry"]
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = run(args.mib)
    if args.json:
        print(json.dumps(rows))
        return
    print("%-16s %10s" % ("PATH", "MB/s"))
    for k in ("guest_to_client", "ferry_to_client", "client_to_guest", "client_to_ferry"):
        print("%-16s %10.2f" % (k, rows[k]))
    print("guest/ferry out=%.2f in=%.2f (%d MiB each, same link, same run)"
          % (rows["ratio_out"], rows["ratio_in"], args.mib))


if __name__ == "__main__":
    main()
