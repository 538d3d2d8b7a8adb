"""Ferry's network (issue: network): the e1000 driver, lwIP, ping and netbench in a lab.

Everything runs inside a network namespace that tests/harness/netlab.py builds:
a Linux bridge with 198.18.0.1/24 (the Linux client), a tap per Ferry host
(198.18.0.10 and .11 under QEMU TCG, .13 under Bochs), and Ferry's console over TCP.
Needs root; without it every test here is skipped, saying so.
"""
import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

import pytest

from harness import netns
from harness.netlab import BRIDGE, BRIDGE_IP, NetLab, netlab_available
from harness.paths import ROOT

AVAILABLE, WHY = netlab_available()
pytestmark = [pytest.mark.netlab, pytest.mark.skipif(not AVAILABLE, reason=WHY)]

PEER = os.path.join(ROOT, "tests", "netbench_peer.py")
DHCP_SERVER = os.path.join(ROOT, "tests", "harness", "dhcp_server.py")
SUMMARY = re.compile(r"(\d+) transmitted, (\d+) received, (\d+)% loss")
NETBENCH = re.compile(r"netbench: (sent|received) bytes=(\d+) ms=(\d+) mb_per_s=([\d.]+) "
                      r"crc32=(0x[0-9a-f]{8})")
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def lab(built):
    with NetLab() as lab:
        yield lab


@pytest.fixture(scope="module")
def ferry_a(lab):
    with lab.ferry(0, emulator="qemu") as m:
        m.wait_prompt(timeout=120)
        yield m


@pytest.fixture(scope="module")
def ferry_b(lab):
    with lab.ferry(1, emulator="qemu") as m:
        m.wait_prompt(timeout=120)
        yield m


def net_figures(machine):
    return dict(re.findall(r"(\w+)=(\S+)", machine.cmd("net")))


def ferry_ping(machine, host, count=4):
    out = machine.cmd("ping %s %d" % (host, count), timeout=30 + 2 * count)
    m = SUMMARY.search(out)
    assert m, out
    return int(m.group(1)), int(m.group(2)), out


def netbench_result(text):
    m = NETBENCH.search(text)
    assert m, text
    return {"bytes": int(m.group(2)), "crc32": m.group(5), "mb_per_s": float(m.group(4))}


