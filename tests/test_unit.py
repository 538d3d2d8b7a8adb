"""Runs each host unit-test binary (build/host/test_*) as one pytest case."""
import glob
import os
import subprocess

import pytest

from harness.paths import ROOT

UNIT_SOURCES = sorted(glob.glob(os.path.join(ROOT, "tests", "unit", "test_*.c")))


@pytest.mark.parametrize("source", UNIT_SOURCES, ids=lambda p: os.path.basename(p)[:-2])
def test_unit(built, source):
    binary = os.path.join(ROOT, "build", "host", os.path.basename(source)[:-2])
    result = subprocess.run([binary], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{binary} failed:\n{result.stdout}\n{result.stderr}"
    last = result.stdout.strip().splitlines()[-1]
    assert last.endswith(" 0 failed") and not last.startswith("0 passed"), result.stdout
