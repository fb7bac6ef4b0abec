"""The executor end to end: small scenarios run as the runner runs them, in a fresh process."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ["thread", "spawn"] + (["fork"] if hasattr(os, "fork") else [])


def run(source, backend, timeout=60):
    """Runs a scenario; returns the executor's exit code and its events in time order."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "case.toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(source))
        env = dict(os.environ, PYTHONPATH=HERE, PYTHONDONTWRITEBYTECODE="1")
        argv = [sys.executable, "-m", "procthread_cpython", "exec", "--backend", backend]
        argv += ["--events", os.path.join(d, "events"), "--harness", "no-harness", path]
        done = subprocess.run(argv, env=env, capture_output=True, timeout=timeout)
        evs = []
        events_dir = os.path.join(d, "events")
        for name in os.listdir(events_dir):
            with open(os.path.join(events_dir, name), encoding="utf-8") as f:
                evs.extend(json.loads(line) for line in f)
        evs.sort(key=lambda e: (e["t_us"], "exit" in e["kind"] if isinstance(e["kind"], dict) else False))
        return done.returncode, evs, done.stderr.decode(errors="replace")


def kinds(evs, actor, kind):
    return [e["kind"][kind] for e in evs if e["actor"] == actor and isinstance(e["kind"], dict) and kind in e["kind"]]


PIPE_AND_QUEUE = """
[resources]
q = "queue"
p = { kind = "pipe", a = "main", b = "child" }
balance = { kind = "variable", initial = 10 }

[actors.main]
steps = [
  { start = "child", args = { n = 3 } },
  { send = "p.a", value = ["hello", 1, 2] },
  { close = "p.a" },
  { get = "q", timeout_ms = 20000 },
  { print = "main got {value}" },
  { join = "child" },
  { read = "balance" },
]

[actors.child]
params = ["n"]
steps = [
  { add = "balance", amount = "{n}" },
  { loop = [ { recv = "p.b" } ], until = "eof" },
  { put = "q", value = "{n*n}" },
  { exit = 4 },
]

[expect]
exit = { child = 4 }
"""


class ExecutorTest(unittest.TestCase):
    def test_pipes_queues_variables_and_exit_codes_on_each_backend(self):
        for backend in BACKENDS:
            if backend == "thread":
                continue  # `exit` ends a process: not for threads
            with self.subTest(backend=backend):
                code, evs, err = run(PIPE_AND_QUEUE, backend)
                self.assertEqual(code, 0, err)
                self.assertEqual(kinds(evs, "child", "received"), [{"via": "recv p.b", "value": ["hello", 1, 2]}])
                expected_eof = {"line": 22, "verb": "recv", "kind": "eof", "expected": True}
                errors = kinds(evs, "child", "error")
                self.assertEqual({k: errors[0][k] for k in expected_eof}, expected_eof, errors)
                self.assertEqual(kinds(evs, "main", "print"), [{"text": "main got 9"}])
                self.assertEqual(kinds(evs, "child", "exit"), [{"code": 4}])
                # The child changed its own copy: main still reads 10.
                self.assertEqual(kinds(evs, "main", "variable"), [{"name": "balance", "value": 10}])
                pids = {e["pid"] for e in evs if e["actor"] == "child" and "exit" not in str(e["kind"])}
                self.assertNotIn(next(e["pid"] for e in evs if e["actor"] == "main"), pids)

    def test_threads_share_variables_and_join_with_a_timeout(self):
        code, evs, err = run(
            """
            [resources]
            balance = "variable"
            [actors.main]
            steps = [
              { start = "slow", as = "s1" },
              { join = "s1", timeout_ms = 10, expect = "timeout" },
              { join = "s1" },
              { read = "balance" },
            ]
            [actors.slow]
            steps = [ { sleep_ms = 300 }, { repeat = 1000, do = [ { add = "balance", amount = 2 } ] } ]
            """,
            "thread",
        )
        self.assertEqual(code, 0, err)
        self.assertEqual(kinds(evs, "main", "received"), [{"via": "read balance", "value": 2000}])
        self.assertEqual([e["kind"] for e in kinds(evs, "main", "error")], ["timeout"])
        at = [a["verb"] for a in kinds(evs, "s1", "at")]
        self.assertEqual(at, ["sleep_ms", "repeat"], "a long loop records no per-step progress")

    def test_an_unexpected_error_ends_the_actor_with_its_line(self):
        code, evs, _ = run(
            """
            [resources]
            q = "queue"
            [actors.main]
            steps = [ { print = "before" }, { get = "q", timeout_ms = 20 }, { print = "never" } ]
            """,
            "thread",
        )
        self.assertEqual(code, 1)
        (e,) = kinds(evs, "main", "error")
        self.assertEqual((e["line"], e["verb"], e["kind"], e["expected"]), (5, "get", "timeout", False))
        self.assertEqual(kinds(evs, "main", "print"), [{"text": "before"}])
        self.assertEqual(kinds(evs, "main", "finished"), [{"code": 1}])

    def test_thread_pool_tasks_run_with_their_item(self):
        code, evs, err = run(
            """
            [resources]
            pool = { kind = "pool", size = 2 }
            [actors.main]
            steps = [
              { submit = "pool", actor = "task", items = ["a", "b", "c"] },
              { close = "pool" },
              { join = "pool" },
            ]
            [actors.task]
            steps = [ { print = "{item} in {name}" } ]
            """,
            "thread-pool",
        )
        self.assertEqual(code, 0, err)
        for i, item in enumerate("abc"):
            self.assertEqual(kinds(evs, f"task-{i}", "print"), [{"text": f"{item} in task-{i}"}])
            self.assertEqual(kinds(evs, f"task-{i}", "exit"), [{"code": 0}])
            self.assertTrue(all(e.get("pool") == "pool" for e in evs if e["actor"] == f"task-{i}"))


if __name__ == "__main__":
    unittest.main()
