"""Wire-level tools for the migration tests: the protocol's framing (a 16-byte header:
type, flags, reserved, payload length, sequence; a 16-byte tag after the payload when
flags has TAGGED), a reader that collects what a peer sends, and a relay that forwards
whole messages until one it was told to withhold or reset at, injecting bytes of its own
where told."""
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
HELLO, AUTH, OFFER, ACCEPT, PAGES, ROUND_END, STATE, DONE = 1, 2, 3, 4, 6, 7, 8, 9
READY, GO, RESUMED, ABORT, QUERY, ANSWER = 10, 11, 12, 13, 14, 15


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
    length; a 16-byte tag when flags has TAGGED) and forwards whole messages of the first
    connection, until:
      - the first message in `hold` ({(direction, type)}, direction "a->b" or "b->a"): that
        one and everything after it, both ways, it withholds, keeping both connections
        open, as a link that went silent at that very message would;
      - the first message in `reset`: it resets both connections (RST) instead of
        forwarding it, as a link that failed at that message would.
    `inject` ({(direction, type): bytes}) sends bytes of its own in that direction right
    after forwarding that message, as someone on the path would; `inject_back` the same
    but back to the message's sender (after GO towards the destination: towards the source,
    ahead of RESUMED). Connections after the
    first (a source in doubt asking again) are piped through unchanged while `passthrough`
    is true, and held open, silent, while it is false. (No packet filter: this kernel has
    no tc classifiers or netfilter, and a relay that reads the framing cannot miss.)"""

    def __init__(self, lab, dest_ip, hold=(), port=9002, inject=None, inject_back=None, reset=(),
                 passthrough=False):
        self.hold = set(hold)
        self.reset = set(reset)
        self.inject = dict(inject or {})
        self.inject_back = dict(inject_back or {})
        self.passthrough = passthrough
        self.frozen = threading.Event()
        self.held = []                      # [(direction, type)]
        self.was_reset = []                 # [(direction, type)]
        self.injected = []                  # [(direction, type)]
        self.seen = {"a->b": [], "b->a": []}
        self.later = 0                      # connections after the first
        self.socks = []
        self.lab, self.dest_ip = lab, dest_ip
        with netns.inside(lab.ns):
            self.listener = socket.socket()
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind((BRIDGE_IP, port))
            self.listener.listen(8)
        self.address = "%s:%d" % (BRIDGE_IP, port)
        threading.Thread(target=self._accept, daemon=True).start()

    def _connect_dest(self):
        with netns.inside(self.lab.ns):
            dst = socket.create_connection((self.dest_ip, MIGRATION_PORT), timeout=15)
        dst.settimeout(None)
        return dst

    def _accept(self):
        first = True
        while True:
            try:
                src, _ = self.listener.accept()
            except OSError:
                return
            self.socks.append(src)
            if not first:
                self.later += 1
                if not self.passthrough:
                    continue            # held open, silent
            try:
                dst = self._connect_dest()
            except OSError:
                continue
            self.socks.append(dst)
            pump = self._pump if first else self._raw
            threading.Thread(target=pump, args=(src, dst, "a->b"), daemon=True).start()
            threading.Thread(target=pump, args=(dst, src, "b->a"), daemon=True).start()
            first = False

    @staticmethod
    def _raw(src, dst, direction):
        while True:
            try:
                data = src.recv(65536)
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
            except OSError:
                return

    def _reset_both(self, a, b):
        for sock in (a, b):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()

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
                if (direction, mtype) in self.reset:
                    self.reset.clear()
                    self.was_reset.append((direction, mtype))
                    self.frozen.set()
                    self._reset_both(src, dst)
                    return
                if (direction, mtype) in self.hold:
                    self.held.append((direction, mtype))
                    self.frozen.set()
                    break
                extra = self.inject.pop((direction, mtype), b"")
                back = self.inject_back.pop((direction, mtype), b"")
                # Noted before sending: once sent, the run may end before this thread runs again.
                if extra or back:
                    self.injected.append((direction, mtype))
                try:
                    dst.sendall(buf[:total] + extra)
                    if back:
                        src.sendall(back)
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
