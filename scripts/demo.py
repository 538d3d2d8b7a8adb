"""Boots one Ferry host under Bochs and shows what its console says."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from harness.machine import FerryMachine, vtx_emulator  # noqa: E402

CONFIG = """\
hostname = ferry-a
address = 198.18.0.10/24
migration_port = 8002
"""


def show(machine, command):
    print(f"ferry-a> {command}")
    print(machine.cmd(command, timeout=120), end="", flush=True)


def main():
    emulator = vtx_emulator()
    print(f"== booting Ferry under {emulator} with OVMF (this takes a while in emulation)")
    started = time.monotonic()
    with FerryMachine(emulator=emulator, config_text=CONFIG, name="ferry-a") as a:
        a.wait_prompt(timeout=300)
        print(f"== ferry-a reached its prompt after {time.monotonic() - started:.1f} s\n")
        for command in ("version", "info", "help"):
            show(a, command)
        print("ferry-a> shutdown")
        a.shutdown(timeout=120)
        print("== ferry-a powered off" if a.powered_off_cleanly() else "== power-off was not clean")


if __name__ == "__main__":
    main()
