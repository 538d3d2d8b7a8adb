"""Shared pytest set-up: the build, the markers, and machines that always get torn down."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness.paths import ROOT  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "bochs: boots Ferry under Bochs (VT-x emulated; slow)")
    config.addinivalue_line("markers", "qemu: boots Ferry under QEMU TCG")
    config.addinivalue_line("markers", "netlab: needs root to build a network namespace lab")
    config.addinivalue_line("markers", "fuzz: runs a libFuzzer target for a bounded time (needs clang)")


@pytest.fixture(scope="session")
def built():
    """Builds the image, the ESP and the host unit tests once per run."""
    subprocess.run(["make", "-s", "-C", ROOT, "esp", "unit"], check=True)
    return ROOT
