#!/usr/bin/env python3
"""TCP throughput of a Debian guest's virtio-net card beside Ferry's own netbench, on the
same link, in one run (issue 15's first benchmark).

One Ferry host under QEMU TCG with AMD-V on the lab's bridge (tests/harness/netlab.py,
needs root), a Linux guest `lx` with `mac=` (198.18.0.50). Each figure is the Linux
client's measurement (tests/netbench_peer.py, or the HTTP fetch below: bytes over the
seconds from connect or accept to EOF), MIB MiB each:

    guest_to_client   busybox `dd if=/dev/zero | nc` in the guest -> the client
                      (nc writes 1 KiB at a time: one frame, one notify a write)
    guest_http        the client fetches a file of random bytes from busybox httpd in the
                      guest (large writes, as a server's: full frames in batches; the MD5
                      is checked)
    client_to_guest   the client -> `nc -l > /dev/null` in the guest
    ferry_to_client   Ferry's `netbench send` -> the client (Ferry's own stack, same NIC)
    client_to_ferry   the client -> Ferry's `netbench recv`

The two guest-to-client rows differ only in how the guest's program writes: side by side
they show what sets the first one's figure (docs/virtio-net.md, "Throughput"). The ratios
are guest/ferry each way; the emulator sets the absolute figures. Standalone: `make bench-virtio-net`, or
`python3 bench/virtio_net.py [--mib 8] [--json]`.
"""
import argparse
import hashlib
import json
import os
import re
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
HTTP_PORT = 8080
# The client's side of the HTTP row: fetch, time from connect to EOF, MD5 of the body.
FETCH = r"""
import hashlib, json, socket, sys, time
t = time.monotonic()
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=300)
s.sendall(b"GET /f HTTP/1.0\r\n\r\n")
data = bytearray()
while chunk := s.recv(1 << 16):
    data.extend(chunk)
seconds = time.monotonic() - t
body = bytes(data[data.index(b"\r\n\r\n") + 4:])
print(json.dumps({"bytes": len(body), "mb_per_s": round(len(data) / seconds / 1e6, 2),
                  "md5": hashlib.md5(body).hexdigest()}))
"""


def peer_recv(lab):
    p = lab.popen([sys.executable, PEER, "recv", "--port", str(PORT)], stdout=-1, stderr=-1, text=True)
    assert p.stderr.readline().strip() == "ready"
    return p


def guest_to_client(lab, shell, mib):
    p = peer_recv(lab)
    shell.run("dd if=/dev/zero bs=65536 count=%d 2>/dev/null | nc %s %d" % (mib * 16, BRIDGE_IP, PORT),
              timeout=120 + 30 * mib)
    return json.loads(p.communicate(timeout=120)[0])["mb_per_s"]


def guest_http(lab, shell, mib, want_md5):
    out = lab.run([sys.executable, "-c", FETCH, GUEST_IP, str(HTTP_PORT)], timeout=120 + 30 * mib)
    got = json.loads(out.stdout)
    assert got["bytes"] == mib << 20 and got["md5"] == want_md5, got
    return got["mb_per_s"]


def counters(info):
    return {k: int(v) for k, v in re.findall(r"(tx_bytes|notifies)=(\d+)", info)}


def per_notify(info, before=None):
    """The guest's transmitted bytes a notify (an MMIO exit), since `before` (vminfo text)."""
    now, then = counters(info), counters(before) if before else {"tx_bytes": 0, "notifies": 0}
    return (now["tx_bytes"] - then["tx_bytes"]) / max(1, now["notifies"] - then["notifies"])


def run(mib):
    with NetLab() as lab:
        host = linux_host(lab, 0)
        try:
            shell, _ = guest_with_nic(host, "lx", GUEST_MAC, GUEST_IP)
            rows = {}
            shell.attach()
            out = shell.run("mkdir -p /www && dd if=/dev/urandom of=/www/f bs=65536 count=%d 2>/dev/null && "
                            "md5sum /www/f && httpd -p %d -h /www" % (mib * 16, HTTP_PORT), timeout=300)
            want_md5 = re.search(r"\b([0-9a-f]{32})\b", out).group(1)
            rows["guest_to_client"] = guest_to_client(lab, shell, mib)
            shell.detach()
            info = host.cmd("vminfo lx")
            rows["nc_bytes_per_notify"] = per_notify(info)
            rows["guest_http"] = guest_http(lab, shell, mib, want_md5)
            rows["http_bytes_per_notify"] = per_notify(host.cmd("vminfo lx"), info)
            shell.attach()
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
    for k in ("guest_to_client", "guest_http"):
        rows["ratio_" + k] = rows[k] / rows["ferry_to_client"]
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
    print("%-18s %8s %8s %14s" % ("PATH", "MB/s", "/ferry", "bytes/notify"))
    for k, ref, bpn in (("guest_to_client", "ferry_to_client", "nc_bytes_per_notify"),
                        ("guest_http", "ferry_to_client", "http_bytes_per_notify"),
                        ("ferry_to_client", None, None), ("client_to_guest", "client_to_ferry", None),
                        ("client_to_ferry", None, None)):
        ratio = "%8.3f" % (rows[k] / rows[ref]) if ref else "%8s" % ""
        per = "%14.0f" % rows[bpn] if bpn else ""
        print("%-18s %8.2f %s %s" % (k, rows[k], ratio, per))
    print("guest/ferry out: nc %.3f, http %.3f; in %.3f (%d MiB each, same link, same run)"
          % (rows["ratio_guest_to_client"], rows["ratio_guest_http"], rows["ratio_in"], args.mib))


if __name__ == "__main__":
    main()
