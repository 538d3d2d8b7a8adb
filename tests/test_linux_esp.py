"""`make esp-linux`: Ferry's ESP with the Linux guest's files under \\guests\\.

build/esp-linux.img is build/esp.img plus build/guests/vmlinuz and initramfs.cpio.gz
(mk/linux.mk). Ferry reads every file under \\guests\\ into memory at boot: this boots it
under QEMU (no VT-x needed) and checks that both files arrive whole and the prompt comes.
Skipped when the guest files are missing.
"""
import os
import re
import subprocess

import pytest

from harness.machine import FerryMachine
from harness.paths import BUILD, LINUX_INITRD, LINUX_KERNEL, ROOT, linux_guest_missing

GUEST_FILES = [LINUX_KERNEL, LINUX_INITRD]
ESP_LINUX = os.path.join(BUILD, "esp-linux.img")


@pytest.mark.qemu
@pytest.mark.skipif(linux_guest_missing() is not None, reason=str(linux_guest_missing()))
def test_ferry_loads_the_linux_guest_files_from_its_esp(built):
    subprocess.run(["make", "-s", "-C", ROOT, "esp-linux"], check=True)
    with FerryMachine(emulator="qemu", esp=ESP_LINUX, name="esp-linux") as m:
        m.wait_prompt(timeout=120)
        dmesg = m.cmd("dmesg")
        for path in GUEST_FILES:
            name = os.path.basename(path)
            loaded = re.search(r"esp: loaded guests/%s \((\d+) bytes\)" % re.escape(name), dmesg)
            assert loaded, dmesg
            assert int(loaded.group(1)) == os.path.getsize(path)
        m.shutdown()
        assert m.powered_off_cleanly()
