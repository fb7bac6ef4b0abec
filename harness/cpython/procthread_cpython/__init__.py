"""The scenario language, executed by CPython.

`harness exec` runs a scenario file on the Rust reference implementation. This package runs the
same file with what a Python programmer would write for each step: `threading.Thread`,
`multiprocessing` with the fork and spawn start methods, `Pool` and `ThreadPool`, `os.fork`,
queues, pipes, locks, `threading.local`, `subprocess`, and a `BaseManager` guarded by an authkey.
It records the same events, in the same JSON shapes, as the reference (see `events`), so that the
runner normalizes and judges both implementations with one piece of code.

The runner starts it as

    python3 -m procthread_cpython exec --backend spawn --events DIR --harness PATH FILE.toml

The modules, in the order they are best read:

- `scenario`: the TOML file as actor definitions and steps (`lines` finds each step's line);
- `template`: placeholders such as `{pid}` and `{value*value}`, and how values print;
- `events`: the trace, one JSON line per event, one file per process;
- `world`: the resources of one process, chosen by backend (what is shared, what is copied);
- `actor`: one actor interpreting its steps, verb by verb;
- `children`: threads, processes, raw forks and pools, and the entry points children run;
- `managers`: `serve` and `connect` with `multiprocessing.managers.BaseManager`;
- `tools`: the `run` step, through `subprocess`;
- `errors`: how a step fails.
"""
