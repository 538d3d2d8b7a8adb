"""The QEMU half of the live-migration benchmark (bench/qemu_migration.py) produces sane,
self-consistent figures: one short case, an idle 64 MiB guest. No wall-clock thresholds."""
import os
import subprocess
import sys

import pytest

from harness.paths import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))
import qemu_migration  # noqa: E402

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def idle_row():
    subprocess.run(["make", "-s", "-C", ROOT, "bench-guests"], check=True)
    return qemu_migration.run_case(0, warmup_s=0.5, raw_tcp_bytes=64 * qemu_migration.MIB)


def test_migration_completes_and_guest_resumes(idle_row):
    assert idle_row["status"] == "completed", idle_row.get("error")
    assert idle_row["guest_resumed"], "the guest did not go on running on the destination"
    assert idle_row["rate_pages_per_s"] == idle_row["guest_rate_pages_per_s"] == 0
    # About 56 MiB of 4 KiB pages, bounded by the guest's memory map.
    assert 13 * 1024 < idle_row["guest_window_pages"] <= 14 * 1024


def test_every_page_is_sent_or_marked_zero(idle_row):
    page = idle_row["page_size"]
    assert page == 4096
    ram_pages = idle_row["ram_total_bytes"] // page
    assert idle_row["ram_total_bytes"] >= idle_row["guest_ram_bytes"] == 64 * qemu_migration.MIB
    assert idle_row["normal_pages"] + idle_row["zero_pages"] >= ram_pages
    # The guest's image, stack and the firmware tables are not zero.
    assert idle_row["normal_pages"] > 0
    assert idle_row["normal_bytes"] == idle_row["normal_pages"] * page
    assert idle_row["ram_transferred_bytes"] >= idle_row["normal_bytes"]
    # An idle guest's zero pages go as markers: far less than its RAM crosses the link.
    assert idle_row["ram_transferred_bytes"] < idle_row["guest_ram_bytes"]


def test_times_and_ratios_are_consistent(idle_row):
    row = idle_row
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


def test_table_shows_the_row(idle_row):
    table = qemu_migration.format_table([idle_row]).splitlines()
    assert table[1].split()[:3] == ["rate/s", "status", "rounds"]
    cells = table[2].split()
    assert cells[:3] == ["0", "completed", str(idle_row["rounds"])]
