"""Where the build puts what the harness boots."""
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
ESP_IMAGE = os.path.join(BUILD, "esp.img")
DEBUG_ESP_IMAGE = os.path.join(BUILD, "esp-debug.img")   # plus `crash` (Makefile: the debug image)
OVMF_FD = "/usr/share/ovmf/OVMF.fd"

# The Linux guest's files (scripts/guest-linux.sh, run by scripts/setup.sh).
LINUX_KERNEL = os.path.join(BUILD, "guests", "vmlinuz")
LINUX_INITRD = os.path.join(BUILD, "guests", "initramfs.cpio.gz")
LINUX_MISSING = os.path.join(BUILD, "guests", "linux-missing.txt")


def linux_guest_missing():
    """Why the Linux guest's files are not there (setup's recorded reason), or None."""
    if os.path.exists(LINUX_KERNEL) and os.path.exists(LINUX_INITRD):
        return None
    if os.path.exists(LINUX_MISSING):
        with open(LINUX_MISSING) as f:
            return " ".join(f.read().split())
    return "no build/guests/vmlinuz or initramfs.cpio.gz (scripts/guest-linux.sh builds them)"
