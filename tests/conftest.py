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
    config.addinivalue_line("markers", "long: a long case (a fault matrix, a soak): runs with --long")
    config.addinivalue_line("markers", "long_on_bochs: long under Bochs, where the same case also runs "
                            "on the faster AMD-V lab: the Bochs run needs --long")


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true",
                     help="also run the long cases (marked long, or long_on_bochs on Bochs)")


def pytest_collection_modifyitems(config, items):
    """Keeps the suite within CI's budget: the long cases wait for `scripts/test.sh --long`."""
    if config.getoption("--long"):
        return
    skip = pytest.mark.skip(reason="long case: run with scripts/test.sh --long")
    for item in items:
        on_bochs = item.get_closest_marker("bochs") is not None
        if item.get_closest_marker("long") or (on_bochs and item.get_closest_marker("long_on_bochs")):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def built():
    """Builds the image, the ESP and the host unit tests once per run."""
    subprocess.run(["make", "-s", "-C", ROOT, "esp", "unit"], check=True)
    return ROOT
