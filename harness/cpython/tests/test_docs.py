"""docs/scenarios.md gives every verb and every expectation its meaning on both implementations.

The tables under "Verb by verb" name verbs and expectations in their first column, in backticks;
each verb this executor knows (`scenario.VERBS`, the language's) and each key of `[expect]` must
appear there, so that a new element cannot land without its CPython meaning written down.
"""

import re
import unittest
from pathlib import Path

from procthread_cpython.scenario import VERBS

DOC = Path(__file__).resolve().parents[3] / "docs" / "scenarios.md"

#: The keys of `[expect]` (the Rust model's `Expectations`), and the step keys that expect.
EXPECTATIONS = (
    "exit", "variables", "max_concurrent", "max_distinct_pids", "received", "received_unordered",
    "hang", "expect", "equals", "nondeterministic", "until_value",
)


def first_column_names(section):
    """The backticked names of the first column of every table row in `section`."""
    names = set()
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            first = line.split("|")[1]
            names.update(re.findall(r"`([a-z_]+)", first))
    return names


class DocsTest(unittest.TestCase):
    def setUp(self):
        text = DOC.read_text(encoding="utf-8")
        start = text.index("### Verb by verb")
        rest = text[start + 1:]
        end = rest.find("\n#")
        self.section = rest if end < 0 else rest[:end]

    def test_every_verb_has_a_row_for_both_implementations(self):
        missing = sorted(set(VERBS) - first_column_names(self.section))
        self.assertEqual(missing, [], "verbs without a row in docs/scenarios.md's Verb by verb")

    def test_every_expectation_has_a_row_for_both_implementations(self):
        missing = sorted(set(EXPECTATIONS) - first_column_names(self.section))
        self.assertEqual(missing, [], "expectations without a row in docs/scenarios.md's Verb by verb")

    def test_rows_have_a_cell_per_implementation(self):
        for line in self.section.splitlines():
            if line.startswith("|") and not line.startswith("|---"):
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
                self.assertEqual(len(cells), 3, line)
                self.assertTrue(all(cells), f"an empty cell: {line}")


if __name__ == "__main__":
    unittest.main()
