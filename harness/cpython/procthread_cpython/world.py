"""The resources one process can reach, and which kind of each a backend calls for.

| backend       | actors                                      | pools                             |
|---------------|---------------------------------------------|-----------------------------------|
| thread        | `threading.Thread`                          | -                                 |
| fork          | `multiprocessing`, start method "fork"      | -                                 |
| spawn         | `multiprocessing`, start method "spawn"     | -                                 |
| thread-pool   | `threading.Thread`                          | `multiprocessing.pool.ThreadPool` |
| process-pool  | `multiprocessing`, start method "spawn"     | `multiprocessing.Pool` (spawn)    |

A queue or a synchronization primitive declares its scope. `process` (the default of locks and
their relatives) is `threading`'s kind: each process makes its own, and its threads share it
(`queue.Queue`, `threading.Lock`...). `shared` (the default of queues) is `multiprocessing`'s
kind: made once by the executor and handed to every process (`multiprocessing.Queue`,
`multiprocessing.Lock`...). With threads only, both are `threading`'s, as in
`multiprocessing.dummy`. Besides: pipe ends move to the actor that owns them, variables are
copied into a child process as they are when it starts, thread-locals are per process.
"""

import multiprocessing
import queue
import threading
import weakref
from dataclasses import dataclass

from .events import EventLog

BACKENDS = ("thread", "fork", "spawn", "thread-pool", "process-pool")

#: The synchronization primitives, by resource kind.
SYNC_KINDS = ("lock", "rlock", "semaphore", "bounded_semaphore", "event", "condition", "barrier")
QUEUE_KINDS = ("queue", "joinable_queue")


def uses_processes(backend):
    return backend in ("fork", "spawn", "process-pool")


def start_method(backend):
    """The multiprocessing start method of a process backend."""
    return "fork" if backend == "fork" else "spawn"


def scope(spec):
    """`shared` or `process`: who shares a queue or a primitive (see the module's docs)."""
    default = "shared" if spec["kind"] in QUEUE_KINDS else "process"
    return spec.get("scope", default)


@dataclass
class Config:
    """What every process of a run needs to know; passed to children as it is."""

    scenario: object  # scenario.Scenario
    backend: str
    events: str
    #: The `harness` binary, whose portable tools `run` steps call.
    harness: str

    def context(self):
        """The multiprocessing context of this backend's processes (None with threads)."""
        if not uses_processes(self.backend):
            return None
        return multiprocessing.get_context(start_method(self.backend))


def make(spec, ctx):
    """A queue or synchronization primitive: `multiprocessing`'s from `ctx`, else `threading`'s."""
    kind = spec["kind"]
    if kind in QUEUE_KINDS:
        maxsize = spec.get("maxsize", 0)
        if ctx is None:
            return queue.Queue(maxsize)  # has task_done and join: a joinable queue as well
        return ctx.JoinableQueue(maxsize) if kind == "joinable_queue" else ctx.Queue(maxsize)
    lib = ctx if ctx is not None else threading
    if kind == "lock":
        return lib.Lock()
    if kind == "rlock":
        return lib.RLock()
    if kind == "semaphore":
        return lib.Semaphore(spec.get("value", 1))
    if kind == "bounded_semaphore":
        return lib.BoundedSemaphore(spec.get("value", 1))
    if kind == "event":
        return lib.Event()
    if kind == "condition":
        return lib.Condition()
    if kind == "barrier":
        return lib.Barrier(spec["parties"])
    raise ValueError(f"not a queue or a primitive: {kind}")


# Every pipe end this process holds or has held: a child made by fork inherits them all, and
# closes those it does not own, or the other side would never see EOF.
_ENDS = weakref.WeakSet()


def register_end(end):
    _ENDS.add(end)
    return end


def close_foreign_ends(keep):
    """In a child made by fork: closes every inherited pipe end except those it owns."""
    kept = {id(e) for e in keep}
    for end in list(_ENDS):
        if id(end) not in kept:
            end.close()