def peer_recv(lab, port=5001, ns=None):
    """Starts the Python peer's receiver in the lab; returns the process once it listens."""
    p = lab.popen([sys.executable, PEER, "recv", "--port", str(port)], ns=ns,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stderr.readline().strip() == "ready"
    return p


def ferry_send_to_peer(lab, machine, mib, peer_ip=BRIDGE_IP, ns=None):
    p = peer_recv(lab, ns=ns)
    out = machine.cmd("netbench send %s %d" % (peer_ip, mib), timeout=120 + 10 * mib)
    linux = json.loads(p.communicate(timeout=120)[0])
    return netbench_result(out), linux


def peer_send_to_ferry(lab, machine, mib, ferry_ip, ns=None):
    machine.send_raw(b"netbench recv\r")
    machine.expect(r"listening on port 5001", timeout=30)
    out = lab.run([sys.executable, PEER, "send", ferry_ip, str(mib)], ns=ns,
                  timeout=120 + 10 * mib)
    linux = json.loads(out.stdout)
    ferry = netbench_result(machine.expect(NETBENCH.pattern, timeout=120).group(0).decode())
    machine.wait_prompt(timeout=30)
    return ferry, linux


# ---- QEMU: one host and the Linux client ----------------------------------------------------
@pytest.mark.qemu
def test_lspci_and_net_report_the_e1000(lab, ferry_a):
    out = ferry_a.cmd("lspci")
    assert re.search(r"^\S+\s+8086:100e 0200\d\d\s+network$", out, re.M), out
    f = net_figures(ferry_a)
    assert f["mac"] == lab.host_mac(0)
    assert f["address"] == lab.host_ip(0) and f["netmask"] == "255.255.255.0", f
    assert f["link"] == "up" and f["up"] == "yes" and f["dhcp"] == "no", f


@pytest.mark.qemu
def test_client_pings_ferry(lab, ferry_a):
    out = lab.run(["ping", "-c", "5", "-i", "0.2", "-W", "2", lab.host_ip(0)], check=False)
    assert " 0% packet loss" in out.stdout, out.stdout
    # Bigger than one frame: lwIP reassembles the fragments and answers in fragments.
    out = lab.run(["ping", "-c", "2", "-s", "4000", "-W", "2", lab.host_ip(0)], check=False)
    assert " 0% packet loss" in out.stdout, out.stdout


@pytest.mark.qemu
def test_ferry_pings_client(lab, ferry_a):
    sent, received, out = ferry_ping(ferry_a, BRIDGE_IP, 4)
    assert (sent, received) == (4, 4), out
    assert re.search(r"rtt min/avg/max = [\d.]+/[\d.]+/[\d.]+ ms", out), out
    assert re.search(r"bytes from 198\.18\.0\.1: seq=1 time=[\d.]+ ms", out), out


@pytest.mark.qemu
def test_ping_to_nobody_reports_loss(ferry_a):
    sent, received, out = ferry_ping(ferry_a, "198.18.0.99", 2)
    assert (sent, received) == (2, 0) and "100% loss" in out, out


@pytest.mark.qemu
def test_ping_and_netbench_refuse_bad_arguments(ferry_a):
    assert "error:" in ferry_a.cmd("ping 198.18.0.300")
    assert "error:" in ferry_a.cmd("ping 198.18.0.1 0")
    assert "usage:" in ferry_a.cmd("netbench")
    assert "error:" in ferry_a.cmd("netbench send 198.18.0.1:99999 1")
    assert "error:" in ferry_a.cmd("netbench send 198.18.0.1 0")


@pytest.mark.qemu
def test_netbench_to_a_closed_port_fails_cleanly(ferry_a):
    out = ferry_a.cmd("netbench send 198.18.0.1:5999 1", timeout=60)
    assert "error: connect:" in out, out


@pytest.mark.qemu
def test_waiting_commands_stop_on_ctrl_c(ferry_a):
    ferry_a.send_raw(b"ping 198.18.0.99 100\r")
    ferry_a.expect(r"PING 198\.18\.0\.99", timeout=30)
    time.sleep(1.5)
    ferry_a.send_raw(b"\x03")
    out = ferry_a.expect(r"interrupted\n(\d+) transmitted, 0 received, 100% loss", timeout=30)
    assert int(out.group(1)) < 100
    ferry_a.wait_prompt(timeout=30)
    ferry_a.send_raw(b"netbench recv 5002\r")
    ferry_a.expect(r"listening on port 5002", timeout=30)
    ferry_a.send_raw(b"\x03")
    ferry_a.expect(r"error: interrupted", timeout=30)
    ferry_a.wait_prompt(timeout=30)
    assert "ferry version=" in ferry_a.cmd("version")


@pytest.mark.qemu
def test_32_mib_from_ferry_to_linux(lab, ferry_a):
    ferry, linux = ferry_send_to_peer(lab, ferry_a, 32)
    assert ferry["bytes"] == linux["bytes"] == 32 * MIB
    assert ferry["crc32"] == linux["crc32"], (ferry, linux)


@pytest.mark.qemu
def test_32_mib_from_linux_to_ferry(lab, ferry_a):
    ferry, linux = peer_send_to_ferry(lab, ferry_a, 32, lab.host_ip(0))
    assert ferry["bytes"] == linux["bytes"] == 32 * MIB
    assert ferry["crc32"] == linux["crc32"], (ferry, linux)


def reset_after(sock_or_conn):
    """Closes with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock_or_conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock_or_conn.close()


@pytest.mark.qemu
def test_peer_resets_are_reported_not_hung(lab, ferry_a):
    # Ferry sends; the Linux end reads a little, then resets the connection.
    with netns.inside(lab.ns):
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((BRIDGE_IP, 5003))
        srv.listen(1)
    done = threading.Event()

    def reader():
        conn, _ = srv.accept()
        got = 0
        while got < MIB:
            got += len(conn.recv(65536))
        reset_after(conn)
        done.set()
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    out = ferry_a.cmd("netbench send %s:5003 64" % BRIDGE_IP, timeout=120)
    t.join(timeout=30)
    srv.close()
    assert done.is_set()
    assert re.search(r"error: send: i/o error after \d+ bytes", out), out

    # Ferry receives; the Linux end sends a little, then resets.
    ferry_a.send_raw(b"netbench recv 5004\r")
    ferry_a.expect(r"listening on port 5004", timeout=30)
    with netns.inside(lab.ns):
        conn = socket.create_connection((lab.host_ip(0), 5004), timeout=30)
    conn.sendall(os.urandom(256 * 1024))
    time.sleep(0.5)
    reset_after(conn)
    got = netbench_result(ferry_a.expect(NETBENCH.pattern, timeout=60).group(0).decode())
    ferry_a.wait_prompt(timeout=30)
    assert got["bytes"] <= 256 * 1024
    assert "ferry version=" in ferry_a.cmd("version")
    assert int(net_figures(ferry_a)["lwip_used_kib"]) < 1024   # nothing kept from either stream


# ---- QEMU: two Ferry hosts -------------------------------------------------------------------
@pytest.mark.qemu
def test_two_ferry_hosts_ping_each_other(lab, ferry_a, ferry_b):
    sent, received, out = ferry_ping(ferry_a, lab.host_ip(1), 3)
    assert received == sent == 3, out
    sent, received, out = ferry_ping(ferry_b, lab.host_ip(0), 3)
    assert received == sent == 3, out
    # The bridge learned each host's MAC on its own tap.
    assert lab.fdb_port_of(lab.host_mac(0)) == "tap0"
    assert lab.fdb_port_of(lab.host_mac(1)) == "tap1"
    # The lab's capture sees the echoes between them, with their MACs (on tap1: unicast
    # between two ports of the bridge never reaches br0's own interface).
    with lab.capture("icmp", iface="tap1") as cap:
        ferry_ping(ferry_a, lab.host_ip(1), 2)
    lines = cap.lines()
    requests = [l for l in lines if "echo request" in l and lab.host_mac(0) + " > " +
                lab.host_mac(1) in l]
    replies = [l for l in lines if "echo reply" in l and lab.host_mac(1) + " > " +
               lab.host_mac(0) in l]
    assert len(requests) == 2 and len(replies) == 2, lines


@pytest.mark.qemu
def test_netbench_between_two_ferry_hosts(lab, ferry_a, ferry_b):
    ferry_b.send_raw(b"netbench recv\r")
    ferry_b.expect(r"listening on port 5001", timeout=30)
    sent = netbench_result(ferry_a.cmd("netbench send %s 32" % lab.host_ip(1), timeout=600))
    received = netbench_result(ferry_b.expect(NETBENCH.pattern, timeout=120).group(0).decode())
    ferry_b.wait_prompt(timeout=30)
    assert sent["bytes"] == received["bytes"] == 32 * MIB
    assert sent["crc32"] == received["crc32"], (sent, received)


# ---- bad traffic -------------------------------------------------------------------------------
def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def tcp_syn_frame(dst_mac, src_mac, src_ip, dst_ip, sport, dport):
    src, dst = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), 0, 5 << 4, 0x02,
                      65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.getrandbits(16), 0, 64, 6,
                     0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + tcp


class RawSender:
    """An AF_PACKET socket on the lab's bridge: frames go out exactly as built."""

    def __init__(self, lab):
        with netns.inside(lab.ns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            self.sock.bind((BRIDGE, 0))

    def send(self, frame):
        try:
            self.sock.send(frame)
            return True
        except OSError:     # e.g. ENOBUFS under a flood: the point is to push, not to count
            return False

    def close(self):
        self.sock.close()


@pytest.mark.qemu
def test_bad_traffic_neither_crashes_nor_wedges_ferry(lab, ferry_a):
    ferry_mac = mac_bytes(lab.host_mac(0))
    fake_mac = bytes([0x02, 0x66, 0x65, 0x72, 0x72, 0x79])
    broadcast = b"\xff" * 6
    rng = random.Random(1234)
    for dev in ("tap0", BRIDGE):   # let frames longer than 1514 bytes onto the wire
        lab.ip("link", "set", "dev", dev, "mtu", "9000")
    raw = RawSender(lab)
    try:
        # Runts (14 to 59 bytes: Linux sends nothing shorter than a header) and oversize
        # frames, which the NIC refuses without long-packet mode and counts (ROC).
        errors_before = int(net_figures(ferry_a)["rx_errors"])
        for n in list(range(2, 48)) * 5:
            assert raw.send(ferry_mac + fake_mac + bytes(rng.getrandbits(8) for _ in range(n)))
        for n in (1519, 1600, 2047, 2048, 2049, 4000, 8000, 9000) * 10:
            assert raw.send(ferry_mac + fake_mac + b"\x08\x00" + bytes(n - 14))
        time.sleep(1.5)   # the driver folds the hardware counters in once a second
        assert int(net_figures(ferry_a)["rx_errors"]) > errors_before
        assert "ferry version=" in ferry_a.cmd("version")

        # A broadcast flood, with the console asked to answer in the middle of it.
        stop = threading.Event()

        def flood():
            frame = broadcast + fake_mac + b"\x08\x06" + bytes(28)
            while not stop.is_set():
                for _ in range(200):
                    raw.send(frame)
        t = threading.Thread(target=flood, daemon=True)
        t.start()
        try:
            for _ in range(3):
                assert "ferry version=" in ferry_a.cmd("version", timeout=60)
                time.sleep(1)
        finally:
            stop.set()
            t.join()

        # Random bytes: as Ethernet payloads of every type, and as IPv4 and TCP to Ferry.
        for _ in range(3000):
            n = rng.randrange(14, 1515)
            raw.send(ferry_mac + fake_mac + bytes(rng.getrandbits(8) for _ in range(n - 12)))
        for _ in range(1000):
            n = rng.randrange(20, 1500)
            raw.send(ferry_mac + fake_mac + b"\x08\x00" +
                     bytes([0x45]) + bytes(rng.getrandbits(8) for _ in range(n - 1)))
        with netns.inside(lab.ns):
            for port in (5001, 8002, 22, 80):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.sendto(os.urandom(512), (lab.host_ip(0), port))

        # Half-open connections: SYNs from addresses that never answer, at closed ports...
        for i in range(300):
            raw.send(tcp_syn_frame(ferry_mac, fake_mac, "198.18.0.%d" % (100 + i % 100),
                                   lab.host_ip(0), 1024 + i, rng.choice((22, 80, 5001, 8002))))
        # ... and at a listening one, whose backlog they fill; then random bytes over a real
        # connection, which Ferry must still accept once the half-open ones time out.
        ferry_a.send_raw(b"netbench recv\r")
        ferry_a.expect(r"listening on port 5001", timeout=30)
        for i in range(200):
            raw.send(tcp_syn_frame(ferry_mac, fake_mac, "198.18.0.%d" % (100 + i % 100),
                                   lab.host_ip(0), 20000 + i, 5001))
        junk = os.urandom(MIB)
        with netns.inside(lab.ns):
            conn = socket.create_connection((lab.host_ip(0), 5001), timeout=90)
        conn.sendall(junk)
        conn.close()
        got = netbench_result(ferry_a.expect(NETBENCH.pattern, timeout=120).group(0).decode())
        ferry_a.wait_prompt(timeout=30)
        assert got["bytes"] == len(junk) and got["crc32"] == "0x%08x" % zlib.crc32(junk), got
    finally:
        raw.close()
        for dev in ("tap0", BRIDGE):
            lab.ip("link", "set", "dev", dev, "mtu", "1500")

    # Still healthy: the console, ping both ways, and a clean transfer.
    assert "ferry version=" in ferry_a.cmd("version")
    f = net_figures(ferry_a)
    assert f["up"] == "yes", f
    out = lab.run(["ping", "-c", "3", "-W", "2", lab.host_ip(0)], check=False)
    assert " 0% packet loss" in out.stdout, out.stdout
    sent, received, out = ferry_ping(ferry_a, BRIDGE_IP, 3)
    assert received == 3, out
    ferry, linux = ferry_send_to_peer(lab, ferry_a, 4)
    assert ferry["crc32"] == linux["crc32"] and linux["bytes"] == 4 * MIB


# ---- DHCP ---------------------------------------------------------------------------------------
@pytest.mark.qemu
def test_dhcp_gives_ferry_its_address(lab):
    server = lab.popen([sys.executable, DHCP_SERVER, "--iface", BRIDGE, "--server", BRIDGE_IP,
                        "--pool", "198.18.0.50", "--router", BRIDGE_IP],
                       stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready"
    with lab.ferry(2, emulator="qemu", address="dhcp") as m:
        m.wait_prompt(timeout=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            f = net_figures(m)
            if f["address"] != "0.0.0.0":
                break
            time.sleep(1)
        assert f["address"] == "198.18.0.50" and f["dhcp"] == "yes", f
        assert f["netmask"] == "255.255.255.0" and f["gateway"] == BRIDGE_IP, f
        assert lab.wait_ping("198.18.0.50", timeout=30)
        assert "dhcp" in m.cmd("dmesg")


# ---- Bochs: the driver there too (migration tests run under Bochs) ---------------------------------
@pytest.mark.bochs
def test_bochs_e1000_pings_and_moves_data(lab):
    with lab.ferry(3, emulator="bochs") as m:
        m.wait_prompt(timeout=240)
        out = m.cmd("lspci")
        assert re.search(r"8086:100e 0200\d\d\s+network", out) and "mechanism=ports" in out, out
        assert lab.wait_ping(lab.host_ip(3), timeout=60)
        sent, received, out = ferry_ping(m, BRIDGE_IP, 3)
        assert received == 3, out
        ferry, linux = ferry_send_to_peer(lab, m, 4)
        assert ferry["crc32"] == linux["crc32"] and linux["bytes"] == 4 * MIB, (ferry, linux)
        ferry, linux = peer_send_to_ferry(lab, m, 4, lab.host_ip(3))
        assert ferry["crc32"] == linux["crc32"] and ferry["bytes"] == 4 * MIB, (ferry, linux)
