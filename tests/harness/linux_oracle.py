"""Debian's kernel and Ferry's initramfs under QEMU's microvm machine (TCG), without Ferry.

    with QemuLinux(kernel, initrd, cmdline) as guest:
        guest.expect(r"ferry-guest: ready")
        guest.send_raw(b"uname -r\\n")

The guest files' oracle (docs/linux-guest.md): `-M microvm,acpi=on,pic=off,pit=off,rtc=off`
is the platform Ferry offers a Linux guest (a hardware-reduced FADT, one local APIC and one
I/O APIC, COM1, no PIT, 8259 or RTC), so a boot here checks the kernel, the initramfs and
the command line in seconds. Extra QEMU arguments replace the machine options, the kernel
or the firmware (tests/test_linux_oracle.py boots Ferry's own loader that way). COM1 is a
TCP server the harness reads like Ferry's console; QEMU runs in its own process group,
killed whole on close (FerryMachine's lifecycle and console methods), inside the network
namespace `netns` when given.
"""
import os
import subprocess

from .machine import FerryMachine, free_port

MICROVM = "microvm,acpi=on,pic=off,pit=off,rtc=off"


def host_tsc_khz():
    """The host's TSC rate in kHz, which QEMU TCG's guest TSC follows (from /proc/cpuinfo)."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return int(float(line.split(":")[1]) * 1000)
    raise RuntimeError("no 'cpu MHz' in /proc/cpuinfo")


class QemuLinux(FerryMachine):
    def __init__(self, kernel=None, initrd=None, cmdline=None, memory_mib=128, machine=MICROVM,
                 extra_args=(), name="linux-oracle", netns=None):
        super().__init__(emulator="qemu", memory_mib=memory_mib, name=name, netns=netns)
        self.kernel, self.initrd, self.cmdline = kernel, initrd, cmdline
        self.machine = machine
        self.extra_args = list(extra_args)

    def start(self):
        self.port = free_port(self.netns)
        argv = ["qemu-system-x86_64", "-M", self.machine, "-m", str(self.memory_mib),
                "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-serial", "tcp:127.0.0.1:%d,server=on,wait=on" % self.port]
        if self.kernel:
            argv += ["-kernel", self.kernel, "-append", self.cmdline]
        if self.initrd:
            argv += ["-initrd", self.initrd]
        argv += self.extra_args
        if self.netns:   # a tap of a network lab is there (bench/virtio_net_migration.py)
            argv = ["ip", "netns", "exec", self.netns] + argv
        self.log_path = os.path.join(self.workdir, "emulator.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.workdir,
                                         start_new_session=True)
        self._connect()

    def shell(self, command, timeout=60):
        """Runs a shell command in the guest and returns its output. The markers around it
        are split by quotes in what is sent, so the terminal's echo of the line (ash's, and
        the tty's when the line arrives before ash reads it) never matches them."""
        self.send_raw(('echo "ferry-""begin"; %s; echo "ferry-""end"\n' % command).encode())
        start = self.expect(r"\nferry-begin\n", timeout).end()
        # From the begin marker's own newline: a command that prints nothing has the end
        # marker right after it.
        end = self.search(r"\nferry-end\n", start - 1, timeout)
        self.read_pos = end.end()
        return self.output[start:end.start() + 1].decode("latin-1")

    def wait_exit(self, timeout=60):
        self.exit_status = self.proc.wait(timeout=timeout)
        return self.exit_status
