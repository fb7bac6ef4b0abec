"""The resources one process can reach, and which kind of each a backend calls for.

| backend       | actors                                      | pools                         |
|---------------|---------------------------------------------|-------------------------------|
| thread        | `threading.Thread`                          | -                             |
| fork          | `multiprocessing`, start method "fork"      | -                             |
| spawn         | `multiprocessing`, start method "spawn"     | -                             |
| thread-pool   | `threading.Thread`                          | `multiprocessing.pool.ThreadPool` |
| process-pool  | `multiprocessing`, start method "spawn"     | `multiprocessing.Pool` (spawn) |

With threads, every actor shares the executor's resources. With processes, as the chapter
explains: queues are shared (a `multiprocessing.Queue` is passed to the child), pipe ends move to
the actor that owns them, variables are copied as they are when the child starts, and each
process makes its own locks and thread-locals.
"""

import multiprocessing
import queue
import threading
import weakref
from dataclasses import dataclass

from .events import EventLog

BACKENDS = ("thread", "fork", "spawn", "thread-pool", "process-pool")


def uses_processes(backend):
    return backend in ("fork", "spawn", "process-pool")


def start_method(backend):
    """The multiprocessing start method of a process backend."""
    return "fork" if backend == "fork" else "spawn"


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
class Launch:
    """What a child process receives to run an actor (it crosses a pickle with spawn)."""

    config: Config
    definition: str
    instance: str
    params: dict
    queues: dict
    rendezvous: dict
    variables: dict
    #: (pipe, end) -> Connection: the ends the child owns.
    ends: dict


class World:
    """One process's view of the scenario's resources; threads of the process share it."""

    def __init__(self, config, log):
        self.config = config
        self.log = log
        self.queues = {}
        #: Per manager: a queue holding its address once it is served.
        self.rendezvous = {}
        #: Integers: shared by the threads of this process, copied into child processes.
        self.variables = {}
        self.locks = {}
        self.locals = {}

    @classmethod
    def for_main(cls, config):
        """The executor's world: every resource fresh."""
        world = cls(config, EventLog(config.events))
        ctx = config.context()
        make_queue = ctx.Queue if ctx else queue.Queue
        for name, spec in config.scenario.resources.items():
            kind = spec["kind"]
            if kind == "queue":
                world.queues[name] = make_queue()
            elif kind == "manager":
                world.rendezvous[name] = make_queue()
            elif kind == "variable":
                world.variables[name] = spec.get("initial", 0)
        world.fill_process_local()
        return world

    def fill_process_local(self):
        """Locks and thread-locals belong to a process: a child process makes its own."""
        for name, spec in self.config.scenario.resources.items():
            if spec["kind"] == "lock":
                self.locks[name] = threading.Lock()
            elif spec["kind"] == "local":
                self.locals[name] = threading.local()

    def launch(self, definition, instance, params, ends):
        """What a child process gets: shared queues, a copy of each variable, its pipe ends."""
        return Launch(
            config=self.config,
            definition=definition,
            instance=instance,
            params=params,
            queues=dict(self.queues),
            rendezvous=dict(self.rendezvous),
            variables=dict(self.variables),
            ends=ends,
        )

    @classmethod
    def in_child(cls, launch):
        """A child process's world, from what it was launched with."""
        world = cls(launch.config, EventLog(launch.config.events))
        world.queues = dict(launch.queues)
        world.rendezvous = dict(launch.rendezvous)
        world.variables = dict(launch.variables)
        world.fill_process_local()
        for end in launch.ends.values():
            register_end(end)
        return world

    def after_fork(self):
        """The world of a child made by `os.fork`: the same queues, its own copies of the rest."""
        world = World(self.config, self.log)
        world.queues = dict(self.queues)
        world.rendezvous = dict(self.rendezvous)
        world.variables = dict(self.variables)
        world.fill_process_local()
        return world

    @classmethod
    def for_pool_worker(cls, config, log):
        """A pool task in a worker process reaches no queue or variable: only the scenario."""
        world = cls(config, log)
        world.fill_process_local()
        return world


def all_pipe_ends(scenario):
    """Both ends of every pipe, as the executor holds them before any actor starts."""
    ends = {}
    for name, spec in scenario.resources.items():
        if spec["kind"] == "pipe":
            a, b = multiprocessing.Pipe()
            ends[(name, "a")] = register_end(a)
            ends[(name, "b")] = register_end(b)
    return ends
