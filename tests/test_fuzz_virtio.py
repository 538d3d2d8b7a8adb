"""Fuzzes virtio-net over virtio-mmio with libFuzzer for a bounded time.

`make fuzz-virtio-net` builds tests/fuzz/fuzz_virtio_net.c with clang
(-fsanitize=fuzzer,address,undefined): hostile rings and register traffic over a fake guest
RAM, migrations between two devices and hostile state sections. Besides crashes and
sanitizer reports, the target aborts on a device write into guest RAM that was not reported
to the dirty hook, a descriptor in flight at rest, or a saved state the device's own
validator refuses. libFuzzer exits non-zero and writes a crash-* artifact; that fails the
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
def test_fuzz_virtio_net():
    for old in glob.glob(os.path.join(BUILD, "fuzz", "crash-*")):
        os.unlink(old)
    result = subprocess.run(["make", "-s", "-C", ROOT, "fuzz-virtio-net", f"FUZZ_SECONDS={FUZZ_SECONDS}"],
                            capture_output=True, text=True, timeout=FUZZ_SECONDS + 300,
                            start_new_session=True)
    output = result.stdout + result.stderr
    crashes = glob.glob(os.path.join(BUILD, "fuzz", "crash-*"))
    assert result.returncode == 0 and not crashes, f"fuzz-virtio-net found a problem {crashes}:\n{output[-6000:]}"
    runs = [line for line in output.splitlines() if line.startswith("Done ") and " runs in " in line]
    assert runs, output[-3000:]
