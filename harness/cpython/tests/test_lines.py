"""Each step gets the line its table starts on, as the Rust parser reports it."""

import unittest

from procthread_cpython.lines import scan, walk
from procthread_cpython.scenario import parse

SOURCE = '''\
title = "braces { in } strings"   # and { in comments }

[actors.main]
steps = [
  { print = "{pid} {{literal}}" },
  { start = "worker", args = { print = "not a step" } },
  { repeat = 2, do = [
    { print = "inner" },
  ] },
  { "join" = "worker" },
]

[expect]
exit = { worker = 0 }

[actors.worker]
params = ["print"]
steps = [ { sleep_ms = 1 }, { print = """
multi { line
""" }, { exit = 0 } ]
'''


class LinesTest(unittest.TestCase):
    def test_steps_in_written_order_get_their_lines(self):
        s = parse(SOURCE)
        got = [(a.name, st.verb, st.line) for a in s.actors.values() for st in walk(a.steps)]
        self.assertEqual(
            got,
            [
                ("main", "print", 5),
                ("main", "start", 6),
                ("main", "repeat", 7),
                ("main", "print", 8),
                ("main", "join", 10),
                ("worker", "sleep_ms", 18),
                ("worker", "print", 18),
                ("worker", "exit", 20),
            ],
        )

    def test_inline_tables_outside_actors_belong_to_no_section(self):
        sections = scan(SOURCE)
        self.assertEqual(sorted(sections), ["main", "worker"])
        self.assertEqual(sections["main"][0], 3)

    def test_tables_that_are_values_are_not_steps(self):
        s = parse('[actors.main]\nsteps = [\n  { start = "w", args = { print = 1 } },\n  { print = "x" },\n]\n[actors.w]\nparams = ["print"]\nsteps = [ { print = "{print}" } ]\n')
        self.assertEqual([st.line for st in s.actors["main"].steps], [3, 4])

    def test_a_step_it_cannot_find_gets_its_actors_header_line(self):
        s = parse('[actors.main]\n[[actors.main.steps]]\nprint = "x"\n')
        self.assertEqual(s.actors["main"].steps[0].line, 1)


if __name__ == "__main__":
    unittest.main()
