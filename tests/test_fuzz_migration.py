"""Fuzzes the migration stream reader and codec, the destination state machine, and what
an unauthenticated peer reaches on either side (machines and engine), with libFuzzer for a
bounded time each (FUZZ_SECONDS, default 20). Each run starts from the seed corpus kept in
tests/fuzz/corpus/TARGET/ (valid frames and streams; `make fuzz-migration-seeds` writes it)
and, with -timeout, counts an input that stalls as a finding. Skipped where clang's
libFuzzer runtime is missing; any crash, stall or sanitizer report fails the test."""
import os
import subprocess

import pytest

from harness.fuzz import libfuzzer_available
from harness.paths import BUILD, ROOT

TARGETS = ["fuzz_migration_codec", "fuzz_migration_dest", "fuzz_migration_preauth",
           "fuzz_migration_tls"]
SECONDS = int(os.environ.get("FUZZ_SECONDS", "20"))
STALL_SECONDS = 10          # -timeout: one input running this long is a finding
SEEDS = os.path.join(ROOT, "tests", "fuzz", "corpus")

pytestmark = pytest.mark.skipif(not libfuzzer_available(), reason="clang with libFuzzer not installed")


@pytest.fixture(scope="module")
def fuzzers():
    subprocess.run(["make", "-s", "-C", ROOT] + [f"build/fuzz/{t}" for t in TARGETS], check=True)
    return {t: os.path.join(BUILD, "fuzz", t) for t in TARGETS}


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz(fuzzers, target, tmp_path):
    seeds = os.path.join(SEEDS, target)
    assert os.listdir(seeds), f"no seeds kept in {seeds}"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = subprocess.run(
        [fuzzers[target], f"-max_total_time={SECONDS}", f"-timeout={STALL_SECONDS}",
         "-max_len=300000", f"-artifact_prefix={tmp_path}/", str(corpus), seeds],
        capture_output=True, text=True, timeout=SECONDS + 120)
    tail = "\n".join(result.stderr.splitlines()[-40:])
    assert result.returncode == 0, f"{target} found a crash or a stall:\n{tail}"
    assert "Done " in result.stderr, tail
    # Every kept seed was read (libFuzzer counts them in its INFO line).
    assert "INFO: seed corpus: files: %d" % len(os.listdir(seeds)) in result.stderr, tail
