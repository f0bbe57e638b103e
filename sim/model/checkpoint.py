"""Checkpoints: the whole state of a run at a month, saved and taken up again.

A run of 2015–2020 can be saved at its end and a transition-period scenario (2021–2025) started
from it: the same households, and — because every draw is keyed by (seed, stream, month) — the
same draws as a run of 2015–2025 in one go. ``TuopinModel(scenario, seed, start=checkpoint)``
takes up a checkpoint; its tables cover the years from the checkpoint on.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..inputs.errors import InputError

FORMAT = 1  # the file layout below; a change makes old checkpoints unreadable on purpose
TABLES = ("hh", "villages", "counties")


@dataclass
class Checkpoint:
    """The state after ``month`` months of a run with ``seed``: every declared array of the
    households, villages and counties, and the programmes it ran, in order."""

    month: int
    seed: int
    first_year: int
    programmes: list[str]
    arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        meta = {"format": FORMAT, "month": self.month, "seed": self.seed, "first_year": self.first_year,
                "programmes": self.programmes}
        flat = {f"{table}/{name}": a for table in TABLES for name, a in self.arrays[table].items()}
        buf = io.BytesIO()
        np.savez_compressed(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **flat)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(buf.getvalue())
        tmp.replace(path)  # a checkpoint file is always whole
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Checkpoint":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as npz:
                meta = json.loads(bytes(npz["__meta__"]).decode())
                arrays: dict[str, dict[str, np.ndarray]] = {t: {} for t in TABLES}
                for key in npz.files:
                    if key != "__meta__":
                        table, name = key.split("/", 1)
                        arrays[table][name] = npz[key]
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(path, "", None, f"cannot read the checkpoint: {exc}") from None
        if meta.get("format") != FORMAT:
            raise InputError(path, "format", meta.get("format"), "a checkpoint of another format", str(FORMAT))
        return cls(meta["month"], meta["seed"], meta["first_year"], meta["programmes"], arrays)
