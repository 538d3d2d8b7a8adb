"""Hostile peers against live migration, end to end (issue 12 items 1, 2, 4 and 12;
docs/migration.md "Against hostile peers", "Limits and deadlines").

One lab for the whole module: two AMD-V Ferry hosts under QEMU TCG (`qemu-svm`,
`-cpu max,+svm,+npt`), A (198.18.0.10) and B (198.18.0.11), with the same migration_key
and `migration_cipher = none` (protocol v2's TLS with the NULL cipher: authenticated, not
encrypted), so that the relay can read the protocol's messages inside TLS and stop or
reset a connection at any of them; VT-x is not the point here, and QEMU boots in seconds
where Bochs takes minutes. Hostile peers are Python sockets in the lab's namespace, from
the bridge's address and aliases added to it, and the relay of harness/migration_wire.py
(hold, reset, inject). Under protocol v2 a stranger's bytes meet the clear-text version
hello and then TLS: bytes injected on the path fail TLS's record check, which ends the
connection where v1 read and ignored them; the guest's fate is the same.

The cases: the 17 bytes of an empty header and one more, for every type that may be
empty, to a listener and from a fake destination; HELLOs trickled a byte a second from
four addresses, meeting the handshake deadline, the per-address and pre-authentication
limits refusing more at once, while an outgoing migration still starts and completes;
bytes injected after GO both ways; a connection reset in each phase; and migrate-resolve
asking the destination first and refusing a word that contradicts its answer. What every
case checks besides its own subject: both consoles answer, the guest runs on exactly one
host, memtest finds no corruption.

Times are read on Ferry's own clock (its log lines), never on the wall clock. Needs root;
without it everything here is skipped, saying so.
"""
import contextlib
import re
import socket
import struct
import threading
import time

import pytest

from harness import netns
from harness.machine import ConsoleTimeout, backend_emulator
from harness.migration import (KEY, corrupt_lines, guests, parse_report, parse_reports, pump,
                               settled, wait_memtest, wait_output)
from harness.migration_wire import (ABORT, AUTH, GO, PAGES, PROTOCOL_VERSION, READY, RESUMED,
                                    STATE, Relay, header, messages, read_all)
from harness.netlab import BRIDGE, NetLab, netlab_available

AVAILABLE, WHY = netlab_available()
pytestmark = [pytest.mark.netlab, pytest.mark.qemu, pytest.mark.skipif(not AVAILABLE, reason=WHY)]

BOOT_S = 120
SLOW = 120               # seconds: a command that creates a guest or waits for a migration
PORT = 8002
HANDSHAKE_S = 10         # engine.h MIG_DEFAULT_HANDSHAKE_TIMEOUT_MS
STALL_S = 30             # engine.h MIG_DEFAULT_REPLY_TIMEOUT_MS
PREAUTH_MAX, PREAUTH_PER_PEER = 8, 2            # service.h
ALIASES = ["198.18.0.%d" % n for n in (3, 4, 5, 6, 7)]   # extra addresses of the lab's bridge
# The types whose payload protocol v1 let be empty (GO carries 8 bytes since v3): each is
# sent as an empty header and one byte.
EMPTY_TYPES = {4: "ACCEPT", 10: "READY", 11: "GO"}
PROTOCOL_REASON = 8
HELLO_MAGIC, ROLE_SOURCE = 0x47494D46, 1   # the channel's version hello (preamble.h)
NOT_A_HELLO = "the peer is not a Ferry migration source (its first bytes are no HELLO)"


# ---- the lab -------------------------------------------------------------------------------------
@contextlib.contextmanager
def ferry_host(lab, index):
    with lab.ferry(index, emulator=backend_emulator("svm"),
                   extra_config="migration_key = %s\nmigration_cipher = none\n" % KEY) as m:
        m.wait_prompt(timeout=BOOT_S)
        yield m


@pytest.fixture(scope="module")
def lab(built):
    with NetLab() as lab:
        for alias in ALIASES:
            lab.ip("addr", "add", "%s/24" % alias, "dev", BRIDGE)
        yield lab


@pytest.fixture(scope="module")
def a(lab):
    with ferry_host(lab, 0) as m:
        yield m


@pytest.fixture(scope="module")
def b(lab):
    with ferry_host(lab, 1) as m:
        yield m


def connect(lab, dest, source_ip=None):
    """A TCP connection from the lab's namespace (from `source_ip` if given) to dest:PORT."""
    with netns.inside(lab.ns):
        s = socket.socket()
        if source_ip:
            s.bind((source_ip, 0))
        s.settimeout(15)
        s.connect((dest, PORT))
    return s


