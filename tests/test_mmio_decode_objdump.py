"""The MMIO decoder (arch/x86/mmio_decode.c) against objdump, over real kernel code.

The virtio modules in build/guests/initramfs.cpio.gz are code from the very kernel Ferry
runs, built by Debian's compiler: readl/writel and their kin inlined into moves, among
thousands of other instructions. objdump disassembles every one (AT&T, with suffixes);
build/host/mmio_decode_tool decodes the same bytes. The decoder must accept exactly the
whitelisted moves with a memory operand (and no segment override), with objdump's length,
access size and direction, and refuse everything else. Skipped without the initramfs or
objdump.
"""
import gzip
import os
import re
import shutil
import subprocess

import pytest

from harness.paths import BUILD, ROOT

INITRD = os.path.join(BUILD, "guests", "initramfs.cpio.gz")
TOOL = os.path.join(BUILD, "host", "mmio_decode_tool")
LINE = re.compile(r"^\s*[0-9a-f]+:\t((?:[0-9a-f]{2} )+)\s*\t(.+?)\s*$")
SIZES = {"b": 1, "w": 2, "l": 4, "q": 8}
# Mnemonic -> (memory size, direction) when the instruction has a memory operand.
MOVES = {"mov" + s: SIZES[s] for s in "bwlq"}
MOVZX = {"movzbw": 1, "movzbl": 1, "movzbq": 1, "movzwl": 2, "movzwq": 2}


def modules_from_initramfs(path):
    """The .ko files of a newc cpio archive (gzip-compressed), as {name: bytes}."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    out, at = {}, 0
    while at + 110 <= len(data):
        fields = [int(data[at + 6 + 8 * i: at + 14 + 8 * i], 16) for i in range(13)]
        size, name_len = fields[6], fields[11]
        name_at = at + 110
        name = data[name_at:name_at + name_len - 1].decode()
        body = name_at + name_len + (-(110 + name_len) % 4)
        if name == "TRAILER!!!":
            break
        if name.endswith(".ko"):
            out[os.path.basename(name)] = data[body:body + size]
        at = body + size + (-size % 4)
    return out


def split_operands(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur:
        parts.append(cur)
    return [p.strip() for p in parts]


def expectation(asm):
    """What the decoder should say about one instruction: None (refuse) or a tuple
    (size, direction) for an accepted move."""
    words = asm.split(None, 1)
    mnemonic, operands = words[0], split_operands(words[1].split("#")[0]) if len(words) > 1 else []
    memory = [i for i, op in enumerate(operands) if op and op[0] not in "%$"]
    if len(memory) != 1 or re.search(r"%[c-gs]s:", asm):
        return None
    source_is_memory = memory[0] == 0
    if mnemonic in MOVES and not re.search(r"%(cr|dr|[c-gs]s\b)", asm):
        if source_is_memory:
            return (MOVES[mnemonic], "load")
        return (MOVES[mnemonic], "store-imm" if operands[0].startswith("$") else "store")
    if mnemonic in MOVZX and source_is_memory:
        return (MOVZX[mnemonic], "load")
    return None


@pytest.mark.skipif(not os.path.exists(INITRD), reason="no build/guests/initramfs.cpio.gz")
@pytest.mark.skipif(not shutil.which("objdump"), reason="no objdump")
def test_decoder_agrees_with_objdump_on_kernel_code(tmp_path):
    subprocess.run(["make", "-s", "-C", ROOT, os.path.relpath(TOOL, ROOT)], check=True)
    instructions = []
    for name, blob in sorted(modules_from_initramfs(INITRD).items()):
        path = tmp_path / name
        path.write_bytes(blob)
        listing = subprocess.run(["objdump", "-d", "-M", "suffix", "--insn-width=16", str(path)],
                                 capture_output=True, text=True, check=True).stdout
        for line in listing.splitlines():
            m = LINE.match(line)
            if m and "(bad)" not in m.group(2):
                instructions.append((m.group(1).strip(), m.group(2)))
    assert len(instructions) > 10000, len(instructions)

    decoded = subprocess.run([TOOL], input="\n".join(b for b, _ in instructions) + "\n",
                             capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(decoded) == len(instructions)
    accepted = 0
    for (raw, asm), result in zip(instructions, decoded):
        want = expectation(asm)
        words = result.split()
        if want is None:
            assert words[0] != "ok", f"{raw} ({asm}) accepted: {result}"
            continue
        accepted += 1
        length = len(raw.split())
        assert words[:4] == ["ok", str(length), str(want[0]), want[1]], f"{raw} ({asm}): {result}"
    assert accepted > 1000, accepted
