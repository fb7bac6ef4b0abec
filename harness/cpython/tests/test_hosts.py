"""Hosts in the executor: where an actor runs, where a manager binds, and what the link steps
ask of the run's link emulator (here a stand-in on a Unix socket of the test's own)."""

import json
import os
import socket
import tempfile
import threading
import unittest
from unittest import mock

from procthread_cpython import hosts
from procthread_cpython.errors import StepError
from procthread_cpython.scenario import parse

SCENARIO = """
[hosts]
master = {}
worker1 = {}
worker2 = {}

[actors.main]
host = "master"
steps = [ { start = "worker", host = "worker2" } ]

[actors.worker]
steps = [ { print = "hi" } ]

[actors.placed]
host = "worker1"
steps = [ { print = "hi" } ]
"""


class Fresh(unittest.TestCase):
    """Each test starts outside any host, with the lab the test gives it."""

    def setUp(self):
        self.saved = (hosts._current, hosts._lab)
        hosts._current, hosts._lab = None, None

    def tearDown(self):
        hosts._current, hosts._lab = self.saved


class WithoutLab(Fresh):
    def test_a_host_is_only_a_name_and_a_manager_binds_loopback(self):
        with mock.patch.dict(os.environ, {hosts.LAB_ENV: ""}):
            hosts.enter("master")
            self.assertEqual(hosts.current(), "master")
            self.assertEqual(hosts.bind_address(), "127.0.0.1")

    def test_a_link_step_needs_hosts_of_their_own(self):
        with mock.patch.dict(os.environ, {hosts.LAB_ENV: ""}):
            with self.assertRaisesRegex(StepError, "`cut` needs hosts of their own"):
                hosts.link("cut", "worker1")

    def test_where_a_child_runs(self):
        scenario = parse(SCENARIO)
        self.assertEqual(scenario.actors["main"].host, "master")
        hosts._current = "master"
        self.assertEqual(hosts.of_child(scenario, "worker", "worker2"), "worker2")  # the start step's
        self.assertEqual(hosts.of_child(scenario, "placed", None), "worker1")  # the definition's
        self.assertEqual(hosts.of_child(scenario, "worker", None), "master")  # its starter's


class WithLab(Fresh):
    """A lab as the supervisor describes it, with a stand-in emulator answering `answer`."""

    def serve(self, answer):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        path = os.path.join(self.dir.name, "control")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(10)
        self.received = []

        def one():
            conn, _ = listener.accept()
            with conn, conn.makefile("r", encoding="utf-8") as f:
                self.received.append(json.loads(f.readline()))
                conn.sendall((answer + "\n").encode())

        thread = threading.Thread(target=one)
        thread.start()
        self.addCleanup(thread.join, 10)
        lab = {"control": path, "hosts": [{"name": "master", "address": "198.51.100.1", "netns": "/nonexistent"}]}
        patch = mock.patch.dict(os.environ, {hosts.LAB_ENV: json.dumps(lab)})
        patch.start()
        self.addCleanup(patch.stop)

    def test_link_sends_one_command_and_reads_ok(self):
        self.serve("ok")
        hosts.link("link", "master", 50, None)
        self.assertEqual(self.received, [{"op": "set", "host": "master", "delay_ms": 50, "loss_percent": None}])

    def test_a_refusal_is_the_steps_error(self):
        self.serve("error: no host `nope`; hosts: master")
        with self.assertRaisesRegex(StepError, "refused `restore` of `nope`: error: no host"):
            hosts.link("restore", "nope")
        self.assertEqual(self.received, [{"op": "restore", "host": "nope"}])

    def test_entering_a_host_the_run_did_not_make_fails(self):
        self.serve("ok")
        with self.assertRaisesRegex(StepError, "the run made no host `elsewhere`"):
            hosts.enter("elsewhere")
        with self.assertRaisesRegex(StepError, "cannot enter host `master`"):
            hosts.enter("master")  # its namespace path does not exist here
        self.assertIsNone(hosts.current())
        hosts.link("cut", "master")  # let the stand-in's one connection end


if __name__ == "__main__":
    unittest.main()