def log_time(m, pattern, start=0, timeout=60):
    """Ferry's uptime in seconds at the log line matching `pattern`, and the match."""
    found = wait_output(m, r"\[\s*(\d+\.\d+)\] " + pattern, start, timeout=timeout)
    return float(found.group(1)), found


def log_times(m, pattern, start=0):
    return [float(t) for t in re.findall(r"\[\s*(\d+\.\d+)\] " + pattern, m.text(start))]


def create(m, name):
    start = len(m.output)
    out = m.cmd('create %s memtest memory=16 args="mib=2 rate=50"' % name, timeout=SLOW)
    assert "created %s" % name in out, out
    wait_memtest(m, name, start, count=1, timeout=SLOW)


def remove_everywhere(names, *machines):
    for m in machines:
        with contextlib.suppress(Exception):
            listing = guests(m)
            for name in names:
                if name in listing:
                    if "is migrating" in m.cmd("destroy %s" % name, timeout=SLOW):
                        m.cmd("migrate-resolve %s destination" % name, timeout=SLOW)
                        m.cmd("destroy %s" % name, timeout=SLOW)


def runs_on_exactly(name, here, there):
    """The guest is listed running on `here` with memtest going on intact, and absent on `there`."""
    start = len(here.output)
    assert guests(here).get(name) == "running", here.cmd("list")
    assert name not in guests(there), there.cmd("list")
    got = wait_memtest(here, name, start, count=2, timeout=SLOW)
    assert all(line["corrupt"] == 0 for line in got) and got[-1]["written"] > got[0]["written"], got
    assert not corrupt_lines(here, there)


def answers(*machines):
    for m in machines:
        assert "ferry version=" in m.cmd("version"), m.name


def hello_bytes():
    return header(1, 40) + struct.pack("<IHBB", HELLO_MAGIC, PROTOCOL_VERSION, ROLE_SOURCE, 0) + bytes(32)


# ---- item 1: seventeen bytes -------------------------------------------------------------------------
def test_empty_headers_and_one_byte_are_refused_at_once(lab, a, b):
    """Each type that may be empty, as a 16-byte untagged header then one byte: refused from
    the header by the version hello's check with an ABORT (protocol), the connection closed,
    the console answering. And a source whose destination answers so fails at once."""
    B = lab.host_ip(1)
    start = len(b.output)
    for mtype, name in EMPTY_TYPES.items():
        with connect(lab, B) as s:
            s.sendall(header(mtype, 0) + b"\x01")
            data, closed = read_all(s, 20)
        assert closed, (name, data)
        replies = messages(data)
        assert [m[0] for m in replies] == [ABORT], (name, replies)
        reason, length = struct.unpack("<HH", replies[0][3][:4])
        text = replies[0][3][4:4 + length].decode()
        assert reason == PROTOCOL_REASON and text == "expected a HELLO", (name, reason, text)
        answers(b)
    assert len(log_times(b, r"migration \(incoming\): failed: " + re.escape(NOT_A_HELLO),
                         start)) == len(EMPTY_TYPES), b.text(start)

    # A destination that answers HELLO with those 17 bytes: the source fails at once.
    try:
        create(a, "sb")
        for mtype, name in EMPTY_TYPES.items():
            with netns.inside(lab.ns):
                fake = socket.socket()
                fake.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                fake.bind((ALIASES[0], PORT))
                fake.listen(1)

            def serve():
                conn, _ = fake.accept()
                with conn:
                    conn.recv(4096)
                    conn.sendall(header(mtype, 0) + b"\x01")
                    read_all(conn, 15)
            server = threading.Thread(target=serve, daemon=True)
            server.start()
            out = a.cmd("migrate sb %s" % ALIASES[0], timeout=SLOW)
            fake.close()
            report = parse_report(out)
            assert report["outcome"] == "failed", out
            assert "the destination answered neither TLS nor a Ferry refusal" in report["reason"], report
            assert "guest sb runs here" in out, out
            answers(a)
        runs_on_exactly("sb", a, b)
    finally:
        remove_everywhere(["sb"], a, b)


