"""The executor on the language's second vocabulary: primitives with a scope, queue sizes,
liveness and exit codes, templated names, none and dicts, `equals`, pool results, and the errors
each step can be expected to end with."""

import unittest

from tests.test_executor import BACKENDS, kinds, run

PROCESS_BACKENDS = [b for b in BACKENDS if b != "thread"]


def errors(evs, actor):
    return [(e["verb"], e["kind"], e["expected"]) for e in kinds(evs, actor, "error")]


class SyncTest(unittest.TestCase):
    def test_a_two_lock_deadlock_is_seen_as_acquire_timeouts(self):
        src = """
        [resources]
        a = "lock"
        b = "lock"
        go = { kind = "barrier", parties = 2 }
        both_tried = { kind = "barrier", parties = 2 }
        [actors.main]
        steps = [ { start = "one" }, { start = "two" }, { join = "one" }, { join = "two" } ]
        [actors.one]
        steps = [
          { acquire = "a" }, { wait = "go" },
          { acquire = "b", timeout_ms = 200, expect = "timeout" },
          { wait = "both_tried" }, { release = "a" },
        ]
        [actors.two]
        steps = [
          { acquire = "b" }, { wait = "go" },
          { acquire = "a", timeout_ms = 200, expect = "timeout" },
          { wait = "both_tried" }, { release = "b" },
        ]
        """
        code, evs, err = run(src, "thread")
        self.assertEqual(code, 0, err)
        self.assertEqual(errors(evs, "one"), [("acquire", "timeout", True)])
        self.assertEqual(errors(evs, "two"), [("acquire", "timeout", True)])

    def test_release_errors_name_their_kind(self):
        src = """
        [resources]
        l = "lock"
        r = "rlock"
        s = { kind = "bounded_semaphore", value = 1 }
        held = "event"
        [actors.main]
        steps = [
          { release = "l", expect = "not_locked" },
          { release = "r", expect = "not_locked" },
          { release = "s", expect = "too_many" },
          { start = "holder" },
          { wait = "held", timeout_ms = 20000 },
          { release = "r", expect = "not_owner" },
          { locked = "l", equals = false },
          { acquire = "l", timeout_ms = 0 },
          { locked = "l", equals = true },
          { join = "holder" },
        ]
        [actors.holder]
        steps = [ { acquire = "r" }, { set = "held" }, { sleep_ms = 200 }, { release = "r" } ]
        """
        code, evs, err = run(src, "thread")
        self.assertEqual(code, 0, err)
        self.assertEqual(
            [k for _, k, _ in errors(evs, "main")], ["not_locked", "not_locked", "too_many", "not_owner"]
        )
        self.assertEqual([o["value"] for o in kinds(evs, "main", "observed")], [False, True])

    def test_a_barrier_of_three_gives_each_an_index_nobody_sees_in_the_trace(self):
        src = """
        [resources]
        b = { kind = "barrier", parties = 3 }
        [actors.main]
        steps = [
          { start = "w", as = "w{i}" },
          { repeat = 2, do = [ { start = "w", as = "w{i}" } ] },
          { repeat = 2, do = [ { join = "w{i}" } ] },
        ]
        [actors.w]
        steps = [ { wait = "b", timeout_ms = 20000 }, { print = "index {value}" } ]
        """
        src = src.replace('{ start = "w", as = "w{i}" },\n          { repeat', '{ start = "w", as = "w0" },\n          { repeat')
        for backend in BACKENDS:
            with self.subTest(backend=backend):
                src_b = src.replace('"b"', '"b"') if backend == "thread" else src.replace(
                    'parties = 3 }', 'parties = 3, scope = "shared" }'
                )
                code, evs, err = run(src_b, backend)
                self.assertEqual(code, 0, err)
                prints = [p["text"] for a in ("w0", "w1", "w2") for p in kinds(evs, a, "print")]
                self.assertEqual(len(prints), 3)
                self.assertTrue(all(t.startswith("index \x01nondet:") for t in prints), prints)
                self.assertEqual(sorted(t.split(":")[1].rstrip("\x01") for t in prints), ["0", "1", "2"])

    def test_a_condition_wakes_its_waiter(self):
        src = """
        [resources]
        c = { kind = "condition", scope = "shared" }
        ready = { kind = "event", scope = "shared" }
        [actors.main]
        steps = [
          { start = "waiter" },
          { wait = "ready", timeout_ms = 20000 },
          { acquire = "c" }, { notify = "c" }, { release = "c" },
          { join = "waiter" },
          { notify = "c", expect = "not_owner" },
        ]
        [actors.waiter]
        steps = [ { acquire = "c" }, { set = "ready" }, { wait = "c", timeout_ms = 20000 }, { release = "c" }, { print = "woken" } ]
        """
        for backend in BACKENDS:
            with self.subTest(backend=backend):
                code, evs, err = run(src, backend)
                self.assertEqual(code, 0, err)
                self.assertEqual(kinds(evs, "waiter", "print"), [{"text": "woken"}])
                self.assertEqual(errors(evs, "main"), [("notify", "not_owner", True)])


