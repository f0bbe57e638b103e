"""Errors of execution: a results folder that cannot be written, an ensemble that cannot finish."""

from __future__ import annotations


class OutputError(Exception):
    """An output folder that cannot be written; earlier results are left as they were."""


class EnsembleError(Exception):
    """An ensemble that could not finish; what finished is kept on disk for a resume."""
