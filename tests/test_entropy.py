"""Ferry's random source and the migration channel's crypto commands (issue 12 item 7):
QEMU's default CPU has neither RDRAND nor RDSEED, so Ferry falls back to CPU timing
jitter, says so in dmesg and info, and still makes keys; `-cpu max` has the hardware
sources. `keygen` prints a fresh 256-bit migration_key line each time; `cryptobench`
times the channel's primitives beside memcpy (no figure is asserted)."""
import re

import pytest

from harness.machine import FerryMachine

KEY_LINE = re.compile(r"^migration_key = ([0-9a-f]{64})$", re.M)
CASES = ("memcpy", "ChaCha20-Poly1305 encrypt", "AES-128-GCM encrypt (tables)",
         "HMAC-SHA1 (NULL suite's MAC)", "Poly1305 alone (AEAD MAC)")

pytestmark = pytest.mark.qemu


def entropy_line(m):
    out = m.cmd("info")
    found = re.search(r"^entropy: source=(\w+) cpu_rdseed=(yes|no) cpu_rdrand=(yes|no) fallbacks=(\d+)",
                      out, re.M)
    assert found, out
    return found.groups()


def keys(m, count=2):
    got = []
    for _ in range(count):
        out = m.cmd("keygen")
        found = KEY_LINE.search(out)
        assert found and "# 256 bits from " in out, out
        got.append(found.group(1))
    return got


@pytest.mark.parametrize("emulator,hardware", [("qemu", False), ("qemu-svm", True)])
def test_entropy_source_is_said_and_keys_are_fresh(built, emulator, hardware):
    with FerryMachine(emulator=emulator, name="entropy-" + emulator) as m:
        m.wait_prompt(timeout=120)
        source, rdseed, rdrand, fallbacks = entropy_line(m)
        log = m.cmd("dmesg")
        if hardware:
            assert rdrand == "yes" and source in ("rdseed", "rdrand"), (source, rdseed, rdrand)
        else:
            # QEMU's default CPU model: no hardware source, the conditioned jitter one.
            assert (source, rdseed, rdrand) == ("jitter", "no", "no")
            assert "the CPU has neither RDSEED nor RDRAND; trying CPU timing jitter" in log, log
        assert re.search(r"entropy: source %s \(health checked; conditioned with BLAKE2s\)" % source, log), log
        assert fallbacks == "0"
        a, b = keys(m)
        assert a != b
        out = m.cmd("cryptobench 1", timeout=120)
        assert "cryptobench: 1 MiB per case in 16384-byte pieces, general registers only" in out, out
        for case in CASES:
            assert re.search(r"^%s +\d+\.\d{3} +\d+\.\d{3}x$" % re.escape(case), out, re.M), out
        assert "error: MIB must be a number from 1 to 256" in m.cmd("cryptobench 0")
