"""The trace: what every actor records as it runs, one JSON line per event.

The shapes are those of `harness/runner/src/events.rs`, so that the runner reads a CPython run as
it reads a reference run:

    {"actor": "reader", "pid": 4242, "t_us": 1700000000000000, "kind": {"print": {"text": "..."}}}

`pool` is added for pool tasks. Each process appends to a file of its own, `PID.jsonl`, in the
run's events directory (threads of one process take turns); each event is written at once, so that
a run killed at its timeout still tells where each actor was.
"""

import json
import os
import threading
import time

STARTED = "started"


def at(line, verb):
    return {"at": {"line": line, "verb": verb}}


def print_(text):
    return {"print": {"text": text}}


def received(via, value, nondeterministic=False):
    """A value got by get, recv, read, get_local, map, imap or result (what `received` counts)."""
    body = {"via": via, "value": value}
    if nondeterministic:
        body["nondeterministic"] = True
    return {"received": body}


def observed(via, value, nondeterministic=False):
    """A state asked about: is_alive, exitcode, qsize, empty, full, locked, is_set, n_waiting,
    broken (not counted by `received`)."""
    body = {"via": via, "value": value}
    if nondeterministic:
        body["nondeterministic"] = True
    return {"observed": body}


def ran(argv, code):
    return {"ran": {"argv": list(argv), "code": code}}


def error(line, verb, kind, message, expected):
    return {"error": {"line": line, "verb": verb, "kind": kind, "message": message, "expected": expected}}


def finished(code):
    return {"finished": {"code": code}}


def exit_(code):
    return {"exit": {"code": code}}


def variable(name, value):
    return {"variable": {"name": name, "value": value}}


class EventLog:
    """Appends events to this process's file in the run's events directory.

    A forked child notices that its pid changed and opens a file of its own.
    """

    _floor = 0  # never go backwards within a process, even if the wall clock is stepped

    def __init__(self, directory):
        self.directory = str(directory)
        os.makedirs(self.directory, exist_ok=True)
        self._lock = threading.Lock()
        self._pid = None
        self._fd = None
        if hasattr(os, "register_at_fork"):
            # The lock may be held by a thread that does not exist in the child.
            os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self):
        self._lock = threading.Lock()

    @classmethod
    def now_us(cls):
        now = time.time_ns() // 1000
        cls._floor = max(cls._floor, now)
        return cls._floor

    def record(self, actor, kind, pool=None):
        event = {"actor": actor, "pid": os.getpid(), "t_us": self.now_us()}
        if pool is not None:
            event["pool"] = pool
        event["kind"] = kind
        line = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            pid = os.getpid()
            if self._pid != pid:
                path = os.path.join(self.directory, f"{pid}.jsonl")
                self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                self._pid = pid
            # A failed write loses one diagnostic line; the verdict will show what is missing.
            try:
                os.write(self._fd, line)
            except OSError:
                pass
