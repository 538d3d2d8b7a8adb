"""A Debian guest's network card on Ferry (issue 15), in the network lab, on the AMD-V backend.

Two Ferry hosts under QEMU TCG (AMD-V with nested paging: seconds a boot) on the lab's
bridge (tests/harness/netlab.py: 198.18.0.1 is the Linux client, the hosts .10 and .11);
a Linux guest `lx` on host A created with `mac=`, so it gets virtio-net on a port of A's
virtual switch, configured by hand in its busybox shell with 198.18.0.50. The checks:

- the client pings the guest, the guest pings the client and Ferry's own address; a
  second guest `ly` on host B (198.18.0.51) is reached from `lx` across the wire, and
  from the same host once `lx` has moved to B;
- a TCP stream each way between the client and busybox `nc` in the guest, checksummed;
- `vminfo` shows the card and its port's counters, `net` the switch's table;
- live migration A to B and back while the client pings the guest every 10 ms and an
  echo stream through the guest (busybox nc with a FIFO) runs: the connection stays open
  with every byte intact, the bridge moves the guest's MAC to B's tap and back, the lost
  pings are counted and printed beside both hosts' downtime;
- hostile: frames sent from another MAC are dropped and counted; a guest flooding its
  transmit queue (fragmented 60 KB pings, four at once, to a MAC nobody has, and a TCP
  stream) while the client's pings to Ferry on its host
  and to the other guest are answered and both consoles answer; a driver that breaks
  the transport's rules stops its own device (needs-reset, with the reason) while Ferry
  and its network run on.

A migration needs both hosts to agree on the TSC rate (within 0.5%); QEMU TCG's
calibration drifts under load, so a host is booted again until they agree
(harness/linux_nic.py, agreeing_linux_hosts).
"""
import hashlib
import random
import re
import socket
import subprocess
import threading
import time

import pytest

from harness import netns
from harness.linux_guest import GuestShell
from harness.linux_nic import agreeing_linux_hosts, guest_with_nic
from harness.migration import parse_report
from harness.netlab import BRIDGE_IP, PREFIX, NetLab, netlab_available
from harness.paths import ROOT, linux_guest_missing
from harness.stream_probe import PING_EVERY_10_MS, EchoStream, ping_gaps, ping_summary, stop_ping

AVAILABLE, WHY = netlab_available()
pytestmark = [pytest.mark.netlab, pytest.mark.qemu,
              pytest.mark.skipif(not AVAILABLE, reason=WHY),
              pytest.mark.skipif(linux_guest_missing() is not None, reason=str(linux_guest_missing()))]

GUEST_MAC = "52:54:00:18:01:50"
GUEST_IP = "198.18.0.50"
PEER_MAC = "52:54:00:18:01:51"   # a second guest, `ly`, on host B
PEER_IP = "198.18.0.51"
ECHO_PORT = 5000
SEND_PORT = 5001
RECV_PORT = 5002
FLOOD_PORT = 5004
FLOOD_IP = "198.18.0.99"          # nobody's: the guest is given a static ARP entry for it
FLOOD_MAC = "52:54:00:18:09:99"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def lab(built):
    subprocess.run(["make", "-s", "-C", ROOT, "esp-linux"], check=True)
    with NetLab() as lab:
        hosts = agreeing_linux_hosts(lab)
        if hosts is None:
            pytest.skip("QEMU TCG's TSC calibration would not agree between two hosts")
        a, b = hosts
        try:
            shell, lab.created = guest_with_nic(a, "lx", GUEST_MAC, GUEST_IP)
            peer, _ = guest_with_nic(b, "ly", PEER_MAC, PEER_IP)
            lab.a, lab.b, lab.shell, lab.peer = a, b, shell, peer
            assert lab.wait_ping(GUEST_IP, 120), "the guest never answered the client"
            yield lab
        finally:
            for m in (a, b):
                m.close()


def guest(lab):
    """The host the guest runs on now, and a shell attached to it (detach when done)."""
    host = lab.shell.m
    lab.shell.attach()
    return host, lab.shell


def figures(text, prefix):
    line = next((l for l in text.splitlines() if l.startswith(prefix)), "")
    return {k: int(v) if v.isdigit() else v for k, v in re.findall(r"(\w+)=(\S+)", line)}


