#!/usr/bin/env python3
"""A tiny DHCP server for the network lab (RFC 2131, just enough for one client at a time).

    dhcp_server.py --iface br0 --server 198.18.0.1 --pool 198.18.0.50 [--prefix 24] [--router IP]

Answers DISCOVER with OFFER and REQUEST with ACK, always broadcast (the client has
no address yet), handing out consecutive addresses from --pool, one per MAC.
Prints one line per lease ("lease MAC IP") on stdout. Runs until killed.
"""
import argparse
import ipaddress
import socket
import struct

MAGIC = b"\x63\x82\x53\x63"
OP_REPLY = 2
OPT_MSG_TYPE, OPT_MASK, OPT_ROUTER, OPT_SERVER_ID, OPT_LEASE, OPT_END = 53, 1, 3, 54, 51, 255
DISCOVER, OFFER, REQUEST, ACK = 1, 2, 3, 5
LEASE_SECONDS = 3600
SO_BINDTODEVICE = 25


def options(data):
    out = {}
    i = 0
    while i < len(data):
        code = data[i]
        if code == OPT_END:
            break
        if code == 0:
            i += 1
            continue
        if i + 1 >= len(data):
            break
        length = data[i + 1]
        out[code] = data[i + 2:i + 2 + length]
        i += 2 + length
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", default="br0")
    ap.add_argument("--server", required=True)
    ap.add_argument("--pool", required=True)
    ap.add_argument("--prefix", type=int, default=24)
    ap.add_argument("--router")
    a = ap.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, a.iface.encode())
    sock.bind(("0.0.0.0", 67))
    mask = int(ipaddress.IPv4Network("0.0.0.0/%d" % a.prefix).netmask)
    next_ip = int(ipaddress.IPv4Address(a.pool))
    leases = {}
    print("ready", flush=True)
    while True:
        data, _ = sock.recvfrom(2048)
        if len(data) < 240 or data[236:240] != MAGIC:
            continue
        xid, flags = struct.unpack("!I", data[4:8])[0], data[10:12]
        chaddr = data[28:44]
        opts = options(data[240:])
        kind = opts.get(OPT_MSG_TYPE, b"\0")[0]
        if kind not in (DISCOVER, REQUEST):
            continue
        mac = chaddr[:6]
        if mac not in leases:
            leases[mac] = next_ip
            next_ip += 1
        yiaddr = leases[mac]
        reply = struct.pack("!BBBBIHH", OP_REPLY, 1, 6, 0, xid, 0, 0) + flags[:0]
        reply = bytearray(reply)
        reply[10:12] = flags
        reply += b"\0" * 4                                      # ciaddr
        reply += struct.pack("!I", yiaddr)                       # yiaddr
        reply += socket.inet_aton(a.server)                      # siaddr
        reply += b"\0" * 4                                      # giaddr
        reply += chaddr + b"\0" * 192 + MAGIC
        msg = OFFER if kind == DISCOVER else ACK
        reply += bytes([OPT_MSG_TYPE, 1, msg])
        reply += bytes([OPT_SERVER_ID, 4]) + socket.inet_aton(a.server)
        reply += bytes([OPT_LEASE, 4]) + struct.pack("!I", LEASE_SECONDS)
        reply += bytes([OPT_MASK, 4]) + struct.pack("!I", mask)
        if a.router:
            reply += bytes([OPT_ROUTER, 4]) + socket.inet_aton(a.router)
        reply += bytes([OPT_END])
        sock.sendto(bytes(reply), ("255.255.255.255", 68))
        if msg == ACK:
            print("lease %s %s" % (mac.hex(":"), ipaddress.IPv4Address(yiaddr)), flush=True)


if __name__ == "__main__":
    main()
