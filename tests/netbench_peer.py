#!/usr/bin/env python3
"""The Linux end of Ferry's `netbench`: the same data stream and checksum (net/bench_stream.h).

    netbench_peer.py recv [--port 5001] [--timeout S]   accept one connection, read to EOF
    netbench_peer.py send HOST[:PORT] MIB                connect and send MIB MiB of the stream

Each prints one JSON line: {"bytes": N, "seconds": S, "mb_per_s": X, "crc32": "0x..."}
(and on recv "ready" on stderr once listening).

The stream: little-endian 32-bit words, word i = mix(i % 16384) ^ (i // 16384), with
mix(w) = h(w * 0x9e3779b1), h(x): x ^= x >> 15; x *= 0x85ebca77; x ^= x >> 13 (mod 2^32).
Each 64 KiB block is built from the base block with one big-integer XOR, so Python keeps up.
"""
import argparse
import json
import socket
import sys
import time
import zlib

BLOCK_WORDS = 16384
BLOCK_BYTES = BLOCK_WORDS * 4
MASK32 = 0xFFFFFFFF


def mix(w):
    x = (w * 0x9E3779B1) & MASK32
    x ^= x >> 15
    x = (x * 0x85EBCA77) & MASK32
    x ^= x >> 13
    return x


_BASE = b"".join(mix(w).to_bytes(4, "little") for w in range(BLOCK_WORDS))
_BASE_INT = int.from_bytes(_BASE, "little")
_REPUNIT = int.from_bytes(b"\x01\x00\x00\x00" * BLOCK_WORDS, "little")


def block(index):
    """64 KiB block `index` of the stream."""
    return (_BASE_INT ^ ((index & MASK32) * _REPUNIT)).to_bytes(BLOCK_BYTES, "little")


def stream(total):
    """Yields the first `total` bytes of the stream in blocks."""
    i = 0
    sent = 0
    while sent < total:
        b = block(i)
        if total - sent < len(b):
            b = b[:total - sent]
        yield b
        sent += len(b)
        i += 1


def report(nbytes, seconds, crc):
    print(json.dumps({"bytes": nbytes, "seconds": round(seconds, 6),
                      "mb_per_s": round(nbytes / seconds / 1e6, 2) if seconds > 0 else 0.0,
                      "crc32": "0x%08x" % crc}), flush=True)


def recv(port, timeout):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    srv.settimeout(timeout)
    print("ready", file=sys.stderr, flush=True)
    conn, _ = srv.accept()
    conn.settimeout(timeout)
    crc, n = 0, 0
    start = time.monotonic()
    while True:
        data = conn.recv(1 << 20)
        if not data:
            break
        crc = zlib.crc32(data, crc)
        n += len(data)
    seconds = time.monotonic() - start
    conn.close()
    srv.close()
    report(n, seconds, crc)


def send(target, mib, timeout):
    host, _, port = target.partition(":")
    port = int(port or 5001)
    total = mib * 1024 * 1024
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = socket.create_connection((host, port), timeout=timeout)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    crc, n = 0, 0
    start = time.monotonic()
    for b in stream(total):
        conn.sendall(b)
        crc = zlib.crc32(b, crc)
        n += len(b)
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)   # wait for the peer's close: everything was read
    seconds = time.monotonic() - start
    conn.close()
    report(n, seconds, crc)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--port", type=int, default=5001)
    r.add_argument("--timeout", type=float, default=120)
    s = sub.add_parser("send")
    s.add_argument("target")
    s.add_argument("mib", type=int)
    s.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    if a.mode == "recv":
        recv(a.port, a.timeout)
    else:
        send(a.target, a.mib, a.timeout)


if __name__ == "__main__":
    main()
