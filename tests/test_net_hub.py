"""Two Ferry hosts under Bochs joined by bxhub: the network without root (issue: network).

No namespace, bridge or tap: Bochs' `ethmod=socket` sessions relayed by bxhub over the
loopback. The hosts ping each other and move data with netbench, so the driver and
stack are checked even where the bridge lab (tests/test_net.py) is skipped for want
of root.
"""
import re
import shutil

import pytest

from harness.netlab import HubLab

NETBENCH = re.compile(r"netbench: (sent|received) bytes=(\d+) ms=\d+ mb_per_s=[\d.]+ "
                      r"crc32=(0x[0-9a-f]{8})")

pytestmark = [pytest.mark.bochs,
              pytest.mark.skipif(not shutil.which("bxhub"), reason="bxhub is not installed")]


def test_bochs_hosts_on_bxhub_ping_and_run_netbench(built):
    with HubLab(ports=2) as hub:
        with hub.ferry(0) as a, hub.ferry(1) as b:
            a.wait_prompt(timeout=300)
            b.wait_prompt(timeout=300)
            for src, dst in ((a, 1), (b, 0)):
                out = src.cmd("ping %s 3" % hub.host_ip(dst), timeout=60)
                assert "3 transmitted, 3 received, 0% loss" in out, out
            b.send_raw(b"netbench recv\r")
            b.expect(r"listening on port 5001", timeout=30)
            sent = NETBENCH.search(a.cmd("netbench send %s 2" % hub.host_ip(1), timeout=300))
            got = NETBENCH.search(b.expect(NETBENCH.pattern, timeout=120).group(0).decode())
            assert sent and got, (a.text(), b.text())
            assert sent.group(2) == got.group(2) == str(2 * 1024 * 1024)
            assert sent.group(3) == got.group(3)
