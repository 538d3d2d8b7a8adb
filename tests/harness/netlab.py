"""A network lab for Ferry hosts: a namespace, a Linux bridge, taps, and Linux peers.

    with NetLab() as lab:                                   # namespace ferrylab-XXXX
        a = lab.ferry(0, emulator="bochs")                  # FerryMachine on tap0, 198.18.0.10
        b = lab.ferry(1, emulator="bochs")                  # tap1, 198.18.0.11
        with a, b:
            a.wait_prompt(); b.wait_prompt()
            a.cmd("ping %s" % lab.ip(1))
            print(lab.fdb())                                # the bridge's forwarding table
            with lab.capture("ether proto 0x8035") as cap:  # tcpdump on br0 (broadcasts:
                ...                                         # RARP); a tap for unicast
            print(cap.lines())

Layout (all inside the namespace, nothing outside it is touched):
  - br0: a Linux bridge (a learning switch) with 198.18.0.1/24: the "client" is the
    namespace itself, so a test runs Linux tools with lab.run()/lab.popen().
  - tapN: the tap of Ferry host N (MAC 52:54:00:18:00:(10+N), address 198.18.0.(10+N)).
  - lab.linux_peer(): a second namespace joined to br0 by a veth pair, 198.18.0.2,
    for Linux-to-Linux measurements over the same bridge.

The lab always tears down (context manager, and atexit for an interrupted run):
processes started with popen() are killed by process group, then the namespaces
are deleted, which removes the bridge, the taps and the veths with them.
Building a lab needs root (CAP_NET_ADMIN): netlab_available() says whether it can.
"""
import atexit
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time

from .lifecycle import StartStop
from .machine import FerryMachine

SUBNET = "198.18.0"
PREFIX = 24
BRIDGE = "br0"
BRIDGE_IP = SUBNET + ".1"
PEER_IP = SUBNET + ".2"
FIRST_HOST = 10

_live_labs = set()


def netlab_available():
    """(True, "") when this process can build a lab; else (False, why)."""
    if os.geteuid() != 0:
        return False, "building a network lab needs root (network namespaces, a bridge, taps)"
    for tool in ("ip", "bridge"):
        if not shutil.which(tool):
            return False, f"{tool} (iproute2) is not installed"
    if not os.path.exists("/dev/net/tun"):
        return False, "/dev/net/tun is missing"
    return True, ""


def _run(argv, check=True, **kw):
    return subprocess.run(argv, check=check, capture_output=True, text=True, **kw)


class Capture:
    """tcpdump on an interface of the lab, writing a pcap file; read it after the block."""

    def __init__(self, lab, bpf="", iface=BRIDGE):
        self.lab = lab
        self.path = os.path.join(lab.workdir, "capture-%d.pcap" % random.randrange(1 << 30))
        argv = ["tcpdump", "-i", iface, "--immediate-mode", "-U", "-n", "-w", self.path]
        if bpf:
            argv += bpf.split()
        self.proc = lab.popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # tcpdump says "listening on" once the capture runs.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not os.path.exists(self.path):
            time.sleep(0.05)
        time.sleep(0.3)

    def stop(self):
        if self.proc.poll() is None:
            time.sleep(0.3)   # let the last frames reach the file
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def lines(self, extra=("-e",)):
        """The captured frames as tcpdump text lines (with link-level headers by default)."""
        out = _run(["tcpdump", "-n", "-r", self.path] + list(extra), check=False)
        return [l for l in out.stdout.splitlines() if l.strip()]


