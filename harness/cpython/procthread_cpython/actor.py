"""One actor instance interpreting its steps.

Each verb of the language is one method, `do_VERB`, written as a Python programmer would write
that line of the chapter (those of queues and locks are in `prims`, those that start and wait for
threads, processes and pools in `children`). An actor records what it does as events (see
`events`). A step that fails records an error and ends the actor, unless the step said it would
end with that error (`expect = "timeout"`), or a `loop` ends on it (`until = "eof"`). A step
that sets `{value}` may also say what the value must be (`equals`), or that it varies by nature
(`nondeterministic = true`: the trace then never shows it).
"""

import os
import signal
import sys
import time

from . import events, hosts, managers, tools
from .children import Children
from .errors import EOF, TIMEOUT, Failure, Panic, Returned, StepError
from .prims import Primitives
from .scenario import MAIN
from .template import Renderer, plain, to_json

#: Loops longer than this record no per-step progress (the loop step itself is recorded).
QUIET_LOOP = 100

#: The steps that set `{value}`.
SETS_VALUE = frozenset(
    "get recv read get_local run is_alive exitcode qsize empty full locked is_set n_waiting broken wait map result".split()
)

_NO_SENTINEL = object()


class Actor(Renderer, Primitives, Children):
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
        #: `{value}` came from a step declared (or by nature) nondeterministic.
        self.last_nondet = False
        self.indices = []
        self.items = []
        self.started = time.monotonic()
        self.child_pids = {}
        #: (instance, ThreadChild | ProcessChild | ForkedChild), in the order started.
        self.children = []
        #: Children whose end this actor has recorded (an `exit` event each, once).
        self.reported = set()
        self.pools = {}
        self.servers = {}
        self.clients = {}
        self.remote = {}
        #: Queues this actor closed.
        self.closed_queues = set()
        #: What `return` gave: a pool task's result.
        self.returned = None
        #: Why the actor failed, if it did.
        self.failure = None
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
        except Returned as r:
            self.returned = r.value
            code = 0
        except Failure as f:
            self.failure = f"line {f.line} ({f.verb}): {f.message}"
            self.record(events.error(f.line, f.verb, f.kind, f.message, False))
            code = 1
        self.finish_children()
        managers.stop_servers(self)
        if self.instance == MAIN:
            for name, value in sorted(self.world.variables.items()):
                self.record(events.variable(name, value))
        return code

    def steps(self, steps, sentinel=_NO_SENTINEL):
        """Runs the steps. With a sentinel (a loop's `until_value`), stops after a step that sets
        `{value}` to it, and returns True."""
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
            if "equals" in step.fields:
                want = self.value(step.fields["equals"])
                if not same_json(self.last, want):
                    got = "a nondeterministic value" if self.last_nondet else to_json(self.last)
                    message = f"`{step.verb}` gave {got}, expected {to_json(want)}"
                    raise Failure(step.line, step.verb, None, message)
            if sentinel is not _NO_SENTINEL and step.verb in SETS_VALUE and same_json(self.last, sentinel):
                return True
        return False

    def step(self, step):
        handler = getattr(self, "do_" + step.verb, None)
        if handler is None:
            raise StepError(f"the CPython executor has no `{step.verb}` step yet")
        try:
            handler(step)
        except (StepError, Failure, Panic, Returned):
            raise
        except Exception as e:  # any other error of the library is this step's error
            raise StepError(f"{type(e).__name__}: {e}") from e

    def received(self, via, value, nondeterministic=False):
        """A value received (what `received` counts); it becomes `{value}`."""
        self.record(events.received(via, value, nondeterministic))
        self.last, self.last_nondet = value, nondeterministic

    def observed(self, via, value, nondeterministic=False):
        """A state observed (not counted by `received`); it becomes `{value}`."""
        self.record(events.observed(via, value, nondeterministic))
        self.last, self.last_nondet = value, nondeterministic

    def unavailable(self, name):
        place = "a pool task" if self.pool is not None else "this actor"
        return StepError(f"resource `{name}` is not available in {place}")

    # Numbers and names that may be templates (`"{n}"`, `"c{i}"`), rendered when the step runs.

    def int(self, value):
        if isinstance(value, int):
            return value
        text = plain(self.render(value))
        try:
            return int(text.strip())
        except ValueError:
            raise StepError(f'"{value}" is "{text}", not an integer') from None

    def name(self, template):
        return plain(self.render(template))

    def seconds(self, step):
        """The step's `timeout_ms`, in seconds for Python's APIs (None: wait for ever)."""
        ms = step.get("timeout_ms")
        return None if ms is None else self.int(ms) / 1000

    @staticmethod
    def ms(seconds):
        return None if seconds is None else round(seconds * 1000)

    # Output and control flow.

    def do_print(self, step):
        self.record(events.print_(self.render(step.target)))

    def do_sleep_ms(self, step):
        time.sleep(self.int(step.target) / 1000)

    def quietly(self, long, body):
        self.quiet += long
        try:
            body()
        finally:
            self.quiet -= long

    def do_repeat(self, step):
        times = self.int(step.target)

        def body():
            for i in range(1, times + 1):
                self.indices.append(i)
                try:
                    self.steps(step.body)
                finally:
                    self.indices.pop()

        self.quietly(times > QUIET_LOOP, body)

    def do_for_each(self, step):
        def body():
            for item in step.target:
                self.items.append(self.value(item))
                try:
                    self.steps(step.body)
                finally:
                    self.items.pop()

        self.quietly(len(step.target) > QUIET_LOOP, body)

    def do_loop(self, step):
        """The body again and again: until one of its steps ends with the `until` error, or sets
        `{value}` to `until_value` (a sentinel, as CPython's `iter(q.get, None)`)."""
        until = step.get("until")
        while True:
            sentinel = self.value(step.fields["until_value"]) if "until_value" in step.fields else _NO_SENTINEL
            try:
                if self.steps(step.body, sentinel):
                    return
            except Failure as f:
                if f.kind is None or f.kind != until:
                    raise
                message = f"{f.message} (ends the loop)"
                self.record(events.error(f.line, f.verb, f.kind, message, True))
                return

    def do_return(self, step):
        raise Returned(self.value(step.target))

    # Queues: local ones are in `prims`; `manager/queue` is served by a manager.

    def do_put(self, step):
        value, timeout = self.value(step.get("value")), self.seconds(step)
        if "/" in step.target:
            manager, name = step.target.split("/", 1)
            return managers.remote_queue(self, manager, name).put(value)
        self.put_local(step.target, value, timeout)

    def do_get(self, step):
        timeout = self.seconds(step)
        if "/" in step.target:
            manager, name = step.target.split("/", 1)
            value = managers.remote_get(self, manager, name, timeout)
        else:
            value = self.get_local(step.target, timeout)
        self.received(f"get {step.target}", value, bool(step.get("nondeterministic")))

    # Pipes: `multiprocessing.Pipe()`, whose two ends move to the actors that own them.

    def end(self, ref):
        pipe, _, side = ref.rpartition(".")
        conn = self.ends.get((pipe, side))
        if conn is None:
            owner = self.world.spec(pipe).get(side, "") if self.world.spec(pipe) else ""
            raise StepError(
                f"`{self.instance}` does not hold pipe end `{ref}` (it belongs to actor `{owner}`, or was closed)",
                "closed",
            )
        return conn

    def do_send(self, step):
        try:
            self.end(step.target).send(self.value(step.get("value")))
        except (BrokenPipeError, ConnectionResetError) as e:
            raise StepError(f"the other end is closed: {e}", EOF) from None

    def do_recv(self, step):
        conn = self.end(step.target)
        timeout = self.seconds(step)
        if timeout is not None and not conn.poll(timeout):
            raise StepError(f"nothing arrived within {self.ms(timeout)} ms", TIMEOUT)
        try:
            value = conn.recv()
        except EOFError:
            raise StepError("the other end is closed", EOF) from None
        self.received(f"recv {step.target}", value, bool(step.get("nondeterministic")))

    def do_close(self, step):
        kind = self.world.spec(step.target)["kind"] if self.world.spec(step.target) else "pipe"
        if kind == "pool":
            return self.close_pool(step.target)
        if kind in ("queue", "joinable_queue"):
            return self.close_queue(step.target)
        pipe, _, side = step.target.rpartition(".")
        self.end(step.target).close()
        del self.ends[(pipe, side)]

    # Variables and thread-locals.

    def do_add(self, step):
        amount = self.value(step.get("amount"))
        try:
            n = int(amount)
        except (TypeError, ValueError):
            raise StepError(f"`add` needs an integer amount, got {to_json(amount)}") from None
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
        family = "processes" if self.world.config.backend in ("fork", "spawn", "process-pool") else "threads"
        declared = step.target in self.world.config.scenario.nondeterministic_variables(family)
        nondet = bool(step.get("nondeterministic")) or declared
        self.received(f"read {step.target}", self.world.variables[step.target], nondet)

    def local(self, name):
        local = self.world.locals.get(name)
        if local is None:
            raise self.unavailable(name)
        return local

    def do_set_local(self, step):
        self.local(step.target).value = self.value(step.get("value"))

    def do_get_local(self, step):
        value = getattr(self.local(step.target), "value", None)
        self.received(f"get_local {step.target}", value, bool(step.get("nondeterministic")))

    # Subprocesses, managers.

    def do_run(self, step):
        tools.run(self, step)
        self.last_nondet = bool(step.get("nondeterministic"))

    def do_serve(self, step):
        managers.serve(self, step.target)

    def do_connect(self, step):
        key = step.get("authkey")
        managers.connect(self, step.target, None if key is None else plain(self.render(key)))

    def do_shutdown(self, step):
        managers.shutdown(self, step.target)

    # Links between hosts (`hosts.py`).

    def do_link(self, step):
        def number(key):
            value = step.get(key)
            return None if value is None else min(max(self.int(value), 0), 2**32 - 1)

        hosts.link("link", step.target, number("delay_ms"), number("loss_percent"))

    def do_cut(self, step):
        hosts.link("cut", step.target)

    def do_restore(self, step):
        hosts.link("restore", step.target)

    # Ending a process on purpose.

    def do_exit(self, step):
        code = self.int(step.target)
        self.record(events.finished(code))
        sys.exit(code)

    def do_crash(self, step):
        if step.target == "panic":
            raise Panic("crash step: panic")
        if step.target == "abort":
            os.abort()
        if step.target == "segfault":
            import ctypes

            ctypes.string_at(0)  # reads address 0: a real segmentation fault
        if step.target == "kill":
            os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
            time.sleep(60)  # the signal ends this process before this does
        raise StepError(f"unknown crash `{step.target}`")


def same_json(a, b):
    """Equality as JSON values are equal: `true` is not `1`, `1` is not `1.0`."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    return a == b