# ---- item 4: trickled HELLOs, limits, and an evacuation that still works ------------------------------
def test_trickled_hellos_meet_the_deadline_while_an_outgoing_migration_starts(lab, a, b):
    A, B = lab.host_ip(0), lab.host_ip(1)
    hello = hello_bytes()
    closed_after = {}          # connection -> bytes it got in before B closed it

    def trickle(key, s):
        sent = 0
        try:
            s.settimeout(1)
            while sent < len(hello):
                s.sendall(hello[sent:sent + 1])
                sent += 1
                try:
                    if s.recv(4096) == b"":
                        break
                except socket.timeout:
                    continue
        except OSError:
            pass
        closed_after[key] = sent

    try:
        create(b, "ev")
        start_b = len(b.output)
        # Two connections from each of four addresses: all eight places before AUTH.
        threads = []
        for i in range(PREAUTH_MAX // PREAUTH_PER_PEER):
            for j in range(PREAUTH_PER_PEER):
                s = connect(lab, B, ALIASES[i])
                t = threading.Thread(target=trickle, args=((i, j), s), daemon=True)
                t.start()
                threads.append(t)
        wait_output(b, r"(incoming migration connection from [^\n]*\n[^\n]*){%d}" % PREAUTH_MAX,
                    start_b, timeout=30)
        # A third from one of those addresses, and one from a fifth address: reset at once.
        # Refusals are logged at most once a second of Ferry's clock, which a busy emulator
        # runs slow: each is tried again until its line shows.
        for source, why in ((ALIASES[0], "from that address"), (ALIASES[4], "have not proved the key")):
            pattern = r"incoming migration connection from %s refused: [^\n]*%s" % (re.escape(source), why)
            for attempt in range(10):
                time.sleep(1.2)
                try:
                    with connect(lab, B, source) as s:
                        data, closed = read_all(s, 5)
                except ConnectionResetError:       # the reset overtook the handshake's end
                    data, closed = b"", True
                assert closed and data == b"", (source, data)
                with contextlib.suppress(ConsoleTimeout):
                    wait_output(b, pattern, start_b, timeout=1)
                    break
            wait_output(b, pattern, start_b, timeout=5)
        # Meanwhile B can still be evacuated: its outgoing migration starts and completes.
        start_a = len(a.output)
        out = b.cmd("migrate ev %s" % A, timeout=SLOW)
        assert parse_report(out)["outcome"] == "completed", out
        settled(a, "ev", start_a)
        # Each trickled connection was closed at the handshake deadline, on B's clock.
        for t in threads:
            t.join(timeout=60)
        assert len(closed_after) == PREAUTH_MAX and max(closed_after.values()) < len(hello), closed_after
        # Closed means the lines are printed, not that the console was read that far.
        wait_output(b, r"(?:handshake deadline\)[\s\S]*?){%d}" % PREAUTH_MAX, start_b,
                    timeout=30)
        accepted = log_times(b, r"incoming migration connection from 198\.18\.0\.[3-6]:\d+\n", start_b)
        deadlines = log_times(b, r"migration \(incoming\): failed: [^\n]*handshake deadline", start_b)
        assert len(accepted) == PREAUTH_MAX and len(deadlines) == PREAUTH_MAX, b.text(start_b)
        assert HANDSHAKE_S - 0.5 <= min(deadlines) - min(accepted), (accepted, deadlines)
        assert max(deadlines) - max(accepted) <= HANDSHAKE_S + 2, (accepted, deadlines)
        assert "ev" not in guests(b) and guests(a).get("ev") == "running"
        # The places are free again: an incoming migration works.
        start_b = len(b.output)
        out = a.cmd("migrate ev %s" % B, timeout=SLOW)
        assert parse_report(out)["outcome"] == "completed", out
        settled(b, "ev", start_b)
        runs_on_exactly("ev", b, a)
    finally:
        remove_everywhere(["ev"], a, b)


# ---- item 2: bytes after GO --------------------------------------------------------------------------
def test_bytes_injected_after_go_towards_the_destination(lab, a, b):
    """Right behind GO, 17 bytes of someone on the path: TLS refuses them on B, which ends the
    connection, but B keeps the guest it started and says so in its report; A gets RESUMED, or
    is in doubt and asks B, and either way settles with the guest on B."""
    try:
        create(a, "ig")
        start_b = len(b.output)
        stray = header(GO, 0) + b"\x01"
        start_a = len(a.output)
        with Relay(lab, lab.host_ip(1), inject={("a->b", GO): stray}, port=9011, passthrough=True,
                   null_cipher=True) as relay:
            # verify=off: with verify=after B reads the source's sums after GO, and stray
            # bytes end that connection instead (test_migration_switchover.c covers it).
            out = a.cmd("migrate ig %s verify=off" % relay.address, timeout=SLOW)
            assert relay.injected == [("a->b", GO)], relay.injected
            if parse_report(out)["outcome"] != "completed":
                assert parse_report(out)["outcome"] == "in-doubt", out
                wait_output(a, r"migration ig: completed: resolved by asking the destination",
                            start_a, timeout=SLOW)
        settled(b, "ig", start_b)
        dest = parse_reports(b.cmd("migrations ig"))[0]
        # Whether TLS met the stray bytes before or after B had sent RESUMED, B completed.
        assert dest["outcome"] == "completed", dest
        runs_on_exactly("ig", b, a)
    finally:
        remove_everywhere(["ig"], a, b)


def test_bytes_injected_after_go_towards_the_source(lab, a, b):
    """Bytes towards A right after GO went to B, ahead of RESUMED: A cannot read RESUMED, is in
    doubt, asks B on a new connection, learns that B runs the guest, and settles."""
    try:
        create(a, "is")
        start_a, start_b = len(a.output), len(b.output)
        stray = header(READY, 0) + b"\x01"
        with Relay(lab, lab.host_ip(1), inject_back={("a->b", GO): stray}, port=9012,
                   passthrough=True, null_cipher=True) as relay:
            out = a.cmd("migrate is %s" % relay.address, timeout=SLOW)
            assert relay.injected == [("a->b", GO)], relay.injected
            assert parse_report(out)["outcome"] == "in-doubt", out
            wait_output(a, r"migration is: completed: resolved by asking the destination: "
                        r"the guest runs on the destination", start_a, timeout=SLOW)
            assert relay.later >= 1
        settled(b, "is", start_b)
        runs_on_exactly("is", b, a)
    finally:
        remove_everywhere(["is"], a, b)


# ---- a reset in each phase ----------------------------------------------------------------------------
PHASES = {
    # name: (the message the relay resets at, the source's outcome, where the guest ends)
    "handshake": (("a->b", AUTH), "failed", "source"),
    "pre-copy": (("a->b", PAGES), "failed", "source"),
    "stop-and-copy": (("a->b", STATE), "failed", "source"),
    "before-go": (("b->a", READY), "failed", "source"),
    "after-go": (("b->a", RESUMED), "completed", "destination"),
}


@pytest.mark.long
@pytest.mark.parametrize("phase", list(PHASES))
def test_connection_reset_in_each_phase(lab, a, b, phase):
    at, outcome, ends = PHASES[phase]
    name = "rs%d" % list(PHASES).index(phase)
    try:
        create(a, name)
        start_a, start_b = len(a.output), len(b.output)
        with Relay(lab, lab.host_ip(1), reset={at}, port=9020 + list(PHASES).index(phase),
                   passthrough=True, null_cipher=True) as relay:
            out = a.cmd("migrate %s %s" % (name, relay.address), timeout=SLOW)
            assert relay.was_reset == [at], (relay.was_reset, relay.seen)
            report = parse_report(out)
            if phase == "after-go":
                # In doubt, then settled by asking B through the relay's later connections.
                assert report["outcome"] in ("in-doubt", "completed"), out
                wait_output(a, r"migration %s: completed: resolved by asking the destination" % name,
                            start_a, timeout=SLOW)
            else:
                assert report["outcome"] == outcome, out
                assert "guest %s runs here" % name in out, out
        if ends == "source":
            wait_output(b, r"migration (%s|\(incoming\)): failed" % name, start_b, timeout=STALL_S * 2)
            runs_on_exactly(name, a, b)
        else:
            settled(b, name, start_b)
            runs_on_exactly(name, b, a)
        answers(a, b)
    finally:
        remove_everywhere([name], a, b)


# ---- item 12: migrate-resolve asks first -------------------------------------------------------------
def test_migrate_resolve_asks_first_and_refuses_a_contradiction(lab, a, b):
    """RESUMED is withheld and A's queries go unanswered (the relay holds them): A stays in
    doubt. Once the relay lets them through, `migrate-resolve NAME source` asks B, which runs
    the guest: the word is refused and the copy on A destroyed."""
    try:
        create(a, "rq")
        start_a, start_b = len(a.output), len(b.output)
        with Relay(lab, lab.host_ip(1), hold={("b->a", RESUMED)}, port=9030, null_cipher=True) as relay:
            out = a.cmd("migrate rq %s" % relay.address, timeout=STALL_S * 4)
            assert parse_report(out)["outcome"] == "in-doubt", out
            assert "guest rq is paused here, in doubt: see migrate-resolve" in out, out
            row = [r for r in parse_reports(a.cmd("migrations rq"))]
            assert row and row[0]["outcome"] == "in-doubt", row
            assert re.search(r"phase=in-doubt", a.cmd("migrations rq")), a.cmd("migrations rq")
            wait_output(a, r"migration rq: still in doubt: ", start_a, timeout=SLOW)
            assert guests(a).get("rq") == "migrating"
            settled(b, "rq", start_b)
            relay.passthrough = True
            out = a.cmd("migrate-resolve rq source", timeout=SLOW)
        assert "migrate-resolve: asking the destination about migration" in out, out
        assert "error: the destination says it runs 'rq': refusing 'source'" in out, out
        runs_on_exactly("rq", b, a)
        assert "error: no migration of 'rq' is in doubt" in a.cmd("migrate-resolve rq destination")
        pump(a, b, seconds=1)
    finally:
        remove_everywhere(["rq"], a, b)