class QueueTest(unittest.TestCase):
    def test_sizes_fullness_and_joinable_queues(self):
        src = """
        [resources]
        q = { kind = "queue", maxsize = 1 }
        j = "joinable_queue"
        [actors.main]
        steps = [
          { put = "q", value = 1 },
          { put = "q", value = 2, timeout_ms = 50, expect = "full" },
          { full = "q", equals = true },
          { get = "q" },
          { empty = "q", equals = true },
          { start = "consumer" },
          { repeat = 3, do = [ { put = "j", value = "{i}" } ] },
          { join = "j" },
          { print = "all done" },
          { task_done = "j", expect = "too_many" },
          { terminate = "consumer" },
          { join = "consumer" },
          { close = "q" },
          { get = "q", timeout_ms = 10, expect = "closed" },
        ]
        [actors.consumer]
        steps = [ { loop = [ { get = "j" }, { task_done = "j" } ] } ]
        [expect]
        exit = { consumer = "terminated" }
        """
        for backend in PROCESS_BACKENDS:
            with self.subTest(backend=backend):
                code, evs, err = run(src, backend)
                self.assertEqual(code, 0, err)
                self.assertEqual([k for _, k, _ in errors(evs, "main")], ["full", "too_many", "closed"])
                self.assertEqual(kinds(evs, "consumer", "exit"), [{"code": -15}])
                got = [r["value"] for r in kinds(evs, "consumer", "received")]
                self.assertEqual(got, [1, 2, 3])


class SentinelTest(unittest.TestCase):
    def test_consumers_stop_at_the_sentinel_each_takes(self):
        src = """
        [resources]
        q = "queue"
        [actors.main]
        steps = [
          { start = "consumer", as = "c1" }, { start = "consumer", as = "c2" },
          { for_each = ["a", "b", "c"], do = [ { put = "q", value = "{item}" } ] },
          { repeat = 2, do = [ { put = "q", value = "{none}" } ] },
          { join = "c1" }, { join = "c2" },
        ]
        [actors.consumer]
        steps = [ { loop = [ { get = "q", timeout_ms = 20000 }, { print = "took {value}" } ], until_value = "{none}" } ]
        """
        for backend in BACKENDS:
            with self.subTest(backend=backend):
                code, evs, err = run(src, backend)
                self.assertEqual(code, 0, err)
                got = sorted(r["value"] or "" for c in ("c1", "c2") for r in kinds(evs, c, "received"))
                self.assertEqual(got, ["", "", "a", "b", "c"])
                prints = sorted(p["text"] for c in ("c1", "c2") for p in kinds(evs, c, "print"))
                self.assertEqual(prints, ["took a", "took b", "took c"], "the step after the sentinel is skipped")


