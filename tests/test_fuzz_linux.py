"""Fuzzes the Linux guest's hostile-input parsers with libFuzzer for a bounded time each.

`make fuzz-linux-loader` (the bzImage loader), `make fuzz-mmio-decode` (the MMIO
instruction decoder and the guest page-table walker) and `make fuzz-apic` (the local APIC
and I/O APIC models under hostile register traffic), `make fuzz-snapshot` (the snapshot codec
and validation over hostile STATE bytes, the Linux platform's sections included) build tests/fuzz/*.c with clang
(-fsanitize=fuzzer,address,undefined); each target writes its own seeds. libFuzzer exits
non-zero and writes a crash-* artifact on any crash or sanitizer report; that fails the
test.
"""
import glob
import os
import subprocess

import pytest

from harness.fuzz import libfuzzer_available
from harness.paths import BUILD, ROOT

FUZZ_SECONDS = 10


@pytest.mark.fuzz
@pytest.mark.skipif(not libfuzzer_available(), reason="clang with libFuzzer not installed")
@pytest.mark.parametrize("target", ["fuzz-linux-loader", "fuzz-mmio-decode", "fuzz-apic", "fuzz-snapshot"])
def test_fuzz_linux(target):
    for old in glob.glob(os.path.join(BUILD, "fuzz", "crash-*")):
        os.unlink(old)
    result = subprocess.run(["make", "-s", "-C", ROOT, target, f"FUZZ_SECONDS={FUZZ_SECONDS}"],
                            capture_output=True, text=True, timeout=FUZZ_SECONDS + 300,
                            start_new_session=True)
    output = result.stdout + result.stderr
    crashes = glob.glob(os.path.join(BUILD, "fuzz", "crash-*"))
    assert result.returncode == 0 and not crashes, f"{target} found a problem {crashes}:\n{output[-6000:]}"
    runs = [line for line in output.splitlines() if line.startswith("Done ") and " runs in " in line]
    assert runs, output[-3000:]
