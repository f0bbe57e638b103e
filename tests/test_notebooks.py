"""Every notebook in notebooks/ runs from top to bottom without error, in a kernel that is this
interpreter (the project's .venv), and shows what it promises.

The kernel is pinned to ``sys.executable`` by a kernel spec written into a temporary folder that
JUPYTER_PATH puts first, so a ``python3`` kernel spec elsewhere (the user's home, the system)
cannot send the notebook to another Python. Jupyter's and IPython's runtime and data folders are
temporary too: running the tests writes nothing under the user's home.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from helpers import ROOT, SANMING_PROGRAMMES

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "python3"
CELL_TIMEOUT = 300  # seconds per cell; the notebooks take seconds

# A cell appended (in memory only) to every executed notebook: which Python ran it.
PROBE = """
import json as _json, sys as _sys
print("PROBE " + _json.dumps({"executable": _sys.executable, "prefix": _sys.prefix}))
"""

# Notebook-specific checks, run in the kernel after the notebook: they print one JSON line.
CHECKS = {
    "01_sanming_budget_options.ipynb": """
import json as _json, math as _math
import pandas as _pd
print("CHECK " + _json.dumps({
    "side_by_side_type": type(side_by_side).__name__,
    "options": list(side_by_side.columns.get_level_values(0).unique()),
    "statistics": list(side_by_side.columns.get_level_values(1).unique()),
    "measures": list(side_by_side.index),
    "side_by_side_finite": bool(_pd.DataFrame(side_by_side).map(_math.isfinite).all().all()),
    "paired_options": list(paired_differences.columns.get_level_values(0).unique()),
    "replicates": REPLICATES,
    "replicate_counts": {k: int(v) for k, v in paired_differences.xs("replicates higher", axis=1, level=1)
                         .add(paired_differences.xs("replicates lower", axis=1, level=1)).max().items()},
    "targets": [float(x) for x in ensembles["baseline"].summary().target_poor_persons_end],
    "pathways": list(exits_by_pathway.index),
}))
""",
}
OPTIONS_01 = ["baseline", "employment ×2", "welfare −20 %"]


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A ``python3`` kernel spec for this interpreter, found before any other; temporary
    Jupyter/IPython folders."""
    jupyter = tmp_path / "jupyter"
    write_kernel_spec(jupyter / "kernels" / KERNEL)  # argv[0] = sys.executable
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    spec = KernelSpecManager().get_kernel_spec(KERNEL)
    assert spec.argv[0] == sys.executable, f"kernel spec {KERNEL!r} resolves to {spec.argv}"
    return spec


def _execute(path: Path, extra_cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nb.cells += [nbformat.v4.new_code_cell(src) for src in extra_cells]
    # Run in the notebook's own folder, as Jupyter does when the notebook is opened.
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name=KERNEL,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError (with the cell and traceback) on any error
    return nb


def _printed(cell, prefix: str) -> dict:
    lines = [line for out in cell.outputs if out.output_type == "stream"
             for line in out.text.splitlines() if line.startswith(prefix + " ")]
    assert lines, f"no {prefix} line in the output of:\n{cell.source}"
    return json.loads(lines[-1].removeprefix(prefix + " "))


def _tagged(nb, tag: str):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} are stored with outputs (clear them before saving)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_env):
    check = CHECKS.get(path.name)
    nb = _execute(path, [PROBE] + ([check] if check else []))

    probe = _printed(nb.cells[-2] if check else nb.cells[-1], "PROBE")
    assert probe["executable"] == sys.executable
    assert probe["prefix"] == sys.prefix  # the same environment (the project's .venv under `make test`)

    errors = [out for c in nb.cells if c.cell_type == "code" for out in c.outputs
              if out.output_type == "error"]
    assert not errors

    if path.name == "01_sanming_budget_options.ipynb":
        _check_budget_options(nb, _printed(nb.cells[-1], "CHECK"))


def _check_budget_options(nb, got: dict) -> None:
    # The side-by-side table: a DataFrame with the three options, each with mean and 5–95 % points.
    assert got["side_by_side_type"] == "DataFrame"
    assert got["options"] == OPTIONS_01
    assert got["statistics"] == ["mean", "5 %", "95 %"]
    assert len(got["measures"]) == 5
    for word in ("exits", "returns", "registered poor end 2020", "spending", "cost per exit"):
        assert any(m.startswith(word) for m in got["measures"]), word
    assert got["side_by_side_finite"]
    # ... and the notebook shows it (as the tagged cell's result).
    cell = _tagged(nb, "side-by-side")
    shown = [out for out in cell.outputs if out.output_type == "execute_result"]
    assert shown and "text/html" in shown[0].data, "the side-by-side cell displays no table"
    for option in OPTIONS_01:
        assert option in shown[0].data["text/html"]

    # Paired differences: each option against the baseline, replicate by replicate.
    assert got["paired_options"] == OPTIONS_01[1:]
    assert all(n <= got["replicates"] for n in got["replicate_counts"].values())
    assert _tagged(nb, "paired-differences").outputs

    # The plan's targets reached the plot's data, and exits are split by pathway.
    assert got["targets"] and all(math.isfinite(t) for t in got["targets"])
    assert {"spontaneous", *SANMING_PROGRAMMES} <= set(got["pathways"])
    images = [out for c in nb.cells for out in c.get("outputs", [])
              if out.get("data", {}).get("image/png")]
    assert len(images) == 2, "expected two plots (registered poor vs targets, exits by pathway)"
