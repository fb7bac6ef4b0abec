"""Hosts of a scenario: which host this process runs on, entering it, the address a manager
binds to there, and the link steps (`link`, `cut`, `restore`).

The runner's supervisor makes the hosts (a network namespace each, on Linux as root) and hands
every process of the run what it made in `PROCTHREAD_LAB`, as JSON: each host's name, address
and namespace (a path to open), and the Unix socket of the link emulator. A process enters its
host before it makes any socket; what it starts afterwards (a manager's server process, a
forked or spawned child) starts there too, as a machine's programs do. Without a lab every host
is this machine's loopback, and a process only remembers its host's name.
"""

import json
import os
import socket

from .errors import StepError

LAB_ENV = "PROCTHREAD_LAB"
#: `CLONE_NEWNET` of <sched.h>, for Pythons without `os.setns` (before 3.12).
CLONE_NEWNET = 0x40000000
#: How long a link step waits for the emulator's answer (it answers at once).
CONTROL_WAIT_S = 10

#: The host of this process (a forked child starts with its parent's).
_current = None
_lab = None


def lab():
    """What the run's supervisor made, or None (every host on loopback)."""
    global _lab
    if _lab is None:
        text = os.environ.get(LAB_ENV)
        _lab = json.loads(text) if text else {}
    return _lab or None


def current():
    return _current


def made(host):
    here = lab()
    if here is None:
        return None
    return next((h for h in here["hosts"] if h["name"] == host), None)


def of_child(scenario, definition, named):
    """The host an instance of `definition` runs on: the `start` step's, else the definition's,
    else its starter's."""
    if named is not None:
        return named
    actor = scenario.actors.get(definition)
    return (actor.host if actor is not None else None) or _current


def enter(host):
    """Puts this process's calling thread (and what it starts from now on) on `host`."""
    global _current
    if host is None or host == _current:
        return
    if lab() is not None:
        entry = made(host)
        if entry is None:
            raise StepError(f"the run made no host `{host}`")
        try:
            _setns(entry["netns"])
        except OSError as e:
            raise StepError(f"cannot enter host `{host}`: {e}") from None
    _current = host


def _setns(path):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if hasattr(os, "setns"):
            os.setns(fd, CLONE_NEWNET)
            return
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({path}): {os.strerror(errno)}")
    finally:
        os.close(fd)


def bind_address():
    """Where a manager served from this process listens: its host's address, or loopback."""
    entry = made(_current) if _current is not None else None
    return entry["address"] if entry is not None else "127.0.0.1"


def link(verb, host, delay_ms=None, loss_percent=None):
    """Asks the run's link emulator to cut, restore or set `host`'s link."""
    here = lab()
    if here is None:
        raise StepError(f"`{verb}` needs hosts of their own: every host of this run is on loopback")
    if verb == "link":
        command = {"op": "set", "host": host, "delay_ms": delay_ms, "loss_percent": loss_percent}
    else:
        command = {"op": verb, "host": host}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(CONTROL_WAIT_S)
        s.connect(here["control"])
        s.sendall((json.dumps(command) + "\n").encode())
        with s.makefile("r", encoding="utf-8") as reply:
            answer = reply.readline().strip()
    if answer != "ok":
        raise StepError(f"the link emulator refused `{verb}` of `{host}`: {answer or 'no answer'}")
