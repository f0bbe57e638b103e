"""``tuopin reproduce MANIFEST``: check a published run's files, run it again, compare file by file.

First the published files beside the manifest are checked against it: one altered or missing
since the run fails the check. Then the run is made again in a fresh folder (never one that
holds files already, so nothing of an earlier run can be reused), with the scenario and every
parameter value taken from the manifest itself, so the run is the same even if the installed
package's defaults have moved since; versions that can change results are compared, and a
difference is reported and fails the check. A manifest is checked like any input: a field of
the wrong type or out of range is one InputError naming the manifest, the key and the value.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core.streams import replicate_seeds
from ..execution.errors import OutputError
from ..execution.folder import SETS
from ..execution.folder import published as published_set
from ..execution.output import RESULT_PACKAGES, compare_outputs, versions
from ..inputs.arguments import check_replicates, check_seed
from ..inputs.errors import InputError
from ..inputs.scenario import LoadedScenario, scenario_from_dict
from .runs import run_scenario

# The fields a reproduction needs, with the JSON type each must have: those of every manifest,
# and those of a run's scenario (a comparison has one such record per option).
MANIFEST_FIELDS = {"root_seed": int, "replicates": int, "outputs": dict, "versions": dict}
RUN_FIELDS = {"scenario": dict, "parameters": dict}
COMPARE = "compare"  # the command whose manifests hold ``options``
CALIBRATE = "calibrate"  # the command whose manifests hold the calibration's settings and targets
CALIBRATION_FIELDS = {"calibration": dict, "targets": list, "report_runs": int}
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
REPRODUCED = "-reproduced"  # a reproduction's folder: the results folder's name and this
MAX_FRESH_FOLDERS = 1000    # reproductions of one run kept side by side before --out is needed


@dataclass
class Reproduction:
    files: dict[str, str] = field(default_factory=dict)            # file -> "match" / "MISMATCH" / "missing"
    version_differences: dict[str, tuple[str, str]] = field(default_factory=dict)
    parameter_differences: list[str] = field(default_factory=list)  # could not be run as recorded
    parameter_notes: list[str] = field(default_factory=list)        # added since: the files decide
    out: Path | None = None
    published: dict[str, str] = field(default_factory=dict)  # published file -> as compare_outputs; {} if none there

    @property
    def altered(self) -> dict[str, str]:
        """Published files that are not as the manifest records them."""
        return {name: status for name, status in self.published.items() if status != "match"}

    @property
    def ok(self) -> bool:
        return (all(v == "match" for v in self.files.values()) and not self.version_differences
                and not self.parameter_differences and not self.altered)

    def text(self) -> str:
        lines = [f"{status:9s} {name}" for name, status in sorted(self.files.items())]
        for name, status in sorted(self.altered.items()):
            lines.append(f"ALTERED   {name}: altered since the run (its SHA-256 is not the manifest's)"
                         if status == "MISMATCH" else f"MISSING   {name}: missing since the run")
        for pkg, (then, now) in sorted(self.version_differences.items()):
            lines.append(f"VERSION   {pkg}: manifest {then}, here {now}")
        lines += [f"PARAMETER {d}" for d in self.parameter_differences]
        lines += [f"note      {d}" for d in self.parameter_notes]
        if not self.published:
            lines.append("note      no published file beside the manifest: only the re-run is compared with it")
        n_match = sum(v == "match" for v in self.files.values())
        checked = (f"; {len(self.published) - len(self.altered)} of {len(self.published)} published files as the "
                   "manifest records them" if self.published else "")
        lines.append(f"\n{n_match} of {len(self.files)} files of the re-run match{checked}; "
                     + ("reproduced exactly." if self.ok else "NOT reproduced.")
                     + (f" Re-run in {self.out}/" if self.out else ""))
        return "\n".join(lines)


def load_manifest(path: Path, shown: Path | None = None) -> dict:
    """A manifest's fields, each checked; errors name the manifest as ``shown`` (default: path)."""
    shown = path if shown is None else shown
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(shown, "", None, f"cannot read the manifest: {exc}") from None
    if not isinstance(manifest, dict):
        raise InputError(shown, "", manifest, "a manifest is a JSON object of fields", ", ".join(MANIFEST_FIELDS))
    command = manifest.get("command")
    # A calibration's replicates are in its settings (replicates per candidate).
    _check_fields(manifest, {k: v for k, v in MANIFEST_FIELDS.items() if not (command == CALIBRATE and k == "replicates")},
                  shown)
    if command == CALIBRATE:
        _check_fields(manifest, CALIBRATION_FIELDS, shown)
    if command == COMPARE:
        options = manifest.get("options")
        if not isinstance(options, list) or not options or not all(isinstance(o, dict) for o in options):
            raise InputError(shown, "options", options, "a comparison's manifest lists its options as JSON objects")
        for i, option in enumerate(options):
            _check_fields(option, {**RUN_FIELDS, "name": str}, shown, f"options.{i}.")
    else:
        _check_fields(manifest, RUN_FIELDS, shown)
    root = check_seed(manifest["root_seed"], shown, "root_seed")
    if command != CALIBRATE:
        replicates = check_replicates(manifest["replicates"], shown, "replicates")
        if "replicate_seeds" in manifest and manifest["replicate_seeds"] != replicate_seeds(root, replicates):
            raise InputError(shown, "replicate_seeds", manifest["replicate_seeds"],
                             "not the seeds root_seed and replicates give")
    for name, digest in manifest["outputs"].items():
        # A calibration's fit report is in a folder of its own (fit/).
        parts = name.split("/") if command == CALIBRATE else [name]
        if not all(_plain_file_name(part) for part in parts):
            raise InputError(shown, "outputs", name, "an output is a file of the results folder, named plainly")
        if not (isinstance(digest, str) and SHA256_HEX.fullmatch(digest)):
            raise InputError(shown, f"outputs.{name}", digest, "must be a SHA-256 (64 hexadecimal digits)")
    for name, version in manifest["versions"].items():
        if not isinstance(version, str):
            raise InputError(shown, f"versions.{name}", version, "a version must be a string")
    return manifest


