"""Starting, joining and stopping what an actor starts: threads, processes, raw forks and pools.

`Children` is a part of `actor.Actor` (a mixin); the functions at the end are the entry points the
started threads, processes and pool tasks run.
"""

import multiprocessing.util
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.pool import ThreadPool

from . import events
from .errors import TIMEOUT, StepError
from .lines import walk
from .template import plain
from .world import Config, World, close_foreign_ends, uses_processes


class ThreadChild:
    """An actor started as a `threading.Thread`; its exit code is what its steps returned."""

    def __init__(self, thread, result):
        self.thread = thread
        self.result = result

    def join(self, timeout):
        self.thread.join(timeout)
        if self.thread.is_alive():
            return None
        # An exception escaping an actor's thread (never expected) counts as a failure.
        return self.result.get("code", 1)

    def signal(self, name, kill):
        raise StepError(f"`{name}` is a thread: threads cannot be terminated")


class ProcessChild:
    """An actor started as a `multiprocessing.Process`."""

    def __init__(self, process):
        self.process = process

    def join(self, timeout):
        self.process.join(timeout)
        return self.process.exitcode

    def signal(self, name, kill):
        if kill:
            self.process.kill()
        else:
            self.process.terminate()


class ForkedChild:
    """A child made by `os.fork()` itself."""

    def __init__(self, pid):
        self.pid = pid

    def join(self, timeout):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            pid, status = os.waitpid(self.pid, 0 if deadline is None else os.WNOHANG)
            if pid == self.pid:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.002)

    def signal(self, name, kill):
        os.kill(self.pid, signal.SIGKILL if kill else signal.SIGTERM)


class PoolState:
    def __init__(self, pool):
        self.pool = pool
        #: (instance, AsyncResult) per submitted task, in order.
        self.tasks = []
        self.closed = False


@dataclass
class TaskLaunch:
    """What a pool worker process receives to run one task (it crosses a pickle)."""

    config: Config
    definition: str
    instance: str
    item: object
    pool: str


