"""Queues and synchronization primitives, as one actor uses them (a part of `actor.Actor`).

Each step is the call a Python programmer would write, and each exception the library raises
becomes the language's error kind:

| CPython                                                    | error kind   |
|------------------------------------------------------------|--------------|
| `queue.Empty` from `get(timeout=...)`                        | `timeout`    |
| `queue.Full` from `put(timeout=...)`                         | `full`       |
| `ValueError: Queue ... is closed`                            | `closed`     |
| `acquire(True, timeout)` returning False                     | `timeout`    |
| `RuntimeError: release unlocked lock` (and multiprocessing's `ValueError`) | `not_locked` |
| an rlock or a condition released (or waited, notified) by a thread that does not hold it | `not_owner` |
| `ValueError` of a bounded semaphore, or of `task_done`        | `too_many`   |
| `threading.BrokenBarrierError`                              | `broken`     |
"""

import queue
import threading

from .errors import StepError

TIMEOUT, FULL, CLOSED, BROKEN = "timeout", "full", "closed", "broken"
NOT_LOCKED, NOT_OWNER, TOO_MANY = "not_locked", "not_owner", "too_many"


class Primitives:
    """Queue and primitive steps of an actor."""

    # Queues.

    def local_queue(self, name):
        if name in self.closed_queues:
            raise StepError(f"queue `{name}` is closed", CLOSED)
        q = self.world.queues.get(name)
        if q is None:
            raise self.unavailable(name)
        return q

    def put_local(self, name, value, timeout):
        q = self.local_queue(name)
        try:
            q.put(value, True, timeout)
        except queue.Full:
            raise StepError(f"queue `{name}` stayed full for {self.ms(timeout)} ms", FULL) from None
        except ValueError as e:  # a multiprocessing queue closed by this process
            raise StepError(str(e), CLOSED) from None

    def get_local(self, name, timeout):
        q = self.local_queue(name)
        try:
            return q.get(True, timeout)
        except queue.Empty:
            raise StepError(f"empty: nothing arrived within {self.ms(timeout)} ms", TIMEOUT) from None
        except (ValueError, OSError) as e:
            raise StepError(str(e), CLOSED) from None

    def close_queue(self, name):
        q = self.local_queue(name)
        if hasattr(q, "close"):  # multiprocessing's: no more puts from this process
            q.close()
        self.closed_queues.add(name)

    def join_queue(self, name):
        """A joinable queue: until every item put has been marked done."""
        self.local_queue(name).join()

    def do_qsize(self, step):
        self.observe(step, self.local_queue(step.target).qsize())

    def do_empty(self, step):
        self.observe(step, self.local_queue(step.target).empty())

    def do_full(self, step):
        self.observe(step, self.local_queue(step.target).full())

    def do_task_done(self, step):
        try:
            self.local_queue(step.target).task_done()
        except ValueError as e:
            raise StepError(str(e), TOO_MANY) from None

    def observe(self, step, value):
        self.observed(f"{step.verb} {step.target}", value, bool(step.get("nondeterministic")))

    # Locks and their relatives.

    def prim(self, name):
        p = self.world.prims.get(name)
        if p is None:
            raise self.unavailable(name)
        return p

    def kind(self, name):
        return self.world.spec(name)["kind"]

    def do_acquire(self, step):
        timeout = self.seconds(step)
        p = self.prim(step.target)
        taken = p.acquire() if timeout is None else p.acquire(True, timeout)
        if taken is False:
            raise StepError(f"not acquired within {self.ms(timeout)} ms", TIMEOUT)

    def do_release(self, step):
        p = self.prim(step.target)
        try:
            p.release()
        except (RuntimeError, ValueError, AssertionError) as e:
            raise StepError(str(e), self.release_error(step.target)) from None

    def release_error(self, name):
        """Why a release failed: nobody held it, or another thread does, or one too many."""
        kind = self.kind(name)
        if kind == "bounded_semaphore":
            return TOO_MANY
        if kind in ("rlock", "condition"):
            p = self.prim(name)
            if p.acquire(False):  # free: nobody held it
                p.release()
                return NOT_LOCKED
            return NOT_OWNER
        return NOT_LOCKED

    def do_locked(self, step):
        p = self.prim(step.target)
        if hasattr(p, "locked"):
            value = p.locked()
        else:  # multiprocessing's Lock has no locked(): try it
            value = not p.acquire(False)
            if not value:
                p.release()
        self.observe(step, value)

    def do_is_set(self, step):
        self.observe(step, self.prim(step.target).is_set())

    def do_set(self, step):
        self.prim(step.target).set()

    def do_clear(self, step):
        self.prim(step.target).clear()

    def do_wait(self, step):
        """An event until set, a condition until notified (its lock held), a barrier until all
        parties arrive (`{value}`: this actor's arrival index, which varies by nature)."""
        timeout = self.seconds(step)
        p = self.prim(step.target)
        kind = self.kind(step.target)
        try:
            value = p.wait(timeout)
        except threading.BrokenBarrierError:
            raise StepError(f"barrier `{step.target}` is broken", BROKEN) from None
        except (RuntimeError, AssertionError) as e:  # a condition's lock not held
            raise StepError(str(e), NOT_OWNER) from None
        if kind != "barrier" and not value:
            what = "set" if kind == "event" else "notified"
            raise StepError(f"`{step.target}` not {what} within {self.ms(timeout)} ms", TIMEOUT)
        self.last = value
        self.last_nondet = bool(step.get("nondeterministic")) or kind == "barrier"

    def do_notify(self, step):
        n = self.int(step.get("n", 1))
        try:
            self.prim(step.target).notify(n)
        except (RuntimeError, AssertionError) as e:
            raise StepError(str(e), NOT_OWNER) from None

    def do_notify_all(self, step):
        try:
            self.prim(step.target).notify_all()
        except (RuntimeError, AssertionError) as e:
            raise StepError(str(e), NOT_OWNER) from None

    def do_abort(self, step):
        self.prim(step.target).abort()

    def do_reset(self, step):
        self.prim(step.target).reset()

    def do_n_waiting(self, step):
        self.observe(step, self.prim(step.target).n_waiting)

    def do_broken(self, step):
        self.observe(step, self.prim(step.target).broken)

