#!/usr/bin/env python3
"""Writes a gzip-compressed newc cpio archive (an initramfs) from a spec, without root.

The spec has one entry a line, in the manner of the kernel's usr/gen_init_cpio:

    dir   PATH MODE
    file  PATH MODE SOURCE        (SOURCE: a file on the host, read whole)
    slink PATH MODE TARGET
    nod   PATH MODE c|b MAJOR MINOR

MODE is octal permission bits; owner and group are 0; every time stamp is 0 and inode
numbers count up from 1, so the same spec and sources always give the same bytes
(device nodes need no mknod, hence no root). Blank lines and lines starting with # are
skipped. The newc format: a 110-byte ASCII header ("070701", then 13 eight-digit hex
fields), the NUL-terminated name, padding to 4 bytes, the data, padding to 4 bytes; the
archive ends with the entry "TRAILER!!!" (see the kernel's
Documentation/driver-api/early-userspace/buffer-format.rst).

Usage: scripts/mkcpio.py SPEC OUTPUT.cpio.gz
"""
import gzip
import stat
import sys

NEWC_MAGIC = "070701"
TRAILER = "TRAILER!!!"


def pad4(n):
    return (4 - n % 4) % 4


def entry(ino, mode, name, data=b"", rdev=(0, 0), nlink=1):
    name_bytes = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_bytes), 0]
    header = NEWC_MAGIC + "".join("%08X" % f for f in fields)
    out = header.encode() + name_bytes + b"\0" * pad4(len(header) + len(name_bytes))
    return out + data + b"\0" * pad4(len(data))


def parse(spec_path):
    entries = []
    with open(spec_path) as spec:
        for lineno, line in enumerate(spec, 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            kind, path, mode = words[0], words[1].lstrip("/"), int(words[2], 8)
            if kind == "dir" and len(words) == 3:
                entries.append((stat.S_IFDIR | mode, path, b"", (0, 0)))
            elif kind == "file" and len(words) == 4:
                with open(words[3], "rb") as f:
                    entries.append((stat.S_IFREG | mode, path, f.read(), (0, 0)))
            elif kind == "slink" and len(words) == 4:
                entries.append((stat.S_IFLNK | mode, path, words[3].encode(), (0, 0)))
            elif kind == "nod" and len(words) == 6 and words[3] in ("c", "b"):
                node = stat.S_IFCHR if words[3] == "c" else stat.S_IFBLK
                entries.append((node | mode, path, b"", (int(words[4]), int(words[5]))))
            else:
                sys.exit("mkcpio: %s:%d: cannot parse %r" % (spec_path, lineno, line.rstrip()))
    return entries


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    archive = bytearray()
    for ino, (mode, path, data, rdev) in enumerate(parse(sys.argv[1]), 1):
        archive += entry(ino, mode, path, data, rdev, nlink=2 if stat.S_ISDIR(mode) else 1)
    archive += entry(0, 0, TRAILER)
    with open(sys.argv[2], "wb") as out:
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
            gz.write(bytes(archive))


if __name__ == "__main__":
    main()
