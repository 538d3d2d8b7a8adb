"""The Ferry half of the live-migration benchmark (bench/ferry_migration.py) produces sane,
self-consistent rows: one short case (a 16 MiB guest writing 25 pages/s) between two
Bochs Ferry hosts. No wall-clock thresholds."""
import os
import shutil
import sys

import pytest

from harness.netlab import netlab_available
from harness.paths import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))
import ferry_migration  # noqa: E402
import qemu_migration  # noqa: E402

LAB = "netlab" if netlab_available()[0] else "hub"
pytestmark = [pytest.mark.bochs,
              pytest.mark.skipif(LAB == "hub" and not shutil.which("bxhub"),
                                 reason="neither a network lab (root) nor bxhub")]

MEMORY_MIB, WINDOW_MIB, RATE = 16, 4, 25


@pytest.fixture(scope="module")
def row(built):
    rows = ferry_migration.run_ferry_migration_bench(
        rates=(RATE,), lab_kind=LAB, memory_mib=MEMORY_MIB, window_mib=WINDOW_MIB,
        warmup_s=1.0, netbench_mib=2)
    assert len(rows) == 1
    return rows[0]


def test_migration_completes_and_guest_resumes(row):
    assert row["status"] == "completed", row.get("error")
    assert row["guest_resumed"], "memtest did not go on, intact, on the destination"
    assert row["rate_pages_per_s"] == RATE and row["guest_image"] == "memtest"
    assert row["guest_window_pages"] == WINDOW_MIB * 256


def test_every_page_is_sent_or_marked_zero(row):
    ram_pages = MEMORY_MIB * 256
    assert row["guest_ram_bytes"] == row["ram_total_bytes"] == MEMORY_MIB * 1024 * 1024
    rounds = row["round_rows"]
    assert rounds[0]["round"] == 0 and rounds[0]["pages"] == ram_pages, rounds
    # memtest's window and the guest's image are not zero; the rest of its RAM is.
    assert WINDOW_MIB * 256 <= rounds[0]["pages"] - rounds[0]["zero"] < 2 * WINDOW_MIB * 256
    assert row["pages"] == sum(r["pages"] for r in rounds) >= ram_pages
    assert row["normal_pages"] + row["zero_pages"] == row["pages"]
    # A full page record is 8 + 4096 bytes, a zero one 8.
    assert row["page_bytes"] >= row["normal_pages"] * 4104
    assert row["ram_transferred_bytes"] >= row["page_bytes"] == \
        row["precopy_bytes"] + row["downtime_bytes"]
    assert row["ram_transferred_bytes"] < 2 * row["guest_ram_bytes"]


def test_times_and_ratios_are_consistent(row):
    assert row["rounds"] == len(row["round_rows"]) >= 2
    assert [r["final"] for r in row["round_rows"]] == [False] * (row["rounds"] - 1) + [True]
    assert row["downtime_target_ms"] == ferry_migration.DOWNTIME_TARGET_MS
    assert 0 < row["downtime_ms"] < row["total_time_ms"]
    assert 0 < row["downtime_dest_ms"]
    assert row["downtime_over_target"] == pytest.approx(row["downtime_ms"] / 50)
    assert row["bytes_over_ram"] == pytest.approx(row["ram_transferred_bytes"] / row["guest_ram_bytes"])
    assert row["raw_tcp_MBps"] > 0
    assert row["throughput_MBps"] == pytest.approx(
        row["ram_transferred_bytes"] / (row["total_time_ms"] / 1000) / 1e6)
    assert row["throughput_ratio"] == pytest.approx(row["throughput_MBps"] / row["raw_tcp_MBps"])
    assert row["throttle_percent"] == max(r["throttle"] for r in row["round_rows"])


def test_table_shows_the_row(row):
    table = qemu_migration.format_table([row], title="ferry").splitlines()
    assert table[1].split()[:3] == ["rate/s", "status", "rounds"]
    cells = table[2].split()
    assert cells[:3] == [str(RATE), "completed", str(row["rounds"])]
    assert cells[6] == "-"   # QEMU's own MB/s column: not a Ferry figure
