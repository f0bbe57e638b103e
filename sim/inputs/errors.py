"""The error for input that cannot be used: one message naming the file, the key path and the value."""

from __future__ import annotations

from typing import Any


class InputError(Exception):
    """A scenario, parameter, override, seed, target or config file that cannot be used as it is.

    The CLI prints ``str(error)`` and exits with status 2, without a traceback.
    """

    def __init__(self, file: Any, key: str, value: Any, problem: str, allowed: str | None = None):
        self.file = str(file)
        self.key = key
        self.value = value
        self.problem = problem
        self.allowed = allowed
        super().__init__(self._message())

    def __reduce__(self):
        # Keep every field when the error crosses a process boundary (worker -> main).
        return (type(self), (self.file, self.key, self.value, self.problem, self.allowed))

    def _message(self) -> str:
        shown = repr(self.value)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        text = f"{self.file}: {self.key or '(top level)'} = {shown}: {self.problem}"
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text
