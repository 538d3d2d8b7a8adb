"""Fuzzes the migration stream decoder and the destination state machine with libFuzzer
for a bounded time each (FUZZ_SECONDS, default 20). Skipped where clang's libFuzzer
runtime is missing; any crash or sanitizer report fails the test."""
import os
import subprocess

import pytest

from harness.fuzz import libfuzzer_available
from harness.paths import BUILD, ROOT

TARGETS = ["fuzz_migration_codec", "fuzz_migration_dest", "fuzz_migration_tls"]
SECONDS = int(os.environ.get("FUZZ_SECONDS", "20"))




pytestmark = pytest.mark.skipif(not libfuzzer_available(), reason="clang with libFuzzer not installed")


@pytest.fixture(scope="module")
def fuzzers():
    subprocess.run(["make", "-s", "-C", ROOT] + [f"build/fuzz/{t}" for t in TARGETS], check=True)
    return {t: os.path.join(BUILD, "fuzz", t) for t in TARGETS}


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz(fuzzers, target, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = subprocess.run(
        [fuzzers[target], f"-max_total_time={SECONDS}", "-max_len=300000",
         f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=SECONDS + 120)
    tail = "\n".join(result.stderr.splitlines()[-40:])
    assert result.returncode == 0, f"{target} found a crash:\n{tail}"
    assert "Done " in result.stderr, tail
