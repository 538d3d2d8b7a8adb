"""Live migration between an AMD-V host and a VT-x host is refused (docs/svm.md, "Migration").

One lab, two Ferry hosts with the same migration_key: A under QEMU TCG with AMD-V
(198.18.0.10) and B under Bochs with VT-x (198.18.0.11). A guest can only move between
hosts of its CPU's vendor: the destination refuses the offer in its pre-checks, before a
page is sent, with a reason that names both vendors, and the guest runs on at its source.
Both directions are checked. Needs root (the lab) and Bochs (about 30 s).
"""
import re

import pytest

from harness.migration import KEY, guests, parse_report, wait_memtest, wait_output
from harness.netlab import NetLab, netlab_available

AVAILABLE, WHY = netlab_available()
pytestmark = [pytest.mark.bochs, pytest.mark.qemu, pytest.mark.netlab,
              pytest.mark.skipif(not AVAILABLE, reason=WHY)]

BOOT_S = 300
SLOW = 240
CONFIG = "migration_key = %s\n" % KEY
AMD_TO_INTEL = "the guest ran on an AMD CPU (AMD-V); this host is Intel (VT-x)"
INTEL_TO_AMD = "the guest ran on an Intel CPU (VT-x); this host is AMD (AMD-V)"


@pytest.fixture(scope="module")
def hosts(built):
    with NetLab() as lab:
        with lab.ferry(0, emulator="qemu-svm", extra_config=CONFIG) as amd, \
             lab.ferry(1, emulator="bochs", extra_config=CONFIG) as intel:
            amd.wait_prompt(timeout=BOOT_S)
            intel.wait_prompt(timeout=BOOT_S)
            yield lab, amd, intel


def refused_between(lab, src, dest, dest_index, name, why):
    """`migrate name` from src to dest: refused in the pre-checks; the guest runs on at src."""
    dest_start = len(dest.output)
    out = src.cmd("migrate %s %s" % (name, lab.host_ip(dest_index)), timeout=SLOW)
    report = parse_report(out)
    assert report["outcome"] == "failed", out
    assert report["reason"] == "destination refused (cpu-vendor): " + why, report
    assert report["rounds"] == 0 and report["pages"] == 0, report   # refused before any page
    assert "error: migration of '%s' failed: " % name in out, out
    wait_output(dest, re.escape(why), dest_start, timeout=60)   # the destination says why too
    assert name not in guests(dest), dest.cmd("list")
    assert guests(src).get(name) == "running", src.cmd("list")


def test_amd_guest_is_refused_by_an_intel_host(hosts):
    lab, amd, intel = hosts
    assert "vendor=amd svm=yes npt=yes" in amd.cmd("info")
    assert "vendor=intel vmx=yes ept=yes" in intel.cmd("info")
    start = len(amd.output)
    amd.cmd('create mt memtest memory=16 args="mib=2 rate=50"', timeout=SLOW)
    wait_memtest(amd, "mt", start, count=1, timeout=SLOW)
    refused_between(lab, amd, intel, 1, "mt", AMD_TO_INTEL)
    after = len(amd.output)
    lines = wait_memtest(amd, "mt", after, count=2, timeout=SLOW)
    assert all(line["corrupt"] == 0 for line in lines), lines
    assert "logging=no" in amd.cmd("vminfo mt")


def test_intel_guest_is_refused_by_an_amd_host(hosts):
    lab, amd, intel = hosts
    start = len(intel.output)
    intel.cmd('create cnt counter memory=16 args="interval_ms=200"', timeout=SLOW)
    wait_output(intel, r"\[cnt\] counter 2\n", start, timeout=SLOW)
    refused_between(lab, intel, amd, 0, "cnt", INTEL_TO_AMD)
    wait_output(intel, r"\[cnt\] counter \d+\n", len(intel.output), timeout=SLOW)
