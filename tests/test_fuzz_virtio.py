"""Fuzzes virtio-net over virtio-mmio with libFuzzer for a bounded time.

`make fuzz-virtio-net` builds tests/fuzz/fuzz_virtio_net.c with clang
(-fsanitize=fuzzer,address,undefined): hostile rings and register traffic over a fake guest
RAM, migrations between two devices and hostile state sections. Besides crashes and
sanitizer reports, the target aborts on a device write into guest RAM that was not reported
to the dirty hook, a descriptor in flight at rest, or a saved state the device's own
validator refuses; libFuzzer then exits non-zero with a crash-* artifact, which fails the
test.
"""
import pytest

from harness.fuzz import libfuzzer_available, run_fuzz_make_target

FUZZ_SECONDS = 10


@pytest.mark.fuzz
@pytest.mark.skipif(not libfuzzer_available(), reason="clang with libFuzzer not installed")
def test_fuzz_virtio_net():
    problem = run_fuzz_make_target("fuzz-virtio-net", FUZZ_SECONDS)
    assert problem is None, problem