def _check_fields(record: dict, fields: dict, shown: Path, prefix: str = "") -> None:
    for key, kind in fields.items():
        if key not in record:
            raise InputError(shown, prefix + key, None, "missing from the manifest")
        if not isinstance(record[key], kind) or isinstance(record[key], bool):
            what = {dict: "object", int: "integer", str: "string"}[kind]
            raise InputError(shown, prefix + key, record[key], f"must be a JSON {what}")


def _plain_file_name(name: str) -> bool:
    return name not in ("", ".", "..") and not name.startswith(".") and "/" not in name and "\\" not in name


def scenario_from_manifest(manifest: dict, path: Path) -> tuple[LoadedScenario, list[str], list[str]]:
    """The manifest's scenario with every recorded parameter value; what could not be set (a
    parameter recorded there and unknown here: the run cannot be made as it was); and parameters
    added since the run (they had no value then: whether they change anything, the files show)."""
    scenario = scenario_from_dict(manifest["scenario"], path, manifest.get("parameter_sets"))
    recorded = manifest["parameters"]
    known = {p.name for p in scenario.params}
    differences = [f"{name}: in the manifest, unknown here" for name in sorted(set(recorded) - known)]
    notes = [f"{name}: here, not in the manifest (added since the run)" for name in sorted(known - set(recorded))]
    params = scenario.params.with_overrides({k: v for k, v in recorded.items() if k in known},
                                            origin=str(path), key_prefix="parameters")
    return (LoadedScenario(scenario.spec, scenario.files, params, scenario.raw, scenario.prov, scenario.parameter_sets),
            differences, notes)


