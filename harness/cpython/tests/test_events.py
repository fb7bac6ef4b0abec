"""Events have the reference's JSON shapes, one file per process."""

import json
import os
import tempfile
import unittest

from procthread_cpython import events
from procthread_cpython.events import EventLog


def read(directory):
    out = []
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            out.extend((name, json.loads(line)) for line in f)
    return out


class EventLogTest(unittest.TestCase):
    def test_shapes_are_the_references(self):
        with tempfile.TemporaryDirectory() as d:
            log = EventLog(d)
            log.record("main", events.STARTED)
            log.record("t-0", events.error(3, "get", "timeout", "empty", True), pool="pool")
            log.record("main", events.received("recv p.b", ["hello", 1]))
            lines = [e for _, e in read(d)]
        self.assertEqual(lines[0]["kind"], "started")
        self.assertNotIn("pool", lines[0])
        self.assertEqual(lines[1]["pool"], "pool")
        self.assertEqual(
            lines[1]["kind"],
            {"error": {"line": 3, "verb": "get", "kind": "timeout", "message": "empty", "expected": True}},
        )
        self.assertEqual(lines[2]["kind"], {"received": {"via": "recv p.b", "value": ["hello", 1]}})
        self.assertEqual({k for k in lines[0]}, {"actor", "pid", "t_us", "kind"})
        self.assertLessEqual(lines[0]["t_us"], lines[2]["t_us"])

    @unittest.skipUnless(hasattr(os, "fork"), "fork is Unix only")
    def test_a_forked_child_writes_a_file_of_its_own(self):
        with tempfile.TemporaryDirectory() as d:
            log = EventLog(d)
            log.record("main", events.STARTED)
            pid = os.fork()
            if pid == 0:
                log.record("child", events.STARTED)
                os._exit(0)
            os.waitpid(pid, 0)
            files = sorted(os.listdir(d))
            self.assertEqual(files, sorted([f"{os.getpid()}.jsonl", f"{pid}.jsonl"]))
            child = [e for name, e in read(d) if name == f"{pid}.jsonl"]
            self.assertEqual([(e["actor"], e["pid"]) for e in child], [("child", pid)])


if __name__ == "__main__":
    unittest.main()
