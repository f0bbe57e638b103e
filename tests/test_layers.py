"""The package's layers: each module imports only from its own layer and the layers before it
(``inputs`` → ``core`` → ``programmes`` → ``model`` → ``execution`` → ``analysis`` → ``app``), and
says in its docstring what it owns."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers import ROOT

LAYERS = ("inputs", "core", "programmes", "model", "execution", "analysis", "app")
PACKAGE = ROOT / "sim"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def _layer(module: str) -> int | None:
    """Layer index of a dotted module name inside ``sim`` (None for ``sim`` itself)."""
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[0] == "sim" and parts[1] in LAYERS else None


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[str]:
    """Every ``sim`` module the file imports, relative imports resolved (type-checking ones too)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.split(".")[0] == "sim"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "sim":
                # ``from . import x`` may import submodules: count them.
                out += [target] + ([f"{target}.{a.name}" for a in node.names] if not node.module else [])
    return out


def test_every_module_sits_in_a_layer():
    outside = [str(p.relative_to(ROOT)) for p in MODULES
               if _layer(_module_name(p)) is None and p != PACKAGE / "__init__.py"]
    assert not outside, f"modules outside the layers {LAYERS}: {outside}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path):
    own = _layer(_module_name(path))
    if own is None:  # sim/__init__.py re-exports the public API from any layer
        return
    upward = [m for m in _imports(path) if (_layer(m) is not None and _layer(m) > own)]
    assert not upward, f"{path.relative_to(ROOT)} ({LAYERS[own]}) imports from a layer above it: {upward}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_says_what_it_owns(path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc and len(doc) > 20, f"{path.relative_to(ROOT)} has no docstring saying what it owns"


def test_the_check_finds_an_upward_import(tmp_path, monkeypatch):
    """The test above can fail: a core module importing the model is caught."""
    bad = PACKAGE / "core" / "state.py"
    text = bad.read_text(encoding="utf-8") + "\nfrom ..model import TuopinModel\n"
    fake = tmp_path / "sim" / "core" / "state.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(text, encoding="utf-8")
    monkeypatch.setattr("test_layers.ROOT", tmp_path)
    assert "sim.model" in _imports(fake)
    assert _layer("sim.model") > _layer(_module_name(fake))
