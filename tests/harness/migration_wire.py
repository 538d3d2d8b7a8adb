"""Wire-level tools for the migration tests: protocol v1's framing (a 16-byte header:
type, flags, reserved, payload length, sequence; a 16-byte tag after the payload when
flags has TAGGED), which protocol v2 keeps for its clear-text version hello and refusals
(kernel/migration/preamble.h), a reader that collects what a peer sends, and a relay that
forwards whole TLS records until the one that carries a message it was told to withhold."""
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
ACCEPT, READY, GO, RESUMED, ABORT = 4, 10, 11, 12, 13


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


# Protocol v2: the source's clear-text version hello, then TLS records (RFC 5246 6.2: u8
# type, u16 version, u16 length). The lab's cipher is ChaCha20-Poly1305 (a 16-byte tag per
# record, no explicit nonce), and the engine writes each small message as a record of its own,
# so a message shows in the size of its record: the messages inside TLS are still v1's
# (header 16 + payload + tag 16), GO 32 bytes from A, ACCEPT and then READY 32 and RESUMED 40
# from B, and no other message of that direction has those sizes.
PREAMBLE_BYTES = HEADER_BYTES + 40
TLS_RECORD_HEADER = 5
TLS_APPLICATION_DATA = 23
TLS_AEAD_TAG = 16
INNER_SIZES = {"a->b": {32: [GO]}, "b->a": {32: [ACCEPT, READY], 40: [RESUMED]}}


class Relay:
    """A TCP relay in the lab (on the bridge's address) between a source and a destination's
    migration port. It forwards the source's version hello as it is, then whole TLS records,
    naming the records whose size says which message they carry (INNER_SIZES) in `seen`,
    until the first message in `hold` ({(direction, type)}, direction "a->b" or "b->a"):
    that record and everything after it, both ways, it withholds, keeping both connections
    open, as a link that went silent at that very message would. (No packet filter: this
    kernel has no tc classifiers or netfilter, and a relay that reads the framing cannot
    miss.)"""

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

    def _message(self, direction, record):
        """The message a TLS record carries, when its size says so; else None."""
        if record[0] != TLS_APPLICATION_DATA:
            return None
        names = INNER_SIZES[direction].get(len(record) - TLS_RECORD_HEADER - TLS_AEAD_TAG)
        if not names:
            return None
        # Same-sized messages of one direction come in a fixed order (ACCEPT before READY).
        count = sum(1 for m in self.seen[direction] if m in names)
        return names[min(count, len(names) - 1)]

    def _pump(self, src, dst, direction):
        buf = b""
        clear = PREAMBLE_BYTES if direction == "a->b" else 0
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
            if clear:
                n = min(clear, len(buf))
                try:
                    dst.sendall(buf[:n])
                except OSError:
                    return
                buf, clear = buf[n:], clear - n
            while len(buf) >= TLS_RECORD_HEADER:
                length = struct.unpack(">H", buf[3:5])[0]
                total = TLS_RECORD_HEADER + length
                if len(buf) < total:
                    break
                message = self._message(direction, buf[:total])
                if (direction, message) in self.hold:
                    self.held.append((direction, message))
                    self.frozen.set()
                    break
                try:
                    dst.sendall(buf[:total])
                except OSError:
                    return
                if message is not None:
                    self.seen[direction].append(message)
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