def reproduce(path: Path, out: Path | None = None, workers: int | None = None,
              dask: str | None = None, progress: bool = False) -> Reproduction:
    """Check the files published beside the manifest ``path``, run it again in a fresh folder
    (``out`` if it is new or empty, else beside the results folder) and compare every file."""
    path = Path(path)
    # A manifest in a results folder leads to its run's own set: read the manifest and its files
    # there, so that a run publishing meanwhile cannot mix two runs' files into the check.
    real = Path(os.path.realpath(path))
    manifest = load_manifest(real, shown=path)
    published = compare_outputs(real.parent, manifest["outputs"])
    if all(status == "missing" for status in published.values()):
        published = {}  # a manifest on its own: nothing published to check
    command = manifest.get("command")
    records = manifest["options"] if command == COMPARE else [manifest]
    scenarios, param_diff, param_notes = [], [], []
    for record in records:
        if command == CALIBRATE:
            record = _without_parameter_sets(record)
        scenario, differences, notes = scenario_from_manifest(record, path)
        scenarios.append(scenario)
        prefix = f"{record['name']}: " if command == COMPARE else ""
        param_diff += [prefix + d for d in differences]
        param_notes += [prefix + n for n in notes]
    now = versions()
    then = manifest["versions"]
    version_diff = {pkg: (then.get(pkg, "?"), now.get(pkg, "?")) for pkg in RESULT_PACKAGES
                    if then.get(pkg) != now.get(pkg)}
    out = check_fresh(out, "reproduce", "out") if out is not None else fresh_folder(results_folder(path))
    if command == CALIBRATE:
        folder = _calibrate_again(manifest, scenarios[0], out, workers, dask, shown=path)
    elif command == COMPARE:
        from .compare_commands import compare_to_folder

        _, again = compare_to_folder(scenarios, out, names=[r["name"] for r in records], seed=manifest["root_seed"],
                                     replicates=manifest["replicates"], workers=workers, dask=dask,
                                     progress=progress, command="reproduce")
        folder = published_set(again.parent)
    else:
        plots = any(name.endswith(".png") for name in manifest["outputs"])
        ens, _ = run_scenario(scenarios[0], seed=manifest["root_seed"], replicates=manifest["replicates"],
                              workers=workers, out=out, plots=plots, progress=progress, dask=dask, command="reproduce")
        folder = ens.files
    files = compare_outputs(folder, manifest["outputs"])
    return Reproduction(files, version_diff, param_diff, param_notes, out, published)


def _without_parameter_sets(manifest: dict) -> dict:
    """A calibration's manifest with its scenario's parameter sets left out: a calibration runs
    without them (it makes them), so they need not be at hand to run it again."""
    scenario = dict(manifest["scenario"])
    if isinstance(scenario.get("scenario"), dict):
        scenario["scenario"] = {**scenario["scenario"], "parameter_sets": None}
    return {**manifest, "scenario": scenario}


def _calibrate_again(manifest: dict, scenario: LoadedScenario, out: Path, workers: int | None, dask: str | None,
                     shown: Path) -> Path:
    """A calibration run again from its manifest: the same settings, targets and root seed, in
    ``out``, from the first generation (a fresh folder has nothing to resume)."""
    from ..analysis.calibrate import Settings, run_calibration
    from ..inputs.targets import Target

    settings = manifest["calibration"]
    try:
        targets = [Target(**t) for t in manifest["targets"]]
        run = {k: settings[k] for k in ("particles", "candidates", "generations", "replicates")}
        free, seed = list(settings["free"]), int(settings["root_seed"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(shown, "calibration", None, f"not a calibration this version can run again: {exc}") from None
    if settings.get("seeds") != Settings.seeds:  # made when every generation ran the same seeds
        raise InputError(shown, "calibration.seeds", settings.get("seeds"),
                         "not a calibration this version can run again: its replicate seeds were drawn another way",
                         repr(Settings.seeds))
    run_calibration(scenario, targets, out, free_names=free, seed=seed, workers=workers, dask=dask,
                    report_runs=manifest["report_runs"], targets_file=manifest.get("targets_file", ""), **run)
    return out


def results_folder(manifest: Path) -> Path:
    """The results folder a manifest belongs to: its folder (as given, ``.`` made absolute), or
    the folder above ``.sets`` for a manifest inside a set."""
    folder = Path(os.path.abspath(manifest)).parent
    return folder.parent.parent if folder.parent.name == SETS else folder


def check_fresh(out: Path, origin: str, key: str) -> Path:
    """``out`` if it does not exist or is an empty folder: a reproduction never reuses a run."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(origin, key, str(out), "holds files already: a reproduction runs in a fresh folder",
                         "a new or empty folder")
    return out


def fresh_folder(results: Path) -> Path:
    """A new folder beside ``results``: ``<name>-reproduced``, else ``-reproduced-2``, ... ."""
    name = (results.name or "results") + REPRODUCED
    for n in range(1, MAX_FRESH_FOLDERS + 1):
        candidate = results.parent / (name if n == 1 else f"{name}-{n}")
        try:
            candidate.mkdir(parents=True)  # fails if it exists: two reproductions never share one
            return candidate
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"{candidate}: cannot write here: {exc.strerror or exc}") from None
    raise OutputError(f"{results.parent / name}-*: {MAX_FRESH_FOLDERS} reproductions there already: give --out")
