"""``tuopin reproduce MANIFEST``: run a published run again and compare it file by file.

The scenario and every parameter value are taken from the manifest itself, so the run is the
same even if the installed package's defaults have moved since; versions that can change
results are compared, and a difference is reported and fails the check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..execution.output import RESULT_PACKAGES, sha256, versions
from ..inputs.errors import InputError
from ..inputs.scenario import LoadedScenario, scenario_from_dict
from .runs import run_scenario


@dataclass
class Reproduction:
    files: dict[str, str] = field(default_factory=dict)            # file -> "match" / "MISMATCH" / "missing"
    version_differences: dict[str, tuple[str, str]] = field(default_factory=dict)
    parameter_differences: list[str] = field(default_factory=list)  # could not be run as recorded
    parameter_notes: list[str] = field(default_factory=list)        # added since: the files decide
    out: Path | None = None

    @property
    def ok(self) -> bool:
        return (all(v == "match" for v in self.files.values()) and not self.version_differences
                and not self.parameter_differences)

    def text(self) -> str:
        lines = [f"{status:9s} {name}" for name, status in sorted(self.files.items())]
        for pkg, (then, now) in sorted(self.version_differences.items()):
            lines.append(f"VERSION   {pkg}: manifest {then}, here {now}")
        lines += [f"PARAMETER {d}" for d in self.parameter_differences]
        lines += [f"note      {d}" for d in self.parameter_notes]
        n_match = sum(v == "match" for v in self.files.values())
        lines.append(f"\n{n_match} of {len(self.files)} files match; "
                     + ("reproduced exactly." if self.ok else "NOT reproduced.")
                     + (f" Re-run in {self.out}/" if self.out else ""))
        return "\n".join(lines)


def load_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(Path(path).read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(path, "", None, f"cannot read the manifest: {exc}") from None
    for key in ("scenario", "parameters", "root_seed", "replicates", "outputs", "versions"):
        if key not in manifest:
            raise InputError(path, key, None, "missing from the manifest")
    return manifest


def scenario_from_manifest(manifest: dict, path: Path) -> tuple[LoadedScenario, list[str], list[str]]:
    """The manifest's scenario with every recorded parameter value; what could not be set (a
    parameter recorded there and unknown here: the run cannot be made as it was); and parameters
    added since the run (they had no value then: whether they change anything, the files show)."""
    scenario = scenario_from_dict(manifest["scenario"], path)
    recorded = manifest["parameters"]
    known = {p.name for p in scenario.params}
    differences = [f"{name}: in the manifest, unknown here" for name in sorted(set(recorded) - known)]
    notes = [f"{name}: here, not in the manifest (added since the run)" for name in sorted(known - set(recorded))]
    params = scenario.params.with_overrides({k: v for k, v in recorded.items() if k in known},
                                            origin=str(path), key_prefix="parameters")
    return LoadedScenario(scenario.spec, scenario.files, params, scenario.raw, scenario.prov), differences, notes


def reproduce(path: Path, out: Path | None = None, workers: int | None = None,
              dask: str | None = None, progress: bool = False) -> Reproduction:
    path = Path(path)
    manifest = load_manifest(path)
    scenario, param_diff, param_notes = scenario_from_manifest(manifest, path)
    now = versions()
    then = manifest["versions"]
    version_diff = {pkg: (then.get(pkg, "?"), now.get(pkg, "?")) for pkg in RESULT_PACKAGES
                    if then.get(pkg) != now.get(pkg)}
    out = Path(out) if out is not None else path.parent.with_name(path.parent.name + "-reproduced")
    plots = any(name.endswith(".png") for name in manifest["outputs"])
    run_scenario(scenario, seed=manifest["root_seed"], replicates=manifest["replicates"], workers=workers,
                 out=out, plots=plots, progress=progress, dask=dask, command="reproduce")
    files = {}
    for name, digest in manifest["outputs"].items():
        f = out / name
        files[name] = "missing" if not f.exists() else ("match" if sha256(f) == digest else "MISMATCH")
    return Reproduction(files, version_diff, param_diff, param_notes, out)
