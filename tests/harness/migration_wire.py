"""Wire-level tools for the migration tests: the protocol's framing (a 16-byte header:
type, flags, reserved, payload length, sequence; a 16-byte tag after the payload when
flags has TAGGED), a reader that collects what a peer sends, and a relay that forwards
whole messages until one it was told to withhold."""
import contextlib
import socket
import struct
import threading
import time

from harness import netns
from harness.netlab import BRIDGE_IP

MIGRATION_PORT = 8002
HEADER_BYTES = 16
TAG_BYTES = 16
FLAG_TAGGED = 1
READY, GO, RESUMED, ABORT = 10, 11, 12, 13


def header(mtype, length, seq=0, flags=0):
    return struct.pack("<BBHIQ", mtype, flags, 0, length, seq)


def read_all(sock, timeout):
    """Everything the peer sends until it closes (b"" + True) or `timeout` (data, False)."""
    sock.settimeout(1)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def messages(data):
    """Splits a byte stream into (type, flags, seq, payload) messages (tag skipped)."""
    out = []
    while len(data) >= HEADER_BYTES:
        mtype, flags, _, length, seq = struct.unpack("<BBHIQ", data[:16])
        end = HEADER_BYTES + length + (TAG_BYTES if flags & FLAG_TAGGED else 0)
        out.append((mtype, flags, seq, data[HEADER_BYTES:HEADER_BYTES + length]))
        data = data[end:]
    return out


class Relay:
    """A TCP relay in the lab (on the bridge's address) between a source and a destination's
    migration port, which follows the protocol's framing (16-byte header: type, flags,
    length; a 16-byte tag when flags has TAGGED) and forwards whole messages, until the
    first message in `hold` ({(direction, type)}, direction "a->b" or "b->a"): that one and
    everything after it, both ways, it withholds, keeping both connections open, as a link
    that went silent at that very message would. (No packet filter: this kernel has no tc
    classifiers or netfilter, and a relay that reads the framing cannot miss.)"""

    def __init__(self, lab, dest_ip, hold, port=9002):
        self.hold = set(hold)
        self.frozen = threading.Event()
        self.held = []                      # [(direction, type)]
        self.seen = {"a->b": [], "b->a": []}
        self.socks = []
        self.lab, self.dest_ip = lab, dest_ip
        with netns.inside(lab.ns):
            self.listener = socket.socket()
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind((BRIDGE_IP, port))
            self.listener.listen(1)
        self.address = "%s:%d" % (BRIDGE_IP, port)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        try:
            src, _ = self.listener.accept()
            with netns.inside(self.lab.ns):
                dst = socket.create_connection((self.dest_ip, MIGRATION_PORT), timeout=15)
            dst.settimeout(None)
        except OSError:
            return
        self.socks += [src, dst]
        threading.Thread(target=self._pump, args=(src, dst, "a->b"), daemon=True).start()
        threading.Thread(target=self._pump, args=(dst, src, "b->a"), daemon=True).start()

    def _pump(self, src, dst, direction):
        buf = b""
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                if not self.frozen.is_set():
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                return
            if self.frozen.is_set():
                continue
            buf += data
            while len(buf) >= HEADER_BYTES:
                mtype, flags, _, length, _ = struct.unpack("<BBHIQ", buf[:HEADER_BYTES])
                total = HEADER_BYTES + length + (TAG_BYTES if flags & FLAG_TAGGED else 0)
                if len(buf) < total:
                    break
                if (direction, mtype) in self.hold:
                    self.held.append((direction, mtype))
                    self.frozen.set()
                    break
                try:
                    dst.sendall(buf[:total])
                except OSError:
                    return
                self.seen[direction].append(mtype)
                buf = buf[total:]
            if self.frozen.is_set():
                buf = b""

    def close(self):
        for sock in [self.listener] + self.socks:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