class InstancesTest(unittest.TestCase):
    def test_join_with_a_timeout_then_terminate(self):
        src = """
        [actors.main]
        steps = [
          { start = "sleeper" },
          { join = "sleeper", timeout_ms = 100, expect = "timeout" },
          { is_alive = "sleeper", equals = true },
          { exitcode = "sleeper", equals = "{none}" },
          { terminate = "sleeper" },
          { join = "sleeper" },
          { is_alive = "sleeper", equals = false },
          { exitcode = "sleeper", equals = -15 },
          { start = "sleeper", expect = "already_started" },
          { join = "nobody", expect = "not_child" },
        ]
        [actors.sleeper]
        steps = [ { sleep_ms = 60000 } ]
        [actors.nobody]
        steps = []
        [expect]
        exit = { sleeper = "terminated" }
        """
        for backend in PROCESS_BACKENDS:
            with self.subTest(backend=backend):
                code, evs, err = run(src, backend)
                self.assertEqual(code, 0, err)
                self.assertEqual(
                    [o["value"] for o in kinds(evs, "main", "observed")], [True, None, False, -15]
                )
                self.assertEqual(kinds(evs, "sleeper", "exit"), [{"code": -15}], "recorded once")

    def test_threads_join_siblings_but_not_themselves(self):
        src = """
        [actors.main]
        steps = [ { start = "a" }, { start = "b" }, { join = "b" }, { join = "a" } ]
        [actors.a]
        steps = [ { sleep_ms = 50 } ]
        [actors.b]
        steps = [ { join = "a" }, { join = "b", expect = "self_join" }, { join = "c", expect = "not_started" } ]
        [actors.c]
        steps = []
        """
        code, evs, err = run(src, "thread")
        self.assertEqual(code, 0, err)
        self.assertEqual(len([e for e in evs if e["actor"] == "a" and "exit" in str(e["kind"])]), 1)

    def test_many_processes_by_templated_names(self):
        # A hundred where fork makes them cheap; twenty spawned interpreters elsewhere.
        backend, count = ("fork", 100) if "fork" in BACKENDS else ("spawn", 20)
        src = f"""
        [actors.main]
        steps = [
          {{ repeat = {count}, do = [ {{ start = "child", as = "c{{i}}", args = {{ n = "{{i}}" }} }} ] }},
          {{ repeat = {count}, do = [ {{ join = "c{{i}}" }} ] }},
        ]
        [actors.child]
        params = ["n"]
        steps = [ {{ exit = "{{n}}" }} ]
        """
        code, evs, err = run(src, backend, timeout=240)
        self.assertEqual(code, 0, err)
        exits = [e for e in evs if isinstance(e["kind"], dict) and "exit" in e["kind"]]
        codes = {e["actor"]: e["kind"]["exit"]["code"] for e in exits}
        self.assertEqual(codes, {f"c{i}": i for i in range(1, count + 1)})


class ValuesAndPoolsTest(unittest.TestCase):
    def test_none_dicts_and_equals(self):
        src = """
        [resources]
        q = "queue"
        [actors.main]
        steps = [
          { put = "q", value = { b = [1, "{none}"], a = "x" } },
          { get = "q", equals = { a = "x", b = [1, "{none}"] } },
          { print = "{value}" },
          { put = "q", value = 1 },
          { get = "q", equals = true },
        ]
        """
        code, evs, _ = run(src, "thread")
        self.assertEqual(code, 1)
        self.assertEqual(kinds(evs, "main", "print"), [{"text": '{"a":"x","b":[1,null]}'}])
        (e,) = kinds(evs, "main", "error")
        self.assertEqual((e["verb"], e["message"]), ("get", "`get` gave 1, expected true"))

    def test_map_result_imap_and_a_failed_task(self):
        src = """
        [resources]
        pool = { kind = "pool", size = 2 }
        [actors.main]
        steps = [
          { map = "pool", actor = "square", items = [1, 2, 3], equals = [1, 4, 9] },
          { submit = "pool", actor = "square", items = [5], as = "sq-{item}" },
          { result = "sq-5", timeout_ms = 20000, equals = 25 },
          { imap = "pool", actor = "square", items = [7, 8], do = [ { print = "got {value}" } ] },
          { submit = "pool", actor = "fails", items = [0] },
          { result = "fails-6", expect = "task_failed" },
          { close = "pool" },
          { submit = "pool", actor = "square", items = [9], expect = "closed" },
          { join = "pool" },
        ]
        [actors.square]
        steps = [ { return = "{item*item}" } ]  # a product alone is a number
        [actors.fails]
        steps = [ { get_local = "nothing" } ]
        """
        src = src.replace('{ get_local = "nothing" }', '{ release = "l" }').replace(
            "[resources]", '[resources]\nl = "lock"'
        )
        for backend in ("thread-pool", "process-pool"):
            with self.subTest(backend=backend):
                code, evs, err = run(src, backend)
                self.assertEqual(code, 0, err)
                got = [(r["via"], r["value"]) for r in kinds(evs, "main", "received")]
                self.assertEqual(
                    got,
                    [("map pool", [1, 4, 9]), ("result sq-5", 25), ("imap pool", 49), ("imap pool", 64)],
                )
                self.assertEqual(kinds(evs, "main", "print"), [{"text": "got 49"}, {"text": "got 64"}])
                self.assertEqual(kinds(evs, "fails-6", "exit"), [{"code": 1}])
                self.assertEqual(kinds(evs, "sq-5", "exit"), [{"code": 0}])


if __name__ == "__main__":
    unittest.main()