# ---- reachability ---------------------------------------------------------------------------
def test_create_gives_the_guest_its_card_on_the_switch(lab):
    assert re.search(r"created lx id=\d+ memory_mib=128 mac=%s" % GUEST_MAC, lab.created), lab.created
    host, shell = guest(lab)
    try:
        link = shell.run("ip link show eth0")
        irq = shell.run("grep virtio /proc/interrupts")
    finally:
        shell.detach()
    assert GUEST_MAC in link, link
    assert re.search(r"IO-APIC\s+16-edge\s+virtio0", irq), irq
    assert "[lx] ferry-guest: module virtio_net" in host.text()


def test_client_and_guest_ping_each_other(lab):
    out = lab.run(["ping", "-c", "5", "-i", "0.2", "-W", "2", GUEST_IP], check=False).stdout
    sent, got = ping_summary(out)
    assert got >= sent - 1, out
    host, shell = guest(lab)
    try:
        to_client = shell.run("ping -c 5 -W 2 %s" % BRIDGE_IP, timeout=60)
        to_ferry = shell.run("ping -c 3 -W 2 %s" % lab.host_ip(0), timeout=60)
    finally:
        shell.detach()
    assert ping_summary(to_client)[1] >= 4, to_client
    assert ping_summary(to_ferry)[1] >= 2, to_ferry


def test_a_guest_on_a_reaches_a_guest_on_b(lab):
    host, shell = guest(lab)
    try:
        out = shell.run("ping -c 5 -W 2 %s" % PEER_IP, timeout=60)
    finally:
        shell.detach()
    assert ping_summary(out)[1] >= 4, out


def connect(lab, port, timeout=60):
    """A TCP connection from the lab's client to the guest."""
    with netns.inside(lab.ns):
        return socket.create_connection((GUEST_IP, port), timeout=timeout)


def listen(lab, port):
    with netns.inside(lab.ns):
        return socket.create_server((BRIDGE_IP, port))


def test_tcp_streams_both_ways_arrive_intact(lab):
    data = random.Random(15).randbytes(MIB)
    want = hashlib.md5(data).hexdigest()
    received = bytearray()
    server = listen(lab, RECV_PORT)
    server.settimeout(180)

    def accept():
        conn, _ = server.accept()
        with conn:
            conn.settimeout(180)
            while chunk := conn.recv(65536):
                received.extend(chunk)

    host, shell = guest(lab)
    try:
        # Into the guest: busybox nc listens, the client sends. Its stdin is not the
        # console: a background job reading the terminal would stop (SIGTTIN) at the first
        # typed byte, and the stream with it.
        shell.run("nc -l -p %d < /dev/null > /tmp/in &" % SEND_PORT)
        time.sleep(1)
        t0 = time.monotonic()
        with connect(lab, SEND_PORT) as s:
            s.sendall(data)
        size, digest = "", ""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            size, digest = shell.run("wc -c < /tmp/in; md5sum /tmp/in | cut -d' ' -f1").split()[-2:]
            if size == str(len(data)):
                break
            time.sleep(1)
        print("[lab] 1 MiB into the guest in %.1f s" % (time.monotonic() - t0))
        assert (size, digest) == (str(len(data)), want)
        # Out of the guest: the client listens, the guest's nc sends the file back.
        t = threading.Thread(target=accept, daemon=True)
        t.start()
        shell.run("nc %s %d < /tmp/in; rm /tmp/in" % (BRIDGE_IP, RECV_PORT), timeout=180)
        t.join(120)
    finally:
        shell.detach()
        server.close()
    assert len(received) == len(data) and hashlib.md5(received).hexdigest() == want, len(received)


def test_vminfo_and_net_show_the_card_and_the_switch(lab):
    host = lab.shell.m
    info = host.cmd("vminfo lx")
    nic = figures(info, "nic: mac=")
    assert nic["mac"] == GUEST_MAC and nic["status"] == "running" and nic["port"] != "none", info
    counters = figures(info, "nic: rx_frames=")
    assert counters["rx_frames"] > 0 and counters["tx_frames"] > 0, info
    port = figures(info, "port: ")
    assert port["frames_in"] > 0 and port["drop_spoofed"] == 0, info
    assert re.search(r"^nic_drops: rx_stopped=\d+ rx_paused=\d+ rx_no_buffer=\d+", info, re.M), info
    table = host.cmd("net")
    assert re.search(r"^switch mac=%s port=\d+ pinned$" % GUEST_MAC, table, re.M), table
    assert re.search(r"^switch mac=\S+ port=uplink age_ms=\d+$", table, re.M), table


