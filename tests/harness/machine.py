"""One Ferry host in an emulator, driven through its serial console.

    with FerryMachine(emulator="bochs", config_text="hostname = a\\n") as m:
        m.wait_prompt()
        print(m.cmd("info"))
        m.shutdown()

Each machine gets its own copy of the ESP image (build/esp.img) with the given
ferry.cfg written into it, its own emulator process in its own process group
(inside network namespace `netns` when given, so that a tap there is reachable),
and a serial console on a TCP port of that namespace's loopback. Closing the
machine always kills the emulator's whole process group and removes its files.
"""
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from . import netns
from .lifecycle import StartStop
from .slow_serial import SlowSerial
from .paths import BUILD, OVMF_FD, ESP_IMAGE

PROMPT = "ferry> "
ANSI = re.compile(rb"\x1b\[[0-9;=?]*[A-Za-z]")


class ConsoleTimeout(AssertionError):
    """The console did not print what was expected in time."""


class EmulatorExited(AssertionError):
    """The emulator ended while the console was being read."""


def free_port(ns=None):
    with netns.inside(ns):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def kvm_with_vmx():
    """True where QEMU can run Ferry with KVM and nested VT-x (never on the CI machines)."""
    try:
        with open("/proc/cpuinfo") as f:
            has_vmx = " vmx" in f.read()
        return has_vmx and os.access("/dev/kvm", os.R_OK | os.W_OK)
    except OSError:
        return False


def vtx_emulator():
    """The emulator that gives Ferry VT-x here: QEMU+KVM with nested VMX if usable, else Bochs."""
    forced = os.environ.get("FERRY_VTX_EMULATOR")
    if forced:
        return forced
    return "qemu-kvm" if kvm_with_vmx() else "bochs"


# QEMU's TCG emulates AMD-V with nested paging (docs/svm.md): `max` is an AMD-vendor CPU
# under TCG with every feature TCG has (RDRAND, a faster e1000 path than the default model).
QEMU_SVM_CPU = "max,+svm,+npt"

# The CPU virtualization backends the suite runs guests on, and what gives each one here.
BACKENDS = ("vmx", "svm")


def backend_emulator(backend):
    """The emulator that runs Ferry's `backend` ("vmx": VT-x, "svm": AMD-V) on this machine."""
    if backend == "vmx":
        return vtx_emulator()
    if backend == "svm":
        return "qemu-svm"
    raise ValueError(f"unknown backend {backend!r}")


