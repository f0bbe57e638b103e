"""How every command ends on bad input, an unwritable or busy folder, a failed ensemble or
Ctrl-C: one line on stderr and an exit status, never a traceback."""

from __future__ import annotations

from contextlib import contextmanager

import typer

from ..execution.errors import EnsembleError, OutputError
from ..inputs.errors import InputError

EXIT_CODES = ((InputError, 2), (OutputError, 3), (EnsembleError, 4))
INTERRUPTED = 130  # the shell's status for a command ended by Ctrl-C (128 + SIGINT)


@contextmanager
def refusals(interrupted: str | None = None):
    """Bad input, an unwritable or busy folder, a failed ensemble, or Ctrl-C: one line on stderr
    and an exit code (for Ctrl-C, ``interrupted`` says what happens to the work done)."""
    try:
        yield
    except (InputError, OutputError, EnsembleError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(next(code for kind, code in EXIT_CODES if isinstance(exc, kind))) from None
    except KeyboardInterrupt:
        typer.echo("interrupted" + (f": {interrupted}" if interrupted else ""), err=True)
        raise typer.Exit(INTERRUPTED) from None
