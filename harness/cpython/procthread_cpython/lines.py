"""The line each step starts on.

`tomllib` returns plain dicts and lists, without positions. The trace names steps by line when an
actor fails or a run hangs ("reader was at line 31 (get)"), and the Rust parser knows each step's
line, so this module finds the same lines by reading the source once more: it scans the text
(skipping strings and comments) and notes every inline table `{ ... }` written as an element of a
`steps`, `do` or `loop` array (a step), with the keys directly inside it and the `[actors.NAME]`
section it is in. Steps are then matched, in the order they are written, to the step tables of
their actor's section that contain their verb.
"""

import re

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


#: The keys whose arrays hold steps.
STEP_LISTS = ("steps", "do", "loop")


class InlineTable:
    """An inline table `{ ... }` of the source: where it opens, the keys directly inside it, and
    whether it is a step (an element of a `steps`, `do` or `loop` array)."""

    __slots__ = ("line", "keys", "is_step", "last_key")

    def __init__(self, line, is_step):
        self.line = line
        self.keys = set()
        self.is_step = is_step
        self.last_key = None

    def __repr__(self):
        return f"InlineTable(line={self.line}, keys={sorted(self.keys)}, is_step={self.is_step})"


class Array:
    """An array `[ ... ]`, and the key it is the value of."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key


def _header_actor(header):
    """`actors.main` -> `main`; `actors."Thread-A"` -> `Thread-A`; any other table -> None."""
    parts = [p.strip().strip('"').strip("'") for p in header.split(".")]
    if len(parts) == 2 and parts[0] == "actors":
        return parts[1]
    return None


def scan(source):
    """Per actor section: (the section header's line, its step tables in file order)."""
    sections = {}
    current = None
    stack = []  # Arrays and InlineTables, innermost last
    top_key = None  # the last key of a top-level `key = value` line
    expect_key = False
    line = 1
    i, n = 0, len(source)
    at_line_start = True

    def add_key(key):
        nonlocal expect_key, top_key
        if stack and isinstance(stack[-1], InlineTable):
            stack[-1].keys.add(key)
            stack[-1].last_key = key
        else:
            top_key = key
        expect_key = False

    while i < n:
        c = source[i]
        if c == "\n":
            line += 1
            i += 1
            at_line_start = True
            continue
        if c in " \t\r":
            i += 1
            continue
        starts_line, at_line_start = at_line_start, False
        if c == "#":
            while i < n and source[i] != "\n":
                i += 1
            continue
        if c in "\"'":
            quote3 = source[i : i + 3] in ('"""', "'''")
            end, text = _skip_string(source, i, quote3)
            line += source.count("\n", i, end)
            if expect_key or (not stack and starts_line):
                add_key(text)
            i = end
            continue
        if c == "[" and not stack and starts_line:
            close = source.find("]", i)
            close = n if close < 0 else close
            header = source[i + 1 : close].strip("[] ")
            current = _header_actor(header)
            if current is not None:
                sections.setdefault(current, (line, []))
            nl = source.find("\n", close)
            i = n if nl < 0 else nl
            continue
        if c == "[":
            owner = stack[-1].last_key if stack and isinstance(stack[-1], InlineTable) else top_key
            stack.append(Array(owner if not stack or isinstance(stack[-1], InlineTable) else None))
            i += 1
            continue
        if c in "]}":
            if stack:
                stack.pop()
            expect_key = False
            i += 1
            continue
        if c == "{":
            is_step = bool(stack) and isinstance(stack[-1], Array) and stack[-1].key in STEP_LISTS
            table = InlineTable(line, is_step)
            if current is not None and is_step:
                sections.setdefault(current, (line, []))[1].append(table)
            stack.append(table)
            expect_key = True
            i += 1
            continue
        if c == ",":
            expect_key = bool(stack) and isinstance(stack[-1], InlineTable)
            i += 1
            continue
        if expect_key or (not stack and starts_line):
            m = _BARE_KEY.match(source, i)
            if m:
                add_key(m.group(0))
                i = m.end()
                continue
        i += 1
    return sections


def _skip_string(source, i, triple):
    """The offset just past the string starting at `i`, and its raw text (escapes left as is)."""
    quote = source[i]
    if triple:
        end = source.find(quote * 3, i + 3)
        end = len(source) if end < 0 else end + 3
        return end, source[i + 3 : end - 3]
    j = i + 1
    while j < len(source) and source[j] != quote and source[j] != "\n":
        if quote == '"' and source[j] == "\\":
            j += 1
        j += 1
    return min(j + 1, len(source)), source[i + 1 : j]


def assign(source, actors):
    """Sets `step.line` for every step of every actor definition (see `scenario.ActorDef`)."""
    sections = scan(source)
    for actor in actors.values():
        header_line, tables = sections.get(actor.name, (0, []))
        cursor = 0
        for step in walk(actor.steps):
            for k in range(cursor, len(tables)):
                if step.verb in tables[k].keys:
                    step.line = tables[k].line
                    cursor = k + 1
                    break
            else:
                step.line = header_line


def walk(steps):
    """Steps in the order they are written: each step, then the steps of its body."""
    for step in steps:
        yield step
        yield from walk(step.body)
