"""Fuzzes the guest loader (kernel/vm/loader_elf.c) with libFuzzer for a bounded time.

`make fuzz-guest-loader` builds tests/fuzz/fuzz_guest_loader.c with clang
(-fsanitize=fuzzer,address,undefined) and feeds it arbitrary bytes, seeded with a real
test-guest image. libFuzzer exits non-zero and writes a crash-* artifact on any crash
or sanitizer report; that fails this test.
"""
import glob
import os
import subprocess

import pytest

from harness.fuzz import libfuzzer_available
from harness.paths import BUILD, ROOT

FUZZ_SECONDS = 15




@pytest.mark.fuzz
@pytest.mark.skipif(not libfuzzer_available(), reason="clang with libFuzzer not installed")
def test_fuzz_guest_loader(built):
    for old in glob.glob(os.path.join(BUILD, "fuzz", "crash-*")):
        os.unlink(old)
    result = subprocess.run(["make", "-s", "-C", ROOT, "fuzz-guest-loader", f"FUZZ_SECONDS={FUZZ_SECONDS}"],
                            capture_output=True, text=True, timeout=FUZZ_SECONDS + 300,
                            start_new_session=True)
    output = result.stdout + result.stderr
    crashes = glob.glob(os.path.join(BUILD, "fuzz", "crash-*"))
    assert result.returncode == 0 and not crashes, f"fuzzer found a problem {crashes}:\n{output[-6000:]}"
    runs = [line for line in output.splitlines() if line.startswith("Done ") and " runs in " in line]
    assert runs, output[-3000:]
