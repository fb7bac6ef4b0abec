"""One actor instance interpreting its steps.

Each verb of the language is one method, `do_VERB`, written as a Python programmer would write
that line of the chapter. An actor records what it does as events (see `events`); a step that
fails records an error and ends the actor, unless the step said it would end with that error
(`expect = "timeout"`), or a `loop` ends on it (`until = "eof"`).
"""

import os
import queue
import sys
import time

from . import events, managers, tools
from .children import Children
from .errors import EOF, TIMEOUT, Failure, Panic, StepError
from .scenario import MAIN
from .template import Renderer, plain

#: Loops longer than this record no per-step progress (the loop step itself is recorded).
QUIET_LOOP = 100


class Actor(Renderer, Children):
    def __init__(self, world, instance, definition, params=None, pool=None, ends=None):
        self.world = world
        self.instance = instance
        self.definition = definition
        self.params = dict(params or {})
        #: The pool this actor runs on, if it is a pool task.
        self.pool = pool
        #: The pipe ends this actor holds: (pipe, "a" or "b") -> Connection.
        self.ends = dict(ends or {})
        self.last = None
        self.indices = []
        self.items = []
        self.started = time.monotonic()
        self.child_pids = {}
        #: (instance, ThreadChild | ProcessChild | ForkedChild), in the order started.
        self.children = []
        self.pools = {}
        self.servers = {}
        self.clients = {}
        self.remote = {}
        self.quiet = 0

    def record(self, kind):
        self.world.log.record(self.instance, kind, self.pool)

    # The actor's life.

    def run(self):
        """Runs the steps, then waits for whatever the actor started; returns its exit code."""
        self.started = time.monotonic()
        self.record(events.STARTED)
        definition = self.world.config.scenario.actors.get(self.definition)
        if definition is None:
            self.record(events.error(0, "start", None, f"no actor `{self.definition}`", False))
            return 1
        try:
            self.steps(definition.steps)
            code = 0
        except Failure as f:
            self.record(events.error(f.line, f.verb, f.kind, f.message, False))
            code = 1
        self.finish_children()
        managers.stop_servers(self)
        if self.instance == MAIN:
            for name, value in sorted(self.world.variables.items()):
                self.record(events.variable(name, value))
        return code

    def steps(self, steps):
        for step in steps:
            if not self.quiet:
                self.record(events.at(step.line, step.verb))
            try:
                self.step(step)
            except StepError as e:
                if e.kind is not None and e.kind == step.expect:
                    self.record(events.error(step.line, step.verb, e.kind, e.message, True))
                    continue
                raise Failure(step.line, step.verb, e.kind, e.message) from None
            if step.expect is not None:
                message = f"expected `{step.expect}`, but the step succeeded"
                raise Failure(step.line, step.verb, None, message)

    def step(self, step):
        handler = getattr(self, "do_" + step.verb, None)
        if handler is None:
            raise StepError(f"the CPython executor has no `{step.verb}` step yet")
        try:
            handler(step)
        except (StepError, Failure, Panic):
            raise
        except Exception as e:  # any other error of the library is this step's error
            raise StepError(f"{type(e).__name__}: {e}") from e

    def received(self, via, value):
        self.record(events.received(via, value))
        self.last = value

    def timeout(self, step):
        """The step's `timeout_ms`, in seconds for Python's APIs (None: wait for ever)."""
        ms = step.get("timeout_ms")
        return None if ms is None else ms / 1000

    def unavailable(self, name):
        place = "a pool task" if self.pool is not None else "this actor"
        return StepError(f"resource `{name}` is not available in {place}")

    # Output and control flow.

    def do_print(self, step):
        self.record(events.print_(self.render(step.target)))

    def do_sleep_ms(self, step):
        time.sleep(step.target / 1000)

    def do_repeat(self, step):
        quiet = step.target > QUIET_LOOP
        self.quiet += quiet
        try:
            for i in range(1, step.target + 1):
                self.indices.append(i)
                try:
                    self.steps(step.body)
                finally:
                    self.indices.pop()
        finally:
            self.quiet -= quiet

    def do_for_each(self, step):
        for item in step.target:
            self.items.append(self.value(item))
            try:
                self.steps(step.body)
            finally:
                self.items.pop()

    def do_loop(self, step):
        until = step.get("until")
        while True:
            try:
                self.steps(step.body)
            except Failure as f:
                if f.kind is None or f.kind != until:
                    raise
                message = f"{f.message} (ends the loop)"
                self.record(events.error(f.line, f.verb, f.kind, message, True))
                return

    # Queues: a `queue.Queue` between threads, a `multiprocessing.Queue` between processes, or
    # a queue served by a manager (`manager/queue`).

    def queue(self, ref):
        if "/" in ref:
            manager, name = ref.split("/", 1)
            return managers.remote_queue(self, manager, name)
        q = self.world.queues.get(ref)
        if q is None:
            raise self.unavailable(ref)
        return q

    def do_put(self, step):
        self.queue(step.target).put(self.value(step.get("value")))

    def do_get(self, step):
        q = self.queue(step.target)
        try:
            value = q.get(timeout=self.timeout(step))
        except queue.Empty:
            raise StepError(f"empty: nothing arrived within {step.get('timeout_ms')} ms", TIMEOUT) from None
        self.received(f"get {step.target}", value)

    # Pipes: `multiprocessing.Pipe()`, whose two ends move to the actors that own them.

    def end(self, ref):
        pipe, _, side = ref.rpartition(".")
        conn = self.ends.get((pipe, side))
        if conn is None:
            owner = self.world.config.scenario.resources.get(pipe, {}).get(side, "")
            raise StepError(
                f"`{self.instance}` does not hold pipe end `{ref}` (it belongs to actor `{owner}`, or was closed)"
            )
        return conn

    def do_send(self, step):
        self.end(step.target).send(self.value(step.get("value")))

    def do_recv(self, step):
        conn = self.end(step.target)
        timeout = self.timeout(step)
        if timeout is not None and not conn.poll(timeout):
            raise StepError(f"nothing arrived within {step.get('timeout_ms')} ms", TIMEOUT)
        try:
            value = conn.recv()
        except EOFError:
            raise StepError("the other end is closed", EOF) from None
        self.received(f"recv {step.target}", value)

    def do_close(self, step):
        if self.world.config.scenario.resource_kind(step.target) == "pool":
            return self.close_pool(step.target)
        pipe, _, side = step.target.rpartition(".")
        self.end(step.target).close()
        del self.ends[(pipe, side)]

    # Locks, variables, thread-locals.

    def lock(self, name):
        lock = self.world.locks.get(name)
        if lock is None:
            raise self.unavailable(name)
        return lock

    def do_acquire(self, step):
        self.lock(step.target).acquire()

    def do_release(self, step):
        try:
            self.lock(step.target).release()
        except RuntimeError as e:
            raise StepError(str(e)) from None

    def do_add(self, step):
        amount = self.value(step.get("amount"))
        try:
            n = int(amount)
        except (TypeError, ValueError):
            raise StepError(f"`add` needs an integer amount, got {amount!r}") from None
        shared = self.world.variables
        name = step.target
        if name not in shared:
            raise self.unavailable(name)
        # The chapter's `balance = balance + n`: a read, then a write. Between the two, another
        # thread may run (and an update be lost) only where the interpreter lets threads switch.
        shared[name] = shared[name] + n

    def do_read(self, step):
        if step.target not in self.world.variables:
            raise self.unavailable(step.target)
        self.received(f"read {step.target}", self.world.variables[step.target])

    def local(self, name):
        local = self.world.locals.get(name)
        if local is None:
            raise self.unavailable(name)
        return local

    def do_set_local(self, step):
        self.local(step.target).value = self.value(step.get("value"))

    def do_get_local(self, step):
        value = getattr(self.local(step.target), "value", None)
        self.received(f"get_local {step.target}", value)

    # Subprocesses, managers.

    def do_run(self, step):
        tools.run(self, step)

    def do_serve(self, step):
        managers.serve(self, step.target)

    def do_connect(self, step):
        key = step.get("authkey")
        managers.connect(self, step.target, None if key is None else plain(self.render(key)))

    def do_shutdown(self, step):
        managers.shutdown(self, step.target)

    # Ending a process on purpose.

    def do_exit(self, step):
        self.record(events.finished(step.target))
        sys.exit(step.target)

    def do_crash(self, step):
        if step.target == "panic":
            raise Panic("crash step: panic")
        if step.target == "abort":
            os.abort()
        if step.target == "segfault":
            import ctypes

            ctypes.string_at(0)  # reads address 0: a real segmentation fault
        raise StepError(f"unknown crash `{step.target}`")

