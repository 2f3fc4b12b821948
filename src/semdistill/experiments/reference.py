"""Reference results of any system: finished runs' results files in a shipped, checksummed
folder (``results/reference/<system>/``) with a ``reference.json`` manifest, and the claims
table rebuilt from them (docs/architecture.md, "Reference results"; docs/ltsc.md, "Claims and
seeds").

A system takes part by registering one :class:`ReferenceSpec` (:func:`register_reference`):
which results files its claims read, which config keys do not change one seed's figures, how
its claims are computed from a folder, which seeds a run trains and which config key names its
reference folder. This module imports no system package.

Layout of a reference folder::

    reference.json    format "semdistill.reference/1", system, claims_fingerprint (the first
                      run's config without the keys that do not change one seed's figures),
                      config_sha256 and config (the first run's, its seed included), seeds
                      (every run's, main seed first, then sorted), runs (per run: name, seed,
                      seeds, config_sha256, wall_seconds), command, machine, wall_seconds
                      (their sum; null when a run did not record it), date, files {name: sha256}
    <name>.json       the runs' results files, their records concatenated, each with a ``seed``

Only JSON is read; file names are plain ``<name>.json`` inside the folder (no path, no link);
every file's SHA-256 is checked. Any problem is one :class:`ReferenceError` line.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semdistill.config import ConfigError, stable_dump, validate
from semdistill.errors import UserError
from semdistill.experiments.checks import Check
from semdistill.experiments.registry import (
    SYSTEM_MODULES,
    ExperimentConfig,
    get_experiment,
    load_config,
)
from semdistill.experiments.rundir import RESULTS_INFO as RUN_INFO
from semdistill.experiments.rundir import RunDir
from semdistill.registry import Registry
from semdistill.results import Results, ResultsError
from semdistill.utils.io import atomic_write_json, fingerprint, make_temp_dir, sha256_file

FORMAT = "semdistill.reference/1"
MANIFEST = "reference.json"
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\.json")
#: the repository root, against which a relative reference path is resolved.
REPO_ROOT = Path(__file__).resolve().parents[3]


class ReferenceError(UserError, ValueError):
    """A reference folder (or a set of runs to make one from) that is unreadable, corrupt,
    escapes its folder or was made for another config (the message names it and the problem)."""


class ReferenceMismatch(ReferenceError):
    """A sound reference folder made for another config (the message names the keys)."""


@dataclass(frozen=True)
class ReferenceSpec:
    """How system ``system`` keeps reference results.

    Attributes:
        system: the system name (``ltsc``).
        config: its config class.
        files: the results files a reference keeps: every file the claims read.
        not_compared: ``{section: keys}`` left out when configs are compared (``""`` is the top
            level; ``seed`` is never compared): keys that do not change any one seed's figures.
        claims: ``claims(cfg, folder, reference) -> list[Check]``: the claims measured from the
            results files in ``folder`` with ``cfg``'s thresholds, single seeds placed against
            ``reference`` (check name → Check, or None).
        seeds: ``seeds(cfg) -> list[int]``: the training seeds of a run, main seed first.
        reference_key: the dotted config key of the reference folder (``eval.reference``; its
            value a path, or None or empty for none): the folder a run is placed against.
    """

    system: str
    config: type[ExperimentConfig]
    files: tuple[str, ...]
    not_compared: Mapping[str, tuple[str, ...]]
    claims: Callable[[Any, Path, Mapping[str, Check] | None], list[Check]]
    seeds: Callable[[Any], list[int]]
    reference_key: str

    def reference_path(self, cfg: ExperimentConfig) -> str | None:
        """The value of :attr:`reference_key` in ``cfg``."""
        node: Any = cfg
        for part in self.reference_key.split("."):
            node = getattr(node, part)
        return node


REFERENCES: Registry[ReferenceSpec] = Registry("reference system")


def register_reference(spec: ReferenceSpec) -> ReferenceSpec:
    """Register ``spec`` (one call, in the system's package); returns it."""
    return REFERENCES.register(spec.system, spec)


def reference_spec(system: Any) -> ReferenceSpec:
    """The registered spec of ``system`` (importing a known system registers its spec);
    otherwise one line naming the systems that have reference results."""
    if isinstance(system, str) and system not in REFERENCES and system in SYSTEM_MODULES:
        get_experiment(system)
    if not isinstance(system, str) or system not in REFERENCES:
        for known in SYSTEM_MODULES:  # so that the line names every system that has them
            get_experiment(known)
        raise ReferenceError(f"reference results exist for systems: "
                             f"{', '.join(REFERENCES.names())}; not for {system!r}")
    return REFERENCES.get(system)


def compared_config(spec: ReferenceSpec, cfg: ExperimentConfig | Mapping[str, Any]
                    ) -> dict[str, Any]:
    """The config (a mapping is validated first) as JSON without ``seed`` and
    ``spec.not_compared``, options added since at their old value
    (:func:`~semdistill.config.stable_dump`)."""
    if not isinstance(cfg, spec.config):
        cfg = validate(spec.config, cfg, source="reference config")
    data = stable_dump(cfg)
    data.pop("seed", None)
    for section, keys in spec.not_compared.items():
        node = data.get(section, {}) if section else data
        for k in keys:
            node.pop(k, None)
    return data


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    """``{"train.steps": 1000, ...}``: the leaves of a nested mapping by dotted key."""
    if not isinstance(d, dict) or not d:
        return {prefix: d}
    return {k2: v2 for k, v in d.items()
            for k2, v2 in _flat(v, f"{prefix}.{k}" if prefix else str(k)).items()}


def differences(a: Mapping[str, Any], b: Mapping[str, Any], a_is: str, b_is: str) -> str:
    """The first differing keys of two compared configs, ``"train.steps: 7 there, 2 here"``
    (at most three, then ``…``); empty when they are equal."""
    fa, fb = _flat(dict(a)), _flat(dict(b))
    diff = [k for k in sorted(fa.keys() | fb.keys()) if fa.get(k) != fb.get(k)]
    shown = "; ".join(f"{k}: {fa.get(k)!r} {a_is}, {fb.get(k)!r} {b_is}" for k in diff[:3])
    return shown + ("; …" if len(diff) > 3 else "")


# ---- making a reference from finished runs -----------------------------------------------------
@dataclass(frozen=True)
class _Run:
    rd: RunDir
    cfg: ExperimentConfig
    seeds: list[int]
    info: dict[str, Any]  # results/run-info.json, {} when the system writes none


def _open(rd: RunDir) -> tuple[ReferenceSpec, _Run]:
    exp, cfg = load_config(rd.config_data(), source=str(rd.path / "config.yaml"))
    rd.check_identity(exp.name)
    spec = reference_spec(exp.name)
    missing = [f for f in spec.files if not (rd.results / f).is_file()]
    if missing:
        raise ReferenceError(f"{rd.path}: not a finished {exp.name} run (no results/{missing[0]})")
    info: dict[str, Any] = {}
    if (rd.path / RUN_INFO).is_file():
        try:
            info = rd.read_json(RUN_INFO)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ReferenceError(f"{rd.path / RUN_INFO}: unreadable ({err})") from None
        if not isinstance(info, dict):
            raise ReferenceError(f"{rd.path / RUN_INFO}: not a run record (an object)")
    return spec, _Run(rd, cfg, list(spec.seeds(cfg)), info)


def _consistent(spec: ReferenceSpec, runs: Sequence[_Run]) -> None:
    """Refuse runs made with different compared configs or sharing a seed (one line naming
    the runs)."""
    first, here = runs[0], compared_config(spec, runs[0].cfg)
    for run in runs[1:]:
        shown = differences(compared_config(spec, run.cfg), here, f"in {run.rd.path}",
                            f"in {first.rd.path}")
        if shown:
            raise ReferenceError(f"{run.rd.path} and {first.rd.path} were made with other "
                                 f"configs ({shown}): a reference merges runs that differ "
                                 "only in seed")
    for i, a in enumerate(runs):
        for b in runs[i + 1:]:
            shared = sorted(set(a.seeds) & set(b.seeds))
            if shared:
                raise ReferenceError(
                    f"{a.rd.path} and {b.rd.path} share seed(s) {', '.join(map(str, shared))}: "
                    "the runs of a reference have disjoint seeds (another run: --set seed=N)")


def _merged(name: str, runs: Sequence[_Run]) -> Results:
    """Results file ``name`` of every run, records concatenated (a record without ``seed``
    gets its run's ``cfg.seed``); the first run's system, name and meta."""
    parts = []
    for run in runs:
        try:
            parts.append((run, Results.load(run.rd.results / name)))
        except ResultsError as err:
            raise ReferenceError(str(err)) from None
    head = parts[0][1]
    records = [r if "seed" in r else {**r, "seed": run.cfg.seed}
               for run, res in parts for r in res.records]
    return Results(head.system, head.name, records, head.meta)


def _replace(tmp: Path, out: Path) -> None:
    """Rename the complete folder ``tmp`` to ``out``, replacing an existing ``out`` only now."""
    if out.exists():
        old = out.with_name(f".{out.name}-old")
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old)
    else:
        tmp.rename(out)


