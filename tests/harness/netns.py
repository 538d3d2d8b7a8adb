"""Entering a network namespace from one thread, so that a socket can be made inside it.

A socket belongs to the namespace it was created in; switching only the calling
thread (setns(2)) and switching back right after lets the harness, running in
the root namespace, talk to an emulator's serial port that listens on the
loopback of a test namespace.
"""
import contextlib
import ctypes
import os

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def inside(name):
    """Runs the body in network namespace `name` (None: stay where we are)."""
    if name is None:
        yield
        return
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)
