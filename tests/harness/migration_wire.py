"""Wire-level tools for the migration tests: protocol v1's framing (a 16-byte header:
type, flags, reserved, payload length, sequence; a 16-byte tag after the payload when
flags has TAGGED), which protocol v2 keeps for its clear-text version hello and refusals
(kernel/migration/preamble.h), a reader that collects what a peer sends, and a relay that
forwards whole TLS records until the one that carries a message it was told to withhold or
reset at, injecting bytes of its own where told."""
import contextlib
import socket
import struct
import threading
import time

from harness import netns
from harness.netlab import BRIDGE_IP

MIGRATION_PORT = 8002
PROTOCOL_VERSION = 4   # the channel's version hello (kernel/migration/preamble.h)
HEADER_BYTES = 16
TAG_BYTES = 16         # v1's tag, on a v1 peer's clear-text ABORT; no message inside TLS has one
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


# Protocol v2: the source's clear-text version hello, then TLS records (RFC 5246 6.2: u8
# type, u16 version, u16 length). The messages inside TLS are v1's header and payload, with
# no tag since protocol 4. With the lab's default cipher, ChaCha20-Poly1305 (a 16-byte tag per
# record, no explicit nonce), the engine writes each small message as a record of its own,
# so a message shows in the size of its record: GO 24 bytes from A (its payload: the source's
# save-to-GO time), ACCEPT and then READY 16
# and RESUMED 32 (its payload: the destination's downtime and load time) from B; no other
# message of that direction has those sizes before RESUMED (a verify=after VERDICT, which
# follows it, can: the tests that withhold RESUMED migrate with verify=off). With
# migration_cipher = none (TLS's NULL cipher: the plaintext and a 20-byte HMAC-SHA1 per
# record) the relay reads every inner message itself.
PREAMBLE_BYTES = HEADER_BYTES + 40
TLS_RECORD_HEADER = 5
TLS_APPLICATION_DATA = 23
TLS_AEAD_TAG = 16
TLS_NULL_SHA_MAC = 20
OTHER = {"a->b": "b->a", "b->a": "a->b"}
# A source's records of pages or state can end in a piece of any size, 24 bytes too: GO is
# taken by its size only once READY, which it always answers, has gone the other way.
ANSWERS = {GO: ("b->a", READY)}
INNER_SIZES = {"a->b": {24: [GO]}, "b->a": {16: [ACCEPT, READY], 32: [RESUMED]}}


class Relay:
    """A TCP relay in the lab (on the bridge's address) between a source and a destination's
    migration port. It forwards the source's version hello as it is, then whole TLS records
    of the first connection, knowing which inner messages each record carries (by size, or
    read through the NULL cipher with `null_cipher`), until:
      - the first message in `hold` ({(direction, type)}, direction "a->b" or "b->a"): the
        record that carries it and everything after it, both ways, it withholds, keeping
        both connections open, as a link that went silent at that very message would;
      - the first message in `reset`: it resets both connections (RST) instead of
        forwarding its record, as a link that failed at that message would.
    `inject` ({(direction, type): bytes}) sends bytes of its own in that direction right
    after the record that carries that message, as someone on the path would (TLS then
    refuses them); `inject_back` the same but back to the message's sender, ahead of the
    peer's next record (its answer), so always between the two. Connections
    after the first (a source in doubt asking again) are piped through unchanged while
    `passthrough` is true, and held open, silent, while it is false. (No packet filter: this
    kernel has no tc classifiers or netfilter, and a relay that reads the framing cannot
    miss.)"""

    def __init__(self, lab, dest_ip, hold=(), port=9002, inject=None, inject_back=None, reset=(),
                 passthrough=False, null_cipher=False):
        self.hold = set(hold)
        self.reset = set(reset)
        self.inject = dict(inject or {})
        self.inject_back = dict(inject_back or {})
        self.ahead = {"a->b": b"", "b->a": b""}   # inject_back's bytes, waiting for that direction's next record
        self.ahead_lock = threading.Lock()
        self.passthrough = passthrough
        self.null_cipher = null_cipher
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

    def _by_size(self, direction, record):
        """The message a ChaCha20-Poly1305 record carries, when its size says so: [] or [type]."""
        names = INNER_SIZES[direction].get(len(record) - TLS_RECORD_HEADER - TLS_AEAD_TAG)
        if not names:
            return []
        names = [m for m in names if m not in ANSWERS or ANSWERS[m][1] in self.seen[ANSWERS[m][0]]]
        if not names:
            return []
        # Same-sized messages of one direction come in a fixed order (ACCEPT before READY).
        count = sum(1 for m in self.seen[direction] if m in names)
        return [names[min(count, len(names) - 1)]]

    def _messages(self, direction, record, inner):
        """The inner messages that start in this record ([type, ...]); inner is the
        direction's reassembly state [bytes, bytes of the current message still to skip]."""
        if record[0] != TLS_APPLICATION_DATA:
            return []
        if not self.null_cipher:
            return self._by_size(direction, record)
        data = inner[0] + record[TLS_RECORD_HEADER:-TLS_NULL_SHA_MAC]
        skip, found = inner[1], []
        while True:
            if skip:
                n = min(skip, len(data))
                data, skip = data[n:], skip - n
                if skip:
                    break
            if len(data) < HEADER_BYTES:
                break
            mtype, _, _, length, _ = struct.unpack("<BBHIQ", data[:HEADER_BYTES])
            found.append(mtype)
            skip = HEADER_BYTES + length
        inner[0], inner[1] = data, skip
        return found

    def _pump(self, src, dst, direction):
        buf = b""
        clear = PREAMBLE_BYTES if direction == "a->b" else 0
        inner = [b"", 0]
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
                found = self._messages(direction, buf[:total], inner)
                keys = [(direction, m) for m in found]
                if any(k in self.reset for k in keys):
                    at = next(k for k in keys if k in self.reset)
                    self.reset.clear()
                    self.was_reset.append(at)
                    self.frozen.set()
                    self._reset_both(src, dst)
                    return
                if any(k in self.hold for k in keys):
                    self.held.append(next(k for k in keys if k in self.hold))
                    self.frozen.set()
                    break
                extra = b"".join(self.inject.pop(k, b"") for k in keys)
                back = b"".join(self.inject_back.pop(k, b"") for k in keys)
                # Noted before sending: once sent, the run may end before this thread runs again.
                if extra or back:
                    self.injected += [k for k in keys][:1]
                # The sender's bytes go ahead of the peer's next record, which the other
                # direction's thread forwards: so they reach the sender after the message
                # and before the answer to it, however the two threads are scheduled.
                with self.ahead_lock:
                    self.ahead[OTHER[direction]] += back
                    ahead, self.ahead[direction] = self.ahead[direction], b""
                # Seen before it goes on: the answer it draws may reach the other thread first.
                self.seen[direction] += found
                try:
                    dst.sendall(ahead + buf[:total] + extra)
                except OSError:
                    return
                buf = buf[total:]
            if self.frozen.is_set():
                buf = b""

    def close(self):
        # A thread blocked in accept() keeps the port listening past close(): shutdown wakes it.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        for sock in [self.listener] + self.socks:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
