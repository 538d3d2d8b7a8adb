"""A rate-limited serial line for QEMU: what a 9600-baud console or a BMC's serial-over-LAN
is to Ferry, in an emulator whose own UART is otherwise instant.

QEMU's serial port writes to a FIFO (`-serial pipe:PATH`: PATH.out from the guest, PATH.in
to it) whose kernel buffer is shrunk to one page, and a thread moves at most
`bytes_per_s` from it to the harness's end of a socket pair. Once the FIFO is full QEMU's
16550 keeps THRE clear until the thread has taken more, exactly as a slow line does, so
that Ferry's console sees back-pressure from the device. Input goes through unthrottled.
"""
import fcntl
import os
import socket
import threading
import time

F_SETPIPE_SZ = 1031      # fcntl.h (Linux): set a pipe's buffer size
PIPE_BYTES = 4096        # the smallest a pipe may be: one page
TICK_S = 0.01


class SlowSerial:
    def __init__(self, workdir, bytes_per_s):
        self.path = os.path.join(workdir, "serial")
        self.bytes_per_s = bytes_per_s
        os.mkfifo(self.path + ".out")
        os.mkfifo(self.path + ".in")
        # O_RDWR: opening a FIFO so never blocks, and keeps it open whoever comes and goes.
        self._out = os.open(self.path + ".out", os.O_RDWR | os.O_NONBLOCK)
        self._in = os.open(self.path + ".in", os.O_RDWR | os.O_NONBLOCK)
        fcntl.fcntl(self._out, F_SETPIPE_SZ, PIPE_BYTES)
        self.sock, self._relay_end = socket.socketpair()
        self._relay_end.setblocking(False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, daemon=True)
        self._thread.start()

    def qemu_argument(self):
        return "pipe:" + self.path

    def _relay(self):
        credit = 0.0
        last = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            credit = min(credit + (now - last) * self.bytes_per_s, self.bytes_per_s * TICK_S * 4)
            last = now
            if credit >= 1:
                try:
                    data = os.read(self._out, int(credit))
                    credit -= len(data)
                    self._relay_end.sendall(data)
                except BlockingIOError:
                    pass
                except OSError:
                    return
            try:
                data = self._relay_end.recv(4096)
                if data:
                    os.write(self._in, data)
            except BlockingIOError:
                pass
            except OSError:
                return
            time.sleep(TICK_S)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self._out, self._in):
            os.close(fd)
        self._relay_end.close()
