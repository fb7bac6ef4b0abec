"""Command line of the CPython executor (started by the runner, as `harness exec` is).

    python3 -m procthread_cpython exec --backend B --events DIR --harness PATH FILE.toml
    python3 -m procthread_cpython lines FILE.toml     # each step's actor, line and verb (JSON)

`exec` runs the scenario's `main` actor to its end, writes the events under DIR, and exits with
0 when main finished its steps, 1 when one failed (or the code of main's `exit` step).
"""

import argparse
import json
import os
import sys

from . import events, hosts
from .world import BACKENDS


def execute(path, backend, events_dir, harness):
    """Runs a scenario's `main` actor in this process; returns the executor's exit code."""
    from .actor import Actor
    from .scenario import MAIN, load
    from .world import Config, World, all_pipe_ends

    scenario = load(path)
    config = Config(scenario=scenario, backend=backend, events=events_dir, harness=harness)
    world = World.for_main(config)
    # Before any socket: the manager `main` serves listens on its host.
    hosts.enter(scenario.actors[MAIN].host)
    main = Actor(world, MAIN, MAIN, ends=all_pipe_ends(scenario))
    code = main.run()
    main.record(events.finished(code))
    return code


def leave(code):
    """Ends the executor with nothing of the run left behind.

    At exit multiprocessing runs its finalizers (queues, semaphores) and waits for its children;
    with the spawn start method it also runs a resource-tracker process, which ends on its own a
    moment after the executor. The runner counts any process of the run still alive after the
    executor as a failure, so this does both now, and waits for the tracker (as CPython's own
    test suite does between tests), then leaves without running them a second time.
    """
    import multiprocessing.util

    sys.stdout.flush()
    sys.stderr.flush()
    multiprocessing.util._exit_function()
    if os.name == "posix":
        from multiprocessing import resource_tracker

        stop = getattr(resource_tracker._resource_tracker, "_stop", None)
        if stop is not None:
            stop()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def lines(path):
    from .lines import walk
    from .scenario import load

    scenario = load(path)
    out = []
    for actor in scenario.actors.values():
        out.extend({"actor": actor.name, "line": s.line, "verb": s.verb} for s in walk(actor.steps))
    print(json.dumps(out))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m procthread_cpython", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("exec", help="run a scenario's main actor in this process")
    ex.add_argument("--backend", required=True, choices=BACKENDS)
    ex.add_argument("--events", required=True)
    ex.add_argument("--harness", required=True, help="the harness binary, for `run` steps")
    ex.add_argument("scenario")
    ln = sub.add_parser("lines", help="print each step's actor, line and verb as JSON")
    ln.add_argument("scenario")
    args = parser.parse_args(argv)
    if args.command == "lines":
        lines(args.scenario)
        return 0
    try:
        code = execute(args.scenario, args.backend, args.events, args.harness)
    except SystemExit as e:  # main's own `exit` step
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    leave(code)


if __name__ == "__main__":
    sys.exit(main())
