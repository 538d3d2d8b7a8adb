"""What a client in the network lab sees of a guest that moves: an echo stream and pings.

    stream = EchoStream(sock)          # a connection to an echo server in the guest
    stream.start()
    ping = lab.popen(PING_EVERY_10_MS + [address], stdout=subprocess.PIPE, text=True)
    ...                                # migrate
    stream.finish()
    sent, got, longest = ping_gaps(stop_ping(ping))

EchoStream writes seeded bytes in paced chunks and checks each echoed byte in order: it
keeps the first mismatch, the error that ended it (a reset, EOF) and the longest silence
between echoed chunks. Used by tests/test_virtio_net_lab.py and bench/virtio_net_migration.py,
for Ferry's guests and QEMU's alike.
"""
import os
import random
import re
import signal
import threading
import time

PING_EVERY_10_MS = ["ping", "-i", "0.01", "-W", "1"]


class EchoStream:
    """The client's side of a TCP echo through the guest: paced writes of seeded bytes, a
    reader that checks each echoed byte in order and keeps the longest silence."""

    CHUNK = 2048
    PERIOD_S = 0.02

    def __init__(self, sock, seed=1515):
        self.sock = sock
        self.rng = random.Random(seed)
        self.sent = bytearray()
        self.received = bytearray()
        self.mismatch_at = None
        self.longest_gap_s = 0.0
        self.error = None
        self.stop = threading.Event()
        self.writer = threading.Thread(target=self._write, daemon=True)
        self.reader = threading.Thread(target=self._read, daemon=True)

    def start(self):
        self.sock.settimeout(120)
        self.writer.start()
        self.reader.start()

    def _write(self):
        try:
            while not self.stop.is_set():
                chunk = self.rng.randbytes(self.CHUNK)
                # Recorded before it is sent: its echo may come back before sendall returns.
                self.sent.extend(chunk)
                self.sock.sendall(chunk)
                time.sleep(self.PERIOD_S)
        except OSError as e:
            self.error = "send: %r" % e

    def _read(self):
        last = time.monotonic()
        try:
            while True:
                chunk = self.sock.recv(65536)
                now = time.monotonic()
                if not chunk:
                    self.error = self.error or "the guest closed the stream"
                    return
                self.longest_gap_s = max(self.longest_gap_s, now - last)
                last = now
                start = len(self.received)
                self.received.extend(chunk)
                if self.mismatch_at is None and self.received[start:] != self.sent[start:len(self.received)]:
                    self.mismatch_at = start
        except OSError as e:
            self.error = self.error or "recv: %r" % e

    def finish(self, timeout=180):
        """Stops writing and waits (up to timeout) for every byte sent to come back."""
        self.stop.set()
        self.writer.join(30)
        deadline = time.monotonic() + timeout
        while len(self.received) < len(self.sent) and time.monotonic() < deadline and not self.error:
            time.sleep(0.2)

    @property
    def intact(self):
        """Open to the end, every byte back, none different."""
        return self.error is None and self.mismatch_at is None and len(self.received) == len(self.sent)


def stop_ping(proc, timeout=30):
    """Ends a ping started with lab.popen(..., stdout=PIPE, text=True); returns its output."""
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=timeout)
    return out


def ping_summary(text):
    """(transmitted, received) from ping's summary line."""
    m = re.search(r"(\d+) packets transmitted, (\d+) (?:packets )?received", text)
    assert m, text
    return int(m.group(1)), int(m.group(2))


def ping_gaps(text):
    """(transmitted, received, the longest run of lost replies) from ping's output."""
    seqs = sorted({int(s) for s in re.findall(r"icmp_seq=(\d+) ", text)})
    sent, got = ping_summary(text)
    longest = max([b - a - 1 for a, b in zip(seqs, seqs[1:])] + [0])
    return sent, got, longest
