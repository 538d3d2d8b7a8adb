"""The Linux guest's ACPI tables (kernel/vdev/acpi.c) as iasl reads them.

build/host/acpi_tables writes each table to a file; iasl (Debian's acpica-tools)
disassembles them, and the test checks what iasl understood: the DSDT's devices and
resources, the FADT's hardware-reduced flag and I/O-port sleep and reset registers, the
MADT's controllers, the XSDT's entries, and no warnings or errors. iasl cannot read an
RSDP on its own: its checksums and pointer are checked here. Skipped without iasl.
"""
import os
import re
import shutil
import struct
import subprocess

import pytest

from harness.paths import BUILD, ROOT

TOOL = os.path.join(BUILD, "host", "acpi_tables")
TABLES_GPA = 0xE0000


@pytest.fixture(scope="module")
def tool():
    subprocess.run(["make", "-s", "-C", ROOT, os.path.relpath(TOOL, ROOT)], check=True)
    return TOOL


def disassemble(tool, tmp_path, virtio_count):
    subprocess.run([tool, str(tmp_path), str(virtio_count)], check=True)
    text = {}
    for name in ("xsdt", "facp", "apic", "dsdt"):
        result = subprocess.run(["iasl", "-d", f"{name}.dat"], cwd=tmp_path, capture_output=True,
                                text=True)
        out = result.stdout + result.stderr
        assert result.returncode == 0, out
        assert not re.search(r"\b(Warning|Error)\b", out), out
        with open(os.path.join(tmp_path, f"{name}.dsl")) as f:
            text[name] = f.read()
        assert not re.search(r"(?i)\b(warning|error|invalid)\b", text[name]), text[name]
    return text


@pytest.mark.skipif(not shutil.which("iasl"), reason="iasl (acpica-tools) not installed")
@pytest.mark.parametrize("virtio_count", [0, 1, 8])
def test_iasl_reads_the_tables(tool, tmp_path, virtio_count):
    text = disassemble(tool, tmp_path, virtio_count)
    dsdt = text["dsdt"]
    assert 'EisaId ("PNP0501")' in dsdt
    assert re.search(r"IO \(Decode16,\s+0x03F8,\s+// Range Minimum\s+0x03F8,", dsdt)
    assert re.search(r"Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \)\s+\{\s+0x00000004,", dsdt)
    assert re.search(r"Name \(\\_S5, Package \(0x02\)\s+// _S5_: S5 System State\s+\{\s+0x05,", dsdt)
    assert dsdt.count('Name (_HID, "LNRO0005")') == virtio_count
    for i in range(virtio_count):
        assert f"Device (VR0{i})" in dsdt
        assert re.search(r"Memory32Fixed \(ReadWrite,\s+0x%08X,\s+// Address Base\s+0x00001000,"
                         % (0xD0000000 + i * 0x1000), dsdt)
        assert re.search(r"\{\s+0x%08X,\s+\}" % (16 + i), dsdt)

    facp = text["facp"]
    assert re.search(r"Hardware Reduced \(V5\) : 1", facp)
    assert re.search(r"Reset Register Supported \(V2\) : 1", facp)
    for register, port in (("Reset Register", 0x602), ("Sleep Control Register", 0x600),
                           ("Sleep Status Register", 0x601)):
        block = facp.split(f"{register} : [Generic Address Structure]")[1][:400]
        assert "Space ID : 01 [SystemIO]" in block, block
        assert "Bit Width : 08" in block
        assert f"Address : {port:016X}" in block
    assert re.search(r"Value to cause reset : 01", facp)
    assert re.search(r"PM Timer Block Address : 00000000", facp)

    apic = text["apic"]
    assert "Local Apic Address : FEE00000" in apic
    assert apic.count("[Processor Local APIC]") == 1
    assert apic.count("[I/O APIC]") == 1
    assert "Address : FEC00000" in apic
    assert "Interrupt Input LINT : 01" in apic
    assert "[Interrupt Source Override]" not in apic

    assert len(re.findall(r"ACPI Table Address\s+\d : ", text["xsdt"])) == 2


def test_rsdp(tool, tmp_path):
    subprocess.run([tool, str(tmp_path), "1"], check=True)
    with open(os.path.join(tmp_path, "rsdp.dat"), "rb") as f:
        rsdp = f.read()
    assert rsdp[:8] == b"RSD PTR "
    assert sum(rsdp[:20]) % 256 == 0 and sum(rsdp) % 256 == 0
    revision, rsdt, length, xsdt = rsdp[15], *struct.unpack_from("<IIQ", rsdp, 16)
    assert (revision, rsdt, length) == (2, 0, 36)
    assert TABLES_GPA < xsdt < TABLES_GPA + 0x1000
