"""How a step fails.

A step either succeeds, or ends with a `StepError`. Some errors have a kind that a scenario can
expect (`expect = "timeout"`): the kinds are the words of the language, so the trace reads the
same on both implementations. An error that is not expected becomes a `Failure`, which ends the
actor and carries the step it happened in.
"""

EOF = "eof"
TIMEOUT = "timeout"
AUTH_REFUSED = "auth_refused"


class StepError(Exception):
    """A step's own error; `kind` is one of the language's error kinds, or None."""

    def __init__(self, message, kind=None):
        super().__init__(message)
        self.kind = kind
        self.message = message


class Failure(Exception):
    """An unexpected error that ends the actor, located at its step."""

    def __init__(self, line, verb, kind, message):
        super().__init__(message)
        self.line = line
        self.verb = verb
        self.kind = kind
        self.message = message


class Panic(Exception):
    """The `crash = "panic"` step: an exception nobody catches.

    In a process it ends the process with exit code 1 (multiprocessing prints the traceback), as a
    Rust panic does; in a pool task, the pool hands it back to whoever asks for the result.
    """


class Returned(Exception):
    """The `return` step: the actor ends here, successfully; a pool task's result is `value`."""

    def __init__(self, value):
        super().__init__("return")
        self.value = value


class TaskFailed(Exception):
    """Raised by a pool task whose actor failed, so that its `AsyncResult.get()` raises."""
