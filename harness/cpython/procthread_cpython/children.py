"""Starting, joining, asking about and stopping what an actor starts: threads, processes, raw
forks, and pool tasks (a part of `actor.Actor`; the functions at the end are the entry points the
started threads, processes and pool tasks run).

As in CPython: an instance starts once; joining it again returns at once; any thread may join
any other thread of its process, but a process joins only the processes it started.
"""

import multiprocessing
import multiprocessing.util
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.pool import ThreadPool

from . import events, hosts
from .errors import TIMEOUT, StepError, TaskFailed
from .lines import walk
from .template import plain
from .world import Config, Shared, World, close_foreign_ends, uses_processes

ALREADY_STARTED, NOT_STARTED, SELF_JOIN, NOT_CHILD = "already_started", "not_started", "self_join", "not_child"
CLOSED, TASK_FAILED = "closed", "task_failed"


class ThreadChild:
    """An actor started as a `threading.Thread`; its exit code is what its steps returned."""

    def __init__(self, thread, result):
        self.thread = thread
        self.result = result
        self._reported = False
        self._lock = threading.Lock()

    def join(self, timeout):
        self.thread.join(timeout)
        return self.poll()

    def poll(self):
        if self.thread.is_alive() or not self.thread.ident:
            return None
        # An exception escaping an actor's thread (never expected) counts as a failure.
        return self.result.get("code", 1)

    def first_report(self):
        """True for the first of the threads that learn how it ended: that one records it."""
        with self._lock:
            first, self._reported = not self._reported, True
            return first

    def signal(self, name, kill):
        raise StepError(f"`{name}` is a thread: threads cannot be terminated")


class ProcessChild:
    """An actor started as a `multiprocessing.Process`."""

    def __init__(self, process):
        self.process = process

    def join(self, timeout):
        self.process.join(timeout)
        return self.process.exitcode

    def poll(self):
        self.process.is_alive()  # reaps it if it has ended
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
        self.code = None

    def poll(self):
        if self.code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.code = os.waitstatus_to_exitcode(status)
        return self.code

    def join(self, timeout):
        if self.code is None and timeout is None:
            self.code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        deadline = time.monotonic() + (timeout or 0)
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        return self.code

    def signal(self, name, kill):
        os.kill(self.pid, signal.SIGKILL if kill else signal.SIGTERM)


class TaskRec:
    """A task submitted to a pool: its name, its `AsyncResult`, and how it ended once known."""

    def __init__(self, name, result):
        self.name = name
        self.result = result
        #: None, ("ok", value) or ("error", exception)
        self.outcome = None


class PoolState:
    def __init__(self, pool):
        self.pool = pool
        self.tasks = []
        self.closed = False
        self.terminated = False