class NetLab(StartStop):
    def __init__(self, name=None):
        self.ns = name or "ferrylab-%04x" % random.randrange(1 << 16)
        self.peer_ns = None
        self.taps = []
        self.procs = []
        self.workdir = tempfile.mkdtemp(prefix=self.ns + "-")

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self):
        _live_labs.add(self)
        self.ip("netns", "add", self.ns, netns=False)
        self.ip("link", "set", "lo", "up")
        self.ip("link", "add", BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0")
        self.ip("addr", "add", "%s/%d" % (BRIDGE_IP, PREFIX), "dev", BRIDGE)
        self.ip("link", "set", BRIDGE, "up")

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    p.wait(timeout=5)
        self.procs = []
        for ns in (self.peer_ns, self.ns):
            if ns:
                _run(["ip", "netns", "del", ns], check=False)
        self.peer_ns = None
        shutil.rmtree(self.workdir, ignore_errors=True)
        _live_labs.discard(self)

    # ---- commands in the namespace -------------------------------------------------------
    def ip(self, *args, netns=True):
        argv = ["ip"] + (["-n", self.ns] if netns else []) + list(args)
        return _run(argv).stdout

    def run(self, argv, check=True, timeout=120, ns=None):
        """Runs a command inside the lab's namespace (or `ns`); returns CompletedProcess."""
        return _run(["ip", "netns", "exec", ns or self.ns] + list(argv), check=check,
                    timeout=timeout)

    def popen(self, argv, ns=None, **kw):
        """Starts a command in the namespace in its own process group; killed at close()."""
        p = subprocess.Popen(["ip", "netns", "exec", ns or self.ns] + list(argv),
                             start_new_session=True, **kw)
        self.procs.append(p)
        return p

    # ---- Ferry hosts -----------------------------------------------------------------------
    @staticmethod
    def host_ip(index):
        return "%s.%d" % (SUBNET, FIRST_HOST + index)

    @staticmethod
    def host_mac(index):
        return "52:54:00:18:00:%02x" % (FIRST_HOST + index)

    @contextlib.contextmanager
    def link_cut(self, tap):
        """Takes `tap` off the bridge for the block: nothing passes between it and the rest
        of the lab. (Not `link set down`: Bochs ends with a fatal I/O error when its tap
        goes down.)"""
        self.ip("link", "set", tap, "nomaster")
        try:
            yield
        finally:
            self.ip("link", "set", tap, "master", BRIDGE)

    def add_tap(self, name):
        self.ip("tuntap", "add", "dev", name, "mode", "tap")
        self.ip("link", "set", name, "master", BRIDGE)
        self.ip("link", "set", name, "up")
        self.taps.append(name)
        return name

    def ferry(self, index, emulator="qemu", address=None, extra_config="", **machine_kw):
        """A FerryMachine (not started) on tap`index`; address defaults to 198.18.0.(10+index)/24."""
        tap = self.add_tap("tap%d" % index)
        if address is None:
            address = "%s/%d" % (self.host_ip(index), PREFIX)
        config = "hostname = ferry-%d\naddress = %s\n%s" % (index, address, extra_config)
        return FerryMachine(emulator=emulator, config_text=config, netns=self.ns,
                            nic={"mac": self.host_mac(index), "tap": tap},
                            name="ferry-%d" % index, **machine_kw)

    # ---- Linux peers -----------------------------------------------------------------------
    def linux_peer(self):
        """A second namespace on the bridge through a veth pair, at 198.18.0.2; returns its name."""
        if self.peer_ns:
            return self.peer_ns
        self.peer_ns = self.ns + "-peer"
        _run(["ip", "netns", "add", self.peer_ns])
        self.ip("link", "add", "veth-peer", "type", "veth", "peer", "name", "eth0",
                "netns", self.peer_ns)
        self.ip("link", "set", "veth-peer", "master", BRIDGE)
        self.ip("link", "set", "veth-peer", "up")
        for args in (["link", "set", "lo", "up"],
                     ["addr", "add", "%s/%d" % (PEER_IP, PREFIX), "dev", "eth0"],
                     ["link", "set", "eth0", "up"]):
            _run(["ip", "-n", self.peer_ns] + args)
        return self.peer_ns

    # ---- inspection ------------------------------------------------------------------------
    def fdb(self):
        """The bridge's forwarding table: a list of {"mac", "ifname", "flags", "state"}."""
        out = _run(["bridge", "-n", self.ns, "-j", "fdb", "show", "br", BRIDGE]).stdout
        return [e for e in json.loads(out or "[]") if "mac" in e]

    def fdb_port_of(self, mac):
        """The bridge port (tap or veth name) where `mac` was learned, or None."""
        for e in self.fdb():
            if e["mac"].lower() == mac.lower() and "permanent" not in e.get("state", ""):
                return e.get("ifname")
        return None

    def capture(self, bpf="", iface=BRIDGE):
        """Starts tcpdump on `iface` with a BPF filter; use as a context manager.

        On br0 it sees broadcasts (RARP, ARP) and traffic to or from the lab's own
        address; unicast between two Ferry hosts is switched port to port and only
        shows on their taps (iface="tap1")."""
        return _CaptureContext(self, bpf, iface)

    def wait_ping(self, address, timeout=60, ns=None):
        """Pings from the namespace until `address` answers; True when it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.run(["ping", "-c", "1", "-W", "1", address], check=False, ns=ns).returncode == 0:
                return True
        return False


class _CaptureContext:
    def __init__(self, lab, bpf, iface):
        self.cap = Capture(lab, bpf, iface)

    def __enter__(self):
        return self.cap

    def __exit__(self, *exc):
        self.cap.stop()


@atexit.register
def _close_all():
    for lab in list(_live_labs):
        lab.close()


class HubLab(StartStop):
    """The fallback without root: Ferry hosts under Bochs joined by bxhub.

        with HubLab(ports=2) as hub:
            with hub.ferry(0) as a, hub.ferry(1) as b:      # 198.18.0.10 and .11
                ...

    bxhub relays frames between Bochs sessions over UDP on the loopback (Bochs'
    `ethmod=socket`); session N listens on base+2N. There is no bridge, no tap and
    no Linux client: Ferry hosts reach each other only, Bochs' socket back end
    passes each host only broadcasts and its own MAC (no promiscuous mode), and
    nothing here can show a forwarding table. Tests that need those use NetLab.
    """

    def __init__(self, ports=2):
        if not 2 <= ports <= 6:
            raise ValueError("bxhub links 2 to 6 sessions")
        self.ports = ports
        self.base = None
        self.proc = None
        self.workdir = tempfile.mkdtemp(prefix="ferryhub-")

    def _free_base(self):
        import socket
        for _ in range(50):
            base = random.randrange(20000, 60000, 2)
            socks = []
            try:
                for port in range(base, base + 2 * self.ports + 2):
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    socks.append(s)
                    s.bind(("127.0.0.1", port))
                return base
            except OSError:
                continue
            finally:
                for s in socks:
                    s.close()
        raise RuntimeError("no free block of UDP ports for bxhub")

    def start(self):
        if not shutil.which("bxhub"):
            raise RuntimeError("bxhub (from the bochs package) is not installed")
        _live_labs.add(self)
        self.base = self._free_base()
        self.proc = subprocess.Popen(["bxhub", "-ports=%d" % self.ports, "-base=%d" % self.base,
                                      "-logfile=%s" % os.path.join(self.workdir, "bxhub.log")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def close(self):
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        shutil.rmtree(self.workdir, ignore_errors=True)
        _live_labs.discard(self)

    host_ip = staticmethod(NetLab.host_ip)
    host_mac = staticmethod(NetLab.host_mac)

    def ferry(self, index, address=None, extra_config="", **machine_kw):
        """A Bochs FerryMachine (not started) on hub port `index`."""
        if not 0 <= index < self.ports:
            raise ValueError("hub port %d out of range" % index)
        if address is None:
            address = "%s/%d" % (self.host_ip(index), PREFIX)
        config = "hostname = ferry-%d\naddress = %s\n%s" % (index, address, extra_config)
        return FerryMachine(emulator="bochs", config_text=config,
                            nic={"mac": self.host_mac(index), "socket": str(self.base + 2 * index)},
                            name="ferry-%d" % index, **machine_kw)