def _wall_seconds(info: Mapping[str, Any]) -> float | None:
    """A run's wall time before its report (s), None when its run-info.json has none."""
    wall = info.get("wall_seconds_before_report")
    return float(wall) if isinstance(wall, int | float) and not isinstance(wall, bool) else None


def _config_sha(rd: RunDir) -> str | None:
    """The hash of the run's config.yaml that its run.json records (checked by _open)."""
    return rd.read_json("run.json").get("config_sha256")


def make_reference(run_dirs: Sequence[RunDir], out: Path, command: str | None = None,
                   machine: str | None = None) -> Path:
    """Merge finished runs ``run_dirs`` (one system, configs equal but for ``seed``, disjoint
    seeds) into reference folder ``out``: written whole, then renamed into place; an existing
    reference folder ``out`` is replaced only once the new one is complete, any other existing
    ``out`` is refused."""
    if not run_dirs:
        raise ReferenceError("a reference needs at least one finished run")
    opened = [_open(rd) for rd in run_dirs]
    systems = {spec.system for spec, _ in opened}
    if len(systems) > 1:
        raise ReferenceError(f"{', '.join(str(rd.path) for rd in run_dirs)} are runs of "
                             f"systems {', '.join(sorted(systems))}: a reference is of one")
    spec, runs = opened[0][0], [run for _, run in opened]
    _consistent(spec, runs)
    if out.exists() and not (out / MANIFEST).is_file():
        raise ReferenceError(f"{out} exists and is not a reference folder (no {MANIFEST}): "
                             "refusing to replace it")
    merged = {name: _merged(name, runs) for name in spec.files}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, f".{out.name}-")
    files = {name: sha256_file(res.save(tmp / name)) for name, res in merged.items()}
    first, main = runs[0], runs[0].cfg.seed
    seeds = [main, *sorted({s for run in runs for s in run.seeds} - {main})]
    walls = [_wall_seconds(run.info) for run in runs]
    stamps = [(run.rd.path / RUN_INFO if run.info else run.rd.results / spec.files[-1])
              .stat().st_mtime for run in runs]
    devices = ", ".join(dict.fromkeys(str(run.info.get("device", "?")) for run in runs))
    atomic_write_json(tmp / MANIFEST, {
        "format": FORMAT, "system": spec.system,
        "claims_fingerprint": fingerprint(compared_config(spec, first.cfg)),
        "config_sha256": _config_sha(first.rd), "config": first.cfg.model_dump(mode="json"),
        "seeds": seeds,
        "runs": [{"run": run.rd.path.resolve().name, "seed": run.cfg.seed, "seeds": run.seeds,
                  "config_sha256": _config_sha(run.rd), "wall_seconds": wall}
                 for run, wall in zip(runs, walls, strict=True)],
        "command": command or "; ".join(f"semdistill run {run.rd.path / 'config.yaml'}"
                                        for run in runs),
        "machine": machine or f"{platform.node()} ({platform.processor() or platform.machine()}"
                              f", device {devices})",
        "wall_seconds": None if None in walls else sum(walls),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(max(stamps))),
        "files": files})
    _replace(tmp, out)
    return out


