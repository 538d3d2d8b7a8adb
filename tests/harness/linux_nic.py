"""Ferry hosts of the network lab that run Linux guests with a network card (issue 15).

    a = linux_host(lab, 0)                       # qemu-svm on tap0, the Linux ESP, started
    shell = guest_with_nic(a, "lx", "52:54:00:18:01:50", "198.18.0.50")

guest_with_nic() creates the guest with `mac=` (virtio-net on the host's virtual switch),
waits for its /init, and gives eth0 the address (PREFIX bits) from its busybox shell.

    a, b = agreeing_linux_hosts(lab)             # two hosts whose TSC rates agree, or None

A migration needs both hosts to agree on the TSC rate (the snapshot's 5000 ppm tolerance);
QEMU TCG's calibration drifts under load, so one host is booted again until they agree.
"""
import os

from .linux_guest import GuestShell
from .machine import FerryMachine
from .migration import KEY
from .netlab import PREFIX
from .paths import BUILD

ESP_LINUX = os.path.join(BUILD, "esp-linux.img")
HOST_MIB = 512
BOOT_S = 300
TSC_KHZ = r"boot: TSC runs at (\d+) kHz"
TSC_AGREE_PPM = 4000          # below the snapshot's 5000 ppm tolerance
TSC_TRIES = 8


def linux_host(lab, index, start=True):
    """A qemu-svm FerryMachine on tap`index` (made once) with the Linux ESP and the lab's
    migration key; started and at its prompt unless start=False."""
    tap = "tap%d" % index
    if tap not in lab.taps:
        lab.add_tap(tap)
    config = "hostname = ferry-%d\naddress = %s/%d\nmigration_key = %s\n" % (
        index, lab.host_ip(index), PREFIX, KEY)
    m = FerryMachine(emulator="qemu-svm", config_text=config, netns=lab.ns,
                     nic={"mac": lab.host_mac(index), "tap": tap}, name="ferry-%d" % index,
                     esp=ESP_LINUX, memory_mib=HOST_MIB)
    if start:
        try:
            m.start()
            m.wait_prompt(timeout=BOOT_S)
        except BaseException:
            m.close()
            raise
    return m


def guest_with_nic(machine, name, mac, address):
    """A Linux guest with its card up at `address`; returns (its shell, create's output)."""
    shell = GuestShell(machine, name)
    created = shell.create("mac=%s" % mac, timeout=BOOT_S)
    shell.attach()
    try:
        shell.run("ip link set eth0 up && ip addr add %s/%d dev eth0" % (address, PREFIX))
    finally:
        shell.detach()
    return shell, created


def tsc_khz(machine):
    return int(machine.search(TSC_KHZ, 0, BOOT_S).group(1))


def _agree(a, b):
    a_khz, b_khz = tsc_khz(a), tsc_khz(b)
    if abs(a_khz - b_khz) * 1000000 <= a_khz * TSC_AGREE_PPM:
        return True
    print("[lab] the hosts' TSC rates differ too much (%d and %d kHz): booting one again" % (a_khz, b_khz))
    return False


def agreeing_linux_hosts(lab, tries=TSC_TRIES):
    """Hosts 0 and 1 (linux_host()) whose calibrated TSC rates agree, started; either may
    be the outlier, so each is booted again in turn. None (and nothing left running) when
    they never agree."""
    a = b = None
    try:
        for attempt in range(tries):
            a = a or linux_host(lab, 0)
            b = b or linux_host(lab, 1)
            if _agree(a, b):
                return a, b
            if attempt % 2 == 0:
                b.close()
                b = None
            else:
                a.close()
                a = None
    except BaseException:
        for m in (a, b):
            if m:
                m.close()
        raise
    for m in (a, b):
        if m:
            m.close()
    return None