# ---- live migration under load ----------------------------------------------------------------
def migrate(src, dst, dest_index, lab):
    start = len(dst.output)
    out = src.cmd("migrate lx %s" % lab.host_ip(dest_index), timeout=900)
    report = parse_report(out)
    assert report["outcome"] == "completed", out[-3000:]
    dst.search(r"incoming migration of lx: running here", start, timeout=120)
    return report


def wait_fdb(lab, tap, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.fdb_port_of(GUEST_MAC) == tap:
            return True
        time.sleep(0.2)
    return False


def test_live_migration_there_and_back_keeps_the_tcp_stream(lab):
    a, b = lab.a, lab.b
    assert lab.shell.m is a
    shell = lab.shell
    shell.attach()
    try:
        shell.run("rm -f /tmp/f; mkfifo /tmp/f")
        shell.run("cat /tmp/f | nc -l -p %d > /tmp/f &" % ECHO_PORT)
    finally:
        shell.detach()
    time.sleep(1)
    stream = EchoStream(connect(lab, ECHO_PORT))
    stream.start()
    ping = lab.popen(PING_EVERY_10_MS + [GUEST_IP], stdout=subprocess.PIPE, text=True)
    time.sleep(3)
    there = migrate(a, b, 1, lab)
    lab.shell = GuestShell(b, "lx")
    moved_to_b = wait_fdb(lab, "tap1")
    # Two guests on one host now: B's switch forwards between their ports.
    lab.peer.attach()
    try:
        same_host = lab.peer.run("ping -c 5 -W 2 %s" % GUEST_IP, timeout=60)
    finally:
        lab.peer.detach()
    time.sleep(2)
    back = migrate(b, a, 0, lab)
    lab.shell = GuestShell(a, "lx")
    moved_to_a = wait_fdb(lab, "tap0")
    time.sleep(5)
    ping_out = stop_ping(ping)
    stream.finish()
    sent, got, longest = ping_gaps(ping_out)
    print("[lab] pings every 10 ms: %d sent, %d lost, longest gap %d pings (%d ms)"
          % (sent, sent - got, longest, longest * 10))
    print("[lab] echo stream: %d bytes sent, %d back, longest silence %.0f ms"
          % (len(stream.sent), len(stream.received), stream.longest_gap_s * 1000))
    for name, r in (("A->B", there), ("B->A", back)):
        print("[lab] %s: downtime source %s ms, destination %s ms, rounds %s"
              % (name, r.get("downtime_source_ms"), r.get("downtime_dest_ms"), r.get("rounds")))
    assert moved_to_b and moved_to_a, lab.fdb()
    assert ping_summary(same_host)[1] >= 4, same_host
    assert stream.error is None, stream.error
    assert stream.mismatch_at is None, "echoed bytes differ from byte %d" % stream.mismatch_at
    assert len(stream.received) == len(stream.sent) > 0
    assert got > 0
    info = a.cmd("vminfo lx")
    assert figures(info, "nic: mac=")["status"] == "running", info
    assert "lx" not in b.cmd("list")


# ---- hostile guests ------------------------------------------------------------------------
def test_frames_from_another_mac_are_dropped_and_counted(lab):
    host, shell = guest(lab)
    try:
        shell.run("ip link set eth0 down; ip link set eth0 address 52:54:00:18:01:99; ip link set eth0 up")
        shell.run("ping -c 3 -W 1 %s" % BRIDGE_IP, timeout=60)
        shell.run("ip link set eth0 down; ip link set eth0 address %s; ip link set eth0 up" % GUEST_MAC)
    finally:
        shell.detach()
    info = host.cmd("vminfo lx")
    assert figures(info, "port: ")["drop_spoofed"] > 0, info
    assert lab.fdb_port_of("52:54:00:18:01:99") is None, lab.fdb()
    assert lab.wait_ping(GUEST_IP, 60), "the guest is unreachable with its own MAC back"


def test_a_guest_flooding_its_transmit_queue_starves_nothing(lab):
    host = lab.shell.m
    before = figures(host.cmd("vminfo lx"), "nic: rx_frames=")
    server = listen(lab, FLOOD_PORT)
    server.settimeout(120)
    sunk = [0]

    def sink():
        conn, _ = server.accept()
        with conn:
            conn.settimeout(120)
            while chunk := conn.recv(1 << 16):
                sunk[0] += len(chunk)

    t = threading.Thread(target=sink, daemon=True)
    t.start()
    host, shell = guest(lab)
    try:
        # Fragmented pings queue 41 frames each with no flow control, beside a TCP stream.
        shell.run("arp -s %s %s && for i in 1 2 3 4; do ping -q -s 60000 -i 0.01 %s > /dev/null 2>&1 & done"
                  % (FLOOD_IP, FLOOD_MAC, FLOOD_IP))
        shell.run("dd if=/dev/zero bs=65536 count=512 2>/dev/null | nc %s %d > /dev/null 2>&1 &"
                  % (BRIDGE_IP, FLOOD_PORT))
    finally:
        shell.detach()
    try:
        time.sleep(2)
        pings = [lab.popen(["ping", "-c", "30", "-i", "0.1", "-W", "1", ip], stdout=subprocess.PIPE, text=True)
                 for ip in (lab.host_ip(0), PEER_IP)]
        answers = [host.cmd("version"), host.cmd("vminfo lx"), lab.b.cmd("list")]
        outs = [p.communicate(timeout=60)[0] for p in pings]
        during = figures(host.cmd("vminfo lx"), "nic: rx_frames=")
    finally:
        host, shell = guest(lab)
        try:
            shell.run("killall ping nc; arp -d %s" % FLOOD_IP)
        finally:
            shell.detach()
        server.close()
    frames = during["tx_frames"] - before["tx_frames"]
    print("[lab] TX flood: %d frames from the guest while pinged, %d budget yields, %d stalls, %d bytes streamed"
          % (frames, during["tx_budget_yields"] - before["tx_budget_yields"],
             during["tx_stalls"] - before["tx_stalls"], sunk[0]))
    for out in outs:
        print("[lab] %s" % out.strip().splitlines()[-2])
        assert ping_summary(out)[1] >= 27, out
    assert "ferry version=" in answers[0], answers[0]
    assert figures(answers[1], "nic: mac=")["status"] == "running", answers[1]
    assert re.search(r"^ly\s", answers[2], re.M), answers[2]
    assert frames >= 1000, (before, during)
    assert lab.wait_ping(GUEST_IP, 60), "the guest is unreachable after its flood"


def test_a_driver_breaking_the_rules_stops_only_its_own_device(lab):
    host, shell = guest(lab)
    drivers = "/sys/bus/platform/drivers/virtio-mmio"
    try:
        dev = shell.run("ls %s | grep LNRO0005" % drivers).split()[-1]
        # With Linux's driver unbound (it resets the device), busybox devmem may write the
        # window (IO_STRICT_DEVMEM refuses a region a driver holds): DRIVER_OK without
        # FEATURES_OK breaks 3.1.1.
        shell.run("echo %s > %s/unbind" % (dev, drivers))
        shell.run("devmem 0xd0000070 32 4")
    finally:
        shell.detach()
    info = host.cmd("vminfo lx")
    nic = figures(info, "nic: mac=")
    assert nic["status"] == "needs-reset", info
    assert re.search(r'failure="[^"]+"', info), info
    assert "state=running" in info, info
    out = lab.run(["ping", "-c", "3", "-W", "1", lab.host_ip(0)], check=False).stdout
    assert ping_summary(out)[1] >= 2, out
    # The driver bound again resets the device, which works again.
    host, shell = guest(lab)
    try:
        shell.run("echo %s > %s/bind" % (dev, drivers))
        shell.run("ip link set eth0 up && ip addr add %s/%d dev eth0" % (GUEST_IP, PREFIX))
    finally:
        shell.detach()
    assert lab.wait_ping(GUEST_IP, 60), "the guest is unreachable after its driver reset the device"
    assert figures(host.cmd("vminfo lx"), "nic: mac=")["status"] == "running"
