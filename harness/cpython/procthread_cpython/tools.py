"""The `run` step: one of the harness's portable tools, run through `subprocess`.

The chapter calls `nslookup`; scenarios call the harness's own tools instead (`harness tool
lookup`, `upper`, `exit N`, `sleep MS`, `echo ...`), so that both implementations run the very same
programs and see the same output on every OS.
"""

import subprocess

from . import events
from .errors import TIMEOUT, StepError
from .template import plain


def run(actor, step):
    args = [plain(actor.render(a)) for a in step.target]
    argv = [actor.world.config.harness, "tool", *args]
    stdin = step.get("stdin")
    feed = {"stdin": subprocess.DEVNULL} if stdin is None else {"input": plain(actor.render(stdin)).encode()}
    try:
        done = subprocess.run(argv, capture_output=True, timeout=actor.seconds(step), **feed)
    except subprocess.TimeoutExpired:
        raise StepError(f"`{' '.join(args)}` still running after {step.get('timeout_ms')} ms", TIMEOUT) from None
    actor.record(events.ran(args, done.returncode))
    out = done.stdout.decode("utf-8", errors="replace").replace("\r\n", "\n")
    actor.last = out.rstrip("\n")