# ---- reading a reference ---------------------------------------------------------------------
def load_reference(folder: Path, system: str | None = None) -> dict[str, Any]:
    """The validated manifest of reference ``folder`` (of ``system`` when given): JSON, this
    format, a system with reference results, plain file names inside the folder, every
    checksum right, every file a results file and exactly the system's files."""
    path = folder / MANIFEST
    try:
        man = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ReferenceError(f"{path}: not a readable reference manifest ({err})") from None
    if not isinstance(man, dict) or man.get("format") != FORMAT \
            or (system is not None and man.get("system") != system):
        of = f" of system {system!r}" if system is not None else ""
        raise ReferenceError(f"{path}: not a semdistill reference manifest{of} "
                             f"(format {FORMAT!r})")
    try:
        spec = reference_spec(man.get("system"))
    except ReferenceError as err:
        raise ReferenceError(f"{path}: {err}") from None
    files = man.get("files")
    if not isinstance(files, dict) or not isinstance(man.get("config"), dict) \
            or not isinstance(man.get("seeds"), list):
        raise ReferenceError(f"{path}: malformed (files, config and seeds are required)")
    for name, digest in files.items():
        file = folder / str(name)
        if not (isinstance(name, str) and _NAME.fullmatch(name)) or file.is_symlink():
            raise ReferenceError(f"{path}: file {name!r} is not a plain name inside the folder")
        if not file.is_file():
            raise ReferenceError(f"{folder}: {name} is missing")
        if sha256_file(file) != digest:
            raise ReferenceError(f"{folder}: {name} does not match its checksum in {MANIFEST}")
        try:
            Results.load(file)
        except ResultsError as err:
            raise ReferenceError(str(err)) from None
    if set(files) != set(spec.files):
        raise ReferenceError(f"{path}: lists {sorted(files)}; a reference holds exactly "
                             f"{', '.join(spec.files)} (every file the claims read is "
                             "checksummed)")
    return man