@dataclass
class Shared:
    """What every process of the run shares: `multiprocessing`'s queues and primitives, and the
    managers' rendezvous queues. It reaches a child as the arguments of its start (or a pool
    worker's initializer), which is how multiprocessing lets them be inherited."""

    queues: dict
    prims: dict
    rendezvous: dict


@dataclass
class Launch:
    """What a child process receives to run an actor (it crosses a pickle with spawn)."""

    config: Config
    definition: str
    instance: str
    params: dict
    shared: Shared
    variables: dict
    #: (pipe, end) -> Connection: the ends the child owns.
    ends: dict
    #: The host it runs on, if the scenario has hosts (`hosts.py`).
    host: str | None = None


class World:
    """One process's view of the scenario's resources; threads of the process share it."""

    def __init__(self, config, log):
        self.config = config
        self.log = log
        self.queues = {}
        self.prims = {}
        #: Per manager: a queue holding its address once it is served.
        self.rendezvous = {}
        #: Integers: shared by the threads of this process, copied into child processes.
        self.variables = {}
        self.locals = {}
        #: The thread actors of this process, by instance name: any thread may join any other.
        self.threads = {}
        self.threads_lock = threading.Lock()

    def spec(self, name):
        return self.config.scenario.resources.get(name)

    @classmethod
    def for_main(cls, config):
        """The executor's world: every resource fresh."""
        world = cls(config, EventLog(config.events))
        ctx = config.context()
        for name, spec in config.scenario.resources.items():
            kind = spec["kind"]
            if kind in QUEUE_KINDS + SYNC_KINDS and (scope(spec) == "shared" or ctx is None):
                target = world.queues if kind in QUEUE_KINDS else world.prims
                target[name] = make(spec, ctx if scope(spec) == "shared" else None)
            elif kind == "manager":
                world.rendezvous[name] = ctx.Queue() if ctx else queue.Queue()
            elif kind == "variable":
                world.variables[name] = spec.get("initial", 0)
        world.fill_process_local()
        return world

    def fill_process_local(self):
        """What each process has its own of: `threading`'s queues and primitives, thread-locals."""
        processes = uses_processes(self.config.backend)
        for name, spec in self.config.scenario.resources.items():
            kind = spec["kind"]
            if kind in QUEUE_KINDS + SYNC_KINDS and processes and scope(spec) == "process":
                target = self.queues if kind in QUEUE_KINDS else self.prims
                target[name] = make(spec, None)
            elif kind == "local":
                self.locals[name] = threading.local()

    def shared(self):
        """The shared resources, to hand to a child process."""
        def only_shared(d):
            return {n: v for n, v in d.items() if scope(self.spec(n)) == "shared"}

        return Shared(only_shared(self.queues), only_shared(self.prims), dict(self.rendezvous))

    def launch(self, definition, instance, params, ends, host=None):
        """What a child process gets: the shared resources, a copy of each variable, its ends."""
        return Launch(
            config=self.config,
            definition=definition,
            instance=instance,
            params=params,
            shared=self.shared(),
            variables=dict(self.variables),
            ends=ends,
            host=host,
        )

    @classmethod
    def in_child(cls, config, log, shared, variables, ends=None):
        """A child process's world: the shared resources, its own copies of the variables,
        fresh process-local ones."""
        world = cls(config, log)
        world.queues = dict(shared.queues)
        world.prims = dict(shared.prims)
        world.rendezvous = dict(shared.rendezvous)
        world.variables = dict(variables)
        world.fill_process_local()
        for end in (ends or {}).values():
            register_end(end)
        return world

    def after_fork(self):
        """The world of a child made by `os.fork`: the shared resources, its own copies of the
        rest."""
        return World.in_child(self.config, self.log, self.shared(), self.variables)


def all_pipe_ends(scenario):
    """Both ends of every pipe, as the executor holds them before any actor starts."""
    ends = {}
    for name, spec in scenario.resources.items():
        if spec["kind"] == "pipe":
            a, b = multiprocessing.Pipe()
            ends[(name, "a")] = register_end(a)
            ends[(name, "b")] = register_end(b)
    return ends