@dataclass
class TaskLaunch:
    """What a pool worker process receives to run one task (it crosses a pickle)."""

    config: Config
    definition: str
    instance: str
    item: object
    pool: str
    variables: dict


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

    def own_child(self, name):
        return next((c for n, c in self.children if n == name), None)

    def check_new(self, instance):
        if self.own_child(instance) is not None or instance in self.world.threads:
            raise StepError(f"`{instance}` was already started: an instance starts once", ALREADY_STARTED)

    def do_start(self, step):
        from .actor import Actor

        definition = step.target
        instance = self.name(step.get("as", definition))
        self.check_new(instance)
        params = {k: self.value(v) for k, v in step.get("args", {}).items()}
        ends = self.take_ends_for(definition)
        if not uses_processes(self.world.config.backend):
            actor = Actor(self.world, instance, definition, params, ends=ends)
            result = {}
            thread = threading.Thread(target=run_thread_actor, args=(actor, result), name=instance)
            child = ThreadChild(thread, result)
            with self.world.threads_lock:
                self.world.threads[instance] = child
            thread.start()
            self.child_pids[instance] = os.getpid()
            self.children.append((instance, child))
            return
        ctx = self.world.config.context()
        host = hosts.of_child(self.world.config.scenario, definition, step.get("host"))
        launch = self.world.launch(definition, instance, params, ends, host)
        process = ctx.Process(target=run_process_actor, args=(launch,), name=instance)
        process.start()
        for end in ends.values():
            end.close()  # the child holds its own copy now
        self.child_pids[instance] = process.pid
        self.children.append((instance, ProcessChild(process)))

    def do_fork(self, step):
        definition = step.target
        instance = self.name(step.get("as", definition))
        self.check_new(instance)
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

    def sibling(self, name, verb):
        """A thread this actor did not start (threads may join any thread), or why not."""
        if name == self.instance:
            raise StepError(f"`{name}` cannot {verb} itself", SELF_JOIN)
        processes = uses_processes(self.world.config.backend)
        if not processes and name in self.world.threads:
            return self.world.threads[name]
        if processes and not self.may_start(name):
            message = f"`{name}` is not a child of `{self.instance}`: a process can {verb} only processes it started"
            raise StepError(message, NOT_CHILD)
        raise StepError(f"`{name}` was not started (yet)", NOT_STARTED)

    def may_start(self, name):
        """Whether this actor's definition has a step that can start an instance named `name`."""
        definition = self.world.config.scenario.actors.get(self.definition)
        for step in walk(definition.steps if definition else []):
            if step.verb in ("start", "fork"):
                written = step.get("as", step.target)
                if "{" in written or plain(written) == name:
                    return True
        return False

    def child_or_sibling(self, name, verb):
        return self.own_child(name) or self.sibling(name, verb)

    def report_exit(self, name, child, code):
        """Records how `name` ended, once, by whoever learns it first."""
        if isinstance(child, ThreadChild):
            first = child.first_report()
        else:
            first = name not in self.reported
            self.reported.add(name)
        if first:
            self.world.log.record(name, events.exit_(code))

    def do_join(self, step):
        kind = self.world.spec(step.target)["kind"] if self.world.spec(step.target) else None
        if kind == "pool":
            return self.join_pool(step.target)
        if kind in ("queue", "joinable_queue"):
            return self.join_queue(step.target)
        name = self.name(step.target)
        child = self.child_or_sibling(name, "join")
        code = child.join(self.seconds(step))
        if code is None:
            raise StepError(f"`{name}` still running", TIMEOUT)
        self.report_exit(name, child, code)

    def poll(self, name):
        """The exit code if `name` has ended, None while it runs (or before it starts)."""
        child = self.own_child(name)
        if child is None:
            try:
                child = self.sibling(name, "ask about")
            except StepError as e:
                if e.kind == NOT_STARTED:
                    return None
                raise
        return child.poll()

    def do_is_alive(self, step):
        name = self.name(step.target)
        started = self.own_child(name) is not None or name in self.world.threads
        alive = self.poll(name) is None and started
        self.observed(f"is_alive {name}", alive, bool(step.get("nondeterministic")))

    def do_exitcode(self, step):
        name = self.name(step.target)
        self.observed(f"exitcode {name}", self.poll(name), bool(step.get("nondeterministic")))

    def stop(self, step, kill):
        if self.world.spec(step.target) and self.world.spec(step.target)["kind"] == "pool":
            return self.terminate_pool(step.target)
        name = self.name(step.target)
        self.child_or_sibling(name, "kill" if kill else "terminate").signal(name, kill)

    def do_terminate(self, step):
        self.stop(step, kill=False)

    def do_kill(self, step):
        self.stop(step, kill=True)

    def finish_children(self):
        """Waits for every child still running and every pool, recording how each ended."""
        for name, child in list(self.children):
            code = child.join(None)
            if code is not None:
                self.report_exit(name, child, code)
        for name in list(self.pools):
            try:
                self.join_pool(name)
            except StepError:
                state = self.pools.pop(name)  # never closed: its workers stop now
                state.pool.terminate()
                state.pool.join()

    # Pools.

    def pool_state(self, name):
        state = self.pools.get(name)
        if state is None:
            size = self.world.spec(name)["size"]
            ctx = self.world.config.context()
            if ctx is None:
                pool = ThreadPool(size)
            else:
                # Shared queues and primitives reach the workers as multiprocessing allows it:
                # inherited when each worker starts.
                pool = ctx.Pool(size, initializer=init_pool_worker, initargs=(self.world.shared(),))
            state = self.pools[name] = PoolState(pool)
        return state

    def submit(self, step):
        """One task per item (`apply_async`); returns their names."""
        pool, definition = step.target, step.get("actor")
        items = [self.value(i) for i in step.get("items", [])]
        names = []
        for item in items:
            self.items.append(item)
            names.append(self.name(step.fields["as"]) if "as" in step.fields else None)
            self.items.pop()
        state = self.pool_state(pool)
        if state.closed:
            raise StepError(f"pool `{pool}` is closed: no new tasks", CLOSED)
        out = []
        for item, name in zip(items, names):
            name = name or f"{definition}-{len(state.tasks)}"
            if any(t.name == name for t in state.tasks):
                raise StepError(f"a task named `{name}` already exists", ALREADY_STARTED)
            if uses_processes(self.world.config.backend):
                task = TaskLaunch(self.world.config, definition, name, item, pool, dict(self.world.variables))
                result = state.pool.apply_async(run_process_task, (task,))
            else:
                result = state.pool.apply_async(run_thread_task, (self.world, definition, name, item, pool))
            state.tasks.append(TaskRec(name, result))
            out.append(name)
        return out

    def do_submit(self, step):
        self.submit(step)

    def do_map(self, step):
        """`map`: every task's result, in order, into `{value}`."""
        names = self.submit(step)
        values = self.results(step.target, names, self.seconds(step))
        self.received(f"map {step.target}", values, bool(step.get("nondeterministic")))

    def do_imap(self, step):
        """`imap`: the body once per result, in order, with `{value}` the result."""
        for name in self.submit(step):
            (value,) = self.results(step.target, [name], None)
            self.received(f"imap {step.target}", value, bool(step.get("nondeterministic")))
            self.steps(step.body)

    def do_result(self, step):
        """`AsyncResult.get(timeout)` of one task, into `{value}`."""
        name = self.name(step.target)
        pool = next((p for p, s in self.pools.items() if any(t.name == name for t in s.tasks)), None)
        if pool is None:
            raise StepError(f"no task `{name}` was submitted by `{self.instance}`")
        (value,) = self.results(pool, [name], self.seconds(step))
        self.received(f"result {name}", value, bool(step.get("nondeterministic")))

    def results(self, pool, names, timeout):
        """The results of the named tasks, in order, all within `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        state = self.pool_state(pool)
        values = []
        for name in names:
            rec = next((t for t in state.tasks if t.name == name), None)
            if rec is None:
                raise StepError(f"no task `{name}` on pool `{pool}`")
            if rec.outcome is None:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    rec.outcome = ("ok", rec.result.get(left))
                except multiprocessing.TimeoutError:
                    raise StepError(f"`{name}` gave no result within {self.ms(timeout)} ms", TIMEOUT) from None
                except Exception as e:
                    rec.outcome = ("error", e)
            how, value = rec.outcome
            if how == "error":
                raise StepError(f"task `{name}` failed: {value}", TASK_FAILED)
            values.append(value)
        return values

    def close_pool(self, name):
        state = self.pool_state(name)
        state.pool.close()
        state.closed = True

    def terminate_pool(self, name):
        """Stops the workers at once; unfinished tasks never end (no `exit` for them)."""
        state = self.pool_state(name)
        state.pool.terminate()
        state.closed = state.terminated = True

    def join_pool(self, name):
        state = self.pools.get(name)
        if state is None:
            raise StepError(f"pool `{name}` has no tasks to wait for")
        if not state.closed:
            raise StepError(f"join of pool `{name}` before close (close it first, as the chapter does)")
        del self.pools[name]
        # The chapter's `p.close(); p.join()`. A task whose worker died never completes, and
        # then this join never returns (bpo-22393).
        state.pool.join()
        for rec in state.tasks:
            if rec.outcome is None:
                if state.terminated and not rec.result.ready():
                    continue
                try:
                    rec.outcome = ("ok", rec.result.get())
                except Exception as e:
                    rec.outcome = ("error", e)
            code = 0 if rec.outcome[0] == "ok" else 1
            self.world.log.record(rec.name, events.exit_(code), pool=name)


# Entry points.


def run_thread_actor(actor, result):
    code = actor.run()
    actor.record(events.finished(code))
    result["code"] = code


def run_process_actor(launch):
    """A process actor: runs its steps, waits for what it started, exits with its code."""
    from .actor import Actor
    from .events import EventLog

    hosts.enter(launch.host)
    world = World.in_child(launch.config, EventLog(launch.config.events), launch.shared, launch.variables, launch.ends)
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
        hosts.enter(hosts.of_child(parent.world.config.scenario, definition, None))
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


def task_result(actor, code):
    """A task's result: what it returned; a failed task raises, so that `get()` does."""
    if code != 0:
        raise TaskFailed(actor.failure or f"task `{actor.instance}` failed")
    return actor.returned


def run_thread_task(world, definition, instance, item, pool):
    """A pool task on a `ThreadPool`: an actor run for one item, sharing the executor's world."""
    from .actor import Actor

    actor = Actor(world, instance, definition, pool=pool)
    actor.items.append(item)
    code = actor.run()
    actor.record(events.finished(code))
    return task_result(actor, code)


# What a pool worker process holds: the run's shared resources, and its event log.
_worker_shared = Shared({}, {}, {})
_worker_log = None


def init_pool_worker(shared):
    """A `multiprocessing.Pool` worker's initializer: keeps the run's shared resources."""
    global _worker_shared
    _worker_shared = shared


def run_process_task(task):
    """A pool task in a worker process of a `multiprocessing.Pool`."""
    from .actor import Actor
    from .events import EventLog

    global _worker_log
    if _worker_log is None or _worker_log.directory != task.config.events:
        _worker_log = EventLog(task.config.events)
    world = World.in_child(task.config, _worker_log, _worker_shared, task.variables)
    actor = Actor(world, task.instance, task.definition, pool=task.pool)
    actor.items.append(task.item)
    code = actor.run()
    actor.record(events.finished(code))
    return task_result(actor, code)
