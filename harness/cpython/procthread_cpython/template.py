"""Templates: `Run child process {name} ({pid})...`, and how values print.

A template is text with placeholders in braces (`{{` and `}}` write braces). The placeholders are
the language's (docs/scenarios.md, "Templates"): `{pid}`, `{ppid}`, `{name}`, `{thread}`,
`{process}`, `{value}`, `{i}`, `{item}`, `{elapsed}`, `{pid:INSTANCE}`, `{none}` (None: TOML has
no null), an actor's parameters, and a product of these or of integers, `{value*value}`.

Pids, timings and values declared nondeterministic vary from run to run: they are written between
two MARK characters (`\\x01pid:1234\\x01`), so that the runner's normalization replaces exactly
them.
"""

import functools
import json
import os
import threading
import time
import multiprocessing

MARK = "\x01"

BUILTINS = ("pid", "ppid", "name", "thread", "process", "value", "i", "item", "elapsed", "none")


class Hole:
    """A placeholder: `kind` is a built-in name, or `pid_of`, `param`, `product`, `number`."""

    __slots__ = ("kind", "arg")

    def __init__(self, kind, arg=None):
        self.kind = kind
        self.arg = arg

    def __eq__(self, other):
        return isinstance(other, Hole) and (self.kind, self.arg) == (other.kind, other.arg)

    def __repr__(self):
        return f"Hole({self.kind!r}, {self.arg!r})"


@functools.lru_cache(maxsize=1024)
def parse(text, params=()):
    """The parts of a template: strings and Holes. A parameter named like a built-in wins."""
    parts, buf, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c in "{}" and text[i + 1 : i + 2] == c:
            buf.append(c)
            i += 2
            continue
        if c == "{":
            end = text.index("}", i)
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(_hole(text[i + 1 : end], params))
            i = end + 1
            continue
        buf.append(c)
        i += 1
    if buf:
        parts.append("".join(buf))
    return tuple(parts)


def _hole(name, params):
    if "*" in name:
        return Hole("product", tuple(_factor(f.strip(), params) for f in name.split("*")))
    if name in params:
        return Hole("param", name)
    if name in BUILTINS:
        return Hole(name)
    if name.startswith("pid:"):
        return Hole("pid_of", name[4:])
    return Hole("param", name)


def _factor(text, params):
    try:
        return Hole("number", int(text))
    except ValueError:
        return _hole(text, params)


def sole_hole(parts):
    """The one placeholder a template consists of, if that is all it is (`"{item}"`)."""
    if len(parts) == 1 and isinstance(parts[0], Hole):
        return parts[0]
    return None


def marked(kind, value):
    """A piece of text that varies by nature: `kind` is `pid` or `elapsed`."""
    return f"{MARK}{kind}:{value}{MARK}"


def plain(text):
    """Text as a person reads it: marks removed, raw pids and timings kept."""
    pieces = text.split(MARK)
    for k in range(1, len(pieces), 2):
        pieces[k] = pieces[k].split(":", 1)[-1]
    return "".join(pieces)


def to_json(value):
    """Compact JSON, as the reference's serde_json writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def display(value):
    """How a value prints: strings bare, nothing as `None` (the chapter's Python), the rest as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return "None"
    return to_json(value)


class Renderer:
    """Rendering for one actor: the mixin reads the actor's state (`instance`, `params`, `last`,
    `indices`, `items`, `started`, `child_pids`)."""

    def template(self, text):
        return parse(text, tuple(self.params))

    def render(self, text):
        """The template rendered, with pids and timings marked."""
        return "".join(p if isinstance(p, str) else self.fill(p) for p in self.template(text))

    def fill(self, hole):
        kind = hole.kind
        if kind == "pid":
            return marked("pid", os.getpid())
        if kind == "ppid":
            return marked("pid", os.getppid())
        if kind == "name":
            return self.instance
        if kind == "thread":
            return threading.current_thread().name
        if kind == "process":
            return multiprocessing.current_process().name
        if kind == "value":
            shown = display(self.last)
            # A value declared nondeterministic is marked, so that normalization hides it.
            return marked("nondet", shown) if getattr(self, "last_nondet", False) else shown
        if kind == "i":
            return str(self.indices[-1]) if self.indices else ""
        if kind == "item":
            return display(self.items[-1]) if self.items else ""
        if kind == "elapsed":
            return marked("elapsed", f"{time.monotonic() - self.started:.2f}")
        if kind == "pid_of":
            return marked("pid", self.child_pids.get(hole.arg, 0))
        if kind == "param":
            return display(self.params[hole.arg]) if hole.arg in self.params else ""
        if kind == "number":
            return str(hole.arg)
        if kind == "none":
            return "None"
        if kind == "product":
            product = 1
            for factor in hole.arg:
                n = self.number(factor)
                if n is None:
                    return "NaN"
                product *= n
            return str(product)
        raise ValueError(f"unknown placeholder {hole!r}")

    def number(self, hole):
        """A placeholder's value as an integer, if it is one (for products)."""
        raw = self.raw(hole)
        if type(raw) is int:
            return raw
        if type(raw) is float:
            return None
        text = raw if isinstance(raw, str) else plain(self.fill(hole))
        try:
            return int(text.strip())
        except ValueError:
            return None

    def raw(self, hole):
        """The typed value behind a placeholder that stands for data, else _NONE."""
        kind = hole.kind
        if kind == "value":
            return self.last
        if kind == "item":
            return self.items[-1] if self.items else _NONE
        if kind == "param":
            return self.params.get(hole.arg, _NONE)
        if kind == "i":
            return self.indices[-1] if self.indices else _NONE
        if kind == "number":
            return hole.arg
        if kind == "none":
            return None
        if kind == "product":  # a product alone is a number, as `{value}` alone is the value
            product = 1
            for factor in hole.arg:
                n = self.number(factor)
                if n is None:
                    return _NONE
                product *= n
            return product
        return _NONE

    def value(self, expr):
        """A value as data: `"{item}"` alone keeps the item's type; other text renders plain."""
        if isinstance(expr, str):
            hole = sole_hole(self.template(expr))
            if hole is not None:
                raw = self.raw(hole)
                if raw is not _NONE:
                    return raw
            return plain(self.render(expr))
        if isinstance(expr, list):
            return [self.value(e) for e in expr]
        if isinstance(expr, dict):  # a table: a dict, keys in order as JSON objects are here
            return {k: self.value(expr[k]) for k in sorted(expr)}
        return expr


class _NoneType:
    """Marks "no typed value here" (None is a value: `{value}` after get_local of nothing)."""

    def __repr__(self):
        return "_NONE"


_NONE = _NoneType()
