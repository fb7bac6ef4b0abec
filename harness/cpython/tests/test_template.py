"""Templates render as the reference renders them: same placeholders, same value types."""

import os
import time
import unittest

from procthread_cpython.template import MARK, Hole, Renderer, display, marked, parse, plain, sole_hole


class Context(Renderer):
    """The state a template reads, as an actor holds it."""

    def __init__(self, **params):
        self.instance = "worker"
        self.params = params
        self.last = None
        self.indices = []
        self.items = []
        self.started = time.monotonic()
        self.child_pids = {"child": 42}


class ParseTest(unittest.TestCase):
    def test_holes_text_and_escapes(self):
        parts = parse("I ({pid}) created {pid:child} {{ok}} {n}")
        holes = [p for p in parts if isinstance(p, Hole)]
        self.assertEqual(holes, [Hole("pid"), Hole("pid_of", "child"), Hole("param", "n")])
        self.assertEqual("".join(p for p in parts if isinstance(p, str)), "I () created  {ok} ")

    def test_a_parameter_shadows_a_builtin_of_its_name(self):
        self.assertEqual(parse("{name}", ("name",)), (Hole("param", "name"),))
        self.assertEqual(parse("{name}"), (Hole("name"),))

    def test_products_of_two_factors(self):
        (hole,) = parse("{value * 2}")
        self.assertEqual(hole, Hole("product", (Hole("value"), Hole("number", 2))))

    def test_sole_hole_keeps_types(self):
        self.assertEqual(sole_hole(parse("{item}")), Hole("item"))
        self.assertIsNone(sole_hole(parse("x{item}")))


class RenderTest(unittest.TestCase):
    def test_pids_and_timings_are_marked(self):
        ctx = Context()
        text = ctx.render("I ({pid}) made {pid:child} in {elapsed} s")
        self.assertEqual(text.count(MARK), 6)
        self.assertIn(marked("pid", os.getpid()), text)
        self.assertTrue(plain(text).startswith(f"I ({os.getpid()}) made 42 in 0.0"))

    def test_values_print_as_the_reference_prints_them(self):
        ctx = Context()
        for value, shown in [("bye", "bye"), (None, "None"), (["hello", 1, 2], '["hello",1,2]'), (True, "true"), (1.5, "1.5")]:
            ctx.last = value
            self.assertEqual(ctx.render("{value}"), shown)
            self.assertEqual(display(value), shown)

    def test_a_lone_placeholder_keeps_its_type(self):
        ctx = Context(n=5)
        ctx.items.append(14)
        self.assertEqual(ctx.value("{item}"), 14)
        self.assertEqual(ctx.value("{n}"), 5)
        self.assertEqual(ctx.value("-{n}"), "-5")
        self.assertEqual(ctx.value(["{item}", "x{item}", 3]), [14, "x14", 3])
        self.assertEqual(ctx.value("{pid}"), str(os.getpid()), "a pid as data is plain text")

    def test_products_of_numbers_and_numeric_text(self):
        ctx = Context()
        ctx.last = 15
        self.assertEqual(ctx.render("{value} * {value} = {value*value}"), "15 * 15 = 225")
        ctx.last = " 7 "
        self.assertEqual(ctx.render("{value*2}"), "14")
        self.assertEqual(ctx.value("{value*2}"), 14, "a product alone is a number")
        self.assertEqual(ctx.render("{value*2*3}"), "42")
        for not_a_number in (1.5, True, None, "x"):
            ctx.last = not_a_number
            self.assertEqual(ctx.render("{value*value}"), "NaN", not_a_number)

    def test_repeat_index_and_missing_ones(self):
        ctx = Context()
        self.assertEqual(ctx.render("[{i}] [{item}]"), "[] []")
        ctx.indices.append(3)
        self.assertEqual(ctx.render("{i}"), "3")
        self.assertEqual(ctx.value("{i}"), 3)


if __name__ == "__main__":
    unittest.main()