def check_matches(man: Mapping[str, Any], cfg: ExperimentConfig, folder: Path) -> None:
    """Refuse a reference made for another config, naming the first keys that differ."""
    spec = reference_spec(cfg.system)
    if man.get("claims_fingerprint") == fingerprint(compared_config(spec, cfg)):
        return
    try:
        ref = compared_config(spec, man["config"])
    except ConfigError as err:  # a config this version no longer reads: another config
        raise ReferenceMismatch(f"reference {folder} was made for another config ({err})"
                                ) from None
    shown = differences(ref, compared_config(spec, cfg), "there", "here")
    if shown:  # else: the same compared keys, hashed under older comparison rules
        raise ReferenceMismatch(f"reference {folder} was made for another config ({shown})")


def reference_checks(folder: Path) -> list[Check]:
    """The claims table rebuilt from reference ``folder`` alone (its own config's thresholds)."""
    man = load_reference(folder)
    spec = reference_spec(man["system"])
    cfg = validate(spec.config, man["config"], source=f"{folder / MANIFEST}: config")
    return spec.claims(cfg, folder, None)


def resolve(path: str) -> Path:
    """A reference path as a folder: absolute, or relative to the repository root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else REPO_ROOT / p


def reference_for(cfg: ExperimentConfig) -> tuple[dict[str, Check] | None, str]:
    """The reference checks for ``cfg`` (by name) and a sentence for the report.

    No reference path in the config (None or empty), a folder that does not exist yet, or one made for another
    config: None and a note naming why (the single seeds are then not placed). A corrupt
    reference or one with a path escape: :class:`ReferenceError`.
    """
    spec = reference_spec(cfg.system)
    path = spec.reference_path(cfg)
    if not path:
        return None, ""
    folder = resolve(path)
    if not (folder / MANIFEST).is_file():
        return None, f"no reference results at {folder} yet ({spec.reference_key})"
    man = load_reference(folder, spec.system)
    try:
        check_matches(man, cfg, folder)
    except ReferenceMismatch as err:
        return None, f"{err}: not used ({spec.reference_key})"
    return ({c.name: c for c in reference_checks(folder)},
            f"reference: {folder} ({len(man['seeds'])} seeds, {man.get('machine')}, "
            f"{man.get('date')}; `{man.get('command')}`)")
