"""A scenario file as this executor sees it: resources, actor definitions and their steps.

The Rust parser (`harness check`) validates every file before the runner hands it to an executor,
with file:line:col diagnostics; this module only gives the TOML a shape to interpret. Each step
becomes a `Step`: its verb, the verb's argument (`target`), its other keys, the error it is
expected to end with, its line in the file, and its body (`do` of repeat and for_each, the list
given to `loop`).
"""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import lines

MAIN = "main"

#: Every verb the language has, as written in a file.
VERBS = (
    "print", "start", "fork", "join", "terminate", "kill", "is_alive", "exitcode",
    "put", "get", "qsize", "empty", "full", "task_done", "send", "recv", "close",
    "acquire", "release", "locked", "is_set", "n_waiting", "broken", "set", "clear", "wait",
    "notify", "notify_all", "abort", "reset",
    "add", "read", "set_local", "get_local", "run", "repeat", "for_each", "loop", "sleep_ms",
    "submit", "map", "imap", "result", "return", "serve", "connect", "shutdown", "exit", "crash",
    # Link steps of scenarios with hosts (this executor runs none of those: it only reads them).
    "link", "cut", "restore",
)

#: Steps whose body is nested steps, and the key holding it.
BODIES = {"repeat": "do", "for_each": "do", "loop": "loop", "imap": "do"}


@dataclass
class Step:
    verb: str
    target: object
    fields: dict
    expect: str | None = None
    line: int = 0
    body: list = field(default_factory=list)

    def get(self, key, default=None):
        return self.fields.get(key, default)


@dataclass
class ActorDef:
    name: str
    params: list
    steps: list


@dataclass
class Scenario:
    name: str
    path: str
    title: str
    #: name -> {"kind": ..., and the kind's settings}
    resources: dict
    #: name -> ActorDef; `main` is where the run starts.
    actors: dict
    timeout_ms: int = 60000
    #: The `[expect]` table as written (only what the executor needs is read from it).
    expect: dict = field(default_factory=dict)

    def nondeterministic_variables(self, family):
        """Variables `[expect]` declares nondeterministic for `threads` or `processes`: a `read`
        of one gives a value the trace never shows."""
        out = set()
        for name, want in self.expect.get("variables", {}).items():
            if isinstance(want, dict):
                want = want.get(family)
            if want == "nondeterministic":
                out.add(name)
        return out

    def resource_kind(self, name):
        spec = self.resources.get(name)
        return spec["kind"] if spec else None

    def of_kind(self, kind):
        return [name for name, spec in self.resources.items() if spec["kind"] == kind]


def load(path):
    """Reads a scenario file."""
    path = Path(path)
    source = path.read_text(encoding="utf-8")
    return parse(source, path)


def parse(source, path=Path("scenario.toml")):
    doc = tomllib.loads(source)
    resources = {}
    for name, spec in doc.get("resources", {}).items():
        resources[name] = {"kind": spec} if isinstance(spec, str) else dict(spec)
    actors = {}
    for name, spec in doc.get("actors", {}).items():
        steps = [_step(s) for s in spec.get("steps", [])]
        actors[name] = ActorDef(name, list(spec.get("params", [])), steps)
    lines.assign(source, actors)
    return Scenario(
        name=Path(path).stem,
        path=str(path),
        title=doc.get("title", Path(path).stem),
        resources=resources,
        actors=actors,
        timeout_ms=doc.get("timeout_ms", 60000),
        expect=doc.get("expect", {}),
    )


def _step(table):
    verbs = [k for k in table if k in VERBS]
    if len(verbs) != 1:
        raise ValueError(f"a step has exactly one verb, found {verbs or list(table)}")
    verb = verbs[0]
    fields = {k: v for k, v in table.items() if k not in (verb, "expect")}
    body_key = BODIES.get(verb)
    body = [_step(s) for s in table.get(body_key, [])] if body_key else []
    target = table[verb]
    return Step(verb=verb, target=target, fields=fields, expect=table.get("expect"), body=body)
