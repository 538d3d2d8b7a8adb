"""Ferry's demo: a live migration between two Ferry hosts.

Two Ferry hosts, ferry-0 (198.18.0.10) and ferry-1 (198.18.0.11), boot with the same
migration_key, on one network: a Linux bridge in a private network namespace
(tests/harness/netlab.py), or, without root, Bochs' own hub (bxhub). `--cpu intel`
(the default) runs them under Bochs, which emulates VT-x with EPT (or QEMU+KVM where
the machine has nested VT-x); `--cpu amd` under QEMU TCG with AMD-V and nested paging
(`-cpu max,+svm,+npt`, docs/svm.md), which needs the bridge lab (root). ferry-0 runs two guests, memtest (which keeps 2 MiB of its
RAM stamped and re-verifies it continuously) and counter; both move to ferry-1 with
`migrate` while they run; memtest goes on verifying there; `migrations` shows the
history on both sides; both hosts power off.
"""
import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from harness.machine import PROMPT, backend_emulator  # noqa: E402
from harness.migration import KEY, counter_values, memtest_lines, parse_report, settled  # noqa: E402
from harness.netlab import HubLab, NetLab, netlab_available  # noqa: E402

CONFIG = "migration_port = 8002\nmigration_key = %s\n" % KEY
BOOT_S = 300
MIGRATE_S = 600


def heading(text):
    print("\n== %s" % text, flush=True)


def live(machine, command, timeout=120):
    """Types `command` and prints the console as it comes, up to the next prompt."""
    print("%s> %s" % (machine.name, command), flush=True)
    machine.send_raw(command.encode() + b"\r")
    echo = machine.expect(re.escape(command) + r"\n", timeout)
    shown = echo.end()
    deadline = time.monotonic() + timeout
    while True:
        end = machine.output.find(PROMPT.encode(), shown)
        stop = end if end >= 0 else max(shown, machine.output.rfind(b"\n") + 1)
        if stop > shown:
            sys.stdout.write(machine.output[shown:stop].decode("latin-1"))
            sys.stdout.flush()
            shown = stop
        if end >= 0:
            machine.read_pos = end + len(PROMPT)
            return machine.output[echo.end():end].decode("latin-1")
        if time.monotonic() > deadline:
            raise TimeoutError("%s: no prompt after %r within %d s" % (machine.name, command, timeout))
        machine._read_some(0.2)


def guest_lines(machine, start, pattern, count, timeout=120):
    """Prints the next `count` console lines matching `pattern` after offset `start`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = re.findall("(%s)\n" % pattern, machine.text(start))
        if len(lines) >= count:
            for line in lines[:count]:
                print("  (%s) %s" % (machine.name, line))
            return
        machine._read_some(0.5)
    raise TimeoutError("%s: %r did not appear %d times" % (machine.name, pattern, count))


BACKEND_OF_CPU = {"intel": "vmx", "amd": "svm"}


def make_lab(kind="auto", cpu="intel"):
    ok, why = netlab_available()
    if kind == "hub":
        ok, why = False, "--lab hub"
    if ok:
        lab = NetLab()
        emulator = backend_emulator(BACKEND_OF_CPU[cpu])
        return lab, (lambda i: lab.ferry(i, emulator=emulator, extra_config=CONFIG)), \
            "a Linux bridge in network namespace %s, guests under %s" % (lab.ns, emulator)
    if cpu == "amd":
        raise SystemExit("--cpu amd needs the bridge lab (%s); bxhub links Bochs (Intel) hosts only" % why)
    lab = HubLab(ports=2)
    print("(no network lab: %s; falling back to Bochs' bxhub, which needs no root)" % why)
    return lab, (lambda i: lab.ferry(i, extra_config=CONFIG)), "Bochs' bxhub on the loopback"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab", choices=("auto", "hub"), default="auto",
                        help="auto: a bridge lab when root can build one, else bxhub")
    parser.add_argument("--cpu", choices=tuple(BACKEND_OF_CPU), default="intel",
                        help="intel: VT-x hosts (Bochs); amd: AMD-V hosts (QEMU TCG)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    lab, ferry, what = make_lab(args.lab, args.cpu)
    with lab:
        heading("booting two Ferry hosts on %s (a minute or two in emulation)" % what)
        with ferry(0) as a, ferry(1) as b:
            a.wait_prompt(timeout=BOOT_S)
            b.wait_prompt(timeout=BOOT_S)
            A, B = lab.host_ip(0), lab.host_ip(1)
            print("ferry-0 (%s) and ferry-1 (%s) reached their prompts after %.1f s"
                  % (A, B, time.monotonic() - started))
            for m in (a, b):
                live(m, "info")
            live(a, "ping %s 2" % B, timeout=60)

            heading("two guests on ferry-0: memtest (2 MiB stamped, 50 pages rewritten a second, "
                    "all re-verified continuously) and counter")
            start = len(a.output)
            live(a, 'create mt memtest memory=16 args="mib=2 rate=50"', timeout=240)
            live(a, 'create cnt counter memory=16 args="interval_ms=500"', timeout=240)
            guest_lines(a, start, r"\[mt\] memtest ok [^\n]*", 2, timeout=240)
            guest_lines(a, start, r"\[cnt\] counter \d+", 2, timeout=240)
            live(a, "list")
            live(a, "mem")

            heading("live migration of memtest to ferry-1, while it runs (progress, then the report)")
            b_start = len(b.output)
            out = live(a, "migrate mt %s" % B, timeout=MIGRATE_S)
            report = parse_report(out)
            heading("live migration of counter to ferry-1")
            cnt_start = len(b.output)
            counter_report = parse_report(live(a, "migrate cnt %s" % B, timeout=MIGRATE_S))
            if report["outcome"] != "completed" or counter_report["outcome"] != "completed":
                heading("a migration did not complete (see its report above)")
                return 1

            for name, since in (("mt", b_start), ("cnt", cnt_start)):
                settled(b, name, since)   # ferry-1's engines are done (their last log lines)
            heading("ferry-1 runs them now: memtest still verifying, counter going on from its count")
            guest_lines(b, b_start, r"\[mt\] memtest ok [^\n]*", 3, timeout=240)
            guest_lines(b, b_start, r"\[cnt\] counter \d+", 3, timeout=240)
            corrupt = "CORRUPT" in a.text() + b.text()
            last_a, first_b = counter_values(a, "cnt")[-1:], counter_values(b, "cnt", b_start)[:1]
            print("memtest: %s; counter: last on ferry-0 %s, first on ferry-1 %s"
                  % ("CORRUPTION FOUND" if corrupt else "no corruption on either host",
                     last_a[0] if last_a else "-", first_b[0] if first_b else "-"))
            live(b, "list")
            live(a, "list")
            live(b, "vminfo mt")

            heading("the history on both hosts")
            live(a, "migrations")
            live(b, "migrations")
            live(b, "migrations mt")

            heading("shutting down")
            for m in (b, a):
                print("%s> shutdown" % m.name)
                m.shutdown(timeout=120)
                print("== %s powered off" % m.name if m.powered_off_cleanly()
                      else "== %s: power-off was not clean" % m.name)
    ok = report["outcome"] == "completed" and not corrupt and memtest_lines(b, "mt", b_start)
    heading("demo %s after %.1f s" % ("done" if ok else "FAILED", time.monotonic() - started))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
