"""Helpers for live migration between Ferry hosts: the tests, the demo and the benchmark.

    report = parse_report(a.cmd("migrate mt 198.18.0.11"))   # the last report printed
    report["outcome"], report["rounds"], report["round"][0]["pages"], report["reason"]
    lines = memtest_lines(b, "mt")                            # [{"gen":..., "written":...}]
    wait_output(b, r"\\[mt\\] memtest ok", start=len(b.output), timeout=120)

The formats are those of docs/migration.md ("## Report", "## Commands") and
docs/guest-abi.md (memtest, counter). Nothing here assumes how long anything takes.
"""
import re
import time

from .machine import ConsoleTimeout

# A pre-shared key for hosts that must trust each other, and one that must not match it.
KEY = "ferry-lab-key-5e1f0a9c7b3d2468"
OTHER_KEY = "ferry-other-key-97c1d3b5a2e4f680"

REPORT_HEAD = re.compile(
    r"migration guest=(?P<guest>\S+) role=(?P<role>source|destination) id=(?P<id>[0-9a-f]{16}) "
    r"outcome=(?P<outcome>\S+)(?: error=\"(?P<error>[^\"]*)\")?\n")
ROUND_ROW = re.compile(r"^(\d+)(\*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%$")
KEYVAL = re.compile(r"(\w+)=(\"[^\"]*\"|\S+)")
MEMTEST_OK = re.compile(r"\[(?P<name>[\w-]+)\] memtest ok gen=(?P<gen>\d+) pages=(?P<pages>\d+) "
                        r"written=(?P<written>\d+) passes=(?P<passes>\d+) corrupt=(?P<corrupt>\d+)\n")
CORRUPT = re.compile(r"(?:memtest|witness) CORRUPT[^\n]*")
PROGRESS = re.compile(r"migrate: (?P<name>\S+) round=(?P<round>\d+) remaining=(?P<remaining>\d+) "
                      r"rate_kbps=(?P<rate>\d+) eta_ms=(?P<eta>\d+) throttle=(?P<throttle>\d+)%")


def _number(text):
    text = text.strip('"')
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def parse_reports(text):
    """Every report in `text`, in order: dicts with the head's fields, the figures and rows."""
    reports = []
    for head in REPORT_HEAD.finditer(text):
        report = {k: v for k, v in head.groupdict().items()}
        # The round table sits right above the head line: walk back over its rows.
        before = text[:head.start()].split("\n")
        rows = []
        for line in reversed(before[:-1] if before and before[-1] == "" else before):
            m = ROUND_ROW.match(line.strip())
            if not m:
                if line.strip().startswith("ROUND"):
                    break
                continue   # a log or guest line that landed inside the table
            rows.append({"round": int(m.group(1)), "final": m.group(2) == "*",
                         "pages": int(m.group(3)), "zero": int(m.group(4)),
                         "bytes": int(m.group(5)), "ms": int(m.group(6)),
                         "dirty": int(m.group(7)), "throttle": int(m.group(8))})
        report["round"] = list(reversed(rows))
        # The figures follow, on the next few lines (guest or log lines may interleave).
        rest = text[head.end():].split("\n")
        wanted = ("reason", "rounds", "time_ms", "max_throttle_pct", "link_kbps")
        found = set()
        for line in rest[:12]:
            if line.startswith("reason="):
                report["reason"] = line[len("reason="):].strip().strip('"')
                found.add("reason")
            elif line.startswith(("rounds=", "time_ms=", "max_throttle_pct=", "link_kbps=")):
                for k, v in KEYVAL.findall(line):
                    report[k] = _number(v)
                found.add(line.split("=")[0])
            if found >= set(wanted[1:]):
                break
        report.setdefault("reason", "")
        reports.append(report)
    return reports


def parse_report(text):
    """The last report in `text`; AssertionError if there is none."""
    reports = parse_reports(text)
    assert reports, "no migration report in:\n" + text
    return reports[-1]


def memtest_lines(machine, name, start=0):
    """memtest's `ok` lines of guest `name` on `machine` since output offset `start`."""
    return [{k: int(v) for k, v in m.groupdict().items() if k != "name"}
            for m in MEMTEST_OK.finditer(machine.text(start)) if m.group("name") == name]


WITNESS_OK = re.compile(r"\[(?P<name>[\w-]+)\] witness ok written=(?P<written>\d+) "
                        r"passes=(?P<passes>\d+) corrupt=(?P<corrupt>\d+) gap_us=(?P<gap_us>\d+)\n")


def witness_lines(machine, name, start=0):
    """The witness guest's `ok` lines of `name` on `machine` since output offset `start`
    (docs/guest-abi.md): written, passes, corrupt, gap_us (its longest gap in progress)."""
    return [{k: int(v) for k, v in m.groupdict().items() if k != "name"}
            for m in WITNESS_OK.finditer(machine.text(start)) if m.group("name") == name]


def corrupt_lines(*machines):
    return [(m.name, line) for m in machines for line in CORRUPT.findall(m.text())]


def counter_values(machine, name, start=0):
    return [int(n) for n in re.findall(r"\[%s\] counter (\d+)\n" % re.escape(name),
                                       machine.text(start))]


def wait_output(machine, pattern, start=0, timeout=60):
    """`pattern` on `machine`'s console after output offset `start` (FerryMachine.search)."""
    return machine.search(pattern, start, timeout)


def settled(machine, name, start, timeout=60):
    """Waits for a destination's engine to finish with guest `name` (its last log line).

    The migration service's log lines are printed as they happen, also into a command
    line being echoed (guest output, unlike them, waits), so scripts type commands on a
    destination only once its engine is done, announcements included."""
    return wait_output(machine, r"migration %s: (completed|failed|cancelled|abandoned|mismatch)[^\n]*\n"
                       % re.escape(name), start, timeout=timeout)


def pump(*machines, seconds=0.0):
    """Reads what each machine's console printed, for about `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        for m in machines:
            m._read_some(0.05)
        if time.monotonic() >= deadline:
            return


def wait_memtest(machine, name, start, count=1, timeout=120):
    """Waits for `count` memtest ok lines of `name` after output offset `start`; returns them all."""
    deadline = time.monotonic() + timeout
    while True:
        lines = memtest_lines(machine, name, start)
        if len(lines) >= count:
            return lines
        if time.monotonic() > deadline:
            raise ConsoleTimeout(f"[{machine.name}] {name}: {len(lines)} of {count} memtest lines "
                                 f"within {timeout}s; console said:\n{machine.text(start)[-3000:]}")
        pump(machine, seconds=0.5)


def guests(machine):
    """`list` as {name: state}."""
    out = machine.cmd("list")
    table = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\d+)$", line.strip())
        if m:
            table[m.group(1)] = m.group(3)
    return table


def free_kib(machine):
    return int(re.search(r"free_kib=(\d+)", machine.cmd("mem")).group(1))


def migrations_table(machine, arg=""):
    """`migrations` as a list of row dicts (ID ROLE GUEST PEER PHASE OUTCOME ROUNDS TIME_MS
    DOWNTIME_MS MB)."""
    out = machine.cmd(("migrations " + arg).strip())
    rows = []
    lines = out.splitlines()
    header = None
    for line in lines:
        cells = line.split()
        if cells[:3] == ["ID", "ROLE", "GUEST"]:
            header = [c.lower() for c in cells]
            continue
        if header and len(cells) == len(header) and re.fullmatch(r"[0-9a-f]{16}", cells[0]):
            rows.append(dict(zip(header, cells)))
    return rows