class FerryMachine(StartStop):
    def __init__(self, emulator="bochs", config_text=None, memory_mib=256, nic=None,
                 netns=None, name="ferry", esp=None, log_dir=None, realtime=True,
                 cpu_model="tigerlake", qemu_cpu=None, serial_bytes_per_s=None, esp_files=None):
        self.emulator = emulator
        self.esp_files = esp_files or {}   # {"tls/a.crt": host path}: copied onto the ESP
        self.cpu_model = cpu_model    # Bochs' `cpu: model=` (bochs -help cpu lists them)
        self.qemu_cpu = qemu_cpu      # qemu-svm's `-cpu` (default QEMU_SVM_CPU)
        self.serial_bytes_per_s = serial_bytes_per_s   # QEMU only: a slow line (harness/slow_serial.py)
        self.slow_serial = None
        self.config_text = config_text
        self.memory_mib = memory_mib
        self.nic = nic
        self.netns = netns
        self.name = name
        self.esp_source = esp or ESP_IMAGE
        self.realtime = realtime
        self.workdir = tempfile.mkdtemp(prefix=f"ferry-{name}-", dir=log_dir)
        self.proc = None
        self.sock = None
        self.output = bytearray()     # everything the console printed, ANSI stripped
        self.read_pos = 0             # how far expect() has consumed self.output
        self._pty_master = None
        self._pty_thread = None
        self.exit_status = None

    # ---- lifecycle -------------------------------------------------------------------
    def start(self):
        esp = os.path.join(self.workdir, "esp.img")
        shutil.copyfile(self.esp_source, esp)
        if self.config_text is not None:
            cfg = os.path.join(self.workdir, "ferry.cfg")
            with open(cfg, "w") as f:
                f.write(self.config_text)
            subprocess.run(["mcopy", "-o", "-i", esp, cfg, "::/ferry.cfg"], check=True)
        for folder in sorted({os.path.dirname(p) for p in self.esp_files} - {""}):
            subprocess.run(["mmd", "-D", "s", "-i", esp, "::/" + folder], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for path, source in self.esp_files.items():
            subprocess.run(["mcopy", "-o", "-i", esp, source, "::/" + path], check=True)
        self.port = free_port(self.netns)
        if self.serial_bytes_per_s:
            self.slow_serial = SlowSerial(self.workdir, self.serial_bytes_per_s)
        if self.emulator == "bochs":
            argv = self._bochs_argv(esp)
        elif self.emulator in ("qemu", "qemu-kvm", "qemu-svm"):
            argv = self._qemu_argv(esp)
        else:
            raise ValueError(f"unknown emulator {self.emulator!r}")
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns] + argv
        self.log_path = os.path.join(self.workdir, "emulator.log")
        log = open(self.log_path, "wb")
        if self.emulator == "bochs":
            # Bochs' only headless display is a terminal: give it a pty of its own.
            master, slave = pty.openpty()
            self._pty_master = master
            self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=log,
                                         cwd=self.workdir, start_new_session=True,
                                         env=dict(os.environ, TERM="xterm"))
            os.close(slave)
            self._pty_thread = threading.Thread(target=self._drain_pty, daemon=True)
            self._pty_thread.start()
        else:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.workdir,
                                         start_new_session=True)
        log.close()
        self._connect()

    def _drain_pty(self):
        with open(os.path.join(self.workdir, "screen.log"), "wb") as screen:
            while True:
                try:
                    data = os.read(self._pty_master, 65536)
                except OSError:
                    return
                if not data:
                    return
                screen.write(data)

    def _bochs_argv(self, esp):
        size = os.path.getsize(esp)
        cylinders = size // (16 * 63 * 512)
        lines = [
            "megs: %d" % self.memory_mib,
            "cpu: model=%s, count=1, ips=90000000" % self.cpu_model,
            "romimage: file=%s, address=0xffe00000" % OVMF_FD,
            "vgaromimage: file=/usr/share/vgabios/vgabios.bin",
            "pci: enabled=1, chipset=i440fx",
            "ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14",
            "ata0-master: type=disk, path=%s, mode=flat, cylinders=%d, heads=16, spt=63"
            % (esp, cylinders),
            "boot: disk",
            "display_library: term",
            "com1: enabled=1, mode=socket-server, dev=localhost:%d" % self.port,
            "clock: sync=%s, time0=local" % ("realtime" if self.realtime else "none"),
            "log: bochs.log",
            "panic: action=fatal",
            "error: action=report",
            "info: action=ignore",
            "debug: action=ignore",
            "mouse: enabled=0",
            "private_colormap: enabled=0",
        ]
        if self.nic and "socket" in self.nic:   # bxhub: a hub over UDP, no root needed
            lines.append("e1000: enabled=1, mac=%s, ethmod=socket, ethdev=%s"
                         % (self.nic["mac"], self.nic["socket"]))
        elif self.nic:
            lines.append("e1000: enabled=1, mac=%s, ethmod=tuntap, ethdev=/dev/net/tun:%s, script=none"
                         % (self.nic["mac"], self.nic["tap"]))
        rc = os.path.join(self.workdir, "bochsrc")
        with open(rc, "w") as f:
            f.write("\n".join(lines) + "\n")
        cmds = os.path.join(self.workdir, "bochs.cmds")
        with open(cmds, "w") as f:
            f.write("c\n")
        return ["bochs", "-q", "-f", rc, "-rc", cmds]

    def _qemu_argv(self, esp):
        argv = ["qemu-system-x86_64", "-machine", "q35", "-m", str(self.memory_mib),
                "-bios", OVMF_FD, "-drive", "format=raw,file=%s,if=ide" % esp,
                "-display", "none", "-no-reboot",
                "-serial", self.slow_serial.qemu_argument() if self.slow_serial else
                "tcp:127.0.0.1:%d,server=on,wait=on" % self.port]
        if self.emulator == "qemu-kvm":
            argv += ["-enable-kvm", "-cpu", "host"]
        elif self.emulator == "qemu-svm":
            argv += ["-accel", "tcg", "-cpu", self.qemu_cpu or QEMU_SVM_CPU]
        if self.nic:
            argv += ["-netdev", "tap,id=net0,ifname=%s,script=no,downscript=no" % self.nic["tap"],
                     "-device", "e1000,netdev=net0,mac=%s" % self.nic["mac"]]
        else:
            argv += ["-net", "none"]
        return argv

    def _connect(self, timeout=30):
        if self.slow_serial:
            self.sock = self.slow_serial.sock
            self.sock.setblocking(False)
            return
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise EmulatorExited(f"{self.emulator} exited with status {self.proc.returncode} "
                                     f"before its serial port opened\n{self.emulator_log()}")
            try:
                with netns.inside(self.netns):
                    self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                self.sock.setblocking(False)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise EmulatorExited(f"could not reach the serial port of {self.emulator}\n"
                                         f"{self.emulator_log()}")
                time.sleep(0.2)

    def emulator_log(self, tail=4000):
        text = ""
        for name in ("emulator.log", "bochs.log"):
            path = os.path.join(self.workdir, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    text += f"--- {name} ---\n" + f.read()[-tail:].decode("latin-1")
        return text

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None
        if self.slow_serial:
            self.slow_serial.close()
            self.slow_serial = None
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        if self.proc and self.exit_status is None:
            self.exit_status = self.proc.returncode
        if self._pty_master is not None:
            try:
                os.close(self._pty_master)
            except OSError:
                pass
            self._pty_master = None
        if os.environ.get("FERRY_KEEP_LOGS"):
            print(f"[{self.name}] logs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ---- console ---------------------------------------------------------------------
    def _read_some(self, timeout):
        """Appends whatever the console prints within `timeout` seconds; False on EOF."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return True
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return True
        except ConnectionResetError:
            data = b""
        if not data:
            return False
        self.output += ANSI.sub(b"", data.replace(b"\r", b""))
        return True

    def text(self, start=0):
        return self.output[start:].decode("latin-1")

    def search(self, pattern, start=0, timeout=60):
        """Reads until `pattern` (a regex) appears at or after output offset `start`; returns
        the match. Leaves the command reader's position alone, so a test can watch guest
        and log lines while commands run."""
        regex = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = regex.search(self.output, start)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConsoleTimeout(f"[{self.name}] no {regex.pattern!r} within {timeout}s; console "
                                     f"said:\n{self.text(max(start, len(self.output) - 3000))}")
            if not self._read_some(min(left, 0.5)):
                raise EmulatorExited(f"[{self.name}] console closed while waiting for "
                                     f"{regex.pattern!r}; console said:\n"
                                     f"{self.text(max(0, len(self.output) - 3000))}"
                                     f"\n{self.emulator_log()}")

    def expect(self, pattern, timeout=60):
        """Reads until `pattern` (a regex) appears after the last match; returns the match."""
        m = self.search(pattern, self.read_pos, timeout)
        self.read_pos = m.end()
        return m

    def send_raw(self, data: bytes):
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)

    def wait_prompt(self, timeout=180):
        self.expect(re.escape(PROMPT), timeout)

    def cmd(self, line, timeout=60):
        """Runs a command; returns what it printed (without the echo and the next prompt)."""
        self.send_raw(line.encode() + b"\r")
        echo = self.expect(re.escape(line) + r"\n", timeout)
        start = echo.end()
        end = self.expect(re.escape(PROMPT), timeout).start()
        return self.output[start:end].decode("latin-1")

    def shutdown(self, timeout=60):
        """Powers Ferry off with `shutdown` and waits for the emulator to end."""
        self.send_raw(b"shutdown\r")
        try:
            self.exit_status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ConsoleTimeout(f"[{self.name}] the emulator did not end after shutdown; console "
                                 f"said:\n{self.text(max(0, len(self.output) - 2000))}")
        return self.exit_status

    def powered_off_cleanly(self):
        """QEMU exits 0 on an ACPI power-off. Bochs logs 'ACPI control: soft power off' and
        ends as after a 'panic', usually with status 1 but not always (it was seen once to
        end otherwise after the same log line): the log line is what shows the power-off,
        and the emulator has ended (shutdown() waited for it)."""
        if self.emulator == "bochs":
            log = os.path.join(self.workdir, "bochs.log")
            with open(log, "rb") as f:
                said_off = b"ACPI control: soft power off" in f.read()
            return self.exit_status is not None and said_off
        return self.exit_status == 0