class Children:
    """Starting and waiting for threads, processes, forks and pools (a part of `Actor`)."""

    def reachable(self, definition):
        """Actor definitions `definition` starts, directly or through what it starts."""
        actors = self.world.config.scenario.actors
        seen, todo = {definition}, [definition]
        while todo:
            d = actors.get(todo.pop())
            for step in walk(d.steps if d else []):
                if step.verb in ("start", "fork") and step.target not in seen:
                    seen.add(step.target)
                    todo.append(step.target)
        return seen

    def take_ends_for(self, definition):
        """Takes out of this actor's hands the pipe ends owned by `definition` (or by actors it
        starts): they move with the child."""
        reach = self.reachable(definition)
        moved = {}
        for name, spec in self.world.config.scenario.resources.items():
            if spec["kind"] != "pipe":
                continue
            for side in ("a", "b"):
                if spec[side] in reach and (name, side) in self.ends:
                    moved[(name, side)] = self.ends.pop((name, side))
        return moved

    def child(self, name):
        for n, c in self.children:
            if n == name:
                return c
        raise StepError(f"`{name}` was not started by `{self.instance}` (or was already joined)")

    def do_start(self, step):
        from .actor import Actor

        definition = step.target
        instance = plain(self.render(step.get("as", definition)))
        params = {k: self.value(v) for k, v in step.get("args", {}).items()}
        ends = self.take_ends_for(definition)
        if not uses_processes(self.world.config.backend):
            actor = Actor(self.world, instance, definition, params, ends=ends)
            result = {}
            thread = threading.Thread(target=run_thread_actor, args=(actor, result), name=instance)
            thread.start()
            self.child_pids[instance] = os.getpid()
            self.children.append((instance, ThreadChild(thread, result)))
            return
        ctx = self.world.config.context()
        launch = self.world.launch(definition, instance, params, ends)
        process = ctx.Process(target=run_process_actor, args=(launch,), name=instance)
        process.start()
        for end in ends.values():
            end.close()  # the child holds its own copy now
        self.child_pids[instance] = process.pid
        self.children.append((instance, ProcessChild(process)))

    def do_fork(self, step):
        definition = step.target
        instance = plain(self.render(step.get("as", definition)))
        ends = self.take_ends_for(definition)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            forked_child(self, definition, instance, ends)
        for end in ends.values():
            end.close()
        self.child_pids[instance] = pid
        self.children.append((instance, ForkedChild(pid)))

    def do_join(self, step):
        target = step.target
        if self.world.config.scenario.resource_kind(target) == "pool":
            return self.join_pool(target)
        child = self.child(target)
        code = child.join(self.timeout(step))
        if code is None:
            raise StepError(f"`{target}` still running", TIMEOUT)
        self.children = [(n, c) for n, c in self.children if c is not child]
        self.world.log.record(target, events.exit_(code))

    def do_terminate(self, step):
        self.child(step.target).signal(step.target, kill=False)

    def do_kill(self, step):
        self.child(step.target).signal(step.target, kill=True)

    def finish_children(self):
        """Waits for every child still running and every pool, recording how each ended."""
        children, self.children = self.children, []
        for name, child in children:
            code = child.join(None)
            if code is not None:
                self.world.log.record(name, events.exit_(code))
        for name in list(self.pools):
            try:
                self.join_pool(name)
            except StepError:
                pass

    # Pools.

    def pool_state(self, name):
        state = self.pools.get(name)
        if state is None:
            size = self.world.config.scenario.resources[name]["size"]
            ctx = self.world.config.context()
            state = self.pools[name] = PoolState(ctx.Pool(size) if ctx else ThreadPool(size))
        return state

    def do_submit(self, step):
        pool, definition = step.target, step.get("actor")
        items = [self.value(i) for i in step.get("items", [])]
        state = self.pool_state(pool)
        processes = uses_processes(self.world.config.backend)
        for item in items:
            instance = f"{definition}-{len(state.tasks)}"
            if processes:
                task = TaskLaunch(self.world.config, definition, instance, item, pool)
                result = state.pool.apply_async(run_process_task, (task,))
            else:
                result = state.pool.apply_async(run_thread_task, (self.world, definition, instance, item, pool))
            state.tasks.append((instance, result))

    def close_pool(self, name):
        state = self.pool_state(name)
        state.pool.close()
        state.closed = True

    def join_pool(self, name):
        state = self.pools.pop(name, None)
        if state is None:
            raise StepError(f"pool `{name}` has no tasks to wait for")
        if not state.closed:
            state.pool.terminate()
            state.pool.join()
            raise StepError(f"join of pool `{name}` before close (close it first, as the chapter does)")
        # The chapter's `p.close(); p.join()`. A task whose worker died never completes, and
        # then this join never returns (bpo-22393).
        state.pool.join()
        for instance, result in state.tasks:
            try:
                code = result.get()
            except Exception:
                code = 1
            self.world.log.record(instance, events.exit_(code), pool=name)


# Entry points.


def run_thread_actor(actor, result):
    code = actor.run()
    actor.record(events.finished(code))
    result["code"] = code


def run_process_actor(launch):
    """A process actor: runs its steps, waits for what it started, exits with its code."""
    from .actor import Actor

    world = World.in_child(launch)
    close_foreign_ends(keep=launch.ends.values())
    actor = Actor(world, launch.instance, launch.definition, launch.params, ends=launch.ends)
    code = actor.run()
    actor.record(events.finished(code))
    sys.exit(code)


def forked_child(parent, definition, instance, ends):
    """The child side of `os.fork()`: runs the definition, then ends the process, never
    returning into the parent's code."""
    from .actor import Actor

    code = 1
    try:
        # What multiprocessing does in every child it forks: queues and locks made before the
        # fork reset their per-process state (a queue's feeder thread does not survive a fork).
        multiprocessing.util._run_after_forkers()
        close_foreign_ends(keep=ends.values())
        actor = Actor(parent.world.after_fork(), instance, definition, ends=ends)
        code = actor.run()
        actor.record(events.finished(code))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_thread_task(world, definition, instance, item, pool):
    """A pool task on a `ThreadPool`: an actor run for one item, sharing the executor's world."""
    from .actor import Actor

    actor = Actor(world, instance, definition, pool=pool)
    actor.items.append(item)
    code = actor.run()
    actor.record(events.finished(code))
    return code


_worker_log = None


def run_process_task(task):
    """A pool task in a worker process of a `multiprocessing.Pool`; returns the task's code."""
    from .actor import Actor
    from .events import EventLog

    global _worker_log
    if _worker_log is None or _worker_log.directory != task.config.events:
        _worker_log = EventLog(task.config.events)
    world = World.for_pool_worker(task.config, _worker_log)
    actor = Actor(world, task.instance, task.definition, pool=task.pool)
    actor.items.append(task.item)
    code = actor.run()
    actor.record(events.finished(code))
    return code

