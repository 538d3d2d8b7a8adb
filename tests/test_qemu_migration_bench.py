"""The QEMU half of the live-migration benchmark (bench/qemu_migration.py) produces sane,
self-consistent figures: one short case, a 64 MiB guest writing 200 pages a second, which
its verifier finds intact on the destination. No wall-clock thresholds."""
import os
import subprocess
import sys

import pytest

from harness.paths import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))
import qemu_migration  # noqa: E402

pytestmark = pytest.mark.qemu
RATE = 200   # pages a second: a few hundred pages written before the move, verified after it


@pytest.fixture(scope="module")
def row():
    subprocess.run(["make", "-s", "-C", ROOT, "bench-guests"], check=True)
    return qemu_migration.run_case(RATE, warmup_s=0.5, raw_tcp_bytes=64 * qemu_migration.MIB)


def test_migration_completes_and_guest_resumes(row):
    assert row["status"] == "completed", row.get("error")
    assert row["guest_resumed"], "the guest did not go on running on the destination"
    assert row["rate_pages_per_s"] == row["guest_rate_pages_per_s"] == RATE
    # Its verifier swept the whole window on the destination: every page it had written
    # holds its last stamp (a lost or stale page would be counted here).
    assert row["guest_corrupt"] == 0
    # About 56 MiB of 4 KiB pages, bounded by the guest's memory map.
    assert 13 * 1024 < row["guest_window_pages"] <= 14 * 1024


def test_every_page_is_sent_or_marked_zero(row):
    page = row["page_size"]
    assert page == 4096
    ram_pages = row["ram_total_bytes"] // page
    assert row["ram_total_bytes"] >= row["guest_ram_bytes"] == 64 * qemu_migration.MIB
    assert row["normal_pages"] + row["zero_pages"] >= ram_pages
    # The guest's image, stack and the firmware tables are not zero.
    assert row["normal_pages"] > 0
    assert row["normal_bytes"] == row["normal_pages"] * page
    assert row["ram_transferred_bytes"] >= row["normal_bytes"]
    # A guest that has written a few hundred pages: its zero pages go as markers, far less
    # than its RAM crosses the link.
    assert row["ram_transferred_bytes"] < row["guest_ram_bytes"]


def test_times_and_ratios_are_consistent(row):
    row = row
    assert row["rounds"] >= 1
    assert row["downtime_ms"] is not None and row["downtime_ms"] >= 0
    assert row["total_time_ms"] > 0
    assert row["total_time_ms"] >= row["downtime_ms"]
    assert 0 <= row["setup_time_ms"] <= row["total_time_ms"]
    assert row["downtime_target_ms"] == qemu_migration.DOWNTIME_TARGET_MS
    assert row["downtime_over_target"] == pytest.approx(row["downtime_ms"] / 50)
    assert row["bytes_over_ram"] == pytest.approx(
        row["ram_transferred_bytes"] / row["guest_ram_bytes"])
    assert row["raw_tcp_MBps"] > 0
    assert row["throughput_MBps"] == pytest.approx(
        row["ram_transferred_bytes"] / (row["total_time_ms"] / 1000) / 1e6)
    assert row["throughput_ratio"] == pytest.approx(row["throughput_MBps"] / row["raw_tcp_MBps"])


def test_table_shows_the_row(row):
    table = qemu_migration.format_table([row]).splitlines()
    assert table[1].split()[:3] == ["rate/s", "status", "rounds"]
    cells = table[2].split()
    assert cells[:3] == [str(RATE), "completed", str(row["rounds"])]
